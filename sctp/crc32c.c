/* crc32c: see crc32c.h. Every SCTP packet we send is checksummed here,
 * once per byte sent: usrsctp's own routine (usrsctp_crc32c, built without
 * optimisation in Debian's libusrsctp) took an eighth of the sender's CPU.
 * The CRC32 instruction of SSE4.2 does 8 bytes in a few cycles; without it,
 * slicing-by-8 tables do 8 bytes per step. */
#include "sctp/crc32c.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SSE42 1
#include <nmmintrin.h>
#endif

#define POLY 0x82f63b78u   /* Castagnoli, reflected */

static uint32_t table[8][256];
static int table_ready;

/* Only the loop thread of each process checksums, but building twice would
 * be harmless anyway: every thread writes the same values. */
static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	table_ready = 1;
}

static uint32_t update_portable(uint32_t crc, const uint8_t *p, size_t len)
{
	if (!table_ready)
		table_init();
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= crc;   /* little-endian loads: the reflected CRC's byte order */
		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
		      table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		      table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
#endif
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#ifdef HAVE_SSE42
__attribute__((target("sse4.2")))
static uint32_t update_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	crc = (uint32_t)c;
	for (; len; p++, len--)
		crc = _mm_crc32_u8(crc, *p);
	return crc;
}
#endif

/* The reflected CRC comes out in the byte order SCTP puts on the wire
 * when stored little-endian (RFC 9260 appendix A). */
static uint32_t finish(uint32_t crc)
{
	crc = ~crc;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	crc = __builtin_bswap32(crc);
#endif
	return crc;
}

uint32_t idl_crc32c_portable(const uint8_t *buf, size_t len)
{
	return finish(update_portable(0xffffffffu, buf, len));
}

uint32_t idl_crc32c(const uint8_t *buf, size_t len)
{
#ifdef HAVE_SSE42
	static int sse42 = -1;

	if (sse42 < 0)
		sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (sse42)
		return finish(update_sse42(0xffffffffu, buf, len));
#endif
	return idl_crc32c_portable(buf, len);
}
