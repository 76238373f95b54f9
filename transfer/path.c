/* path: the offer path rules (see path.h). Each rule has its own message,
 * so a refused name says which rule it broke. */
#include "transfer/path.h"

#include <errno.h>
#include <string.h>

#include "base/text.h"
#include "base/error.h"

/* The first hidden character of s (valid UTF-8), for a message. */
static gunichar first_hidden(const char *s)
{
	for (const char *p = s; *p; p = g_utf8_next_char(p))
		if (idl_text_is_hidden_char(g_utf8_get_char(p)))
			return g_utf8_get_char(p);
	return 0;
}

int idl_path_check(const char *path, GError **err)
{
	size_t len, comp = 1;
	const char *start;

	if (!path || !*path)
		return idl_error_errno(err, -EINVAL, "path is empty");
	len = strlen(path);
	if (len > IDL_PATH_MAX)
		return idl_error_errno(err, -EINVAL, "path is %zu bytes long, over the limit of %d", len, IDL_PATH_MAX);
	if (!g_utf8_validate(path, (gssize)len, NULL))
		return idl_error_errno(err, -EINVAL, "path is not valid UTF-8");
	if (path[0] == '/')
		return idl_error_errno(err, -EINVAL, "path is absolute: it must be relative to the download folder");
	if (idl_text_has_control(path, strlen(path)))
		return idl_error_errno(err, -EINVAL, "path contains a control character");
	if (idl_text_has_hidden(path, len))
		return idl_error_errno(err, -EINVAL, "path contains the hidden character U+%04X (a bidi control or a "
			    "zero-width character): it would make the name look like another, e.g. "
			    "\"a\\u202Etxt.exe\" shows as \"aexe.txt\"", (unsigned)first_hidden(path));
	if (strchr(path, '\\'))
		return idl_error_errno(err, -EINVAL, "path contains a backslash: components are separated by '/' only, "
			    "and a backslash is a separator on some systems");
	for (start = path;; comp++) {
		const char *end = strchr(start, '/');
		size_t n = end ? (size_t)(end - start) : strlen(start);

		if (comp > IDL_PATH_DEPTH_MAX)
			return idl_error_errno(err, -EINVAL, "path has more than %d components (folders in folders): "
				    "the limit is %d", IDL_PATH_DEPTH_MAX, IDL_PATH_DEPTH_MAX);
		if (n == 0)
			return idl_error_errno(err, -EINVAL, "path component %zu is empty (a doubled or trailing '/')", comp);
		if (n > IDL_PATH_COMPONENT_MAX)
			return idl_error_errno(err, -EINVAL, "path component %zu is %zu bytes long, over the limit of %d",
				    comp, n, IDL_PATH_COMPONENT_MAX);
		if ((n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
			return idl_error_errno(err, -EINVAL, "path component %zu is \"%.*s\": a path names files below "
				    "the download folder only", comp, (int)n, start);
		if (!end)
			return 0;
		start = end + 1;
	}
}

char *idl_path_visible(const char *path)
{
	char *out = g_strdup(path);

	for (char *p = out; *p; p++)
		if (*p == '.' && (p == out || p[-1] == '/'))
			*p = '_';
	return out;
}

bool idl_path_is_hidden(const char *path)
{
	for (const char *p = path; *p; p++)
		if (*p == '.' && (p == path || p[-1] == '/'))
			return true;
	return false;
}

guint idl_path_folders_add(GHashTable *folders, const char *path)
{
	guint added = 0;

	for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (g_hash_table_add(folders, g_strndup(path, (gsize)(p - path))))
			added++;
	return added;
}
