/*
 * ctl_show.c - ackctl show: one message's record and its event history,
 * for people (a summary, a table of recipients, a table of events) or for
 * scripts (one JSON object, schema in ackctl(1)).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ackctl.h"

/* The message's events, copied out of the store's iteration. */
struct history {
	ack_event *v;
	size_t n, cap;
};

static int
history_add(const ack_event *e, void *arg)
{
	struct history *h = arg;
	ack_event *d;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		ack_event *v = reallocarray(h->v, cap, sizeof *v);

		if (v == NULL)
			return 1;
		h->v = v;
		h->cap = cap;
	}
	d = &h->v[h->n++];
	*d = (ack_event){ .seq = e->seq, .time = e->time };
	memcpy(d->token, e->token, sizeof d->token);
	d->recipient = e->recipient ? strdup(e->recipient) : NULL;
	d->kind = e->kind ? strdup(e->kind) : NULL;
	d->action = e->action ? strdup(e->action) : NULL;
	d->status = e->status ? strdup(e->status) : NULL;
	d->detail = e->detail ? strdup(e->detail) : NULL;
	return 0;
}

static void
history_free(struct history *h)
{
	for (size_t i = 0; i < h->n; i++)
		ack_event_clear(&h->v[i]);
	free(h->v);
}

/* Is event e about recipient address (NULL: message-level events)? */
static bool
event_of(const ack_event *e, const char *address)
{
	if (address == NULL || e->recipient == NULL)
		return address == e->recipient;
	return strcasecmp(address, e->recipient) == 0;
}

static int
json_events(ack_json *j, const struct history *h, const char *address)
{
	JS(ack_json_key(j, "events"));
	JS(ack_json_arr_open(j));
	for (size_t i = 0; i < h->n; i++) {
		const ack_event *e = &h->v[i];

		if (!event_of(e, address))
			continue;
		JS(ack_json_obj_open(j));
		JS(ack_json_kint(j, "cursor", (int64_t)e->seq));
		JS(ack_json_ktime(j, "time", e->time));
		JS(ack_json_kstr(j, "kind", e->kind));
		JS(ack_json_kstr(j, "action", e->action));
		JS(ack_json_kstr(j, "status", e->status));
		JS(ack_json_kstr(j, "detail", e->detail));
		JS(ack_json_obj_close(j));
	}
	return ack_json_arr_close(j);
}

static int
json_notify(ack_json *j, unsigned bits)
{
	char s[64];

	if (bits == 0)
		return ack_json_null(j);
	ack_notify_format(bits, s, sizeof s);
	return ack_json_str(j, s);
}

static int
json_dsn(ack_json *j, const ack_rcpt *r)
{
	JS(ack_json_key(j, "dsn"));
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "state", ack_dsn_state_name(r->dsn_state)));
	JS(ack_json_kstr(j, "status", r->dsn_status));
	JS(ack_json_kstr(j, "refined_status", r->dsn_refined_status));
	JS(ack_json_kstr(j, "diagnostic", r->dsn_diagnostic));
	JS(ack_json_kstr(j, "remote_mta", r->dsn_remote_mta));
	JS(ack_json_kstr(j, "reason", r->dsn_reason));
	JS(ack_json_key(j, "hard"));
	JS(json_hard(j, r->dsn_hard));
	JS(ack_json_ktime(j, "updated", r->dsn_updated));
	return ack_json_obj_close(j);
}

static int
json_mdn(ack_json *j, const ack_rcpt *r)
{
	JS(ack_json_key(j, "mdn"));
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "state", ack_mdn_state_name(r->mdn_state)));
	JS(ack_json_kstr(j, "disposition", r->mdn_disposition));
	JS(ack_json_ktime(j, "updated", r->mdn_updated));
	return ack_json_obj_close(j);
}

static int
json_rcpt(ack_json *j, const ack_rcpt *r, const struct history *h)
{
	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "address", r->address));
	JS(ack_json_kstr(j, "orcpt", r->orcpt));
	JS(ack_json_key(j, "notify"));
	JS(json_notify(j, r->notify));
	JS(json_dsn(j, r));
	JS(json_mdn(j, r));
	JS(json_events(j, h, r->address));
	return ack_json_obj_close(j);
}

static int
json_record(ack_json *j, const ack_record *rec, const struct history *h)
{
	const ack_msg *m = &rec->msg;

	JS(ack_json_obj_open(j));
	JS(ack_json_kstr(j, "token", m->token));
	JS(ack_json_kstr(j, "message_id", m->message_id));
	JS(ack_json_kstr(j, "sender", m->sender));
	JS(ack_json_ktime(j, "submitted", m->submitted));
	JS(ack_json_kstr(j, "queue_id", m->queue_id));
	JS(ack_json_kstr(j, "ret", m->flags & ACK_MSG_RET_FULL ? "FULL" : "HDRS"));
	JS(ack_json_kbool(j, "read_receipt_requested", (m->flags & ACK_MSG_MDN_REQ) != 0));
	JS(ack_json_key(j, "recipients"));
	JS(ack_json_arr_open(j));
	for (size_t i = 0; i < rec->nrcpt; i++)
		JS(json_rcpt(j, &rec->rcpt[i], h));
	JS(ack_json_arr_close(j));
	JS(json_events(j, h, NULL));
	return ack_json_obj_close(j);
}

static void
show_field(const char *name, const char *value)
{
	printf("%-11s ", name);
	put_safe(value ? value : "-");
	putchar('\n');
}

static void
show_history(const struct history *h)
{
	struct table t;
	char when[64];

	if (h->n == 0)
		return;
	printf("\nHistory\n");
	table_init(&t, 6);
	table_row(&t, "  TIME", "RECIPIENT", "EVENT", "ACTION", "STATUS", "DETAIL");
	for (size_t i = 0; i < h->n; i++) {
		const ack_event *e = &h->v[i];
		char col[80];

		fmt_local_time(e->time, when, sizeof when);
		snprintf(col, sizeof col, "  %s", when);
		table_row(&t, col, e->recipient, e->kind, e->action, e->status,
		    e->detail);
	}
	table_print(&t);
	table_free(&t);
}

static void
show_human(const ack_record *rec)
{
	const ack_msg *m = &rec->msg;
	char when[64], notify[64];
	struct table t;

	fmt_local_time(m->submitted, when, sizeof when);
	show_field("Message-ID", m->message_id);
	show_field("Token", m->token);
	show_field("Sender", m->sender);
	show_field("Submitted", when);
	show_field("Queue ID", m->queue_id);
	show_field("Receipts", m->flags & ACK_MSG_MDN_REQ ?
	    "delivery status (DSN) and read receipt (MDN) requested" :
	    "delivery status (DSN) requested; no read receipt");
	putchar('\n');
	table_init(&t, 8);
	table_row(&t, "RECIPIENT", "NOTIFY", "DSN", "STATUS", "REASON", "REMOTE-MTA",
	    "UPDATED", "MDN");
	for (size_t i = 0; i < rec->nrcpt; i++) {
		const ack_rcpt *r = &rec->rcpt[i];
		char reason[80], status[40];

		ack_notify_format(r->notify, notify, sizeof notify);
		fmt_local_time(r->dsn_updated, when, sizeof when);
		table_row(&t, r->address, r->notify ? notify : NULL,
		    ack_dsn_state_name(r->dsn_state),
		    fmt_status(r->dsn_status, r->dsn_refined_status, status,
		    sizeof status),
		    fmt_reason(r->dsn_reason, r->dsn_hard, reason, sizeof reason),
		    r->dsn_remote_mta, when, ack_mdn_state_name(r->mdn_state));
	}
	table_print(&t);
	table_free(&t);
}

int
cmd_show(int argc, char **argv)
{
	struct ctl c = { 0 };
	char token[ACK_TOKEN_LEN + 1];
	struct history h = { 0 };
	ack_record rec;
	int i, rc;

	if ((i = ctl_options(&c, argc, argv, "show [--json] TOKEN|MESSAGE-ID|QUEUE-ID")) < 0)
		return EXIT_USAGE;
	if (argc - i != 1)
		return fail(EXIT_USAGE, "usage: ackctl show [--json] TOKEN|MESSAGE-ID|QUEUE-ID");
	if ((rc = ctl_open_store(&c)) != 0)
		return rc;
	rc = ack_store_lookup(c.store, argv[i], token);
	if (rc == ACK_OK)
		rc = ack_store_get(c.store, token, &rec);
	if (rc == ACK_ENOTFOUND) {
		ctl_close(&c);
		return fail(EXIT_NOTFOUND, "%s: no such message in the store", argv[i]);
	}
	if (rc != ACK_OK) {
		fail(EXIT_USAGE, "%s: %s (%s)", argv[i], ack_strerror(rc),
		    ack_store_errmsg(c.store));
		ctl_close(&c);
		return EXIT_USAGE;
	}
	if (ack_store_message_events(c.store, token, history_add, &h) != ACK_OK)
		fail(0, "%s: the event history cannot be read: %s", argv[i],
		    ack_store_errmsg(c.store));
	if (c.json) {
		ack_buf b;
		ack_json j;

		ack_buf_init(&b, 0);
		ack_json_init(&j, &b);
		if (json_record(&j, &rec, &h) != ACK_OK)
			rc = fail(EXIT_USAGE, "out of memory");
		else
			put_json_line(&b);
		ack_buf_free(&b);
	} else {
		show_human(&rec);
		show_history(&h);
	}
	history_free(&h);
	ack_record_free(&rec);
	ctl_close(&c);
	return rc == ACK_OK ? 0 : EXIT_USAGE;
}
