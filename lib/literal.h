/*
 * literal.h - required literals of pattern rules (literal.c), internal to
 * the library: what patterns.c keeps per rule and asks before running it.
 */
#ifndef ACK_LITERAL_H
#define ACK_LITERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime.h"

#define ACK__LIT_MAX 32 /* bytes kept of a required literal */

/* A rule's required literals and the keys of the triples of adjacent
 * bytes of each, flat: literal k's keys are keys[end[k - 1] .. end[k]). */
typedef struct ack__rule_lits {
	uint16_t *keys;
	uint16_t *end;
	char *text;        /* the literals, literal k at text[k * ACK__LIT_MAX] */
	uint8_t *len;      /* their lengths */
	uint8_t *anchor;   /* the offset of their rarest byte */
	size_t n;          /* 0: no filter for the rule */
} ack__rule_lits;

/* The required literals of regex re into rl (none when unsure). */
int ack__rule_literals(ack__rule_lits *rl, const char *re);
void ack__rule_lits_clear(ack__rule_lits *rl);
/* Does f apply to s[0..len) (is s inside the text it describes)? */
bool ack__pat_filter_covers(const ack__pat_filter *f, const char *s,
    size_t len);
/* In a regex, the end of the character class that starts at re ('['). */
const char *ack__re_skip_class(const char *re);
/* May a rule with literals rl match in s[0..len)?  False only when f
 * covers s and holds none of them. */
bool ack__rule_lits_may_match(const ack__rule_lits *rl,
    const ack__pat_filter *f, const char *s, size_t len);

/* patterns.c: the indexes (for ack__patterns_rule) of the rules of type
 * and scope, in load order; *n of them. */
const size_t *ack__patterns_of(const ack_patterns *pt, int type, int scope,
    size_t *n);

#endif
