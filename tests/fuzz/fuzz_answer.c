/* libFuzzer target: the body of POST /api/answer (web/tabs.c), which any
 * client on the LAN may send. Any input must give 0 or -EINVAL; an answer
 * accepted holds ids of the exact shape and exactly one of an SDP or a
 * reason that is valid UTF-8, bounded and free of control characters. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/tabs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_tab_answer a;
	int r = idl_tab_answer_parse((const char *)data, size, &a, NULL);

	if (r != 0 && r != -EINVAL)
		abort();
	if (r != 0) {
		if (a.sdp || a.error)
			abort();
		return 0;
	}
	if (strlen(a.id) != 16 || strlen(a.token) != 32 || strlen(a.rid) != 16 || !a.sdp == !a.error)
		abort();
	if (a.sdp && strncmp(a.sdp, "v=0", 3) != 0)
		abort();
	if (a.error) {
		if (strlen(a.error) > 200 || !g_utf8_validate(a.error, -1, NULL))
			abort();
		for (const char *p = a.error; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	}
	idl_tab_answer_clear(&a);
	return 0;
}
