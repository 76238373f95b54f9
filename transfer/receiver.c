/* receiver: see receiver.h. The loop thread owns the protocol state; the
 * worker thread owns the store and the files being written. File data is
 * gathered into blocks and handed to the worker. When the disk falls behind
 * the network, the blocks not yet written pass HIGH_WATER and the receiver
 * asks its link to stop delivering (SCTP stops being read and its window
 * closes, so the sender waits); below LOW_WATER it asks again: back-pressure
 * with constant memory, and the loop never waits for the disk. */
#include "transfer/receiver.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <gio/gio.h>

#include "transfer/path.h"
#include "transfer/sas.h"
#include "transfer/store.h"
#include "transfer/worker.h"

#define BLOCK (256 * 1024)
/* Verified files are kept in batches (idl_store_commit): two syncfs for
 * many small files instead of three fsyncs each. A batch closes at
 * BATCH_FILES (fewer when the open-file limit is low: each file of the
 * batch holds a descriptor until its commit), at BATCH_BYTES, at done, or
 * BATCH_DELAY_MS after it opened, so a sender that waits for each file-ok
 * is only held that long; but not while the worker still has more than
 * BATCH_BUSY to write (see batch_due). */
#define BATCH_FILES 1024
#define BATCH_BYTES (8 * 1024 * 1024)
#define BATCH_DELAY_MS 20
#define BATCH_BUSY (1024 * 1024)
/* Bytes handed to the worker and not yet written and freed. 8 MiB is
 * half a second of a fast disk; a slow one (15 MB/s) drains the 4 MiB
 * between the marks in a quarter second, well under SCTP's window probes. */
#define HIGH_WATER (8 * 1024 * 1024)
#define LOW_WATER (4 * 1024 * 1024)

enum state { R_HELLO, R_IDLE, R_PLANNING, R_ASKING, R_RECEIVING, R_FINISHING, R_FINISHED };
enum job_kind { JOB_PLAN, JOB_BEGIN, JOB_DATA, JOB_END, JOB_COMMIT, JOB_ABORT, JOB_DONE, JOB_RUN };

/* One file being received. The worker thread alone touches sf and werror;
 * the loop reads error and final_path only once the COMMIT job that carried
 * the file is back (the worker's queue orders the two). */
struct rfile {
	guint id;
	bool overflow;                /* loop: more bytes came than announced */
	bool small;                   /* loop: under a BLOCK to come, so its END job begins it too */
	struct idl_store_file *sf;    /* worker; after END, verified and waiting for its COMMIT */
	char *werror;                 /* worker: BEGIN or a write failed */
	char *error;                  /* worker, END or COMMIT: why the file was not kept */
	char *final_path;             /* worker, COMMIT: where it was kept */
};

struct job {
	enum job_kind kind;
	struct rfile *rf;
	uint8_t *buf;
	size_t len;
	uint8_t sha256[IDL_SHA256_SIZE];
	char *verdict;                /* END: the loop's reason not to keep the file */
	GPtrArray *batch;             /* COMMIT: struct rfile * (borrowed from live), in offer order */
	bool discard;                 /* END: and its data are wrong (not kept for resume) */
	bool begin;                   /* END: of a small file, begun and written (buf) by this job */
	struct idl_msg run;           /* RUN: the files (id, size, sha256) whose bytes are buf */
	struct rfile **rfs;           /* RUN: one per run.files[], borrowed from live */
	/* results */
	char *error;                  /* DATA: fatal (the disk) */
	uint64_t *held;               /* PLAN: per file */
	uint64_t free_space;          /* PLAN */
	guint new_folders;            /* PLAN: folders the offer would create */
	uint64_t folder_bytes;        /* PLAN: the space they take */
};

struct idl_receiver {
	char name[IDL_MSG_NAME_MAX + 1];
	char peer_fp[65];
	struct idl_link link;
	const struct idl_receiver_callbacks *cb;
	void *user;
	struct idl_store *store;      /* worker thread only, after new() */
	struct idl_worker *worker;
	enum state state;
	enum idl_peer_kind peer_kind;
	struct idl_msg offer;         /* the offer being planned or received */
	guint offer_parts;            /* its messages so far (version 2: "more") */
	uint64_t *offsets;            /* per file of the offer */
	enum idl_file_status *status; /* per file of the offer */
	guint next_id;                /* the file expected next */
	struct rfile *cur;            /* the file whose data is arriving */
	uint64_t cur_len;             /* bytes of it held so far */
	uint8_t *block;               /* data gathered for the next DATA job */
	size_t block_len;
	GPtrArray *live;              /* struct rfile *, until their COMMIT/ABORT is done */
	GPtrArray *ended;             /* struct rfile *: END pushed, in no COMMIT yet */
	uint64_t ended_bytes;
	GSource *batch_timer;         /* closes the open batch, or NULL */
	guint batch_files;            /* files a batch closes at */
	bool paused;                  /* we asked the link to stop delivering */
	uint64_t version;             /* agreed in hello: the lower of the two */
	struct job *run;              /* RUN job gathering the bytes of a run, not pushed yet */
	size_t run_got;               /* bytes of it arrived */
	GArray *oks;                  /* guint32: verified ids not yet answered (files-ok) */
	bool transfer_failed;
	/* verification code: the sender's commitment, our nonce, the code */
	char fp_ours[65];
	bool sas_pending;             /* committed to, nonce not revealed yet */
	uint8_t sas_commit[IDL_SHA256_SIZE];
	uint8_t nonce[IDL_SAS_NONCE_SIZE];
	char code[IDL_SAS_CODE_LEN + 1];
	struct idl_receiver_stats st;
};

/* ---- worker side ---- */

static void begin_file(struct idl_receiver *r, struct rfile *rf)
{
	const struct idl_msg_file *f = &r->offer.files[rf->id];
	GError *err = NULL;

	if (idl_store_begin(r->store, r->peer_fp, f->path, f->size, f->mtime, r->offsets[rf->id], &rf->sf, &err) < 0) {
		rf->werror = g_strdup(err->message);
		g_error_free(err);
	}
}

/* *fatal is fatal to the transfer (the disk failed): the loop cancels. */
static void write_data(struct rfile *rf, const uint8_t *buf, size_t len, char **fatal)
{
	GError *err = NULL;

	if (!rf->sf || rf->werror || !len)
		return;
	if (idl_store_write(rf->sf, buf, len, &err) < 0) {
		/* The file stays open: its END or ABORT closes it. */
		*fatal = g_strdup(err->message);
		rf->werror = g_strdup(err->message);
		g_error_free(err);
	}
}

/* The end of a file's bytes: a verified file keeps rf->sf for its COMMIT;
 * any other is closed, with rf->error saying why. */
static void end_file(struct rfile *rf, const uint8_t sha256[IDL_SHA256_SIZE], const char *verdict, bool discard)
{
	GError *err = NULL;

	if (rf->werror) {
		rf->error = g_strdup(rf->werror);
		idl_store_abort(rf->sf);
	} else if (verdict) {
		rf->error = g_strdup(verdict);
		if (discard)
			idl_store_discard(rf->sf);
		else
			idl_store_abort(rf->sf);
	} else if (idl_store_verify(rf->sf, sha256, &err) < 0) {
		rf->error = g_strdup(err->message);
		g_error_free(err);
	} else {
		return;
	}
	rf->sf = NULL;
}

static void run_job(void *data, void *user)
{
	struct idl_receiver *r = user;
	struct job *j = data;
	struct rfile *rf = j->rf;
	GError *err = NULL;
	const struct idl_msg_file *f;

	switch (j->kind) {
	case JOB_PLAN: {
		const char **paths = g_new(const char *, r->offer.n_files);
		bool records = idl_store_has_records(r->store);

		j->held = g_new0(uint64_t, r->offer.n_files);
		for (size_t i = 0; i < r->offer.n_files; i++) {
			f = &r->offer.files[i];
			if (records)
				j->held[i] = idl_store_held(r->store, r->peer_fp, f->path, f->size, f->mtime);
			paths[i] = f->path;
		}
		if (idl_store_free_space(r->store, &j->free_space, &err) < 0 ||
		    idl_store_folder_cost(r->store, paths, r->offer.n_files, &j->new_folders, &j->folder_bytes,
					  &err) < 0) {
			j->error = g_strdup(err->message);
			g_error_free(err);
		}
		g_free(paths);
		return;
	}
	case JOB_BEGIN:
		begin_file(r, rf);
		return;
	case JOB_DATA:
		write_data(rf, j->buf, j->len, &j->error);
		return;
	case JOB_END:
		/* One job for the whole of a small file: a third of the trips
		 * between the threads. */
		if (j->begin) {
			begin_file(r, rf);
			write_data(rf, j->buf, j->len, &j->error);
		}
		end_file(rf, j->sha256, j->verdict, j->discard);
		return;
	case JOB_RUN:
		/* A whole run in one job: one trip between the threads for up
		 * to IDL_RUN_FILES_MAX files. A bad hash fails its file only. */
		for (size_t k = 0, at = 0; k < j->run.n_files && !j->error; k++) {
			size_t len = (size_t)j->run.files[k].size;

			begin_file(r, j->rfs[k]);
			write_data(j->rfs[k], j->buf + at, len, &j->error);
			end_file(j->rfs[k], j->run.files[k].sha256, NULL, false);
			at += len;
		}
		return;
	case JOB_COMMIT: {
		struct idl_store_file **files = g_new(struct idl_store_file *, j->batch->len);
		struct rfile **which = g_new(struct rfile *, j->batch->len);
		struct idl_store_result *res;
		guint n = 0;

		for (guint i = 0; i < j->batch->len; i++) {
			struct rfile *b = g_ptr_array_index(j->batch, i);
			if (b->sf) {
				which[n] = b;
				files[n++] = g_steal_pointer(&b->sf);
			}
		}
		res = g_new0(struct idl_store_result, n);
		idl_store_commit(files, n, res);
		for (guint i = 0; i < n; i++) {
			which[i]->final_path = res[i].final_path;
			if (res[i].error) {
				which[i]->error = g_strdup(res[i].error->message);
				g_error_free(res[i].error);
			}
		}
		g_free(res);
		g_free(which);
		g_free(files);
		return;
	}
	case JOB_ABORT:
		idl_store_abort(rf->sf);
		rf->sf = NULL;
		return;
	case JOB_DONE:
		return;
	}
}

static void rfile_free(gpointer data)
{
	struct rfile *rf = data;

	/* Only reached on the worker thread after its last job (or with it
	 * never started): what it left open is kept for a resume. */
	idl_store_abort(rf->sf);
	g_free(rf->werror);
	g_free(rf->error);
	g_free(rf->final_path);
	g_free(rf);
}

static void job_free(void *data)
{
	struct job *j = data;

	g_free(j->buf);
	g_free(j->error);
	g_free(j->verdict);
	if (j->batch)
		g_ptr_array_unref(j->batch);
	g_free(j->held);
	idl_msg_clear(&j->run);
	g_free(j->rfs);
	g_free(j);
}

/* ---- loop side ---- */

static void cancel_with(struct idl_receiver *r, enum idl_xfer_result res, const char *reason);

/* An answer that cannot be encoded would leave the sender waiting for it
 * for ever: the receiver cancels instead, with the reason. The caller
 * checks for R_FINISHED afterwards. */
static int send_msg(struct idl_receiver *r, const struct idl_msg *m)
{
	GError *err = NULL;
	int ret = idl_link_send_msg(&r->link, m, &err);

	if (ret == -EMSGSIZE && m->type != IDL_MSG_CANCEL) {
		char *why = g_strdup_printf("cannot send the %s: %s", idl_msg_type_name(m->type), err->message);

		cancel_with(r, IDL_XFER_LOCAL, why);
		g_free(why);
	}
	g_clear_error(&err);
	return ret;
}

static void push(struct idl_receiver *r, enum job_kind kind, struct rfile *rf, struct job **out)
{
	struct job *j = g_new0(struct job, 1);

	j->kind = kind;
	j->rf = rf;
	if (out)
		*out = j;
	else
		idl_worker_push(r->worker, j, 64);
}

static void set_paused(struct idl_receiver *r, bool paused)
{
	if (r->paused == paused || !r->link.pause)
		return;
	r->paused = paused;
	r->link.pause(r->link.ctx, paused);
}

/* The block goes to the worker, its bytes counted until its done has
 * freed it; past HIGH_WATER the link holds back what follows. */
static void flush_block(struct idl_receiver *r)
{
	struct job *j;

	if (!r->block_len)
		return;
	push(r, JOB_DATA, r->cur, &j);
	j->buf = r->block;
	j->len = r->block_len;
	r->block = NULL;
	r->block_len = 0;
	idl_worker_push(r->worker, j, j->len);
	if (idl_worker_backlog(r->worker) > HIGH_WATER)
		set_paused(r, true);
}

/* The worker drained to LOW_WATER: the link delivers again. */
static void worker_low(void *user)
{
	struct idl_receiver *r = user;

	if (r->state != R_FINISHED)
		set_paused(r, false);
}

/* Hands the files ended so far to the worker as one COMMIT. */
static void commit_batch(struct idl_receiver *r)
{
	struct job *j;

	if (r->batch_timer) {
		g_source_destroy(r->batch_timer);
		g_clear_pointer(&r->batch_timer, g_source_unref);
	}
	if (!r->ended->len)
		return;
	push(r, JOB_COMMIT, NULL, &j);
	j->batch = r->ended;
	r->ended = g_ptr_array_new();
	r->ended_bytes = 0;
	idl_worker_push(r->worker, j, 64);
}

static gboolean batch_due(gpointer data)
{
	struct idl_receiver *r = data;

	/* The worker has a run or more still to write: a commit now would
	 * wait behind it anyway, and cut the batch short (a syncfs more). The
	 * batch grows on while the bytes keep coming; once they stop, the
	 * worker drains and the next tick closes it. */
	if (idl_worker_backlog(r->worker) > BATCH_BUSY)
		return G_SOURCE_CONTINUE;
	g_clear_pointer(&r->batch_timer, g_source_unref);
	commit_batch(r);
	return G_SOURCE_REMOVE;
}

static void finish(struct idl_receiver *r, enum idl_xfer_result res, const char *reason)
{
	if (r->state == R_FINISHED)
		return;
	/* The link outlives this call only as long as its owner says: never
	 * leave it held back. */
	set_paused(r, false);
	/* The file being written keeps its .part for a resume. */
	if (r->cur) {
		g_clear_pointer(&r->block, g_free);
		r->block_len = 0;
		push(r, JOB_ABORT, r->cur, NULL);
		r->cur = NULL;
	}
	/* A run cut short leaves nothing: its files never reached the disk. */
	if (r->run) {
		for (size_t k = 0; k < r->run->run.n_files; k++)
			g_ptr_array_remove_fast(r->live, r->run->rfs[k]);
		g_clear_pointer(&r->run, job_free);
	}
	/* Files already verified are kept all the same. */
	commit_batch(r);
	r->state = R_FINISHED;
	r->cb->finished(r, res, reason, r->user);
}

static void cancel_with(struct idl_receiver *r, enum idl_xfer_result res, const char *reason)
{
	struct idl_msg m = { .type = IDL_MSG_CANCEL, .reason = (char *)reason };

	if (r->state == R_FINISHED)
		return;
	send_msg(r, &m);
	finish(r, res, reason);
}

static void protocol_error(struct idl_receiver *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void protocol_error(struct idl_receiver *r, const char *fmt, ...)
{
	va_list ap;
	char *msg, *why;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	why = g_strdup_printf("protocol error: %s", msg);
	cancel_with(r, IDL_XFER_PROTOCOL, why);
	g_free(why);
	g_free(msg);
}

static void end_transfer(struct idl_receiver *r, enum idl_xfer_result res, const char *reason)
{
	idl_msg_clear(&r->offer);
	r->offer_parts = 0;
	g_clear_pointer(&r->offsets, g_free);
	g_clear_pointer(&r->status, g_free);
	r->state = R_IDLE;
	if (r->cb->transfer_done)
		r->cb->transfer_done(r, res, reason, r->user);
}

static void decline(struct idl_receiver *r, const char *reason)
{
	struct idl_msg m = { .type = IDL_MSG_DECLINE, .reason = (char *)reason };

	g_strlcpy(m.transfer, r->offer.transfer, sizeof(m.transfer));
	send_msg(r, &m);
	if (r->state != R_FINISHED)
		end_transfer(r, IDL_XFER_DECLINED, reason);
}

static void planned(struct idl_receiver *r, struct job *j)
{
	struct idl_offer_info info = {
		.peer_name = r->st.peer_name, .peer_kind = r->peer_kind, .peer_fingerprint = r->peer_fp,
		.offer = &r->offer, .code = r->code[0] ? r->code : NULL,
	};
	uint64_t need = 0;

	if (j->error) {
		decline(r, j->error);
		return;
	}
	for (size_t i = 0; i < r->offer.n_files; i++) {
		r->offsets[i] = j->held[i];
		info.total += r->offer.files[i].size;
		info.held += j->held[i];
		need += r->offer.files[i].size - j->held[i];
	}
	/* Folders take space too: an offer of empty files is not free. */
	if (need + j->folder_bytes > j->free_space) {
		char folders[64] = "";
		char *why;

		if (j->new_folders)
			g_snprintf(folders, sizeof(folders), " (%u new folders included)", j->new_folders);
		why = g_strdup_printf("not enough free space: the files need %" G_GUINT64_FORMAT " bytes%s, the "
				      "folder has %" G_GUINT64_FORMAT, need + j->folder_bytes, folders, j->free_space);
		decline(r, why);
		g_free(why);
		return;
	}
	r->st.files = (guint)r->offer.n_files;
	r->st.total = info.total;
	r->st.done = info.held;
	r->st.files_verified = r->st.files_failed = 0;
	r->state = R_ASKING;
	r->cb->offer(r, &info, r->user);
}

/* An accept or receipt: in one message at version 1, at version 2 in
 * parts of at most IDL_ANSWER_PART_FILES files ("more"), all sent at once
 * (an accept's before any data can come). The caller checks for
 * R_FINISHED afterwards. */
static void send_answer(struct idl_receiver *r, struct idl_msg *m)
{
	struct idl_msg_file *all = m->files;
	size_t n = m->n_files, per = r->version >= 2 ? IDL_ANSWER_PART_FILES : MAX(n, 1), at = 0;

	do {
		m->files = all + at;
		m->n_files = MIN(per, n - at);
		at += m->n_files;
		m->more = at < n;
	} while (send_msg(r, m) >= 0 && at < n && r->state != R_FINISHED);
	m->files = all;
	m->n_files = n;
}

static void send_receipt(struct idl_receiver *r)
{
	struct idl_msg m = { .type = IDL_MSG_RECEIPT };
	bool all = true;

	g_strlcpy(m.transfer, r->offer.transfer, sizeof(m.transfer));
	m.n_files = r->offer.n_files;
	m.files = g_new0(struct idl_msg_file, m.n_files);
	for (size_t i = 0; i < m.n_files; i++) {
		m.files[i].id = (uint32_t)i;
		m.files[i].status = r->status[i] ? r->status[i] : IDL_FILE_FAILED;
		all = all && m.files[i].status == IDL_FILE_VERIFIED;
	}
	send_answer(r, &m);
	g_free(m.files);
	if (r->state != R_FINISHED)
		end_transfer(r, all ? IDL_XFER_OK : IDL_XFER_VERIFY, all ? NULL : "some files were not verified");
}

/* Version 2: the verified ids gathered so far go as one files-ok. */
static void send_oks(struct idl_receiver *r)
{
	struct idl_msg m = { .type = IDL_MSG_FILES_OK };

	if (!r->oks->len)
		return;
	m.n_files = r->oks->len;
	m.files = g_new0(struct idl_msg_file, m.n_files);
	for (guint i = 0; i < r->oks->len; i++)
		m.files[i].id = g_array_index(r->oks, guint32, i);
	g_array_set_size(r->oks, 0);
	send_msg(r, &m);
	g_free(m.files);
}

/* Answers one file, in offer order: version 1 with file-ok or file-error,
 * version 2 gathers file-oks into one files-ok (sent before any file-error
 * that follows, and at the end of each batch, so the order holds). */
static void file_ended(struct idl_receiver *r, struct rfile *rf)
{
	const char *path = r->offer.files[rf->id].path;
	struct idl_msg m = { .id = rf->id };

	if (rf->error || !rf->final_path) {
		m.type = IDL_MSG_FILE_ERROR;
		m.reason = rf->error ? rf->error : (char *)"not kept";
		r->status[rf->id] = IDL_FILE_FAILED;
		r->st.files_failed++;
		send_oks(r);
		if (r->state != R_FINISHED)
			send_msg(r, &m);
	} else if (r->version >= 2) {
		g_array_append_val(r->oks, rf->id);
		if (r->oks->len >= IDL_FILES_OK_MAX)
			send_oks(r);
		r->status[rf->id] = IDL_FILE_VERIFIED;
		r->st.files_verified++;
	} else {
		m.type = IDL_MSG_FILE_OK;
		r->status[rf->id] = IDL_FILE_VERIFIED;
		r->st.files_verified++;
		send_msg(r, &m);
	}
	if (r->cb->file_done && r->state != R_FINISHED)
		r->cb->file_done(r, path, rf->final_path, m.reason, r->user);
	g_ptr_array_remove_fast(r->live, rf);
}

static void job_done(void *data, void *user)
{
	struct idl_receiver *r = user;
	struct job *j = data;

	if (r->state == R_FINISHED) {
		if (j->kind == JOB_ABORT)
			g_ptr_array_remove_fast(r->live, j->rf);
		for (guint i = 0; j->kind == JOB_COMMIT && i < j->batch->len; i++)
			g_ptr_array_remove_fast(r->live, g_ptr_array_index(j->batch, i));
		job_free(j);
		return;
	}
	switch (j->kind) {
	case JOB_PLAN:
		planned(r, j);
		break;
	case JOB_DATA:
		if (j->error)
			cancel_with(r, IDL_XFER_LOCAL, j->error);
		break;
	case JOB_COMMIT:
		for (guint i = 0; i < j->batch->len && r->state != R_FINISHED; i++)
			file_ended(r, g_ptr_array_index(j->batch, i));
		if (r->state != R_FINISHED)
			send_oks(r);
		break;
	case JOB_RUN:
	case JOB_END:
		if (j->error)
			cancel_with(r, IDL_XFER_LOCAL, j->error);
		break;
	case JOB_ABORT:
		g_ptr_array_remove_fast(r->live, j->rf);
		break;
	case JOB_DONE:
		send_oks(r);
		if (r->state != R_FINISHED)
			send_receipt(r);
		break;
	case JOB_BEGIN:
		break;
	}
	job_free(j);
}

static const struct idl_worker_ops worker_ops = { run_job, job_done, job_free, worker_low };

/* Version 2: one more part of an offer ("more"), whose ids go on from the
 * parts before, within the bounds of one offer. Takes m's files. */
static bool offer_part(struct idl_receiver *r, struct idl_msg *m)
{
	size_t n = r->offer.n_files;

	if (strcmp(m->transfer, r->offer.transfer) != 0 || m->files[0].id != n) {
		protocol_error(r, "offer part %u does not go on from the one before (transfer %s, first id %u, not %zu)",
			       r->offer_parts + 1, m->transfer, m->files[0].id, n);
		return false;
	}
	if (r->offer_parts >= IDL_OFFER_PARTS_MAX) {
		protocol_error(r, "offer has more than %d parts", IDL_OFFER_PARTS_MAX);
		return false;
	}
	/* Ids go on and stay under IDL_MSG_FILES_MAX (the decoder): the parts
	 * add up to at most that many files. */
	r->offer.files = g_renew(struct idl_msg_file, r->offer.files, n + m->n_files);
	memcpy(r->offer.files + n, m->files, m->n_files * sizeof(*m->files));
	r->offer.n_files = n + m->n_files;
	r->offer.more = m->more;
	g_clear_pointer(&m->files, g_free);   /* its paths are the offer's now */
	m->n_files = 0;
	return true;
}

static void on_offer(struct idl_receiver *r, struct idl_msg *m)
{
	GHashTable *paths;
	bool dup = false;
	guint folders = 0;

	if (r->offer_parts) {
		if (!offer_part(r, m))
			return;
	} else if (m->files[0].id != 0 || (m->more && r->version < 2)) {
		protocol_error(r, "an offer starts at file 0, in one message at version 1");
		return;
	} else {
		r->offer = *m;                /* takes its allocations */
		memset(m, 0, sizeof(*m));
	}
	r->offer_parts++;
	if (r->offer.more)
		return;
	paths = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; i < r->offer.n_files && !dup; i++)
		dup = !g_hash_table_add(paths, r->offer.files[i].path);
	g_hash_table_destroy(paths);
	if (dup) {
		protocol_error(r, "the offer names a path twice");
		return;
	}
	/* Each part passed the decoder's folder bound; the whole must too. */
	if (r->offer_parts > 1) {
		paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		for (size_t i = 0; i < r->offer.n_files; i++)
			folders += idl_path_folders_add(paths, r->offer.files[i].path);
		g_hash_table_destroy(paths);
		if (folders > IDL_OFFER_FOLDERS_MAX) {
			protocol_error(r, "the offer names %u folders, over the limit of %d", folders, IDL_OFFER_FOLDERS_MAX);
			return;
		}
	}
	r->offsets = g_new0(uint64_t, r->offer.n_files);
	r->status = g_new0(enum idl_file_status, r->offer.n_files);
	r->next_id = 0;
	r->state = R_PLANNING;
	push(r, JOB_PLAN, NULL, NULL);
}

static void on_file(struct idl_receiver *r, const struct idl_msg *m)
{
	struct rfile *rf;

	if (r->cur || m->id != r->next_id || m->id >= r->offer.n_files || m->offset != r->offsets[m->id]) {
		protocol_error(r, "file %u at offset %" G_GUINT64_FORMAT " was not expected", m->id, m->offset);
		return;
	}
	rf = g_new0(struct rfile, 1);
	rf->id = m->id;
	g_ptr_array_add(r->live, rf);
	r->cur = rf;
	r->cur_len = m->offset;
	/* Its data never fill a block (flush_block), so they all go with its
	 * END job; a file that lies about its size is caught by overflow. */
	rf->small = r->offer.files[rf->id].size - m->offset < BLOCK;
	if (!rf->small)
		push(r, JOB_BEGIN, rf, NULL);
}

/* rf's END (or RUN) job is pushed: it joins the batch to commit. */
static void ended(struct idl_receiver *r, struct rfile *rf, uint64_t size)
{
	r->next_id = rf->id + 1;
	g_ptr_array_add(r->ended, rf);
	r->ended_bytes += size;
	if (r->ended->len >= r->batch_files || r->ended_bytes >= BATCH_BYTES)
		commit_batch(r);
	else if (!r->batch_timer) {
		/* On the context the worker reports to: the loop's own. */
		r->batch_timer = g_timeout_source_new(BATCH_DELAY_MS);
		g_source_set_callback(r->batch_timer, batch_due, r, NULL);
		g_source_attach(r->batch_timer, g_main_context_get_thread_default());
	}
}

/* Every byte of the run is here: one job writes and checks all its files. */
static void run_complete(struct idl_receiver *r)
{
	struct job *j = g_steal_pointer(&r->run);

	idl_worker_push(r->worker, j, 64 + j->len);
	if (idl_worker_backlog(r->worker) > HIGH_WATER)
		set_paused(r, true);                             /* as flush_block */
	for (size_t k = 0; k < j->run.n_files; k++)
		ended(r, j->rfs[k], j->run.files[k].size);
}

static void on_run_data(struct idl_receiver *r, const uint8_t *data, size_t len)
{
	struct job *j = r->run;

	r->st.received += len;
	if (len > j->len - r->run_got) {
		protocol_error(r, "more bytes than the run lists (%zu)", j->len);
		return;
	}
	memcpy(j->buf + r->run_got, data, len);
	r->run_got += len;
	r->st.done += len;
	if (r->run_got == j->len)
		run_complete(r);
}

/* Version 2: a run lists the next files, each accepted at 0 and small; its
 * bytes follow, all of them, before any other message. Nothing of it is
 * written before the last byte came (a run cut short leaves no trace). */
static void on_run(struct idl_receiver *r, struct idl_msg *m)
{
	struct job *j;
	size_t total = 0;

	for (size_t k = 0; k < m->n_files; k++) {
		const struct idl_msg_file *f = &m->files[k];

		if (f->id != r->next_id + k || f->id >= r->offer.n_files) {
			protocol_error(r, "run file %u was not expected (file %" G_GSIZE_FORMAT " was)", f->id,
				       (gsize)(r->next_id + k));
			return;
		}
		if (r->offsets[f->id] != 0 || f->size != r->offer.files[f->id].size) {
			protocol_error(r, "run file %u: a run holds whole files accepted at 0, of their offered size", f->id);
			return;
		}
		total += (size_t)f->size;
	}
	push(r, JOB_RUN, NULL, &j);
	j->run = *m;                          /* takes its allocations */
	memset(m, 0, sizeof(*m));
	j->rfs = g_new0(struct rfile *, j->run.n_files);
	for (size_t k = 0; k < j->run.n_files; k++) {
		struct rfile *rf = g_new0(struct rfile, 1);

		rf->id = j->run.files[k].id;
		rf->small = true;
		g_ptr_array_add(r->live, rf);
		j->rfs[k] = rf;
	}
	j->buf = g_malloc(MAX(total, 1));
	j->len = total;
	r->run = j;
	r->run_got = 0;
	if (!total)
		run_complete(r);
}

static void on_data(struct idl_receiver *r, const uint8_t *data, size_t len)
{
	uint64_t size;

	if (r->run) {
		on_run_data(r, data, len);
		return;
	}
	if (!r->cur) {
		protocol_error(r, "file data outside a file");
		return;
	}
	size = r->offer.files[r->cur->id].size;
	r->st.received += len;
	if (r->cur->overflow || len > size - r->cur_len) {
		/* A size that lies: nothing of this file is kept. */
		r->cur->overflow = true;
		r->cur_len += len;
		g_clear_pointer(&r->block, g_free);
		r->block_len = 0;
		return;
	}
	r->cur_len += len;
	r->st.done += len;
	while (len) {
		size_t n = MIN(len, BLOCK - r->block_len);
		if (!r->block)
			r->block = g_malloc(BLOCK);
		memcpy(r->block + r->block_len, data, n);
		r->block_len += n;
		data += n;
		len -= n;
		if (r->block_len == BLOCK)
			flush_block(r);
	}
}

static void on_file_end(struct idl_receiver *r, const struct idl_msg *m)
{
	struct rfile *rf = r->cur;
	uint64_t size;
	struct job *j;

	if (!rf || m->id != rf->id) {
		protocol_error(r, "file-end for a file not being sent");
		return;
	}
	size = r->offer.files[rf->id].size;
	if (!rf->small)
		flush_block(r);
	push(r, JOB_END, rf, &j);
	memcpy(j->sha256, m->sha256, sizeof(j->sha256));
	if (rf->small) {
		j->begin = true;
		j->buf = g_steal_pointer(&r->block);
		j->len = r->block_len;
		r->block_len = 0;
	}
	if (rf->overflow) {
		j->verdict = g_strdup_printf("more bytes than announced (%" G_GUINT64_FORMAT "): not kept", size);
		j->discard = true;
	} else if (r->cur_len < size) {
		j->verdict = g_strdup_printf("fewer bytes than announced (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
					     "): kept for a resume", r->cur_len, size);
	}
	idl_worker_push(r->worker, j, 64 + j->len);
	if (rf->small && idl_worker_backlog(r->worker) > HIGH_WATER)
		set_paused(r, true);                             /* as flush_block */
	r->cur = NULL;
	ended(r, rf, size);
}

/* A sender that committed to a nonce gets ours in our hello and must
 * reveal its own (message sas) before it offers anything. */
static void on_hello(struct idl_receiver *r, const struct idl_msg *m)
{
	struct idl_msg h = { .type = IDL_MSG_HELLO, .version = IDL_MSG_VERSION, .kind = IDL_PEER_DEVICE };

	r->version = MIN(m->version, (uint64_t)IDL_MSG_VERSION);
	g_strlcpy(h.name, r->name, sizeof(h.name));
	g_strlcpy(r->st.peer_name, m->name, sizeof(r->st.peer_name));
	r->peer_kind = m->kind;
	r->state = R_IDLE;
	if (m->has_sas_commit && r->fp_ours[0] && idl_sas_nonce(r->nonce) == 0) {
		r->sas_pending = true;
		memcpy(r->sas_commit, m->sas_commit, sizeof(r->sas_commit));
		h.has_sas_nonce = true;
		memcpy(h.sas_nonce, r->nonce, sizeof(r->nonce));
	}
	send_msg(r, &h);
}

static void on_sas(struct idl_receiver *r, const struct idl_msg *m)
{
	uint8_t commit[IDL_SHA256_SIZE];

	idl_sas_commit(m->sas_nonce, commit);
	if (memcmp(commit, r->sas_commit, sizeof(commit)) != 0) {
		protocol_error(r, "sas nonce does not match the commitment in hello");
		return;
	}
	r->sas_pending = false;
	if (idl_sas_code(r->peer_fp, r->fp_ours, m->sas_nonce, r->nonce, r->code) < 0)
		r->code[0] = 0;
}

void idl_receiver_set_local_fingerprint(struct idl_receiver *r, const char *ours)
{
	g_strlcpy(r->fp_ours, ours, sizeof(r->fp_ours));
}

void idl_receiver_feed(struct idl_receiver *r, bool binary, const uint8_t *data, size_t len)
{
	struct idl_msg m;
	GError *err = NULL;
	int ret;

	if (r->state == R_FINISHED)
		return;
	if (binary) {
		if (r->state != R_RECEIVING)
			protocol_error(r, "file data before an accepted offer");
		else
			on_data(r, data, len);
		return;
	}
	ret = idl_msg_decode((const char *)data, len, &m, &err);
	if (ret < 0) {
		char *why = g_strdup_printf("%s: %s", ret == -EPROTONOSUPPORT ? "unsupported" : "protocol error",
					    err->message);
		cancel_with(r, IDL_XFER_PROTOCOL, why);
		g_free(why);
		g_error_free(err);
		return;
	}
	if (m.type == IDL_MSG_CANCEL) {
		char *why = g_strdup_printf("the sender cancelled: %s", m.reason[0] ? m.reason : "no reason given");
		finish(r, IDL_XFER_CANCELLED, why);
		g_free(why);
	} else if (r->run) {
		protocol_error(r, "%s inside a run: %zu of its %zu bytes came", idl_msg_type_name(m.type), r->run_got,
			       r->run->len);
	} else if (r->state == R_HELLO && m.type == IDL_MSG_HELLO) {
		on_hello(r, &m);
	} else if (r->state == R_IDLE && r->sas_pending && m.type == IDL_MSG_SAS) {
		on_sas(r, &m);
	} else if (r->state == R_IDLE && !r->sas_pending && m.type == IDL_MSG_OFFER) {
		on_offer(r, &m);
	} else if (r->state == R_RECEIVING && m.type == IDL_MSG_FILE) {
		on_file(r, &m);
	} else if (r->state == R_RECEIVING && m.type == IDL_MSG_FILE_END) {
		on_file_end(r, &m);
	} else if (r->state == R_RECEIVING && m.type == IDL_MSG_RUN && r->version >= 2 && !r->cur) {
		on_run(r, &m);
	} else if (r->state == R_RECEIVING && m.type == IDL_MSG_DONE && !r->cur) {
		r->state = R_FINISHING;
		commit_batch(r);
		push(r, JOB_DONE, NULL, NULL);
	} else {
		protocol_error(r, "unexpected %s", idl_msg_type_name(m.type));
	}
	idl_msg_clear(&m);
}

void idl_receiver_decide(struct idl_receiver *r, bool accept, const char *reason)
{
	struct idl_msg m = { .type = IDL_MSG_ACCEPT };

	if (r->state != R_ASKING)
		return;
	if (!accept) {
		decline(r, reason && *reason ? reason : "declined");
		return;
	}
	g_strlcpy(m.transfer, r->offer.transfer, sizeof(m.transfer));
	m.n_files = r->offer.n_files;
	m.files = g_new0(struct idl_msg_file, m.n_files);
	for (size_t i = 0; i < m.n_files; i++) {
		m.files[i].id = (uint32_t)i;
		m.files[i].offset = r->offsets[i];
	}
	r->state = R_RECEIVING;
	send_answer(r, &m);
	g_free(m.files);
}

void idl_receiver_closed(struct idl_receiver *r)
{
	finish(r, IDL_XFER_CLOSED, "the connection closed");
}

void idl_receiver_stats(const struct idl_receiver *r, struct idl_receiver_stats *out)
{
	*out = r->st;
	out->current = r->cur ? r->offer.files[r->cur->id].path : "";
}

int idl_receiver_new(const char *dir, const char *state_dir, const char *name, const char *peer_fp,
		     const struct idl_link *link, const struct idl_receiver_callbacks *cb, void *user,
		     struct idl_receiver **out, GError **err)
{
	struct idl_receiver *r = g_new0(struct idl_receiver, 1);
	struct rlimit rl;
	int ret;

	g_strlcpy(r->name, name, sizeof(r->name));
	g_strlcpy(r->peer_fp, peer_fp, sizeof(r->peer_fp));
	r->link = *link;
	r->cb = cb;
	r->user = user;
	r->live = g_ptr_array_new_with_free_func(rfile_free);
	r->ended = g_ptr_array_new();
	r->oks = g_array_new(FALSE, FALSE, sizeof(guint32));
	/* A quarter of the open-file limit: the files of a batch, plus those
	 * of the run that closed it, leave the rest to the process. */
	r->batch_files = BATCH_FILES;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		r->batch_files = (guint)CLAMP(rl.rlim_cur / 4, 16, BATCH_FILES);
	ret = idl_store_open(dir, state_dir, &r->store, err);
	if (ret < 0)
		goto fail;
	ret = idl_worker_new(&worker_ops, r, &r->worker, err);
	if (ret < 0)
		goto fail;
	idl_worker_set_low(r->worker, LOW_WATER);
	*out = r;
	return 0;
fail:
	idl_receiver_free(r);
	return ret;
}

bool idl_receiver_written(const struct idl_receiver *r)
{
	return idl_worker_backlog(r->worker) == 0;
}

/* What the worker's jobs use, freed after the last of them. */
static void free_rest(void *data)
{
	struct idl_receiver *r = data;

	/* Files still open keep their .part (rfile_free). */
	g_ptr_array_unref(r->ended);
	g_ptr_array_unref(r->live);
	idl_store_free(r->store);
	idl_msg_clear(&r->offer);
	g_free(r->offsets);
	g_free(r);
}

void idl_receiver_free(struct idl_receiver *r)
{
	if (!r)
		return;
	g_clear_pointer(&r->status, g_free);
	g_clear_pointer(&r->block, g_free);
	g_clear_pointer(&r->oks, g_array_unref);
	g_clear_pointer(&r->run, job_free);
	/* The timer is the loop's: it goes here, not with the rest. */
	if (r->batch_timer) {
		g_source_destroy(r->batch_timer);
		g_clear_pointer(&r->batch_timer, g_source_unref);
	}
	/* What arrived is written before the rest goes (at most HIGH_WATER),
	 * so a resume starts after it; the loop does not wait for that: the
	 * worker finishes it on its own thread and frees the rest. */
	if (r->worker)
		idl_worker_retire(r->worker, free_rest);
	else
		free_rest(r);
}
