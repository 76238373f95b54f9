/* cmd_serve: `idrop-lan serve` advertises this device with DNS-SD on the
 * port of its HTTP server, receives the files senders offer (with consent),
 * and runs until SIGINT/SIGTERM, then withdraws its records so peers see it
 * leave at once. `idrop-lan receive` is the same for one transfer. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <gio/gio.h>

#include "cli/cli.h"
#include "cli/incoming.h"
#include "discovery/mdns.h"
#include "discovery/txt.h"
#include "transfer/store.h"
#include "trust/identity.h"
#include "trust/known.h"
#include "web/api.h"
#include "web/devices.h"
#include "web/http.h"
#include "web/page.h"
#include "web/qr.h"
#include "web/signal.h"
#include "web/tabs.h"

/* Echo replies one channel may have waiting for a peer that does not read
 * them; beyond it the channel is closed. */
#define SERVE_ECHO_BUFFER_MAX (1024 * 1024)

struct serve {
	struct idl_api_device dev;
	struct idl_mdns *mdns;
	const char *interface;
	uint16_t port;
	bool page_shown;
	GHashTable *diags;          /* struct idl_channel * -> struct diag: echo and sink */
	struct idl_signal *signal;
	struct cli_incoming *incoming;
	bool once;                  /* receive: exit after one transfer */
	int exit_code;
};

/* ---- diagnostic channels: "echo" sends every message back, "sink" counts
 * binary bytes and answers the text message "done" with the count (what
 * `idrop-lan ping` uses to time round trips and throughput). ---- */

struct diag {
	struct idl_peer *peer;
	guint64 count;              /* sink: binary bytes since the last "done" */
};

/* A message on a diagnostic channel keeps its connection open a while
 * longer (web/signal.h); the diag, NULL for a channel we dropped. */
static struct diag *diag_seen(struct serve *s, struct idl_channel *ch)
{
	struct diag *k = g_hash_table_lookup(s->diags, ch);

	if (k)
		idl_signal_peer_seen(s->signal, k->peer, false);
	return k;
}

static void echo_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct serve *s = user;

	if (!diag_seen(s, ch))
		return;
	/* Replies wait in the channel's queue while the peer does not read
	 * them: that queue is bounded here, by closing the channel of a peer
	 * that sends on and never drains (ping waits for each reply, so it
	 * never has more than one message waiting). */
	if (idl_channel_buffered_amount(ch) + len > SERVE_ECHO_BUFFER_MAX) {
		g_message("closing an \"echo\" channel: its peer does not read the replies "
			  "(%zu bytes waiting)", idl_channel_buffered_amount(ch));
		g_hash_table_remove(s->diags, ch);
		idl_channel_close(ch);
		return;
	}
	if (idl_channel_send(ch, binary, data, len) < 0)
		g_debug("echo: cannot send back %zu bytes", len);
}

static void sink_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct serve *s = user;
	struct diag *k = diag_seen(s, ch);
	char reply[32];

	if (!k)
		return;
	if (binary) {
		k->count += len;
		return;
	}
	if (len == 4 && memcmp(data, "done", 4) == 0) {
		g_snprintf(reply, sizeof(reply), "%" G_GUINT64_FORMAT, k->count);
		idl_channel_send(ch, false, (const uint8_t *)reply, strlen(reply));
		k->count = 0;
	}
}

static gboolean diag_of_peer(gpointer key, gpointer value, gpointer peer)
{
	(void)key;
	return ((struct diag *)value)->peer == peer;
}

static void peer_closed(struct idl_peer *p, void *user)
{
	struct serve *s = user;

	g_hash_table_foreach_remove(s->diags, diag_of_peer, p);
	cli_incoming_peer_closed(s->incoming, p);
}

static void channel_closed(struct idl_channel *ch, void *user)
{
	struct serve *s = user;

	g_hash_table_remove(s->diags, ch);
}

static void said_hello(struct idl_peer *p, void *user)
{
	struct serve *s = user;

	idl_signal_peer_seen(s->signal, p, true);
}

static void on_channel(struct idl_peer *p, struct idl_channel *ch, void *user)
{
	static const struct idl_channel_callbacks echo = { NULL, echo_message, NULL, channel_closed };
	static const struct idl_channel_callbacks sink = { NULL, sink_message, NULL, channel_closed };
	const char *label = idl_channel_label(ch);

	struct serve *s = user;

	if (!strcmp(label, "idrop")) {
		cli_incoming_channel(s->incoming, p, ch);
	} else if (!strcmp(label, "echo") || !strcmp(label, "sink")) {
		struct diag *k = g_new0(struct diag, 1);
		k->peer = p;
		g_hash_table_insert(s->diags, ch, k);
		idl_channel_set_callbacks(ch, label[0] == 'e' ? &echo : &sink, user);
	} else {
		/* The label is the peer's: quoted, and the log handler escapes the rest. */
		g_message("closing a channel with unknown label %s", cli_quoted(label));
		idl_channel_close(ch);
	}
}

static void usage(FILE *f, bool once)
{
	fprintf(f, once ? "Usage: idrop-lan receive [OPTIONS]\n"
			  "Like serve, but exits after one transfer: 0 when every file was verified.\n\n"
			: "Usage: idrop-lan serve [OPTIONS]\n"
			  "Advertises this device on the local network and receives files.\n\n");
	fprintf(f,
		"  --accept POLICY    ask (on the terminal; refuse without one), trusted (peers\n"
		"                     marked with `idrop-lan trust` unasked, the others as ask),\n"
		"                     all or none (default ask)\n"
		"  --name NAME        display name (default: the host name)\n"
		"  --port PORT        HTTP port (default %u, or a free one if taken; 0 = any)\n"
		"  --interface IF     advertise and listen only on this interface\n"
		"  --dir DIR          download folder (default: your Downloads folder)\n"
		"  --state-dir DIR    where the identity and resume records are kept\n"
		"                     (default: $XDG_STATE_HOME/idrop-lan)\n"
		"  --mdns MODE        auto, daemon (avahi-daemon) or embedded (default auto)\n"
		"  -v, --verbose      log discovery and HTTP details\n",
		IDL_HTTP_DEFAULT_PORT);
}

/* The page's addresses: by mDNS name, and by each IPv4 address (phones
 * often cannot resolve .local), with a QR code of the first on a terminal. */
static void show_page(struct serve *s)
{
	const char *host = idl_mdns_host_name(s->mdns);
	struct ifaddrs *ifs, *i;
	char addr[INET_ADDRSTRLEN], *first = NULL;

	if (host)
		printf("page:        http://%s:%u/\n", host, s->port);
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
			    !(i->ifa_flags & IFF_UP) || (s->interface && strcmp(s->interface, i->ifa_name)) ||
			    !inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, sizeof(addr)))
				continue;
			printf("%s http://%s:%u/\n", host || first ? "            " : "page:       ", addr, s->port);
			if (!first)
				first = g_strdup_printf("http://%s:%u/", addr, s->port);
		}
		freeifaddrs(ifs);
	}
	if (first && isatty(STDOUT_FILENO)) {
		char *qr = idl_qr_render(first);
		if (qr)
			fputs(qr, stdout);
		g_free(qr);
	}
	g_free(first);
}

static void on_established(const char *name, void *user)
{
	struct serve *s = user;

	g_strlcpy(s->dev.name, name, sizeof(s->dev.name));
	printf("advertised:  %s\n", cli_quoted(name));
	if (!s->page_shown) {
		s->page_shown = true;
		show_page(s);
	}
	fflush(stdout);
}

static void on_advert_failed(const GError *err, void *user)
{
	struct serve *s = user;

	cli_error("serve", "%s", err->message);
	s->exit_code = IDL_EXIT_FAILURE;
	cli_quit();
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535 || s[0] == '-')
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* The download folder: created when missing, refused when it is not a
 * folder we can write to. */
static int prepare_dir(const char *dir, GError **err)
{
	if (g_mkdir_with_parents(dir, 0700) < 0 || access(dir, W_OK) < 0) {
		int e = errno;
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
			    "cannot use download folder %s: %s; pick another with --dir", dir, g_strerror(e));
		return -e;
	}
	return 0;
}

/* Received folders land in --dir: in the home folder, or in a folder that
 * holds it, a sent bin/ or Documents/ (or NAME/bin/) mixes with the user's
 * own. */
static void warn_home(const char *cmd, const char *dir)
{
	char *real = realpath(dir, NULL), *home = realpath(g_get_home_dir(), NULL);
	size_t n = real ? strlen(real) : 0;

	if (real && home && strcmp(real, home) == 0)
		cli_error(cmd, "warning: the download folder %s is your home folder: files and folders a "
			  "sender names (bin/, Documents/) land beside your own; give receiving a folder of its "
			  "own with --dir (names starting with '.' are saved with '_' wherever you receive)", dir);
	else if (real && home && (strcmp(real, "/") == 0 || (strncmp(home, real, n) == 0 && home[n] == '/')))
		cli_error(cmd, "warning: the download folder %s holds your home folder %s: a sender's folders "
			  "can land in it (%s/bin/); give receiving a folder of its own with --dir", dir, home,
			  home + (strcmp(real, "/") == 0 ? 1 : n + 1));
	free(real);
	free(home);
}

/* Expiry of what interrupted transfers left (store.h, idl_store_sweep),
 * once at start, off the loop thread: it reads and deletes files. */
struct sweep {
	char *dir, *state_dir;
};

static gpointer sweep_thread(gpointer data)
{
	GPtrArray *swept = g_ptr_array_new_with_free_func(g_free);
	struct sweep *sw = data;
	struct idl_store *store = NULL;
	GError *err = NULL;

	if (idl_store_open(sw->dir, sw->state_dir, &store, &err) < 0 ||
	    idl_store_sweep(store, g_get_real_time() / G_USEC_PER_SEC, IDL_STORE_EXPIRE_S, swept, &err) < 0) {
		g_debug("expiry of partial files skipped: %s", err->message);
		g_error_free(err);
	}
	for (guint i = 0; i < swept->len; i++)
		g_debug("expired, untouched for %d days: %s", IDL_STORE_EXPIRE_S / 86400,
			(const char *)swept->pdata[i]);
	g_debug("expiry of partial files: %u removed", swept->len);
	g_ptr_array_unref(swept);
	idl_store_free(store);
	g_free(sw->dir);
	g_free(sw->state_dir);
	g_free(sw);
	return NULL;
}

static GThread *sweep_start(const char *dir, const char *state_dir)
{
	struct sweep *sw = g_new0(struct sweep, 1);

	sw->dir = g_strdup(dir);
	sw->state_dir = g_strdup(state_dir);
	return g_thread_new("sweep", sweep_thread, sw);
}

static void on_ended(enum idl_xfer_result r, const char *reason, void *user)
{
	struct serve *s = user;

	if (!s->once)
		return;
	(void)reason;
	s->exit_code = r == IDL_XFER_OK ? IDL_EXIT_OK : r == IDL_XFER_DECLINED ? IDL_EXIT_DECLINED
		       : r == IDL_XFER_VERIFY ? IDL_EXIT_VERIFY : r == IDL_XFER_CLOSED ? IDL_EXIT_LOST
		       : IDL_EXIT_FAILURE;
	cli_quit();
}

/* For the Host check: the name the page is reached by (see show_page). */
static const char *local_name(void *user)
{
	return idl_mdns_host_name(user);
}

static void relay_to_tab(const char *to, const struct idl_http_request *req, struct idl_http_response *resp,
			 void *user)
{
	idl_tabs_relay_offer(user, to, req, resp);
}

/* Every connection costs sockets and every transfer open files: the soft
 * limit on open files (often 1024) goes up to the hard one, so the caps on
 * connections, not the limit, decide what a busy device refuses. */
static void raise_file_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		g_debug("cannot raise the open-file limit: %s", g_strerror(errno));
	else
		g_debug("open-file limit raised to %llu", (unsigned long long)rl.rlim_cur);
}

static int serve_main(int argc, char *argv[], bool once)
{
	static const struct option opts[] = {
		{ "accept", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "interface", required_argument, NULL, 'i' },
		{ "dir", required_argument, NULL, 'd' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "mdns", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct idl_mdns_advert_callbacks acb = { on_established, on_advert_failed };
	static const struct idl_signal_callbacks scb = { on_channel, peer_closed };
	struct idl_http_options hopt = { .port = IDL_HTTP_DEFAULT_PORT, .port_fallback = true };
	struct idl_mdns_options mopt = { .backend = IDL_MDNS_AUTO, .publish = true };
	struct serve s = { .exit_code = IDL_EXIT_OK, .once = once };
	struct cli_incoming_options iopt = { .policy = CLI_ACCEPT_ASK, .progress = once };
	const char *cmd = once ? "receive" : "serve";
	const char *name = g_get_host_name(), *state_opt = NULL, *dir_opt = NULL;
	struct idl_identity *id = NULL;
	struct idl_known *known = NULL;
	struct idl_http *http = NULL;
	struct idl_signal *signal = NULL;
	struct idl_mdns *mdns = NULL;
	struct idl_mdns_advert *advert = NULL;
	struct idl_devices *devices = NULL;
	struct idl_tabs *tabs = NULL;
	GThread *sweeper = NULL;
	struct idl_txt txt = { .version = IDL_PROTOCOL_VERSION, .kind = 'd', .caps = IDL_CAP_INFO | IDL_CAP_WEBRTC };
	char *state_dir = NULL, *partial_dir = NULL, *dl_dir = NULL, shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];
	uint8_t wire[IDL_TXT_WIRE_MAX];
	bool verbose = false;
	GError *err = NULL;
	int c, len, sig;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cli_parse_accept(cmd, optarg, &iopt.policy) < 0)
				return IDL_EXIT_USAGE;
			break;
		case 'n': name = optarg; break;
		case 'p':
			if (parse_port(optarg, &hopt.port) < 0) {
				cli_error(cmd, "--port must be a number from 0 to 65535");
				return IDL_EXIT_USAGE;
			}
			hopt.port_fallback = false;
			break;
		case 'i': hopt.interface = mopt.interface = optarg; break;
		case 'd': dir_opt = optarg; break;
		case 's': state_opt = optarg; break;
		case 'm':
			if (cli_parse_backend(cmd, optarg, &mopt.backend) < 0)
				return IDL_EXIT_USAGE;
			break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout, once); return IDL_EXIT_OK;
		default: cli_bad_option(cmd, argv); return IDL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error(cmd, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return IDL_EXIT_USAGE;
	}
	cli_setup_logging(verbose);
	raise_file_limit();
	if (!idl_name_valid(name, strlen(name))) {
		cli_error(cmd, "the name \"%s\" is not usable: give 1 to 63 bytes of text, without control or hidden "
			  "(zero-width, right-to-left) characters, with --name", name);
		return IDL_EXIT_USAGE;
	}

	state_dir = cli_state_dir(state_opt);
	if (idl_identity_load_or_create(state_dir, &id, &err) < 0)
		goto fail;
	/* Read for every offer; a file that would refuse them all stops us now. */
	if (idl_known_load(state_dir, &known, &err) < 0)
		goto fail;
	idl_known_free(known);
	if (dir_opt)
		dl_dir = g_strdup(dir_opt);
	else if (g_get_user_special_dir(G_USER_DIRECTORY_DOWNLOAD))
		dl_dir = g_strdup(g_get_user_special_dir(G_USER_DIRECTORY_DOWNLOAD));
	else
		dl_dir = g_build_filename(g_get_home_dir(), "Downloads", NULL);
	if (prepare_dir(dl_dir, &err) < 0)
		goto fail;
	warn_home(cmd, dl_dir);
	partial_dir = g_build_filename(state_dir, "partial", NULL);
	sweeper = sweep_start(dl_dir, partial_dir);
	if (idl_http_new(&hopt, &http, &err) < 0)
		goto fail;

	g_strlcpy(s.dev.name, name, sizeof(s.dev.name));
	g_strlcpy(s.dev.fingerprint, idl_identity_fingerprint(id), sizeof(s.dev.fingerprint));
	s.dev.caps = txt.caps;
	idl_api_register(http, &s.dev);
	idl_page_register(http);
	s.diags = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	iopt.dir = dl_dir;
	iopt.state_dir = partial_dir;
	iopt.name = name;
	iopt.known_dir = state_dir;
	iopt.fingerprint = s.dev.fingerprint;
	iopt.hello = said_hello;
	s.incoming = cli_incoming_new(&iopt, on_ended, &s);
	idl_signal_new(http, id, hopt.interface, &scb, &s, &signal);
	s.signal = signal;

	if (idl_mdns_new(&mopt, &mdns, &err) < 0)
		goto fail;
	idl_http_set_local_name(http, local_name, mdns);
	g_strlcpy(txt.fingerprint, s.dev.fingerprint, sizeof(txt.fingerprint));
	g_strlcpy(txt.name, name, sizeof(txt.name));
	len = idl_txt_encode(&txt, wire, sizeof(wire));
	g_assert(len > 0);   /* every field was validated above */

	idl_fingerprint_short(s.dev.fingerprint, shortfp);
	printf("idrop-lan %s serving %s\n", IDL_VERSION, cli_quoted(name));
	printf("id:          %s (%s)\n", shortfp, s.dev.fingerprint);
	printf("discovery:   %s\n", idl_mdns_backend_name(mdns));
	printf("http port:   %u\n", idl_http_port(http));
	printf("folder:      %s\n", dl_dir);
	fflush(stdout);
	devices = idl_devices_new(http, mdns, s.dev.fingerprint);
	tabs = idl_tabs_new(http, mdns, &s.dev, idl_http_port(http));
	idl_signal_set_relay(signal, relay_to_tab, tabs);
	s.mdns = mdns;
	s.interface = hopt.interface;
	s.port = idl_http_port(http);
	if (idl_mdns_advertise(mdns, name, idl_http_port(http), wire, (size_t)len, &acb, &s, &advert, &err) < 0)
		goto fail;

	sig = cli_run_until_signal();
	if (sig)
		printf("stopping (%s): withdrawing %s\n", strsignal(sig), cli_quoted(s.dev.name));
	if (sig && once)
		s.exit_code = IDL_EXIT_INTERRUPTED;   /* the transfer did not end: run again to resume */
	goto out;
fail:
	cli_error(cmd, "%s", err->message);
	s.exit_code = IDL_EXIT_FAILURE;
out:
	idl_mdns_advert_free(advert);
	idl_tabs_free(tabs);
	idl_devices_free(devices);
	idl_mdns_free(mdns);
	/* The server first (no request can arrive any more), then the peers it
	 * created. */
	idl_http_free(http);
	idl_signal_free(signal);
	cli_incoming_free(s.incoming);
	if (s.diags)
		g_hash_table_destroy(s.diags);
	idl_identity_free(id);
	if (sweeper)
		g_thread_join(sweeper);
	g_clear_error(&err);
	g_free(state_dir);
	g_free(partial_dir);
	g_free(dl_dir);
	return s.exit_code;
}

int cmd_serve(int argc, char *argv[])
{
	return serve_main(argc, argv, false);
}

int cmd_receive(int argc, char *argv[])
{
	return serve_main(argc, argv, true);
}
