/* qr: see qr.h. */
#include "web/qr.h"

#include <glib.h>
#include <qrencode.h>

#define QUIET 4

bool *idl_qr_matrix(const char *text, int *width)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	bool *m;

	if (!q)
		return NULL;
	*width = q->width;
	m = g_new(bool, (gsize)q->width * (gsize)q->width);
	for (int i = 0; i < q->width * q->width; i++)
		m[i] = q->data[i] & 1;   /* bit 0: dark; the rest says what the module is */
	QRcode_free(q);
	return m;
}

char *idl_qr_render(const char *text)
{
	static const char *const cell[4] = { " ", "\u2584", "\u2580", "\u2588" }; /* top light: 2, bottom light: 1 */
	int w, side;
	bool *m = idl_qr_matrix(text, &w);
	GString *out;

	if (!m)
		return NULL;
	side = w + 2 * QUIET;
	out = g_string_new(NULL);
	for (int y = 0; y < side; y += 2) {
		for (int x = 0; x < side; x++) {
			int mx = x - QUIET, my = y - QUIET;
			bool top = mx >= 0 && mx < w && my >= 0 && my < w && m[my * w + mx];
			bool bottom = mx >= 0 && mx < w && my + 1 >= 0 && my + 1 < w && m[(my + 1) * w + mx];
			g_string_append(out, cell[(!top ? 2 : 0) | (!bottom ? 1 : 0)]);
		}
		g_string_append_c(out, '\n');
	}
	g_free(m);
	return g_string_free(out, FALSE);
}
