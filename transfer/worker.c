/* worker: a thread running disk jobs in order, reporting back to the loop.
 * See worker.h. One mutex guards both queues; finished jobs are handed back
 * by one source at a time on the owner's main context, at default priority
 * so that a busy network (also at default priority) cannot starve it. The
 * backlog is the loop's alone: it grows in push and shrinks after done,
 * both on the loop thread, so the thread never touches it.
 *
 * Retired workers are listed in one process-wide registry so that exit can
 * wait for them: a retired thread moves itself from `retired` to `ended`
 * once last has run; retire detaches the ended ones (they only have their
 * return left), exit joins them. Lock order: retired_lock, then w->lock. */
#include <errno.h>

#include "transfer/worker.h"

struct item {
	void *job;
	size_t weight;
};

struct idl_worker {
	const struct idl_worker_ops *ops;
	void *user;
	GMainContext *ctx;
	GThread *thread;
	GMutex lock;
	GCond cond;          /* signalled when in gets a job, or stopping */
	GQueue in;           /* struct item *: not run yet */
	GQueue out;          /* struct item *: run, done not called yet */
	gboolean stopping;
	gboolean retiring;   /* idl_worker_retire: drain, then free on the thread */
	void (*last)(void *user);
	GSource *source;     /* the pending dispatch of `out`, or NULL */
	/* loop thread only */
	size_t backlog;      /* weight pushed whose done has not returned */
	size_t low;
	gboolean above;      /* backlog went over low: ops->low is due when it falls */
};

static GMutex retired_lock;
static GCond retired_cond;     /* signalled when a retired thread ends */
static GList *retired;         /* struct idl_worker *: retired, still running */
static GSList *ended;          /* GThread *: retired threads past last, not joined */

static gboolean dispatch(gpointer data)
{
	struct idl_worker *w = data;
	struct item *it;

	for (;;) {
		g_mutex_lock(&w->lock);
		it = g_queue_pop_head(&w->out);
		if (!it) {
			g_source_unref(w->source);
			w->source = NULL;
			g_mutex_unlock(&w->lock);
			return G_SOURCE_REMOVE;
		}
		g_mutex_unlock(&w->lock);
		w->ops->done(it->job, w->user);
		/* Only now are its bytes gone: done freed (or kept) them. */
		w->backlog -= it->weight;
		g_free(it);
		if (w->above && w->backlog <= w->low) {
			w->above = FALSE;
			if (w->ops->low)
				w->ops->low(w->user);
		}
	}
}

static gpointer thread_main(gpointer data)
{
	struct idl_worker *w = data;
	gboolean retiring;

	g_mutex_lock(&w->lock);
	for (;;) {
		struct item *it;

		while (!w->stopping && !w->retiring && g_queue_is_empty(&w->in))
			g_cond_wait(&w->cond, &w->lock);
		if (w->stopping || (w->retiring && g_queue_is_empty(&w->in)))
			break;
		it = g_queue_pop_head(&w->in);
		g_mutex_unlock(&w->lock);
		w->ops->run(it->job, w->user);
		g_mutex_lock(&w->lock);
		if (w->retiring) {
			/* Nobody is left on the loop to hear of it. */
			if (w->ops->discard)
				w->ops->discard(it->job);
			g_free(it);
			continue;
		}
		g_queue_push_tail(&w->out, it);
		if (!w->source && !w->stopping) {
			w->source = g_idle_source_new();
			g_source_set_priority(w->source, G_PRIORITY_DEFAULT);
			g_source_set_callback(w->source, dispatch, w, NULL);
			g_source_attach(w->source, w->ctx);
		}
	}
	retiring = w->retiring;
	g_mutex_unlock(&w->lock);
	if (retiring) {
		w->last(w->user);
		g_mutex_lock(&retired_lock);
		retired = g_list_remove(retired, w);
		ended = g_slist_prepend(ended, w->thread);
		g_cond_broadcast(&retired_cond);
		g_mutex_unlock(&retired_lock);
		g_main_context_unref(w->ctx);
		g_mutex_clear(&w->lock);
		g_cond_clear(&w->cond);
		g_free(w);
	}
	return NULL;
}

int idl_worker_new(const struct idl_worker_ops *ops, void *user, struct idl_worker **out, GError **err)
{
	struct idl_worker *w = g_new0(struct idl_worker, 1);

	w->ops = ops;
	w->user = user;
	w->ctx = g_main_context_ref_thread_default();
	g_mutex_init(&w->lock);
	g_cond_init(&w->cond);
	g_queue_init(&w->in);
	g_queue_init(&w->out);
	w->thread = g_thread_try_new("idl-disk", thread_main, w, err);
	if (!w->thread) {
		g_main_context_unref(w->ctx);
		g_mutex_clear(&w->lock);
		g_cond_clear(&w->cond);
		g_free(w);
		return -EAGAIN;
	}
	*out = w;
	return 0;
}

void idl_worker_push(struct idl_worker *w, void *job, size_t weight)
{
	struct item *it = g_new(struct item, 1);

	it->job = job;
	it->weight = weight;
	w->backlog += weight;
	if (w->backlog > w->low)
		w->above = TRUE;
	g_mutex_lock(&w->lock);
	g_queue_push_tail(&w->in, it);
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
}

size_t idl_worker_backlog(const struct idl_worker *w)
{
	return w->backlog;
}

void idl_worker_set_low(struct idl_worker *w, size_t bytes)
{
	w->low = bytes;
	w->above = w->backlog > bytes;
}

static void discard_all(struct idl_worker *w, GQueue *q)
{
	struct item *it;

	while ((it = g_queue_pop_head(q))) {
		if (w->ops->discard)
			w->ops->discard(it->job);
		g_free(it);
	}
}

void idl_worker_free(struct idl_worker *w)
{
	if (!w)
		return;
	g_mutex_lock(&w->lock);
	w->stopping = TRUE;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	g_thread_join(w->thread);
	if (w->source) {
		g_source_destroy(w->source);
		g_source_unref(w->source);
	}
	discard_all(w, &w->in);
	discard_all(w, &w->out);
	g_main_context_unref(w->ctx);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->cond);
	g_free(w);
}

void idl_worker_retire(struct idl_worker *w, void (*last)(void *user))
{
	GSList *done_threads;

	/* Listed before it may end: the thread takes itself off the list. */
	g_mutex_lock(&retired_lock);
	retired = g_list_prepend(retired, w);
	done_threads = ended;
	ended = NULL;
	g_mutex_unlock(&retired_lock);
	/* Past last, these only return: detached, not joined, so the loop
	 * never waits here, and a long-lived serve keeps no dead threads. */
	g_slist_free_full(done_threads, (GDestroyNotify)g_thread_unref);
	g_mutex_lock(&w->lock);
	if (w->source) {
		g_source_destroy(w->source);
		g_source_unref(w->source);
		w->source = NULL;
	}
	discard_all(w, &w->out);
	w->last = last;
	w->retiring = TRUE;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	/* From here the thread owns w, and the registry its GThread. */
}

unsigned idl_worker_join_retired(unsigned max_ms, unsigned *jobs)
{
	gint64 end = g_get_monotonic_time() + (gint64)max_ms * 1000;
	unsigned left = 0, queued = 0;
	GSList *done_threads;

	g_mutex_lock(&retired_lock);
	while (retired && g_cond_wait_until(&retired_cond, &retired_lock, end))
		;
	for (GList *l = retired; l; l = l->next) {
		struct idl_worker *w = l->data;

		g_mutex_lock(&w->lock);
		queued += g_queue_get_length(&w->in);
		g_mutex_unlock(&w->lock);
		left++;
	}
	done_threads = ended;
	ended = NULL;
	g_mutex_unlock(&retired_lock);
	/* Each has run last and only frees its own struct before returning. */
	for (GSList *l = done_threads; l; l = l->next)
		g_thread_join(l->data);
	g_slist_free(done_threads);
	if (jobs)
		*jobs = queued;
	return left;
}
