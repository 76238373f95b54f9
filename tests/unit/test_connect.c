/* Unit tests for web/connect, the client half of signalling, without a
 * network: an address where nothing listens ends in a refusal (the kind
 * `send` and `ping` turn into exit code 4). The target reaches connect
 * parsed (the command parses it once: discovery/target.c, test_target). A connection to a real
 * device on loopback is in test_device.c. */
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "discovery/target.h"
#include "trust/identity.h"
#include "web/connect.h"
#include "fs_helpers.h"

#define WAIT_US (20 * G_USEC_PER_SEC)   /* generous: the sanitizer build is slow */

struct outcome {
	bool resolved, connected, failed;
	enum idl_connect_failure kind;
	char *message;
};

static void on_resolved(const struct idl_resolved *res, void *user)
{
	struct outcome *o = user;

	(void)res;
	o->resolved = true;
}

static void on_connected(struct idl_peer *p, void *user)
{
	struct outcome *o = user;

	(void)p;
	o->connected = true;
}

static void on_failed(enum idl_connect_failure kind, const char *message, void *user)
{
	struct outcome *o = user;

	o->failed = true;
	o->kind = kind;
	o->message = g_strdup(message);
}

static const struct idl_connect_callbacks callbacks = { on_resolved, on_connected, on_failed };

static struct idl_identity *make_identity(char **dir)
{
	struct idl_identity *id = NULL;
	GError *err = NULL;

	*dir = g_dir_make_tmp("idrop-connect-XXXXXX", &err);
	g_assert_no_error(err);
	g_assert_cmpint(idl_identity_load_or_create(*dir, &id, &err), ==, 0);
	g_assert_no_error(err);
	return id;
}

/* Nothing listens on 127.0.0.1:1: the offer cannot be posted, and that is a
 * refusal by the device, after the target resolved. */
static void test_nobody_listens(void)
{
	struct outcome o = { 0 };
	struct idl_connect *c = NULL;
	char *dir, *msg = NULL;
	struct idl_identity *id = make_identity(&dir);
	struct idl_connect_options opt = { .interface = "lo", .timeout_ms = 5000, .id = id };
	gint64 end = g_get_monotonic_time() + WAIT_US;

	g_assert_cmpint(idl_target_parse("127.0.0.1:1", &opt.target, NULL), ==, 0);
	g_assert_cmpint(idl_connect_start(&opt, &callbacks, &o, &c, &msg), ==, 0);
	g_assert_null(msg);
	while (!o.failed && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(o.failed);
	g_assert_true(o.resolved);
	g_assert_false(o.connected);
	g_assert_cmpint(o.kind, ==, IDL_CONNECT_REFUSED);
	g_assert_true(g_str_has_prefix(o.message, "signalling failed: "));
	g_assert_cmpstr(idl_connect_target(c)->address, ==, "127.0.0.1");
	g_assert_cmpuint(idl_connect_target(c)->port, ==, 1);
	g_assert_nonnull(idl_connect_peer(c));
	idl_connect_free(c);
	g_free(o.message);
	idl_identity_free(id);
	remove_all(dir);
	g_free(dir);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/connect/nobody-listens", test_nobody_listens);
	return g_test_run();
}
