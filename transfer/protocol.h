/* protocol: the control messages of the idrop-lan transfer protocol
 * (docs/PROTOCOL.md), decoded from and encoded to their JSON text. Pure
 * functions over buffers, no I/O and no globals, so they are unit tested and
 * fuzzed directly. The decoder is the only thing between a peer's bytes and
 * the receiver: whatever it returns 0 for obeys every rule below, and each
 * offer path the rules of transfer/path.h. */
#ifndef IDL_PROTOCOL_H
#define IDL_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define IDL_MSG_MAX (64 * 1024)              /* bytes of JSON text, inclusive */
#define IDL_MSG_FILES_MAX 10000              /* entries in files[]; ids are < this */
#define IDL_MSG_INT_MAX ((UINT64_C(1) << 53) - 1)
#define IDL_MSG_NAME_MAX 63                  /* bytes: hello.name */
#define IDL_MSG_REASON_MAX 1024              /* bytes: decline/file-error/cancel reason */
#define IDL_OFFER_FOLDERS_MAX 1000           /* distinct folders the paths of one offer name */
#define IDL_TRANSFER_ID_HEX_LEN 32
#define IDL_SHA256_SIZE 32
/* Version 2 (docs/PROTOCOL.md "Runs of small files"): what a run holds,
 * sized so that a run's JSON (about 110 bytes a file) stays far under
 * IDL_MSG_MAX and its bytes are one disk job on each side. */
#define IDL_MSG_VERSION 2                    /* hello.version: the highest we speak */
#define IDL_RUN_FILE_MAX (64 * 1024)         /* bytes of one file in a run */
#define IDL_RUN_FILES_MAX 256                /* files in one run */
#define IDL_RUN_BYTES_MAX (1024 * 1024)      /* bytes of all the files of one run */
#define IDL_FILES_OK_MAX 1024                /* ids in one files-ok */
#define IDL_OFFER_PARTS_MAX 16               /* messages of one offer, accept or receipt ("more") */
/* Entries of one accept or receipt message: up to 38 bytes a file in an
 * accept (offsets included), fewer in a receipt, so that either stays under
 * IDL_MSG_MAX. An answer to more files goes in parts ("more", version 2):
 * IDL_MSG_FILES_MAX files take 7 of them. Version 1 has no parts, so there
 * an offer lists at most this many files. */
#define IDL_ANSWER_PART_FILES 1600

enum idl_msg_type {
	IDL_MSG_HELLO,
	IDL_MSG_OFFER,
	IDL_MSG_ACCEPT,
	IDL_MSG_DECLINE,
	IDL_MSG_FILE,
	IDL_MSG_FILE_END,
	IDL_MSG_FILE_OK,
	IDL_MSG_FILE_ERROR,
	IDL_MSG_DONE,
	IDL_MSG_RECEIPT,
	IDL_MSG_CANCEL,
	IDL_MSG_SAS,
	IDL_MSG_RUN,                 /* version 2 */
	IDL_MSG_FILES_OK,            /* version 2 */
};

enum idl_peer_kind { IDL_PEER_DEVICE = 1, IDL_PEER_BROWSER };
enum idl_file_status { IDL_FILE_VERIFIED = 1, IDL_FILE_FAILED, IDL_FILE_SKIPPED };

/* One entry of files[]: offer uses id, path, size, mtime; accept uses id,
 * offset; receipt uses id, status; run uses id, size, sha256; files-ok
 * (its "ids") uses id. The other fields are zero. */
struct idl_msg_file {
	uint32_t id;                 /* index in the offer, < IDL_MSG_FILES_MAX */
	char *path;                  /* offer: passes idl_path_check() (transfer/path.h) */
	uint64_t size, mtime;        /* offer: <= IDL_MSG_INT_MAX */
	uint64_t offset;             /* accept: bytes already held */
	enum idl_file_status status; /* receipt */
	uint8_t sha256[IDL_SHA256_SIZE]; /* run: raw bytes */
};

/* A decoded message; only the members of its type are meaningful. */
struct idl_msg {
	enum idl_msg_type type;
	/* hello */
	uint64_t version;            /* >= 1 */
	char name[IDL_MSG_NAME_MAX + 1];
	enum idl_peer_kind kind;
	/* hello, optional (the verification code, transfer/sas.h): the
	 * sender's commitment, the receiver's nonce; sas: the sender's nonce */
	bool has_sas_commit, has_sas_nonce;
	uint8_t sas_commit[IDL_SHA256_SIZE];
	uint8_t sas_nonce[IDL_SHA256_SIZE];
	/* offer, accept, decline, receipt: 32 lowercase hex digits */
	char transfer[IDL_TRANSFER_ID_HEX_LEN + 1];
	/* offer, accept, receipt, run, files-ok */
	struct idl_msg_file *files;
	size_t n_files;
	/* offer, accept, receipt, version 2: more files of this message follow
	 * in the next message of its type, whose ids go on from these (an
	 * offer's files[0].id is where a part starts: 0 for the first; an
	 * accept's or receipt's ids increase across its parts) */
	bool more;
	/* file, file-end, file-ok, file-error */
	uint32_t id;
	uint64_t offset;             /* file */
	uint8_t sha256[IDL_SHA256_SIZE]; /* file-end, raw bytes */
	/* decline, file-error, cancel: may be empty, never NULL after decode */
	char *reason;
};

/* Decodes one control message (len bytes of text, no NUL needed) into *out.
 * Returns 0, or:
 *   -EPROTONOSUPPORT  a well-formed object whose "type" is not one we know:
 *                     answer it with cancel, reason "unsupported";
 *   -EINVAL           anything else that breaks docs/PROTOCOL.md: not JSON,
 *                     not an object, over IDL_MSG_MAX, a member missing or of
 *                     the wrong type, a number out of range, a bad string.
 * On failure *err says what and why, and *out holds nothing to free. On
 * success call idl_msg_clear(out) when done. Unknown members are ignored. */
int idl_msg_decode(const char *text, size_t len, struct idl_msg *out, GError **err);

/* Encodes m as compact JSON text (NUL-terminated, caller g_free()s; *len,
 * if not NULL, gets its length without the NUL). Returns NULL with *err set
 * when m breaks a rule idl_msg_decode() enforces (so a peer never sees a
 * message we would refuse ourselves), including when the text would exceed
 * IDL_MSG_MAX: an offer of many files must then be split by the caller. */
char *idl_msg_encode(const struct idl_msg *m, size_t *len, GError **err);

/* At least the bytes f takes in an offer's "files" array as
 * idl_msg_encode() writes it, separator included, whatever the JSON escapes:
 * what a sender adds up to fill an offer near IDL_MSG_MAX (a path whose
 * bytes are all ASCII is counted exactly). */
size_t idl_msg_offer_entry_max(const struct idl_msg_file *f);

/* Frees what idl_msg_decode() allocated (files, their paths, reason) and
 * zeroes *m. Also usable on a message built by hand whose pointers come from
 * g_malloc(). NULL is a no-op. */
void idl_msg_clear(struct idl_msg *m);

/* True when a and b carry the same meaning (the members of their type). */
gboolean idl_msg_equal(const struct idl_msg *a, const struct idl_msg *b);

/* The wire name of a type ("file-end"), or NULL for a value out of range. */
const char *idl_msg_type_name(enum idl_msg_type type);

#endif
