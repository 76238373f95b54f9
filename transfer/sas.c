/* sas: the verification code (see sas.h and docs/PROTOCOL.md). */
#include "transfer/sas.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "base/fingerprint.h"

#define SAS_LABEL "idrop-lan sas 1"

int idl_sas_nonce(uint8_t nonce[IDL_SAS_NONCE_SIZE])
{
	return gnutls_rnd(GNUTLS_RND_RANDOM, nonce, IDL_SAS_NONCE_SIZE) < 0 ? -EIO : 0;
}

void idl_sas_commit(const uint8_t nonce[IDL_SAS_NONCE_SIZE], uint8_t commit[IDL_SHA256_SIZE])
{
	gnutls_hash_fast(GNUTLS_DIG_SHA256, nonce, IDL_SAS_NONCE_SIZE, commit);
}

int idl_sas_code(const char *sender_fp, const char *receiver_fp,
		 const uint8_t sender_nonce[IDL_SAS_NONCE_SIZE],
		 const uint8_t receiver_nonce[IDL_SAS_NONCE_SIZE], char out[IDL_SAS_CODE_LEN + 1])
{
	uint8_t in[sizeof(SAS_LABEL) - 1 + 2 * IDL_FINGERPRINT_SIZE + 2 * IDL_SAS_NONCE_SIZE];
	uint8_t digest[IDL_SHA256_SIZE];
	uint8_t *p = in;
	uint32_t v;

	memcpy(p, SAS_LABEL, sizeof(SAS_LABEL) - 1);
	p += sizeof(SAS_LABEL) - 1;
	if (idl_fingerprint_parse(sender_fp, p) < 0 ||
	    idl_fingerprint_parse(receiver_fp, p + IDL_FINGERPRINT_SIZE) < 0)
		return -EINVAL;
	p += 2 * IDL_FINGERPRINT_SIZE;
	memcpy(p, sender_nonce, IDL_SAS_NONCE_SIZE);
	memcpy(p + IDL_SAS_NONCE_SIZE, receiver_nonce, IDL_SAS_NONCE_SIZE);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, in, sizeof(in), digest);
	/* 2^32 is not a multiple of 10^6: the bias (under 0.03%) is far below
	 * what matters for a one-in-a-million guess. */
	v = ((uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 | digest[3]) % 1000000u;
	snprintf(out, IDL_SAS_CODE_LEN + 1, "%03u %03u", v / 1000, v % 1000);
	return 0;
}
