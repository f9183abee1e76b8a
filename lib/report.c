/*
 * report.c - the report parser: fed a message like the milter stages
 * (header, eoh, body chunks, eom) or whole, it keeps the top-level headers
 * it needs and up to max_bytes of body (line ends normalised to LF as the
 * bytes arrive, so chunking never changes the result), then at eom walks
 * the MIME tree and recognises RFC 3464 / 6533 DSNs, RFC 8098 MDNs and
 * RFC 5965 ARF reports, with fallbacks for broken structure.  Also the
 * JSON form of a report.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mime.h"

#define DEFAULT_MAX (8u * 1024 * 1024)
#define TEXT_LEAVES_MAX 8
#define KEEP_MAX (256u * 1024) /* buffer memory kept across messages */

enum {
	H_CTYPE, H_CTE, H_SUBJECT, H_FROM, H_AUTOSUB, H_MSGID, H_XAUTOREPLY,
	H_XAUTORESPOND, H_PRECEDENCE, H_XFAILED, H__COUNT
};

static const char *const kept_headers[H__COUNT] = {
	"content-type", "content-transfer-encoding", "subject", "from",
	"auto-submitted", "message-id", "x-autoreply", "x-autorespond",
	"precedence", "x-failed-recipients",
};

static const char *const kind_names[] = {
	"none", "dsn", "mdn", "arf", "bounce", "autoreply",
};

/* A text leaf that may hold report fields after all (kept for fallback). */
typedef struct text_leaf {
	const char *data;
	size_t len;
	char cte[32];
} text_leaf;

struct ack_parser {
	size_t max_bytes;
	ack__report_build b;
	ack_buf body;      /* normalised body, capped at max_bytes */
	ack_buf text;      /* first text/plain part, decoded */
	char *hdr[H__COUNT];
	bool pending_cr;   /* the last body byte was CR */
	bool returned_seen;
	bool done;         /* eom ran */
	char report_type[64];
	text_leaf leaves[TEXT_LEAVES_MAX];
	size_t nleaves;
	const ack_patterns *patterns;
	char *returned_to;  /* To: of the returned message */
	bool to_scanned;    /* the body was searched for a To: line */
	void *md;           /* PCRE2 match data, kept across messages */
	ack__pat_filter *filt; /* rule filter, kept across messages */
};

const char *
ack_report_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= ACK_ARRAY_LEN(kind_names))
		return "unknown";
	return kind_names[kind];
}

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
	for (int i = 0; i < H__COUNT; i++) {
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
	for (int i = 0; i < H__COUNT; i++)
		if (is_kept(i, name))
			return true;
	return false;
}

const char *
ack__parser_header_value(const ack_parser *p, const char *name)
{
	for (int i = 0; i < H__COUNT; i++)
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

	for (int i = 0; i < H__COUNT; i++) {
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

static bool
multipart_report(const ack_parser *p)
{
	char type[64];

	ack__mime_ctype(p->hdr[H_CTYPE], type, sizeof type);
	return strcmp(type, "multipart/report") == 0;
}

bool
ack_parser_candidate(const ack_parser *p)
{
	return multipart_report(p) ||
	    (p->patterns != NULL && ack__bounce_candidate(p));
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

/* ------------------------------------------------- non-RFC report forms */

#define TNEF_READ "IPM.Microsoft Mail.Read Receipt"
/* Does s[..end) hold the string literal lit? */
#define HAS(s, end, lit) \
	(memmem((s), (size_t)((end) - (s)), (lit), sizeof(lit) - 1) != NULL)

/* An Outlook read receipt wrapped in TNEF (winmail.dat). */
static int
parse_tnef(ack_parser *p, const char *s, size_t len, int kind)
{
	ack_report_rcpt *r;

	(void)kind;
	if (memmem(s, len, TNEF_READ, sizeof TNEF_READ - 1) == NULL)
		return ACK_OK;
	p->b.r.kind = ACK_KIND_MDN;
	if ((r = ack__report_add_rcpt(&p->b)) == NULL)
		return ACK_ENOMEM;
	r->action = ack__strdup("displayed");
	return r->action ? ACK_OK : ACK_ENOMEM;
}

/* The JSON string value after key at s (bounded by end), or NULL. */
static char *
json_string_after(const char *s, const char *end, const char *key,
    const char **next)
{
	const char *k = memmem(s, (size_t)(end - s), key, strlen(key)), *q;

	if (k == NULL)
		return NULL;
	k += strlen(key);
	if ((q = memchr(k, '"', (size_t)(end - k))) == NULL)
		return NULL;
	*next = q + 1;
	return ack__strndup(k, (size_t)(q - k) < ACK_REPORT_STR_MAX ?
	    (size_t)(q - k) : ACK_REPORT_STR_MAX);
}

/* One object of SES "bouncedRecipients" (between { and }): a recipient. */
static int
ses_bounced(ack_parser *p, const char *o, const char *end)
{
	const char *next;
	ack_report_rcpt *r;
	char *addr = json_string_after(o, end, "\"emailAddress\":\"", &next);

	if (addr == NULL)
		return ACK_OK;
	if ((r = ack__report_add_rcpt(&p->b)) == NULL) {
		free(addr);
		return ACK_ENOMEM;
	}
	r->final_recipient = addr;
	r->action = json_string_after(o, end, "\"action\":\"", &next);
	r->status = json_string_after(o, end, "\"status\":\"", &next);
	r->diagnostic = json_string_after(o, end, "\"diagnosticCode\":\"", &next);
	if (r->action == NULL)
		r->action = ack__strdup("failed");
	return r->action ? ACK_OK : ACK_ENOMEM;
}

/* A delivered recipient of an SES "Delivery" notification. */
static int
ses_delivered(ack_parser *p, char *addr, const char *smtp)
{
	ack_report_rcpt *r = ack__report_add_rcpt(&p->b);
	char st[16] = "2.0.0";

	if (r == NULL) {
		free(addr);
		return ACK_ENOMEM;
	}
	r->final_recipient = addr;
	if (smtp)
		(void)ack__status_find(smtp, strlen(smtp), st, sizeof st);
	r->action = ack__strdup("delivered");
	r->status = ack__strdup(st);
	r->diagnostic = smtp ? ack__strdup(smtp) : NULL;
	return r->action && r->status ? ACK_OK : ACK_ENOMEM;
}

/* Amazon SES bounce and delivery notifications (JSON): kind bounce. */
static int
parse_ses_other(ack_parser *p, const char *s, const char *end)
{
	const char *lst, *next, *q;
	char *smtp, *addr;
	bool bounce = HAS(s, end, "\"notificationType\":\"Bounce\"");
	int rc = ACK_OK;

	if (!bounce && !HAS(s, end, "\"notificationType\":\"Delivery\""))
		return ACK_OK;
	p->b.r.kind = ACK_KIND_BOUNCE;
	if (bounce) {
		if ((lst = memmem(s, (size_t)(end - s), "\"bouncedRecipients\":[", 21)) == NULL)
			return ACK_OK;
		while (rc == ACK_OK && (lst = memchr(lst, '{', (size_t)(end - lst))) &&
		    (q = memchr(lst, '}', (size_t)(end - lst)))) {
			rc = ses_bounced(p, lst, q);
			lst = q;
		}
		return rc;
	}
	smtp = json_string_after(s, end, "\"smtpResponse\":\"", &next);
	if ((lst = memmem(s, (size_t)(end - s), "\"recipients\":[", 14)) != NULL &&
	    (q = memchr(lst, ']', (size_t)(end - lst))) != NULL)
		for (lst += 14; rc == ACK_OK &&
		    (addr = json_string_after(lst, q, "\"", &next)); lst = next)
			rc = ses_delivered(p, addr, smtp);
	free(smtp);
	return rc;
}

/* An Amazon SES complaint notification (JSON in a text part): ARF. */
static int
parse_ses_complaint(ack_parser *p)
{
	const char *s = p->text.data, *end, *lst, *next;
	char *addr;

	if (s == NULL)
		return ACK_OK;
	end = s + p->text.len;
	while (s < end && (*s == ' ' || *s == '\n'))
		s++;
	if (s == end || *s != '{')
		return ACK_OK;
	if (!memmem(s, (size_t)(end - s), "\"notificationType\":\"Complaint\"", 30))
		return p->patterns ? parse_ses_other(p, s, end) : ACK_OK;
	p->b.r.kind = ACK_KIND_ARF;
	p->b.r.feedback_type = json_string_after(s, end,
	    "\"complaintFeedbackType\":\"", &next);
	if ((lst = memmem(s, (size_t)(end - s), "\"complainedRecipients\":[", 24)) == NULL)
		return ACK_OK;
	if ((end = memchr(lst, ']', (size_t)(end - lst))) == NULL)
		return ACK_OK;
	while ((addr = json_string_after(lst, end, "\"emailAddress\":\"", &next))) {
		ack_report_rcpt *r = ack__report_add_rcpt(&p->b);

		if (r == NULL) {
			free(addr);
			break;
		}
		r->final_recipient = addr;
		lst = next;
	}
	return ACK_OK;
}

/* ------------------------------------------------------------ the parts */

/* The fields of the returned message returned_field() keeps. */
static const char *const returned_fields[] = {
	"Ack-Tracking-Id", "Message-ID", "To", NULL
};

static int
returned_field(const char *name, const char *value, void *arg)
{
	ack_parser *p = arg;
	ack_report *r = &p->b.r;
	char **slot = NULL;

	if (ack__strcasecmp(name, "Ack-Tracking-Id") == 0)
		slot = &r->returned_token;
	else if (ack__strcasecmp(name, "Message-ID") == 0)
		slot = &r->returned_message_id;
	else if (ack__strcasecmp(name, "To") == 0)
		slot = &p->returned_to;
	if (slot == NULL || *slot != NULL)
		return ACK_OK;
	*slot = ack__field_text(value);
	return *slot ? ACK_OK : ACK_ENOMEM;
}

/* Decode a part (capped at the body cap) and hand it to fn; a part
 * that is not encoded is handed over as it is. */
static int
with_decoded(ack_parser *p, const ack__mime_part *part,
    int (*fn)(ack_parser *, const char *, size_t, int), int kind)
{
	ack_buf d;
	int rc;

	if (!ack__mime_encoded(part->cte))
		return fn(p, part->data ? part->data : "", part->len, kind);
	ack_buf_init(&d, p->max_bytes);
	rc = ack__mime_decode(&d, part->cte, part->data, part->len);
	if (rc == ACK_OK)
		rc = fn(p, d.data ? d.data : "", d.len, kind);
	ack_buf_free(&d);
	return rc;
}

static int
parse_returned(ack_parser *p, const char *s, size_t len, int kind)
{
	int rc;

	(void)kind;
	p->returned_seen = true;
	(void)ack__mime_headers_only(s, len, returned_fields, returned_field, p,
	    &rc);
	return rc;
}

static int
parse_fields(ack_parser *p, const char *s, size_t len, int kind)
{
	if (p->b.r.kind == ACK_KIND_NONE)
		p->b.r.kind = kind;
	return ack__fields_parse(&p->b, kind, s, len, false);
}

static int
keep_text(ack_parser *p, const char *s, size_t len, int kind)
{
	(void)kind;
	return ack__mime_decode(&p->text, NULL, s, len);
}

/* The report kind a leaf content type carries, or NONE. */
static int
leaf_kind(const char *type)
{
	static const struct { const char *type; int kind; } map[] = {
		{ "message/delivery-status", ACK_KIND_DSN },
		{ "message/global-delivery-status", ACK_KIND_DSN },
		{ "message/disposition-notification", ACK_KIND_MDN },
		{ "message/global-disposition-notification", ACK_KIND_MDN },
		{ "message/feedback-report", ACK_KIND_ARF },
	};

	for (size_t i = 0; i < ACK_ARRAY_LEN(map); i++)
		if (strcmp(type, map[i].type) == 0)
			return map[i].kind;
	return ACK_KIND_NONE;
}

static bool
is_returned_type(const char *type)
{
	return strcmp(type, "text/rfc822-headers") == 0 ||
	    strcmp(type, "message/rfc822") == 0 ||
	    strcmp(type, "message/global") == 0 ||
	    strcmp(type, "message/global-headers") == 0;
}

static void
remember_leaf(ack_parser *p, const ack__mime_part *part)
{
	text_leaf *l;

	if (p->nleaves >= TEXT_LEAVES_MAX)
		return;
	l = &p->leaves[p->nleaves++];
	l->data = part->data;
	l->len = part->len;
	ack__mime_ctype(part->cte, l->cte, sizeof l->cte);
}

static int
on_part(const ack__mime_part *part, void *arg)
{
	ack_parser *p = arg;
	int kind = leaf_kind(part->type);

	if (part->container) {
		if (strcmp(part->type, "multipart/report") == 0 && !p->report_type[0] &&
		    ack__mime_param(part->ctype, "report-type", p->report_type,
		        sizeof p->report_type))
			ack__mime_ctype(p->report_type, p->report_type, sizeof p->report_type);
		return ACK_OK;
	}
	if (kind != ACK_KIND_NONE) {
		if (p->b.r.kind != ACK_KIND_NONE && p->b.r.kind != kind)
			return ACK_OK;
		return with_decoded(p, part, parse_fields, kind);
	}
	if (is_returned_type(part->type))
		return p->returned_seen ? ACK_OK :
		    with_decoded(p, part, parse_returned, 0);
	if (strncmp(part->type, "multipart/", 10) == 0)
		return ACK_OK; /* too deep */
	if ((strcmp(part->type, "application/ms-tnef") == 0 ||
	    strcmp(part->type, "application/vnd.ms-tnef") == 0) &&
	    p->b.r.kind == ACK_KIND_NONE)
		return with_decoded(p, part, parse_tnef, 0);
	if (strcmp(part->type, "text/plain") == 0 && p->text.len == 0 &&
	    !p->text.truncated) {
		int rc = with_decoded(p, part, keep_text, 0);
		if (rc != ACK_OK)
			return rc;
	}
	remember_leaf(p, part);
	return ACK_OK;
}

/* ------------------------------------------------------------- fallbacks */

/* Parse the DSN-looking field block inside s, if any. */
static int
scan_fields(ack_parser *p, const char *s, size_t len, int kind)
{
	size_t off;
	bool found;

	if (kind == ACK_KIND_DSN)
		found = ack__fields_find_dsn(s, len, &off);
	else if (kind == ACK_KIND_MDN)
		found = ack__fields_find_line(s, len, "Final-Recipient", &off) ||
		    ack__fields_find_line(s, len, "Disposition", &off);
	else
		found = ack__fields_find_line(s, len, "Feedback-Type", &off);
	if (!found)
		return ACK_OK;
	return ack__fields_parse(&p->b, kind, s + off, len - off, true);
}

static int
scan_leaf(ack_parser *p, const char *s, size_t len, int kind)
{
	return scan_fields(p, s, len, kind);
}

/* Try the remembered text leaves, then the whole body. */
static int
fallback(ack_parser *p, int kind)
{
	int rc = ACK_OK;

	for (size_t i = 0; i < p->nleaves && p->b.r.nrcpt == 0 && rc == ACK_OK; i++) {
		ack__mime_part part;

		memset(&part, 0, sizeof part);
		part.data = p->leaves[i].data;
		part.len = p->leaves[i].len;
		part.cte = p->leaves[i].cte;
		rc = with_decoded(p, &part, scan_leaf, kind);
	}
	if (rc == ACK_OK && p->b.r.nrcpt == 0)
		rc = scan_fields(p, p->body.data ? p->body.data : "", p->body.len, kind);
	if (rc == ACK_OK && p->b.r.returned_token == NULL && !p->returned_seen) {
		size_t off;

		if (ack__fields_find_line(p->body.data ? p->body.data : "", p->body.len,
		    "Ack-Tracking-Id", &off))
			rc = parse_returned(p, p->body.data + off, p->body.len - off, 0);
	}
	return rc;
}

/* Kind a multipart/report declares by its report-type. */
static int
declared_kind(const ack_parser *p)
{
	if (strcmp(p->report_type, "delivery-status") == 0 ||
	    strcmp(p->report_type, "global-delivery-status") == 0)
		return ACK_KIND_DSN;
	if (strcmp(p->report_type, "disposition-notification") == 0)
		return ACK_KIND_MDN;
	if (strcmp(p->report_type, "feedback-report") == 0)
		return ACK_KIND_ARF;
	return ACK_KIND_NONE;
}

/* Not an RFC report: a non-standard bounce or an auto-reply? */
static int
bounce_fallback(ack_parser *p)
{
	if (p->patterns == NULL)
		return ACK_OK;
	return ack__bounce_detect(p);
}

const char *
ack__parser_returned_to(ack_parser *p)
{
	size_t off;

	if (p->returned_to == NULL && !p->returned_seen && !p->to_scanned &&
	    ack__fields_find_line(p->body.data ? p->body.data : "", p->body.len,
	        "To", &off))
		(void)parse_returned(p, p->body.data + off, p->body.len - off, 0);
	p->to_scanned = true;
	return p->returned_to;
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

static int
decide(ack_parser *p)
{
	int kind = declared_kind(p);
	bool report = multipart_report(p) || p->report_type[0];
	int rc = ACK_OK;

	if (p->b.r.kind == ACK_KIND_NONE && !report) {
		rc = parse_ses_complaint(p);
		if (rc == ACK_OK && p->b.r.kind == ACK_KIND_NONE)
			rc = bounce_fallback(p);
		return rc;
	}
	if (p->b.r.kind != ACK_KIND_NONE)
		return ACK_OK;
	rc = fallback(p, kind != ACK_KIND_NONE ? kind : ACK_KIND_DSN);
	if (kind == ACK_KIND_NONE && p->b.r.nrcpt > 0)
		kind = ACK_KIND_DSN;
	p->b.r.kind = kind;
	if (rc == ACK_OK && kind == ACK_KIND_NONE)
		rc = bounce_fallback(p);
	return rc;
}

int
ack_parser_eom(ack_parser *p)
{
	const char *body = p->body.data ? p->body.data : "";
	int rc;

	if (p->done)
		return ACK_OK;
	p->done = true;
	rc = ack__mime_walk(body, p->body.len, p->hdr[H_CTYPE], p->hdr[H_CTE],
	    on_part, p);
	if (rc == ACK_OK)
		rc = decide(p);
	if (rc == ACK_OK && p->patterns != NULL)
		rc = ack__bounce_recipients(p); /* a DSN that named none */
	ack__fields_finish(&p->b);
	if (rc == ACK_OK)
		rc = ack__bounce_classify(p);
	return rc;
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

/* ------------------------------------------------------------------ JSON */

static int
json_kv(ack_json *j, const char *k, const char *v)
{
	int rc = ack_json_key(j, k);

	return rc == ACK_OK ? ack_json_str(j, v) : rc;
}

static int
json_rcpt(ack_json *j, const ack_report_rcpt *r)
{
	int rc = ack_json_obj_open(j);

	if (rc == ACK_OK)
		rc = json_kv(j, "address", r->final_recipient);
	if (rc == ACK_OK)
		rc = json_kv(j, "original_recipient", r->original_recipient);
	if (rc == ACK_OK)
		rc = json_kv(j, "action", r->action);
	if (rc == ACK_OK)
		rc = json_kv(j, "status", r->status);
	if (rc == ACK_OK)
		rc = json_kv(j, "diagnostic", r->diagnostic);
	if (rc == ACK_OK)
		rc = json_kv(j, "remote_mta", r->remote_mta);
	if (rc == ACK_OK)
		rc = json_kv(j, "disposition", r->disposition);
	if (rc == ACK_OK)
		rc = json_kv(j, "reason", r->reason);
	if (rc == ACK_OK && (rc = ack_json_key(j, "hard")) == ACK_OK)
		rc = r->hard < 0 ? ack_json_null(j) : ack_json_bool(j, r->hard == 1);
	return rc == ACK_OK ? ack_json_obj_close(j) : rc;
}

int
ack_report_json(const ack_report *r, ack_json *j)
{
	int rc = json_kv(j, "kind", ack_report_kind_name(r->kind));

	if (rc == ACK_OK)
		rc = json_kv(j, "reporting_mta", r->reporting_mta);
	if (rc == ACK_OK)
		rc = json_kv(j, "original_envelope_id", r->original_envelope_id);
	if (rc == ACK_OK)
		rc = json_kv(j, "original_message_id", r->original_message_id);
	if (rc == ACK_OK)
		rc = json_kv(j, "returned_token", r->returned_token);
	if (rc == ACK_OK && (rc = ack_json_key(j, "truncated")) == ACK_OK)
		rc = ack_json_bool(j, r->truncated);
	if (rc == ACK_OK && (rc = ack_json_key(j, "recipients")) == ACK_OK)
		rc = ack_json_arr_open(j);
	for (size_t i = 0; rc == ACK_OK && i < r->nrcpt; i++)
		rc = json_rcpt(j, &r->rcpt[i]);
	return rc == ACK_OK ? ack_json_arr_close(j) : rc;
}
