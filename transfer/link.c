/* link: the one way the sender and the receiver put a control message on
 * their link (see link.h). */
#include "transfer/link.h"

#include <errno.h>

int idl_link_send_msg(const struct idl_link *l, const struct idl_msg *m)
{
	GError *err = NULL;
	size_t len;
	char *text = idl_msg_encode(m, &len, &err);
	int r;

	if (!text) {
		/* Only our own bug gets here: every field was checked before. */
		g_warning("cannot encode %s: %s", idl_msg_type_name(m->type), err->message);
		g_error_free(err);
		return -EINVAL;
	}
	r = l->send(l->ctx, false, (const uint8_t *)text, len);
	g_free(text);
	return r;
}
