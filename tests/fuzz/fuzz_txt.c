/* libFuzzer target: the DNS-SD TXT decoder, which reads what any host on
 * the LAN sends. Any input must give 0 or -EINVAL, with err set exactly on
 * failure, and a decoded record must encode back to something that decodes
 * the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_txt t, back;
	uint8_t wire[IDL_TXT_WIRE_MAX];
	GError *err = NULL;
	int r = idl_txt_decode(data, size, &t, &err), len;

	if ((r == 0) != (err == NULL))
		abort();
	g_clear_error(&err);
	if (r < 0)
		return 0;
	len = idl_txt_encode(&t, wire, sizeof(wire));
	if (len < 0 || idl_txt_decode(wire, (size_t)len, &back, NULL) < 0)
		abort();
	if (strcmp(t.fingerprint, back.fingerprint) || strcmp(t.name, back.name) ||
	    t.version != back.version || t.caps != back.caps || t.kind != back.kind)
		abort();
	return 0;
}
