/*
 * ackmilter.c - the milter callbacks, one per stage.  They collect what
 * the message says about itself (sender, recipients, a few headers) and
 * leave the decisions to outgoing.c at end of message.  Stages that are
 * not needed are switched off at negotiation and answered only where a
 * decision can be made; the body is skipped, and inbound mail that is
 * not a possible report is accepted at its first body chunk.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libmilter/mfapi.h>

#include "log.h"
#include "milter.h"
#include "mta.h"

/* What we ask of the MTA, and what we can do without. */
#define WANT_ACTIONS (SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT | \
    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)
#define WANT_PROTO (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | \
    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH)

static struct conn *
conn_of(SMFICTX *ctx)
{
	atomic_fetch_add_explicit(&ackd.calls, 1, memory_order_relaxed);
	return smfi_getpriv(ctx);
}

/* SMFIS_CONTINUE, or no reply at all when the MTA agreed to that. */
static sfsistat
next(struct conn *c, unsigned long noreply_flag)
{
	return c != NULL && (c->pflags & noreply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return SMFIS_REJECT; /* aborts this connection only; MTA applies its default */
	*pf0 = f0 & WANT_ACTIONS;
	*pf1 = f1 & (mta_inet ? WANT_PROTO & ~SMFIP_NODATA : WANT_PROTO);
	*pf2 = *pf3 = 0;
	c->pflags = *pf1;
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

static bool
in_list(const ack_strlist *l, const char *word)
{
	for (size_t i = 0; word != NULL && i < l->n; i++)
		if (strcasecmp(l->v[i], word) == 0)
			return true;
	return false;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL) { /* an old MTA that skipped negotiation */
		if ((c = calloc(1, sizeof *c)) == NULL)
			return SMFIS_ACCEPT;
		smfi_setpriv(ctx, c);
	}
	if (sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		memcpy(&c->addr, sa, sa->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		c->have_addr = true;
	}
	if (c->snap == NULL)
		c->snap = snap_get();
	c->submission = in_list(&c->snap->cfg->submission_daemons,
	    mta_macro(ctx, "{daemon_name}"));
	/* Only the connect macros exist now: libmilter can misread a later
	 * stage's list when the MTA sent a value with a NUL in it. */
	c->sendmail = mta_is_sendmail(ctx);
	return next(c, SMFIP_NR_CONN);
}

/* "<a@b>" -> "a@b" (a copy). */
static char *
strip_brackets(const char *s)
{
	size_t n;

	while (*s == ' ')
		s++;
	if (*s == '<')
		s++;
	n = strcspn(s, ">");
	return strndup(s, n);
}

/* The value of ESMTP parameter `key` in argv (e.g. "RET"), or NULL. */
static const char *
esmtp_arg(char **argv, const char *key)
{
	size_t k = strlen(key);

	for (int i = 1; argv[i] != NULL; i++)
		if (strncasecmp(argv[i], key, k) == 0 && argv[i][k] == '=')
			return argv[i] + k + 1;
	return NULL;
}

static bool
is_outgoing(SMFICTX *ctx, struct conn *c, struct msg *m, const char *sender)
{
	if (*sender == '\0')
		return false; /* bounces are never tagged */
	m->auth = c->snap->cfg->authenticated_outgoing &&
	    mta_macro(ctx, "{auth_authen}") != NULL;
	return c->submission || m->auth ||
	    (c->have_addr && ack_config_internal(c->snap->cfg, &c->addr));
}

/* Replace the connection's message (m counted by may_start); ackd.busy
 * counts the live ones: a stopping daemon waits for them before it closes
 * the store. */
static void
set_msg(struct conn *c, struct msg *m)
{
	if (c->msg != NULL) {
		msg_free(c->msg);
		atomic_fetch_sub(&ackd.busy, 1);
	}
	c->msg = m;
}

/* A message may start unless the daemon is stopping (counted first, then
 * checked: the stopping side sets the flag, then waits for busy 0). */
static bool
may_start(void)
{
	atomic_fetch_add(&ackd.busy, 1);
	if (!atomic_load(&ackd.stopping))
		return true;
	atomic_fetch_sub(&ackd.busy, 1);
	return false;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct msg *m;
	const char *ret;
	char *sender;

	set_msg(c, NULL);
	if ((m = calloc(1, sizeof *m)) == NULL || !may_start()) {
		free(m);
		return next(c, SMFIP_NR_MAIL); /* no context: eom passes it on */
	}
	set_msg(c, m);
	if (c->snap == NULL)
		c->snap = snap_get();
	m->snap = c->snap;
	m->sendmail = c->sendmail;
	if ((m->sender_arg = strdup(argv[0])) == NULL ||
	    (sender = strip_brackets(argv[0])) == NULL) {
		m->skip_reason = "out of memory";
		return next(c, SMFIP_NR_MAIL);
	}
	ret = esmtp_arg(argv, "RET");
	m->ret = ret == NULL ? -1 : strcasecmp(ret, "FULL") == 0 ? 1 : 0;
	m->null_sender = *sender == '\0';
	m->outgoing = is_outgoing(ctx, c, m, sender);
	free(sender);
	if (m->outgoing)
		msg_expect(m, true);
	if (!m->outgoing && c->parser != NULL)
		ack_parser_reset(c->parser);
	return next(c, SMFIP_NR_MAIL);
}

/*
 * A client's ORCPT is kept only when it is "addr-type;xtext" of printable
 * ASCII that decodes: anything else would carry its bytes into our
 * request to the MTA, so our own ORCPT is used instead.
 */
static bool
orcpt_valid(const char *v)
{
	const char *semi = v ? strchr(v, ';') : NULL;
	ack_buf b;
	bool ok;

	if (semi == NULL || semi == v)
		return false;
	for (const char *p = v; *p; p++)
		if (*p < '!' || *p > '~' || *p == '=')
			return false;
	ack_buf_init(&b, 0);
	ok = ack_xtext_decode(&b, semi + 1, strlen(semi + 1)) == ACK_OK;
	ack_buf_free(&b);
	return ok;
}

static int
rcpt_add(SMFICTX *ctx, struct msg *m, char **argv)
{
	struct rcpt *r;

	if (m->nrcpt == m->rcpt_size) {
		size_t size = m->rcpt_size ? m->rcpt_size * 2 : 4;
		struct rcpt *v = reallocarray(m->rcpt, size, sizeof *v);

		if (v == NULL)
			return -1;
		m->rcpt = v;
		m->rcpt_size = size;
	}
	r = &m->rcpt[m->nrcpt];
	memset(r, 0, sizeof *r);
	r->arg = strdup(argv[0]);
	r->addr = strip_brackets(argv[0]);
	if (esmtp_arg(argv, "NOTIFY") != NULL)
		r->notify = strdup(esmtp_arg(argv, "NOTIFY"));
	if (orcpt_valid(esmtp_arg(argv, "ORCPT")))
		r->orcpt = strdup(esmtp_arg(argv, "ORCPT"));
	if (m->sendmail) {
		const char *mailer = mta_macro(ctx, "{rcpt_mailer}");

		r->local = mailer == NULL || strcmp(mailer, "local") == 0;
	}
	m->nrcpt++;
	return r->arg != NULL && r->addr != NULL ? 0 : -1;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct msg *m = c->msg;

	if (m == NULL || m->skip_reason != NULL)
		return next(c, SMFIP_NR_RCPT);
	if (!m->outgoing) {
		char *addr = strip_brackets(argv[0]);

		if (addr != NULL)
			inbound_rcpt(m, addr);
		free(addr);
		return next(c, SMFIP_NR_RCPT);
	}
	if (m->nrcpt >= MAX_RCPT)
		m->skip_reason = "too many recipients";
	else if (rcpt_add(ctx, m, argv) != 0)
		m->skip_reason = "out of memory";
	return next(c, SMFIP_NR_RCPT);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);
	struct msg *m = c->msg;

	if (m == NULL)
		return next(c, SMFIP_NR_HDR);
	if (strcasecmp(name, c->snap->cfg->tracking_header) == 0)
		m->track_headers++;
	else if (strcasecmp(name, "Disposition-Notification-To") == 0)
		m->has_dnt = true;
	else if (m->message_id == NULL && strcasecmp(name, "Message-ID") == 0) {
		while (*value == ' ' || *value == '\t')
			value++;
		m->message_id = strndup(value, strnlen(value, MAX_FIELD));
	}
	if (!m->outgoing)
		inbound_header(c, name, value);
	return next(c, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c->msg != NULL && !c->msg->outgoing)
		inbound_eoh(c);
	return next(c, SMFIP_NR_EOH);
}

/* Asked for over TCP only (see mta_inet): the reply carries the ACK. */
static sfsistat
cb_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* Done with the message: accepted early, end of message, abort or close. */
static void
drop_msg(struct conn *c)
{
	set_msg(c, NULL);
}

/*
 * Only a possible report needs its body.  Inbound mail that is not one
 * and carries no tracking header to remove is done with: ACCEPT, so the
 * MTA sends neither the rest of the body nor end of message.  Outgoing
 * mail skips the body and is handled at end of message.
 */
static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_of(ctx);
	struct msg *m = c->msg;

	if (m != NULL && m->report) {
		inbound_body(c, chunk, len);
		return SMFIS_CONTINUE;
	}
	if (m != NULL && !m->outgoing && m->track_headers == 0) {
		drop_msg(c);
		return SMFIS_ACCEPT;
	}
	return c->pflags & SMFIP_SKIP ? SMFIS_SKIP : SMFIS_CONTINUE;
}

/* The MTA's reply to end of message for what was decided (milter.h). */
static sfsistat
reply_of(enum verdict v)
{
	switch (v) {
	case VERDICT_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case VERDICT_DISCARD:
		return SMFIS_DISCARD;
	case VERDICT_CONTINUE:
		break;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	const char *qid = mta_macro(ctx, "i");
	enum verdict v;

	if (c->msg == NULL)
		return SMFIS_CONTINUE;
	v = c->msg->outgoing ? outgoing_eom(ctx, c->msg, qid) :
	    inbound_eom(ctx, c, qid);
	drop_msg(c);
	return reply_of(v);
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL)
		drop_msg(c);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL) {
		drop_msg(c);
		ack_parser_free(c->parser);
		if (c->snap != NULL)
			snap_put(c->snap);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc ack_milter_desc = {
	.xxfi_name = (char *)"ackmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = WANT_ACTIONS,
	.xxfi_connect = cb_connect,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_data = cb_data,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};
