/* libFuzzer target: the SDP parser, which reads what any peer on the LAN
 * posts as an offer or answer. Any input must give 0 or -EINVAL, with err set
 * exactly on failure and a zeroed result on failure; what is accepted must
 * respect every bound of struct idl_sdp, and building our own SDP from it
 * must parse back to the same values. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The oracle is written differently from sdp.c's check on purpose: a copy
 * would only agree with itself. */
static bool ice_string(const char *s, size_t min, size_t max)
{
	static const char ice_char[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, ice_char) == n;
}

static void check_accepted(const struct idl_sdp *s)
{
	size_t n = 0;

	if (!ice_string(s->ice_ufrag, 4, 256) || !ice_string(s->ice_pwd, 22, 256))
		abort();
	if (strnlen(s->mid, sizeof(s->mid)) == sizeof(s->mid) || s->sctp_port == 0 ||
	    (unsigned)s->setup > IDL_SDP_SETUP_PASSIVE || s->candidates == NULL)
		abort();
	for (; s->candidates[n]; n++) {
		const char *c = s->candidates[n];
		size_t len = strlen(c);

		if (strncmp(c, "candidate:", 10) != 0 || c[len - 1] == ' ')
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)c[i] < 0x20 || (unsigned char)c[i] > 0x7e)
				abort();
	}
	if (n > IDL_SDP_MAX_CANDIDATES)
		abort();
}

static void check_round_trip(const struct idl_sdp *s)
{
	struct idl_sdp_local l = {
		.session_id = 1,
		.ice_ufrag = s->ice_ufrag,
		.ice_pwd = s->ice_pwd,
		.fingerprint = s->fingerprint,
		.setup = s->setup,
		.mid = s->mid,
		.candidates = (const char *const *)s->candidates,
		.legacy = s->legacy,
	};
	struct idl_sdp back;
	char *text = idl_sdp_build(&l);
	size_t i;

	if (text == NULL || idl_sdp_parse(text, strlen(text), &back, NULL) != 0)
		abort();
	if (strcmp(back.ice_ufrag, s->ice_ufrag) || strcmp(back.ice_pwd, s->ice_pwd) ||
	    memcmp(back.fingerprint, s->fingerprint, sizeof(s->fingerprint)) ||
	    back.setup != s->setup || strcmp(back.mid, s->mid) || back.legacy != s->legacy ||
	    back.sctp_port != 5000 || back.max_message_size != 262144 || !back.end_of_candidates)
		abort();
	for (i = 0; s->candidates[i]; i++)
		if (back.candidates[i] == NULL || strcmp(back.candidates[i], s->candidates[i]))
			abort();
	if (back.candidates[i] != NULL)
		abort();
	idl_sdp_clear(&back);
	g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct idl_sdp zero;
	struct idl_sdp s;
	GError *err = NULL;
	/* An exact-size copy, so a read one byte too far is caught. */
	char *copy = g_memdup2(data, size);
	int r = idl_sdp_parse(copy, size, &s, &err);

	if ((r == 0) != (err == NULL) || (r != 0 && r != -EINVAL))
		abort();
	if (r == 0) {
		check_accepted(&s);
		check_round_trip(&s);
	} else if (memcmp(&s, &zero, sizeof(s)) != 0 || err->message[0] == 0) {
		abort();
	}
	g_clear_error(&err);
	idl_sdp_clear(&s);
	g_free(copy);
	return 0;
}
