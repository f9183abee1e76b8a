/*
 * mime.c - the MIME pieces the report parser needs: header blocks
 * (unfolding), Content-Type and its parameters, multipart boundaries
 * (with a guess when the parameter is missing or wrong) and base64 /
 * quoted-printable decoding.  Input line ends are already LF; inputs are
 * length-delimited and may hold NUL bytes.  Work is linear in the input
 * per nesting level, and nesting is capped.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mime.h"

#define NAME_MAX_LEN 128
#define BOUNDARY_MAX 256

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

int
ack__buf_add_capped(ack_buf *b, const char *s, size_t n)
{
	int rc = ack_buf_add(b, s, n);
	size_t room;

	if (rc != ACK_ETOOBIG)
		return rc;
	room = b->cap > b->len ? b->cap - b->len : 0;
	if (room > 0 && (rc = ack_buf_add(b, s, room)) != ACK_OK)
		return rc;
	b->truncated = true;
	return ACK_OK;
}

/* ---------------------------------------------------------------- headers */

/* The unfolded value of the field being read, capped at
 * ACK_MIME_FIELD_MAX bytes (what does not fit is dropped). */
typedef struct fval {
	size_t len;
	char d[ACK_MIME_FIELD_MAX + 1];
} fval;

static void
fval_add(fval *v, const char *s, size_t n)
{
	size_t room = ACK_MIME_FIELD_MAX - v->len;

	if (n > room)
		n = room;
	memcpy(v->d + v->len, s, n);
	v->len += n;
}

/* Trim the value kept in v, pass the field on. */
static int
emit_field(const char *name, size_t nl, fval *v, ack__mime_field_cb cb,
    void *arg)
{
	size_t a = 0, n = v->len;
	char *z;

	while (n > 0 && (is_wsp(v->d[n - 1]) || v->d[n - 1] == '\n'))
		n--;
	while (a < n && is_wsp(v->d[a]))
		a++;
	v->d[n] = '\0';
	/* NUL is data: keep what follows it */
	for (z = memchr(v->d + a, '\0', n - a); z != NULL;
	    z = memchr(z + 1, '\0', (size_t)(v->d + n - z - 1)))
		*z = ' ';
	return cb(name, nl, v->d + a, arg);
}

/* The first letters of the names of only[], folded as wanted() folds
 * them, as a set: a line whose first byte is not in it starts no wanted
 * field, which is told without reading its name. */
typedef struct first_set {
	uint32_t bits[8];
} first_set;

static void
first_set_make(first_set *f, const char *const *only)
{
	memset(f, 0, sizeof *f);
	for (; *only; only++) {
		unsigned char c = (unsigned char)((*only)[0] | 0x20);

		f->bits[c >> 5] |= 1u << (c & 31);
	}
}

static bool
first_set_has(const first_set *f, char c)
{
	unsigned char u = (unsigned char)(c | 0x20);

	return (f->bits[u >> 5] >> (u & 31)) & 1u;
}

/* Is name one of only[] (NULL-terminated; NULL: every name is)? */
static bool
wanted(const char *name, const char *const *only)
{
	if (only == NULL)
		return true;
	for (; *only; only++)
		if (((*only)[0] | 0x20) == (name[0] | 0x20) && ack__same_name(name, *only))
			return true;
	return false;
}

/* Begin a field at line[0..n): name into name[] (its length into *nlp),
 * value start into v; false for a line that starts none, or a field not
 * wanted (per first, when not NULL, and only). */
static bool
start_field(const char *line, size_t n, char *name, size_t *nlp, fval *v,
    const char *const *only, const first_set *first)
{
	const char *colon;
	size_t nl;

	v->len = 0;
	if (first != NULL && !first_set_has(first, line[0]))
		return false;
	if ((colon = memchr(line, ':', n)) == NULL)
		return false;
	nl = (size_t)(colon - line);
	while (nl > 0 && is_wsp(line[nl - 1]))
		nl--;
	if (nl == 0 || nl >= NAME_MAX_LEN)
		return false;
	memcpy(name, line, nl);
	name[nl] = '\0';
	if (!wanted(name, only))
		return false;
	*nlp = strlen(name); /* a NUL in it ends it */
	fval_add(v, colon + 1, n - (size_t)(colon - line) - 1);
	return true;
}

/* Unfold: a continuation line adds one space and its text. */
static void
add_continuation(fval *v, const char *line, size_t n)
{
	size_t k = 0;

	while (k < n && is_wsp(line[k]))
		k++;
	if (k == n)
		return;
	fval_add(v, " ", 1);
	fval_add(v, line + k, n - k);
}

size_t
ack__mime_headers(const char *s, size_t len, ack__mime_field_cb cb,
    void *arg, int *rc)
{
	return ack__mime_headers_only(s, len, NULL, cb, arg, rc);
}

size_t
ack__mime_headers_only(const char *s, size_t len, const char *const *only,
    ack__mime_field_cb cb, void *arg, int *rc)
{
	char name[NAME_MAX_LEN];
	first_set first;
	fval v;
	size_t pos = 0, nl = 0;
	bool open = false;

	if (only != NULL)
		first_set_make(&first, only);
	*rc = ACK_OK;
	v.len = 0;
	while (pos < len && *rc == ACK_OK) {
		const char *line = s + pos;
		const char *lf = memchr(line, '\n', len - pos);
		size_t n = lf ? (size_t)(lf - line) : len - pos;

		pos += n + (lf ? 1 : 0);
		if (n == 0)
			break;
		if (is_wsp(line[0])) {
			if (open)
				add_continuation(&v, line, n);
			continue;
		}
		if (open)
			*rc = emit_field(name, nl, &v, cb, arg);
		open = start_field(line, n, name, &nl, &v, only,
		    only != NULL ? &first : NULL);
	}
	if (open && *rc == ACK_OK)
		*rc = emit_field(name, nl, &v, cb, arg);
	return pos;
}

/* ----------------------------------------------------------- content-type */

/* Does c end a type ("text/plain;") or an encoding ("7bit (...)")?  The
 * common bytes, above the space, cost two compares. */
static bool
ends_type(unsigned char c)
{
	return c <= ' ' ? c == '\0' || c == ' ' || c == '\t' : c == ';' || c == '(';
}

void
ack__mime_ctype(const char *value, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	if (value != NULL) {
		while (is_wsp(*value))
			value++;
		for (; o + 1 < outlen && !ends_type((unsigned char)*value); value++)
			out[o++] = (char)ack__lower((unsigned char)*value);
	}
	out[o] = '\0';
}

/* Skip blanks, semicolons and (comments). */
static const char *
skip_sep(const char *s)
{
	for (;;) {
		if (is_wsp(*s) || *s == ';' || *s == '\n') {
			s++;
		} else if (*s == '(') {
			while (*s && *s != ')')
				s++;
			if (*s)
				s++;
		} else {
			return s;
		}
	}
}

/* Read a parameter value (quoted or token) into out; return the end. */
static const char *
read_value(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			if (o + 1 < outlen)
				out[o++] = *s;
		}
		if (*s)
			s++;
	} else {
		for (; *s && *s != ';' && !is_wsp(*s); s++)
			if (o + 1 < outlen)
				out[o++] = *s;
	}
	if (outlen)
		out[o] = '\0';
	return s;
}

bool
ack__mime_param(const char *value, const char *name, char *out, size_t outlen)
{
	const char *s;
	size_t want = strlen(name);

	if (value == NULL || (s = strchr(value, ';')) == NULL)
		return false;
	for (s = skip_sep(s); *s; s = skip_sep(s)) {
		const char *n0 = s;
		size_t nl;

		while (*s && *s != '=' && *s != ';' && !is_wsp(*s))
			s++;
		nl = (size_t)(s - n0);
		while (is_wsp(*s))
			s++;
		if (*s != '=')
			continue;
		s++;
		while (is_wsp(*s))
			s++;
		if (nl == want && ack__strncasecmp(n0, name, nl) == 0) {
			read_value(s, out, outlen);
			return true;
		}
		s = read_value(s, NULL, 0);
	}
	return false;
}

/* ---------------------------------------------------------------- decoders */

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decoded bytes gathered in blocks, so that the buffer grows per block
 * and not per byte; past the buffer's cap the rest is dropped (and the
 * buffer marked truncated), as byte by byte. */
typedef struct sink {
	ack_buf *out;
	size_t k;
	int rc;
	char blk[1024];
} sink;

static void
sink_flush(sink *sk)
{
	if (sk->k > 0 && sk->rc == ACK_OK)
		sk->rc = ack__buf_add_capped(sk->out, sk->blk, sk->k);
	sk->k = 0;
}

/* Add c; false when decoding may stop (an error, or the cap reached). */
static bool
sink_put(sink *sk, char c)
{
	if (sk->k == sizeof sk->blk) {
		sink_flush(sk);
		if (sk->rc != ACK_OK || sk->out->len >= sk->out->cap)
			return false;
	}
	sk->blk[sk->k++] = c;
	return true;
}

/* Add s[0..n), as sink_put byte by byte would. */
static bool
sink_run(sink *sk, const char *s, size_t n)
{
	while (n > 0) {
		size_t room = sizeof sk->blk - sk->k, c = n < room ? n : room;

		if (room == 0) {
			sink_flush(sk);
			if (sk->rc != ACK_OK || sk->out->len >= sk->out->cap)
				return false;
			continue;
		}
		memcpy(sk->blk + sk->k, s, c);
		sk->k += c;
		s += c;
		n -= c;
	}
	return true;
}

/* The decoder's result: ACK_OK, or ACK_ENOMEM. */
static int
sink_done(sink *sk)
{
	sink_flush(sk);
	return sk->rc == ACK_OK ? ACK_OK : ACK_ENOMEM;
}

int
ack__b64_decode(ack_buf *out, const char *s, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	sink sk = { .out = out, .k = 0, .rc = ACK_OK };

	for (size_t i = 0; i < n; i++) {
		int v = b64_val((unsigned char)s[i]);

		if (s[i] == '=') {
			acc = 0; /* padding ends a quantum; restart after it */
			bits = 0;
			continue;
		}
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (!sink_put(&sk, (char)((acc >> bits) & 0xff)))
				break;
		}
	}
	return sink_done(&sk);
}

static int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ack__lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Length of a soft line break at s[0..n) ("=" blanks LF), 0 if none. */
static size_t
soft_break(const char *s, size_t n)
{
	size_t i = 1;

	while (i < n && (is_wsp(s[i]) || s[i] == '\r'))
		i++;
	if (i == n)
		return n;
	return s[i] == '\n' ? i + 1 : 0;
}

int
ack__qp_decode(ack_buf *out, const char *s, size_t n)
{
	sink sk = { .out = out, .k = 0, .rc = ACK_OK };

	for (size_t i = 0; i < n;) {
		char c = s[i];
		size_t sb;

		if (c != '=') { /* up to the next '=': as it is */
			const char *q = memchr(s + i, '=', n - i);
			size_t run = q ? (size_t)(q - (s + i)) : n - i;

			if (!sink_run(&sk, s + i, run))
				break;
			i += run;
			continue;
		}
		if ((sb = soft_break(s + i, n - i)) > 0) {
			i += sb;
			continue;
		}
		if (c == '=' && i + 2 < n && hex_val((unsigned char)s[i + 1]) >= 0 &&
		    hex_val((unsigned char)s[i + 2]) >= 0) {
			c = (char)(hex_val((unsigned char)s[i + 1]) * 16 +
			    hex_val((unsigned char)s[i + 2]));
			i += 2;
		}
		i++;
		if (!sink_put(&sk, c))
			break;
	}
	return sink_done(&sk);
}

bool
ack__mime_encoded(const char *cte)
{
	char enc[32];

	ack__mime_ctype(cte, enc, sizeof enc);
	return strcmp(enc, "base64") == 0 || strcmp(enc, "quoted-printable") == 0;
}

int
ack__mime_decode(ack_buf *out, const char *cte, const char *s, size_t n)
{
	char enc[32];
	ack__mime_ctype(cte, enc, sizeof enc);
	if (strcmp(enc, "base64") == 0)
		return ack__b64_decode(out, s, n);
	if (strcmp(enc, "quoted-printable") == 0)
		return ack__qp_decode(out, s, n);
	return ack__buf_add_capped(out, s, n);
}

/* ----------------------------------------------------------------- walking */

/* Does the line s[0..n) delimit parts for boundary b?  *close if "--". */
static bool
is_delim(const char *s, size_t n, const char *b, size_t bl, bool *close)
{
	size_t i;

	if (n < bl + 2 || s[0] != '-' || s[1] != '-' || memcmp(s + 2, b, bl) != 0)
		return false;
	i = bl + 2;
	*close = n >= i + 2 && s[i] == '-' && s[i + 1] == '-';
	if (*close)
		return true;
	while (i < n && (is_wsp(s[i]) || s[i] == '\r'))
		i++;
	return i == n;
}

/*
 * Find the next delimiter line at or after line start pos.  Sets *start
 * (the line) and *next (after it).  Returns false when there is none.
 */
static bool
next_delim(const char *d, size_t len, size_t pos, const char *b, size_t bl,
    size_t *start, size_t *next, bool *close)
{
	char pat[BOUNDARY_MAX + 2];
	size_t line = pos;

	if (bl + 2 > sizeof pat)
		return false; /* no line can hold it: is_delim never holds */
	pat[0] = pat[1] = '-';
	memcpy(pat + 2, b, bl);
	while (pos < len) {
		/* only a line starting "--b" can be a delimiter */
		const char *q = memmem(d + pos, len - pos, pat, bl + 2), *nl;
		size_t at, n;

		if (q == NULL)
			return false;
		at = (size_t)(q - d);
		pos = at + 1;
		if (at != line && d[at - 1] != '\n')
			continue;
		nl = memchr(q, '\n', len - at);
		n = nl ? (size_t)(nl - q) : len - at;
		if (is_delim(q, n, b, bl, close)) {
			*start = at;
			*next = at + n + (nl ? 1 : 0);
			return true;
		}
	}
	return false;
}

/* Use the first "--x" line as the boundary when none is declared. */
static bool
guess_boundary(const char *d, size_t len, char *out, size_t outlen)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(d + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (d + pos)) : len - pos;

		while (n > 2 && is_wsp(d[pos + n - 1]))
			n--;
		if (n > 2 && n - 2 < outlen && d[pos] == '-' && d[pos + 1] == '-' &&
		    memchr(d + pos, '\0', n) == NULL && !is_wsp(d[pos + 2])) {
			memcpy(out, d + pos + 2, n - 2);
			out[n - 2] = '\0';
			return true;
		}
		pos = nl ? (size_t)(nl - d) + 1 : len;
	}
	return false;
}

/* A part's Content-Type and Content-Transfer-Encoding: NULL, or the
 * value, in the buffers here when it fits (most do), else on the heap. */
typedef struct part_hdrs {
	char *ctype;
	char *cte;
	char ctype_buf[256];
	char cte_buf[64];
} part_hdrs;

static const char *const part_fields[] = {
	"Content-Type", "Content-Transfer-Encoding", NULL
};

static int
collect_hdr(const char *name, size_t nl, const char *value, void *arg)
{
	part_hdrs *h = arg;
	char **slot = NULL, *buf;
	size_t size, n;

	if (nl == 12 && ack__same_name(name, "Content-Type"))
		slot = &h->ctype;
	else if (nl == 25 && ack__same_name(name, "Content-Transfer-Encoding"))
		slot = &h->cte;
	if (slot == NULL || *slot != NULL)
		return ACK_OK;
	buf = slot == &h->ctype ? h->ctype_buf : h->cte_buf;
	size = slot == &h->ctype ? sizeof h->ctype_buf : sizeof h->cte_buf;
	if ((n = strlen(value)) < size)
		*slot = memcpy(buf, value, n + 1);
	else
		*slot = ack__strndup(value, n);
	return *slot ? ACK_OK : ACK_ENOMEM;
}

static int walk(const char *data, size_t len, const char *ctype,
    const char *cte, unsigned depth, ack__mime_part_cb cb, void *arg);

/* Parse one part's headers and walk it. */
static int
walk_part(const char *d, size_t len, unsigned depth, ack__mime_part_cb cb,
    void *arg)
{
	part_hdrs h;
	size_t off;
	int rc;

	h.ctype = h.cte = NULL;
	off = ack__mime_headers_only(d, len, part_fields, collect_hdr, &h, &rc);
	if (rc == ACK_OK)
		rc = walk(d + off, len - off, h.ctype, h.cte, depth, cb, arg);
	if (h.ctype != h.ctype_buf)
		free(h.ctype);
	if (h.cte != h.cte_buf)
		free(h.cte);
	return rc;
}

/* Walk the parts of d[0..len) delimited by boundary b, whose first
 * delimiter line ends at next (close: it is the closing one). */
static int
walk_children(const char *d, size_t len, const char *b, size_t next,
    bool close, unsigned depth, ack__mime_part_cb cb, void *arg)
{
	size_t bl = strlen(b), start, pos;
	unsigned count = 0;
	int rc = ACK_OK;

	while (!close && count++ < ACK_MIME_PARTS_MAX && rc == ACK_OK) {
		size_t end;

		pos = next;
		if (next_delim(d, len, pos, b, bl, &start, &next, &close))
			end = start > pos ? start - 1 : pos;
		else
			end = len, close = true;
		rc = walk_part(d + pos, end - pos, depth, cb, arg);
	}
	return rc;
}

static int
walk(const char *data, size_t len, const char *ctype, const char *cte,
    unsigned depth, ack__mime_part_cb cb, void *arg)
{
	ack__mime_part part;
	char b[BOUNDARY_MAX];
	size_t start, next;
	bool close = false;
	int rc;

	memset(&part, 0, sizeof part);
	ack__mime_ctype(ctype, part.type, sizeof part.type);
	if (part.type[0] == '\0')
		strcpy(part.type, "text/plain");
	part.ctype = ctype ? ctype : "";
	part.cte = cte ? cte : "";
	part.data = data;
	part.len = len;
	part.depth = depth;
	part.container = strncmp(part.type, "multipart/", 10) == 0 &&
	    depth < ACK_MIME_DEPTH_MAX;
	if ((rc = cb(&part, arg)) != ACK_OK || !part.container)
		return rc;
	if (!ack__mime_param(ctype, "boundary", b, sizeof b) || b[0] == '\0' ||
	    !next_delim(data, len, 0, b, strlen(b), &start, &next, &close)) {
		if (!guess_boundary(data, len, b, sizeof b) ||
		    !next_delim(data, len, 0, b, strlen(b), &start, &next, &close))
			return ACK_OK;
	}
	return walk_children(data, len, b, next, close, depth + 1, cb, arg);
}

int
ack__mime_walk(const char *data, size_t len, const char *ctype,
    const char *cte, ack__mime_part_cb cb, void *arg)
{
	return walk(data, len, ctype, cte, 0, cb, arg);
}
