/* common: helpers every command shares: error output, logging, option
 * parsing and running the loop until a signal. */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "base/text.h"
#include "sctp/sctp.h"
#include "transfer/link.h"
#include "transport/peer.h"
#include "trust/identity.h"

static bool verbose_logging;

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char *msg, *safe;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	safe = idl_text_escape_message(msg, strlen(msg));
	fprintf(stderr, "idrop-lan: %s: %s\n", cmd, safe);
	g_free(safe);
	g_free(msg);
}

static _Thread_local char *ring[CLI_TEXT_RING];
static _Thread_local unsigned ring_next;

/* Keeps s in the next slot of the ring (see cli.h). Takes ownership. */
static const char *ring_keep(char *s)
{
	char **slot = &ring[ring_next++ % CLI_TEXT_RING];

	g_free(*slot);
	*slot = s;
	return s;
}

const char *cli_text(const char *s)
{
	return ring_keep(idl_text_escape(s ? s : "", s ? strlen(s) : 0));
}

const char *cli_quoted(const char *s)
{
	return ring_keep(idl_text_quote(s ? s : "", s ? strlen(s) : 0));
}

const char *cli_message(const char *s)
{
	return ring_keep(idl_text_escape_message(s ? s : "", s ? strlen(s) : 0));
}

static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
	char *safe;

	(void)domain;
	(void)user;
	if ((level & G_LOG_LEVEL_DEBUG) && !verbose_logging)
		return;
	safe = idl_text_escape_message(msg, strlen(msg));
	fprintf(stderr, "idrop-lan: %s%s\n", (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL)) ? "warning: " : "",
		safe);
	g_free(safe);
}

void cli_setup_logging(bool verbose)
{
	verbose_logging = verbose || g_getenv("G_MESSAGES_DEBUG");
	g_log_set_default_handler(log_handler, NULL);
}

int cli_parse_target(const char *cmd, const char *s, struct idl_target *out)
{
	GError *err = NULL;

	if (idl_target_parse(s, out, &err) < 0) {
		cli_error(cmd, "%s", err->message);
		g_error_free(err);
		return -1;
	}
	return 0;
}

int cli_common_getopt(const char *cmd, struct cli_common *o, int c, char *argv[])
{
	char *msg = NULL;

	switch (cli_common_option(o, c, optarg, &msg)) {
	case CLI_COMMON_TAKEN:
		return -1;
	case CLI_COMMON_BAD:
		cli_error(cmd, "%s", msg);
		g_free(msg);
		return IDL_EXIT_USAGE;
	case CLI_COMMON_OTHER:
		break;
	}
	cli_bad_option(cmd, argv);
	return IDL_EXIT_USAGE;
}

char *cli_state_dir(const char *opt)
{
	return opt ? g_strdup(opt) : idl_identity_default_dir();
}

static GMainLoop *loop;
static int caught;

static gboolean on_signal(gpointer user)
{
	caught = GPOINTER_TO_INT(user);
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

void cli_quit(void)
{
	if (loop)
		g_main_loop_quit(loop);
}

int cli_run_until_signal(void)
{
	guint s_int, s_term;

	caught = 0;
	loop = g_main_loop_new(NULL, FALSE);
	s_int = g_unix_signal_add(SIGINT, on_signal, GINT_TO_POINTER(SIGINT));
	s_term = g_unix_signal_add(SIGTERM, on_signal, GINT_TO_POINTER(SIGTERM));
	g_main_loop_run(loop);
	g_source_remove(s_int);
	g_source_remove(s_term);
	g_main_loop_unref(loop);
	loop = NULL;
	return caught;
}

void cli_print_json(JsonNode *n)
{
	JsonGenerator *gen = json_generator_new();
	char *s, *safe;

	json_generator_set_root(gen, n);
	s = json_generator_to_data(gen, NULL);
	safe = idl_text_json_safe(s);
	puts(safe);
	fflush(stdout);
	g_free(safe);
	g_free(s);
	g_object_unref(gen);
	json_node_unref(n);
}

void cli_bad_option(const char *cmd, char *argv[])
{
	/* getopt's own message lacks our "idrop-lan: CMD:" prefix (opterr is 0). */
	cli_error(cmd, "unknown option, or an option without its value: %s (see --help)", argv[optind - 1]);
}

static int link_send(void *ctx, bool binary, const uint8_t *data, size_t len)
{
	return idl_channel_send(ctx, binary, data, len);
}

static size_t link_buffered(void *ctx)
{
	return idl_channel_buffered_amount(ctx);
}

/* The receiver's back-pressure goes down to SCTP: the association stops
 * being read, its window closes, and the peer's sender waits. */
static void link_pause(void *ctx, bool paused)
{
	idl_channel_pause_reading(ctx, paused);
}

void cli_channel_link(struct idl_channel *ch, struct idl_link *out)
{
	out->send = link_send;
	out->buffered = link_buffered;
	out->ctx = ch;
	out->max_message = idl_channel_message_size(ch);
	out->pause = link_pause;
}

/* Runs the loop until done(arg) or max_ms passed. Bounded both ways: the
 * loop wakes at least every 10 ms (SCTP timers). */
static void run_until(bool (*done)(void *), void *arg, unsigned max_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)max_ms * 1000;

	while (!done(arg) && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
}

static bool drained(void *ch)
{
	return idl_channel_buffered_amount(ch) == 0;
}

void cli_drain(struct idl_channel *ch, unsigned max_ms)
{
	if (ch)
		run_until(drained, ch, max_ms);
}

static bool shut_down(void *p)
{
	return idl_peer_shutdown_done(p);
}

void cli_shutdown_peer(struct idl_peer *p, unsigned max_ms)
{
	if (!p || idl_peer_shutdown(p) < 0)
		return;
	/* SHUTDOWN, SHUTDOWN ACK and SHUTDOWN COMPLETE take one round trip;
	 * past the bound, the free aborts. */
	run_until(shut_down, p, max_ms);
	if (!idl_peer_shutdown_done(p))
		g_debug("the device did not complete the SCTP shutdown within %u ms: aborting", max_ms);
}
