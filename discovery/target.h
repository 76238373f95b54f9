/* target: what a user typed to name a peer ("laptop.local", a display name
 * from `idrop-lan list`, or IP[:PORT]), classified by a pure parser so the
 * rules are unit tested apart from the network. */
#ifndef IDL_TARGET_H
#define IDL_TARGET_H

#include <stdint.h>
#include <glib.h>

enum idl_target_kind {
	IDL_TARGET_ADDRESS,   /* a literal IPv4/IPv6 address, maybe with a port */
	IDL_TARGET_HOST,      /* an mDNS host name ending in .local */
	IDL_TARGET_NAME,      /* a DNS-SD instance (display) name */
};

struct idl_target {
	enum idl_target_kind kind;
	char text[256];       /* address without brackets/port, host name without the
	                         trailing dot, or the display name */
	uint16_t port;        /* 0 when not given */
};

/* Parses s. An address may carry a port ("10.0.0.2:7757", "[fe80::1%eth0]:7757");
 * a bare IPv6 address has none. Returns 0, or -EINVAL with *err saying what is
 * wrong (empty, control characters, too long, bad port). */
int idl_target_parse(const char *s, struct idl_target *out, GError **err);

#endif
