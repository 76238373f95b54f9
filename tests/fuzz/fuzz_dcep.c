/* libFuzzer target: the DCEP decoder (RFC 8832), which reads what a remote
 * peer sends on a data channel's stream. Any input must give 0 or -EINVAL;
 * a decoded ACK must start with the ACK type (any length); a decoded OPEN
 * must point inside the input and encode back to the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "sctp/dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_dcep_msg m;
	int r = idl_dcep_decode(data, size, &m);
	uint8_t *back;
	int n;

	if (r != 0 && r != -EINVAL)
		abort();
	/* An ACK is told by its type byte alone, whatever its length. */
	if (r == 0 && m.type == IDL_DCEP_ACK && data[0] != IDL_DCEP_ACK)
		abort();
	if (r != 0 || m.type != IDL_DCEP_OPEN)
		return 0;
	if ((m.open.label_len && ((const uint8_t *)m.open.label < data ||
				  (const uint8_t *)m.open.label + m.open.label_len > data + size)) ||
	    (m.open.protocol_len && ((const uint8_t *)m.open.protocol < data ||
				     (const uint8_t *)m.open.protocol + m.open.protocol_len > data + size)))
		abort();
	back = g_malloc(size + 1);
	n = idl_dcep_encode_open(&m.open, back, size + 1);
	if (n != (int)size || memcmp(back, data, size) != 0)
		abort();
	g_free(back);
	return 0;
}
