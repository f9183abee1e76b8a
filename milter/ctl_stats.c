/*
 * ctl_stats.c - ackctl stats: receipt figures over the store (how many
 * messages and recipients, per DSN and MDN state, delays to delivery and to
 * display, the top failure reasons), whole or grouped by domain, state or
 * day, for people or as one JSON object.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ackctl.h"

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
	(*v)[lo] = (struct tally){ .key = ctl_strdup(key) };
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
