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

/* A rule's required literals and the distinct keys of the triples of
 * adjacent bytes in them, each with the literals that hold it, in the
 * order a filter tests them. */
typedef struct ack__rule_lits {
	uint16_t *keys;
	uint32_t *holders; /* of keys[i]: bit k for literal k */
	size_t nkeys;
	char *text;        /* the literals, literal k at text[k * ACK__LIT_MAX] */
	uint8_t *len;      /* their lengths */
	uint8_t *anchor;   /* the offset of their rarest byte */
	size_t n;          /* 0: no filter for the rule */
	size_t id;         /* the rule's number, for what a filter keeps */
} ack__rule_lits;

#define ACK__PAT_SMALL_MAX 1024 /* bytes of a subject a small filter takes */
#define ACK__PAT_SMALL_MARKS 4096 /* its map: one mark for 16 keys */

typedef struct ack__lit_memo ack__lit_memo;

/* A filter (see mime.h), here so that a small one fits on the stack. */
struct ack__pat_filter {
	const char *s;        /* the text the filter is of */
	size_t len;
	char *low;            /* a copy of s, ASCII lowercase, and a 0 byte */
	size_t size;          /* of low */
	uint32_t epoch;       /* of the text and length described (never 0) */
	ack__lit_memo *memo;  /* by rule id (see ack__rule_lits) */
	size_t nmemo;
	bool small;           /* an ack__pat_small: no memo, fewer marks */
	uint8_t gen;          /* the mark of the keys of this text */
	uint8_t *mark;        /* gen at the keys of its triples of bytes */
};

/* A filter of a short subject outside any text, that needs no memory
 * but its own (a coarser map of keys). */
typedef struct ack__pat_small {
	ack__pat_filter f;
	char low[ACK__PAT_SMALL_MAX + 1];
	uint8_t mark[ACK__PAT_SMALL_MARKS];
} ack__pat_small;

/* sm made a filter of s[0..len): its filter, or NULL when s is NULL or
 * longer than ACK__PAT_SMALL_MAX. */
ack__pat_filter *ack__pat_small_set(ack__pat_small *sm, const char *s,
    size_t len);
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
    ack__pat_filter *f, const char *s, size_t len);

/* patterns.c: the indexes (for ack__patterns_rule) of the rules of type
 * and scope, in load order; *n of them. */
const size_t *ack__patterns_of(const ack_patterns *pt, int type, int scope,
    size_t *n);

#endif
