/* Unit tests for web/qr: the terminal rendering of the page's address keeps
 * the code's geometry: a square with the quiet zone, the three finder
 * patterns in their corners (what a scanner locks on to), and each module
 * drawn light or dark as the matrix says. */
#include <string.h>
#include <glib.h>

#include "web/qr.h"

#define QUIET 4

/* The rendering back as a grid of modules: true = dark (not drawn). */
static bool *unrender(const char *text, int *side)
{
	char **lines = g_strsplit(text, "\n", -1);
	int rows = (int)g_strv_length(lines) - 1;   /* the last is "" after the final '\n' */
	int cols = (int)g_utf8_strlen(lines[0], -1);
	bool *g = g_new0(bool, (gsize)(2 * rows) * (gsize)cols);

	for (int r = 0; r < rows; r++) {
		const char *p = lines[r];
		g_assert_cmpint((int)g_utf8_strlen(p, -1), ==, cols);
		for (int c = 0; c < cols; c++, p = g_utf8_next_char(p)) {
			gunichar ch = g_utf8_get_char(p);
			bool top_light = ch == 0x2580 || ch == 0x2588, bottom_light = ch == 0x2584 || ch == 0x2588;
			g_assert_true(ch == ' ' || ch == 0x2580 || ch == 0x2584 || ch == 0x2588);
			g[(2 * r) * cols + c] = !top_light;
			g[(2 * r + 1) * cols + c] = !bottom_light;
		}
	}
	*side = cols;
	g_strfreev(lines);
	return g;
}

static void check_finder(const bool *g, int side, int x0, int y0)
{
	for (int y = 0; y < 7; y++)
		for (int x = 0; x < 7; x++) {
			bool ring = x == 1 || x == 5 || y == 1 || y == 5;
			bool inside_ring = x > 0 && x < 6 && y > 0 && y < 6;
			bool dark = !(ring && inside_ring);
			g_assert_cmpint(g[(y0 + y) * side + x0 + x], ==, dark);
		}
}

static void test_render(void)
{
	static const char *const urls[] = { "http://10.77.0.2:7757/", "http://192.168.100.200:65535/",
					     "http://laptop-with-a-long-name.local:7757/" };

	for (size_t i = 0; i < G_N_ELEMENTS(urls); i++) {
		int w, side;
		bool *m = idl_qr_matrix(urls[i], &w);
		char *text = idl_qr_render(urls[i]);
		bool *g;

		g_assert_nonnull(m);
		g_assert_nonnull(text);
		g_assert_cmpint(w, >=, 21);
		g = unrender(text, &side);
		g_assert_cmpint(side, ==, w + 2 * QUIET);
		/* Quiet zone light all round; every module as the matrix says. */
		for (int y = 0; y < side; y++)
			for (int x = 0; x < side; x++) {
				int mx = x - QUIET, my = y - QUIET;
				bool in = mx >= 0 && mx < w && my >= 0 && my < w;
				g_assert_cmpint(g[y * side + x], ==, in ? m[my * w + mx] : false);
			}
		check_finder(g, side, QUIET, QUIET);
		check_finder(g, side, QUIET + w - 7, QUIET);
		check_finder(g, side, QUIET, QUIET + w - 7);
		g_free(g);
		g_free(m);
		g_free(text);
	}
}

static void test_too_long(void)
{
	char *huge = g_strnfill(8000, 'x');
	int w;

	g_assert_null(idl_qr_render(huge));
	g_assert_null(idl_qr_matrix(huge, &w));
	g_free(huge);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qr/render", test_render);
	g_test_add_func("/qr/too-long", test_too_long);
	return g_test_run();
}
