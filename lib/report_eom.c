/*
 * report_eom.c - what the report parser does at eom: walks the MIME tree
 * of the kept body, hands each part to its handler, recognises RFC 3464 /
 * 6533 DSNs, RFC 8098 MDNs and RFC 5965 ARF reports, with fallbacks for
 * broken structure and non-RFC forms (TNEF read receipts, Amazon SES
 * notifications), and decides the kind of the report.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mime.h"

/* --------------------------------------------------------- report or not */

static bool
multipart_report(const ack_parser *p)
{
	char type[64];

	ack__mime_ctype(ack__parser_hdr(p, ACK__HDR_CTYPE), type, sizeof type);
	return strcmp(type, "multipart/report") == 0;
}

bool
ack_parser_candidate(const ack_parser *p)
{
	return multipart_report(p) ||
	    (p->patterns != NULL && ack__bounce_candidate(p));
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
	const char *s, *end, *lst, *next;
	char *addr;
	size_t len;

	if ((s = ack__parser_text(p, &len)) == NULL)
		return ACK_OK;
	end = s + len;
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

/* A field of the returned message (see p->returned_names): the first
 * tracking header, Message-ID and To are kept. */
static int
returned_field(const char *name, size_t nl, const char *value, void *arg)
{
	ack_parser *p = arg;
	ack_report *r = &p->b.r;
	char **slot = NULL;

	if (nl == strlen(p->track_name) && ack__strncasecmp(name, p->track_name, nl) == 0)
		slot = &r->returned_token;
	else if (nl == 10 && ack__strncasecmp(name, "Message-ID", nl) == 0)
		slot = &r->returned_message_id;
	else if (nl == 2 && ack__strncasecmp(name, "To", nl) == 0)
		slot = &p->returned_to;
	if (slot != NULL && *slot == NULL &&
	    (*slot = ack__field_text(value)) == NULL)
		return ACK_ENOMEM;
	/* the first of each is kept: when all are, the rest is not read */
	if (r->returned_token && r->returned_message_id && p->returned_to)
		return ACK__MIME_STOP;
	return ACK_OK;
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
	(void)ack__mime_headers_only(s, len, p->returned_names, returned_field, p,
	    &rc);
	return rc == ACK__MIME_STOP ? ACK_OK : rc;
}

static int
parse_fields(ack_parser *p, const char *s, size_t len, int kind)
{
	if (p->b.r.kind == ACK_KIND_NONE)
		p->b.r.kind = kind;
	return ack__fields_parse(&p->b, kind, s, len, false);
}

/* Has no text part with bytes in it been kept yet? */
static bool
text_empty(const ack_parser *p)
{
	size_t len;

	(void)ack__parser_text(p, &len);
	return len == 0 && !p->text.truncated;
}

/* Keep the first text/plain part: decoded into p->text (decoding never
 * makes it longer than the body cap), or read where it lies when it
 * needs no decoding, capped as a copy into p->text would be. */
static int
keep_text(ack_parser *p, const ack__mime_part *part)
{
	if (ack__mime_encoded(part->cte)) {
		p->text_at = NULL;
		return ack__mime_decode(&p->text, part->cte, part->data,
		    part->len);
	}
	p->text_at = part->data ? part->data : "";
	p->text_len = part->len;
	if (p->text_len > p->text.cap) {
		p->text_len = p->text.cap;
		p->text.truncated = true;
	}
	return ACK_OK;
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

	if (type[0] != 'm') /* the common types are told at once */
		return ACK_KIND_NONE;
	for (size_t i = 0; i < ACK_ARRAY_LEN(map); i++)
		if (strcmp(type, map[i].type) == 0)
			return map[i].kind;
	return ACK_KIND_NONE;
}

static bool
is_returned_type(const char *type)
{
	if (type[0] != 't' && type[0] != 'm')
		return false;
	return strcmp(type, "text/rfc822-headers") == 0 ||
	    strcmp(type, "message/rfc822") == 0 ||
	    strcmp(type, "message/global") == 0 ||
	    strcmp(type, "message/global-headers") == 0;
}

static void
remember_leaf(ack_parser *p, const ack__mime_part *part)
{
	ack__text_leaf *l;

	if (p->nleaves >= ACK__TEXT_LEAVES_MAX)
		return;
	l = &p->leaves[p->nleaves++];
	l->data = part->data;
	l->len = part->len;
	ack__mime_ctype(part->cte, l->cte, sizeof l->cte);
}

static int on_part(const ack__mime_part *part, void *arg);

#define WRAPPED_CTYPE_MAX 256 /* bytes of an attached message's Content-Type */

/* The Content-Type of an attached message, into the buffer at arg. */
static int
wrapped_ctype(const char *name, size_t nl, const char *value, void *arg)
{
	(void)name;
	(void)nl;
	snprintf(arg, WRAPPED_CTYPE_MAX, "%s", value);
	return ACK__MIME_STOP;
}

/*
 * Is the attached message s[0..len) itself a delivery report, wrapped by
 * a gateway that forwards the report it received as an attachment of a
 * message of its own (an InterScan gateway does)?  Only in a
 * message that is no report itself, and only a multipart/report that
 * says it holds a DSN: the returned message of a bounce is never one (a
 * DSN has a null sender, so it is never bounced).
 */
static bool
wrapped_report(const ack_parser *p, const char *s, size_t len)
{
	static const char *const ct[] = { "Content-Type", NULL };
	char v[WRAPPED_CTYPE_MAX] = "", type[64], rt[64];
	int rc;

	if (p->b.r.kind != ACK_KIND_NONE || p->report_type[0] || p->top_report ||
	    p->returned_seen)
		return false;
	(void)ack__mime_headers_only(s, len, ct, wrapped_ctype, v, &rc);
	ack__mime_ctype(v, type, sizeof type);
	if (strcmp(type, "multipart/report") != 0 ||
	    !ack__mime_param(v, "report-type", rt, sizeof rt))
		return false;
	ack__mime_ctype(rt, rt, sizeof rt);
	return strcmp(rt, "delivery-status") == 0 ||
	    strcmp(rt, "global-delivery-status") == 0;
}

static int
on_part(const ack__mime_part *part, void *arg)
{
	ack_parser *p = arg;
	int kind;

	if (part->depth == 0) /* as multipart_report() would tell, once */
		p->top_report = strcmp(part->type, "multipart/report") == 0;
	if (part->container) {
		if (strcmp(part->type, "multipart/report") == 0 && !p->report_type[0] &&
		    ack__mime_param(part->ctype, "report-type", p->report_type,
		        sizeof p->report_type))
			ack__mime_ctype(p->report_type, p->report_type, sizeof p->report_type);
		return ACK_OK;
	}
	if ((kind = leaf_kind(part->type)) != ACK_KIND_NONE) {
		if (p->b.r.kind != ACK_KIND_NONE && p->b.r.kind != kind)
			return ACK_OK;
		return with_decoded(p, part, parse_fields, kind);
	}
	if (is_returned_type(part->type)) {
		/* (read where it lies: what the walk keeps points into it) */
		if (part->type[0] == 'm' && part->depth < 2 &&
		    !ack__mime_encoded(part->cte) && part->data != NULL &&
		    wrapped_report(p, part->data, part->len))
			return ack__mime_walk_entity(part->data, part->len, 1,
			    on_part, p);
		return p->returned_seen ? ACK_OK :
		    with_decoded(p, part, parse_returned, 0);
	}
	if (strncmp(part->type, "multipart/", 10) == 0)
		return ACK_OK; /* too deep */
	if (part->type[0] == 'a' &&
	    (strcmp(part->type, "application/ms-tnef") == 0 ||
	    strcmp(part->type, "application/vnd.ms-tnef") == 0) &&
	    p->b.r.kind == ACK_KIND_NONE)
		return with_decoded(p, part, parse_tnef, 0);
	if (strcmp(part->type, "text/plain") == 0 && text_empty(p)) {
		int rc = keep_text(p, part);
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
		rc = scan_fields(p, p->view, p->view_len, kind);
	if (rc == ACK_OK && p->b.r.returned_token == NULL && !p->returned_seen) {
		size_t off;

		if (ack__fields_find_line(p->view, p->view_len, p->track_name, &off))
			rc = parse_returned(p, p->view + off, p->view_len - off, 0);
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
	    ack__fields_find_line(p->view, p->view_len, "To", &off))
		(void)parse_returned(p, p->view + off, p->view_len - off, 0);
	p->to_scanned = true;
	return p->returned_to;
}

static int
decide(ack_parser *p)
{
	int kind = declared_kind(p);
	bool report = p->top_report || p->report_type[0];
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

/* An auto-reply names the message it answers in In-Reply-To: its first
 * msg-id, kept as the report's original Message-ID (what a read receipt
 * carries in Original-Message-ID), so that it can be matched by it. */
static int
autoreply_answers(ack_parser *p)
{
	const char *v = ack__parser_hdr(p, ACK__HDR_INREPLYTO), *lt, *gt;
	ack_report *r = &p->b.r;

	if (r->kind != ACK_KIND_AUTOREPLY || r->original_message_id != NULL ||
	    v == NULL || (lt = strchr(v, '<')) == NULL ||
	    (gt = strchr(lt, '>')) == NULL)
		return ACK_OK;
	if ((r->original_message_id = ack__strndup(lt, (size_t)(gt - lt) + 1)) == NULL)
		return ACK_ENOMEM;
	return ACK_OK;
}

int
ack_parser_eom(ack_parser *p)
{
	int rc;

	if (p->done)
		return ACK_OK;
	p->done = true;
	if (!p->borrowed) {
		p->view = p->body.data ? p->body.data : "";
		p->view_len = p->body.len;
	}
	rc = ack__mime_walk(p->view, p->view_len,
	    ack__parser_hdr(p, ACK__HDR_CTYPE), ack__parser_hdr(p, ACK__HDR_CTE),
	    on_part, p);
	if (rc == ACK_OK)
		rc = decide(p);
	if (rc == ACK_OK && p->patterns != NULL)
		rc = ack__bounce_recipients(p); /* a DSN that named none */
	ack__fields_finish(&p->b);
	if (rc == ACK_OK)
		rc = ack__bounce_classify(p);
	if (rc == ACK_OK)
		rc = autoreply_answers(p);
	return rc;
}
