/* dgram: a per-connection batch of outgoing datagrams, all for one peer, so
 * one round of SCTP output (several DTLS records) costs one system call, not
 * one per record. Records are copied in as they are made and flushed from a
 * GSource's prepare at the highest priority (before the loop polls again) or
 * at once when the batch is full. A flush cuts the batch into runs of
 * equal-size datagrams (a shorter last one allowed: the kernel's own rule)
 * of at most IDL_DGRAM_RUN_SEGMENTS / IDL_DGRAM_RUN_BYTES and, on a direct
 * socket with UDP GSO, sends each run as one UDP_SEGMENT message (several
 * runs per sendmmsg; no cmsg for a lone datagram). Without a direct socket,
 * or once GSO failed (EIO/EINVAL: it is then off for the process, for
 * good), the same datagrams go one by one to the owner's send_many (libnice,
 * which uses sendmmsg). A socket holding half its send buffer (the rest is
 * left for libnice's STUN consent checks, see send_room in dgram.c) or full
 * (EAGAIN) keeps the rest in order, bounded by IDL_DGRAM_MAX_BYTES, and
 * retries when the socket is writable.
 * Knows nothing of DTLS or ICE; runs on the thread-default main context. */
#ifndef IDL_DGRAM_H
#define IDL_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define IDL_DGRAM_RUN_SEGMENTS 64      /* UDP_MAX_SEGMENTS before Linux 6.11 */
#define IDL_DGRAM_RUN_BYTES 65000      /* under 65507, the IPv4 UDP payload limit */
#define IDL_DGRAM_MAX_BYTES (512 << 10) /* held while the socket is full; more is dropped */
#define IDL_DGRAM_MAX_DATAGRAMS 512
#define IDL_DGRAM_MAX_SIZE 65507

struct idl_dgram;

struct idl_dgram_ops {
	/* Sends dg[0..n) in order as n datagrams the usual way. Returns how
	 * many left (0..n; fewer: the socket is full) or a negative errno
	 * value (the first one could not be sent and never will). */
	int (*send_many)(const struct iovec *dg, unsigned n, void *user);
};

/* How a process sends (IDROP_UDP_BATCH=gso|mmsg|off; gso when unset):
 * GSO on the direct socket, datagrams batched to send_many only, or no
 * batch at all (the owner then sends each record itself). */
enum idl_dgram_mode { IDL_DGRAM_GSO, IDL_DGRAM_MMSG, IDL_DGRAM_OFF };
enum idl_dgram_mode idl_dgram_mode(void);

/* Test hooks: force the mode, and clear the sticky "GSO failed" flag. */
void idl_dgram_set_mode(enum idl_dgram_mode mode);
void idl_dgram_reset_gso(void);
/* False once a GSO send failed with EIO/EINVAL in this process. */
bool idl_dgram_gso_works(void);

/* Counters for -v logs and tests (per batch). */
struct idl_dgram_stats {
	uint64_t datagrams;      /* handed to the kernel or to send_many */
	uint64_t syscalls;       /* sendmmsg/sendmsg calls on the direct socket */
	uint64_t gso_messages;   /* messages that carried a UDP_SEGMENT cmsg */
	uint64_t gso_datagrams;  /* datagrams inside them */
	uint64_t fallback_calls; /* send_many calls */
	uint64_t blocked;        /* times we waited for room: the socket half full or full */
	uint64_t refused;        /* ... of them full: it refused a send (EAGAIN) */
	uint64_t dropped;        /* datagrams lost: bound reached, or a send error */
};

/* Creates an empty batch with its flush source on the thread-default
 * context. ops is copied. *out is owned by the caller. Returns 0. */
int idl_dgram_new(const struct idl_dgram_ops *ops, void *user, struct idl_dgram **out);

/* The socket GSO sends on and its peer (to is copied), or fd < 0: none,
 * use send_many only (relayed or TCP pair, consent lost, not selected).
 * The fd is borrowed and must stay open until replaced or freed. */
void idl_dgram_set_direct(struct idl_dgram *b, int fd, const struct sockaddr *to, socklen_t tolen);

/* Copies one datagram into the batch (flushing first when full). Returns
 * 0, -EMSGSIZE, or -ENOBUFS when the socket is full and the bound reached
 * (the datagram is dropped, as a full socket buffer would). Never calls
 * send_many for a lone datagram unless the batch is full. */
int idl_dgram_add(struct idl_dgram *b, const uint8_t *buf, size_t len);

/* Sends what is batched. Returns 0 when the batch is empty afterwards,
 * -EAGAIN when the socket is full (the rest waits for G_IO_OUT). */
int idl_dgram_flush(struct idl_dgram *b);

/* Bytes waiting in the batch. */
size_t idl_dgram_pending(const struct idl_dgram *b);

const struct idl_dgram_stats *idl_dgram_stats(const struct idl_dgram *b);

/* Flushes what it can (never waits) and frees. NULL is a no-op. */
void idl_dgram_free(struct idl_dgram *b);

#endif
