/*
 * literal.c - required literals: a cheap test, before a pattern rule runs
 * on a message's text, of whether it can match there at all.
 *
 * Before a rule runs on the text of a message, a cheap test tells whether
 * it can match at all: each rule gets, at load time, a set of literals
 * (lowercase) of which every match holds at least one, read off its
 * regex (one per alternative when it has several; none when unsure).
 * Where a part of a regex can match only a few strings (bytes, small
 * groups, optional parts, assertions that match no text) the literals
 * are those strings joined, so "message (?:is )?too (?:big|large)"
 * gives four long literals rather than "message ".
 *
 * A filter made once per text (ack__pat_filter_set) keeps a lowercase
 * copy (ASCII case folded, as PCRE2 folds it without UTF) and a map of
 * the hashes (keys) of its triples of adjacent bytes (marked with a
 * per-text number, so that a new text needs no clearing).  A literal is
 * looked for in the subject's part of the copy only when the map holds
 * all its triples; a rule none of whose literals is there cannot match
 * and is not run.  The keys of a rule's literals are tested once per
 * text (kept in the filter), in an order that rules out most literals
 * soonest.  A short subject outside any text gets a small filter on the
 * stack (ack__pat_small).  The test has no false negatives: results are
 * unchanged.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"
#include "literal.h"
#include "mime.h"

#define LITS_MAX 32    /* literals of one set (a filter keeps them as bits) */
#define LIT_DEPTH 8    /* group nesting followed */

typedef struct lit {
	char s[ACK__LIT_MAX];
	size_t n;
} lit;

typedef struct litset {
	lit v[LITS_MAX];
	size_t n;      /* 0: no literal known (anything may match) */
} litset;

typedef struct litscan {
	const char *p;
	bool fail;     /* a construct not understood: no literals at all */
} litscan;

static bool
is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* Is a worse required set than b (a shorter shortest literal, or as
 * short and more of them)?  An empty set is the worst. */
static bool
worse(const litset *a, const litset *b)
{
	size_t ma = SIZE_MAX, mb = SIZE_MAX;

	if (a->n == 0 || b->n == 0)
		return a->n == 0 && b->n != 0;
	for (size_t i = 0; i < a->n; i++)
		ma = a->v[i].n < ma ? a->v[i].n : ma;
	for (size_t i = 0; i < b->n; i++)
		mb = b->v[i].n < mb ? b->v[i].n : mb;
	return ma < mb || (ma == mb && a->n > b->n);
}

/* Add x to set a unless there already; false when a is full. */
static bool
set_add(litset *a, const lit *x)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].n == x->n && memcmp(a->v[i].s, x->s, x->n) == 0)
			return true;
	if (a->n == LITS_MAX)
		return false;
	a->v[a->n++] = *x;
	return true;
}

/* a = every string of a followed by one of b (kept to ACK__LIT_MAX
 * bytes: a prefix of a string every match holds is one too, and a
 * string cut there takes nothing more); false, a unchanged, when there
 * would be too many. */
static bool
set_product(litset *a, const litset *b)
{
	litset *r;

	if (a->n * b->n > LITS_MAX || (r = malloc(sizeof *r)) == NULL)
		return false;
	r->n = 0;
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++) {
			lit t = a->v[i];
			size_t k = b->v[j].n < ACK__LIT_MAX - t.n ? b->v[j].n :
			    ACK__LIT_MAX - t.n;

			memcpy(t.s + t.n, b->v[j].s, k);
			t.n += k;
			(void)set_add(r, &t);
		}
	*a = *r;
	free(r);
	return true;
}

/* A set of the one string s[0..n). */
static void
set_one(litset *a, const char *s, size_t n)
{
	a->n = 1;
	a->v[0].n = n;
	memcpy(a->v[0].s, s, n);
}

/* Has a fewer literals than b (or as many, and a longer shortest)?  An
 * empty set has the most. */
static bool
fewer(const litset *a, const litset *b)
{
	if (a->n == 0 || b->n == 0)
		return b->n == 0 && a->n != 0;
	return a->n < b->n || (a->n == b->n && worse(b, a));
}

/* What is known of a part of a regex: sets of literals one of which
 * every match holds, the best (req) and the one of fewest literals
 * (few) found (none: n == 0), and all, every string it can match when
 * they are few (unknown: n == 0). */
typedef struct litinfo {
	litset req;
	litset few;
	litset all;
} litinfo;

/* c, a set every match holds one of, as a candidate for the req and few
 * of g.  A set with a string shorter than a triple filters nothing. */
static void
candidate(const litset *c, litinfo *g)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].n < 3)
			return;
	if (c->n > 0 && worse(&g->req, c))
		g->req = *c;
	if (c->n > 0 && fewer(c, &g->few))
		g->few = *c;
}

/* What a quantifier allows of its atom. */
enum { Q_BAD = -1, Q_ONCE, Q_OPT, Q_ANY, Q_MORE };

/* The bounds of a {n}, {n,} or {n,m} at q ('{'), and past it in *end;
 * false when not understood.  *max is -1 when unbounded. */
static bool
braces(const char *q, long *min, long *max, const char **end)
{
	char *e;

	*min = strtol(q + 1, &e, 10);
	if (e == q + 1 || *min < 0)
		return false;
	*max = *min;
	if (*e == ',') {
		const char *m = e + 1;

		*max = strtol(m, &e, 10);
		if (e == m)
			*max = -1;
		else if (*max < *min)
			return false;
	}
	if (*e != '}')
		return false;
	*end = e + 1;
	return true;
}

/*
 * The quantifier after an atom at l->p, consumed with its lazy or
 * possessive mark: Q_ONCE when there is none (exactly one), Q_OPT for
 * at most one, Q_ANY for possibly none and possibly more, Q_MORE for at
 * least one and possibly more; Q_BAD when not understood.
 */
static int
quantifier(litscan *l)
{
	const char *q = l->p;
	long min, max;
	int kind;

	if (*q == '?')
		kind = Q_OPT, q++;
	else if (*q == '*')
		kind = Q_ANY, q++;
	else if (*q == '+')
		kind = Q_MORE, q++;
	else if (*q == '{') {
		if (!braces(q, &min, &max, &q))
			return Q_BAD;
		kind = min == 1 && max == 1 ? Q_ONCE : min > 0 ? Q_MORE :
		    max == 0 || max == 1 ? Q_OPT : Q_ANY;
	} else
		return Q_ONCE;
	if (*q == '?' || *q == '+')
		q++;
	l->p = q;
	return kind;
}

/* What an atom matches. */
enum { A_BYTE, A_EMPTY, A_GROUP, A_OTHER };

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* "\xhh" at l->p (one or two hex digits, as PCRE2 reads it without
 * braces): A_BYTE for an ASCII byte but NUL, A_OTHER for a byte past
 * ASCII (like such a byte written as it is). */
static int
hex_escape(litscan *l, int *c)
{
	int d;

	l->p++;
	*c = 0;
	for (int k = 0; k < 2 && (d = hexdigit(*l->p)) >= 0; k++, l->p++)
		*c = *c * 16 + d;
	return *c > 0 && *c < 0x80 ? A_BYTE : A_OTHER;
}

/*
 * An escape at l->p (after the backslash): A_BYTE and its byte in *c,
 * A_EMPTY for an assertion that matches no text, A_OTHER for a class or
 * anything else; l->fail for escapes that take arguments or refer back.
 */
static int
escape(litscan *l, int *c)
{
	*c = (unsigned char)*l->p;
	if (*c == 'x' && hexdigit(l->p[1]) >= 0)
		return hex_escape(l, c);
	if (*c == '\0' || strchr("xpPNgkQEoc0123456789", *c)) {
		l->fail = true;
		return A_OTHER;
	}
	l->p++;
	if (!is_alnum(*c))
		return *c < 0x80 ? A_BYTE : A_OTHER;
	if (strchr("bBAzZG", *c))
		return A_EMPTY;
	*c = *c == 't' ? '\t' : *c == 'n' ? '\n' : *c == 'r' ? '\r' : -1;
	return *c < 0 ? A_OTHER : A_BYTE;
}

static void alternation(litscan *l, int depth, litinfo *out);

/* A group at l->p (after its '('): A_GROUP and what is known of it in
 * *g, or A_EMPTY for lookarounds (they match no text). */
static int
lit_group(litscan *l, int depth, litinfo *g)
{
	const char *p = l->p;
	bool look = false;

	g->req.n = g->few.n = g->all.n = 0;
	if (*p == '*') {
		l->fail = true;
		return A_OTHER;
	}
	if (*p == '?') {
		if (p[1] == ':')
			p += 2;
		else if (p[1] == '=' || p[1] == '!')
			p += 2, look = true;
		else if (p[1] == '<' && (p[2] == '=' || p[2] == '!'))
			p += 3, look = true;
		else {
			l->fail = true;
			return A_OTHER;
		}
	}
	l->p = p;
	alternation(l, depth + 1, g);
	if (*l->p != ')')
		l->fail = true;
	else
		l->p++;
	return look ? A_EMPTY : A_GROUP;
}

/* A sequence being read: the required sets found so far (seq.req,
 * seq.few), the strings the atoms since the last break can match
 * together (run), whether there was no break at all, and the atom in
 * hand. */
typedef struct litseq {
	litinfo seq;
	litset run;
	bool whole;
	litinfo atom;
} litseq;

/* The run is broken: it is a candidate, and the next starts as one of
 * the strings of next (NULL: the empty string). */
static void
run_break(litseq *q, const litset *next)
{
	candidate(&q->run, &q->seq);
	q->whole = false;
	if (next != NULL)
		q->run = *next;
	else
		set_one(&q->run, "", 0);
}

/* The atom at l->p, read into q->atom: its kind (A_*), its byte. */
static int
atom_read(litscan *l, int depth, litseq *q, int *c)
{
	*c = (unsigned char)*l->p++;
	if (*c == '\\')
		return escape(l, c);
	if (*c == '[') {
		l->p = ack__re_skip_class(l->p - 1);
		return A_OTHER;
	}
	if (*c == '(')
		return lit_group(l, depth, &q->atom);
	if (*c == '^' || *c == '$')
		return A_EMPTY;
	if (*c == '*' || *c == '+' || *c == '?' || *c == '{')
		l->fail = true;
	/* bytes past ASCII: case folding left to PCRE2 */
	return *c == '.' || *c >= 0x80 ? A_OTHER : A_BYTE;
}

/*
 * One atom of a sequence: the strings it can match (a byte; an
 * assertion, none; a group's when few) extend the run; anything else
 * breaks it.  A mandatory group's required set is a candidate too.
 */
static void
atom(litscan *l, int depth, litseq *q)
{
	litset *all = &q->atom.all;
	int c, kind = atom_read(l, depth, q, &c), n;
	char b;

	if (l->fail || (n = quantifier(l)) == Q_BAD) {
		l->fail = true;
		return;
	}
	if (kind == A_EMPTY)
		return; /* an assertion, repeated or not, matches no text */
	if (kind == A_BYTE)
		b = (char)ack__lower(c), set_one(all, &b, 1);
	else if (kind == A_OTHER)
		all->n = 0;
	if (kind == A_GROUP && (n == Q_ONCE || n == Q_MORE)) {
		candidate(&q->atom.req, &q->seq);
		candidate(&q->atom.few, &q->seq);
	}
	if (n == Q_OPT && all->n > 0) {
		lit e = { .n = 0 };

		if (!set_add(all, &e))
			all->n = 0;
	}
	if (all->n > 1) /* the run as it is: fewer literals */
		candidate(&q->run, &q->seq);
	if (n == Q_ANY || all->n == 0)
		run_break(q, NULL);
	else if (!set_product(&q->run, all))
		run_break(q, all);
	if (n == Q_MORE) /* what follows is next to the last one only */
		run_break(q, all->n > 0 ? all : NULL);
}

/* A sequence up to '|', ')' or the end: the required sets in it, and
 * all it can match when known. */
static void
sequence(litscan *l, int depth, litinfo *out)
{
	litseq *q = malloc(sizeof *q);

	out->req.n = out->few.n = out->all.n = 0;
	if (q == NULL) {
		l->fail = true;
		return;
	}
	q->seq.req.n = q->seq.few.n = 0;
	q->whole = true;
	set_one(&q->run, "", 0);
	while (!l->fail && *l->p && *l->p != '|' && *l->p != ')')
		atom(l, depth, q);
	candidate(&q->run, &q->seq);
	*out = q->seq;
	out->all.n = 0;
	if (q->whole)
		out->all = q->run;
	free(q);
}

/* How many literals fewer has g->few than g->req? */
static size_t
saving(const litinfo *g)
{
	return g->req.n > g->few.n ? g->req.n - g->few.n : 0;
}

/* Into out, the union of the sets of v[0..n) (alternatives): when their
 * req sets are too many together, the few of those that save the most;
 * none when one has none. */
static void
alt_union(litinfo *out, litinfo *v, size_t n)
{
	size_t total = 0;
	bool req = true, few = true, all = true;

	for (size_t k = 0; k < n; k++)
		total += v[k].req.n;
	while (total > LITS_MAX) {
		size_t m = 0;

		for (size_t k = 1; k < n; k++)
			if (saving(&v[k]) > saving(&v[m]))
				m = k;
		if (saving(&v[m]) == 0)
			break;
		total -= saving(&v[m]);
		v[m].req = v[m].few;
	}
	out->req.n = out->few.n = out->all.n = 0;
	for (size_t k = 0; k < n; k++) {
		req = req && v[k].req.n > 0;
		few = few && v[k].few.n > 0;
		all = all && v[k].all.n > 0;
		for (size_t i = 0; req && i < v[k].req.n; i++)
			req = set_add(&out->req, &v[k].req.v[i]);
		for (size_t i = 0; few && i < v[k].few.n; i++)
			few = set_add(&out->few, &v[k].few.v[i]);
		for (size_t i = 0; all && i < v[k].all.n; i++)
			all = set_add(&out->all, &v[k].all.v[i]);
	}
	out->req.n = req ? out->req.n : 0;
	out->few.n = few ? out->few.n : 0;
	out->all.n = all ? out->all.n : 0;
}

/* Alternatives up to ')' or the end: the union of their sets (none when
 * there are more alternatives than literals in a set). */
static void
alternation(litscan *l, int depth, litinfo *out)
{
	litinfo *v = malloc((LITS_MAX + 1) * sizeof *v);
	size_t n = 0;

	out->req.n = out->few.n = out->all.n = 0;
	if (v == NULL || depth > LIT_DEPTH) {
		l->fail = true;
		free(v);
		return;
	}
	for (;;) { /* (past LITS_MAX alternatives, read into the last slot) */
		sequence(l, depth, &v[n < LITS_MAX ? n : LITS_MAX]);
		n++;
		if (l->fail || *l->p != '|')
			break;
		l->p++;
	}
	if (!l->fail && n <= LITS_MAX)
		alt_union(out, v, n);
	free(v);
}

/*
 * The filter's key of the three (lowercase) bytes at p: 16 bits of a
 * multiplicative hash.  p[3] is read too but has no effect: on a
 * little-endian machine it is the top byte of the load, which the
 * factor's low zero byte shifts out (elsewhere a shift drops it).
 */
static inline uint16_t
tri_key_at(const unsigned char *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof w);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
#endif
	return (uint16_t)((w * (2654435761u << 8)) >> 16);
}

static uint16_t
tri_key(unsigned a, unsigned b, unsigned c)
{
	const unsigned char t[4] = { (unsigned char)a, (unsigned char)b,
	    (unsigned char)c, 0 };

	return tri_key_at(t);
}

/* How rare byte c is in mail text: its place in a rough English
 * ranking, most common first (any byte not listed is rarer). */
static size_t
rarity(char c)
{
	static const char common[] = " etaoinsrhldcumfpgwyb.\n,-vk0123456789:";
	const char *p = c ? strchr(common, c) : NULL;

	return p ? (size_t)(p - common) : sizeof common;
}

/* The offset of the byte of s[0..n) least common in mail text. */
static size_t
rarest(const char *s, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (rarity(s[i]) > rarity(s[best]))
			best = i;
	return best;
}

/* Drop each literal of set that holds a shorter one (or an equal one
 * before it): where it is, so is the other, so it tells nothing more. */
static void
prune(litset *set)
{
	bool drop[LITS_MAX] = { false };
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		for (size_t j = 0; j < set->n && !drop[i]; j++)
			drop[i] = j != i && set->v[j].n <= set->v[i].n &&
			    (set->v[j].n < set->v[i].n || j < i) &&
			    memmem(set->v[i].s, set->v[i].n, set->v[j].s,
			    set->v[j].n) != NULL;
	for (size_t i = 0; i < set->n; i++)
		if (!drop[i])
			set->v[n++] = set->v[i];
	set->n = n;
}

/* Add the key of the triple at t (in literal j) to rl's distinct keys,
 * with its rarity in score[]. */
static void
add_key(ack__rule_lits *rl, size_t *score, const char *t, size_t j)
{
	uint16_t k = tri_key((unsigned char)t[0], (unsigned char)t[1],
	    (unsigned char)t[2]);
	size_t i = 0;

	while (i < rl->nkeys && rl->keys[i] != k)
		i++;
	if (i == rl->nkeys) {
		rl->keys[rl->nkeys++] = k;
		rl->holders[i] = 0;
		score[i] = rarity(t[0]) + rarity(t[1]) + rarity(t[2]);
	}
	rl->holders[i] |= (uint32_t)1 << j;
}

/* The number of bits set in m. */
static size_t
bits(uint32_t m)
{
	size_t n = 0;

	for (; m != 0; m &= m - 1)
		n++;
	return n;
}

/* Order the keys so that a text lacking the literals shows it soon:
 * first the key that, missing, rules out most literals not ruled out by
 * the keys before it, weighted by rarity (when none would, a new round
 * starts, for texts where those keys were all present). */
static void
order_keys(ack__rule_lits *rl, size_t *score)
{
	uint32_t out = 0, th;
	size_t i = 0, ts;
	uint16_t tk;

	while (i < rl->nkeys) {
		size_t best = i, bw = 0;

		for (size_t k = i; k < rl->nkeys; k++) {
			size_t w = bits(rl->holders[k] & ~out) * (1 + score[k]);

			if (w > bw)
				best = k, bw = w;
		}
		if (bw == 0) {
			out = 0;
			continue;
		}
		tk = rl->keys[i], rl->keys[i] = rl->keys[best];
		rl->keys[best] = tk;
		th = rl->holders[i], rl->holders[i] = rl->holders[best];
		rl->holders[best] = th;
		ts = score[i], score[i] = score[best], score[best] = ts;
		out |= rl->holders[i++];
	}
}

/* Keep the set in rl with the distinct keys of the triples of adjacent
 * bytes of its literals (no filter when one is shorter than three). */
static int
keep_lits(ack__rule_lits *rl, litset *set)
{
	size_t nk = 0, *score;

	rl->n = 0;
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].n < 3)
			return ACK_OK;
	if (set->n == 0)
		return ACK_OK;
	prune(set);
	for (size_t i = 0; i < set->n; i++)
		nk += set->v[i].n - 2;
	rl->keys = calloc(nk, sizeof *rl->keys);
	rl->holders = calloc(nk, sizeof *rl->holders);
	rl->text = calloc(set->n, ACK__LIT_MAX);
	rl->len = calloc(set->n, sizeof *rl->len);
	rl->anchor = calloc(set->n, sizeof *rl->anchor);
	score = calloc(nk, sizeof *score);
	if (!rl->keys || !rl->holders || !rl->text || !rl->len || !rl->anchor ||
	    !score) {
		free(score);
		return ACK_ENOMEM;
	}
	for (size_t i = 0; i < set->n; i++) {
		const lit *t = &set->v[i];

		memcpy(rl->text + i * ACK__LIT_MAX, t->s, t->n);
		rl->len[i] = (uint8_t)t->n;
		rl->anchor[i] = (uint8_t)rarest(t->s, t->n);
		for (size_t j = 0; j + 2 < t->n; j++)
			add_key(rl, score, t->s + j, i);
	}
	order_keys(rl, score);
	free(score);
	rl->n = set->n;
	return ACK_OK;
}

int
ack__rule_literals(ack__rule_lits *rl, const char *re)
{
	litscan l = { re, false };
	litinfo *set = malloc(sizeof *set);
	int rc;

	memset(rl, 0, sizeof *rl);
	if (set == NULL)
		return ACK_ENOMEM;
	alternation(&l, 0, set);
	if (l.fail || *l.p != '\0')
		set->req.n = 0;
	rc = keep_lits(rl, &set->req);
	free(set);
	return rc;
}

/* The literals of a rule whose triples are all in the filter's text,
 * as found at one state of the filter (its epoch). */
struct ack__lit_memo {
	const ack__rule_lits *rl; /* the rule's (ids of two sets may clash) */
	uint32_t epoch;
	uint32_t mask;       /* bit j: literal j */
};

#define MARKS 65536      /* marks of a filter: one a key */
#define SMALL_SHIFT 4    /* a small filter's: one for 2^4 keys */

_Static_assert(MARKS >> SMALL_SHIFT == ACK__PAT_SMALL_MARKS, "small marks");

ack__pat_filter *
ack__pat_filter_new(void)
{
	ack__pat_filter *f = calloc(1, sizeof *f + MARKS);

	if (f != NULL)
		f->mark = (uint8_t *)(f + 1);
	return f;
}

void
ack__pat_filter_free(ack__pat_filter *f)
{
	if (f != NULL) {
		free(f->low);
		free(f->memo);
	}
	free(f);
}

/* The filter describes another text or more of it: what was found of
 * the last is stale (memos all cleared once in 2^32 changes). */
static void
new_epoch(ack__pat_filter *f)
{
	if (++f->epoch == 0) {
		if (f->memo != NULL)
			memset(f->memo, 0, f->nmemo * sizeof *f->memo);
		f->epoch = 1;
	}
}

/* ASCII lowercase (as PCRE2 folds case without UTF) of the 8 bytes of
 * x: in each byte below 0x80, 0x20 added to 'A'..'Z' (0x41..0x5a). */
static inline uint64_t
lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
	uint64_t seven = x & ~high;
	uint64_t ge_a = seven + ones * (0x80 - 'A');  /* high bit: >= 'A' */
	uint64_t gt_z = seven + ones * (0x7f - 'Z');  /* high bit: > 'Z' */

	return x | ((ge_a & ~gt_z & ~x & high) >> 2);
}

/* low[from..len) = the ASCII lowercase of u[from..len), 16 or 8 bytes
 * a step. */
static void
lower_copy(char *low, const unsigned char *u, size_t from, size_t len)
{
	size_t i = from;

#ifdef __SSE2__
	const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1);
	const __m128i bit = _mm_set1_epi8(0x20);

	for (; i + 16 <= len; i += 16) { /* (signed: bytes past 0x7f < 'A') */
		__m128i x = _mm_loadu_si128((const void *)(u + i));
		__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, a1),
		    _mm_cmplt_epi8(x, z1));

		x = _mm_or_si128(x, _mm_and_si128(up, bit));
		_mm_storeu_si128((__m128i *)(void *)(low + i), x);
	}
#endif
	for (; i + 8 <= len; i += 8) {
		uint64_t x;

		memcpy(&x, u + i, sizeof x);
		x = lower8(x);
		memcpy(low + i, &x, sizeof x);
	}
	for (; i < len; i++)
		low[i] = (char)ack__lower(u[i]);
}

/* Mark with gen, in mark[key], the triples of low[i..len) (low[len]
 * readable). */
static void
mark_triples(const unsigned char *low, size_t i, size_t len, uint8_t *mark,
    uint8_t gen)
{
	/* (unrolled: the hottest loop of the filter) */
	for (; len >= 2 && i + 8 <= len - 2; i += 8) {
		mark[tri_key_at(low + i)] = gen;
		mark[tri_key_at(low + i + 1)] = gen;
		mark[tri_key_at(low + i + 2)] = gen;
		mark[tri_key_at(low + i + 3)] = gen;
		mark[tri_key_at(low + i + 4)] = gen;
		mark[tri_key_at(low + i + 5)] = gen;
		mark[tri_key_at(low + i + 6)] = gen;
		mark[tri_key_at(low + i + 7)] = gen;
	}
	for (; i + 2 < len; i++)
		mark[tri_key_at(low + i)] = gen;
}

/* Lowercase s[from..len) into f->low and mark its triples (with the
 * bytes before from). */
static void
filter_scan(ack__pat_filter *f, const char *s, size_t from, size_t len)
{
	size_t i = from >= 2 ? from - 2 : 0;

	lower_copy(f->low, (const unsigned char *)s, from, len);
	f->low[len] = '\0'; /* read, without effect, by the last key */
	mark_triples((const unsigned char *)f->low, i, len, f->mark, f->gen);
}

ack__pat_filter *
ack__pat_small_set(ack__pat_small *sm, const char *s, size_t len)
{
	ack__pat_filter *f = &sm->f;

	if (s == NULL || len > ACK__PAT_SMALL_MAX)
		return NULL;
	memset(f, 0, sizeof *f);
	memset(sm->mark, 0, sizeof sm->mark);
	f->s = s;
	f->len = len;
	f->low = sm->low;
	f->size = sizeof sm->low;
	f->epoch = f->gen = 1;
	f->small = true;
	f->mark = sm->mark;
	lower_copy(f->low, (const unsigned char *)s, 0, len);
	f->low[len] = '\0';
	for (size_t i = 0; i + 2 < len; i++)
		f->mark[tri_key_at((const unsigned char *)f->low + i) >>
		    SMALL_SHIFT] = 1;
	return f;
}

/* A new text: a new mark, so that the keys of the last are not seen
 * (all cleared once in 255 texts). */
void
ack__pat_filter_set(ack__pat_filter *f, const char *s, size_t len)
{
	if (++f->gen == 0) {
		memset(f->mark, 0, MARKS);
		f->gen = 1;
	}
	f->s = s;
	f->len = 0;
	new_epoch(f);
	ack__pat_filter_extend(f, s ? len : 0);
}

void
ack__pat_filter_extend(ack__pat_filter *f, size_t len)
{
	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	if (f->s == NULL || len <= f->len)
		return;
	if (len + 1 > f->size) {
		char *low = realloc(f->low, len + 1);

		if (low == NULL) {
			f->s = NULL; /* filters nothing */
			return;
		}
		f->low = low;
		f->size = len + 1;
	}
	filter_scan(f, f->s, f->len, len);
	f->len = len;
	new_epoch(f);
}

/* The first place of w[0..n) in h[0..hn), or NULL.  Candidates are the
 * places of its byte at offset anc (its rarest), found with memchr. */
static const char *
lit_find(const char *h, size_t hn, const char *w, size_t n, size_t anc)
{
	const char *p, *end;

	if (hn < n)
		return NULL;
	p = h + anc;
	end = h + hn - (n - anc - 1); /* the anchor of the last place + 1 */
	while (p < end && (p = memchr(p, w[anc], (size_t)(end - p))) != NULL) {
		/* (its ends first: most places differ there) */
		if (p[-(ptrdiff_t)anc] == w[0] && p[n - 1 - anc] == w[n - 1] &&
		    memcmp(p - anc, w, n) == 0)
			return p - anc;
		p++;
	}
	return NULL;
}

/* The number of the lowest bit set in m (not 0). */
static inline size_t
low_bit(uint32_t m)
{
#if defined(__GNUC__)
	return (size_t)__builtin_ctz(m);
#else
	size_t j = 0;

	while (!(m & 1))
		m >>= 1, j++;
	return j;
#endif
}

/* The literals of rl every triple of which is in f's text (a quick test
 * most literals fail), as a mask; found once per text (and length) and
 * rule when there is room to keep it. */
static uint32_t
lits_keyed(ack__pat_filter *f, const ack__rule_lits *rl)
{
	uint32_t mask = rl->n < 32 ? ((uint32_t)1 << rl->n) - 1 : ~(uint32_t)0;

	if (f->small) { /* nothing kept */
		for (size_t k = 0; k < rl->nkeys && mask != 0; k++)
			if (f->mark[rl->keys[k] >> SMALL_SHIFT] != f->gen)
				mask &= ~rl->holders[k];
		return mask;
	}
	if (rl->id >= f->nmemo) {
		size_t n = rl->id + 64;
		ack__lit_memo *m = realloc(f->memo, n * sizeof *m);

		if (m != NULL) {
			memset(m + f->nmemo, 0, (n - f->nmemo) * sizeof *m);
			f->memo = m;
			f->nmemo = n;
		}
	}
	if (rl->id < f->nmemo && f->memo[rl->id].epoch == f->epoch &&
	    f->memo[rl->id].rl == rl)
		return f->memo[rl->id].mask;
	for (size_t k = 0; k < rl->nkeys && mask != 0; k++)
		if (f->mark[rl->keys[k]] != f->gen)
			mask &= ~rl->holders[k];
	if (rl->id < f->nmemo) {
		f->memo[rl->id].rl = rl;
		f->memo[rl->id].epoch = f->epoch;
		f->memo[rl->id].mask = mask;
	}
	return mask;
}

/* Does f describe s[0..len) (len already capped)? */
static inline bool
covers(const ack__pat_filter *f, const char *s, size_t len)
{
	return f != NULL && f->s != NULL && s != NULL &&
	    (uintptr_t)s >= (uintptr_t)f->s &&
	    (uintptr_t)s + len <= (uintptr_t)f->s + f->len;
}

bool
ack__pat_filter_covers(const ack__pat_filter *f, const char *s, size_t len)
{
	return covers(f, s, len > ACK__PAT_SUBJECT_MAX ? ACK__PAT_SUBJECT_MAX : len);
}

/* Past the character class that starts at re[0] ('['). */
const char *
ack__re_skip_class(const char *re)
{
	const char *q = re + 1;

	if (*q == '^')
		q++;
	if (*q == ']') /* a leading ']' is a member */
		q++;
	for (; *q && *q != ']'; q++)
		if (*q == '\\' && q[1])
			q++;
		else if (*q == '[' && q[1] == ':' && strstr(q + 2, ":]"))
			q = strstr(q + 2, ":]") + 1; /* [:alpha:] */
	return *q ? q + 1 : q;
}

void
ack__rule_lits_clear(ack__rule_lits *rl)
{
	free(rl->keys);
	free(rl->holders);
	free(rl->text);
	free(rl->len);
	free(rl->anchor);
	memset(rl, 0, sizeof *rl);
}

bool
ack__rule_lits_may_match(const ack__rule_lits *rl, ack__pat_filter *f,
    const char *s, size_t len)
{
	const char *low;
	uint32_t mask;

	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	if (rl->n == 0 || !covers(f, s, len))
		return true;
	low = f->low + (s - f->s);
	for (mask = lits_keyed(f, rl); mask != 0; mask &= mask - 1) {
		size_t j = low_bit(mask);

		if (lit_find(low, len, rl->text + j * ACK__LIT_MAX, rl->len[j],
		    rl->anchor[j]) != NULL)
			return true;
	}
	return false;
}
