/* record: the resume record of the receiver's store, as text. A record
 * says which .part holds the start of an interrupted file (its name beside
 * the file, and the device, inode and inode generation it had), and is
 * named by a key over what identifies the file. Pure: no I/O, no globals;
 * transfer/store.c reads, writes and expires the record files.
 * Every string returned is owned by the caller (g_free). */
#ifndef IDL_RECORD_H
#define IDL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define IDL_RECORD_MAX 8192   /* bytes: a record is one path and three numbers */

/* The record's file name in the state folder, 64 lowercase hex digits: the
 * SHA-256 over the canonical download folder real, the sender's fingerprint
 * sender_fp (either case: taken in lower case), the path as announced, size
 * and mtime, each field length-prefixed, so no two different files share a
 * key whatever bytes their fields hold. */
char *idl_record_key(const char *real, const char *sender_fp, const char *path, uint64_t size, uint64_t mtime);

/* Whether name (a file in the state folder) could be a key made by
 * idl_record_key(): nothing else there is a record. */
gboolean idl_record_is_key(const char *name);

/* The text of a record for the .part part (its path relative to the
 * download folder, a sibling of the file it is for) and that file's
 * identity. */
char *idl_record_format(const char *part, uint64_t dev, uint64_t ino, uint64_t gen);

/* Reads a record: text (len bytes, no NUL needed) is what the record file
 * holds, path the file it is for. Returns 0 with *part (the .part's name in
 * the folder of path, owned by the caller) and the identity of that file,
 * or -EINVAL (and *part NULL) for anything but a well-formed record naming
 * a sibling .part. */
int idl_record_parse(const char *text, size_t len, const char *path, char **part, uint64_t *dev,
		     uint64_t *ino, uint64_t *gen);

#endif
