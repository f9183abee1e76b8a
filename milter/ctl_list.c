/*
 * ctl_list.c - ackctl list and overdue: one line per recipient, filtered
 * by state, time, sender or recipient; overdue is the follow-up list of
 * recipients still without a final receipt.  Rows are collected from one
 * read transaction, sorted by submission time, then printed as a table or
 * as JSON Lines.  stats, which walks the same records, is at the end.
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
	int64_t since, until, after;
	bool has_since, has_until, has_after;
	const char *sender, *recipient; /* recipient "@domain": the domain */
	uint64_t limit;
	int expect; /* overdue: which receipt is awaited */
};

/* One recipient line, copied out of the store's iteration. */
struct row {
	int64_t submitted, dsn_updated, mdn_updated;
	char token[ACK_TOKEN_LEN + 1];
	char *message_id, *sender, *address, *status, *reason, *diagnostic;
	int dsn, mdn;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static char *
dup_or_null(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		exit(fail(EXIT_USAGE, "out of memory"));
	return p;
}

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
	    .mdn_updated = r->mdn_updated };
	memcpy(w->token, rec->msg.token, sizeof w->token);
	w->message_id = dup_or_null(rec->msg.message_id);
	w->sender = dup_or_null(rec->msg.sender);
	w->address = dup_or_null(r->address);
	w->status = dup_or_null(r->dsn_status);
	w->reason = dup_or_null(r->dsn_reason);
	w->diagnostic = dup_or_null(r->dsn_diagnostic);
}

static void
rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct row *w = &rs->v[i];

		free(w->message_id);
		free(w->sender);
		free(w->address);
		free(w->status);
		free(w->reason);
		free(w->diagnostic);
	}
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
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
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
	JS(ack_json_kstr(j, "reason", w->reason));
	JS(ack_json_kstr(j, "diagnostic", w->diagnostic));
	if (f->expect != EXPECT_NONE) {
		JS(ack_json_kint(j, "age", now - w->submitted));
	}
	return ack_json_obj_close(j);
}

static int
print_json(const struct rows *rs, size_t from, const struct filter *f, int64_t now)
{
	ack_buf b;
	ack_json j;

	ack_buf_init(&b, 0);
	for (size_t i = from; i < rs->n; i++) {
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
print_table(const struct rows *rs, size_t from, const struct filter *f, int64_t now)
{
	bool age = f->expect != EXPECT_NONE;
	struct table t;

	table_init(&t, age ? 8 : 7);
	if (age)
		table_row(&t, "TIME", "AGE", "TOKEN", "RECIPIENT", "DSN", "MDN", "STATUS", "REASON");
	else
		table_row(&t, "TIME", "TOKEN", "RECIPIENT", "DSN", "MDN", "STATUS", "REASON");
	for (size_t i = from; i < rs->n; i++) {
		const struct row *w = &rs->v[i];
		char when[64], ago[32], rbuf[80];
		const char *dsn = ack_dsn_state_name(w->dsn);
		const char *mdn = ack_mdn_state_name(w->mdn);
		const char *reason = row_reason(w, rbuf, sizeof rbuf);

		fmt_local_time(w->submitted, when, sizeof when);
		fmt_duration(now - w->submitted, ago, sizeof ago);
		if (age)
			table_row(&t, when, ago, w->token, w->address, dsn, mdn, w->status, reason);
		else
			table_row(&t, when, w->token, w->address, dsn, mdn, w->status, reason);
	}
	table_print(&t);
	table_free(&t);
}

/* Print the rows (the last f->limit of them, when set); exit status. */
static int
rows_print(struct ctl *c, const struct rows *rs, const struct filter *f)
{
	size_t from = f->limit && f->limit < rs->n ? rs->n - f->limit : 0;
	int64_t now = ctl_now();

	if (rs->n == 0)
		return EXIT_NOTFOUND;
	if (c->json)
		return print_json(rs, from, f, now);
	print_table(rs, from, f, now);
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
	case O_AFTER: f->has_after = true; return ctl_parse_duration("--after", v, &f->after);
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
	static const char use[] = "overdue [--json] --after DURATION [--expect dsn|mdn]";
	struct ctl c = { 0 };
	struct filter f = { .expect = EXPECT_DSN };
	int i;

	if ((i = ctl_getopt(&c, argc, argv, use, overdue_opts, list_opt, &f)) < 0)
		return EXIT_USAGE;
	if (i != argc || !f.has_after)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	f.has_until = true;
	f.until = ctl_now() - f.after + 1; /* submitted at least that long ago */
	return run_rows(&c, &f, "no recipient is overdue");
}

/* ---------------------------------------------------------------- stats */

enum { BY_NONE, BY_DOMAIN, BY_STATE, BY_DAY };

struct delays {
	int64_t *v;
	size_t n, cap;
};

struct tally {
	char *key;
	uint64_t rcpt, delivered, relayed, failed, waiting, displayed;
};

struct stats {
	bool json, has_since;
	int by;
	int64_t since;
	uint64_t messages, recipients;
	uint64_t dsn[ACK_DSN__COUNT + 1], mdn[ACK_MDN__COUNT + 1]; /* last: unknown */
	struct delays to_delivery, to_display;
	struct tally *reasons, *groups;
	size_t nreasons, ngroups, capreasons, capgroups;
};

static void
delay_add(struct delays *d, int64_t v)
{
	if (v < 0)
		v = 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		int64_t *p = reallocarray(d->v, cap, sizeof *p);

		if (p == NULL)
			exit(fail(EXIT_USAGE, "out of memory"));
		d->v = p;
		d->cap = cap;
	}
	d->v[d->n++] = v;
}

/* The tally for key in a list kept sorted by key (binary search). */
static struct tally *
tally_get(struct tally **v, size_t *n, size_t *cap, const char *key)
{
	size_t lo = 0, hi = *n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp((*v)[mid].key, key);

		if (c == 0)
			return &(*v)[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct tally *p = reallocarray(*v, nc, sizeof *p);

		if (p == NULL)
			exit(fail(EXIT_USAGE, "out of memory"));
		*v = p;
		*cap = nc;
	}
	memmove(&(*v)[lo + 1], &(*v)[lo], (*n - lo) * sizeof **v);
	(*v)[lo] = (struct tally){ .key = dup_or_null(key) };
	(*n)++;
	return &(*v)[lo];
}

static void
tally_add(struct tally *t, const ack_rcpt *r)
{
	t->rcpt++;
	t->delivered += r->dsn_state == ACK_DSN_DELIVERED || r->dsn_state == ACK_DSN_EXPANDED;
	t->relayed += r->dsn_state == ACK_DSN_RELAYED;
	t->failed += r->dsn_state == ACK_DSN_FAILED;
	t->waiting += r->dsn_state == ACK_DSN_PENDING || r->dsn_state == ACK_DSN_DELAYED;
	t->displayed += r->mdn_state == ACK_MDN_DISPLAYED;
}

static void
group_key(const struct stats *st, const ack_msg *m, const ack_rcpt *r,
    char *key, size_t len)
{
	time_t t = (time_t)m->submitted;
	struct tm tm;

	if (st->by == BY_DOMAIN)
		snprintf(key, len, "%s", addr_domain(r->address));
	else if (st->by == BY_STATE)
		snprintf(key, len, "%s", ack_dsn_state_name(r->dsn_state));
	else if ((st->json ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) != NULL)
		strftime(key, len, "%Y-%m-%d", &tm);
	else
		snprintf(key, len, "-");
}

static void
stats_rcpt(struct stats *st, const ack_msg *m, const ack_rcpt *r)
{
	int d = r->dsn_state >= 0 && r->dsn_state < ACK_DSN__COUNT ? r->dsn_state : ACK_DSN__COUNT;
	int md = r->mdn_state >= 0 && r->mdn_state < ACK_MDN__COUNT ? r->mdn_state : ACK_MDN__COUNT;
	char key[512];

	st->recipients++;
	st->dsn[d]++;
	st->mdn[md]++;
	if ((d == ACK_DSN_DELIVERED || d == ACK_DSN_RELAYED) && r->dsn_updated)
		delay_add(&st->to_delivery, r->dsn_updated - m->submitted);
	if (md == ACK_MDN_DISPLAYED && r->mdn_updated)
		delay_add(&st->to_display, r->mdn_updated - m->submitted);
	if (d == ACK_DSN_FAILED)
		tally_get(&st->reasons, &st->nreasons, &st->capreasons,
		    r->dsn_reason ? r->dsn_reason : r->dsn_status ? r->dsn_status :
		    "unknown")->rcpt++;
	if (st->by != BY_NONE) {
		group_key(st, m, r, key, sizeof key);
		tally_add(tally_get(&st->groups, &st->ngroups, &st->capgroups, key), r);
	}
}

static int
stats_one(const ack_record *rec, void *arg)
{
	struct stats *st = arg;

	if (st->has_since && rec->msg.submitted < st->since)
		return 0;
	st->messages++;
	for (size_t i = 0; i < rec->nrcpt; i++)
		stats_rcpt(st, &rec->msg, &rec->rcpt[i]);
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p (0..100) of sorted d; -1 when empty. */
static int64_t
percentile(const struct delays *d, unsigned p)
{
	size_t rank;

	if (d->n == 0)
		return -1;
	rank = (d->n * p + 99) / 100;
	return d->v[rank ? rank - 1 : 0];
}

static int
cmp_reason(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	if (x->rcpt != y->rcpt)
		return x->rcpt > y->rcpt ? -1 : 1;
	return strcmp(x->key, y->key);
}

#define TOP_REASONS 10

static uint64_t
dsn_requested(const struct stats *st)
{
	return st->recipients - st->dsn[ACK_DSN_NONE];
}

static uint64_t
mdn_requested(const struct stats *st)
{
	return st->recipients - st->mdn[ACK_MDN_NONE];
}

static int
json_delay(ack_json *j, const char *name, const struct delays *d)
{
	JS(ack_json_key(j, name));
	JS(ack_json_obj_open(j));
	JS(ack_json_kint(j, "count", (int64_t)d->n));
	JS(ack_json_key(j, "median"));
	JS(d->n ? ack_json_int(j, percentile(d, 50)) : ack_json_null(j));
	JS(ack_json_key(j, "p90"));
	JS(d->n ? ack_json_int(j, percentile(d, 90)) : ack_json_null(j));
	return ack_json_obj_close(j);
}

static int
json_states(ack_json *j, const struct stats *st)
{
	JS(ack_json_key(j, "dsn"));
	JS(ack_json_obj_open(j));
	for (int i = 0; i <= ACK_DSN__COUNT; i++) {
		JS(ack_json_key(j, i < ACK_DSN__COUNT ? ack_dsn_state_name(i) : "unknown"));
		JS(ack_json_int(j, (int64_t)st->dsn[i]));
	}
	JS(ack_json_obj_close(j));
	JS(ack_json_key(j, "mdn"));
	JS(ack_json_obj_open(j));
	for (int i = 0; i <= ACK_MDN__COUNT; i++) {
		JS(ack_json_key(j, i < ACK_MDN__COUNT ? ack_mdn_state_name(i) : "unknown"));
		JS(ack_json_int(j, (int64_t)st->mdn[i]));
	}
	return ack_json_obj_close(j);
}

static int
json_tally(ack_json *j, const struct tally *t)
{
	static const char *names[] = { "recipients", "delivered", "relayed",
		"failed", "waiting", "displayed" };
	const uint64_t v[] = { t->rcpt, t->delivered, t->relayed, t->failed,
		t->waiting, t->displayed };

	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "key", t->key));
	for (size_t i = 0; i < 6; i++) {
		JS(ack_json_key(j, names[i]));
		JS(ack_json_int(j, (int64_t)v[i]));
	}
	return ack_json_obj_close(j);
}

static int
json_lists(ack_json *j, const struct stats *st)
{
	static const char *by[] = { NULL, "domain", "state", "day" };

	JS(ack_json_key(j, "top_failure_reasons"));
	JS(ack_json_arr_open(j));
	for (size_t i = 0; i < st->nreasons && i < TOP_REASONS; i++) {
		JS(ack_json_obj_open(j));
		JS(ack_json_kstr(j, "reason", st->reasons[i].key));
		JS(ack_json_kint(j, "count", (int64_t)st->reasons[i].rcpt));
		JS(ack_json_obj_close(j));
	}
	JS(ack_json_arr_close(j));
	if (st->by == BY_NONE)
		return ACK_OK;
	JS(ack_json_kstr(j, "by", by[st->by]));
	JS(ack_json_key(j, "groups"));
	JS(ack_json_arr_open(j));
	for (size_t i = 0; i < st->ngroups; i++)
		JS(json_tally(j, &st->groups[i]));
	return ack_json_arr_close(j);
}

static int
stats_json(const struct stats *st)
{
	ack_buf b;
	ack_json j;
	int rc;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	rc = rc ? rc : ack_json_ktime(&j, "since", st->has_since ? st->since : 0);
	rc = rc ? rc : ack_json_kint(&j, "messages", (int64_t)st->messages);
	rc = rc ? rc : ack_json_kint(&j, "recipients", (int64_t)st->recipients);
	rc = rc ? rc : json_states(&j, st);
	rc = rc ? rc : ack_json_key(&j, "delivery_rate");
	rc = rc ? rc : json_ratio(&j, st->dsn[ACK_DSN_DELIVERED] + st->dsn[ACK_DSN_RELAYED] +
	    st->dsn[ACK_DSN_EXPANDED], dsn_requested(st));
	rc = rc ? rc : ack_json_key(&j, "read_rate");
	rc = rc ? rc : json_ratio(&j, st->mdn[ACK_MDN_DISPLAYED], mdn_requested(st));
	rc = rc ? rc : json_delay(&j, "time_to_delivery", &st->to_delivery);
	rc = rc ? rc : json_delay(&j, "time_to_display", &st->to_display);
	rc = rc ? rc : json_lists(&j, st);
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return rc == ACK_OK ? 0 : fail(EXIT_USAGE, "out of memory");
}

static void
human_rate(const char *what, uint64_t num, uint64_t den, const char *of)
{
	if (den == 0)
		printf("%-17s -  (no %s)\n", what, of);
	else
		printf("%-17s %.1f %%  (%llu of %llu %s)\n", what, 100.0 * (double)num / (double)den,
		    (unsigned long long)num, (unsigned long long)den, of);
}

static void
human_delay(const char *what, const struct delays *d)
{
	char med[32], p90[32];

	if (d->n == 0) {
		printf("%-17s -\n", what);
		return;
	}
	fmt_duration(percentile(d, 50), med, sizeof med);
	fmt_duration(percentile(d, 90), p90, sizeof p90);
	printf("%-17s median %s, 90th percentile %s  (%zu recipients)\n", what, med,
	    p90, d->n);
}

static void
human_states(const struct stats *st)
{
	struct table t;
	char n[32], share[32];

	table_init(&t, 4);
	table_row(&t, "RECEIPT", "STATE", "RECIPIENTS", "SHARE");
	for (int i = 0; i <= ACK_DSN__COUNT + ACK_MDN__COUNT + 1; i++) {
		bool dsn = i <= ACK_DSN__COUNT;
		int k = dsn ? i : i - ACK_DSN__COUNT - 1;
		uint64_t v = dsn ? st->dsn[k] : st->mdn[k];
		bool unknown = dsn ? k == ACK_DSN__COUNT : k == ACK_MDN__COUNT;

		if (unknown && v == 0)
			continue;
		snprintf(n, sizeof n, "%llu", (unsigned long long)v);
		snprintf(share, sizeof share, "%.1f %%", st->recipients ?
		    100.0 * (double)v / (double)st->recipients : 0.0);
		table_row(&t, dsn ? "DSN" : "MDN", unknown ? "unknown" :
		    dsn ? ack_dsn_state_name(k) : ack_mdn_state_name(k), n, share);
	}
	table_print(&t);
	table_free(&t);
}

static void
human_groups(const struct stats *st)
{
	static const char *by[] = { NULL, "DOMAIN", "STATE", "DAY" };
	struct table t;

	putchar('\n');
	table_init(&t, 7);
	table_row(&t, by[st->by], "RECIPIENTS", "DELIVERED", "RELAYED", "FAILED",
	    "WAITING", "DISPLAYED");
	for (size_t i = 0; i < st->ngroups; i++) {
		const struct tally *g = &st->groups[i];
		char v[6][24];
		const uint64_t x[] = { g->rcpt, g->delivered, g->relayed, g->failed,
			g->waiting, g->displayed };

		for (int k = 0; k < 6; k++)
			snprintf(v[k], sizeof v[k], "%llu", (unsigned long long)x[k]);
		table_row(&t, g->key, v[0], v[1], v[2], v[3], v[4], v[5]);
	}
	table_print(&t);
	table_free(&t);
}

static void
stats_human(const struct stats *st)
{
	char when[64];

	fmt_local_time(st->since, when, sizeof when);
	printf("%-17s %s\n", "Since", st->has_since ? when : "the beginning of the store");
	printf("%-17s %llu\n%-17s %llu\n\n", "Messages", (unsigned long long)st->messages,
	    "Recipients", (unsigned long long)st->recipients);
	human_states(st);
	putchar('\n');
	human_rate("Delivery rate", st->dsn[ACK_DSN_DELIVERED] + st->dsn[ACK_DSN_RELAYED] +
	    st->dsn[ACK_DSN_EXPANDED], dsn_requested(st), "with DSN requested");
	human_rate("Read rate", st->mdn[ACK_MDN_DISPLAYED], mdn_requested(st),
	    "with a read receipt requested");
	human_delay("To delivered", &st->to_delivery);
	human_delay("To displayed", &st->to_display);
	if (st->nreasons > 0) {
		printf("\nTop failure reasons\n");
		for (size_t i = 0; i < st->nreasons && i < TOP_REASONS; i++) {
			printf("  %6llu  ", (unsigned long long)st->reasons[i].rcpt);
			put_safe(st->reasons[i].key);
			putchar('\n');
		}
	}
	if (st->by != BY_NONE)
		human_groups(st);
}

static void
stats_free(struct stats *st)
{
	for (size_t i = 0; i < st->nreasons; i++)
		free(st->reasons[i].key);
	for (size_t i = 0; i < st->ngroups; i++)
		free(st->groups[i].key);
	free(st->reasons);
	free(st->groups);
	free(st->to_delivery.v);
	free(st->to_display.v);
}

enum { O_BY = 300, O_SSINCE };

static int
stats_opt(void *arg, int id, const char *v)
{
	struct stats *st = arg;

	if (id == O_SSINCE) {
		st->has_since = true;
		return ctl_parse_time("--since", v, &st->since);
	}
	if (strcmp(v, "domain") == 0)
		st->by = BY_DOMAIN;
	else if (strcmp(v, "state") == 0)
		st->by = BY_STATE;
	else if (strcmp(v, "day") == 0)
		st->by = BY_DAY;
	else
		return fail(EXIT_USAGE, "--by: \"%s\" is not domain, state or day", v);
	return 0;
}

int
cmd_stats(int argc, char **argv)
{
	static const char use[] = "stats [--json] [--since T] [--by domain|state|day]";
	static const struct option opts[] = {
		{ "since", required_argument, NULL, O_SSINCE },
		{ "by", required_argument, NULL, O_BY },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	struct stats st = { .by = BY_NONE };
	int i, rc;

	if ((i = ctl_getopt(&c, argc, argv, use, opts, stats_opt, &st)) < 0)
		return EXIT_USAGE;
	if (i != argc)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if ((rc = ctl_open_store(&c)) != 0)
		return rc;
	st.json = c.json;
	if ((rc = ack_store_foreach(c.store, stats_one, &st)) != ACK_OK) {
		rc = fail(EXIT_USAGE, "%s (%s)", ack_strerror(rc), ack_store_errmsg(c.store));
	} else {
		if (st.to_delivery.n > 1)
			qsort(st.to_delivery.v, st.to_delivery.n, sizeof (int64_t), cmp_i64);
		if (st.to_display.n > 1)
			qsort(st.to_display.v, st.to_display.n, sizeof (int64_t), cmp_i64);
		if (st.nreasons > 1)
			qsort(st.reasons, st.nreasons, sizeof *st.reasons, cmp_reason);
		rc = c.json ? stats_json(&st) : (stats_human(&st), 0);
	}
	stats_free(&st);
	ctl_close(&c);
	return rc;
}
