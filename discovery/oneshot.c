/* oneshot: see oneshot.h. One socket per (interface, family), so that an
 * answer arriving on a socket says which interface it came over; the
 * records heard on a socket are kept (bounded) until freed, so an answer
 * split over packets, or completed by a follow-up, still adds up. A
 * responder answers for its own records only: records are kept, combined
 * and bounded per responder (source address), so that one host can
 * neither complete another's device with its own SRV or address, nor
 * crowd the others out. */
#include "discovery/oneshot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib-unix.h>
#include <gio/gio.h>

#include "base/error.h"
#include "base/name.h"
#include "base/text.h"
#include "discovery/dnsmsg.h"

#define MDNS_PORT 5353
#define ROUNDS 3                 /* the query, and two repeats */
#define ROUND_GAP_MS 100
/* Avahi fits a one-shot answer in 512 bytes: a device with browser tabs
 * attached (one service each) answers with every PTR but leaves out the
 * SRV and TXT of most, which follow-ups then ask for, one per service. */
#define MAX_RECORDS 512          /* kept per socket: a LAN's worth of devices */
#define MAX_RECORDS_PER_SOURCE 128
#define MAX_ASKED 128            /* follow-up queries per socket */
#define MAX_ASKED_PER_SOURCE 32
#define MAX_NETS 8               /* addresses per interface and family checked */
#define MAX_PACKETS_PER_WAKE 32  /* then the loop gets its turn */
#define PACKET_MAX 9000          /* RFC 6762 section 17 */

/* A record heard, with its own copy of what it points to in the packet. */
struct rec {
	uint8_t src[16];             /* the responder: IPv4 in the first 4 bytes */
	struct idl_dns_rr rr;
	uint8_t *txt;                /* TXT: rdata, owned */
	bool reported;               /* PTR: told as found, and nothing new from src since */
};

struct net {
	uint8_t addr[16];
	uint8_t mask[16];
};

struct sock {
	struct idl_oneshot *o;
	int fd;
	int family;
	unsigned ifindex;
	char ifname[IF_NAMESIZE];
	GSource *src;
	struct net nets[MAX_NETS];   /* the interface's own networks: answers come from there */
	unsigned n_nets;
	GPtrArray *recs;             /* struct rec *, owned */
	GPtrArray *asked;            /* struct rec *, owned: follow-ups sent (src, rr.name) */
};

struct idl_oneshot {
	struct idl_dns_name type;    /* "_idrop._tcp.local" */
	uint16_t id;
	GPtrArray *socks;            /* struct sock *, owned */
	GSource *timer;
	unsigned rounds;
	idl_oneshot_found_fn found;
	void *user;
};

static void rec_free(gpointer p)
{
	struct rec *r = p;

	g_free(r->txt);
	g_free(r);
}

static void sock_free(gpointer p)
{
	struct sock *s = p;

	if (s->src) {
		g_source_destroy(s->src);
		g_source_unref(s->src);
	}
	if (s->fd >= 0)
		close(s->fd);
	g_ptr_array_free(s->recs, TRUE);
	g_ptr_array_free(s->asked, TRUE);
	g_free(s);
}

static int send_query(struct sock *s, const struct idl_dns_question *qs, size_t n)
{
	uint8_t buf[2 * (IDL_DNS_NAME_MAX + 4) + IDL_DNS_HEADER_LEN];
	struct sockaddr_storage to = { 0 };
	socklen_t tolen;
	int len = idl_dns_build_query(buf, sizeof(buf), s->o->id, qs, n);

	if (len < 0)
		return len;
	if (s->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&to;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(MDNS_PORT);
		inet_pton(AF_INET, "224.0.0.251", &sin->sin_addr);
		tolen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(MDNS_PORT);
		sin6->sin6_scope_id = s->ifindex;
		inet_pton(AF_INET6, "ff02::fb", &sin6->sin6_addr);
		tolen = sizeof(*sin6);
	}
	/* Non-blocking: a full send buffer loses this copy, which the repeats
	 * are there for. */
	if (sendto(s->fd, buf, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&to, tolen) < 0) {
		g_debug("one-shot query on %s (%s): %s", s->ifname, s->family == AF_INET ? "IPv4" : "IPv6",
			g_strerror(errno));
		return -errno;
	}
	return 0;
}

static struct rec *find_rec(struct sock *s, const uint8_t *src, uint16_t type, const struct idl_dns_name *name)
{
	for (guint i = 0; i < s->recs->len; i++) {
		struct rec *r = s->recs->pdata[i];
		if (r->rr.type == type && memcmp(r->src, src, sizeof(r->src)) == 0 &&
		    idl_dns_name_equal(&r->rr.name, name))
			return r;
	}
	return NULL;
}

static unsigned count_from(const GPtrArray *recs, const uint8_t *src)
{
	unsigned n = 0;

	for (guint i = 0; i < recs->len; i++)
		n += memcmp(((const struct rec *)recs->pdata[i])->src, src, 16) == 0;
	return n;
}

/* Asks once per responder and name for what its answer lacked. */
static void follow_up(struct sock *s, const uint8_t *src, const struct idl_dns_name *name,
		      const uint16_t *types, size_t n)
{
	struct idl_dns_question qs[2];
	struct rec *asked;

	for (guint i = 0; i < s->asked->len; i++) {
		const struct rec *a = s->asked->pdata[i];
		if (memcmp(a->src, src, 16) == 0 && idl_dns_name_equal(&a->rr.name, name))
			return;
	}
	if (s->asked->len >= MAX_ASKED || count_from(s->asked, src) >= MAX_ASKED_PER_SOURCE)
		return;
	asked = g_new0(struct rec, 1);
	memcpy(asked->src, src, 16);
	asked->rr.name = *name;
	g_ptr_array_add(s->asked, asked);
	for (size_t i = 0; i < n && i < G_N_ELEMENTS(qs); i++)
		qs[i] = (struct idl_dns_question){ *name, types[i], IDL_DNS_CLASS_IN };
	send_query(s, qs, MIN(n, G_N_ELEMENTS(qs)));
}

/* The host name as text, when every label is a usable name: a host name
 * is shown and connected to, so one with control or hidden characters is
 * nobody's. */
static bool host_text(const struct idl_dns_name *n, char *buf, size_t cap)
{
	size_t p = 0;

	if (idl_dns_name_to_text(n, buf, cap) <= 0)
		return false;
	while (n->wire[p]) {
		if (!idl_name_valid((const char *)n->wire + p + 1, n->wire[p]))
			return false;
		p += 1 + (size_t)n->wire[p];
	}
	return true;
}

static void format_address(const struct sock *s, const struct rec *a, char *buf, size_t cap)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(s->family, s->family == AF_INET ? (const void *)a->rr.u.a : (const void *)a->rr.u.aaaa,
		  text, sizeof(text));
	if (s->family == AF_INET6 && a->rr.u.aaaa[0] == 0xfe && (a->rr.u.aaaa[1] & 0xc0) == 0x80)
		g_snprintf(buf, cap, "%s%%%s", text, s->ifname);
	else
		g_strlcpy(buf, text, cap);
}

/* Reports every instance whose PTR, SRV, TXT and address are all heard on
 * s; asks for what is missing. */
static void assemble(struct sock *s)
{
	uint16_t srv_txt[] = { IDL_DNS_SRV, IDL_DNS_TXT };
	uint16_t addr_type = s->family == AF_INET ? IDL_DNS_A : IDL_DNS_AAAA;

	for (guint i = 0; i < s->recs->len; i++) {
		struct rec *ptr = s->recs->pdata[i], *srv, *txt, *addr;
		char name[IDL_DNS_LABEL_MAX + 1], host[IDL_DNS_NAME_MAX + 1], address[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
		const uint8_t *label;
		size_t len;

		if (ptr->rr.type != IDL_DNS_PTR || !idl_dns_name_equal(&ptr->rr.name, &s->o->type) ||
		    !idl_dns_name_under(&ptr->rr.u.ptr, &s->o->type, &label, &len))
			continue;
		/* The caller applies the name rule, as to what the browse finds;
		 * a NUL byte cannot even be handed over. */
		if (memchr(label, 0, len)) {
			g_debug("one-shot answer on %s: ignoring an instance name with a NUL byte", s->ifname);
			continue;
		}
		memcpy(name, label, len);
		name[len] = 0;
		srv = find_rec(s, ptr->src, IDL_DNS_SRV, &ptr->rr.u.ptr);
		txt = find_rec(s, ptr->src, IDL_DNS_TXT, &ptr->rr.u.ptr);
		if (!srv || !txt) {
			follow_up(s, ptr->src, &ptr->rr.u.ptr, srv_txt, 2);
			continue;
		}
		if (!(addr = find_rec(s, ptr->src, addr_type, &srv->rr.u.srv.target))) {
			follow_up(s, ptr->src, &srv->rr.u.srv.target, &addr_type, 1);
			continue;
		}
		if (ptr->reported)
			continue;
		ptr->reported = true;
		if (!host_text(&srv->rr.u.srv.target, host, sizeof(host))) {
			char *q = idl_text_quote(name, len);

			g_debug("one-shot answer on %s: ignoring %s: its host name is not a usable name",
				s->ifname, q);
			g_free(q);
			continue;
		}
		format_address(s, addr, address, sizeof(address));
		s->o->found(&(struct idl_oneshot_found){
			.ifindex = s->ifindex, .family = s->family, .name = name, .host = host,
			.address = address, .port = srv->rr.u.srv.port, .txt = txt->txt,
			.txt_len = txt->rr.rdlength }, s->o->user);
	}
}

/* Keeps rr from src unless an equal one is kept already or the store is
 * full, for src or in all. Returns true when it is kept. */
static bool keep(struct sock *s, const uint8_t *src, const struct idl_dns_rr *rr)
{
	struct rec *r;

	if (rr->rclass != IDL_DNS_CLASS_IN || rr->ttl == 0)
		return false;
	if (rr->type != IDL_DNS_PTR && rr->type != IDL_DNS_SRV && rr->type != IDL_DNS_TXT &&
	    rr->type != IDL_DNS_A && rr->type != IDL_DNS_AAAA)
		return false;
	for (guint i = 0; i < s->recs->len; i++) {
		const struct rec *k = s->recs->pdata[i];
		if (k->rr.type == rr->type && k->rr.rdlength == rr->rdlength && memcmp(k->src, src, 16) == 0 &&
		    idl_dns_name_equal(&k->rr.name, &rr->name) &&
		    (rr->type == IDL_DNS_TXT ? memcmp(k->txt, rr->rdata, rr->rdlength) == 0 :
		     rr->type == IDL_DNS_PTR ? idl_dns_name_equal(&k->rr.u.ptr, &rr->u.ptr) :
		     rr->type == IDL_DNS_SRV ? k->rr.u.srv.port == rr->u.srv.port &&
					       idl_dns_name_equal(&k->rr.u.srv.target, &rr->u.srv.target) :
		     memcmp(&k->rr.u, &rr->u, rr->type == IDL_DNS_A ? 4 : 16) == 0))
			return false;
	}
	if (s->recs->len >= MAX_RECORDS || count_from(s->recs, src) >= MAX_RECORDS_PER_SOURCE)
		return false;
	r = g_new0(struct rec, 1);
	memcpy(r->src, src, 16);
	r->rr = *rr;
	r->rr.rdata = NULL;          /* borrowed from the packet: gone after this */
	if (rr->type == IDL_DNS_TXT)
		r->txt = g_memdup2(rr->rdata, rr->rdlength ? rr->rdlength : 1);
	g_ptr_array_add(s->recs, r);
	return true;
}

/* An answer to a one-shot query comes from port 5353 of a host on the
 * interface's own network (RFC 6762 section 11): anything else is not
 * from the link, and is dropped. */
static bool from_link(const struct sock *s, const struct sockaddr_storage *from, uint8_t src[16])
{
	const uint8_t *a;
	size_t alen;

	if (from->ss_family != s->family)
		return false;
	if (s->family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)from;

		if (ntohs(sin->sin_port) != MDNS_PORT)
			return false;
		a = (const uint8_t *)&sin->sin_addr;
		alen = 4;
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;

		if (ntohs(sin6->sin6_port) != MDNS_PORT)
			return false;
		a = sin6->sin6_addr.s6_addr;
		alen = 16;
	}
	memset(src, 0, 16);
	memcpy(src, a, alen);
	if (alen == 16 && a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return ((const struct sockaddr_in6 *)from)->sin6_scope_id == s->ifindex;
	for (unsigned i = 0; i < s->n_nets; i++) {
		size_t k = 0;

		while (k < alen && (a[k] & s->nets[i].mask[k]) == (s->nets[i].addr[k] & s->nets[i].mask[k]))
			k++;
		if (k == alen)
			return true;
	}
	return false;
}

static void handle_packet(struct sock *s, const uint8_t *src, const uint8_t *pkt, size_t len)
{
	struct idl_dns_reader r;
	struct idl_dns_rr rr;
	bool fresh = false;
	int ret;

	/* Our id, a response, standard query, no error: an answer to us. */
	if (idl_dns_reader_init(&r, pkt, len) < 0 || r.h.id != s->o->id ||
	    !(r.h.flags & IDL_DNS_FLAG_QR) || (r.h.flags & 0x780f) != 0)
		return;
	/* A packet malformed anywhere is dropped whole, as Avahi does: read
	 * it through once before keeping anything of it. */
	while ((ret = idl_dns_next_rr(&r, &rr)) > 0)
		;
	if (ret < 0) {
		g_debug("one-shot answer on %s: malformed after %u records, dropped", s->ifname,
			r.records_read);
		return;
	}
	idl_dns_reader_init(&r, pkt, len);
	while (idl_dns_next_rr(&r, &rr) > 0)
		fresh = keep(s, src, &rr) || fresh;
	/* The repeats of an answer say nothing new: report a responder's
	 * devices again only when it said something new. */
	if (!fresh)
		return;
	for (guint i = 0; i < s->recs->len; i++) {
		struct rec *k = s->recs->pdata[i];
		if (memcmp(k->src, src, 16) == 0)
			k->reported = false;
	}
	assemble(s);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer user)
{
	struct sock *s = user;
	uint8_t buf[PACKET_MAX];

	(void)cond;
	for (int i = 0; i < MAX_PACKETS_PER_WAKE; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		uint8_t src[16];
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);

		if (n < 0)
			break;
		if (from_link(s, &from, src))
			handle_packet(s, src, buf, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_round(gpointer user)
{
	struct idl_oneshot *o = user;
	struct idl_dns_question q = { o->type, IDL_DNS_PTR, IDL_DNS_CLASS_IN };

	for (guint i = 0; i < o->socks->len; i++)
		send_query(o->socks->pdata[i], &q, 1);
	if (++o->rounds < ROUNDS)
		return G_SOURCE_CONTINUE;
	g_source_unref(o->timer);
	o->timer = NULL;
	return G_SOURCE_REMOVE;
}

static struct sock *sock_for(struct idl_oneshot *o, unsigned ifindex, int family)
{
	for (guint i = 0; i < o->socks->len; i++) {
		struct sock *s = o->socks->pdata[i];
		if (s->ifindex == ifindex && s->family == family)
			return s;
	}
	return NULL;
}

static int sock_open(struct sock *s)
{
	int one = 1, ttl = 255;
	struct sockaddr_storage any = { .ss_family = (sa_family_t)s->family };

	s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (s->family == AF_INET) {
		struct ip_mreqn mr = { .imr_ifindex = (int)s->ifindex };

		if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0 ||
		    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
		    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0 ||
		    bind(s->fd, (struct sockaddr *)&any, sizeof(struct sockaddr_in)) < 0)
			return -errno;
	} else {
		int idx = (int)s->ifindex;

		if (setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0 ||
		    setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) < 0 ||
		    setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof(one)) < 0 ||
		    bind(s->fd, (struct sockaddr *)&any, sizeof(struct sockaddr_in6)) < 0)
			return -errno;
	}
	s->src = g_unix_fd_source_new(s->fd, G_IO_IN);
	g_source_set_callback(s->src, (GSourceFunc)(void (*)(void))on_readable, s, NULL);
	g_source_attach(s->src, g_main_context_get_thread_default());
	return 0;
}

/* Adds the address of i to its (interface, family) socket, opening that
 * socket first when it is the first. */
static void add_address(struct idl_oneshot *o, const struct ifaddrs *i)
{
	int family = i->ifa_addr->sa_family;
	unsigned ifindex = if_nametoindex(i->ifa_name);
	struct sock *s = sock_for(o, ifindex, family);
	struct net *net;
	int r;

	if (!ifindex)
		return;
	if (!s) {
		s = g_new0(struct sock, 1);
		s->o = o;
		s->fd = -1;
		s->family = family;
		s->ifindex = ifindex;
		g_strlcpy(s->ifname, i->ifa_name, sizeof(s->ifname));
		s->recs = g_ptr_array_new_with_free_func(rec_free);
		s->asked = g_ptr_array_new_with_free_func(rec_free);
		if ((r = sock_open(s)) < 0) {
			g_debug("no one-shot queries on %s (%s): %s", s->ifname,
				family == AF_INET ? "IPv4" : "IPv6", g_strerror(-r));
			sock_free(s);
			return;
		}
		g_ptr_array_add(o->socks, s);
	}
	if (s->n_nets >= MAX_NETS || !i->ifa_netmask)
		return;
	net = &s->nets[s->n_nets++];
	if (family == AF_INET) {
		memcpy(net->addr, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		memcpy(net->mask, &((const struct sockaddr_in *)i->ifa_netmask)->sin_addr, 4);
	} else {
		memcpy(net->addr, &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		memcpy(net->mask, &((const struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, 16);
	}
}

int idl_oneshot_new(const char *type, const char *interface, idl_oneshot_found_fn found, void *user,
		    struct idl_oneshot **out, GError **err)
{
	struct idl_oneshot *o = g_new0(struct idl_oneshot, 1);
	struct ifaddrs *ifs;
	char *fqdn = g_strconcat(type, ".local", NULL);
	int r;

	o->socks = g_ptr_array_new_with_free_func(sock_free);
	o->found = found;
	o->user = user;
	/* Answers echo it: a packet that does not is no answer to us. */
	o->id = (uint16_t)g_random_int_range(1, 0x10000);
	r = idl_dns_name_from_text(fqdn, &o->type);
	g_free(fqdn);
	if (r < 0) {
		r = idl_error_errno(err, r, "\"%s\" is not a service type", type);
		goto fail;
	}
	if (getifaddrs(&ifs) < 0) {
		r = idl_error_errno(err, -errno, "cannot list network interfaces: %s", g_strerror(errno));
		goto fail;
	}
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (!(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_MULTICAST) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (interface && strcmp(i->ifa_name, interface) != 0)
			continue;
		add_address(o, i);
	}
	freeifaddrs(ifs);
	if (o->socks->len == 0) {
		r = idl_error_errno(err, -ENETDOWN, "no interface to send one-shot mDNS queries on");
		goto fail;
	}
	on_round(o);
	o->timer = g_timeout_source_new(ROUND_GAP_MS);
	g_source_set_callback(o->timer, on_round, o, NULL);
	g_source_attach(o->timer, g_main_context_get_thread_default());
	*out = o;
	return 0;
fail:
	idl_oneshot_free(o);
	return r;
}

void idl_oneshot_free(struct idl_oneshot *o)
{
	if (!o)
		return;
	if (o->timer) {
		g_source_destroy(o->timer);
		g_source_unref(o->timer);
	}
	g_ptr_array_free(o->socks, TRUE);
	g_free(o);
}
