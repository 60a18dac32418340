/*
 * markup: text escaped for HTML and XML, one definition for every writer of markup (junit.xml,
 * report.html's diagnosis). & < > " ' become entities (safe in text and in quoted attribute
 * values); control characters other than tab, newline and carriage return, which XML 1.0 does
 * not allow, become U+FFFD. NULL writes nothing. Stateless; any thread (the FILE is the caller's).
 */
#ifndef MARKUP_H
#define MARKUP_H

#include <stdio.h>

void markup_escape(FILE *f, const char *s);

#endif
