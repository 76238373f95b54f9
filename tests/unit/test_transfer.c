/* Unit tests for transfer/sender and transfer/receiver: the two state
 * machines wired to each other through an in-memory link (no network), on
 * a real download folder. Round trips, decline, a cut connection resumed,
 * offers split over many files, and a scripted hostile sender. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>

#include "tests/unit/fs_helpers.h"
#include "transfer/files.h"
#include "transfer/protocol.h"
#include "transfer/receiver.h"
#include "transfer/sender.h"

#define FP_A "aa00000000000000000000000000000000000000000000000000000000000000"

/* ---- an in-memory link: each direction queues messages and delivers them
 * from an idle source, as a network would, later ---- */

struct msg {
	bool binary;
	GBytes *data;
};

struct dir {
	struct pair *pair;
	bool to_receiver;
	GQueue q;
	size_t queued;
	guint idle;
	bool paused;                  /* its reader asked the link to hold back */
	size_t most_queued;           /* the largest queued seen */
};

struct pair {
	struct dir s2r, r2s;
	struct idl_sender *sender;
	struct idl_receiver *receiver;
	uint64_t data_delivered;      /* binary bytes that reached the receiver */
	guint offer_msgs;             /* offer messages that reached it */
	guint accept_msgs, receipt_msgs; /* the same, that reached the sender */
	uint64_t cut_after;           /* 0: never; else drop the link past this */
	bool cut;
	/* outcomes */
	bool s_done, r_done;
	enum idl_xfer_result s_result, r_result, t_result;
	char *s_reason;
	guint transfers;
	bool accept;
	uint64_t offered_held;
	char s_code[8];               /* the verification code each end derived */
	char r_code[8];
	bool r_had_code;
};

static void msg_free(gpointer p)
{
	struct msg *m = p;

	g_bytes_unref(m->data);
	g_free(m);
}

static void cut_link(struct pair *p)
{
	p->cut = true;
	g_queue_clear_full(&p->s2r.q, msg_free);
	g_queue_clear_full(&p->r2s.q, msg_free);
	p->s2r.queued = p->r2s.queued = 0;
	if (p->sender)
		idl_sender_closed(p->sender);
	if (p->receiver)
		idl_receiver_closed(p->receiver);
}

static gboolean deliver(gpointer data)
{
	struct dir *d = data;
	struct pair *p = d->pair;
	struct msg *m;

	d->idle = 0;
	while (!p->cut && !d->paused && (m = g_queue_pop_head(&d->q))) {
		gsize len;
		const uint8_t *bytes = g_bytes_get_data(m->data, &len);
		d->queued -= len;
		if (d->to_receiver) {
			if (m->binary)
				p->data_delivered += len;
			else if (len > 15 && !memcmp(bytes, "{\"type\":\"offer\"", 15))
				p->offer_msgs++;
		} else if (!m->binary && len > 16 && !memcmp(bytes, "{\"type\":\"accept\"", 16)) {
			p->accept_msgs++;
		} else if (!m->binary && len > 17 && !memcmp(bytes, "{\"type\":\"receipt\"", 17)) {
			p->receipt_msgs++;
		}
		if (d->to_receiver) {
			if (p->cut_after && p->data_delivered > p->cut_after) {
				msg_free(m);
				cut_link(p);
				return G_SOURCE_REMOVE;
			}
			idl_receiver_feed(p->receiver, m->binary, bytes, len);
		} else {
			idl_sender_feed(p->sender, m->binary, bytes, len);
		}
		msg_free(m);
	}
	if (d->to_receiver && p->sender && !p->cut)
		idl_sender_pump(p->sender);
	return G_SOURCE_REMOVE;
}

static int link_send(void *ctx, bool binary, const uint8_t *data, size_t len)
{
	struct dir *d = ctx;
	struct msg *m;

	if (d->pair->cut)
		return -ENOTCONN;
	m = g_new0(struct msg, 1);
	m->binary = binary;
	m->data = g_bytes_new(data, len);
	g_queue_push_tail(&d->q, m);
	d->queued += len;
	d->most_queued = MAX(d->most_queued, d->queued);
	/* With no sender or receiver (a scripted one), its messages stay for
	 * the test to read. */
	if (!d->idle && (d->to_receiver ? d->pair->receiver != NULL : d->pair->sender != NULL))
		d->idle = g_idle_add(deliver, d);
	return 0;
}

static size_t link_buffered(void *ctx)
{
	return ((struct dir *)ctx)->queued;
}

/* ctx is the pauser's sending direction; what it holds back is the other. */
static void link_pause(void *ctx, bool paused)
{
	struct dir *d = ctx;
	struct dir *in = d->to_receiver ? &d->pair->r2s : &d->pair->s2r;

	in->paused = paused;
	if (!paused && !in->idle && !g_queue_is_empty(&in->q))
		in->idle = g_idle_add(deliver, in);
}

/* ---- callbacks ---- */

static void s_finished(struct idl_sender *s, enum idl_xfer_result r, const char *reason, void *user)
{
	struct pair *p = user;

	(void)s;
	p->s_done = true;
	p->s_result = r;
	p->s_reason = g_strdup(reason);
}

static void r_offer(struct idl_receiver *r, const struct idl_offer_info *info, void *user)
{
	struct pair *p = user;

	g_assert_cmpstr(info->peer_name, ==, "test sender");
	g_assert_cmpstr(info->peer_fingerprint, ==, FP_A);
	p->offered_held = info->held;
	p->r_had_code = info->code != NULL;
	g_strlcpy(p->r_code, info->code ? info->code : "", sizeof(p->r_code));
	idl_receiver_decide(r, p->accept, "not today");
}

static void r_transfer_done(struct idl_receiver *r, enum idl_xfer_result res, const char *reason, void *user)
{
	struct pair *p = user;

	(void)r;
	(void)reason;
	p->transfers++;
	p->t_result = res;
}

static void r_finished(struct idl_receiver *r, enum idl_xfer_result res, const char *reason, void *user)
{
	struct pair *p = user;

	(void)r;
	(void)reason;
	p->r_done = true;
	p->r_result = res;
}

static void s_code(struct idl_sender *s, const char *code, void *user)
{
	struct pair *p = user;

	(void)s;
	/* NULL: we offered a code and the receiver took no part. */
	g_strlcpy(p->s_code, code ? code : "(none)", sizeof(p->s_code));
}

static const struct idl_sender_callbacks scb = { NULL, NULL, s_finished, s_code };
static const struct idl_receiver_callbacks rcb = { r_offer, NULL, r_transfer_done, r_finished };

static gboolean timed_out(gpointer p)
{
	*(bool *)p = true;
	return G_SOURCE_REMOVE;
}

/* Runs the loop until cond() or 60 s. */
static void run_until(bool (*cond)(struct pair *), struct pair *p)
{
	bool late = false;
	guint t = g_timeout_add_seconds(60, timed_out, &late);

	while (!cond(p) && !late)
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(late);
	g_source_remove(t);
}

static bool sender_done(struct pair *p)
{
	return p->s_done;
}

static bool receiver_written(struct pair *p)
{
	return idl_receiver_written(p->receiver);
}

static bool both_done(struct pair *p)
{
	return p->s_done && p->r_done;
}

/* A sender and a receiver wired together; dir receives, state keeps resume
 * records. files are borrowed. */
static struct pair *pair_new(const GPtrArray *files, const char *dir, const char *state, bool accept)
{
	struct pair *p = g_new0(struct pair, 1);
	struct idl_link sl = { link_send, link_buffered, &p->s2r, 64 * 1024, NULL };
	struct idl_link rl = { link_send, link_buffered, &p->r2s, 64 * 1024, link_pause };
	GError *err = NULL;

	p->s2r = (struct dir){ .pair = p, .to_receiver = true };
	p->r2s = (struct dir){ .pair = p, .to_receiver = false };
	g_queue_init(&p->s2r.q);
	g_queue_init(&p->r2s.q);
	p->accept = accept;
	if (files)
		g_assert_cmpint(idl_sender_new(files, "test sender", &sl, &scb, p, &p->sender, &err), ==, 0);
	g_assert_cmpint(idl_receiver_new(dir, state, "test receiver", FP_A, &rl, &rcb, p, &p->receiver, &err), ==, 0);
	g_assert_no_error(err);
	return p;
}

static void pair_free(struct pair *p)
{
	/* The receiver first: its worker may still hold files open. */
	idl_receiver_free(p->receiver);
	idl_sender_free(p->sender);
	if (p->s2r.idle)
		g_source_remove(p->s2r.idle);
	if (p->r2s.idle)
		g_source_remove(p->r2s.idle);
	g_queue_clear_full(&p->s2r.q, msg_free);
	g_queue_clear_full(&p->r2s.q, msg_free);
	g_free(p->s_reason);
	g_free(p);
}

/* ---- fixtures ---- */

struct fx {
	char *root, *src, *dst, *state;
};

static void fx_setup(struct fx *f, gconstpointer data)
{
	(void)data;
	f->root = g_dir_make_tmp("idl-transfer-XXXXXX", NULL);
	f->src = g_build_filename(f->root, "src", NULL);
	f->dst = g_build_filename(f->root, "dst", NULL);
	f->state = g_build_filename(f->root, "state", NULL);
	g_assert_cmpint(g_mkdir(f->src, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(f->dst, 0700), ==, 0);
}


static void fx_teardown(struct fx *f, gconstpointer data)
{
	(void)data;
	remove_all(f->root);
	g_free(f->root);
	g_free(f->src);
	g_free(f->dst);
	g_free(f->state);
}

/* Writes size pseudo-random bytes (seeded) to dir/rel, folders included. */
static char *make_file(const char *dir, const char *rel, size_t size, guint32 seed)
{
	char *path = g_build_filename(dir, rel, NULL), *parent = g_path_get_dirname(path);
	GRand *rand = g_rand_new_with_seed(seed);
	guint8 *buf = g_malloc(size + 1);

	for (size_t i = 0; i < size; i++)
		buf[i] = (guint8)g_rand_int(rand);
	g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
	g_assert_true(g_file_set_contents(path, (char *)buf, (gssize)size, NULL));
	g_rand_free(rand);
	g_free(buf);
	g_free(parent);
	return path;
}

static void assert_same(const char *a, const char *b)
{
	char *x, *y;
	gsize lx, ly;

	g_assert_true(g_file_get_contents(a, &x, &lx, NULL));
	if (!g_file_get_contents(b, &y, &ly, NULL))
		g_error("%s is missing", b);
	g_assert_cmpuint(lx, ==, ly);
	g_assert_true(memcmp(x, y, lx) == 0);
	g_free(x);
	g_free(y);
}

static GPtrArray *collect(char **args, size_t n)
{
	GPtrArray *files, *skipped;
	GError *err = NULL;

	g_assert_cmpint(idl_files_collect(args, n, &files, &skipped, &err), ==, 0);
	g_assert_no_error(err);
	g_ptr_array_unref(skipped);
	return files;
}


/* ---- tests ---- */

static void test_round_trip(struct fx *f, gconstpointer data)
{
	char *tree = g_build_filename(f->src, "tree", NULL), *got;
	char *a = make_file(f->src, "tree/empty", 0, 1);
	char *b = make_file(f->src, "tree/one byte", 1, 2);
	char *c = make_file(f->src, "tree/nested/dir/été 3 MiB.bin", 3 * 1024 * 1024 + 17, 3);
	char *d = make_file(f->src, "loose.txt", 100000, 4);
	char *args[] = { tree, d };
	GPtrArray *files = collect(args, 2);
	struct pair *p;

	(void)data;
	g_assert_cmpuint(files->len, ==, 4);
	p = pair_new(files, f->dst, f->state, true);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	g_assert_cmpint(p->t_result, ==, IDL_XFER_OK);
	got = g_build_filename(f->dst, "tree/empty", NULL);
	assert_same(a, got);
	g_free(got);
	got = g_build_filename(f->dst, "tree/one byte", NULL);
	assert_same(b, got);
	g_free(got);
	got = g_build_filename(f->dst, "tree/nested/dir/été 3 MiB.bin", NULL);
	assert_same(c, got);
	g_free(got);
	got = g_build_filename(f->dst, "loose.txt", NULL);
	assert_same(d, got);
	g_free(got);
	pair_free(p);

	/* Again: nothing is overwritten, the copies get new names. */
	p = pair_new(files, f->dst, f->state, true);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	got = g_build_filename(f->dst, "loose (1).txt", NULL);
	assert_same(d, got);
	g_free(got);
	pair_free(p);
	g_ptr_array_unref(files);
	g_free(a);
	g_free(b);
	g_free(c);
	g_free(d);
	g_free(tree);
}

static void test_decline(struct fx *f, gconstpointer data)
{
	char *a = make_file(f->src, "a", 1000, 1);
	GPtrArray *files = collect(&a, 1);
	struct pair *p = pair_new(files, f->dst, f->state, false);

	(void)data;
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_DECLINED);
	g_assert_cmpstr(p->s_reason, ==, "not today");
	g_assert_cmpint(p->t_result, ==, IDL_XFER_DECLINED);
	g_assert_cmpuint(count_entries(f->dst), ==, 0);
	pair_free(p);
	g_ptr_array_unref(files);
	g_free(a);
}

static void test_resume(struct fx *f, gconstpointer data)
{
	size_t size = 5 * 1024 * 1024 + 3;
	char *a = make_file(f->src, "big.bin", size, 7), *got, *part;
	GPtrArray *files = collect(&a, 1);
	struct idl_sender_stats st;
	struct pair *p = pair_new(files, f->dst, f->state, true);
	struct stat sb;

	(void)data;
	p->cut_after = 2 * 1024 * 1024;
	idl_sender_start(p->sender);
	run_until(both_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_CLOSED);
	g_assert_cmpint(p->r_result, ==, IDL_XFER_CLOSED);
	/* A free does not wait for the disk: wait here, so that the .part is
	 * complete on disk before it is measured. */
	run_until(receiver_written, p);
	pair_free(p);
	part = g_build_filename(f->dst, "big.bin.part", NULL);
	g_assert_cmpint(g_stat(part, &sb), ==, 0);
	g_assert_cmpint(sb.st_size, >, 0);
	g_assert_cmpint(sb.st_size, <=, 2 * 1024 * 1024);

	p = pair_new(files, f->dst, f->state, true);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	g_assert_cmpuint(p->offered_held, ==, (uint64_t)sb.st_size);
	idl_sender_stats(p->sender, &st);
	g_assert_cmpuint(st.resumed, ==, (uint64_t)sb.st_size);
	g_assert_cmpuint(st.sent, ==, size - (uint64_t)sb.st_size);
	got = g_build_filename(f->dst, "big.bin", NULL);
	assert_same(a, got);
	g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
	pair_free(p);
	g_ptr_array_unref(files);
	g_free(got);
	g_free(part);
	g_free(a);
}

/* n files top/<i> (120 digits when long_names, else 5) of i % mod + add bytes,
 * sent to a receiver through a real pair: one transfer, in more than one
 * offer message, every file kept. Returns the pair (and *files) for more
 * checks. */
static struct pair *send_many(struct fx *f, const char *top, bool long_names, unsigned n, unsigned mod,
			      unsigned add, GPtrArray **files)
{
	char *tree = g_build_filename(f->src, top, NULL), *name, *rel;
	struct pair *p;

	for (unsigned i = 0; i < n; i++) {
		name = g_strdup_printf(long_names ? "%0120u" : "%05u", i);
		rel = g_build_filename(top, name, NULL);
		g_free(make_file(f->src, rel, i % mod + add, i));
		g_free(rel);
		g_free(name);
	}
	*files = collect(&tree, 1);
	p = pair_new(*files, f->dst, f->state, true);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	/* Version 2: one offer in several messages ("more"). */
	g_assert_cmpuint(p->transfers, ==, 1);
	g_assert_cmpuint(p->offer_msgs, >, 1);
	g_free(tree);
	tree = g_build_filename(f->dst, top, NULL);
	g_assert_cmpuint(count_entries(tree), ==, n);
	g_free(tree);
	return p;
}

static void test_many_offers(struct fx *f, gconstpointer data)
{
	GPtrArray *files;

	(void)data;
	/* Long names, so the files need more than one offer message. */
	pair_free(send_many(f, "many", true, 700, 7, 0, &files));
	g_ptr_array_unref(files);
}

/* Issue 11: an offer names at most 1,000 folders, so the sender splits a
 * tree of 700 files three folders deep each (2,100 folders, in under two
 * offers' worth of JSON) into offers that each pass; a dot name lands
 * under '_'. */
static void test_many_folders(struct fx *f, gconstpointer data)
{
	char *tree = g_build_filename(f->src, "dirs", NULL), *name, *p2;
	GPtrArray *files;
	struct pair *p;
	unsigned n = 700;

	(void)data;
	for (unsigned i = 0; i < n; i++) {
		name = g_strdup_printf("dirs/%x/a/b/f", i);
		g_free(make_file(f->src, name, 1, i));
		g_free(name);
	}
	g_free(make_file(f->src, "dirs/.hidden/.x", 3, 1));
	files = collect(&tree, 1);
	p = pair_new(files, f->dst, f->state, true);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	g_assert_cmpuint(p->transfers, ==, 3);     /* 333 + 333 + 35 files */
	g_free(tree);
	tree = g_build_filename(f->dst, "dirs", NULL);
	g_assert_cmpuint(count_entries(tree), ==, n + 1);
	p2 = g_build_filename(f->dst, "dirs", "_hidden", "_x", NULL);
	g_assert_true(g_file_test(p2, G_FILE_TEST_IS_REGULAR));
	g_free(p2);
	p2 = g_build_filename(f->dst, "dirs", ".hidden", NULL);
	g_assert_false(g_file_test(p2, G_FILE_TEST_EXISTS));
	g_free(p2);
	pair_free(p);
	g_ptr_array_unref(files);
	g_free(tree);
}

/* ---- a hostile sender: scripted messages straight into the receiver ---- */

static const char *const HELLO = "{\"type\":\"hello\",\"version\":1,\"name\":\"test sender\",\"kind\":\"device\"}";
#define TID "0123456789abcdef0123456789abcdef"

static void feed_text(struct pair *p, const char *text)
{
	idl_receiver_feed(p->receiver, false, (const uint8_t *)text, strlen(text));
}

static void sha_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[32];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d);
	for (int i = 0; i < 32; i++)
		g_snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* What the receiver answered so far, one message a line. */
static char *answers(struct pair *p)
{
	GString *out = g_string_new(NULL);
	struct msg *m;

	while ((m = g_queue_pop_head(&p->r2s.q))) {
		gsize len;
		const char *d = g_bytes_get_data(m->data, &len);
		g_string_append_len(out, d, (gssize)len);
		g_string_append_c(out, '\n');
		msg_free(m);
	}
	p->r2s.queued = 0;
	return g_string_free(out, FALSE);
}

/* Offers one file "name" of announced size, then sends `sent` bytes and a
 * file-end with the hash of what was sent (or a wrong one), then done.
 * Returns the last control messages the receiver answered (owned). */
static char *script(struct fx *f, const char *path, size_t announced, size_t sent, bool wrong_hash,
		    enum idl_xfer_result *finished)
{
	struct pair *p = pair_new(NULL, f->dst, f->state, true);
	char *text, hex[65], *out;
	uint8_t *buf = g_malloc0(sent + 1);

	memset(buf, 'x', sent);
	feed_text(p, HELLO);
	text = g_strdup_printf("{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[{\"id\":0,\"path\":\"%s\","
			       "\"size\":%zu,\"mtime\":1}]}", path, announced);
	feed_text(p, text);
	g_free(text);
	/* The plan runs on the worker: wait for the accept (or the cancel). */
	while (!p->r_done && p->transfers == 0 && g_queue_get_length(&p->r2s.q) < 2)
		g_main_context_iteration(NULL, TRUE);
	if (!p->r_done) {
		feed_text(p, "{\"type\":\"file\",\"id\":0,\"offset\":0}");
		idl_receiver_feed(p->receiver, true, buf, sent);
		sha_hex(buf, sent, hex);
		if (wrong_hash)
			hex[0] = hex[0] == '0' ? '1' : '0';
		text = g_strdup_printf("{\"type\":\"file-end\",\"id\":0,\"sha256\":\"%s\"}", hex);
		feed_text(p, text);
		g_free(text);
		feed_text(p, "{\"type\":\"done\"}");
		while (!p->r_done && p->transfers == 0)
			g_main_context_iteration(NULL, TRUE);
	}
	out = answers(p);
	*finished = p->r_done ? p->r_result : IDL_XFER_OK;
	pair_free(p);
	g_free(buf);
	return out;
}

static void test_hostile(struct fx *f, gconstpointer data)
{
	enum idl_xfer_result res;
	char *out, *part;

	(void)data;
	/* A path that leaves the folder never gets past the decoder. */
	out = script(f, "../escape", 10, 10, false, &res);
	g_assert_cmpint(res, ==, IDL_XFER_PROTOCOL);
	g_assert_nonnull(strstr(out, "\"type\":\"cancel\""));
	g_free(out);
	out = script(f, "/etc/evil", 10, 10, false, &res);
	g_assert_cmpint(res, ==, IDL_XFER_PROTOCOL);
	g_free(out);
	g_assert_cmpuint(count_entries(f->dst), ==, 0);

	/* More bytes than announced: not kept, no .part. */
	out = script(f, "more", 10, 20, false, &res);
	g_assert_nonnull(strstr(out, "more bytes than announced"));
	g_assert_nonnull(strstr(out, "\"status\":\"failed\""));
	g_free(out);
	g_assert_cmpuint(count_entries(f->dst), ==, 0);

	/* A wrong hash: not kept, no .part. */
	out = script(f, "hash", 10, 10, true, &res);
	g_assert_nonnull(strstr(out, "\"type\":\"file-error\""));
	g_free(out);
	g_assert_cmpuint(count_entries(f->dst), ==, 0);

	/* Fewer bytes: not kept under its name; the .part stays for a resume. */
	out = script(f, "less", 10, 4, false, &res);
	g_assert_nonnull(strstr(out, "fewer bytes than announced"));
	g_free(out);
	part = g_build_filename(f->dst, "less.part", NULL);
	g_assert_true(g_file_test(part, G_FILE_TEST_IS_REGULAR));
	part[strlen(part) - 5] = 0;
	g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
	g_free(part);
	g_assert_cmpuint(count_entries(f->dst), ==, 1);
}

/* An answer the receiver cannot send must not leave the sender waiting
 * for it: a disk error naming a long path (over the protocol's 1,024 bytes
 * for a reason) still goes, cut to fit, and the transfer ends. */
static void test_long_reason(struct fx *f, gconstpointer data)
{
	enum idl_xfer_result res;
	char *blocker, *out, *reason, *end, *path;
	char comp[201];
	GString *deep = g_string_new(NULL);

	(void)data;
	memset(comp, 'd', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = 0;
	for (int i = 0; i < 6; i++)
		g_string_append_printf(deep, "%s%s", i ? "/" : "", comp);
	/* Its last folder is a file already: the store cannot create it. */
	blocker = g_build_filename(f->dst, deep->str, NULL);
	g_assert_cmpint(g_mkdir_with_parents(blocker, 0755), ==, 0);
	g_assert_cmpint(g_rmdir(blocker), ==, 0);
	g_assert_true(g_file_set_contents(blocker, "x", 1, NULL));
	path = g_strdup_printf("%s/f", deep->str);
	out = script(f, path, 10, 10, false, &res);
	g_assert_cmpint(res, ==, IDL_XFER_OK);   /* the receipt came */
	g_assert_nonnull(strstr(out, "\"status\":\"failed\""));
	reason = strstr(out, "\"type\":\"file-error\"");
	g_assert_nonnull(reason);
	reason = strstr(reason, "\"reason\":\"");
	g_assert_nonnull(reason);
	reason += strlen("\"reason\":\"");
	end = strchr(reason, '"');
	g_assert_nonnull(end);
	g_assert_cmpint(end - reason, <=, IDL_MSG_REASON_MAX);
	g_assert_true(g_str_has_prefix(end - 3, "...\""));
	g_free(out);
	g_free(path);
	g_free(blocker);
	g_string_free(deep, TRUE);
}

/* A message that cannot be encoded is not sent: the link says so with
 * -EMSGSIZE and why, for the receiver to cancel (an accept of 10,000
 * files at offsets of 2^53-1 is over 64 KiB). */
static void test_answer_too_large(struct fx *f, gconstpointer data)
{
	struct pair *p = pair_new(NULL, f->dst, f->state, true);
	struct idl_link link = { .send = link_send, .ctx = &p->r2s };
	struct idl_msg m = { .type = IDL_MSG_ACCEPT, .transfer = TID };
	GError *err = NULL;

	(void)data;
	m.n_files = IDL_MSG_FILES_MAX;
	m.files = g_new0(struct idl_msg_file, m.n_files);
	for (size_t i = 0; i < m.n_files; i++) {
		m.files[i].id = (uint32_t)i;
		m.files[i].offset = IDL_MSG_INT_MAX;
	}
	g_assert_cmpint(idl_link_send_msg(&link, &m, &err), ==, -EMSGSIZE);
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, "over the message limit"));
	g_assert_cmpuint(g_queue_get_length(&p->r2s.q), ==, 0);
	g_error_free(err);
	g_free(m.files);
	pair_free(p);
}

static void test_out_of_order(struct fx *f, gconstpointer data)
{
	struct pair *p = pair_new(NULL, f->dst, f->state, true);
	static const uint8_t junk[] = "junk";

	(void)data;
	/* Binary data before any offer. */
	feed_text(p, HELLO);
	idl_receiver_feed(p->receiver, true, junk, 4);
	g_assert_true(p->r_done);
	g_assert_cmpint(p->r_result, ==, IDL_XFER_PROTOCOL);
	pair_free(p);

	/* An offer before hello; an unknown message type. */
	p = pair_new(NULL, f->dst, f->state, true);
	feed_text(p, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[]}");
	g_assert_cmpint(p->r_result, ==, IDL_XFER_PROTOCOL);
	pair_free(p);
	p = pair_new(NULL, f->dst, f->state, true);
	feed_text(p, "{\"type\":\"teleport\"}");
	g_assert_cmpint(p->r_result, ==, IDL_XFER_PROTOCOL);
	pair_free(p);
	g_assert_cmpuint(count_entries(f->dst), ==, 0);
}

/* ---- version 2: runs of small files, from a scripted sender ---- */

/* File i of a scripted offer: "f<i>", its bytes all 'a' + i. */
static uint8_t *content(size_t i, size_t size)
{
	uint8_t *b = g_malloc(size + 1);

	memset(b, 'a' + (int)i, size);
	return b;
}

/* Our scripted sender says hello (version) and offers files f0.. of the
 * sizes given; returns once the receiver accepted (or stopped). */
static struct pair *scripted(struct fx *f, unsigned version, const size_t *sizes, size_t n)
{
	struct pair *p = pair_new(NULL, f->dst, f->state, true);
	GString *o = g_string_new("{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[");
	char *hello = g_strdup_printf("{\"type\":\"hello\",\"version\":%u,\"name\":\"test sender\",\"kind\":\"device\"}",
				      version);

	feed_text(p, hello);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(o, "%s{\"id\":%zu,\"path\":\"f%zu\",\"size\":%zu,\"mtime\":1}", i ? "," : "", i, i,
				       sizes[i]);
	g_string_append(o, "]}");
	feed_text(p, o->str);
	while (!p->r_done && g_queue_get_length(&p->r2s.q) < 2)
		g_main_context_iteration(NULL, TRUE);
	g_string_free(o, TRUE);
	g_free(hello);
	return p;
}

/* A run of files [first, first + n) as scripted() offered them; bad: the
 * index of a file whose hash is wrong (or -1); size_of: a size to list for
 * file first (0: the true one). */
static char *run_text(const size_t *sizes, size_t first, size_t n, int bad, size_t size_of)
{
	GString *t = g_string_new("{\"type\":\"run\",\"files\":[");

	for (size_t i = first; i < first + n; i++) {
		uint8_t *b = content(i, sizes[i]);
		char hex[65];

		sha_hex(b, sizes[i], hex);
		if ((int)i == bad)
			hex[0] = hex[0] == '0' ? '1' : '0';
		g_string_append_printf(t, "%s{\"id\":%zu,\"size\":%zu,\"sha256\":\"%s\"}", i > first ? "," : "", i,
				       i == first && size_of ? size_of : sizes[i], hex);
		g_free(b);
	}
	g_string_append(t, "]}");
	return g_string_free(t, FALSE);
}

/* The concatenated bytes of files [first, first + n); *len gets their sum. */
static uint8_t *run_bytes(const size_t *sizes, size_t first, size_t n, size_t *len)
{
	GByteArray *a = g_byte_array_new();

	for (size_t i = first; i < first + n; i++) {
		uint8_t *b = content(i, sizes[i]);
		g_byte_array_append(a, b, (guint)sizes[i]);
		g_free(b);
	}
	*len = a->len;
	return g_byte_array_free(a, FALSE);
}

static void wait_end(struct pair *p)
{
	while (!p->r_done && p->transfers == 0)
		g_main_context_iteration(NULL, TRUE);
	run_until(receiver_written, p);
}

static bool kept(struct fx *f, const char *name)
{
	char *path = g_build_filename(f->dst, name, NULL);
	bool there = g_file_test(path, G_FILE_TEST_EXISTS);

	g_free(path);
	return there;
}

/* One run of four files, one with a wrong hash: that file alone fails;
 * the others are kept and answered by files-ok, in offer order around
 * the file-error; the bytes may come cut anywhere. */
static void test_run(struct fx *f, gconstpointer data)
{
	static const size_t sizes[] = { 10, 0, 5000, IDL_RUN_FILE_MAX };
	char *run = run_text(sizes, 0, 4, 2, 0), *out;
	size_t len;
	uint8_t *bytes = run_bytes(sizes, 0, 4, &len);
	struct pair *p = scripted(f, 2, sizes, 4);

	(void)data;
	out = answers(p);
	g_assert_nonnull(strstr(out, "\"type\":\"hello\",\"version\":2,"));   /* the highest it speaks */
	g_assert_nonnull(strstr(out, "\"type\":\"accept\""));
	g_free(out);
	feed_text(p, run);
	idl_receiver_feed(p->receiver, true, bytes, 7);
	idl_receiver_feed(p->receiver, true, bytes + 7, len - 7);
	feed_text(p, "{\"type\":\"done\"}");
	wait_end(p);
	out = answers(p);
	g_assert_false(p->r_done);
	g_assert_cmpint(p->t_result, ==, IDL_XFER_VERIFY);
	g_assert_nonnull(strstr(out, "{\"type\":\"files-ok\",\"ids\":[0,1]}\n{\"type\":\"file-error\",\"id\":2,"));
	g_assert_nonnull(strstr(out, "{\"type\":\"files-ok\",\"ids\":[3]}\n{\"type\":\"receipt\""));
	g_assert_nonnull(strstr(out, "[{\"id\":0,\"status\":\"verified\"},{\"id\":1,\"status\":\"verified\"},"
				"{\"id\":2,\"status\":\"failed\"},{\"id\":3,\"status\":\"verified\"}]"));
	g_assert_null(strstr(out, "file-ok\""));
	g_free(out);
	g_assert_true(kept(f, "f0") && kept(f, "f1") && kept(f, "f3"));
	g_assert_cmpuint(count_entries(f->dst), ==, 3);     /* no f2, no f2.part */
	pair_free(p);
	g_free(run);
	g_free(bytes);
}

enum run_case { RC_NOT_NEXT, RC_REPEATED, RC_SIZE_LIES, RC_NOT_SMALL, RC_MORE, RC_FEWER, RC_AFTER, RC_V1,
		RC_INSIDE_FILE, RC_CUT };

/* A sender that breaks the rules of runs is stopped with a protocol
 * error; nothing of a run that did not come whole is written. */
static void test_run_hostile(struct fx *f, gconstpointer data)
{
	static const struct {
		enum run_case c;
		const char *needle;
		guint kept;                  /* files left in the folder */
	} cases[] = {
		{ RC_NOT_NEXT, "run file 1 was not expected (file 0 was)", 0 },
		{ RC_REPEATED, "run file 0 was not expected (file 2 was)", 2 },
		{ RC_SIZE_LIES, "of their offered size", 0 },
		{ RC_NOT_SMALL, "over the limit of 65536", 0 },
		{ RC_MORE, "more bytes than the run lists", 0 },
		{ RC_FEWER, "done inside a run: 14 of its 15 bytes came", 0 },
		{ RC_AFTER, "file data outside a file", 2 },
		{ RC_V1, "unexpected run", 0 },
		{ RC_INSIDE_FILE, "unexpected run", 0 },
		{ RC_CUT, NULL, 0 },
	};
	size_t sizes[] = { 10, 5, 70000 };

	(void)data;
	for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
		struct pair *p = scripted(f, cases[k].c == RC_V1 ? 1 : 2, sizes, 3);
		char *run = run_text(sizes, cases[k].c == RC_NOT_NEXT, cases[k].c == RC_NOT_SMALL ? 3 : 2 - (cases[k].c == RC_NOT_NEXT), -1,
				     cases[k].c == RC_SIZE_LIES ? 7 : 0), *out;
		size_t len;
		uint8_t *bytes = run_bytes(sizes, 0, 2, &len);
		static const uint8_t extra[1] = { 'x' };

		if (cases[k].c == RC_INSIDE_FILE)
			feed_text(p, "{\"type\":\"file\",\"id\":0,\"offset\":0}");
		feed_text(p, run);
		switch (cases[k].c) {
		case RC_REPEATED:
			idl_receiver_feed(p->receiver, true, bytes, len);
			feed_text(p, run);
			break;
		case RC_MORE: {
			uint8_t *more = g_malloc(len + 1);
			memcpy(more, bytes, len);
			more[len] = 'x';
			idl_receiver_feed(p->receiver, true, more, len + 1);
			g_free(more);
			break;
		}
		case RC_FEWER:
			idl_receiver_feed(p->receiver, true, bytes, len - 1);
			feed_text(p, "{\"type\":\"done\"}");
			break;
		case RC_AFTER:
			idl_receiver_feed(p->receiver, true, bytes, len);
			idl_receiver_feed(p->receiver, true, extra, 1);
			break;
		case RC_CUT:
			idl_receiver_feed(p->receiver, true, bytes, len - 3);
			idl_receiver_closed(p->receiver);
			g_assert_cmpint(p->r_result, ==, IDL_XFER_CLOSED);
			break;
		default:
			break;
		}
		g_assert_true(p->r_done);
		if (cases[k].needle) {
			out = answers(p);
			if (p->r_result != IDL_XFER_PROTOCOL || !strstr(out, cases[k].needle))
				g_error("case %zu: result %d, answers:\n%s", k, p->r_result, out);
			g_assert_nonnull(strstr(out, "\"type\":\"cancel\",\"reason\":\"protocol error: "));
			g_free(out);
		}
		run_until(receiver_written, p);
		pair_free(p);
		g_assert_cmpuint(count_entries(f->dst), ==, cases[k].kept);
		remove_all(f->dst);
		g_assert_cmpint(g_mkdir(f->dst, 0700), ==, 0);
		g_free(run);
		g_free(bytes);
	}
}

/* Both ends of version 2 send runs. A run cut by the connection leaves
 * nothing of itself (no .part, no half file); what was kept before is
 * whole, and the same send again completes every file (those kept before
 * get a second copy under a new name, as in version 1). */
static void test_run_cut_resend(struct fx *f, gconstpointer data)
{
	char *tree = g_build_filename(f->src, "t", NULL), *name, *got, *dst_tree;
	GPtrArray *files;
	struct pair *p;
	unsigned n = 600, kept_before = 0;
	const char *e;
	GDir *d;

	(void)data;
	for (unsigned i = 0; i < n; i++) {
		name = g_strdup_printf("t/f%u", i);
		g_free(make_file(f->src, name, 1000 + i, i));
		g_free(name);
	}
	files = collect(&tree, 1);
	p = pair_new(files, f->dst, f->state, true);
	p->cut_after = 500 * 1000;                 /* inside the second run (~330 KB each) */
	idl_sender_start(p->sender);
	run_until(both_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_CLOSED);
	run_until(receiver_written, p);
	pair_free(p);
	dst_tree = g_build_filename(f->dst, "t", NULL);
	d = g_dir_open(dst_tree, 0, NULL);
	g_assert_nonnull(d);
	while ((e = g_dir_read_name(d))) {
		char *src = g_build_filename(tree, e, NULL);
		got = g_build_filename(dst_tree, e, NULL);
		g_assert_false(g_str_has_suffix(e, ".part"));
		assert_same(src, got);
		kept_before++;
		g_free(src);
		g_free(got);
	}
	g_dir_close(d);
	g_assert_cmpuint(kept_before, >, 0);
	g_assert_cmpuint(kept_before, <, n);

	p = pair_new(files, f->dst, f->state, true);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	pair_free(p);
	for (unsigned i = 0; i < n; i++) {
		char *src = g_strdup_printf("%s/f%u", tree, i);
		got = g_strdup_printf("%s/f%u", dst_tree, i);
		assert_same(src, got);
		g_free(src);
		g_free(got);
	}
	g_assert_cmpuint(count_entries(dst_tree), ==, n + kept_before);
	g_free(dst_tree);
	g_free(tree);
	g_ptr_array_unref(files);
}

/* The next text message the sender sent to our scripted receiver, waiting
 * for the worker; binary messages are counted into *binary. */
static char *next_text(struct pair *p, size_t *binary)
{
	struct msg *m;
	char *text;
	gsize len;

	for (;;) {
		while (!(m = g_queue_pop_head(&p->s2r.q)) && !p->s_done)
			g_main_context_iteration(NULL, TRUE);
		g_assert_nonnull(m);
		p->s2r.queued -= g_bytes_get_size(m->data);
		if (!m->binary)
			break;
		*binary += g_bytes_get_size(m->data);
		msg_free(m);
	}
	text = g_strndup(g_bytes_get_data(m->data, &len), g_bytes_get_size(m->data));
	msg_free(m);
	return text;
}

static void feed_sender(struct pair *p, const char *text)
{
	idl_sender_feed(p->sender, false, (const uint8_t *)text, strlen(text));
}

/* The sender says 2 and uses the lower version: to a receiver of version
 * 1 it sends file/file-end and takes no files-ok; to one of version 2, one
 * run and a files-ok. */
static void test_run_negotiate(struct fx *f, gconstpointer data)
{
	char *a = make_file(f->src, "n/a", 100, 1);
	char *b = make_file(f->src, "n/b", 200, 2);
	char *tree = g_build_filename(f->src, "n", NULL);
	GPtrArray *files = collect(&tree, 1);

	(void)data;
	for (unsigned version = 1; version <= 2; version++) {
		for (int bad = 0; bad < 2; bad++) {
			struct pair *p = pair_new(files, f->dst, f->state, true);
			char *text, *hello, *accept;
			struct idl_msg offer;
			size_t binary = 0;
			GString *sent = g_string_new(NULL);

			idl_receiver_free(p->receiver);
			p->receiver = NULL;
			idl_sender_start(p->sender);
			text = next_text(p, &binary);
			g_assert_nonnull(strstr(text, "\"type\":\"hello\",\"version\":2,"));
			g_free(text);
			hello = g_strdup_printf("{\"type\":\"hello\",\"version\":%u,\"name\":\"r\",\"kind\":\"device\"}", version);
			feed_sender(p, hello);
			text = next_text(p, &binary);
			g_assert_cmpint(idl_msg_decode(text, strlen(text), &offer, NULL), ==, 0);
			g_free(text);
			accept = g_strdup_printf("{\"type\":\"accept\",\"transfer\":\"%s\",\"files\":[{\"id\":0,\"offset\":0},"
						 "{\"id\":1,\"offset\":0}]}", offer.transfer);
			feed_sender(p, accept);
			while (!strstr(sent->str, "{\"type\":\"done\"}")) {
				text = next_text(p, &binary);
				g_string_append_printf(sent, "%s\n", text);
				g_free(text);
			}
			g_assert_cmpuint(binary, ==, 300);
			g_assert_true((strstr(sent->str, "\"type\":\"run\"") != NULL) == (version == 2));
			g_assert_true((strstr(sent->str, "\"type\":\"file-end\"") != NULL) == (version == 1));
			if (bad) {
				/* files-ok at version 1, or naming a file not sent */
				feed_sender(p, version == 1 ? "{\"type\":\"files-ok\",\"ids\":[0,1]}" :
							      "{\"type\":\"files-ok\",\"ids\":[0,2]}");
				g_assert_true(p->s_done);
				g_assert_cmpint(p->s_result, ==, IDL_XFER_PROTOCOL);
			} else {
				if (version == 1) {
					feed_sender(p, "{\"type\":\"file-ok\",\"id\":0}");
					feed_sender(p, "{\"type\":\"file-ok\",\"id\":1}");
				} else {
					feed_sender(p, "{\"type\":\"files-ok\",\"ids\":[0,1]}");
				}
				g_free(accept);
				accept = g_strdup_printf("{\"type\":\"receipt\",\"transfer\":\"%s\",\"files\":[{\"id\":0,\"status\":"
							 "\"verified\"},{\"id\":1,\"status\":\"verified\"}]}", offer.transfer);
				feed_sender(p, accept);
				g_assert_true(p->s_done);
				g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
			}
			idl_msg_clear(&offer);
			g_string_free(sent, TRUE);
			g_free(accept);
			g_free(hello);
			pair_free(p);
		}
	}
	g_ptr_array_unref(files);
	g_free(tree);
	g_free(a);
	g_free(b);
}

/* An offer in parts (version 2, "more"): n files from `from` on, named
 * prefix<i>, of transfer tid. */
static char *offer_part(const char *tid, const char *prefix, unsigned from, unsigned n, bool more)
{
	GString *t = g_string_new(NULL);

	g_string_printf(t, "{\"type\":\"offer\",\"transfer\":\"%s\",\"files\":[", tid);
	for (unsigned i = from; i < from + n; i++)
		g_string_append_printf(t, "%s{\"id\":%u,\"path\":\"%s%u\",\"size\":1,\"mtime\":1}", i > from ? "," : "",
				       i, prefix, i);
	g_string_append_printf(t, "]%s}", more ? ",\"more\":true" : "");
	return g_string_free(t, FALSE);
}

/* A whole offer in parts is planned as one; parts that do not go on from
 * each other, or break the bounds of one offer, are protocol errors. */
static void test_offer_parts(struct fx *f, gconstpointer data)
{
	static const char *const OTHER = "ffffffffffffffffffffffffffffffff";
	static const struct {
		const char *why;
		unsigned version, parts;
		const char *needle;          /* NULL: accepted */
	} cases[] = {
		{ "three parts", 2, 3, NULL },
		{ "more at version 1", 1, 2, "in one message at version 1" },
		{ "a first part not at 0", 2, 1, "starts at file 0" },
		{ "another transfer", 2, 2, "does not go on from the one before" },
		{ "a gap in the ids", 2, 2, "does not go on from the one before" },
		{ "17 parts", 2, 17, "more than 16 parts" },
		{ "a path in two parts", 2, 2, "names a path twice" },
		{ "1,200 folders over two parts (600 each)", 2, 2, "names 1200 folders, over the limit of 1000" },
		/* accepted in two parts (issue 14) */
		{ "1,601 files over two parts", 2, 2, NULL },
	};

	(void)data;
	for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
		struct pair *p = pair_new(NULL, f->dst, f->state, true);
		char *hello = g_strdup_printf("{\"type\":\"hello\",\"version\":%u,\"name\":\"test sender\",\"kind\":\"device\"}",
					      cases[k].version), *out;

		feed_text(p, hello);
		for (unsigned part = 0; part < cases[k].parts && !p->r_done; part++) {
			bool more = part + 1 < cases[k].parts;
			char *text;

			if (k == 2)
				text = offer_part(TID, "f", 3, 2, false);
			else if (k == 3 && part == 1)
				text = offer_part(OTHER, "f", 2, 2, false);
			else if (k == 4 && part == 1)
				text = offer_part(TID, "f", 3, 2, false);
			else if (k == 6 && part == 1)   /* f0 again, as file 2 */
				text = g_strdup("{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[{\"id\":2,"
						"\"path\":\"f0\",\"size\":1,\"mtime\":1}]}");
			else if (k == 7) {
				/* 600 folders a part (a<i> and a<i>/b), none shared */
				GString *t = g_string_new(NULL);
				g_string_printf(t, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[");
				for (unsigned i = part * 300; i < part * 300 + 300; i++)
					g_string_append_printf(t, "%s{\"id\":%u,\"path\":\"a%u/b/f\",\"size\":1,\"mtime\":1}",
							       i > part * 300 ? "," : "", i, i + (part ? 200 : 0));
				g_string_append_printf(t, "]%s}", more ? ",\"more\":true" : "");
				text = g_string_free(t, FALSE);
			} else if (k == 8)
				text = part ? offer_part(TID, "f", 800, 801, false) : offer_part(TID, "f", 0, 800, true);
			else
				text = offer_part(TID, "f", part * 2, 2, more);
			feed_text(p, text);
			g_free(text);
		}
		while (!p->r_done && g_queue_get_length(&p->r2s.q) < 2)
			g_main_context_iteration(NULL, TRUE);
		out = answers(p);
		if (cases[k].needle ? !strstr(out, cases[k].needle) || p->r_result != IDL_XFER_PROTOCOL :
				      !strstr(out, "\"type\":\"accept\""))
			g_error("%s: result %d, answers:\n%s", cases[k].why, p->r_result, out);
		if (k == 8) {
			/* 1,600 files in the first accept part, the last one in the second */
			g_assert_nonnull(strstr(out, "{\"id\":1599,\"offset\":0}],\"more\":true}\n"));
			g_assert_nonnull(strstr(out, "[{\"id\":1600,\"offset\":0}]}\n"));
		} else if (!cases[k].needle) {
			g_assert_nonnull(strstr(out, "{\"id\":5,\"offset\":0}]}"));   /* six files in one accept */
		}
		g_free(out);
		g_free(hello);
		pair_free(p);
		g_assert_cmpuint(count_entries(f->dst), ==, 0);
	}
}

/* ---- accept and receipt in parts (version 2, "more"; issue 14) ---- */

/* An accept (offset for every file) or a receipt (all verified) of
 * transfer tid naming files [from, from + n). */
static char *answer_text(const char *type, const char *tid, unsigned from, unsigned n, uint64_t offset, bool more)
{
	GString *t = g_string_new(NULL);

	g_string_printf(t, "{\"type\":\"%s\",\"transfer\":\"%s\",\"files\":[", type, tid);
	for (unsigned i = from; i < from + n; i++) {
		if (!strcmp(type, "accept"))
			g_string_append_printf(t, "%s{\"id\":%u,\"offset\":%" G_GUINT64_FORMAT "}", i > from ? "," : "", i,
					       offset);
		else
			g_string_append_printf(t, "%s{\"id\":%u,\"status\":\"verified\"}", i > from ? "," : "", i);
	}
	g_string_append_printf(t, "]%s}", more ? ",\"more\":true" : "");
	return g_string_free(t, FALSE);
}

static void feed_answer(struct pair *p, const char *type, const char *tid, unsigned from, unsigned n, uint64_t offset,
			bool more)
{
	char *text = answer_text(type, tid, from, n, offset, more);

	feed_sender(p, text);
	g_free(text);
}

/* The next message the sender sent to a scripted receiver, pumping the
 * sender while its link looks drained (nobody else tells it); binary
 * bytes are counted into *binary. NULL once the sender finished. */
static char *pumped_text(struct pair *p, size_t *binary)
{
	gint64 until = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	struct msg *m;
	char *text;

	for (;;) {
		while (!(m = g_queue_pop_head(&p->s2r.q)) && !p->s_done) {
			g_assert_cmpint(g_get_monotonic_time(), <, until);
			idl_sender_pump(p->sender);
			if (!g_main_context_iteration(NULL, FALSE))
				g_usleep(200);
		}
		if (!m)
			return NULL;
		p->s2r.queued -= g_bytes_get_size(m->data);
		if (!m->binary)
			break;
		*binary += g_bytes_get_size(m->data);
		msg_free(m);
	}
	text = g_strndup(g_bytes_get_data(m->data, NULL), g_bytes_get_size(m->data));
	msg_free(m);
	return text;
}

/* A sender of files and a scripted receiver that said hello at version;
 * the offer's parts are read, its transfer id into tid. Returns the
 * number of files offered. */
static unsigned scripted_receiver(struct pair *p, unsigned version, char tid[IDL_TRANSFER_ID_HEX_LEN + 1])
{
	char *hello = g_strdup_printf("{\"type\":\"hello\",\"version\":%u,\"name\":\"r\",\"kind\":\"device\"}", version);
	size_t binary = 0;
	unsigned n = 0;
	bool more = true;

	idl_receiver_free(p->receiver);
	p->receiver = NULL;
	idl_sender_start(p->sender);
	g_free(pumped_text(p, &binary));
	feed_sender(p, hello);
	g_free(hello);
	while (more) {
		char *text = pumped_text(p, &binary);
		struct idl_msg offer;

		g_assert_nonnull(text);
		g_assert_cmpint(idl_msg_decode(text, strlen(text), &offer, NULL), ==, 0);
		g_assert_cmpint(offer.type, ==, IDL_MSG_OFFER);
		g_assert_cmpuint(offer.files[0].id, ==, n);
		if (n)
			g_assert_cmpstr(offer.transfer, ==, tid);
		g_strlcpy(tid, offer.transfer, IDL_TRANSFER_ID_HEX_LEN + 1);
		n += (unsigned)offer.n_files;
		more = offer.more;
		idl_msg_clear(&offer);
		g_free(text);
	}
	g_assert_cmpuint(binary, ==, 0);
	return n;
}

/* Reads what the sender sends up to its done; returns the file messages
 * seen, *binary the data bytes. */
static unsigned drain_to_done(struct pair *p, size_t *binary, const char *file_needle)
{
	unsigned files = 0;
	char *text;

	while ((text = pumped_text(p, binary)) && !strstr(text, "{\"type\":\"done\"}")) {
		if (file_needle && strstr(text, file_needle))
			files++;
		g_free(text);
	}
	g_assert_nonnull(text);
	g_free(text);
	return files;
}

/* The sender takes an accept and a receipt in parts at version 2: it sends
 * nothing before the accept's last part and reports only after the
 * receipt's; parts that do not go on, or anything else between them, are
 * protocol errors. */
static void test_answer_parts(struct fx *f, gconstpointer data)
{
	enum { GOOD, V1, ACCEPT_17, ACCEPT_GAP, ACCEPT_OTHER, ACCEPT_OK_BETWEEN, ACCEPT_DECLINE_BETWEEN,
	       RECEIPT_17, RECEIPT_GAP, RECEIPT_OK_BETWEEN, N_CASES };
	static const char *const needles[N_CASES] = {
		NULL, "accept in parts (\"more\") at version 1", "accept has more than 16 parts",
		"accept part 2 does not go on from the one before (id 5 after 6)", "accept names another transfer",
		"unexpected files-ok", "unexpected decline", "receipt has more than 16 parts",
		"receipt part 2 does not go on from the one before (id 0 after 9)", "unexpected file-ok",
	};
	static const char *const OTHER = "ffffffffffffffffffffffffffffffff";
	char *tree = g_build_filename(f->src, "ap", NULL);
	GPtrArray *files;

	(void)data;
	for (unsigned i = 0; i < 20; i++) {
		char *name = g_strdup_printf("ap/f%02u", i);
		g_free(make_file(f->src, name, 10, i));
		g_free(name);
	}
	files = collect(&tree, 1);
	for (unsigned k = 0; k < N_CASES; k++) {
		struct pair *p = pair_new(files, f->dst, f->state, true);
		char tid[IDL_TRANSFER_ID_HEX_LEN + 1];
		size_t binary = 0;

		g_assert_cmpuint(scripted_receiver(p, k == V1 ? 1 : 2, tid), ==, 20);
		switch (k) {
		case V1:
			feed_answer(p, "accept", tid, 0, 7, 0, true);
			break;
		case ACCEPT_17:
			for (unsigned i = 0; i < 17 && !p->s_done; i++)
				feed_answer(p, "accept", tid, i, 1, 0, true);
			break;
		case ACCEPT_GAP:
			feed_answer(p, "accept", tid, 0, 7, 0, true);
			feed_answer(p, "accept", tid, 5, 10, 0, false);
			break;
		case ACCEPT_OTHER:
			feed_answer(p, "accept", tid, 0, 7, 0, true);
			feed_answer(p, "accept", OTHER, 7, 13, 0, false);
			break;
		case ACCEPT_OK_BETWEEN:
		case ACCEPT_DECLINE_BETWEEN:
			feed_answer(p, "accept", tid, 0, 7, 0, true);
			if (k == ACCEPT_OK_BETWEEN) {
				feed_sender(p, "{\"type\":\"files-ok\",\"ids\":[0]}");
			} else {
				char *t = g_strdup_printf("{\"type\":\"decline\",\"transfer\":\"%s\",\"reason\":\"no\"}", tid);
				feed_sender(p, t);
				g_free(t);
			}
			break;
		default:
			/* GOOD and the receipt cases: the accept in three parts,
			 * nothing sent before its last */
			feed_answer(p, "accept", tid, 0, 7, 0, true);
			feed_answer(p, "accept", tid, 7, 7, 0, true);
			g_assert_cmpuint(g_queue_get_length(&p->s2r.q), ==, 0);
			g_assert_false(p->s_done);
			feed_answer(p, "accept", tid, 14, 6, 0, false);
			drain_to_done(p, &binary, NULL);
			g_assert_cmpuint(binary, ==, 200);
			feed_sender(p, "{\"type\":\"files-ok\",\"ids\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]}");
			if (k == RECEIPT_17) {
				for (unsigned i = 0; i < 17 && !p->s_done; i++)
					feed_answer(p, "receipt", tid, i, 1, 0, true);
				break;
			}
			feed_answer(p, "receipt", tid, 0, 10, 0, true);
			g_assert_false(p->s_done);    /* the outcome waits for the last part */
			if (k == RECEIPT_GAP)
				feed_answer(p, "receipt", tid, 0, 20, 0, false);
			else if (k == RECEIPT_OK_BETWEEN)
				feed_sender(p, "{\"type\":\"file-ok\",\"id\":19}");
			else
				feed_answer(p, "receipt", tid, 10, 10, 0, false);
			break;
		}
		g_assert_true(p->s_done);
		if (!needles[k]) {
			g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
		} else if (p->s_result != IDL_XFER_PROTOCOL || !p->s_reason || !strstr(p->s_reason, needles[k])) {
			g_error("case %u: result %d, reason %s, not %s", k, p->s_result, p->s_reason, needles[k]);
		}
		pair_free(p);
	}
	g_ptr_array_unref(files);
	g_free(tree);
}

/* 10,000 small files are one transfer at version 2: one offer (in parts),
 * one accept and one receipt (each in parts), all files kept. */
static void test_ten_thousand(struct fx *f, gconstpointer data)
{
	GPtrArray *files;
	struct pair *p;

	(void)data;
	p = send_many(f, "k", false, IDL_MSG_FILES_MAX, 5, 1, &files);
	/* 1,600 files an answer part: 7 of each */
	g_assert_cmpuint(p->accept_msgs, ==, 7);
	g_assert_cmpuint(p->receipt_msgs, ==, 7);
	pair_free(p);
	g_ptr_array_unref(files);
}

/* Each file of a batch holds a descriptor until the batch is committed:
 * under a low open-file limit (here 640, where a batch of 512 files with
 * two descriptors each used to run out) batches close sooner, and every
 * file is still kept. */
static void test_low_fd_limit(struct fx *f, gconstpointer data)
{
	struct rlimit old, low;
	GPtrArray *files;

	(void)data;
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < 640) {
		g_test_skip("the open-file limit is under 640 already");
		return;
	}
	low = old;
	low.rlim_cur = 640;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
	pair_free(send_many(f, "fds", false, 1500, 5, 1, &files));
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
	g_ptr_array_unref(files);
}

/* A 10,000-file offer resumed: the accept (in parts) holds an offset for
 * each file; the sender sends each from there, in the one transfer. */
static void test_ten_thousand_resumed(struct fx *f, gconstpointer data)
{
	char *tree = g_build_filename(f->src, "r", NULL), *name, tid[IDL_TRANSFER_ID_HEX_LEN + 1];
	unsigned n = IDL_MSG_FILES_MAX;
	struct idl_sender_stats st;
	size_t binary = 0;
	GPtrArray *files;
	struct pair *p;

	(void)data;
	for (unsigned i = 0; i < n; i++) {
		name = g_strdup_printf("r/%05u", i);
		g_free(make_file(f->src, name, 3, i));
		g_free(name);
	}
	files = collect(&tree, 1);
	p = pair_new(files, f->dst, f->state, true);
	g_assert_cmpuint(scripted_receiver(p, 2, tid), ==, n);
	for (unsigned from = 0; from < n; from += IDL_ANSWER_PART_FILES)
		feed_answer(p, "accept", tid, from, MIN(IDL_ANSWER_PART_FILES, n - from), 2,
			    from + IDL_ANSWER_PART_FILES < n);
	g_assert_cmpuint(drain_to_done(p, &binary, "\"offset\":2}"), ==, n);
	g_assert_cmpuint(binary, ==, n);             /* the last byte of each */
	for (unsigned from = 0; from < n; from += IDL_FILES_OK_MAX) {
		GString *t = g_string_new("{\"type\":\"files-ok\",\"ids\":[");
		for (unsigned i = from; i < MIN(from + IDL_FILES_OK_MAX, n); i++)
			g_string_append_printf(t, "%s%u", i > from ? "," : "", i);
		g_string_append(t, "]}");
		feed_sender(p, t->str);
		g_string_free(t, TRUE);
	}
	for (unsigned from = 0; from < n && !p->s_done; from += IDL_ANSWER_PART_FILES)
		feed_answer(p, "receipt", tid, from, MIN(IDL_ANSWER_PART_FILES, n - from), 0,
			    from + IDL_ANSWER_PART_FILES < n);
	g_assert_true(p->s_done);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_OK);
	idl_sender_stats(p->sender, &st);
	g_assert_cmpuint(st.resumed, ==, 2 * n);
	g_assert_cmpuint(st.files_verified, ==, n);
	pair_free(p);
	g_ptr_array_unref(files);
	g_free(tree);
}

/* ---- the verification code (transfer/sas.h) ---- */

#define FP_B "bb00000000000000000000000000000000000000000000000000000000000000"

static bool is_code(const char *c)
{
	return strlen(c) == 7 && g_ascii_isdigit(c[0]) && g_ascii_isdigit(c[1]) && g_ascii_isdigit(c[2]) &&
	       c[3] == ' ' && g_ascii_isdigit(c[4]) && g_ascii_isdigit(c[5]) && g_ascii_isdigit(c[6]);
}

static void test_code(struct fx *f, gconstpointer data)
{
	char *a = make_file(f->src, "a", 1000, 1);
	GPtrArray *files = collect(&a, 1);
	struct pair *p;
	char first[8];

	(void)data;
	/* Both ends know both fingerprints: the same code on each side. */
	p = pair_new(files, f->dst, f->state, false);
	idl_sender_set_fingerprints(p->sender, FP_A, FP_B);
	idl_receiver_set_local_fingerprint(p->receiver, FP_B);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_DECLINED);
	g_assert_true(is_code(p->s_code));
	g_assert_cmpstr(p->s_code, ==, p->r_code);
	g_strlcpy(first, p->s_code, sizeof(first));
	pair_free(p);

	/* Fresh nonces every connection: the code is not a function of the two
	 * identities alone (else an attacker could grind one in advance). Two
	 * equal codes in a row happen once in a million runs. */
	p = pair_new(files, f->dst, f->state, false);
	idl_sender_set_fingerprints(p->sender, FP_A, FP_B);
	idl_receiver_set_local_fingerprint(p->receiver, FP_B);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpstr(p->s_code, ==, p->r_code);
	g_assert_cmpstr(p->s_code, !=, first);
	pair_free(p);

	/* The fingerprints each end sees differ (someone in between): the
	 * codes differ. */
	p = pair_new(files, f->dst, f->state, false);
	idl_sender_set_fingerprints(p->sender, FP_A, "cc00000000000000000000000000000000000000000000000000000000000000");
	idl_receiver_set_local_fingerprint(p->receiver, FP_B);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_true(is_code(p->s_code) && is_code(p->r_code));
	g_assert_cmpstr(p->s_code, !=, p->r_code);
	pair_free(p);

	/* A peer that does not take part (an older one): no code, and the
	 * transfer works as before. */
	p = pair_new(files, f->dst, f->state, false);
	idl_receiver_set_local_fingerprint(p->receiver, FP_B);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_DECLINED);
	g_assert_false(p->r_had_code);
	g_assert_cmpstr(p->s_code, ==, "");
	pair_free(p);
	p = pair_new(files, f->dst, f->state, false);
	idl_sender_set_fingerprints(p->sender, FP_A, FP_B);
	idl_sender_start(p->sender);
	run_until(sender_done, p);
	g_assert_cmpint(p->s_result, ==, IDL_XFER_DECLINED);
	g_assert_cmpstr(p->s_code, ==, "(none)");   /* said, not silently skipped */
	pair_free(p);
	g_ptr_array_unref(files);
	g_free(a);
}

/* A sender that commits to one nonce and reveals another, or offers before
 * revealing, is stopped before its offer is even looked at. */
static void test_code_hostile(struct fx *f, gconstpointer data)
{
	static const char *const committed =
		"{\"type\":\"hello\",\"version\":1,\"name\":\"test sender\",\"kind\":\"device\","
		"\"sas_commit\":\"0000000000000000000000000000000000000000000000000000000000000000\"}";
	struct pair *p;

	(void)data;
	p = pair_new(NULL, f->dst, f->state, true);
	idl_receiver_set_local_fingerprint(p->receiver, FP_B);
	feed_text(p, committed);
	feed_text(p, "{\"type\":\"sas\",\"nonce\":\"1111111111111111111111111111111111111111111111111111111111111111\"}");
	g_assert_true(p->r_done);
	g_assert_cmpint(p->r_result, ==, IDL_XFER_PROTOCOL);
	pair_free(p);

	p = pair_new(NULL, f->dst, f->state, true);
	idl_receiver_set_local_fingerprint(p->receiver, FP_B);
	feed_text(p, committed);
	feed_text(p, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[{\"id\":0,\"path\":\"x\",\"size\":1,\"mtime\":1}]}");
	g_assert_true(p->r_done);
	g_assert_cmpint(p->r_result, ==, IDL_XFER_PROTOCOL);
	pair_free(p);
	g_assert_cmpuint(count_entries(f->dst), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/transfer/" name, struct fx, NULL, fx_setup, fn, fx_teardown)
	ADD("round-trip", test_round_trip);
	ADD("decline", test_decline);
	ADD("resume", test_resume);
	ADD("many-offers", test_many_offers);
	ADD("many-folders", test_many_folders);
	ADD("hostile", test_hostile);
	ADD("out-of-order", test_out_of_order);
	ADD("long-reason", test_long_reason);
	ADD("answer-too-large", test_answer_too_large);
	ADD("run", test_run);
	ADD("run-hostile", test_run_hostile);
	ADD("run-cut-resend", test_run_cut_resend);
	ADD("run-negotiate", test_run_negotiate);
	ADD("offer-parts", test_offer_parts);
	ADD("answer-parts", test_answer_parts);
	ADD("ten-thousand", test_ten_thousand);
	ADD("ten-thousand-resumed", test_ten_thousand_resumed);
	ADD("low-fd-limit", test_low_fd_limit);
	ADD("code", test_code);
	ADD("code-hostile", test_code_hostile);
	return g_test_run();
}
