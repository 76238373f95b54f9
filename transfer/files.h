/* files: the sender's list of what to send, from the FILE and DIR
 * arguments of `idrop-lan send`: each regular file with the relative path it
 * gets on the receiver, its size and modification time. Folders are walked
 * recursively in name order; symbolic links inside them are not followed (a
 * link to a parent would never end). */
#ifndef IDL_FILES_H
#define IDL_FILES_H

#include <stdint.h>
#include <glib.h>

struct idl_send_file {
	char *local;     /* the path to open */
	char *path;      /* the path on the wire (passes idl_path_check) */
	uint64_t size;
	uint64_t mtime;  /* seconds since the epoch */
};

/* Collects the files named by args[0..n). A file argument is sent under its
 * base name, a folder as "FOLDER/..." with every regular file below it.
 * *files (of struct idl_send_file *, freed with the array) and *skipped (of
 * "PATH: why" strings for what was left out) are owned by the caller.
 * Returns 0, or -errno with *err naming the argument: missing, unreadable,
 * not a file or folder, two files with the same wire path, a name the
 * protocol cannot carry. */
int idl_files_collect(char *const *args, size_t n, GPtrArray **files, GPtrArray **skipped, GError **err);

/* Sum of the sizes. */
uint64_t idl_files_total(const GPtrArray *files);

#endif
