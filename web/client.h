/* client: the HTTP client side of signalling: POST an SDP offer to a
 * device and get its answer, with libcurl run in a worker thread so the
 * GLib main loop (and the ICE agent on it) never blocks. */
#ifndef IDL_HTTP_CLIENT_H
#define IDL_HTTP_CLIENT_H

#include <stddef.h>
#include <glib.h>

/* Called on the main context of the caller with the HTTP status and body
 * (NUL-terminated, borrowed for the call), or with err when no HTTP answer
 * came (connection refused, timeout). */
typedef void (*idl_http_post_cb)(unsigned status, const char *body, size_t len, const GError *err,
				 void *user);

/* POSTs body (copied) to url with content_type, giving up after timeout_ms. */
void idl_http_post(const char *url, const char *content_type, const char *body, unsigned timeout_ms,
		   idl_http_post_cb cb, void *user);

#endif
