/* Unit tests for web/ratelimit: the burst, the refill rate, independent
 * addresses, the retry hint and the bounded table, with made-up times. */
#include <glib.h>

#include "web/ratelimit.h"

#define S G_USEC_PER_SEC

static void test_burst_and_refill(void)
{
	struct idl_rate *r = idl_rate_new(5, 2 * S);
	unsigned retry = 0;

	for (int i = 0; i < 5; i++)
		g_assert_true(idl_rate_take(r, "10.0.0.9", 100 * S, NULL));
	g_assert_false(idl_rate_take(r, "10.0.0.9", 100 * S, &retry));
	g_assert_cmpuint(retry, >=, 2);
	g_assert_cmpuint(retry, <=, 3);
	/* Another address is not affected. */
	g_assert_true(idl_rate_take(r, "10.0.0.7", 100 * S, NULL));
	/* One token per 2 s, never more than the burst. */
	g_assert_false(idl_rate_take(r, "10.0.0.9", 101 * S, NULL));
	g_assert_true(idl_rate_take(r, "10.0.0.9", 102 * S + 1, NULL));
	g_assert_false(idl_rate_take(r, "10.0.0.9", 102 * S + 2, NULL));
	for (int i = 0; i < 5; i++)
		g_assert_true(idl_rate_take(r, "10.0.0.9", 1000 * S, NULL));
	g_assert_false(idl_rate_take(r, "10.0.0.9", 1000 * S, NULL));
	/* A clock that goes back gives nothing away. */
	g_assert_false(idl_rate_take(r, "10.0.0.9", 900 * S, NULL));
	idl_rate_free(r);
}

static void test_bounded(void)
{
	struct idl_rate *r = idl_rate_new(1, S);
	char key[32];

	/* A flood of distinct addresses: the table stays bounded and the
	 * newest entries still count. */
	for (int i = 0; i < 3 * IDL_RATE_KEYS_MAX; i++) {
		g_snprintf(key, sizeof(key), "fe80::%x", i);
		g_assert_true(idl_rate_take(r, key, (gint64)i, NULL));
	}
	g_assert_false(idl_rate_take(r, key, 3 * IDL_RATE_KEYS_MAX, NULL));
	idl_rate_free(r);
}

/* One host is one key: an IPv4 address as it is, IPv6 by its /64 (a host
 * picks any address in its prefix for free). */
static void test_address_key(void)
{
	static const struct { const char *in, *key; } cases[] = {
		{ "10.0.0.2", "10.0.0.2" },
		{ "192.168.1.200", "192.168.1.200" },
		{ "2001:db8:1:2::1", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
		{ "fe80::1", "fe80::1" },            /* the link shares fe80::/64 */
		{ "fe80::aaaa:bbbb:cccc:dddd", "fe80::aaaa:bbbb:cccc:dddd" },
		{ "fd00:1:2:3:4:5:6:7", "fd00:1:2:3::/64" },
		{ "::1", "::/64" },
		{ "", "" },
		{ "not:an:address", "not:an:address" },
	};
	char key[IDL_RATE_KEY_LEN];

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		idl_rate_address_key(cases[i].in, key);
		g_assert_cmpstr(key, ==, cases[i].key);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ratelimit/burst-and-refill", test_burst_and_refill);
	g_test_add_func("/ratelimit/bounded", test_bounded);
	g_test_add_func("/ratelimit/address-key", test_address_key);
	return g_test_run();
}
