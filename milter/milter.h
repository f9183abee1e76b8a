/*
 * milter.h - state shared by the daemon's files: the loaded configuration,
 * keys and store, and the per-connection and per-message contexts.
 */
#ifndef ACK_MILTER_H
#define ACK_MILTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "ackmilter.h"

/* Caps on what one message may make us keep. */
#define MAX_RCPT 1000
#define MAX_FIELD 998

/*
 * What a reload replaces: configuration, keys and patterns.  A connection holds a
 * reference to the snapshot current when it started, so a reload applies
 * to new connections and never changes the rules under a message.
 */
struct snap {
	ack_config *cfg;
	ack_keys *keys;
	ack_patterns *patterns; /* non-standard bounces, auto-replies, reasons */
	unsigned refs; /* connections using it, +1 while it is current */
};

struct ackd {
	struct snap *snap; /* the current snapshot; see snap_get() */
	ack_store *store;  /* one handle for all threads (thread-safe) */
	atomic_uint busy;  /* messages between MAIL and their end */
	atomic_uint calls; /* callbacks entered: a stop sees the MTA still busy */
	atomic_bool stopping; /* set before the store closes: new messages pass */
};
extern struct ackd ackd;

/* daemon.c */
struct snap *snap_get(void);
void snap_put(struct snap *s);

struct rcpt {
	char *arg;    /* as received in RCPT TO, e.g. "<bob@example.net>" */
	char *addr;   /* without <> */
	char *notify; /* the client's NOTIFY= value, or NULL */
	char *orcpt;  /* the client's ORCPT= value (xtext), or NULL */
	bool local;   /* Sendmail delivers it locally ({rcpt_mailer} "local") */
};

struct msg {
	const struct snap *snap; /* the connection's */
	bool outgoing;
	bool auth;
	bool sendmail; /* the connection's MTA is Sendmail */
	char *sender_arg; /* as received in MAIL FROM */
	int ret;          /* client's RET: -1 none, 0 HDRS, 1 FULL */
	struct rcpt *rcpt;
	size_t nrcpt, rcpt_size;
	char *message_id;
	int track_headers; /* tracking header fields seen */
	bool has_dnt;      /* Disposition-Notification-To present */
	bool null_sender;
	bool report;       /* inbound and possibly a report: parse the body */
	size_t rcpt_return; /* recipients that are signed return addresses */
	size_t rcpt_other;  /* ... and the others */
	char env_token[ACK_TOKEN_LEN + 1]; /* from a return address */
	const char *skip_reason; /* why this outgoing message is not tracked */
	bool expects;      /* its store write is announced (msg_expect) */
};

struct conn {
	struct sockaddr_storage addr;
	bool have_addr;
	bool submission; /* {daemon_name} is in SubmissionDaemons */
	bool sendmail;   /* the MTA is Sendmail (mta_is_sendmail, at connect) */
	unsigned long pflags; /* protocol flags agreed at negotiation */
	ack_parser *parser;   /* for inbound reports, made on first use */
	struct snap *snap;    /* configuration for this connection */
	struct msg *msg;
};

/*
 * What end of message decides for a message, mapped to the MTA's reply
 * (SMFIS_*) in one place, ackmilter.c: it goes on (with whatever changes
 * were requested), it is deferred (OnError tempfail), or it is dropped
 * (a recorded report, ReportAction discard).
 */
enum verdict {
	VERDICT_CONTINUE,
	VERDICT_TEMPFAIL,
	VERDICT_DISCARD,
};

/* outgoing.c */
enum verdict outgoing_eom(SMFICTX *ctx, struct msg *m, const char *qid);
void strip_tracking(SMFICTX *ctx, const struct msg *m, const char *qid);
void msg_free(struct msg *m);
void msg_expect(struct msg *m, bool on);

/* inbound.c */
void inbound_rcpt(struct msg *m, const char *addr);
void inbound_header(struct conn *c, const char *name, const char *value);
void inbound_eoh(struct conn *c);
void inbound_body(struct conn *c, const unsigned char *p, size_t len);
enum verdict inbound_eom(SMFICTX *ctx, struct conn *c, const char *qid);

/* ackmilter.c */
extern struct smfiDesc ack_milter_desc;

#endif
