/* Unit tests for transfer/worker: a job weighs until its done has returned
 * on the loop (where its buffer is freed), the low callback says when the
 * backlog fell, a job stuck on the disk never stops the loop, a retired
 * worker still runs what it was given without the loop waiting, and exit
 * joins retired workers, bounded. */
#include <glib.h>

#include "transfer/worker.h"

struct fx {
	struct idl_worker *w;
	GMutex gate;                  /* held by the test: run waits on it */
	size_t seen_backlog[8];       /* the backlog as each done saw it */
	guint done, lows;
	gint ran;                     /* atomic: jobs run */
	gint last;                    /* atomic: retire's last ran */
	size_t low_at;                /* the backlog when low ran */
	gulong slow_us;               /* each run takes this long (a slow disk) */
};

static void run(void *job, void *user)
{
	struct fx *f = user;

	(void)job;
	g_mutex_lock(&f->gate);
	g_mutex_unlock(&f->gate);
	if (f->slow_us)
		g_usleep(f->slow_us);
	g_atomic_int_inc(&f->ran);
}

static void done(void *job, void *user)
{
	struct fx *f = user;

	if (f->done < G_N_ELEMENTS(f->seen_backlog))
		f->seen_backlog[f->done] = idl_worker_backlog(f->w);
	f->done++;
	g_free(job);
}

static void low(void *user)
{
	struct fx *f = user;

	f->lows++;
	f->low_at = idl_worker_backlog(f->w);
}

static const struct idl_worker_ops ops = { run, done, g_free, low };

static gboolean tick(gpointer data)
{
	(*(guint *)data)++;
	return G_SOURCE_CONTINUE;
}

static void setup(struct fx *f, gconstpointer data)
{
	(void)data;
	g_mutex_init(&f->gate);
	g_assert_cmpint(idl_worker_new(&ops, f, &f->w, NULL), ==, 0);
}

static void teardown(struct fx *f, gconstpointer data)
{
	(void)data;
	idl_worker_free(f->w);
	g_mutex_clear(&f->gate);
}

/* Each done still sees its own weight: the bytes are gone only after it. */
static void test_weight_until_done(struct fx *f, gconstpointer data)
{
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	(void)data;
	idl_worker_set_low(f->w, 150);
	for (int i = 0; i < 4; i++)
		idl_worker_push(f->w, g_malloc(16), 100);
	g_assert_cmpuint(idl_worker_backlog(f->w), ==, 400);
	while (f->done < 4 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(f->done, ==, 4);
	for (int i = 0; i < 4; i++)
		g_assert_cmpuint(f->seen_backlog[i], ==, 400 - 100 * (size_t)i);
	g_assert_cmpuint(idl_worker_backlog(f->w), ==, 0);
	/* Crossed once, after the done that took it from 200 to 100. */
	g_assert_cmpuint(f->lows, ==, 1);
	g_assert_cmpuint(f->low_at, ==, 100);
}

/* A job stuck in the disk: pushing more does not wait, the loop runs on. */
static void test_loop_never_waits(struct fx *f, gconstpointer data)
{
	guint ticks = 0, src;
	gint64 end;

	(void)data;
	g_mutex_lock(&f->gate);
	for (int i = 0; i < 64; i++)
		idl_worker_push(f->w, g_malloc(16), 1 << 20);
	g_assert_cmpuint(idl_worker_backlog(f->w), ==, (size_t)64 << 20);
	src = g_timeout_add(5, tick, &ticks);
	end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (ticks < 5 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(ticks, >=, 5);
	g_assert_cmpuint(f->done, ==, 0);
	g_mutex_unlock(&f->gate);
	end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (f->done < 64 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(f->done, ==, 64);
	g_source_remove(src);
}

static void last(void *user)
{
	struct fx *f = user;

	g_atomic_int_set(&f->last, 1);
}

/* A worker retired with 8 jobs behind a closed gate (the test holds it). */
static void retire_gated(struct fx *f)
{
	g_mutex_init(&f->gate);
	g_assert_cmpint(idl_worker_new(&ops, f, &f->w, NULL), ==, 0);
	g_mutex_lock(&f->gate);
	for (int i = 0; i < 8; i++)
		idl_worker_push(f->w, g_malloc(16), 100);
	idl_worker_retire(f->w, last);
}

/* Retired while jobs wait: they all run, no done comes, last runs once. */
static void test_retire(void)
{
	struct fx f = { 0 };
	gint64 end;

	retire_gated(&f);
	g_mutex_unlock(&f.gate);
	end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!g_atomic_int_get(&f.last) && g_get_monotonic_time() < end) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	g_assert_cmpint(g_atomic_int_get(&f.last), ==, 1);
	g_assert_cmpint(g_atomic_int_get(&f.ran), ==, 8);
	g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(f.done, ==, 0);
	g_mutex_clear(&f.gate);
}

/* Exit's join: at its bound it says what it leaves; given time, it returns
 * only once every queued job has run and last has been called. */
static void test_join_retired(void)
{
	struct fx f = { .slow_us = 20000 };
	unsigned jobs = 0;
	gint64 t0;

	retire_gated(&f);
	/* The disk is stuck: the bound holds, and one worker is abandoned with
	 * its queue (the first job may already be running). */
	t0 = g_get_monotonic_time();
	g_assert_cmpuint(idl_worker_join_retired(100, &jobs), ==, 1);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
	g_assert_cmpuint(jobs, >=, 7);
	g_assert_cmpuint(jobs, <=, 8);
	g_assert_cmpint(g_atomic_int_get(&f.last), ==, 0);
	/* 8 x 20 ms still to write: the join waits for all of it. */
	g_mutex_unlock(&f.gate);
	g_assert_cmpuint(idl_worker_join_retired(10000, &jobs), ==, 0);
	g_assert_cmpuint(jobs, ==, 0);
	g_assert_cmpint(g_atomic_int_get(&f.ran), ==, 8);
	g_assert_cmpint(g_atomic_int_get(&f.last), ==, 1);
	/* Nothing retired is left: an immediate answer. */
	g_assert_cmpuint(idl_worker_join_retired(0, NULL), ==, 0);
	g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(f.done, ==, 0);
	g_mutex_clear(&f.gate);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/worker/weight-until-done", struct fx, NULL, setup, test_weight_until_done, teardown);
	g_test_add("/worker/loop-never-waits", struct fx, NULL, setup, test_loop_never_waits, teardown);
	g_test_add_func("/worker/retire", test_retire);
	g_test_add_func("/worker/join-retired", test_join_retired);
	return g_test_run();
}
