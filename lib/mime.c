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

/* Is the name s[0..n), up to a NUL in it, k in any case?  k is made of
 * letters, digits and '-' (as the names of only[] are): its length is compared
 * first, then a word at a time. */
static bool
same_name_n(const char *s, size_t n, const char *k)
{
	size_t kl = strlen(k);

	if (n < kl || (n > kl && s[kl] != '\0'))
		return false;
	if (kl >= 4)
		return ack__same_letters(s, k, kl);
	for (size_t i = 0; i < kl; i++)
		if (ack__lower((unsigned char)s[i]) != ack__lower((unsigned char)k[i]))
			return false;
	return true;
}

/* Is the name s[0..n) one of only[] (NULL-terminated; NULL: every name
 * is)?  Read in place: a name not wanted is not copied. */
static bool
wanted(const char *s, size_t n, const char *const *only)
{
	if (only == NULL)
		return true;
	for (; *only; only++)
		if (((*only)[0] | 0x20) == (s[0] | 0x20) && same_name_n(s, n, *only))
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
	if (nl == 0 || nl >= NAME_MAX_LEN || !wanted(line, nl, only))
		return false;
	memcpy(name, line, nl);
	name[nl] = '\0';
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

/* Each byte of a type or an encoding, lowercased; 0 for the bytes that
 * end one (NUL, blanks, ';' and '('): one load per byte tells both. */
static const unsigned char type_bytes[256] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x00, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x00, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x00, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3a, 0x00, 0x3c, 0x3d, 0x3e, 0x3f,
	0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
	0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
	0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
	0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
	0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
	0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

void
ack__mime_ctype(const char *value, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned char c;

	if (outlen == 0)
		return;
	if (value != NULL) {
		while (is_wsp(*value))
			value++;
		for (; o + 1 < outlen &&
		    (c = type_bytes[(unsigned char)*value]) != 0; value++)
			out[o++] = (char)c;
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

/* Append what fits of s[0..n) to out[0..*o) (room for outlen - 1 bytes,
 * as the value is then NUL terminated). */
static void
put_run(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	size_t room = outlen > *o + 1 ? outlen - 1 - *o : 0;

	if (n > room)
		n = room;
	if (n > 0)
		memcpy(out + *o, s, n);
	*o += n;
}

/* Read a parameter value (quoted or token) into out; return the end.
 * The runs between quotes and backslashes are found by strcspn(). */
static const char *
read_value(const char *s, char *out, size_t outlen)
{
	size_t o = 0, run;

	if (*s == '"') {
		for (s++;; s++) {
			run = strcspn(s, "\"\\");
			put_run(out, outlen, &o, s, run);
			s += run;
			if (*s != '\\')
				break; /* the closing quote, or the end */
			if (s[1] != '\0')
				s++; /* an escaped byte; a last backslash is kept */
			put_run(out, outlen, &o, s, 1);
		}
		if (*s)
			s++;
	} else {
		run = strcspn(s, "; \t");
		put_run(out, outlen, &o, s, run);
		s += run;
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
 * The search for "--" boundary, set up once per multipart (not once per
 * part, as a memmem() call would): Horspool on pairs of bytes.  skip[]
 * maps the hash of the pair ending a window to how far the window may
 * move (m - 1 for a pair not in the pattern); 0 means the pair may end
 * the pattern: then the window is compared.
 */
typedef struct delim_finder {
	char pat[BOUNDARY_MAX + 1];
	size_t m;      /* pattern length */
	size_t shift1; /* skip after a failed compare */
	uint8_t skip[256];
} delim_finder;

static unsigned
pair_hash(const char *s)
{
	return ((unsigned)(unsigned char)s[1] -
	    ((unsigned)(unsigned char)s[0] << 3)) & 255;
}

static void
finder_make(delim_finder *f, const char *b, size_t bl)
{
	size_t m = bl + 2, j;

	f->m = m;
	f->pat[0] = f->pat[1] = '-';
	memcpy(f->pat + 2, b, bl);
	if (m - 1 > UINT8_MAX)
		return; /* skips do not fit the table: memmem() */
	memset(f->skip, (int)(m - 1), sizeof f->skip);
	for (j = 1; j < m - 1; j++)
		f->skip[pair_hash(f->pat + j - 1)] = (uint8_t)(m - 1 - j);
	j = pair_hash(f->pat + m - 2);
	f->shift1 = f->skip[j];
	f->skip[j] = 0;
}

/* The first "--" boundary in d[0..n), as memmem() would find it. */
static const char *
finder_find(const delim_finder *f, const char *d, size_t n)
{
	size_t m = f->m, i; /* i: the last byte of the window */

	if (m - 1 > UINT8_MAX)
		return memmem(d, n, f->pat, m);
	for (i = m - 1; i < n;) {
		size_t k = f->skip[pair_hash(d + i - 1)];

		if (k > 0) {
			i += k;
			continue;
		}
		if (memcmp(d + i - (m - 1), f->pat, m) == 0)
			return d + i - (m - 1);
		i += f->shift1;
	}
	return NULL;
}

/*
 * Find the next delimiter line at or after line start pos.  Sets *start
 * (the line) and *next (after it).  Returns false when there is none.
 */
static bool
next_delim(const char *d, size_t len, size_t pos, const delim_finder *f,
    size_t *start, size_t *next, bool *close)
{
	size_t line = pos, bl = f->m - 2;

	while (pos < len) {
		/* only a line starting "--b" can be a delimiter */
		const char *q = finder_find(f, d + pos, len - pos), *nl;
		size_t at, n;

		if (q == NULL)
			return false;
		at = (size_t)(q - d);
		pos = at + 1;
		if (at != line && d[at - 1] != '\n')
			continue;
		nl = memchr(q, '\n', len - at);
		n = nl ? (size_t)(nl - q) : len - at;
		if (is_delim(q, n, f->pat + 2, bl, close)) {
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

	/* only the names of part_fields[] come here: the length tells them */
	(void)name;
	if (nl == 12)
		slot = &h->ctype;
	else if (nl == 25)
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

/* Set f up for the boundary of a multipart (declared, else guessed) and
 * find its first delimiter line: false when there is none. */
static bool
first_delim(const char *d, size_t len, const char *ctype, delim_finder *f,
    size_t *next, bool *close)
{
	char b[BOUNDARY_MAX];
	size_t start;

	if (ack__mime_param(ctype, "boundary", b, sizeof b) && b[0] != '\0') {
		finder_make(f, b, strlen(b));
		if (next_delim(d, len, 0, f, &start, next, close))
			return true;
	}
	if (!guess_boundary(d, len, b, sizeof b))
		return false;
	finder_make(f, b, strlen(b));
	return next_delim(d, len, 0, f, &start, next, close);
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

/* Walk the parts of d[0..len) delimited per f, whose first
 * delimiter line ends at next (close: it is the closing one). */
static int
walk_children(const char *d, size_t len, const delim_finder *f, size_t next,
    bool close, unsigned depth, ack__mime_part_cb cb, void *arg)
{
	size_t start, pos;
	unsigned count = 0;
	int rc = ACK_OK;

	while (!close && count++ < ACK_MIME_PARTS_MAX && rc == ACK_OK) {
		size_t end;

		pos = next;
		if (next_delim(d, len, pos, f, &start, &next, &close))
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
	delim_finder f;
	size_t next;
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
	if (!first_delim(data, len, ctype, &f, &next, &close))
		return ACK_OK;
	return walk_children(data, len, &f, next, close, depth + 1, cb, arg);
}

int
ack__mime_walk(const char *data, size_t len, const char *ctype,
    const char *cte, ack__mime_part_cb cb, void *arg)
{
	return walk(data, len, ctype, cte, 0, cb, arg);
}

int
ack__mime_walk_entity(const char *d, size_t len, unsigned depth,
    ack__mime_part_cb cb, void *arg)
{
	return walk_part(d, len, depth, cb, arg);
}
