/* Unit tests for web/http's later answers and open responses, over
 * loopback: a deferred reply reaches the client, an event stream delivers
 * what is written after the client went quiet, a client closing its side is
 * noticed while the stream is parked, CORS preflight and query arguments.
 * Also web/tabs' parser of POST /api/answer bodies with hostile input. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gio/gio.h>

#include "web/http.h"
#include "web/tabs.h"
#include "net_helpers.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

struct fixture {
	struct idl_http *h;
	struct idl_http_deferred *deferred;
	struct idl_http_stream *stream;
	bool stream_closed;
	char *seen_query;
};

static void send_all(int fd, const char *s)
{
	g_assert_cmpint(send(fd, s, strlen(s), MSG_NOSIGNAL), ==, (ssize_t)strlen(s));
}

/* Runs the main loop until what fd received contains want (or, with want
 * NULL, until fd shows end of file); bounded. Returns everything read. */
static GString *read_until(int fd, const char *want)
{
	GString *got = g_string_new(NULL);
	gint64 end = g_get_monotonic_time() + WAIT_US;
	char buf[4096];

	while (g_get_monotonic_time() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			g_string_append_len(got, buf, n);
		if (n == 0 && !want)
			return got;
		if (want && strstr(got->str, want))
			return got;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	g_error("timed out waiting for %s; got: %s", want ? want : "end of file", got->str);
	return got;
}

static void spin(gint64 us)
{
	gint64 end = g_get_monotonic_time() + us;

	while (g_get_monotonic_time() < end) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
}

static void later_handler(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	struct fixture *f = user;
	const char *q = idl_http_query(req, "to");

	(void)resp;
	g_free(f->seen_query);
	f->seen_query = g_strdup(q ? q : "(none)");
	f->deferred = idl_http_defer(req);
}

static void on_closed(struct idl_http_stream *s, void *user)
{
	struct fixture *f = user;

	g_assert_true(s == f->stream);
	f->stream_closed = true;
	f->stream = NULL;
}

static void stream_handler(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	struct fixture *f = user;

	(void)resp;
	f->stream = idl_http_stream_open(req, "text/event-stream", on_closed, f);
	idl_http_stream_write(f->stream, "first\n", 6);
}

static void setup(struct fixture *f, gconstpointer data)
{
	struct idl_http_options opt = { .port = 0 };
	GError *err = NULL;

	(void)data;
	memset(f, 0, sizeof(*f));
	g_assert_cmpint(idl_http_new(&opt, &f->h, &err), ==, 0);
	g_assert_no_error(err);
	idl_http_route(f->h, "POST", "/later", later_handler, f);
	idl_http_route(f->h, "GET", "/stream", stream_handler, f);
	idl_http_allow_cors(f->h, "/later");
}

static void teardown(struct fixture *f, gconstpointer data)
{
	(void)data;
	idl_http_free(f->h);
	g_free(f->seen_query);
}

static void test_deferred(struct fixture *f, gconstpointer data)
{
	struct idl_http_response resp = { .status = 201, .content_type = "text/plain" };
	int fd = connect_to(idl_http_port(f->h));
	GString *got;
	char tmp[64];

	(void)data;
	send_all(fd, "POST /later?to=00ff HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://10.0.0.9:7757\r\n"
		     "Content-Length: 2\r\n\r\nhi");
	while (!f->deferred)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(f->seen_query, ==, "00ff");
	/* Nothing is answered while the handler holds the token. */
	spin(200 * 1000);
	g_assert_cmpint(recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT), ==, -1);
	resp.body = g_strdup("later answer");
	resp.body_len = strlen(resp.body);
	idl_http_deferred_reply(f->deferred, &resp);
	g_assert_null(resp.body);   /* taken over */
	got = read_until(fd, "later answer");
	g_assert_true(g_str_has_prefix(got->str, "HTTP/1.1 201"));
	/* The LAN page's origin is echoed, never "*". */
	g_assert_nonnull(strcasestr(got->str, "Access-Control-Allow-Origin: http://10.0.0.9:7757\r\n"));
	g_string_free(got, TRUE);
	close(fd);
}

static void test_cors_preflight(struct fixture *f, gconstpointer data)
{
	int fd = connect_to(idl_http_port(f->h));
	GString *got;

	(void)data;
	send_all(fd, "OPTIONS /later HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://10.0.0.9:7757\r\n"
		     "Access-Control-Request-Method: POST\r\n\r\n");
	got = read_until(fd, "\r\n\r\n");
	g_assert_true(g_str_has_prefix(got->str, "HTTP/1.1 204"));
	g_assert_nonnull(strcasestr(got->str, "Access-Control-Allow-Headers: Content-Type"));
	g_assert_nonnull(strcasestr(got->str, "Access-Control-Allow-Origin: http://10.0.0.9:7757\r\n"));
	g_assert_null(f->deferred);   /* the handler never ran */
	g_string_free(got, TRUE);
	close(fd);
	/* A path without CORS gets none. */
	fd = connect_to(idl_http_port(f->h));
	send_all(fd, "OPTIONS /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	got = read_until(fd, "\r\n\r\n");
	g_assert_true(g_str_has_prefix(got->str, "HTTP/1.1 405"));
	g_assert_null(strcasestr(got->str, "Access-Control-Allow-Origin"));
	g_string_free(got, TRUE);
	close(fd);
}

/* One request on a fresh connection; the head of the response. */
static GString *ask(struct fixture *f, const char *request)
{
	int fd = connect_to(idl_http_port(f->h));
	GString *got;

	send_all(fd, request);
	got = read_until(fd, "\r\n\r\n");
	close(fd);
	return got;
}

/* DNS rebinding and pages on the internet: a Host that is not ours gets
 * 421, a foreign Origin 403, and neither reaches a handler. */
static void test_host_origin(struct fixture *f, gconstpointer data)
{
	static const char *const refused[] = {
		"POST /later HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\n\r\n", "421",
		"GET /stream HTTP/1.1\r\nHost: evil.example:7757\r\n\r\n", "421",
		"OPTIONS /later HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://10.0.0.9:7757\r\n\r\n", "421",
		"POST /later HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n"
		"Content-Length: 0\r\n\r\n", "403",
		"OPTIONS /later HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n"
		"Access-Control-Request-Method: POST\r\n\r\n", "403",
		"POST /later HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: null\r\nContent-Length: 0\r\n\r\n", "403",
		/* Not even a LAN page may open a stream of another origin. */
		"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://10.0.0.9:7757\r\n\r\n", "403",
	};
	GString *got;
	char *req;

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i += 2) {
		got = ask(f, refused[i]);
		if (!g_str_has_prefix(got->str, "HTTP/1.1 ") || strncmp(got->str + 9, refused[i + 1], 3) != 0)
			g_error("expected %s for %s, got %s", refused[i + 1], refused[i], got->str);
		g_assert_null(strcasestr(got->str, "Access-Control-Allow-Origin"));
		g_string_free(got, TRUE);
	}
	g_assert_null(f->deferred);
	g_assert_null(f->stream);
	/* The page's own origin is not cross-origin. */
	req = g_strdup_printf("GET /stream HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: http://127.0.0.1:%u\r\n\r\n",
			      idl_http_port(f->h), idl_http_port(f->h));
	got = ask(f, req);
	g_assert_true(g_str_has_prefix(got->str, "HTTP/1.1 200"));
	g_string_free(got, TRUE);
	g_free(req);
	for (gint64 end = g_get_monotonic_time() + WAIT_US; !f->stream_closed && g_get_monotonic_time() < end;)
		spin(10 * 1000);
}

static void test_stream(struct fixture *f, gconstpointer data)
{
	int fd = connect_to(idl_http_port(f->h));
	GString *got;

	(void)data;
	send_all(fd, "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	got = read_until(fd, "first\n");
	g_assert_true(g_str_has_prefix(got->str, "HTTP/1.1 200"));
	g_assert_nonnull(strcasestr(got->str, "Content-Type: text/event-stream"));
	g_string_free(got, TRUE);
	/* Parked with nothing to send; a later write wakes it. */
	spin(100 * 1000);
	g_assert_cmpint(idl_http_stream_write(f->stream, "second\n", 7), ==, 0);
	g_string_free(read_until(fd, "second\n"), TRUE);
	/* A client that never reads cannot make the server buffer without
	 * bound. */
	{
		char *big = g_malloc0(IDL_HTTP_STREAM_QUEUE_MAX + 1);
		g_assert_cmpint(idl_http_stream_write(f->stream, big, IDL_HTTP_STREAM_QUEUE_MAX + 1), ==, -ENOBUFS);
		g_free(big);
	}
	/* The client leaves: noticed while parked, closed callback once. */
	close(fd);
	for (gint64 end = g_get_monotonic_time() + WAIT_US; !f->stream_closed && g_get_monotonic_time() < end;)
		spin(10 * 1000);
	g_assert_true(f->stream_closed);
}

static void test_stream_closed_by_owner(struct fixture *f, gconstpointer data)
{
	int fd = connect_to(idl_http_port(f->h));

	(void)data;
	send_all(fd, "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	g_string_free(read_until(fd, "first\n"), TRUE);
	spin(50 * 1000);
	idl_http_stream_close(f->stream);
	f->stream = NULL;
	/* The chunked body ends ("0\r\n\r\n"); no closed callback for the owner. */
	g_string_free(read_until(fd, "0\r\n\r\n"), TRUE);
	spin(50 * 1000);
	g_assert_false(f->stream_closed);
	close(fd);
}

/* Freeing the server with a parked stream and an unanswered deferred
 * request ends both (ASan checks nothing leaks or dangles). */
static void test_free_with_pending(struct fixture *f, gconstpointer data)
{
	int a = connect_to(idl_http_port(f->h)), b = connect_to(idl_http_port(f->h));
	GString *got;

	(void)data;
	send_all(a, "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	g_string_free(read_until(a, "first\n"), TRUE);
	send_all(b, "POST /later HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
	while (!f->deferred)
		g_main_context_iteration(NULL, TRUE);
	spin(50 * 1000);
	idl_http_free(f->h);
	f->h = NULL;
	got = read_until(b, NULL);
	g_assert_true(got->len == 0 || strstr(got->str, "503"));
	g_string_free(got, TRUE);
	close(a);
	close(b);
}

static void test_answer_parse(void)
{
	static const char *const hostile[] = {
		"",
		"[]",
		"{}",
		"{\"id\":\"00112233445566778\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":\"v=0\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899AABBCCDDEEFF\",\"rid\":\"0011223344556677\",\"sdp\":\"v=0\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":\"v=0\",\"error\":\"x\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":\"hello\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":42}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"error\":null}",
		"{\"id\":\"0011223344556677\",\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":\"v=0\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":\"v=0\\u0000x\"}",
		"{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\",\"rid\":\"0011223344556677\",\"sdp\":\"v=0\"} trailing",
	};
	struct idl_tab_answer a;
	GError *err = NULL;
	const char *ok;
	char *long_reason, *body;

	for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
		if (idl_tab_answer_parse(hostile[i], strlen(hostile[i]), &a, &err) != -EINVAL)
			g_error("hostile answer accepted: %s", hostile[i]);
		g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_clear_error(&err);
		g_assert_null(a.sdp);
	}
	ok = "{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\","
	     "\"rid\":\"8899aabbccddeeff\",\"sdp\":\"v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\n\",\"extra\":[1]}";
	g_assert_cmpint(idl_tab_answer_parse(ok, strlen(ok), &a, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(a.id, ==, "0011223344556677");
	g_assert_cmpstr(a.rid, ==, "8899aabbccddeeff");
	g_assert_cmpstr(a.sdp, ==, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n");
	g_assert_null(a.error);
	idl_tab_answer_clear(&a);

	/* A refusal's reason reaches a terminal: control characters go, and it
	 * is cut at 200 bytes without splitting a character. */
	long_reason = g_strnfill(300, 'x');
	memcpy(long_reason, "de\\u001b[2Jclined ", 18);
	memcpy(long_reason + 198, "\xc3\xa9", 2);   /* é across the cut */
	body = g_strdup_printf("{\"id\":\"0011223344556677\",\"token\":\"00112233445566778899aabbccddeeff\","
			       "\"rid\":\"8899aabbccddeeff\",\"error\":\"%s\"}", long_reason);
	g_assert_cmpint(idl_tab_answer_parse(body, strlen(body), &a, &err), ==, 0);
	g_assert_null(a.sdp);
	g_assert_true(g_str_has_prefix(a.error, "de [2Jclined "));
	g_assert_cmpuint(strlen(a.error), <=, 200);
	g_assert_true(g_utf8_validate(a.error, -1, NULL));
	idl_tab_answer_clear(&a);
	g_free(body);
	g_free(long_reason);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/http/deferred", struct fixture, NULL, setup, test_deferred, teardown);
	g_test_add("/http/cors-preflight", struct fixture, NULL, setup, test_cors_preflight, teardown);
	g_test_add("/http/host-origin", struct fixture, NULL, setup, test_host_origin, teardown);
	g_test_add("/http/stream", struct fixture, NULL, setup, test_stream, teardown);
	g_test_add("/http/stream-closed-by-owner", struct fixture, NULL, setup, test_stream_closed_by_owner, teardown);
	g_test_add("/http/free-with-pending", struct fixture, NULL, setup, test_free_with_pending, teardown);
	g_test_add_func("/tabs/answer-parse", test_answer_parse);
	return g_test_run();
}
