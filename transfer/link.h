/* link: what the sender and the receiver need of the data channel under
 * them, as two function pointers handed down at creation. The CLI plugs in
 * an idl_channel; the unit tests plug one side straight into the other, or
 * a hostile script into either, without any network. */
#ifndef IDL_LINK_H
#define IDL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transfer/protocol.h"

struct idl_link {
	/* Queues one message (text: a JSON control message; binary: file
	 * data). Never refused for a full buffer. Returns 0 or negative errno. */
	int (*send)(void *ctx, bool binary, const uint8_t *data, size_t len);
	/* Bytes queued and not yet sent. */
	size_t (*buffered)(void *ctx);
	void *ctx;
	/* The size to cut file data into: what the channel's
	 * idl_channel_message_size decided (the peer's max-message-size, or
	 * less). The sender never exceeds 64 KiB either (docs/PROTOCOL.md). */
	size_t max_message;
	/* Back-pressure towards the peer: with paused true the link stops
	 * delivering incoming messages (at most the one being delivered
	 * still arrives) and lets them wait below, where the peer's window
	 * closes; with false it delivers again, later, from the loop, never
	 * inside this call. Optional (NULL: a link that cannot hold back,
	 * whose own queue is bounded). */
	void (*pause)(void *ctx, bool paused);
};

/* Encodes m and sends it as a text message. A reason longer than the
 * protocol allows (a long path in a disk error) is cut to fit, so the
 * answer still goes. Returns 0 or negative errno: -EMSGSIZE when m cannot
 * be encoded (over IDL_MSG_MAX), with *err (may be NULL) saying why, so
 * that the caller can cancel rather than leave its peer waiting for an
 * answer that never comes. */
int idl_link_send_msg(const struct idl_link *l, const struct idl_msg *m, GError **err);

/* How a transfer ended, from the point of view of the side that reports it. */
enum idl_xfer_result {
	IDL_XFER_OK,          /* every file verified (receiver: the receipt was sent) */
	IDL_XFER_DECLINED,    /* the receiver declined the offer */
	IDL_XFER_CANCELLED,   /* the other side cancelled (reason given) */
	IDL_XFER_VERIFY,      /* the transfer ran to its end but a file was not verified */
	IDL_XFER_PROTOCOL,    /* the other side broke docs/PROTOCOL.md */
	IDL_XFER_LOCAL,       /* a local failure: a file unreadable, the disk full */
	IDL_XFER_CLOSED,      /* the channel closed before the end */
};

#endif
