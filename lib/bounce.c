/*
 * bounce.c - non-standard bounces and auto-replies, on top of the report
 * parser's text hooks and the pattern library (patterns.c).  At eom, for
 * a message that is no RFC report, it decides bounce / autoreply / none
 * from the header hints and the rules, then finds the failed recipients
 * (text, X-Failed-Recipients, the returned message's To:), their action,
 * status and reason.  It also gives every DSN recipient its reason and
 * hard/soft flag, read from its diagnostic when the status is vague or
 * of the policy subject (x.0.0, x.y.0, x.7.x), as for bounces, and the
 * refined status the diagnostic implies when the stated one is vague.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "literal.h"
#include "mime.h"

#define RCPT_MAX 100        /* recipients taken from one text */
#define BLOCK_MAX 2048      /* bytes of text after a recipient searched */
#define DIAG_MAX 400        /* bytes kept as a bounce's diagnostic */
#define PRE_MAX 4096        /* bytes before the first recipient searched */
#define SUBJECT_MAX 2048    /* bytes of a decoded subject */
#define DETECT_MAX 8192     /* bytes of text the detection rules look at */

#define WIN_MAX 64          /* windows around '@'s searched for recipients */
#define WIN_BEFORE 2        /* lines before an '@' in its window */
#define WIN_AFTER 1         /* lines after */

typedef struct window {
	size_t a, b;           /* text[a..b) */
} window;

typedef struct found {
	size_t pos, end;       /* where the rule matched in the text */
	char addr[256];        /* "": the bounce names no recipient */
	bool guessed;          /* from the returned message's To: */
} found;

typedef struct scan {
	ack_parser *p;
	const ack_patterns *pt;
	void *md;
	ack__pat_filter *filt; /* of text, as far as rules need (NULL: none) */
	const char *text;
	size_t len;            /* text up to the returned message */
	const char *scope[ACK__SCOPE__COUNT];
	size_t slen[ACK__SCOPE__COUNT];
	found *f;
	size_t nf;
	bool delayed;
	ack_buf subject;       /* the Subject, RFC 2047 words decoded */
	const char *text_reason; /* the reason the whole text gives */
	bool text_reason_done;
	int text_status;       /* text_st holds its first status: 1, none: 0,
	                          not looked for: -1 */
	char text_st[16];
	int text_code;         /* its first SMTP code, 0: none, -1: not looked */
	size_t blk_a, blk_b;   /* the last recipient block (a == b: none) */
	const char *blk_reason; /* and its reason */
} scan;

/* Does any rule of type match in scope?  The leftmost match into *m. */
static bool
any_rule(scan *s, int type, int scope, ack__match *m)
{
	ack__match tmp;

	if (s->scope[scope] == NULL)
		return false;
	return ack__pat_match_any_f(s->pt, type, scope, s->md, s->filt,
	    s->scope[scope], s->slen[scope], 0, m ? m : &tmp, m != NULL);
}

/* ------------------------------------------------------------- subject */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode the text of one Q-encoded word (RFC 2047 section 4.2). */
static int
q_decode(ack_buf *out, const char *t, size_t n)
{
	int rc = ACK_OK;

	for (size_t i = 0; i < n && rc == ACK_OK; i++) {
		char c = t[i];

		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < n && hexval(t[i + 1]) >= 0 &&
		    hexval(t[i + 2]) >= 0) {
			c = (char)(hexval(t[i + 1]) * 16 + hexval(t[i + 2]));
			i += 2;
		}
		rc = ack__buf_add_capped(out, &c, 1);
	}
	return rc;
}

/* One "=?charset?X?text?=" at v: decoded into out; its length or 0. */
static size_t
encoded_word(ack_buf *out, const char *v)
{
	const char *q1, *q2, *end;

	if (v[0] != '=' || v[1] != '?' || (q1 = strchr(v + 2, '?')) == NULL ||
	    q1[1] == '\0' || q1[2] != '?' || (end = strstr(q1 + 3, "?=")) == NULL)
		return 0;
	q2 = q1 + 3;
	if ((q1[1] | 0x20) == 'b')
		(void)ack__b64_decode(out, q2, (size_t)(end - q2));
	else if ((q1[1] | 0x20) == 'q')
		(void)q_decode(out, q2, (size_t)(end - q2));
	else
		return 0;
	return (size_t)(end + 2 - v);
}

/* The subject with encoded words decoded (charsets are not converted:
 * the rules look for ASCII words and UTF-8 or legacy bytes alike). */
static void
decode_subject(ack_buf *out, const char *v)
{
	bool after_word = false;

	while (v && *v && !out->truncated) {
		size_t n = encoded_word(out, v), sp;

		if (n > 0) {
			v += n;
			after_word = true;
			continue;
		}
		sp = strspn(v, " \t");
		if (sp > 0 && after_word && v[sp] == '=' && v[sp + 1] == '?') {
			v += sp; /* blanks between two encoded words vanish */
			continue;
		}
		after_word = false;
		if (sp == 0) /* a run with no blank and no '=': added at once */
			sp = 1 + strcspn(v + 1, "= \t");
		(void)ack__buf_add_capped(out, v, sp);
		v += sp;
	}
}

/* ------------------------------------------------------------ detection */

static bool
header_has(const ack_parser *p, const char *name, const char *word)
{
	const char *v = ack__parser_header_value(p, name);

	if (v == NULL)
		return false;
	return word == NULL || ack__strncasecmp(v, word, strlen(word)) == 0;
}

/* RFC 3834 and the common non-standard auto-reply headers. */
static bool
autoreply_headers(const ack_parser *p)
{
	return header_has(p, "auto-submitted", "auto-replied") ||
	    header_has(p, "x-autoreply", NULL) ||
	    header_has(p, "x-autorespond", NULL) ||
	    header_has(p, "precedence", "auto_reply");
}

/* Count the bounce hints: one per scope, none when a notbounce rule says so. */
static int
bounce_hints(scan *s)
{
	int n = 0;

	for (int sc = 0; sc < ACK__SCOPE__COUNT; sc++)
		if (any_rule(s, ACK__PAT_NOTBOUNCE, sc, NULL))
			return 0;
	for (int sc = 0; sc < ACK__SCOPE__COUNT; sc++)
		if (any_rule(s, ACK__PAT_BOUNCE, sc, NULL))
			n++;
	return n;
}

static int
decide_kind(scan *s)
{
	bool sig = any_rule(s, ACK__PAT_SIGNATURE, ACK__SCOPE_BODY, NULL);

	if (sig || ack__parser_header_value(s->p, "x-failed-recipients"))
		return ACK_KIND_BOUNCE;
	if (autoreply_headers(s->p) ||
	    any_rule(s, ACK__PAT_AUTOREPLY, ACK__SCOPE_SUBJECT, NULL) ||
	    any_rule(s, ACK__PAT_AUTOREPLY, ACK__SCOPE_FROM, NULL) ||
	    any_rule(s, ACK__PAT_AUTOREPLY, ACK__SCOPE_BODY, NULL))
		return ACK_KIND_AUTOREPLY;
	return bounce_hints(s) >= 2 ? ACK_KIND_BOUNCE : ACK_KIND_NONE;
}

/* After eoh: may this message be a bounce or an auto-reply?  Headers
 * only (the subject and From rules, short strings), so that ordinary
 * mail never reaches the body rules. */
bool
ack__bounce_candidate(const ack_parser *p)
{
	scan s;
	bool yes;

	if (ack__parser_header_value(p, "x-failed-recipients") ||
	    header_has(p, "auto-submitted", NULL) || autoreply_headers(p))
		return true;
	memset(&s, 0, sizeof s);
	s.p = (ack_parser *)p;
	s.pt = ack__parser_patterns(p);
	if (s.pt == NULL || (s.md = ack__pat_md_new()) == NULL)
		return s.pt != NULL; /* out of memory: let the parser decide */
	ack_buf_init(&s.subject, SUBJECT_MAX);
	decode_subject(&s.subject, ack__parser_header_value(p, "subject"));
	s.scope[ACK__SCOPE_SUBJECT] = s.subject.data;
	s.scope[ACK__SCOPE_FROM] = ack__parser_header_value(p, "from");
	for (int i = ACK__SCOPE_SUBJECT; i <= ACK__SCOPE_FROM; i++)
		s.slen[i] = s.scope[i] ? strlen(s.scope[i]) : 0;
	yes = false;
	for (int sc = ACK__SCOPE_SUBJECT; sc <= ACK__SCOPE_FROM && !yes; sc++)
		yes = any_rule(&s, ACK__PAT_BOUNCE, sc, NULL) ||
		    any_rule(&s, ACK__PAT_AUTOREPLY, sc, NULL);
	ack_buf_free(&s.subject);
	ack__pat_md_free(s.md);
	return yes;
}

/* ----------------------------------------------------------- recipients */

/* Printable ASCII but the specials that end an address: a switch, as
 * this runs on every byte of every candidate. */
static bool
addr_char(char c)
{
	switch (c) {
	case '<': case '>': case '(': case ')': case '[': case ']':
	case ',': case ';': case ':': case '"': case '\'': case '\\':
		return false;
	default:
		return c > ' ' && c < 127;
	}
}

/* Clean an address candidate into out: trim, one '@', a dot in the domain. */
static bool
clean_addr(const char *s, size_t n, char *out, size_t outlen)
{
	size_t a = 0, at = 0, k = 0;
	const char *dot;

	while (a < n && !addr_char(s[a]))
		a++;
	while (n > a && (!addr_char(s[n - 1]) || s[n - 1] == '.'))
		n--;
	if (n - a < 3 || n - a >= outlen)
		return false;
	for (size_t i = a; i < n; i++) {
		if (!addr_char(s[i]))
			return false;
		if (s[i] == '@')
			at++, k = i;
	}
	dot = memchr(s + k, '.', n - k);
	if (at != 1 || k == a || k + 1 == n || dot == NULL)
		return false;
	memcpy(out, s + a, n - a);
	out[n - a] = '\0';
	return true;
}

static bool
seen_addr(const scan *s, const char *addr)
{
	for (size_t i = 0; i < s->nf; i++)
		if (ack__strcasecmp(s->f[i].addr, addr) == 0)
			return true;
	return false;
}

static void
add_found(scan *s, const char *a, size_t n, size_t pos, size_t end)
{
	found *f;

	if (s->nf >= RCPT_MAX)
		return;
	f = &s->f[s->nf];
	if (!clean_addr(a, n, f->addr, sizeof f->addr) || seen_addr(s, f->addr))
		return;
	f->pos = pos;
	f->end = end;
	f->guessed = false;
	s->nf++;
}

/* Start of the line n lines before the one holding t[pos]. */
static size_t
lines_back(const char *t, size_t pos, int n)
{
	const char *nl;

	while (pos > 0 && (nl = memrchr(t, '\n', pos)) != NULL) {
		pos = (size_t)(nl - t);
		if (n-- == 0)
			return pos + 1;
	}
	return 0;
}

/* End (the '\n' or len) of the line n lines after the one holding t[pos]. */
static size_t
lines_on(const char *t, size_t len, size_t pos, int n)
{
	const char *nl;

	for (; pos < len; pos = (size_t)(nl - t) + 1)
		if ((nl = memchr(t + pos, '\n', len - pos)) == NULL || n-- == 0)
			return nl ? (size_t)(nl - t) : len;
	return len;
}

/*
 * The parts of t[0..len) a recipient rule can match in: every rule
 * captures an address, so a match lies near an '@' (WIN_BEFORE lines
 * before its line, WIN_AFTER after).  Sorted, disjoint; the whole text
 * when there are more than WIN_MAX.
 */
static size_t
at_windows(const char *t, size_t len, window *w)
{
	const char *at = t;
	size_t n = 0, a, b;

	while ((at = memchr(at, '@', len - (size_t)(at - t))) != NULL) {
		a = lines_back(t, (size_t)(at - t), WIN_BEFORE);
		b = lines_on(t, len, (size_t)(at - t), WIN_AFTER);
		if (n > 0 && a <= w[n - 1].b + 1) {
			w[n - 1].b = b;
		} else if (n == WIN_MAX) {
			w[0].a = 0;
			w[0].b = len;
			return 1;
		} else {
			w[n].a = a;
			w[n++].b = b;
		}
		/* the other '@'s of this line add nothing: on to the next */
		at = t + lines_on(t, len, (size_t)(at - t), 0) + 1;
		if (at >= t + len)
			break;
	}
	return n;
}

/* Every match of every recipient rule in the text before the original
 * (matched in the windows around its '@'s only: the same matches). */
static void
text_recipients(scan *s)
{
	size_t n, nw;
	const size_t *idx = ack__patterns_of(s->pt, ACK__PAT_RECIPIENT,
	    ACK__SCOPE_BODY, &n);
	window w[WIN_MAX];
	ack__match m;

	nw = at_windows(s->text, s->len, w);
	for (size_t i = 0; i < n; i++) {
		const ack__rule *r = ack__patterns_rule(s->pt, idx[i]);
		size_t at = 0;

		if (!ack__pat_may_match(s->pt, r, s->filt, s->text, s->len))
			continue;
		for (size_t k = 0; k < nw; k++) {
			if (at < w[k].a)
				at = w[k].a;
			/* a match from at lies in text[at..b): so do its literals */
			if (at >= w[k].b || !ack__pat_may_match(s->pt, r, s->filt,
			    s->text + at, w[k].b - at))
				continue;
			while (s->nf < RCPT_MAX && at < w[k].b &&
			    ack__pat_match(s->pt, r, s->md, s->text, w[k].b, at, &m)) {
				add_found(s, s->text + m.gstart, m.gend - m.gstart,
				    m.start, m.end);
				at = m.end > at ? m.end : at + 1;
			}
		}
	}
}

/* Comma or blank separated addresses (X-Failed-Recipients, To:); guessed:
 * the list only says who the message was for, not who failed. */
static void
list_recipients(scan *s, const char *v, size_t pos, bool guessed)
{
	while (v && *v && s->nf < RCPT_MAX) {
		size_t n = strcspn(v, ",; \t"), before = s->nf;

		add_found(s, v, n, pos, pos);
		if (s->nf > before)
			s->f[before].guessed = guessed;
		v += n;
		v += strspn(v, ",; \t");
	}
}

static int
by_pos(const void *a, const void *b)
{
	const found *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* ---------------------------------------------------- per-recipient data */

/* The first reason rule matching s[0..n), in rule order; NULL if none. */
static const char *
reason_in(scan *s, const char *t, size_t n)
{
	const ack__rule *r;

	if (ack__pat_first_f(s->pt, ACK__PAT_REASON, ACK__SCOPE_BODY, s->md,
	    s->filt, t, n, &r))
		return r->word;
	return NULL;
}

/* The length of d[0..k) without a UTF-8 sequence that the cap cut short
 * at its end (a legacy charset's bytes are left as they are). */
static size_t
utf8_whole(const char *d, size_t k)
{
	size_t j = k;
	unsigned char lead;

	while (j > 0 && k - j < 3 && ((unsigned char)d[j - 1] & 0xc0) == 0x80)
		j--;
	if (j == 0 || (lead = (unsigned char)d[j - 1]) < 0xc0)
		return k;
	return k - (j - 1) < (lead >= 0xf0 ? 4u : lead >= 0xe0 ? 3u : 2u) ? j - 1 : k;
}

/* A one-line diagnostic from t: blanks squeezed, capped (not inside a
 * UTF-8 character). */
static char *
squeeze(const char *t, size_t n)
{
	char *d = malloc(DIAG_MAX + 1);
	size_t k = 0;

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n && k < DIAG_MAX; i++) {
		char c = t[i];

		if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
			if (k > 0 && d[k - 1] != ' ')
				d[k++] = ' ';
			continue;
		}
		d[k++] = c;
	}
	if (k == DIAG_MAX)
		k = utf8_whole(d, k);
	while (k > 0 && d[k - 1] == ' ')
		k--;
	d[k] = '\0';
	return d;
}

/* The first status in the first PRE_MAX bytes of the text (the same for
 * every recipient: looked for once), or NULL. */
static const char *
text_status(scan *s)
{
	if (s->text_status < 0)
		s->text_status = ack__status_find(s->text, s->len < PRE_MAX ?
		    s->len : PRE_MAX, s->text_st, sizeof s->text_st);
	return s->text_status ? s->text_st : NULL;
}

/* Status: the text's own, else one implied by the reason and the class. */
static char *
pick_status(scan *s, const char *blk, size_t bn, const char *reason)
{
	char st[16];
	int code;
	bool temp = s->delayed, have = ack__status_find(blk, bn, st, sizeof st);

	if (!have && text_status(s) != NULL) {
		memcpy(st, s->text_st, sizeof st);
		have = true;
	}
	if (have) {
		if (st[0] != '2' && (!ack__status_vague(st) || reason == NULL))
			return ack__strdup(st);
		temp = st[0] == '4';
	}
	if ((code = ack__smtp_code_find(blk, bn)) == 0) {
		if (s->text_code < 0)
			s->text_code = ack__smtp_code_find(s->text,
			    s->len < PRE_MAX ? s->len : PRE_MAX);
		code = s->text_code;
	}
	if (code >= 400)
		temp = code < 500;
	return ack__strdup(ack__reason_status(reason, temp));
}

/*
 * Does a status speak for itself (x.1.1, x.2.2 ...)?  Not a vague one
 * (x.0.x, x.y.0), nor one of the policy subject x.7.x, whose reasons vary
 * (blocked, spamdetected, virusdetected, policyviolation, rejected ...),
 * but for the registered x.7.20 to x.7.99 (DKIM, SPF, reverse DNS,
 * authentication, null MX: RFC 7372, 7505) below vendors' x.7.1xx.
 */
static bool
status_speaks(const char *st)
{
	size_t n = st ? strlen(st) : 0;
	long detail;

	if (ack_status_reason(st) == NULL || st[2] == '0' ||
	    strcmp(st + n - 2, ".0") == 0)
		return false;
	detail = strtol(st + 4, NULL, 10);
	return st[2] != '7' || (detail >= 20 && detail <= 99);
}

/*
 * The reason of a diagnostic text t[0..n) with its status (NULL: none),
 * the same for a DSN's Diagnostic-Code and a bounce's recipient block: a
 * status that speaks for itself, else the first reason rule matching the
 * text; NULL when neither tells.
 */
static const char *
diag_reason(scan *s, const char *status, const char *t, size_t n)
{
	if (status_speaks(status))
		return ack_status_reason(status);
	return s->pt ? reason_in(s, t, n) : NULL;
}

/* The reason of one recipient's block (diag_reason with the block's own
 * status), else the reason rules on the whole text. */
static const char *
block_reason(scan *s, const char *blk, size_t n)
{
	const char *reason;
	char st[16];
	bool have = ack__status_find(blk, n, st, sizeof st);

	if ((reason = diag_reason(s, have ? st : NULL, blk, n)) != NULL)
		return reason;
	if (!s->text_reason_done) {
		s->text_reason = reason_in(s, s->text, s->len < PRE_MAX ?
		    s->len : PRE_MAX);
		s->text_reason_done = true;
	}
	return s->text_reason;
}

static int
fill_rcpt(scan *s, size_t i)
{
	ack_report_rcpt *r = ack__report_add_rcpt(ack__parser_build(s->p));
	size_t start = s->f[i].pos, end, skip;
	const char *blk, *reason;

	if (r == NULL)
		return ACK_ENOMEM;
	end = i + 1 < s->nf ? s->f[i + 1].pos : s->len;
	if (start > s->len)
		start = end = s->len;
	if (end > start + BLOCK_MAX)
		end = start + BLOCK_MAX;
	if (end <= start)
		end = s->len < start + BLOCK_MAX ? s->len : start + BLOCK_MAX;
	blk = s->text + start;
	if (s->blk_a == s->blk_b || start != s->blk_a || end != s->blk_b) {
		/* recipients listed together share one block: looked at once */
		s->blk_reason = block_reason(s, blk, end - start);
		s->blk_a = start;
		s->blk_b = end;
	}
	reason = s->blk_reason;
	r->final_recipient = s->f[i].addr[0] ? ack__strdup(s->f[i].addr) : NULL;
	r->guessed = s->f[i].guessed;
	r->action = ack__strdup(s->delayed ? "delayed" : "failed");
	r->status = pick_status(s, blk, end - start, reason);
	skip = s->f[i].end > start && s->f[i].end < end ? s->f[i].end - start : 0;
	r->diagnostic = squeeze(blk + skip, end - start - skip);
	if (reason == NULL)
		reason = ack_status_reason(r->status);
	r->reason = reason ? ack__strdup(reason) : NULL;
	r->hard = ack_reason_hard(reason, r->status);
	if ((s->f[i].addr[0] && !r->final_recipient) || !r->action || !r->status ||
	    !r->diagnostic ||
	    (reason && !r->reason))
		return ACK_ENOMEM;
	return ACK_OK;
}

static int
extract(scan *s)
{
	ack__match m;
	int rc = ACK_OK;

	s->delayed = any_rule(s, ACK__PAT_DELAYED, ACK__SCOPE_SUBJECT, NULL) ||
	    any_rule(s, ACK__PAT_DELAYED, ACK__SCOPE_BODY, NULL);
	s->slen[ACK__SCOPE_BODY] = s->len; /* the returned message may be far */
	if (any_rule(s, ACK__PAT_ORIGINAL, ACK__SCOPE_BODY, &m))
		s->len = m.start;
	if (s->filt != NULL) /* the rest of the text up to the original */
		ack__pat_filter_extend(s->filt, s->len);
	text_recipients(s);
	if (s->nf == 0)
		list_recipients(s, ack__parser_header_value(s->p, "x-failed-recipients"),
		    0, false);
	if (s->nf == 0)
		list_recipients(s, ack__parser_returned_to(s->p), s->len, true);
	if (s->nf == 0 && ack__parser_build(s->p)->r.kind == ACK_KIND_BOUNCE) {
		/* a bounce naming no one: one block without an address, for
		 * the store to apply to the message the token names */
		memset(&s->f[0], 0, sizeof s->f[0]);
		s->nf = 1;
	}
	qsort(s->f, s->nf, sizeof *s->f, by_pos);
	for (size_t i = 0; i < s->nf && rc == ACK_OK; i++)
		rc = fill_rcpt(s, i);
	return rc;
}

static void
scan_init(scan *s, ack_parser *p)
{
	memset(s, 0, sizeof *s);
	s->text_status = s->text_code = -1; /* not looked for yet */
	s->p = p;
	s->pt = ack__parser_patterns(p);
	s->text = ack__parser_text(p, &s->len);
	if (s->text == NULL)
		s->text = "";
	s->scope[ACK__SCOPE_BODY] = s->text;
	s->slen[ACK__SCOPE_BODY] = s->len < DETECT_MAX ? s->len : DETECT_MAX;
	ack_buf_init(&s->subject, SUBJECT_MAX);
	decode_subject(&s->subject, ack__parser_header_value(p, "subject"));
	s->scope[ACK__SCOPE_SUBJECT] = s->subject.data;
	s->scope[ACK__SCOPE_FROM] = ack__parser_header_value(p, "from");
	for (int i = ACK__SCOPE_SUBJECT; i <= ACK__SCOPE_FROM; i++)
		s->slen[i] = s->scope[i] ? strlen(s->scope[i]) : 0;
}

/* The answering recipient of an auto-reply: its From address. */
static int
autoreply_rcpt(scan *s)
{
	const char *from = s->scope[ACK__SCOPE_FROM], *lt;
	ack_report_rcpt *r;
	char addr[256];

	if (from == NULL)
		return ACK_OK;
	if ((lt = strrchr(from, '<')) != NULL)
		from = lt + 1;
	if (!clean_addr(from, strcspn(from, lt ? ">" : " \t"), addr, sizeof addr))
		return ACK_OK;
	if ((r = ack__report_add_rcpt(ack__parser_build(s->p))) == NULL)
		return ACK_ENOMEM;
	r->final_recipient = ack__strdup(addr);
	r->action = ack__strdup("autoreplied");
	return r->final_recipient && r->action ? ACK_OK : ACK_ENOMEM;
}

/* Decide the kind (when decide is set), then find the recipients of a
 * bounce or an auto-reply. */
static int
detect(ack_parser *p, bool decide)
{
	ack__report_build *b = ack__parser_build(p);
	scan s;
	int rc = ACK_OK;

	if (ack__parser_patterns(p) == NULL)
		return ACK_OK;
	scan_init(&s, p);
	if ((s.md = ack__parser_md(p)) == NULL) {
		ack_buf_free(&s.subject);
		return ACK_ENOMEM;
	}
	s.filt = ack__parser_filter(p, s.text, s.slen[ACK__SCOPE_BODY]);
	if (decide)
		b->r.kind = decide_kind(&s);
	if (b->r.kind == ACK_KIND_AUTOREPLY)
		rc = autoreply_rcpt(&s);
	if (b->r.kind == ACK_KIND_BOUNCE || b->r.kind == ACK_KIND_DSN) {
		if ((s.f = malloc(RCPT_MAX * sizeof *s.f)) == NULL)
			rc = ACK_ENOMEM;
		else
			rc = extract(&s);
	}
	free(s.f);
	ack_buf_free(&s.subject);
	return rc;
}

int
ack__bounce_detect(ack_parser *p)
{
	return detect(p, true);
}

int
ack__bounce_recipients(ack_parser *p)
{
	ack__report_build *b = ack__parser_build(p);

	if (b->r.nrcpt > 0 || b->r.kind != ACK_KIND_DSN)
		return ACK_OK;
	return detect(p, false);
}

/* ------------------------------------------------------- classification */

/*
 * The status to read a DSN recipient's diagnostic t[0..n) with: its own,
 * or when that is vague (x.0.0) the first specific status of the same
 * class in the text (into st): "5.0.0" with "550 5.1.1 ..." reads as
 * 5.1.1.
 */
static const char *
reading_status(const char *status, const char *t, size_t n, char *st,
    size_t stlen)
{
	if (!ack__status_vague(status) || ack_status_reason(status) == NULL)
		return status;
	if (ack__status_find(t, n, st, stlen) && st[0] == status[0] &&
	    !ack__status_vague(st))
		return st;
	return status;
}

/* Is the detail of a d.d.d status zero (x.y.0, x.0.0)? */
static bool
detail_zero(const char *st)
{
	const char *d = strrchr(st, '.') + 1;

	return strspn(d, "0") == strlen(d);
}

/* Do a and b have the same class and subject ("5.1" of "5.1.1")? */
static bool
same_subject(const char *a, const char *b)
{
	size_t n = 2 + strcspn(a + 2, ".");

	return strncmp(a, b, n) == 0 && b[n] == '.';
}

/*
 * Does st say more than cur, a status with a zero detail, and nothing
 * against it?  Same class; x.0.0 takes any subject, x.y.0 only a
 * detail of its own subject y.
 */
static bool
more_specific(const char *cur, const char *st)
{
	if (st[0] != cur[0])
		return false;
	if (ack__status_vague(cur))
		return !ack__status_vague(st);
	return same_subject(cur, st) && !detail_zero(st);
}

/*
 * The refined status of a DSN recipient (r->refined_status) whose stated
 * status is vague, when its diagnostic says more: first a more specific
 * status the diagnostic states (its first one, as reading_status reads
 * it), then the status the reason read from the diagnostic implies
 * (reason: NULL when the diagnostic gave none).  5.0.0 with "550 5.1.1"
 * or with "no such user" refines to 5.1.1.
 *
 * Vague here is x.0.0 and also x.y.0: x.y.0 names the subject (address,
 * mailbox, network, policy ...) but not the detail, which the text often
 * gives (5.2.0 with "mailbox full": 5.2.2).  What the report states wins
 * over our reading of its text: the class is never changed, and a subject
 * the report names is kept (5.2.0 with "user unknown" stays 5.2.0); only
 * x.0.0, which names none, takes a subject from the text.
 */
static int
refine_status(ack_report_rcpt *r, const char *reason)
{
	char cur[16], st[16];
	size_t n = strlen(r->status);

	if (ack_status_reason(r->status) == NULL || !detail_zero(r->status) ||
	    n >= sizeof cur)
		return ACK_OK;
	memcpy(cur, r->status, n + 1);
	if (r->diagnostic != NULL && ack__status_find(r->diagnostic,
	    strlen(r->diagnostic), st, sizeof st) && more_specific(cur, st))
		memcpy(cur, st, sizeof cur);
	if (reason != NULL && detail_zero(cur)) {
		/* of another class (toomanyconn is 4.7.0 even when permanent),
		 * it contradicts the report: more_specific says no */
		snprintf(st, sizeof st, "%s", ack__reason_status(reason, cur[0] == '4'));
		if (more_specific(cur, st))
			memcpy(cur, st, sizeof cur);
	}
	if (strcmp(cur, r->status) == 0)
		return ACK_OK;
	return (r->refined_status = ack__strdup(cur)) != NULL ? ACK_OK : ACK_ENOMEM;
}

/*
 * Reason and hard/soft of one DSN recipient (a bounce's have theirs),
 * from its status and diagnostic as for a bounce (diag_reason).  The
 * status field itself stays the one the report states (what a DSN's
 * reader compares); the reason and the refined status carry what the
 * diagnostic adds.
 */
static int
classify_rcpt(scan *s, ack_report_rcpt *r)
{
	const char *reason = NULL, *told = NULL;
	char st[16];

	if (r->reason != NULL || r->status == NULL || r->status[0] == '2')
		return ACK_OK;
	if (r->diagnostic != NULL) {
		size_t n = strlen(r->diagnostic);
		const char *status = reading_status(r->status, r->diagnostic, n,
		    st, sizeof st);

		/* the filter of the diagnostic spares the rules it cannot hold */
		if (s->pt)
			s->filt = ack__parser_filter(s->p, r->diagnostic, n);
		/* a vague status never speaks: this reason is the text's */
		reason = told = diag_reason(s, status, r->diagnostic, n);
	}
	if (reason == NULL)
		reason = ack_status_reason(r->status);
	r->hard = ack_reason_hard(reason, r->status);
	if (reason && (r->reason = ack__strdup(reason)) == NULL)
		return ACK_ENOMEM;
	return refine_status(r, told);
}

int
ack__bounce_classify(ack_parser *p)
{
	ack__report_build *b = ack__parser_build(p);
	scan s;
	int rc = ACK_OK;

	if ((b->r.kind != ACK_KIND_DSN && b->r.kind != ACK_KIND_BOUNCE) ||
	    b->r.nrcpt == 0)
		return ACK_OK;
	memset(&s, 0, sizeof s);
	s.p = p;
	s.pt = ack__parser_patterns(p);
	if (s.pt && (s.md = ack__parser_md(p)) == NULL)
		return ACK_ENOMEM;
	for (size_t i = 0; i < b->r.nrcpt && rc == ACK_OK; i++)
		rc = classify_rcpt(&s, &b->r.rcpt[i]);
	return rc;
}
