/* cmd_resolve: `idrop-lan resolve TARGET` shows what a target ("laptop.local",
 * a name from `list`, or IP[:PORT]) resolves to, through the same discovery
 * code `send` uses: the first thing to check when a device cannot be found. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "discovery/resolve.h"
#include "discovery/target.h"
#include "web/http.h"

struct resolve_run {
	bool json;
	int exit_code;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: idrop-lan resolve [OPTIONS] TARGET\n"
		"Shows the address, port and id that TARGET (host.local, a name from\n"
		"`idrop-lan list`, or IP[:PORT]) resolves to.\n\n"
		"  --timeout SECONDS  how long to look (default 3)\n"
		"  --json             machine-readable output\n"
		"  --interface IF     look only on this interface\n"
		"  --mdns MODE        auto, daemon (avahi-daemon) or embedded (default auto)\n"
		"  -v, --verbose      log discovery details\n");
}

static void on_resolved(const struct idl_resolved *res, const GError *err, void *user)
{
	struct resolve_run *run = user;

	if (err) {
		cli_error("resolve", "%s", err->message);
		run->exit_code = IDL_EXIT_FAILURE;
	} else if (run->json) {
		JsonBuilder *b = json_builder_new();

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, res->name);
		json_builder_set_member_name(b, "host");
		json_builder_add_string_value(b, res->host);
		json_builder_set_member_name(b, "address");
		json_builder_add_string_value(b, res->address);
		json_builder_set_member_name(b, "port");
		json_builder_add_int_value(b, res->port);
		json_builder_set_member_name(b, "fingerprint");
		json_builder_add_string_value(b, res->fingerprint);
		json_builder_set_member_name(b, "kind");
		json_builder_add_string_value(b, res->kind == 'b' ? "browser" : "device");
		if (res->kind == 'b') {
			json_builder_set_member_name(b, "device");
			json_builder_add_string_value(b, res->device);
			json_builder_set_member_name(b, "tab");
			json_builder_add_string_value(b, res->tab);
		}
		json_builder_end_object(b);
		cli_print_json(json_builder_get_root(b));
		g_object_unref(b);
	} else {
		printf("name:        %s\n", res->name[0] ? cli_text(res->name) : "(not discovered)");
		printf("host:        %s\n", res->host[0] ? cli_text(res->host) : "(not discovered)");
		printf("address:     %s\n", res->address);
		printf("port:        %u\n", res->port);
		printf("id:          %s\n", res->fingerprint[0] ? res->fingerprint : "(learned on connect)");
		if (res->kind == 'b')
			printf("browser:     tab %s on %s\n", cli_text(res->tab), cli_quoted(res->device));
	}
	cli_quit();
}

int cmd_resolve(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_OPTION_TIMEOUT,
		{ "json", no_argument, NULL, 'j' },
		CLI_OPTION_INTERFACE,
		CLI_OPTION_MDNS,
		CLI_OPTION_VERBOSE,
		CLI_OPTION_HELP,
		{ 0 },
	};
	struct cli_common common = CLI_COMMON_INIT(3000);
	struct idl_mdns_options mopt = { .publish = false };
	struct resolve_run run = { .exit_code = IDL_EXIT_OK };
	struct idl_mdns *mdns = NULL;
	struct idl_resolve *r = NULL;
	struct idl_target target;
	GError *err = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': run.json = true; break;
		case 'h': usage(stdout); return IDL_EXIT_OK;
		default:
			if ((ret = cli_common_getopt("resolve", &common, c, argv)) >= 0)
				return ret;
		}
	}
	if (optind + 1 != argc) {
		cli_error("resolve", "give exactly one TARGET (see --help)");
		return IDL_EXIT_USAGE;
	}
	cli_setup_logging(common.verbose);
	mopt.interface = common.interface;
	mopt.backend = common.backend;
	if (cli_parse_target("resolve", argv[optind], &target) < 0)
		return IDL_EXIT_USAGE;
	/* A literal address needs no discovery, so works with no mDNS at all. */
	if ((target.kind != IDL_TARGET_ADDRESS && idl_mdns_new(&mopt, &mdns, &err) < 0) ||
	    idl_resolve_start(mdns, &target, IDL_HTTP_DEFAULT_PORT, common.timeout_ms, on_resolved, &run,
			      &r, &err) < 0) {
		cli_error("resolve", "%s", err->message);
		run.exit_code = IDL_EXIT_FAILURE;
		goto out;
	}
	if (cli_run_until_signal()) {
		cli_error("resolve", "interrupted before an answer");
		run.exit_code = IDL_EXIT_FAILURE;
	}
out:
	idl_resolve_free(r);
	idl_mdns_free(mdns);
	g_clear_error(&err);
	return run.exit_code;
}
