/* fs_helpers: what the unit tests that use a real folder share: removing a
 * tree they made, counting what a folder holds. static inline, so a test
 * that uses one of them does not warn about the other. */
#ifndef IDL_TEST_FS_HELPERS_H
#define IDL_TEST_FS_HELPERS_H

#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

/* Removes path and everything below it; symlinks are removed, not followed. */
static inline void remove_all(const char *path)
{
	struct stat st;
	GDir *d;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = g_dir_open(path, 0, NULL))) {
		const char *name;

		while ((name = g_dir_read_name(d))) {
			char *child = g_build_filename(path, name, NULL);
			remove_all(child);
			g_free(child);
		}
		g_dir_close(d);
		g_assert_cmpint(rmdir(path), ==, 0);
	} else {
		g_assert_cmpint(unlink(path), ==, 0);
	}
}

/* How many entries dir holds. */
static inline unsigned count_entries(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	unsigned n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	return n;
}

#endif
