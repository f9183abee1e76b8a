/*
 * literal.c - required literals: a cheap test, before a pattern rule runs
 * on a message's text, of whether it can match there at all.
 *
 * Before a rule runs on the text of a message, a cheap test tells whether
 * it can match at all: each rule gets, at load time, a set of literals
 * (lowercase) of which every match holds at least one, read off its
 * regex (one per alternative when it has several; none when unsure).  A
 * filter made once per text (ack__pat_filter_set) keeps a lowercase copy
 * (ASCII case folded, as PCRE2 folds it without UTF) and a map of the
 * hashes of its triples of adjacent bytes (marked with a per-text
 * number, so that a new text needs no clearing).  A literal is looked
 * for in the subject's part of the copy only when the map holds all its
 * triples; a rule none of whose literals is there cannot match and is
 * not run.  The test has no false negatives: results are unchanged.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "literal.h"
#include "mime.h"

#define LITS_MAX 32    /* literals of one set */
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

static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

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

/* A finished run of literal bytes: the best so far if better. */
static void
close_run(lit *run, litset *best)
{
	litset c;

	if (run->n > 0) {
		c.n = 1;
		c.v[0] = *run;
		if (worse(best, &c))
			*best = c;
	}
	run->n = 0;
}

/*
 * The quantifier after an atom at l->p, consumed with its lazy or
 * possessive mark: 0 when it allows no occurrence, 1 when there is none
 * (exactly one), 2 when it repeats; -1 when not understood.
 */
static int
quantifier(litscan *l)
{
	const char *q = l->p;
	int kind = 2;

	if (*q == '?' || *q == '*')
		kind = 0, q++;
	else if (*q == '+')
		q++;
	else if (*q == '{') {
		char *e;
		long n = strtol(q + 1, &e, 10);

		if (e == q + 1 || (*e != '}' && *e != ','))
			return -1;
		if (*e == ',')
			(void)strtol(e + 1, &e, 10);
		if (*e != '}')
			return -1;
		kind = n > 0 ? 2 : 0;
		q = e + 1;
	} else
		return 1;
	if (*q == '?' || *q == '+')
		q++;
	l->p = q;
	return kind;
}

/*
 * An escape at l->p (after the backslash): its literal byte, or -1 for
 * a class or an assertion (no literal); l->fail for escapes that take
 * arguments or refer back.
 */
static int
escape(litscan *l)
{
	int c = (unsigned char)*l->p;

	if (c == '\0' || strchr("xpPNgkQEoc0123456789", c)) {
		l->fail = true;
		return -1;
	}
	l->p++;
	if (!is_alnum(c))
		return c < 0x80 ? c : -1;
	return c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : -1;
}

static void alternation(litscan *l, int depth, litset *out);

/* A group at l->p (after its '('): its set, or none for lookarounds. */
static void
lit_group(litscan *l, int depth, litset *g)
{
	const char *p = l->p;
	bool look = false;

	g->n = 0;
	if (*p == '*') {
		l->fail = true;
		return;
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
			return;
		}
	}
	l->p = p;
	alternation(l, depth + 1, g);
	if (*l->p != ')')
		l->fail = true;
	else
		l->p++;
	if (look)
		g->n = 0;
}

/* One atom of a sequence: literal bytes join the run, anything else
 * closes it (a mandatory group's set is a candidate of its own). */
static void
atom(litscan *l, int depth, lit *run, litset *best)
{
	litset g;
	int c = (unsigned char)*l->p++, q;

	g.n = 0;
	if (c == '\\')
		c = escape(l);
	else if (c == '[')
		l->p = ack__re_skip_class(l->p - 1), c = -1;
	else if (c == '(')
		lit_group(l, depth, &g), c = -1;
	else if (c == '.' || c == '^' || c == '$' || c >= 0x80)
		c = -1; /* (bytes past ASCII: case folding left to PCRE2) */
	else if (c == '*' || c == '+' || c == '?' || c == '{')
		l->fail = true;
	if (l->fail || (q = quantifier(l)) < 0) {
		l->fail = true;
		return;
	}
	if (c < 0 || q == 0) {
		close_run(run, best);
		if (q > 0 && g.n > 0 && worse(best, &g))
			*best = g;
		return;
	}
	if (run->n < ACK__LIT_MAX)
		run->s[run->n++] = (char)fold(c);
	if (q == 2) /* what follows the repeats is not adjacent */
		close_run(run, best);
}

/* A sequence up to '|', ')' or the end: the best required set in it. */
static void
sequence(litscan *l, int depth, litset *best)
{
	lit run;

	best->n = 0;
	run.n = 0;
	while (!l->fail && *l->p && *l->p != '|' && *l->p != ')')
		atom(l, depth, &run, best);
	close_run(&run, best);
}

/* Alternatives up to ')' or the end: the union of their sets (none when
 * one has none). */
static void
alternation(litscan *l, int depth, litset *out)
{
	litset *a = malloc(sizeof *a);
	bool none = false;

	out->n = 0;
	if (a == NULL || depth > LIT_DEPTH) {
		l->fail = true;
		free(a);
		return;
	}
	for (;;) {
		sequence(l, depth, a);
		if (a->n == 0 || out->n + a->n > LITS_MAX)
			none = true;
		for (size_t i = 0; !none && i < a->n; i++)
			out->v[out->n++] = a->v[i];
		if (l->fail || *l->p != '|')
			break;
		l->p++;
	}
	free(a);
	if (none || l->fail)
		out->n = 0;
}

/* The filter's key of three bytes (already lowercase), the last three
 * of tri (its top byte is ignored): 16 bits of a multiplicative hash. */
static inline uint16_t
tri_hash(uint32_t tri)
{
	return (uint16_t)(((tri << 8) * 2654435761u) >> 16);
}

static uint16_t
tri_key(unsigned a, unsigned b, unsigned c)
{
	return tri_hash(a << 16 | b << 8 | c);
}

/* The offset of the byte of s[0..n) least common in mail text (a rough
 * English ranking, most common first: any other byte is rarer). */
static size_t
rarest(const char *s, size_t n)
{
	static const char common[] = " etaoinsrhldcumfpgwyb.\n,-vk0123456789:";
	size_t best = 0, rank = 0;

	for (size_t i = 0; i < n; i++) {
		const char *c = s[i] ? strchr(common, s[i]) : NULL;
		size_t r = c ? (size_t)(c - common) : sizeof common;

		if (r > rank || i == 0)
			best = i, rank = r;
	}
	return best;
}

/* Keep the set in rl with the keys of its triples of adjacent bytes (no
 * filter when a literal is shorter than three bytes). */
static int
keep_lits(ack__rule_lits *rl, const litset *set)
{
	size_t nk = 0, k = 0;

	rl->n = 0;
	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].n < 3)
			return ACK_OK;
		nk += set->v[i].n - 2;
	}
	if (set->n == 0)
		return ACK_OK;
	rl->keys = calloc(nk, sizeof *rl->keys);
	rl->end = calloc(set->n, sizeof *rl->end);
	rl->text = calloc(set->n, ACK__LIT_MAX);
	rl->len = calloc(set->n, sizeof *rl->len);
	rl->anchor = calloc(set->n, sizeof *rl->anchor);
	if (!rl->keys || !rl->end || !rl->text || !rl->len || !rl->anchor)
		return ACK_ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		const lit *t = &set->v[i];

		memcpy(rl->text + i * ACK__LIT_MAX, t->s, t->n);
		rl->len[i] = (uint8_t)t->n;
		rl->anchor[i] = (uint8_t)rarest(t->s, t->n);
		for (size_t j = 0; j + 2 < t->n; j++)
			rl->keys[k++] = tri_key((unsigned char)t->s[j],
			    (unsigned char)t->s[j + 1], (unsigned char)t->s[j + 2]);
		rl->end[i] = (uint16_t)k;
	}
	rl->n = set->n;
	return ACK_OK;
}

int
ack__rule_literals(ack__rule_lits *rl, const char *re)
{
	litscan l = { re, false };
	litset *set = malloc(sizeof *set);
	int rc;

	memset(rl, 0, sizeof *rl);
	if (set == NULL)
		return ACK_ENOMEM;
	alternation(&l, 0, set);
	if (l.fail || *l.p != '\0')
		set->n = 0;
	rc = keep_lits(rl, set);
	free(set);
	return rc;
}

/* ASCII lowercase of a byte (as PCRE2 folds case without UTF). */
static inline unsigned
lower_byte(unsigned char c)
{
	return (unsigned)(c - 'A') < 26 ? c + 32u : c;
}

struct ack__pat_filter {
	const char *s;       /* the text the filter is of */
	size_t len;
	char *low;           /* a copy of s, ASCII lowercase */
	size_t size;         /* of low */
	unsigned char lower[256]; /* ASCII lowercase of each byte */
	uint8_t gen;         /* the mark of the keys of this text */
	uint8_t mark[65536]; /* gen at the keys of its triples of bytes */
};

ack__pat_filter *
ack__pat_filter_new(void)
{
	ack__pat_filter *f = calloc(1, sizeof *f);

	for (unsigned c = 0; f != NULL && c < 256; c++)
		f->lower[c] = (unsigned char)lower_byte((unsigned char)c);
	return f;
}

void
ack__pat_filter_free(ack__pat_filter *f)
{
	if (f != NULL)
		free(f->low);
	free(f);
}

/* Lowercase s[from..len) into f->low and mark its triples (with the
 * bytes before from).  Locals, as the stores to low[] may alias f. */
static void
filter_scan(ack__pat_filter *f, const char *s, size_t from, size_t len)
{
	const unsigned char *u = (const unsigned char *)s, *lw = f->lower;
	uint8_t *mark = f->mark, gen = f->gen;
	char *low = f->low;
	uint32_t tri = 0; /* the last three bytes, lowercase */
	size_t i = from >= 2 ? from - 2 : 0;

	for (; i < from || (i < 2 && i < len); i++) {
		tri = tri << 8 | lw[u[i]];
		if (i >= from)
			low[i] = (char)lw[u[i]];
	}
	for (; i < len; i++) {
		unsigned c = lw[u[i]];

		tri = tri << 8 | c;
		low[i] = (char)c;
		mark[tri_hash(tri)] = gen;
	}
}

/* A new text: a new mark, so that the keys of the last are not seen
 * (all cleared once in 255 texts). */
void
ack__pat_filter_set(ack__pat_filter *f, const char *s, size_t len)
{
	if (++f->gen == 0) {
		memset(f->mark, 0, sizeof f->mark);
		f->gen = 1;
	}
	f->s = s;
	f->len = 0;
	ack__pat_filter_extend(f, s ? len : 0);
}

void
ack__pat_filter_extend(ack__pat_filter *f, size_t len)
{
	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	if (f->s == NULL || len <= f->len)
		return;
	if (len > f->size) {
		char *low = realloc(f->low, len);

		if (low == NULL) {
			f->s = NULL; /* filters nothing */
			return;
		}
		f->low = low;
		f->size = len;
	}
	filter_scan(f, f->s, f->len, len);
	f->len = len;
}

static bool
has_key(const ack__pat_filter *f, uint16_t k)
{
	return f->mark[k] == f->gen;
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
		if (memcmp(p - anc, w, n) == 0)
			return p - anc;
		p++;
	}
	return NULL;
}

/* Is literal j of rl in low[a..b)?  Every triple of its bytes must be
 * in the text (a quick test most literals fail) before it is searched. */
static bool
lit_in(const ack__pat_filter *f, const ack__rule_lits *rl, size_t j, size_t a,
    size_t b)
{
	size_t k = j > 0 ? rl->end[j - 1] : 0;

	while (k < rl->end[j] && has_key(f, rl->keys[k]))
		k++;
	return k == rl->end[j] && lit_find(f->low + a, b - a,
	    rl->text + j * ACK__LIT_MAX, rl->len[j], rl->anchor[j]) != NULL;
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
	free(rl->end);
	free(rl->text);
	free(rl->len);
	free(rl->anchor);
	memset(rl, 0, sizeof *rl);
}

bool
ack__rule_lits_may_match(const ack__rule_lits *rl, const ack__pat_filter *f,
    const char *s, size_t len)
{
	size_t a;

	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	if (rl->n == 0 || !covers(f, s, len))
		return true;
	a = (size_t)(s - f->s);
	for (size_t j = 0; j < rl->n; j++)
		if (lit_in(f, rl, j, a, a + len))
			return true;
	return false;
}
