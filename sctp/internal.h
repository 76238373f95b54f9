/* sctp/internal.h: what sctp.c (the association: usrsctp, packets,
 * notifications) and channel.c (data channels: DCEP, send queues, stream
 * resets) share. Private to sctp/: nothing else includes it. Functions
 * named idl_sctpi_ cross between the two files; everything runs on the
 * loop thread, outside usrsctp's own calls (see sctp.c). */
#ifndef IDL_SCTP_INTERNAL_H
#define IDL_SCTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <usrsctp.h>

#include "sctp/sctp.h"

/* Payload protocol identifiers (RFC 8831 section 8). */
enum {
	PPID_DCEP = 50,
	PPID_TEXT = 51,
	PPID_BINARY_PARTIAL = 52,   /* deprecated; accepted, never sent */
	PPID_BINARY = 53,
	PPID_TEXT_PARTIAL = 54,     /* deprecated; accepted, never sent */
	PPID_TEXT_EMPTY = 56,
	PPID_BINARY_EMPTY = 57,
};

/* We announce IDL_SCTP_LOCAL_MAX_MESSAGE but take bigger messages from a
 * peer that ignores it, up to this; past it a peer is only costing us
 * memory, and the association is aborted. */
#define RECV_LIMIT (16u << 20)

enum ch_state {
	CH_OPENING,   /* our OPEN sent, waiting for the ACK */
	CH_OPEN,
	CH_CLOSING,   /* closed by one side: drain, then reset our outgoing stream */
	CH_CLOSED,
};

struct out_msg {
	uint32_t ppid;
	bool counted;   /* user payload, part of the buffered amount */
	bool started;   /* the rest of a message whose start went straight to usrsctp */
	size_t len, off;
	uint8_t data[];
};

struct idl_channel {
	struct idl_sctp *s;
	uint16_t id;
	bool ordered;
	enum ch_state state;
	char *label, *protocol;
	struct idl_channel_callbacks cb;
	void *user;
	GQueue queue;          /* struct out_msg *, oldest first */
	size_t buffered;       /* counted bytes not yet accepted by usrsctp */
	size_t low_threshold;
	bool above;            /* buffered went over the threshold: buffered_low is due */
	bool in_ready;         /* on s->ready */
	bool reset_queued;     /* our outgoing reset is asked for (queued or sent) */
	bool local_reset;      /* our outgoing stream is reset */
	bool remote_reset;     /* the peer's outgoing stream is reset */
	bool dead;             /* closed: off s->channels, freed from the idle source */
	bool read_paused;      /* idl_channel_pause_reading: counted in s->read_paused */
	GByteArray *legacy;    /* PPID 52/54 pieces, until the closing 51/53/56/57 */
};

struct idl_sctp {
	guint id;              /* registry key; what usrsctp knows us by */
	struct socket *sock;
	GMainContext *ctx;
	bool dtls_client;
	size_t remote_max;
	struct idl_sctp_callbacks cb;
	void *user;
	bool connect_called, connected, failed, closing;
	bool shutting;         /* idl_sctp_shutdown was called */
	bool shut_down;        /* the shutdown is complete: the association is gone */
	gint64 t_fed;          /* when the peer's last packet was fed */
	GSource *shutdown_wait; /* until our SACK for it has left (idl_sctp_shutdown) */
	bool below_closed;     /* cb.send said -EPIPE: the layer below has ended */
	bool pending;          /* an upcall came: process() has work */
	bool processing, flushing, low_pending;
	bool nagle;            /* SCTP_NODELAY is off (only inside idl_sctpi_flush) */
	bool flush_due;        /* idl_channel_send queued: the idle source flushes */
	size_t unflushed;      /* bytes idl_channel_send queued since the last flush */
	uint16_t streams_out;
	unsigned read_paused;  /* channels that asked us to stop reading */
	GHashTable *channels;  /* stream id -> struct idl_channel *, live ones */
	GQueue ready;          /* channels with queued messages, served in turn */
	GArray *resets;        /* uint16_t stream ids whose outgoing reset waits */
	int reset_inflight;    /* stream id, or -1: usrsctp takes one at a time */
	GPtrArray *dead;       /* closed channels, freed from the idle source */
	GQueue early;          /* GBytes fed before idl_sctp_connect */
	GSource *idle;
	uint8_t *rbuf;
	GByteArray *rx;        /* message being reassembled */
	uint16_t rx_sid;
	uint32_t rx_ppid;
	bool rx_overflow;
	GByteArray *notif;     /* notification being reassembled */
	/* SACK frequency (sctp.c, "bulk SACKs"): what the association uses
	 * now, DATA packets fed since it last changed, times it fell back. */
	uint32_t sack_freq;
	uint32_t sack_run;
	uint32_t since_timer_sack; /* DATA packets since the change or the last timer SACK */
	unsigned sack_fallbacks;
	bool sack_fallback_due; /* a timer SACK went out while raised */
	/* Packets counted for -v (logged by idl_sctp_free). */
	struct {
		uint64_t in, in_data, out, out_data, out_sack, timer_sack;
	} count;
};

/* channel.c */
/* Moves queued messages into usrsctp while it has room. */
void idl_sctpi_flush(struct idl_sctp *s);
/* Asks usrsctp for the next queued outgoing-stream reset, if none is out. */
void idl_sctpi_issue_resets(struct idl_sctp *s);
/* Calls buffered_low where it is due. */
void idl_sctpi_notify_low(struct idl_sctp *s);
/* One whole SCTP message from the peer. */
void idl_sctpi_on_message(struct idl_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data,
			  size_t len);
void idl_sctpi_on_stream_reset(struct idl_sctp *s, const struct sctp_stream_reset_event *ev,
			       size_t len);
void idl_sctpi_channel_free(struct idl_channel *ch);

/* sctp.c */
/* Runs process() and reaps closed channels from an idle source soon. */
void idl_sctpi_schedule(struct idl_sctp *s);

#endif
