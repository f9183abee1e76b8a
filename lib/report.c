/*
 * report.c - the report parser's handle and its input: fed a message like
 * the milter stages (header, eoh, body chunks) or whole, it keeps the
 * top-level headers it needs and up to max_bytes of body (line ends
 * normalised to LF as the bytes arrive, so chunking never changes the
 * result; a whole message whose body has LF line ends already is read
 * where it lies, not copied).  What happens at eom is in report_eom.c;
 * the JSON form of a report in report_json.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mime.h"

#define DEFAULT_MAX (8u * 1024 * 1024)
#define KEEP_MAX (256u * 1024) /* buffer memory kept across messages */

/* Lowercase letters and '-' only, as kept_index() compares them. */
static const char *const kept_headers[ACK__HDR_COUNT] = {
	"content-type", "content-transfer-encoding", "subject", "from",
	"auto-submitted", "message-id", "x-autoreply", "x-autorespond",
	"precedence", "x-failed-recipients", "in-reply-to",
};

/* ------------------------------------------------------------- lifecycle */

int
ack_parser_new(ack_parser **out, size_t max_bytes)
{
	ack_parser *p = calloc(1, sizeof *p);

	*out = NULL;
	if (p == NULL)
		return ACK_ENOMEM;
	p->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX;
	p->view = "";
	(void)ack_parser_set_tracking_header(p, "Ack-Tracking-Id");
	ack_buf_init(&p->body, p->max_bytes);
	ack_buf_init(&p->text, ACK_REPORT_TEXT_MAX);
	ack_buf_init(&p->hdrs, 0); /* bounded by the field cap per header */
	*out = p;
	return ACK_OK;
}

/* Empty b for the next message, keeping its memory unless large. */
static void
recycle(ack_buf *b)
{
	if (b->size > KEEP_MAX)
		ack_buf_free(b);
	else
		ack_buf_reset(b);
}

void
ack_parser_reset(ack_parser *p)
{
	if (p == NULL)
		return;
	ack__report_clear(&p->b);
	recycle(&p->body);
	recycle(&p->text);
	recycle(&p->hdrs);
	memset(p->hdr_at, 0, sizeof p->hdr_at);
	p->pending_cr = p->returned_seen = p->done = false;
	p->report_type[0] = '\0';
	p->top_report = false;
	p->nleaves = 0;
	p->view = "";
	p->view_len = 0;
	p->borrowed = false;
	p->text_at = NULL;
	p->text_len = 0;
	free(p->returned_to);
	p->returned_to = NULL;
	p->to_scanned = false;
}

void
ack_parser_free(ack_parser *p)
{
	ack_parser_reset(p);
	if (p != NULL) {
		ack_buf_free(&p->body);
		ack_buf_free(&p->text);
		ack_buf_free(&p->hdrs);
		ack__pat_md_free(p->md);
		ack__pat_filter_free(p->filt);
	}
	free(p);
}

const ack_report *
ack_parser_result(const ack_parser *p)
{
	return &p->b.r;
}

const char *
ack__parser_text(const ack_parser *p, size_t *len)
{
	if (p->text_at != NULL) {
		*len = p->text_len;
		return p->text_at;
	}
	*len = p->text.len;
	return p->text.data;
}

void
ack_parser_set_patterns(ack_parser *p, const ack_patterns *pt)
{
	p->patterns = pt;
}

/* A letter, then letters, digits or '-', at most ACK_HEADER_NAME_MAX:
 * the names ack__mime_headers_only() can look for. */
bool
ack__header_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n <= ACK_HEADER_NAME_MAX &&
	    (name[0] | 0x20) >= 'a' && (name[0] | 0x20) <= 'z' &&
	    name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-")] == '\0';
}

int
ack_parser_set_tracking_header(ack_parser *p, const char *name)
{
	if (!ack__header_name_ok(name))
		return ACK_EINVAL;
	memcpy(p->track_name, name, strlen(name) + 1);
	p->returned_names[0] = p->track_name;
	p->returned_names[1] = "Message-ID";
	p->returned_names[2] = "To";
	p->returned_names[3] = NULL;
	return ACK_OK;
}

const ack_patterns *
ack__parser_patterns(const ack_parser *p)
{
	return p->patterns;
}

ack__report_build *
ack__parser_build(ack_parser *p)
{
	return &p->b;
}

void *
ack__parser_md(ack_parser *p)
{
	if (p->md == NULL)
		p->md = ack__pat_md_new();
	return p->md;
}

ack__pat_filter *
ack__parser_filter(ack_parser *p, const char *s, size_t len)
{
	if (p->filt == NULL && (p->filt = ack__pat_filter_new()) == NULL)
		return NULL; /* out of memory: rules unfiltered */
	ack__pat_filter_set(p->filt, s, len);
	return p->filt;
}

/* The index in kept_headers[] of the field name s[0..n) (any case), or
 * -1.  Dispatched on the length (and a first letter where two names
 * share one), so that a name costs at most one compare. */
static int
kept_index(const char *s, size_t n)
{
	int i;

	switch (n) {
	case 4: i = ACK__HDR_FROM; break;
	case 7: i = ACK__HDR_SUBJECT; break;
	case 10:
		i = (s[0] | 0x20) == 'm' ? ACK__HDR_MSGID : ACK__HDR_PRECEDENCE;
		break;
	case 11:
		i = (s[0] | 0x20) == 'x' ? ACK__HDR_XAUTOREPLY : ACK__HDR_INREPLYTO;
		break;
	case 12: i = ACK__HDR_CTYPE; break;
	case 13: i = ACK__HDR_XAUTORESPOND; break;
	case 14: i = ACK__HDR_AUTOSUB; break;
	case 19: i = ACK__HDR_XFAILED; break;
	case 25: i = ACK__HDR_CTE; break;
	default: return -1;
	}
	return ack__same_letters(s, kept_headers[i], n) ? i : -1;
}

const char *
ack__parser_header_value(const ack_parser *p, const char *name)
{
	int i = kept_index(name, strlen(name));

	return i < 0 ? NULL : ack__parser_hdr(p, i);
}

const char *
ack__parser_hdr(const ack_parser *p, int i)
{
	return p->hdr_at[i] ? p->hdrs.data + p->hdr_at[i] - 1 : NULL;
}

/* ---------------------------------------------------------------- stages */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Keep value[0..len) (capped) as header i: unfolded (CR and LF dropped;
 * folded false: it holds none) and trimmed of blanks at both ends. */
static int
set_header(ack_parser *p, int i, const char *value, size_t len, bool folded)
{
	size_t k = 0, n = 0;
	char *v;
	int rc;

	if (len > ACK_MIME_FIELD_MAX)
		len = ACK_MIME_FIELD_MAX;
	while (len > 0 && is_blank(value[len - 1]))
		len--;
	while (k < len && is_blank(value[k]))
		k++;
	/* into the parser's buffer of values: no allocation per header */
	if ((rc = ack__buf_reserve(&p->hdrs, len - k + 1)) != ACK_OK)
		return rc == ACK_ETOOBIG ? ACK_ENOMEM : rc;
	v = p->hdrs.data + p->hdrs.len;
	if (!folded || (memchr(value + k, '\n', len - k) == NULL &&
	    memchr(value + k, '\r', len - k) == NULL)) { /* nothing to unfold */
		n = len - k;
		memcpy(v, value + k, n);
	} else {
		for (; k < len; k++)
			if (value[k] != '\r' && value[k] != '\n')
				v[n++] = value[k];
	}
	v[n] = '\0';
	p->hdr_at[i] = p->hdrs.len + 1;
	p->hdrs.len += n + 1;
	return ACK_OK;
}

int
ack_parser_header(ack_parser *p, const char *name, const char *value)
{
	int i = kept_index(name, strlen(name));

	if (i < 0 || p->hdr_at[i])
		return ACK_OK;
	return set_header(p, i, value, strlen(value), true);
}

int
ack_parser_eoh(ack_parser *p)
{
	(void)p;
	return ACK_OK;
}

/* Keep n more body bytes; past the cap keep what fits and stop. */
static int
keep(ack_parser *p, const char *s, size_t n)
{
	int rc = ack__buf_add_capped(&p->body, s, n);

	if (p->body.truncated)
		p->b.r.truncated = true;
	return rc;
}

/*
 * Normalise the line ends of d[0..len) into out (at most room bytes):
 * CRLF and a lone CR become LF, and an LF right after a CR that ended
 * the last chunk (pending_cr) is dropped, so that chunking never changes
 * the result.  Returns the bytes written; *over when more did not fit.
 */
static size_t
crlf_to_lf(ack_parser *p, const char *d, size_t len, char *out,
    size_t room, bool *over)
{
	size_t i = 0, o = 0;

	*over = false;
	if (p->pending_cr && d[0] == '\n')
		i = 1;
	p->pending_cr = false;
	while (i < len) {
		const char *cr = memchr(d + i, '\r', len - i);
		size_t n = cr ? (size_t)(cr - (d + i)) : len - i;

		if (n > room - o) {
			memcpy(out + o, d + i, room - o);
			*over = true;
			return room;
		}
		memcpy(out + o, d + i, n);
		o += n;
		i += n;
		if (cr == NULL)
			break;
		if (o == room) {
			*over = true;
			return o;
		}
		out[o++] = '\n';
		if (++i == len)
			p->pending_cr = true;
		else if (d[i] == '\n')
			i++;
	}
	return o;
}

/* Keep body bytes that hold a CR (or follow one) normalised. */
static int
keep_normalised(ack_parser *p, const char *data, size_t len)
{
	ack_buf *b = &p->body;
	size_t room, o;
	char none; /* where nothing is written when there is no room */
	bool over;
	int rc;

	/* the normalised bytes are no more than the raw ones: room for
	 * those (within the cap) at once, then one pass into the buffer */
	room = b->cap - b->len;
	if (room > len)
		room = len;
	if (room > 0 && (rc = ack__buf_reserve(b, room)) != ACK_OK)
		return rc;
	o = crlf_to_lf(p, data, len, room ? b->data + b->len : &none, room,
	    &over);
	if (o > 0) {
		b->len += o;
		b->data[b->len] = '\0';
	}
	if (over)
		b->truncated = p->b.r.truncated = true;
	return ACK_OK;
}

int
ack_parser_body(ack_parser *p, const void *data, size_t len)
{
	if (p->body.truncated || len == 0)
		return ACK_OK;
	if (!p->pending_cr && memchr(data, '\r', len) == NULL)
		return keep(p, data, len); /* LF line ends: as it is */
	return keep_normalised(p, data, len);
}

/* ---------------------------------------------------------- whole message */

/* The offset of the first CR at or after pos, or len. */
static size_t
next_cr(const char *d, size_t len, size_t pos)
{
	const char *cr = memchr(d + pos, '\r', len - pos);

	return cr ? (size_t)(cr - d) : len;
}

/* The line at pos: its length and the offset after its line end.  *cr
 * is the offset of the next CR (or len) once found, so that a message
 * with LF line ends is searched for CR once, not once per line. */
static size_t
line_at(const char *d, size_t len, size_t pos, size_t *cr, size_t *next)
{
	const char *nl;
	size_t i;

	if (*cr < pos)
		*cr = next_cr(d, len, pos);
	/* the line ends at the first LF or CR: no LF is looked for past the
	 * CR (a message with CR line ends is not searched to its end for an
	 * LF once per line) */
	nl = memchr(d + pos, '\n', *cr - pos);
	i = nl ? (size_t)(nl - d) : *cr;
	*next = i;
	if (i < len && d[i] == '\r')
		(*next)++;
	if (*next < len && d[*next] == '\n' && (i == *next || d[i] == '\r'))
		(*next)++;
	return i - pos;
}

/* Are the bytes of s[0..n) all printable ASCII (33 to 126)?  Eight at
 * a time: a byte below 33 borrows into its top bit, one above 126
 * carries into it (or has it set already). */
static bool
all_printable(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, tops = ones << 7;
	uint64_t x, bad = 0;
	size_t i = 0;

	if (n < 8) {
		for (; i < n; i++)
			if ((unsigned char)(s[i] - 33) >= 94)
				return false;
		return true;
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, 8);
		bad |= ((x - ones * 33) & ~x) | ((x + ones) | x);
	}
	memcpy(&x, s + n - 8, 8); /* the last bytes (again, maybe) */
	bad |= ((x - ones * 33) & ~x) | ((x + ones) | x);
	return (bad & tops) == 0;
}

/* Length of the field name of a header line, 0 when it is not one;
 * then *val is the offset after its colon.  The name is printable
 * ASCII up to the first colon, blanks allowed before the colon. */
static size_t
field_name_len(const char *s, size_t n, size_t *val)
{
	const char *colon = memchr(s, ':', n);
	size_t e;

	if (colon == NULL)
		return 0;
	e = (size_t)(colon - s);
	*val = e + 1;
	while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	return e > 0 && e < 128 && all_printable(s, e) ? e : 0;
}

/* The header field being read by feed_headers(): its value pieces (the
 * rest of the first line, then each continuation line, line ends left
 * out) up to ACK_MIME_FIELD_MAX bytes; gathered only when kept. */
typedef struct field {
	int idx;   /* kept_headers[] index; -1: not kept, or kept already */
	bool open; /* a field was started */
	size_t len;
	char d[ACK_MIME_FIELD_MAX];
} field;

static void
field_add(field *f, const char *s, size_t n)
{
	size_t room = sizeof f->d - f->len;

	if (f->idx < 0)
		return;
	if (n > room)
		n = room;
	memcpy(f->d + f->len, s, n);
	f->len += n;
}

/* Keep the field gathered (when kept) and start afresh.  The value ends
 * at a NUL byte, as that of ack_parser_header() does. */
static int
flush_field(ack_parser *p, field *f)
{
	int rc = ACK_OK;

	if (f->idx >= 0) {
		const char *nul = memchr(f->d, '\0', f->len);

		/* the pieces were taken without their line ends */
		rc = set_header(p, f->idx, f->d,
		    nul ? (size_t)(nul - f->d) : f->len, false);
	}
	f->idx = -1;
	f->len = 0;
	return rc;
}

/* Feed the header section; return the offset of the body, and in *crp
 * that of the first CR at or after it (or len). */
static size_t
feed_headers(ack_parser *p, const char *d, size_t len, size_t *crp, int *rc)
{
	field f;
	size_t pos = 0, next, n, nl, val, cr = next_cr(d, len, 0);

	f.idx = -1;
	f.open = false;
	f.len = 0;
	*rc = ACK_OK;
	while (pos < len && *rc == ACK_OK) {
		n = line_at(d, len, pos, &cr, &next);
		if (n == 0) {
			pos = next;
			break;
		}
		if ((d[pos] == ' ' || d[pos] == '\t') && f.open) {
			field_add(&f, d + pos, n);
		} else if ((nl = field_name_len(d + pos, n, &val)) > 0) {
			if (f.idx >= 0)
				*rc = flush_field(p, &f);
			f.len = 0;
			f.open = true;
			f.idx = kept_index(d + pos, nl); /* others are not read */
			if (f.idx >= 0 && p->hdr_at[f.idx] != 0)
				f.idx = -1; /* the first one is kept */
			field_add(&f, d + pos + val, n - val);
		} else if (!(pos == 0 && n > 5 && memcmp(d, "From ", 5) == 0)) {
			break; /* not a header: the body starts here */
		}
		pos = next;
	}
	if (*rc == ACK_OK)
		*rc = flush_field(p, &f);
	*crp = cr >= pos ? cr : next_cr(d, len, pos);
	return pos;
}

/* The body of a whole message: read where it lies when its line ends
 * are LF already (no CR: has_cr false), capped as ack_parser_body()
 * caps it, else normalised into the parser's copy. */
static int
take_body(ack_parser *p, const char *d, size_t len, bool has_cr)
{
	if (has_cr) /* a fresh parser: nothing kept, no CR pending */
		return keep_normalised(p, d, len);
	p->borrowed = true;
	p->view = d;
	p->view_len = len;
	if (len > p->body.cap) {
		p->view_len = p->body.cap;
		p->body.truncated = p->b.r.truncated = true;
	}
	return ACK_OK;
}

int
ack_parser_message(ack_parser *p, const void *data, size_t len)
{
	const char *d = data;
	size_t off, cr;
	int rc;

	ack_parser_reset(p);
	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0) {
		d += 3;
		len -= 3;
	}
	off = feed_headers(p, d, len, &cr, &rc);
	if (rc == ACK_OK)
		rc = ack_parser_eoh(p);
	if (rc == ACK_OK)
		rc = take_body(p, d + off, len - off, cr < len);
	if (rc == ACK_OK)
		rc = ack_parser_eom(p);
	/* nothing may point into the caller's bytes once they are gone */
	p->view = "";
	p->view_len = 0;
	p->nleaves = 0;
	p->text_at = NULL;
	p->text_len = 0;
	return rc;
}
