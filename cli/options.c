/* options: the common options' values, parsed (see options.h). Pure, so
 * tests/unit/test_options.c links it without the rest of the CLI. */
#include "cli/options.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

int cli_mdns_parse(const char *s, enum idl_mdns_backend *out, char **message)
{
	if (!strcmp(s, "auto"))
		*out = IDL_MDNS_AUTO;
	else if (!strcmp(s, "daemon"))
		*out = IDL_MDNS_DAEMON;
	else if (!strcmp(s, "embedded"))
		*out = IDL_MDNS_EMBEDDED;
	else {
		*message = g_strdup_printf("--mdns must be auto, daemon or embedded, not \"%s\"", s);
		return -EINVAL;
	}
	return 0;
}

int cli_seconds_parse(const char *s, unsigned *ms, char **message)
{
	char *end;
	double v;

	errno = 0;
	v = g_ascii_strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.001 && v <= 3600)) {
		*message = g_strdup_printf("--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"%s\"", s);
		return -EINVAL;
	}
	*ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

enum cli_common_result cli_common_option(struct cli_common *o, int code, const char *arg, char **message)
{
	switch (code) {
	case CLI_COMMON_INTERFACE: o->interface = arg; break;
	case CLI_COMMON_STATE_DIR: o->state_dir = arg; break;
	case CLI_COMMON_VERBOSE: o->verbose = true; break;
	case CLI_COMMON_MDNS:
		if (cli_mdns_parse(arg, &o->backend, message) < 0)
			return CLI_COMMON_BAD;
		break;
	case CLI_COMMON_TIMEOUT:
		if (cli_seconds_parse(arg, &o->timeout_ms, message) < 0)
			return CLI_COMMON_BAD;
		break;
	default:
		return CLI_COMMON_OTHER;
	}
	return CLI_COMMON_TAKEN;
}
