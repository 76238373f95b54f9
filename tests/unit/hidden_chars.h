/* Which code points are hidden (base/text.c idl_text_is_hidden_char; the
 * page's web/page/common.js HIDDEN_RE): one fixed table that
 * tests/unit/test_text.c checks against C and tests/browser/receiver_test.mjs
 * against the page, so the two rules cannot drift apart. Each range of
 * Unicode's Default_Ignorable_Code_Point is here by its ends, with the
 * neighbours just outside it; then format characters (Cf) stable since
 * Unicode 6, and characters that draw (spaces among them) which must stay
 * visible. Lines are "{ 0xXXXX, 0|1 }," (the Node test reads them so). */
static const struct {
	unsigned cp;
	int hidden;
} hidden_chars[] = {
	{ 0x0020, 0 }, { 0x0041, 0 }, { 0x00a0, 0 }, { 0x00ac, 0 }, { 0x00ad, 1 }, { 0x00ae, 0 },
	{ 0x034e, 0 }, { 0x034f, 1 }, { 0x0350, 0 },
	{ 0x061b, 0 }, { 0x061c, 1 },
	{ 0x115e, 0 }, { 0x115f, 1 }, { 0x1160, 1 }, { 0x1161, 0 },
	{ 0x17b3, 0 }, { 0x17b4, 1 }, { 0x17b5, 1 }, { 0x17b6, 0 },
	{ 0x180a, 0 }, { 0x180b, 1 }, { 0x180c, 1 }, { 0x180d, 1 }, { 0x180e, 1 }, { 0x180f, 1 }, { 0x1810, 0 },
	{ 0x200a, 0 }, { 0x200b, 1 }, { 0x200c, 1 }, { 0x200d, 1 }, { 0x200e, 1 }, { 0x200f, 1 }, { 0x2010, 0 },
	{ 0x2028, 1 }, { 0x2029, 1 },
	{ 0x202a, 1 }, { 0x202e, 1 }, { 0x202f, 0 },
	{ 0x205f, 0 }, { 0x2060, 1 }, { 0x2064, 1 }, { 0x2065, 1 }, { 0x2066, 1 }, { 0x2069, 1 }, { 0x206f, 1 },
	{ 0x2070, 0 },
	{ 0x3000, 0 }, { 0x3163, 0 }, { 0x3164, 1 }, { 0x3165, 0 },
	{ 0xfdff, 0 }, { 0xfe00, 1 }, { 0xfe0f, 1 }, { 0xfe10, 0 },
	{ 0xfefe, 0 }, { 0xfeff, 1 },
	{ 0xff9f, 0 }, { 0xffa0, 1 }, { 0xffa1, 0 },
	{ 0xffef, 0 }, { 0xfff0, 1 }, { 0xfff8, 1 }, { 0xfff9, 1 }, { 0xfffb, 1 }, { 0xfffc, 0 }, { 0xfffd, 0 },
	{ 0x1bc9f, 0 }, { 0x1bca0, 1 }, { 0x1bca3, 1 }, { 0x1bca4, 0 },
	{ 0x1d172, 0 }, { 0x1d173, 1 }, { 0x1d17a, 1 }, { 0x1d17b, 0 },
	{ 0xdffff, 0 }, { 0xe0000, 1 }, { 0xe0001, 1 }, { 0xe0020, 1 }, { 0xe007f, 1 }, { 0xe0080, 1 },
	{ 0xe0100, 1 }, { 0xe01ef, 1 }, { 0xe01f0, 1 }, { 0xe0fff, 1 }, { 0xe1000, 0 },
	/* Cf outside those ranges */
	{ 0x0600, 1 }, { 0x0605, 1 }, { 0x06dd, 1 }, { 0x070f, 1 }, { 0x110bd, 1 },
	/* letters, marks and spaces that draw */
	{ 0x0430, 0 }, { 0x03bf, 0 }, { 0x0301, 0 }, { 0x1680, 0 }, { 0x2000, 0 }, { 0x00ab, 0 }, { 0x201c, 0 },
	{ 0x1f4f1, 0 }, { 0x10ffff, 0 },
};
