/* qr: the page's address as a QR code in the terminal, for phones (which
 * often cannot resolve .local names). libqrencode makes the code; this
 * draws it with half blocks, two modules per character cell. */
#ifndef IDL_QR_H
#define IDL_QR_H

#include <stdbool.h>

/* Renders text as lines of UTF-8 ending in '\n', with the 4-module quiet
 * zone the standard asks for. Light modules are drawn (a dark terminal's
 * text color), dark ones left blank, so the code scans on the usual dark
 * background. Owned by the caller; NULL when text does not fit a code. */
char *idl_qr_render(const char *text);

/* The module matrix for tests: *width modules a side, row-major, true =
 * dark; owned by the caller. NULL when text does not fit. */
bool *idl_qr_matrix(const char *text, int *width);

#endif
