/* target: classify a user-supplied peer name (see target.h). */
#include "discovery/target.h"

#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "base/error.h"

static gboolean is_ip(const char *s)
{
	GInetAddress *a = g_inet_address_new_from_string(s);

	if (!a)
		return FALSE;
	g_object_unref(a);
	return TRUE;
}

/* Strict decimal port 1..65535: atoi would take "80x" or "-1". */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* Copies n bytes of s as the address and checks it is one. */
static int set_address(struct idl_target *t, const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(t->text))
		return -EINVAL;
	memcpy(t->text, s, n);
	t->text[n] = 0;
	/* GLib does not parse a zone index ("%eth0"); check the part before it. */
	char *zone = strchr(t->text, '%');
	if (zone) {
		*zone = 0;
		gboolean ok = strchr(t->text, ':') && zone[1] && is_ip(t->text);
		*zone = '%';
		return ok ? 0 : -EINVAL;
	}
	return is_ip(t->text) ? 0 : -EINVAL;
}

int idl_target_parse(const char *s, struct idl_target *out, GError **err)
{
	size_t len = strlen(s);
	const char *colon;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the target is empty: give a host (laptop.local), a name from `idrop-lan list`, or IP[:PORT]");
	if (len >= sizeof(out->text))
		return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the target is too long (255 bytes at most)");
	if (!g_utf8_validate(s, (gssize)len, NULL))
		return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the target is not valid UTF-8");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the target contains control characters");

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		out->kind = IDL_TARGET_ADDRESS;
		if (!close || set_address(out, s + 1, (size_t)(close - s - 1)) < 0 || !strchr(out->text, ':'))
			return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the target looks like [IPv6]:PORT but the address is not valid");
		if (close[1] == 0)
			return 0;
		if (close[1] != ':' || parse_port(close + 2, &out->port) < 0)
			return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the port after [IPv6]: must be a number from 1 to 65535");
		return 0;
	}
	if (set_address(out, s, len) == 0) {
		out->kind = IDL_TARGET_ADDRESS;
		return 0;
	}
	colon = strrchr(s, ':');
	if (colon && !memchr(s, ':', (size_t)(colon - s)) && set_address(out, s, (size_t)(colon - s)) == 0) {
		out->kind = IDL_TARGET_ADDRESS;
		if (parse_port(colon + 1, &out->port) < 0)
			return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "the port after IP: must be a number from 1 to 65535");
		return 0;
	}

	memset(out, 0, sizeof(*out));
	memcpy(out->text, s, len + 1);
	if (len > 6 && g_ascii_strcasecmp(s + len - 6, ".local") == 0) {
		out->kind = IDL_TARGET_HOST;
	} else if (len > 7 && g_ascii_strcasecmp(s + len - 7, ".local.") == 0) {
		out->kind = IDL_TARGET_HOST;
		out->text[len - 1] = 0;
	} else {
		out->kind = IDL_TARGET_NAME;
		if (len > 63)
			return idl_error_set(err, G_IO_ERROR_INVALID_ARGUMENT, -EINVAL, "a device name is at most 63 bytes: check the name shown by `idrop-lan list`");
	}
	return 0;
}
