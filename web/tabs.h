/* tabs: browser tabs attached to this device. A page opens an event stream
 * (GET /api/events); while it stays open the device announces the tab by
 * DNS-SD as an instance of its own (k=b, t=its id, d=this device) and relays
 * to it the SDP offers others POST to /api/offer?to=ID, taking its answer
 * back from POST /api/answer. Only signalling passes through the device; the
 * data flows directly between the sender and the browser. See README.md,
 * "Browser tabs: attaching and the offer relay". */
#ifndef IDL_TABS_H
#define IDL_TABS_H

#include <stdint.h>
#include <glib.h>

#include "discovery/mdns.h"
#include "discovery/txt.h"
#include "web/api.h"
#include "web/http.h"

#define IDL_TABS_MAX 32                 /* attached at once */
/* Attached at once from one host (an IPv4 address, an IPv6 /64): two hosts
 * cannot take every slot. An event stream has no other time-out: a tab
 * sends nothing while attached, so only its socket closing or its client
 * not reading (IDL_HTTP_STREAM_QUEUE_MAX bytes of events waiting) ends it. */
#define IDL_TABS_PER_ADDRESS 4
#define IDL_TABS_OFFERS_PER_TAB 4       /* relayed offers waiting for one tab */
#define IDL_TABS_ANSWER_TIMEOUT_S 20    /* a tab's time to answer an offer */
#define IDL_TABS_KEEPALIVE_S 10

struct idl_tabs;

/* Registers GET /api/events and POST /api/answer on h. dev (the device's
 * name, updated after a rename) and m are borrowed and must outlive the
 * registry; m may be NULL (a device without discovery: tabs attach and get
 * offers, but are not announced). port is the HTTP port the tabs are
 * reached through. *out is owned by the caller. */
struct idl_tabs *idl_tabs_new(struct idl_http *h, struct idl_mdns *m, const struct idl_api_device *dev,
			      uint16_t port);

/* Ends every stream and withdraws every tab's record; offers still waiting
 * are told the tab closed (404). Call before idl_http_free. NULL is a no-op. */
void idl_tabs_free(struct idl_tabs *t);

/* Number of tabs attached now. */
unsigned idl_tabs_count(const struct idl_tabs *t);

/* Relays the SDP offer in req to tab `to` (a handler's request and
 * response, see web/signal.c): the response is deferred until the tab
 * answers, refuses (502), is gone (404) or times out (504). */
void idl_tabs_relay_offer(struct idl_tabs *t, const char *to, const struct idl_http_request *req,
			  struct idl_http_response *resp);

/* A tab's answer, as POST /api/answer carries it. */
struct idl_tab_answer {
	char id[IDL_TXT_TAB_LEN + 1];
	char token[33];
	char rid[IDL_TXT_TAB_LEN + 1];
	char *sdp;        /* owned; NULL when the tab refused */
	char *error;      /* owned; the tab's reason (control characters
	                     replaced, at most 200 bytes), NULL with sdp */
};

/* Parses the JSON body of POST /api/answer: exactly one object with string
 * members id (16 hex), token (32 hex), rid (16 hex) and one of sdp (1 to
 * 64 KiB) or error; other members are ignored. Pure. Returns 0 (release
 * with idl_tab_answer_clear), or -EINVAL with *err saying what is wrong. */
int idl_tab_answer_parse(const char *body, size_t len, struct idl_tab_answer *out, GError **err);
void idl_tab_answer_clear(struct idl_tab_answer *a);

#endif
