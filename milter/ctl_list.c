/*
 * ctl_list.c - ackctl list and overdue: one line per recipient, filtered
 * by state, time, sender or recipient; overdue is the follow-up list of
 * recipients still without a final receipt.  Rows are collected from one
 * read transaction, sorted by submission time, then printed as a table or
 * as JSON Lines.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ackctl.h"

/* ---------------------------------------------------------------- rows */

enum { EXPECT_NONE, EXPECT_DSN, EXPECT_MDN };

struct filter {
	uint32_t dsn_mask, mdn_mask; /* bit per state; both 0: any state */
	int64_t since, until, after; /* after: overdue's cut-off, a time */
	bool has_since, has_until, has_after;
	const char *sender, *recipient; /* recipient "@domain": the domain */
	uint64_t limit;
	int expect; /* overdue: which receipt is awaited */
};

/* One recipient line, copied out of the store's iteration. */
struct row {
	int64_t submitted, dsn_updated, mdn_updated;
	char token[ACK_TOKEN_LEN + 1];
	char *message_id, *sender, *address, *status, *refined, *reason;
	char *diagnostic;
	int dsn, mdn, hard;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void
rows_add(struct rows *rs, const ack_record *rec, const ack_rcpt *r)
{
	struct row *w;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct row *v = reallocarray(rs->v, cap, sizeof *v);

		if (v == NULL)
			exit(fail(EXIT_USAGE, "out of memory"));
		rs->v = v;
		rs->cap = cap;
	}
	w = &rs->v[rs->n++];
	*w = (struct row){ .submitted = rec->msg.submitted, .dsn = r->dsn_state,
	    .mdn = r->mdn_state, .dsn_updated = r->dsn_updated,
	    .mdn_updated = r->mdn_updated, .hard = r->dsn_hard };
	memcpy(w->token, rec->msg.token, sizeof w->token);
	w->message_id = ctl_strdup(rec->msg.message_id);
	w->sender = ctl_strdup(rec->msg.sender);
	w->address = ctl_strdup(r->address);
	w->status = ctl_strdup(r->dsn_status);
	w->refined = ctl_strdup(r->dsn_refined_status);
	w->reason = ctl_strdup(r->dsn_reason);
	w->diagnostic = ctl_strdup(r->dsn_diagnostic);
}

static void
row_free(struct row *w)
{
	free(w->message_id);
	free(w->sender);
	free(w->address);
	free(w->status);
	free(w->refined);
	free(w->reason);
	free(w->diagnostic);
}

static void
rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		row_free(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if (x->submitted != y->submitted)
		return x->submitted < y->submitted ? -1 : 1;
	if ((c = strcmp(x->token, y->token)) != 0)
		return c;
	return strcmp(x->address ? x->address : "", y->address ? y->address : "");
}

/* Sort, and keep only the last `keep` rows (all when keep is 0). */
static void
rows_trim(struct rows *rs, uint64_t keep)
{
	size_t drop;

	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	if (keep == 0 || rs->n <= keep)
		return;
	drop = rs->n - (size_t)keep;
	for (size_t i = 0; i < drop; i++)
		row_free(&rs->v[i]);
	memmove(rs->v, rs->v + drop, (size_t)keep * sizeof *rs->v);
	rs->n = (size_t)keep;
}

/* ---------------------------------------------------------------- filter */

static bool
rcpt_matches(const struct filter *f, const ack_rcpt *r)
{
	if ((f->dsn_mask || f->mdn_mask) &&
	    !(r->dsn_state >= 0 && r->dsn_state < 32 && (f->dsn_mask >> r->dsn_state & 1)) &&
	    !(r->mdn_state >= 0 && r->mdn_state < 32 && (f->mdn_mask >> r->mdn_state & 1)))
		return false;
	if (f->recipient == NULL || r->address == NULL)
		return f->recipient == NULL;
	if (f->recipient[0] == '@')
		return strcasecmp(addr_domain(r->address), f->recipient + 1) == 0;
	return strcasecmp(r->address, f->recipient) == 0;
}

/* Overdue: no final DSN state (or no MDN) that long after submission. */
static bool
rcpt_overdue(const struct filter *f, const ack_rcpt *r)
{
	if (f->expect == EXPECT_MDN)
		return r->mdn_state == ACK_MDN_PENDING;
	return r->dsn_state == ACK_DSN_PENDING || r->dsn_state == ACK_DSN_DELAYED;
}

static bool
msg_matches(const struct filter *f, const ack_msg *m)
{
	if (f->has_since && m->submitted < f->since)
		return false;
	if (f->has_until && m->submitted >= f->until)
		return false;
	if (f->sender && (m->sender == NULL || strcasecmp(m->sender, f->sender) != 0))
		return false;
	return true;
}

/* Rows collected beyond twice the --limit before the oldest are dropped. */
#define TRIM_SLACK 4096

struct collect {
	const struct filter *f;
	struct rows *rows;
};

static int
collect_one(const ack_record *rec, void *arg)
{
	struct collect *c = arg;

	if (!msg_matches(c->f, &rec->msg))
		return 0;
	for (size_t i = 0; i < rec->nrcpt; i++) {
		const ack_rcpt *r = &rec->rcpt[i];

		if (!rcpt_matches(c->f, r))
			continue;
		if (c->f->expect != EXPECT_NONE && !rcpt_overdue(c->f, r))
			continue;
		rows_add(c->rows, rec, r);
	}
	/* With --limit, memory stays proportional to the limit, not the store. */
	if (c->f->limit && c->rows->n >= 2 * c->f->limit + TRIM_SLACK)
		rows_trim(c->rows, c->f->limit);
	return 0;
}

/* Collect the rows of the store that pass f, sorted; exit status. */
static int
rows_collect(struct ctl *c, const struct filter *f, struct rows *rs)
{
	struct collect col = { f, rs };
	int rc;

	if ((rc = ack_store_foreach(c->store, collect_one, &col)) != ACK_OK)
		return fail(EXIT_USAGE, "%s (%s)", ack_strerror(rc),
		    ack_store_errmsg(c->store));
	rows_trim(rs, f->limit);
	return 0;
}

/* One --state word: "failed", "dsn:failed", "mdn:displayed". */
static int
state_word(struct filter *f, const char *w, size_t n)
{
	bool dsn = true, mdn = true;

	if (n > 4 && strncasecmp(w, "dsn:", 4) == 0) {
		mdn = false;
		w += 4;
		n -= 4;
	} else if (n > 4 && strncasecmp(w, "mdn:", 4) == 0) {
		dsn = false;
		w += 4;
		n -= 4;
	}
	for (int i = 0; dsn && i < ACK_DSN__COUNT; i++)
		if (strlen(ack_dsn_state_name(i)) == n &&
		    strncasecmp(ack_dsn_state_name(i), w, n) == 0) {
			f->dsn_mask |= 1u << i;
			return 0;
		}
	for (int i = 0; mdn && i < ACK_MDN__COUNT; i++)
		if (strlen(ack_mdn_state_name(i)) == n &&
		    strncasecmp(ack_mdn_state_name(i), w, n) == 0) {
			f->mdn_mask |= 1u << i;
			return 0;
		}
	return fail(EXIT_USAGE, "--state: \"%.*s\" is not a DSN or MDN state", (int)n, w);
}

static int
parse_states(struct filter *f, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, ",");

		if (n > 0 && state_word(f, s, n) != 0)
			return EXIT_USAGE;
		s += n;
		s += *s == ',';
	}
	return f->dsn_mask || f->mdn_mask ? 0 :
	    fail(EXIT_USAGE, "--state: no state given");
}

/* ---------------------------------------------------------------- output */

static const char *
row_reason(const struct row *w, char *buf, size_t len)
{
	if (w->reason != NULL)
		return w->reason;
	if (w->diagnostic == NULL)
		return NULL;
	snprintf(buf, len, "%.60s%s", w->diagnostic, strlen(w->diagnostic) > 60 ? "..." : "");
	return buf;
}

static int
row_json(ack_json *j, const struct row *w, const struct filter *f, int64_t now)
{
	JS(ack_json_obj_open(j));
	JS(ack_json_ktime(j, "submitted", w->submitted));
	JS(ack_json_kstr(j, "token", w->token));
	JS(ack_json_kstr(j, "message_id", w->message_id));
	JS(ack_json_kstr(j, "sender", w->sender));
	JS(ack_json_kstr(j, "recipient", w->address));
	JS(ack_json_kstr(j, "dsn", ack_dsn_state_name(w->dsn)));
	JS(ack_json_ktime(j, "dsn_updated", w->dsn_updated));
	JS(ack_json_kstr(j, "mdn", ack_mdn_state_name(w->mdn)));
	JS(ack_json_ktime(j, "mdn_updated", w->mdn_updated));
	JS(ack_json_kstr(j, "status", w->status));
	JS(ack_json_kstr(j, "refined_status", w->refined));
	JS(ack_json_kstr(j, "reason", w->reason));
	JS(ack_json_key(j, "hard"));
	JS(json_hard(j, w->hard));
	JS(ack_json_kstr(j, "diagnostic", w->diagnostic));
	if (f->expect != EXPECT_NONE) {
		JS(ack_json_kint(j, "age", now - w->submitted));
	}
	return ack_json_obj_close(j);
}

static int
print_json(const struct rows *rs, const struct filter *f, int64_t now)
{
	ack_buf b;
	ack_json j;

	ack_buf_init(&b, 0);
	for (size_t i = 0; i < rs->n; i++) {
		ack_buf_reset(&b);
		ack_json_init(&j, &b);
		if (row_json(&j, &rs->v[i], f, now) != ACK_OK) {
			ack_buf_free(&b);
			return fail(EXIT_USAGE, "out of memory");
		}
		put_json_line(&b);
	}
	ack_buf_free(&b);
	return 0;
}

static void
print_table(const struct rows *rs, const struct filter *f, int64_t now)
{
	bool age = f->expect != EXPECT_NONE;
	struct table t;

	table_init(&t, age ? 8 : 7);
	if (age)
		table_row(&t, "TIME", "AGE", "TOKEN", "RECIPIENT", "DSN", "MDN", "STATUS", "REASON");
	else
		table_row(&t, "TIME", "TOKEN", "RECIPIENT", "DSN", "MDN", "STATUS", "REASON");
	for (size_t i = 0; i < rs->n; i++) {
		const struct row *w = &rs->v[i];
		char when[64], ago[32], rbuf[80], sbuf[40];
		const char *dsn = ack_dsn_state_name(w->dsn);
		const char *mdn = ack_mdn_state_name(w->mdn);
		const char *reason = row_reason(w, rbuf, sizeof rbuf);
		const char *status = fmt_status(w->status, w->refined, sbuf, sizeof sbuf);

		fmt_local_time(w->submitted, when, sizeof when);
		fmt_duration(now - w->submitted, ago, sizeof ago);
		if (age)
			table_row(&t, when, ago, w->token, w->address, dsn, mdn, status, reason);
		else
			table_row(&t, when, w->token, w->address, dsn, mdn, status, reason);
	}
	table_print(&t);
	table_free(&t);
}

/* Print the rows (rows_collect kept only the last f->limit); exit status. */
static int
rows_print(struct ctl *c, const struct rows *rs, const struct filter *f)
{
	int64_t now = ctl_now();

	if (rs->n == 0)
		return EXIT_NOTFOUND;
	if (c->json)
		return print_json(rs, f, now);
	print_table(rs, f, now);
	return 0;
}

/* ---------------------------------------------------------------- list */

enum { O_STATE = 256, O_SINCE, O_UNTIL, O_SENDER, O_RECIPIENT, O_LIMIT,
	O_AFTER, O_EXPECT };

static int
list_opt(void *arg, int id, const char *v)
{
	struct filter *f = arg;

	switch (id) {
	case O_STATE: return parse_states(f, v);
	case O_SINCE: f->has_since = true; return ctl_parse_time("--since", v, &f->since);
	case O_UNTIL: f->has_until = true; return ctl_parse_time("--until", v, &f->until);
	case O_SENDER: f->sender = v; return 0;
	case O_RECIPIENT: f->recipient = v; return 0;
	case O_LIMIT: return ctl_parse_count("--limit", v, &f->limit);
	case O_AFTER: f->has_after = true; return ctl_parse_time("--after", v, &f->after);
	case O_EXPECT:
		if (strcmp(v, "dsn") == 0 || strcmp(v, "mdn") == 0) {
			f->expect = v[0] == 'd' ? EXPECT_DSN : EXPECT_MDN;
			return 0;
		}
		return fail(EXIT_USAGE, "--expect: \"%s\" is neither dsn nor mdn", v);
	}
	return EXIT_USAGE;
}

static const struct option list_opts[] = {
	{ "state", required_argument, NULL, O_STATE },
	{ "since", required_argument, NULL, O_SINCE },
	{ "until", required_argument, NULL, O_UNTIL },
	{ "sender", required_argument, NULL, O_SENDER },
	{ "recipient", required_argument, NULL, O_RECIPIENT },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ NULL, 0, NULL, 0 },
};

static const struct option overdue_opts[] = {
	{ "after", required_argument, NULL, O_AFTER },
	{ "expect", required_argument, NULL, O_EXPECT },
	{ NULL, 0, NULL, 0 },
};

static int
run_rows(struct ctl *c, struct filter *f, const char *none)
{
	struct rows rs = { 0 };
	int rc;

	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((rc = rows_collect(c, f, &rs)) == 0 &&
	    (rc = rows_print(c, &rs, f)) == EXIT_NOTFOUND)
		fail(0, "%s", none);
	rows_free(&rs);
	ctl_close(c);
	return rc;
}

int
cmd_list(int argc, char **argv)
{
	static const char use[] = "list [--json] [--state S[,S]] [--since T] "
	    "[--until T] [--sender A] [--recipient A|@DOMAIN] [--limit N]";
	struct ctl c = { 0 };
	struct filter f = { .expect = EXPECT_NONE };
	int i;

	if ((i = ctl_getopt(&c, argc, argv, use, list_opts, list_opt, &f)) < 0)
		return EXIT_USAGE;
	if (i != argc)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	return run_rows(&c, &f, "no recipient matches");
}

int
cmd_overdue(int argc, char **argv)
{
	static const char use[] = "overdue [--json] --after DURATION|TIME "
	    "[--expect dsn|mdn]";
	struct ctl c = { 0 };
	struct filter f = { .expect = EXPECT_DSN };
	int i;

	if ((i = ctl_getopt(&c, argc, argv, use, overdue_opts, list_opt, &f)) < 0)
		return EXIT_USAGE;
	if (i != argc || !f.has_after)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	f.has_until = true;
	f.until = f.after + 1; /* submitted at least that long ago (or by then) */
	return run_rows(&c, &f, "no recipient is overdue");
}
