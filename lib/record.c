/*
 * record.c - encode and decode the store's records (see record.h and
 * ackmilter-store(5)), and free the structures the store hands out.
 *
 * Each record type is described by a table of fields (tag, type, offset in
 * the C structure); one encoder and one decoder walk the tables.  The
 * decoder never reads past the given length and rejects truncated fields.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "record.h"

enum ftype {
	F_STR,   /* char * */
	F_TOKEN, /* char[ACK_TOKEN_LEN + 1] */
	F_I64,   /* int64_t */
	F_INT,   /* int */
	F_UINT,  /* unsigned */
	F_U32,   /* uint32_t */
};

struct field {
	uint8_t tag;
	uint8_t type;
	size_t off;
};

static const struct field msg_fields[] = {
	{ ACK_TAG_MSG_MESSAGE_ID, F_STR, offsetof(ack_msg, message_id) },
	{ ACK_TAG_MSG_SENDER, F_STR, offsetof(ack_msg, sender) },
	{ ACK_TAG_MSG_QUEUE_ID, F_STR, offsetof(ack_msg, queue_id) },
	{ ACK_TAG_MSG_SUBMITTED, F_I64, offsetof(ack_msg, submitted) },
	{ ACK_TAG_MSG_FLAGS, F_U32, offsetof(ack_msg, flags) },
};

static const struct field rcpt_fields[] = {
	{ ACK_TAG_RCPT_ADDRESS, F_STR, offsetof(ack_rcpt, address) },
	{ ACK_TAG_RCPT_ORCPT, F_STR, offsetof(ack_rcpt, orcpt) },
	{ ACK_TAG_RCPT_NOTIFY, F_UINT, offsetof(ack_rcpt, notify) },
	{ ACK_TAG_RCPT_DSN_STATE, F_INT, offsetof(ack_rcpt, dsn_state) },
	{ ACK_TAG_RCPT_DSN_STATUS, F_STR, offsetof(ack_rcpt, dsn_status) },
	{ ACK_TAG_RCPT_DSN_DIAGNOSTIC, F_STR, offsetof(ack_rcpt, dsn_diagnostic) },
	{ ACK_TAG_RCPT_DSN_REMOTE_MTA, F_STR, offsetof(ack_rcpt, dsn_remote_mta) },
	{ ACK_TAG_RCPT_DSN_REASON, F_STR, offsetof(ack_rcpt, dsn_reason) },
	{ ACK_TAG_RCPT_DSN_UPDATED, F_I64, offsetof(ack_rcpt, dsn_updated) },
	{ ACK_TAG_RCPT_MDN_STATE, F_INT, offsetof(ack_rcpt, mdn_state) },
	{ ACK_TAG_RCPT_MDN_DISPOSITION, F_STR, offsetof(ack_rcpt, mdn_disposition) },
	{ ACK_TAG_RCPT_MDN_UPDATED, F_I64, offsetof(ack_rcpt, mdn_updated) },
	{ ACK_TAG_RCPT_DSN_HARD, F_INT, offsetof(ack_rcpt, dsn_hard) },
	{ ACK_TAG_RCPT_DSN_REFINED_STATUS, F_STR, offsetof(ack_rcpt, dsn_refined_status) },
};

static const struct field event_fields[] = {
	{ ACK_TAG_EV_TIME, F_I64, offsetof(ack_event, time) },
	{ ACK_TAG_EV_TOKEN, F_TOKEN, offsetof(ack_event, token) },
	{ ACK_TAG_EV_RECIPIENT, F_STR, offsetof(ack_event, recipient) },
	{ ACK_TAG_EV_KIND, F_STR, offsetof(ack_event, kind) },
	{ ACK_TAG_EV_ACTION, F_STR, offsetof(ack_event, action) },
	{ ACK_TAG_EV_STATUS, F_STR, offsetof(ack_event, status) },
	{ ACK_TAG_EV_DETAIL, F_STR, offsetof(ack_event, detail) },
};

/* ---------------------------------------------------------------- encode */

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
add_tlv(ack_buf *out, uint8_t tag, const void *v, size_t len)
{
	unsigned char h[3];
	int rc;

	if (len > ACK_REC_STRMAX)
		len = ACK_REC_STRMAX;
	h[0] = tag;
	h[1] = (unsigned char)(len >> 8);
	h[2] = (unsigned char)(len & 0xff);
	if ((rc = ack_buf_add(out, h, sizeof h)) != ACK_OK)
		return rc;
	return ack_buf_add(out, v, len);
}

/* The integer value of an integer field, widened to 64 bits. */
static uint64_t
int_value(const struct field *f, const char *obj)
{
	const void *p = obj + f->off;

	switch (f->type) {
	case F_I64: return (uint64_t)*(const int64_t *)p;
	case F_INT: return (uint64_t)(int64_t)*(const int *)p;
	case F_UINT: return *(const unsigned *)p;
	default: return *(const uint32_t *)p;
	}
}

static int
encode_field(ack_buf *out, const struct field *f, const char *obj)
{
	const char *s;
	unsigned char be[8];
	uint64_t v;

	if (f->type == F_STR) {
		s = *(char *const *)(obj + f->off);
		return s ? add_tlv(out, f->tag, s, strlen(s)) : ACK_OK;
	}
	if (f->type == F_TOKEN) {
		s = obj + f->off;
		return s[0] ? add_tlv(out, f->tag, s, strnlen(s, ACK_TOKEN_LEN)) : ACK_OK;
	}
	if ((v = int_value(f, obj)) == 0)
		return ACK_OK;
	put_be64(be, v);
	return add_tlv(out, f->tag, be, sizeof be);
}

static int
encode(ack_buf *out, char type, const struct field *fields, size_t nf,
    const void *obj)
{
	const char prefix[3] = { ACK_REC_MAGIC, type, ACK_REC_VERSION };
	int rc;

	ack_buf_reset(out);
	if ((rc = ack_buf_add(out, prefix, sizeof prefix)) != ACK_OK)
		return rc;
	for (size_t i = 0; i < nf; i++)
		if ((rc = encode_field(out, &fields[i], obj)) != ACK_OK)
			return rc;
	return ACK_OK;
}

int
ack__rec_encode_msg(ack_buf *out, const ack_msg *m)
{
	return encode(out, ACK_REC_MSG, msg_fields, ACK_ARRAY_LEN(msg_fields), m);
}

int
ack__rec_encode_rcpt(ack_buf *out, const ack_rcpt *r)
{
	return encode(out, ACK_REC_RCPT, rcpt_fields, ACK_ARRAY_LEN(rcpt_fields), r);
}

int
ack__rec_encode_event(ack_buf *out, const ack_event *e)
{
	return encode(out, ACK_REC_EVENT, event_fields,
	    ACK_ARRAY_LEN(event_fields), e);
}

/* ---------------------------------------------------------------- decode */

static void
clear_fields(const struct field *fields, size_t nf, char *obj)
{
	for (size_t i = 0; i < nf; i++) {
		if (fields[i].type == F_STR) {
			char **sp = (char **)(obj + fields[i].off);
			free(*sp);
			*sp = NULL;
		}
	}
}

/* Store a 64-bit value into an integer field, checking its range. */
static int
set_int(const struct field *f, char *obj, uint64_t v)
{
	int64_t sv = (int64_t)v;
	void *p = obj + f->off;

	switch (f->type) {
	case F_I64:
		*(int64_t *)p = sv;
		return ACK_OK;
	case F_INT:
		if (sv < INT_MIN || sv > INT_MAX)
			return ACK_ECORRUPT;
		*(int *)p = (int)sv;
		return ACK_OK;
	case F_UINT:
		if (v > UINT_MAX)
			return ACK_ECORRUPT;
		*(unsigned *)p = (unsigned)v;
		return ACK_OK;
	default:
		if (v > UINT32_MAX)
			return ACK_ECORRUPT;
		*(uint32_t *)p = (uint32_t)v;
		return ACK_OK;
	}
}

static int
decode_field(const struct field *f, char *obj, const unsigned char *v,
    size_t len)
{
	char **sp, *s;

	switch (f->type) {
	case F_STR:
		if ((s = ack__strndup((const char *)v, len)) == NULL)
			return ACK_ENOMEM;
		sp = (char **)(obj + f->off);
		free(*sp);
		*sp = s;
		return ACK_OK;
	case F_TOKEN:
		if (len > ACK_TOKEN_LEN)
			return ACK_ECORRUPT;
		memcpy(obj + f->off, v, len);
		obj[f->off + len] = '\0';
		return ACK_OK;
	default:
		if (len != 8)
			return ACK_ECORRUPT;
		return set_int(f, obj, get_be64(v));
	}
}

static const struct field *
find_field(const struct field *fields, size_t nf, unsigned tag)
{
	for (size_t i = 0; i < nf; i++)
		if (fields[i].tag == tag)
			return &fields[i];
	return NULL;
}

static int
decode_tlvs(const unsigned char *p, size_t n, const struct field *fields,
    size_t nf, char *obj)
{
	size_t i = 3;
	int rc;

	while (i < n) {
		const struct field *f;
		size_t len;

		if (n - i < 3)
			return ACK_ECORRUPT;
		len = (size_t)p[i + 1] << 8 | p[i + 2];
		if (n - i - 3 < len)
			return ACK_ECORRUPT;
		f = find_field(fields, nf, p[i]);
		if (f && (rc = decode_field(f, obj, p + i + 3, len)) != ACK_OK)
			return rc;
		i += 3 + len;
	}
	return ACK_OK;
}

static int
decode(const void *data, size_t n, char type, const struct field *fields,
    size_t nf, void *obj, size_t objsize)
{
	const unsigned char *p = data;
	int rc;

	if (data == NULL || n < 3 || p[0] != ACK_REC_MAGIC || p[1] != type ||
	    p[2] != ACK_REC_VERSION)
		return ACK_ECORRUPT;
	if ((rc = decode_tlvs(p, n, fields, nf, obj)) != ACK_OK) {
		clear_fields(fields, nf, obj);
		memset(obj, 0, objsize);
	}
	return rc;
}

int
ack__rec_decode_msg(const void *p, size_t n, ack_msg *m)
{
	return decode(p, n, ACK_REC_MSG, msg_fields, ACK_ARRAY_LEN(msg_fields), m,
	    sizeof *m);
}

int
ack__rec_decode_rcpt(const void *p, size_t n, ack_rcpt *r)
{
	return decode(p, n, ACK_REC_RCPT, rcpt_fields,
	    ACK_ARRAY_LEN(rcpt_fields), r, sizeof *r);
}

int
ack__rec_decode_event(const void *p, size_t n, ack_event *e)
{
	return decode(p, n, ACK_REC_EVENT, event_fields,
	    ACK_ARRAY_LEN(event_fields), e, sizeof *e);
}

/* ---------------------------------------------------------------- free */

void
ack__msg_clear(ack_msg *m)
{
	if (m == NULL)
		return;
	clear_fields(msg_fields, ACK_ARRAY_LEN(msg_fields), (char *)m);
	memset(m, 0, sizeof *m);
}

void
ack_rcpt_clear(ack_rcpt *r)
{
	if (r == NULL)
		return;
	clear_fields(rcpt_fields, ACK_ARRAY_LEN(rcpt_fields), (char *)r);
	memset(r, 0, sizeof *r);
}

void
ack_event_clear(ack_event *e)
{
	if (e == NULL)
		return;
	clear_fields(event_fields, ACK_ARRAY_LEN(event_fields), (char *)e);
	memset(e, 0, sizeof *e);
}

void
ack_record_free(ack_record *r)
{
	if (r == NULL)
		return;
	ack__msg_clear(&r->msg);
	for (size_t i = 0; i < r->nrcpt; i++)
		ack_rcpt_clear(&r->rcpt[i]);
	free(r->rcpt);
	r->rcpt = NULL;
	r->nrcpt = 0;
}
