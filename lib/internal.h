/*
 * internal.h - helpers shared by the library's modules; not installed.
 */
#ifndef ACK_INTERNAL_H
#define ACK_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ackmilter.h"

#define ACK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* strdup/strndup that return NULL on failure (callers map to ACK_ENOMEM). */
char *ack__strdup(const char *s);
char *ack__strndup(const char *s, size_t n);
/* snprintf into err (may be NULL); never overflows, always terminates. */
void ack__seterr(char *err, size_t errlen, const char *fmt, ...) ACK_PRINTF(3, 4);
/* Make room in b for n more bytes and a NUL, n within b's cap (else
 * ACK_ETOOBIG, and b is marked truncated): the caller writes up to n
 * bytes at b->data + b->len, then sets len and the NUL itself. */
int ack__buf_reserve(ack_buf *b, size_t n);
/* ASCII case-insensitive compare of n bytes / of strings. */
int ack__strncasecmp(const char *a, const char *b, size_t n);
int ack__strcasecmp(const char *a, const char *b);
/* report.c: is name a header name TrackingHeader may be (a letter, then
 * letters, digits or '-', at most ACK_HEADER_NAME_MAX)? */
bool ack__header_name_ok(const char *name);
/* store_msg.c: the token of the message with this Message-ID, by the
 * Message-ID index alone (ack_store_lookup also takes tokens and queue
 * ids); what a read receipt's Original-Message-ID may name. */
int ack__store_lookup_msgid(ack_store *s, const char *msgid,
    char token[ACK_TOKEN_LEN + 1]);

/* ASCII lowercase of c (a byte value), as in the C locale. */
static inline int
ack__lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Do the 8 (4) bytes at s match those at k, in any case, where k holds
 * letters and '-' only?  A byte of s is folded to lowercase (0x20 set)
 * where k holds a letter only, so that no other byte passes for one. */
static inline bool
ack__same_letters8(const char *s, const char *k)
{
	uint64_t x, y, fold;

	memcpy(&x, s, 8);
	memcpy(&y, k, 8);
	fold = (y & 0x4040404040404040u) >> 1;
	return (x | fold) == (y | fold);
}

static inline bool
ack__same_letters4(const char *s, const char *k)
{
	uint32_t x, y, fold;

	memcpy(&x, s, 4);
	memcpy(&y, k, 4);
	fold = (y & 0x40404040u) >> 1;
	return (x | fold) == (y | fold);
}

/* Is s[0..n) the name k (n bytes, n >= 4: letters and '-' only), in any
 * case?  A word at a time; the last word may overlap the one before. */
static inline bool
ack__same_letters(const char *s, const char *k, size_t n)
{
	size_t i;

	if (n < 8)
		return ack__same_letters4(s, k) &&
		    ack__same_letters4(s + n - 4, k + n - 4);
	for (i = 0; i + 8 < n; i += 8)
		if (!ack__same_letters8(s + i, k + i))
			return false;
	return ack__same_letters8(s + n - 8, k + n - 8);
}

#endif
