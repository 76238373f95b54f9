/* incoming: the receiving half of `serve` and `receive`. It takes the
 * `idrop` data channels that senders open, runs a receiver on each, asks
 * for consent (terminal prompt or --accept policy) before any byte is
 * written, and reports every file and transfer on stdout. */
#ifndef IDL_CLI_INCOMING_H
#define IDL_CLI_INCOMING_H

#include <stdbool.h>

#include "transfer/link.h"
#include "transport/peer.h"

enum cli_accept_policy {
	CLI_ACCEPT_ASK,     /* ask on the terminal; refuse when there is none */
	CLI_ACCEPT_ALL,
	CLI_ACCEPT_NONE,
	CLI_ACCEPT_TRUSTED, /* trusted peers (known_peers) unasked; the others as ASK */
};

struct cli_incoming_options {
	const char *dir;        /* download folder */
	const char *state_dir;  /* where resume records go (serve: STATE/partial) */
	const char *name;       /* our display name, for hello */
	const char *known_dir;  /* the state directory: known_peers pins sender names,
	                           says who is trusted, and records verified senders */
	const char *fingerprint;/* ours, for the verification code; NULL: none */
	enum cli_accept_policy policy;
	bool progress;          /* a progress bar for each transfer (receive) */
	/* The sender on p said hello (once per channel); user is the one given
	 * to cli_incoming_new. May be NULL. */
	void (*hello)(struct idl_peer *p, void *user);
};

/* A connection's transfers ended: OK when every offer on it was verified,
 * else how the last one ended. May be NULL. */
typedef void (*cli_incoming_ended_cb)(enum idl_xfer_result result, const char *reason, void *user);

struct cli_incoming;

/* Strings in o are borrowed and must outlive the result. Owned by the caller. */
struct cli_incoming *cli_incoming_new(const struct cli_incoming_options *o, cli_incoming_ended_cb ended,
				      void *user);

/* Takes an `idrop` channel that peer p opened (sets its callbacks). One
 * transfer channel per connection (each costs a receiver and its folder):
 * a second one while the first is open is closed. */
void cli_incoming_channel(struct cli_incoming *in, struct idl_peer *p, struct idl_channel *ch);

/* p failed or closed: its channels are gone. */
void cli_incoming_peer_closed(struct cli_incoming *in, struct idl_peer *p);

/* Stops every transfer (partial files kept for a resume). NULL is a no-op. */
void cli_incoming_free(struct cli_incoming *in);

/* Parses --accept=ask|trusted|all|none. Returns 0, or -1 after telling the user. */
int cli_parse_accept(const char *cmd, const char *s, enum cli_accept_policy *out);

#endif
