/*
 * fields.c - the machine-readable field blocks of reports: RFC 3464 /
 * RFC 6533 delivery-status, RFC 8098 / 3798 / 2298 disposition
 * notifications and RFC 5965 feedback reports.  Turns "Name: value" lines
 * (folded, duplicated, with or without the blank lines between groups)
 * into the per-message and per-recipient members of an ack_report, and
 * extracts the useful part of each value (address, d.d.d, first word).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mime.h"

enum field_id {
	F_REPORTING_MTA = 1,
	F_ENVID,
	F_ARRIVAL,
	F_FINAL,
	F_ORIGINAL,
	F_ACTION,
	F_STATUS,
	F_DIAG,
	F_REMOTE,
	F_LAST,
	F_RETRY,
	F_OMID,
	F_DISPOSITION,
	F_REPORTING_UA,
	F_FEEDBACK,
	F_ORCPT_TO,
	F_ERROR,
};

#define K_DSN (1u << ACK_KIND_DSN)
#define K_MDN (1u << ACK_KIND_MDN)
#define K_ARF (1u << ACK_KIND_ARF)

/* A field definition; the name is a string literal, of letters and '-'
 * only and at least 4 bytes long (as ack__same_letters() needs). */
#define FD(name, id, kinds) { name, sizeof(name) - 1, id, kinds }

static const struct field_def {
	const char *name;
	size_t len; /* of name: compared first */
	int id;
	unsigned kinds;
} field_defs[] = {
	FD("Reporting-MTA", F_REPORTING_MTA, K_DSN | K_MDN | K_ARF),
	FD("Original-Envelope-Id", F_ENVID, K_DSN | K_ARF),
	FD("Arrival-Date", F_ARRIVAL, K_DSN | K_ARF),
	FD("Final-Recipient", F_FINAL, K_DSN | K_MDN),
	FD("Original-Recipient", F_ORIGINAL, K_DSN | K_MDN),
	FD("Action", F_ACTION, K_DSN),
	FD("Status", F_STATUS, K_DSN),
	FD("Diagnostic-Code", F_DIAG, K_DSN),
	FD("Remote-MTA", F_REMOTE, K_DSN),
	FD("Last-Attempt-Date", F_LAST, K_DSN),
	FD("Will-Retry-Until", F_RETRY, K_DSN),
	FD("Original-Message-ID", F_OMID, K_MDN),
	FD("Disposition", F_DISPOSITION, K_MDN),
	FD("Reporting-UA", F_REPORTING_UA, K_MDN),
	FD("Feedback-Type", F_FEEDBACK, K_ARF),
	FD("Original-Rcpt-To", F_ORCPT_TO, K_ARF),
	FD("Error", F_ERROR, K_MDN),
	FD("Failure", F_ERROR, K_MDN),
	FD("Warning", F_ERROR, K_MDN),
};

static const char *const dsn_start[] = {
	"Reporting-MTA", "Final-Recipient", "Original-Recipient",
	"Original-Envelope-Id", "Received-From-MTA", "Arrival-Date",
};

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* ------------------------------------------------------------ value helpers */

/* Copy s[0..n) trimmed, capped. */
static char *
dup_trim(const char *s, size_t n)
{
	while (n > 0 && (is_wsp(*s) || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 && (is_wsp(s[n - 1]) || s[n - 1] == '\n'))
		n--;
	return ack__strndup(s, n < ACK_REPORT_STR_MAX ? n : ACK_REPORT_STR_MAX);
}

char *
ack__field_text(const char *v)
{
	return dup_trim(v, strlen(v));
}

/* Skip an "addr-type ;" prefix such as "rfc822;" or "dns;". */
static const char *
skip_type(const char *v)
{
	const char *semi = strchr(v, ';');

	if (semi == NULL || semi - v > 32)
		return v;
	for (const char *p = v; p < semi; p++)
		if (*p == '@' || *p == '<' || *p == '"')
			return v;
	return semi + 1;
}

char *
ack__field_typed(const char *v)
{
	return ack__field_text(skip_type(v));
}

/*
 * The address of an address field: "rfc822; a@b" -> "a@b"; the part in
 * <> when there is one ("Name" <a@b>); else the whole value less a
 * trailing (comment), so that pipes and X.400 addresses survive.
 */
char *
ack__field_address(const char *v)
{
	const char *s = skip_type(v), *lt, *gt;
	size_t n;

	while (is_wsp(*s))
		s++;
	if ((lt = strchr(s, '<')) != NULL && (gt = strchr(lt, '>')) != NULL)
		return dup_trim(lt + 1, (size_t)(gt - lt - 1));
	n = strlen(s);
	while (n > 0 && is_wsp(s[n - 1]))
		n--;
	if (n > 0 && s[n - 1] == ')') {
		const char *open = memrchr(s, '(', n);

		if (open != NULL && open > s)
			n = (size_t)(open - s);
	}
	if (*s == '<') {
		s++;
		n = n ? n - 1 : 0;
	}
	while (n > 0 && (is_wsp(s[n - 1]) || s[n - 1] == '>'))
		n--;
	return dup_trim(s, n);
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Length of a d.d.d code at s (class digit, 1-3 digits, 1-3 digits). */
static size_t
status_len(const char *s)
{
	size_t i = 1, k;

	if (!is_digit(s[0]) || s[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		if (s[i] != '.')
			return 0;
		for (k = ++i; is_digit(s[i]) && i - k < 3; i++)
			;
		if (i == k)
			return 0;
	}
	return is_digit(s[i]) || (s[i] == '.' && is_digit(s[i + 1])) ? 0 : i;
}

char *
ack__field_status(const char *v)
{
	for (const char *s = v; *s; s++) {
		size_t n;

		if (s > v && (is_digit(s[-1]) || s[-1] == '.'))
			continue;
		if ((n = status_len(s)) > 0)
			return ack__strndup(s, n);
	}
	return NULL;
}

char *
ack__field_word(const char *v)
{
	size_t n = 0;
	char *w;

	while (is_wsp(*v))
		v++;
	while (v[n] && (((v[n] | 0x20) >= 'a' && (v[n] | 0x20) <= 'z') ||
	    v[n] == '-' || is_digit(v[n])) && n < 64)
		n++;
	if ((w = ack__strndup(v, n)) != NULL)
		for (size_t i = 0; i < n; i++)
			w[i] = (char)ack__lower((unsigned char)w[i]);
	return w;
}

/* v past blanks and RFC 5322 comments, "(read)", nested or not; an
 * unclosed comment runs to the end. */
static const char *
skip_cfws(const char *v)
{
	int depth = 0;

	for (; *v; v++) {
		if (*v == '(')
			depth++;
		else if (*v == ')' && depth > 0)
			depth--;
		else if (*v == '\\' && depth > 0 && v[1] != '\0')
			v++;
		else if (depth == 0 && !is_wsp(*v))
			break;
	}
	return v;
}

/* MDN disposition type: the word after ';' ("action/mode; type/mod"),
 * comments skipped ("...; (read) displayed"). */
static char *
disposition_type(const char *v)
{
	const char *semi = strchr(v, ';');

	return ack__field_word(skip_cfws(semi ? semi + 1 : v));
}

/* ------------------------------------------------------------- recipients */

ack_report_rcpt *
ack__report_add_rcpt(ack__report_build *b)
{
	ack_report_rcpt *r;

	if (b->r.nrcpt >= ACK_REPORT_RCPT_MAX) {
		b->r.truncated = true;
		return NULL;
	}
	if (b->r.nrcpt == b->rcap) {
		size_t cap = b->rcap ? b->rcap * 2 : 4;
		ack_report_rcpt *v = realloc(b->r.rcpt, cap * sizeof *v);

		if (v == NULL)
			return NULL;
		b->r.rcpt = v;
		b->rcap = cap;
	}
	r = &b->r.rcpt[b->r.nrcpt++];
	memset(r, 0, sizeof *r);
	r->hard = -1;
	b->rcpt_open = true;
	return r;
}

static void
rcpt_clear(ack_report_rcpt *r)
{
	free(r->final_recipient);
	free(r->original_recipient);
	free(r->action);
	free(r->status);
	free(r->refined_status);
	free(r->diagnostic);
	free(r->remote_mta);
	free(r->last_attempt);
	free(r->will_retry_until);
	free(r->disposition);
	free(r->reason);
	memset(r, 0, sizeof *r);
}

/* The slot of a per-recipient field in r, NULL for message fields. */
static char **
rcpt_slot(ack_report_rcpt *r, int id)
{
	switch (id) {
	case F_FINAL: return &r->final_recipient;
	case F_ORIGINAL: return &r->original_recipient;
	case F_ACTION: return &r->action;
	case F_STATUS: return &r->status;
	case F_DIAG: return &r->diagnostic;
	case F_ERROR: return &r->diagnostic;
	case F_REMOTE: return &r->remote_mta;
	case F_LAST: return &r->last_attempt;
	case F_RETRY: return &r->will_retry_until;
	case F_DISPOSITION: return &r->disposition;
	case F_ORCPT_TO: return &r->final_recipient;
	}
	return NULL;
}

/*
 * The recipient a per-recipient field goes to: the open block unless it
 * already holds that address field; after a blank line, the last block
 * when it lacks this (non-address) field; else a new block.
 */
static ack_report_rcpt *
target_rcpt(ack__report_build *b, int id)
{
	ack_report_rcpt *last = b->r.nrcpt ? &b->r.rcpt[b->r.nrcpt - 1] : NULL;
	bool addr = id == F_FINAL || id == F_ORIGINAL || id == F_ORCPT_TO;

	if (last && b->rcpt_open && !(addr && *rcpt_slot(last, id)))
		return last;
	if (last && !addr && *rcpt_slot(last, id) == NULL) {
		b->rcpt_open = true;
		return last;
	}
	return ack__report_add_rcpt(b);
}

/* ------------------------------------------------------------ field values */

static char *
rcpt_value(int id, const char *v)
{
	switch (id) {
	case F_FINAL:
	case F_ORIGINAL:
	case F_ORCPT_TO: return ack__field_address(v);
	case F_ACTION: return ack__field_word(v);
	case F_STATUS: return ack__field_status(v);
	case F_REMOTE: return ack__field_typed(v);
	}
	return ack__field_text(v);
}

static int
set_rcpt_field(ack__report_build *b, int id, const char *v)
{
	ack_report_rcpt *r = target_rcpt(b, id);
	char **slot;

	if (r == NULL)
		return b->r.nrcpt >= ACK_REPORT_RCPT_MAX ? ACK_OK : ACK_ENOMEM;
	slot = rcpt_slot(r, id);
	if (*slot != NULL)
		return ACK_OK; /* duplicated field: the first wins */
	if (id == F_STATUS && (*slot = ack__field_status(v)) == NULL)
		return ACK_OK; /* no d.d.d in it */
	if (id != F_STATUS && (*slot = rcpt_value(id, v)) == NULL)
		return ACK_ENOMEM;
	if (id == F_DISPOSITION && r->action == NULL &&
	    (r->action = disposition_type(v)) == NULL)
		return ACK_ENOMEM;
	return ACK_OK;
}

static int
set_envid(ack__report_build *b, const char *v)
{
	ack_buf out;
	char *t = ack__field_text(v);
	int rc;

	if (t == NULL)
		return ACK_ENOMEM;
	ack_buf_init(&out, ACK_REPORT_STR_MAX);
	rc = ack_xtext_decode(&out, t, strlen(t));
	if (rc == ACK_OK && out.data != NULL)
		b->r.original_envelope_id = ack__strdup(out.data);
	else
		b->r.original_envelope_id = t, t = NULL; /* not xtext: keep it */
	free(t);
	ack_buf_free(&out);
	return b->r.original_envelope_id ? ACK_OK : ACK_ENOMEM;
}

static int
set_msg_field(ack__report_build *b, int id, const char *v)
{
	char **slot = NULL;

	switch (id) {
	case F_REPORTING_MTA: slot = &b->r.reporting_mta; break;
	case F_ARRIVAL: slot = &b->r.arrival_date; break;
	case F_OMID: slot = &b->r.original_message_id; break;
	case F_REPORTING_UA: slot = &b->r.reporting_ua; break;
	case F_FEEDBACK: slot = &b->r.feedback_type; break;
	case F_ENVID:
		return b->r.original_envelope_id ? ACK_OK : set_envid(b, v);
	}
	if (slot == NULL || *slot != NULL)
		return ACK_OK;
	if (id == F_REPORTING_MTA)
		*slot = ack__field_typed(v);
	else if (id == F_FEEDBACK)
		*slot = ack__field_word(v);
	else
		*slot = ack__field_text(v);
	return *slot ? ACK_OK : ACK_ENOMEM;
}

/* The definition of field name (nl bytes) for reports of kind. */
static const struct field_def *
find_def(const char *name, size_t nl, int kind)
{
	for (size_t i = 0; i < ACK_ARRAY_LEN(field_defs); i++)
		if (field_defs[i].len == nl &&
		    (field_defs[i].kinds & (1u << kind)) &&
		    ack__same_letters(name, field_defs[i].name, nl))
			return &field_defs[i];
	return NULL;
}

typedef struct field_ctx {
	ack__report_build *b;
	int kind;
} field_ctx;

static int
on_field(const char *name, size_t nl, const char *value, void *arg)
{
	field_ctx *c = arg;
	const struct field_def *d = find_def(name, nl, c->kind);

	if (d == NULL)
		return ACK_OK;
	/* a per-recipient field has a slot in any block (a blank one here) */
	if (rcpt_slot(&(ack_report_rcpt){ .hard = 0 }, d->id) != NULL)
		return set_rcpt_field(c->b, d->id, value);
	return set_msg_field(c->b, d->id, value);
}

/* ---------------------------------------------------------------- blocks */

/* Length of the group at s: up to a blank line or a boundary line. */
static size_t
group_len(const char *s, size_t len, bool stop_at_boundary, bool *stop)
{
	size_t pos = 0;

	*stop = false;
	while (pos < len) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (s + pos)) : len - pos;
		size_t k = 0;

		while (k < n && (is_wsp(s[pos + k]) || s[pos + k] == '\r'))
			k++;
		if (k == n)
			return pos;
		if (stop_at_boundary && n >= 2 && s[pos] == '-' && s[pos + 1] == '-') {
			*stop = true;
			return pos;
		}
		pos += n + (nl ? 1 : 0);
	}
	return pos;
}

int
ack__fields_parse(ack__report_build *b, int kind, const char *s, size_t len,
    bool stop_at_boundary)
{
	field_ctx c = { b, kind };
	size_t pos = 0;
	bool stop = false;
	int rc = ACK_OK;

	while (pos < len && !stop && rc == ACK_OK) {
		size_t g;

		while (pos < len && (is_wsp(s[pos]) || s[pos] == '\n' || s[pos] == '\r'))
			pos++;
		g = group_len(s + pos, len - pos, stop_at_boundary, &stop);
		if (g > 0)
			(void)ack__mime_headers(s + pos, g, on_field, &c, &rc);
		pos += g;
		b->rcpt_open = false;
	}
	return rc;
}

static bool
has_address(const ack_report_rcpt *r)
{
	return (r->final_recipient && r->final_recipient[0]) ||
	    (r->original_recipient && r->original_recipient[0]);
}

void
ack__fields_finish(ack__report_build *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->r.nrcpt; i++) {
		ack_report_rcpt *r = &b->r.rcpt[i];

		/* kept without an address: an MDN's disposition, a
		 * non-standard bounce naming no one (bounce.c) */
		if (!has_address(r) && !(b->r.kind == ACK_KIND_MDN &&
		    (r->disposition || r->action)) &&
		    !(b->r.kind == ACK_KIND_BOUNCE && r->action)) {
			rcpt_clear(r);
			continue;
		}
		if ((r->final_recipient == NULL || !r->final_recipient[0]) &&
		    r->original_recipient) {
			free(r->final_recipient);
			r->final_recipient = ack__strdup(r->original_recipient);
		}
		if (r->status == NULL && r->diagnostic && b->r.kind == ACK_KIND_DSN)
			r->status = ack__field_status(r->diagnostic);
		b->r.rcpt[o++] = *r;
	}
	b->r.nrcpt = o;
}

void
ack__report_clear(ack__report_build *b)
{
	for (size_t i = 0; i < b->r.nrcpt; i++)
		rcpt_clear(&b->r.rcpt[i]);
	free(b->r.rcpt);
	free(b->r.reporting_mta);
	free(b->r.original_envelope_id);
	free(b->r.arrival_date);
	free(b->r.original_message_id);
	free(b->r.reporting_ua);
	free(b->r.feedback_type);
	free(b->r.returned_token);
	free(b->r.returned_message_id);
	memset(b, 0, sizeof *b);
}

/* --------------------------------------------------------------- finding */

/* Does the line s[0..n) start with name ":" (blanks allowed around)? */
static bool
line_is_field(const char *s, size_t n, const char *name)
{
	size_t nl = strlen(name), k = 0;

	while (k < n && is_wsp(s[k]))
		k++;
	if (n - k <= nl || ack__strncasecmp(s + k, name, nl) != 0)
		return false;
	for (k += nl; k < n && is_wsp(s[k]); k++)
		;
	return k < n && s[k] == ':';
}

/* One pass over the lines of s: the first that starts any of names. */
static bool
find_any(const char *s, size_t len, const char *const *names, size_t count,
    size_t *off)
{
	size_t pos = 0;

	while (pos < len) {
		const char *e = memchr(s + pos, '\n', len - pos);
		size_t n = e ? (size_t)(e - (s + pos)) : len - pos;

		for (size_t i = 0; n > 0 && i < count; i++) {
			if (line_is_field(s + pos, n, names[i])) {
				*off = pos;
				return true;
			}
		}
		pos += n + (e ? 1 : 0);
	}
	return false;
}

bool
ack__fields_find_line(const char *s, size_t len, const char *name, size_t *off)
{
	return find_any(s, len, &name, 1, off);
}

bool
ack__fields_find_dsn(const char *s, size_t len, size_t *off)
{
	return find_any(s, len, dsn_start, ACK_ARRAY_LEN(dsn_start), off);
}
