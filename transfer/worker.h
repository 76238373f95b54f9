/* worker: one background thread that runs a sender's or a receiver's disk
 * work (read, write, hash, fsync, rename) in order, so the network loop never
 * waits on the disk. Jobs go in from the loop thread; each finished job comes
 * back to the loop's main context, in the order it went in. The weight of the
 * jobs not yet run is bounded by the owner: that bound is what keeps memory
 * constant whatever the size of a file. */
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
};

/* Starts the thread. ops and user are borrowed and must outlive the worker.
 * *out is owned by the caller. */
int idl_worker_new(const struct idl_worker_ops *ops, void *user, struct idl_worker **out, GError **err);

/* Queues job (ownership passes to the worker) with a weight (its bytes). */
void idl_worker_push(struct idl_worker *w, void *job, size_t weight);

/* Blocks the calling thread until the backlog is at most max: the receiver's
 * back-pressure when the disk is slower than the network (SCTP's window
 * fills while the loop waits). */
void idl_worker_wait_backlog(struct idl_worker *w, size_t max);

/* Lets the running job finish, discards the rest, joins the thread. Not
 * from inside done. NULL is a no-op. */
void idl_worker_free(struct idl_worker *w);

#endif
