/* page: the device's web page (the files in web/page: HTML, CSS, JavaScript), compiled
 * into the binary as a GResource at build time and served at "/" and by
 * name, so a browser on a LAN without internet needs nothing else. */
#ifndef IDL_PAGE_H
#define IDL_PAGE_H

#include "web/http.h"

/* Adds a GET route for every file of the page, and "/" for index.html. */
void idl_page_register(struct idl_http *h);

#endif
