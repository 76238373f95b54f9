/* cmd_send: `idrop-lan send TARGET FILE|DIR...` finds the device, connects
 * (fingerprint checked against its advertisement), offers the files on an
 * `idrop` channel, streams what the receiver accepts with progress, and
 * exits 0 only when the receiver verified every file. Each way it can fail
 * has its own exit code (cli.h), so scripts can tell them apart. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "cli/cli.h"
#include "cli/peer_text.h"
#include "web/connect.h"
#include "cli/progress.h"
#include "discovery/target.h"
#include "discovery/txt.h"
#include "transfer/files.h"
#include "transfer/sender.h"
#include "trust/known.h"

#define TICK_MS 100

/* What the command line asked for. */
struct send_options {
	struct cli_common common;   /* timeout_ms: for connecting (discovery has its own) */
	const char *name;           /* the name the receiver sees */
	bool quiet, json;
	struct idl_target target;
	char **paths;               /* FILE|DIR..., borrowed from argv */
	size_t n_paths;
};

/* One run: the connection, the sender and how it ended. */
struct send {
	const struct send_options *o;
	GPtrArray *files;
	struct idl_identity *id;
	struct idl_connect *conn;
	struct idl_channel *ch;
	struct idl_sender *sender;
	struct cli_progress *progress;
	guint tick, deadline;
	gint64 t_start;             /* the channel opened */
	struct idl_known *known;    /* known_peers, for pinning the target's name */
	const char *state_dir;
	int exit_code;              /* -1 while running */
	char *failure;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: idrop-lan send [OPTIONS] TARGET FILE|DIR...\n"
		"Sends files and folders (recursively) to TARGET: host.local, a name from\n"
		"`idrop-lan list`, or IP[:PORT]. Exit 0 once the receiver verified every file;\n"
		"an interrupted send resumes when run again.\n\n"
		"  --name NAME        the name the receiver sees (default: the host name)\n"
		"  --timeout SECONDS  give up connecting after this long (default 30; finding\n"
		"                     the device takes at most 5 more)\n"
		"  --quiet            no progress and no summary, only errors\n"
		"  --json             one JSON summary line on stdout\n"
		"  --interface IF     use only this interface\n"
		"  --state-dir DIR    identity to connect as (default: $XDG_STATE_HOME/idrop-lan)\n"
		"  --mdns MODE        auto, daemon (avahi-daemon) or embedded (default auto)\n"
		"  -v, --verbose      log every layer\n\n"
		"Exit codes: 0 verified, 1 other error, 2 usage, 3 device not found,\n"
		"4 refused or declined, 5 fingerprint mismatch, 6 connection failed or lost,\n"
		"7 a file not verified, 130 interrupted.\n");
}

static void stop(struct send *s, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void stop(struct send *s, int code, const char *fmt, ...)
{
	va_list ap;

	if (s->exit_code >= 0)
		return;
	s->exit_code = code;
	if (fmt) {
		va_start(ap, fmt);
		s->failure = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	cli_quit();
}

static const char *current_path(const struct send *s, guint index)
{
	return ((const struct idl_send_file *)g_ptr_array_index(s->files, MIN(index, s->files->len - 1)))->path;
}

static gboolean on_tick(gpointer user)
{
	struct send *s = user;
	struct idl_sender_stats st;

	idl_sender_stats(s->sender, &st);
	cli_progress_update(s->progress, current_path(s, st.current), st.done, st.total);
	return G_SOURCE_CONTINUE;
}

/* ---- the sender ---- */

static void on_accepted(struct idl_sender *sender, void *user)
{
	struct send *s = user;
	struct idl_sender_stats st;
	char held[32];

	idl_sender_stats(sender, &st);
	if (st.resumed && !s->o->quiet && !s->o->json) {
		cli_progress_clear(s->progress);
		fprintf(stderr, "idrop-lan: send: resuming: the receiver already holds %s\n",
			cli_format_size(st.resumed, held, sizeof(held)));
	}
	if (!s->tick)
		s->tick = g_timeout_add(TICK_MS, on_tick, s);
}

static void on_file_result(struct idl_sender *sender, guint index, bool ok, const char *reason, void *user)
{
	struct send *s = user;

	(void)sender;
	if (ok)
		return;
	cli_progress_clear(s->progress);
	cli_error("send", "%s was not kept by the receiver: %s", current_path(s, index), reason);
}

static void on_finished(struct idl_sender *sender, enum idl_xfer_result r, const char *reason, void *user)
{
	struct send *s = user;

	(void)sender;
	switch (r) {
	case IDL_XFER_OK: stop(s, IDL_EXIT_OK, NULL); break;
	case IDL_XFER_DECLINED: stop(s, IDL_EXIT_DECLINED, "the receiver declined: %s", reason); break;
	case IDL_XFER_VERIFY: stop(s, IDL_EXIT_VERIFY, "%s", reason); break;
	case IDL_XFER_CANCELLED:
	case IDL_XFER_CLOSED:
		stop(s, IDL_EXIT_LOST, "%s; run the same command again to resume", reason);
		break;
	case IDL_XFER_PROTOCOL:
	case IDL_XFER_LOCAL:
		stop(s, IDL_EXIT_FAILURE, "%s", reason);
		break;
	}
}

/* ---- the channel ---- */

static void ch_open(struct idl_channel *ch, void *user)
{
	struct send *s = user;

	if (s->deadline) {
		/* Connected in time: the device confirmed our channel. From here
		 * only a human (consent) or the network's own timeouts (ICE
		 * consent, SCTP) can make us wait. */
		g_source_remove(s->deadline);
		s->deadline = 0;
	}
	/* Refilled at a quarter of the sender's high-water mark, so the
	 * association never runs dry while the next blocks are queued. */
	idl_channel_set_buffered_low_threshold(ch, 1024 * 1024);
	s->t_start = g_get_monotonic_time();
	idl_sender_start(s->sender);
}

static void ch_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct send *s = user;

	(void)ch;
	idl_sender_feed(s->sender, binary, data, len);
}

static void ch_low(struct idl_channel *ch, void *user)
{
	struct send *s = user;

	(void)ch;
	idl_sender_pump(s->sender);
}

static void ch_closed(struct idl_channel *ch, void *user)
{
	struct send *s = user;

	(void)ch;
	s->ch = NULL;
	idl_sender_closed(s->sender);
}

/* ---- the connection ---- */

static gboolean on_deadline(gpointer user)
{
	struct send *s = user;
	char *why = idl_connect_why_stalled(s->conn, s->o->common.timeout_ms);

	s->deadline = 0;
	if (why)
		stop(s, IDL_EXIT_LOST, "%s", why);
	else
		stop(s, IDL_EXIT_LOST, "not connected within %.0f s: see --verbose for where it stopped",
		     s->o->common.timeout_ms / 1000.0);
	g_free(why);
	return G_SOURCE_REMOVE;
}

static void on_resolved(const struct idl_resolved *res, void *user)
{
	struct send *s = user;
	char total[32], shortfp[IDL_FINGERPRINT_SHORT_LEN + 1] = "";

	/* Discovery has its own bound; this one is for connecting. */
	s->deadline = g_timeout_add(s->o->common.timeout_ms, on_deadline, s);
	if (res->fingerprint[0])
		idl_fingerprint_short(res->fingerprint, shortfp);
	if (!s->o->quiet && !s->o->json)
		fprintf(stderr, "idrop-lan: send: %u file%s (%s) to %s (%s%s%s%s port %u, id %s)\n", s->files->len,
			s->files->len == 1 ? "" : "s",
			cli_format_size(idl_files_total(s->files), total, sizeof(total)),
			res->name[0] ? cli_text(res->name) : res->address, res->kind == 'b' ? "a browser on " : "",
			res->kind == 'b' ? cli_text(res->device) : "", res->kind == 'b' ? ", relayed by " : "", res->address,
			res->port, shortfp[0] ? shortfp : "unknown: learned on connect");
}

/* ---- known peers ---- */

/* Pinning: a name known_peers pins (verified by an earlier send, or
 * trusted) to another fingerprint is refused before our offer goes out,
 * whether the name was typed or found from a host name, and whether it is
 * a device or a browser tab. What senders merely claimed pins nothing here:
 * anyone may claim any name. A name that only looks like a known one (other
 * letters or hidden characters, one skeleton) is said, not refused: the
 * user chose it. An IP target has no name discovery vouched for: nothing
 * to pin. */
static bool vet_target(const struct idl_resolved *res, void *user)
{
	struct send *s = user;
	struct idl_known_verdict v;
	const struct idl_known_peer *look;
	char *warning, shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];

	if (!res->name[0] || !res->fingerprint[0])
		return true;
	idl_known_judge(s->known, res->name, res->fingerprint, &v);
	if (!v.pin) {
		look = v.lookalike;
		if (look) {
			idl_fingerprint_short(look->fingerprint, shortfp);
			fprintf(stderr, "idrop-lan: send: WARNING: %s looks like the known peer %s (id %s) but is "
				"another name (other letters, or hidden characters): if you meant %s, this is not it; "
				"compare the verification code with the receiver's\n",
				cli_quoted(res->name), cli_quoted(look->name), shortfp, cli_quoted(look->name));
		}
		return true;
	}
	warning = cli_known_warning("idrop-lan: send: ", v.pin, res->fingerprint, s->state_dir, "Nothing was sent.",
				    "then send again, and compare the verification code with the one the receiver shows.");
	fputs(warning, stderr);
	g_free(warning);
	stop(s, IDL_EXIT_FINGERPRINT, "refused: %s does not have the fingerprint it had before (see above)",
	     cli_quoted(res->name));
	return false;
}

/* An IP target's id is compared by hand; say when it is one we know. */
static void note_known_id(const struct send *s, const char *fp)
{
	const struct idl_known_peer *p = idl_known_find_fingerprint(s->known, fp);
	char since[16];

	if (!p)
		return;
	cli_format_date(p->first_seen, false, since, sizeof(since));
	fprintf(stderr, "idrop-lan: send: that id is the known peer %s (%s, since %s)\n", cli_quoted(p->name),
		idl_known_trusted(s->known, fp) ? "trusted" : "seen", since);
}

/* After a verified transfer the target's name is pinned to its key (or its
 * last-seen time moves): a verified entry, since the device advertised the
 * name with the fingerprint DTLS then proved. Nothing is recorded for an IP target: the only
 * name at hand would be /api/info's, plain HTTP that nothing in this
 * session vouched for, and pinning it would refuse the real device later. */
static void remember_target(struct send *s)
{
	const struct idl_resolved *res = idl_connect_target(s->conn);
	struct idl_peer *p = idl_connect_peer(s->conn);
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];
	GError *err = NULL;
	int r;

	if (!res->name[0] || !p)
		return;
	r = idl_known_remember(s->state_dir, res->name, idl_peer_remote_fingerprint(p), IDL_KNOWN_VERIFIED, &err);
	idl_fingerprint_short(idl_peer_remote_fingerprint(p), shortfp);
	if (r == 1 && !s->o->quiet && !s->o->json)
		fprintf(stderr, "idrop-lan: send: remembered %s (id %s) as a known peer: another id under this "
			"name will be refused\n", cli_quoted(res->name), shortfp);
	if (r < 0) {
		cli_error("send", "not remembered as a known peer: %s", err->message);
		g_error_free(err);
	}
}

/* People who want to be sure nobody sits in between compare this with the
 * code the receiver shows (docs/PROTOCOL.md, "Verification code"). */
static void on_code(struct idl_sender *sender, const char *code, void *user)
{
	struct send *s = user;

	(void)sender;
	if (s->o->quiet || s->o->json)
		return;
	if (code)
		fprintf(stderr, "idrop-lan: send: verification code %s (the receiver shows the same code, "
			"or someone is in between)\n", code);
	else
		fprintf(stderr, "idrop-lan: send: no verification code: the receiver does not show one (an older "
			"version, or someone in between removed it)\n");
}

static void on_connected(struct idl_peer *p, void *user)
{
	static const struct idl_channel_callbacks ccb = { ch_open, ch_message, ch_low, ch_closed };
	static const struct idl_sender_callbacks scb = { on_accepted, on_file_result, on_finished, on_code };
	struct send *s = user;
	struct idl_link link;
	GError *err = NULL;

	if (!idl_connect_target(s->conn)->fingerprint[0] && !s->o->quiet && !s->o->json) {
		fprintf(stderr, "idrop-lan: send: connected to id %s: compare it with `idrop-lan id` on the device\n",
			idl_peer_remote_fingerprint(p));
		note_known_id(s, idl_peer_remote_fingerprint(p));
	}
	s->ch = idl_peer_open_channel(p, "idrop", "idrop/1", true, &ccb, s, &err);
	if (!s->ch) {
		stop(s, IDL_EXIT_LOST, "data channel: %s", err->message);
		g_error_free(err);
		return;
	}
	cli_channel_link(s->ch, &link);
	if (idl_sender_new(s->files, s->o->name, &link, &scb, s, &s->sender, &err) < 0) {
		stop(s, IDL_EXIT_FAILURE, "%s", err->message);
		g_error_free(err);
		return;
	}
	idl_sender_set_fingerprints(s->sender, idl_identity_fingerprint(s->id), idl_peer_remote_fingerprint(p));
}

static void on_failed(enum idl_connect_failure kind, const char *message, void *user)
{
	static const int codes[] = {
		[IDL_CONNECT_NOT_FOUND] = IDL_EXIT_NOT_FOUND, [IDL_CONNECT_REFUSED] = IDL_EXIT_DECLINED,
		[IDL_CONNECT_FINGERPRINT] = IDL_EXIT_FINGERPRINT, [IDL_CONNECT_LOST] = IDL_EXIT_LOST,
	};
	struct send *s = user;

	if (s->sender && kind == IDL_CONNECT_LOST) {
		idl_sender_closed(s->sender);   /* it reports how far it got */
		if (s->exit_code >= 0)
			return;
	}
	stop(s, codes[kind], "%s", message);
}

static void print_summary(struct send *s)
{
	struct idl_sender_stats st;
	char total[32];
	double secs = s->t_start ? (double)(g_get_monotonic_time() - s->t_start) / 1e6 : 0, mbps;

	memset(&st, 0, sizeof(st));
	if (s->sender)
		idl_sender_stats(s->sender, &st);
	mbps = secs > 0 ? (double)st.sent / 1e6 / secs : 0;
	if (s->o->json) {
		printf("{\"exit\":%d,\"files\":%u,\"verified\":%u,\"failed\":%u,\"bytes\":%" G_GUINT64_FORMAT
		       ",\"sent\":%" G_GUINT64_FORMAT ",\"resumed\":%" G_GUINT64_FORMAT
		       ",\"seconds\":%.3f,\"mb_per_s\":%.2f}\n",
		       s->exit_code, st.files, st.files_verified, st.files_failed, st.total, st.sent, st.resumed,
		       secs, mbps);
		fflush(stdout);
		return;
	}
	if (s->o->quiet || s->exit_code != IDL_EXIT_OK)
		return;
	printf("sent %u file%s, %s in %.1f s (%.1f MB/s), verified%s\n", st.files, st.files == 1 ? "" : "s",
	       cli_format_size(st.total, total, sizeof(total)), secs, mbps,
	       st.resumed ? " (resumed)" : "");
}

/* Parses argv into *o. Returns -1 to go on, else the exit code. */
static int parse_args(struct send_options *o, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		CLI_OPTION_TIMEOUT,
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPTION_INTERFACE,
		CLI_OPTION_STATE_DIR,
		CLI_OPTION_MDNS,
		CLI_OPTION_VERBOSE,
		CLI_OPTION_HELP,
		{ 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o->name = optarg; break;
		case 'q': o->quiet = true; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); return IDL_EXIT_OK;
		default:
			if ((r = cli_common_getopt("send", &o->common, c, argv)) >= 0)
				return r;
		}
	}
	if (argc - optind < 2) {
		cli_error("send", "give a TARGET and at least one FILE or DIR (see --help)");
		return IDL_EXIT_USAGE;
	}
	if (!idl_name_valid(o->name, strlen(o->name))) {
		cli_error("send", "the name \"%s\" is not usable: give 1 to 63 bytes of text, without control or "
			  "hidden (zero-width, right-to-left) characters, with --name", o->name);
		return IDL_EXIT_USAGE;
	}
	if (cli_parse_target("send", argv[optind], &o->target) < 0)
		return IDL_EXIT_USAGE;
	o->paths = argv + optind + 1;
	o->n_paths = (size_t)(argc - optind - 1);
	return -1;
}

/* The files to send into s->files. Returns -1 to go on, else the exit code. */
static int collect_files(struct send *s)
{
	GPtrArray *skipped = NULL;
	GError *err = NULL;
	int ret = -1;

	if (idl_files_collect(s->o->paths, s->o->n_paths, &s->files, &skipped, &err) < 0) {
		cli_error("send", "%s", err->message);
		g_error_free(err);
		return IDL_EXIT_FAILURE;
	}
	for (guint i = 0; i < skipped->len; i++)
		cli_error("send", "skipping %s", (char *)skipped->pdata[i]);
	if (!s->files->len) {
		cli_error("send", "nothing to send: no regular files in what was given");
		ret = IDL_EXIT_FAILURE;
	}
	g_ptr_array_unref(skipped);
	return ret;
}

/* After the loop ended on sig (0: the transfer ended it): tells the
 * receiver when interrupted, then reports how it went. */
static void finish(struct send *s, int sig)
{
	if (sig && s->exit_code < 0) {
		stop(s, IDL_EXIT_INTERRUPTED, "interrupted (%s): run the same command again to resume",
		     strsignal(sig));
		/* Tell the receiver, so it keeps what it has for the resume. The
		 * cancel queues behind the data in flight; the receiver closes the
		 * channel once it has it (docs/PROTOCOL.md), or we give up. */
		if (s->sender && s->ch) {
			gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
			idl_sender_cancel(s->sender, "the sender was interrupted");
			while (s->ch && g_get_monotonic_time() < end)
				g_main_context_iteration(NULL, TRUE);
		}
	}
	if (s->tick)
		g_source_remove(s->tick);
	s->tick = 0;
	cli_progress_free(s->progress);
	s->progress = NULL;
	if (s->exit_code != IDL_EXIT_OK)
		cli_drain(s->ch, 1000);   /* our cancel, if any, goes out first */
	cli_shutdown_peer(idl_connect_peer(s->conn), CLI_SHUTDOWN_MS);
	if (s->failure)
		cli_error("send", "%s", s->failure);
	if (s->exit_code == IDL_EXIT_OK)
		remember_target(s);
	print_summary(s);
}

static int run(const struct send_options *o)
{
	static const struct idl_connect_callbacks ccb = { on_resolved, on_connected, on_failed };
	struct idl_connect_options copt = {
		.target = o->target,
		.interface = o->common.interface,
		.timeout_ms = o->common.timeout_ms,
		.backend = o->common.backend,
		.vet = vet_target,
	};
	struct send s = { .o = o, .exit_code = -1 };
	char *state_dir = NULL, *msg = NULL;
	GError *err = NULL;
	int r;

	cli_setup_logging(o->common.verbose);
	r = collect_files(&s);
	if (r >= 0) {
		s.exit_code = r;
		goto out;
	}
	state_dir = cli_state_dir(o->common.state_dir);
	if (idl_identity_load_or_create(state_dir, &s.id, &err) < 0 || idl_known_load(state_dir, &s.known, &err) < 0) {
		cli_error("send", "%s", err->message);
		s.exit_code = IDL_EXIT_FAILURE;
		goto out;
	}
	s.state_dir = state_dir;
	copt.id = s.id;
	s.progress = cli_progress_new("sending", o->quiet || o->json);
	if (idl_connect_start(&copt, &ccb, &s, &s.conn, &msg) < 0) {
		cli_error("send", "%s", msg);
		s.exit_code = IDL_EXIT_NOT_FOUND;
		goto out;
	}
	finish(&s, cli_run_until_signal());
out:
	if (s.tick)
		g_source_remove(s.tick);
	if (s.deadline)
		g_source_remove(s.deadline);
	cli_progress_free(s.progress);
	/* The connection first: its teardown may still report to the sender. */
	idl_connect_free(s.conn);
	idl_sender_free(s.sender);
	idl_identity_free(s.id);
	idl_known_free(s.known);
	if (s.files)
		g_ptr_array_unref(s.files);
	g_free(s.failure);
	g_free(msg);
	g_free(state_dir);
	g_clear_error(&err);
	return s.exit_code;
}

int cmd_send(int argc, char *argv[])
{
	struct send_options o = { .common = CLI_COMMON_INIT(30000), .name = g_get_host_name() };
	int r = parse_args(&o, argc, argv);

	return r >= 0 ? r : run(&o);
}
