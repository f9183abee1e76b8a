/*
 * report.c - the report parser's handle and its input: fed a message like
 * the milter stages (header, eoh, body chunks) or whole, it keeps the
 * top-level headers it needs and up to max_bytes of body (line ends
 * normalised to LF as the bytes arrive, so chunking never changes the
 * result).  What happens at eom is in report_eom.c; the JSON form of a
 * report in report_json.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mime.h"

#define DEFAULT_MAX (8u * 1024 * 1024)
#define KEEP_MAX (256u * 1024) /* buffer memory kept across messages */

static const char *const kept_headers[ACK__HDR_COUNT] = {
	"content-type", "content-transfer-encoding", "subject", "from",
	"auto-submitted", "message-id", "x-autoreply", "x-autorespond",
	"precedence", "x-failed-recipients",
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
	ack_buf_init(&p->body, p->max_bytes);
	ack_buf_init(&p->text, ACK_REPORT_TEXT_MAX);
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
	for (int i = 0; i < ACK__HDR_COUNT; i++) {
		free(p->hdr[i]);
		p->hdr[i] = NULL;
	}
	p->pending_cr = p->returned_seen = p->done = false;
	p->report_type[0] = '\0';
	p->nleaves = 0;
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
	*len = p->text.len;
	return p->text.data;
}

void
ack_parser_set_patterns(ack_parser *p, const ack_patterns *pt)
{
	p->patterns = pt;
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

/* Is name kept_headers[i]?  (Their first letters are lower case: a
 * cheap test of it first.) */
static bool
is_kept(int i, const char *name)
{
	return (name[0] | 0x20) == kept_headers[i][0] &&
	    ack__strcasecmp(kept_headers[i], name) == 0;
}

/* Is name one of the kept headers? */
static bool
is_kept_name(const char *name)
{
	for (int i = 0; i < ACK__HDR_COUNT; i++)
		if (is_kept(i, name))
			return true;
	return false;
}

const char *
ack__parser_header_value(const ack_parser *p, const char *name)
{
	for (int i = 0; i < ACK__HDR_COUNT; i++)
		if (is_kept(i, name))
			return p->hdr[i];
	return NULL;
}

/* ---------------------------------------------------------------- stages */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
ack_parser_header(ack_parser *p, const char *name, const char *value)
{
	size_t n = 0, len;
	char *v;

	for (int i = 0; i < ACK__HDR_COUNT; i++) {
		if (!is_kept(i, name) || p->hdr[i])
			continue;
		len = strlen(value);
		if (len > ACK_MIME_FIELD_MAX)
			len = ACK_MIME_FIELD_MAX;
		if ((v = malloc(len + 1)) == NULL)
			return ACK_ENOMEM;
		while (len > 0 && is_blank(value[len - 1]))
			len--;
		for (size_t k = 0; k < len; k++) /* unfold, trim */
			if (value[k] != '\r' && value[k] != '\n' &&
			    (n > 0 || !is_blank(value[k])))
				v[n++] = value[k];
		v[n] = '\0';
		p->hdr[i] = v;
	}
	return ACK_OK;
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

/* Bytes of body gathered before they are kept, so that a CRLF body is
 * kept a block at a time, not a line at a time. */
typedef struct stage {
	ack_parser *p;
	size_t k;
	int rc;
	char blk[4096];
} stage;

static void
stage_flush(stage *st)
{
	if (st->k > 0 && st->rc == ACK_OK)
		st->rc = keep(st->p, st->blk, st->k);
	st->k = 0;
}

static void
stage_add(stage *st, const char *s, size_t n)
{
	while (n > 0 && st->rc == ACK_OK) {
		size_t room = sizeof st->blk - st->k, c = n < room ? n : room;

		memcpy(st->blk + st->k, s, c);
		st->k += c;
		s += c;
		n -= c;
		if (st->k == sizeof st->blk)
			stage_flush(st);
	}
}

int
ack_parser_body(ack_parser *p, const void *data, size_t len)
{
	const char *d = data;
	size_t i = 0;
	stage st;

	if (p->body.truncated || len == 0)
		return ACK_OK;
	if (!p->pending_cr && memchr(d, '\r', len) == NULL)
		return keep(p, d, len); /* LF line ends: as it is */
	st.p = p;
	st.k = 0;
	st.rc = ACK_OK;
	while (i < len && st.rc == ACK_OK && !p->body.truncated) {
		const char *cr;
		size_t n;

		if (p->pending_cr && d[i] == '\n') {
			i++;
			p->pending_cr = false;
			continue;
		}
		p->pending_cr = false;
		cr = memchr(d + i, '\r', len - i);
		n = cr ? (size_t)(cr - (d + i)) : len - i;
		stage_add(&st, d + i, n);
		i += n;
		if (cr) {
			stage_add(&st, "\n", 1);
			p->pending_cr = true;
			i++;
		}
	}
	stage_flush(&st);
	return st.rc;
}

/* ---------------------------------------------------------- whole message */

/* The line at pos: its length and the offset after its line end. */
static size_t
line_at(const char *d, size_t len, size_t pos, size_t *next)
{
	const char *nl = memchr(d + pos, '\n', len - pos);
	size_t i = nl ? (size_t)(nl - d) : len;
	const char *cr = memchr(d + pos, '\r', i - pos);

	if (cr != NULL)
		i = (size_t)(cr - d);
	*next = i;
	if (i < len && d[i] == '\r')
		(*next)++;
	if (*next < len && d[*next] == '\n' && (i == *next || d[i] == '\r'))
		(*next)++;
	return i - pos;
}

/* Length of the field name of a header line, 0 when it is not one. */
static size_t
field_name_len(const char *s, size_t n)
{
	size_t i = 0, e;

	while (i < n && s[i] != ':' && s[i] > ' ' && s[i] < 127)
		i++;
	e = i;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == ':' && e > 0 && e < 128 ? e : 0;
}

/* Pass the field gathered on (when kept) and start afresh. */
static int
flush_field(ack_parser *p, char *name, ack_buf *v, bool kept)
{
	int rc = ACK_OK;

	if (name[0] && kept)
		rc = ack_parser_header(p, name, v->data ? v->data : "");
	name[0] = '\0';
	ack_buf_reset(v);
	return rc;
}

/* Feed the header section; return the offset of the body. */
static size_t
feed_headers(ack_parser *p, const char *d, size_t len, int *rc)
{
	char name[128] = "";
	ack_buf v;
	size_t pos = 0, next, n, nl;
	bool kept = false;

	ack_buf_init(&v, ACK_MIME_FIELD_MAX);
	*rc = ACK_OK;
	while (pos < len && *rc == ACK_OK) {
		n = line_at(d, len, pos, &next);
		if (n == 0) {
			pos = next;
			break;
		}
		if ((d[pos] == ' ' || d[pos] == '\t') && name[0]) {
			if (kept)
				*rc = ack__buf_add_capped(&v, d + pos, n);
		} else if ((nl = field_name_len(d + pos, n)) > 0) {
			const char *val = (const char *)memchr(d + pos, ':', n) + 1;

			*rc = flush_field(p, name, &v, kept);
			memcpy(name, d + pos, nl);
			name[nl] = '\0';
			kept = is_kept_name(name); /* others are not read */
			if (*rc == ACK_OK && kept)
				*rc = ack__buf_add_capped(&v, val,
				    n - (size_t)(val - (d + pos)));
		} else if (!(pos == 0 && n > 5 && memcmp(d, "From ", 5) == 0)) {
			break; /* not a header: the body starts here */
		}
		pos = next;
	}
	if (*rc == ACK_OK)
		*rc = flush_field(p, name, &v, kept);
	ack_buf_free(&v);
	return pos;
}

int
ack_parser_message(ack_parser *p, const void *data, size_t len)
{
	const char *d = data;
	size_t off;
	int rc;

	ack_parser_reset(p);
	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0) {
		d += 3;
		len -= 3;
	}
	off = feed_headers(p, d, len, &rc);
	if (rc == ACK_OK)
		rc = ack_parser_eoh(p);
	if (rc == ACK_OK)
		rc = ack_parser_body(p, d + off, len - off);
	if (rc == ACK_OK)
		rc = ack_parser_eom(p);
	return rc;
}
