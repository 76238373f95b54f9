/* options: the options several commands share (--interface, --state-dir,
 * --mdns, --timeout, -v/--verbose, --help), declared once: their getopt_long
 * table entries, the struct their values land in, and the pure function
 * that takes one. Each command still parses its own argv (wireguard-tools'
 * shape); only these entries and their parsing live here.
 *
 * To put a command on it:
 *   1. Its option table lists its own entries, then the common ones it
 *      accepts, from the CLI_OPTION_* below, e.g.
 *          { "json", no_argument, NULL, 'j' },
 *          CLI_OPTION_INTERFACE, CLI_OPTION_STATE_DIR, CLI_OPTION_MDNS,
 *          CLI_OPTION_VERBOSE, CLI_OPTION_HELP,
 *          { 0 },
 *      Only the entries listed are accepted, so each command keeps exactly
 *      the spellings (and the abbreviations getopt allows) it had.
 *   2. It holds a struct cli_common, set up with CLI_COMMON_INIT(its default
 *      --timeout in ms, or 0 when it has none).
 *   3. Its getopt loop handles its own codes, 'h' (print its usage on
 *      stdout, return IDL_EXIT_OK: the text is the command's own), and hands
 *      every other code to cli_common_getopt (cli.h) in the default branch:
 *          default:
 *              if ((r = cli_common_getopt("list", &o->common, c, argv)) >= 0)
 *                  return r;
 *      which stores a common option and goes on (-1), or reports a bad
 *      value or an unknown option just as before and gives IDL_EXIT_USAGE.
 * The codes of the long-only entries are above 255, so they never collide
 * with a command's own letters; 'v' and 'h' are taken (-v, -h). */
#ifndef IDL_CLI_OPTIONS_H
#define IDL_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>

#include "discovery/mdns.h"

/* getopt_long codes of the common options. */
enum {
	CLI_COMMON_VERBOSE = 'v',
	CLI_COMMON_HELP = 'h',
	CLI_COMMON_INTERFACE = 0x100,
	CLI_COMMON_STATE_DIR,
	CLI_COMMON_MDNS,
	CLI_COMMON_TIMEOUT,
};

#define CLI_OPTION_INTERFACE { "interface", required_argument, NULL, CLI_COMMON_INTERFACE }
#define CLI_OPTION_STATE_DIR { "state-dir", required_argument, NULL, CLI_COMMON_STATE_DIR }
#define CLI_OPTION_MDNS { "mdns", required_argument, NULL, CLI_COMMON_MDNS }
#define CLI_OPTION_TIMEOUT { "timeout", required_argument, NULL, CLI_COMMON_TIMEOUT }
#define CLI_OPTION_VERBOSE { "verbose", no_argument, NULL, CLI_COMMON_VERBOSE }
#define CLI_OPTION_HELP { "help", no_argument, NULL, CLI_COMMON_HELP }

/* The common options' values. Strings are borrowed from argv. */
struct cli_common {
	const char *interface;          /* --interface IF; NULL: every interface */
	const char *state_dir;          /* --state-dir DIR as given; NULL: the default
	                                   (cli_state_dir resolves it) */
	enum idl_mdns_backend backend;  /* --mdns MODE; IDL_MDNS_AUTO when not given */
	unsigned timeout_ms;            /* --timeout SECONDS; the command's default until given */
	bool verbose;                   /* -v, --verbose */
};

#define CLI_COMMON_INIT(default_timeout_ms) { .backend = IDL_MDNS_AUTO, .timeout_ms = (default_timeout_ms) }

/* What cli_common_option made of a getopt code. */
enum cli_common_result {
	CLI_COMMON_OTHER,   /* not a common option (--help included: the caller prints
	                       its own usage), or getopt's '?' */
	CLI_COMMON_TAKEN,   /* stored in *o */
	CLI_COMMON_BAD,     /* the value is refused: *message (owned by the caller) says
	                       what is accepted */
};

/* Takes the common option getopt_long returned as code, with its argument
 * arg (optarg; NULL for one without). Pure: no output, no globals. */
enum cli_common_result cli_common_option(struct cli_common *o, int code, const char *arg, char **message);

/* --mdns=auto|daemon|embedded. Returns 0, or -EINVAL with *message (owned
 * by the caller). Pure. */
int cli_mdns_parse(const char *s, enum idl_mdns_backend *out, char **message);

/* A --timeout in seconds ("1.5") as milliseconds, 1 ms .. 1 h. Returns 0,
 * or -EINVAL with *message (owned by the caller). Pure. */
int cli_seconds_parse(const char *s, unsigned *ms, char **message);

#endif
