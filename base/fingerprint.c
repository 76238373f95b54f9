/* fingerprint: see fingerprint.h. */
#include "base/fingerprint.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <glib.h>

void idl_fingerprint_to_hex(const unsigned char raw[IDL_FINGERPRINT_SIZE], char out[IDL_FINGERPRINT_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < IDL_FINGERPRINT_SIZE; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0x0f];
	}
	out[IDL_FINGERPRINT_HEX_LEN] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int idl_fingerprint_parse(const char *text, unsigned char raw[IDL_FINGERPRINT_SIZE])
{
	enum { COLON_LEN = IDL_FINGERPRINT_HEX_LEN + IDL_FINGERPRINT_SIZE - 1 };
	unsigned char tmp[IDL_FINGERPRINT_SIZE];
	bool colons;
	size_t len, i;
	const char *p;

	if (text == NULL)
		return -EINVAL;
	/* Bounded: the text may come from the network. */
	len = strnlen(text, COLON_LEN + 1);
	if (len == IDL_FINGERPRINT_HEX_LEN)
		colons = false;
	else if (len == COLON_LEN)
		colons = true;
	else
		return -EINVAL;

	p = text;
	for (i = 0; i < IDL_FINGERPRINT_SIZE; i++) {
		int hi, lo;

		if (colons && i > 0) {
			if (*p != ':')
				return -EINVAL;
			p++;
		}
		hi = hex_value(p[0]);
		lo = hex_value(p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		tmp[i] = (unsigned char)(hi << 4 | lo);
		p += 2;
	}
	/* raw is left alone on error, so a caller never acts on half a value. */
	memcpy(raw, tmp, sizeof tmp);
	return 0;
}

void idl_fingerprint_short(const char *hex, char out[IDL_FINGERPRINT_SHORT_LEN + 1])
{
	out[0] = '\0';
	g_return_if_fail(hex != NULL && strnlen(hex, 8) == 8);
	memcpy(out, hex, 4);
	out[4] = ' ';
	memcpy(out + 5, hex + 4, 4);
	out[IDL_FINGERPRINT_SHORT_LEN] = '\0';
}
