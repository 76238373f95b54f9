/* keyfile: the identity's files on disk (see keyfile.h). Each check runs
 * on the open descriptor (fstat), so the file read is the file checked. */
#include "trust/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>

#include "base/error.h"

/* Our files are well under 1 KiB; the bound keeps a wrong file from being
 * read whole into memory. */
#define MAX_PEM_SIZE (64 * 1024)

/* The state directory holds the key, the peers we know and resume
 * records: another user who can write in it could swap any of them. A
 * missing directory is fine here (nothing to load, or created 0700). */
int idl_keyfile_check_dir(const char *dir, GError **err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return errno == ENOENT ? 0 : idl_error_errno(err, -errno, "cannot check %s: %s", dir, g_strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return idl_error_errno(err, -ENOTDIR, "%s is not a directory: set IDROP_STATE_DIR (or --state-dir) to a directory", dir);
	if (st.st_uid != geteuid())
		return idl_error_errno(err, -EPERM,
				 "the state directory %s is owned by uid %u, not by the current user (uid %u): use your own with --state-dir",
				 dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return idl_error_errno(err, -EACCES,
				 "the state directory %s is writable by other users (mode %04o), who could replace the identity or the known peers: run chmod 700 %s",
				 dir, (unsigned)(st.st_mode & 07777), dir);
	return 0;
}

int idl_keyfile_exists(const char *path, bool *exists, GError **err)
{
	struct stat st;
	int e;

	/* lstat: a dangling symlink is still something we must not replace. */
	if (lstat(path, &st) == 0) {
		*exists = true;
		return 0;
	}
	e = errno;
	if (e == ENOENT) {
		*exists = false;
		return 0;
	}
	return idl_error_errno(err, -e, "cannot look for %s: %s; check the permissions of its directory",
			 path, g_strerror(e));
}

int idl_keyfile_check_owner(const char *path, const struct stat *st, GError **err)
{
	if (st->st_uid != geteuid())
		return idl_error_errno(err, -EPERM,
				 "%s is owned by uid %u, not by the current user (uid %u): if the file is really yours, run chown %u %s",
				 path, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path);
	return 0;
}

/* Reads a PEM file after checking that it is ours and, for the key, that
 * no one else can read it: a key others could read is no longer secret, so
 * we stop and say so rather than go on using it. */
int idl_keyfile_read_pem(const char *dir, const char *path, bool secret, gnutls_datum_t *out, GError **err)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0, want = 0;
	int fd, r, e;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		return idl_error_errno(err, -e, "cannot open %s: %s; check its permissions", path, g_strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot check %s: %s", path, g_strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = idl_error_errno(err, -EINVAL, "%s is not a regular file: move " IDL_KEYFILE_KEY_NAME " and " IDL_KEYFILE_CERT_NAME " out of %s to create a new identity (%s)",
			      path, dir, IDL_KEYFILE_NEW_ID_HINT);
		goto fail;
	}
	r = idl_keyfile_check_owner(path, &st, err);
	if (r < 0)
		goto fail;
	if (secret && (st.st_mode & 077) != 0) {
		r = idl_error_errno(err, -EACCES,
			      "%s is accessible by other users (mode %04o), so the private key is not private: run chmod 600 %s",
			      path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size > MAX_PEM_SIZE) {
		r = idl_error_errno(err, -EBADMSG,
			      "%s is too large (%jd bytes) to be an identity file: move " IDL_KEYFILE_KEY_NAME " and " IDL_KEYFILE_CERT_NAME " out of %s to create a new identity (%s)",
			      path, (intmax_t)st.st_size, dir, IDL_KEYFILE_NEW_ID_HINT);
		goto fail;
	}

	want = (size_t)st.st_size;
	buf = g_malloc(want + 1);
	r = idl_read_fd(fd, path, buf, want, -1, &len, err);
	if (r < 0)
		goto fail;
	buf[len] = '\0';
	close(fd);
	out->data = buf;
	out->size = (unsigned int)len;
	return 0;

fail:
	if (buf != NULL)
		gnutls_memset(buf, 0, want + 1);
	g_free(buf);
	close(fd);
	return r;
}

/* Writes data to a new file next to its final name, so that publishing it
 * is a rename within one directory: atomic, and a crash leaves at worst a
 * stray temp file, never a truncated key.pem or cert.pem. */
int idl_keyfile_write_temp(const char *dir, const char *name, const gnutls_datum_t *data, char **tmp_out, GError **err)
{
	char *tmp = NULL;
	size_t off = 0;
	int fd = -1, tries, r, e;

	for (tries = 0; fd < 0 && tries < 16; tries++) {
		char *base = g_strdup_printf(".%s.%08x", name, g_random_int());

		g_free(tmp);
		tmp = g_build_filename(dir, base, NULL);
		g_free(base);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot create a file in %s: %s; check that the directory is writable",
			      dir, g_strerror(e));
		g_clear_pointer(&tmp, g_free);
		goto fail;
	}
	while (off < data->size) {
		ssize_t n = write(fd, data->data + off, data->size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			r = idl_error_errno(err, -e, "cannot write %s: %s; check the free space in %s",
				      tmp, g_strerror(e), dir);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot write %s to disk: %s", tmp, g_strerror(e));
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot write %s: %s", tmp, g_strerror(e));
		goto fail;
	}
	*tmp_out = tmp;
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	g_free(tmp);
	return r;
}

/* Moves tmp to path without ever replacing path: if another process made
 * an identity since we looked, theirs wins and we stop. */
int idl_keyfile_publish(const char *tmp, const char *path, GError **err)
{
	int e;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	e = errno;
	/* Some file systems lack RENAME_NOREPLACE; link() refuses to
	 * overwrite too. */
	if (e == EINVAL || e == ENOSYS) {
		if (link(tmp, path) == 0) {
			unlink(tmp);
			return 0;
		}
		e = errno;
	}
	if (e == EEXIST)
		return idl_error_errno(err, -e, "%s appeared while a new identity was being created (is another idrop-lan starting?): run the command again",
				 path);
	return idl_error_errno(err, -e, "cannot create %s: %s; check that its directory is writable", path, g_strerror(e));
}
