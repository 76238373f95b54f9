/* sas: the short authentication code both ends of a transfer show, so two
 * people can compare six digits aloud and know no one sits in between
 * (docs/PROTOCOL.md, "Verification code"). It is derived from both DTLS
 * certificate fingerprints and two nonces exchanged with a commitment: the
 * sender commits to its nonce in its hello before it sees the receiver's,
 * so a man in the middle, who runs one session with each end, can choose
 * neither code and makes them match only by chance (1 in 10^6). Pure. */
#ifndef IDL_SAS_H
#define IDL_SAS_H

#include <stdint.h>

#include "transfer/protocol.h"

#define IDL_SAS_NONCE_SIZE 32
#define IDL_SAS_CODE_LEN 7          /* "123 456" */

/* Fills nonce with fresh random bytes. Returns 0 or a negative errno. */
int idl_sas_nonce(uint8_t nonce[IDL_SAS_NONCE_SIZE]);

/* The commitment sent in hello: SHA-256 of the nonce. */
void idl_sas_commit(const uint8_t nonce[IDL_SAS_NONCE_SIZE], uint8_t commit[IDL_SHA256_SIZE]);

/* The code, "ddd ddd", from the sender's and the receiver's fingerprints
 * (64 hex digits each, any case, colons allowed) and nonces. Returns 0, or
 * -EINVAL for a malformed fingerprint. */
int idl_sas_code(const char *sender_fp, const char *receiver_fp,
		 const uint8_t sender_nonce[IDL_SAS_NONCE_SIZE],
		 const uint8_t receiver_nonce[IDL_SAS_NONCE_SIZE], char out[IDL_SAS_CODE_LEN + 1]);

#endif
