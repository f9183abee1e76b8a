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
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "internal.h"
#include "mime.h"

#define LINE_MAX_BYTES 4096
#define FILES_MAX 256
#define RULES_MAX 10000
#define MATCH_LIMIT 100000  /* backtracking steps per match call */
#define DEPTH_LIMIT 500     /* nested backtracking frames */
#define HEAP_LIMIT 2048     /* KiB of heap per match call */
#define LEFTMOST_MARGIN 1024 /* see ack__pat_match_any */

struct ack_patterns {
	ack__rule *rules;
	size_t n, cap;
	pcre2_match_context *mctx;
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
	free(pt->rules);
	pcre2_match_context_free(pt->mctx);
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

		if (v == NULL)
			return NULL;
		pt->rules = v;
		pt->cap = cap;
	}
	memset(&pt->rules[pt->n], 0, sizeof pt->rules[0]);
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
	if (use_jit) /* when it fails the rule is interpreted */
		(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
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
	if ((pt->mctx = pcre2_match_context_create(NULL)) == NULL)
		return ACK_ENOMEM;
	pcre2_set_match_limit(pt->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(pt->mctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(pt->mctx, HEAP_LIMIT);
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

static int
match_code(const ack_patterns *pt, const pcre2_code *re, void *md,
    const char *s, size_t len, size_t start, ack__match *m)
{
	PCRE2_SIZE *ov;
	int rc;

	if (len > ACK__PAT_SUBJECT_MAX)
		len = ACK__PAT_SUBJECT_MAX;
	if (start > len || s == NULL)
		return 0;
	rc = pcre2_match(re, (PCRE2_SPTR)s, len, start, 0, md, pt->mctx);
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
 * A match, from start, of any rule of type and scope: the first rule's
 * that matches, or with leftmost the leftmost (between rules matching at
 * one place, the first loaded).
 */
int
ack__pat_match_any(const ack_patterns *pt, int type, int scope, void *md,
    const char *s, size_t len, size_t start, ack__match *m, bool leftmost)
{
	bool found = false;
	size_t lim = len;
	ack__match t;

	for (size_t i = 0; i < pt->n; i++) {
		const ack__rule *r = &pt->rules[i];

		if (r->type == type && r->scope == scope &&
		    match_code(pt, r->re, md, s, found ? lim : len, start, &t) &&
		    (!found || t.start < m->start)) {
			*m = t;
			found = true;
			if (!leftmost)
				break;
			/* later rules need only look before this match (plus a
			 * margin for a match that starts earlier and ends later) */
			lim = t.start + LEFTMOST_MARGIN < len ? t.start + LEFTMOST_MARGIN : len;
		}
	}
	return found;
}

/*
 * Match rule r on s[start..len) (len capped at ACK__PAT_SUBJECT_MAX).
 * 1 and m filled on a match; 0 on no match or when a limit was reached.
 */
int
ack__pat_match(const ack_patterns *pt, const ack__rule *r, void *md,
    const char *s, size_t len, size_t start, ack__match *m)
{
	return match_code(pt, r->re, md, s, len, start, m);
}
