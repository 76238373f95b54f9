/* files: walk the sender's arguments into the list of files to offer. See
 * files.h. Names that the protocol cannot carry are refused up front, so the
 * offer never fails half-way on the receiver. */
#include "transfer/files.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <gio/gio.h>

#include "transfer/path.h"
#include "base/error.h"

static void send_file_free(gpointer data)
{
	struct idl_send_file *f = data;

	g_free(f->local);
	g_free(f->path);
	g_free(f);
}

static int add_file(const char *local, const char *path, const struct stat *st, GPtrArray *files,
		    GHashTable *seen, GError **err)
{
	struct idl_send_file *f;
	GError *e = NULL;

	if (idl_path_check(path, &e) < 0) {
		idl_error_errno(err, -EINVAL, "cannot send %s: its name cannot be carried (%s); rename it", local,
			  e->message);
		g_error_free(e);
		return -EINVAL;
	}
	if (g_hash_table_contains(seen, path))
		return idl_error_errno(err, -EEXIST, "cannot send %s: another file would land as \"%s\" too; "
				 "send them separately", local, path);
	f = g_new0(struct idl_send_file, 1);
	f->local = g_strdup(local);
	f->path = g_strdup(path);
	f->size = (uint64_t)st->st_size;
	f->mtime = st->st_mtim.tv_sec > 0 ? (uint64_t)st->st_mtim.tv_sec : 0;
	g_hash_table_add(seen, f->path);
	g_ptr_array_add(files, f);
	return 0;
}

static int cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const char *local, const char *path, unsigned depth, GPtrArray *files, GPtrArray *skipped,
		GHashTable *seen, GError **err)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GDir *d;
	const char *name;
	int r = 0;

	/* The wire path limit (4096 bytes) ends any real tree long before. */
	if (depth > 256)
		return idl_error_errno(err, -ELOOP, "cannot send %s: folders nested too deep", local);
	d = g_dir_open(local, 0, err);
	if (!d) {
		r = -EACCES;
		goto out;
	}
	while ((name = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_sort(names, cmp_names);

	for (guint i = 0; i < names->len && r == 0; i++) {
		char *l = g_build_filename(local, names->pdata[i], NULL);
		char *p = g_strconcat(path, "/", (char *)names->pdata[i], NULL);
		struct stat st;

		if (lstat(l, &st) < 0)
			g_ptr_array_add(skipped, g_strdup_printf("%s: %s", l, g_strerror(errno)));
		else if (S_ISLNK(st.st_mode))
			g_ptr_array_add(skipped, g_strdup_printf("%s: a symbolic link, not followed", l));
		else if (S_ISDIR(st.st_mode))
			r = walk(l, p, depth + 1, files, skipped, seen, err);
		else if (S_ISREG(st.st_mode))
			r = add_file(l, p, &st, files, seen, err);
		else
			g_ptr_array_add(skipped, g_strdup_printf("%s: not a regular file", l));
		g_free(l);
		g_free(p);
	}
out:
	g_ptr_array_unref(names);
	return r;
}

int idl_files_collect(char *const *args, size_t n, GPtrArray **files, GPtrArray **skipped, GError **err)
{
	GPtrArray *f = g_ptr_array_new_with_free_func(send_file_free);
	GPtrArray *s = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		struct stat st;
		char *base;

		/* An argument is followed even when it is a link: the user named it. */
		if (stat(args[i], &st) < 0) {
			r = idl_error_errno(err, -errno, "cannot send %s: %s", args[i], g_strerror(errno));
			break;
		}
		base = g_path_get_basename(args[i]);
		if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/")) {
			/* "." has no name of its own: use the folder's real one. */
			char *real = realpath(args[i], NULL);
			g_free(base);
			base = real ? g_path_get_basename(real) : g_strdup("/");
			free(real);
		}
		if (S_ISREG(st.st_mode))
			r = add_file(args[i], base, &st, f, seen, err);
		else if (S_ISDIR(st.st_mode) && strcmp(base, "/") != 0)
			r = walk(args[i], base, 0, f, s, seen, err);
		else
			r = idl_error_errno(err, -EINVAL, "cannot send %s: %s", args[i],
				      S_ISDIR(st.st_mode) ? "name a folder below /" : "not a regular file or folder");
		g_free(base);
	}
	g_hash_table_destroy(seen);
	if (r < 0) {
		g_ptr_array_unref(f);
		g_ptr_array_unref(s);
		return r;
	}
	*files = f;
	*skipped = s;
	return 0;
}

uint64_t idl_files_total(const GPtrArray *files)
{
	uint64_t t = 0;

	for (guint i = 0; i < files->len; i++)
		t += ((const struct idl_send_file *)files->pdata[i])->size;
	return t;
}
