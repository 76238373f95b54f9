/* error: the helpers behind the error paths of the modules that report
 * through GError: one way to set a G_IO_ERROR with a printf-style message
 * and return the negative errno value the caller returns, in one
 * expression; and the two file operations whose errors every layer says
 * the same way (reading an opened file, flushing a folder). */
#ifndef IDL_ERROR_H
#define IDL_ERROR_H

#include <stddef.h>
#include <glib.h>

/* Sets *err (unless err is NULL) to a G_IO_ERROR with the formatted
 * message and returns ret, a negative errno value. The G_IO_ERROR code is
 * the one GLib gives that errno, except that the errno values of bad input
 * (EINVAL, EBADMSG, EPROTO, EILSEQ) are G_IO_ERROR_INVALID_DATA: the
 * callers that care (web/signal.c answers 400) read input errors by it. */
int idl_error_errno(GError **err, int ret, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The same with the G_IO_ERROR code given, for the few errors whose code
 * is not the errno's: a bad command-line argument (-EINVAL but
 * G_IO_ERROR_INVALID_ARGUMENT, as target.c says of a target). */
int idl_error_set(GError **err, int code, int ret, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* Reads up to len bytes from fd at offset off (pread), or from its current
 * position when off is negative (read), into buf, *got the count; a short
 * read (end of file) ends early. path names the file in the message.
 * Returns 0 or a negative errno value with *err set. */
int idl_read_fd(int fd, const char *path, void *buf, size_t len, gint64 off, size_t *got, GError **err);

/* fsync(2) of the folder dir, so that a rename or a new file in it is on
 * disk. Returns 0 or a negative errno value, which the caller words. */
int idl_sync_dir(const char *dir);

#endif
