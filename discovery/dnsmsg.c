/* dnsmsg: see dnsmsg.h. A reader that walks the packet once, copying each
 * name out uncompressed, so nothing past a record is ever trusted. */
#include "discovery/dnsmsg.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/bytes.h"

/* Reads the name at *off into *out. A compression pointer must point past
 * the header, before itself and before where the previous jump of this
 * name landed: every jump then lands further back than the last, so no
 * loop is possible and the walk ends within the packet. *off moves past
 * the name as written at *off (its first pointer, if any). */
static int read_name(const uint8_t *pkt, size_t len, size_t *off, struct idl_dns_name *out)
{
	size_t p = *off, end = 0, o = 0, lim = SIZE_MAX;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -EBADMSG;
		l = pkt[p];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (p + 1 >= len)
				return -EBADMSG;
			to = (size_t)(l & 0x3f) << 8 | pkt[p + 1];
			if (to >= p || to >= lim || to < IDL_DNS_HEADER_LEN)
				return -EBADMSG;
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = lim = to;
			continue;
		}
		if (l & 0xc0)        /* 0x40 and 0x80: extended and reserved label types */
			return -EBADMSG;
		if (l == 0)
			break;
		/* Room for the label and the root label after it. */
		if (o + 1 + l + 1 > IDL_DNS_NAME_MAX)
			return -EBADMSG;
		if (p + 1 + l > len)
			return -EBADMSG;
		memcpy(out->wire + o, pkt + p, 1 + (size_t)l);
		o += 1 + (size_t)l;
		p += 1 + (size_t)l;
	}
	out->wire[o++] = 0;
	out->len = (uint8_t)o;
	*off = jumped ? end : p + 1;
	return 0;
}

int idl_dns_reader_init(struct idl_dns_reader *r, const uint8_t *pkt, size_t len)
{
	memset(r, 0, sizeof(*r));
	if (len < IDL_DNS_HEADER_LEN)
		return -EBADMSG;
	r->pkt = pkt;
	r->len = len;
	r->off = IDL_DNS_HEADER_LEN;
	r->h.id = idl_get_be16(pkt);
	r->h.flags = idl_get_be16(pkt + 2);
	r->h.qdcount = idl_get_be16(pkt + 4);
	r->h.ancount = idl_get_be16(pkt + 6);
	r->h.nscount = idl_get_be16(pkt + 8);
	r->h.arcount = idl_get_be16(pkt + 10);
	r->questions_left = r->h.qdcount;
	return 0;
}

int idl_dns_next_question(struct idl_dns_reader *r, struct idl_dns_question *q)
{
	int ret;

	if (!r->questions_left)
		return 0;
	if ((ret = read_name(r->pkt, r->len, &r->off, &q->name)) < 0)
		return ret;
	if (r->len - r->off < 4)
		return -EBADMSG;
	q->type = idl_get_be16(r->pkt + r->off);
	q->qclass = idl_get_be16(r->pkt + r->off + 2);
	r->off += 4;
	r->questions_left--;
	return 1;
}

/* Parses the rdata of the types we use; its names may be compressed, so
 * they are read against the whole packet, but must end inside rdata. */
static int read_rdata(const struct idl_dns_reader *r, struct idl_dns_rr *rr)
{
	size_t start = (size_t)(rr->rdata - r->pkt), off = start, end = start + rr->rdlength;
	int ret;

	switch (rr->type) {
	case IDL_DNS_A:
		if (rr->rdlength != 4)
			return -EBADMSG;
		memcpy(rr->u.a, rr->rdata, 4);
		return 0;
	case IDL_DNS_AAAA:
		if (rr->rdlength != 16)
			return -EBADMSG;
		memcpy(rr->u.aaaa, rr->rdata, 16);
		return 0;
	case IDL_DNS_PTR:
		if ((ret = read_name(r->pkt, end, &off, &rr->u.ptr)) < 0)
			return ret;
		return off == end ? 0 : -EBADMSG;
	case IDL_DNS_SRV:
		if (rr->rdlength < 7)
			return -EBADMSG;
		rr->u.srv.priority = idl_get_be16(rr->rdata);
		rr->u.srv.weight = idl_get_be16(rr->rdata + 2);
		rr->u.srv.port = idl_get_be16(rr->rdata + 4);
		off += 6;
		if ((ret = read_name(r->pkt, end, &off, &rr->u.srv.target)) < 0)
			return ret;
		return off == end ? 0 : -EBADMSG;
	default:
		return 0;
	}
}

int idl_dns_next_rr(struct idl_dns_reader *r, struct idl_dns_rr *rr)
{
	struct idl_dns_question q;
	unsigned an = r->h.ancount, ns = r->h.nscount, total = an + ns + r->h.arcount;
	uint16_t rclass;
	int ret;

	while ((ret = idl_dns_next_question(r, &q)) > 0)
		;
	if (ret < 0)
		return ret;
	if (r->records_read >= total)
		return 0;
	rr->section = r->records_read < an ? IDL_DNS_ANSWER :
		      r->records_read < an + ns ? IDL_DNS_AUTHORITY : IDL_DNS_ADDITIONAL;
	if ((ret = read_name(r->pkt, r->len, &r->off, &rr->name)) < 0)
		return ret;
	if (r->len - r->off < 10)
		return -EBADMSG;
	rr->type = idl_get_be16(r->pkt + r->off);
	rclass = idl_get_be16(r->pkt + r->off + 2);
	rr->cache_flush = (rclass & 0x8000) != 0;
	rr->rclass = rclass & 0x7fff;
	rr->ttl = idl_get_be32(r->pkt + r->off + 4);
	rr->rdlength = idl_get_be16(r->pkt + r->off + 8);
	r->off += 10;
	if (r->len - r->off < rr->rdlength)
		return -EBADMSG;
	rr->rdata = r->pkt + r->off;
	if ((ret = read_rdata(r, rr)) < 0)
		return ret;
	r->off += rr->rdlength;
	r->records_read++;
	return 1;
}

int idl_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct idl_dns_question *qs, size_t n)
{
	size_t off = IDL_DNS_HEADER_LEN;

	if (n > 0xffff)
		return -EINVAL;
	if (cap < IDL_DNS_HEADER_LEN)
		return -ENOSPC;
	memset(buf, 0, IDL_DNS_HEADER_LEN);
	idl_put_be16(buf, id);
	idl_put_be16(buf + 4, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		if (cap - off < (size_t)qs[i].name.len + 4)
			return -ENOSPC;
		memcpy(buf + off, qs[i].name.wire, qs[i].name.len);
		off += qs[i].name.len;
		idl_put_be16(buf + off, qs[i].type);
		idl_put_be16(buf + off + 2, qs[i].qclass);
		off += 4;
	}
	return (int)off;
}

void idl_dns_name_root(struct idl_dns_name *out)
{
	out->wire[0] = 0;
	out->len = 1;
}

int idl_dns_name_push(struct idl_dns_name *n, const void *label, size_t len)
{
	if (len == 0 || len > IDL_DNS_LABEL_MAX || (size_t)n->len + 1 + len > IDL_DNS_NAME_MAX)
		return -EINVAL;
	n->wire[n->len - 1] = (uint8_t)len;
	memcpy(n->wire + n->len, label, len);
	n->len = (uint8_t)(n->len + 1 + len);
	n->wire[n->len - 1] = 0;
	return 0;
}

int idl_dns_name_from_text(const char *text, struct idl_dns_name *out)
{
	const char *p = text;

	idl_dns_name_root(out);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (idl_dns_name_push(out, p, l) < 0)
			return -EINVAL;
		p += l;
		if (*p == '.' && !*++p)
			break;   /* a trailing dot names the root, as written */
	}
	return 0;
}

int idl_dns_name_child(const void *label, size_t len, const struct idl_dns_name *parent,
		       struct idl_dns_name *out)
{
	if (len == 0 || len > IDL_DNS_LABEL_MAX || 1 + len + parent->len > IDL_DNS_NAME_MAX)
		return -EINVAL;
	out->wire[0] = (uint8_t)len;
	memcpy(out->wire + 1, label, len);
	memcpy(out->wire + 1 + len, parent->wire, parent->len);
	out->len = (uint8_t)(1 + len + parent->len);
	return 0;
}

static bool wire_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	/* Label lengths are below 'A', so folding them changes nothing. */
	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

bool idl_dns_name_equal(const struct idl_dns_name *a, const struct idl_dns_name *b)
{
	return a->len == b->len && wire_equal(a->wire, b->wire, a->len);
}

bool idl_dns_name_under(const struct idl_dns_name *n, const struct idl_dns_name *parent,
			const uint8_t **label, size_t *len)
{
	size_t l = n->wire[0];

	if (l == 0 || (size_t)n->len != 1 + l + parent->len ||
	    !wire_equal(n->wire + 1 + l, parent->wire, parent->len))
		return false;
	*label = n->wire + 1;
	*len = l;
	return true;
}

int idl_dns_name_to_text(const struct idl_dns_name *n, char *buf, size_t cap)
{
	size_t o = 0, p = 0;

	if (cap == 0)
		return -ENOSPC;
	while (p < n->len && n->wire[p]) {
		size_t l = n->wire[p];

		if (memchr(n->wire + p + 1, '.', l) || memchr(n->wire + p + 1, 0, l))
			return -EINVAL;
		if (o + (o ? 1 : 0) + l + 1 > cap)
			return -ENOSPC;
		if (o)
			buf[o++] = '.';
		memcpy(buf + o, n->wire + p + 1, l);
		o += l;
		p += 1 + l;
	}
	buf[o] = 0;
	return (int)o;
}
