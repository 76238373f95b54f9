/* Unit tests for discovery/resolve with the target parsed once, by the
 * caller (idl_target_parse): an address needs no discovery, a name without
 * it is refused. */
#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "discovery/resolve.h"
#include "discovery/target.h"

struct answer {
	bool called;
	struct idl_resolved res;
};

static void on_resolved(const struct idl_resolved *res, const GError *err, void *user)
{
	struct answer *a = user;

	g_assert_no_error(err);
	a->called = true;
	a->res = *res;
}

static void resolve_address(const char *typed, const char *address, uint16_t port)
{
	struct answer a = { 0 };
	struct idl_resolve *r = NULL;
	struct idl_target t;
	GError *err = NULL;

	g_assert_cmpint(idl_target_parse(typed, &t, &err), ==, 0);
	g_assert_cmpint(idl_resolve_start(NULL, &t, 7757, 1000, on_resolved, &a, &r, &err), ==, 0);
	g_assert_no_error(err);
	/* The target was copied: the caller's may go. */
	memset(&t, 0xff, sizeof(t));
	/* The answer comes from the loop, never from inside the call. */
	g_assert_false(a.called);
	while (!a.called)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(a.res.address, ==, address);
	g_assert_cmpuint(a.res.port, ==, port);
	g_assert_cmpint(a.res.kind, ==, 'd');
	g_assert_cmpstr(a.res.fingerprint, ==, "");
	g_assert_cmpstr(a.res.name, ==, "");
	idl_resolve_free(r);
}

static void test_address(void)
{
	resolve_address("10.0.0.2", "10.0.0.2", 7757);
	resolve_address("10.0.0.2:80", "10.0.0.2", 80);
	resolve_address("[fe80::1%eth0]:9", "fe80::1%eth0", 9);
}

static void test_name_needs_discovery(void)
{
	static const char *const names[] = { "laptop.local", "Alice's laptop" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		struct idl_resolve *r = NULL;
		struct idl_target t;
		GError *err = NULL;

		g_assert_cmpint(idl_target_parse(names[i], &t, &err), ==, 0);
		g_assert_cmpint(idl_resolve_start(NULL, &t, 7757, 1000, on_resolved, NULL, &r, &err), ==, -EINVAL);
		g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_assert_null(r);
		g_error_free(err);
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/resolve/address", test_address);
	g_test_add_func("/resolve/name-needs-discovery", test_name_needs_discovery);
	return g_test_run();
}
