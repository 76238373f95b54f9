/* libFuzzer target: the DNS message reader, which reads what any host on
 * the LAN sends to our one-shot queries. Any input must end in 0 or
 * -EBADMSG within a number of steps bounded by its size, every name read
 * must be a well-formed uncompressed name, and the questions read must
 * build into a query that reads back the same. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const struct idl_dns_name *n)
{
	size_t p = 0;
	char text[IDL_DNS_NAME_MAX + 1];

	if (n->len == 0)
		abort();
	while (n->wire[p]) {
		if (n->wire[p] > IDL_DNS_LABEL_MAX)
			abort();
		p += 1 + (size_t)n->wire[p];
		if (p >= n->len)
			abort();
	}
	if (p + 1 != n->len)
		abort();
	if (idl_dns_name_to_text(n, text, sizeof(text)) == -ENOSPC)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_dns_question qs[8], back;
	struct idl_dns_reader r;
	struct idl_dns_rr rr;
	uint8_t query[8 * (IDL_DNS_NAME_MAX + 4) + IDL_DNS_HEADER_LEN];
	size_t nq = 0, steps = 0;
	int ret, len;

	if (idl_dns_reader_init(&r, data, size) < 0)
		return 0;
	while ((ret = idl_dns_next_question(&r, &back)) > 0) {
		check_name(&back.name);
		if (nq < 8)
			qs[nq++] = back;
	}
	if (ret < 0 && ret != -EBADMSG)
		abort();
	while (ret == 0 && (ret = idl_dns_next_rr(&r, &rr)) > 0) {
		if (++steps > size)
			abort();
		check_name(&rr.name);
		if (rr.rdata < data || rr.rdata + rr.rdlength > data + size)
			abort();
		if (rr.type == IDL_DNS_PTR)
			check_name(&rr.u.ptr);
		if (rr.type == IDL_DNS_SRV)
			check_name(&rr.u.srv.target);
	}
	if (ret < 0 && ret != -EBADMSG)
		abort();

	len = idl_dns_build_query(query, sizeof(query), r.h.id, qs, nq);
	if (len < 0 || idl_dns_reader_init(&r, query, (size_t)len) < 0)
		abort();
	for (size_t i = 0; i < nq; i++) {
		if (idl_dns_next_question(&r, &back) != 1 || !idl_dns_name_equal(&back.name, &qs[i].name) ||
		    back.type != qs[i].type || back.qclass != qs[i].qclass)
			abort();
	}
	return 0;
}
