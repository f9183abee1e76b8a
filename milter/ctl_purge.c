/*
 * ctl_purge.c - ackctl purge: delete the messages, recipients, index
 * entries and events past retention, in bounded transactions while the
 * milter keeps writing, and say how many.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ackctl.h"

struct purge_opts {
	int64_t before; /* the cut-off: submitted before it goes */
	bool has_before, dry;
};

enum { O_OLDER = 256, O_DRY };

static int
purge_opt(void *arg, int id, const char *v)
{
	struct purge_opts *o = arg;

	if (id == O_DRY) {
		o->dry = true;
		return 0;
	}
	o->has_before = true;
	return ctl_parse_time("--older-than", v, &o->before);
}

static void
progress(uint64_t done, uint64_t total, void *arg)
{
	progress_show(arg, done, total);
}

static int
purge_json(const struct purge_opts *o, int64_t before, const ack_purge_result *r)
{
	ack_buf b;
	ack_json j;
	int rc;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	rc = rc ? rc : ack_json_kbool(&j, "dry_run", o->dry);
	rc = rc ? rc : ack_json_ktime(&j, "before", before);
	rc = rc ? rc : ack_json_kint(&j, "messages", (int64_t)r->messages);
	rc = rc ? rc : ack_json_kint(&j, "recipients", (int64_t)r->recipients);
	rc = rc ? rc : ack_json_kint(&j, "events", (int64_t)r->events);
	rc = rc ? rc : ack_json_kint(&j, "index_entries", (int64_t)r->index);
	rc = rc ? rc : ack_json_kint(&j, "report_digests", (int64_t)r->reports);
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return rc == ACK_OK ? 0 : fail(EXIT_USAGE, "out of memory");
}

static void
purge_human(const struct purge_opts *o, int64_t before, const ack_purge_result *r)
{
	char when[64];

	fmt_local_time(before, when, sizeof when);
	printf("%s %llu messages, %llu recipients, %llu events, %llu index "
	    "entries and %llu report digests from before %s\n",
	    o->dry ? "would delete" : "deleted",
	    (unsigned long long)r->messages, (unsigned long long)r->recipients,
	    (unsigned long long)r->events, (unsigned long long)r->index,
	    (unsigned long long)r->reports, when);
}

int
cmd_purge(int argc, char **argv)
{
	static const char use[] = "purge [--json] --older-than DURATION|TIME [--dry-run]";
	static const struct option opts[] = {
		{ "older-than", required_argument, NULL, O_OLDER },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ NULL, 0, NULL, 0 },
	};
	struct purge_opts o = { 0 };
	struct ctl c = { 0 };
	ack_purge_result r;
	int64_t before;
	int i, rc;

	if ((i = ctl_getopt(&c, argc, argv, use, opts, purge_opt, &o)) < 0)
		return EXIT_USAGE;
	if (i != argc || !o.has_before)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	before = o.before;
	if ((rc = o.dry ? ctl_open_store(&c) : ctl_open_store_rw(&c)) != 0)
		return rc;
	rc = ack_store_purge(c.store, before, o.dry, progress,
	    (void *)(o.dry ? "purge (dry run)" : "purge"), &r);
	progress_done();
	if (rc != ACK_OK) {
		fail(EXIT_USAGE, "purge: %s (%s)", ack_strerror(rc), ack_store_errmsg(c.store));
		ctl_close(&c);
		return EXIT_USAGE;
	}
	if (c.json)
		rc = purge_json(&o, before, &r);
	else
		purge_human(&o, before, &r);
	ctl_close(&c);
	return rc;
}
