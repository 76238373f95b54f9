/* keyfile: the identity's files in the state directory, on disk. Checks
 * the directory and each file before it is trusted (owner, mode, size),
 * reads a PEM file whole, and writes a new file under a temporary name to
 * publish it by a rename that never replaces anything. trust/identity.c
 * makes and parses the key and certificate; trust/known.c shares the owner
 * rule for its own file.
 * Blocking I/O, no globals. Strings passed in are borrowed. Errors: a
 * negative errno value with *err set (G_IO_ERROR domain) saying what the
 * user can do. */
#ifndef IDL_KEYFILE_H
#define IDL_KEYFILE_H

#include <stdbool.h>
#include <glib.h>
#include <gnutls/gnutls.h>

#define IDL_KEYFILE_KEY_NAME "key.pem"
#define IDL_KEYFILE_CERT_NAME "cert.pem"
/* Said wherever we suggest moving a file away, because that is the step
 * people regret: peers will no longer recognise the device. */
#define IDL_KEYFILE_NEW_ID_HINT "this changes the device id, so peers will see a new device"

struct stat;

/* 0 when dir is a directory owned by us that no one else can write in, or
 * does not exist (yet); -ENOTDIR, -EPERM or -EACCES otherwise. */
int idl_keyfile_check_dir(const char *dir, GError **err);

/* *exists: whether anything is at path, a dangling symlink included. */
int idl_keyfile_exists(const char *path, bool *exists, GError **err);

/* 0 when st (of path) says the file is owned by the effective user, else
 * -EPERM: a file of the state directory someone else owns is not ours to
 * believe. */
int idl_keyfile_check_owner(const char *path, const struct stat *st, GError **err);

/* Reads the PEM file path (in the state directory dir, named in messages)
 * when it is a regular file, ours, at most 64 KiB and, when secret, not
 * accessible by anyone else (-EINVAL, -EPERM, -EBADMSG, -EACCES). On
 * success out->data (NUL-terminated, out->size bytes without the NUL) is
 * owned by the caller: g_free, after wiping it when secret. */
int idl_keyfile_read_pem(const char *dir, const char *path, bool secret, gnutls_datum_t *out, GError **err);

/* Writes data, synced, to a new file (0600) ".NAME.XXXXXXXX" in dir, and
 * gives its path in *tmp_out (owned by the caller, g_free): the caller
 * publishes it with idl_keyfile_publish(), or unlinks it. Nothing is left
 * on failure. */
int idl_keyfile_write_temp(const char *dir, const char *name, const gnutls_datum_t *data, char **tmp_out,
			   GError **err);

/* Renames tmp to path (the same directory) without ever replacing path:
 * -EEXIST when something is there already, tmp then left in place. */
int idl_keyfile_publish(const char *tmp, const char *path, GError **err);

#endif
