/* ice: one ICE agent (libnice, full ICE, RFC 8445) with a single stream and
 * component, as a WebRTC data channel needs with BUNDLE. Host candidates
 * only (a LAN needs no STUN/TURN); consent freshness (RFC 7675) notices a
 * peer that vanished. Runs on the thread-default GLib main context. Knows
 * nothing of DTLS: received datagrams go up through a callback. */
#ifndef IDL_ICE_H
#define IDL_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define IDL_ICE_ERROR (idl_ice_error_quark())
GQuark idl_ice_error_quark(void);

enum idl_ice_error {
	IDL_ICE_ERROR_GATHER,       /* no local candidate: no usable interface */
	IDL_ICE_ERROR_REMOTE,       /* remote credentials or candidates unusable */
	IDL_ICE_ERROR_FAILED,       /* connectivity checks failed, or consent was lost */
};

struct idl_ice;

struct idl_ice_callbacks {
	/* A candidate pair is selected: datagrams can flow. */
	void (*connected)(void *user);
	/* One datagram from the peer that is not STUN; valid during the call. */
	void (*recv)(const uint8_t *buf, size_t len, void *user);
	/* Checks failed or consent was lost; no callback follows. */
	void (*failed)(const GError *err, void *user);
	/* The direct socket (idl_ice_direct_socket) changed or went away: a
	 * new pair was selected, or the component left READY. May be NULL. */
	void (*path_changed)(void *user);
};

/* Creates an agent (controlling for the offerer) and gathers its host
 * candidates at once, on every interface or only on interface. *out is owned
 * by the caller. Returns 0 or a negative errno value with *err. */
int idl_ice_new(bool controlling, const char *interface, const struct idl_ice_callbacks *cb,
		void *user, struct idl_ice **out, GError **err);

/* Local credentials, borrowed. */
const char *idl_ice_ufrag(const struct idl_ice *ice);
const char *idl_ice_pwd(const struct idl_ice *ice);

/* Local candidates as SDP attribute values ("candidate:..."), NULL-terminated,
 * owned by the caller (g_strfreev). */
char **idl_ice_local_candidates(const struct idl_ice *ice);

/* Sets the remote credentials and candidates and starts connectivity checks.
 * Candidates libnice cannot use (a browser's "<uuid>.local" host names) are
 * skipped: the browser's own checks reach us and give peer-reflexive
 * candidates instead. Candidates off the LAN are dropped too (a -v log line
 * each): only loopback, private (RFC 1918), link-local and ULA addresses,
 * or ones on the subnet of a local interface, get checks (lanaddr.h).
 * Returns 0 or -EINVAL with *err. */
int idl_ice_set_remote(struct idl_ice *ice, const char *ufrag, const char *pwd,
		       const char *const *candidates, GError **err);

/* Sends one datagram on the selected pair. Returns 0 or a negative errno. */
int idl_ice_send(struct idl_ice *ice, const uint8_t *buf, size_t len);

/* Sends dg[0..n) as n datagrams on the selected pair in one libnice call
 * (sendmmsg). Returns how many left (fewer than n: the socket is full), or
 * a negative errno value when the first could not be sent. */
int idl_ice_send_many(struct idl_ice *ice, const struct iovec *dg, unsigned n);

/* The socket of the selected pair, for sending data beside libnice (libnice
 * keeps no state about data sends; it stays the only reader), and the
 * remote address in *to. -1 unless the component is READY on a plain UDP
 * host or reflexive pair: after consent is lost (RFC 7675) nothing may be
 * sent but through libnice, which refuses. The fd stays valid until
 * path_changed or idl_ice_free. */
int idl_ice_direct_socket(const struct idl_ice *ice, struct sockaddr_storage *to, socklen_t *tolen);

/* The selected pair as "local -> remote" text for diagnostics, owned by the
 * caller; NULL before connected. */
char *idl_ice_describe_pair(const struct idl_ice *ice);

/* The UDP payload the selected pair carries without fragmenting, when it is
 * known: both ends on the link of one local interface (the same subnet, or
 * IPv6 link-local), whose MTU (at most 1500) then holds for the whole path.
 * 0 when not connected or off-link: then only the IPv6 minimum is safe. */
size_t idl_ice_path_payload(const struct idl_ice *ice);

/* The kernel receive buffer of the selected pair's socket (SO_RCVBUF as
 * Linux reports it: memory, 2304 bytes per datagram of 1-1.7 KB), grown as
 * far as the kernel lets an unprivileged process (net.core.rmem_max, 208 KiB
 * by default, doubled: 416 KiB) once a pair is selected; 0 when unknown. */
size_t idl_ice_receive_buffer(struct idl_ice *ice);

/* NULL is a no-op. Must not be called from inside one of ice's callbacks. */
void idl_ice_free(struct idl_ice *ice);

#endif
