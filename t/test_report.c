/*
 * test_report.c - unit tests of the report parser (lib/report.c,
 * lib/fields.c, lib/mime.c): a table of hand-made reports, each checked
 * with LF, CRLF and bare-CR line ends and fed whole or in 1-byte chunks
 * through the milter stages; then caps, garbage and the JSON form; with
 * the shipped pattern files, recipients found in the text of a DSN that
 * names none and of a long non-standard bounce.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ackmilter.h"
#include "mime.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define DSN_HEAD \
	"From: MAILER-DAEMON@mx.example.net\n" \
	"To: alice@example.org\n" \
	"Subject: Undelivered Mail Returned to Sender\n" \
	"MIME-Version: 1.0\n"

#define RETURNED \
	"--B\n" \
	"Content-Type: text/rfc822-headers\n" \
	"\n" \
	"From: alice@example.org\n" \
	"Message-ID: <m1@example.org>\n" \
	"Ack-Tracking-Id: abcdefgh234567abcdefgh234567abcdefgh2345\n" \
	"\n" \
	"--B--\n"

typedef struct tcase {
	const char *name;
	const char *msg;
	int kind;
	size_t nrcpt;
	const char *addr;     /* first recipient */
	const char *action;
	const char *status;
	const char *extra;    /* "field=value" checked below, or NULL */
	const char *addr2;    /* last recipient, or NULL */
} tcase;

static const tcase cases[] = {
	{ "postfix dsn, two recipients, returned headers",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"B\"\n"
	  "\n"
	  "preamble\n"
	  "--B\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "I'm sorry to have to inform you...\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n"
	  "\n"
	  "Reporting-MTA: dns; mx.example.net\n"
	  "Original-Envelope-Id: tok+2Bone\n"
	  "Arrival-Date: Thu, 26 Nov 2026 06:07:44 +0000\n"
	  "\n"
	  "Final-Recipient: rfc822; Bob@Example.COM\n"
	  "Original-Recipient: rfc822;<bob@example.com>\n"
	  "Action: failed\n"
	  "Status: 5.1.1\n"
	  "Remote-MTA: dns; mx.example.com\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: User unknown\n"
	  "\n"
	  "Final-Recipient: rfc822; carol@example.com\n"
	  "Action: delayed\n"
	  "Status: 4.4.1 (connection timed out)\n"
	  "Will-Retry-Until: Fri, 27 Nov 2026 06:07:44 +0000\n"
	  "\n"
	  RETURNED,
	  ACK_KIND_DSN, 2, "Bob@Example.COM", "failed", "5.1.1",
	  "envid=tok+one", "carol@example.com" },
	{ "sendmail relayed (to non-DSN-aware mailer)",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=\"delivery-status\"; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n"
	  "\n"
	  "Reporting-MTA: dns; relay.example.net\n"
	  "\n"
	  "Final-Recipient: RFC822; <dave@example.com>\n"
	  "Action: relayed (to non-DSN-aware mailer)\n"
	  "Status: 2.0.0\n"
	  "\n"
	  "--B--\n",
	  ACK_KIND_DSN, 1, "dave@example.com", "relayed", "2.0.0",
	  "mta=relay.example.net", NULL },
	{ "base64 delivery-status part",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n"
	  "Content-Transfer-Encoding: base64\n"
	  "\n"
	  /* "Reporting-MTA: dns; b.example\n\nFinal-Recipient: rfc822; e@x.example\n"
	   * "Action: failed\nStatus: 5.2.2\n" */
	  "UmVwb3J0aW5nLU1UQTogZG5zOyBiLmV4YW1wbGUKCkZpbmFsLVJlY2lwaWVudDogcmZj\n"
	  "ODIyOyBlQHguZXhhbXBsZQpBY3Rpb246IGZhaWxlZApTdGF0dXM6IDUuMi4yCg==\n"
	  "--B--\n",
	  ACK_KIND_DSN, 1, "e@x.example", "failed", "5.2.2", "mta=b.example", NULL },
	{ "quoted-printable delivery-status part",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n"
	  "Content-Transfer-Encoding: quoted-printable\n"
	  "\n"
	  "Final-Recipient: rfc822; f=40q.example\n"
	  "Action: fail=\n"
	  "ed\n"
	  "Status: 5.7.=31\n"
	  "Diagnostic-Code: smtp; 554 j=E4 nein\n"
	  "--B--\n",
	  ACK_KIND_DSN, 1, "f@q.example", "failed", "5.7.1",
	  "diag=smtp; 554 j\xe4 nein", NULL },
	{ "folded fields, no blank line between groups, duplicates",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n"
	  "\n"
	  "Reporting-MTA: dns;\n"
	  "   fold.example\n"
	  "Final-Recipient:\n"
	  " rfc822;\n"
	  "\t<G@fold.example>\n"
	  "Action: Failed\n"
	  "Status: 5.0.0\n"
	  "Status: 4.0.0\n"
	  "Final-Recipient: rfc822; h@fold.example\n"
	  "Action: delivered\n"
	  "Status: 2.0.0\n"
	  "\n\n\n"
	  "--B--\n",
	  ACK_KIND_DSN, 2, "G@fold.example", "failed", "5.0.0",
	  "mta=fold.example", "h@fold.example" },
	{ "boundary parameter missing: first -- line is used",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status\n"
	  "\n"
	  "--guess\n"
	  "Content-Type: message/delivery-status\n"
	  "\n"
	  "Final-Recipient: rfc822; i@guess.example\n"
	  "Action: failed\n"
	  "Status: 5.1.2\n"
	  "\n"
	  "--guess--\n",
	  ACK_KIND_DSN, 1, "i@guess.example", "failed", "5.1.2", NULL, NULL },
	{ "boundary never appears: body scanned for the field block",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"nope\"\n"
	  "\n"
	  "The following message could not be delivered.\n"
	  "\n"
	  "Reporting-MTA: dns; scan.example\n"
	  "\n"
	  "Final-Recipient: rfc822; j@scan.example\n"
	  "Action: failed\n"
	  "Status: 5.1.1\n"
	  "\n"
	  "Ack-Tracking-Id: tok1\n",
	  ACK_KIND_DSN, 1, "j@scan.example", "failed", "5.1.1", "token=tok1", NULL },
	{ "unquoted upper-case report-type, DSN fields in text/plain",
	  DSN_HEAD
	  "Content-Type: Multipart/Report; Report-Type=Delivery-Status; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "Delivery failed.\n"
	  "--B\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "Reporting-MTA: dns; text.example\n"
	  "Final-Recipient: rfc822; k@text.example\n"
	  "Action: failed\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 no such user\n"
	  "--B--\n",
	  ACK_KIND_DSN, 1, "k@text.example", "failed", "5.1.1", NULL, NULL },
	{ "RFC 8098 MDN",
	  "From: bob@example.com\n"
	  "Subject: Read: hello\n"
	  "Content-Type: multipart/report; report-type=disposition-notification;\n"
	  "  boundary=\"B\"\n"
	  "\n"
	  "--B\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "Your message was displayed.\n"
	  "--B\n"
	  "Content-Type: message/disposition-notification\n"
	  "\n"
	  "Reporting-UA: mua.example.com; Mailer 1.0\n"
	  "Original-Recipient: rfc822;bob@example.com\n"
	  "Final-Recipient: rfc822;bob@example.com\n"
	  "Original-Message-ID: <m1@example.org>\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n"
	  "\n"
	  "--B--\n",
	  ACK_KIND_MDN, 1, "bob@example.com", "displayed", NULL,
	  "disp=manual-action/MDN-sent-manually; displayed", NULL },
	{ "RFC 2298 MDN with modifier",
	  "Content-Type: multipart/report; report-type=disposition-notification; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/disposition-notification\n"
	  "\n"
	  "Final-Recipient: rfc822; old@example.com\n"
	  "Original-Message-ID: <m2@example.org>\n"
	  "Disposition: automatic-action/MDN-sent-automatically; Deleted/error\n"
	  "Error: disk full\n"
	  "--B--\n",
	  ACK_KIND_MDN, 1, "old@example.com", "deleted", NULL,
	  "omid=<m2@example.org>", NULL },
	{ "RFC 6533 global delivery status",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=global-delivery-status; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/global-delivery-status\n"
	  "\n"
	  "Reporting-MTA: dns; mx.example.jp\n"
	  "\n"
	  "Final-Recipient: utf-8; j\xc3\xb6rg@\xe4\xbe\x8b\xe3\x81\x88.jp\n"
	  "Action: failed\n"
	  "Status: 5.1.1\n"
	  "--B\n"
	  "Content-Type: message/global-headers\n"
	  "\n"
	  "Message-ID: <g@example.org>\n"
	  "ack-tracking-id: tok2\n"
	  "--B--\n",
	  ACK_KIND_DSN, 1, "j\xc3\xb6rg@\xe4\xbe\x8b\xe3\x81\x88.jp", "failed", "5.1.1",
	  "token=tok2", NULL },
	{ "global disposition notification",
	  "Content-Type: multipart/report; report-type=disposition-notification; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: message/global-disposition-notification\n"
	  "\n"
	  "Final-Recipient: rfc822; g@example.com\n"
	  "Disposition: manual-action/MDN-sent-manually; dispatched\n"
	  "--B--\n",
	  ACK_KIND_MDN, 1, "g@example.com", "dispatched", NULL, NULL, NULL },
	{ "ARF feedback report",
	  "Content-Type: multipart/report; report-type=feedback-report; boundary=B\n"
	  "\n"
	  "--B\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "This is an abuse report.\n"
	  "--B\n"
	  "Content-Type: message/feedback-report\n"
	  "\n"
	  "Feedback-Type: Abuse\n"
	  "User-Agent: fbl/1.0\n"
	  "Version: 1\n"
	  "Original-Rcpt-To: <u1@isp.example>\n"
	  "Original-Rcpt-To: u2@isp.example\n"
	  "--B\n"
	  "Content-Type: message/rfc822\n"
	  "\n"
	  "ACK-TRACKING-ID: tok3\n"
	  "Message-ID: <arf@example.org>\n"
	  "\n"
	  "spam\n"
	  "--B--\n",
	  ACK_KIND_ARF, 2, "u1@isp.example", NULL, NULL, "feedback=abuse",
	  "u2@isp.example" },
	{ "ordinary mail",
	  "From: a@example.org\nSubject: hi\nContent-Type: text/plain\n\n"
	  "Final-Recipient: rfc822; not@a.report\nAction: failed\n",
	  ACK_KIND_NONE, 0, NULL, NULL, NULL, NULL, NULL },
	{ "multipart/mixed with a forwarded message",
	  "Content-Type: multipart/mixed; boundary=B\n\n--B\n\nhello\n--B\n"
	  "Content-Type: message/rfc822\n\nSubject: x\n\nbody\n--B--\n",
	  ACK_KIND_NONE, 0, NULL, NULL, NULL, NULL, NULL },
	/* a gateway (InterScan) forwards the DSN it got as an attachment of a
	 * message of its own: the report inside is read, and its returned
	 * message gives the token */
	{ "a DSN wrapped in a gateway's message",
	  "From: postmaster@gw.example\nSubject: Delivery Status Notification (Failure)\n"
	  "Content-Type: multipart/mixed; report-type=delivery-status;\n"
	  "\tboundary=\"W\"\n\n"
	  "--W\n"
	  "Content-Type: message/rfc822\n\n"
	  "From: postmaster@mx.example\nTo: bounces@gw.example\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"B\"\n\n"
	  "--B\n"
	  "Content-Type: text/plain\n\nDelivery to the following recipients failed.\n\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns;mx.example\n\n"
	  "Final-Recipient: rfc822;horu@ccc.example\nAction: failed\nStatus: 5.1.1\n\n"
	  RETURNED
	  "\n--W--\n",
	  ACK_KIND_DSN, 1, "horu@ccc.example", "failed", "5.1.1",
	  "token=abcdefgh234567abcdefgh234567abcdefgh2345", NULL },
	/* the same attachment base64-encoded is not unwrapped (what the
	 * parser keeps of the parts points into the message) */
	{ "a wrapped DSN, base64: not read",
	  "From: a@example.org\nSubject: fwd\n"
	  "Content-Type: multipart/mixed; boundary=\"W\"\n\n"
	  "--W\n"
	  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	  "Q29udGVudC1UeXBlOiBtdWx0aXBhcnQvcmVwb3J0OyByZXBvcnQtdHlwZT1kZWxpdmVyeS1z\n"
	  "dGF0dXM7IGJvdW5kYXJ5PUIKCi0tQgpDb250ZW50LVR5cGU6IG1lc3NhZ2UvZGVsaXZlcnkt\n"
	  "c3RhdHVzCgpGaW5hbC1SZWNpcGllbnQ6IHJmYzgyMjt4QHkuZXhhbXBsZQpBY3Rpb246IGZh\n"
	  "aWxlZApTdGF0dXM6IDUuMS4xCgotLUItLQo=\n"
	  "--W--\n",
	  ACK_KIND_NONE, 0, NULL, NULL, NULL, NULL, NULL },
	/* a report's own returned message is never taken for its report */
	{ "a DSN returning a DSN: the outer one is read",
	  DSN_HEAD
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"B\"\n\n"
	  "--B\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns;mx.example\n\n"
	  "Final-Recipient: rfc822;outer@example.net\nAction: failed\nStatus: 5.1.1\n\n"
	  "--B\n"
	  "Content-Type: message/rfc822\n\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=C\n\n"
	  "--C\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822;inner@example.net\nAction: failed\nStatus: 5.2.2\n\n"
	  "--C--\n"
	  "--B--\n",
	  ACK_KIND_DSN, 1, "outer@example.net", "failed", "5.1.1", NULL, NULL },
};

/* ------------------------------------------------------------ helpers */

/* Copy s with its LF line ends turned into eol. */
static char *
with_eol(const char *s, const char *eol, size_t *len)
{
	size_t el = strlen(eol), n = 0;
	char *out = malloc(strlen(s) * el + 1);

	for (; *s; s++) {
		if (*s == '\n') {
			memcpy(out + n, eol, el);
			n += el;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static char *
to_json(const ack_report *r)
{
	ack_buf b;
	ack_json j;
	int rc;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	if (rc == ACK_OK)
		rc = ack_report_json(r, &j);
	if (rc == ACK_OK)
		rc = ack_json_obj_close(&j);
	if (rc != ACK_OK) {
		ack_buf_free(&b);
		return strdup("(json error)");
	}
	return b.data;
}

static char *
parse_whole(ack_parser *p, const char *msg, size_t len)
{
	ack_parser_reset(p);
	if (ack_parser_message(p, msg, len) != ACK_OK)
		return strdup("(parse error)");
	return to_json(ack_parser_result(p));
}

/* Feed the LF message like the milter: fields, eoh, body chunks of
 * chunk bytes (the body with eol line ends). */
static int
feed_stages(ack_parser *p, const char *msg, const char *eol, size_t chunk)
{
	const char *body = strstr(msg, "\n\n"), *s = msg;
	char *b;
	size_t blen;
	int rc = ACK_OK;

	ack_parser_reset(p);
	while (s < body && rc == ACK_OK) {
		const char *colon = strchr(s, ':'), *e = s;
		char *name, *value;

		while (e < body && !(e[0] == '\n' && e[1] != ' ' && e[1] != '\t'))
			e++;
		name = strndup(s, (size_t)(colon - s));
		value = strndup(colon + 1, (size_t)(e - colon - 1));
		rc = ack_parser_header(p, name, value);
		free(name);
		free(value);
		s = e + 1;
	}
	if (rc == ACK_OK)
		rc = ack_parser_eoh(p);
	b = with_eol(body + 2, eol, &blen);
	for (size_t i = 0; i < blen && rc == ACK_OK; i += chunk)
		rc = ack_parser_body(p, b + i, chunk < blen - i ? chunk : blen - i);
	free(b);
	if (rc == ACK_OK)
		rc = ack_parser_eom(p);
	return rc;
}

/* feed_stages() in 1-byte chunks, the result as JSON. */
static char *
parse_stages(ack_parser *p, const char *msg, const char *eol)
{
	return feed_stages(p, msg, eol, 1) == ACK_OK ?
	    to_json(ack_parser_result(p)) : strdup("(error)");
}

static void
check_extra(const ack_report *r, const char *extra, const char *name)
{
	const char *eq = strchr(extra, '='), *want = eq + 1, *got = NULL;
	size_t kl = (size_t)(eq - extra);

	if (!strncmp(extra, "envid", kl))
		got = r->original_envelope_id;
	else if (!strncmp(extra, "mta", kl))
		got = r->reporting_mta;
	else if (!strncmp(extra, "token", kl))
		got = r->returned_token;
	else if (!strncmp(extra, "omid", kl))
		got = r->original_message_id;
	else if (!strncmp(extra, "feedback", kl))
		got = r->feedback_type;
	else if (!strncmp(extra, "diag", kl))
		got = r->nrcpt ? r->rcpt[0].diagnostic : NULL;
	else if (!strncmp(extra, "disp", kl))
		got = r->nrcpt ? r->rcpt[0].disposition : NULL;
	is_str(got, want, "%s: %.*s", name, (int)kl, extra);
}

static void
check_case(ack_parser *p, const tcase *c)
{
	const ack_report *r;
	static const char *const eols[] = { "\r\n", "\r" };
	char *lf, *json;
	size_t len;

	lf = parse_whole(p, c->msg, strlen(c->msg));
	r = ack_parser_result(p);
	is_int(r->kind, c->kind, "%s: kind", c->name);
	is_int(r->nrcpt, c->nrcpt, "%s: recipients", c->name);
	if (c->nrcpt > 0 && r->nrcpt > 0) {
		is_str(r->rcpt[0].final_recipient, c->addr, "%s: address", c->name);
		is_str(r->rcpt[0].action, c->action, "%s: action", c->name);
		is_str(r->rcpt[0].status, c->status, "%s: status", c->name);
	}
	if (c->addr2 && r->nrcpt > 1)
		is_str(r->rcpt[r->nrcpt - 1].final_recipient, c->addr2,
		    "%s: last address", c->name);
	if (c->extra)
		check_extra(r, c->extra, c->name);
	for (size_t i = 0; i < NELEM(eols); i++) {
		char *m = with_eol(c->msg, eols[i], &len);

		json = parse_whole(p, m, len);
		is_str(json, lf, "%s: same result with %s line ends", c->name,
		    i ? "CR" : "CRLF");
		free(json);
		free(m);
		json = parse_stages(p, c->msg, eols[i]);
		is_str(json, lf, "%s: same result fed in 1-byte chunks (%s)", c->name,
		    i ? "CR" : "CRLF");
		free(json);
	}
	free(lf);
}

/* ------------------------------------------------------------ the rest */

#define SMALL_DSN \
	"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n" \
	"\n" \
	"--B\n" \
	"Content-Type: message/delivery-status\n" \
	"\n" \
	"Reporting-MTA: dns; mx.example.net\n" \
	"\n" \
	"Final-Recipient: rfc822; a\"b@example.com\n" \
	"Action: failed\n" \
	"Status: 5.1.1\n" \
	"--B--\n"

static void
test_json(ack_parser *p)
{
	char *json = parse_whole(p, SMALL_DSN, strlen(SMALL_DSN));

	is_str(json, "{\"kind\":\"dsn\",\"reporting_mta\":\"mx.example.net\","
	    "\"original_envelope_id\":null,\"original_message_id\":null,"
	    "\"returned_token\":null,\"truncated\":false,\"recipients\":"
	    "[{\"address\":\"a\\\"b@example.com\",\"original_recipient\":null,"
	    "\"action\":\"failed\",\"status\":\"5.1.1\",\"diagnostic\":null,"
	    "\"remote_mta\":null,\"disposition\":null,\"reason\":\"userunknown\",\"hard\":true}]}", "JSON form");
	free(json);
	free(parse_whole(p, cases[0].msg, strlen(cases[0].msg)));
	is_str(ack_parser_result(p)->returned_message_id, "<m1@example.org>",
	    "returned Message-ID");
	is_str(ack_parser_result(p)->returned_token,
	    "abcdefgh234567abcdefgh234567abcdefgh2345", "returned Ack-Tracking-Id");
	is_str(ack_parser_result(p)->rcpt[0].remote_mta, "mx.example.com", "Remote-MTA");
	is_str(ack_parser_result(p)->rcpt[1].will_retry_until,
	    "Fri, 27 Nov 2026 06:07:44 +0000", "Will-Retry-Until");
	is_str(ack_parser_result(p)->arrival_date, "Thu, 26 Nov 2026 06:07:44 +0000",
	    "Arrival-Date");
	ok(ack_parser_eom(p) == ACK_OK && ack_parser_result(p)->nrcpt == 2,
	    "a second eom changes nothing");
	is_str(ack_report_kind_name(ACK_KIND_DSN), "dsn", "kind name dsn");
	is_str(ack_report_kind_name(ACK_KIND_AUTOREPLY), "autoreply", "kind name autoreply");
	is_str(ack_report_kind_name(99), "unknown", "kind name out of range");
}

static void
test_candidate(ack_parser *p)
{
	ack_parser_reset(p);
	ok(ack_parser_header(p, "Content-Type",
	    "Multipart/Report;\r\n\treport-type=delivery-status") == ACK_OK &&
	    ack_parser_eoh(p) == ACK_OK && ack_parser_candidate(p),
	    "candidate: multipart/report");
	ack_parser_reset(p);
	ok(ack_parser_header(p, "Content-Type", "text/plain") == ACK_OK &&
	    ack_parser_eoh(p) == ACK_OK && !ack_parser_candidate(p),
	    "not a candidate: text/plain");
	ack_parser_reset(p);
	ok(!ack_parser_candidate(p), "not a candidate: no Content-Type");
}

static void
test_pattern_hooks(ack_parser *p)
{
	static const char msg[] = "Subject: Out of office\nAuto-Submitted: auto-replied\n"
	    "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "I am away=21\n";
	size_t len = 0;
	const char *t;

	free(parse_whole(p, msg, sizeof msg - 1));
	t = ack__parser_text(p, &len);
	ok(t && len == 11 && memcmp(t, "I am away!\n", 11) == 0, "first text part decoded");
	is_str(ack__parser_header_value(p, "auto-submitted"), "auto-replied",
	    "Auto-Submitted kept");
	is_str(ack__parser_header_value(p, "Subject"), "Out of office", "Subject kept");
	is_int(ack_parser_result(p)->kind, ACK_KIND_NONE, "auto-reply: kind none (for now)");
}

static void
test_truncation(void)
{
	size_t big = 10u * 1024 * 1024, hl = strlen(SMALL_DSN) - 6;
	char *m = malloc(big + 100);
	ack_parser *p;
	clock_t t0;
	double secs;

	memcpy(m, SMALL_DSN, hl); /* without the closing delimiter */
	for (size_t i = hl; i < big; i++)
		m[i] = (i % 77 == 76) ? '\n' : 'x';
	if (ack_parser_new(&p, 64 * 1024) != ACK_OK) {
		ok(0, "parser_new");
		free(m);
		return;
	}
	t0 = clock();
	ok(ack_parser_message(p, m, big) == ACK_OK, "10 MB message parses");
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	ok(secs < 1.0, "10 MB with a 64 KiB cap takes %.3f s (< 1 s)", secs);
	ok(ack_parser_result(p)->truncated, "truncated set");
	is_int(ack_parser_result(p)->kind, ACK_KIND_DSN, "what came first still parsed");
	is_int(ack_parser_result(p)->nrcpt, 1, "recipient before the cap kept");
	ack_parser_free(p);
	free(m);
}

/* The body a parser with cap keeps of raw, as the byte-at-a-time rule
 * says (CRLF and a lone CR become LF): into out; truncated or not. */
static bool
body_ref(const char *raw, size_t n, size_t cap, char *out, size_t *olen)
{
	bool pending = false;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = raw[i];

		if (pending && c == '\n') {
			pending = false;
			continue;
		}
		pending = c == '\r';
		if (o == cap) {
			*olen = o;
			return true;
		}
		out[o++] = pending ? '\n' : c;
	}
	*olen = o;
	return false;
}

/* Feed raw as body chunks of the sizes in sz[] (cycled; 0: the rest);
 * does the kept body match the reference for cap? */
static bool
body_fed(const char *raw, size_t n, size_t cap, const size_t *sz, size_t nsz)
{
	ack_parser *p;
	char want[64];
	size_t wlen, k = 0;
	bool trunc = body_ref(raw, n, cap, want, &wlen), same;

	if (ack_parser_new(&p, cap) != ACK_OK)
		return false;
	for (size_t i = 0; i < n; k++) {
		size_t c = sz[k % nsz] == 0 || sz[k % nsz] > n - i ? n - i : sz[k % nsz];

		if (ack_parser_body(p, raw + i, c) != ACK_OK)
			break;
		i += c;
	}
	same = p->body.len == wlen && p->body.truncated == trunc &&
	    ack_parser_result(p)->truncated == trunc &&
	    (wlen == 0 || memcmp(p->body.data, want, wlen) == 0) &&
	    (p->body.data == NULL || p->body.data[p->body.len] == '\0');
	ack_parser_free(p);
	return same;
}

/* Line ends normalised the same whatever the chunks and the cap: CR at
 * the end of a chunk, CRLF split across chunks, CR CR LF, LF CR. */
static void
test_body_chunks(void)
{
	static const char *const bodies[] = {
		"a\r\nb\r\n\r\nc\r\n",
		"x\ry\r\r\nz\n\rw\r",
		"\r\n\r\r\n\n\r\r",
		"plain LF\nonly\n",
		"mixed\nline\r\nends\rhere\r\n\r",
	};
	static const size_t sizes[][3] = {
		{ 0, 0, 0 }, { 1, 1, 1 }, { 2, 2, 2 }, { 3, 1, 2 }, { 5, 4, 7 },
	};
	unsigned bad = 0, runs = 0;

	for (size_t b = 0; b < NELEM(bodies); b++) {
		const char *raw = bodies[b];
		size_t n = strlen(raw);

		for (size_t cap = 1; cap <= n + 1; cap++) {
			for (size_t s = 0; s < NELEM(sizes); s++, runs++)
				bad += !body_fed(raw, n, cap, sizes[s], 3);
			for (size_t cut = 1; cut < n; cut++, runs++) {
				size_t two[2] = { cut, 0 };

				bad += !body_fed(raw, n, cap, two, 2);
			}
		}
	}
	is_int(bad, 0, "body line ends: same bytes and truncation in %u chunkings "
	    "and caps", runs);
}

static void
test_many_recipients(ack_parser *p)
{
	ack_buf b;
	int rc;

	ack_buf_init(&b, 0);
	rc = ack_buf_adds(&b, "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=B\n\n--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; x\n\n");
	for (int i = 0; i < 1100 && rc == ACK_OK; i++)
		rc = ack_buf_printf(&b, "Final-Recipient: rfc822; u%d@x\nAction: failed\n"
		    "Status: 5.0.0\n\n", i);
	ok(rc == ACK_OK, "built 1100 recipient blocks");
	free(parse_whole(p, b.data, b.len));
	is_int(ack_parser_result(p)->nrcpt, 1000, "recipients capped at 1000");
	ok(ack_parser_result(p)->truncated, "cap sets truncated");
	is_str(ack_parser_result(p)->rcpt[999].final_recipient, "u999@x", "last kept block");
	ack_buf_free(&b);
}

static void
test_nesting(ack_parser *p)
{
	ack_buf b;
	int rc = ACK_OK;

	ack_buf_init(&b, 0);
	for (int i = 0; i < 50 && rc == ACK_OK; i++)
		rc = ack_buf_printf(&b, "%sContent-Type: multipart/mixed; boundary=b%d\n\n--b%d\n",
		    i ? "" : "Subject: deep\n", i, i);
	if (rc == ACK_OK)
		rc = ack_buf_adds(&b, "Content-Type: message/delivery-status\n\n"
		    "Final-Recipient: rfc822; deep@x\nAction: failed\n");
	ok(rc == ACK_OK, "built 50 nested multiparts");
	free(parse_whole(p, b.data, b.len));
	is_int(ack_parser_result(p)->kind, ACK_KIND_NONE, "nesting past the cap is ignored");
	ack_buf_free(&b);
}

static void
test_garbage(ack_parser *p)
{
	static const char nul_dsn[] =
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
	    "--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; n\0ul\n\nFinal-Recipient: rfc822; nul@x\n"
	    "Diagnostic-Code: smtp; 550 \0\xff\xfe\n"
	    "Action: failed\0\nStatus: 5.0.0\n--B--\n";
	unsigned seed = 12345;
	size_t n = 256 * 1024;
	char *g = malloc(n), *json;
	int rc = ACK_OK;

	free(parse_whole(p, nul_dsn, sizeof nul_dsn - 1));
	is_int(ack_parser_result(p)->nrcpt, 1, "NUL bytes: recipient still found");
	if (ack_parser_result(p)->nrcpt)
		is_str(ack_parser_result(p)->rcpt[0].status, "5.0.0",
		    "NUL bytes: fields after them still read");
	json = to_json(ack_parser_result(p));
	ok((strstr(json, "\\ufffd") || strstr(json, "\xef\xbf\xbd")) &&
	    !strchr(json, '\xff'), "JSON replaces invalid bytes");
	free(json);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		g[i] = (char)(seed >> 16);
		if ((seed >> 8) % 7 == 0)
			g[i] = "-\n\r:;= \0"[(seed >> 20) % 9];
	}
	for (int round = 0; round < 4; round++) {
		ack_parser_reset(p);
		rc |= ack_parser_header(p, "Content-Type",
		    round & 1 ? "multipart/report; boundary=\"-\"" : "multipart/mixed");
		for (size_t i = 0; i < n && rc == ACK_OK; i += 1000 + round)
			rc = ack_parser_body(p, g + i, i + 1000 + round > n ? n - i : 1000u + round);
		rc |= ack_parser_eom(p);
	}
	ok(rc == ACK_OK, "random bytes in random chunks: no error");
	free(parse_whole(p, g, n));
	ok(1, "random bytes as a whole message: no crash");
	free(parse_whole(p, "", 0));
	is_int(ack_parser_result(p)->kind, ACK_KIND_NONE, "empty message");
	free(parse_whole(p, "\n\n\n", 3));
	is_int(ack_parser_result(p)->kind, ACK_KIND_NONE, "blank lines only");
	free(g);
}

static void
test_long_header(ack_parser *p)
{
	size_t n = 200 * 1024;
	char *m = malloc(n + 64);

	memcpy(m, "Content-Type: multipart/report; boundary=", 41);
	memset(m + 41, 'x', n - 41);
	memcpy(m + n, "\n\nbody\n", 8);
	free(parse_whole(p, m, n + 8));
	ok(1, "200 KB header line: no crash");
	is_int(ack_parser_result(p)->kind, ACK_KIND_NONE, "200 KB header line: kind none");
	free(m);
}

/* A message with CR line ends (old Mac files): each header line ends at
 * its CR; finding it must not search the rest of the message for an LF
 * (50,000 header lines before 4 MB of body were 200 GB of searching). */
static void
test_cr_headers(void)
{
	size_t nh = 50000, body = 4u * 1024 * 1024, n = nh * 13 + 1 + body;
	char *m = malloc(n), *q = m;
	ack_parser *p;
	clock_t t0;
	double secs;

	for (size_t i = 0; i < nh; i++)
		q += sprintf(q, "X-H%06zu: v\r", i % 1000000);
	*q++ = '\r';
	memset(q, 'x', body);
	for (size_t i = 76; i < body; i += 77)
		q[i] = '\r';
	if (ack_parser_new(&p, 0) != ACK_OK) {
		ok(0, "parser_new");
		free(m);
		return;
	}
	t0 = clock();
	ok(ack_parser_message(p, m, (size_t)(q + body - m)) == ACK_OK,
	    "CR line ends: 50,000 header lines and 4 MB parse");
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	ok(secs < 1.0, "CR line ends: parsed in %.3f s (< 1 s)", secs);
	is_int(ack_parser_result(p)->kind, ACK_KIND_NONE, "CR line ends: kind none");
	ack_parser_free(p);
	free(m);
}

/* Boundaries of many lengths (up to the 255 bytes kept of one) and with
 * repeated bytes, after decoys: "--b" inside a line, "--b" followed by
 * more bytes; the delimiter after them is found all the same (were it
 * not, the field block of the preamble would be found instead). */
static void
test_boundaries(ack_parser *p)
{
	static const size_t lens[] = { 1, 2, 3, 7, 60, 200, 254, 255 };
	static const char *const fills[] = { "a", "ab=", "-_." };

	for (size_t f = 0; f < NELEM(fills); f++) {
		for (size_t i = 0; i < NELEM(lens); i++) {
			char b[256];
			ack_buf m;
			const ack_report *r;

			for (size_t k = 0; k < lens[i]; k++)
				b[k] = fills[f][k % strlen(fills[f])];
			b[lens[i]] = '\0';
			ack_buf_init(&m, 0);
			if (ack_buf_printf(&m, "Content-Type: multipart/report;"
			    " report-type=delivery-status; boundary=\"%s\"\n\n"
			    "Final-Recipient: rfc822; decoy@b.example\n"
			    "x --%s\n--%sx\n--%s\nContent-Type: "
			    "message/delivery-status\n\nFinal-Recipient: rfc822;"
			    " u@b.example\nAction: failed\nStatus: 5.1.1\n\n"
			    "--%s--\n", b, b, b, b, b) != ACK_OK)
				break;
			free(parse_whole(p, m.data, m.len));
			r = ack_parser_result(p);
			ok(r->kind == ACK_KIND_DSN && r->nrcpt == 1 &&
			    strcmp(r->rcpt[0].final_recipient, "u@b.example") == 0,
			    "boundary of %zu bytes of \"%s\": part found", lens[i],
			    fills[f]);
			ack_buf_free(&m);
		}
	}
}

/* ------------------------------------------------------ fields in detail */

/*
 * Fields the table above does not look at (the JSON form holds none of
 * them): Reporting-UA, Original-Recipient with its address type,
 * Last-Attempt-Date, and the MDN Disposition in its RFC 8098, 3798 and
 * 2298 forms (action mode / sending mode; type / modifiers), whose whole
 * text is kept and whose type is the action.  NULL: must be absent.
 */
typedef struct fcase {
	const char *name;
	const char *msg;
	int kind;
	size_t nrcpt;
	const char *ua;     /* Reporting-UA */
	const char *addr;   /* first recipient: Final-Recipient */
	const char *orig;   /* ... Original-Recipient, type stripped */
	const char *last;   /* ... Last-Attempt-Date */
	const char *action; /* ... DSN action / MDN disposition type */
	const char *disp;   /* ... MDN: the whole Disposition, unfolded */
	const char *diag;   /* ... Diagnostic-Code / MDN Error, Failure, Warning */
	const char *orig2;  /* last recipient (of 2 or more): Original-Recipient */
	const char *last2;  /* ... Last-Attempt-Date */
} fcase;

#define DSN_TOP(type) \
	"Content-Type: multipart/report; report-type=" type "; boundary=B\n\n" \
	"--B\nContent-Type: message/" type "\n\n"
#define MDN_TOP(part) \
	"From: bob@example.com\nSubject: Read: hello\n" \
	"Content-Type: multipart/report; report-type=disposition-notification;\n" \
	"\tboundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nRead.\n\n" \
	"--B\nContent-Type: message/" part "\n\n"

static const fcase fcases[] = {
	{ "DSN: Last-Attempt-Date, Original-Recipient (rfc822; <>, RFC822; comment)",
	  DSN_TOP("delivery-status")
	  "Reporting-MTA: dns; mx.example.net\n"
	  "Arrival-Date: Thu, 26 Nov 2026 06:00:00 +0000\n\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Original-Recipient: rfc822;<Bob.Orig@Example.COM>\n"
	  "Action: failed\nStatus: 5.1.1\n"
	  "Last-Attempt-Date: Thu, 26 Nov 2026 06:07:44 +0000\n\n"
	  "Final-Recipient: rfc822; carol@example.com\n"
	  "Original-Recipient: RFC822; carol+tag@example.com (as given)\n"
	  "Action: delayed\nStatus: 4.4.1\n"
	  "Last-Attempt-Date: Thu, 26 Nov 2026\n"
	  "    06:09:00 +0000 (UTC)\n"
	  "Will-Retry-Until: Fri, 27 Nov 2026 06:07:44 +0000\n\n--B--\n",
	  ACK_KIND_DSN, 2, NULL, "bob@example.com", "Bob.Orig@Example.COM",
	  "Thu, 26 Nov 2026 06:07:44 +0000", "failed", NULL, NULL,
	  "carol+tag@example.com", "Thu, 26 Nov 2026 06:09:00 +0000 (UTC)" },
	{ "DSN: Original-Recipient only stands for the final one",
	  DSN_TOP("delivery-status")
	  "Reporting-MTA: dns; mx.example.net\n\n"
	  "Original-Recipient: rfc822; dora@example.com\n"
	  "Action: delivered\nStatus: 2.0.0\n"
	  "Diagnostic-Code: smtp; 250 2.0.0 Ok\n"
	  "Last-Attempt-Date: Thu, 26 Nov 2026 06:07:44 -0500\n--B--\n",
	  ACK_KIND_DSN, 1, NULL, "dora@example.com", "dora@example.com",
	  "Thu, 26 Nov 2026 06:07:44 -0500", "delivered", NULL,
	  "smtp; 250 2.0.0 Ok", NULL, NULL },
	{ "RFC 6533 DSN: utf-8 Original-Recipient",
	  DSN_TOP("global-delivery-status")
	  "Reporting-MTA: dns; mx.example.jp\n\n"
	  "Original-Recipient: utf-8; j\xc3\xb6rg@example.de\n"
	  "Final-Recipient: utf-8; j\xc3\xb6rg@example.de\n"
	  "Action: failed\nStatus: 5.1.1\n"
	  "Last-Attempt-Date: Thu, 26 Nov 2026 06:07:44 +0900\n--B--\n",
	  ACK_KIND_DSN, 1, NULL, "j\xc3\xb6rg@example.de", "j\xc3\xb6rg@example.de",
	  "Thu, 26 Nov 2026 06:07:44 +0900", "failed", NULL, NULL, NULL, NULL },
	{ "RFC 8098 MDN: manual-action/MDN-sent-manually; displayed",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: mua.example.com; Mailer 1.0\n"
	  "Original-Recipient: rfc822;Bob@Example.COM\n"
	  "Final-Recipient: rfc822;bob@example.com\n"
	  "Original-Message-ID: <m1@example.org>\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n--B--\n",
	  ACK_KIND_MDN, 1, "mua.example.com; Mailer 1.0", "bob@example.com",
	  "Bob@Example.COM", NULL, "displayed",
	  "manual-action/MDN-sent-manually; displayed", NULL, NULL, NULL },
	{ "RFC 8098 MDN: automatic-action/MDN-sent-automatically; deleted",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: filter.example.com\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: automatic-action/MDN-sent-automatically; deleted\n--B--\n",
	  ACK_KIND_MDN, 1, "filter.example.com", "bob@example.com", NULL, NULL,
	  "deleted", "automatic-action/MDN-sent-automatically; deleted", NULL,
	  NULL, NULL },
	{ "RFC 8098 MDN: processed/error with an Error field",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: mda.example.com; Sieve 2.1\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: automatic-action/MDN-sent-automatically; processed/error\n"
	  "Error: mailbox quota exceeded\n--B--\n",
	  ACK_KIND_MDN, 1, "mda.example.com; Sieve 2.1", "bob@example.com", NULL,
	  NULL, "processed",
	  "automatic-action/MDN-sent-automatically; processed/error",
	  "mailbox quota exceeded", NULL, NULL },
	{ "RFC 3798 MDN: manual action, sent automatically; dispatched",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: pc.example.org; Thunderbird 115\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: manual-action/MDN-sent-automatically; dispatched\n--B--\n",
	  ACK_KIND_MDN, 1, "pc.example.org; Thunderbird 115", "bob@example.com",
	  NULL, NULL, "dispatched",
	  "manual-action/MDN-sent-automatically; dispatched", NULL, NULL, NULL },
	{ "RFC 2298 MDN: deleted/expired,mailbox-terminated with a Warning",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: gw.example.org; Groupware 5\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: automatic-action/MDN-sent-automatically;"
	  " deleted/expired,mailbox-terminated\n"
	  "Warning: mailbox closed\n--B--\n",
	  ACK_KIND_MDN, 1, "gw.example.org; Groupware 5", "bob@example.com", NULL,
	  NULL, "deleted",
	  "automatic-action/MDN-sent-automatically; deleted/expired,mailbox-terminated",
	  "mailbox closed", NULL, NULL },
	{ "RFC 2298 MDN: manual-action/MDN-sent-manually; denied",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: pc.example.org; Mozilla/4.0\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: manual-action/MDN-sent-manually; denied\n--B--\n",
	  ACK_KIND_MDN, 1, "pc.example.org; Mozilla/4.0", "bob@example.com", NULL,
	  NULL, "denied", "manual-action/MDN-sent-manually; denied", NULL, NULL,
	  NULL },
	{ "RFC 2298 MDN: failed with a Failure field",
	  MDN_TOP("disposition-notification")
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: automatic-action/MDN-sent-automatically; failed\n"
	  "Failure: unknown disposition requested\n--B--\n",
	  ACK_KIND_MDN, 1, NULL, "bob@example.com", NULL, NULL, "failed",
	  "automatic-action/MDN-sent-automatically; failed",
	  "unknown disposition requested", NULL, NULL },
	{ "MDN: mixed case, blanks around ';', /warning",
	  MDN_TOP("disposition-notification")
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition:Manual-Action/MDN-Sent-Manually ;Displayed/Warning\n--B--\n",
	  ACK_KIND_MDN, 1, NULL, "bob@example.com", NULL, NULL, "displayed",
	  "Manual-Action/MDN-Sent-Manually ;Displayed/Warning", NULL, NULL, NULL },
	{ "MDN: folded Disposition and Reporting-UA",
	  MDN_TOP("disposition-notification")
	  "Reporting-UA: mua.example.com;\n Mailer 2.0\n"
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: automatic-action/MDN-sent-automatically;\n\tdispatched\n--B--\n",
	  ACK_KIND_MDN, 1, "mua.example.com; Mailer 2.0", "bob@example.com", NULL,
	  NULL, "dispatched", "automatic-action/MDN-sent-automatically; dispatched",
	  NULL, NULL, NULL },
	{ "RFC 6533 MDN: global disposition, utf-8 recipients",
	  MDN_TOP("global-disposition-notification")
	  "Reporting-UA: mua.example.jp; Mailer 3\n"
	  "Original-Recipient: utf-8; j\xc3\xb6rg@example.de\n"
	  "Final-Recipient: utf-8; j\xc3\xb6rg@example.de\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n--B--\n",
	  ACK_KIND_MDN, 1, "mua.example.jp; Mailer 3", "j\xc3\xb6rg@example.de",
	  "j\xc3\xb6rg@example.de", NULL, "displayed",
	  "manual-action/MDN-sent-manually; displayed", NULL, NULL, NULL },
	{ "MDN: comments before the disposition type (RFC 3798)",
	  MDN_TOP("disposition-notification")
	  "Final-Recipient: rfc822; bob@example.com\n"
	  "Disposition: manual-action/MDN-sent-manually; (read (by \\) bob)) displayed\n--B--\n",
	  ACK_KIND_MDN, 1, NULL, "bob@example.com", NULL, NULL, "displayed",
	  "manual-action/MDN-sent-manually; (read (by \\) bob)) displayed", NULL, NULL,
	  NULL },
};

#define NFIELD 9

static const char *const field_label[NFIELD] = {
	"Reporting-UA", "Final-Recipient", "Original-Recipient",
	"Last-Attempt-Date", "action", "Disposition", "diagnostic",
	"last Original-Recipient", "last Last-Attempt-Date",
};

/* The checked members of r (got) beside the values c expects (want). */
static void
field_values(const ack_report *r, const fcase *c, const char *got[NFIELD],
    const char *want[NFIELD])
{
	const ack_report_rcpt *a = r->nrcpt > 0 ? &r->rcpt[0] : NULL;
	const ack_report_rcpt *z = r->nrcpt > 1 ? &r->rcpt[r->nrcpt - 1] : NULL;
	const char *g[NFIELD] = { r->reporting_ua,
		a ? a->final_recipient : NULL, a ? a->original_recipient : NULL,
		a ? a->last_attempt : NULL, a ? a->action : NULL,
		a ? a->disposition : NULL, a ? a->diagnostic : NULL,
		z ? z->original_recipient : NULL, z ? z->last_attempt : NULL };
	const char *w[NFIELD] = { c->ua, c->addr, c->orig, c->last, c->action,
		c->disp, c->diag, c->orig2, c->last2 };

	memcpy(got, g, sizeof g);
	memcpy(want, w, sizeof w);
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* All of c's fields in r?  Else say which is not. */
static bool
fields_agree(const ack_report *r, const fcase *c, const char *how)
{
	const char *got[NFIELD], *want[NFIELD];
	bool same = r->kind == c->kind && r->nrcpt == c->nrcpt;

	field_values(r, c, got, want);
	for (size_t i = 0; i < NFIELD; i++) {
		if (!same_str(got[i], want[i])) {
			printf("# %s, %s: %s is \"%s\", want \"%s\"\n", c->name, how,
			    field_label[i], got[i] ? got[i] : "(null)",
			    want[i] ? want[i] : "(null)");
			same = false;
		}
	}
	return same;
}

static void
check_fields(ack_parser *p, const fcase *c)
{
	static const struct {
		const char *eol, *how;
		size_t chunk; /* 0: whole message */
	} ways[] = {
		{ "\r\n", "whole, CRLF", 0 }, { "\r", "whole, CR", 0 },
		{ "\r\n", "stages, 1-byte chunks, CRLF", 1 },
		{ "\r", "stages, 5-byte chunks, CR", 5 },
		{ "\n", "stages, 64-byte chunks, LF", 64 },
	};
	const char *got[NFIELD], *want[NFIELD];
	const ack_report *r;

	free(parse_whole(p, c->msg, strlen(c->msg)));
	r = ack_parser_result(p);
	is_int(r->kind, c->kind, "%s: kind", c->name);
	is_int(r->nrcpt, c->nrcpt, "%s: recipients", c->name);
	field_values(r, c, got, want);
	for (size_t i = 0; i < NFIELD; i++)
		is_str(got[i], want[i], "%s: %s", c->name, field_label[i]);
	for (size_t i = 0; i < NELEM(ways); i++) {
		int rc;

		if (ways[i].chunk == 0) {
			size_t len;
			char *m = with_eol(c->msg, ways[i].eol, &len);

			ack_parser_reset(p);
			rc = ack_parser_message(p, m, len);
			free(m);
		} else {
			rc = feed_stages(p, c->msg, ways[i].eol, ways[i].chunk);
		}
		ok(rc == ACK_OK && fields_agree(ack_parser_result(p), c, ways[i].how),
		    "%s: the same fields %s", c->name, ways[i].how);
	}
}

/* ------------------------------------------- real Postfix DSNs (t/data) */

/*
 * The DSNs a real Postfix 3.7 wrote in the end-to-end test, saved in
 * t/data/postfix-*.eml.  The values below are read off the files: one
 * recipient each, Reporting-MTA "dns; mx.ack.test", Original-Recipient
 * the same as Final-Recipient, the ENVID equal to the Ack-Tracking-Id of
 * the returned headers (text/rfc822-headers), no Last-Attempt-Date.
 */
typedef struct pfcase {
	const char *kind;   /* postfix-KIND.eml; also the action */
	const char *rcpt;
	const char *status;
	const char *remote; /* Remote-MTA, type stripped */
	const char *diag;   /* Diagnostic-Code, unfolded */
	const char *token;  /* Original-Envelope-Id = returned Ack-Tracking-Id */
	const char *arrival;
	const char *retry;  /* Will-Retry-Until */
} pfcase;

static const pfcase pfcases[] = {
	{ "delayed", "fay@defer.example", "4.2.1", "127.0.0.1",
	  "smtp; 450 4.2.1 Mailbox busy, try again later",
	  "aeaqphdonmz3jilkbhkwvryuox3yuzibcmrzwmg4",
	  "Thu, 26 Nov 2026 06:46:38 +0000 (UTC)",
	  "Tue,  1 Dec 2026 06:46:38 +0000 (UTC)" },
	{ "delivered", "dave@local.test", "2.0.0", NULL,
	  "X-Postfix; delivery via virtual: delivered to maildir",
	  "aeaqphdoprc2smtrhacro7ejudqgp6jfcfv444ic",
	  "Thu, 26 Nov 2026 06:46:37 +0000 (UTC)", NULL },
	{ "expanded", "list@local.test", "2.0.0", NULL, "X-Postfix; alias expanded",
	  "aeaqphdovt75kbwmtsx4njn2s4ykumafix5w25ni",
	  "Thu, 26 Nov 2026 06:46:37 +0000 (UTC)", NULL },
	{ "failed", "eve@reject.example", "5.1.1", "127.0.0.1",
	  "smtp; 550 5.1.1 <eve@reject.example>: Recipient address rejected: "
	  "User unknown",
	  "aeaqphdo3fuynya4c75dcj7fumn2v2l6gxzd5xzg",
	  "Thu, 26 Nov 2026 06:46:38 +0000 (UTC)", NULL },
	{ "relayed", "bob@example.org", "2.0.0", "127.0.0.1", "smtp; 250 2.0.0 Ok",
	  "aeaqphdohpok5itha2juj74pamdz2er5bn7ooszr",
	  "Thu, 26 Nov 2026 06:46:37 +0000 (UTC)", NULL },
};

#define NPF 15

static const char *const pf_label[NPF] = {
	"kind", "recipients", "truncated", "Reporting-MTA", "Original-Envelope-Id",
	"Ack-Tracking-Id", "returned Message-ID", "Arrival-Date", "Final-Recipient",
	"Original-Recipient", "action", "status", "Remote-MTA", "Diagnostic-Code",
	"Will-Retry-Until",
};

/* The checked members of r as text (got) beside c's values (want); buf
 * holds the numbers written as text and the returned Message-ID. */
static void
pf_values(const ack_report *r, const pfcase *c, char buf[4][64],
    const char *got[NPF], const char *want[NPF])
{
	const ack_report_rcpt *a = r->nrcpt > 0 ? &r->rcpt[0] : NULL;

	snprintf(buf[0], 64, "%s", ack_report_kind_name(r->kind));
	snprintf(buf[1], 64, "%zu", r->nrcpt);
	snprintf(buf[2], 64, "%s", r->truncated ? "true" : "false");
	snprintf(buf[3], 64, "<%s.7765.1795675593@ack.test>", c->kind);
	{
		const char *g[NPF] = { buf[0], buf[1], buf[2], r->reporting_mta,
			r->original_envelope_id, r->returned_token,
			r->returned_message_id, r->arrival_date,
			a ? a->final_recipient : NULL, a ? a->original_recipient : NULL,
			a ? a->action : NULL, a ? a->status : NULL,
			a ? a->remote_mta : NULL, a ? a->diagnostic : NULL,
			a ? a->will_retry_until : NULL };
		const char *w[NPF] = { "dsn", "1", "false", "mx.ack.test", c->token,
			c->token, buf[3], c->arrival, c->rcpt, c->rcpt, c->kind,
			c->status, c->remote, c->diag, c->retry };

		memcpy(got, g, sizeof g);
		memcpy(want, w, sizeof w);
	}
}

static bool
pf_agree(const ack_report *r, const pfcase *c, const char *how)
{
	const char *got[NPF], *want[NPF];
	char buf[4][64];
	bool same = r->nrcpt == 0 || r->rcpt[0].last_attempt == NULL;

	pf_values(r, c, buf, got, want);
	for (size_t i = 0; i < NPF; i++) {
		if (!same_str(got[i], want[i])) {
			printf("# postfix-%s.eml, %s: %s is \"%s\", want \"%s\"\n",
			    c->kind, how, pf_label[i], got[i] ? got[i] : "(null)",
			    want[i] ? want[i] : "(null)");
			same = false;
		}
	}
	return same;
}

/* The file's bytes, NUL terminated (NULL when it cannot be read). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *d = NULL;
	long n;

	if (fp != NULL && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (d = malloc((size_t)n + 1)) != NULL) {
		*len = fread(d, 1, (size_t)n, fp);
		d[*len] = '\0';
	}
	if (fp != NULL)
		fclose(fp);
	return d;
}

static void
check_postfix_file(ack_parser *p, const pfcase *c, const char *dir)
{
	static const size_t chunks[] = { 1, 7, 64, 4096 };
	const char *got[NPF], *want[NPF];
	char path[4096 + 64], buf[4][64], *m, *crlf;
	size_t len = 0, clen;

	snprintf(path, sizeof path, "%s/postfix-%s.eml", dir, c->kind);
	if ((m = slurp(path, &len)) == NULL || memchr(m, '\r', len) != NULL) {
		ok(0, "postfix-%s.eml: read, LF line ends", c->kind);
		free(m);
		return;
	}
	ack_parser_reset(p);
	ok(ack_parser_message(p, m, len) == ACK_OK, "postfix-%s.eml: parses whole",
	    c->kind);
	pf_values(ack_parser_result(p), c, buf, got, want);
	for (size_t i = 0; i < NPF; i++)
		is_str(got[i], want[i], "postfix-%s.eml: %s", c->kind, pf_label[i]);
	ok(ack_parser_result(p)->rcpt != NULL &&
	    ack_parser_result(p)->rcpt[0].last_attempt == NULL,
	    "postfix-%s.eml: no Last-Attempt-Date", c->kind);
	crlf = with_eol(m, "\r\n", &clen);
	ack_parser_reset(p);
	ok(ack_parser_message(p, crlf, clen) == ACK_OK &&
	    pf_agree(ack_parser_result(p), c, "whole, CRLF"),
	    "postfix-%s.eml: the same whole with CRLF line ends", c->kind);
	free(crlf);
	for (size_t i = 0; i < NELEM(chunks); i++) {
		char how[64];

		snprintf(how, sizeof how, "stages, %zu-byte chunks, CRLF", chunks[i]);
		ok(feed_stages(p, m, "\r\n", chunks[i]) == ACK_OK &&
		    pf_agree(ack_parser_result(p), c, how),
		    "postfix-%s.eml: the same through the stages in %zu-byte chunks",
		    c->kind, chunks[i]);
	}
	free(m);
}

static void
test_postfix_files(ack_parser *p)
{
	const char *src = getenv("ACK_SRCDIR");
	char dir[4096];
	struct stat st;

	snprintf(dir, sizeof dir, "%s/t/data", src ? src : "..");
	if (src == NULL && stat(dir, &st) != 0) {
		printf("# no %s (ACK_SRCDIR unset): Postfix DSN tests skipped\n", dir);
		return;
	}
	for (size_t i = 0; i < NELEM(pfcases); i++)
		check_postfix_file(p, &pfcases[i], dir);
}

/* ------------------------------------------------- with the pattern files */

/* The first recipient of r, or NULL. */
static const char *
first_addr(const ack_report *r)
{
	return r->nrcpt > 0 ? r->rcpt[0].final_recipient : NULL;
}

/* A DSN whose delivery-status part has per-message fields only: the
 * recipient, status and reason come from the human-readable part. */
static void
test_dsn_text_recipient(ack_parser *p)
{
	static const char msg[] = DSN_HEAD
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\n"
	    "This is the mail system at host mx.example.net.\n\n"
	    "I'm sorry to have to inform you that your message could not\n"
	    "be delivered to one or more recipients.\n\n"
	    "<zoe@example.com>: host mx.example.com[192.0.2.9] said: 550 5.1.1\n"
	    "    <zoe@example.com>: Recipient address rejected: User unknown\n\n"
	    "--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.net\n"
	    "Arrival-Date: Wed, 26 Nov 2025 06:07:44 +0000 (UTC)\n\n"
	    RETURNED;
	const ack_report *r;

	ok(ack_parser_message(p, msg, sizeof msg - 1) == ACK_OK, "dsn text: parses");
	r = ack_parser_result(p);
	is_int(r->kind, ACK_KIND_DSN, "dsn text: kind dsn");
	is_int(r->nrcpt, 1, "dsn text: one recipient");
	is_str(first_addr(r), "zoe@example.com", "dsn text: recipient from the text");
	if (r->nrcpt > 0) {
		is_str(r->rcpt[0].action, "failed", "dsn text: action");
		is_str(r->rcpt[0].status, "5.1.1", "dsn text: status from the text");
		is_str(r->rcpt[0].reason, "userunknown", "dsn text: reason");
	}
	is_str(r->reporting_mta, "mx.example.net", "dsn text: reporting MTA kept");
	ok(r->returned_token != NULL, "dsn text: token of the returned headers");
}

/* A qmail bounce of lines lines of filler, ins[k] inserted after line
 * after[k] (at most 4, in order; NULL ends them).  NULL on ENOMEM. */
static char *
long_bounce(size_t lines, const size_t *after, const char *const *ins)
{
	ack_buf b;
	bool good;

	ack_buf_init(&b, 0);
	good = ack_buf_adds(&b, "From: MAILER-DAEMON@mx.example.net\n"
	    "Subject: failure notice\n\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n") == ACK_OK;
	for (size_t i = 0, k = 0; good && i < lines; i++) {
		good = ack_buf_printf(&b, "This is line %zu of a long notice.\n", i) ==
		    ACK_OK;
		while (good && k < 4 && ins[k] != NULL && after[k] == i)
			good = ack_buf_adds(&b, ins[k++]) == ACK_OK;
	}
	if (!good)
		ack_buf_free(&b);
	return b.data;
}

/* Recipients far inside a long text are found through the windows around
 * the '@'s (two lines before, one after); with more '@' lines than
 * windows, through the whole text. */
static void
test_long_bounce(ack_parser *p)
{
	static const char *const far[] = {
		"<far@example.com>:\nSorry, no mailbox here by that name.\n",
		"----- The following addresses had permanent fatal errors -----\n"
		"\n<far2@example.com>\n",
		NULL,
	};
	static const size_t far_at[] = { 800, 1100 };
	char *msg = long_bounce(1200, far_at, far);
	ack_buf many;
	const ack_report *r;
	bool built = true;

	ok(msg && ack_parser_message(p, msg, strlen(msg)) == ACK_OK,
	    "long bounce: parses (%zu bytes)", msg ? strlen(msg) : 0);
	r = ack_parser_result(p);
	is_int(r->kind, ACK_KIND_BOUNCE, "long bounce: kind bounce");
	is_int(r->nrcpt, 2, "long bounce: two recipients");
	is_str(first_addr(r), "far@example.com", "long bounce: first, far in");
	if (r->nrcpt > 1)
		is_str(r->rcpt[1].final_recipient, "far2@example.com",
		    "long bounce: second, two lines after its heading");
	free(msg);

	/* 100 '@' lines no rule takes (more than the windows), then one */
	ack_buf_init(&many, 0);
	built = ack_buf_adds(&many, "From: MAILER-DAEMON@mx.example.net\n"
	    "Subject: failure notice\n\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n") == ACK_OK;
	for (int i = 0; built && i < 100; i++)
		built = ack_buf_printf(&many, "Seen by relay%d.example.net as "
		    "id%d@relay.example.net on its way.\n", i, i) == ACK_OK;
	built = built && ack_buf_adds(&many, "\n<last@example.com>:\n"
	    "Sorry, no mailbox here by that name.\n") == ACK_OK;
	ok(built && ack_parser_message(p, many.data, many.len) == ACK_OK,
	    "many '@' lines: parses");
	r = ack_parser_result(p);
	is_int(r->kind, ACK_KIND_BOUNCE, "many '@' lines: kind bounce");
	is_int(r->nrcpt, 1, "many '@' lines: one recipient");
	is_str(first_addr(r), "last@example.com", "many '@' lines: after them all");
	ack_buf_free(&many);
}

static void
test_with_patterns(void)
{
	const char *src = getenv("ACK_SRCDIR");
	char dir[4096], err[512];
	ack_patterns *pt = NULL;
	ack_parser *p = NULL;
	struct stat st;

	snprintf(dir, sizeof dir, "%s/patterns", src ? src : "..");
	if (stat(dir, &st) != 0) {
		printf("# no pattern directory at %s: pattern tests skipped\n", dir);
		return;
	}
	if (ack_patterns_load(&pt, dir, err, sizeof err) != ACK_OK ||
	    ack_parser_new(&p, 0) != ACK_OK) {
		ok(0, "patterns: set up: %s", err);
		ack_patterns_free(pt);
		return;
	}
	ack_parser_set_patterns(p, pt);
	test_dsn_text_recipient(p);
	test_long_bounce(p);
	ack_parser_free(p);
	ack_patterns_free(pt);
}

int
main(void)
{
	ack_parser *p;

	if (ack_parser_new(&p, 0) != ACK_OK) {
		printf("Bail out! ack_parser_new\n");
		return 1;
	}
	for (size_t i = 0; i < NELEM(cases); i++)
		check_case(p, &cases[i]);
	test_json(p);
	test_candidate(p);
	test_pattern_hooks(p);
	test_many_recipients(p);
	test_nesting(p);
	test_garbage(p);
	test_long_header(p);
	test_cr_headers();
	test_boundaries(p);
	for (size_t i = 0; i < NELEM(fcases); i++)
		check_fields(p, &fcases[i]);
	test_postfix_files(p);
	ack_parser_free(p);
	test_truncation();
	test_body_chunks();
	test_with_patterns();
	return tap_done();
}
