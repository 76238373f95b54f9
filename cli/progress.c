/* progress: see progress.h. The rate is measured over a sliding window of
 * a few seconds, so the ETA follows the link rather than the whole run. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"

#define WINDOW 8                      /* samples in the rate window */
#define TTY_PERIOD_US (100 * 1000)
#define PLAIN_PERIOD_US (5 * 1000 * 1000)

struct cli_progress {
	char verb[32];
	bool quiet, tty, drawn;
	gint64 last_draw;
	gint64 t[WINDOW];
	uint64_t b[WINDOW];
	unsigned n;                   /* samples taken */
};

struct cli_progress *cli_progress_new(const char *verb, bool quiet)
{
	struct cli_progress *p = g_new0(struct cli_progress, 1);

	g_strlcpy(p->verb, verb, sizeof(p->verb));
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
	return p;
}

char *cli_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes < 1024) {
		g_snprintf(buf, len, "%" G_GUINT64_FORMAT " B", bytes);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
		v /= 1024;
		u++;
	}
	g_snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static double rate(const struct cli_progress *p)
{
	unsigned newest = (p->n - 1) % WINDOW, oldest = p->n > WINDOW ? p->n % WINDOW : 0;
	double dt = (double)(p->t[newest] - p->t[oldest]) / 1e6;

	return dt > 0 ? (double)(p->b[newest] - p->b[oldest]) / dt : 0;
}

static unsigned columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

void cli_progress_update(struct cli_progress *p, const char *file, uint64_t done, uint64_t total)
{
	gint64 now = g_get_monotonic_time();
	char sdone[32], stotal[32], eta[32] = "--:--", tail[160];
	double r;
	int width;

	if (!p || p->quiet || now - p->last_draw < (p->tty ? TTY_PERIOD_US : PLAIN_PERIOD_US))
		return;
	p->last_draw = now;
	file = cli_text(file);   /* a receiver's file names are the sender's */
	p->t[p->n % WINDOW] = now;
	p->b[p->n % WINDOW] = done;
	p->n++;
	r = rate(p);
	if (r > 0 && total >= done) {
		uint64_t s = (uint64_t)((double)(total - done) / r);
		g_snprintf(eta, sizeof(eta), s >= 3600 ? "%" G_GUINT64_FORMAT ":%02u:%02u" : "%" G_GUINT64_FORMAT ":%02u",
			   s >= 3600 ? s / 3600 : s / 60, (unsigned)(s >= 3600 ? s / 60 % 60 : s % 60),
			   (unsigned)(s % 60));
	}
	g_snprintf(tail, sizeof(tail), "  %s / %s  %3.0f%%  %.1f MB/s  ETA %s",
		   cli_format_size(done, sdone, sizeof(sdone)), cli_format_size(total, stotal, sizeof(stotal)),
		   total ? 100.0 * (double)done / (double)total : 100.0, r / 1e6, eta);
	if (!p->tty) {
		fprintf(stderr, "idrop-lan: %s %s:%s\n", p->verb, file, tail);
		return;
	}
	/* Keep the line within the terminal: the file name gives way. */
	width = (int)columns() - (int)strlen(tail) - 1;
	fprintf(stderr, "\r\033[K%-*.*s%s", MAX(width, 8), MAX(width, 8), file, tail);
	fflush(stderr);
	p->drawn = true;
}

void cli_progress_clear(struct cli_progress *p)
{
	if (p && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}

void cli_progress_free(struct cli_progress *p)
{
	cli_progress_clear(p);
	g_free(p);
}
