/* name: see name.h. */
#include "base/name.h"

#include "base/text.h"

gboolean idl_name_readable(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > IDL_NAME_MAX)
		return FALSE;
	/* With a length, g_utf8_validate also refuses NUL bytes. */
	if (!g_utf8_validate(s, (gssize)len, NULL))
		return FALSE;
	return !idl_text_has_control(s, len);
}

gboolean idl_name_valid(const char *s, size_t len)
{
	return idl_name_readable(s, len) && !idl_text_has_hidden(s, len);
}
