/* ice: a libnice agent for one data-channel transport (see ice.h). */
#include "transport/ice.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>
#include <nice/agent.h>

#include "base/lanaddr.h"

G_DEFINE_QUARK(idl-ice-error-quark, idl_ice_error)

/* What we ask the kernel for (see grow_receive_buffer): room for 3640
 * full-size datagrams (Linux charges 2304 bytes for each), 5 MB of data or
 * 40 ms of a 1 Gbit/s flood. */
#define ICE_RCVBUF (8 << 20)

struct idl_ice {
	NiceAgent *agent;
	guint stream;
	char *ufrag;
	char *pwd;
	bool connected;
	bool failed;
	size_t rcvbuf;          /* the selected socket's receive buffer, once grown */
	GSocket *direct;        /* the selected pair's socket while READY, or NULL */
	struct sockaddr_storage direct_to;
	socklen_t direct_tolen;
	struct idl_ice_callbacks cb;
	void *user;
};

static void fail(struct idl_ice *ice, int code, const char *msg)
{
	GError *err;

	if (ice->failed)
		return;
	ice->failed = true;
	err = g_error_new_literal(IDL_ICE_ERROR, code, msg);
	if (ice->cb.failed)
		ice->cb.failed(err, ice->user);
	g_error_free(err);
}

/* Grows the kernel receive buffer of the selected pair's socket to
 * ICE_RCVBUF (the kernel caps the request at net.core.rmem_max unless the
 * process has CAP_NET_ADMIN, and doubles it) and remembers what it got.
 * Under a bulk transfer this socket is the queue in front of a CPU-bound
 * receiver: whatever overflows it is lost, STUN consent checks included,
 * and libnice 0.1.21 sends one unretransmitted check every 4-6 s and gives
 * up after 10 s without an answer. */
static void grow_receive_buffer(struct idl_ice *ice)
{
	GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
	GError *err = NULL;
	gint have = 0;

	if (!sock)
		return;
	if (!g_socket_get_option(sock, SOL_SOCKET, SO_RCVBUF, &have, NULL))
		have = 0;
	/* Linux doubles the value asked for (bookkeeping overhead) and
	 * reports the doubled value: ask for half. */
	if (have < ICE_RCVBUF && !g_socket_set_option(sock, SOL_SOCKET, SO_RCVBUF, ICE_RCVBUF / 2, &err)) {
		g_debug("ice: cannot grow the receive buffer: %s", err->message);
		g_clear_error(&err);
	}
	if (g_socket_get_option(sock, SOL_SOCKET, SO_RCVBUF, &have, NULL) && have > 0)
		ice->rcvbuf = (size_t)have;
	g_debug("ice: socket receive buffer %zu bytes", ice->rcvbuf);
	g_object_unref(sock);
}

/* Takes (ready) or drops the selected pair's socket for direct sends, and
 * tells the owner. */
static void update_direct(struct idl_ice *ice, bool ready)
{
	NiceCandidate *local = NULL, *remote = NULL;
	GSocket *old = ice->direct;

	ice->direct = NULL;
	if (ready && !ice->failed &&
	    nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &local, &remote) &&
	    remote->transport == NICE_CANDIDATE_TRANSPORT_UDP && remote->type != NICE_CANDIDATE_TYPE_RELAYED &&
	    local->type != NICE_CANDIDATE_TYPE_RELAYED) {
		ice->direct = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
		memset(&ice->direct_to, 0, sizeof(ice->direct_to));
		nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&ice->direct_to);
		ice->direct_tolen = ice->direct_to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
									 : sizeof(struct sockaddr_in);
		if (ice->direct_to.ss_family == AF_INET6) {
			/* A link-local peer needs the scope of our own address
			 * (a bare fe80:: is EINVAL from an unbound socket). */
			struct sockaddr_in6 *r6 = (struct sockaddr_in6 *)&ice->direct_to;
			struct sockaddr_storage l;

			nice_address_copy_to_sockaddr(&local->addr, (struct sockaddr *)&l);
			if (IN6_IS_ADDR_LINKLOCAL(&r6->sin6_addr) && !r6->sin6_scope_id && l.ss_family == AF_INET6)
				r6->sin6_scope_id = ((struct sockaddr_in6 *)&l)->sin6_scope_id;
		}
	}
	if (old == ice->direct && !old)
		return;
	if (old)
		g_object_unref(old);
	if (ice->cb.path_changed)
		ice->cb.path_changed(ice->user);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
			     NiceCandidate *remote, gpointer user)
{
	struct idl_ice *ice = user;

	(void)agent;
	(void)stream;
	(void)component;
	(void)local;
	(void)remote;
	grow_receive_buffer(ice);
	if (ice->connected)
		update_direct(ice, nice_agent_get_component_state(ice->agent, ice->stream, 1) ==
					   NICE_COMPONENT_STATE_READY);
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer user)
{
	struct idl_ice *ice = user;

	(void)agent;
	(void)stream;
	(void)component;
	g_debug("ice: %s", nice_component_state_to_string(state));
	if (ice->connected)
		update_direct(ice, state == NICE_COMPONENT_STATE_READY);
	if (state == NICE_COMPONENT_STATE_READY && !ice->connected) {
		ice->connected = true;
		grow_receive_buffer(ice);
		update_direct(ice, true);
		if (ice->cb.connected)
			ice->cb.connected(ice->user);
	} else if (state == NICE_COMPONENT_STATE_FAILED) {
		fail(ice, IDL_ICE_ERROR_FAILED,
		     ice->connected ? "the peer stopped answering (ICE consent lost)"
				    : "no network path to the peer: every ICE connectivity check failed; "
				      "check that both devices are on the same network and no firewall "
				      "blocks UDP between them");
	}
}

static void on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer user)
{
	struct idl_ice *ice = user;

	(void)agent;
	(void)stream;
	(void)component;
	if (!ice->failed && ice->cb.recv)
		ice->cb.recv((const uint8_t *)buf, len, ice->user);
}

/* Restricts gathering to one interface's addresses: libnice otherwise uses
 * every interface it finds. */
static int add_interface_addresses(struct idl_ice *ice, const char *interface, GError **err)
{
	struct ifaddrs *ifs, *i;
	int n = 0;

	if (getifaddrs(&ifs) < 0) {
		g_set_error(err, IDL_ICE_ERROR, IDL_ICE_ERROR_GATHER, "cannot list interfaces: %s",
			    g_strerror(errno));
		return -errno;
	}
	for (i = ifs; i; i = i->ifa_next) {
		NiceAddress addr;

		if (!i->ifa_addr || strcmp(i->ifa_name, interface) != 0 ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		nice_address_init(&addr);
		nice_address_set_from_sockaddr(&addr, i->ifa_addr);
		if (nice_agent_add_local_address(ice->agent, &addr))
			n++;
	}
	freeifaddrs(ifs);
	if (n == 0) {
		g_set_error(err, IDL_ICE_ERROR, IDL_ICE_ERROR_GATHER,
			    "interface %s has no address to connect from", interface);
		return -ENODEV;
	}
	return 0;
}

int idl_ice_new(bool controlling, const char *interface, const struct idl_ice_callbacks *cb,
		void *user, struct idl_ice **out, GError **err)
{
	struct idl_ice *ice = g_new0(struct idl_ice, 1);
	GSList *cands;
	int r;

	ice->cb = *cb;
	ice->user = user;
	ice->agent = nice_agent_new_full(g_main_context_get_thread_default(), NICE_COMPATIBILITY_RFC5245,
					 NICE_AGENT_OPTION_REGULAR_NOMINATION |
					 NICE_AGENT_OPTION_ICE_TRICKLE |
					 NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	/* On a LAN there are a handful of pairs: pacing checks 20 ms apart (the
	 * default Ta, sized for the Internet) would be most of the set-up time. */
	g_object_set(ice->agent, "controlling-mode", controlling, "upnp", FALSE, "ice-tcp", FALSE,
		     "stun-pacing-timer", 5u, NULL);
	if (interface && (r = add_interface_addresses(ice, interface, err)) < 0)
		goto fail;
	g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_state), ice);
	g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), ice);
	ice->stream = nice_agent_add_stream(ice->agent, 1);
	nice_agent_set_stream_name(ice->agent, ice->stream, "application");
	nice_agent_attach_recv(ice->agent, ice->stream, 1, g_main_context_get_thread_default(),
			       on_recv, ice);
	/* Host candidates are gathered inside this call (no STUN or TURN is
	 * configured), so the offer or answer can carry all of them at once. */
	if (!nice_agent_gather_candidates(ice->agent, ice->stream)) {
		g_set_error_literal(err, IDL_ICE_ERROR, IDL_ICE_ERROR_GATHER,
				    "cannot gather ICE candidates: no usable network interface");
		r = -ENETDOWN;
		goto fail;
	}
	cands = nice_agent_get_local_candidates(ice->agent, ice->stream, 1);
	if (!cands) {
		g_set_error_literal(err, IDL_ICE_ERROR, IDL_ICE_ERROR_GATHER,
				    "no local ICE candidate: is the network interface up?");
		r = -ENETDOWN;
		goto fail;
	}
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->ufrag, &ice->pwd);
	*out = ice;
	return 0;
fail:
	idl_ice_free(ice);
	return r;
}

const char *idl_ice_ufrag(const struct idl_ice *ice)
{
	return ice->ufrag;
}

const char *idl_ice_pwd(const struct idl_ice *ice)
{
	return ice->pwd;
}

char **idl_ice_local_candidates(const struct idl_ice *ice)
{
	GSList *cands = nice_agent_get_local_candidates(ice->agent, ice->stream, 1);
	GPtrArray *out = g_ptr_array_new();

	for (GSList *l = cands; l; l = l->next) {
		char *line = nice_agent_generate_local_candidate_sdp(ice->agent, l->data);
		/* libnice writes "a=candidate:..."; SDP building adds its own "a=". */
		g_ptr_array_add(out, g_strdup(g_str_has_prefix(line, "a=") ? line + 2 : line));
		g_free(line);
	}
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* Whether checks may go to the candidate's address: a LAN address
 * (lanaddr.h), or one on the subnet of a local interface (a LAN numbered
 * with public addresses). ifs: getifaddrs() of this host, or NULL. */
static bool lan_candidate(const NiceCandidate *nc, const struct ifaddrs *ifs, char *why, size_t whylen)
{
	struct sockaddr_storage sa;
	enum idl_lanaddr_scope scope;

	nice_address_copy_to_sockaddr(&nc->addr, (struct sockaddr *)&sa);
	scope = idl_lanaddr_scope((const struct sockaddr *)&sa);
	if (idl_lanaddr_scope_is_lan(scope))
		return true;
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && idl_lanaddr_on_subnet(i->ifa_addr, i->ifa_netmask, (const struct sockaddr *)&sa))
			return true;
	g_strlcpy(why, idl_lanaddr_scope_name(scope), whylen);
	return false;
}

int idl_ice_set_remote(struct idl_ice *ice, const char *ufrag, const char *pwd,
		       const char *const *candidates, GError **err)
{
	GSList *list = NULL;
	unsigned skipped = 0, off_lan = 0;
	struct ifaddrs *ifs = NULL;

	if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd)) {
		g_set_error_literal(err, IDL_ICE_ERROR, IDL_ICE_ERROR_REMOTE,
				    "the peer's ICE credentials are not usable");
		return -EINVAL;
	}
	if (getifaddrs(&ifs) < 0)
		ifs = NULL;             /* then only LAN scopes count */
	for (const char *const *c = candidates; c && *c; c++) {
		char *line = g_strconcat("a=", *c, NULL);
		NiceCandidate *nc = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
		char why[64];

		if (nc && nc->component_id == 1 && nc->transport == NICE_CANDIDATE_TRANSPORT_UDP &&
		    !lan_candidate(nc, ifs, why, sizeof(why))) {
			/* The README promises the LAN: no checks go elsewhere, whoever lists it. */
			char addr[NICE_ADDRESS_STRING_LEN];

			nice_address_to_string(&nc->addr, addr);
			g_debug("ice: not sending to remote candidate %s port %u (%s): checks go only to the LAN",
				addr, nice_address_get_port(&nc->addr), why);
			off_lan++;
			nice_candidate_free(nc);
		} else if (nc && nc->component_id == 1 && nc->transport == NICE_CANDIDATE_TRANSPORT_UDP)
			list = g_slist_append(list, nc);
		else {
			skipped++;
			g_debug("ice: skipping remote candidate %s", *c);
			if (nc)
				nice_candidate_free(nc);
		}
		g_free(line);
	}
	if (ifs)
		freeifaddrs(ifs);
	if (off_lan)
		g_debug("ice: %u remote candidates off the LAN dropped", off_lan);
	if (list)
		nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, list);
	if (skipped)
		g_debug("ice: %u remote candidates skipped (mDNS names or not UDP); "
			"counting on peer-reflexive ones", skipped);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	return 0;
}

size_t idl_ice_receive_buffer(struct idl_ice *ice)
{
	/* The controlled side may finish DTLS before its component is READY. */
	if (!ice->rcvbuf)
		grow_receive_buffer(ice);
	return ice->rcvbuf;
}

int idl_ice_send(struct idl_ice *ice, const uint8_t *buf, size_t len)
{
	gint n;

	/* Not gated on "connected": the controlled side may see the peer's first
	 * DTLS record before its own component is READY, and must answer it. */
	if (ice->failed)
		return -ENOTCONN;
	n = nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)buf);
	return n == (gint)len ? 0 : -EAGAIN;
}

int idl_ice_send_many(struct idl_ice *ice, const struct iovec *dg, unsigned n)
{
	NiceOutputMessage msgs[64];
	GOutputVector vec[64];
	GError *err = NULL;
	gint r;

	if (ice->failed)
		return -ENOTCONN;
	n = MIN(n, G_N_ELEMENTS(msgs));
	for (unsigned i = 0; i < n; i++) {
		vec[i].buffer = dg[i].iov_base;
		vec[i].size = dg[i].iov_len;
		msgs[i].buffers = &vec[i];
		msgs[i].n_buffers = 1;
	}
	r = nice_agent_send_messages_nonblocking(ice->agent, ice->stream, 1, msgs, n, NULL, &err);
	if (r >= 0)
		return r;
	r = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? 0 : -EIO;
	g_clear_error(&err);
	return r;
}

int idl_ice_direct_socket(const struct idl_ice *ice, struct sockaddr_storage *to, socklen_t *tolen)
{
	if (!ice->direct)
		return -1;
	*to = ice->direct_to;
	*tolen = ice->direct_tolen;
	return g_socket_get_fd(ice->direct);
}

char *idl_ice_describe_pair(const struct idl_ice *ice)
{
	NiceCandidate *local = NULL, *remote = NULL;
	char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];

	if (!nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &local, &remote))
		return NULL;
	nice_address_to_string(&local->addr, la);
	nice_address_to_string(&remote->addr, ra);
	return g_strdup_printf("%s:%u -> %s:%u (%s)", la, nice_address_get_port(&local->addr), ra,
			       nice_address_get_port(&remote->addr),
			       remote->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE ? "peer-reflexive" : "host");
}

/* True when a and b (same family) are on the link of the interface whose
 * address is a with netmask mask: the same subnet, or both link-local. */
static bool on_link(const struct sockaddr *a, const struct sockaddr *mask, const struct sockaddr *b)
{
	const uint8_t *x, *y, *m;
	size_t n;

	if (a->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
		const struct in6_addr *b6 = &((const struct sockaddr_in6 *)b)->sin6_addr;
		if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LINKLOCAL(b6))
			return IN6_IS_ADDR_LINKLOCAL(a6) && IN6_IS_ADDR_LINKLOCAL(b6);
		x = a6->s6_addr, y = b6->s6_addr, n = 16;
		m = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
	} else {
		x = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
		y = (const uint8_t *)&((const struct sockaddr_in *)b)->sin_addr;
		m = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		if ((x[i] & m[i]) != (y[i] & m[i]))
			return false;
	return true;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return !memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr,
		       sizeof(struct in_addr));
}

size_t idl_ice_path_payload(const struct idl_ice *ice)
{
	NiceCandidate *local = NULL, *remote = NULL;
	struct sockaddr_storage la, ra;
	struct ifaddrs *ifs, *i;
	struct ifreq ifr;
	size_t payload = 0;
	int fd;

	if (!nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &local, &remote))
		return 0;
	nice_address_copy_to_sockaddr(&local->addr, (struct sockaddr *)&la);
	nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&ra);
	if ((la.ss_family != AF_INET && la.ss_family != AF_INET6) || la.ss_family != ra.ss_family ||
	    getifaddrs(&ifs) < 0)
		return 0;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || !same_addr(i->ifa_addr, (struct sockaddr *)&la))
			continue;
		/* Off the link a router with a smaller MTU may lie between us,
		 * and IPv6 routers do not fragment: keep the safe default. */
		if (!on_link(i->ifa_addr, i->ifa_netmask, (struct sockaddr *)&ra))
			break;
		memset(&ifr, 0, sizeof(ifr));
		g_strlcpy(ifr.ifr_name, i->ifa_name, sizeof(ifr.ifr_name));
		fd = socket(la.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
			payload = (size_t)MIN(ifr.ifr_mtu, 1500) - (la.ss_family == AF_INET6 ? 40 : 20) - 8;
		if (fd >= 0)
			close(fd);
		break;
	}
	freeifaddrs(ifs);
	return payload;
}

void idl_ice_free(struct idl_ice *ice)
{
	if (!ice)
		return;
	if (ice->direct)
		g_object_unref(ice->direct);
	if (ice->agent) {
		g_signal_handlers_disconnect_by_data(ice->agent, ice);
		if (ice->stream) {
			nice_agent_attach_recv(ice->agent, ice->stream, 1, g_main_context_get_thread_default(),
					       NULL, NULL);
			nice_agent_remove_stream(ice->agent, ice->stream);
		}
		g_object_unref(ice->agent);
	}
	g_free(ice->ufrag);
	g_free(ice->pwd);
	g_free(ice);
}
