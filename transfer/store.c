/* store: the receiver's file store (see store.h). Paths are walked one
 * component at a time from the download folder's descriptor with
 * O_NOFOLLOW, so a symlink planted anywhere under the folder, or swapped in
 * while we work, is refused rather than followed. A resume record is a small
 * text file in the state folder (its text and name: transfer/record.c),
 * named by the SHA-256 of what identifies the file (download folder, sender,
 * path, size, mtime), pointing at the .part by name and inode so a file put
 * in its place is never taken for ours.
 * Nothing here is shared between threads; every call may block. */
#include "transfer/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <linux/fs.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gnutls/crypto.h>

#include "transfer/path.h"
#include "transfer/protocol.h"
#include "transfer/record.h"
#include "base/error.h"

#define HASH_CHUNK (256 * 1024)            /* bytes read at a time to hash a resumed prefix */
#define WRITE_CHUNK (1 << 30)              /* bytes per pwrite, well under SSIZE_MAX */
#define WRITEBACK_WINDOW (8u << 20)        /* bytes of dirty data a file may hold */
#define FP_HEX_LEN 64
#define NAME_LEN_MAX 255                   /* bytes in one file name (NAME_MAX) */
/* A file this small (begun at 0) gets its resume record only if it is
 * interrupted (idl_store_abort): a record costs a file, an fsync and a
 * rename, more than resending the bytes after a crash. */
#define RECORD_AT (1u << 20)
/* From this many files a batch is made durable with one syncfs per file
 * system rather than an fsync each: where the file system has no journal
 * to share (ext4 without one, vfat), each fsync is its own synchronous
 * write of the inode, and a few hundred of them cost seconds. */
#define SYNCFS_AT 16

struct idl_store {
	int dirfd;
	char *dir;                   /* as given, for messages */
	char *real;                  /* canonical, part of each record's key */
	char *state_dir;
	mode_t file_mode;            /* of kept files: rw as the umask allows, never executable */
	/* Whether the state folder may hold a resume record: FALSE only from
	 * idl_store_has_records() until this store saves one. Without one, a
	 * file begun at 0 has no record to look up (a failed open saved). */
	gboolean records;
	/* The folder the last file went to (open_parent's walk, done once for
	 * the files of a folder that follow each other): one entry, dropped at
	 * the end of each commit, so a folder moved or replaced meanwhile is
	 * walked again within one batch. */
	struct folder *cached;
	/* Files of at most RECORD_AT begun at 0 are written unnamed
	 * (O_TMPFILE) and linked under their name once kept: a crash leaves
	 * nothing of them, where a .part would stay with no record to expire
	 * it. FALSE once the file system refused O_TMPFILE, or by
	 * idl_store_use_tmpfile(). */
	gboolean tmpfile;
	/* Whether linkat(fd, "", AT_EMPTY_PATH) may name an unnamed file: on
	 * Linux 6.10 and later for the file's own opener, before that only with
	 * CAP_DAC_READ_SEARCH. It skips resolving /proc/self/fd/N, the largest
	 * part of a link's cost. FALSE once refused: /proc from then on. */
	gboolean link_empty;
};

/* An open folder of the download folder, shared by the files that land in
 * it (one descriptor for all, not one each) and by the cache. */
struct folder {
	int fd;
	guint refs;
	dev_t dev;                   /* its file system, for the batch's syncfs */
	char *rel;                   /* as open_parent was given it */
};

struct idl_store_file {
	struct idl_store *s;
	struct folder *folder;       /* a reference: where the .part and the file land */
	int fd, pfd;                 /* the .part, and folder->fd */
	char *path;                  /* as announced */
	char *local;                 /* as stored: idl_path_visible(path) */
	char *where;                 /* where it lands, for messages */
	char *dir_rel;               /* local's folders, "" at the top */
	const char *base;            /* local's last component, in local */
	char *part;                  /* the .part's name in pfd; NULL while unnamed (O_TMPFILE) */
	char *record;                /* the resume record's path, once needed (record_of) */
	char fp[FP_HEX_LEN + 1];     /* the sender's, part of the record's key */
	uint64_t size, mtime, length;
	uint64_t flushed;            /* writeback started up to here */
	gboolean recorded;           /* its resume record is saved */
	gnutls_hash_hd_t hash;
};

/* What a resume record says: the .part's name in its folder, and which file it is. */
struct record {
	char *part;
	uint64_t dev, ino, gen;
};



/* path's folders ("" for none); *base gets its last component, in path. */
static char *dir_of(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	return slash ? g_strndup(path, (size_t)(slash - path)) : g_strdup("");
}

static char *join(const char *dir_rel, const char *name)
{
	return *dir_rel ? g_strconcat(dir_rel, "/", name, NULL) : g_strdup(name);
}

static gboolean fp_valid(const char *fp)
{
	return fp && strlen(fp) == FP_HEX_LEN && strspn(fp, "0123456789abcdefABCDEF") == FP_HEX_LEN;
}

static void folder_unref(struct folder *d)
{
	if (!d || --d->refs)
		return;
	close(d->fd);
	g_free(d->rel);
	g_free(d);
}

static struct folder *folder_ref(struct folder *d)
{
	d->refs++;
	return d;
}

static void drop_cached(struct idl_store *s)
{
	g_clear_pointer(&s->cached, folder_unref);
}

/* Opens the folder dir_rel of the download folder into *out (a reference,
 * folder_unref() it), one component at a time and never through a symlink;
 * with create, makes missing ones. The folder of the file before, when it
 * is the same, is not walked again (see cached). */
static int open_parent(struct idl_store *s, const char *dir_rel, gboolean create, struct folder **out, GError **err)
{
	struct folder *d;
	struct stat dst;
	char **comps;
	int fd, r = 0;
	size_t i;

	*out = NULL;
	if (s->cached && strcmp(s->cached->rel, dir_rel) == 0) {
		*out = folder_ref(s->cached);
		return 0;
	}
	comps = g_strsplit(dir_rel, "/", -1);
	fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		r = idl_error_errno(err, -errno, "cannot use the download folder %s: %s", s->dir, g_strerror(errno));
		goto fail;
	}
	for (i = 0; *dir_rel && comps[i]; i++) {
		int next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;

		if (next < 0 && errno == ENOENT && create &&
		    (mkdirat(fd, comps[i], 0755) == 0 || errno == EEXIST))
			next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno, len = (int)i;
			gboolean found = fstatat(fd, comps[i], &st, AT_SYMLINK_NOFOLLOW) == 0;

			for (size_t j = 0; j <= i; j++)
				len += (int)strlen(comps[j]);
			if (found && S_ISLNK(st.st_mode))
				r = idl_error_errno(err, -ELOOP, "%s/%.*s is a symbolic link: files are never written through "
					 "one, so remove it or choose another download folder", s->dir, len, dir_rel);
			else if (found && !S_ISDIR(st.st_mode))
				r = idl_error_errno(err, -ENOTDIR, "%s/%.*s exists and is not a folder: rename it so the folder "
					 "can be created", s->dir, len, dir_rel);
			else
				r = idl_error_errno(err, -e, "cannot %s the folder %s/%.*s: %s", create ? "create" : "open",
					 s->dir, len, dir_rel, g_strerror(e));
			goto fail;
		}
		close(fd);
		fd = next;
	}
	if (fstat(fd, &dst) < 0) {
		r = idl_error_errno(err, -errno, "cannot use the folder %s/%s: %s", s->dir, dir_rel, g_strerror(errno));
		goto fail;
	}
	g_strfreev(comps);
	d = g_new(struct folder, 1);
	d->fd = fd;
	d->refs = 1;
	d->dev = dst.st_dev;
	d->rel = g_strdup(dir_rel);
	drop_cached(s);
	s->cached = folder_ref(d);
	*out = d;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	g_strfreev(comps);
	return r;
}

/* base with " (n)" added (none for n == 0), before its extension when ext
 * (not for ".bashrc"), then suffix; the stem is cut at a UTF-8 character
 * boundary so the whole fits in one file name. */
static char *make_name(const char *base, unsigned n, gboolean ext, const char *suffix)
{
	const char *dot = ext ? strrchr(base, '.') : NULL;
	char tag[16] = "";
	size_t stem, tail, fixed;

	if (n)
		g_snprintf(tag, sizeof(tag), " (%u)", n);
	if (dot == base || (dot && strlen(dot) > NAME_LEN_MAX / 2))
		dot = NULL;
	stem = dot ? (size_t)(dot - base) : strlen(base);
	tail = dot ? strlen(dot) : 0;
	fixed = strlen(tag) + tail + strlen(suffix);
	if (stem + fixed > NAME_LEN_MAX) {
		stem = NAME_LEN_MAX - fixed;
		while (stem > 0 && ((unsigned char)base[stem] & 0xc0) == 0x80)
			stem--;
	}
	return g_strdup_printf("%.*s%s%s%s", (int)stem, base, tag, dot ? dot : "", suffix);
}

/* ---- Resume records ---------------------------------------------------- */

/* The record's path in the state folder. */
static char *record_path(const struct idl_store *s, const char *fp, const char *path, uint64_t size,
			 uint64_t mtime)
{
	char *key = idl_record_key(s->real, fp, path, size, mtime);
	char *out = g_build_filename(s->state_dir, key, NULL);

	g_free(key);
	return out;
}

/* Reads record name for path. 0, -ENOENT (none) or -EINVAL (garbage, or a
 * .part that is not a sibling of path: a record only ever names that). */
static int record_load(const char *record, const char *path, struct record *rec)
{
	char buf[IDL_RECORD_MAX];
	int fd = open(record, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r = -EINVAL;
	struct stat st;
	ssize_t n;

	memset(rec, 0, sizeof(*rec));
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EINVAL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= IDL_RECORD_MAX &&
	    (n = pread(fd, buf, sizeof(buf), 0)) > 0)
		r = idl_record_parse(buf, (size_t)n, path, &rec->part, &rec->dev, &rec->ino, &rec->gen);
	close(fd);
	return r;
}

/* The inode's generation where the file system has one (ext4, xfs, btrfs),
 * else 0: ext4 gives a deleted file's inode number to the next file created,
 * so device and inode alone could take a stranger for our .part. */
static uint64_t generation(int fd)
{
	long g = 0;

	return ioctl(fd, FS_IOC_GETVERSION, &g) == 0 ? (uint64_t)g : 0;
}

static gboolean is_recorded(const struct record *rec, const struct stat *st, int fd)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_dev == rec->dev && (uint64_t)st->st_ino == rec->ino &&
	       (fd < 0 || generation(fd) == rec->gen);
}

/* Opens the record's .part in folder pfd if it is still the file recorded;
 * only a regular file is opened (no FIFO or device node), never a symlink. */
static int open_recorded(int pfd, const struct record *rec, int flags, struct stat *st)
{
	int fd;

	if (fstatat(pfd, rec->part, st, AT_SYMLINK_NOFOLLOW) < 0 || !is_recorded(rec, st, -1))
		return -1;
	fd = openat(pfd, rec->part, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, st) < 0 || !is_recorded(rec, st, fd))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The path of f's resume record, worked out (a hash) only when one is
 * looked up, saved or removed: most small files never need it. */
static const char *record_of(struct idl_store_file *f)
{
	if (!f->record)
		f->record = record_path(f->s, f->fp, f->path, f->size, f->mtime);
	return f->record;
}

/* Written to a temporary name and renamed (GLib's "consistent" mode), so a
 * reader sees the old record or the new one, never a torn one. */
static int record_save(struct idl_store_file *f, const struct stat *st, GError **err)
{
	char *part = join(f->dir_rel, f->part);
	char *text = idl_record_format(part, (uint64_t)st->st_dev, (uint64_t)st->st_ino, generation(f->fd));
	GError *e = NULL;
	int r = 0;

	if (!g_file_set_contents_full(record_of(f), text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e)) {
		r = idl_error_errno(err, e->code == G_FILE_ERROR_NOSPC ? -ENOSPC : -EIO, "cannot save the resume record "
			 "for %s: %s: check that the folder %s is writable", f->where, e->message, f->s->state_dir);
		g_error_free(e);
	} else {
		f->recorded = TRUE;
	}
	f->s->records = TRUE;
	g_free(part);
	g_free(text);
	return r;
}

/* ---- The store --------------------------------------------------------- */

/* The process umask, read without changing it (umask() would race with
 * the worker threads): Linux reports it in /proc/self/status. */
static mode_t current_umask(void)
{
	char *status = NULL, *line;
	unsigned mask = 022;

	if (g_file_get_contents("/proc/self/status", &status, NULL, NULL) &&
	    (line = strstr(status, "\nUmask:")))
		sscanf(line + 7, "%o", &mask);
	g_free(status);
	return (mode_t)(mask & 0777);
}

int idl_store_open(const char *dir, const char *state_dir, struct idl_store **out, GError **err)
{
	struct idl_store *s = g_new0(struct idl_store, 1);
	char *real;
	int r;

	*out = NULL;
	s->dirfd = -1;
	s->records = TRUE;
	/* An unnamed file gets its name by linkat with AT_EMPTY_PATH, or
	 * through /proc/self/fd where that needs a privilege (link_empty):
	 * without /proc, a .part each. */
	s->tmpfile = access("/proc/self/fd", F_OK) == 0;
	s->link_empty = TRUE;
	/* A received file is data, whatever the sender had: never executable,
	 * readable as the user's umask says (the .part stays 0600 until kept). */
	s->file_mode = 0666 & ~current_umask();
	s->dir = g_strdup(dir);
	s->state_dir = g_strdup(state_dir);
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = idl_error_errno(err, -errno, "cannot open the download folder %s: %s: create it, or choose another",
			 dir, g_strerror(errno));
		goto fail;
	}
	real = realpath(dir, NULL);
	if (!real) {
		r = idl_error_errno(err, -errno, "cannot resolve the download folder %s: %s", dir, g_strerror(errno));
		goto fail;
	}
	s->real = g_strdup(real);
	free(real);
	if (g_mkdir_with_parents(state_dir, 0700) < 0) {
		r = idl_error_errno(err, -errno, "cannot create or open the folder of resume records %s: %s", state_dir,
			 g_strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	idl_store_free(s);
	return r;
}

void idl_store_free(struct idl_store *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	drop_cached(s);
	g_free(s->dir);
	g_free(s->real);
	g_free(s->state_dir);
	g_free(s);
}

int idl_store_free_space(struct idl_store *s, uint64_t *bytes, GError **err)
{
	struct statvfs v;

	if (fstatvfs(s->dirfd, &v) < 0)
		return idl_error_errno(err, -errno, "cannot tell the free space in %s: %s", s->dir, g_strerror(errno));
	*bytes = (uint64_t)v.f_bavail * v.f_frsize;
	return 0;
}

gboolean idl_store_has_records(struct idl_store *s)
{
	GDir *d = g_dir_open(s->state_dir, 0, NULL);
	const char *name;
	gboolean any = d == NULL;            /* cannot tell: look file by file */

	while (d && !any && (name = g_dir_read_name(d)))
		any = idl_record_is_key(name);
	if (d)
		g_dir_close(d);
	s->records = any;
	return any;
}

uint64_t idl_store_held(struct idl_store *s, const char *sender_fp, const char *path, uint64_t size, uint64_t mtime)
{
	char *record, *dir_rel, *local;
	const char *base;
	struct record rec;
	struct stat st;
	struct folder *d = NULL;
	uint64_t held = 0;
	int fd = -1, r;

	if (!fp_valid(sender_fp) || idl_path_check(path, NULL) < 0)
		return 0;
	local = idl_path_visible(path);
	record = record_path(s, sender_fp, path, size, mtime);
	r = record_load(record, local, &rec);
	dir_rel = dir_of(local, &base);
	if (r == 0 && open_parent(s, dir_rel, FALSE, &d, NULL) == 0 &&
	    (fd = open_recorded(d->fd, &rec, O_RDONLY, &st)) >= 0 && (uint64_t)st.st_size <= size)
		held = (uint64_t)st.st_size;
	else if (r != -ENOENT)
		unlink(record);
	if (fd >= 0)
		close(fd);
	folder_unref(d);
	g_free(rec.part);
	g_free(dir_rel);
	g_free(record);
	g_free(local);
	return held;
}

int idl_store_folder_cost(struct idl_store *s, const char *const *paths, size_t n, guint *folders,
			  uint64_t *bytes, GError **err)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct statvfs v;
	guint missing = 0;

	*folders = 0;
	*bytes = 0;
	if (fstatvfs(s->dirfd, &v) < 0) {
		g_hash_table_destroy(seen);
		return idl_error_errno(err, -errno, "cannot tell the free space in %s: %s", s->dir, g_strerror(errno));
	}
	for (size_t i = 0; i < n; i++) {
		char *local = idl_path_visible(paths[i]);

		for (char *p = strchr(local, '/'); p; p = strchr(p + 1, '/')) {
			char *folder = g_strndup(local, (gsize)(p - local));
			struct stat st;

			/* Only an estimate: a symlink on the way is refused later. */
			if (g_hash_table_add(seen, folder) &&
			    fstatat(s->dirfd, folder, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
				missing++;
		}
		g_free(local);
	}
	g_hash_table_destroy(seen);
	*folders = missing;
	*bytes = (uint64_t)missing * (v.f_bsize ? v.f_bsize : 4096);
	return 0;
}

/* ---- Expiry ------------------------------------------------------------ */

/* The record at name (in the state folder) is stale: removes its .part when
 * that is still the file recorded (in this download folder) and was not
 * written to since cutoff either, then the record. */
static void sweep_record(struct idl_store *s, const char *name, int64_t cutoff, GPtrArray *swept)
{
	char *record = g_build_filename(s->state_dir, name, NULL), *text = NULL, *part = NULL, *dir_rel = NULL;
	const char *line, *base;
	struct record rec = { 0 };
	struct stat st;
	struct folder *d = NULL;
	gsize len = 0;
	int fd = -1;

	if (!g_file_get_contents(record, &text, &len, NULL) || len > IDL_RECORD_MAX)
		goto remove;
	/* The parser checks the .part is a sibling of the path it is given:
	 * give it the one the record names, then check everything else. */
	line = strstr(text, "\npart=");
	if (line) {
		line += 6;
		part = g_strndup(line, strcspn(line, "\n"));
	}
	if (!part || idl_record_parse(text, len, part, &rec.part, &rec.dev, &rec.ino, &rec.gen) < 0)
		goto remove;
	dir_rel = dir_of(part, &base);
	if (open_parent(s, dir_rel, FALSE, &d, NULL) < 0 || (fd = open_recorded(d->fd, &rec, O_RDONLY, &st)) < 0)
		goto remove;
	if (st.st_mtim.tv_sec >= cutoff)
		goto keep;                   /* written to lately: not stale */
	if (unlinkat(d->fd, rec.part, 0) == 0 && swept)
		g_ptr_array_add(swept, g_strdup_printf("partial file %s/%s (%" G_GUINT64_FORMAT " bytes)", s->dir, part,
						       (guint64)st.st_size));
remove:
	if (unlink(record) == 0 && swept)
		g_ptr_array_add(swept, g_strdup_printf("resume record %s", record));
keep:
	if (fd >= 0)
		close(fd);
	folder_unref(d);
	g_free(rec.part);
	g_free(dir_rel);
	g_free(part);
	g_free(text);
	g_free(record);
}

int idl_store_sweep(struct idl_store *s, int64_t now, int64_t max_age, GPtrArray *swept, GError **err)
{
	int64_t cutoff = now - max_age;
	GError *e = NULL;
	const char *name;
	GDir *d = g_dir_open(s->state_dir, 0, &e);

	if (!d) {
		int r = idl_error_errno(err, -EIO, "cannot read the folder of resume records %s: %s", s->state_dir, e->message);
		g_error_free(e);
		return r;
	}
	while ((name = g_dir_read_name(d))) {
		struct stat st;
		char *path;

		if (!idl_record_is_key(name))
			continue;
		path = g_build_filename(s->state_dir, name, NULL);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtim.tv_sec < cutoff)
			sweep_record(s, name, cutoff, swept);
		g_free(path);
	}
	g_dir_close(d);
	return 0;
}

/* ---- One file ---------------------------------------------------------- */

static void file_free(struct idl_store_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	folder_unref(f->folder);
	if (f->hash)
		gnutls_hash_deinit(f->hash, NULL);
	g_free(f->path);
	g_free(f->local);
	g_free(f->where);
	g_free(f->dir_rel);
	g_free(f->part);
	g_free(f->record);
	g_free(f);
}

void idl_store_use_tmpfile(struct idl_store *s, gboolean use)
{
	s->tmpfile = use;
}

void idl_store_use_link_empty(struct idl_store *s, gboolean use)
{
	s->link_empty = use;
}

/* Gives the unnamed file f->fd the name `name` in its folder, never
 * replacing anything (linkat fails with EEXIST then). */
static int link_unnamed(struct idl_store_file *f, const char *name)
{
	char proc[64];
	int e;

	if (f->s->link_empty) {
		if (linkat(f->fd, "", f->pfd, name, AT_EMPTY_PATH) == 0)
			return 0;
		/* Refused (ENOENT without the privilege, EINVAL or EPERM
		 * elsewhere), or a real error that /proc gives again below. */
		e = errno;
		if (e != ENOENT && e != EINVAL && e != EPERM)
			return -e;
	}
	g_snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	if (linkat(AT_FDCWD, proc, f->pfd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	/* /proc named it where AT_EMPTY_PATH would not: not worth a try again. */
	f->s->link_empty = FALSE;
	return 0;
}

/* A new unnamed file in the folder, when the file system has O_TMPFILE. */
static gboolean create_unnamed(struct idl_store_file *f)
{
	if (!f->s->tmpfile)
		return FALSE;
	f->fd = openat(f->pfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f->fd >= 0)
		return TRUE;
	/* Not supported here (FUSE, some network file systems): .part from
	 * now on. Any other error shows again on the .part's own create. */
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
		f->s->tmpfile = FALSE;
	return FALSE;
}

/* Creates a new .part: "NAME.part", else "NAME (1).part", ...; for an
 * unnamed file (f->fd open, no f->part), names it so. */
static int create_part(struct idl_store_file *f, GError **err)
{
	gboolean unnamed = f->fd >= 0;

	for (unsigned n = 0; n < IDL_STORE_NAMES_MAX; n++) {
		char *name = make_name(f->base, n, FALSE, ".part");
		int e = 0;

		if (unnamed)
			e = -link_unnamed(f, name);
		else if ((f->fd = openat(f->pfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			e = errno;
		if (!e) {
			f->part = name;
			return 0;
		}
		g_free(name);
		if (e != EEXIST)
			return idl_error_errno(err, -e, "cannot create the partial file for %s: %s: check that the folder "
				    "is writable", f->where, g_strerror(e));
	}
	return idl_error_errno(err, -EEXIST, "cannot create a partial file for %s: %s.part and %d numbered variants exist "
		    "already: remove them", f->where, f->base, IDL_STORE_NAMES_MAX - 1);
}

/* Hashes the first len bytes of the part, a chunk at a time. */
static int hash_prefix(struct idl_store_file *f, uint64_t len, GError **err)
{
	uint8_t *buf = g_malloc(HASH_CHUNK);
	uint64_t at = 0;
	int r = 0;

	while (at < len) {
		size_t want = (size_t)MIN((uint64_t)HASH_CHUNK, len - at);
		ssize_t n = pread(f->fd, buf, want, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = idl_error_errno(err, n < 0 ? -errno : -EIO, "cannot read the partial data of %s to resume: %s: "
				 "send the file again from the start", f->where, n < 0 ? g_strerror(errno) : "it is short");
			break;
		}
		if (gnutls_hash(f->hash, buf, (size_t)n) < 0) {
			r = idl_error_errno(err, -EIO, "cannot hash the partial data of %s", f->where);
			break;
		}
		at += (uint64_t)n;
	}
	g_free(buf);
	return r;
}

int idl_store_begin(struct idl_store *s, const char *sender_fp, const char *path, uint64_t size,
		    uint64_t mtime, uint64_t offset, struct idl_store_file **out, GError **err)
{
	struct idl_store_file *f = NULL;
	struct record rec = { 0 };
	gboolean created = FALSE;
	GError *e = NULL;
	struct stat st;
	int r;

	*out = NULL;
	if (idl_path_check(path, &e) < 0) {
		/* Escaped: a path that fails the check may hold terminal controls. */
		char *safe = path ? g_strescape(path, NULL) : g_strdup("(null)");
		r = idl_error_errno(err, -EINVAL, "refusing to receive \"%s\": %s", safe, e->message);
		g_free(safe);
		g_error_free(e);
		return r;
	}
	if (!fp_valid(sender_fp))
		return idl_error_errno(err, -EINVAL, "refusing to receive %s: the sender's fingerprint is not 64 hex digits", path);
	if (size > INT64_MAX || mtime > INT64_MAX || offset > size)
		return idl_error_errno(err, -EINVAL, "refusing to receive %s: offset %" G_GUINT64_FORMAT ", size %" G_GUINT64_FORMAT
			    " or mtime %" G_GUINT64_FORMAT " is out of range", path, offset, size, mtime);
	f = g_new0(struct idl_store_file, 1);
	f->s = s;
	f->fd = f->pfd = -1;
	f->path = g_strdup(path);
	/* Never a name starting with '.': hidden, and where configuration
	 * lives (.config/autostart, .bashrc), so it is stored under '_'. */
	f->local = idl_path_visible(path);
	f->where = g_build_filename(s->dir, f->local, NULL);
	f->size = size;
	f->mtime = mtime;
	f->dir_rel = dir_of(f->local, &f->base);
	g_strlcpy(f->fp, sender_fp, sizeof(f->fp));
	r = open_parent(s, f->dir_rel, TRUE, &f->folder, err);
	if (r < 0) {
		g_prefix_error(err, "cannot receive %s: ", path);
		goto fail;
	}
	f->pfd = f->folder->fd;
	r = offset > 0 || s->records ? record_load(record_of(f), f->local, &rec) : -ENOENT;
	if (r == 0 && (f->fd = open_recorded(f->pfd, &rec, O_RDWR, &st)) >= 0) {
		f->part = g_steal_pointer(&rec.part);
		f->recorded = TRUE;
	} else if (r != -ENOENT) {
		unlink(record_of(f));
	}
	if (offset > 0 && (f->fd < 0 || (uint64_t)st.st_size < offset)) {
		r = idl_error_errno(err, -ESTALE, "cannot resume %s at byte %" G_GUINT64_FORMAT ": the partial data is gone or "
			 "shorter: send the file again from the start", f->where, offset);
		goto fail;
	}
	if (f->fd < 0) {
		/* Written whole or not at all: unnamed until kept (tmpfile). */
		if (!(offset == 0 && size <= RECORD_AT && create_unnamed(f))) {
			r = create_part(f, err);
			if (r < 0)
				goto fail;
		}
		created = TRUE;
	}
	/* A part just created (O_EXCL) is empty, and begun at 0; its stat is
	 * needed only for a record saved now. */
	if (!(created && offset == 0 && size <= RECORD_AT) &&
	    (ftruncate(f->fd, (off_t)offset) < 0 || fstat(f->fd, &st) < 0)) {
		r = idl_error_errno(err, -errno, "cannot prepare the partial file of %s: %s", f->where, g_strerror(errno));
		goto fail;
	}
	if (gnutls_hash_init(&f->hash, GNUTLS_DIG_SHA256) < 0) {
		f->hash = NULL;
		r = idl_error_errno(err, -ENOMEM, "cannot start hashing %s", path);
		goto fail;
	}
	r = hash_prefix(f, offset, err);
	if (r < 0)
		goto fail;
	r = offset > 0 || size > RECORD_AT ? record_save(f, &st, err) : 0;
	if (r < 0)
		goto fail;
	f->length = f->flushed = offset;
	*out = f;
	g_free(rec.part);
	return 0;
fail:
	if (created && f->part)
		unlinkat(f->pfd, f->part, 0);
	g_free(rec.part);
	file_free(f);
	return r;
}

/* Starts writing the last window to disk now, and waits for the one before
 * it: dirty data stays bounded (not up to the kernel's dirty ratio of RAM),
 * the disk works while the network does, and the fsync before the rename
 * has a window or two left to do rather than the whole file. Advisory: an
 * error here shows again at that fsync. */
static void start_writeback(struct idl_store_file *f)
{
	uint64_t from = f->flushed, n = f->length - f->flushed;

	sync_file_range(f->fd, (off_t)from, (off_t)n, SYNC_FILE_RANGE_WRITE);
	if (from >= WRITEBACK_WINDOW) {
		sync_file_range(f->fd, (off_t)(from - WRITEBACK_WINDOW), WRITEBACK_WINDOW,
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
		/* Nobody reads it back soon: leave the page cache to others. */
		posix_fadvise(f->fd, (off_t)(from - WRITEBACK_WINDOW), WRITEBACK_WINDOW, POSIX_FADV_DONTNEED);
	}
	f->flushed = f->length;
}

/* The record a small file put off (RECORD_AT), now that it stops. */
static int save_record_now(struct idl_store_file *f, GError **err)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return idl_error_errno(err, -errno, "cannot save the resume record for %s: %s", f->where, g_strerror(errno));
	return record_save(f, &st, err);
}

int idl_store_write(struct idl_store_file *f, const uint8_t *buf, size_t len, GError **err)
{
	int e = EIO;

	if (len > f->size - f->length)
		return idl_error_errno(err, -EFBIG, "%s: the sender sent more bytes than announced (%" G_GUINT64_FORMAT ")",
			    f->where, f->size);
	while (len > 0) {
		ssize_t n = pwrite(f->fd, buf, MIN(len, (size_t)WRITE_CHUNK), (off_t)f->length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : ENOSPC;
			goto fail;
		}
		if (gnutls_hash(f->hash, buf, (size_t)n) < 0)
			goto fail;
		f->length += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
	if (f->length - f->flushed >= WRITEBACK_WINDOW)
		start_writeback(f);
	return 0;
fail:
	/* Cut back to what was fully written and hashed: anything past it is
	 * not covered by the hash, and a resume starts at the file's length.
	 * If even that fails, the final hash check still catches it. */
	(void)!ftruncate(f->fd, (off_t)f->length);
	if (e == ENOSPC || e == EDQUOT)
		return idl_error_errno(err, -ENOSPC, "cannot write %s: the disk is full (folder %s): free some space and "
			    "send again to resume", f->where, f->s->dir);
	if (e == EFBIG)
		return idl_error_errno(err, -EFBIG, "cannot write %s: the file is too large for the file system of %s: "
			    "choose another download folder", f->where, f->s->dir);
	return idl_error_errno(err, -e, "cannot write %s: %s: check the disk, then send again to resume", f->where,
		    g_strerror(e));
}

uint64_t idl_store_file_length(const struct idl_store_file *f)
{
	return f->length;
}

/* Renames without ever replacing: renameat2(RENAME_NOREPLACE), or where the
 * file system lacks it, link + unlink (link never replaces either). */
static int rename_noreplace(int dfd, const char *from, const char *to)
{
	if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (linkat(dfd, from, dfd, to, 0) < 0)
		return -errno;
	unlinkat(dfd, from, 0);
	return 0;
}

void idl_store_discard(struct idl_store_file *f)
{
	if (!f)
		return;
	if (f->part)
		unlinkat(f->pfd, f->part, 0);
	/* None can exist unless the state folder may hold one (records). */
	if (f->recorded || f->s->records)
		unlink(record_of(f));
	file_free(f);
}

int idl_store_verify(struct idl_store_file *f, const uint8_t sha256[32], GError **err)
{
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)f->mtime } };
	uint8_t got[IDL_SHA256_SIZE];
	int r;

	if (f->length < f->size) {
		r = idl_error_errno(err, -EPROTO, "%s: the sender sent fewer bytes than announced (%" G_GUINT64_FORMAT " of %"
			 G_GUINT64_FORMAT "): the partial data is kept, send again to resume", f->where, f->length, f->size);
		idl_store_abort(f);
		return r;
	}
	gnutls_hash_deinit(f->hash, got);
	f->hash = NULL;
	if (memcmp(got, sha256, sizeof(got)) != 0) {
		r = idl_error_errno(err, -EBADMSG, "%s: the data received does not match the sender's SHA-256, so it was "
			 "deleted: send the file again", f->where);
		idl_store_discard(f);
		return r;
	}
	if (futimens(f->fd, times) < 0 || fchmod(f->fd, f->s->file_mode) < 0) {
		r = idl_error_errno(err, -errno, "cannot save %s: %s: check the disk, then send again to resume", f->where,
			 g_strerror(errno));
		idl_store_abort(f);
		return r;
	}
	return 0;
}

/* Gives a synced file its name: "name", else "name (1).ext", ... */
static int land(struct idl_store_file *f, char **final_path, GError **err)
{
	char *name = NULL;
	unsigned n;
	int r = 0;

	for (n = 0; n < IDL_STORE_NAMES_MAX; n++) {
		g_free(name);
		name = make_name(f->base, n, TRUE, "");
		r = f->part ? rename_noreplace(f->pfd, f->part, name) : link_unnamed(f, name);
		if (r != -EEXIST)
			break;
	}
	if (r < 0) {
		r = idl_error_errno(err, r, "cannot give %s its name: %s: %s", f->where, g_strerror(-r), r == -EEXIST ?
			 "that name and its numbered variants are all taken, move some away and send again" :
			 "check the folder, then send again to resume");
		g_free(name);
		return r;
	}
	if (f->recorded)
		unlink(record_of(f));
	*final_path = join(f->dir_rel, name);
	g_free(name);
	return 0;
}

/* Whether a syncfs of folder d's file system succeeded, done once per file
 * system (a folder may be a mount point) in devs (dev -> GINT(ok + 1)). A
 * failed syncfs answers FALSE: the caller fsyncs each file or folder then,
 * and learns its own error. */
static gboolean synced_with_fs(const struct folder *d, GHashTable *devs)
{
	gpointer ok;
	gint64 *dev;

	if (!g_hash_table_lookup_extended(devs, &(gint64){ (gint64)d->dev }, NULL, &ok)) {
		dev = g_new(gint64, 1);
		*dev = (gint64)d->dev;
		ok = GINT_TO_POINTER(syncfs(d->fd) == 0 ? 2 : 1);
		g_hash_table_insert(devs, dev, ok);
	}
	return GPOINTER_TO_INT(ok) == 2;
}

void idl_store_commit(struct idl_store_file *const *files, size_t n, struct idl_store_result *out)
{
	GHashTable *synced = g_hash_table_new(g_str_hash, g_str_equal);   /* dir_rel -> GINT(errno + 1) */
	GHashTable *devs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	GHashTable *names = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	gboolean *named = g_new0(gboolean, n);
	gboolean by_fs = n >= SYNCFS_AT;
	size_t i;

	/* Every file's writeback starts first, so the disk takes them as one
	 * batch; then each fsync mostly finds its data (and the journal commit
	 * that covers them all) already done. A batch made durable by syncfs
	 * (SYNCFS_AT) needs no head start: syncfs writes it all at once. */
	for (i = 0; i < n && !by_fs; i++)
		sync_file_range(files[i]->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	for (i = 0; i < n; i++) {
		struct idl_store_file *f = files[i];

		memset(&out[i], 0, sizeof(out[i]));
		if (!(by_fs && synced_with_fs(f->folder, devs)) && fsync(f->fd) < 0)
			out[i].result = idl_error_errno(&out[i].error, -errno, "cannot save %s: %s: check the disk, then send "
						   "again to resume", f->where, g_strerror(errno));
		else
			out[i].result = land(f, &out[i].final_path, &out[i].error);
		named[i] = out[i].result == 0;
	}
	/* A name counts only once it would survive a crash: a second syncfs
	 * per file system for a big batch (one journal commit, where an fsync
	 * of each folder is a system call per folder), else one fsync per
	 * folder after all its links. */
	for (i = 0; i < n; i++) {
		struct idl_store_file *f = files[i];
		gpointer e;
		int en;

		if (!named[i] || (by_fs && synced_with_fs(f->folder, names)))
			continue;
		if (!g_hash_table_lookup_extended(synced, f->dir_rel, NULL, &e)) {
			e = GINT_TO_POINTER(fsync(f->pfd) < 0 ? errno + 1 : 1);
			g_hash_table_insert(synced, f->dir_rel, e);
		}
		en = GPOINTER_TO_INT(e) - 1;
		if (en) {
			out[i].result = idl_error_errno(&out[i].error, -en, "%s was received but its folder could not be "
						   "synced to disk: %s", f->where, g_strerror(en));
			g_clear_pointer(&out[i].final_path, g_free);
		}
	}
	g_hash_table_destroy(synced);
	g_hash_table_destroy(devs);
	g_hash_table_destroy(names);
	if (n)
		drop_cached(files[0]->s);
	/* A file that did not get its name keeps its .part for a resume. */
	for (i = 0; i < n; i++) {
		if (named[i])
			file_free(files[i]);
		else
			idl_store_abort(files[i]);
	}
	g_free(named);
}

int idl_store_finish(struct idl_store_file *f, const uint8_t sha256[32], char **final_path, GError **err)
{
	struct idl_store_result res;
	int r;

	if (final_path)
		*final_path = NULL;
	r = idl_store_verify(f, sha256, err);
	if (r < 0)
		return r;
	idl_store_commit(&f, 1, &res);
	if (res.result < 0) {
		g_propagate_error(err, res.error);
		return res.result;
	}
	if (final_path)
		*final_path = res.final_path;
	else
		g_free(res.final_path);
	return 0;
}

void idl_store_abort(struct idl_store_file *f)
{
	if (!f)
		return;
	/* Flushed so a resume after a crash does not take unwritten blocks
	 * for data (the final hash would catch it, at the cost of a resend). */
	fdatasync(f->fd);
	/* A small file's record was put off until now (RECORD_AT), and an
	 * unnamed one gets its .part name first. Best effort: without them
	 * the file is sent again whole. */
	if (!f->recorded && (f->part || create_part(f, NULL) == 0))
		save_record_now(f, NULL);
	file_free(f);
}
