/*
 * patterns.c - the pattern library: load every "*.pat" file of a
 * directory (in name order), compile each rule once with PCRE2 (JIT when
 * the library has it) and match rules under match, depth and heap limits
 * on a bounded subject, so that no input can make a match slow.
 *
 * A file holds one rule a line; '#' starts a comment line:
 *
 *     DIRECTIVE [ARGUMENT] REGEX
 *
 * The regex is the rest of the line, compiled caseless and multiline.
 * Directives are listed in directives[] below; bounce.c gives them their
 * meaning.
 *
 * The reason rules are also joined into one pattern (see build_groups):
 * one scan finds the only rule that can be the first to match, which is
 * then matched alone, so results are those of matching one by one.  (It
 * serves long subjects without a filter only: one by one, with a filter,
 * costs less.)
 *
 * Each rule also gets the literal text every match of it must hold,
 * derived from its regex at load time (literal.c); on a
 * message's text a filter (ack__pat_filter) tells in a few steps which
 * rules cannot match there, and those are not run at all.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "internal.h"
#include "literal.h"
#include "mime.h"

#define LINE_MAX_BYTES 4096
#define FILES_MAX 256
#define RULES_MAX 10000
#define MATCH_LIMIT 100000  /* backtracking steps per match call */
#define DEPTH_LIMIT 500     /* nested backtracking frames */
#define HEAP_LIMIT 2048     /* KiB of heap per match call */
#define LEFTMOST_MARGIN 1024 /* see ack__pat_match_any */
#define GROUP_MATCH_LIMIT 1000000 /* a joined scan; past it, one by one */
#define TYPES_MAX 8         /* rule types (ACK__PAT_*) */


/*
 * The rules of one type and scope joined into one alternation, each
 * alternative followed by (*MARK:k), k its rank in the group: one scan
 * tells which rules can match at all (see first_in_group).
 */
typedef struct group {
	pcre2_code *re;        /* NULL: rules not joinable, match one by one */
	size_t *idx;           /* rule index of each alternative */
	size_t n;
	bool jit;              /* re is JIT-compiled */
} group;

/* The indexes of the rules of one type and scope, in load order. */
typedef struct rule_list {
	size_t *idx;
	size_t n;
} rule_list;

struct ack_patterns {
	ack__rule *rules;
	size_t n, cap;
	pcre2_match_context *mctx;
	pcre2_match_context *gctx; /* wider limits for the joined rules */
	char **src;            /* each rule's regex text, for the groups */
	ack__rule_lits *lits;       /* each rule's required literals */
	bool *jit;             /* each rule's code is JIT-compiled */
	group groups[TYPES_MAX][ACK__SCOPE__COUNT];
	rule_list lists[TYPES_MAX][ACK__SCOPE__COUNT];
};

static const struct {
	const char *name;
	int type;
	bool scoped;   /* takes subject|from|body */
	bool word;     /* takes a reason word */
} directives[] = {
	{ "signature", ACK__PAT_SIGNATURE, false, false },
	{ "bounce", ACK__PAT_BOUNCE, true, false },
	{ "notbounce", ACK__PAT_NOTBOUNCE, true, false },
	{ "delayed", ACK__PAT_DELAYED, true, false },
	{ "recipient", ACK__PAT_RECIPIENT, false, false },
	{ "original", ACK__PAT_ORIGINAL, false, false },
	{ "reason", ACK__PAT_REASON, false, true },
	{ "autoreply", ACK__PAT_AUTOREPLY, true, false },
};

static const char *const scopes[] = { "subject", "from", "body" };

static bool use_jit = true;

void
ack__patterns_jit(bool on)
{
	use_jit = on;
}

/* ------------------------------------------------------------- lifecycle */

void
ack_patterns_free(ack_patterns *pt)
{
	if (pt == NULL)
		return;
	for (size_t i = 0; i < pt->n; i++) {
		pcre2_code_free(pt->rules[i].re);
		free(pt->rules[i].word);
	}
	for (int t = 0; t < TYPES_MAX; t++)
		for (int sc = 0; sc < ACK__SCOPE__COUNT; sc++) {
			pcre2_code_free(pt->groups[t][sc].re);
			free(pt->groups[t][sc].idx);
			free(pt->lists[t][sc].idx);
		}
	for (size_t i = 0; pt->src && i < pt->n; i++)
		free(pt->src[i]);
	for (size_t i = 0; pt->lits && i < pt->n; i++)
		ack__rule_lits_clear(&pt->lits[i]);
	free(pt->lits);
	free(pt->jit);
	free(pt->src);
	free(pt->rules);
	pcre2_match_context_free(pt->mctx);
	pcre2_match_context_free(pt->gctx);
	free(pt);
}

size_t
ack_patterns_count(const ack_patterns *pt)
{
	return pt ? pt->n : 0;
}

size_t
ack__patterns_n(const ack_patterns *pt)
{
	return pt ? pt->n : 0;
}

const ack__rule *
ack__patterns_rule(const ack_patterns *pt, size_t i)
{
	return &pt->rules[i];
}

static ack__rule *
rule_new(ack_patterns *pt)
{
	if (pt->n == pt->cap) {
		size_t cap = pt->cap ? pt->cap * 2 : 64;
		ack__rule *v = realloc(pt->rules, cap * sizeof *v);
		char **sv;
		ack__rule_lits *lv;
		bool *jv;

		if (v == NULL)
			return NULL;
		pt->rules = v;
		if ((sv = realloc(pt->src, cap * sizeof *sv)) == NULL)
			return NULL;
		pt->src = sv;
		if ((lv = realloc(pt->lits, cap * sizeof *lv)) == NULL)
			return NULL;
		pt->lits = lv;
		if ((jv = realloc(pt->jit, cap * sizeof *jv)) == NULL)
			return NULL;
		pt->jit = jv;
		pt->cap = cap;
	}
	memset(&pt->rules[pt->n], 0, sizeof pt->rules[0]);
	memset(&pt->lits[pt->n], 0, sizeof pt->lits[0]);
	pt->src[pt->n] = NULL;
	pt->jit[pt->n] = false;
	return &pt->rules[pt->n++];
}

/* ---------------------------------------------------------------- parsing */

struct loader {
	ack_patterns *pt;
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
};

static int
problem(struct loader *l, const char *what, const char *detail)
{
	snprintf(l->err, l->errlen, "%s:%u: %s%s%s", l->file, l->line, what,
	    detail ? ": " : "", detail ? detail : "");
	return ACK_ECONFIG;
}

/* The next blank-separated word of *s (NUL terminated in place). */
static char *
next_word(char **s)
{
	char *w = *s, *e;

	while (*w == ' ' || *w == '\t')
		w++;
	if (*w == '\0')
		return NULL;
	e = w + strcspn(w, " \t");
	*s = *e ? e + 1 : e;
	*e = '\0';
	return w;
}

static int
find_directive(const char *name)
{
	for (size_t i = 0; i < ACK_ARRAY_LEN(directives); i++)
		if (strcmp(directives[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
find_scope(const char *name)
{
	for (size_t i = 0; i < ACK_ARRAY_LEN(scopes); i++)
		if (strcmp(scopes[i], name) == 0)
			return (int)i;
	return -1;
}

static int
compile_rule(struct loader *l, ack__rule *r, const char *re)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int ec;
	uint32_t groups = 0;
	char detail[320];

	r->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS | PCRE2_MULTILINE, &ec, &off, NULL);
	if (r->re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof msg);
		snprintf(detail, sizeof detail, "at offset %zu: %s", (size_t)off,
		    (const char *)msg);
		return problem(l, "bad regular expression", detail);
	}
	if ((l->pt->src[l->pt->n - 1] = ack__strdup(re)) == NULL ||
	    ack__rule_literals(&l->pt->lits[l->pt->n - 1], re) != ACK_OK)
		return ACK_ENOMEM;
	l->pt->lits[l->pt->n - 1].id = l->pt->n - 1;
	if (use_jit) /* when it fails the rule is interpreted */
		l->pt->jit[l->pt->n - 1] =
		    pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0;
	(void)pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
	if (r->type == ACK__PAT_RECIPIENT && groups < 1)
		return problem(l, "a recipient rule needs a capture group", NULL);
	return ACK_OK;
}

/* One non-comment line. */
static int
parse_line(struct loader *l, char *s)
{
	char *name = next_word(&s), *arg = NULL;
	int d, scope = ACK__SCOPE_BODY;
	ack__rule *r;

	if ((d = find_directive(name)) < 0)
		return problem(l, "unknown directive", name);
	if (directives[d].scoped || directives[d].word) {
		if ((arg = next_word(&s)) == NULL)
			return problem(l, "missing argument", name);
		if (directives[d].scoped && (scope = find_scope(arg)) < 0)
			return problem(l, "scope must be subject, from or body", arg);
		if (directives[d].word && !ack__reason_known(arg))
			return problem(l, "unknown reason", arg);
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return problem(l, "missing regular expression", NULL);
	if (l->pt->n >= RULES_MAX)
		return problem(l, "too many rules", NULL);
	if ((r = rule_new(l->pt)) == NULL)
		return ACK_ENOMEM;
	r->type = directives[d].type;
	r->scope = scope;
	if (directives[d].word && (r->word = ack__strdup(arg)) == NULL)
		return ACK_ENOMEM;
	return compile_rule(l, r, s);
}

static void
chomp(char *s, size_t *n)
{
	while (*n > 0 && (s[*n - 1] == '\n' || s[*n - 1] == '\r' ||
	    s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		s[--*n] = '\0';
}

static int
load_file(struct loader *l, FILE *fp)
{
	char *line = NULL, *s;
	size_t size = 0;
	ssize_t got;
	int rc = ACK_OK;

	while (rc == ACK_OK && (got = getline(&line, &size, fp)) >= 0) {
		size_t n = (size_t)got;

		l->line++;
		if (memchr(line, '\0', n) != NULL) {
			rc = problem(l, "NUL byte in line", NULL);
			break;
		}
		chomp(line, &n);
		if (n > LINE_MAX_BYTES) {
			rc = problem(l, "line too long", NULL);
			break;
		}
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (*s != '\0' && *s != '#')
			rc = parse_line(l, s);
	}
	if (rc == ACK_OK && ferror(fp))
		rc = problem(l, "read error", strerror(errno));
	free(line);
	return rc;
}

static int
load_path(ack_patterns *pt, const char *path, char *err, size_t errlen)
{
	struct loader l = { pt, path, 0, err, errlen };
	FILE *fp = fopen(path, "r");
	int rc;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ACK_EIO;
	}
	rc = load_file(&l, fp);
	fclose(fp);
	return rc;
}

/* ---------------------------------------------------------------- groups */

/* May rule i be one alternative of a joined pattern with the same
 * meaning?  Not with back references, verbs, \K, \G, \Q, recursion or
 * option settings other than (?i) that could reach past it. */
static bool
joinable(const ack_patterns *pt, size_t i)
{
	const char *re = pt->src[i], *q;
	uint32_t backref = 1;

	(void)pcre2_pattern_info(pt->rules[i].re, PCRE2_INFO_BACKREFMAX, &backref);
	if (backref != 0 || strstr(re, "(*") || strstr(re, "\\K") ||
	    strstr(re, "\\G") || strstr(re, "\\Q") || strstr(re, "\\g") ||
	    strstr(re, "\\k"))
		return false;
	for (q = strstr(re, "(?"); q != NULL; q = strstr(q + 2, "(?")) {
		char c = q[2];

		if (c == ':' || c == '=' || c == '!' || c == '|' || c == '>' ||
		    (c == '<' && (q[3] == '=' || q[3] == '!')) ||
		    (c == 'i' && (q[3] == ')' || q[3] == ':')))
			continue;
		return false;
	}
	return true;
}

/* Has re a '|' outside any group (an alternation of the whole)?  When
 * unsure, yes. */
static bool
top_level_bar(const char *re)
{
	int depth = 0;

	while (*re) {
		if (*re == '\\') {
			if (re[1] == '\0')
				return true;
			re += 2;
		} else if (*re == '[') {
			re = ack__re_skip_class(re);
		} else {
			if (*re == '(')
				depth++;
			else if (*re == ')' && --depth < 0)
				return true;
			else if (*re == '|' && depth == 0)
				return true;
			re++;
		}
	}
	return depth != 0;
}

/* Does rule i start with a word boundary that holds for all of it? */
static bool
at_boundary(const ack_patterns *pt, size_t i)
{
	return strncmp(pt->src[i], "\\b", 2) == 0 && !top_level_bar(pt->src[i]);
}

/*
 * The joined pattern text of the rules idx[0..n), or NULL.  A run of
 * rules that start with "\b" is one alternative that tests it once (the
 * same test at the same place) before their own alternation, so that
 * most places fail at once; the order of the rules is kept.
 */
static char *
joined_text(const ack_patterns *pt, const size_t *idx, size_t n)
{
	ack_buf b;
	char mark[48];
	bool ok = true;

	ack_buf_init(&b, 0);
	for (size_t k = 0; k < n && ok; k++) {
		bool wb = at_boundary(pt, idx[k]);
		bool first = k == 0 || !wb || !at_boundary(pt, idx[k - 1]);
		bool last = k + 1 == n || !wb || !at_boundary(pt, idx[k + 1]);

		snprintf(mark, sizeof mark, ")(*MARK:%zu)%s", k, wb && last ? ")" : "");
		if (k > 0)
			ok = ack_buf_adds(&b, "|") == ACK_OK;
		if (ok && wb && first)
			ok = ack_buf_adds(&b, "\\b(?:") == ACK_OK;
		ok = ok && ack_buf_adds(&b, "(?:") == ACK_OK &&
		    ack_buf_adds(&b, pt->src[idx[k]] + (wb ? 2 : 0)) == ACK_OK &&
		    ack_buf_adds(&b, mark) == ACK_OK;
	}
	if (ok)
		return b.data;
	ack_buf_free(&b);
	return NULL;
}

/* Join the rules of type and scope when there are two or more and each
 * can be joined; otherwise the group stays empty (rules one by one). */
static int
build_group(ack_patterns *pt, int type, int scope)
{
	group *g = &pt->groups[type][scope];
	PCRE2_SIZE off;
	char *text;
	int ec;

	for (size_t i = 0; i < pt->n; i++)
		if (pt->rules[i].type == type && pt->rules[i].scope == scope) {
			if (!joinable(pt, i))
				return ACK_OK;
			g->n++;
		}
	if (g->n < 2 || (g->idx = calloc(g->n, sizeof *g->idx)) == NULL) {
		g->n = 0;
		return g->n < 2 ? ACK_OK : ACK_ENOMEM;
	}
	g->n = 0;
	for (size_t i = 0; i < pt->n; i++)
		if (pt->rules[i].type == type && pt->rules[i].scope == scope)
			g->idx[g->n++] = i;
	if ((text = joined_text(pt, g->idx, g->n)) == NULL)
		return ACK_ENOMEM;
	g->re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS | PCRE2_MULTILINE, &ec, &off, NULL);
	free(text);
	if (g->re != NULL && use_jit)
		g->jit = pcre2_jit_compile(g->re, PCRE2_JIT_COMPLETE) == 0;
	return ACK_OK; /* a pattern that does not compile: no group */
}

/* Only the reason rules gain from joining (measured on the corpus): they
 * are many, unanchored, and most texts match none of them.  The anchored
 * families (signatures, delayed) scan faster one by one. */
static int
build_groups(ack_patterns *pt)
{
	int rc = ACK_OK;

	for (int sc = 0; sc < ACK__SCOPE__COUNT && rc == ACK_OK; sc++)
		rc = build_group(pt, ACK__PAT_REASON, sc);
	return rc;
}

/* The list of the rules of each type and scope, so that a search for
 * one type never walks the others. */
static int
build_lists(ack_patterns *pt)
{
	for (size_t i = 0; i < pt->n; i++) {
		const ack__rule *r = &pt->rules[i];
		rule_list *l;
		size_t *v;

		if (r->type < 0 || r->type >= TYPES_MAX || r->scope < 0 ||
		    r->scope >= ACK__SCOPE__COUNT)
			continue;
		l = &pt->lists[r->type][r->scope];
		if ((v = realloc(l->idx, (l->n + 1) * sizeof *v)) == NULL)
			return ACK_ENOMEM;
		l->idx = v;
		l->idx[l->n++] = i;
	}
	return ACK_OK;
}

/* The rules of type and scope (none when out of range). */
static const rule_list *
rules_of(const ack_patterns *pt, int type, int scope)
{
	static const rule_list none = { NULL, 0 };

	if (type < 0 || type >= TYPES_MAX || scope < 0 ||
	    scope >= ACK__SCOPE__COUNT)
		return &none;
	return &pt->lists[type][scope];
}

const size_t *
ack__patterns_of(const ack_patterns *pt, int type, int scope, size_t *n)
{
	const rule_list *l = rules_of(pt, type, scope);

	*n = l->n;
	return l->idx;
}

/* May rule i match in s[0..len)? */
static bool
may_match(const ack_patterns *pt, size_t i, ack__pat_filter *f,
    const char *s, size_t len)
{
	return ack__rule_lits_may_match(&pt->lits[i], f, s, len);
}

/* ------------------------------------------------------------- directory */

static bool
is_pat_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pat") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted "*.pat" names of dir (NULL-terminated list in *out). */
static int
list_dir(const char *dir, char ***out, size_t *n, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v;
	int rc = ACK_OK;

	*n = 0;
	if (d == NULL) {
		snprintf(err, errlen, "PatternDir %s: %s", dir, strerror(errno));
		return ACK_EIO;
	}
	if ((*out = v = calloc(FILES_MAX, sizeof *v)) == NULL)
		rc = ACK_ENOMEM;
	while (rc == ACK_OK && (e = readdir(d)) != NULL) {
		if (!is_pat_name(e->d_name))
			continue;
		if (*n >= FILES_MAX) {
			snprintf(err, errlen, "PatternDir %s: more than %d files", dir,
			    FILES_MAX);
			rc = ACK_ECONFIG;
		} else if ((v[(*n)++] = ack__strdup(e->d_name)) == NULL) {
			rc = ACK_ENOMEM;
		}
	}
	closedir(d);
	if (rc == ACK_OK)
		qsort(v, *n, sizeof *v, cmp_names);
	return rc;
}

static int
make_context(ack_patterns *pt)
{
	if ((pt->mctx = pcre2_match_context_create(NULL)) == NULL ||
	    (pt->gctx = pcre2_match_context_create(NULL)) == NULL)
		return ACK_ENOMEM;
	pcre2_set_match_limit(pt->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(pt->mctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(pt->mctx, HEAP_LIMIT);
	pcre2_set_match_limit(pt->gctx, GROUP_MATCH_LIMIT);
	pcre2_set_depth_limit(pt->gctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(pt->gctx, HEAP_LIMIT * 4);
	return ACK_OK;
}

int
ack_patterns_load(ack_patterns **out, const char *dir, char *err,
    size_t errlen)
{
	ack_patterns *pt = calloc(1, sizeof *pt);
	char **names = NULL, path[4096];
	size_t n = 0;
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (pt == NULL)
		return ACK_ENOMEM;
	rc = make_context(pt);
	if (rc == ACK_OK)
		rc = list_dir(dir, &names, &n, err, errlen);
	for (size_t i = 0; rc == ACK_OK && i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		rc = load_path(pt, path, err, errlen);
	}
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	if (rc == ACK_OK)
		rc = build_groups(pt);
	if (rc == ACK_OK)
		rc = build_lists(pt);

	if (rc == ACK_ENOMEM)
		snprintf(err, errlen, "PatternDir %s: %s", dir, ack_strerror(rc));
	if (rc != ACK_OK) {
		ack_patterns_free(pt);
		return rc;
	}
	*out = pt;
	return ACK_OK;
}

/* ---------------------------------------------------------------- matching */

void *
ack__pat_md_new(void)
{
	return pcre2_match_data_create(10, NULL);
}

void
ack__pat_md_free(void *md)
{
	pcre2_match_data_free(md);
}

/* Run re on s[0..len) from start under the limits of ctx: straight into
 * the JIT code when there is some (pcre2_jit_match honours the context's
 * match limit; the depth and heap limits do not apply to JIT code in
 * either call), else the interpreter. */
static int
run(const pcre2_code *re, bool jit, const char *s, size_t len, size_t start,
    void *md, pcre2_match_context *ctx)
{
	if (jit)
		return pcre2_jit_match(re, (PCRE2_SPTR)s, len, start, 0, md, ctx);
	return pcre2_match(re, (PCRE2_SPTR)s, len, start, 0, md, ctx);
}

/* Match rule i on s[start..len). */
static int
match_code(const ack_patterns *pt, size_t i, void *md, const char *s,
    size_t len, size_t start, ack__match *m)
{
	PCRE2_SIZE *ov;
	int rc;

	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	if (start > len || s == NULL)
		return 0;
	rc = run(pt->rules[i].re, pt->jit[i], s, len, start, md, pt->mctx);
	if (rc <= 0)
		return 0; /* no match, a limit, or an error: all "no" */
	ov = pcre2_get_ovector_pointer(md);
	m->start = ov[0];
	m->end = ov[1];
	m->gstart = m->gend = ov[1];
	for (int g = 1; g < rc; g++) /* the first group set: the rule's own */
		if (ov[2 * g] != PCRE2_UNSET) {
			m->gstart = ov[2 * g];
			m->gend = ov[2 * g + 1];
			break;
		}
	return 1;
}

/*
 * The rank in g of the first rule that can match s[start..len): the
 * lowest rank reported at any place where the joined pattern matches (at
 * one place the alternation reports the lowest rank matching there).
 * -1 when none matches; -2 when the joined scan hit a limit.
 */
static long
first_in_group(const ack_patterns *pt, const group *g, void *md,
    const char *s, size_t len, size_t start)
{
	long best = -1;
	int rc;

	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	while (start <= len && best != 0) {
		const char *mark;
		long k;

		rc = run(g->re, g->jit, s, len, start, md, pt->gctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		mark = (const char *)pcre2_get_mark(md);
		if (rc < 0 || mark == NULL)
			return -2;
		k = strtol(mark, NULL, 10);
		if (best < 0 || k < best)
			best = k;
		start = pcre2_get_ovector_pointer(md)[0] + 1;
	}
	return best;
}

/* The first rule (load order) of type and scope matching from start, one
 * by one; its index, or pt->n. */
static size_t
first_one_by_one(const ack_patterns *pt, int type, int scope, void *md,
    ack__pat_filter *f, const char *s, size_t len, size_t start,
    ack__match *m)
{
	const rule_list *l = rules_of(pt, type, scope);

	for (size_t k = 0; k < l->n; k++) {
		size_t i = l->idx[k];

		if (may_match(pt, i, f, s, len) &&
		    match_code(pt, i, md, s, len, start, m))
			return i;
	}
	return pt->n;
}

/* Can any rule of group g match s[0..len) (per the filter)? */
static bool
group_may_match(const ack_patterns *pt, const group *g,
    ack__pat_filter *f, const char *s, size_t len)
{
	for (size_t k = 0; k < g->n; k++)
		if (may_match(pt, g->idx[k], f, s, len))
			return true;
	return false;
}

/* As first_one_by_one, with the joined pattern when there is one: it
 * names the only candidate, which is then matched alone (its own limits);
 * when that fails, or the joined scan hit a limit, one by one. */
static size_t
first_rule(const ack_patterns *pt, int type, int scope, void *md,
    ack__pat_filter *f, const char *s, size_t len, size_t start,
    ack__match *m)
{
	const group *g = type >= 0 && type < TYPES_MAX && scope >= 0 &&
	    scope < ACK__SCOPE__COUNT ? &pt->groups[type][scope] : NULL;
	ack__pat_small sm;
	long k;

	/* with a filter, one by one tests only the rules it lets through;
	 * a short subject outside its text gets a small filter of its own
	 * (sm: some 5 KiB of stack) */
	if (g == NULL || g->re == NULL || s == NULL || ack__pat_filter_covers(f, s, len))
		return first_one_by_one(pt, type, scope, md, f, s, len, start, m);
	if ((f = ack__pat_small_set(&sm, s, len)) != NULL)
		return first_one_by_one(pt, type, scope, md, f, s, len, start,
		    m);
	if (start > (len > ACK__PAT_SUBJECT_MAX ? ACK__PAT_SUBJECT_MAX : len) ||
	    !group_may_match(pt, g, f, s, len))
		return pt->n;
	k = first_in_group(pt, g, md, s, len, start);
	if (k == -1)
		return pt->n;
	if (k >= 0 && (size_t)k < g->n &&
	    match_code(pt, g->idx[k], md, s, len, start, m))
		return g->idx[k];
	return first_one_by_one(pt, type, scope, md, f, s, len, start, m);
}

/*
 * A match, from start, of any rule of type and scope: the first rule's
 * that matches, or with leftmost the leftmost (between rules matching at
 * one place, the first loaded).
 */
int
ack__pat_match_any_f(const ack_patterns *pt, int type, int scope, void *md,
    ack__pat_filter *f, const char *s, size_t len, size_t start,
    ack__match *m, bool leftmost)
{
	const rule_list *l = rules_of(pt, type, scope);
	size_t lim, i;
	ack__match t;

	i = first_rule(pt, type, scope, md, f, s, len, start, &t);
	if (i == pt->n)
		return 0;
	*m = t;
	if (!leftmost)
		return 1;
	lim = t.start + LEFTMOST_MARGIN < len ? t.start + LEFTMOST_MARGIN : len;
	for (size_t k = 0; k < l->n; k++) {
		size_t j = l->idx[k];

		if (j > i && may_match(pt, j, f, s, lim) &&
		    match_code(pt, j, md, s, lim, start, &t) &&
		    t.start < m->start) {
			*m = t;
			/* later rules need only look before this match (plus a
			 * margin for a match that starts earlier and ends later) */
			lim = t.start + LEFTMOST_MARGIN < len ? t.start + LEFTMOST_MARGIN : len;
		}
	}
	return 1;
}

int
ack__pat_match_any(const ack_patterns *pt, int type, int scope, void *md,
    const char *s, size_t len, size_t start, ack__match *m, bool leftmost)
{
	return ack__pat_match_any_f(pt, type, scope, md, NULL, s, len, start, m,
	    leftmost);
}

/*
 * The first rule (load order) of type and scope that matches s[0..len):
 * 1 and *rule set, or 0.
 */
int
ack__pat_first_f(const ack_patterns *pt, int type, int scope, void *md,
    ack__pat_filter *f, const char *s, size_t len,
    const ack__rule **rule)
{
	ack__match m;
	size_t i = first_rule(pt, type, scope, md, f, s, len, 0, &m);

	if (i == pt->n)
		return 0;
	*rule = &pt->rules[i];
	return 1;
}

int
ack__pat_first(const ack_patterns *pt, int type, int scope, void *md,
    const char *s, size_t len, const ack__rule **rule)
{
	return ack__pat_first_f(pt, type, scope, md, NULL, s, len, rule);
}

/* May rule r match in s[0..len), per the filter f (NULL: yes)? */
bool
ack__pat_may_match(const ack_patterns *pt, const ack__rule *r,
    ack__pat_filter *f, const char *s, size_t len)
{
	return may_match(pt, (size_t)(r - pt->rules), f, s, len);
}

/*
 * Match rule r on s[start..len) (len capped at ACK__PAT_SUBJECT_MAX).
 * 1 and m filled on a match; 0 on no match or when a limit was reached.
 */
int
ack__pat_match(const ack_patterns *pt, const ack__rule *r, void *md,
    const char *s, size_t len, size_t start, ack__match *m)
{
	return match_code(pt, (size_t)(r - pt->rules), md, s, len, start, m);
}
