/*
 * store_apply.c - applying a parsed report to a message of the receipt
 * store: recipient matching, DSN and MDN state, duplicate detection by
 * block digest ("seen"), and one event per new block.
 *
 * A non-standard bounce is weaker evidence than a DSN: it never adds a
 * recipient (its text may hold any address: a signature, a help desk),
 * and a recipient it only infers (guessed from the returned message's
 * To:, or the message's only recipient when it names no one) is updated
 * only while the network has not settled it (state_open).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "internal.h"
#include "store.h"

#define DIGEST_LEN SEEN_KEY_LEN

struct slot {
	ack_rcpt r;
	bool dirty;
};

struct apply_arg {
	char token[ACK_TOKEN_LEN + 1];
	const ack_report *rep;
	int64_t now;
	ack_apply_result *res;
	struct slot *v;
	size_t n, cap;
	const ack_report_rcpt *guess_block; /* the one guessed block applied */
	size_t guess_slot;                  /* ... to this slot */
	uint64_t seq;
	ack_buf buf;
};

static void
slots_free(struct apply_arg *a)
{
	for (size_t i = 0; i < a->n; i++)
		ack_rcpt_clear(&a->v[i].r);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static struct slot *
slot_new(struct apply_arg *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct slot *p = realloc(a->v, cap * sizeof *p);

		if (p == NULL)
			return NULL;
		a->v = p;
		a->cap = cap;
	}
	memset(&a->v[a->n], 0, sizeof a->v[a->n]);
	return &a->v[a->n++];
}

/* Read the message's recipients into the slots. */
static int
slots_load(ack_store *s, MDB_txn *txn, struct apply_arg *a)
{
	ack_record rec = { .msg = { .submitted = 0 } };
	int rc;

	memcpy(rec.msg.token, a->token, sizeof rec.msg.token);
	if ((rc = ack__load_rcpts(s, txn, &rec)) != ACK_OK) {
		ack_record_free(&rec);
		return rc;
	}
	for (size_t i = 0; i < rec.nrcpt; i++) {
		struct slot *sl = slot_new(a);

		if (sl == NULL) {
			ack_record_free(&rec);
			return ACK_ENOMEM;
		}
		sl->r = rec.rcpt[i];
		memset(&rec.rcpt[i], 0, sizeof rec.rcpt[i]);
	}
	ack_record_free(&rec);
	return ACK_OK;
}

static void
hash_str(crypto_generichash_state *st, const char *v, bool fold)
{
	unsigned char len[4], chunk[256];
	size_t n = v ? strlen(v) : 0;
	uint32_t l = n > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)n;

	if (v == NULL)
		l = UINT32_MAX; /* absent, distinct from empty */
	len[0] = (unsigned char)(l >> 24);
	len[1] = (unsigned char)(l >> 16);
	len[2] = (unsigned char)(l >> 8);
	len[3] = (unsigned char)l;
	crypto_generichash_update(st, len, sizeof len);
	for (size_t i = 0; v && i < l; i += sizeof chunk) {
		size_t m = l - i < sizeof chunk ? l - i : sizeof chunk;

		for (size_t j = 0; j < m; j++)
			chunk[j] = (unsigned char)(fold ? lc(v[i + j]) : v[i + j]);
		crypto_generichash_update(st, chunk, m);
	}
}

/* The identity of one report block (b NULL: the message-level block). */
static void
block_digest(const struct apply_arg *a, const ack_report_rcpt *b,
    unsigned char *out)
{
	static const ack_report_rcpt none;
	const ack_report *r = a->rep;
	crypto_generichash_state st;

	if (b == NULL)
		b = &none;
	crypto_generichash_init(&st, NULL, 0, DIGEST_LEN);
	hash_str(&st, a->token, false);
	hash_str(&st, ack_report_kind_name(r->kind), false);
	hash_str(&st, b->final_recipient, true);
	hash_str(&st, b->action, false);
	hash_str(&st, b->status, false);
	hash_str(&st, b->diagnostic, false);
	hash_str(&st, b->remote_mta, false);
	hash_str(&st, b->disposition, false);
	hash_str(&st, r->original_envelope_id, false);
	hash_str(&st, r->arrival_date, false);
	hash_str(&st, b->last_attempt, false);
	hash_str(&st, r->reporting_mta, false);
	crypto_generichash_final(&st, out, DIGEST_LEN);
}

/* ACK_OK when new (and now recorded, with the time: purge drops it once
 * its message is gone), ACK_EEXIST when seen before. */
static int
seen_mark(ack_store *s, MDB_txn *txn, const unsigned char *digest, int64_t now)
{
	unsigned char when[8];

	be64_put(when, (uint64_t)now);
	return ack__put_raw(s, txn, s->seen, digest, DIGEST_LEN, when, sizeof when,
	    MDB_NOOVERWRITE);
}

/* The address in an ORCPT value "rfc822;addr", or NULL. */
static const char *
orcpt_addr(const char *orcpt)
{
	if (orcpt == NULL || ack__strncasecmp(orcpt, "rfc822;", 7) != 0)
		return NULL;
	orcpt += 7;
	while (*orcpt == ' ' || *orcpt == '\t')
		orcpt++;
	return orcpt;
}

static bool
addr_eq(const char *a, const char *b)
{
	return a && b && ack__strcasecmp(a, b) == 0;
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The block's address, NULL when it names none. */
static const char *
block_addr(const ack_report_rcpt *b)
{
	if (b->final_recipient && b->final_recipient[0])
		return b->final_recipient;
	if (b->original_recipient && b->original_recipient[0])
		return b->original_recipient;
	return NULL;
}

/*
 * May a recipient the report only infers be updated?  Yes while there is
 * no final word on it: no DSN word yet, pending, delayed, or relayed (a
 * relay to a host that sends no DSNs is exactly where a later plain
 * bounce comes from).  Never over delivered, expanded or failed.
 */
static bool
state_open(const ack_rcpt *r)
{
	return !ack_dsn_state_final(r->dsn_state) || r->dsn_state == ACK_DSN_RELAYED;
}

static struct slot *
slot_find(struct apply_arg *a, const ack_report_rcpt *b)
{
	for (size_t i = 0; i < a->n; i++) {
		const char *x = a->v[i].r.address, *o = orcpt_addr(a->v[i].r.orcpt);

		if (addr_eq(x, b->final_recipient) || addr_eq(x, b->original_recipient) ||
		    addr_eq(o, b->final_recipient) || addr_eq(o, b->original_recipient))
			return &a->v[i];
	}
	return NULL;
}

/*
 * Guessed blocks (the returned message's To:) name who the message was
 * for, not who failed: only a guess that singles out one open recipient
 * is applied.  Several open ones: none (do not guess).  None of the
 * guessed addresses known: the message's only recipient, if open (the
 * To: need not be the envelope: Bcc, lists).
 */
static void
pick_guess(struct apply_arg *a)
{
	const ack_report *r = a->rep;
	const ack_report_rcpt *first = NULL;
	size_t hits = 0;

	a->guess_block = NULL;
	for (size_t i = 0; i < r->nrcpt; i++) {
		struct slot *sl;

		if (!r->rcpt[i].guessed)
			continue;
		if (first == NULL)
			first = &r->rcpt[i];
		if ((sl = slot_find(a, &r->rcpt[i])) != NULL && state_open(&sl->r)) {
			a->guess_block = &r->rcpt[i];
			a->guess_slot = (size_t)(sl - a->v);
			hits++;
		}
	}
	if (hits > 1)
		a->guess_block = NULL;
	if (hits == 0 && first != NULL && a->n == 1 && state_open(&a->v[0].r)) {
		a->guess_block = first;
		a->guess_slot = 0;
	}
}

/*
 * Find the block's recipient or add it.  A failure or delay notice that
 * names no recipient (a non-standard bounce whose text gives none) is
 * about the message's only recipient when it has exactly one (and, for a
 * bounce, while it is open); otherwise *sl is NULL and it stays an event.
 */
static int
slot_for(struct apply_arg *a, const ack_report_rcpt *b, struct slot **sl)
{
	const char *addr = block_addr(b);
	int kind = a->rep->kind;

	*sl = NULL;
	if (b->guessed) {
		if (b == a->guess_block)
			*sl = &a->v[a->guess_slot];
		return ACK_OK;
	}
	if (addr == NULL) {
		if (a->n == 1 && (kind == ACK_KIND_DSN ||
		    (kind == ACK_KIND_BOUNCE && state_open(&a->v[0].r))))
			*sl = &a->v[0];
		return ACK_OK;
	}
	if ((*sl = slot_find(a, b)) != NULL)
		return ACK_OK;
	/* an auto-reply's sender, any address a bounce's text holds: no
	 * recipients to add (the event keeps the address) */
	if (kind == ACK_KIND_AUTOREPLY || kind == ACK_KIND_BOUNCE)
		return ACK_OK;
	if ((*sl = slot_new(a)) == NULL)
		return ACK_ENOMEM;
	if (((*sl)->r.address = ack__strdup(addr)) == NULL) {
		a->n--;
		*sl = NULL;
		return ACK_ENOMEM;
	}
	(*sl)->dirty = true;
	a->res->added++;
	return ACK_OK;
}

/* Set *dst to a copy of src; *changed when the value differs. */
static int
set_str(char **dst, const char *src, bool *changed)
{
	char *p = NULL;

	if (str_eq(*dst, src))
		return ACK_OK;
	if (src && (p = ack__strdup(src)) == NULL)
		return ACK_ENOMEM;
	free(*dst);
	*dst = p;
	*changed = true;
	return ACK_OK;
}

/* The store's hard/soft of a block: only meaningful with a reason. */
static int
block_hard(const ack_report_rcpt *b)
{
	if (b->reason == NULL || b->hard < 0)
		return ACK_HARD_UNKNOWN;
	return b->hard > 0 ? ACK_HARD_YES : ACK_HARD_NO;
}

static int
apply_dsn(ack_rcpt *r, const ack_report_rcpt *b, int64_t now, bool *changed)
{
	int st = b->action ? ack_dsn_state_parse(b->action, strlen(b->action)) : -1;
	int rc;

	if (st < 0 || (st == ACK_DSN_DELAYED && ack_dsn_state_final(r->dsn_state)))
		return ACK_OK;
	if (r->dsn_state != st)
		*changed = true;
	r->dsn_state = st;
	r->dsn_updated = now;
	if (r->dsn_hard != block_hard(b))
		*changed = true;
	r->dsn_hard = block_hard(b);
	if ((rc = set_str(&r->dsn_status, b->status, changed)) != ACK_OK ||
	    (rc = set_str(&r->dsn_refined_status, b->refined_status,
	    changed)) != ACK_OK ||
	    (rc = set_str(&r->dsn_diagnostic, b->diagnostic, changed)) != ACK_OK ||
	    (rc = set_str(&r->dsn_reason, b->reason, changed)) != ACK_OK)
		return rc;
	return set_str(&r->dsn_remote_mta, b->remote_mta, changed);
}

static int
apply_mdn(ack_rcpt *r, const ack_report_rcpt *b, int64_t now, bool *changed)
{
	int st = b->action ? ack_mdn_state_parse(b->action, strlen(b->action)) : -1;

	if (st < 0)
		return ACK_OK;
	if (r->mdn_state != st)
		*changed = true;
	r->mdn_state = st;
	r->mdn_updated = now;
	return set_str(&r->mdn_disposition, b->disposition, changed);
}

/* Update the recipient's state from one block, per the report's kind. */
static int
apply_state(struct apply_arg *a, struct slot *sl, const ack_report_rcpt *b)
{
	int kind = a->rep->kind, rc = ACK_OK;
	bool changed = false;

	if (kind == ACK_KIND_DSN || kind == ACK_KIND_BOUNCE)
		rc = apply_dsn(&sl->r, b, a->now, &changed);
	else if (kind == ACK_KIND_MDN)
		rc = apply_mdn(&sl->r, b, a->now, &changed);
	else
		return ACK_OK;
	sl->dirty = true;
	if (changed)
		a->res->updated++;
	return rc;
}

static int
block_event(ack_store *s, MDB_txn *txn, struct apply_arg *a,
    const ack_report_rcpt *b, const struct slot *sl)
{
	const char *kind = ack_report_kind_name(a->rep->kind);
	ack_event e = {
		.time = a->now,
		.recipient = (char *)(sl ? sl->r.address : b ? block_addr(b) : NULL),
		.kind = (char *)(kind ? kind : "unknown"),
		.action = b ? b->action : a->rep->feedback_type,
		.status = b ? b->status : NULL,
		.detail = b ? (b->diagnostic ? b->diagnostic : b->disposition) : NULL,
	};
	int rc;

	memcpy(e.token, a->token, sizeof e.token);
	if ((rc = ack__append_event(s, txn, &a->seq, &e, &a->buf)) == ACK_OK)
		a->res->events++;
	return rc;
}

/* One recipient block (NULL: the message-level block of a report without
 * recipient blocks). */
static int
apply_block(ack_store *s, MDB_txn *txn, struct apply_arg *a,
    const ack_report_rcpt *b)
{
	unsigned char digest[DIGEST_LEN];
	struct slot *sl = NULL;
	int rc;

	block_digest(a, b, digest);
	if ((rc = seen_mark(s, txn, digest, a->now)) == ACK_EEXIST) {
		a->res->duplicate++;
		return ACK_OK;
	}
	if (rc != ACK_OK)
		return rc;
	if (b && (rc = slot_for(a, b, &sl)) != ACK_OK)
		return rc;
	if (sl && (rc = apply_state(a, sl, b)) != ACK_OK)
		return rc;
	return block_event(s, txn, a, b, sl);
}

static int
apply_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct apply_arg *a = arg;
	MDB_val k = { ACK_TOKEN_LEN, a->token }, v;
	int rc;

	memset(a->res, 0, sizeof *a->res);
	slots_free(a);
	if ((rc = mdb_get(txn, s->msg, &k, &v)) == MDB_NOTFOUND) {
		ack__seterr(ERRBUF, "%s: no such message", a->token);
		return ACK_ENOTFOUND;
	}
	if (rc != 0)
		return ack__mdb_fail(s, "mdb_get", rc);
	if ((rc = slots_load(s, txn, a)) != ACK_OK ||
	    (rc = ack__last_seq(s, txn, &a->seq)) != ACK_OK)
		return rc;
	pick_guess(a);
	if (a->rep->nrcpt == 0)
		rc = apply_block(s, txn, a, NULL);
	for (size_t i = 0; rc == ACK_OK && i < a->rep->nrcpt; i++)
		rc = apply_block(s, txn, a, &a->rep->rcpt[i]);
	for (size_t i = 0; rc == ACK_OK && i < a->n; i++)
		if (a->v[i].dirty)
			rc = ack__put_rcpt(s, txn, a->token, &a->v[i].r, &a->buf, 0);
	return rc;
}

int
ack_store_apply(ack_store *s, const char *token, const struct ack_report *r,
    int64_t now, ack_apply_result *res)
{
	struct apply_arg a = { .rep = r, .now = now, .res = res };
	int rc;

	memset(res, 0, sizeof *res);
	if (r == NULL || (r->nrcpt > 0 && r->rcpt == NULL))
		return ack__bad_arg(s, "ack_store_apply: no report");
	if (token == NULL ||
	    ack_token_canon(token, strlen(token), a.token) != ACK_OK) {
		ack__seterr(ERRBUF, "ack_store_apply: not a token");
		return ACK_ENOTFOUND;
	}
	ack_buf_init(&a.buf, RCPT_BUF_CAP);
	rc = ack__write_txn(s, apply_txn, &a);
	slots_free(&a);
	ack_buf_free(&a.buf);
	return rc;
}
