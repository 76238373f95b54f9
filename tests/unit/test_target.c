/* Unit tests for discovery/target: how what a user types is classified. */
#include <string.h>
#include <gio/gio.h>

#include "discovery/target.h"

struct ok_case {
	const char *in;
	enum idl_target_kind kind;
	const char *text;
	uint16_t port;
};

static void test_accepted(void)
{
	static const struct ok_case cases[] = {
		{ "laptop.local", IDL_TARGET_HOST, "laptop.local", 0 },
		{ "Laptop.LOCAL.", IDL_TARGET_HOST, "Laptop.LOCAL", 0 },
		{ "Alice's laptop", IDL_TARGET_NAME, "Alice's laptop", 0 },
		{ "Beta #2", IDL_TARGET_NAME, "Beta #2", 0 },
		{ "local", IDL_TARGET_NAME, "local", 0 },
		{ ".local", IDL_TARGET_NAME, ".local", 0 },
		{ "10.0.0.2", IDL_TARGET_ADDRESS, "10.0.0.2", 0 },
		{ "10.0.0.2:7757", IDL_TARGET_ADDRESS, "10.0.0.2", 7757 },
		{ "fe80::1", IDL_TARGET_ADDRESS, "fe80::1", 0 },
		{ "::1", IDL_TARGET_ADDRESS, "::1", 0 },
		{ "[fe80::1]:80", IDL_TARGET_ADDRESS, "fe80::1", 80 },
		{ "[fe80::1%eth0]:65535", IDL_TARGET_ADDRESS, "fe80::1%eth0", 65535 },
		{ "fe80::1%eth0", IDL_TARGET_ADDRESS, "fe80::1%eth0", 0 },
		{ "[::1]", IDL_TARGET_ADDRESS, "::1", 0 },
		{ "printer:1", IDL_TARGET_NAME, "printer:1", 0 },
		{ "Zoë", IDL_TARGET_NAME, "Zoë", 0 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct idl_target t;
		GError *err = NULL;

		if (idl_target_parse(cases[i].in, &t, &err) != 0)
			g_error("\"%s\" refused: %s", cases[i].in, err->message);
		g_assert_cmpint(t.kind, ==, cases[i].kind);
		g_assert_cmpstr(t.text, ==, cases[i].text);
		g_assert_cmpuint(t.port, ==, cases[i].port);
	}
}

static void test_refused(void)
{
	char long_name[80], too_long[300];
	const char *cases[] = {
		"", "10.0.0.2:0", "10.0.0.2:65536", "10.0.0.2:-1", "10.0.0.2:80x", "10.0.0.2:",
		"[fe80::1]:", "[fe80::1]x", "[fe80::1", "[10.0.0.2]:80", "[nonsense]:80",
		"line\nbreak", "tab\tname", "bell\x07", "\xff\xfe", long_name, too_long,
	};

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	memset(too_long, 'h', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct idl_target t;
		GError *err = NULL;

		if (idl_target_parse(cases[i], &t, &err) != -EINVAL)
			g_error("\"%s\" accepted as kind %d", cases[i], t.kind);
		g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_error_free(err);
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/target/accepted", test_accepted);
	g_test_add_func("/target/refused", test_refused);
	return g_test_run();
}
