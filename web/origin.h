/* origin: which Host and Origin headers the device answers, so that a web
 * page on the internet cannot drive it through a LAN user's browser. A
 * Host must name this device the way its page is reached (an IP literal,
 * its .local host name, or localhost): anything else is DNS rebinding and
 * gets 421. Cross-origin requests are allowed only from the pages of
 * devices on the LAN (http:// with a private, link-local or loopback IP
 * literal, or a .local name). Pure functions over header values. */
#ifndef IDL_ORIGIN_H
#define IDL_ORIGIN_H

#include <stdbool.h>

/* True when host (a Host header: "10.0.0.2:7757", "[fe80::1]", "vm.local")
 * is an IPv4 literal, a bracketed IPv6 literal, "localhost" or local_name
 * (this device's mDNS host name, "vm.local"; NULL: none), each with an
 * optional port, names without regard to case or one trailing dot. NULL
 * (no Host) is false. */
bool idl_origin_host_ok(const char *host, const char *local_name);

/* True when origin (an Origin header) is the page of a device on the LAN:
 * "http://" and a host that is a private (RFC 1918), link-local or loopback
 * IPv4 literal, a loopback, link-local or unique-local IPv6 literal in
 * brackets, or a name ending in .local, with an optional port and nothing
 * after it. "null" and everything else are false. */
bool idl_origin_is_lan_page(const char *origin);

/* True when origin is the origin of the request's own Host: "http://" +
 * host, case-insensitive. */
bool idl_origin_same(const char *origin, const char *host);

#endif
