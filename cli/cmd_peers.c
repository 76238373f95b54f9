/* cmd_peers: the known-peers commands. `idrop-lan peers` lists the peers
 * met in verified transfers (trust/known.h), `trust` marks one trusted
 * (serve --accept=trusted then takes its files unasked), `forget` removes
 * one so that its new fingerprint can be accepted. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "cli/cli.h"
#include "cli/peer_text.h"
#include "trust/identity.h"
#include "trust/known.h"

static void usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "peers"))
		fprintf(f, "Usage: idrop-lan peers [--json] [--state-dir DIR]\n"
			   "Lists the peers met in verified transfers: name, id, trusted or seen, when first\n"
			   "and last seen. A known name that comes back with another id is refused.\n\n"
			   "  --json             a JSON array, with the full fingerprints\n");
	else if (!strcmp(cmd, "trust"))
		fprintf(f, "Usage: idrop-lan trust [--name NAME] [--state-dir DIR] NAME|FINGERPRINT\n"
			   "Marks a known peer trusted (every name of its fingerprint): serve and receive\n"
			   "with --accept=trusted take its files without asking. Compare the verification\n"
			   "code, or the id `idrop-lan id` prints on the peer, before trusting it.\n\n"
			   "  --name NAME        add FINGERPRINT under NAME when it is not known yet\n");
	else
		fprintf(f, "Usage: idrop-lan forget [--state-dir DIR] NAME|FINGERPRINT\n"
			   "Removes a known peer (a FINGERPRINT: all its names), so that the next verified\n"
			   "transfer records it afresh, with whatever fingerprint it then has.\n\n");
	fprintf(f, "  --state-dir DIR    where known_peers is kept (default: $XDG_STATE_HOME/idrop-lan)\n");
}

/* Each command's options: getopt then refuses the others' as unknown. */
static const struct option *options_of(const char *cmd)
{
	static const struct option peers[] = {
		CLI_OPTION_STATE_DIR,
		{ "json", no_argument, NULL, 'j' },
		CLI_OPTION_HELP,
		{ 0 },
	};
	static const struct option trust[] = {
		CLI_OPTION_STATE_DIR,
		{ "name", required_argument, NULL, 'n' },
		CLI_OPTION_HELP,
		{ 0 },
	};

	static const struct option forget[] = {
		CLI_OPTION_STATE_DIR,
		CLI_OPTION_HELP,
		{ 0 },
	};

	return !strcmp(cmd, "peers") ? peers : !strcmp(cmd, "trust") ? trust : forget;
}

/* Parses the options of peers, trust or forget. Returns -1 to go on, else
 * an exit code. *key is the one argument (NULL for peers). */
static int parse_args(const char *cmd, int argc, char *argv[], const char **state_opt, const char **name,
		      bool *json, const char **key)
{
	struct cli_common common = CLI_COMMON_INIT(0);
	bool peers = !strcmp(cmd, "peers");
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options_of(cmd), NULL)) != -1) {
		switch (c) {
		case 'j': *json = true; break;
		case 'n': *name = optarg; break;
		case 'h': usage(stdout, cmd); return IDL_EXIT_OK;
		default:
			if ((r = cli_common_getopt(cmd, &common, c, argv)) >= 0)
				return r;
		}
	}
	*state_opt = common.state_dir;
	if (peers && optind < argc) {
		cli_error(cmd, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return IDL_EXIT_USAGE;
	}
	if (!peers && argc - optind != 1) {
		cli_error(cmd, "give one NAME or FINGERPRINT (see --help)");
		return IDL_EXIT_USAGE;
	}
	*key = peers ? NULL : argv[optind];
	if (*name && !idl_name_valid(*name, strlen(*name))) {
		cli_error(cmd, "the name \"%s\" is not usable: give 1 to 63 bytes of text, without control or hidden "
			  "(zero-width, right-to-left) characters, with --name", *name);
		return IDL_EXIT_USAGE;
	}
	return -1;
}

static bool is_fingerprint(const char *s)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];

	return idl_fingerprint_parse(s, raw) == 0;
}

/* ---- peers ---- */

static gint by_name(gconstpointer a, gconstpointer b)
{
	const struct idl_known_peer *const *pa = a, *const *pb = b;

	int r = g_ascii_strcasecmp((*pa)->name, (*pb)->name);

	return r ? r : (int)(*pa)->source - (int)(*pb)->source;
}

static JsonNode *peer_json(const struct idl_known_peer *p)
{
	JsonObject *o = json_object_new();
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1], t[21];

	idl_fingerprint_short(p->fingerprint, shortfp);
	json_object_set_string_member(o, "name", p->name);
	json_object_set_string_member(o, "fingerprint", p->fingerprint);
	json_object_set_string_member(o, "id", shortfp);
	json_object_set_string_member(o, "status", p->trusted ? "trusted" : "seen");
	json_object_set_string_member(o, "source", idl_known_source_name(p->source));
	idl_known_format_time(p->first_seen, t);
	json_object_set_string_member(o, "first_seen", t);
	idl_known_format_time(p->last_seen, t);
	json_object_set_string_member(o, "last_seen", t);
	json_node_take_object(n, o);
	return n;
}

static void print_table(GPtrArray *sorted)
{
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1], first[32], last[32];

	printf("  %-26s %-10s %-8s %-9s %-17s %s\n", "NAME", "ID", "STATUS", "NAME IS", "FIRST SEEN", "LAST SEEN");
	for (guint i = 0; i < sorted->len; i++) {
		const struct idl_known_peer *p = sorted->pdata[i];
		/* Quoted: spaces a name holds (or runs of them) cannot pass for
		 * the gaps between columns. */
		const char *name = cli_quoted(p->name);

		idl_fingerprint_short(p->fingerprint, shortfp);
		cli_format_date(p->first_seen, true, first, sizeof(first));
		cli_format_date(p->last_seen, true, last, sizeof(last));
		/* %-*s pads bytes, not characters: pad UTF-8 names by hand. */
		printf("  %s%*s %-10s %-8s %-9s %-17s %s\n", name, (int)MAX(0, 26 - g_utf8_strlen(name, -1)), "", shortfp,
		       p->trusted ? "trusted" : "seen", idl_known_source_name(p->source), first, last);
	}
}

int cmd_peers(int argc, char *argv[])
{
	const char *state_opt = NULL, *name = NULL, *key = NULL;
	struct idl_known *k = NULL;
	GPtrArray *sorted = NULL;
	char *dir = NULL;
	bool json = false;
	GError *err = NULL;
	int ret;

	cli_setup_logging(false);
	ret = parse_args("peers", argc, argv, &state_opt, &name, &json, &key);
	if (ret >= 0)
		return ret;
	ret = IDL_EXIT_FAILURE;
	dir = cli_state_dir(state_opt);
	if (idl_known_load(dir, &k, &err) < 0) {
		cli_error("peers", "%s", err->message);
		goto out;
	}
	sorted = g_ptr_array_new();
	for (guint i = 0; i < idl_known_count(k); i++)
		g_ptr_array_add(sorted, (gpointer)idl_known_get(k, i));
	g_ptr_array_sort(sorted, by_name);
	if (json) {
		JsonArray *a = json_array_new();
		JsonNode *n = json_node_new(JSON_NODE_ARRAY);

		for (guint i = 0; i < sorted->len; i++)
			json_array_add_element(a, peer_json(sorted->pdata[i]));
		json_node_take_array(n, a);
		cli_print_json(n);
	} else if (sorted->len == 0) {
		printf("no known peers yet in %s/%s: a peer is added after the first verified transfer with it\n", dir,
		       IDL_KNOWN_FILE);
	} else {
		print_table(sorted);
	}
	ret = IDL_EXIT_OK;
out:
	if (sorted)
		g_ptr_array_unref(sorted);
	g_clear_error(&err);
	idl_known_free(k);
	g_free(dir);
	return ret;
}

/* ---- trust and forget ---- */

struct edit {
	const char *key, *name;     /* name: trust --name */
	GArray *hits;               /* struct idl_known_peer: forget: as they were; trust: as they are */
	bool unknown;               /* key matched nothing: exit 3 */
	bool added;                 /* trust --name added the entry */
	bool already;               /* trust: it was trusted before */
};

static void collect(struct edit *e, const struct idl_known *k, const char *key)
{
	for (guint i = 0; i < idl_known_count(k); i++)
		if (idl_known_peer_matches(idl_known_get(k, i), key))
			g_array_append_val(e->hits, *idl_known_get(k, i));
}

static int not_known(struct edit *e, GError **err)
{
	e->unknown = true;
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s\"%s\" is not a known peer: `idrop-lan peers` lists them%s",
		    is_fingerprint(e->key) ? "the fingerprint " : "", e->key,
		    is_fingerprint(e->key) ? "; to trust it before any transfer, add it with --name NAME" : "");
	return -ENOENT;
}

/* trust FINGERPRINT --name NAME, for a fingerprint not known yet. */
static int add_named(struct edit *e, struct idl_known *k, GError **err)
{
	const struct idl_known_peer *old = idl_known_pin_conflict(k, e->name, e->key);

	if (old) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "%s is known with another fingerprint (%s): forget it first if that one is wrong",
			    cli_quoted(old->name), old->fingerprint);
		return -EEXIST;
	}
	/* The user compared the ids: the name is verified, a pin. */
	if (idl_known_record(k, e->name, e->key, IDL_KNOWN_VERIFIED, g_get_real_time() / G_USEC_PER_SEC) < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "the list of known peers is full of pinned and trusted peers: forget some first");
		return -ENOSPC;
	}
	e->added = true;
	return 0;
}

static int trust_edit(struct idl_known *k, void *user, GError **err)
{
	struct edit *e = user;
	const struct idl_known_peer *hit;
	int r;

	if (!idl_known_find_fingerprint(k, e->key) && !idl_known_find_name(k, e->key)) {
		if (!e->name)
			return not_known(e, err);
		if ((r = add_named(e, k, err)) < 0)
			return r;
	} else if (e->name) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS, "\"%s\" is known already: trust it without --name", e->key);
		return -EEXIST;
	}
	hit = idl_known_find_fingerprint(k, e->key);
	if (!hit)
		hit = idl_known_find_name(k, e->key);
	collect(e, k, hit->fingerprint);
	e->already = !e->added;
	for (guint i = 0; i < e->hits->len; i++)
		e->already = e->already && g_array_index(e->hits, struct idl_known_peer, i).trusted;
	/* By name, trust also makes that name a pin: a change if it was a claim. */
	if (!is_fingerprint(e->key))
		e->already = e->already && idl_known_find_name(k, e->key)->source == IDL_KNOWN_VERIFIED;
	r = idl_known_trust(k, e->key);
	if (r == -ENOTUNIQ) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "several ids have claimed the name \"%s\": trust the one you mean by its fingerprint "
			    "(idrop-lan peers --json lists them)", e->key);
		return r;
	}
	/* Reported: every name of that fingerprint, as they are now. */
	g_array_set_size(e->hits, 0);
	collect(e, k, hit->fingerprint);
	return e->already ? 0 : r;
}

static int forget_edit(struct idl_known *k, void *user, GError **err)
{
	struct edit *e = user;

	collect(e, k, e->key);
	if (!e->hits->len)
		return not_known(e, err);
	return idl_known_forget(k, e->key);
}

static void print_entry(const char *what, const struct idl_known_peer *p)
{
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1], first[32];

	idl_fingerprint_short(p->fingerprint, shortfp);
	cli_format_date(p->first_seen, false, first, sizeof(first));
	printf("%s %s (id %s, %s, %s, known since %s)\n", what, cli_quoted(p->name), shortfp,
	       p->trusted ? "trusted" : "seen", idl_known_source_name(p->source), first);
}

static int run_edit(const char *cmd, int argc, char *argv[], idl_known_edit_fn fn, struct edit *e, char **dir)
{
	const char *state_opt = NULL;
	bool json = false;
	GError *err = NULL;
	int r;

	cli_setup_logging(false);
	r = parse_args(cmd, argc, argv, &state_opt, &e->name, &json, &e->key);
	if (r >= 0)
		return r;
	if (e->name && !is_fingerprint(e->key)) {
		cli_error(cmd, "--name is for adding a FINGERPRINT (64 hex digits), not \"%s\"", e->key);
		return IDL_EXIT_USAGE;
	}
	*dir = cli_state_dir(state_opt);
	e->hits = g_array_new(FALSE, TRUE, sizeof(struct idl_known_peer));
	if (idl_known_update(*dir, fn, e, &err) < 0) {
		cli_error(cmd, "%s", err->message);
		g_error_free(err);
		return e->unknown ? IDL_EXIT_NOT_FOUND : IDL_EXIT_FAILURE;
	}
	return -1;
}

int cmd_trust(int argc, char *argv[])
{
	struct edit e = { 0 };
	char *dir = NULL;
	int ret = run_edit("trust", argc, argv, trust_edit, &e, &dir);

	if (ret < 0) {
		for (guint i = 0; i < e.hits->len; i++)
			print_entry(e.already ? "already trusted:" : e.added ? "added and trusted:" : "trusted:",
				    &g_array_index(e.hits, struct idl_known_peer, i));
		printf("serve and receive with --accept=trusted take its files without asking\n");
		for (guint i = 0; i < e.hits->len; i++) {
			if (g_array_index(e.hits, struct idl_known_peer, i).source == IDL_KNOWN_CLAIMED) {
				printf("the names it only claimed pin nothing: `idrop-lan trust NAME` vouches for one\n");
				break;
			}
		}
		ret = IDL_EXIT_OK;
	}
	if (e.hits)
		g_array_unref(e.hits);
	g_free(dir);
	return ret;
}

int cmd_forget(int argc, char *argv[])
{
	struct edit e = { 0 };
	char *dir = NULL;
	int ret = run_edit("forget", argc, argv, forget_edit, &e, &dir);

	if (ret < 0) {
		for (guint i = 0; i < e.hits->len; i++)
			print_entry("forgotten:", &g_array_index(e.hits, struct idl_known_peer, i));
		printf("the next verified transfer with it records it again, with the fingerprint it then has\n");
		ret = IDL_EXIT_OK;
	}
	if (e.hits)
		g_array_unref(e.hits);
	g_free(dir);
	return ret;
}
