/* error: the one helper behind the error paths of the modules that report
 * through GError: a G_IO_ERROR with a printf-style message, and the value
 * the caller returns, in one expression. */
#ifndef IDL_ERROR_H
#define IDL_ERROR_H

#include <glib.h>

/* Sets *err (unless err is NULL) to a G_IO_ERROR of code with the
 * formatted message; returns ret (a negative errno value, by our rule). */
int idl_error_set(GError **err, int code, int ret, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

#endif
