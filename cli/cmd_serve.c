/* cmd_serve: `idrop-lan serve` runs this device (web/device.h): advertised
 * with DNS-SD on the port of its HTTP server, it receives the files senders
 * offer (cli/incoming.c, with consent), and runs until SIGINT/SIGTERM, then
 * withdraws its records so peers see it leave at once. `idrop-lan receive`
 * is the same for one transfer. Here: the options, the download folder,
 * and what the terminal shows. */
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
#include "cli/options.h"
#include "cli/incoming.h"
#include "discovery/mdns.h"
#include "transfer/store.h"
#include "transfer/worker.h"
#include "trust/identity.h"
#include "trust/known.h"
#include "web/device.h"
#include "web/http.h"
#include "web/qr.h"

/* What the command line asks for. */
struct serve_args {
	const char *cmd;            /* "serve" or "receive" */
	bool once;                  /* receive: exit after one transfer */
	const char *name, *state_opt, *dir_opt;
	struct idl_device_options dev;
	enum cli_accept_policy policy;
	bool verbose;
};

struct serve {
	const struct serve_args *a;
	struct idl_device *dev;
	struct cli_incoming *incoming;
	bool page_shown;
	int exit_code;
	bool ended;                 /* receive: the transfer ended */
	guint linger;               /* receive: waits for the sender to close */
};

/* How long `receive` waits after its transfer for the sender to close the
 * connection (a sender ends with an SCTP SHUTDOWN once it has the receipt,
 * within 1.5 s): leaving at once would abort the association under it. */
#define RECEIVE_LINGER_MS 2000

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
	const char *host = idl_device_host_name(s->dev), *interface = s->a->dev.interface;
	uint16_t port = idl_device_port(s->dev);
	struct ifaddrs *ifs, *i;
	char addr[INET_ADDRSTRLEN], *first = NULL;

	if (host)
		printf("page:        http://%s:%u/\n", host, port);
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
			    !(i->ifa_flags & IFF_UP) || (interface && strcmp(interface, i->ifa_name)) ||
			    !inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, sizeof(addr)))
				continue;
			printf("%s http://%s:%u/\n", host || first ? "            " : "page:       ", addr, port);
			if (!first)
				first = g_strdup_printf("http://%s:%u/", addr, port);
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

static void on_advertised(const char *name, void *user)
{
	struct serve *s = user;

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

/* The download folder without --dir: the user's Downloads folder. Owned by
 * the caller. */
static char *default_dir(void)
{
	const char *dl = g_get_user_special_dir(G_USER_DIRECTORY_DOWNLOAD);

	return dl ? g_strdup(dl) : g_build_filename(g_get_home_dir(), "Downloads", NULL);
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

static gboolean on_linger_end(gpointer user)
{
	struct serve *s = user;

	s->linger = 0;
	cli_quit();
	return G_SOURCE_REMOVE;
}

static void on_ended(enum idl_xfer_result r, const char *reason, void *user)
{
	struct serve *s = user;

	if (!s->a->once)
		return;
	(void)reason;
	s->exit_code = r == IDL_XFER_OK ? IDL_EXIT_OK : r == IDL_XFER_DECLINED ? IDL_EXIT_DECLINED
		       : r == IDL_XFER_VERIFY ? IDL_EXIT_VERIFY : r == IDL_XFER_CLOSED ? IDL_EXIT_LOST
		       : IDL_EXIT_FAILURE;
	s->ended = true;
	if (r == IDL_XFER_CLOSED)
		cli_quit();   /* nobody left to wait for */
	else if (!s->linger)
		s->linger = g_timeout_add(RECEIVE_LINGER_MS, on_linger_end, s);
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

/* Fills *a from the command line. Returns -1 to go on, else an exit code
 * (--help, or a usage error already told). */
static int parse_args(int argc, char *argv[], bool once, struct serve_args *a)
{
	static const struct option opts[] = {
		{ "accept", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		CLI_OPTION_INTERFACE,
		{ "dir", required_argument, NULL, 'd' },
		CLI_OPTION_STATE_DIR,
		CLI_OPTION_MDNS,
		CLI_OPTION_VERBOSE,
		CLI_OPTION_HELP,
		{ 0 },
	};
	const char *cmd = once ? "receive" : "serve";
	struct cli_common common = CLI_COMMON_INIT(0);
	int c, r;

	*a = (struct serve_args){
		.cmd = cmd, .once = once, .name = g_get_host_name(), .policy = CLI_ACCEPT_ASK,
		.dev = { .port = IDL_HTTP_DEFAULT_PORT, .port_fallback = true, .backend = IDL_MDNS_AUTO },
	};
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cli_parse_accept(cmd, optarg, &a->policy) < 0)
				return IDL_EXIT_USAGE;
			break;
		case 'n': a->name = optarg; break;
		case 'p':
			if (parse_port(optarg, &a->dev.port) < 0) {
				cli_error(cmd, "--port must be a number from 0 to 65535");
				return IDL_EXIT_USAGE;
			}
			a->dev.port_fallback = false;
			break;
		case 'd': a->dir_opt = optarg; break;
		case 'h': usage(stdout, once); return IDL_EXIT_OK;
		default:
			if ((r = cli_common_getopt(cmd, &common, c, argv)) >= 0)
				return r;
		}
	}
	a->dev.interface = common.interface;
	a->dev.backend = common.backend;
	a->state_opt = common.state_dir;
	a->verbose = common.verbose;
	if (optind != argc) {
		cli_error(cmd, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return IDL_EXIT_USAGE;
	}
	return -1;
}

static void take_channel(struct idl_peer *p, struct idl_channel *ch, void *user)
{
	struct serve *s = user;

	cli_incoming_channel(s->incoming, p, ch);
}

static void peer_closed(struct idl_peer *p, void *user)
{
	struct serve *s = user;

	cli_incoming_peer_closed(s->incoming, p);
	if (s->ended)
		cli_quit();   /* receive: the sender closed after its transfer */
}

static void said_hello(struct idl_peer *p, void *user)
{
	struct serve *s = user;

	idl_device_peer_hello(s->dev, p);
}

/* Tells what runs where, before the advert goes out. */
static void print_header(const struct serve *s, const char *dl_dir)
{
	const char *fp = idl_device_fingerprint(s->dev);
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];

	idl_fingerprint_short(fp, shortfp);
	printf("idrop-lan %s serving %s\n", IDL_VERSION, cli_quoted(s->a->name));
	printf("id:          %s (%s)\n", shortfp, fp);
	printf("discovery:   %s\n", idl_device_discovery_name(s->dev));
	printf("http port:   %u\n", idl_device_port(s->dev));
	printf("folder:      %s\n", dl_dir);
	fflush(stdout);
}

/* How long exit waits for receivers' disk writers (a slow disk writes a
 * receiver's backlog, 8 MiB at most, in a few seconds). */
#define WRITERS_WAIT_MS 5000

/* The receivers are freed, but a slow disk may still be taking what they
 * were given: wait for it off the loop (it has quit), bounded, and say what
 * the exit leaves undone. */
static void join_writers(const char *cmd)
{
	unsigned jobs = 0, left = idl_worker_join_retired(WRITERS_WAIT_MS, &jobs);

	if (left)
		cli_error(cmd, "exiting while %u disk writer%s still busy after %u s (%u queued disk job%s not run): "
			  "those files stay partial (.part)", left, left == 1 ? " was" : "s were",
			  WRITERS_WAIT_MS / 1000, jobs, jobs == 1 ? "" : "s");
}

static int run(const struct serve_args *a)
{
	static const struct idl_device_callbacks dcb = { take_channel, peer_closed, on_advertised, on_advert_failed };
	struct serve s = { .a = a, .exit_code = IDL_EXIT_OK };
	struct idl_device_options dopt = a->dev;
	struct cli_incoming_options iopt = { .policy = a->policy, .progress = a->once, .name = a->name,
					     .hello = said_hello };
	struct idl_identity *id = NULL;
	struct idl_known *known = NULL;
	GThread *sweeper = NULL;
	char *state_dir = NULL, *partial_dir = NULL, *dl_dir = NULL;
	GError *err = NULL;
	int sig;

	state_dir = cli_state_dir(a->state_opt);
	if (idl_identity_load_or_create(state_dir, &id, &err) < 0)
		goto fail;
	/* Read for every offer; a file that would refuse them all stops us now. */
	if (idl_known_load(state_dir, &known, &err) < 0)
		goto fail;
	idl_known_free(known);
	dl_dir = a->dir_opt ? g_strdup(a->dir_opt) : default_dir();
	if (prepare_dir(dl_dir, &err) < 0)
		goto fail;
	warn_home(a->cmd, dl_dir);
	partial_dir = g_build_filename(state_dir, "partial", NULL);
	sweeper = sweep_start(dl_dir, partial_dir);

	iopt.dir = dl_dir;
	iopt.state_dir = partial_dir;
	iopt.known_dir = state_dir;
	iopt.fingerprint = idl_identity_fingerprint(id);
	s.incoming = cli_incoming_new(&iopt, on_ended, &s);
	dopt.name = a->name;
	dopt.id = id;
	if (idl_device_new(&dopt, &dcb, &s, &s.dev, &err) < 0)
		goto fail;
	print_header(&s, dl_dir);
	if (idl_device_start(s.dev, &err) < 0)
		goto fail;

	sig = cli_run_until_signal();
	if (sig)
		printf("stopping (%s): withdrawing %s\n", strsignal(sig), cli_quoted(idl_device_name(s.dev)));
	if (sig && a->once && !s.ended)
		s.exit_code = IDL_EXIT_INTERRUPTED;   /* the transfer did not end: run again to resume */
	goto out;
fail:
	cli_error(a->cmd, "%s", err->message);
	s.exit_code = IDL_EXIT_FAILURE;
out:
	if (s.linger)
		g_source_remove(s.linger);
	/* The device first: its peers are gone before the receivers they fed. */
	idl_device_free(s.dev);
	cli_incoming_free(s.incoming);
	join_writers(a->cmd);
	idl_identity_free(id);
	if (sweeper)
		g_thread_join(sweeper);
	g_clear_error(&err);
	g_free(state_dir);
	g_free(partial_dir);
	g_free(dl_dir);
	return s.exit_code;
}

static int serve_main(int argc, char *argv[], bool once)
{
	struct serve_args a;
	int r = parse_args(argc, argv, once, &a);

	if (r >= 0)
		return r;
	cli_setup_logging(a.verbose);
	raise_file_limit();
	if (!idl_name_valid(a.name, strlen(a.name))) {
		cli_error(a.cmd, "the name \"%s\" is not usable: give 1 to 63 bytes of text, without control or hidden "
			  "(zero-width, right-to-left) characters, with --name", a.name);
		return IDL_EXIT_USAGE;
	}
	return run(&a);
}
int cmd_serve(int argc, char *argv[])
{
	return serve_main(argc, argv, false);
}

int cmd_receive(int argc, char *argv[])
{
	return serve_main(argc, argv, true);
}
