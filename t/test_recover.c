/*
 * test_recover.c - unit tests of token recovery (lib/recover.c):
 * ack_report_token() and ack_store_absorb() on reports parsed by the real
 * parser, with a real key file and an LMDB store in a temporary
 * directory.  Each source alone (the signed return address, the
 * Original-Envelope-Id, the Ack-Tracking-Id of the returned headers in
 * each of their three containers, an MDN's Original-Message-ID through
 * the Message-ID index); their order when two or more name known
 * messages; what a forged, foreign or unknown token does (nothing, and
 * no later source is tried); the same report twice (one event); plain
 * (non-standard) bounces: the only recipient of one naming no one,
 * recipients guessed from the returned To:, addresses that are none.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ackmilter.h"
#include "tap.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="
#define KEY_C "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc="
#define T1 "2026-11-26T06:07:44Z"
#define NOW INT64_C(1795673264) /* 2026-11-26T06:07:44Z */
#define RCPT "rcpt@dest.example"
#define RETURN_TMPL "bounces+%t@return.example"

typedef char token_t[ACK_TOKEN_LEN + 1];

static char topdir[256];
static ack_keys *keys;    /* key 1 = KEY_A: ours */
static ack_keys *other;   /* key 1 = KEY_C: someone else's key 1 */
static ack_keys *foreign; /* key 2 = KEY_B: a key id we do not hold */
static ack_store *store;
static ack_parser *parser;
static unsigned nmsg;

/* ---------------------------------------------------------------- set up */

/* A key file (mode 0600) holding one line, loaded. */
static ack_keys *
load_keys(const char *name, const char *line)
{
	char path[512], err[512] = "";
	ack_keys *k = NULL;
	int fd;

	snprintf(path, sizeof path, "%s/%s", topdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    close(fd) != 0) {
		printf("# cannot write %s\n", path);
		return NULL;
	}
	if (ack_keys_load(&k, path, err, sizeof err) != ACK_OK)
		printf("# %s\n", err);
	return k;
}

static bool
set_up(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], err[256] = "";

	snprintf(topdir, sizeof topdir, "%s/test_recover.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(topdir) == NULL)
		return false;
	keys = load_keys("keys", "1 " T1 " " KEY_A "\n");
	other = load_keys("other", "1 " T1 " " KEY_C "\n");
	foreign = load_keys("foreign", "2 " T1 " " KEY_B "\n");
	snprintf(dir, sizeof dir, "%s/db", topdir);
	if (ack_store_open(&store, dir, ACK_STORE_CREATE, 0, err, sizeof err) != ACK_OK)
		printf("# store: %s\n", err);
	if (ack_parser_new(&parser, 0) != ACK_OK)
		parser = NULL;
	return keys && other && foreign && store && parser;
}

/* A fresh token signed with k. */
static void
new_token(const ack_keys *k, token_t tok)
{
	if (ack_token_make(k, NOW, tok) != ACK_OK)
		memset(tok, 0, sizeof(token_t));
}

/* The queue id new_msg gives message n. */
static const char *
qid_of(unsigned n)
{
	static char qid[32];

	snprintf(qid, sizeof qid, "4RQ%uX", n);
	return qid;
}

/* Record a new message (one recipient, DSN and MDN pending): its token
 * into tok, its Message-ID "<mN@src.example>" into msgid. */
static void
new_msg(token_t tok, char msgid[64])
{
	ack_rcpt r = { .address = (char *)RCPT, .notify = ACK_NOTIFY_SUCCESS |
		ACK_NOTIFY_FAILURE | ACK_NOTIFY_DELAY, .dsn_state = ACK_DSN_PENDING,
		.mdn_state = ACK_MDN_PENDING };
	ack_msg m = { .sender = (char *)"alice@src.example", .submitted = NOW,
		.flags = ACK_MSG_MDN_REQ | ACK_MSG_RETURN_PATH };
	nmsg++;
	snprintf(msgid, 64, "<m%u@src.example>", nmsg);
	new_token(keys, tok);
	memcpy(m.token, tok, sizeof m.token);
	m.message_id = msgid;
	m.queue_id = (char *)qid_of(nmsg);
	if (ack_store_put(store, &m, &r, 1) != ACK_OK)
		printf("# put %s failed: %s\n", tok, ack_store_errmsg(store));
}

/* The DSN (dsn) or MDN state of the one recipient of message tok. */
static int
state_of(const char *tok, bool dsn)
{
	ack_record rec;
	int st = -1;

	if (ack_store_get(store, tok, &rec) != ACK_OK)
		return -2;
	if (rec.nrcpt == 1)
		st = dsn ? rec.rcpt[0].dsn_state : rec.rcpt[0].mdn_state;
	ack_record_free(&rec);
	return st;
}

static uint64_t
last_event(void)
{
	uint64_t seq = 0;

	if (ack_store_last_event(store, &seq) != ACK_OK)
		printf("# ack_store_last_event failed\n");
	return seq;
}

/* The token of the return address addr (as the milter gets it). */
static const char *
env_token(const char *tok, token_t out)
{
	char addr[128];

	/* upper case: an MTA may fold the local part */
	snprintf(addr, sizeof addr, "BOUNCES+%s@Return.Example", tok);
	for (char *p = addr + 8; *p != '@'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	return ack_return_path_match(RETURN_TMPL, addr, out) ? out : "(no match)";
}

/* A token like tok with its last character changed: its MAC fails. */
static void
forge(const char *tok, token_t out)
{
	memcpy(out, tok, sizeof(token_t));
	out[ACK_TOKEN_LEN - 1] = tok[ACK_TOKEN_LEN - 1] == 'a' ? 'b' : 'a';
}

/* ---------------------------------------------------------------- reports */

/* What a test report holds; NULL members are left out. */
typedef struct spec {
	bool mdn;
	const char *envid;     /* DSN: Original-Envelope-Id */
	const char *omid;      /* MDN: Original-Message-ID */
	const char *container; /* type of the returned part */
	const char *tracking;  /* its Ack-Tracking-Id */
	const char *ret_msgid; /* its Message-ID (default <orig@src.example>) */
	const char *decoy;     /* an Ack-Tracking-Id quoted in the text part */
	const char *track_name; /* the returned tracking header's name, if not
	                         * Ack-Tracking-Id */
} spec;

static int
add_returned(ack_buf *b, const spec *sp)
{
	int rc;

	if (sp->container == NULL)
		return ACK_OK;
	rc = ack_buf_printf(b, "--R\nContent-Type: %s\n\n"
	    "From: alice@src.example\nTo: " RCPT "\n"
	    "Message-ID: %s\nSubject: hello\n", sp->container,
	    sp->ret_msgid ? sp->ret_msgid : "<orig@src.example>");
	if (rc == ACK_OK && sp->tracking)
		rc = ack_buf_printf(b, "%s: %s\n", sp->track_name ? sp->track_name :
		    "Ack-Tracking-Id", sp->tracking);
	if (rc == ACK_OK && strcmp(sp->container, "message/rfc822") == 0)
		rc = ack_buf_adds(b, "\nThe original text.\n");
	return rc;
}

/* The report text of sp (LF line ends) into b. */
static int
build(ack_buf *b, const spec *sp)
{
	int rc;

	ack_buf_init(b, 0);
	if (!sp->mdn) {
		rc = ack_buf_printf(b, "From: MAILER-DAEMON@mx.dest.example\n"
		    "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
		    "Content-Type: multipart/report; report-type=delivery-status;\n"
		    "\tboundary=\"R\"\n\n--R\nContent-Type: text/plain\n\n"
		    "Your message could not be delivered.\n%s%s\n"
		    "--R\nContent-Type: message/delivery-status\n\n"
		    "Reporting-MTA: dns; mx.dest.example\n",
		    sp->decoy ? "Ack-Tracking-Id: " : "", sp->decoy ? sp->decoy : "");
		if (rc == ACK_OK && sp->envid)
			rc = ack_buf_printf(b, "Original-Envelope-Id: %s\n", sp->envid);
		if (rc == ACK_OK)
			rc = ack_buf_adds(b, "\nFinal-Recipient: rfc822; " RCPT "\n"
			    "Action: failed\nStatus: 5.1.1\n"
			    "Remote-MTA: dns; mx.dest.example\n"
			    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n");
	} else {
		rc = ack_buf_adds(b, "From: " RCPT "\nSubject: Read: hello\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: multipart/report;"
		    " report-type=disposition-notification;\n"
		    "\tboundary=\"R\"\n\n--R\nContent-Type: text/plain\n\n"
		    "Your message was displayed.\n\n"
		    "--R\nContent-Type: message/disposition-notification\n\n"
		    "Reporting-UA: mua.dest.example; Mailer 1.0\n"
		    "Final-Recipient: rfc822; " RCPT "\n");
		if (rc == ACK_OK && sp->omid)
			rc = ack_buf_printf(b, "Original-Message-ID: %s\n", sp->omid);
		if (rc == ACK_OK)
			rc = ack_buf_adds(b, "Disposition: manual-action/MDN-sent-manually;"
			    " displayed\n\n");
	}
	if (rc == ACK_OK)
		rc = add_returned(b, sp);
	if (rc == ACK_OK)
		rc = ack_buf_adds(b, "--R--\n");
	return rc;
}

/* Parse the report of sp; NULL when it does not parse. */
static const ack_report *
parse(const spec *sp)
{
	ack_buf b;
	int rc = build(&b, sp);

	if (rc == ACK_OK)
		rc = ack_parser_message(parser, b.data, b.len);
	ack_buf_free(&b);
	return rc == ACK_OK ? ack_parser_result(parser) : NULL;
}

/* The outcome of absorbing one report. */
typedef struct outcome {
	int rc;
	token_t token;
	const char *where; /* NULL: no source named */
	ack_apply_result res;
	uint64_t new_events;
} outcome;

static outcome
absorb(const spec *sp, const char *envelope)
{
	outcome o = { .rc = ACK_EINVAL };
	const ack_report *r = parse(sp);
	uint64_t before = last_event();

	if (r != NULL)
		o.rc = ack_store_absorb(store, keys, r, envelope, NOW, o.token, &o.where,
		    &o.res);
	o.new_events = last_event() - before;
	return o;
}

/* The source ack_report_token() names for sp (keys: ours), and its status. */
static int
source_of(const spec *sp, const char *envelope, const char **where, token_t tok)
{
	const ack_report *r = parse(sp);

	*where = NULL;
	return r ? ack_report_token(r, envelope, keys, tok, where) : ACK_EINVAL;
}

/* ---------------------------------------------------------------- alone */

/* A DSN whose token comes from one source: recorded, source named. */
static void
alone_dsn(const char *what, spec sp, bool by_return_path, const char *want_where)
{
	token_t tok, env, decoy;
	char msgid[64];
	outcome o;

	new_msg(tok, msgid);
	if (sp.envid)
		sp.envid = tok;
	/* a token quoted in the text before it: the container, not a scan of
	 * the body for the field, must give the token */
	new_token(keys, decoy);
	if (sp.tracking) {
		sp.tracking = tok;
		sp.decoy = decoy;
	}
	o = absorb(&sp, by_return_path ? env_token(tok, env) : NULL);
	is_int(o.rc, ACK_OK, "%s alone: recorded", what);
	is_str(o.where, want_where, "%s alone: found_by %s", what, want_where);
	is_str(o.token, tok, "%s alone: the message's token", what);
	is_int(state_of(tok, true), ACK_DSN_FAILED, "%s alone: recipient failed", what);
	ok(o.res.updated == 1 && o.res.events == 1 && o.new_events == 1,
	    "%s alone: one update, one event", what);
}

static void
test_alone(void)
{
	token_t tok, got;
	char msgid[64];
	const char *where;
	outcome o;

	alone_dsn("return path", (spec){ 0 }, true, "return-path");
	alone_dsn("ENVID", (spec){ .envid = "" }, false, "envid");
	alone_dsn("text/rfc822-headers", (spec){ .container = "text/rfc822-headers",
	    .tracking = "" }, false, "returned-header");
	alone_dsn("message/rfc822", (spec){ .container = "message/rfc822",
	    .tracking = "" }, false, "returned-header");
	alone_dsn("message/global-headers", (spec){ .container =
	    "message/global-headers", .tracking = "" }, false, "returned-header");

	new_msg(tok, msgid);
	o = absorb(&(spec){ .mdn = true, .omid = msgid }, NULL);
	is_int(o.rc, ACK_OK, "MDN Original-Message-ID alone: recorded");
	is_str(o.where, "message-id", "MDN alone: found_by message-id");
	is_str(o.token, tok, "MDN alone: the message's token");
	is_int(state_of(tok, false), ACK_MDN_DISPLAYED,
	    "MDN alone: recipient displayed");
	is_int(state_of(tok, true), ACK_DSN_PENDING, "MDN alone: DSN side untouched");
	ok(o.res.updated == 1 && o.new_events == 1, "MDN alone: one update, one event");
	is_int(source_of(&(spec){ .mdn = true, .omid = msgid }, NULL, &where, got),
	    ACK_ENOTFOUND, "MDN: ack_report_token alone does not use the Message-ID");

	/* without keys: the first candidate, unverified */
	new_token(other, tok);
	is_int(ack_report_token(parse(&(spec){ .envid = tok }), NULL, NULL, got, &where),
	    ACK_OK, "no keys: a candidate is found, unverified");
	ok(strcmp(got, tok) == 0 && where && strcmp(where, "envid") == 0,
	    "no keys: envid named");
}

/* Reports with no usable source: nothing recorded. */
static void
test_none(void)
{
	token_t tok;
	char msgid[64];
	uint64_t before;
	outcome o;

	new_msg(tok, msgid);
	before = last_event();
	o = absorb(&(spec){ .container = "text/rfc822-headers" }, NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where == NULL,
	    "DSN without any token: ACK_ENOTFOUND, no source");
	o = absorb(&(spec){ .container = "text/rfc822-headers", .ret_msgid = msgid },
	    NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where == NULL,
	    "DSN with a known Message-ID in its returned headers only: not matched");
	is_int(state_of(tok, true), ACK_DSN_PENDING, "... and the message is unchanged");
	o = absorb(&(spec){ .mdn = true, .omid = "<nobody@src.example>" }, NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where && strcmp(o.where, "message-id") == 0,
	    "MDN, unknown Original-Message-ID: ACK_ENOTFOUND, found_by message-id");
	/* the Message-ID index alone: not the queue id, nor a bare token */
	o = absorb(&(spec){ .mdn = true, .omid = qid_of(nmsg) }, NULL);
	ok(o.rc == ACK_ENOTFOUND, "MDN whose Original-Message-ID is a queue id: "
	    "not matched");
	o = absorb(&(spec){ .mdn = true, .omid = tok }, NULL);
	ok(o.rc == ACK_ENOTFOUND, "MDN whose Original-Message-ID is a bare token: "
	    "not matched");
	is_int(state_of(tok, false), ACK_MDN_PENDING, "... and the message is unchanged");
	is_int(last_event() - before, 0, "no events from reports without a known token");
}

/* ---------------------------------------------------------------- order */

/* Two sources naming known messages: the first in the order wins and
 * the message of the other is untouched.  In sp, "W" stands for the
 * winner's token and "L" for the other's (an MDN's omid: any text, for
 * the other's Message-ID); envelope: the winner is the return path. */
static void
order(const char *what, spec sp, bool envelope, const char *want_where,
    const char *next_where)
{
	token_t w, l, env, got;
	char wid[64], lid[64];
	const char *where;
	spec lower;
	outcome o;

	new_msg(w, wid);
	new_msg(l, lid);
	if (sp.envid)
		sp.envid = sp.envid[0] == 'W' ? w : l;
	if (sp.tracking)
		sp.tracking = sp.tracking[0] == 'W' ? w : l;
	if (sp.omid)
		sp.omid = lid;
	/* the other source is really there: without the winner, it is used */
	lower = sp;
	if (!envelope && strcmp(want_where, "envid") == 0)
		lower.envid = NULL;
	else if (!envelope)
		lower.tracking = NULL;
	if (strcmp(next_where, "message-id") == 0) {
		const ack_report *r = parse(&lower);

		ok(r && r->kind == ACK_KIND_MDN && r->original_message_id &&
		    strcmp(r->original_message_id, lid) == 0 && r->returned_token == NULL,
		    "%s: the MDN names the other message's Message-ID", what);
	} else {
		ok(source_of(&lower, NULL, &where, got) == ACK_OK && where &&
		    strcmp(where, next_where) == 0 && strcmp(got, l) == 0,
		    "%s: without the winner, %s names the other message", what,
		    next_where);
	}
	o = absorb(&sp, envelope ? env_token(w, env) : NULL);
	is_int(o.rc, ACK_OK, "%s: recorded", what);
	is_str(o.where, want_where, "%s: found_by %s", what, want_where);
	is_str(o.token, w, "%s: the winner's token", what);
	is_int(state_of(w, !sp.mdn), sp.mdn ? ACK_MDN_DISPLAYED : ACK_DSN_FAILED,
	    "%s: the winner updated", what);
	is_int(state_of(l, !sp.mdn), sp.mdn ? ACK_MDN_PENDING : ACK_DSN_PENDING,
	    "%s: the %s message untouched", what, next_where);
}

static void
test_order(void)
{
	order("return path over ENVID", (spec){ .envid = "L" }, true, "return-path",
	    "envid");
	order("return path over returned header", (spec){ .container =
	    "message/rfc822", .tracking = "L" }, true, "return-path", "returned-header");
	order("ENVID over returned header", (spec){ .envid = "W", .container =
	    "text/rfc822-headers", .tracking = "L" }, false, "envid", "returned-header");
	order("ENVID over message/global-headers", (spec){ .envid = "W", .container =
	    "message/global-headers", .tracking = "L" }, false, "envid",
	    "returned-header");
	order("returned header over MDN Message-ID", (spec){ .mdn = true, .omid = "L",
	    .container = "text/rfc822-headers", .tracking = "W" }, false,
	    "returned-header", "message-id");
	order("MDN: return path over Message-ID", (spec){ .mdn = true, .omid = "L" },
	    true, "return-path", "message-id");
}

/* ---------------------------------------------------------------- forged */

/* A higher source whose token fails (rc): nothing changes, and the
 * valid token of the next source is not used either. */
static void
stops(const char *what, spec sp, const char *bad_env, int want_rc,
    const char *want_where, const char *valid)
{
	token_t env;
	outcome o;

	o = absorb(&sp, bad_env ? env_token(bad_env, env) : NULL);
	is_int(o.rc, want_rc, "%s: %s", what, ack_strerror(want_rc));
	is_str(o.where, want_where, "%s: found_by %s", what, want_where);
	ok(o.new_events == 0 && o.res.updated == 0,
	    "%s: no event, no update", what);
	is_int(state_of(valid, !sp.mdn), sp.mdn ? ACK_MDN_PENDING : ACK_DSN_PENDING,
	    "%s: the next source's message untouched (no fall-through)", what);
}

static void
test_forged(void)
{
	token_t a, b, bad, mine, theirs, got;
	char ida[64], idb[64];
	const char *where;
	outcome o;

	new_msg(a, ida);
	new_msg(b, idb);
	forge(a, bad);
	new_token(other, theirs);
	new_token(foreign, mine);

	stops("forged return path, valid ENVID", (spec){ .envid = b }, bad, ACK_EMAC,
	    "return-path", b);
	stops("return path of a foreign key id, valid ENVID", (spec){ .envid = b }, mine,
	    ACK_ENOKEY, "return-path", b);
	stops("ENVID signed by another key 1, valid returned header", (spec){
	    .envid = theirs, .container = "text/rfc822-headers", .tracking = b },
	    NULL, ACK_EMAC, "envid", b);
	stops("forged returned header, valid MDN Message-ID", (spec){ .mdn = true,
	    .omid = idb, .container = "message/rfc822", .tracking = bad }, NULL,
	    ACK_EMAC, "returned-header", b);
	is_int(state_of(a, true), ACK_DSN_PENDING,
	    "the forged token's message untouched");
	is_int(ack_report_token(parse(&(spec){ .envid = bad }), NULL, NULL, got, &where),
	    ACK_OK, "forged ENVID without keys: found, unverified (ackctl parse)");

	/* a candidate without a token's syntax is skipped, not fatal */
	o = absorb(&(spec){ .envid = "not-a-token", .container = "message/rfc822",
	    .tracking = b }, "0000000000000000000000000000000000000000");
	is_int(o.rc, ACK_OK, "malformed return path and ENVID: skipped");
	is_str(o.where, "returned-header", "... found_by returned-header");
	is_int(state_of(b, true), ACK_DSN_FAILED, "... and that message updated");
	{
		char shorter[ACK_TOKEN_LEN];

		memcpy(shorter, a, ACK_TOKEN_LEN - 1);
		shorter[ACK_TOKEN_LEN - 1] = '\0';
		o = absorb(&(spec){ .envid = shorter, .container = "text/rfc822-headers",
		    .tracking = a }, NULL);
		ok(o.rc == ACK_OK && o.where && strcmp(o.where, "returned-header") == 0,
		    "39-character ENVID: skipped, returned header used");
	}
}

/* ---------------------------------------------------------------- unknown */

static void
test_unknown(void)
{
	token_t u, b, env;
	char idb[64];
	outcome o;

	new_token(keys, u); /* valid MAC, never recorded */
	new_msg(b, idb);
	o = absorb(&(spec){ 0 }, env_token(u, env));
	is_int(o.rc, ACK_ENOTFOUND, "valid unknown return path: ACK_ENOTFOUND");
	is_str(o.where, "return-path", "... found_by return-path");
	is_str(o.token, u, "... the token is told");
	is_int(o.new_events, 0, "... no event");
	o = absorb(&(spec){ .envid = u, .container = "text/rfc822-headers",
	    .tracking = b }, NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where && strcmp(o.where, "envid") == 0,
	    "valid unknown ENVID before a known returned header: ACK_ENOTFOUND");
	is_int(state_of(b, true), ACK_DSN_PENDING, "... the known message untouched");
	o = absorb(&(spec){ .mdn = true, .omid = idb, .container = "text/rfc822-headers",
	    .tracking = u }, NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where && strcmp(o.where, "returned-header") == 0,
	    "MDN: valid unknown returned token before a known Message-ID: ACK_ENOTFOUND");
	is_int(state_of(b, false), ACK_MDN_PENDING, "... the known message untouched");
	is_int(o.new_events, 0, "... no event");
}

/* ---------------------------------------------------------------- twice */

/* The same report twice, found through another source and with other
 * line ends the second time (the milter sees CRLF, ackctl ingest a
 * maildir file): one event.  (ack_store_apply's duplicate rule itself is
 * tested in test_store.c.) */
static void
test_twice(void)
{
	token_t tok, env;
	char msgid[64];
	spec sp;
	ack_buf b, crlf;
	outcome o;
	uint64_t before;
	int rc;

	new_msg(tok, msgid);
	sp = (spec){ .envid = tok, .container = "text/rfc822-headers", .tracking = tok };
	o = absorb(&sp, env_token(tok, env));
	ok(o.rc == ACK_OK && o.res.events == 1 && o.res.duplicate == 0,
	    "first time (return path): one event");
	rc = build(&b, &sp);
	ack_buf_init(&crlf, 0);
	for (size_t i = 0; i < b.len && rc == ACK_OK; i++)
		rc = b.data[i] == '\n' ? ack_buf_adds(&crlf, "\r\n") :
		    ack_buf_addc(&crlf, b.data[i]);
	ack_buf_free(&b);
	before = last_event();
	if (rc == ACK_OK)
		rc = ack_parser_message(parser, crlf.data, crlf.len);
	ack_buf_free(&crlf);
	if (rc == ACK_OK)
		rc = ack_store_absorb(store, keys, ack_parser_result(parser), NULL,
		    NOW + 60, o.token, &o.where, &o.res);
	is_int(rc, ACK_OK, "second time (ENVID, CRLF): ACK_OK");
	is_str(o.where, "envid", "second time: found_by envid");
	ok(o.res.duplicate == 1 && o.res.events == 0 && o.res.updated == 0,
	    "second time: a duplicate, no event, no update");
	is_int(last_event() - before, 0, "second time: the log did not grow");

	new_msg(tok, msgid);
	o = absorb(&(spec){ .mdn = true, .omid = msgid }, NULL);
	ok(o.rc == ACK_OK && o.res.events == 1, "MDN first time: one event");
	o = absorb(&(spec){ .mdn = true, .omid = msgid, .container =
	    "text/rfc822-headers", .tracking = tok }, NULL);
	ok(o.rc == ACK_OK && o.where && strcmp(o.where, "returned-header") == 0 &&
	    o.res.duplicate == 1 && o.new_events == 0,
	    "MDN again, found by its returned header: a duplicate");
}

/* ---------------------------------------------------------------- bounces */

/*
 * Non-standard bounces (kind bounce, with the pattern library) absorbed
 * through the signed return address: the only recipient of a bounce
 * naming no one, recipients guessed from the returned To:, and addresses
 * the text holds that are no recipient of the message.
 */

#define AOL_TEXT "Your mail to the following recipients could not be delivered because\n" \
	"they are not accepting mail from alice@src.example:\n\tscreenname\n\n"

/* A message to the n addresses to[], with DSN states st[]: token into tok. */
static void
new_msg_to(token_t tok, const char *const *to, const int *st, size_t n)
{
	ack_rcpt r[4] = { { 0 } };
	ack_msg m = { .sender = (char *)"alice@src.example", .submitted = NOW,
		.flags = ACK_MSG_RETURN_PATH };
	char msgid[64];

	snprintf(msgid, sizeof msgid, "<b%u@src.example>", ++nmsg);
	new_token(keys, tok);
	memcpy(m.token, tok, sizeof m.token);
	m.message_id = msgid;
	for (size_t i = 0; i < n && i < 4; i++) {
		r[i].address = (char *)to[i];
		r[i].notify = ACK_NOTIFY_FAILURE;
		r[i].dsn_state = st[i];
	}
	if (ack_store_put(store, &m, r, n) != ACK_OK)
		printf("# put %s failed: %s\n", tok, ack_store_errmsg(store));
}

/* The DSN state of addr in message tok (-1: not a recipient), its status
 * into status (when given); the number of recipients into *n. */
static int
rcpt_state(const char *tok, const char *addr, const char **status, size_t *n)
{
	static char st[16];
	ack_record rec;
	int state = -1;

	*n = 0;
	if (ack_store_get(store, tok, &rec) != ACK_OK)
		return -2;
	*n = rec.nrcpt;
	for (size_t i = 0; i < rec.nrcpt; i++) {
		if (strcmp(rec.rcpt[i].address, addr) != 0)
			continue;
		state = rec.rcpt[i].dsn_state;
		snprintf(st, sizeof st, "%s", rec.rcpt[i].dsn_status ?
		    rec.rcpt[i].dsn_status : "(none)");
	}
	if (status)
		*status = st;
	ack_record_free(&rec);
	return state;
}

/* The bounce events of a message: their recipients ("-": none) and
 * actions, "rcpt=action" joined by spaces. */
struct bounce_events {
	char s[512];
};

static int
bounce_event(const ack_event *e, void *arg)
{
	struct bounce_events *b = arg;
	size_t n = strlen(b->s);

	if (strcmp(e->kind, "bounce") == 0)
		snprintf(b->s + n, sizeof b->s - n, "%s%s=%s", n ? " " : "",
		    e->recipient ? e->recipient : "-", e->action ? e->action : "-");
	return 0;
}

static const char *
bounce_events(const char *tok)
{
	static struct bounce_events b;

	b.s[0] = '\0';
	if (ack_store_message_events(store, tok, bounce_event, &b) != ACK_OK)
		return "(events failed)";
	return b.s;
}

/* A plain bounce to the return address of tok: text, then (returned_to
 * given) the returned message with that To:.  Absorbed by its envelope. */
static outcome
absorb_bounce(const char *tok, const char *text, const char *returned_to)
{
	outcome o = { .rc = ACK_EINVAL };
	token_t env;
	ack_buf b;
	int rc;

	ack_buf_init(&b, 0);
	rc = ack_buf_printf(&b, "From: Mail Delivery Subsystem <MAILER-DAEMON@aol.com>\n"
	    "To: bounces+%s@return.example\nSubject: Mail Delivery Problem\n", tok);
	if (rc == ACK_OK && returned_to == NULL)
		rc = ack_buf_printf(&b, "\n%s", text);
	else if (rc == ACK_OK)
		rc = ack_buf_printf(&b, "MIME-Version: 1.0\n"
		    "Content-Type: multipart/mixed; boundary=\"B\"\n\n"
		    "--B\nContent-Type: text/plain\n\n%s\n"
		    "--B\nContent-Type: message/rfc822\n\n"
		    "From: alice@src.example\nTo: %s\nSubject: hello\n\nHello.\n\n--B--\n",
		    text, returned_to);
	if (rc == ACK_OK)
		rc = ack_parser_message(parser, b.data, b.len);
	ack_buf_free(&b);
	if (rc == ACK_OK && ack_parser_result(parser)->kind != ACK_KIND_BOUNCE)
		printf("# not parsed as a bounce\n");
	if (rc == ACK_OK)
		o.rc = ack_store_absorb(store, keys, ack_parser_result(parser),
		    env_token(tok, env), NOW, o.token, &o.where, &o.res);
	return o;
}

/* A bounce naming no recipient: the message's only one, else an event. */
static void
test_bounce_unnamed(void)
{
	static const char *const one[] = { RCPT }, *const two[] = { "a@dest.example",
		"b@dest.example" };
	static const int pend[] = { ACK_DSN_PENDING, ACK_DSN_PENDING },
		done[] = { ACK_DSN_DELIVERED };
	const char *st = NULL;
	token_t tok;
	outcome o;
	size_t n;

	new_msg_to(tok, one, pend, 1);
	o = absorb_bounce(tok, AOL_TEXT, NULL);
	ok(o.rc == ACK_OK && o.res.updated == 1 && o.res.added == 0,
	    "unnamed bounce, 1 recipient: it is updated");
	is_int(rcpt_state(tok, RCPT, &st, &n), ACK_DSN_FAILED,
	    "unnamed bounce, 1 recipient: failed");
	is_str(st, "5.0.0", "unnamed bounce, 1 recipient: the text's status");
	is_str(bounce_events(tok), RCPT "=failed", "unnamed bounce: its event");

	new_msg_to(tok, two, pend, 2);
	o = absorb_bounce(tok, AOL_TEXT, NULL);
	ok(o.rc == ACK_OK && o.res.updated == 0 && o.res.events == 1,
	    "unnamed bounce, 2 recipients: an event only");
	ok(rcpt_state(tok, two[0], NULL, &n) == ACK_DSN_PENDING && n == 2 &&
	    rcpt_state(tok, two[1], NULL, &n) == ACK_DSN_PENDING,
	    "unnamed bounce, 2 recipients: both still pending");
	is_str(bounce_events(tok), "-=failed",
	    "unnamed bounce, 2 recipients: a message-level failed event");

	new_msg_to(tok, one, done, 1);
	o = absorb_bounce(tok, AOL_TEXT, NULL);
	ok(o.rc == ACK_OK && o.res.updated == 0 && o.res.events == 1 &&
	    rcpt_state(tok, RCPT, NULL, &n) == ACK_DSN_DELIVERED,
	    "unnamed bounce, recipient delivered: stays delivered");
}

/* Recipients guessed from the returned To:: only a known, open one. */
static void
test_bounce_guessed(void)
{
	static const char *const ef[] = { "erin@dest.example", "frank@dest.example" },
		*const one[] = { RCPT };
	static const int mixed[] = { ACK_DSN_PENDING, ACK_DSN_DELIVERED },
		pend[] = { ACK_DSN_PENDING, ACK_DSN_PENDING },
		relayed[] = { ACK_DSN_RELAYED };
	const char *st = NULL;
	token_t tok;
	outcome o;
	size_t n;

	new_msg_to(tok, ef, mixed, 2);
	o = absorb_bounce(tok, AOL_TEXT, "erin@dest.example, frank@dest.example");
	ok(o.rc == ACK_OK && o.res.updated == 1 && o.res.added == 0 &&
	    o.res.events == 2, "To: erin, frank (delivered): one update, two events");
	is_int(rcpt_state(tok, ef[0], &st, &n), ACK_DSN_FAILED, "erin failed");
	is_str(st, "5.0.0", "erin: the text's status");
	is_int(rcpt_state(tok, ef[1], &st, &n), ACK_DSN_DELIVERED,
	    "frank stays delivered");
	is_str(st, "(none)", "frank: no status set");

	new_msg_to(tok, ef, pend, 2);
	o = absorb_bounce(tok, AOL_TEXT, "erin@dest.example, frank@dest.example");
	ok(o.rc == ACK_OK && o.res.updated == 0 && o.res.events == 2,
	    "To: erin, frank, both pending: no guess, two events");
	ok(rcpt_state(tok, ef[0], NULL, &n) == ACK_DSN_PENDING &&
	    rcpt_state(tok, ef[1], NULL, &n) == ACK_DSN_PENDING,
	    "both still pending");

	new_msg_to(tok, one, pend, 1);
	o = absorb_bounce(tok, AOL_TEXT, "list@lists.example, other@else.example");
	ok(o.rc == ACK_OK && o.res.updated == 1 && o.res.added == 0,
	    "To: names other addresses, 1 recipient: it is updated, none added");
	ok(rcpt_state(tok, RCPT, NULL, &n) == ACK_DSN_FAILED && n == 1,
	    "the only recipient failed, still 1 recipient");

	new_msg_to(tok, one, relayed, 1);
	o = absorb_bounce(tok, AOL_TEXT, RCPT);
	ok(o.rc == ACK_OK && rcpt_state(tok, RCPT, NULL, &n) == ACK_DSN_FAILED,
	    "To: a relayed recipient: a bounce after the relay fails it");
}

/* An address in the text that is no recipient (a help desk): not added,
 * but kept in the event. */
static void
test_bounce_phantom(void)
{
	static const char *const one[] = { RCPT };
	static const int pend[] = { ACK_DSN_PENDING };
	token_t tok;
	outcome o;
	size_t n;

	new_msg_to(tok, one, pend, 1);
	o = absorb_bounce(tok, "Your mail to the following recipients could not be "
	    "delivered because\nthey are not accepting mail from alice@src.example:\n\n"
	    "    " RCPT "\n\nIf you need help, write to our help desk:\n\n"
	    "    helpdesk@example.net\n", NULL);
	ok(o.rc == ACK_OK && o.res.added == 0 && o.res.updated == 1 &&
	    o.res.events == 2, "help desk address: none added, two events");
	ok(rcpt_state(tok, RCPT, NULL, &n) == ACK_DSN_FAILED && n == 1,
	    "the recipient failed, still 1 recipient");
	is_int(rcpt_state(tok, "helpdesk@example.net", NULL, &n), -1,
	    "the help desk is no recipient");
	is_str(bounce_events(tok), RCPT "=failed helpdesk@example.net=failed",
	    "the help desk address is kept in its event");
}

static void
test_bounces(void)
{
	const char *src = getenv("ACK_SRCDIR");
	char dir[4096], err[512] = "";
	ack_patterns *pt = NULL;

	snprintf(dir, sizeof dir, "%s/patterns", src ? src : "..");
	if (ack_patterns_load(&pt, dir, err, sizeof err) != ACK_OK) {
		ok(0, "patterns from %s: %s", dir, err);
		return;
	}
	ack_parser_set_patterns(parser, pt);
	test_bounce_unnamed();
	test_bounce_guessed();
	test_bounce_phantom();
	ack_parser_set_patterns(parser, NULL);
	ack_patterns_free(pt);
}

/* ---------------------------------------------------------------- main */

/* TrackingHeader: the returned headers are searched for the name set. */
static void
test_tracking_header(void)
{
	token_t tok;
	char msgid[64];
	spec sp = { .container = "text/rfc822-headers", .track_name = "X-Track-7" };
	outcome o;

	new_msg(tok, msgid);
	sp.tracking = tok;
	o = absorb(&sp, NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where == NULL,
	    "X-Track-7 in the returned headers, default name: not found");
	is_int(ack_parser_set_tracking_header(parser, "X-Track-7"), ACK_OK,
	    "tracking header X-Track-7 set");
	o = absorb(&sp, NULL);
	is_int(o.rc, ACK_OK, "X-Track-7 set: recorded");
	is_str(o.where, "returned-header", "X-Track-7 set: found_by returned-header");
	is_int(state_of(tok, true), ACK_DSN_FAILED, "X-Track-7 set: recipient failed");
	new_msg(tok, msgid);
	o = absorb(&(spec){ .container = "text/rfc822-headers", .tracking = tok }, NULL);
	ok(o.rc == ACK_ENOTFOUND && o.where == NULL,
	    "X-Track-7 set: Ack-Tracking-Id is not looked for");
	is_int(ack_parser_set_tracking_header(parser, "X_Track"), ACK_EINVAL,
	    "tracking header X_Track refused");
	is_int(ack_parser_set_tracking_header(parser, ""), ACK_EINVAL,
	    "empty tracking header refused");
	is_int(ack_parser_set_tracking_header(parser, "7-Track"), ACK_EINVAL,
	    "tracking header 7-Track refused (as TrackingHeader is)");
	is_int(ack_parser_set_tracking_header(parser, "Ack-Tracking-Id"), ACK_OK,
	    "tracking header back to Ack-Tracking-Id");
	o = absorb(&(spec){ .container = "text/rfc822-headers", .tracking = tok }, NULL);
	is_int(o.rc, ACK_OK, "Ack-Tracking-Id again: recorded");
}

/* An auto-reply (the pattern library tells it) names the message it
 * answers in In-Reply-To: matched through the Message-ID index, an event
 * only.  Needs ACK_SRCDIR for the patterns. */
static void
test_autoreply(void)
{
	const char *src = getenv("ACK_SRCDIR");
	char dir[512], err[256] = "", msgid[64], text[1024];
	ack_patterns *pt = NULL;
	ack_parser *ap = NULL;
	const ack_report *r;
	uint64_t before;
	token_t tok, got;
	const char *where = NULL;
	ack_apply_result res = { 0 };
	int rc;

	if (src == NULL) {
		ok(1, "# SKIP auto-reply by In-Reply-To: ACK_SRCDIR is not set");
		return;
	}
	snprintf(dir, sizeof dir, "%s/patterns", src);
	if (ack_patterns_load(&pt, dir, err, sizeof err) != ACK_OK ||
	    ack_parser_new(&ap, 0) != ACK_OK) {
		ok(0, "patterns and parser for auto-replies (%s)", err);
		ack_patterns_free(pt);
		return;
	}
	ack_parser_set_patterns(ap, pt);
	new_msg(tok, msgid);
	snprintf(text, sizeof text, "From: " RCPT "\nTo: alice@src.example\n"
	    "Subject: Out of office\nAuto-Submitted: auto-replied\n"
	    "In-Reply-To: %s (alice's message)\n\nI am away.\n", msgid);
	r = ack_parser_message(ap, text, strlen(text)) == ACK_OK ?
	    ack_parser_result(ap) : NULL;
	ok(r != NULL && r->kind == ACK_KIND_AUTOREPLY, "auto-reply recognised");
	is_str(r ? r->original_message_id : NULL, msgid,
	    "its In-Reply-To is kept as the original Message-ID");
	before = last_event();
	rc = r ? ack_store_absorb(store, keys, r, NULL, NOW, got, &where, &res) :
	    ACK_EINVAL;
	is_int(rc, ACK_OK, "auto-reply matched by In-Reply-To");
	is_str(where, "message-id", "auto-reply: found_by message-id");
	is_str(got, tok, "auto-reply: the message's token");
	is_int(last_event() - before, 1, "auto-reply: one event");
	is_int(state_of(tok, true), ACK_DSN_PENDING, "auto-reply: DSN state unchanged");
	snprintf(text, sizeof text, "From: " RCPT "\nSubject: Out of office\n"
	    "Auto-Submitted: auto-replied\nIn-Reply-To: <other@src.example>\n\n"
	    "I am away.\n");
	r = ack_parser_message(ap, text, strlen(text)) == ACK_OK ?
	    ack_parser_result(ap) : NULL;
	rc = r ? ack_store_absorb(store, keys, r, NULL, NOW, got, &where, &res) :
	    ACK_EINVAL;
	is_int(rc, ACK_ENOTFOUND, "auto-reply to an unknown Message-ID: not matched");
	ack_parser_free(ap);
	ack_patterns_free(pt);
}

int
main(void)
{
	if (!set_up()) {
		printf("Bail out! set up in %s\n", topdir);
		return 99;
	}
	test_alone();
	test_none();
	test_order();
	test_forged();
	test_unknown();
	test_twice();
	test_tracking_header();
	test_autoreply();
	test_bounces();
	ack_parser_free(parser);
	ack_store_close(store);
	ack_keys_free(keys);
	ack_keys_free(other);
	ack_keys_free(foreign);
	tap_rm_tree(topdir);
	return tap_done();
}
