/* worker: a thread running disk jobs in order, reporting back to the loop.
 * See worker.h. One mutex guards both queues; finished jobs are handed back
 * by one source at a time on the owner's main context, at default priority
 * so that a busy network (also at default priority) cannot starve it. */
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
	GCond cond;          /* signalled when in gets a job, backlog falls, or stopping */
	GQueue in;           /* struct item *: not run yet */
	GQueue out;          /* struct item *: run, done not called yet */
	size_t backlog;      /* weight in `in` plus the job running */
	gboolean stopping;
	GSource *source;     /* the pending dispatch of `out`, or NULL */
};

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
		g_free(it);
	}
}

static gpointer thread_main(gpointer data)
{
	struct idl_worker *w = data;

	g_mutex_lock(&w->lock);
	for (;;) {
		struct item *it;

		while (!w->stopping && g_queue_is_empty(&w->in))
			g_cond_wait(&w->cond, &w->lock);
		if (w->stopping)
			break;
		it = g_queue_pop_head(&w->in);
		g_mutex_unlock(&w->lock);
		w->ops->run(it->job, w->user);
		g_mutex_lock(&w->lock);
		w->backlog -= it->weight;
		g_cond_broadcast(&w->cond);
		g_queue_push_tail(&w->out, it);
		if (!w->source && !w->stopping) {
			w->source = g_idle_source_new();
			g_source_set_priority(w->source, G_PRIORITY_DEFAULT);
			g_source_set_callback(w->source, dispatch, w, NULL);
			g_source_attach(w->source, w->ctx);
		}
	}
	g_mutex_unlock(&w->lock);
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
	g_mutex_lock(&w->lock);
	w->backlog += weight;
	g_queue_push_tail(&w->in, it);
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
}

void idl_worker_wait_backlog(struct idl_worker *w, size_t max)
{
	g_mutex_lock(&w->lock);
	while (w->backlog > max)
		g_cond_wait(&w->cond, &w->lock);
	g_mutex_unlock(&w->lock);
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
