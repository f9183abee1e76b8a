/*
 * inbound.c - mail that is not ours to tag: strip tracking headers it
 * should never carry, and recognise the reports (DSN, MDN, ARF) that come
 * back about our messages.  Ordinary mail costs its headers only: the body
 * is parsed only for a candidate (null sender, a signed return address
 * among the recipients, or a multipart/report).  A report is absorbed per
 * ReportAction only after its state is committed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "log.h"
#include "milter.h"
#include "mta.h"

void
inbound_rcpt(struct msg *m, const char *addr)
{
	char token[ACK_TOKEN_LEN + 1];

	if (ack_return_path_match(m->snap->cfg->return_path, addr, token)) {
		if (m->rcpt_return++ == 0)
			memcpy(m->env_token, token, sizeof token);
		/* a report to our return address will most likely write to the
		 * store: announced, like an outgoing message (CommitDelay) */
		msg_expect(m, true);
	} else {
		m->rcpt_other++;
	}
}

static ack_parser *
parser_of(struct conn *c)
{
	if (c->parser != NULL)
		return c->parser;
	if (ack_parser_new(&c->parser, (size_t)c->snap->cfg->report_max_size) != ACK_OK)
		return c->parser = NULL;
	ack_parser_set_patterns(c->parser, c->snap->patterns);
	/* the configuration checked the name: this cannot fail */
	(void)ack_parser_set_tracking_header(c->parser, c->snap->cfg->tracking_header);
	return c->parser;
}

void
inbound_header(struct conn *c, const char *name, const char *value)
{
	ack_parser *p = parser_of(c);

	if (p != NULL && ack_parser_header(p, name, value) != ACK_OK)
		log_debug(NULL, "report parser: header %s not taken", name);
}

void
inbound_eoh(struct conn *c)
{
	struct msg *m = c->msg;
	ack_parser *p = c->parser;

	if (p == NULL || ack_parser_eoh(p) != ACK_OK)
		return;
	m->report = m->null_sender || m->rcpt_return > 0 || ack_parser_candidate(p);
}

void
inbound_body(struct conn *c, const unsigned char *data, size_t len)
{
	if (c->parser != NULL && ack_parser_body(c->parser, data, len) != ACK_OK)
		log_debug(NULL, "report parser: body chunk not taken");
}

/* Take a recorded report out of the way, or mark it and deliver it. */
static enum verdict
absorb(SMFICTX *ctx, const struct msg *m, const ack_report *r,
    const char *token, const char *qid)
{
	char hdr[256];

	snprintf(hdr, sizeof hdr, "kind=%s; token=%s; recorded=yes",
	    ack_report_kind_name(r->kind), token);
	/* Only a report addressed to return addresses alone is ours to drop. */
	if (m->rcpt_return == 0 || m->rcpt_other > 0 ||
	    m->snap->cfg->report_action == ACK_RA_PASS) {
		if (mta_addheader(ctx, "Ack-Report", hdr) != 0)
			log_warn(qid, "could not add the Ack-Report header");
		return VERDICT_CONTINUE;
	}
	if (m->snap->cfg->report_action == ACK_RA_HOLD) {
		if (mta_quarantine(ctx, "ackmilter: report recorded, held by ReportAction") != 0)
			log_warn(qid, "could not hold the report: delivering it");
		return VERDICT_CONTINUE;
	}
	return VERDICT_DISCARD;
}

static enum verdict
handle_report(SMFICTX *ctx, const struct msg *m, const ack_report *r,
    const char *qid)
{
	char token[ACK_TOKEN_LEN + 1] = "";
	const char *where = NULL, *kind = ack_report_kind_name(r->kind);
	ack_apply_result res = { 0 };
	int rc;

	/* Thread-safe; returns once the state is durable (group commit). */
	rc = ack_store_absorb(ackd.store, m->snap->keys, r,
	    m->rcpt_return ? m->env_token : NULL, time(NULL), token, &where, &res);
	if (rc != ACK_OK && rc != ACK_ENOTFOUND && rc != ACK_EMAC && rc != ACK_ENOKEY)
		log_err(qid, "%s report for token=%s not recorded: %s (%s); delivered",
		    kind, token, ack_strerror(rc), ack_store_errmsg(ackd.store));
	if (rc == ACK_ENOTFOUND && where == NULL)
		log_info(qid, "%s report without a token: not ours, delivered", kind);
	else if (rc == ACK_ENOTFOUND)
		log_warn(qid, "%s report for token=%s (from %s) unknown to the store: "
		    "delivered", kind, token, where);
	else if (rc == ACK_EMAC || rc == ACK_ENOKEY)
		log_warn(qid, "%s report with a forged or foreign token (%s, from %s): "
		    "ignored and delivered", kind, ack_strerror(rc), where);
	if (rc != ACK_OK)
		return VERDICT_CONTINUE;
	log_info(qid, "%s report for token=%s (from %s): %u updated, %u added, "
	    "%u duplicate", kind, token, where, res.updated, res.added, res.duplicate);
	return absorb(ctx, m, r, token, qid);
}

enum verdict
inbound_eom(SMFICTX *ctx, struct conn *c, const char *qid)
{
	struct msg *m = c->msg;
	const ack_report *r;

	if (m->track_headers > 0) {
		log_warn(qid, "removed %d %s header(s) from mail that is not ours",
		    m->track_headers, m->snap->cfg->tracking_header);
		strip_tracking(ctx, m, qid);
	}
	if (!m->report || c->parser == NULL)
		return VERDICT_CONTINUE;
	if (ack_parser_eom(c->parser) != ACK_OK ||
	    (r = ack_parser_result(c->parser)) == NULL || r->kind == ACK_KIND_NONE)
		return VERDICT_CONTINUE;
	return handle_report(ctx, m, r, qid);
}
