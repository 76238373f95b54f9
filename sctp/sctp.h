/* sctp: an SCTP association (usrsctp, AF_CONN) carrying WebRTC data
 * channels (RFC 8831) opened with DCEP (RFC 8832). It is fed decrypted SCTP
 * packets and sends its own through a callback; it knows nothing of DTLS or
 * ICE. usrsctp runs without threads (usrsctp_init_nothreads): its timers are
 * driven from the GLib main loop and every callback runs on the loop thread. */
#ifndef IDL_SCTP_H
#define IDL_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define IDL_SCTP_PORT 5000
#define IDL_SCTP_DEFAULT_MAX_MESSAGE 65536     /* when the SDP names none */
#define IDL_SCTP_LOCAL_MAX_MESSAGE 262144      /* what we announce */
/* The size we prefer for bulk data, when the peer takes it: just under 64
 * KiB, because Pion's default reader takes at most 65,535 bytes and closes
 * the channel on one more, and 64 KiB is the most docs/PROTOCOL.md allows
 * in one binary message. Larger messages would not be faster: SCTP cuts
 * them into packets of ~1.2 KB anyway. */
#define IDL_SCTP_BULK_MESSAGE 65535

#define IDL_SCTP_ERROR (idl_sctp_error_quark())
GQuark idl_sctp_error_quark(void);

enum idl_sctp_error {
	IDL_SCTP_ERROR_ASSOC,      /* the association could not be set up, or was aborted */
	IDL_SCTP_ERROR_CHANNEL,    /* a data channel failed (open refused, protocol error) */
	IDL_SCTP_ERROR_SHUTDOWN,   /* the peer shut the association down: a normal end */
};

struct idl_sctp;
struct idl_channel;

struct idl_sctp_callbacks {
	/* Sends one SCTP packet to the peer (through DTLS). Returns 0 or a
	 * negative errno value; -EPIPE means the layer below has ended for
	 * good (the peer closed it): nothing is sent through it after that.
	 * buf is valid only during the call. */
	int (*send)(const uint8_t *buf, size_t len, void *user);
	/* The association is up: channels can be opened. */
	void (*connected)(void *user);
	/* The peer opened a channel (DCEP OPEN, already acknowledged). The
	 * channel belongs to the association; set its callbacks here. */
	void (*channel)(struct idl_channel *ch, void *user);
	/* The association failed or the peer shut it down (err is then
	 * IDL_SCTP_ERROR_SHUTDOWN: a normal end, reported once the shutdown is
	 * complete); no callback follows (not even closed for its channels,
	 * which stay until idl_sctp_free). Not called for a shutdown we asked
	 * for (idl_sctp_shutdown). */
	void (*failed)(const GError *err, void *user);
};

struct idl_channel_callbacks {
	/* Our channel was acknowledged by the peer (DCEP ACK). */
	void (*open)(struct idl_channel *ch, void *user);
	/* One whole message; data is valid only during the call. */
	void (*message)(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len,
			void *user);
	/* buffered amount fell to or below the low-water mark. */
	void (*buffered_low)(struct idl_channel *ch, void *user);
	/* The channel is closed (either side reset its stream). The channel
	 * is freed soon after this returns: drop every pointer to it. */
	void (*closed)(struct idl_channel *ch, void *user);
};

/* Creates an association. dtls_client decides the channel ids we use (even
 * when we are the DTLS client, odd otherwise, RFC 8832 section 6).
 * remote_max_message is the peer's a=max-message-size (0: the default,
 * IDL_SCTP_DEFAULT_MAX_MESSAGE; SIZE_MAX: any size, an SDP's "0").
 * *out is owned by the caller. Returns 0 or a negative errno value. */
int idl_sctp_new(bool dtls_client, size_t remote_max_message,
		 const struct idl_sctp_callbacks *cb, void *user,
		 struct idl_sctp **out, GError **err);

/* Connects (both sides call this once DTLS is up: simultaneous open on
 * port 5000, as browsers do). */
int idl_sctp_connect(struct idl_sctp *s, GError **err);

/* The size of the SCTP packets we send (IDL_SCTP_PACKET_MIN when never
 * set), clamped to IDL_SCTP_PACKET_MIN .. IDL_SCTP_PACKET_MAX. Call before
 * idl_sctp_connect. Larger packets cost less CPU per byte; the caller knows
 * what the path carries. */
#define IDL_SCTP_PACKET_MIN 1188   /* fits IPv6's minimum MTU after UDP and DTLS */
/* 1500 (Ethernet) - 40 IPv6 - 8 UDP - 40 DTLS record. Not more on IPv4,
 * whose header is 20 bytes smaller: Pion (v3) reads every datagram into a
 * 1,460-byte buffer (receiveMTU) and drops the connection on a bigger one,
 * and this packet in an AES-GCM record is 1,449 bytes. */
#define IDL_SCTP_PACKET_MAX 1412
int idl_sctp_set_packet_size(struct idl_sctp *s, size_t bytes, GError **err);

/* The receive window we advertise, which bounds the data the peer has in
 * flight towards us (4 MiB when never set), clamped to IDL_SCTP_WINDOW_MIN ..
 * 4 MiB. Call before idl_sctp_connect. The datagrams in flight wait in the
 * queue of the socket below us: a window that queue cannot hold means
 * datagrams dropped by the kernel (and loss recovery) whenever we fall
 * behind, and nothing else stops a faster sender. */
#define IDL_SCTP_WINDOW_MIN 65536
int idl_sctp_set_receive_window(struct idl_sctp *s, size_t bytes, GError **err);

/* Feeds one decrypted SCTP packet from the peer. Callbacks may run inside.
 * The few packets fed before idl_sctp_connect are kept and fed after it. */
void idl_sctp_feed(struct idl_sctp *s, const uint8_t *buf, size_t len);

/* The largest message the peer accepts (SIZE_MAX: any). */
size_t idl_sctp_max_message(const struct idl_sctp *s);

/* The size every writer cuts bulk data into, for a peer whose largest
 * message is peer_max (as idl_sctp_max_message gives it; 0 is treated as
 * any size): the smaller of peer_max and IDL_SCTP_BULK_MESSAGE. The one
 * place that decides it; pure. */
size_t idl_sctp_message_size(size_t peer_max);

/* Ends the association gracefully: SCTP SHUTDOWN once everything queued
 * has been sent and acknowledged, and the peer answers SHUTDOWN ACK (RFC
 * 9260 section 9.2). No message can be sent afterwards. Watch
 * idl_sctp_shutdown_done, and free the association when it says so or when
 * the caller's own bound passes (idl_sctp_free aborts what is left).
 * Returns 0, or -ENOTCONN when the association is not up (nothing to
 * shut down: free it). */
int idl_sctp_shutdown(struct idl_sctp *s);

/* True once the association is over: the shutdown is complete (we sent
 * SHUTDOWN COMPLETE, or received it), or it failed. idl_sctp_free then
 * sends nothing. */
bool idl_sctp_shutdown_done(const struct idl_sctp *s);

/* Frees the association with its channels, aborting it if it is still
 * there (not shut down): the ABORT leaves through cb->send from inside this
 * call, so free it before the layer below. Must not be called from inside
 * one of its callbacks. NULL is a no-op. */
void idl_sctp_free(struct idl_sctp *s);

/* Opens a reliable channel (ordered or not) by sending DCEP OPEN; cb->open
 * runs on ACK. The channel belongs to the association. Before the
 * association is up the OPEN waits for it. NULL on error. */
struct idl_channel *idl_sctp_open_channel(struct idl_sctp *s, const char *label,
					  const char *protocol, bool ordered,
					  const struct idl_channel_callbacks *cb, void *user,
					  GError **err);

/* The label of a channel we opened that the peer has not confirmed yet
 * (no DCEP ACK, no data on its stream), the lowest id first; NULL when
 * none waits. Says why an association that is up carries nothing: the
 * peer took the connection but its data-channel layer never answered our
 * OPEN. The string belongs to the channel. */
const char *idl_sctp_unconfirmed_channel(const struct idl_sctp *s);

/* Sets the callbacks of a channel the peer opened. */
void idl_channel_set_callbacks(struct idl_channel *ch, const struct idl_channel_callbacks *cb,
			       void *user);

/* Queues one message (empty messages allowed). It is never refused for a
 * full send buffer: like a browser's RTCDataChannel it is queued, and
 * idl_channel_buffered_amount grows. Returns 0, -EMSGSIZE over the peer's
 * max message size, -ENOTCONN when the channel is not open (before
 * cb->open, or once closing). buffered_low never runs inside this call.
 * The message reaches usrsctp with the others sent in the same turn of
 * the loop (from an idle source, or every 64 KiB): small ones share
 * packets. A message of 8 KiB or more when nothing is queued goes to
 * usrsctp inside this call, straight from data (no copy; only what usrsctp
 * has no room for is copied and queued). data is borrowed either way. */
int idl_channel_send(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len);

/* The largest message the peer accepts on this channel's association. */
size_t idl_channel_max_message(const struct idl_channel *ch);

/* The size to cut bulk data into on this channel:
 * idl_sctp_message_size(idl_channel_max_message(ch)). ping, the file
 * sender and anything else that splits a stream into messages use this. */
size_t idl_channel_message_size(const struct idl_channel *ch);

/* Back-pressure: with paused true, stops reading from the association
 * until no channel of it is paused (SCTP has one receive buffer for all its
 * streams, so the whole association waits). Messages and notifications stay
 * in usrsctp's receive buffer and its advertised window closes, so the peer
 * stops sending: memory stays at the window's size. A message being
 * delivered when this is called is the last until resumed. Resuming reads
 * again from an idle source, never inside this call. Closing the channel
 * (either side) resumes. */
void idl_channel_pause_reading(struct idl_channel *ch, bool paused);

/* Bytes queued and not yet handed to SCTP. */
size_t idl_channel_buffered_amount(const struct idl_channel *ch);
void idl_channel_set_buffered_low_threshold(struct idl_channel *ch, size_t bytes);

const char *idl_channel_label(const struct idl_channel *ch);
const char *idl_channel_protocol(const struct idl_channel *ch);
uint16_t idl_channel_id(const struct idl_channel *ch);

/* Closes by resetting our outgoing stream (RFC 8831 section 6.7). */
void idl_channel_close(struct idl_channel *ch);

#endif
