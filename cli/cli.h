/* cli: the subcommands and the few helpers they share. Only this layer
 * prints to the user; the layers below report through GError. */
#ifndef IDL_CLI_H
#define IDL_CLI_H

#include <stdbool.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "cli/options.h"
#include "discovery/mdns.h"
#include "discovery/target.h"

/* Exit codes shared by every command. */
enum {
	IDL_EXIT_OK = 0,
	IDL_EXIT_FAILURE = 1,       /* anything not below */
	IDL_EXIT_USAGE = 2,
	IDL_EXIT_NOT_FOUND = 3,     /* no such device on the network */
	IDL_EXIT_DECLINED = 4,      /* refused the connection, or declined the files */
	IDL_EXIT_FINGERPRINT = 5,   /* the device is not the one it claims to be */
	IDL_EXIT_LOST = 6,          /* the connection failed or dropped (run again to resume) */
	IDL_EXIT_VERIFY = 7,        /* a file was not verified by the receiver */
	IDL_EXIT_INTERRUPTED = 130, /* SIGINT or SIGTERM (run again to resume) */
};

int cmd_serve(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_resolve(int argc, char *argv[]);
int cmd_id(int argc, char *argv[]);
int cmd_ping(int argc, char *argv[]);
int cmd_send(int argc, char *argv[]);
int cmd_receive(int argc, char *argv[]);
int cmd_peers(int argc, char *argv[]);
int cmd_trust(int argc, char *argv[]);
int cmd_forget(int argc, char *argv[]);

/* Prints "idrop-lan: CMD: MESSAGE" on stderr, MESSAGE escaped as a whole
 * (cli_message): error messages carry what peers said (decline reasons,
 * names in GError messages, quoted there by idl_text_quote). Its arguments
 * are therefore never cli_text'ed. */
void cli_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Text a peer chose (names, instance names, paths, reasons, labels),
 * escaped for a terminal by base/text.h idl_text_escape, for use as a
 * printf argument: "saved: %s", cli_text(path). The copy belongs to a
 * ring of CLI_TEXT_RING per thread and stays valid until that many more
 * calls; never keep it. NULL gives "". Every peer-chosen string that
 * reaches stdout or stderr goes through here, cli_error, the log handler
 * (cli_setup_logging) or cli_print_json. */
#define CLI_TEXT_RING 16
const char *cli_text(const char *s);

/* A peer-chosen name inside double quotes, for use as a printf argument
 * where "\"%s\"" would be: base/text.h idl_text_quote, so the name cannot
 * close the quotes and go on with words that look like ours
 * ("Ann\" [fingerprint 1111 2222, trusted]"). Same ring as cli_text. */
const char *cli_quoted(const char *s);

/* A message we composed (a GError's) that may hold peer-chosen text, its
 * names quoted by idl_text_quote: base/text.h idl_text_escape_message,
 * which escapes controls and hidden characters but keeps backslashes, so
 * the quoting comes through. Same ring as cli_text. */
const char *cli_message(const char *s);

/* Reports the option getopt_long just refused (main sets opterr = 0). */
void cli_bad_option(const char *cmd, char *argv[]);

/* Routes GLib messages to stderr as "idrop-lan: ..." lines, each escaped
 * as a whole like cli_message (lower layers log channel labels, names and
 * addresses peers chose, names quoted by idl_text_quote); debug ones only
 * when verbose (or G_MESSAGES_DEBUG is set). */
void cli_setup_logging(bool verbose);

/* For the default branch of a command's getopt loop (cli/options.h says
 * how): stores the common option c and returns -1 to go on; for a bad
 * value, or a code that is no option of the command (getopt's '?'), tells
 * the user (as command cmd) and returns IDL_EXIT_USAGE. */
int cli_common_getopt(const char *cmd, struct cli_common *o, int c, char *argv[]);

/* Parses TARGET (discovery/target.h), once, where a command reads argv.
 * Returns 0, or -1 after telling the user (as command cmd) what is wrong
 * with it: a usage error. */
int cli_parse_target(const char *cmd, const char *s, struct idl_target *out);

/* The state directory: the --state-dir value when given, else the default.
 * Owned by the caller. */
char *cli_state_dir(const char *opt);

struct idl_channel;
struct idl_link;

/* Fills *out with a link (transfer/link.h) over the data channel ch. */
void cli_channel_link(struct idl_channel *ch, struct idl_link *out);

/* Runs the main loop until ch has sent what it queued, or max_ms passed:
 * a last message (cancel, receipt) leaves before the connection closes. */
void cli_drain(struct idl_channel *ch, unsigned max_ms);

struct idl_peer;

/* The graceful end of a connection (NULL, or not up: nothing to do): SCTP
 * SHUTDOWN, and the main loop runs until the peer has answered or max_ms
 * passed; freeing the peer afterwards aborts only what is left. Then the
 * device reads our end as a normal one, not as the peer being gone. */
void cli_shutdown_peer(struct idl_peer *p, unsigned max_ms);
/* A few round trips and an SCTP retransmission (RTO 1 s at first). */
#define CLI_SHUTDOWN_MS 1500

/* Prints n as one line of JSON on stdout and flushes; takes ownership of n.
 * C1 controls and hidden characters in strings are \u-escaped
 * (idl_text_json_safe): the same JSON, harmless on a terminal. */
void cli_print_json(JsonNode *n);

/* Runs the thread-default main loop until SIGINT or SIGTERM, or until
 * cli_quit() is called. Returns the signal number, or 0 on cli_quit. */
int cli_run_until_signal(void);
void cli_quit(void);

#endif
