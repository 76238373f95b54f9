/* sender: see sender.h. The loop thread owns the protocol state; the worker
 * thread owns the open file and its running hash. Work flows as jobs: the
 * loop schedules OPEN, READ and END jobs up to READ_AHEAD bytes ahead, the
 * worker fills them in order, and the loop turns each finished job into
 * messages (file, binary data, file-end) while the link has room. */
#include "transfer/sender.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "transfer/path.h"
#include "transfer/sas.h"
#include "transfer/worker.h"
#include "base/error.h"
#include "base/fingerprint.h"

/* What a sender holds, whatever the file size or the disk's speed: jobs
 * scheduled and not yet sent (READ_AHEAD, released where their buffer is
 * freed, after emit), the channel's queue (HIGH_WATER plus the one block
 * emit was cutting) and usrsctp's send buffer (sctp.c). A slow disk only
 * leaves the queue short; nothing waits on the loop for a read. */
#define BLOCK (256 * 1024)               /* one read */
#define READ_AHEAD (4 * 1024 * 1024)     /* bytes read and not yet sent */
#define HIGH_WATER (4 * 1024 * 1024)     /* link buffer we keep filled */
#define MARKER_WEIGHT 4096               /* OPEN and END: bounds small files too */
#define OFFER_BUDGET (IDL_MSG_MAX - 1024) /* JSON bytes of one offer's files, under IDL_MSG_MAX */
/* READ buffers come from the loop and go back to it for the next READ: a
 * buffer malloc'd on the worker thread returns to that thread's arena,
 * which trims it, and the next read faults its pages in afresh (measured:
 * 15% of the pages read into, 0.5-0.8 CPU s/GiB of the sender). Spares and
 * buffers in jobs together never exceed what READ_AHEAD lets be in jobs. */
#define SPARE_MAX (READ_AHEAD / BLOCK)

enum state { S_NEW, S_HELLO, S_OFFERED, S_SENDING, S_DONE_SENT, S_FINISHED };
enum job_kind { JOB_OPEN, JOB_READ, JOB_END, JOB_WHOLE, JOB_RUN };

struct job {
	enum job_kind kind;
	guint index;
	uint64_t offset;
	size_t len;
	size_t weight;
	uint8_t *buf;
	char *error;                     /* set by the worker on failure */
	uint8_t digest[IDL_SHA256_SIZE];
	struct idl_msg run;              /* RUN: files [index, index + n_files) (ids in the offer) */
};

struct idl_sender {
	const GPtrArray *files;
	char name[IDL_MSG_NAME_MAX + 1];
	struct idl_link link;
	const struct idl_sender_callbacks *cb;
	void *user;
	struct idl_worker *worker;
	enum state state;
	uint64_t version;                /* agreed in hello: the lower of the two */
	/* the current transfer: files [first, end) */
	guint first, end;
	guint last;                      /* the last wanted file: done follows its file-end */
	char transfer[IDL_TRANSFER_ID_HEX_LEN + 1];
	uint64_t *offsets;               /* per file: where the receiver starts */
	bool *wanted;                    /* per file: named in the accept */
	/* version 2: an accept or receipt in parts ("more") */
	guint answer_parts;              /* its messages so far, 0 between answers */
	guint answer_next;               /* the lowest id its next part may name */
	guint verified;                  /* the receipt's verified files so far */
	/* read scheduling */
	guint rd_file;
	uint64_t rd_off;
	bool rd_opened;
	size_t ahead;                    /* weight scheduled and not yet sent */
	GQueue ready;                    /* struct job *: read, waiting for room */
	GPtrArray *spare;                /* BLOCK-sized buffers to reuse (loop only) */
	/* verification code: our nonce, committed to in hello */
	char fp_ours[IDL_FINGERPRINT_HEX_LEN + 1], fp_peer[IDL_FINGERPRINT_HEX_LEN + 1];
	bool sas;
	uint8_t nonce[IDL_SAS_NONCE_SIZE];
	/* figures */
	struct idl_sender_stats st;
	bool verify_failed;
	/* worker thread only */
	int fd;
	gnutls_hash_hd_t hash;
};

static const struct idl_send_file *file_at(const struct idl_sender *s, guint i)
{
	return g_ptr_array_index((GPtrArray *)s->files, i);
}

/* ---- worker side ---- */

static void job_fail(struct job *j, const struct idl_send_file *f, const char *what, int e)
{
	j->error = g_strdup_printf("cannot read %s: %s%s%s", f->local, what, e ? ": " : "", e ? g_strerror(e) : "");
}

static void run_open(struct idl_sender *s, struct job *j, const struct idl_send_file *f)
{
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t done = 0;
	size_t got;
	int r;

	s->fd = open(f->local, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		job_fail(j, f, "cannot open it", errno);
		return;
	}
	if (fstat(s->fd, &st) < 0 || (uint64_t)st.st_size != f->size) {
		job_fail(j, f, "it changed since it was listed; send again", 0);
		goto fail;
	}
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (gnutls_hash_init(&s->hash, GNUTLS_DIG_SHA256) < 0) {
		job_fail(j, f, "cannot start SHA-256 (GnuTLS)", 0);
		goto fail;
	}
	/* A resumed file is hashed whole: the receiver checks all of it. */
	buf = g_malloc(BLOCK);
	while (done < j->offset) {
		r = idl_read_fd(s->fd, f->local, buf, (size_t)MIN((uint64_t)BLOCK, j->offset - done), (gint64)done, &got, NULL);
		if (r < 0 || got == 0) {
			job_fail(j, f, r < 0 ? "read error" : "it shrank while being sent", r < 0 ? -r : 0);
			gnutls_hash_deinit(s->hash, NULL);
			goto fail;
		}
		gnutls_hash(s->hash, buf, got);
		done += got;
	}
	g_free(buf);
	return;
fail:
	g_free(buf);
	close(s->fd);
	s->fd = -1;
}

/* A run: each file read whole and hashed, into one buffer, in one job. */
static void run_run(struct idl_sender *s, struct job *j)
{
	size_t at = 0;

	j->buf = g_malloc(MAX(j->len, 1));
	for (size_t k = 0; k < j->run.n_files && !j->error; k++) {
		struct idl_msg_file *mf = &j->run.files[k];
		const struct idl_send_file *f = file_at(s, j->index + k);
		struct stat st;
		size_t got = 0;
		int fd = open(f->local, O_RDONLY | O_CLOEXEC), r = 0;

		if (fd < 0) {
			job_fail(j, f, "cannot open it", errno);
			break;
		}
		if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != f->size)
			job_fail(j, f, "it changed since it was listed; send again", 0);
		else if ((r = idl_read_fd(fd, f->local, j->buf + at, (size_t)mf->size, 0, &got, NULL)) < 0 ||
			 got != mf->size)
			job_fail(j, f, r < 0 ? "read error" : "it shrank while being sent", r < 0 ? -r : 0);
		else if (gnutls_hash_fast(GNUTLS_DIG_SHA256, j->buf + at, got, mf->sha256) < 0)
			job_fail(j, f, "cannot compute SHA-256 (GnuTLS)", 0);
		close(fd);
		at += got;
	}
}

static void run_job(void *data, void *user)
{
	struct idl_sender *s = user;
	struct job *j = data;
	const struct idl_send_file *f = file_at(s, j->index);
	size_t got;
	int r;

	if (j->kind == JOB_RUN) {
		run_run(s, j);
		return;
	}

	if (j->kind == JOB_OPEN || j->kind == JOB_WHOLE) {
		run_open(s, j, f);
		if (j->kind == JOB_OPEN || s->fd < 0)
			return;
		/* A small file in one job (OPEN, READ, END): a third of the
		 * trips between the threads. */
		j->buf = g_malloc(MAX(j->len, 1));
		r = idl_read_fd(s->fd, f->local, j->buf, j->len, (gint64)j->offset, &got, NULL);
		if (r < 0 || got != j->len)
			job_fail(j, f, r < 0 ? "read error" : "it shrank while being sent", r < 0 ? -r : 0);
		else
			gnutls_hash(s->hash, j->buf, j->len);
		gnutls_hash_deinit(s->hash, j->digest);
		close(s->fd);
		s->fd = -1;
		return;
	}
	if (s->fd < 0) {
		j->error = g_strdup("not open");   /* its OPEN failed and was reported */
		return;
	}
	if (j->kind == JOB_READ) {
		r = idl_read_fd(s->fd, f->local, j->buf, j->len, (gint64)j->offset, &got, NULL);
		if (r < 0 || got != j->len) {
			job_fail(j, f, r < 0 ? "read error" : "it shrank while being sent", r < 0 ? -r : 0);
			return;
		}
		gnutls_hash(s->hash, j->buf, j->len);
		return;
	}
	gnutls_hash_deinit(s->hash, j->digest);
	close(s->fd);
	s->fd = -1;
}

static void job_free(void *data)
{
	struct job *j = data;

	g_free(j->buf);
	g_free(j->error);
	idl_msg_clear(&j->run);
	g_free(j);
}

/* ---- loop side ---- */

static void finish(struct idl_sender *s, enum idl_xfer_result r, const char *reason)
{
	if (s->state == S_FINISHED)
		return;
	s->state = S_FINISHED;
	s->cb->finished(s, r, reason, s->user);
}

static int send_msg(struct idl_sender *s, const struct idl_msg *m)
{
	return idl_link_send_msg(&s->link, m, NULL);
}

static void cancel_with(struct idl_sender *s, enum idl_xfer_result r, const char *reason)
{
	struct idl_msg m = { .type = IDL_MSG_CANCEL, .reason = (char *)reason };

	if (s->state == S_FINISHED)
		return;
	send_msg(s, &m);
	finish(s, r, reason);
}

/* Whether file i can join a run of n files and bytes so far: wanted whole
 * (accepted at 0), small, and within the run's bounds. */
static bool run_fits(const struct idl_sender *s, guint i, size_t n, uint64_t bytes)
{
	uint64_t size;

	if (i >= s->end || !s->wanted[i] || s->offsets[i] != 0 || n >= IDL_RUN_FILES_MAX)
		return false;
	size = file_at(s, i)->size;
	return size <= IDL_RUN_FILE_MAX && bytes + size <= IDL_RUN_BYTES_MAX;
}

/* Version 2: the next wanted files that fit one run (a file left out by
 * the accept ends it: the ids of a run follow each other). */
static void schedule_run(struct idl_sender *s, struct job *j)
{
	guint n = 0;
	uint64_t bytes = 0;

	while (run_fits(s, s->rd_file + n, n, bytes))
		bytes += file_at(s, s->rd_file + n++)->size;
	j->kind = JOB_RUN;
	j->run.type = IDL_MSG_RUN;
	j->run.n_files = n;
	j->run.files = g_new0(struct idl_msg_file, n);
	for (guint k = 0; k < n; k++) {
		j->run.files[k].id = s->rd_file + k - s->first;
		j->run.files[k].size = file_at(s, s->rd_file + k)->size;
	}
	j->len = (size_t)bytes;
	j->weight += j->len;
	s->rd_file += n;
}

static void schedule(struct idl_sender *s)
{
	while (s->state == S_SENDING && s->ahead < READ_AHEAD && s->rd_file < s->end) {
		const struct idl_send_file *f = file_at(s, s->rd_file);
		struct job *j;

		if (!s->wanted[s->rd_file]) {
			s->rd_file++;
			continue;
		}
		j = g_new0(struct job, 1);
		j->index = s->rd_file;
		j->weight = MARKER_WEIGHT;
		if (!s->rd_opened && s->version >= 2 && run_fits(s, s->rd_file, 0, 0)) {
			schedule_run(s, j);
		} else if (!s->rd_opened && f->size - s->offsets[s->rd_file] <= BLOCK) {
			j->kind = JOB_WHOLE;
			j->offset = s->offsets[s->rd_file];
			j->len = (size_t)(f->size - j->offset);
			j->weight += j->len;
			s->rd_file++;
		} else if (!s->rd_opened) {
			j->kind = JOB_OPEN;
			j->offset = s->rd_off = s->offsets[s->rd_file];
			s->rd_opened = true;
		} else if (s->rd_off < f->size) {
			j->kind = JOB_READ;
			j->offset = s->rd_off;
			j->len = j->weight = (size_t)MIN((uint64_t)BLOCK, f->size - s->rd_off);
			j->buf = s->spare->len ? g_ptr_array_steal_index_fast(s->spare, s->spare->len - 1)
					       : g_malloc(BLOCK);
			s->rd_off += j->len;
		} else {
			j->kind = JOB_END;
			s->rd_file++;
			s->rd_opened = false;
		}
		s->ahead += j->weight;
		idl_worker_push(s->worker, j, j->weight);
	}
}

static guint last_wanted(const struct idl_sender *s)
{
	guint last = s->first;

	for (guint i = s->first; i < s->end; i++)
		if (s->wanted[i])
			last = i;
	return last;
}

/* After the last wanted file. */
static bool send_done(struct idl_sender *s)
{
	struct idl_msg done = { .type = IDL_MSG_DONE };

	s->state = S_DONE_SENT;
	return send_msg(s, &done) == 0;
}

/* Turns one read job into messages. Returns false when the transfer ended. */
static bool emit(struct idl_sender *s, struct job *j)
{
	struct idl_msg m = { 0 };
	/* The link decided the size (idl_channel_message_size); 64 KiB is
	 * only the protocol's bound, kept for a link that knows no limit. */
	size_t chunk = MIN((size_t)64 * 1024, s->link.max_message);

	if (j->error) {
		cancel_with(s, IDL_XFER_LOCAL, j->error);
		return false;
	}
	switch (j->kind) {
	case JOB_RUN:
		s->st.current = j->index + (guint)j->run.n_files - 1;
		if (send_msg(s, &j->run) < 0)
			return false;
		for (size_t at = 0; at < j->len; at += chunk) {
			if (s->link.send(s->link.ctx, true, j->buf + at, MIN(chunk, j->len - at)) < 0)
				return false;
		}
		s->st.sent += j->len;
		return s->st.current != s->last || send_done(s);
	case JOB_OPEN:
	case JOB_WHOLE:
		s->st.current = j->index;
		m.type = IDL_MSG_FILE;
		m.id = j->index - s->first;
		m.offset = j->offset;
		if (send_msg(s, &m) < 0)
			return false;
		if (j->kind == JOB_OPEN)
			return true;
		/* fall through */
	case JOB_READ:
		for (size_t at = 0; at < j->len; at += chunk) {
			if (s->link.send(s->link.ctx, true, j->buf + at, MIN(chunk, j->len - at)) < 0)
				return false;
		}
		s->st.sent += j->len;
		if (j->kind == JOB_READ)
			return true;
		/* fall through */
	case JOB_END:
		m.type = IDL_MSG_FILE_END;
		m.id = j->index - s->first;
		memcpy(m.sha256, j->digest, sizeof(m.sha256));
		if (send_msg(s, &m) < 0)
			return false;
		return j->index != s->last || send_done(s);
	}
	return true;
}

void idl_sender_pump(struct idl_sender *s)
{
	struct job *j;

	while (s->state == S_SENDING && s->link.buffered(s->link.ctx) < HIGH_WATER &&
	       (j = g_queue_pop_head(&s->ready))) {
		bool go_on = emit(s, j);
		s->ahead -= j->weight;
		if (j->kind == JOB_READ && s->spare->len < SPARE_MAX)
			g_ptr_array_add(s->spare, g_steal_pointer(&j->buf));
		job_free(j);
		if (!go_on) {
			if (s->state != S_FINISHED)
				finish(s, IDL_XFER_CLOSED, "the data channel refused a message");
			return;
		}
	}
	schedule(s);
}

static void job_done(void *data, void *user)
{
	struct idl_sender *s = user;

	if (s->state != S_SENDING) {
		job_free(data);
		return;
	}
	g_queue_push_tail(&s->ready, data);
	idl_sender_pump(s);
}

static const struct idl_worker_ops worker_ops = { run_job, job_done, job_free, NULL };

/* Offers the next files: as many as fit one control message, or at
 * version 2 up to IDL_OFFER_PARTS_MAX of them ("more"). */
static void send_offer(struct idl_sender *s)
{
	struct idl_msg m = { .type = IDL_MSG_OFFER };
	uint8_t rnd[IDL_TRANSFER_ID_HEX_LEN / 2];
	GHashTable *folders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	guint parts_max = s->version >= 2 ? IDL_OFFER_PARTS_MAX : 1, n_parts = 1;
	guint *part_end = g_new(guint, parts_max);
	size_t budget = 200;
	guint i, n_folders = 0;
	/* Version 1 answers in one message, so its offers list at most what
	 * one accept and one receipt hold; version 2 answers in parts too, so
	 * one offer may list every file the protocol allows. */
	guint files_max = s->version >= 2 ? IDL_MSG_FILES_MAX : IDL_ANSWER_PART_FILES;

	s->first = s->end;
	for (i = s->first; i < s->files->len && i - s->first < files_max; i++) {
		const struct idl_send_file *f = file_at(s, i);
		struct idl_msg_file mf = { .id = i - s->first, .path = f->path, .size = f->size, .mtime = f->mtime };
		/* Fewer offers, fewer round trips: each ends with the receipt. */
		size_t cost = idl_msg_offer_entry_max(&mf);
		if (budget + cost > OFFER_BUDGET && i > s->first) {
			if (n_parts == parts_max)
				break;
			part_end[n_parts++ - 1] = i;
			budget = 200;
		}
		/* A path has fewer folders than IDL_OFFER_FOLDERS_MAX, so the
		 * first file always fits. */
		n_folders += idl_path_folders_add(folders, file_at(s, i)->path);
		if (n_folders > IDL_OFFER_FOLDERS_MAX && i > s->first)
			break;
		budget += cost;
	}
	g_hash_table_destroy(folders);
	s->end = i;
	if (n_parts > 1 && part_end[n_parts - 2] == s->end)
		n_parts--;                    /* the folders ended it as it began */
	part_end[n_parts - 1] = s->end;
	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
	for (size_t k = 0; k < sizeof(rnd); k++)
		g_snprintf(s->transfer + 2 * k, 3, "%02x", rnd[k]);
	g_strlcpy(m.transfer, s->transfer, sizeof(m.transfer));
	m.files = g_new0(struct idl_msg_file, s->end - s->first);
	s->state = S_OFFERED;
	for (guint p = 0, from = s->first; p < n_parts; from = part_end[p++]) {
		m.n_files = part_end[p] - from;
		m.more = p + 1 < n_parts;
		for (i = from; i < part_end[p]; i++) {
			const struct idl_send_file *f = file_at(s, i);
			struct idl_msg_file *mf = &m.files[i - from];
			mf->id = i - s->first;
			mf->path = f->path;
			mf->size = f->size;
			mf->mtime = f->mtime;
		}
		if (send_msg(s, &m) < 0) {
			finish(s, IDL_XFER_CLOSED, "the data channel refused the offer");
			break;
		}
	}
	g_free(m.files);
	g_free(part_end);
}

/* Whether m, an accept or a receipt, goes on from its parts before (none
 * for one in one message): same transfer, at version 2 only, at most
 * IDL_OFFER_PARTS_MAX messages, ids increasing across them. Cancels when
 * not. Counts the part; the last one ends the answer. */
static bool answer_part(struct idl_sender *s, const struct idl_msg *m)
{
	const char *what = idl_msg_type_name(m->type);
	char *why = NULL;

	if (strcmp(m->transfer, s->transfer) != 0) {
		why = g_strdup_printf("%s names another transfer", what);
	} else if (m->more || s->answer_parts) {
		if (s->version < 2)
			why = g_strdup_printf("protocol error: %s in parts (\"more\") at version 1", what);
		else if (s->answer_parts >= IDL_OFFER_PARTS_MAX)
			why = g_strdup_printf("protocol error: %s has more than %d parts", what, IDL_OFFER_PARTS_MAX);
		for (size_t k = 0; k < m->n_files && !why; k++) {
			if (m->files[k].id < s->answer_next)
				why = g_strdup_printf("protocol error: %s part %u does not go on from the one before "
						      "(id %u after %u)", what, s->answer_parts + 1, m->files[k].id,
						      s->answer_next - 1);
			s->answer_next = m->files[k].id + 1;
		}
	}
	if (why) {
		cancel_with(s, IDL_XFER_PROTOCOL, why);
		g_free(why);
		return false;
	}
	s->answer_parts = m->more ? s->answer_parts + 1 : 0;
	if (!m->more)
		s->answer_next = 0;
	return true;
}

static void on_accept(struct idl_sender *s, const struct idl_msg *m)
{
	bool any = false;

	if (!answer_part(s, m))
		return;
	for (size_t k = 0; k < m->n_files; k++) {
		guint i = s->first + m->files[k].id;
		if (i >= s->end || s->wanted[i] || m->files[k].offset > file_at(s, i)->size) {
			cancel_with(s, IDL_XFER_PROTOCOL, "accept names a file or offset that was not offered");
			return;
		}
		s->wanted[i] = true;
		s->offsets[i] = m->files[k].offset;
		s->st.resumed += m->files[k].offset;
	}
	/* Data waits for the last part: only then is the plan whole. */
	if (m->more)
		return;
	for (guint i = s->first; i < s->end; i++) {
		any = any || s->wanted[i];
		if (!s->wanted[i]) {
			s->st.files_failed++;
			s->verify_failed = true;
		}
	}
	if (!any) {
		/* Nothing wanted: the receipt still closes the transfer. */
		struct idl_msg done = { .type = IDL_MSG_DONE };
		s->state = S_DONE_SENT;
		send_msg(s, &done);
	} else {
		s->last = last_wanted(s);
		s->state = S_SENDING;
		s->rd_file = s->first;
		s->rd_opened = false;
	}
	if (s->cb->accepted)
		s->cb->accepted(s, s->user);
	idl_sender_pump(s);
}

/* Returns false when the transfer ended (a result for a file not sent). */
static bool file_result(struct idl_sender *s, guint32 id, bool ok, const char *reason)
{
	guint i = s->first + id;

	if (i >= s->end || !s->wanted[i]) {
		cancel_with(s, IDL_XFER_PROTOCOL, "a file result names a file that was not sent");
		return false;
	}
	if (ok)
		s->st.files_verified++;
	else
		s->st.files_failed++;
	if (s->cb->file_result)
		s->cb->file_result(s, i, ok, reason, s->user);
	return s->state != S_FINISHED;
}

static void on_file_result(struct idl_sender *s, const struct idl_msg *m)
{
	if (m->type == IDL_MSG_FILES_OK) {
		for (size_t k = 0; k < m->n_files && file_result(s, m->files[k].id, true, NULL); k++)
			;
		return;
	}
	file_result(s, m->id, m->type == IDL_MSG_FILE_OK, m->type == IDL_MSG_FILE_OK ? NULL : m->reason);
}

static void on_receipt(struct idl_sender *s, const struct idl_msg *m)
{
	if (!answer_part(s, m))
		return;
	for (size_t k = 0; k < m->n_files; k++) {
		guint i = s->first + m->files[k].id;
		if (i < s->end && s->wanted[i] && m->files[k].status == IDL_FILE_VERIFIED)
			s->verified++;
	}
	/* The outcome waits for the last part. */
	if (m->more)
		return;
	if (s->verified != s->end - s->first)
		s->verify_failed = true;
	s->verified = 0;
	if (s->end < s->files->len) {
		send_offer(s);
		return;
	}
	finish(s, s->verify_failed ? IDL_XFER_VERIFY : IDL_XFER_OK,
	       s->verify_failed ? "the receiver did not verify every file" : NULL);
}

/* The receiver answered our commitment with its nonce: reveal ours (it
 * checks it against the commitment) and derive the code. */
static int reveal_nonce(struct idl_sender *s, const uint8_t peer_nonce[IDL_SAS_NONCE_SIZE])
{
	struct idl_msg m = { .type = IDL_MSG_SAS, .has_sas_nonce = true };

	memcpy(m.sas_nonce, s->nonce, sizeof(s->nonce));
	if (send_msg(s, &m) < 0)
		return -EPIPE;
	if (idl_sas_code(s->fp_ours, s->fp_peer, s->nonce, peer_nonce, s->st.code) == 0 && s->cb->code)
		s->cb->code(s, s->st.code, s->user);
	return 0;
}

void idl_sender_feed(struct idl_sender *s, bool binary, const uint8_t *data, size_t len)
{
	struct idl_msg m;
	GError *err = NULL;
	char *why;
	int r;

	if (s->state == S_FINISHED)
		return;
	if (binary) {
		cancel_with(s, IDL_XFER_PROTOCOL, "the receiver sent binary data");
		return;
	}
	r = idl_msg_decode((const char *)data, len, &m, &err);
	if (r < 0) {
		why = g_strdup_printf("%s: %s", r == -EPROTONOSUPPORT ? "unsupported" : "protocol error", err->message);
		cancel_with(s, IDL_XFER_PROTOCOL, why);
		g_free(why);
		g_error_free(err);
		return;
	}
	if (m.type == IDL_MSG_CANCEL) {
		why = g_strdup_printf("the receiver cancelled: %s", m.reason[0] ? m.reason : "no reason given");
		finish(s, IDL_XFER_CANCELLED, why);
		g_free(why);
	} else if (s->state == S_HELLO && m.type == IDL_MSG_HELLO) {
		s->version = MIN(m.version, (uint64_t)IDL_MSG_VERSION);
		g_strlcpy(s->st.peer_name, m.name, sizeof(s->st.peer_name));
		if (s->sas && !m.has_sas_nonce && s->cb->code)
			s->cb->code(s, NULL, s->user);
		if (s->sas && m.has_sas_nonce && reveal_nonce(s, m.sas_nonce) < 0)
			finish(s, IDL_XFER_CLOSED, "the data channel refused our nonce");
		else
			send_offer(s);
	} else if (s->state == S_OFFERED && m.type == IDL_MSG_ACCEPT) {
		on_accept(s, &m);
	} else if (s->state == S_OFFERED && m.type == IDL_MSG_DECLINE && !s->answer_parts) {
		finish(s, IDL_XFER_DECLINED, m.reason[0] ? m.reason : "no reason given");
	} else if ((s->state == S_SENDING || s->state == S_DONE_SENT) && !s->answer_parts &&
		   (m.type == IDL_MSG_FILE_OK || m.type == IDL_MSG_FILE_ERROR ||
		    (m.type == IDL_MSG_FILES_OK && s->version >= 2))) {
		on_file_result(s, &m);
	} else if (s->state == S_DONE_SENT && m.type == IDL_MSG_RECEIPT) {
		on_receipt(s, &m);
	} else {
		why = g_strdup_printf("protocol error: unexpected %s", idl_msg_type_name(m.type));
		cancel_with(s, IDL_XFER_PROTOCOL, why);
		g_free(why);
	}
	idl_msg_clear(&m);
}

void idl_sender_set_fingerprints(struct idl_sender *s, const char *ours, const char *peers)
{
	g_strlcpy(s->fp_ours, ours, sizeof(s->fp_ours));
	g_strlcpy(s->fp_peer, peers, sizeof(s->fp_peer));
	s->sas = idl_sas_nonce(s->nonce) == 0;
}

void idl_sender_start(struct idl_sender *s)
{
	struct idl_msg m = { .type = IDL_MSG_HELLO, .version = IDL_MSG_VERSION, .kind = IDL_PEER_DEVICE };

	if (s->state != S_NEW)
		return;
	g_strlcpy(m.name, s->name, sizeof(m.name));
	if (s->sas) {
		m.has_sas_commit = true;
		idl_sas_commit(s->nonce, m.sas_commit);
	}
	s->state = S_HELLO;
	if (send_msg(s, &m) < 0)
		finish(s, IDL_XFER_CLOSED, "the data channel refused hello");
}

void idl_sender_closed(struct idl_sender *s)
{
	finish(s, IDL_XFER_CLOSED, "the connection closed before the transfer ended");
}

void idl_sender_cancel(struct idl_sender *s, const char *reason)
{
	cancel_with(s, IDL_XFER_CANCELLED, reason);
}

void idl_sender_stats(const struct idl_sender *s, struct idl_sender_stats *out)
{
	size_t buffered = s->state == S_FINISHED ? 0 : s->link.buffered(s->link.ctx);

	*out = s->st;
	out->done = s->st.resumed + (s->st.sent > buffered ? s->st.sent - buffered : 0);
}

int idl_sender_new(const GPtrArray *files, const char *name, const struct idl_link *link,
		   const struct idl_sender_callbacks *cb, void *user, struct idl_sender **out, GError **err)
{
	struct idl_sender *s = g_new0(struct idl_sender, 1);

	if (!files->len) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no files to send");
		g_free(s);
		return -EINVAL;
	}
	s->files = files;
	g_strlcpy(s->name, name, sizeof(s->name));
	s->link = *link;
	s->cb = cb;
	s->user = user;
	s->fd = -1;
	s->offsets = g_new0(uint64_t, files->len);
	s->wanted = g_new0(bool, files->len);
	s->st.files = files->len;
	s->st.total = idl_files_total(files);
	g_queue_init(&s->ready);
	s->spare = g_ptr_array_new_with_free_func(g_free);
	if (idl_worker_new(&worker_ops, s, &s->worker, err) < 0) {
		idl_sender_free(s);
		return -EAGAIN;
	}
	*out = s;
	return 0;
}

void idl_sender_free(struct idl_sender *s)
{
	if (!s)
		return;
	idl_worker_free(s->worker);
	g_queue_clear_full(&s->ready, job_free);
	if (s->spare)
		g_ptr_array_free(s->spare, TRUE);
	/* The worker is joined: its file and hash are ours to drop. */
	if (s->fd >= 0) {
		gnutls_hash_deinit(s->hash, NULL);
		close(s->fd);
	}
	g_free(s->offsets);
	g_free(s->wanted);
	g_free(s);
}
