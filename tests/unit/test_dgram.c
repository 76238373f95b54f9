/* test_dgram: the datagram batch against real sockets on this host: UDP on
 * loopback (the kernel cuts a GSO message back into datagrams at the
 * receiving socket, so what arrives shows what left), a UDP socket with
 * SO_NO_CHECK (which refuses GSO with EINVAL, like a device that cannot
 * segment), and a Unix datagram socketpair, whose small queue fills. */

#include "transport/dgram.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

struct rig {
	int tx, rx;                 /* sender, receiver */
	struct sockaddr_in to;
	unsigned many_calls;        /* send_many calls */
	unsigned many_datagrams;
	struct idl_dgram *b;
};

/* The fallback: one sendto per datagram on the sender (libnice's job in
 * the program). */
static int send_many(const struct iovec *dg, unsigned n, void *user)
{
	struct rig *r = user;
	unsigned i;

	r->many_calls++;
	for (i = 0; i < n; i++) {
		if (sendto(r->tx, dg[i].iov_base, dg[i].iov_len, MSG_DONTWAIT, (struct sockaddr *)&r->to,
			   sizeof(r->to)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return i ? (int)i : -errno;
		}
	}
	r->many_datagrams += i;
	return (int)i;
}

static const struct idl_dgram_ops ops = { send_many };

static void rig_udp(struct rig *r, bool no_check)
{
	socklen_t len = sizeof(r->to);
	int big = 4 << 20, one = 1;

	memset(r, 0, sizeof(*r));
	r->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	r->tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g_assert_cmpint(r->rx, >=, 0);
	g_assert_cmpint(r->tx, >=, 0);
	r->to.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &r->to.sin_addr);
	g_assert_cmpint(bind(r->rx, (struct sockaddr *)&r->to, sizeof(r->to)), ==, 0);
	g_assert_cmpint(getsockname(r->rx, (struct sockaddr *)&r->to, &len), ==, 0);
	setsockopt(r->rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (no_check)
		g_assert_cmpint(setsockopt(r->tx, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), ==, 0);
	g_assert_cmpint(idl_dgram_new(&ops, r, &r->b), ==, 0);
	idl_dgram_set_direct(r->b, r->tx, (struct sockaddr *)&r->to, sizeof(r->to));
}

static void rig_free(struct rig *r)
{
	idl_dgram_free(r->b);
	close(r->tx);
	close(r->rx);
	idl_dgram_set_mode(IDL_DGRAM_GSO);
	idl_dgram_reset_gso();
}

/* Datagram seq of size len: seq in the first 4 bytes, then a pattern. */
static void make(uint8_t *buf, uint32_t seq, size_t len)
{
	memcpy(buf, &seq, 4);
	for (size_t i = 4; i < len; i++)
		buf[i] = (uint8_t)(seq * 7 + i);
}

static void add(struct rig *r, uint32_t seq, size_t len)
{
	uint8_t buf[IDL_DGRAM_RUN_BYTES];

	make(buf, seq, len);
	g_assert_cmpint(idl_dgram_add(r->b, buf, len), ==, 0);
}

/* Reads everything queued at the receiver; checks that datagram i is
 * seq first+i of size sizes[i]. */
static void expect(struct rig *r, uint32_t first, const size_t *sizes, unsigned n)
{
	uint8_t buf[65536], want[65536];

	for (unsigned i = 0; i < n; i++) {
		ssize_t got = recv(r->rx, buf, sizeof(buf), MSG_DONTWAIT);

		g_assert_cmpint(got, ==, (ssize_t)sizes[i]);
		make(want, first + i, sizes[i]);
		g_assert_cmpmem(buf, (size_t)got, want, sizes[i]);
	}
	g_assert_cmpint(recv(r->rx, buf, sizeof(buf), MSG_DONTWAIT), ==, -1);
}

/* Equal sizes form one GSO message; a shorter one closes the run; a
 * longer one starts the next; all runs leave in one system call. */
static void test_runs(void)
{
	struct rig r;
	size_t sizes[19];
	const struct idl_dgram_stats *st;
	unsigned n = 0;

	rig_udp(&r, false);
	for (int i = 0; i < 10; i++)
		sizes[n++] = 1000;
	sizes[n++] = 300;           /* closes run 1 */
	for (int i = 0; i < 5; i++)
		sizes[n++] = 1000;      /* run 2 */
	for (int i = 0; i < 3; i++)
		sizes[n++] = 1200;      /* longer: run 3 */
	for (unsigned i = 0; i < n; i++)
		add(&r, i, sizes[i]);
	st = idl_dgram_stats(r.b);
	g_assert_cmpuint(st->syscalls, ==, 0);   /* nothing leaves before the flush */
	g_assert_cmpint(idl_dgram_flush(r.b), ==, 0);
	g_assert_cmpuint(st->syscalls, ==, 1);
	g_assert_cmpuint(st->gso_messages, ==, 3);
	g_assert_cmpuint(st->gso_datagrams, ==, n);
	g_assert_cmpuint(st->datagrams, ==, n);
	g_assert_cmpuint(r.many_calls, ==, 0);
	g_assert_cmpuint(idl_dgram_pending(r.b), ==, 0);
	expect(&r, 0, sizes, n);
	g_assert_true(idl_dgram_gso_works());
	rig_free(&r);
}

/* A batch leaves by itself at 64 datagrams and before 64 KB. */
static void test_cut_64(void)
{
	struct rig r;
	size_t sizes[100];
	const struct idl_dgram_stats *st;

	rig_udp(&r, false);
	st = idl_dgram_stats(r.b);
	for (unsigned i = 0; i < 100; i++) {
		sizes[i] = 100;
		add(&r, i, 100);
		if (i == 63)
			g_assert_cmpuint(st->syscalls, ==, 0);
	}
	/* the 65th add sent the first 64 as one message */
	g_assert_cmpuint(st->syscalls, ==, 1);
	g_assert_cmpuint(st->gso_messages, ==, 1);
	g_assert_cmpuint(st->gso_datagrams, ==, 64);
	g_assert_cmpint(idl_dgram_flush(r.b), ==, 0);
	g_assert_cmpuint(st->gso_messages, ==, 2);
	g_assert_cmpuint(st->gso_datagrams, ==, 100);
	expect(&r, 0, sizes, 100);
	rig_free(&r);
}

static void test_cut_bytes(void)
{
	struct rig r;
	size_t sizes[60];
	const struct idl_dgram_stats *st;

	rig_udp(&r, false);
	st = idl_dgram_stats(r.b);
	for (unsigned i = 0; i < 60; i++) {
		sizes[i] = 1400;
		add(&r, i, 1400);
	}
	/* 46 x 1400 = 64400 fit, a 47th would pass IDL_DGRAM_RUN_BYTES */
	g_assert_cmpuint(st->gso_messages, ==, 1);
	g_assert_cmpuint(st->gso_datagrams, ==, 46);
	g_assert_cmpint(idl_dgram_flush(r.b), ==, 0);
	g_assert_cmpuint(st->gso_datagrams, ==, 60);
	expect(&r, 0, sizes, 60);
	rig_free(&r);
}

/* A lone datagram carries no UDP_SEGMENT cmsg: on a socket that refuses
 * GSO it still leaves directly and GSO stays on. */
static void test_single_no_cmsg(void)
{
	struct rig r;
	size_t size = 1200;
	const struct idl_dgram_stats *st;

	rig_udp(&r, true);
	st = idl_dgram_stats(r.b);
	add(&r, 7, size);
	g_assert_cmpint(idl_dgram_flush(r.b), ==, 0);
	g_assert_cmpuint(st->syscalls, ==, 1);
	g_assert_cmpuint(st->gso_messages, ==, 0);
	g_assert_cmpuint(r.many_calls, ==, 0);
	g_assert_true(idl_dgram_gso_works());
	expect(&r, 7, &size, 1);
	rig_free(&r);
}

/* EINVAL from a multi-segment send turns GSO off for the whole process,
 * and the same datagrams go again, in order, one by one; a later batch
 * (another connection) does not try GSO again. */
static void test_einval_sticky(void)
{
	struct rig r, r2;
	size_t sizes[8] = { 900, 900, 900, 900, 900, 400, 1000, 1000 };
	const struct idl_dgram_stats *st;

	rig_udp(&r, true);
	st = idl_dgram_stats(r.b);
	for (unsigned i = 0; i < 8; i++)
		add(&r, i, sizes[i]);
	g_assert_cmpint(idl_dgram_flush(r.b), ==, 0);
	g_assert_false(idl_dgram_gso_works());
	g_assert_cmpuint(st->gso_messages, ==, 0);
	g_assert_cmpuint(r.many_datagrams, ==, 8);
	g_assert_cmpuint(st->dropped, ==, 0);
	expect(&r, 0, sizes, 8);

	rig_udp(&r2, false);   /* a socket where GSO would work */
	for (unsigned i = 0; i < 8; i++)
		add(&r2, 100 + i, sizes[i]);
	g_assert_cmpint(idl_dgram_flush(r2.b), ==, 0);
	g_assert_cmpuint(idl_dgram_stats(r2.b)->syscalls, ==, 0);
	g_assert_cmpuint(r2.many_datagrams, ==, 8);
	expect(&r2, 100, sizes, 8);
	idl_dgram_free(r2.b);
	close(r2.tx);
	close(r2.rx);
	rig_free(&r);
}

/* The mode hook: mmsg never uses the direct socket. */
static void test_mode_mmsg(void)
{
	struct rig r;
	size_t sizes[5] = { 500, 500, 500, 500, 500 };

	idl_dgram_set_mode(IDL_DGRAM_MMSG);
	rig_udp(&r, false);
	for (unsigned i = 0; i < 5; i++)
		add(&r, i, 500);
	g_assert_cmpint(idl_dgram_flush(r.b), ==, 0);
	g_assert_cmpuint(idl_dgram_stats(r.b)->syscalls, ==, 0);
	g_assert_cmpuint(r.many_calls, ==, 1);
	expect(&r, 0, sizes, 5);
	rig_free(&r);
}

/* A full socket: what did not leave stays, in order, within the bound;
 * beyond it adds fail; when the socket drains the loop sends the rest. */
static int unix_send_many(const struct iovec *dg, unsigned n, void *user)
{
	struct rig *r = user;
	unsigned i;

	r->many_calls++;
	for (i = 0; i < n; i++)
		if (send(r->tx, dg[i].iov_base, dg[i].iov_len, MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return i ? (int)i : -errno;
		}
	r->many_datagrams += i;
	return (int)i;
}

static void test_eagain(void)
{
	static const struct idl_dgram_ops uops = { unix_send_many };
	struct sockaddr_in dummy = { .sin_family = AF_INET };
	struct rig r = { 0 };
	int sv[2];
	uint32_t next = 0, accepted = 0;
	uint8_t buf[2048];
	gint64 deadline;
	const struct idl_dgram_stats *st;

	idl_dgram_set_mode(IDL_DGRAM_MMSG);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	r.tx = sv[0];
	r.rx = sv[1];
	g_assert_cmpint(idl_dgram_new(&uops, &r, &r.b), ==, 0);
	idl_dgram_set_direct(r.b, r.tx, (struct sockaddr *)&dummy, sizeof(dummy));
	st = idl_dgram_stats(r.b);
	/* Far more than the pair's queue and the batch's bound. */
	for (uint32_t i = 0; i < 3000; i++) {
		int e;

		make(buf, i, 1024);
		e = idl_dgram_add(r.b, buf, 1024);
		g_assert_true(e == 0 || e == -ENOBUFS);
		if (e == 0) {
			g_assert_cmpuint(i, ==, accepted);   /* once refused, all later are */
			accepted++;
		}
		g_assert_cmpuint(idl_dgram_pending(r.b), <=, IDL_DGRAM_MAX_BYTES);
	}
	g_assert_cmpuint(st->blocked, >=, 1);
	g_assert_cmpuint(accepted, <, 3000);
	g_assert_cmpint(idl_dgram_flush(r.b), ==, -EAGAIN);
	/* Drain the receiver while the loop runs: G_IO_OUT sends the rest. */
	deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
	while (next < accepted && g_get_monotonic_time() < deadline) {
		ssize_t n = recv(r.rx, buf, sizeof(buf), MSG_DONTWAIT);
		uint32_t seq;

		if (n < 0) {
			g_main_context_iteration(NULL, FALSE);
			continue;
		}
		g_assert_cmpint(n, ==, 1024);
		memcpy(&seq, buf, 4);
		g_assert_cmpuint(seq, ==, next);
		next++;
	}
	g_assert_cmpuint(next, ==, accepted);
	g_assert_cmpuint(idl_dgram_pending(r.b), ==, 0);
	g_assert_cmpuint(st->dropped, ==, 3000 - accepted);
	rig_free(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	idl_dgram_set_mode(IDL_DGRAM_GSO);
	g_test_add_func("/dgram/runs", test_runs);
	g_test_add_func("/dgram/cut-64", test_cut_64);
	g_test_add_func("/dgram/cut-bytes", test_cut_bytes);
	g_test_add_func("/dgram/single-no-cmsg", test_single_no_cmsg);
	g_test_add_func("/dgram/einval-sticky", test_einval_sticky);
	g_test_add_func("/dgram/mode-mmsg", test_mode_mmsg);
	g_test_add_func("/dgram/eagain", test_eagain);
	return g_test_run();
}
