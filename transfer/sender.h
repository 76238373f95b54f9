/* sender: the sending side of the transfer protocol (docs/PROTOCOL.md) over
 * a link: hello, offer, then each accepted file from the offset the receiver
 * already holds, its SHA-256, done, and the receipt. Files are read and
 * hashed ahead by a worker thread, a bounded amount at a time, so memory
 * stays constant and the network loop never waits on the disk. */
#ifndef IDL_SENDER_H
#define IDL_SENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "transfer/files.h"
#include "transfer/link.h"
#include "transfer/protocol.h"

struct idl_sender;

struct idl_sender_callbacks {
	/* The receiver accepted an offer (see idl_sender_stats for what it
	 * already held). May be NULL. */
	void (*accepted)(struct idl_sender *s, void *user);
	/* The receiver answered file-ok (ok) or file-error (reason). May be NULL. */
	void (*file_result)(struct idl_sender *s, guint index, bool ok, const char *reason, void *user);
	/* The end; no callback follows. reason says why for anything but OK
	 * (borrowed for the call). Free the sender later, not inside. */
	void (*finished)(struct idl_sender *s, enum idl_xfer_result result, const char *reason, void *user);
	/* The verification code ("123 456") is known: both fingerprints were
	 * given and the receiver takes part. code is NULL when we offered one
	 * and the receiver's hello took no part (an older peer, or someone in
	 * between who removed it): worth saying. Before the first offer. May
	 * be NULL. */
	void (*code)(struct idl_sender *s, const char *code, void *user);
};

struct idl_sender_stats {
	guint files, files_verified, files_failed;
	guint current;              /* index of the file being sent */
	uint64_t total;             /* bytes of all files */
	uint64_t done;              /* bytes the receiver holds or that left us */
	uint64_t resumed;           /* bytes the receiver already held */
	uint64_t sent;              /* file bytes sent on this connection */
	char peer_name[IDL_MSG_NAME_MAX + 1];  /* from its hello, "" before */
	char code[8];               /* verification code, "" when there is none */
};

/* files (of struct idl_send_file *) is borrowed and must outlive the
 * sender; name is our display name. Nothing is sent before idl_sender_start.
 * *out is owned by the caller. */
int idl_sender_new(const GPtrArray *files, const char *name, const struct idl_link *link,
		   const struct idl_sender_callbacks *cb, void *user, struct idl_sender **out, GError **err);

/* Our DTLS fingerprint and the receiver's (64 hex digits, copied), for the
 * verification code (transfer/sas.h); before idl_sender_start. Without
 * them there is no code. */
void idl_sender_set_fingerprints(struct idl_sender *s, const char *ours, const char *peers);

/* The channel is open: says hello. */
void idl_sender_start(struct idl_sender *s);

/* One message from the receiver (data borrowed for the call). */
void idl_sender_feed(struct idl_sender *s, bool binary, const uint8_t *data, size_t len);

/* The link's send buffer drained: send more. */
void idl_sender_pump(struct idl_sender *s);

/* The link is gone: finished(CLOSED) unless finished already. */
void idl_sender_closed(struct idl_sender *s);

/* Stops: tells the receiver (cancel with reason) and finishes with
 * result CANCELLED. No-op once finished. */
void idl_sender_cancel(struct idl_sender *s, const char *reason);

void idl_sender_stats(const struct idl_sender *s, struct idl_sender_stats *out);

/* Not from inside a callback. NULL is a no-op. */
void idl_sender_free(struct idl_sender *s);

#endif
