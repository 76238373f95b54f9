/* dcep: encode and decode DCEP OPEN and ACK (RFC 8832 section 5; see dcep.h). */
#include "sctp/dcep.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "base/bytes.h"

static int known_channel_type(uint8_t t)
{
	switch (t) {
	case IDL_DCEP_RELIABLE:
	case IDL_DCEP_RELIABLE_UNORDERED:
	case IDL_DCEP_PARTIAL_REXMIT:
	case IDL_DCEP_PARTIAL_REXMIT_UNORDERED:
	case IDL_DCEP_PARTIAL_TIMED:
	case IDL_DCEP_PARTIAL_TIMED_UNORDERED:
		return 1;
	}
	return 0;
}

/* Labels and protocols reach the application as C strings: a NUL inside
 * would silently cut them, so it is refused along with invalid UTF-8. */
static int text_ok(const char *s, size_t len)
{
	return memchr(s, 0, len) == NULL && g_utf8_validate(s, (gssize)len, NULL);
}

int idl_dcep_decode(const uint8_t *buf, size_t len, struct idl_dcep_msg *out)
{
	struct idl_dcep_open *o = &out->open;
	size_t label_len, protocol_len;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0)
		return -EINVAL;
	switch (buf[0]) {
	case IDL_DCEP_ACK:
		/* RFC 8832 says one byte, but Pion and webrtc-rs send four (the
		 * type and three zero bytes) and libwebrtc accepts any length:
		 * the type is the whole message, whatever follows it. */
		out->type = IDL_DCEP_ACK;
		return 0;
	case IDL_DCEP_OPEN:
		break;
	default:
		return -EINVAL;
	}
	if (len < IDL_DCEP_OPEN_HEADER)
		return -EINVAL;
	label_len = idl_get_be16(buf + 8);
	protocol_len = idl_get_be16(buf + 10);
	/* Both are at most 65535, so the sum cannot overflow; trailing bytes
	 * are as wrong as missing ones. */
	if (len - IDL_DCEP_OPEN_HEADER != label_len + protocol_len)
		return -EINVAL;
	if (!known_channel_type(buf[1]))
		return -EINVAL;
	o->label = (const char *)buf + IDL_DCEP_OPEN_HEADER;
	o->protocol = o->label + label_len;
	if (!text_ok(o->label, label_len) || !text_ok(o->protocol, protocol_len))
		return -EINVAL;
	out->type = IDL_DCEP_OPEN;
	o->channel_type = buf[1];
	o->priority = idl_get_be16(buf + 2);
	o->reliability = idl_get_be32(buf + 4);
	o->label_len = label_len;
	o->protocol_len = protocol_len;
	return 0;
}

size_t idl_dcep_open_size(size_t label_len, size_t protocol_len)
{
	return IDL_DCEP_OPEN_HEADER + label_len + protocol_len;
}

int idl_dcep_encode_open(const struct idl_dcep_open *open, uint8_t *buf, size_t cap)
{
	size_t n;

	if (!known_channel_type(open->channel_type) || open->label_len > UINT16_MAX ||
	    open->protocol_len > UINT16_MAX)
		return -EINVAL;
	if ((open->label_len && !open->label) || (open->protocol_len && !open->protocol))
		return -EINVAL;
	n = idl_dcep_open_size(open->label_len, open->protocol_len);
	if (cap < n)
		return -ENOSPC;
	buf[0] = IDL_DCEP_OPEN;
	buf[1] = open->channel_type;
	idl_put_be16(buf + 2, open->priority);
	idl_put_be32(buf + 4, open->reliability);
	idl_put_be16(buf + 8, (uint16_t)open->label_len);
	idl_put_be16(buf + 10, (uint16_t)open->protocol_len);
	if (open->label_len)
		memcpy(buf + IDL_DCEP_OPEN_HEADER, open->label, open->label_len);
	if (open->protocol_len)
		memcpy(buf + IDL_DCEP_OPEN_HEADER + open->label_len, open->protocol,
		       open->protocol_len);
	return (int)n;
}

int idl_dcep_encode_ack(uint8_t *buf, size_t cap)
{
	if (cap < 1)
		return -ENOSPC;
	buf[0] = IDL_DCEP_ACK;
	return 1;
}
