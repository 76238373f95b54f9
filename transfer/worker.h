/* worker: one background thread that runs a sender's or a receiver's disk
 * work (read, write, hash, fsync, rename) in order, so the network loop never
 * waits on the disk. Jobs go in from the loop thread; each finished job comes
 * back to the loop's main context, in the order it went in.
 *
 * A job weighs (its bytes) from its push until its done has returned on the
 * loop, which is where its buffers are freed: the backlog is what the
 * owner's jobs hold in memory, wherever they are (queued, running, or
 * finished and waiting for the loop). The owner bounds it by pushing no more
 * above a high-water mark and learns that it fell again from the low
 * callback; nothing here ever makes the loop thread wait. */
#ifndef IDL_WORKER_H
#define IDL_WORKER_H

#include <stddef.h>
#include <glib.h>

struct idl_worker;

struct idl_worker_ops {
	/* Runs in the worker thread, one job at a time, in push order. */
	void (*run)(void *job, void *user);
	/* Back on the main context of the thread that created the worker, in
	 * push order; takes ownership of job. Must not free the worker. */
	void (*done)(void *job, void *user);
	/* Frees a job that will never reach done (the worker is freed first). */
	void (*discard)(void *job);
	/* Optional, on the loop: the backlog fell to or below the low-water
	 * mark (idl_worker_set_low) after having been above it. Runs after a
	 * done returned, never inside idl_worker_push. Must not free the
	 * worker. */
	void (*low)(void *user);
};

/* Starts the thread. ops and user are borrowed and must outlive the worker.
 * *out is owned by the caller. */
int idl_worker_new(const struct idl_worker_ops *ops, void *user, struct idl_worker **out, GError **err);

/* Queues job (ownership passes to the worker) with a weight (its bytes).
 * Never blocks and never refuses: bounding the backlog is the owner's part. */
void idl_worker_push(struct idl_worker *w, void *job, size_t weight);

/* The weight of the jobs pushed whose done has not returned yet. Loop
 * thread only. */
size_t idl_worker_backlog(const struct idl_worker *w);

/* ops->low runs when the backlog falls from above bytes to bytes or less
 * (0 when never set). */
void idl_worker_set_low(struct idl_worker *w, size_t bytes);

/* Lets the running job finish (one job: a short wait), discards the rest
 * without their done, joins the thread. Not from inside done. NULL is a
 * no-op. */
void idl_worker_free(struct idl_worker *w);

/* Frees the worker without waiting: the thread goes on with the jobs
 * already queued (what a receiver was given is written), discarding each
 * after it ran and those whose done was due, then calls last(user) and ends,
 * all on the worker thread: last frees what the jobs use. No callback of
 * ops runs on the loop after this. Not from inside done. The thread stays
 * known to idl_worker_join_retired until it has ended. */
void idl_worker_retire(struct idl_worker *w, void (*last)(void *user));

/* For process exit, after the loop has quit (it blocks, so never while
 * the loop runs): waits at most max_ms for every retired worker to finish
 * its queue and call last, and joins their threads, so the process does
 * not exit under a thread still writing. Returns how many were still
 * running at the bound (0: all joined); *jobs (may be NULL) gets how many
 * of their jobs had not run yet, which the exit abandons. */
unsigned idl_worker_join_retired(unsigned max_ms, unsigned *jobs);

#endif
