/* link: the one way the sender and the receiver put a control message on
 * their link (see link.h). */
#include "transfer/link.h"

#include <errno.h>
#include <string.h>

#include "base/error.h"

/* reason cut to IDL_MSG_REASON_MAX bytes (with "..."), at a character
 * boundary; NULL when it fits as it is. */
static char *cut_reason(const char *reason)
{
	size_t keep = IDL_MSG_REASON_MAX - 3;

	if (!reason || strlen(reason) <= IDL_MSG_REASON_MAX)
		return NULL;
	while (keep > 0 && ((unsigned char)reason[keep] & 0xc0) == 0x80)
		keep--;
	return g_strdup_printf("%.*s...", (int)keep, reason);
}

int idl_link_send_msg(const struct idl_link *l, const struct idl_msg *m, GError **err)
{
	struct idl_msg cut = *m;
	GError *e = NULL;
	size_t len;
	char *text, *reason = cut_reason(m->reason);
	int r;

	if (reason)
		cut.reason = reason;
	text = idl_msg_encode(&cut, &len, &e);
	g_free(reason);
	if (!text) {
		/* A caller that does not take the error is told here. */
		if (!err)
			g_warning("cannot encode %s: %s", idl_msg_type_name(m->type), e->message);
		r = idl_error_errno(err, -EMSGSIZE, "%s", e->message);
		g_error_free(e);
		return r;
	}
	r = l->send(l->ctx, false, (const uint8_t *)text, len);
	g_free(text);
	return r;
}
