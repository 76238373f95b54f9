/* incoming: receivers for the senders that connect, and the consent
 * question. See incoming.h. One question is on the terminal at a time; the
 * others wait their turn. A receiver that finished is freed from an idle
 * source (never inside its own callback); its connection record stays until
 * the channel or the peer closes, so late callbacks find it. */
#include "cli/incoming.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "cli/cli.h"
#include "cli/peer_text.h"
#include "cli/progress.h"
#include "sctp/sctp.h"
#include "transfer/path.h"
#include "transfer/protocol.h"
#include "transfer/receiver.h"
#include "base/fingerprint.h"
#include "trust/known.h"

#define ASK_TIMEOUT_S 60
#define LIST_FILES 5          /* file names shown with the question */

struct conn {
	struct cli_incoming *in;
	struct idl_peer *peer;
	struct idl_channel *ch;
	struct idl_receiver *r;       /* NULL once finished */
	struct cli_progress *progress;
	guint tick;
	enum idl_xfer_result last;    /* how the last offer ended */
	bool any_done, any_bad;
	char *last_reason;
	size_t offer_files;           /* the offer being asked about */
	size_t offer_hidden;          /* its paths with a component starting with '.' */
	uint64_t offer_total;
	char code[8];                 /* verification code, "" when the sender has none */
	bool offered;                 /* an offer came: code says all there is to say */
	bool hello;                   /* the sender said hello */
	/* known_peers on the offer being decided (check_known) */
	char known_note[512];         /* ", new", ", known since 2026-11-20", ", trusted", ... (escaped) */
	bool trusted;
};

struct cli_incoming {
	struct cli_incoming_options o;
	cli_incoming_ended_cb ended;
	void *user;
	GPtrArray *conns;             /* struct conn * */
	GPtrArray *dying;             /* struct idl_receiver * to free */
	guint reaper;
	/* the consent question */
	GQueue asking;                /* struct conn *: the head is on screen */
	guint stdin_watch, ask_timeout;
	GString *answer;
};

int cli_parse_accept(const char *cmd, const char *s, enum cli_accept_policy *out)
{
	if (!strcmp(s, "ask"))
		*out = CLI_ACCEPT_ASK;
	else if (!strcmp(s, "all"))
		*out = CLI_ACCEPT_ALL;
	else if (!strcmp(s, "none"))
		*out = CLI_ACCEPT_NONE;
	else if (!strcmp(s, "trusted"))
		*out = CLI_ACCEPT_TRUSTED;
	else {
		cli_error(cmd, "--accept must be ask, trusted, all or none, not \"%s\"", s);
		return -1;
	}
	return 0;
}

static const char *who(struct conn *c, char *buf, size_t len)
{
	struct idl_receiver_stats st;
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];

	idl_fingerprint_short(idl_peer_remote_fingerprint(c->peer), shortfp);
	st.peer_name[0] = 0;
	if (c->r)
		idl_receiver_stats(c->r, &st);
	/* The name is the sender's say-so: nothing proves it (docs/PROTOCOL.md). */
	g_snprintf(buf, len, "a sender that claims to be %s [fingerprint %s%s%s%s]",
		   st.peer_name[0] ? cli_quoted(st.peer_name) : "?", shortfp, c->known_note,
		   c->code[0] ? ", code " : c->offered ? ", no verification code" : "", c->code);
	return buf;
}

/* A line per file ("saved: ...") into a pipe or a log file: stdout's own
 * buffer takes them, and they are written at most this long after (or
 * with the next other line); flushed one by one, 10,000 small files cost
 * 10,000 write calls. A terminal gets each at once. */
#define FILE_LINES_FLUSH_MS 100
static guint file_lines_flush;
static int stdout_tty = -1;   /* isatty(1), asked once: it is a system call */

static gboolean flush_file_lines(gpointer user)
{
	(void)user;
	file_lines_flush = 0;
	fflush(stdout);
	return G_SOURCE_REMOVE;
}

static void vsay(struct conn *c, bool per_file, const char *fmt, va_list ap)
{
	cli_progress_clear(c->progress);
	vprintf(fmt, ap);
	putchar('\n');
	if (stdout_tty < 0)
		stdout_tty = isatty(STDOUT_FILENO);
	if (per_file && !stdout_tty) {
		if (!file_lines_flush)
			file_lines_flush = g_timeout_add(FILE_LINES_FLUSH_MS, flush_file_lines, NULL);
		return;
	}
	fflush(stdout);
}

static void say(struct conn *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, false, fmt, ap);
	va_end(ap);
}

/* say() for the line about one file: see FILE_LINES_FLUSH_MS. */
static void say_file(struct conn *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say_file(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, true, fmt, ap);
	va_end(ap);
}

/* ---- reaping ---- */

static gboolean reap(gpointer user)
{
	struct cli_incoming *in = user;

	in->reaper = 0;
	g_ptr_array_set_size(in->dying, 0);
	return G_SOURCE_REMOVE;
}

static void retire(struct conn *c)
{
	struct cli_incoming *in = c->in;

	if (c->tick)
		g_source_remove(c->tick);
	c->tick = 0;
	cli_progress_free(c->progress);
	c->progress = NULL;
	if (c->r) {
		g_ptr_array_add(in->dying, c->r);
		c->r = NULL;
		if (!in->reaper)
			in->reaper = g_idle_add(reap, in);
	}
}

/* ---- the consent question ---- */

static void ask_next(struct cli_incoming *in);

/* Takes the question off the screen; c answers it, unless it is gone. */
static void end_question(struct cli_incoming *in, bool yes, const char *reason)
{
	struct conn *c = g_queue_pop_head(&in->asking);

	if (in->stdin_watch)
		g_source_remove(in->stdin_watch);
	if (in->ask_timeout)
		g_source_remove(in->ask_timeout);
	in->stdin_watch = in->ask_timeout = 0;
	if (c && c->r)
		idl_receiver_decide(c->r, yes, reason);
	ask_next(in);
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer user)
{
	struct cli_incoming *in = user;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)cond;
	if (n <= 0) {
		in->stdin_watch = 0;
		end_question(in, false, "nobody answered at the receiving device");
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(in->answer, buf, n);
	if (!memchr(in->answer->str, '\n', in->answer->len) && in->answer->len < 4096)
		return G_SOURCE_CONTINUE;
	in->stdin_watch = 0;
	g_strstrip(in->answer->str);
	end_question(in, !g_ascii_strcasecmp(in->answer->str, "y") || !g_ascii_strcasecmp(in->answer->str, "yes"),
		     "the user at the receiving device declined");
	return G_SOURCE_REMOVE;
}

static gboolean on_ask_timeout(gpointer user)
{
	struct cli_incoming *in = user;

	in->ask_timeout = 0;
	printf("\nno answer within %d s: declined\n", ASK_TIMEOUT_S);
	end_question(in, false, "nobody answered at the receiving device");
	return G_SOURCE_REMOVE;
}

static void ask_next(struct cli_incoming *in)
{
	struct conn *c = g_queue_peek_head(&in->asking);
	char total[32], w[1024], hidden[64] = "";

	if (!c || in->stdin_watch)
		return;
	g_string_truncate(in->answer, 0);
	if (c->offer_hidden)
		g_snprintf(hidden, sizeof(hidden), ", %zu hidden name%s, listed above", c->offer_hidden,
			   c->offer_hidden == 1 ? "" : "s");
	printf("Accept %zu file%s (%s%s) from %s? [y/N] ", c->offer_files, c->offer_files == 1 ? "" : "s",
	       cli_format_size(c->offer_total, total, sizeof(total)), hidden, who(c, w, sizeof(w)));
	fflush(stdout);
	in->stdin_watch = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, in);
	in->ask_timeout = g_timeout_add_seconds(ASK_TIMEOUT_S, on_ask_timeout, in);
}

/* ---- known peers (pinning, trust) ---- */

enum pin { PIN_OK, PIN_CHANGED, PIN_UNREADABLE };

/* What known_peers says of this sender: its note in who(), whether it is
 * trusted, and PIN_CHANGED (*warning set, owned by the caller) when its
 * name is pinned (verified or trusted) to another fingerprint. A name only
 * claimed before by another key, or one that merely looks like a known
 * name, is said in the note, not refused: claims pin nothing, or one
 * hostile sender could lock the real one out. Read afresh for every offer,
 * so `trust` and `forget` apply without restarting serve. */
static enum pin check_known(struct conn *c, const struct idl_offer_info *info, char **warning)
{
	const struct idl_known_peer *same, *byfp, *taken, *look;
	struct idl_known_verdict v;
	const char *name = info->peer_name, *fp = info->peer_fingerprint;
	struct idl_known *k = NULL;
	GError *err = NULL;
	char since[16], *note;

	c->trusted = false;
	c->known_note[0] = 0;
	if (idl_known_load(c->in->o.known_dir, &k, &err) < 0) {
		say(c, "cannot check the sender against the known peers: %s", cli_message(err->message));
		g_error_free(err);
		return PIN_UNREADABLE;
	}
	idl_known_judge(k, name, fp, &v);
	if (v.pin) {
		*warning = cli_known_warning("", v.pin, fp, c->in->o.known_dir, "Its offer was declined.",
					     "then have it send again, and compare the verification code before accepting.");
		g_strlcpy(c->known_note, ", NOT the one known by this name", sizeof(c->known_note));
		idl_known_free(k);
		return PIN_CHANGED;
	}
	c->trusted = v.trusted;
	same = v.same;
	byfp = v.by_key;
	taken = v.taken;
	look = taken ? NULL : v.lookalike;   /* the name's own history says more */
	if (byfp)
		cli_format_date(byfp->first_seen, false, since, sizeof(since));
	if (c->trusted)
		note = g_strdup(", trusted");
	else if (same)
		note = g_strdup_printf(", known since %s", since);
	else if (byfp)
		note = g_strdup_printf(", known as %s since %s", cli_quoted(byfp->name), since);
	else if (!taken && !look)
		note = g_strdup(", new");
	else
		note = g_strdup("");
	/* Not "new": the name is one the user has seen with another key. */
	if (taken) {
		cli_format_date(taken->first_seen, false, since, sizeof(since));
		g_snprintf(c->known_note, sizeof(c->known_note), "%s, NOT the id that claimed %s since %s", note,
			   cli_quoted(taken->name), since);
	} else if (look) {
		cli_format_date(look->first_seen, false, since, sizeof(since));
		g_snprintf(c->known_note, sizeof(c->known_note),
			   "%s, looks like the known %s (since %s) but is another name", note, cli_quoted(look->name),
			   since);
	} else {
		g_strlcpy(c->known_note, note, sizeof(c->known_note));
	}
	g_free(note);
	idl_known_free(k);
	return PIN_OK;
}

/* Declines an offer check_known refused, loudly. */
static void refuse_known(struct conn *c, struct idl_receiver *r, enum pin pin, char *warning,
			 const struct idl_offer_info *info)
{
	char *forget, *reason;

	if (pin == PIN_UNREADABLE) {
		say(c, "declined: the known peers cannot be checked (see above)");
		idl_receiver_decide(r, false, "the receiving device cannot read its list of known peers");
		return;
	}
	g_strchomp(warning);
	say(c, "%s", warning);   /* escaped by cli_known_warning */
	forget = cli_forget_command(c->in->o.known_dir, info->peer_name);
	reason = g_strdup_printf("this device knows \"%s\" with another fingerprint; if your identity changed, "
				 "its user must first run: %s", info->peer_name, forget);
	idl_receiver_decide(r, false, reason);
	g_free(reason);
	g_free(forget);
}

/* After a verified transfer the user accepted (asked, or trusted): the
 * sender's claimed name is remembered with its key, as a claim that pins
 * nothing, so the next offer can say "known since". Under --accept all
 * nobody looked at the sender: nothing is recorded. */
static void remember_sender(struct conn *c, const char *name)
{
	const char *fp = idl_peer_remote_fingerprint(c->peer);
	char shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];
	GError *err = NULL;
	int r;

	if (c->in->o.policy == CLI_ACCEPT_ALL)
		return;
	r = idl_known_remember(c->in->o.known_dir, name, fp, IDL_KNOWN_CLAIMED, &err);
	idl_fingerprint_short(fp, shortfp);
	if (r == 1)
		say(c, "remembered: the sender claiming %s [fingerprint %s] is a known peer now (idrop-lan peers)",
		    cli_quoted(name), shortfp);
	if (r < 0) {
		say(c, "not remembered as a known peer: %s", cli_message(err->message));
		g_error_free(err);
	}
}

/* ---- the receiver ---- */

static void on_offer(struct idl_receiver *r, const struct idl_offer_info *info, void *user)
{
	struct conn *c = user;
	struct cli_incoming *in = c->in;
	char total[32], held[32], size[32], w[1024], *warning = NULL;
	size_t n = info->offer->n_files, shown = 0, hidden = 0;
	enum pin pin = check_known(c, info, &warning);

	g_strlcpy(c->code, info->code ? info->code : "", sizeof(c->code));
	c->offered = true;
	say(c, "incoming: %zu file%s (%s) from %s%s%s", n, n == 1 ? "" : "s",
	    cli_format_size(info->total, total, sizeof(total)), who(c, w, sizeof(w)),
	    info->held ? ", resuming after " : "", info->held ? cli_format_size(info->held, held, sizeof(held)) : "");
	/* The first few names, and every hidden one (a component starting
	 * with '.', such as .config/autostart/x.desktop) wherever it is in the
	 * offer: those are never summed up in "... and N more". */
	for (size_t i = 0; i < n; i++) {
		const struct idl_msg_file *f = &info->offer->files[i];
		char *visible;

		if (!idl_path_is_hidden(f->path)) {
			if (i < LIST_FILES) {
				say(c, "  %s (%s)", cli_text(f->path), cli_format_size(f->size, size, sizeof(size)));
				shown++;
			}
			continue;
		}
		visible = idl_path_visible(f->path);
		say(c, "  %s (%s): a hidden name, saved as %s", cli_text(f->path),
		    cli_format_size(f->size, size, sizeof(size)), cli_text(visible));
		g_free(visible);
		shown++;
		hidden++;
	}
	if (n > shown)
		say(c, "  ... and %zu more", n - shown);

	if (in->o.policy == CLI_ACCEPT_NONE) {
		say(c, "declined (--accept=none)");
		idl_receiver_decide(r, false, "this device accepts no files");
	} else if (pin != PIN_OK) {
		refuse_known(c, r, pin, warning, info);
	} else if (in->o.policy == CLI_ACCEPT_ALL || (in->o.policy == CLI_ACCEPT_TRUSTED && c->trusted)) {
		idl_receiver_decide(r, true, NULL);
	} else if (in->o.policy == CLI_ACCEPT_TRUSTED && !isatty(STDIN_FILENO)) {
		say(c, "declined: not a trusted peer, and no terminal to ask on; after comparing ids, "
		       "`idrop-lan trust NAME` makes it one");
		idl_receiver_decide(r, false, "the receiving device takes files from trusted peers only");
	} else if (!isatty(STDIN_FILENO)) {
		say(c, "declined: no terminal to ask on; start serve with --accept=all to take files unasked");
		idl_receiver_decide(r, false, "nobody is at the receiving device to accept it");
	} else {
		c->offer_files = n;
		c->offer_hidden = hidden;
		c->offer_total = info->total;
		g_queue_push_tail(&in->asking, c);
		ask_next(in);
	}
	g_free(warning);
}

static gboolean on_tick(gpointer user)
{
	struct conn *c = user;
	struct idl_receiver_stats st;

	idl_receiver_stats(c->r, &st);
	cli_progress_update(c->progress, st.current[0] ? st.current : "...", st.done, st.total);
	return G_SOURCE_CONTINUE;
}

static void on_file_done(struct idl_receiver *r, const char *path, const char *final_path, const char *reason,
			 void *user)
{
	struct conn *c = user;
	char *visible = idl_path_visible(path);

	(void)r;
	if (final_path && !strcmp(path, final_path))
		say_file(c, "saved: %s", cli_text(final_path));
	else if (final_path && !strcmp(visible, final_path))
		say_file(c, "saved: %s (sent as %s: a name starting with '.' is hidden, so it is saved with '_')",
		    cli_text(final_path), cli_text(path));
	else if (final_path)
		say_file(c, "saved: %s (a file named %s was there already)", cli_text(final_path), cli_text(visible));
	else
		say_file(c, "not kept: %s: %s", cli_text(path), cli_text(reason));
	g_free(visible);
}

static void on_transfer_done(struct idl_receiver *r, enum idl_xfer_result res, const char *reason, void *user)
{
	struct conn *c = user;
	struct idl_receiver_stats st;
	char w[1024], total[32];

	idl_receiver_stats(r, &st);
	if (c->tick)
		g_source_remove(c->tick);
	c->tick = 0;
	c->any_done = true;
	c->last = res;
	g_free(c->last_reason);
	c->last_reason = g_strdup(reason);
	if (res == IDL_XFER_OK) {
		say(c, "done: %u file%s (%s) from %s, all verified", st.files, st.files == 1 ? "" : "s",
		    cli_format_size(st.total, total, sizeof(total)), who(c, w, sizeof(w)));
		remember_sender(c, st.peer_name);
	} else {
		c->any_bad = true;
		if (res != IDL_XFER_DECLINED)
			say(c, "ended: transfer from %s: %s", who(c, w, sizeof(w)), cli_text(reason));
	}
}

static void on_finished(struct idl_receiver *r, enum idl_xfer_result res, const char *reason, void *user)
{
	struct conn *c = user;
	struct cli_incoming *in = c->in;
	char w[1024];

	/* A question still on screen for it is void now. */
	if (g_queue_peek_head(&in->asking) == c) {
		c->r = NULL;                /* nothing to answer */
		printf("\n");
		end_question(in, false, NULL);
		c->r = r;
	}
	g_queue_remove(&in->asking, c);
	if (res != IDL_XFER_CLOSED || !c->any_done)
		say(c, "stopped: %s: %s", who(c, w, sizeof(w)), cli_text(reason));
	/* The sender learns the end even if it is waiting for nothing more
	 * (docs/PROTOCOL.md: a receiver that stops closes the channel). */
	if (res != IDL_XFER_CLOSED && c->ch)
		idl_channel_close(c->ch);
	retire(c);
	if (in->ended) {
		if (c->any_done && !c->any_bad && res == IDL_XFER_CLOSED)
			in->ended(IDL_XFER_OK, NULL, in->user);
		else if (c->any_done && res == IDL_XFER_CLOSED)
			in->ended(c->last, c->last_reason, in->user);
		else
			in->ended(res, reason, in->user);
	}
}

/* ---- the channel ---- */

static void ch_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct conn *c = user;

	(void)ch;
	if (c->r)
		idl_receiver_feed(c->r, binary, data, len);
	if (!c->hello && c->r) {
		struct idl_receiver_stats st;
		idl_receiver_stats(c->r, &st);
		c->hello = st.peer_name[0] != 0;
		if (c->hello && c->in->o.hello)
			c->in->o.hello(c->peer, c->in->user);
	}
	if (c->r && c->progress && !c->tick)
		c->tick = g_timeout_add(100, on_tick, c);
}

static void conn_free(gpointer data)
{
	struct conn *c = data;

	retire(c);
	g_free(c->last_reason);
	g_free(c);
}

static void ch_closed(struct idl_channel *ch, void *user)
{
	struct conn *c = user;

	(void)ch;
	if (c->r)
		idl_receiver_closed(c->r);
	g_ptr_array_remove(c->in->conns, c);
}

void cli_incoming_channel(struct cli_incoming *in, struct idl_peer *p, struct idl_channel *ch)
{
	static const struct idl_channel_callbacks ccb = { NULL, ch_message, NULL, ch_closed };
	static const struct idl_receiver_callbacks rcb = { on_offer, on_file_done, on_transfer_done, on_finished };
	struct conn *c;
	struct idl_link link;
	GError *err = NULL;

	for (guint i = 0; i < in->conns->len; i++) {
		if (((struct conn *)in->conns->pdata[i])->peer != p)
			continue;
		g_message("closing a second \"idrop\" channel on one connection: one transfer channel per "
			  "connection is taken");
		idl_channel_close(ch);
		return;
	}
	c = g_new0(struct conn, 1);
	c->in = in;
	c->peer = p;
	c->ch = ch;
	cli_channel_link(ch, &link);
	if (idl_receiver_new(in->o.dir, in->o.state_dir, in->o.name, idl_peer_remote_fingerprint(p), &link, &rcb,
			     c, &c->r, &err) < 0) {
		cli_error("serve", "cannot receive: %s", err->message);
		g_error_free(err);
		g_free(c);
		idl_channel_close(ch);
		return;
	}
	if (in->o.fingerprint)
		idl_receiver_set_local_fingerprint(c->r, in->o.fingerprint);
	if (in->o.progress)
		c->progress = cli_progress_new("receiving", false);
	g_ptr_array_add(in->conns, c);
	idl_channel_set_callbacks(ch, &ccb, c);
}

void cli_incoming_peer_closed(struct cli_incoming *in, struct idl_peer *p)
{
	for (guint i = in->conns->len; i-- > 0;) {
		struct conn *c = in->conns->pdata[i];
		if (c->peer != p)
			continue;
		if (c->r)
			idl_receiver_closed(c->r);
		g_ptr_array_remove_index(in->conns, i);
	}
}

struct cli_incoming *cli_incoming_new(const struct cli_incoming_options *o, cli_incoming_ended_cb ended,
				      void *user)
{
	struct cli_incoming *in = g_new0(struct cli_incoming, 1);

	in->o = *o;
	in->ended = ended;
	in->user = user;
	in->conns = g_ptr_array_new_with_free_func(conn_free);
	in->dying = g_ptr_array_new_with_free_func((GDestroyNotify)idl_receiver_free);
	in->answer = g_string_new(NULL);
	g_queue_init(&in->asking);
	return in;
}

void cli_incoming_free(struct cli_incoming *in)
{
	if (!in)
		return;
	in->ended = NULL;
	g_queue_clear(&in->asking);
	if (in->stdin_watch)
		g_source_remove(in->stdin_watch);
	if (in->ask_timeout)
		g_source_remove(in->ask_timeout);
	if (in->reaper)
		g_source_remove(in->reaper);
	g_ptr_array_unref(in->conns);
	g_ptr_array_unref(in->dying);
	g_string_free(in->answer, TRUE);
	g_free(in);
}
