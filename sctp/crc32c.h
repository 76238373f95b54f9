/* crc32c: the CRC32c (Castagnoli) checksum of SCTP packets (RFC 9260
 * appendix A), which usrsctp leaves to us (CRC32c offload). Pure functions
 * over a byte buffer, no allocation. */
#ifndef IDL_CRC32C_H
#define IDL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The checksum of buf, as it is stored in the SCTP common header: copied
 * with memcpy (host order), it is in wire order on a little-endian host,
 * as usrsctp_crc32c gives it. Uses the CPU's CRC32 instruction (x86
 * SSE4.2) where there is one, else tables. */
uint32_t idl_crc32c(const uint8_t *buf, size_t len);

/* The same from tables only (what idl_crc32c falls back to): for tests. */
uint32_t idl_crc32c_portable(const uint8_t *buf, size_t len);

#endif
