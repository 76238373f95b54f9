/* error: see error.h. */
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <gio/gio.h>

static int io_code(int e)
{
	switch (e) {
	case EINVAL:
	case EBADMSG:
	case EPROTO:
	case EILSEQ:
		return G_IO_ERROR_INVALID_DATA;
	default:
		return g_io_error_from_errno(e);
	}
}

static void set_valist(GError **err, int code, const char *fmt, va_list ap) G_GNUC_PRINTF(3, 0);
static void set_valist(GError **err, int code, const char *fmt, va_list ap)
{
	if (err)
		*err = g_error_new_valist(G_IO_ERROR, code, fmt, ap);
}

int idl_error_errno(GError **err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_valist(err, io_code(-ret), fmt, ap);
	va_end(ap);
	return ret;
}

int idl_error_set(GError **err, int code, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_valist(err, code, fmt, ap);
	va_end(ap);
	return ret;
}

int idl_read_fd(int fd, const char *path, void *buf, size_t len, gint64 off, size_t *got, GError **err)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = off < 0 ? read(fd, (char *)buf + *got, len - *got)
				    : pread(fd, (char *)buf + *got, len - *got, (off_t)(off + (gint64)*got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			return idl_error_errno(err, -e, "cannot read %s: %s", path, g_strerror(e));
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

int idl_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}
