/* error: see error.h. */
#include "transport/error.h"

#include <errno.h>
#include <unistd.h>
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

int idl_read_fd(int fd, const char *path, void *buf, size_t len, size_t *got, GError **err)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, (char *)buf + *got, len - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			return idl_error_set(err, g_io_error_from_errno(e), -e, "cannot read %s: %s", path, g_strerror(e));
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}
