/* txt: encode and decode the idrop-lan DNS-SD TXT record (see txt.h). */
#include "discovery/txt.h"

#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "base/error.h"


static const struct {
	const char *token;
	unsigned bit;
} cap_names[] = {
	{ "info", IDL_CAP_INFO },
	{ "webrtc", IDL_CAP_WEBRTC },
};

gboolean idl_txt_tab_valid(const char *s, size_t len)
{
	if (len != IDL_TXT_TAB_LEN)
		return FALSE;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return FALSE;
	return TRUE;
}

static int put_item(uint8_t *buf, size_t cap, size_t *pos, const char *key, const char *val, size_t vlen)
{
	size_t klen = strlen(key);
	size_t n = klen + 1 + vlen;

	if (n > 255)
		return -EINVAL;
	if (*pos + 1 + n > cap)
		return -ENOSPC;
	buf[(*pos)++] = (uint8_t)n;
	memcpy(buf + *pos, key, klen);
	buf[*pos + klen] = '=';
	memcpy(buf + *pos + klen + 1, val, vlen);
	*pos += n;
	return 0;
}

int idl_txt_encode(const struct idl_txt *t, uint8_t *buf, size_t cap)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	char version[16], caps[128] = "", kind[2] = { t->kind ? t->kind : 'd', 0 };
	size_t pos = 0;
	int r;

	if (t->version == 0 || idl_fingerprint_parse(t->fingerprint, raw) < 0 ||
	    strlen(t->fingerprint) != IDL_FINGERPRINT_HEX_LEN)
		return -EINVAL;
	if (t->name[0] && !idl_name_valid(t->name, strlen(t->name)))
		return -EINVAL;
	if (kind[0] != 'd' && kind[0] != 'b')
		return -EINVAL;
	if (kind[0] == 'b' && (!idl_txt_tab_valid(t->tab, strlen(t->tab)) ||
			       (t->device[0] && !idl_name_valid(t->device, strlen(t->device)))))
		return -EINVAL;
	for (size_t i = 0; i < G_N_ELEMENTS(cap_names); i++) {
		if (!(t->caps & cap_names[i].bit))
			continue;
		if (caps[0])
			g_strlcat(caps, ",", sizeof(caps));
		g_strlcat(caps, cap_names[i].token, sizeof(caps));
	}
	g_snprintf(version, sizeof(version), "%u", t->version);

	if ((r = put_item(buf, cap, &pos, "v", version, strlen(version))) < 0 ||
	    (r = put_item(buf, cap, &pos, "fp", t->fingerprint, strlen(t->fingerprint))) < 0 ||
	    (r = put_item(buf, cap, &pos, "k", kind, 1)) < 0 ||
	    (r = put_item(buf, cap, &pos, "c", caps, strlen(caps))) < 0)
		return r;
	if (t->name[0] && (r = put_item(buf, cap, &pos, "n", t->name, strlen(t->name))) < 0)
		return r;
	if (kind[0] == 'b' && ((r = put_item(buf, cap, &pos, "t", t->tab, strlen(t->tab))) < 0 ||
			       (t->device[0] && (r = put_item(buf, cap, &pos, "d", t->device, strlen(t->device))) < 0)))
		return r;
	return (int)pos;
}

/* Parses a decimal version without sign, leading junk or overflow. */
static int parse_version(const uint8_t *v, size_t n, unsigned *out)
{
	unsigned long x = 0;

	if (n == 0 || n > 6)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (unsigned)(v[i] - '0');
	}
	if (x == 0)
		return -EINVAL;
	*out = (unsigned)x;
	return 0;
}

static unsigned parse_caps(const uint8_t *v, size_t n)
{
	unsigned caps = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && v[i] != ',')
			continue;
		for (size_t k = 0; k < G_N_ELEMENTS(cap_names); k++) {
			size_t tl = strlen(cap_names[k].token);
			if (tl == i - start && memcmp(v + start, cap_names[k].token, tl) == 0)
				caps |= cap_names[k].bit;
		}
		start = i + 1;
	}
	return caps;
}

int idl_txt_decode(const uint8_t *buf, size_t len, struct idl_txt *out, GError **err)
{
	enum { K_V, K_FP, K_N, K_C, K_K, K_D, K_T, K_COUNT };
	static const char *const keys[K_COUNT] = { "v", "fp", "n", "c", "k", "d", "t" };
	gboolean seen[K_COUNT] = { FALSE };
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	out->kind = 'd';
	while (pos < len) {
		size_t n = buf[pos++], klen = 0;
		const uint8_t *item = buf + pos, *val;
		size_t vlen;
		int k;

		if (n > len - pos)
			return idl_error_errno(err, -EINVAL, "TXT record is truncated");
		pos += n;
		while (klen < n && item[klen] != '=')
			klen++;
		if (klen == 0)
			continue;   /* RFC 6763 6.4: an empty key is silently ignored */
		for (k = 0; k < K_COUNT; k++)
			if (strlen(keys[k]) == klen && g_ascii_strncasecmp((const char *)item, keys[k], klen) == 0)
				break;
		if (k == K_COUNT || seen[k])
			continue;   /* unknown key, or a repeat: the first one wins */
		seen[k] = TRUE;
		val = item + klen + 1;
		vlen = klen < n ? n - klen - 1 : 0;
		if (klen == n)
			return idl_error_errno(err, -EINVAL, "TXT record has a known key without a value");
		switch (k) {
		case K_V:
			if (parse_version(val, vlen, &out->version) < 0)
				return idl_error_errno(err, -EINVAL, "TXT v= is not a version number");
			break;
		case K_FP: {
			char hex[IDL_FINGERPRINT_HEX_LEN + 1];
			if (vlen != IDL_FINGERPRINT_HEX_LEN)
				return idl_error_errno(err, -EINVAL, "TXT fp= is not a 64-digit fingerprint");
			memcpy(hex, val, vlen);
			hex[vlen] = 0;
			if (idl_fingerprint_parse(hex, raw) < 0)
				return idl_error_errno(err, -EINVAL, "TXT fp= is not a 64-digit fingerprint");
			idl_fingerprint_to_hex(raw, out->fingerprint);
			break;
		}
		case K_N:
			if (!idl_name_valid((const char *)val, vlen))
				return idl_error_errno(err, -EINVAL, "TXT n= is not a valid display name");
			memcpy(out->name, val, vlen);
			out->name[vlen] = 0;
			break;
		case K_C:
			out->caps = parse_caps(val, vlen);
			break;
		case K_K:
			if (vlen != 1 || (val[0] != 'd' && val[0] != 'b'))
				return idl_error_errno(err, -EINVAL, "TXT k= is not a known kind");
			out->kind = (char)val[0];
			break;
		case K_D:
			if (!idl_name_valid((const char *)val, vlen))
				return idl_error_errno(err, -EINVAL, "TXT d= is not a valid device name");
			memcpy(out->device, val, vlen);
			out->device[vlen] = 0;
			break;
		case K_T:
			if (!idl_txt_tab_valid((const char *)val, vlen))
				return idl_error_errno(err, -EINVAL, "TXT t= is not a 16-digit tab id");
			memcpy(out->tab, val, vlen);
			out->tab[vlen] = 0;
			break;
		}
	}
	if (!seen[K_V])
		return idl_error_errno(err, -EINVAL, "TXT record has no v= key: not an idrop-lan service");
	if (!seen[K_FP])
		return idl_error_errno(err, -EINVAL, "TXT record has no fp= key: the device cannot be verified");
	if (out->kind == 'b' && !seen[K_T])
		return idl_error_errno(err, -EINVAL, "TXT record of a browser has no t= key: it cannot be reached");
	if (out->kind != 'b')
		out->device[0] = out->tab[0] = 0;
	return 0;
}
