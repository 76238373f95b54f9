/* libFuzzer target: the file-name rules every offered path passes
 * (idl_path_check, transfer/path.c) before the receiver opens anything.
 * Any input gives 0 or -EINVAL; a path accepted is relative, valid UTF-8,
 * at most 4096 bytes, and none of its components is empty, ".", "..", over
 * 255 bytes, or holds a backslash, a control or a hidden character (bidi,
 * zero-width), there are at most 32 of them, and idl_path_visible() of it
 * is accepted too and has no component starting with '.'. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "base/text.h"
#include "transfer/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const char *p)
{
	char **parts, *v;

	if (!p[0] || p[0] == '/' || strlen(p) > IDL_PATH_MAX || !g_utf8_validate(p, -1, NULL) || strchr(p, '\\'))
		abort();
	for (const char *c = p; *c; c = g_utf8_next_char(c))
		if (g_unichar_iscntrl(g_utf8_get_char(c)) || idl_text_is_hidden_char(g_utf8_get_char(c)))
			abort();
	parts = g_strsplit(p, "/", -1);
	if (g_strv_length(parts) > IDL_PATH_DEPTH_MAX)
		abort();
	for (char **s = parts; *s; s++)
		if (!**s || !strcmp(*s, ".") || !strcmp(*s, "..") || strlen(*s) > IDL_PATH_COMPONENT_MAX)
			abort();
	g_strfreev(parts);
	v = idl_path_visible(p);
	if (idl_path_check(v, NULL) != 0 || v[0] == '.' || strstr(v, "/."))
		abort();
	g_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = g_strndup((const char *)data, size);   /* stops at a NUL, as JSON decoding would refuse it */
	int r = idl_path_check(p, NULL);

	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0)
		check_accepted(p);
	g_free(p);
	return 0;
}
