/* libFuzzer target: the control-message decoder, which reads whatever the
 * peer at the other end of the data channel sends. Any input must give 0,
 * -EINVAL or -EPROTONOSUPPORT, with err set exactly on failure, and a decoded
 * message must encode to text that decodes to an equal message (the corpus
 * holds a seed of each type, version 2's run and files-ok included). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transfer/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_msg m, back;
	GError *err = NULL;
	size_t len = 0;
	char *text;
	int r = idl_msg_decode((const char *)data, size, &m, &err);

	if ((r == 0) != (err == NULL) || (r != 0 && r != -EINVAL && r != -EPROTONOSUPPORT))
		abort();
	g_clear_error(&err);
	if (r < 0)
		return 0;
	text = idl_msg_encode(&m, &len, NULL);
	if (!text || idl_msg_decode(text, len, &back, NULL) < 0)
		abort();
	if (!idl_msg_equal(&m, &back))
		abort();
	g_free(text);
	idl_msg_clear(&back);
	idl_msg_clear(&m);
	return 0;
}
