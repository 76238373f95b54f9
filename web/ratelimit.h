/* ratelimit: a token bucket per client address, so one host on the LAN
 * cannot flood the device with offers (each costs an ICE agent, sockets and
 * a DTLS key) while real senders still get through. Pure bookkeeping over
 * times the caller passes in, so it is tested without waiting. */
#ifndef IDL_RATELIMIT_H
#define IDL_RATELIMIT_H

#include <stdbool.h>
#include <glib.h>

#define IDL_RATE_KEYS_MAX 1024   /* addresses remembered; the idlest goes first */

struct idl_rate;

/* burst requests at once, then one every interval_us. Owned by the caller. */
struct idl_rate *idl_rate_new(unsigned burst, gint64 interval_us);
void idl_rate_free(struct idl_rate *r);

/* Takes a token for key at monotonic time now (microseconds). False when
 * key has none left; *retry_s (if not NULL) then says when one is back. */
bool idl_rate_take(struct idl_rate *r, const char *key, gint64 now, unsigned *retry_s);

/* The key one host is counted under: an IPv4 address as it is, an IPv6
 * address as its /64 ("2001:db8:1:2::/64"), since one host can take any
 * number of addresses in its prefix; but a link-local one (fe80::/10) as it
 * is, since every host on the link shares fe80::/64. Something else (not an
 * address) is copied as it is. out holds IDL_RATE_KEY_LEN bytes. Pure. */
#define IDL_RATE_KEY_LEN 64
void idl_rate_address_key(const char *address, char out[IDL_RATE_KEY_LEN]);

#endif
