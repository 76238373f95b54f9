/* client: a one-shot HTTP POST on libcurl in a GTask worker (see client.h). */
#include "web/client.h"

#include <gio/gio.h>
#include <curl/curl.h>

struct post {
	char *url;
	char *content_type;
	char *body;
	unsigned timeout_ms;
	long status;
	GString *answer;
	idl_http_post_cb cb;
	void *user;
};

static void post_free(gpointer data)
{
	struct post *p = data;

	g_free(p->url);
	g_free(p->content_type);
	g_free(p->body);
	if (p->answer)
		g_string_free(p->answer, TRUE);
	g_free(p);
}

static size_t on_data(char *ptr, size_t size, size_t n, void *user)
{
	GString *s = user;

	/* A signalling answer is a few KiB; refuse to buffer a hostile stream. */
	if (s->len + size * n > 256 * 1024)
		return 0;
	g_string_append_len(s, ptr, (gssize)(size * n));
	return size * n;
}

static void run(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	struct post *p = data;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	char *ct = g_strdup_printf("Content-Type: %s", p->content_type);
	CURL *curl = curl_easy_init();
	CURLcode rc;

	(void)source;
	(void)cancel;
	headers = curl_slist_append(headers, ct);
	curl_easy_setopt(curl, CURLOPT_URL, p->url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");   /* the LAN is never behind a proxy */
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, p->answer);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &p->status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	g_free(ct);
	if (rc != CURLE_OK)
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "HTTP POST to %s failed: %s",
					p->url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		g_task_return_boolean(task, TRUE);
}

static void done(GObject *source, GAsyncResult *res, gpointer user)
{
	struct post *p = g_task_get_task_data(G_TASK(res));
	GError *err = NULL;

	(void)source;
	(void)user;
	if (g_task_propagate_boolean(G_TASK(res), &err))
		p->cb((unsigned)p->status, p->answer->str, p->answer->len, NULL, p->user);
	else {
		p->cb(0, NULL, 0, err, p->user);
		g_error_free(err);
	}
}

void idl_http_post(const char *url, const char *content_type, const char *body, unsigned timeout_ms,
		   idl_http_post_cb cb, void *user)
{
	struct post *p = g_new0(struct post, 1);
	GTask *task;
	static gsize curl_ready;

	/* curl_global_init is not thread-safe: do it once, from this thread. */
	if (g_once_init_enter(&curl_ready)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&curl_ready, 1);
	}
	p->url = g_strdup(url);
	p->content_type = g_strdup(content_type);
	p->body = g_strdup(body);
	p->timeout_ms = timeout_ms;
	p->answer = g_string_new(NULL);
	p->cb = cb;
	p->user = user;
	task = g_task_new(NULL, NULL, done, NULL);
	g_task_set_task_data(task, p, post_free);
	g_task_run_in_thread(task, run);
	g_object_unref(task);
}
