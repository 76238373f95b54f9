/* error: see error.h. */
#include "transport/error.h"

#include <gio/gio.h>

int idl_error_set(GError **err, int code, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return ret;
	va_start(ap, fmt);
	*err = g_error_new_valist(G_IO_ERROR, code, fmt, ap);
	va_end(ap);
	return ret;
}
