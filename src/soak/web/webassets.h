/*
 * webassets: the live view's files (src/soak/web), embedded into soak at build time by
 * embed.cmake (the bytes of each file, NUL-terminated; _len without the NUL). Static, read-only.
 */
#ifndef SOAK_WEBASSETS_H
#define SOAK_WEBASSETS_H

#include <stddef.h>

extern const char webassets_live_html[]; /* live.html: the page served at / */
extern const size_t webassets_live_html_len;

#endif
