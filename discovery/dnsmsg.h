/* dnsmsg: the DNS message format (RFC 1035 section 4, with mDNS's cache-flush
 * bit, RFC 6762 section 10.2) as pure functions over byte buffers: build a
 * query, read a response record by record. Used for the one-shot queries of
 * oneshot.c, whose answers come from any host on the LAN: every length,
 * count and compression pointer is checked before it is followed, so a
 * hostile packet gives -EBADMSG, never a read outside it. No I/O, no
 * globals; unit tested and fuzzed directly. */
#ifndef IDL_DNSMSG_H
#define IDL_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDL_DNS_HEADER_LEN 12
#define IDL_DNS_NAME_MAX 255         /* bytes of a name in wire form, root label included */
#define IDL_DNS_LABEL_MAX 63

enum idl_dns_type {
	IDL_DNS_A = 1,
	IDL_DNS_PTR = 12,
	IDL_DNS_TXT = 16,
	IDL_DNS_AAAA = 28,
	IDL_DNS_SRV = 33,
};

#define IDL_DNS_CLASS_IN 1
#define IDL_DNS_FLAG_QR 0x8000       /* a response */

/* A name in uncompressed wire form: length-prefixed labels ending with the
 * empty root label, len bytes in all (1 for the root). */
struct idl_dns_name {
	uint8_t wire[IDL_DNS_NAME_MAX];
	uint8_t len;
};

struct idl_dns_header {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct idl_dns_question {
	struct idl_dns_name name;
	uint16_t type, qclass;
};

enum idl_dns_section { IDL_DNS_ANSWER, IDL_DNS_AUTHORITY, IDL_DNS_ADDITIONAL };

/* One resource record. Pointers borrow the packet given to
 * idl_dns_reader_init; the union member is the one of type, and for any
 * other type only rdata/rdlength say what it held. */
struct idl_dns_rr {
	enum idl_dns_section section;
	struct idl_dns_name name;
	uint16_t type;
	uint16_t rclass;             /* the cache-flush bit cleared */
	bool cache_flush;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlength;
	union {
		struct idl_dns_name ptr;
		struct {
			uint16_t priority, weight, port;
			struct idl_dns_name target;
		} srv;
		uint8_t a[4];
		uint8_t aaaa[16];
	} u;                         /* TXT: the strings are rdata as is */
};

/* Reads one message: the header, then its questions, then its records in
 * order. Holds borrowed pointers into the packet, which must outlive it. */
struct idl_dns_reader {
	const uint8_t *pkt;
	size_t len;
	size_t off;
	struct idl_dns_header h;
	unsigned questions_left;
	unsigned records_read;
};

/* Starts reading pkt (len bytes) and fills r->h. Returns 0, or -EBADMSG
 * when the packet is shorter than a header. */
int idl_dns_reader_init(struct idl_dns_reader *r, const uint8_t *pkt, size_t len);

/* The next question into *q. Returns 1, 0 when none are left, or -EBADMSG
 * (the reader is then of no further use). */
int idl_dns_next_question(struct idl_dns_reader *r, struct idl_dns_question *q);

/* The next record of the answer, authority or additional section into
 * *rr, skipping any question not read yet. Returns 1, 0 when the counts
 * are used up, or -EBADMSG: a name malformed (a pointer that is not
 * strictly backwards, into the header or out of the packet; a label over
 * 63 bytes or of a reserved kind; over 255 bytes in all), a record cut
 * short, a count that promises more than the packet holds, or rdata of
 * PTR, SRV, A or AAAA that does not have the size its rdlength says.
 * Other types (TXT included) are returned with rdata unparsed. */
int idl_dns_next_rr(struct idl_dns_reader *r, struct idl_dns_rr *rr);

/* Builds a query with id and flags 0 (a plain mDNS query; the caller sends
 * it from a port other than 5353, which makes it a one-shot query, RFC 6762
 * section 5.1) holding the n questions. Returns the length written, or
 * -ENOSPC when cap is too small, -EINVAL for n over 65535. */
int idl_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct idl_dns_question *qs, size_t n);

/* Sets *out to the root name. */
void idl_dns_name_root(struct idl_dns_name *out);

/* Appends one label (len bytes, any bytes, dots included: a DNS-SD instance
 * name is one label) to *n, before its root label. Returns 0, or -EINVAL
 * for an empty label, one over 63 bytes, or a name that would pass 255. */
int idl_dns_name_push(struct idl_dns_name *n, const void *label, size_t len);

/* Parses dotted text ("_idrop._tcp.local", no escapes: for names we
 * write ourselves) into *out. Returns 0 or -EINVAL. */
int idl_dns_name_from_text(const char *text, struct idl_dns_name *out);

/* Sets *out to label + parent: "Alpha" + "_idrop._tcp.local". 0 or -EINVAL. */
int idl_dns_name_child(const void *label, size_t len, const struct idl_dns_name *parent,
		       struct idl_dns_name *out);

/* True when a and b are the same name, ASCII case ignored (RFC 1035 2.3.3). */
bool idl_dns_name_equal(const struct idl_dns_name *a, const struct idl_dns_name *b);

/* When n is exactly one label under parent, points *label at it (borrowed
 * from n), sets *len and returns true. */
bool idl_dns_name_under(const struct idl_dns_name *n, const struct idl_dns_name *parent,
			const uint8_t **label, size_t *len);

/* Writes n as dotted text ("a.local", no trailing dot) into buf. Returns the
 * length, -EINVAL when a label holds a dot or a NUL byte (the text would
 * name something else), -ENOSPC when cap is too small. */
int idl_dns_name_to_text(const struct idl_dns_name *n, char *buf, size_t cap);

#endif
