/* dgram: batched datagram output, UDP GSO with a per-datagram fallback
 * (see dgram.h). The batch is one flat buffer: datagrams lie back to back
 * in the order they were added, so a run of them is already the payload a
 * UDP_SEGMENT message wants, with no gathering copy. */
#include "transport/dgram.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <glib.h>
#include <glib-unix.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MAX_MSGS 16    /* runs per sendmmsg: 16 x 64 datagrams is more than a batch holds */
/* What a queued datagram or GSO message costs its socket beyond its payload
 * (struct sk_buff and headers), roughly: only for the room check below. */
#define SKB_COST 1024

struct seg {
	uint32_t off, len;
};

struct flush_source {
	GSource base;
	struct idl_dgram *b;
};

struct idl_dgram {
	struct idl_dgram_ops ops;
	void *user;
	uint8_t *buf;                 /* IDL_DGRAM_MAX_BYTES */
	struct seg segs[IDL_DGRAM_MAX_DATAGRAMS];
	unsigned head, tail;          /* segs[head..tail) wait, contiguous in buf */
	int fd;                       /* direct socket, or -1 */
	size_t half_sndbuf;           /* its send buffer / 2; 0: unknown, no room check */
	struct sockaddr_storage to;
	socklen_t tolen;
	bool direct_broken;           /* the direct socket refused a lone datagram */
	bool blocked;                 /* waiting for G_IO_OUT */
	bool flushing;
	GSource *src;
	gpointer fd_tag;
	struct idl_dgram_stats st;
};

static int forced_mode = -1;
static gint gso_failed;          /* sticky, process-wide: every batch sees it */

enum idl_dgram_mode idl_dgram_mode(void)
{
	static gsize once;
	static enum idl_dgram_mode env_mode;

	if (forced_mode >= 0)
		return (enum idl_dgram_mode)forced_mode;
	if (g_once_init_enter(&once)) {
		const char *s = g_getenv("IDROP_UDP_BATCH");

		env_mode = !s || !*s || !strcmp(s, "gso") ? IDL_DGRAM_GSO
			   : !strcmp(s, "mmsg")           ? IDL_DGRAM_MMSG
							  : IDL_DGRAM_OFF;
		g_once_init_leave(&once, 1);
	}
	return env_mode;
}

void idl_dgram_set_mode(enum idl_dgram_mode mode)
{
	forced_mode = (int)mode;
}

void idl_dgram_reset_gso(void)
{
	g_atomic_int_set(&gso_failed, 0);
}

bool idl_dgram_gso_works(void)
{
	return !g_atomic_int_get(&gso_failed);
}

size_t idl_dgram_pending(const struct idl_dgram *b)
{
	if (b->head == b->tail)
		return 0;
	return b->segs[b->tail - 1].off + b->segs[b->tail - 1].len - b->segs[b->head].off;
}

const struct idl_dgram_stats *idl_dgram_stats(const struct idl_dgram *b)
{
	return &b->st;
}

static void consume(struct idl_dgram *b, unsigned n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

static void watch_writable(struct idl_dgram *b, bool on)
{
	b->blocked = on;
	if (b->fd_tag)
		g_source_modify_unix_fd(b->src, b->fd_tag, on ? G_IO_OUT : 0);
}

/* Bytes we may still queue on the direct socket (SIZE_MAX: no check). The
 * socket is libnice's too, and a send is refused (EAGAIN) only once what
 * it holds reaches SO_SNDBUF: filled to that by our data, it would refuse
 * libnice's STUN consent checks and their answers, which are not sent
 * again; two lost in a row (one at the wrong time) and consent is gone
 * after 10 s (RFC 7675), mid-transfer. That happens whenever the link, not
 * the CPU, is the bottleneck (a shaped or real 1 Gbit/s link). So a
 * message starts only while the socket holds less than half its buffer:
 * poll's own writable mark (sock_writeable), so the G_IO_OUT wait below
 * ends exactly when there is room again, and with Linux's default buffer
 * (208 KiB) half plus one 64 KB message still leaves STUN its room. */
static size_t send_room(const struct idl_dgram *b)
{
	int queued = 0;

	if (b->fd < 0 || !b->half_sndbuf || ioctl(b->fd, SIOCOUTQ, &queued) < 0 || queued < 0)
		return SIZE_MAX;
	return (size_t)queued < b->half_sndbuf ? b->half_sndbuf - (size_t)queued : 0;
}

/* The socket is full (refused: EAGAIN) or half full (send_room): wait for
 * room when we can watch it, else lose the rest (a relayed pair or lost
 * consent: libnice's own path, as before batching). */
static int stall(struct idl_dgram *b, bool refused)
{
	b->st.blocked++;
	b->st.refused += refused;
	if (b->fd_tag) {
		watch_writable(b, true);
		return -EAGAIN;
	}
	b->st.dropped += b->tail - b->head;
	consume(b, b->tail - b->head);
	return 0;
}

/* The length of the run starting at segs[i]: equal sizes, a shorter last one
 * allowed, within the kernel's segment and byte limits. */
static unsigned run_length(const struct idl_dgram *b, unsigned i, size_t *bytes)
{
	uint32_t size = b->segs[i].len;
	size_t total = 0;
	unsigned n = 0;

	while (i + n < b->tail && n < IDL_DGRAM_RUN_SEGMENTS) {
		uint32_t len = b->segs[i + n].len;

		if (len > size || total + len > IDL_DGRAM_RUN_BYTES)
			break;
		total += len;
		n++;
		if (len < size)
			break;
	}
	*bytes = total;
	return n;
}

/* Sends on the direct socket with UDP_SEGMENT. Returns 0 when all left,
 * -EAGAIN when the socket is full, 1 when the rest must take send_many. */
static int flush_gso(struct idl_dgram *b)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[MAX_MSGS];
	struct mmsghdr msgs[MAX_MSGS];
	struct iovec iov[MAX_MSGS];
	unsigned nseg[MAX_MSGS];

	while (b->head < b->tail) {
		unsigned m = 0, i = b->head;
		size_t room = send_room(b);
		int r;

		if (room == 0)
			return stall(b, false);
		memset(msgs, 0, sizeof(msgs));
		while (i < b->tail && m < MAX_MSGS && room > 0) {
			size_t bytes;
			unsigned n = run_length(b, i, &bytes);

			iov[m].iov_base = b->buf + b->segs[i].off;
			iov[m].iov_len = bytes;
			msgs[m].msg_hdr.msg_name = &b->to;
			msgs[m].msg_hdr.msg_namelen = b->tolen;
			msgs[m].msg_hdr.msg_iov = &iov[m];
			msgs[m].msg_hdr.msg_iovlen = 1;
			/* A lone datagram goes without the cmsg: some drivers
			 * refuse even a one-segment GSO send (quiche #2552). */
			if (n > 1) {
				struct cmsghdr *c;
				uint16_t gso = (uint16_t)b->segs[i].len;

				memset(&ctl[m], 0, sizeof(ctl[m]));
				msgs[m].msg_hdr.msg_control = ctl[m].buf;
				msgs[m].msg_hdr.msg_controllen = sizeof(ctl[m].buf);
				c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				memcpy(CMSG_DATA(c), &gso, sizeof(gso));
			}
			nseg[m++] = n;
			i += n;
			room = room > bytes + SKB_COST ? room - bytes - SKB_COST : 0;
		}
		r = sendmmsg(b->fd, msgs, m, MSG_DONTWAIT);
		b->st.syscalls++;
		if (r > 0) {
			for (int k = 0; k < r; k++) {
				b->st.datagrams += nseg[k];
				if (nseg[k] > 1) {
					b->st.gso_messages++;
					b->st.gso_datagrams += nseg[k];
				}
				consume(b, nseg[k]);
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return stall(b, true);
		if (errno == EIO || errno == EINVAL) {
			/* Segmentation offload the kernel or device cannot do
			 * (quinn #2399, msquic #3867): off for good, and these
			 * same bytes go again one datagram at a time. A lone
			 * datagram refused is the socket or address itself. */
			if (nseg[0] > 1) {
				g_atomic_int_set(&gso_failed, 1);
				g_debug("udp: GSO send failed (%s): sending datagram by datagram from now on",
					g_strerror(errno));
			} else {
				b->direct_broken = true;
				g_debug("udp: direct send failed (%s): using libnice's send", g_strerror(errno));
			}
			return 1;
		}
		/* EMSGSIZE, an unreachable network...: lost on the wire. */
		g_debug("udp: %u datagrams lost: %s", nseg[0], g_strerror(errno));
		b->st.dropped += nseg[0];
		consume(b, nseg[0]);
	}
	return 0;
}

static int flush_many(struct idl_dgram *b)
{
	struct iovec iov[IDL_DGRAM_RUN_SEGMENTS];

	while (b->head < b->tail) {
		unsigned n = MIN(b->tail - b->head, IDL_DGRAM_RUN_SEGMENTS);
		size_t room = send_room(b);
		int r;

		if (room == 0)
			return stall(b, false);
		for (unsigned k = 0; k < n; k++) {
			iov[k].iov_base = b->buf + b->segs[b->head + k].off;
			iov[k].iov_len = b->segs[b->head + k].len;
			room = room > iov[k].iov_len + SKB_COST ? room - iov[k].iov_len - SKB_COST : 0;
			if (room == 0 && k + 1 < n)
				n = k + 1;   /* this one still goes: the room was there when it started */
		}
		r = b->ops.send_many(iov, n, b->user);
		b->st.fallback_calls++;
		if (r < 0) {
			b->st.dropped++;
			consume(b, 1);
			continue;
		}
		b->st.datagrams += (unsigned)r;
		consume(b, (unsigned)r);
		if ((unsigned)r < n)
			return stall(b, true);
	}
	return 0;
}

int idl_dgram_flush(struct idl_dgram *b)
{
	int r = 0;

	if (b->head == b->tail)
		return 0;
	if (b->blocked)
		return -EAGAIN;
	if (b->flushing)
		return 0;   /* send_many re-entered us: the running flush sends it */
	b->flushing = true;
	if (b->fd >= 0 && !b->direct_broken && idl_dgram_mode() == IDL_DGRAM_GSO && idl_dgram_gso_works())
		r = flush_gso(b);
	else
		r = 1;
	if (r == 1)
		r = flush_many(b);
	b->flushing = false;
	return r;
}

int idl_dgram_add(struct idl_dgram *b, const uint8_t *buf, size_t len)
{
	size_t end;

	if (len == 0 || len > IDL_DGRAM_MAX_SIZE)
		return -EMSGSIZE;
	/* A full batch leaves now; a blocked one keeps growing to its bound. */
	if (b->tail - b->head >= IDL_DGRAM_RUN_SEGMENTS || idl_dgram_pending(b) + len > IDL_DGRAM_RUN_BYTES)
		idl_dgram_flush(b);
	end = b->tail ? b->segs[b->tail - 1].off + b->segs[b->tail - 1].len : 0;
	if ((b->tail == IDL_DGRAM_MAX_DATAGRAMS || end + len > IDL_DGRAM_MAX_BYTES) && b->head > 0) {
		size_t start = b->segs[b->head].off;

		memmove(b->buf, b->buf + start, end - start);
		memmove(b->segs, b->segs + b->head, (b->tail - b->head) * sizeof(b->segs[0]));
		b->tail -= b->head;
		b->head = 0;
		for (unsigned i = 0; i < b->tail; i++)
			b->segs[i].off -= (uint32_t)start;
		end -= start;
	}
	if (b->tail == IDL_DGRAM_MAX_DATAGRAMS || end + len > IDL_DGRAM_MAX_BYTES) {
		b->st.dropped++;
		return -ENOBUFS;
	}
	memcpy(b->buf + end, buf, len);
	b->segs[b->tail].off = (uint32_t)end;
	b->segs[b->tail].len = (uint32_t)len;
	b->tail++;
	return 0;
}

/* Highest priority, so it is prepared on every iteration: a lower one is
 * not prepared at all while libnice's sources are ready, and an idle
 * flush would starve. */
static gboolean src_prepare(GSource *s, gint *timeout)
{
	struct idl_dgram *b = ((struct flush_source *)s)->b;

	*timeout = -1;
	if (!b->blocked)
		idl_dgram_flush(b);
	return FALSE;
}

static gboolean src_check(GSource *s)
{
	struct idl_dgram *b = ((struct flush_source *)s)->b;

	return b->blocked && b->fd_tag && (g_source_query_unix_fd(s, b->fd_tag) & (G_IO_OUT | G_IO_ERR));
}

static gboolean src_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
	struct idl_dgram *b = ((struct flush_source *)s)->b;

	(void)cb;
	(void)data;
	watch_writable(b, false);
	idl_dgram_flush(b);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs src_funcs = { src_prepare, src_check, src_dispatch, NULL, NULL, NULL };

int idl_dgram_new(const struct idl_dgram_ops *ops, void *user, struct idl_dgram **out)
{
	struct idl_dgram *b = g_new0(struct idl_dgram, 1);

	b->ops = *ops;
	b->user = user;
	b->fd = -1;
	b->buf = g_malloc(IDL_DGRAM_MAX_BYTES);
	b->src = g_source_new(&src_funcs, sizeof(struct flush_source));
	((struct flush_source *)b->src)->b = b;
	g_source_set_priority(b->src, G_MININT / 2);
	g_source_set_name(b->src, "idl-dgram-flush");
	g_source_attach(b->src, g_main_context_get_thread_default());
	*out = b;
	return 0;
}

void idl_dgram_set_direct(struct idl_dgram *b, int fd, const struct sockaddr *to, socklen_t tolen)
{
	int sndbuf = 0;
	socklen_t len = sizeof(sndbuf);

	if (b->fd_tag)
		g_source_remove_unix_fd(b->src, b->fd_tag);
	b->fd_tag = NULL;
	b->blocked = false;
	b->direct_broken = false;
	b->fd = -1;
	b->half_sndbuf = 0;
	if (fd < 0 || !to || tolen > sizeof(b->to))
		return;
	b->fd = fd;
	memcpy(&b->to, to, tolen);
	b->tolen = tolen;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 0)
		b->half_sndbuf = (size_t)sndbuf / 2;
	b->fd_tag = g_source_add_unix_fd(b->src, fd, 0);
}

void idl_dgram_free(struct idl_dgram *b)
{
	if (!b)
		return;
	if (!b->blocked)
		idl_dgram_flush(b);
	g_source_destroy(b->src);
	g_source_unref(b->src);
	g_free(b->buf);
	g_free(b);
}
