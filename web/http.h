/* http: the device's embedded HTTP server (libmicrohttpd) driven by the GLib
 * main loop, with a small table of routes. It carries the advertised port
 * (/api/info), the signalling endpoint (web/signal.c) and the page
 * (web/page.c). HEAD is answered wherever GET is. */
#ifndef IDL_HTTP_H
#define IDL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define IDL_HTTP_DEFAULT_PORT 7757
#define IDL_HTTP_MAX_BODY (64 * 1024)

struct idl_http;

struct idl_http_options {
	const char *interface;   /* NULL: listen on every interface */
	uint16_t port;           /* 0: any free port */
	bool port_fallback;      /* port taken: take any free one instead of failing */
};

struct idl_http_request {
	const char *method;
	const char *path;
	const char *content_type;/* NULL when absent */
	const char *remote;      /* the client's address ("10.0.0.2", "fe80::1"), "" if unknown */
	const uint8_t *body;     /* borrowed for the call; NUL-terminated */
	size_t body_len;
};

struct idl_http_response {
	unsigned status;
	const char *content_type;/* static string */
	const char *csp;         /* static Content-Security-Policy for a page, or NULL */
	unsigned retry_after;    /* seconds, sent as Retry-After when not 0 (429, 503) */
	char *body;              /* owned by the server once the handler returns */
	size_t body_len;
};

/* A handler fills resp; it runs on the main loop and must not block. */
typedef void (*idl_http_handler)(const struct idl_http_request *req,
				 struct idl_http_response *resp, void *user);

/* Starts listening (IPv6 dual-stack when the system has it, else IPv4).
 * *out is owned by the caller. Returns 0, or a negative errno value with
 * *err saying what to do (port taken, no such interface). */
int idl_http_new(const struct idl_http_options *opt, struct idl_http **out, GError **err);

/* NULL is a no-op; open connections are closed. */
void idl_http_free(struct idl_http *h);

/* The port actually bound. */
uint16_t idl_http_port(const struct idl_http *h);

/* Adds a route for an exact method and path; user is borrowed and must
 * outlive the server. Requests for unknown paths get 404, for a known path
 * with another method 405. */
void idl_http_route(struct idl_http *h, const char *method, const char *path,
		    idl_http_handler fn, void *user);

/* Fills resp with a JSON error body {"error": message}. */
void idl_http_error(struct idl_http_response *resp, unsigned status, const char *message);

#endif
