/* table: the idrop-lan devices and browser tabs seen on the LAN, as one
 * table fed by DNS-SD browse events (mdns.h): services whose TXT record is
 * idrop-lan's own (txt.h), keyed by instance name, with an event when one
 * appears, changes or leaves; and their JSON, one layout for every reader
 * (`list --json`, GET /api/devices; README.md "JSON of a device"). */
#ifndef IDL_TABLE_H
#define IDL_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "discovery/mdns.h"
#include "discovery/txt.h"

/* One device or browser tab as last heard. Borrowed from the table: valid
 * until the next event for its name, or until the table is freed. */
struct idl_devtable_entry {
	char *name;                  /* DNS-SD instance name: the key */
	char *host;                  /* "laptop.local" */
	char **addresses;            /* NULL-terminated, IPv4 first */
	uint16_t port;
	struct idl_txt txt;          /* fingerprint, display name, caps, kind
	                                ('d' device, 'b' browser), and for a
	                                browser its device and tab id */
	bool this_device;            /* a device (never a browser tab) whose
	                                fingerprint is the table's self_fp */
};

/* The name to show: the TXT display name, else the instance name (they
 * differ after DNS-SD renamed a taken name: "laptop #2"). Borrowed. */
const char *idl_devtable_entry_display_name(const struct idl_devtable_entry *e);

/* Events, each called while the table is being updated: a callback may read
 * the table but must not free it. Any of them may be NULL. */
struct idl_devtable_callbacks {
	/* A name not in the table got a usable idrop-lan record. */
	void (*appeared)(const struct idl_devtable_entry *e, void *user);
	/* A name in the table got a record that differs in host, addresses,
	 * port or TXT (an identical one, as a second address family resolves,
	 * makes no event). old is the entry as it was. */
	void (*changed)(const struct idl_devtable_entry *old, const struct idl_devtable_entry *now, void *user);
	/* A name in the table left the network; e is its last entry. */
	void (*left)(const struct idl_devtable_entry *e, void *user);
	/* Browsing failed (idl_devtable_browse); no more events come. */
	void (*failed)(const GError *err, void *user);
};

struct idl_devtable;

/* An empty table. self_fp (copied; NULL or "" when there is no identity)
 * marks this device's entry. cb (copied) may be NULL. Owned by the caller. */
struct idl_devtable *idl_devtable_new(const char *self_fp, const struct idl_devtable_callbacks *cb,
				      void *user);

/* Stops browsing. NULL is a no-op. Never from inside its own callback. */
void idl_devtable_free(struct idl_devtable *t);

/* Browses m (borrowed, must outlive t) for idrop-lan services and feeds
 * the table until it is freed. Returns 0, or a negative errno value with
 * *err set; -EALREADY when t browses already. */
int idl_devtable_browse(struct idl_devtable *t, struct idl_mdns *m, GError **err);

/* Also asks by one-shot queries (idl_mdns_browser_oneshot), for a one-off
 * reader. Returns 0, or a negative errno value with *err set (browsing goes
 * on without them); -EINVAL when t does not browse. */
int idl_devtable_oneshot(struct idl_devtable *t, GError **err);

/* True while a device heard of is still being resolved (see
 * idl_mdns_browser_resolving); false when not browsing. */
bool idl_devtable_resolving(const struct idl_devtable *t);

/* True once the browse's first query round is over (see
 * idl_mdns_browser_all_for_now); false when not browsing. */
bool idl_devtable_all_for_now(const struct idl_devtable *t);

/* What idl_devtable_browse feeds, for tests: a service resolved or updated
 * (svc borrowed; one whose TXT record is not idrop-lan's is ignored and
 * leaves any entry of its name as it was), or a name gone. Pure. */
void idl_devtable_seen(struct idl_devtable *t, const struct idl_mdns_service *svc);
void idl_devtable_gone(struct idl_devtable *t, const char *name);

/* The entry of instance name, or NULL. Borrowed. */
const struct idl_devtable_entry *idl_devtable_lookup(const struct idl_devtable *t, const char *name);

/* Every entry, sorted by instance name (g_utf8_collate). The array is the
 * caller's (g_ptr_array_unref); the entries are borrowed. */
GPtrArray *idl_devtable_entries(const struct idl_devtable *t);

/* The JSON of one entry, README.md "JSON of a device". With an event, the
 * object is a `list --watch --json` line: "event" first ("appeared",
 * "updated" or "left"), and a "left" one holds only the event and the name.
 * Strings are as heard (json-glib escapes quotes and C0 controls); whoever
 * prints them on a terminal escapes the rest (base/text.h
 * idl_text_json_safe). Returns a new node (json_node_unref). */
enum idl_devtable_event {
	IDL_DEVTABLE_NO_EVENT,
	IDL_DEVTABLE_APPEARED,
	IDL_DEVTABLE_CHANGED,
	IDL_DEVTABLE_LEFT,
};
JsonNode *idl_devtable_entry_json(const struct idl_devtable_entry *e, enum idl_devtable_event ev);

/* Every entry's JSON, sorted as idl_devtable_entries: a JSON array. Returns
 * a new node (json_node_unref). */
JsonNode *idl_devtable_json(const struct idl_devtable *t);

#endif
