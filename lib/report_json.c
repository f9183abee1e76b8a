/*
 * report_json.c - the names of report kinds and the JSON form of a report.
 */
#include "config.h"

#include "internal.h"

static const char *const kind_names[] = {
	"none", "dsn", "mdn", "arf", "bounce", "autoreply",
};

const char *
ack_report_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= ACK_ARRAY_LEN(kind_names))
		return "unknown";
	return kind_names[kind];
}

static int
json_kv(ack_json *j, const char *k, const char *v)
{
	int rc = ack_json_key(j, k);

	return rc == ACK_OK ? ack_json_str(j, v) : rc;
}

static int
json_rcpt(ack_json *j, const ack_report_rcpt *r)
{
	int rc = ack_json_obj_open(j);

	if (rc == ACK_OK)
		rc = json_kv(j, "address", r->final_recipient);
	if (rc == ACK_OK)
		rc = json_kv(j, "original_recipient", r->original_recipient);
	if (rc == ACK_OK)
		rc = json_kv(j, "action", r->action);
	if (rc == ACK_OK)
		rc = json_kv(j, "status", r->status);
	/* only when there is one: the key is newer than the others */
	if (rc == ACK_OK && r->refined_status != NULL)
		rc = json_kv(j, "refined_status", r->refined_status);
	if (rc == ACK_OK)
		rc = json_kv(j, "diagnostic", r->diagnostic);
	if (rc == ACK_OK)
		rc = json_kv(j, "remote_mta", r->remote_mta);
	if (rc == ACK_OK)
		rc = json_kv(j, "disposition", r->disposition);
	if (rc == ACK_OK)
		rc = json_kv(j, "reason", r->reason);
	if (rc == ACK_OK && (rc = ack_json_key(j, "hard")) == ACK_OK)
		rc = r->hard < 0 ? ack_json_null(j) : ack_json_bool(j, r->hard == 1);
	/* a bounce that names no one failed: the address is only the returned
	 * message's To: (the store applies it to an open recipient alone) */
	if (rc == ACK_OK && r->guessed && (rc = ack_json_key(j, "guessed")) == ACK_OK)
		rc = ack_json_bool(j, true);
	return rc == ACK_OK ? ack_json_obj_close(j) : rc;
}

int
ack_report_json(const ack_report *r, ack_json *j)
{
	int rc = json_kv(j, "kind", ack_report_kind_name(r->kind));

	if (rc == ACK_OK)
		rc = json_kv(j, "reporting_mta", r->reporting_mta);
	if (rc == ACK_OK)
		rc = json_kv(j, "original_envelope_id", r->original_envelope_id);
	if (rc == ACK_OK)
		rc = json_kv(j, "original_message_id", r->original_message_id);
	if (rc == ACK_OK)
		rc = json_kv(j, "returned_token", r->returned_token);
	if (rc == ACK_OK && (rc = ack_json_key(j, "truncated")) == ACK_OK)
		rc = ack_json_bool(j, r->truncated);
	if (rc == ACK_OK && (rc = ack_json_key(j, "recipients")) == ACK_OK)
		rc = ack_json_arr_open(j);
	for (size_t i = 0; rc == ACK_OK && i < r->nrcpt; i++)
		rc = json_rcpt(j, &r->rcpt[i]);
	return rc == ACK_OK ? ack_json_arr_close(j) : rc;
}
