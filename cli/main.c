/* main: the idrop-lan command table. Each command lives in its own file
 * and parses its own options. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} commands[] = {
	{ "serve", cmd_serve, "advertise this device and accept connections" },
	{ "list", cmd_list, "show idrop-lan devices on the local network" },
	{ "resolve", cmd_resolve, "show the address, port and id a target resolves to" },
	{ "send", cmd_send, "send files and folders to a device, verified" },
	{ "receive", cmd_receive, "receive one transfer into a folder, then exit" },
	{ "ping", cmd_ping, "connect to a device and time each phase, round trips and throughput" },
	{ "id", cmd_id, "print this device's name and fingerprint" },
	{ "peers", cmd_peers, "list the peers met before, pinned to their fingerprints" },
	{ "trust", cmd_trust, "trust a known peer: --accept=trusted takes its files unasked" },
	{ "forget", cmd_forget, "forget a known peer, to accept a new fingerprint for it" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: idrop-lan COMMAND [OPTIONS]\n\n"
		   "Moves files directly between devices on the same network.\n\nCommands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].description);
	fprintf(f, "\nRun `idrop-lan COMMAND --help` for a command's options, "
		   "or see idrop-lan(1).\n");
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		usage(stderr);
		return IDL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return IDL_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("idrop-lan %s\n", IDL_VERSION);
		return IDL_EXIT_OK;
	}
	opterr = 0;   /* each command reports bad options in our own format */
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "idrop-lan: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return IDL_EXIT_USAGE;
}
