/* page: serve the embedded page. See page.h. Each file gets its content
 * type from its extension and a strict Content-Security-Policy: the page
 * loads only its own files; it may talk to any device over http. */
#include "web/page.h"

#include <string.h>
#include <gio/gio.h>

#define PAGE_ROOT "/org/idrop/page/"
/* connect-src allows any http: origin because the page sends to other
 * devices (and tabs attached to them) at addresses only discovery knows. */
#define PAGE_CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
		 "connect-src 'self' http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

static void serve_file(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	const char *name = user;
	char *path = g_strconcat(PAGE_ROOT, name, NULL);
	GBytes *data = g_resources_lookup_data(path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	gsize len;

	(void)req;
	g_free(path);
	if (!data) {
		idl_http_error(resp, 404, "no such file");
		return;
	}
	resp->content_type = "application/octet-stream";
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		if (g_str_has_suffix(name, types[i].ext))
			resp->content_type = types[i].type;
	resp->csp = PAGE_CSP;
	resp->body = g_memdup2(g_bytes_get_data(data, &len), g_bytes_get_size(data));
	resp->body_len = len;
	g_bytes_unref(data);
}

void idl_page_register(struct idl_http *h)
{
	/* The names live as long as the process: the resource is static. */
	static char **names;

	if (!names)
		names = g_resources_enumerate_children(PAGE_ROOT, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	for (char **n = names; n && *n; n++) {
		char *route = g_strconcat("/", *n, NULL);
		idl_http_route(h, "GET", route, serve_file, *n);
		if (!strcmp(*n, "index.html"))
			idl_http_route(h, "GET", "/", serve_file, *n);
		g_free(route);
	}
}
