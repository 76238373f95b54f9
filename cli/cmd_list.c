/* cmd_list: `idrop-lan list` browses DNS-SD until answers stop coming (at
 * most --timeout) and prints the idrop-lan devices found (a table, or
 * JSON); --watch streams devices appearing and leaving until interrupted. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "discovery/mdns.h"
#include "discovery/table.h"
#include "trust/identity.h"

/* What the command line asked for. */
struct list_opts {
	unsigned timeout_ms;
	bool json;
	bool watch;
	bool verbose;
	const char *state_dir;       /* --state-dir, or NULL for the default */
	struct idl_mdns_options mdns;
};

/* When a one-shot list calls discovery settled. Besides the browse, list
 * sends one-shot queries (idl_devtable_oneshot: at 0, 100 and 200 ms),
 * which every device answers at once by unicast (RFC 6762 sections 5.1
 * and 6.7; measured here: within a few ms): ROUND_MS covers the last of
 * them with its answers, and QUIET_MS without a new answer, and no device
 * still being resolved, means they are all in.
 *
 * Without one-shot queries (no socket could be opened), only the browse
 * is heard, whose multicast answers a device may hold back: a responder
 * does not multicast a record again within half a second (Avahi; a second
 * in RFC 6762 section 6), so a device that just announced itself, or just
 * answered another host, is silent to the first query and answers the
 * next, which Avahi sends a second later, as it says "all for now"
 * (AVAHI_BROWSER_ALL_FOR_NOW, avahi-core's multicast-lookup.c). What it
 * multicast meanwhile is in avahi-daemon's cache, which was listening
 * (idl_mdns_warm_cache): the first round is enough there. The embedded
 * responder starts cold, and so does a list that has heard nobody yet:
 * they wait for that second query, AFTER_ALL_FOR_NOW_MS for its answers.
 * --timeout stays the bound. */
#define ROUND_MS 300
#define QUIET_MS 150
#define AFTER_ALL_FOR_NOW_MS 350
#define SETTLE_TICK_MS 20

struct list {
	const struct list_opts *o;
	struct idl_devtable *table;
	bool failed;
	gint64 t_start;             /* the browse started */
	gint64 t_last;              /* the last device appeared or changed */
	gint64 t_all_for_now;       /* Avahi's first round was seen over, or 0 */
	bool found;                 /* a device appeared */
	bool one_round;             /* the first round is enough (a warm cache) */
	bool oneshot;               /* one-shot queries went out: no hold-back to wait out */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: idrop-lan list [OPTIONS]\n"
		"Shows the idrop-lan devices on the local network.\n\n"
		"  --timeout SECONDS  browse at most this long (default 1.5); the list ends\n"
		"                     sooner, once answers stop coming\n"
		"  --json             machine-readable output\n"
		"  --watch            stream devices appearing (+), changing (~) and leaving (-)\n"
		"                     until Ctrl-C\n"
		"  --interface IF     browse only on this interface\n"
		"  --state-dir DIR    identity used to mark this device (default: $XDG_STATE_HOME/idrop-lan)\n"
		"  --mdns MODE        auto, daemon (avahi-daemon) or embedded (default auto)\n"
		"  -v, --verbose      log discovery details\n");
}

/* Column widths of the table; --watch lines use the minimums. */
struct widths {
	int name, host, addrs;
};
static const struct widths min_widths = { 12, 14, 12 };

static char *device_addrs(const struct idl_devtable_entry *e)
{
	return g_strjoinv(",", e->addresses);
}

static char *device_line(const struct idl_devtable_entry *e, char mark, const struct widths *w)
{
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];
	char *addrs = device_addrs(e), *line, *note;

	const char *name = cli_text(e->name);

	idl_fingerprint_short(e->txt.fingerprint, shortfp);
	if (e->txt.kind == 'b')
		note = g_strdup_printf("  (browser on %s)", cli_text(e->txt.device[0] ? e->txt.device : e->host));
	else
		note = g_strdup(e->this_device ? "  (this device)" : "");
	/* %-*s pads bytes, not characters: pad UTF-8 names by hand. */
	line = g_strdup_printf("%c %s%*s %-*s %-*s %5u  %s%s", mark, name,
			       (int)(w->name - g_utf8_strlen(name, -1)), "", w->host, cli_text(e->host),
			       w->addrs, addrs, e->port, shortfp, note);
	g_free(note);
	g_free(addrs);
	return line;
}

/* One --watch event: a line, or a JSON object. */
static void print_event(const struct list *l, const struct idl_devtable_entry *e, enum idl_devtable_event ev,
			const char *line)
{
	if (l->o->json)
		cli_print_json(idl_devtable_entry_json(e, ev));
	else {
		puts(line);
		fflush(stdout);
	}
}

static void on_appeared(const struct idl_devtable_entry *e, void *user)
{
	struct list *l = user;
	char *line;

	l->t_last = g_get_monotonic_time();
	l->found = true;
	if (!l->o->watch)
		return;
	line = device_line(e, '+', &min_widths);
	print_event(l, e, IDL_DEVTABLE_APPEARED, line);
	g_free(line);
}

static void on_changed(const struct idl_devtable_entry *old, const struct idl_devtable_entry *now, void *user)
{
	struct list *l = user;
	char *line, *prev;

	l->t_last = g_get_monotonic_time();
	if (!l->o->watch)
		return;
	line = device_line(now, '~', &min_widths);
	prev = device_line(old, '~', &min_widths);
	/* A change that shows nothing new (a TXT key the line does not show)
	 * is not worth a line. */
	if (strcmp(prev, line) != 0)
		print_event(l, now, IDL_DEVTABLE_CHANGED, line);
	g_free(prev);
	g_free(line);
}

static void on_left(const struct idl_devtable_entry *e, void *user)
{
	struct list *l = user;
	char *line;

	if (!l->o->watch)
		return;
	line = g_strdup_printf("- %s", cli_text(e->name));
	print_event(l, e, IDL_DEVTABLE_LEFT, line);
	g_free(line);
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

static gboolean on_settle_tick(gpointer user)
{
	struct list *l = user;
	gint64 now = g_get_monotonic_time();

	if (!l->t_all_for_now && idl_devtable_all_for_now(l->table))
		l->t_all_for_now = now;
	if (now - l->t_start < ROUND_MS * 1000 || now - l->t_last < QUIET_MS * 1000 ||
	    idl_devtable_resolving(l->table))
		return G_SOURCE_CONTINUE;
	if (!l->oneshot && (!l->found || !l->one_round) &&
	    (!l->t_all_for_now || now - l->t_all_for_now < AFTER_ALL_FOR_NOW_MS * 1000))
		return G_SOURCE_CONTINUE;
	g_debug("discovery settled after %.0f ms", (double)(now - l->t_start) / 1000);
	cli_quit();
	return G_SOURCE_CONTINUE;
}

static void print_table(const struct idl_devtable *t)
{
	GPtrArray *all = idl_devtable_entries(t);
	struct widths w = min_widths;

	if (all->len == 0) {
		printf("no idrop-lan devices found\n");
		g_ptr_array_unref(all);
		return;
	}
	for (guint i = 0; i < all->len; i++) {
		const struct idl_devtable_entry *e = all->pdata[i];
		char *addrs = device_addrs(e);

		w.name = MAX(w.name, (int)g_utf8_strlen(cli_text(e->name), -1));
		w.host = MAX(w.host, (int)strlen(cli_text(e->host)));
		w.addrs = MAX(w.addrs, (int)strlen(addrs));
		g_free(addrs);
	}
	printf("  %-*s %-*s %-*s %5s  %s\n", w.name, "NAME", w.host, "HOST", w.addrs, "ADDRESSES",
	       "PORT", "ID");
	for (guint i = 0; i < all->len; i++) {
		const struct idl_devtable_entry *e = all->pdata[i];
		char *line = device_line(e, e->this_device ? '*' : ' ', &w);

		puts(line);
		g_free(line);
	}
	g_ptr_array_unref(all);
}

/* Fills *o from the command line. Returns -1 to go on and run, else the
 * exit status (--help, or a usage error already told). */
static int list_parse(int argc, char *argv[], struct list_opts *o)
{
	static const struct option opts[] = {
		CLI_OPTION_TIMEOUT,
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		CLI_OPTION_INTERFACE,
		CLI_OPTION_STATE_DIR,
		CLI_OPTION_MDNS,
		CLI_OPTION_VERBOSE,
		CLI_OPTION_HELP,
		{ 0 },
	};
	struct cli_common common = CLI_COMMON_INIT(1500);
	int c, r;

	*o = (struct list_opts){ .mdns = { .publish = false } };
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'w': o->watch = true; break;
		case 'h': usage(stdout); return IDL_EXIT_OK;
		default:
			if ((r = cli_common_getopt("list", &common, c, argv)) >= 0)
				return r;
		}
	}
	if (optind != argc) {
		cli_error("list", "unexpected argument \"%s\" (see --help)", argv[optind]);
		return IDL_EXIT_USAGE;
	}
	o->timeout_ms = common.timeout_ms;
	o->mdns.interface = common.interface;
	o->mdns.backend = common.backend;
	o->state_dir = common.state_dir;
	o->verbose = common.verbose;
	return -1;
}

static int list_run(const struct list_opts *o)
{
	static const struct idl_devtable_callbacks cb = { on_appeared, on_changed, on_left, on_failed };
	char self_fp[IDL_FINGERPRINT_HEX_LEN + 1] = "";
	struct list l = { .o = o };
	struct idl_mdns *mdns = NULL;
	struct idl_identity *id = NULL;
	char *state_dir = NULL;
	GError *err = NULL;
	int ret = IDL_EXIT_FAILURE;
	guint timer = 0, settle = 0;

	cli_setup_logging(o->verbose);

	/* Only to mark this device: list never creates an identity. */
	state_dir = cli_state_dir(o->state_dir);
	if (idl_identity_load(state_dir, &id, &err) == 0)
		g_strlcpy(self_fp, idl_identity_fingerprint(id), sizeof(self_fp));
	else
		g_debug("no identity to mark this device: %s", err->message);
	g_clear_error(&err);
	l.table = idl_devtable_new(self_fp, &cb, &l);

	if (idl_mdns_new(&o->mdns, &mdns, &err) < 0 || idl_devtable_browse(l.table, mdns, &err) < 0) {
		cli_error("list", "%s", err->message);
		goto out;
	}
	g_debug("browsing with %s", idl_mdns_backend_name(mdns));
	if (!o->watch) {
		/* Ends when discovery settles, at the latest at --timeout. */
		l.t_start = l.t_last = g_get_monotonic_time();
		l.one_round = idl_mdns_warm_cache(mdns);
		if (idl_devtable_oneshot(l.table, &err) == 0)
			l.oneshot = true;
		else
			g_debug("%s: waiting for the browse alone", err->message);
		g_clear_error(&err);
		timer = g_timeout_add(o->timeout_ms, on_timeout, &timer);
		settle = g_timeout_add(SETTLE_TICK_MS, on_settle_tick, &l);
	}
	cli_run_until_signal();
	if (l.failed)
		goto out;
	if (!o->watch && o->json)
		cli_print_json(idl_devtable_json(l.table));
	else if (!o->watch)
		print_table(l.table);
	ret = IDL_EXIT_OK;
out:
	if (timer)
		g_source_remove(timer);
	if (settle)
		g_source_remove(settle);
	/* The table (its browser) goes before the mdns it browses. */
	idl_devtable_free(l.table);
	idl_mdns_free(mdns);
	idl_identity_free(id);
	g_clear_error(&err);
	g_free(state_dir);
	return ret;
}

int cmd_list(int argc, char *argv[])
{
	struct list_opts o;
	int ret = list_parse(argc, argv, &o);

	return ret >= 0 ? ret : list_run(&o);
}
