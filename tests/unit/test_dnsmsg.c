/* Unit tests for discovery/dnsmsg: the query we send, a real Avahi answer,
 * and a table of hostile packets that must each give -EBADMSG. */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "discovery/dnsmsg.h"

/* What avahi-daemon 0.8 sent to a one-shot PTR query for _idrop._tcp
 * (captured on the test LAN, TXT shortened): the question echoed, then
 * PTR, TXT, SRV and A, all as answers, compressed. */
static const uint8_t avahi_answer[] = {
	0x12, 0x34, 0x84, 0x00, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	/* 12: question _idrop._tcp.local PTR IN */
	6, '_', 'i', 'd', 'r', 'o', 'p', 4, '_', 't', 'c', 'p', 5, 'l', 'o', 'c', 'a', 'l', 0,
	0x00, 0x0c, 0x00, 0x01,
	/* 35: PTR -> "Beta X" + ptr 12 */
	0xc0, 12, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x09,
	6, 'B', 'e', 't', 'a', ' ', 'X', 0xc0, 12,
	/* 56: TXT of the instance (ptr 47), cache flush */
	0xc0, 47, 0x00, 0x10, 0x80, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x04,
	3, 'v', '=', '1',
	/* 72: SRV 0 0 4242 "b" + ptr 24 (local) */
	0xc0, 47, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x0a,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x92, 1, 'b', 0xc0, 24,
	/* 94: A of b.local (ptr 90) */
	0xc0, 90, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x04,
	10, 77, 0, 4,
};

static void text_of(const struct idl_dns_name *n, char *buf, size_t cap)
{
	g_assert_cmpint(idl_dns_name_to_text(n, buf, cap), >=, 0);
}

static void test_query(void)
{
	struct idl_dns_question q = { .type = IDL_DNS_PTR, .qclass = IDL_DNS_CLASS_IN }, back;
	struct idl_dns_reader r;
	uint8_t buf[512];
	int len;

	g_assert_cmpint(idl_dns_name_from_text("_idrop._tcp.local", &q.name), ==, 0);
	len = idl_dns_build_query(buf, sizeof(buf), 0x1234, &q, 1);
	/* Byte for byte the question of the captured exchange. */
	g_assert_cmpint(len, ==, 35);
	g_assert_cmpmem(buf + 12, 23, avahi_answer + 12, 23);
	g_assert_cmpmem(buf, 6, "\x12\x34\x00\x00\x00\x01", 6);
	g_assert_cmpint(idl_dns_reader_init(&r, buf, (size_t)len), ==, 0);
	g_assert_cmpint(idl_dns_next_question(&r, &back), ==, 1);
	g_assert_true(idl_dns_name_equal(&back.name, &q.name));
	g_assert_cmpint(idl_dns_next_question(&r, &back), ==, 0);
	g_assert_cmpint(idl_dns_build_query(buf, 40, 1, &q, 1), ==, 35);
	g_assert_cmpint(idl_dns_build_query(buf, 34, 1, &q, 1), ==, -ENOSPC);
	g_assert_cmpint(idl_dns_build_query(buf, 11, 1, &q, 0), ==, -ENOSPC);
}

static void test_avahi_answer(void)
{
	struct idl_dns_name type, inst;
	struct idl_dns_reader r;
	struct idl_dns_rr rr;
	const uint8_t *label;
	size_t len;
	char text[256];

	g_assert_cmpint(idl_dns_name_from_text("_idrop._tcp.local", &type), ==, 0);
	g_assert_cmpint(idl_dns_reader_init(&r, avahi_answer, sizeof(avahi_answer)), ==, 0);
	g_assert_cmphex(r.h.flags, ==, 0x8400);
	g_assert_cmpuint(r.h.ancount, ==, 4);

	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.type, ==, IDL_DNS_PTR);
	g_assert_true(idl_dns_name_equal(&rr.name, &type));
	g_assert_true(idl_dns_name_under(&rr.u.ptr, &type, &label, &len));
	g_assert_cmpmem(label, len, "Beta X", 6);
	g_assert_cmpint(idl_dns_name_child("bEtA x", 6, &type, &inst), ==, 0);
	g_assert_true(idl_dns_name_equal(&rr.u.ptr, &inst));

	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.type, ==, IDL_DNS_TXT);
	g_assert_true(rr.cache_flush);
	g_assert_cmpuint(rr.rclass, ==, IDL_DNS_CLASS_IN);
	g_assert_cmpmem(rr.rdata, rr.rdlength, "\x03v=1", 4);

	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.type, ==, IDL_DNS_SRV);
	g_assert_cmpuint(rr.u.srv.port, ==, 4242);
	text_of(&rr.u.srv.target, text, sizeof(text));
	g_assert_cmpstr(text, ==, "b.local");

	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.type, ==, IDL_DNS_A);
	g_assert_cmpuint(rr.ttl, ==, 10);
	g_assert_cmpmem(rr.u.a, 4, "\x0a\x4d\x00\x04", 4);
	text_of(&rr.name, text, sizeof(text));
	g_assert_cmpstr(text, ==, "b.local");
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 0);
}

/* Every packet here is the captured answer with one thing broken. */
struct hostile {
	const char *what;
	size_t at;                   /* offset of the bytes to overwrite */
	const char *bytes;
	size_t n;
	size_t len;                  /* 0: the whole packet, else cut to this */
};

static const struct hostile hostile[] = {
	{ "a header cut short", 0, "", 0, 11 },
	{ "the packet cut inside the question", 0, "", 0, 20 },
	{ "the packet cut inside a record header", 0, "", 0, 40 },
	{ "the packet cut inside rdata", 0, "", 0, 108 },
	{ "an answer count that lies", 6, "\x00\x05", 2, 0 },
	{ "a question count that lies", 4, "\xff\xff", 2, 0 },
	{ "a pointer to itself", 35, "\xc0\x23", 2, 0 },
	{ "a pointer forwards", 35, "\xc0\x48", 2, 0 },
	{ "a pointer out of the packet", 35, "\xff\xff", 2, 0 },
	{ "a pointer into the header", 35, "\xc0\x02", 2, 0 },
	{ "a pointer loop through rdata", 47 + 7, "\xc0\x2f", 2, 0 },
	{ "a label of reserved kind 0x40", 12, "\x46", 1, 0 },
	{ "a label of reserved kind 0x80", 12, "\x86", 1, 0 },
	{ "a label running past the end", 94, "\x3f", 1, 0 },
	{ "an A record of 3 bytes", 104, "\x00\x03", 2, 0 },
	{ "a PTR whose name runs past rdlength", 45, "\x00\x05", 2, 0 },
	{ "a PTR with bytes after its name", 45, "\x00\x0a", 2, 0 },
	{ "an SRV too short for its fixed part", 82, "\x00\x06", 2, 0 },
	{ "an rdlength past the end", 66, "\x40\x00", 2, 0 },
};

static void test_hostile(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
		const struct hostile *h = &hostile[i];
		uint8_t pkt[sizeof(avahi_answer)];
		size_t len = h->len ? h->len : sizeof(pkt);
		struct idl_dns_reader r;
		struct idl_dns_rr rr;
		int ret = 0, n = 0;

		memcpy(pkt, avahi_answer, sizeof(pkt));
		memcpy(pkt + h->at, h->bytes, h->n);
		if (idl_dns_reader_init(&r, pkt, len) < 0) {
			g_assert_cmpuint(len, <, IDL_DNS_HEADER_LEN);
			continue;
		}
		while (n++ < 100 && (ret = idl_dns_next_rr(&r, &rr)) > 0)
			;
		if (ret != -EBADMSG)
			g_error("%s: got %d, want -EBADMSG", h->what, ret);
	}
}

/* A name of 127 one-byte labels ("a.a.....a", 255 bytes) is the longest;
 * one more label, or a label of 64 bytes, is refused. */
static void test_name_limits(void)
{
	uint8_t pkt[1024] = { 0, 0, 0x84, 0, 0, 0, 0, 1 };
	struct idl_dns_name n, root;
	struct idl_dns_reader r;
	struct idl_dns_rr rr;
	size_t o = 12;
	char label[64], text[300];

	for (int i = 0; i < 127; i++) {
		pkt[o++] = 1;
		pkt[o++] = 'a';
	}
	pkt[o++] = 0;
	memcpy(pkt + o, "\x00\x01\x00\x01\x00\x00\x00\x0a\x00\x04\x01\x02\x03\x04", 14);
	g_assert_cmpint(idl_dns_reader_init(&r, pkt, o + 14), ==, 0);
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.name.len, ==, 255);
	g_assert_cmpint(idl_dns_name_to_text(&rr.name, text, sizeof(text)), ==, 253);
	g_assert_cmpint(idl_dns_name_to_text(&rr.name, text, 253), ==, -ENOSPC);

	/* One label more: 257 bytes. */
	memmove(pkt + 14, pkt + 12, o + 14 - 12);
	pkt[12] = 1;
	pkt[13] = 'b';
	g_assert_cmpint(idl_dns_reader_init(&r, pkt, o + 16), ==, 0);
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, -EBADMSG);

	/* The same overflow through a pointer: a second record named "x" +
	 * the 255-byte name. */
	o = 12 + 255;
	memcpy(pkt + o, "\x00\x01\x00\x01\x00\x00\x00\x0a\x00\x04\x01\x02\x03\x04", 14);
	memcpy(pkt + o + 14, "\x01x\xc0\x0c", 4);
	memcpy(pkt + o + 18, "\x00\x01\x00\x01\x00\x00\x00\x0a\x00\x04\x01\x02\x03\x04", 14);
	for (int i = 0; i < 127; i++)
		memcpy(pkt + 12 + 2 * i, "\x01" "a", 2);
	pkt[12 + 254] = 0;
	pkt[7] = 2;
	g_assert_cmpint(idl_dns_reader_init(&r, pkt, o + 32), ==, 0);
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, -EBADMSG);

	memset(label, 'x', sizeof(label));
	idl_dns_name_root(&root);
	n = root;
	g_assert_cmpint(idl_dns_name_push(&n, label, 63), ==, 0);
	g_assert_cmpint(idl_dns_name_push(&n, label, 64), ==, -EINVAL);
	g_assert_cmpint(idl_dns_name_push(&n, label, 0), ==, -EINVAL);
	g_assert_cmpint(idl_dns_name_child(label, 64, &root, &n), ==, -EINVAL);
	g_assert_cmpint(idl_dns_name_from_text("a..local", &n), ==, -EINVAL);
	g_assert_cmpint(idl_dns_name_from_text("b.local.", &n), ==, 0);
	g_assert_cmpuint(n.len, ==, 9);
}

/* A label may hold any byte; as text, a dot or NUL in one would name
 * something else, so it is refused rather than shown. */
static void test_text_refuses_ambiguity(void)
{
	struct idl_dns_name n;
	char text[64];

	idl_dns_name_root(&n);
	g_assert_cmpint(idl_dns_name_to_text(&n, text, sizeof(text)), ==, 0);
	g_assert_cmpstr(text, ==, "");
	g_assert_cmpint(idl_dns_name_push(&n, "a.b", 3), ==, 0);
	g_assert_cmpint(idl_dns_name_to_text(&n, text, sizeof(text)), ==, -EINVAL);
	idl_dns_name_root(&n);
	g_assert_cmpint(idl_dns_name_push(&n, "a\0b", 3), ==, 0);
	g_assert_cmpint(idl_dns_name_to_text(&n, text, sizeof(text)), ==, -EINVAL);
}

/* Unknown types are skipped by their rdlength, whatever they hold. */
static void test_unknown_type_skipped(void)
{
	uint8_t pkt[sizeof(avahi_answer)];
	struct idl_dns_reader r;
	struct idl_dns_rr rr;

	memcpy(pkt, avahi_answer, sizeof(pkt));
	pkt[38] = 99;                /* the PTR becomes type 99: its rdata is opaque */
	g_assert_cmpint(idl_dns_reader_init(&r, pkt, sizeof(pkt)), ==, 0);
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.type, ==, 99);
	g_assert_cmpuint(rr.rdlength, ==, 9);
	g_assert_cmpint(idl_dns_next_rr(&r, &rr), ==, 1);
	g_assert_cmpuint(rr.type, ==, IDL_DNS_TXT);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dnsmsg/query", test_query);
	g_test_add_func("/dnsmsg/avahi-answer", test_avahi_answer);
	g_test_add_func("/dnsmsg/hostile", test_hostile);
	g_test_add_func("/dnsmsg/name-limits", test_name_limits);
	g_test_add_func("/dnsmsg/text-refuses-ambiguity", test_text_refuses_ambiguity);
	g_test_add_func("/dnsmsg/unknown-type-skipped", test_unknown_type_skipped);
	return g_test_run();
}
