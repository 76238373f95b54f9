/* Unit tests for web/origin: which Host headers the device answers (DNS
 * rebinding gets 421) and which Origins may make cross-origin requests. */
#include <glib.h>

#include "web/origin.h"

static void test_host(void)
{
	static const struct { const char *host; bool ok; } cases[] = {
		{ "10.0.0.2", true },
		{ "10.0.0.2:7757", true },
		{ "192.168.1.20:80", true },
		{ "8.8.8.8", true },                 /* any IP literal: no name to rebind */
		{ "[fe80::1]", true },
		{ "[fe80::1]:7757", true },
		{ "[2001:db8::5]:1", true },
		{ "vm.local", true },
		{ "VM.Local.:7757", true },
		{ "localhost:7757", true },
		{ "evil.example", false },
		{ "evil.example:7757", false },
		{ "other.local", false },            /* another device's name */
		{ "vm.local.evil.example", false },
		{ "vm", false },
		{ "", false },
		{ ":7757", false },
		{ "10.0.0.2:", false },
		{ "10.0.0.2:99999", false },
		{ "10.0.0.2:12ab", false },
		{ "10.0.0.2:7757:1", false },
		{ "fe80::1", false },                /* IPv6 without brackets */
		{ "[fe80::1", false },
		{ "[fe80::1]x", false },
		{ "[evil.example]", false },
		{ "10.0.0.2.nip.io", false },
		{ "010.0.0.2x", false },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (idl_origin_host_ok(cases[i].host, "vm.local") != cases[i].ok)
			g_error("Host \"%s\" should be %s", cases[i].host, cases[i].ok ? "answered" : "refused");
	}
	g_assert_false(idl_origin_host_ok(NULL, "vm.local"));
	g_assert_false(idl_origin_host_ok("vm.local", NULL));
	g_assert_true(idl_origin_host_ok("10.0.0.2", NULL));
}

static void test_lan_page(void)
{
	static const struct { const char *origin; bool ok; } cases[] = {
		{ "http://10.0.0.2:7757", true },
		{ "http://172.16.0.1", true },
		{ "http://172.31.255.255:1", true },
		{ "http://192.168.0.9:7757", true },
		{ "http://169.254.3.4:7757", true },
		{ "http://127.0.0.1:7757", true },
		{ "http://[fe80::1]:7757", true },
		{ "http://[fd12:3456::1]:7757", true },
		{ "http://[::1]:7757", true },
		{ "http://vm.local:7757", true },
		{ "http://Ann-s-Laptop.local", true },
		{ "https://evil.example", false },
		{ "http://evil.example", false },
		{ "http://8.8.8.8", false },
		{ "http://172.32.0.1", false },
		{ "http://[2001:db8::1]", false },
		{ "http://[::ffff:10.0.0.2]", false },
		{ "https://10.0.0.2:7757", false },   /* devices serve their page over http */
		{ "http://10.0.0.2:7757/", false },
		{ "http://10.0.0.2/x", false },
		{ "http://vm.local/", false },
		{ "http://.local", false },
		{ "http://local", false },
		{ "http://a..local", false },
		{ "http://vm.local.evil.example", false },
		{ "http://evil.example/.local", false },
		{ "null", false },
		{ "", false },
		{ "file://", false },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (idl_origin_is_lan_page(cases[i].origin) != cases[i].ok)
			g_error("Origin \"%s\" should be %s", cases[i].origin, cases[i].ok ? "allowed" : "refused");
	}
	g_assert_false(idl_origin_is_lan_page(NULL));
}

static void test_same(void)
{
	g_assert_true(idl_origin_same("http://10.0.0.2:7757", "10.0.0.2:7757"));
	g_assert_true(idl_origin_same("http://VM.local:7757", "vm.local:7757"));
	g_assert_false(idl_origin_same("http://10.0.0.2:7757", "10.0.0.2"));
	g_assert_false(idl_origin_same("https://10.0.0.2:7757", "10.0.0.2:7757"));
	g_assert_false(idl_origin_same("http://evil.example", "10.0.0.2"));
	g_assert_false(idl_origin_same(NULL, "10.0.0.2"));
	g_assert_false(idl_origin_same("http://10.0.0.2", NULL));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/origin/host", test_host);
	g_test_add_func("/origin/lan-page", test_lan_page);
	g_test_add_func("/origin/same", test_same);
	return g_test_run();
}
