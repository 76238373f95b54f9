/* origin: Host and Origin checks (see origin.h). */
#include "web/origin.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <glib.h>

#include "base/lanaddr.h"

#define HOST_MAX 255

/* Splits "name[:port]" or "[v6][:port]" into its host part (brackets
 * removed, in out) and checks the port. False when malformed. */
static bool split_host(const char *s, char *out, size_t len, bool *bracketed)
{
	const char *end, *port = NULL;
	size_t n;

	*bracketed = s[0] == '[';
	if (*bracketed) {
		end = strchr(s, ']');
		if (!end)
			return false;
		s++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return false;
	} else {
		end = strchr(s, ':');
		if (end) {
			port = end + 1;
			if (strchr(port, ':'))
				return false;   /* an IPv6 literal without brackets */
		} else {
			end = s + strlen(s);
		}
	}
	n = (size_t)(end - s);
	if (n == 0 || n >= len)
		return false;
	memcpy(out, s, n);
	out[n] = 0;
	if (port) {
		size_t digits = strspn(port, "0123456789");
		if (digits == 0 || digits > 5 || port[digits] || strtoul(port, NULL, 10) > 65535)
			return false;
	}
	return true;
}

/* A name compared without case and without one trailing dot. */
static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && g_ascii_strncasecmp(a, b, la) == 0;
}

bool idl_origin_host_ok(const char *host, const char *local_name)
{
	char name[HOST_MAX + 1];
	unsigned char buf[16];
	bool br;

	if (!host || !split_host(host, name, sizeof(name), &br))
		return false;
	if (br)
		return inet_pton(AF_INET6, name, buf) == 1;
	if (inet_pton(AF_INET, name, buf) == 1)
		return true;
	return same_name(name, "localhost") || (local_name && local_name[0] && same_name(name, local_name));
}

/* A DNS name of letters, digits, hyphens and dots whose last label is
 * "local". */
static bool dot_local(const char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	if (n <= 6 || g_ascii_strncasecmp(name + n - 6, ".local", 6) != 0 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '-' && name[i] != '.')
			return false;
	return strstr(name, "..") == NULL;
}

bool idl_origin_is_lan_page(const char *origin)
{
	char name[HOST_MAX + 1];
	struct in6_addr a6;
	unsigned char buf[4];
	bool br;

	if (!origin || g_ascii_strncasecmp(origin, "http://", 7) != 0 ||
	    !split_host(origin + 7, name, sizeof(name), &br))
		return false;
	/* An IPv6 literal only in brackets, as URLs write it, and not an
	 * IPv4-mapped one: no browser writes a page's origin that way. */
	if (br && (inet_pton(AF_INET6, name, &a6) != 1 || IN6_IS_ADDR_V4MAPPED(&a6)))
		return false;
	if (br || inet_pton(AF_INET, name, buf) == 1)
		return idl_lanaddr_scope_is_lan(idl_lanaddr_scope_text(name));
	return dot_local(name);
}

bool idl_origin_same(const char *origin, const char *host)
{
	return origin && host && g_ascii_strncasecmp(origin, "http://", 7) == 0 &&
	       g_ascii_strcasecmp(origin + 7, host) == 0;
}
