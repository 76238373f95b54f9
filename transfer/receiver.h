/* receiver: the receiving side of the transfer protocol (docs/PROTOCOL.md)
 * over a link. It answers hello, plans each offer on disk (what a resume
 * already holds, free space), asks its owner for consent, and writes every
 * accepted file through the store (transfer/store.h) on a worker thread:
 * nothing reaches the download folder before consent, and no file gets its
 * final name before its SHA-256 matched. */
#ifndef IDL_RECEIVER_H
#define IDL_RECEIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "transfer/link.h"
#include "transfer/protocol.h"

struct idl_receiver;

/* What an offer asks for, for the consent question. Borrowed for the call. */
struct idl_offer_info {
	const char *peer_name;        /* from its hello */
	enum idl_peer_kind peer_kind;
	const char *peer_fingerprint; /* 64 hex digits */
	const struct idl_msg *offer;  /* the decoded offer (paths, sizes) */
	uint64_t total;               /* bytes of all files */
	uint64_t held;                /* bytes already here from an interrupted transfer */
	const char *code;             /* verification code "123 456", NULL when the
	                                 sender offers none (transfer/sas.h) */
};

struct idl_receiver_callbacks {
	/* An offer that fits on disk: answer it (now or later) with
	 * idl_receiver_decide(). */
	void (*offer)(struct idl_receiver *r, const struct idl_offer_info *info, void *user);
	/* One file ended: final_path (relative to the folder) when it was kept,
	 * else reason. May be NULL. */
	void (*file_done)(struct idl_receiver *r, const char *path, const char *final_path,
			  const char *reason, void *user);
	/* One offer ended: OK or VERIFY once the receipt is sent, DECLINED.
	 * More offers may follow on the same link. May be NULL. */
	void (*transfer_done)(struct idl_receiver *r, enum idl_xfer_result result, const char *reason,
			      void *user);
	/* The receiver stopped (the link closed, a cancel either way, a
	 * protocol error, the disk full); no callback follows. Free it later,
	 * not inside. */
	void (*finished)(struct idl_receiver *r, enum idl_xfer_result result, const char *reason, void *user);
};

struct idl_receiver_stats {
	guint files, files_verified, files_failed;
	uint64_t total;               /* bytes of the accepted offer */
	uint64_t done;                /* bytes held (resumed + received) */
	uint64_t received;            /* file bytes received on this link */
	char peer_name[IDL_MSG_NAME_MAX + 1];
	const char *current;          /* path of the file arriving, "" between files;
	                                 valid until the next call into the receiver */
};

/* Receives into dir, keeping resume records under state_dir; name is our
 * display name; peer_fp the sender's verified DTLS fingerprint (resume
 * data is only ever continued for the same sender). *out is owned by the
 * caller. Returns 0 or -errno with *err (the folder cannot be used). */
int idl_receiver_new(const char *dir, const char *state_dir, const char *name, const char *peer_fp,
		     const struct idl_link *link, const struct idl_receiver_callbacks *cb, void *user,
		     struct idl_receiver **out, GError **err);

/* Our DTLS fingerprint (64 hex digits, copied), for the verification code;
 * before the first message. Without it there is no code. */
void idl_receiver_set_local_fingerprint(struct idl_receiver *r, const char *ours);

/* One message from the sender (data borrowed for the call). */
void idl_receiver_feed(struct idl_receiver *r, bool binary, const uint8_t *data, size_t len);

/* The answer to the pending offer; reason (for people) when declining. */
void idl_receiver_decide(struct idl_receiver *r, bool accept, const char *reason);

/* The link is gone: an open file keeps its .part for a resume. */
void idl_receiver_closed(struct idl_receiver *r);

void idl_receiver_stats(const struct idl_receiver *r, struct idl_receiver_stats *out);

/* True when every job given to the disk is back: what was received is
 * written (an ended transfer's last .part included). */
bool idl_receiver_written(const struct idl_receiver *r);

/* Not from inside a callback. Never waits: what was received and not yet
 * written is still written, by the disk thread after this returns (see
 * idl_receiver_written to know it is done first); an open file keeps its
 * .part. NULL is a no-op. */
void idl_receiver_free(struct idl_receiver *r);

#endif
