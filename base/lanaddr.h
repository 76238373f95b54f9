/* lanaddr: which addresses count as "the LAN". idrop-lan only sends
 * connectivity checks to addresses of the local network (README: "on the
 * LAN"), whatever an offer or answer lists, so that a peer (or a web page
 * that posts an offer) cannot aim a device's checks at hosts elsewhere; and
 * a device answers cross-origin requests only from pages on such addresses
 * (web/origin.c).
 * Pure functions over addresses: no I/O, unit tested. */
#ifndef IDL_LANADDR_H
#define IDL_LANADDR_H

#include <stdbool.h>
#include <sys/socket.h>

enum idl_lanaddr_scope {
	IDL_LANADDR_INVALID,      /* not an IPv4 or IPv6 address */
	IDL_LANADDR_LOOPBACK,     /* 127.0.0.0/8, ::1 */
	IDL_LANADDR_PRIVATE,      /* RFC 1918: 10/8, 172.16/12, 192.168/16 */
	IDL_LANADDR_LINK_LOCAL,   /* 169.254/16, fe80::/10 */
	IDL_LANADDR_ULA,          /* fc00::/7 (RFC 4193) */
	IDL_LANADDR_SHARED,       /* 100.64/10 (RFC 6598, carrier-grade NAT): NOT the LAN */
	IDL_LANADDR_OTHER,        /* public, multicast, unspecified, broadcast... */
};

/* The scope of sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts
 * as its IPv4 address). NULL or another family: IDL_LANADDR_INVALID. */
enum idl_lanaddr_scope idl_lanaddr_scope(const struct sockaddr *sa);

/* The scope of a numeric address literal ("192.168.1.2", "fe80::1"); a host
 * name, a zone ("%eth0") or anything else: IDL_LANADDR_INVALID. */
enum idl_lanaddr_scope idl_lanaddr_scope_text(const char *text);

/* True for loopback, private, link-local and ULA. */
bool idl_lanaddr_scope_is_lan(enum idl_lanaddr_scope scope);

/* "loopback", "private", ..., for log lines; static. */
const char *idl_lanaddr_scope_name(enum idl_lanaddr_scope scope);

/* True when addr is on the subnet of a local interface address ifaddr with
 * netmask mask (all of one family): a LAN numbered with public addresses.
 * Subnets wider than /16 (IPv4) or /48 (IPv6) do not count: that is not
 * one link any more. */
bool idl_lanaddr_on_subnet(const struct sockaddr *ifaddr, const struct sockaddr *mask,
			   const struct sockaddr *addr);

#endif
