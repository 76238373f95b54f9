/* Unit tests for cli/options: the options several commands share, taken
 * one getopt code at a time, and the getopt_long table entries they come
 * from. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <glib.h>

#include "cli/options.h"

static void assert_same(const struct cli_common *a, const struct cli_common *b)
{
	g_assert_true(a->interface == b->interface);
	g_assert_true(a->state_dir == b->state_dir);
	g_assert_cmpint(a->backend, ==, b->backend);
	g_assert_cmpuint(a->timeout_ms, ==, b->timeout_ms);
	g_assert_cmpint(a->verbose, ==, b->verbose);
}

static void test_taken(void)
{
	struct cli_common o = CLI_COMMON_INIT(3000);
	char *msg = NULL;

	g_assert_cmpint(o.backend, ==, IDL_MDNS_AUTO);
	g_assert_cmpuint(o.timeout_ms, ==, 3000);
	g_assert_null(o.interface);
	g_assert_null(o.state_dir);
	g_assert_false(o.verbose);

	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_INTERFACE, "eth1", &msg), ==, CLI_COMMON_TAKEN);
	g_assert_cmpstr(o.interface, ==, "eth1");
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_STATE_DIR, "/tmp/st", &msg), ==, CLI_COMMON_TAKEN);
	g_assert_cmpstr(o.state_dir, ==, "/tmp/st");
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_VERBOSE, NULL, &msg), ==, CLI_COMMON_TAKEN);
	g_assert_true(o.verbose);
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_MDNS, "embedded", &msg), ==, CLI_COMMON_TAKEN);
	g_assert_cmpint(o.backend, ==, IDL_MDNS_EMBEDDED);
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_MDNS, "daemon", &msg), ==, CLI_COMMON_TAKEN);
	g_assert_cmpint(o.backend, ==, IDL_MDNS_DAEMON);
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_MDNS, "auto", &msg), ==, CLI_COMMON_TAKEN);
	g_assert_cmpint(o.backend, ==, IDL_MDNS_AUTO);
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_TIMEOUT, "1.5", &msg), ==, CLI_COMMON_TAKEN);
	g_assert_cmpuint(o.timeout_ms, ==, 1500);
	g_assert_null(msg);
}

/* Not ours: the command's own letters, --help (its usage is its own), and
 * getopt's '?'. Nothing is stored. */
static void test_other(void)
{
	static const int codes[] = { 'h', '?', ':', 'j', 'c', 'i', 's', 'm', 't', 0, CLI_COMMON_TIMEOUT + 1 };
	struct cli_common o = CLI_COMMON_INIT(0), zero = CLI_COMMON_INIT(0);
	char *msg = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(codes); i++)
		g_assert_cmpint(cli_common_option(&o, codes[i], "x", &msg), ==, CLI_COMMON_OTHER);
	assert_same(&o, &zero);
	g_assert_null(msg);
}

struct bad_case {
	int code;
	const char *arg;
	const char *message;
};

/* The messages are the ones users and tests have always seen. */
static void test_bad(void)
{
	static const struct bad_case cases[] = {
		{ CLI_COMMON_MDNS, "", "--mdns must be auto, daemon or embedded, not \"\"" },
		{ CLI_COMMON_MDNS, "Auto", "--mdns must be auto, daemon or embedded, not \"Auto\"" },
		{ CLI_COMMON_MDNS, "avahi", "--mdns must be auto, daemon or embedded, not \"avahi\"" },
		{ CLI_COMMON_TIMEOUT, "0", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"0\"" },
		{ CLI_COMMON_TIMEOUT, "", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"\"" },
		{ CLI_COMMON_TIMEOUT, "abc", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"abc\"" },
		{ CLI_COMMON_TIMEOUT, "1s", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"1s\"" },
		{ CLI_COMMON_TIMEOUT, "3600.1", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"3600.1\"" },
		{ CLI_COMMON_TIMEOUT, "-1", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"-1\"" },
		{ CLI_COMMON_TIMEOUT, "nan", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"nan\"" },
		{ CLI_COMMON_TIMEOUT, "inf", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"inf\"" },
		{ CLI_COMMON_TIMEOUT, "1e99", "--timeout takes seconds from 0.001 to 3600, e.g. 1.5, not \"1e99\"" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct cli_common o = CLI_COMMON_INIT(7000), before = o;
		char *msg = NULL;

		g_assert_cmpint(cli_common_option(&o, cases[i].code, cases[i].arg, &msg), ==, CLI_COMMON_BAD);
		g_assert_cmpstr(msg, ==, cases[i].message);
		/* A refused value leaves what was there. */
		assert_same(&o, &before);
		g_free(msg);
	}
}

static void test_seconds(void)
{
	static const struct {
		const char *in;
		unsigned ms;
	} cases[] = {
		{ "0.001", 1 }, { "0.0015", 2 }, { "1", 1000 }, { "2.5", 2500 }, { "3600", 3600000 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		unsigned ms = 0;
		char *msg = NULL;

		g_assert_cmpint(cli_seconds_parse(cases[i].in, &ms, &msg), ==, 0);
		g_assert_cmpuint(ms, ==, cases[i].ms);
		g_assert_null(msg);
	}
}

/* The table entries keep the spellings the commands always had; getopt
 * hands back the codes cli_common_option takes. */
static void test_table(void)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_OPTION_TIMEOUT, CLI_OPTION_INTERFACE, CLI_OPTION_STATE_DIR,
		CLI_OPTION_MDNS, CLI_OPTION_VERBOSE, CLI_OPTION_HELP,
		{ 0 },
	};
	char **argv = g_strsplit("cmd|--interface|lo|--state-dir=/s|--mdns|daemon|--timeout|2|-v|--verb|--json|"
				 "--st|/t|target", "|", -1), **help = g_strsplit("cmd|--help", "|", -1);
	int argc = (int)g_strv_length(argv);
	struct cli_common o = CLI_COMMON_INIT(30000);
	bool json = false;
	char *msg = NULL;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			g_assert_cmpint(cli_common_option(&o, c, optarg, &msg), ==, CLI_COMMON_TAKEN);
	}
	g_assert_cmpint(optind, ==, argc - 1);
	g_assert_true(json);
	g_assert_cmpstr(o.interface, ==, "lo");
	g_assert_cmpstr(o.state_dir, ==, "/t");
	g_assert_cmpint(o.backend, ==, IDL_MDNS_DAEMON);
	g_assert_cmpuint(o.timeout_ms, ==, 2000);
	g_assert_true(o.verbose);

	optind = 0;
	g_assert_cmpint(getopt_long(2, help, "vh", opts, NULL), ==, CLI_COMMON_HELP);
	g_assert_cmpint(cli_common_option(&o, CLI_COMMON_HELP, NULL, &msg), ==, CLI_COMMON_OTHER);
	g_strfreev(help);
	g_strfreev(argv);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/options/taken", test_taken);
	g_test_add_func("/options/other", test_other);
	g_test_add_func("/options/bad", test_bad);
	g_test_add_func("/options/seconds", test_seconds);
	g_test_add_func("/options/table", test_table);
	return g_test_run();
}
