/* libFuzzer target: the parser of what users type as a peer (and what a
 * browser page may hand to the device later). Any bytes must give a
 * definite answer and a NUL-terminated result that fits its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_target t;
	GError *err = NULL;
	char *s = g_strndup((const char *)data, size);
	int r = idl_target_parse(s, &t, &err);

	if ((r == 0) != (err == NULL) || (r != 0 && r != -EINVAL))
		abort();
	if (r == 0 && strnlen(t.text, sizeof(t.text)) == sizeof(t.text))
		abort();
	if (r == 0 && t.kind == IDL_TARGET_ADDRESS && t.text[0] == 0)
		abort();
	g_clear_error(&err);
	g_free(s);
	return 0;
}
