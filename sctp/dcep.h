/* dcep: the Data Channel Establishment Protocol (RFC 8832), the two
 * messages that open a WebRTC data channel on an SCTP stream (PPID 50).
 * Pure functions over byte buffers, no I/O, no allocation: unit tested and
 * fuzzable as they are. Every length is checked before it is used, and
 * anything malformed is refused with -EINVAL. */
#ifndef IDL_DCEP_H
#define IDL_DCEP_H

#include <stddef.h>
#include <stdint.h>

#define IDL_DCEP_PPID 50
#define IDL_DCEP_OPEN_HEADER 12   /* OPEN without label and protocol */

enum idl_dcep_type {
	IDL_DCEP_ACK = 0x02,
	IDL_DCEP_OPEN = 0x03,
};

/* Channel types of an OPEN (RFC 8832 section 5.1). The 0x80 bit means
 * unordered; the low bits say how reliable. */
enum idl_dcep_channel_type {
	IDL_DCEP_RELIABLE = 0x00,
	IDL_DCEP_RELIABLE_UNORDERED = 0x80,
	IDL_DCEP_PARTIAL_REXMIT = 0x01,
	IDL_DCEP_PARTIAL_REXMIT_UNORDERED = 0x81,
	IDL_DCEP_PARTIAL_TIMED = 0x02,
	IDL_DCEP_PARTIAL_TIMED_UNORDERED = 0x82,
};
#define IDL_DCEP_UNORDERED_BIT 0x80

struct idl_dcep_open {
	uint8_t channel_type;        /* enum idl_dcep_channel_type */
	uint16_t priority;
	uint32_t reliability;        /* retransmissions or milliseconds; 0 when reliable */
	/* Not NUL-terminated. After idl_dcep_decode they point into the
	 * decoded buffer (nothing is copied), so they live as long as it. */
	const char *label;
	size_t label_len;
	const char *protocol;
	size_t protocol_len;
};

struct idl_dcep_msg {
	enum idl_dcep_type type;
	struct idl_dcep_open open;   /* meaningful when type is IDL_DCEP_OPEN */
};

/* Decodes one DCEP message (the whole SCTP message, PPID 50). An ACK is
 * its type byte, and whatever follows it is ignored (RFC 8832 sends one
 * byte; Pion and webrtc-rs send four, as libwebrtc accepts). An OPEN is exactly its 12-byte header plus the label
 * and protocol lengths it announces, with a known channel type, and label
 * and protocol in UTF-8 without NUL bytes (they end up as C strings).
 * Returns 0, or -EINVAL for anything else (unknown type included). */
int idl_dcep_decode(const uint8_t *buf, size_t len, struct idl_dcep_msg *out);

/* The encoded size of an OPEN with these label and protocol lengths. */
size_t idl_dcep_open_size(size_t label_len, size_t protocol_len);

/* Encodes an OPEN into buf. Returns the length written, -EINVAL for an
 * unknown channel type or a label/protocol over 65535 bytes, -ENOSPC when
 * cap is too small. */
int idl_dcep_encode_open(const struct idl_dcep_open *open, uint8_t *buf, size_t cap);

/* Encodes an ACK into buf. Returns 1, or -ENOSPC when cap is 0. */
int idl_dcep_encode_ack(uint8_t *buf, size_t cap);

#endif
