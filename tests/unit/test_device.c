/* Unit tests for web/device, the device assembled without the CLI: one is
 * started on loopback without discovery, and spoken to as a browser and as
 * `send` would: GET /api/info names it, the page is served, an offer for a
 * tab that is not attached gets 404, an offer relayed to an attached tab
 * comes back with the tab's answer, and web/connect reaches it over ICE on
 * loopback: the echo and sink channels answer, an "idrop" channel goes to
 * the owner. */
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "trust/identity.h"
#include "discovery/target.h"
#include "web/connect.h"
#include "web/device.h"
#include "fs_helpers.h"
#include "net_helpers.h"

#define WAIT_US (30 * G_USEC_PER_SEC)   /* generous: the sanitizer build is slow */

struct fixture {
	char *dir;
	struct idl_identity *id;
	struct idl_device *dev;
	unsigned transfer_channels, peers_closed;
};

static void take_channel(struct idl_peer *p, struct idl_channel *ch, void *user)
{
	struct fixture *f = user;

	(void)p;
	f->transfer_channels++;
	idl_channel_close(ch);
}

static void peer_closed(struct idl_peer *p, void *user)
{
	struct fixture *f = user;

	(void)p;
	f->peers_closed++;
}

static void setup(struct fixture *f, gconstpointer data)
{
	static const struct idl_device_callbacks cb = { take_channel, peer_closed, NULL, NULL };
	struct idl_device_options o = { .name = "Test device", .interface = "lo", .port = 0, .no_discovery = true };
	GError *err = NULL;

	(void)data;
	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("idrop-device-XXXXXX", &err);
	g_assert_no_error(err);
	g_assert_cmpint(idl_identity_load_or_create(f->dir, &f->id, &err), ==, 0);
	o.id = f->id;
	g_assert_cmpint(idl_device_new(&o, &cb, f, &f->dev, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(idl_device_start(f->dev, &err), ==, 0);
	g_assert_cmpuint(idl_device_port(f->dev), !=, 0);
}

static void teardown(struct fixture *f, gconstpointer data)
{
	(void)data;
	idl_device_free(f->dev);
	idl_identity_free(f->id);
	remove_all(f->dir);
	g_free(f->dir);
}

/* ---- HTTP over a plain socket ---- */

/* Takes what fd has received into got, and runs the main loop a little.
 * Returns what recv returned: 0 at end of file. */
static ssize_t pump(int fd, GString *got)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
		g_string_append_len(got, buf, n);
	g_main_context_iteration(NULL, FALSE);
	g_usleep(1000);
	return n;
}

/* Reads fd into got until the server closes it; bounded. */
static void read_to_end(int fd, GString *got)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;

	while (pump(fd, got) != 0)
		if (g_get_monotonic_time() > end)
			g_error("timed out waiting for the response to end; got: %s", got->str);
}

/* Sends one request (Connection: close) and returns the whole response. */
static GString *request(struct fixture *f, const char *method, const char *target, const char *type,
			const char *body)
{
	int fd = connect_to(idl_device_port(f->dev));
	GString *req = g_string_new(NULL), *got = g_string_new(NULL);

	g_string_append_printf(req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target);
	if (body)
		g_string_append_printf(req, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, strlen(body));
	g_string_append_printf(req, "\r\n%s", body ? body : "");
	g_assert_cmpint(send(fd, req->str, req->len, MSG_NOSIGNAL), ==, (ssize_t)req->len);
	read_to_end(fd, got);
	close(fd);
	g_string_free(req, TRUE);
	return got;
}

static const char *body_of(const GString *resp)
{
	const char *b = strstr(resp->str, "\r\n\r\n");

	g_assert_nonnull(b);
	return b + 4;
}

static JsonObject *parse_object(const char *text, JsonParser *p)
{
	GError *err = NULL;

	g_assert_true(json_parser_load_from_data(p, text, -1, &err));
	g_assert_no_error(err);
	return json_node_get_object(json_parser_get_root(p));
}

static void test_info(struct fixture *f, gconstpointer data)
{
	GString *resp = request(f, "GET", "/api/info", NULL, NULL);
	JsonParser *p = json_parser_new();
	JsonObject *o;

	(void)data;
	g_assert_true(g_str_has_prefix(resp->str, "HTTP/1.1 200"));
	o = parse_object(body_of(resp), p);
	g_assert_cmpstr(json_object_get_string_member(o, "name"), ==, "Test device");
	g_assert_cmpstr(json_object_get_string_member(o, "fingerprint"), ==, idl_identity_fingerprint(f->id));
	g_assert_cmpstr(idl_device_fingerprint(f->dev), ==, idl_identity_fingerprint(f->id));
	g_assert_cmpstr(idl_device_name(f->dev), ==, "Test device");
	g_assert_cmpstr(idl_device_discovery_name(f->dev), ==, "none");
	g_assert_null(idl_device_host_name(f->dev));
	g_object_unref(p);
	g_string_free(resp, TRUE);
}

static void test_page(struct fixture *f, gconstpointer data)
{
	GString *resp = request(f, "GET", "/", NULL, NULL);

	(void)data;
	g_assert_true(g_str_has_prefix(resp->str, "HTTP/1.1 200"));
	g_assert_nonnull(strcasestr(resp->str, "Content-Type: text/html"));
	g_assert_nonnull(strcasestr(resp->str, "Content-Security-Policy: default-src 'none'"));
	g_assert_nonnull(strstr(body_of(resp), "<html"));
	g_string_free(resp, TRUE);
	/* Without discovery there is no list of nearby devices. */
	resp = request(f, "GET", "/api/devices", NULL, NULL);
	g_assert_true(g_str_has_prefix(resp->str, "HTTP/1.1 404"));
	g_string_free(resp, TRUE);
}

#define OFFER "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

static void test_unknown_tab(struct fixture *f, gconstpointer data)
{
	GString *resp = request(f, "POST", "/api/offer?to=0123456789abcdef", "application/sdp", OFFER);

	(void)data;
	g_assert_true(g_str_has_prefix(resp->str, "HTTP/1.1 404"));
	g_assert_nonnull(strstr(body_of(resp), "no browser tab with this id is attached to this device"));
	g_string_free(resp, TRUE);
}

/* Reads fd until an event of type event has come whole, and returns the
 * value of member name of its data (a JSON object); owned by the caller. */
static char *read_event(int fd, GString *got, const char *event, const char *name)
{
	char *head = g_strdup_printf("event: %s\ndata: ", event);
	gint64 end = g_get_monotonic_time() + WAIT_US;
	JsonParser *p = json_parser_new();
	const char *at;
	char *line, *value;

	while (!(at = strstr(got->str, head)) || !strstr(at, "\n\n")) {
		pump(fd, got);
		if (g_get_monotonic_time() > end)
			g_error("timed out waiting for the event %s; got: %s", event, got->str);
	}
	line = g_strndup(at + strlen(head), strcspn(at + strlen(head), "\n"));
	value = g_strdup(json_object_get_string_member(parse_object(line, p), name));
	g_object_unref(p);
	g_free(line);
	g_free(head);
	return value;
}

/* An attached tab gets the offer on its event stream; its answer goes back
 * to the one who offered, through the device and nothing else. */
static void test_tab_relay(struct fixture *f, gconstpointer data)
{
	static const char fp[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	int tab = connect_to(idl_device_port(f->dev)), offerer = connect_to(idl_device_port(f->dev));
	GString *events = g_string_new(NULL), *resp = g_string_new(NULL), *req = g_string_new(NULL);
	char *id, *token, *rid, *sdp, *answer, *target;

	(void)data;
	g_string_printf(req, "GET /api/events?name=Tab&fp=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", fp);
	g_assert_cmpint(send(tab, req->str, req->len, MSG_NOSIGNAL), ==, (ssize_t)req->len);
	id = read_event(tab, events, "hello", "id");
	token = read_event(tab, events, "hello", "token");
	g_string_truncate(events, 0);

	target = g_strdup_printf("/api/offer?to=%s", id);
	g_string_printf(req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
			     "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
			target, strlen(OFFER), OFFER);
	g_assert_cmpint(send(offerer, req->str, req->len, MSG_NOSIGNAL), ==, (ssize_t)req->len);
	rid = read_event(tab, events, "offer", "rid");
	sdp = read_event(tab, events, "offer", "sdp");
	g_assert_cmpstr(sdp, ==, OFFER);

	answer = g_strdup_printf("{\"id\":\"%s\",\"token\":\"%s\",\"rid\":\"%s\",\"sdp\":\"v=0\\r\\nanswer\\r\\n\"}", id,
				 token, rid);
	g_string_free(request(f, "POST", "/api/answer", "application/json", answer), TRUE);
	read_to_end(offerer, resp);
	g_assert_true(g_str_has_prefix(resp->str, "HTTP/1.1 201"));
	g_assert_cmpstr(body_of(resp), ==, "v=0\r\nanswer\r\n");

	close(offerer);
	close(tab);
	g_free(id);
	g_free(token);
	g_free(rid);
	g_free(sdp);
	g_free(answer);
	g_free(target);
	g_string_free(events, TRUE);
	g_string_free(resp, TRUE);
	g_string_free(req, TRUE);
}

/* ---- a peer connection, as send and ping make it ---- */

struct client {
	struct idl_peer *peer;
	bool failed;
	char *message;
	unsigned opened;       /* channels the device acknowledged */
	GString *got;          /* what came back on the channel */
	bool closed;
};

static void on_connected(struct idl_peer *p, void *user)
{
	struct client *c = user;

	c->peer = p;
}

static void on_failed(enum idl_connect_failure kind, const char *message, void *user)
{
	struct client *c = user;

	(void)kind;
	c->failed = true;
	c->message = g_strdup(message);
}

static void ch_open(struct idl_channel *ch, void *user)
{
	struct client *c = user;

	(void)ch;
	c->opened++;
}

static void ch_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct client *c = user;

	(void)ch;
	(void)binary;
	g_string_append_len(c->got, (const char *)data, len);
}

static void ch_closed(struct idl_channel *ch, void *user)
{
	struct client *c = user;

	(void)ch;
	c->closed = true;
}

/* Runs the main loop until cond holds, or WAIT_US passed. */
#define SPIN_UNTIL(cond)                                                          \
	do {                                                                      \
		gint64 end_ = g_get_monotonic_time() + WAIT_US;                   \
		while (!(cond) && g_get_monotonic_time() < end_)                  \
			g_main_context_iteration(NULL, TRUE);                     \
	} while (0)

static void test_connect(struct fixture *f, gconstpointer data)
{
	static const struct idl_connect_callbacks ccb = { NULL, on_connected, on_failed };
	static const struct idl_channel_callbacks chcb = { ch_open, ch_message, NULL, ch_closed };
	struct client c = { .got = g_string_new(NULL) };
	char *target = g_strdup_printf("127.0.0.1:%u", idl_device_port(f->dev)), *msg = NULL;
	char *other = g_build_filename(f->dir, "client", NULL);
	struct idl_connect_options o = { .interface = "lo", .timeout_ms = 20000 };
	struct idl_identity *mine = NULL;
	struct idl_connect *conn = NULL;
	struct idl_channel *echo, *sink;
	uint8_t bulk[3000] = { 0 };
	GError *err = NULL;

	(void)data;
	g_assert_cmpint(idl_target_parse(target, &o.target, NULL), ==, 0);
	/* The client's own key, as send's would be: another state directory. */
	g_assert_cmpint(idl_identity_load_or_create(other, &mine, &err), ==, 0);
	o.id = mine;
	g_assert_cmpint(idl_connect_start(&o, &ccb, &c, &conn, &msg), ==, 0);
	SPIN_UNTIL(c.peer || c.failed);
	if (c.failed)
		g_error("cannot connect to the device: %s", c.message);
	g_assert_cmpstr(idl_peer_remote_fingerprint(c.peer), ==, idl_device_fingerprint(f->dev));

	echo = idl_peer_open_channel(c.peer, "echo", "", true, &chcb, &c, &err);
	g_assert_no_error(err);
	SPIN_UNTIL(c.opened == 1 || c.failed);
	g_assert_cmpint(idl_channel_send(echo, false, (const uint8_t *)"hello", 5), ==, 0);
	SPIN_UNTIL(!strcmp(c.got->str, "hello") || c.failed);
	g_assert_cmpstr(c.got->str, ==, "hello");

	g_string_truncate(c.got, 0);
	sink = idl_peer_open_channel(c.peer, "sink", "", true, &chcb, &c, &err);
	g_assert_no_error(err);
	SPIN_UNTIL(c.opened == 2 || c.failed);
	g_assert_cmpint(idl_channel_send(sink, true, bulk, sizeof(bulk)), ==, 0);
	g_assert_cmpint(idl_channel_send(sink, false, (const uint8_t *)"done", 4), ==, 0);
	SPIN_UNTIL(!strcmp(c.got->str, "3000") || c.failed);
	g_assert_cmpstr(c.got->str, ==, "3000");

	g_assert_nonnull(idl_peer_open_channel(c.peer, "idrop", "", true, &chcb, &c, &err));
	g_assert_no_error(err);
	SPIN_UNTIL(f->transfer_channels || c.failed);
	g_assert_cmpuint(f->transfer_channels, ==, 1);
	SPIN_UNTIL(c.closed || c.failed);   /* the owner closed it */
	g_assert_true(c.closed);

	idl_connect_free(conn);
	idl_identity_free(mine);
	g_free(other);
	g_free(c.message);
	g_string_free(c.got, TRUE);
	g_free(target);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/device/info", struct fixture, NULL, setup, test_info, teardown);
	g_test_add("/device/page", struct fixture, NULL, setup, test_page, teardown);
	g_test_add("/device/unknown-tab", struct fixture, NULL, setup, test_unknown_tab, teardown);
	g_test_add("/device/tab-relay", struct fixture, NULL, setup, test_tab_relay, teardown);
	g_test_add("/device/connect", struct fixture, NULL, setup, test_connect, teardown);
	return g_test_run();
}
