/* peer_text: known peers worded for a terminal (see peer_text.h). */
#include "cli/peer_text.h"

#include <string.h>

#include "cli/cli.h"
#include "trust/identity.h"
#include "trust/known.h"

void cli_format_date(gint64 t, bool with_time, char *out, size_t len)
{
	GDateTime *dt = g_date_time_new_from_unix_local(t);
	char *s = dt ? g_date_time_format(dt, with_time ? "%Y-%m-%d %H:%M" : "%Y-%m-%d") : NULL;

	g_strlcpy(out, s ? s : "?", len);
	g_free(s);
	if (dt)
		g_date_time_unref(dt);
}

char *cli_forget_command(const char *state_dir, const char *name)
{
	char *def = idl_identity_default_dir(), *qname = g_shell_quote(name), *qdir = g_shell_quote(state_dir);
	char *cmd;

	/* --state-dir only when forget would not find the file by itself. */
	if (strcmp(def, state_dir) == 0)
		cmd = g_strdup_printf("idrop-lan forget %s", qname);
	else
		cmd = g_strdup_printf("idrop-lan forget --state-dir %s %s", qdir, qname);
	g_free(def);
	g_free(qname);
	g_free(qdir);
	return cmd;
}

char *cli_known_warning(const char *first, const struct idl_known_peer *old, const char *new_fp,
			const char *state_dir, const char *done, const char *then)
{
	char since[16], label[32], *forget = cli_forget_command(state_dir, old->name);
	GString *s = g_string_new(NULL);

	cli_format_date(old->first_seen, false, since, sizeof(since));
	g_snprintf(label, sizeof(label), "known since %s:", since);
	g_string_append_printf(s, "%sWARNING: %s is known with another fingerprint\n", first, cli_quoted(old->name));
	g_string_append_printf(s, "  %-24s %s\n", label, old->fingerprint);
	g_string_append_printf(s, "  %-24s %s\n", "now presented:", new_fp);
	g_string_append_printf(s, "  Someone on this network may be posing as %s, or that peer got a new\n"
			       "  identity (reinstalled, or another state directory). %s\n", cli_quoted(old->name), done);
	g_string_append_printf(s, "  If you expect the change, accept it with\n      %s\n  %s\n", cli_text(forget), then);
	g_free(forget);
	return g_string_free(s, FALSE);
}
