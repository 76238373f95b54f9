/* error: the helpers behind the error paths of the modules that report
 * through GError: a G_IO_ERROR with a printf-style message and the value
 * the caller returns, in one expression; and reading a file already opened
 * and checked (identity, known peers) with its errors said the same way. */
#ifndef IDL_ERROR_H
#define IDL_ERROR_H

#include <stddef.h>
#include <glib.h>

/* Sets *err (unless err is NULL) to a G_IO_ERROR of code with the
 * formatted message; returns ret (a negative errno value, by our rule). */
int idl_error_set(GError **err, int code, int ret, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* Reads up to len bytes from fd (read(2) may return less; end of file ends
 * early) into buf, *got the count. path names the file in the message.
 * Returns 0 or a negative errno value with *err set. */
int idl_read_fd(int fd, const char *path, void *buf, size_t len, size_t *got, GError **err);

#endif
