/* Unit tests for sctp/crc32c: published check values, and agreement of the
 * CRC32 instruction, the tables and usrsctp's own routine (what the peers
 * check against) on every length and alignment a packet may have. */
#include <string.h>
#include <glib.h>
#include <usrsctp.h>

#include "sctp/crc32c.h"

/* Values stored little-endian are the wire bytes; these are ~CRC. */
static void test_known(void)
{
	static const struct {
		const char *what;
		uint8_t byte;      /* fill, when data is NULL */
		size_t len;
		const char *data;
		uint32_t crc;      /* the CRC32c (before the wire's byte order) */
	} cases[] = {
		{ "check string", 0, 9, "123456789", 0xe3069283u },
		/* RFC 3720 appendix B.4 */
		{ "32 zero bytes", 0x00, 32, NULL, 0x8a9136aau },
		{ "32 bytes of 0xff", 0xff, 32, NULL, 0x62a8ab43u },
		{ "empty", 0, 0, "", 0x00000000u },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint8_t buf[64];
		uint32_t want = cases[i].crc, got, port;

		if (cases[i].data)
			memcpy(buf, cases[i].data, cases[i].len);
		else
			memset(buf, cases[i].byte, cases[i].len);
#if G_BYTE_ORDER == G_BIG_ENDIAN
		want = GUINT32_SWAP_LE_BE(want);
#endif
		got = idl_crc32c(buf, cases[i].len);
		port = idl_crc32c_portable(buf, cases[i].len);
		g_test_message("%s: %08x", cases[i].what, got);
		g_assert_cmphex(got, ==, want);
		g_assert_cmphex(port, ==, want);
	}
}

/* Every length up to two jumbo packets, at every offset modulo 8: the
 * 8-byte steps and the byte tail of both implementations. */
static void test_agree(void)
{
	size_t max = 2 * 1500 + 17;
	uint8_t *buf = g_malloc(max + 8);
	GRand *r = g_rand_new_with_seed(9260);

	for (size_t i = 0; i < max + 8; i++)
		buf[i] = (uint8_t)g_rand_int(r);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= max; len += len < 80 ? 1 : 37) {
			uint32_t a = idl_crc32c(buf + off, len);
			uint32_t b = idl_crc32c_portable(buf + off, len);
			uint32_t c = usrsctp_crc32c(buf + off, len);

			if (a != b || a != c)
				g_error("offset %zu, %zu bytes: %08x (fast) %08x (tables) %08x (usrsctp)",
					off, len, a, b, c);
		}
	}
	g_rand_free(r);
	g_free(buf);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/crc32c/known", test_known);
	g_test_add_func("/crc32c/agree", test_agree);
	return g_test_run();
}
