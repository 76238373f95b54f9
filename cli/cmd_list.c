/* cmd_list: `idrop-lan list` browses DNS-SD for a bounded time and prints
 * the idrop-lan devices found (a table, or JSON); --watch streams devices
 * appearing and leaving until interrupted. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "cli/cli.h"
#include "discovery/mdns.h"
#include "discovery/txt.h"
#include "trust/identity.h"

struct device {
	char *name;
	char *host;
	char **addresses;
	guint16 port;
	struct idl_txt txt;
	bool self;
};

struct list {
	GHashTable *devices;        /* name -> struct device */
	char self_fp[IDL_FINGERPRINT_HEX_LEN + 1];
	bool json;
	bool watch;
	bool failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: idrop-lan list [OPTIONS]\n"
		"Shows the idrop-lan devices on the local network.\n\n"
		"  --timeout SECONDS  how long to browse (default 1.5)\n"
		"  --json             machine-readable output\n"
		"  --watch            stream devices appearing (+), changing (~) and leaving (-)\n"
		"                     until Ctrl-C\n"
		"  --interface IF     browse only on this interface\n"
		"  --state-dir DIR    identity used to mark this device (default: $XDG_STATE_HOME/idrop-lan)\n"
		"  --mdns MODE        auto, daemon (avahi-daemon) or embedded (default auto)\n"
		"  -v, --verbose      log discovery details\n");
}

static void device_free(gpointer p)
{
	struct device *d = p;

	g_free(d->name);
	g_free(d->host);
	g_strfreev(d->addresses);
	g_free(d);
}

static JsonNode *device_json(const struct device *d, const char *event)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *n;

	json_builder_begin_object(b);
	if (event) {
		json_builder_set_member_name(b, "event");
		json_builder_add_string_value(b, event);
	}
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, d->name);
	if (d->host) {
		json_builder_set_member_name(b, "display_name");
		json_builder_add_string_value(b, d->txt.name[0] ? d->txt.name : d->name);
		json_builder_set_member_name(b, "host");
		json_builder_add_string_value(b, d->host);
		json_builder_set_member_name(b, "addresses");
		json_builder_begin_array(b);
		for (char **a = d->addresses; *a; a++)
			json_builder_add_string_value(b, *a);
		json_builder_end_array(b);
		json_builder_set_member_name(b, "port");
		json_builder_add_int_value(b, d->port);
		json_builder_set_member_name(b, "fingerprint");
		json_builder_add_string_value(b, d->txt.fingerprint);
		json_builder_set_member_name(b, "protocol");
		json_builder_add_int_value(b, d->txt.version);
		json_builder_set_member_name(b, "kind");
		json_builder_add_string_value(b, d->txt.kind == 'b' ? "browser" : "device");
		json_builder_set_member_name(b, "this_device");
		json_builder_add_boolean_value(b, d->self && d->txt.kind != 'b');
		if (d->txt.kind == 'b') {
			json_builder_set_member_name(b, "device");
			json_builder_add_string_value(b, d->txt.device);
			json_builder_set_member_name(b, "tab");
			json_builder_add_string_value(b, d->txt.tab);
		}
	}
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

/* Column widths of the table; --watch lines use the minimums. */
struct widths {
	int name, host, addrs;
};
static const struct widths min_widths = { 12, 14, 12 };

static char *device_addrs(const struct device *d)
{
	return g_strjoinv(",", d->addresses);
}

static char *device_line(const struct device *d, char mark, const struct widths *w)
{
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];
	char *addrs = device_addrs(d), *line, *note;

	const char *name = cli_text(d->name);

	idl_fingerprint_short(d->txt.fingerprint, shortfp);
	if (d->txt.kind == 'b')
		note = g_strdup_printf("  (browser on %s)", cli_text(d->txt.device[0] ? d->txt.device : d->host));
	else
		note = g_strdup(d->self ? "  (this device)" : "");
	/* %-*s pads bytes, not characters: pad UTF-8 names by hand. */
	line = g_strdup_printf("%c %s%*s %-*s %-*s %5u  %s%s", mark, name,
			       (int)(w->name - g_utf8_strlen(name, -1)), "", w->host, cli_text(d->host),
			       w->addrs, addrs, d->port, shortfp, note);
	g_free(note);
	g_free(addrs);
	return line;
}

static void on_appeared(const struct idl_mdns_service *svc, void *user)
{
	struct list *l = user;
	struct device *d, *old;
	GError *err = NULL;
	struct idl_txt txt;

	if (idl_txt_decode(svc->txt, svc->txt_len, &txt, &err) < 0) {
		g_debug("ignoring %s on %s: %s", cli_quoted(svc->name), svc->host, err->message);
		g_error_free(err);
		return;
	}
	d = g_new0(struct device, 1);
	d->name = g_strdup(svc->name);
	d->host = g_strdup(svc->host);
	d->addresses = g_strdupv((char **)svc->addresses);
	d->port = svc->port;
	d->txt = txt;
	d->self = l->self_fp[0] && strcmp(l->self_fp, txt.fingerprint) == 0;
	old = g_hash_table_lookup(l->devices, svc->name);
	if (l->watch) {
		char *line = device_line(d, old ? '~' : '+', &min_widths);
		char *prev = old ? device_line(old, '~', &min_widths) : NULL;

		/* An update that changes nothing shown (a second address family
		 * resolving to the same data) is not worth a line. */
		if (!prev || strcmp(prev, line) != 0) {
			if (l->json)
				cli_print_json(device_json(d, old ? "updated" : "appeared"));
			else {
				puts(line);
				fflush(stdout);
			}
		}
		g_free(prev);
		g_free(line);
	}
	g_hash_table_replace(l->devices, d->name, d);
}

static void on_left(const char *name, void *user)
{
	struct list *l = user;
	struct device gone = { .name = (char *)name };

	if (!g_hash_table_remove(l->devices, name))
		return;
	if (!l->watch)
		return;
	if (l->json)
		cli_print_json(device_json(&gone, "left"));
	else {
		printf("- %s\n", cli_text(name));
		fflush(stdout);
	}
}

static void on_failed(const GError *err, void *user)
{
	struct list *l = user;

	cli_error("list", "%s", err->message);
	l->failed = true;
	cli_quit();
}

static gboolean on_timeout(gpointer user)
{
	*(guint *)user = 0;
	cli_quit();
	return G_SOURCE_REMOVE;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	const struct device *da = *(const struct device *const *)a, *db = *(const struct device *const *)b;

	return g_utf8_collate(da->name, db->name);
}

static void print_result(struct list *l)
{
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, l->devices);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);

	g_ptr_array_sort(all, by_name);
	if (l->json) {
		JsonArray *arr = json_array_new();
		JsonNode *root = json_node_new(JSON_NODE_ARRAY);

		for (guint i = 0; i < all->len; i++)
			json_array_add_element(arr, device_json(all->pdata[i], NULL));
		json_node_take_array(root, arr);
		cli_print_json(root);
	} else if (all->len == 0) {
		printf("no idrop-lan devices found\n");
	} else {
		struct widths w = min_widths;

		for (guint i = 0; i < all->len; i++) {
			struct device *d = all->pdata[i];
			char *addrs = device_addrs(d);
			w.name = MAX(w.name, (int)g_utf8_strlen(cli_text(d->name), -1));
			w.host = MAX(w.host, (int)strlen(cli_text(d->host)));
			w.addrs = MAX(w.addrs, (int)strlen(addrs));
			g_free(addrs);
		}
		printf("  %-*s %-*s %-*s %5s  %s\n", w.name, "NAME", w.host, "HOST", w.addrs, "ADDRESSES",
		       "PORT", "ID");
		for (guint i = 0; i < all->len; i++) {
			struct device *d = all->pdata[i];
			char *line = device_line(d, d->self && d->txt.kind != 'b' ? '*' : ' ', &w);
			puts(line);
			g_free(line);
		}
	}
	g_ptr_array_unref(all);
}

int cmd_list(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "interface", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "mdns", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct idl_mdns_browse_callbacks bcb = { on_appeared, on_left, on_failed };
	struct idl_mdns_options mopt = { .backend = IDL_MDNS_AUTO, .publish = false };
	struct list l = { 0 };
	struct idl_mdns *mdns = NULL;
	struct idl_mdns_browser *browser = NULL;
	struct idl_identity *id = NULL;
	const char *state_opt = NULL;
	unsigned timeout_ms = 1500;
	char *state_dir = NULL;
	bool verbose = false;
	GError *err = NULL;
	int c, ret = IDL_EXIT_FAILURE;
	guint timer = 0;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (cli_parse_seconds("list", optarg, &timeout_ms) < 0)
				return IDL_EXIT_USAGE;
			break;
		case 'j': l.json = true; break;
		case 'w': l.watch = true; break;
		case 'i': mopt.interface = optarg; break;
		case 's': state_opt = optarg; break;
		case 'm':
			if (cli_parse_backend("list", optarg, &mopt.backend) < 0)
				return IDL_EXIT_USAGE;
			break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return IDL_EXIT_OK;
		default: cli_bad_option("list", argv); return IDL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("list", "unexpected argument \"%s\" (see --help)", argv[optind]);
		return IDL_EXIT_USAGE;
	}
	cli_setup_logging(verbose);
	l.devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, device_free);

	/* Only to mark this device: list never creates an identity. */
	state_dir = cli_state_dir(state_opt);
	if (idl_identity_load(state_dir, &id, &err) == 0)
		g_strlcpy(l.self_fp, idl_identity_fingerprint(id), sizeof(l.self_fp));
	else
		g_debug("no identity to mark this device: %s", err->message);
	g_clear_error(&err);

	if (idl_mdns_new(&mopt, &mdns, &err) < 0 ||
	    idl_mdns_browse(mdns, IDL_SERVICE_TYPE, &bcb, &l, &browser, &err) < 0) {
		cli_error("list", "%s", err->message);
		goto out;
	}
	g_debug("browsing with %s", idl_mdns_backend_name(mdns));
	if (!l.watch)
		timer = g_timeout_add(timeout_ms, on_timeout, &timer);
	cli_run_until_signal();
	if (l.failed)
		goto out;
	if (!l.watch)
		print_result(&l);
	ret = IDL_EXIT_OK;
out:
	if (timer)
		g_source_remove(timer);
	idl_mdns_browser_free(browser);
	idl_mdns_free(mdns);
	idl_identity_free(id);
	g_clear_error(&err);
	if (l.devices)
		g_hash_table_destroy(l.devices);
	g_free(state_dir);
	return ret;
}
