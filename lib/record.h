/*
 * record.h - on-disk encoding of the store's records (message, recipient,
 * event).  Internal to the library; the format is documented byte for byte
 * in ackmilter-store(5).
 *
 * A record is a 3-byte prefix ('A', type, version) followed by TLV fields:
 * tag (1 byte), length (2 bytes, big endian), value.  Strings are raw bytes
 * without NUL, integers 8 bytes big endian (two's complement).  Absent
 * strings and zero integers are omitted; unknown tags are skipped.
 */
#ifndef ACK_RECORD_H
#define ACK_RECORD_H

#include <stddef.h>

#include "ackmilter.h"

#define ACK_REC_MAGIC 'A'
#define ACK_REC_MSG 'M'
#define ACK_REC_RCPT 'R'
#define ACK_REC_EVENT 'E'
#define ACK_REC_VERSION 1
#define ACK_REC_STRMAX 65535 /* longer strings are truncated on write */

/* Tags of a message record ('M'). */
enum {
	ACK_TAG_MSG_MESSAGE_ID = 1,
	ACK_TAG_MSG_SENDER = 2,
	ACK_TAG_MSG_QUEUE_ID = 3,
	ACK_TAG_MSG_SUBMITTED = 4,
	ACK_TAG_MSG_FLAGS = 5,
};

/* Tags of a recipient record ('R'). */
enum {
	ACK_TAG_RCPT_ADDRESS = 1,
	ACK_TAG_RCPT_ORCPT = 2,
	ACK_TAG_RCPT_NOTIFY = 3,
	ACK_TAG_RCPT_DSN_STATE = 4,
	ACK_TAG_RCPT_DSN_STATUS = 5,
	ACK_TAG_RCPT_DSN_DIAGNOSTIC = 6,
	ACK_TAG_RCPT_DSN_REMOTE_MTA = 7,
	ACK_TAG_RCPT_DSN_REASON = 8,
	ACK_TAG_RCPT_DSN_UPDATED = 9,
	ACK_TAG_RCPT_MDN_STATE = 10,
	ACK_TAG_RCPT_MDN_DISPOSITION = 11,
	ACK_TAG_RCPT_MDN_UPDATED = 12,
	ACK_TAG_RCPT_DSN_HARD = 13, /* optional: absent in older records */
	ACK_TAG_RCPT_DSN_REFINED_STATUS = 14, /* optional, likewise */
};

/* Tags of an event record ('E'). */
enum {
	ACK_TAG_EV_TIME = 1,
	ACK_TAG_EV_TOKEN = 2,
	ACK_TAG_EV_RECIPIENT = 3,
	ACK_TAG_EV_KIND = 4,
	ACK_TAG_EV_ACTION = 5,
	ACK_TAG_EV_STATUS = 6,
	ACK_TAG_EV_DETAIL = 7,
};

/*
 * Encoders replace the content of out.  Decoders fill a zeroed structure
 * (message: every field but token; event: every field but seq) and return
 * ACK_OK, ACK_ECORRUPT (bad prefix, truncated or malformed field; the
 * structure is then cleared) or ACK_ENOMEM.
 */
int ack__rec_encode_msg(ack_buf *out, const ack_msg *m) ACK_WUR;
int ack__rec_encode_rcpt(ack_buf *out, const ack_rcpt *r) ACK_WUR;
int ack__rec_encode_event(ack_buf *out, const ack_event *e) ACK_WUR;
int ack__rec_decode_msg(const void *p, size_t n, ack_msg *m) ACK_WUR;
int ack__rec_decode_rcpt(const void *p, size_t n, ack_rcpt *r) ACK_WUR;
int ack__rec_decode_event(const void *p, size_t n, ack_event *e) ACK_WUR;
/* Free the strings of a message and zero it. */
void ack__msg_clear(ack_msg *m);

#endif
