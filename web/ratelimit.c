/* ratelimit: see ratelimit.h. Tokens are refilled lazily from the time of
 * the last take; the table is bounded by evicting the key taken longest
 * ago (a full bucket, by then, so nothing is forgiven that mattered). */
#include "web/ratelimit.h"

#include <string.h>
#include <arpa/inet.h>

struct bucket {
	double tokens;
	gint64 last;
};

struct idl_rate {
	unsigned burst;
	gint64 interval;
	GHashTable *keys;          /* char * -> struct bucket * */
};

struct idl_rate *idl_rate_new(unsigned burst, gint64 interval_us)
{
	struct idl_rate *r = g_new0(struct idl_rate, 1);

	r->burst = burst ? burst : 1;
	r->interval = interval_us > 0 ? interval_us : 1;
	r->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return r;
}

void idl_rate_free(struct idl_rate *r)
{
	if (!r)
		return;
	g_hash_table_destroy(r->keys);
	g_free(r);
}

static void evict_oldest(struct idl_rate *r)
{
	GHashTableIter it;
	gpointer k, v, oldest = NULL;
	gint64 t = G_MAXINT64;

	g_hash_table_iter_init(&it, r->keys);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (((struct bucket *)v)->last < t) {
			t = ((struct bucket *)v)->last;
			oldest = k;
		}
	}
	if (oldest)
		g_hash_table_remove(r->keys, oldest);
}

bool idl_rate_take(struct idl_rate *r, const char *key, gint64 now, unsigned *retry_s)
{
	struct bucket *b = g_hash_table_lookup(r->keys, key);

	if (!b) {
		if (g_hash_table_size(r->keys) >= IDL_RATE_KEYS_MAX)
			evict_oldest(r);
		b = g_new(struct bucket, 1);
		b->tokens = r->burst;
		b->last = now;
		g_hash_table_insert(r->keys, g_strdup(key), b);
	}
	if (now > b->last)
		b->tokens = MIN((double)r->burst, b->tokens + (double)(now - b->last) / (double)r->interval);
	b->last = MAX(b->last, now);
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return true;
	}
	if (retry_s)
		*retry_s = (unsigned)(((1 - b->tokens) * (double)r->interval) / G_USEC_PER_SEC) + 1;
	return false;
}

void idl_rate_address_key(const char *address, char out[IDL_RATE_KEY_LEN])
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	/* fe80::/64 is the same for every host on the link: there the key is
	 * the address, as for IPv4. */
	if (strchr(address, ':') && inet_pton(AF_INET6, address, a) == 1 && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80)) {
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		g_snprintf(out, IDL_RATE_KEY_LEN, "%s/64", text);
		return;
	}
	g_strlcpy(out, address, IDL_RATE_KEY_LEN);
}
