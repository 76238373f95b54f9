/* Unit tests for discovery/table: the events a run of service records
 * makes (fed as idl_mdns would, no network), and the JSON of an entry. */
#include <string.h>
#include <gio/gio.h>

#include "base/text.h"
#include "discovery/table.h"

#define FP_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define TAB "00ff00ff00ff00ff"
#define RLO "\xe2\x80\xae"           /* U+202E RIGHT-TO-LEFT OVERRIDE */

/* One fake service record: its TXT in wire format, built from txt. */
struct fake {
	struct idl_mdns_service svc;
	uint8_t wire[IDL_TXT_WIRE_MAX];
};

static void fake_init(struct fake *f, const char *name, const char *host, const char *const *addresses,
		      uint16_t port, const struct idl_txt *txt)
{
	int len = idl_txt_encode(txt, f->wire, sizeof(f->wire));

	g_assert_cmpint(len, >, 0);
	f->svc = (struct idl_mdns_service){
		.name = name, .host = host, .port = port, .addresses = addresses,
		.txt = f->wire, .txt_len = (size_t)len,
	};
}

static struct idl_txt txt_device(const char *fp, const char *name)
{
	struct idl_txt t = { .version = 1, .caps = IDL_CAP_INFO | IDL_CAP_WEBRTC, .kind = 'd' };

	g_strlcpy(t.fingerprint, fp, sizeof(t.fingerprint));
	g_strlcpy(t.name, name, sizeof(t.name));
	return t;
}

static struct idl_txt txt_browser(const char *fp, const char *name, const char *device, const char *tab)
{
	struct idl_txt t = txt_device(fp, name);

	t.kind = 'b';
	g_strlcpy(t.device, device, sizeof(t.device));
	g_strlcpy(t.tab, tab, sizeof(t.tab));
	return t;
}

/* The events, as one line each: "+name", "~name old->new port", "-name". */
struct log {
	GString *s;
	guint failed;
};

static void on_appeared(const struct idl_devtable_entry *e, void *user)
{
	struct log *l = user;

	g_string_append_printf(l->s, "+%s %u%s|", e->name, e->port, e->this_device ? " self" : "");
}

static void on_changed(const struct idl_devtable_entry *old, const struct idl_devtable_entry *now, void *user)
{
	struct log *l = user;

	g_assert_cmpstr(old->name, ==, now->name);
	g_string_append_printf(l->s, "~%s %u->%u|", now->name, old->port, now->port);
}

static void on_left(const struct idl_devtable_entry *e, void *user)
{
	struct log *l = user;

	g_string_append_printf(l->s, "-%s|", e->name);
}

static void on_failed(const GError *err, void *user)
{
	struct log *l = user;

	(void)err;
	l->failed++;
}

static const struct idl_devtable_callbacks log_cb = { on_appeared, on_changed, on_left, on_failed };

/* The JSON text of node (taken). */
static char *json_text(JsonNode *n)
{
	JsonGenerator *gen = json_generator_new();
	char *s;

	json_generator_set_root(gen, n);
	s = json_generator_to_data(gen, NULL);
	g_object_unref(gen);
	json_node_unref(n);
	return s;
}

static void test_sequence(void)
{
	const char *v4[] = { "192.168.1.5", NULL };
	const char *both[] = { "192.168.1.5", "fe80::1%eth0", NULL };
	struct idl_txt a = txt_device(FP_A, "Alpha"), b = txt_device(FP_B, "Beta");
	struct log l = { .s = g_string_new("") };
	struct idl_devtable *t = idl_devtable_new(FP_B, &log_cb, &l);
	const struct idl_devtable_entry *e;
	struct fake f;

	fake_init(&f, "Alpha", "a.local", v4, 7757, &a);
	idl_devtable_seen(t, &f.svc);
	/* The same record again (another interface or address family
	 * resolving to the same data) is no event. */
	idl_devtable_seen(t, &f.svc);
	fake_init(&f, "Alpha", "a.local", both, 7757, &a);
	idl_devtable_seen(t, &f.svc);
	fake_init(&f, "Alpha", "a.local", both, 7758, &a);
	idl_devtable_seen(t, &f.svc);
	/* A TXT change alone is a change too. */
	a.caps = IDL_CAP_INFO;
	fake_init(&f, "Alpha", "a.local", both, 7758, &a);
	idl_devtable_seen(t, &f.svc);
	fake_init(&f, "Beta", "b.local", v4, 7757, &b);
	idl_devtable_seen(t, &f.svc);
	g_assert_cmpstr(l.s->str, ==, "+Alpha 7757|~Alpha 7757->7757|~Alpha 7757->7758|~Alpha 7758->7758|+Beta 7757 self|");

	e = idl_devtable_lookup(t, "Alpha");
	g_assert_nonnull(e);
	g_assert_cmpuint(e->port, ==, 7758);
	g_assert_cmpstr(e->addresses[1], ==, "fe80::1%eth0");
	g_assert_cmpuint(e->txt.caps, ==, IDL_CAP_INFO);
	g_assert_false(e->this_device);
	g_assert_true(idl_devtable_lookup(t, "Beta")->this_device);

	g_string_truncate(l.s, 0);
	idl_devtable_gone(t, "Alpha");
	idl_devtable_gone(t, "Alpha");       /* gone already: no event */
	idl_devtable_gone(t, "Nobody");      /* never seen: no event */
	g_assert_cmpstr(l.s->str, ==, "-Alpha|");
	g_assert_null(idl_devtable_lookup(t, "Alpha"));

	/* Back after leaving: it appears again. */
	fake_init(&f, "Alpha", "a.local", v4, 7757, &a);
	idl_devtable_seen(t, &f.svc);
	g_assert_cmpstr(l.s->str, ==, "-Alpha|+Alpha 7757|");
	g_assert_cmpuint(l.failed, ==, 0);
	idl_devtable_free(t);
	g_string_free(l.s, TRUE);
}

/* A record that is not idrop-lan's is left out, and leaves what was known
 * of its name as it was; a tab is never "this device", even with our key. */
static void test_ignored_and_self(void)
{
	static const uint8_t foreign[] = "\x07" "model=x";
	const char *v4[] = { "192.168.1.5", NULL };
	struct idl_txt a = txt_device(FP_A, "Alpha"), tab = txt_browser(FP_A, "Phone", "Alpha", TAB);
	struct log l = { .s = g_string_new("") };
	struct idl_devtable *t = idl_devtable_new(FP_A, &log_cb, &l);
	struct fake f;
	GPtrArray *all;

	fake_init(&f, "Printer", "p.local", v4, 631, &a);
	f.svc.txt = foreign;
	f.svc.txt_len = sizeof(foreign) - 1;
	idl_devtable_seen(t, &f.svc);
	g_assert_null(idl_devtable_lookup(t, "Printer"));

	fake_init(&f, "Alpha", "a.local", v4, 7757, &a);
	idl_devtable_seen(t, &f.svc);
	f.svc.txt = foreign;
	f.svc.txt_len = sizeof(foreign) - 1;
	f.svc.port = 1;
	idl_devtable_seen(t, &f.svc);
	g_assert_cmpuint(idl_devtable_lookup(t, "Alpha")->port, ==, 7757);

	fake_init(&f, "Phone", "a.local", v4, 7757, &tab);
	idl_devtable_seen(t, &f.svc);
	g_assert_cmpstr(l.s->str, ==, "+Alpha 7757 self|+Phone 7757|");
	g_assert_false(idl_devtable_lookup(t, "Phone")->this_device);

	/* No identity: nothing is this device. */
	all = idl_devtable_entries(t);
	g_assert_cmpuint(all->len, ==, 2);
	g_ptr_array_unref(all);
	idl_devtable_free(t);
	t = idl_devtable_new("", NULL, NULL);
	fake_init(&f, "Alpha", "a.local", v4, 7757, &a);
	idl_devtable_seen(t, &f.svc);
	g_assert_false(idl_devtable_lookup(t, "Alpha")->this_device);
	idl_devtable_free(t);
	g_string_free(l.s, TRUE);
}

/* Entries come sorted by instance name, whatever the order heard. */
static void test_sorted(void)
{
	const char *names[] = { "zeta", "Émile", "alpha", "Beta #2", "Beta" };
	const char *v4[] = { "10.0.0.1", NULL };
	struct idl_txt a = txt_device(FP_A, "x");
	struct idl_devtable *t = idl_devtable_new(NULL, NULL, NULL);
	GPtrArray *all;
	struct fake f;

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		fake_init(&f, names[i], "h.local", v4, 7757, &a);
		idl_devtable_seen(t, &f.svc);
	}
	all = idl_devtable_entries(t);
	for (guint i = 1; i < all->len; i++)
		g_assert_cmpint(g_utf8_collate(((const struct idl_devtable_entry *)all->pdata[i - 1])->name,
					       ((const struct idl_devtable_entry *)all->pdata[i])->name), <=, 0);
	g_assert_cmpuint(all->len, ==, G_N_ELEMENTS(names));
	g_ptr_array_unref(all);
	idl_devtable_free(t);
}

/* The layout of README.md "JSON of a device", member by member. */
static void test_json_layout(void)
{
	const char *both[] = { "192.168.1.5", "fe80::1%eth0", NULL };
	const char *none[] = { NULL };
	struct idl_txt d = txt_device(FP_A, "Beta"), b = txt_browser(FP_B, "Phone", "Beta", TAB);
	struct idl_devtable *t = idl_devtable_new(FP_A, NULL, NULL);
	struct fake f;
	char *s;

	/* A renamed device: name is the instance, display_name its TXT name. */
	fake_init(&f, "Beta #2", "b.local", both, 7757, &d);
	idl_devtable_seen(t, &f.svc);
	s = json_text(idl_devtable_entry_json(idl_devtable_lookup(t, "Beta #2"), IDL_DEVTABLE_NO_EVENT));
	g_assert_cmpstr(s, ==, "{\"name\":\"Beta #2\",\"display_name\":\"Beta\",\"host\":\"b.local\","
			"\"address\":\"192.168.1.5\",\"addresses\":[\"192.168.1.5\",\"fe80::1%eth0\"],"
			"\"port\":7757,\"fingerprint\":\"" FP_A "\",\"protocol\":1,\"kind\":\"device\","
			"\"this_device\":true}");
	g_free(s);

	/* A tab: its device and tab id too; with no address known, "". */
	fake_init(&f, "Phone", "b.local", none, 7757, &b);
	idl_devtable_seen(t, &f.svc);
	s = json_text(idl_devtable_entry_json(idl_devtable_lookup(t, "Phone"), IDL_DEVTABLE_APPEARED));
	g_assert_cmpstr(s, ==, "{\"event\":\"appeared\",\"name\":\"Phone\",\"display_name\":\"Phone\","
			"\"host\":\"b.local\",\"address\":\"\",\"addresses\":[],\"port\":7757,"
			"\"fingerprint\":\"" FP_B "\",\"protocol\":1,\"kind\":\"browser\",\"this_device\":false,"
			"\"device\":\"Beta\",\"tab\":\"" TAB "\"}");
	g_free(s);
	s = json_text(idl_devtable_entry_json(idl_devtable_lookup(t, "Phone"), IDL_DEVTABLE_CHANGED));
	g_assert_true(g_str_has_prefix(s, "{\"event\":\"updated\",\"name\":\"Phone\",\"display_name\""));
	g_free(s);
	s = json_text(idl_devtable_entry_json(idl_devtable_lookup(t, "Phone"), IDL_DEVTABLE_LEFT));
	g_assert_cmpstr(s, ==, "{\"event\":\"left\",\"name\":\"Phone\"}");
	g_free(s);

	/* The whole table: an array in name order. */
	s = json_text(idl_devtable_json(t));
	g_assert_true(g_str_has_prefix(s, "[{\"name\":\"Beta #2\","));
	g_assert_nonnull(strstr(s, "},{\"name\":\"Phone\","));
	g_free(s);
	idl_devtable_free(t);
	t = idl_devtable_new(NULL, NULL, NULL);
	s = json_text(idl_devtable_json(t));
	g_assert_cmpstr(s, ==, "[]");
	g_free(s);
	idl_devtable_free(t);
}

/* Names are the peer's choice. idl_mdns drops instance names that fail
 * the name rule and TXT names are checked on decode, but the JSON must be
 * harmless whatever reaches it: quotes, backslashes and controls escaped
 * by the generator, hidden characters once printed (idl_text_json_safe),
 * and every string reading back as it was heard. */
static void test_json_hostile_names(void)
{
	static const char *const hostile[] = {
		"Ann\" ,\"this_device\":true, \"x\":\"",
		"back\\slash",
		"esc\x1b[2Jclear",
		"Ann" RLO "txt.exe",
		"</script><script>alert(1)</script>",
		"nl\nand\ttab",
		"c1\xc2\x9b" "2J",
	};
	const char *v4[] = { "10.0.0.1", NULL };
	struct idl_txt d = txt_device(FP_A, "Plain");

	for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
		struct idl_devtable *t = idl_devtable_new(NULL, NULL, NULL);
		JsonParser *p = json_parser_new();
		char *s, *safe;
		struct fake f;
		JsonObject *o;

		fake_init(&f, hostile[i], hostile[i], v4, 7757, &d);
		idl_devtable_seen(t, &f.svc);
		s = json_text(idl_devtable_json(t));
		safe = idl_text_json_safe(s);
		g_assert_null(strchr(safe, '\x1b'));
		g_assert_null(strchr(safe, '\n'));
		g_assert_null(strstr(safe, RLO));
		g_assert_null(strstr(safe, "\xc2\x9b"));
		g_assert_true(json_parser_load_from_data(p, safe, -1, NULL));
		o = json_array_get_object_element(json_node_get_array(json_parser_get_root(p)), 0);
		g_assert_cmpuint(json_object_get_size(o), ==, 10);
		g_assert_cmpstr(json_object_get_string_member(o, "name"), ==, hostile[i]);
		g_assert_cmpstr(json_object_get_string_member(o, "host"), ==, hostile[i]);
		g_assert_cmpstr(json_object_get_string_member(o, "display_name"), ==, "Plain");
		g_assert_false(json_object_get_boolean_member(o, "this_device"));
		g_object_unref(p);
		g_free(safe);
		g_free(s);
		idl_devtable_free(t);
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/table/sequence", test_sequence);
	g_test_add_func("/table/ignored-and-self", test_ignored_and_self);
	g_test_add_func("/table/sorted", test_sorted);
	g_test_add_func("/table/json-layout", test_json_layout);
	g_test_add_func("/table/json-hostile-names", test_json_hostile_names);
	return g_test_run();
}
