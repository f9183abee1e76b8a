/*
 * outgoing.c - what happens at end of message.  Outgoing mail gets a token,
 * a store record (committed first), then its requests to the MTA in the
 * order DESIGN.md fixes: envelope sender with RET/ENVID, each recipient
 * deleted and re-added with NOTIFY/ORCPT, then headers.  Everything else
 * only loses tracking headers it should never have carried.
 *
 * Sendmail (8.14 to 8.17) treats a re-added recipient differently from
 * Postfix: recipient() finds the deleted entry, revives it and merges only
 * its flags, so NOTIFY takes effect but ORCPT never does (the entry keeps
 * the client's).  An entry Sendmail already replaced at RCPT time is not
 * revived: for a local user+detail, ruleset 5 replaces it with a new entry
 * that keeps its text, the delete hits that live entry and the message
 * reaches nobody.  So with Sendmail a recipient with a +detail is left as
 * the client gave it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "log.h"
#include "milter.h"
#include "mta.h"

/*
 * An outgoing message announces its store write from MAIL FROM until the
 * write is done (ack_store_expect): a commit may then wait a moment
 * (CommitDelay) for the other messages under way to share it.
 */
void
msg_expect(struct msg *m, bool on)
{
	if (m->expects == on)
		return;
	m->expects = on;
	ack_store_expect(ackd.store, on ? 1 : -1);
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	msg_expect(m, false);
	for (size_t i = 0; i < m->nrcpt; i++) {
		free(m->rcpt[i].arg);
		free(m->rcpt[i].addr);
		free(m->rcpt[i].notify);
		free(m->rcpt[i].orcpt);
	}
	free(m->rcpt);
	free(m->sender_arg);
	free(m->message_id);
	free(m);
}

/* The message goes on untracked (or is deferred), with one log line. */
static enum verdict
untracked(const struct msg *m, const char *qid, const char *why)
{
	if (m->snap->cfg->on_error == ACK_ONERROR_TEMPFAIL) {
		log_err(qid, "not tracked: %s; message deferred (OnError tempfail)", why);
		return VERDICT_TEMPFAIL;
	}
	log_err(qid, "not tracked: %s; message accepted untracked (OnError accept)", why);
	return VERDICT_CONTINUE;
}

/* Remove every tracking header the message carried (last first). */
void
strip_tracking(SMFICTX *ctx, const struct msg *m, const char *qid)
{
	for (int i = m->track_headers; i >= 1; i--)
		if (mta_delheader(ctx, m->snap->cfg->tracking_header, i) != 0)
			log_warn(qid, "could not remove %s header %d",
			    m->snap->cfg->tracking_header, i);
}

static unsigned
rcpt_notify(const struct msg *m, const struct rcpt *r)
{
	unsigned bits;

	if (r->notify != NULL && ack_notify_parse(r->notify, &bits) == ACK_OK)
		return bits;
	return m->snap->cfg->notify;
}

static bool
mdn_requested(const struct msg *m)
{
	int rr = m->snap->cfg->read_receipts;

	return rr == ACK_RR_ALWAYS || (rr == ACK_RR_KEEP && m->has_dnt);
}

/* The envelope sender to use: the signed return address, or the original. */
static int
return_path(const struct msg *m, const char *token, ack_buf *out)
{
	const char *t = m->snap->cfg->return_path, *p;

	if (t == NULL || *t == '\0')
		return ack_buf_adds(out, m->sender_arg);
	p = strstr(t, "%t");
	if (ack_buf_addc(out, '<') != ACK_OK ||
	    ack_buf_add(out, t, (size_t)(p - t)) != ACK_OK ||
	    ack_buf_adds(out, token) != ACK_OK ||
	    ack_buf_adds(out, p + 2) != ACK_OK)
		return ACK_ENOMEM;
	return ack_buf_addc(out, '>');
}

/* ORCPT as recorded: the client's (decoded when it is valid xtext) or rfc822;address. */
static char *
orcpt_record(const struct rcpt *r)
{
	ack_buf b;

	ack_buf_init(&b, 0); /* the MTA bounds addresses */
	if (r->orcpt == NULL) {
		if (ack_buf_printf(&b, "rfc822;%s", r->addr) != ACK_OK)
			ack_buf_free(&b);
		return b.data;
	}
	if (ack_xtext_decode(&b, r->orcpt, strlen(r->orcpt)) != ACK_OK) {
		ack_buf_free(&b);
		return strdup(r->orcpt);
	}
	return b.data;
}

/* ORCPT as requested: the client's own, or rfc822;xtext(address). */
static int
orcpt_arg(ack_buf *b, const struct rcpt *r)
{
	if (r->orcpt != NULL)
		return ack_buf_adds(b, r->orcpt);
	if (ack_buf_adds(b, "rfc822;") != ACK_OK)
		return ACK_ENOMEM;
	return ack_xtext_encode(b, r->addr, strlen(r->addr));
}

static uint32_t
msg_flags(const struct msg *m)
{
	uint32_t f = 0;

	if (m->ret == 1 || (m->ret < 0 && m->snap->cfg->ret == 1))
		f |= ACK_MSG_RET_FULL;
	if (mdn_requested(m))
		f |= ACK_MSG_MDN_REQ;
	if (m->snap->cfg->read_receipts == ACK_RR_ALWAYS && !m->has_dnt)
		f |= ACK_MSG_MDN_ADDED;
	if (m->snap->cfg->return_path != NULL && *m->snap->cfg->return_path != '\0')
		f |= ACK_MSG_RETURN_PATH;
	if (m->auth)
		f |= ACK_MSG_AUTH;
	return f;
}

/* Commit the message and its recipients before any request goes out. */
static int
record(const struct msg *m, const char *token, const char *qid, char *errmsg,
    size_t errlen)
{
	ack_msg am = { .submitted = time(NULL), .flags = msg_flags(m) };
	ack_rcpt *rv = calloc(m->nrcpt ? m->nrcpt : 1, sizeof *rv);
	char *sender = NULL;
	int rc = ACK_ENOMEM;

	if (rv == NULL)
		return ACK_ENOMEM;
	memcpy(am.token, token, sizeof am.token);
	am.message_id = m->message_id;
	am.queue_id = (char *)qid;
	if ((am.sender = sender = strndup(m->sender_arg + (*m->sender_arg == '<'),
	    strcspn(m->sender_arg + (*m->sender_arg == '<'), ">"))) == NULL)
		goto out;
	for (size_t i = 0; i < m->nrcpt; i++) {
		rv[i].address = m->rcpt[i].addr;
		rv[i].notify = rcpt_notify(m, &m->rcpt[i]);
		rv[i].dsn_state = rv[i].notify & ~ACK_NOTIFY_NEVER ?
		    ACK_DSN_PENDING : ACK_DSN_NONE;
		rv[i].mdn_state = mdn_requested(m) ? ACK_MDN_PENDING : ACK_MDN_NONE;
		if ((rv[i].orcpt = orcpt_record(&m->rcpt[i])) == NULL)
			goto out;
	}
	/* Thread-safe; returns once the record is durable (group commit). */
	rc = ack_store_put(ackd.store, &am, rv, m->nrcpt);
	if (rc != ACK_OK)
		snprintf(errmsg, errlen, "store: %s (%s)", ack_strerror(rc),
		    ack_store_errmsg(ackd.store));
out:
	for (size_t i = 0; i < m->nrcpt; i++)
		free(rv[i].orcpt);
	free(rv);
	free(sender);
	return rc;
}

static int
request_sender(SMFICTX *ctx, const struct msg *m, const char *token)
{
	char args[128];
	ack_buf from;
	int rc;

	ack_buf_init(&from, 1024);
	snprintf(args, sizeof args, "RET=%s ENVID=%s",
	    msg_flags(m) & ACK_MSG_RET_FULL ? "FULL" : "HDRS", token);
	rc = return_path(m, token, &from) == ACK_OK ?
	    mta_chgfrom(ctx, from.data, args) : -1;
	ack_buf_free(&from);
	return rc;
}

/* Sendmail loses a re-added local user+detail (see the top of the file);
 * without {rcpt_mailer} every recipient counts as local. */
static bool
sendmail_keep(const struct rcpt *r)
{
	const char *at = strrchr(r->addr, '@');
	size_t local = at != NULL ? (size_t)(at - r->addr) : strlen(r->addr);

	return r->local && memchr(r->addr, '+', local) != NULL;
}

/*
 * Re-add a recipient with NOTIFY and ORCPT, unless its client already gave
 * NOTIFY: then its parameters are in force and there is nothing to change.
 * That is also the safe path: Postfix matches a delrcpt against the
 * original recipient, so deleting a virtual alias cancels its expansion,
 * and the re-added alias expands to the same (recipient, ORCPT, NOTIFY)
 * as the cancelled records, which the duplicate filter then drops; the
 * mail would reach nobody.
 */
static int
request_rcpt(SMFICTX *ctx, const struct msg *m, const struct rcpt *r,
    bool sendmail, const char *qid)
{
	char notify[64];
	ack_buf args;
	int rc = -1;

	if (r->notify != NULL)
		return 0;
	if (sendmail && sendmail_keep(r)) {
		log_info(qid, "%s: not re-added with NOTIFY: Sendmail loses a "
		    "re-added local +detail recipient", r->addr);
		return 0;
	}
	ack_buf_init(&args, 0);
	ack_notify_format(rcpt_notify(m, r), notify, sizeof notify);
	if (ack_buf_printf(&args, "NOTIFY=%s ORCPT=", notify) == ACK_OK &&
	    orcpt_arg(&args, r) == ACK_OK) {
		rc = mta_delrcpt(ctx, r->arg);
		if (rc == 0)
			rc = mta_addrcpt(ctx, r->arg, args.data);
	}
	ack_buf_free(&args);
	return rc;
}

static int
request_headers(SMFICTX *ctx, const struct msg *m, const char *token, const char *qid)
{
	ack_buf dnt;
	int rc;

	strip_tracking(ctx, m, qid);
	rc = mta_addheader(ctx, m->snap->cfg->tracking_header, token);
	if (rc != 0 || !(msg_flags(m) & ACK_MSG_MDN_ADDED))
		return rc;
	ack_buf_init(&dnt, 1024);
	rc = return_path(m, token, &dnt) == ACK_OK &&
	    strpbrk(dnt.data, "\r\n") == NULL ?
	    mta_addheader(ctx, "Disposition-Notification-To", dnt.data) : -1;
	ack_buf_free(&dnt);
	return rc;
}

enum verdict
outgoing_eom(SMFICTX *ctx, struct msg *m, const char *qid)
{
	char token[ACK_TOKEN_LEN + 1], why[512];
	int rc;

	if (m->skip_reason != NULL) {
		msg_expect(m, false);
		strip_tracking(ctx, m, qid);
		return untracked(m, qid, m->skip_reason);
	}
	if ((rc = ack_token_make(m->snap->keys, time(NULL), token)) != ACK_OK) {
		msg_expect(m, false);
		strip_tracking(ctx, m, qid);
		return untracked(m, qid, ack_strerror(rc));
	}
	rc = record(m, token, qid, why, sizeof why);
	msg_expect(m, false);
	if (rc != ACK_OK) {
		if (rc == ACK_ENOMEM)
			snprintf(why, sizeof why, "out of memory");
		strip_tracking(ctx, m, qid);
		return untracked(m, qid, why);
	}
	rc = request_sender(ctx, m, token);
	for (size_t i = 0; rc == 0 && i < m->nrcpt; i++)
		rc = request_rcpt(ctx, m, &m->rcpt[i], m->sendmail, qid);
	if (rc == 0)
		rc = request_headers(ctx, m, token, qid);
	if (rc != 0)
		log_err(qid, "token=%s: the MTA refused a change request; "
		    "receipts may not be requested", token);
	log_info(qid, "tracked token=%s recipients=%zu message-id=%s", token,
	    m->nrcpt, m->message_id ? m->message_id : "(none)");
	return VERDICT_CONTINUE;
}
