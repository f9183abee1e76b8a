/*
 * ctl_explain.c - ackctl explain: per recipient, in plain words, what is
 * known, what the RFC 3463 status code means, why a receipt may be
 * missing and what to do next.  The status texts are a table of the
 * RFC 3463 classes, subjects and details (with the later additions of the
 * IANA registry that real MTAs send).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ackctl.h"

/* ---------------------------------------------------------------- RFC 3463 */

static const char *const class_text[] = {
	[2] = "success",
	[4] = "persistent transient failure: the MTA keeps trying",
	[5] = "permanent failure: the MTA gives up",
};

static const char *const subject_text[] = {
	"other or undefined status",
	"addressing status",
	"mailbox status",
	"mail system status",
	"network and routing status",
	"mail delivery protocol status",
	"message content or media status",
	"security or policy status",
};

static const struct detail {
	unsigned subject, detail;
	const char *text;
} details[] = {
	{ 0, 0, "other undefined status" },
	{ 1, 0, "other address status" },
	{ 1, 1, "bad destination mailbox address: no such user" },
	{ 1, 2, "bad destination system address: no such domain" },
	{ 1, 3, "bad destination mailbox address syntax" },
	{ 1, 4, "destination mailbox address ambiguous" },
	{ 1, 5, "destination address valid" },
	{ 1, 6, "destination mailbox has moved, no forwarding address" },
	{ 1, 7, "bad sender's mailbox address syntax" },
	{ 1, 8, "bad sender's system address" },
	{ 1, 10, "recipient address has a null MX" },
	{ 2, 0, "other or undefined mailbox status" },
	{ 2, 1, "mailbox disabled, not accepting messages" },
	{ 2, 2, "mailbox full" },
	{ 2, 3, "message length exceeds administrative limit" },
	{ 2, 4, "mailing list expansion problem" },
	{ 3, 0, "other or undefined mail system status" },
	{ 3, 1, "mail system full" },
	{ 3, 2, "system not accepting network messages" },
	{ 3, 3, "system not capable of selected features" },
	{ 3, 4, "message too big for system" },
	{ 3, 5, "system incorrectly configured" },
	{ 4, 0, "other or undefined network or routing status" },
	{ 4, 1, "no answer from host" },
	{ 4, 2, "bad connection" },
	{ 4, 3, "directory server failure (DNS)" },
	{ 4, 4, "unable to route" },
	{ 4, 5, "mail system congestion" },
	{ 4, 6, "routing loop detected" },
	{ 4, 7, "delivery time expired" },
	{ 5, 0, "other or undefined protocol status" },
	{ 5, 1, "invalid command" },
	{ 5, 2, "syntax error" },
	{ 5, 3, "too many recipients" },
	{ 5, 4, "invalid command arguments" },
	{ 5, 5, "wrong protocol version" },
	{ 6, 0, "other or undefined media error" },
	{ 6, 1, "media not supported" },
	{ 6, 2, "conversion required and prohibited" },
	{ 6, 3, "conversion required but not supported" },
	{ 6, 4, "conversion with loss performed" },
	{ 6, 5, "conversion failed" },
	{ 7, 0, "other or undefined security status" },
	{ 7, 1, "delivery not authorized, message refused" },
	{ 7, 2, "mailing list expansion prohibited" },
	{ 7, 3, "security conversion required but not possible" },
	{ 7, 4, "security features not supported" },
	{ 7, 5, "cryptographic failure" },
	{ 7, 6, "cryptographic algorithm not supported" },
	{ 7, 7, "message integrity failure" },
	{ 7, 8, "authentication credentials invalid" },
	{ 7, 9, "authentication mechanism is too weak" },
	{ 7, 23, "SPF validation failed" },
	{ 7, 25, "reverse DNS validation failed" },
	{ 7, 26, "multiple authentication checks failed" },
	{ 7, 27, "sender address has a null MX" },
};

struct status_text {
	const char *class_, *subject, *detail;
};

/* Split "c.s.d" and look its parts up; false when it is not a status. */
static bool
status_lookup(const char *s, struct status_text *out)
{
	unsigned c, sub, det;
	int n = 0;

	memset(out, 0, sizeof *out);
	if (s == NULL || sscanf(s, "%1u.%3u.%3u%n", &c, &sub, &det, &n) != 3 ||
	    s[n] != '\0' || (c != 2 && c != 4 && c != 5))
		return false;
	out->class_ = class_text[c];
	out->subject = sub < 8 ? subject_text[sub] : "unknown subject";
	out->detail = "a detail code RFC 3463 does not define";
	for (size_t i = 0; i < sizeof details / sizeof details[0]; i++)
		if (details[i].subject == sub && details[i].detail == det)
			out->detail = details[i].text;
	return true;
}

/* What to do about a failure or delay, by the status subject. */
static const char *
status_advice(const char *s)
{
	static const char *const advice[] = {
		"Read the diagnostic; if it says nothing useful, ask the remote postmaster.",
		"Check the address with the recipient (a typo, a left employee, a "
		    "domain that moved); correct it and send again.",
		"The mailbox exists but cannot take mail (full, disabled, too big a "
		    "message): reach the recipient another way, or send later or smaller.",
		"The remote mail system has a problem: send again later; if it "
		    "persists, tell the remote postmaster.",
		"Routing or DNS failed: check the domain's MX records and your "
		    "MTA's connectivity (postqueue -p, the maillog).",
		"A protocol problem between the MTAs: check your MTA's configuration "
		    "and the diagnostic.",
		"The content was refused (size, format, attachment types): send it "
		    "smaller or in another format.",
		"Refused by policy: check SPF, DKIM and DMARC for your domain and "
		    "whether your server is on a blocklist; the diagnostic usually names "
		    "the reason; the remote postmaster can whitelist you.",
	};
	unsigned c, sub;

	if (s == NULL || sscanf(s, "%1u.%3u", &c, &sub) != 2 || sub >= 8)
		return advice[0];
	return advice[sub];
}

/* The status to advise by: what the diagnostic says when it refines a
 * vague stated one (5.0.0 with "no such user": check the address). */
static const char *
rcpt_status(const ack_rcpt *r)
{
	return r->dsn_refined_status ? r->dsn_refined_status : r->dsn_status;
}

/* ---------------------------------------------------------------- words */

struct words {
	const char *known, *why, *next;
};

static void
dsn_words(const ack_record *rec, const ack_rcpt *r, struct words *w)
{
	(void)rec;
	switch (r->dsn_state) {
	case ACK_DSN_NONE:
		w->known = "No delivery status notification (DSN) was requested for "
		    "this recipient, so none will come.";
		w->why = "NOTIFY=NEVER was given, or the message was not tracked for "
		    "delivery.";
		w->next = "Look the queue id up in the MTA log: status=sent is the "
		    "last thing your side can know.";
		return;
	case ACK_DSN_PENDING:
		w->known = "No delivery report has come back yet.";
		w->why = "The message may still be queued or retried (the MTA sends "
		    "\"delayed\" only after its delay warning time). The MTA sends a "
		    "success report only when NOTIFY=SUCCESS was asked (Postfix: only "
		    "when the client asked; see contrib/postfix). The report may have "
		    "been held or could not be matched to this message (see the "
		    "milter's log), or it bounced on its way back.";
		w->next = "Look the queue id up in the MTA log (status=sent, "
		    "deferred or bounced) and in the queue (postqueue -p); if a "
		    "report was saved somewhere, feed it to \"ackctl ingest\".";
		return;
	case ACK_DSN_RELAYED:
		w->known = "The message was handed to a next hop that does not support "
		    "DSN. That is the last word the network will give: no \"delivered\" "
		    "or \"failed\" report will follow from beyond that hop.";
		w->why = "Many large providers announce no DSN on their MX hosts.";
		w->next = "Only the recipient can confirm receipt: a read receipt "
		    "(if they send one) or a reply. A later bounce from the remote "
		    "side would still be recorded.";
		return;
	case ACK_DSN_DELIVERED:
		w->known = "The message was delivered to the recipient's mailbox.";
		w->why = NULL;
		w->next = "Nothing to do. Whether it was read is the read receipt's "
		    "business.";
		return;
	case ACK_DSN_EXPANDED:
		w->known = "The message was delivered to a list or alias that expanded "
		    "it to other addresses; their delivery is not reported.";
		w->why = NULL;
		w->next = "Ask the list's owner if delivery to a member matters.";
		return;
	case ACK_DSN_DELAYED:
		w->known = "Delivery is delayed: the MTA keeps trying.";
		w->why = "A temporary failure; the MTA sends a final report when it "
		    "delivers or gives up (Postfix: maximal_queue_lifetime, 5 days).";
		w->next = status_advice(rcpt_status(r));
		return;
	case ACK_DSN_FAILED:
		w->known = "Delivery failed: the message did not reach the recipient.";
		w->why = NULL;
		w->next = status_advice(rcpt_status(r));
		return;
	}
	w->known = "The DSN state is one this ackctl does not know.";
	w->why = w->next = NULL;
}

static void
mdn_words(const ack_record *rec, const ack_rcpt *r, struct words *w)
{
	bool asked = rec->msg.flags & ACK_MSG_MDN_REQ;

	w->why = w->next = NULL;
	switch (r->mdn_state) {
	case ACK_MDN_NONE:
		w->known = asked ? "No read receipt is expected from this recipient." :
		    "No read receipt was requested.";
		return;
	case ACK_MDN_PENDING:
		w->known = "No read receipt has come back.";
		w->why = "Read receipts are at the reader's discretion: many clients "
		    "(most webmail and mobile apps) never send them, others ask the "
		    "reader first. A missing read receipt proves nothing.";
		w->next = "If confirmation matters, ask the recipient directly.";
		return;
	case ACK_MDN_DISPLAYED:
		w->known = "The recipient's mail client reports that the message was "
		    "displayed. That does not prove it was read or understood.";
		return;
	case ACK_MDN_DELETED:
		w->known = "The recipient's client reports that the message was deleted "
		    "without being displayed.";
		w->next = "Reach the recipient another way if it matters.";
		return;
	case ACK_MDN_DISPATCHED:
	case ACK_MDN_PROCESSED:
		w->known = "The message was handled by an automatic process (forwarded, "
		    "filed or processed) without being displayed to a person.";
		return;
	case ACK_MDN_DENIED:
		w->known = "The recipient declined to send a read receipt.";
		return;
	case ACK_MDN_FAILED:
		w->known = "The recipient's system could not produce a read receipt.";
		return;
	}
	w->known = "The MDN state is one this ackctl does not know.";
}

/* ---------------------------------------------------------------- output */

static void
say(const char *label, const char *text)
{
	if (text == NULL)
		return;
	printf("  %-11s ", label);
	put_safe(text);
	putchar('\n');
}

static void
human_status(const ack_rcpt *r)
{
	struct status_text st;
	char line[512];

	if (r->dsn_status == NULL)
		return;
	if (status_lookup(r->dsn_status, &st))
		snprintf(line, sizeof line, "%s: %s; %s; %s", r->dsn_status, st.class_,
		    st.subject, st.detail);
	else
		snprintf(line, sizeof line, "%s (not an RFC 3463 status)", r->dsn_status);
	say("Status", line);
}

/* A refined status in words, beside the stated one. */
static void
human_refined(const ack_rcpt *r)
{
	struct status_text st;
	char line[512];
	int n;

	if (r->dsn_status == NULL || r->dsn_refined_status == NULL)
		return;
	n = snprintf(line, sizeof line, "the report states %s, its diagnostic says %s",
	    r->dsn_status, r->dsn_refined_status);
	if (r->dsn_reason != NULL && n > 0 && (size_t)n < sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, " (%s)", r->dsn_reason);
	if (status_lookup(r->dsn_refined_status, &st) && n > 0 &&
	    (size_t)n < sizeof line)
		snprintf(line + n, sizeof line - (size_t)n, ": %s", st.detail);
	say("Refined", line);
}

static void
human_rcpt(const ack_record *rec, const ack_rcpt *r)
{
	struct words dw, mw;
	char when[64], line[160];

	dsn_words(rec, r, &dw);
	mdn_words(rec, r, &mw);
	printf("\nRecipient ");
	put_safe(r->address);
	putchar('\n');
	fmt_local_time(r->dsn_updated, when, sizeof when);
	snprintf(line, sizeof line, "%s%s%s", ack_dsn_state_name(r->dsn_state),
	    r->dsn_updated ? ", reported " : "", r->dsn_updated ? when : "");
	say("Delivery", line);
	say("", dw.known);
	human_status(r);
	human_refined(r);
	say("Reason", fmt_reason(r->dsn_reason, r->dsn_hard, line, sizeof line));
	say("Diagnostic", r->dsn_diagnostic);
	say("Remote MTA", r->dsn_remote_mta);
	say("Why", dw.why);
	say("Next", dw.next);
	fmt_local_time(r->mdn_updated, when, sizeof when);
	snprintf(line, sizeof line, "%s%s%s", ack_mdn_state_name(r->mdn_state),
	    r->mdn_updated ? ", reported " : "", r->mdn_updated ? when : "");
	say("Read", line);
	say("", mw.known);
	say("Disposition", r->mdn_disposition);
	say("Why", mw.why);
	say("Next", mw.next);
}

static void
human_head(const ack_record *rec, int64_t now)
{
	const ack_msg *m = &rec->msg;
	char when[64], ago[32];
	size_t asked = 0;

	fmt_local_time(m->submitted, when, sizeof when);
	fmt_duration(now - m->submitted, ago, sizeof ago);
	printf("Message ");
	put_safe(m->message_id ? m->message_id : "(no Message-ID)");
	printf(" from ");
	put_safe(m->sender ? m->sender : "<>");
	printf("\nsubmitted %s (%s ago), queue id ", when, ago);
	put_safe(m->queue_id ? m->queue_id : "-");
	printf(", token %s.\n", m->token);
	for (size_t i = 0; i < rec->nrcpt; i++)
		asked += rec->rcpt[i].dsn_state != ACK_DSN_NONE;
	printf("%s%s.\n", asked == 0 ? "No delivery reports were requested" :
	    asked < rec->nrcpt ? "Delivery reports were requested for some recipients" :
	    "Delivery reports were requested", m->flags & ACK_MSG_MDN_REQ ?
	    ", and a read receipt" : "; no read receipt was requested");
}

static int
json_words(ack_json *j, const struct words *w)
{
	JS(ack_json_kstr(j, "explanation", w->known));
	JS(ack_json_kstr(j, "why_missing", w->why));
	JS(ack_json_key(j, "next"));
	return ack_json_str(j, w->next);
}

static int
json_status(ack_json *j, const char *status)
{
	struct status_text st;

	JS(ack_json_key(j, "status_text"));
	if (!status_lookup(status, &st))
		return ack_json_null(j);
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "class", st.class_));
	JS(ack_json_kstr(j, "subject", st.subject));
	JS(ack_json_kstr(j, "detail", st.detail));
	return ack_json_obj_close(j);
}

static int
json_rcpt(ack_json *j, const ack_record *rec, const ack_rcpt *r)
{
	struct words dw, mw;

	dsn_words(rec, r, &dw);
	mdn_words(rec, r, &mw);
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "address", r->address));
	JS(ack_json_key(j, "dsn"));
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "state", ack_dsn_state_name(r->dsn_state)));
	JS(ack_json_kstr(j, "status", r->dsn_status));
	JS(json_status(j, r->dsn_status));
	JS(ack_json_kstr(j, "refined_status", r->dsn_refined_status));
	JS(ack_json_kstr(j, "reason", r->dsn_reason));
	JS(ack_json_key(j, "hard"));
	JS(json_hard(j, r->dsn_hard));
	JS(ack_json_kstr(j, "diagnostic", r->dsn_diagnostic));
	JS(ack_json_ktime(j, "updated", r->dsn_updated));
	JS(json_words(j, &dw));
	JS(ack_json_obj_close(j));
	JS(ack_json_key(j, "mdn"));
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "state", ack_mdn_state_name(r->mdn_state)));
	JS(ack_json_kstr(j, "disposition", r->mdn_disposition));
	JS(ack_json_ktime(j, "updated", r->mdn_updated));
	JS(json_words(j, &mw));
	JS(ack_json_obj_close(j));
	return ack_json_obj_close(j);
}

static bool
wanted(const ack_rcpt *r, const char *who)
{
	return who == NULL || (r->address && strcasecmp(r->address, who) == 0);
}

static int
explain_json(const ack_record *rec, const char *who)
{
	const ack_msg *m = &rec->msg;
	ack_buf b;
	ack_json j;
	int rc;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	rc = rc ? rc : ack_json_kstr(&j, "token", m->token);
	rc = rc ? rc : ack_json_kstr(&j, "message_id", m->message_id);
	rc = rc ? rc : ack_json_kstr(&j, "sender", m->sender);
	rc = rc ? rc : ack_json_ktime(&j, "submitted", m->submitted);
	rc = rc ? rc : ack_json_kstr(&j, "queue_id", m->queue_id);
	rc = rc ? rc : ack_json_key(&j, "recipients");
	rc = rc ? rc : ack_json_arr_open(&j);
	for (size_t i = 0; rc == ACK_OK && i < rec->nrcpt; i++)
		if (wanted(&rec->rcpt[i], who))
			rc = json_rcpt(&j, rec, &rec->rcpt[i]);
	rc = rc ? rc : ack_json_arr_close(&j);
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return rc == ACK_OK ? 0 : fail(EXIT_USAGE, "out of memory");
}

int
cmd_explain(int argc, char **argv)
{
	static const char use[] = "explain [--json] TOKEN|MESSAGE-ID [RECIPIENT]";
	struct ctl c = { 0 };
	char token[ACK_TOKEN_LEN + 1];
	const char *who;
	ack_record rec;
	size_t n = 0;
	int i, rc;

	if ((i = ctl_options(&c, argc, argv, use)) < 0)
		return EXIT_USAGE;
	if (argc - i < 1 || argc - i > 2)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	who = argc - i == 2 ? argv[i + 1] : NULL;
	if ((rc = ctl_open_store(&c)) != 0)
		return rc;
	rc = ack_store_lookup(c.store, argv[i], token);
	if (rc == ACK_OK)
		rc = ack_store_get(c.store, token, &rec);
	if (rc != ACK_OK) {
		ctl_close(&c);
		if (rc == ACK_ENOTFOUND)
			return fail(EXIT_NOTFOUND, "%s: no such message in the store", argv[i]);
		return fail(EXIT_USAGE, "%s: %s", argv[i], ack_strerror(rc));
	}
	for (size_t k = 0; k < rec.nrcpt; k++)
		n += wanted(&rec.rcpt[k], who);
	if (n == 0)
		rc = fail(EXIT_NOTFOUND, "%s: no recipient %s", argv[i], who);
	else if (c.json)
		rc = explain_json(&rec, who);
	else {
		human_head(&rec, ctl_now());
		for (size_t k = 0; k < rec.nrcpt; k++)
			if (wanted(&rec.rcpt[k], who))
				human_rcpt(&rec, &rec.rcpt[k]);
	}
	ack_record_free(&rec);
	ctl_close(&c);
	return rc;
}
