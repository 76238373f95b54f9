/* store: the receiver's file store, everything it does on disk. A file grows
 * as "NAME.part" (mode 0600) beside where it will land, hashed as it comes,
 * and takes its final name only once its SHA-256 matches, by a rename that
 * never replaces an existing file. Every access is relative to the download
 * folder's descriptor (openat/mkdirat/renameat, O_NOFOLLOW on each
 * component), so no path, symlink or race puts a byte outside that folder.
 * An interrupted file keeps its .part and a resume record in the state
 * folder, so a later offer of the same file resumes where it stopped.
 *
 * Blocking I/O: call it from a worker thread, never the GLib main loop. One
 * store and its files are used by one thread at a time; there are no globals.
 * Errors: a negative errno value, and *err (G_IO_ERROR domain, code from
 * g_io_error_from_errno) says what happened, naming the file, and what the
 * user can do. */
#ifndef IDL_STORE_H
#define IDL_STORE_H

#include <stdint.h>
#include <glib.h>

#define IDL_STORE_NAMES_MAX 1000   /* "name (1).ext" .. "name (999).ext", then give up */
#define IDL_STORE_EXPIRE_S (30 * 24 * 3600)   /* partial data untouched this long is deleted */

struct idl_store;          /* a download folder + where resume records live */
struct idl_store_file;     /* one file being received */

/* Opens the download folder dir (which must exist and is kept open as a
 * directory descriptor, so renaming it later does not redirect writes) and
 * the folder of resume records state_dir (e.g. STATE/partial, created 0700
 * with its parents when missing). Both strings are copied. On success *out
 * is owned by the caller (idl_store_free), and must outlive its files. */
int idl_store_open(const char *dir, const char *state_dir, struct idl_store **out, GError **err);

/* NULL is a no-op. Every file begun must be finished or aborted first. */
void idl_store_free(struct idl_store *s);

/* Bytes free for an unprivileged writer in the download folder. */
int idl_store_free_space(struct idl_store *s, uint64_t *bytes, GError **err);

/* What the folders of an offer cost: how many of the folders that paths
 * (n offer paths, stored as idl_path_visible() names them) would be
 * created, and *bytes, a file-system block for each, for the free-space
 * check: folders take disk space too, and an offer of empty files can ask
 * for thousands of them. Counts each folder once. */
int idl_store_folder_cost(struct idl_store *s, const char *const *paths, size_t n, guint *folders,
			  uint64_t *bytes, GError **err);

/* Expires what interrupted transfers left: each resume record not written
 * since now - max_age (seconds; IDL_STORE_EXPIRE_S) is removed, and with it
 * its .part in this download folder when that is still the file recorded
 * and was not written to since then either. A .part that no record names is
 * never touched (other programs' downloads use that suffix too). When
 * swept is not NULL, a line for each thing removed is added to it (strings
 * owned by the array: make it with g_ptr_array_new_with_free_func(g_free)).
 * Returns 0, or a negative errno value when the state folder cannot be read. */
int idl_store_sweep(struct idl_store *s, int64_t now, int64_t max_age, GPtrArray *swept, GError **err);

/* Resume: how many bytes of the file identified by sender_fp (64 hex digits,
 * either case), path, size and mtime are held in a .part left by an earlier
 * interrupted transfer into this same download folder. 0 when there is none,
 * or when the record is unreadable, or its .part is gone, not a regular file,
 * another file (device, inode and, where the file system has one, inode
 * generation differ) or bigger than size: such a record is removed (the file
 * found in its place is left alone). Never fails. */
/* Whether the state folder holds any resume record (TRUE when it cannot
 * tell): without one, idl_store_held() answers 0 for every file, and an
 * offer of thousands of small files need not ask file by file. */
gboolean idl_store_has_records(struct idl_store *s);

uint64_t idl_store_held(struct idl_store *s, const char *sender_fp, const char *path, uint64_t size, uint64_t mtime);

/* Starts receiving path (re-checked with idl_path_check) at byte offset: 0,
 * or what idl_store_held() answered. The file and its folders are stored
 * under idl_path_visible(path): no name starting with '.'. Creates missing folders on the way
 * (0755); a symlink on the way is refused (-ELOOP), as is a non-folder
 * (-ENOTDIR). Creates "NAME.part" next to where the file will land, or
 * "NAME (1).part", ... when that name is taken by anything that is not this
 * file's own recorded part. A file of at most 1 MiB begun at 0 is
 * written unnamed instead where the file system allows it
 * (idl_store_use_tmpfile), and gets that .part name only if aborted. With offset > 0, reuses the recorded part, cut to
 * offset bytes, and hashes those bytes so the final check covers the whole
 * file (-ESTALE when it no longer holds them: start again from 0). Records
 * the part for a resume (a file of at most 1 MiB begun at 0 only once it is
 * interrupted: a record costs an fsync). -EINVAL for a bad path, fingerprint or offset
 * > size. On success *out is owned by the caller: idl_store_finish(),
 * idl_store_abort() or idl_store_discard() it. */
int idl_store_begin(struct idl_store *s, const char *sender_fp, const char *path, uint64_t size,
		    uint64_t mtime, uint64_t offset, struct idl_store_file **out, GError **err);

/* Whether files of at most 1 MiB begun at 0 may be written unnamed
 * (O_TMPFILE, linked under their name when kept, under a .part name only
 * when interrupted: a crash leaves nothing of them). TRUE by default; the
 * store turns it off itself where the file system refuses O_TMPFILE.
 * FALSE: always a .part (tests of that path). */
void idl_store_use_tmpfile(struct idl_store *s, gboolean use);

/* Whether an unnamed file may be named by linkat(AT_EMPTY_PATH) before
 * /proc/self/fd is tried. TRUE by default; the store turns it off itself
 * once the kernel refuses it (before Linux 6.10 without
 * CAP_DAC_READ_SEARCH). FALSE: always through /proc (tests of that path,
 * which root on a new kernel never takes). */
void idl_store_use_link_empty(struct idl_store *s, gboolean use);

/* Appends len bytes and hashes them. -EFBIG when they would go past the
 * announced size (nothing is written then), or past what the file system
 * allows in one file; -ENOSPC when the disk (or quota) is full.
 * On any failure the .part is cut back to the bytes fully written and the
 * hash covers exactly those, so idl_store_abort() keeps a correct resume. */
int idl_store_write(struct idl_store_file *f, const uint8_t *buf, size_t len, GError **err);

/* Bytes held so far: the offset begun at plus the bytes written since. */
uint64_t idl_store_file_length(const struct idl_store_file *f);

/* Checks the end of a file, the first half of idl_store_finish();
 * sha256 (32 raw bytes) is the sender's hash of the whole file. Returns:
 *   -EPROTO   fewer bytes than announced: the .part and its record are kept
 *             for a resume, f is freed;
 *   -EBADMSG  the hash does not match: the .part and its record are deleted
 *             (wrong data is never kept, nor resumed from), f is freed;
 *   0         the .part has the announced mtime and its final mode; f is
 *             still the caller's, for idl_store_commit() (or
 *             idl_store_abort(), which keeps it for a resume). */
int idl_store_verify(struct idl_store_file *f, const uint8_t sha256[32], GError **err);

/* What idl_store_commit() did with one file: result 0 and final_path (its
 * name relative to the download folder, g_free() it), or result -errno and
 * error (g_error_free() it). */
struct idl_store_result {
	int result;
	char *final_path;
	GError *error;
};

/* Keeps n verified files (idl_store_verify()) as one batch: makes the data
 * of all durable (a syncfs per file system from 16 files on, else the
 * writeback of all started and an fsync each, which share a journal commit),
 * renames each to its name, or to "name (1).ext", "name (2).ext", ... when
 * that exists (nothing is ever replaced), removes its record, and makes the
 * names durable (a second syncfs, else an fsync of each folder once after
 * its renames). out[i] (n of them) tells what became of
 * files[i]. A failed sync or rename keeps the .part and its record for a
 * resume; a failed sync of its folder (the file has its name but may not
 * survive a crash) is that file's error, with no final_path. Frees every
 * file. */
void idl_store_commit(struct idl_store_file *const *files, size_t n, struct idl_store_result *out);

/* idl_store_verify() and, when it passes, idl_store_commit() of f alone.
 * Frees f in every case; *final_path as final_path above (NULL if the call
 * fails). */
int idl_store_finish(struct idl_store_file *f, const uint8_t sha256[32], char **final_path, GError **err);

/* The transfer stopped (connection lost, cancelled): flushes and closes the
 * .part, keeping it and its record for a resume. Frees f. NULL is a no-op. */
void idl_store_abort(struct idl_store_file *f);

/* The file's data is wrong (e.g. the sender sent more than it announced):
 * closes and deletes the .part and its record, so it is never resumed from.
 * Frees f. NULL is a no-op. */
void idl_store_discard(struct idl_store_file *f);

#endif
