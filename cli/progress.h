/* progress: what a long transfer shows on stderr. On a terminal, one line
 * redrawn in place (file, bytes, percent, MB/s, ETA); otherwise a plain line
 * every few seconds, for logs. Also the sizes and rates every summary uses. */
#ifndef IDL_CLI_PROGRESS_H
#define IDL_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct cli_progress;

/* quiet: show nothing. verb names the action ("sending", "receiving").
 * *out owned by the caller (cli_progress_free). */
struct cli_progress *cli_progress_new(const char *verb, bool quiet);

/* New figures: file (borrowed) is the one in flight; done of total bytes.
 * Redraws at most ten times a second (every 5 s without a terminal). */
void cli_progress_update(struct cli_progress *p, const char *file, uint64_t done, uint64_t total);

/* Erases the bar, so a message can be printed on a clean line. */
void cli_progress_clear(struct cli_progress *p);

void cli_progress_free(struct cli_progress *p);

/* "4.2 GiB", "512 B" into buf. Returns buf. */
char *cli_format_size(uint64_t bytes, char *buf, size_t len);

#endif
