/* cmd_ping: `idrop-lan ping TARGET` connects through the whole stack
 * (discovery, HTTP signalling, ICE, DTLS, SCTP, a data channel), prints how
 * long each phase took and message round-trip times, and with --bytes
 * measures throughput. The user's own diagnostic, and our benchmark driver. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "cli/cli.h"
#include "web/connect.h"
#include "discovery/target.h"

#define HIGH_WATER (4 * 1024 * 1024)
#define LOW_WATER (1 * 1024 * 1024)

/* What the command line asked for. */
struct ping_options {
	struct cli_common common;   /* timeout_ms: give up after this long */
	unsigned count;             /* round trips */
	guint64 bytes;              /* sent on "sink" after them; 0: none */
	bool json;
	bool dtls_client;
	struct idl_target target;
};

/* One run: what it connected, sent and measured. */
struct ping {
	const struct ping_options *o;
	struct idl_identity *id;
	struct idl_connect *conn;
	struct idl_peer *peer;      /* the connection's, once connected */
	struct idl_channel *echo;
	struct idl_channel *sink;
	gint64 t_open;
	gint64 t_ping_sent;
	unsigned pings_done;
	GArray *rtts;               /* double, ms */
	guint64 sent;
	gint64 t_bulk_start, t_bulk_end;
	guint64 sink_reported;
	char *failure;
	bool ending;                /* our SCTP shutdown is under way */
	guint deadline;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: idrop-lan ping [OPTIONS] TARGET\n"
		"Connects to TARGET (host.local, a name from `idrop-lan list`, or IP[:PORT])\n"
		"through the whole stack and reports each phase, round-trip times and, with\n"
		"--bytes, throughput.\n\n"
		"  --count N          round trips to time (default 5)\n"
		"  --bytes SIZE       also send SIZE bytes (suffix K, M or G) and report MB/s\n"
		"  --timeout SECONDS  give up after this long (default 30)\n"
		"  --json             one JSON summary line instead of text\n"
		"  --dtls-client      ask to be the DTLS client (the device then is the server;\n"
		"                     by default the device answers as the client)\n"
		"  --interface IF     use only this interface\n"
		"  --state-dir DIR    identity to connect as (default: $XDG_STATE_HOME/idrop-lan)\n"
		"  --mdns MODE        auto, daemon (avahi-daemon) or embedded (default auto)\n"
		"  -v, --verbose      log every layer\n");
}

static double ms(gint64 a, gint64 b)
{
	return a && b ? (double)(b - a) / 1000.0 : -1;
}

static void fail_with(struct ping *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail_with(struct ping *p, const char *fmt, ...)
{
	va_list ap;

	/* Once we end the connection, the device closing its side (its
	 * close_notify may come in the same read as our SHUTDOWN's answer) is
	 * the end we asked for, not a failure. */
	if (p->failure || p->ending)
		return;
	va_start(ap, fmt);
	p->failure = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	cli_quit();
}

static int parse_size(const char *s, guint64 *out)
{
	char *end;
	guint64 v, mult = 1;

	errno = 0;
	v = g_ascii_strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (g_ascii_toupper(*end)) {
	case 0: break;
	case 'K': mult = 1024; end++; break;
	case 'M': mult = 1024 * 1024; end++; break;
	case 'G': mult = 1024ull * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end && (g_ascii_toupper(*end) != 'B' || end[1]))
		return -1;
	if (v > G_MAXUINT64 / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* ---- bulk transfer on the "sink" channel ---- */

static void pump(struct ping *p)
{
	static guint8 chunk[IDL_SCTP_BULK_MESSAGE];
	/* The channel decides the message size, from the device's
	 * a=max-message-size: never more than it takes. */
	size_t max = MIN(idl_channel_message_size(p->sink), sizeof(chunk));

	while (p->sent < p->o->bytes && idl_channel_buffered_amount(p->sink) < HIGH_WATER) {
		size_t n = (size_t)MIN((guint64)max, p->o->bytes - p->sent);
		int r = idl_channel_send(p->sink, true, chunk, n);
		if (r < 0) {
			fail_with(p, "data channel: cannot send %zu bytes: %s", n, g_strerror(-r));
			return;
		}
		p->sent += n;
	}
	if (p->sent == p->o->bytes && !p->t_bulk_end) {
		/* The sink answers "done" with the byte count it received, so the
		 * clock stops when the data has arrived, not when it was queued. */
		p->t_bulk_end = -1;
		idl_channel_send(p->sink, false, (const guint8 *)"done", 4);
	}
}

static void sink_low(struct idl_channel *ch, void *user)
{
	(void)ch;
	pump(user);
}

static void sink_open(struct idl_channel *ch, void *user)
{
	struct ping *p = user;

	idl_channel_set_buffered_low_threshold(ch, LOW_WATER);
	p->t_bulk_start = g_get_monotonic_time();
	pump(p);
}

static void sink_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct ping *p = user;
	char buf[32];

	(void)ch;
	if (binary || len >= sizeof(buf))
		return;
	memcpy(buf, data, len);
	buf[len] = 0;
	p->t_bulk_end = g_get_monotonic_time();
	p->sink_reported = g_ascii_strtoull(buf, NULL, 10);
	cli_quit();
}

static void channel_closed(struct idl_channel *ch, void *user)
{
	fail_with(user, "data channel \"%s\" was closed by the device", idl_channel_label(ch));
}

/* ---- round trips on the "echo" channel ---- */

static void send_ping(struct ping *p)
{
	char msg[64];

	g_snprintf(msg, sizeof(msg), "ping %u", p->pings_done + 1);
	p->t_ping_sent = g_get_monotonic_time();
	if (idl_channel_send(p->echo, false, (const guint8 *)msg, strlen(msg)) < 0)
		fail_with(p, "data channel: cannot send");
}

static void start_bulk_or_finish(struct ping *p)
{
	static const struct idl_channel_callbacks scb = { sink_open, sink_message, sink_low, channel_closed };
	GError *err = NULL;

	if (!p->o->bytes) {
		cli_quit();
		return;
	}
	p->sink = idl_peer_open_channel(p->peer, "sink", "", true, &scb, p, &err);
	if (!p->sink) {
		fail_with(p, "data channel: %s", err->message);
		g_error_free(err);
	}
}

static void echo_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct ping *p = user;
	char want[64];
	double rtt = ms(p->t_ping_sent, g_get_monotonic_time());

	(void)ch;
	g_snprintf(want, sizeof(want), "ping %u", p->pings_done + 1);
	if (binary || len != strlen(want) || memcmp(data, want, len) != 0) {
		fail_with(p, "data channel: the echo did not match what was sent");
		return;
	}
	g_array_append_val(p->rtts, rtt);
	p->pings_done++;
	if (!p->o->json)
		printf("reply %u: %.3f ms\n", p->pings_done, rtt);
	if (p->pings_done < p->o->count)
		send_ping(p);
	else
		start_bulk_or_finish(p);
}

static void echo_open(struct idl_channel *ch, void *user)
{
	struct ping *p = user;

	(void)ch;
	p->t_open = g_get_monotonic_time();
	if (!p->o->json) {
		const struct idl_peer_timings *t = idl_peer_timings(p->peer);
		char *desc = idl_peer_describe(p->peer);
		gint64 t_post, t_answer;
		idl_connect_signalling_times(p->conn, &t_post, &t_answer);
		printf("signalling    %8.2f ms  HTTP POST /api/offer -> 201\n", ms(t_post, t_answer));
		printf("ICE           %8.2f ms\n", ms(t->remote_set, t->ice_connected));
		printf("DTLS          %8.2f ms\n", ms(t->ice_connected, t->dtls_connected));
		printf("SCTP+channel  %8.2f ms\n", ms(t->dtls_connected, p->t_open));
		printf("connected     %8.2f ms  %s\n", ms(t_post, p->t_open), desc);
		/* For an IP target this is the first time the id is known: show it,
		 * so the user can compare it with `idrop-lan id` on the device. */
		printf("peer id       %s\n", idl_peer_remote_fingerprint(p->peer));
		g_free(desc);
	}
	if (p->o->count)
		send_ping(p);
	else
		start_bulk_or_finish(p);
}

/* ---- connection ---- */

static void on_connected(struct idl_peer *peer, void *user)
{
	static const struct idl_channel_callbacks ecb = { echo_open, echo_message, NULL, channel_closed };
	struct ping *p = user;
	GError *err = NULL;

	p->peer = peer;
	p->echo = idl_peer_open_channel(peer, "echo", "", true, &ecb, p, &err);
	if (!p->echo) {
		fail_with(p, "data channel: %s", err->message);
		g_error_free(err);
	}
}

static void on_failed(enum idl_connect_failure kind, const char *message, void *user)
{
	(void)kind;
	fail_with(user, "%s", message);
}

static void on_resolved(const struct idl_resolved *res, void *user)
{
	struct ping *p = user;
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1] = "unknown";

	if (res->fingerprint[0])
		idl_fingerprint_short(res->fingerprint, shortfp);
	if (!p->o->json)
		printf("PING %s (%s port %u) id %s\n", res->name[0] ? cli_text(res->name) : res->address, res->address,
		       res->port, shortfp);
}

static gboolean on_deadline(gpointer user)
{
	struct ping *p = user;
	char *why = idl_connect_why_stalled(p->conn, p->o->common.timeout_ms);

	p->deadline = 0;
	if (why)
		fail_with(p, "%s", why);
	else
		fail_with(p, "no result within %.0f s: see --verbose for where it stopped",
			  p->o->common.timeout_ms / 1000.0);
	g_free(why);
	return G_SOURCE_REMOVE;
}

static void print_summary(struct ping *p)
{
	double min = 0, max = 0, sum = 0, mbps = -1;
	const struct idl_peer_timings *t = idl_peer_timings(p->peer);
	const struct idl_resolved *target = idl_connect_target(p->conn);
	gint64 t_post, t_answer;

	idl_connect_signalling_times(p->conn, &t_post, &t_answer);
	for (guint i = 0; i < p->rtts->len; i++) {
		double v = g_array_index(p->rtts, double, i);
		min = i ? MIN(min, v) : v;
		max = MAX(max, v);
		sum += v;
	}
	if (p->o->bytes && p->t_bulk_end > 0)
		mbps = (double)p->o->bytes / 1e6 / ((double)(p->t_bulk_end - p->t_bulk_start) / 1e6);
	if (p->o->json) {
		printf("{\"address\":\"%s\",\"port\":%u,\"fingerprint\":\"%s\","
		       "\"signalling_ms\":%.3f,\"ice_ms\":%.3f,\"dtls_ms\":%.3f,\"channel_ms\":%.3f,"
		       "\"connect_ms\":%.3f,\"rtt_min_ms\":%.3f,\"rtt_avg_ms\":%.3f,\"rtt_max_ms\":%.3f,"
		       "\"bytes\":%" G_GUINT64_FORMAT ",\"mb_per_s\":%.2f}\n",
		       target->address, target->port, idl_peer_remote_fingerprint(p->peer),
		       ms(t_post, t_answer), ms(t->remote_set, t->ice_connected),
		       ms(t->ice_connected, t->dtls_connected), ms(t->dtls_connected, p->t_open),
		       ms(t_post, p->t_open), min, p->rtts->len ? sum / p->rtts->len : 0, max, p->o->bytes,
		       mbps);
		return;
	}
	if (p->rtts->len)
		printf("%u round trips: min/avg/max %.3f/%.3f/%.3f ms\n", p->rtts->len, min,
		       sum / p->rtts->len, max);
	if (p->o->bytes)
		printf("throughput: %" G_GUINT64_FORMAT " bytes in %.2f s = %.1f MB/s\n", p->o->bytes,
		       (double)(p->t_bulk_end - p->t_bulk_start) / 1e6, mbps);
}

/* Parses argv into *o. Returns -1 to go on, else the exit code. */
static int parse_args(struct ping_options *o, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "bytes", required_argument, NULL, 'b' },
		CLI_OPTION_TIMEOUT,
		{ "json", no_argument, NULL, 'j' },
		{ "dtls-client", no_argument, NULL, 'D' },
		CLI_OPTION_INTERFACE,
		CLI_OPTION_STATE_DIR,
		CLI_OPTION_MDNS,
		CLI_OPTION_VERBOSE,
		CLI_OPTION_HELP,
		{ 0 },
	};
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->count = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || optarg[0] == '-' || o->count > 100000) {
				cli_error("ping", "--count takes a number from 0 to 100000");
				return IDL_EXIT_USAGE;
			}
			break;
		case 'b':
			if (parse_size(optarg, &o->bytes) < 0) {
				cli_error("ping", "--bytes takes a size such as 1048576, 64M or 1G");
				return IDL_EXIT_USAGE;
			}
			break;
		case 'j': o->json = true; break;
		case 'D': o->dtls_client = true; break;
		case 'h': usage(stdout); return IDL_EXIT_OK;
		default:
			if ((r = cli_common_getopt("ping", &o->common, c, argv)) >= 0)
				return r;
		}
	}
	if (optind + 1 != argc) {
		cli_error("ping", "give exactly one TARGET (see --help)");
		return IDL_EXIT_USAGE;
	}
	if (cli_parse_target("ping", argv[optind], &o->target) < 0)
		return IDL_EXIT_USAGE;
	return -1;
}

static int run(const struct ping_options *o)
{
	static const struct idl_connect_callbacks ccb = { on_resolved, on_connected, on_failed };
	struct idl_connect_options copt = {
		.target = o->target,
		.interface = o->common.interface,
		.dtls_client = o->dtls_client,
		.timeout_ms = o->common.timeout_ms,
		.backend = o->common.backend,
	};
	struct ping p = { .o = o };
	char *state_dir = NULL, *msg = NULL;
	GError *err = NULL;
	int ret = IDL_EXIT_FAILURE;

	cli_setup_logging(o->common.verbose);
	p.rtts = g_array_new(FALSE, FALSE, sizeof(double));
	state_dir = cli_state_dir(o->common.state_dir);
	if (idl_identity_load_or_create(state_dir, &p.id, &err) < 0) {
		cli_error("ping", "%s", err->message);
		goto out;
	}
	copt.id = p.id;
	if (idl_connect_start(&copt, &ccb, &p, &p.conn, &msg) < 0) {
		cli_error("ping", "%s", msg);
		goto out;
	}
	p.deadline = g_timeout_add(o->common.timeout_ms, on_deadline, &p);
	if (cli_run_until_signal() && !p.failure)
		p.failure = g_strdup("interrupted");
	p.ending = true;
	cli_shutdown_peer(idl_connect_peer(p.conn), CLI_SHUTDOWN_MS);
	if (p.failure) {
		cli_error("ping", "%s", p.failure);
		goto out;
	}
	print_summary(&p);
	if (o->bytes && p.sink_reported != o->bytes) {
		cli_error("ping", "the device received %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
			  p.sink_reported, o->bytes);
		goto out;
	}
	ret = IDL_EXIT_OK;
out:
	if (p.deadline)
		g_source_remove(p.deadline);
	idl_connect_free(p.conn);
	idl_identity_free(p.id);
	g_free(msg);
	g_clear_error(&err);
	g_array_unref(p.rtts);
	g_free(p.failure);
	g_free(state_dir);
	return ret;
}

int cmd_ping(int argc, char *argv[])
{
	struct ping_options o = { .common = CLI_COMMON_INIT(30000), .count = 5 };
	int r = parse_args(&o, argc, argv);

	return r >= 0 ? r : run(&o);
}
