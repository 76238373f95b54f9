/* libFuzzer target: the known_peers parser. The file lives in the state
 * directory, where another program, a hand edit or a disk that lost power
 * may have left anything. Any input must give 0 or -EINVAL (with a message
 * and no list); a list accepted must hold only valid entries, and format
 * to text that parses back to the same text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trust/known.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entries(const struct idl_known *k)
{
	for (guint i = 0; i < idl_known_count(k); i++) {
		const struct idl_known_peer *p = idl_known_get(k, i);

		size_t len = strlen(p->name);

		/* Names read back need only be free of control characters (files
		 * 0.1.0 wrote may hold hidden ones); each entry is found by its
		 * name and key. */
		if (strlen(p->fingerprint) != IDL_FINGERPRINT_HEX_LEN ||
		    strspn(p->fingerprint, "0123456789abcdef") != IDL_FINGERPRINT_HEX_LEN || len == 0 ||
		    len > IDL_NAME_MAX || !g_utf8_validate(p->name, (gssize)len, NULL) ||
		    (p->source != IDL_KNOWN_VERIFIED && p->source != IDL_KNOWN_CLAIMED) ||
		    idl_known_find(k, p->name, p->fingerprint) == NULL)
			abort();
		for (size_t j = 0; j < len; j++)
			if ((unsigned char)p->name[j] < 0x20 || p->name[j] == 0x7f)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idl_known *k = NULL, *again = NULL;
	GError *err = NULL;
	char *text, *text2;
	int r;

	r = idl_known_parse((const char *)data, size, &k, &err);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r != 0) {
		if (k || !err)
			abort();
		g_error_free(err);
		return 0;
	}
	if (!k || err)
		abort();
	check_entries(k);
	text = idl_known_format(k);
	if (idl_known_parse(text, strlen(text), &again, NULL) != 0 || idl_known_count(again) != idl_known_count(k))
		abort();
	text2 = idl_known_format(again);
	if (strcmp(text, text2) != 0)
		abort();
	/* The edits keep the list valid too. */
	if (idl_known_count(k) > 0) {
		const struct idl_known_peer *p = idl_known_get(k, 0);
		char name[IDL_NAME_MAX + 1], fp[IDL_FINGERPRINT_HEX_LEN + 1];

		memcpy(name, p->name, sizeof(name));
		memcpy(fp, p->fingerprint, sizeof(fp));
		enum idl_known_source source = p->source;
		int t;

		/* A name with hidden characters (from 0.1.0) is not recorded anew. */
		r = idl_known_record(k, name, fp, source, 0);
		if (r != 0 && !(r == -EINVAL && !idl_name_valid(name, strlen(name))))
			abort();
		/* By name: unless several keys claimed it, then by fingerprint. */
		t = idl_known_trust(k, name);
		if ((t < 1 && t != -ENOTUNIQ) || idl_known_trust(k, fp) < 1 || !idl_known_trusted(k, fp) ||
		    idl_known_forget(k, fp) < 1 || idl_known_find_fingerprint(k, fp))
			abort();
		check_entries(k);
	}
	g_free(text);
	g_free(text2);
	idl_known_free(k);
	idl_known_free(again);
	return 0;
}
