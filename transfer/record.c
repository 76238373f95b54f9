/* record: the resume record's text and key (see record.h). The text is six
 * lines, magic, part=, dev=, ino=, gen= and an empty last one; anything
 * else, or a .part outside the folder of the file, is refused, since the
 * state folder may hold whatever another program or a lost write left. */
#include "transfer/record.h"

#include <errno.h>
#include <string.h>

#include "transfer/path.h"

#define RECORD_MAGIC "idrop-lan partial 1"
#define KEY_HEX_LEN 64

static void key_add(GChecksum *c, const char *field)
{
	char len[24];

	g_snprintf(len, sizeof(len), "%zu:", strlen(field));
	g_checksum_update(c, (const guchar *)len, -1);
	g_checksum_update(c, (const guchar *)field, (gssize)strlen(field));
}

char *idl_record_key(const char *real, const char *sender_fp, const char *path, uint64_t size, uint64_t mtime)
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	char *lower = g_ascii_strdown(sender_fp, -1), num[48], *out;

	key_add(c, RECORD_MAGIC);
	key_add(c, real);
	key_add(c, lower);
	key_add(c, path);
	g_snprintf(num, sizeof(num), "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, size, mtime);
	key_add(c, num);
	out = g_strdup(g_checksum_get_string(c));
	g_checksum_free(c);
	g_free(lower);
	return out;
}

gboolean idl_record_is_key(const char *name)
{
	return strlen(name) == KEY_HEX_LEN && strspn(name, "0123456789abcdef") == KEY_HEX_LEN;
}

char *idl_record_format(const char *part, uint64_t dev, uint64_t ino, uint64_t gen)
{
	return g_strdup_printf(RECORD_MAGIC "\npart=%s\ndev=%" G_GUINT64_FORMAT "\nino=%" G_GUINT64_FORMAT
			       "\ngen=%" G_GUINT64_FORMAT "\n", part, (guint64)dev, (guint64)ino, (guint64)gen);
}

static gboolean get_num(const char *line, const char *key, uint64_t *out)
{
	size_t n = strlen(key);

	return strncmp(line, key, n) == 0 &&
	       g_ascii_string_to_unsigned(line + n, 10, 0, G_MAXUINT64, out, NULL);
}

/* Bytes of path before its last component ("a/b" of "a/b/c", 0 for "c"). */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

int idl_record_parse(const char *text, size_t len, const char *path, char **part, uint64_t *dev,
		     uint64_t *ino, uint64_t *gen)
{
	char *buf, **lines = NULL;
	const char *named, *slash;
	size_t n;
	int r = -EINVAL;

	*part = NULL;
	if (len > IDL_RECORD_MAX || memchr(text, 0, len))
		return -EINVAL;
	buf = g_strndup(text, len);
	lines = g_strsplit(buf, "\n", 7);
	if (g_strv_length(lines) != 6 || strcmp(lines[0], RECORD_MAGIC) != 0 || strncmp(lines[1], "part=", 5) != 0 ||
	    !get_num(lines[2], "dev=", dev) || !get_num(lines[3], "ino=", ino) ||
	    !get_num(lines[4], "gen=", gen) || *lines[5] ||
	    idl_path_check(lines[1] + 5, NULL) < 0 || !g_str_has_suffix(lines[1] + 5, ".part"))
		goto out;
	named = lines[1] + 5;
	n = dir_len(path);
	if (dir_len(named) != n || strncmp(path, named, n) != 0)
		goto out;
	slash = strrchr(named, '/');
	*part = g_strdup(slash ? slash + 1 : named);
	r = 0;
out:
	g_strfreev(lines);
	g_free(buf);
	return r;
}
