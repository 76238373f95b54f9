/* cmd_id: `idrop-lan id` prints this device's name and fingerprint, creating
 * the identity on first use like serve does. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "trust/identity.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: idrop-lan id [--state-dir DIR]\n"
		   "Prints this device's default display name and its id (the SHA-256 fingerprint of its\n"
		   "certificate), creating the identity on first use.\n");
}

int cmd_id(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_OPTION_STATE_DIR,
		CLI_OPTION_HELP,
		{ 0 },
	};
	struct cli_common common = CLI_COMMON_INIT(0);
	const char *name = g_get_host_name();
	struct idl_identity *id = NULL;
	char *dir = NULL, shortfp[IDL_FINGERPRINT_SHORT_LEN + 1];
	GError *err = NULL;
	int c, r, ret = IDL_EXIT_FAILURE;

	cli_setup_logging(false);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return IDL_EXIT_OK;
		default:
			if ((r = cli_common_getopt("id", &common, c, argv)) >= 0)
				return r;
		}
	}
	if (optind != argc) {
		cli_error("id", "unexpected argument \"%s\" (see --help)", argv[optind]);
		return IDL_EXIT_USAGE;
	}
	dir = cli_state_dir(common.state_dir);
	if (idl_identity_load_or_create(dir, &id, &err) < 0) {
		cli_error("id", "%s", err->message);
		goto out;
	}
	idl_fingerprint_short(idl_identity_fingerprint(id), shortfp);
	printf("name:        %s\n", name);
	printf("id:          %s\n", idl_identity_fingerprint(id));
	printf("short id:    %s\n", shortfp);
	printf("state dir:   %s\n", dir);
	ret = IDL_EXIT_OK;
out:
	g_clear_error(&err);
	idl_identity_free(id);
	g_free(dir);
	return ret;
}
