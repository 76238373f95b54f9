/* peer_text: how the terminal words what known_peers says: dates, the
 * `forget` command line, and the warning that send and serve print when a
 * known name comes with another fingerprint. Shared by cmd_peers.c,
 * cmd_send.c and incoming.c. */
#ifndef IDL_CLI_PEER_TEXT_H
#define IDL_CLI_PEER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

struct idl_known_peer;

/* t (Unix seconds) as a local date, "2026-11-20", or with the time,
 * "2026-11-20 10:31", into out. */
void cli_format_date(gint64 t, bool with_time, char *out, size_t len);

/* The command line that forgets name, with --state-dir when state_dir is
 * not the default, quoted for a shell. Owned by the caller. */
char *cli_forget_command(const char *state_dir, const char *name);

/* The warning for a known name that comes with another fingerprint: lines
 * ending in '\n', the first starting with first; both fingerprints in full,
 * done (what was done instead: "Nothing was sent."), the forget command and
 * then (what to do after it). Owned by the caller. */
char *cli_known_warning(const char *first, const struct idl_known_peer *old, const char *new_fp,
			const char *state_dir, const char *done, const char *then);

#endif
