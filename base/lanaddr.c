/* lanaddr: which addresses are on the LAN: where ICE may send checks, and
 * which page origins may call a device (see lanaddr.h).
 *
 * Carrier-grade NAT space (100.64.0.0/10, RFC 6598) is refused: it is the
 * network between an ISP's NAT and its subscribers, shared by many of them,
 * so an address there is another customer's equipment, not this LAN. (VPN
 * overlays such as Tailscale number their peers there too; they are not the
 * LAN either.) */
#include "base/lanaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static enum idl_lanaddr_scope scope4(const uint8_t a[4])
{
	if (a[0] == 127)
		return IDL_LANADDR_LOOPBACK;
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return IDL_LANADDR_PRIVATE;
	if (a[0] == 169 && a[1] == 254)
		return IDL_LANADDR_LINK_LOCAL;
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return IDL_LANADDR_SHARED;
	return IDL_LANADDR_OTHER;
}

static enum idl_lanaddr_scope scope6(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;

	if (IN6_IS_ADDR_V4MAPPED(a))
		return scope4(b + 12);
	if (IN6_IS_ADDR_LOOPBACK(a))
		return IDL_LANADDR_LOOPBACK;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return IDL_LANADDR_LINK_LOCAL;
	if ((b[0] & 0xfe) == 0xfc)
		return IDL_LANADDR_ULA;
	return IDL_LANADDR_OTHER;
}

enum idl_lanaddr_scope idl_lanaddr_scope(const struct sockaddr *sa)
{
	if (sa == NULL)
		return IDL_LANADDR_INVALID;
	if (sa->sa_family == AF_INET)
		return scope4((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return scope6(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return IDL_LANADDR_INVALID;
}

enum idl_lanaddr_scope idl_lanaddr_scope_text(const char *text)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (text == NULL)
		return IDL_LANADDR_INVALID;
	if (inet_pton(AF_INET, text, &a4) == 1)
		return scope4((const uint8_t *)&a4);
	if (inet_pton(AF_INET6, text, &a6) == 1)
		return scope6(&a6);
	return IDL_LANADDR_INVALID;
}

bool idl_lanaddr_scope_is_lan(enum idl_lanaddr_scope scope)
{
	return scope == IDL_LANADDR_LOOPBACK || scope == IDL_LANADDR_PRIVATE ||
	       scope == IDL_LANADDR_LINK_LOCAL || scope == IDL_LANADDR_ULA;
}

const char *idl_lanaddr_scope_name(enum idl_lanaddr_scope scope)
{
	switch (scope) {
	case IDL_LANADDR_LOOPBACK: return "loopback";
	case IDL_LANADDR_PRIVATE: return "private";
	case IDL_LANADDR_LINK_LOCAL: return "link-local";
	case IDL_LANADDR_ULA: return "unique local";
	case IDL_LANADDR_SHARED: return "carrier-grade NAT";
	case IDL_LANADDR_OTHER: return "not a LAN address";
	case IDL_LANADDR_INVALID: break;
	}
	return "not an IP address";
}

/* Leading one bits of a netmask of n bytes; -1 when it is not contiguous. */
static int prefix_len(const uint8_t *m, size_t n)
{
	int len = 0;
	size_t i = 0;

	for (; i < n && m[i] == 0xff; i++)
		len += 8;
	if (i < n) {
		uint8_t b = m[i++];
		while (b & 0x80) {
			len++;
			b = (uint8_t)(b << 1);
		}
		if (b)
			return -1;
	}
	for (; i < n; i++)
		if (m[i])
			return -1;
	return len;
}

bool idl_lanaddr_on_subnet(const struct sockaddr *ifaddr, const struct sockaddr *mask,
			   const struct sockaddr *addr)
{
	const uint8_t *x, *y, *m;
	size_t n;
	int min;

	if (ifaddr == NULL || mask == NULL || addr == NULL || ifaddr->sa_family != addr->sa_family)
		return false;
	if (addr->sa_family == AF_INET) {
		x = (const uint8_t *)&((const struct sockaddr_in *)ifaddr)->sin_addr;
		y = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
		m = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4, min = 16;
	} else if (addr->sa_family == AF_INET6) {
		x = ((const struct sockaddr_in6 *)ifaddr)->sin6_addr.s6_addr;
		y = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
		m = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
		n = 16, min = 48;
	} else {
		return false;
	}
	/* A mask is the family's too (getifaddrs fills it so); an odd one counts for nothing. */
	if (mask->sa_family != addr->sa_family && mask->sa_family != AF_UNSPEC)
		return false;
	if (prefix_len(m, n) < min)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((x[i] & m[i]) != (y[i] & m[i]))
			return false;
	return true;
}
