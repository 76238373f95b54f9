/* Unit tests for transport/lanaddr: which addresses ICE may send checks to
 * (issue 11, item 9), as a table of cases, and the on-subnet rule. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <glib.h>

#include "base/lanaddr.h"

static void test_scopes(void)
{
	static const struct {
		const char *text;
		enum idl_lanaddr_scope scope;
	} cases[] = {
		{ "127.0.0.1", IDL_LANADDR_LOOPBACK },
		{ "127.255.255.254", IDL_LANADDR_LOOPBACK },
		{ "::1", IDL_LANADDR_LOOPBACK },
		{ "::ffff:127.0.0.1", IDL_LANADDR_LOOPBACK },
		{ "10.0.0.1", IDL_LANADDR_PRIVATE },
		{ "10.255.255.255", IDL_LANADDR_PRIVATE },
		{ "172.16.0.1", IDL_LANADDR_PRIVATE },
		{ "172.31.255.254", IDL_LANADDR_PRIVATE },
		{ "192.168.1.2", IDL_LANADDR_PRIVATE },
		{ "::ffff:192.168.1.2", IDL_LANADDR_PRIVATE },
		{ "169.254.10.20", IDL_LANADDR_LINK_LOCAL },
		{ "fe80::1", IDL_LANADDR_LINK_LOCAL },
		{ "febf:ffff::1", IDL_LANADDR_LINK_LOCAL },
		{ "fc00::1", IDL_LANADDR_ULA },
		{ "fd12:3456:789a::1", IDL_LANADDR_ULA },
		{ "100.64.0.1", IDL_LANADDR_SHARED },
		{ "100.127.255.254", IDL_LANADDR_SHARED },
		/* Just outside each range */
		{ "172.15.255.255", IDL_LANADDR_OTHER },
		{ "172.32.0.0", IDL_LANADDR_OTHER },
		{ "192.169.0.1", IDL_LANADDR_OTHER },
		{ "169.253.255.255", IDL_LANADDR_OTHER },
		{ "100.63.255.255", IDL_LANADDR_OTHER },
		{ "100.128.0.0", IDL_LANADDR_OTHER },
		{ "11.0.0.1", IDL_LANADDR_OTHER },
		{ "fec0::1", IDL_LANADDR_OTHER },          /* site-local, deprecated */
		{ "fe00::1", IDL_LANADDR_OTHER },
		{ "fbff::1", IDL_LANADDR_OTHER },
		{ "fe7f::1", IDL_LANADDR_OTHER },
		/* Public, documentation, special */
		{ "198.51.100.7", IDL_LANADDR_OTHER },
		{ "203.0.113.20", IDL_LANADDR_OTHER },
		{ "8.8.8.8", IDL_LANADDR_OTHER },
		{ "2001:db8::1", IDL_LANADDR_OTHER },
		{ "::ffff:8.8.8.8", IDL_LANADDR_OTHER },
		{ "0.0.0.0", IDL_LANADDR_OTHER },
		{ "::", IDL_LANADDR_OTHER },
		{ "224.0.0.251", IDL_LANADDR_OTHER },
		{ "ff02::fb", IDL_LANADDR_OTHER },
		{ "255.255.255.255", IDL_LANADDR_OTHER },
		/* Not address literals */
		{ "", IDL_LANADDR_INVALID },
		{ "c0ffee00-1234.local", IDL_LANADDR_INVALID },
		{ "192.168.1", IDL_LANADDR_INVALID },
		{ "192.168.1.2 ", IDL_LANADDR_INVALID },
		{ "fe80::1%eth0", IDL_LANADDR_INVALID },
		{ "localhost", IDL_LANADDR_INVALID },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		enum idl_lanaddr_scope s = idl_lanaddr_scope_text(cases[i].text);

		if (s != cases[i].scope)
			g_error("%s: scope %s, expected %s", cases[i].text, idl_lanaddr_scope_name(s),
				idl_lanaddr_scope_name(cases[i].scope));
	}
	g_assert_cmpint(idl_lanaddr_scope_text(NULL), ==, IDL_LANADDR_INVALID);
	g_assert_cmpint(idl_lanaddr_scope(NULL), ==, IDL_LANADDR_INVALID);
}

static void test_is_lan(void)
{
	g_assert_true(idl_lanaddr_scope_is_lan(IDL_LANADDR_LOOPBACK));
	g_assert_true(idl_lanaddr_scope_is_lan(IDL_LANADDR_PRIVATE));
	g_assert_true(idl_lanaddr_scope_is_lan(IDL_LANADDR_LINK_LOCAL));
	g_assert_true(idl_lanaddr_scope_is_lan(IDL_LANADDR_ULA));
	g_assert_false(idl_lanaddr_scope_is_lan(IDL_LANADDR_SHARED));
	g_assert_false(idl_lanaddr_scope_is_lan(IDL_LANADDR_OTHER));
	g_assert_false(idl_lanaddr_scope_is_lan(IDL_LANADDR_INVALID));
}

static void test_sockaddr(void)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr un = { .sa_family = AF_UNIX };

	g_assert_cmpint(inet_pton(AF_INET, "192.168.7.1", &a4.sin_addr), ==, 1);
	g_assert_cmpint(idl_lanaddr_scope((struct sockaddr *)&a4), ==, IDL_LANADDR_PRIVATE);
	g_assert_cmpint(inet_pton(AF_INET6, "2001:db8::7", &a6.sin6_addr), ==, 1);
	g_assert_cmpint(idl_lanaddr_scope((struct sockaddr *)&a6), ==, IDL_LANADDR_OTHER);
	g_assert_cmpint(idl_lanaddr_scope(&un), ==, IDL_LANADDR_INVALID);
}

/* ifaddr/prefix and addr as text, one family. */
static gboolean subnet(const char *ifaddr, int prefix, const char *addr)
{
	struct sockaddr_storage i = { 0 }, m = { 0 }, a = { 0 };
	bool v6 = strchr(ifaddr, ':') != NULL;
	int af = v6 ? AF_INET6 : AF_INET;
	uint8_t *ib, *mb, *ab;
	int n = v6 ? 16 : 4;

	i.ss_family = m.ss_family = af;
	a.ss_family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	ib = v6 ? ((struct sockaddr_in6 *)&i)->sin6_addr.s6_addr : (uint8_t *)&((struct sockaddr_in *)&i)->sin_addr;
	mb = v6 ? ((struct sockaddr_in6 *)&m)->sin6_addr.s6_addr : (uint8_t *)&((struct sockaddr_in *)&m)->sin_addr;
	ab = a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_addr.s6_addr
				     : (uint8_t *)&((struct sockaddr_in *)&a)->sin_addr;
	g_assert_cmpint(inet_pton(af, ifaddr, ib), ==, 1);
	g_assert_cmpint(inet_pton(a.ss_family, addr, ab), ==, 1);
	for (int b = 0; b < n * 8; b++)
		if (b < prefix)
			mb[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	return idl_lanaddr_on_subnet((struct sockaddr *)&i, (struct sockaddr *)&m, (struct sockaddr *)&a);
}

static void test_on_subnet(void)
{
	/* A LAN numbered with public addresses: its own subnet counts. */
	g_assert_true(subnet("130.225.1.20", 24, "130.225.1.77"));
	g_assert_false(subnet("130.225.1.20", 24, "130.225.2.77"));
	g_assert_true(subnet("130.225.1.20", 16, "130.225.200.1"));
	g_assert_true(subnet("2001:db8:1:2::10", 64, "2001:db8:1:2::99"));
	g_assert_false(subnet("2001:db8:1:2::10", 64, "2001:db8:1:3::99"));
	/* Too wide to be one link */
	g_assert_false(subnet("130.225.1.20", 15, "130.224.0.1"));
	g_assert_false(subnet("44.0.0.1", 8, "44.1.2.3"));
	g_assert_false(subnet("2001:db8::10", 32, "2001:db8:ffff::1"));
	g_assert_false(subnet("0.0.0.0", 0, "198.51.100.7"));
	/* A /32 covers only itself */
	g_assert_true(subnet("198.51.100.7", 32, "198.51.100.7"));
	g_assert_false(subnet("198.51.100.7", 32, "198.51.100.8"));
	/* Families must agree */
	g_assert_false(subnet("130.225.1.20", 24, "::ffff:130.225.1.77"));
	g_assert_false(idl_lanaddr_on_subnet(NULL, NULL, NULL));
}

static void test_noncontiguous_mask(void)
{
	struct sockaddr_in i = { .sin_family = AF_INET }, m = { .sin_family = AF_INET }, a = { .sin_family = AF_INET };

	inet_pton(AF_INET, "130.225.1.20", &i.sin_addr);
	inet_pton(AF_INET, "255.255.0.255", &m.sin_addr);
	inet_pton(AF_INET, "130.225.9.20", &a.sin_addr);
	g_assert_false(idl_lanaddr_on_subnet((struct sockaddr *)&i, (struct sockaddr *)&m, (struct sockaddr *)&a));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lanaddr/scopes", test_scopes);
	g_test_add_func("/lanaddr/is-lan", test_is_lan);
	g_test_add_func("/lanaddr/sockaddr", test_sockaddr);
	g_test_add_func("/lanaddr/on-subnet", test_on_subnet);
	g_test_add_func("/lanaddr/noncontiguous-mask", test_noncontiguous_mask);
	return g_test_run();
}
