/*
 * ackmilter.h - public interface of libackmilter.
 *
 * The library knows nothing about libmilter.  It holds the tracking token
 * (keys, make, verify), the LMDB receipt store, the configuration table and
 * loader, the report parser and a small JSON writer.  Every fallible call
 * returns an int status: ACK_OK (0) or a negative ACK_E* code that cannot
 * clash with errno; ack_strerror() names it.  The library never exits,
 * aborts or logs; details of a failure are written to a caller's buffer or
 * kept on the handle.
 */
#ifndef ACKMILTER_H
#define ACKMILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ACK_WUR __attribute__((warn_unused_result))
#define ACK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ACK_WUR
#define ACK_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

enum {
	ACK_OK = 0,
	ACK_ENOMEM = -30900, /* out of memory */
	ACK_EINVAL,          /* invalid argument or malformed input */
	ACK_ENOTFOUND,       /* no such record / key */
	ACK_ETOKEN,          /* token malformed */
	ACK_EMAC,            /* token MAC does not verify */
	ACK_ENOKEY,          /* token names a key id we do not hold */
	ACK_EKEYFILE,        /* key file unusable (syntax, empty) */
	ACK_EPERM,           /* file permissions unsafe */
	ACK_EIO,             /* system error; errno is meaningful */
	ACK_ESTORE,          /* LMDB error */
	ACK_ESCHEMA,         /* store schema version mismatch */
	ACK_EFULL,           /* store map full */
	ACK_ECONFIG,         /* configuration error */
	ACK_ETOOBIG,         /* a cap was reached */
	ACK_EEXIST,          /* record exists */
	ACK_ECORRUPT,        /* record cannot be decoded */
};

const char *ack_strerror(int status);

/* ------------------------------------------------------------------ */
/* Bounded buffer                                                      */
/* ------------------------------------------------------------------ */

/*
 * A growable byte string with a hard cap.  Appends past the cap fail with
 * ACK_ETOOBIG and set the "truncated" flag; the content stays NUL
 * terminated at all times.
 */
typedef struct ack_buf {
	char *data;
	size_t len;
	size_t size;
	size_t cap;
	bool truncated;
} ack_buf;

void ack_buf_init(ack_buf *b, size_t cap);
void ack_buf_free(ack_buf *b);
void ack_buf_reset(ack_buf *b);
int ack_buf_add(ack_buf *b, const void *p, size_t n) ACK_WUR;
int ack_buf_adds(ack_buf *b, const char *s) ACK_WUR;
int ack_buf_addc(ack_buf *b, char c) ACK_WUR;
int ack_buf_printf(ack_buf *b, const char *fmt, ...) ACK_WUR ACK_PRINTF(2, 3);

/* ------------------------------------------------------------------ */
/* Keys and tokens                                                     */
/* ------------------------------------------------------------------ */

/*
 * Token: 40 characters of lowercase RFC 4648 base32 (a-z, 2-7) encoding 25
 * bytes: version (1), key id (1), hours since the epoch (3, big endian),
 * random (10), MAC (10).  The MAC is keyed BLAKE2b over the first 15
 * bytes, truncated to 80 bits.  Verification folds case first.
 */
#define ACK_TOKEN_LEN 40
#define ACK_TOKEN_VERSION 1
#define ACK_KEY_BYTES 32

typedef struct ack_keys ack_keys;

/*
 * Load a key file.  Lines: "ID CREATED BASE64KEY" (ID 1..255, CREATED an
 * RFC 3339 UTC time, key 32 bytes base64); '#' comments, blank lines.  The
 * key with the newest CREATED (ties: the later line) signs; all verify.  A
 * file readable or writable by group or others is refused (ACK_EPERM).
 * err receives "file:line: problem" on failure.
 */
int ack_keys_load(ack_keys **out, const char *path, char *err, size_t errlen) ACK_WUR;
void ack_keys_free(ack_keys *k);
unsigned ack_keys_count(const ack_keys *k);
unsigned ack_keys_signing_id(const ack_keys *k);
/* Create the file (mode 0600) or append a fresh key; *id gets its id. */
int ack_keys_generate(const char *path, unsigned *id, char *err, size_t errlen) ACK_WUR;

typedef struct ack_token_info {
	unsigned version;
	unsigned key_id;
	int64_t issued; /* unix time, hour resolution */
} ack_token_info;

/* out must hold ACK_TOKEN_LEN + 1 bytes. */
int ack_token_make(const ack_keys *k, int64_t now, char *out) ACK_WUR;
/* Decode without checking the MAC (syntax, version, fields). */
int ack_token_decode(const char *s, size_t len, ack_token_info *info) ACK_WUR;
/* ACK_OK, ACK_ETOKEN (syntax), ACK_ENOKEY, ACK_EMAC.  Constant time MAC check. */
int ack_token_verify(const ack_keys *k, const char *s, size_t len,
    ack_token_info *info) ACK_WUR;
/* Canonical (lowercase) form of a syntactically valid token into out[41]. */
int ack_token_canon(const char *s, size_t len, char *out) ACK_WUR;

/* xtext (RFC 3461 section 4) encoding, NUL terminated. */
int ack_xtext_encode(ack_buf *out, const char *s, size_t len) ACK_WUR;
int ack_xtext_decode(ack_buf *out, const char *s, size_t len) ACK_WUR;

/* ------------------------------------------------------------------ */
/* Receipt state                                                       */
/* ------------------------------------------------------------------ */

typedef enum {
	ACK_DSN_NONE = 0, /* not requested */
	ACK_DSN_PENDING,
	ACK_DSN_RELAYED,
	ACK_DSN_DELIVERED,
	ACK_DSN_EXPANDED,
	ACK_DSN_DELAYED,
	ACK_DSN_FAILED,
	ACK_DSN__COUNT
} ack_dsn_state;

typedef enum {
	ACK_MDN_NONE = 0, /* not requested */
	ACK_MDN_PENDING,
	ACK_MDN_DISPLAYED,
	ACK_MDN_DELETED,
	ACK_MDN_DISPATCHED,
	ACK_MDN_PROCESSED,
	ACK_MDN_DENIED,
	ACK_MDN_FAILED,
	ACK_MDN__COUNT
} ack_mdn_state;

const char *ack_dsn_state_name(int s);
const char *ack_mdn_state_name(int s);
/* -1 when unknown.  Matches the first word, case-insensitively. */
int ack_dsn_state_parse(const char *s, size_t len);
int ack_mdn_state_parse(const char *s, size_t len);
/* A final DSN state (everything but none, pending, delayed). */
bool ack_dsn_state_final(int s);

/* NOTIFY bits (RFC 3461). NEVER excludes the others. */
#define ACK_NOTIFY_SUCCESS 0x1u
#define ACK_NOTIFY_FAILURE 0x2u
#define ACK_NOTIFY_DELAY 0x4u
#define ACK_NOTIFY_NEVER 0x8u
/* Parse "SUCCESS,FAILURE,DELAY" / "NEVER"; ACK_EINVAL on anything else. */
int ack_notify_parse(const char *s, unsigned *bits) ACK_WUR;
/* Write the canonical form ("SUCCESS,FAILURE,DELAY") into out. */
void ack_notify_format(unsigned bits, char *out, size_t outlen);

/* Message flags */
#define ACK_MSG_RET_FULL 0x1u    /* RET=FULL (else HDRS) */
#define ACK_MSG_MDN_REQ 0x2u     /* a read receipt was requested */
#define ACK_MSG_MDN_ADDED 0x4u   /* ... by ackmilter (ReadReceipts always) */
#define ACK_MSG_RETURN_PATH 0x8u /* envelope sender replaced by signed address */
#define ACK_MSG_AUTH 0x10u       /* outgoing because the client authenticated */

/*
 * Strings are NUL-terminated and owned by the structure they are in; a
 * record returned by the store is freed with ack_record_free().  NULL
 * means "absent".
 */
/* ack_rcpt.dsn_hard: is the address unusable (ack_reason_hard)?  Zero is
 * "unknown" so that a zeroed recipient and an older record read right. */
enum {
	ACK_HARD_UNKNOWN = 0,
	ACK_HARD_YES = 1, /* hard: the address itself is unusable */
	ACK_HARD_NO = 2,  /* soft: worth another try later */
};

typedef struct ack_rcpt {
	char *address; /* as given in RCPT TO, without <> */
	char *orcpt;   /* ORCPT value as sent, e.g. "rfc822;a@b" (decoded) */
	unsigned notify;
	int dsn_state;
	char *dsn_status;     /* RFC 3463 d.d.d */
	char *dsn_refined_status; /* the diagnostic's, when dsn_status is vague */
	char *dsn_diagnostic; /* Diagnostic-Code */
	char *dsn_remote_mta; /* Remote-MTA */
	char *dsn_reason;     /* reason taxonomy word */
	int dsn_hard;         /* ACK_HARD_*, set with dsn_reason */
	int64_t dsn_updated;  /* unix time, 0 when never */
	int mdn_state;
	char *mdn_disposition; /* full Disposition field */
	int64_t mdn_updated;
} ack_rcpt;

typedef struct ack_msg {
	char token[ACK_TOKEN_LEN + 1];
	char *message_id; /* with <>, as in the header */
	char *sender;     /* original envelope sender, without <> */
	char *queue_id;
	int64_t submitted; /* unix time */
	uint32_t flags;
} ack_msg;

typedef struct ack_record {
	ack_msg msg;
	ack_rcpt *rcpt;
	size_t nrcpt;
} ack_record;

void ack_record_free(ack_record *r);
void ack_rcpt_clear(ack_rcpt *r);

/* An entry in the append-only event log. */
typedef struct ack_event {
	uint64_t seq;      /* cursor, assigned by the store */
	int64_t time;      /* when recorded */
	char token[ACK_TOKEN_LEN + 1];
	char *recipient;   /* may be NULL (message-level event) */
	char *kind;        /* "submit", "dsn", "mdn", "arf", "bounce", "autoreply" */
	char *action;      /* DSN action / MDN disposition type */
	char *status;      /* d.d.d or NULL */
	char *detail;      /* diagnostic or free text, may be NULL */
} ack_event;

void ack_event_clear(ack_event *e);

/* ------------------------------------------------------------------ */
/* Store (LMDB)                                                        */
/* ------------------------------------------------------------------ */

#define ACK_STORE_SCHEMA 1
#define ACK_STORE_RDONLY 0x1u
#define ACK_STORE_CREATE 0x2u /* create the directory and schema if needed */
#define ACK_STORE_NOGROUP 0x4u /* one durable commit per write call (no group commit) */

typedef struct ack_store ack_store;

/*
 * Open the store in directory dir.  mapsize 0 means the default (1 GiB).
 * A store with another schema version gives ACK_ESCHEMA.  err receives a
 * one-line explanation on failure.  A process must not open the same store
 * twice.  Threads may share a handle (a map growth waits until no
 * transaction, a long foreach say, is open).  Writes are group
 * committed: the writes of concurrent callers share one write transaction
 * and one durable commit (each in a nested transaction, so that one
 * failing does not undo the others), and each call returns only once the
 * commit holding its write is done; a failed commit fails every write of
 * it.  ACK_STORE_NOGROUP gives each write a commit of its own.
 */
int ack_store_open(ack_store **out, const char *dir, unsigned flags,
    size_t mapsize, char *err, size_t errlen) ACK_WUR;
void ack_store_close(ack_store *s);
/*
 * Group commit may wait.  Callers announce a write they are about to make
 * with ack_store_expect(s, 1) (a message under way) and withdraw it with
 * ack_store_expect(s, -1) once written or given up.  A commit then waits
 * up to usec microseconds (0, the default: never) for the other announced
 * writers to queue, so that fewer commits (fsyncs) serve the same writes;
 * with no other writer announced it does not wait.
 */
void ack_store_set_commit_delay(ack_store *s, unsigned usec);
void ack_store_expect(ack_store *s, int delta);
/* Details of the calling thread's last failed call on a store
 * ("mdb_put: MDB_MAP_FULL ..."). */
const char *ack_store_errmsg(const ack_store *s);

/*
 * Record a new message and its recipients, one durable transaction, plus a
 * "submit" event per recipient.  ACK_EEXIST when the token is known.
 */
int ack_store_put(ack_store *s, const ack_msg *m, const ack_rcpt *r,
    size_t n) ACK_WUR;

/* Fetch a message and its recipients by token. */
int ack_store_get(ack_store *s, const char *token, ack_record *out) ACK_WUR;

/*
 * Resolve a token, a Message-ID (with or without <>) or a queue id to a
 * token.  Tokens are tried first, then Message-IDs, then queue ids.  When
 * several messages match, the most recent wins.
 */
int ack_store_lookup(ack_store *s, const char *what,
    char token[ACK_TOKEN_LEN + 1]) ACK_WUR;

/*
 * Apply a parsed report to the message named by token, in one write
 * transaction: per report recipient, find the store recipient (by final or
 * original recipient, case-insensitively; one unknown to the store is
 * added), update the DSN side (kind dsn or bounce) or the MDN side (kind
 * mdn), append an event (arf and autoreply: an event only).  delayed never
 * overwrites a final DSN state.  A report already applied (same content)
 * changes nothing and counts as duplicate.  ACK_ENOTFOUND when the token
 * is unknown.
 */
typedef struct ack_apply_result {
	unsigned updated;   /* recipients whose state changed */
	unsigned added;     /* recipients added to the message */
	unsigned events;    /* events appended */
	unsigned duplicate; /* recipient blocks already seen */
} ack_apply_result;

struct ack_report;
int ack_store_apply(ack_store *s, const char *token,
    const struct ack_report *r, int64_t now, ack_apply_result *res) ACK_WUR;

/* Iterate every message, oldest token order; cb returns non-zero to stop. */
typedef int (*ack_store_msg_cb)(const ack_record *r, void *arg);
int ack_store_foreach(ack_store *s, ack_store_msg_cb cb, void *arg) ACK_WUR;

/* Iterate events with seq > after. */
typedef int (*ack_store_event_cb)(const ack_event *e, void *arg);
int ack_store_events(ack_store *s, uint64_t after, ack_store_event_cb cb,
    void *arg) ACK_WUR;

/* Counts and map usage, from one read transaction. */
typedef struct ack_store_info {
	uint64_t messages;
	uint64_t recipients;
	uint64_t events;
	uint64_t map_used; /* bytes of the map in use (pages up to the last) */
	uint64_t map_size; /* current map size in bytes */
	uint64_t commits;  /* durable write commits by this handle since open */
	uint64_t writes;   /* write calls they held (> commits: grouped) */
} ack_store_info;

int ack_store_stat(ack_store *s, ack_store_info *info) ACK_WUR;

/* Highest event sequence number in use (0: the log is empty). */
int ack_store_last_event(ack_store *s, uint64_t *seq) ACK_WUR;

/*
 * Iterate the events of one message (token), oldest first, through the
 * token -> event index ("evtok"; a store made before it and opened
 * read-only: a scan of the whole log).  ACK_ENOTFOUND when the message is
 * unknown.
 */
int ack_store_message_events(ack_store *s, const char *token,
    ack_store_event_cb cb, void *arg) ACK_WUR;

/*
 * Delete the messages submitted before `before`, their recipients, their
 * Message-ID and queue id index entries, and every event (with its token
 * index entry, not counted in `index`) of a message that
 * is not (or no longer) in the store, except the last event of the log
 * (new events number on from it, so export cursors stay valid).  Work is
 * done in bounded write transactions; the milter may write in between.
 * dry_run only counts.  progress (may be NULL) is called after each
 * transaction with records looked at and the total to look at.  The
 * digests of the "seen" database cannot be tied to a message and stay.
 */
typedef struct ack_purge_result {
	uint64_t messages;
	uint64_t recipients;
	uint64_t events;
	uint64_t index; /* Message-ID and queue id index entries */
	uint64_t reports; /* digests of reports applied before the cutoff */
} ack_purge_result;

typedef void (*ack_store_progress_cb)(uint64_t done, uint64_t total, void *arg);
int ack_store_purge(ack_store *s, int64_t before, bool dry_run,
    ack_store_progress_cb progress, void *arg, ack_purge_result *res) ACK_WUR;

/* ------------------------------------------------------------------ */
/* JSON writer                                                         */
/* ------------------------------------------------------------------ */

/*
 * Writes compact JSON into an ack_buf.  Strings are escaped: control
 * characters as \u00XX, invalid UTF-8 bytes replaced by U+FFFD.  The
 * writer inserts commas itself; keys are only valid inside objects.
 */
typedef struct ack_json {
	ack_buf *out;
	unsigned depth;
	uint64_t need_comma; /* bit per depth */
	bool after_key;
} ack_json;

void ack_json_init(ack_json *j, ack_buf *out);
int ack_json_obj_open(ack_json *j) ACK_WUR;
int ack_json_obj_close(ack_json *j) ACK_WUR;
int ack_json_arr_open(ack_json *j) ACK_WUR;
int ack_json_arr_close(ack_json *j) ACK_WUR;
int ack_json_key(ack_json *j, const char *k) ACK_WUR;
int ack_json_str(ack_json *j, const char *s) ACK_WUR; /* NULL writes null */
int ack_json_strn(ack_json *j, const char *s, size_t n) ACK_WUR;
int ack_json_int(ack_json *j, int64_t v) ACK_WUR;
int ack_json_bool(ack_json *j, bool v) ACK_WUR;
int ack_json_null(ack_json *j) ACK_WUR;
/* RFC 3339 UTC ("2026-11-26T06:07:44Z"); 0 writes null. */
int ack_json_time(ack_json *j, int64_t t) ACK_WUR;
/* A member in one call: key, then the value as above. */
int ack_json_kstr(ack_json *j, const char *k, const char *s) ACK_WUR;
int ack_json_kint(ack_json *j, const char *k, int64_t v) ACK_WUR;
int ack_json_kbool(ack_json *j, const char *k, bool v) ACK_WUR;
int ack_json_ktime(ack_json *j, const char *k, int64_t t) ACK_WUR;
/* Escape arbitrary bytes for a terminal: controls and invalid UTF-8 as \xNN. */
int ack_safe_text(ack_buf *out, const char *s, size_t n) ACK_WUR;
/* Format a unix time as RFC 3339 UTC into out (at least 21 bytes). */
void ack_time_rfc3339(int64_t t, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

typedef enum {
	ACK_ONERROR_ACCEPT = 0,
	ACK_ONERROR_TEMPFAIL
} ack_onerror;

typedef enum {
	ACK_RR_NEVER = 0,
	ACK_RR_ALWAYS,
	ACK_RR_KEEP
} ack_read_receipts;

typedef enum {
	ACK_RA_DISCARD = 0,
	ACK_RA_PASS,
	ACK_RA_HOLD
} ack_report_action;

/* A parsed network (InternalHosts). */
typedef struct ack_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
} ack_net;

typedef struct ack_strlist {
	char **v;
	size_t n;
} ack_strlist;

typedef struct ack_config {
	char *socket;
	char *key_file;
	char *database;
	ack_strlist submission_daemons;
	ack_net *internal_hosts;
	size_t n_internal_hosts;
	bool authenticated_outgoing;
	char *return_path;
	unsigned notify;
	int ret; /* 0 HDRS, 1 FULL */
	int read_receipts;
	int on_error;
	int report_action;
	char *tracking_header;
	char *user_id;
	char *pid_file;
	char *syslog_facility;
	bool log_verbose;
	int64_t database_map_size; /* bytes */
	bool group_commit;         /* GroupCommit */
	int64_t commit_delay;      /* CommitDelay, milliseconds */
	int64_t report_max_size;   /* bytes */
	int64_t socket_backlog;
	int64_t milter_timeout; /* seconds */
	char *pattern_dir;      /* PatternDir: the *.pat files */
} ack_config;

/* Key types of the table. */
typedef enum {
	ACK_CT_STRING,   /* free text */
	ACK_CT_PATH,     /* a file or directory name */
	ACK_CT_BOOL,     /* yes/no/true/false/1/0 */
	ACK_CT_INT,      /* integer within [min, max] */
	ACK_CT_SIZE,     /* integer with optional k/m/g/t suffix, within [min, max] */
	ACK_CT_ENUM,     /* one word of a list */
	ACK_CT_LIST,     /* comma or blank separated words */
	ACK_CT_NOTIFY,   /* NOTIFY keyword list */
	ACK_CT_NETLIST,  /* addresses / CIDR prefixes */
	ACK_CT_TEMPLATE, /* address template with exactly one %t */
	ACK_CT_WORD      /* one word of a list, stored as that word (char *) */
} ack_config_type;

typedef struct ack_config_key {
	const char *name;
	ack_config_type type;
	const char *def;    /* default as written in a config file; NULL: unset */
	int64_t min, max;   /* for INT and SIZE */
	const char *words;  /* for ENUM and WORD: "never|always|keep" */
	const char *doc;    /* one line */
	size_t offset;      /* in ack_config */
} ack_config_key;

/* The table, terminated by an entry with name == NULL. */
const ack_config_key *ack_config_keys(void);

/* Defaults for every key. */
int ack_config_defaults(ack_config **out) ACK_WUR;
/*
 * Load a file over the defaults.  On error err holds "file:line: problem"
 * and ACK_ECONFIG is returned; the first error stops the load.
 */
int ack_config_load(ack_config **out, const char *path, char *err,
    size_t errlen) ACK_WUR;
void ack_config_free(ack_config *c);
/* Does addr (a sockaddr) fall in InternalHosts? */
bool ack_config_internal(const ack_config *c, const void *sockaddr);
/* Print "Key value" for every key (effective configuration). */
void ack_config_dump(const ack_config *c, FILE *fp);

/* ------------------------------------------------------------------ */
/* Reports (DSN, MDN, ARF)                                             */
/* ------------------------------------------------------------------ */

typedef enum {
	ACK_KIND_NONE = 0,
	ACK_KIND_DSN,
	ACK_KIND_MDN,
	ACK_KIND_ARF,
	ACK_KIND_BOUNCE,
	ACK_KIND_AUTOREPLY
} ack_report_kind;

const char *ack_report_kind_name(int kind);

/* One recipient block of a report. */
typedef struct ack_report_rcpt {
	char *final_recipient;    /* address only (type "rfc822;" stripped) */
	char *original_recipient; /* address only */
	char *action;             /* DSN action first word, lowercase / MDN disposition type */
	char *status;             /* d.d.d, as the report states it */
	char *refined_status;     /* DSN: what the diagnostic says when status
	                             is vague (5.0.0 with "no such user":
	                             5.1.1); NULL when it says nothing more */
	char *diagnostic;
	char *remote_mta;
	char *last_attempt;
	char *will_retry_until;
	char *disposition;        /* MDN: full Disposition field */
	char *reason;             /* reason taxonomy word (ack_status_reason) */
	int hard;                 /* 1 hard: the address itself is unusable (not
	                             merely "permanent": a full mailbox or a
	                             policy rejection is soft); 0 soft; -1 unknown */
	bool guessed;             /* non-standard bounce: the address is the
	                             returned message's To:, not named as failed */
} ack_report_rcpt;

typedef struct ack_report {
	int kind;
	char *reporting_mta;
	char *original_envelope_id; /* xtext-decoded */
	char *arrival_date;
	char *original_message_id;  /* MDN; auto-reply: its In-Reply-To */
	char *reporting_ua;         /* MDN */
	char *feedback_type;        /* ARF */
	char *returned_token;       /* Ack-Tracking-Id from returned headers */
	char *returned_message_id;  /* Message-ID from returned headers */
	ack_report_rcpt *rcpt;
	size_t nrcpt;
	bool truncated;             /* the size cap was reached */
} ack_report;

typedef struct ack_parser ack_parser;

/*
 * A parser fed one message in the order of the milter stages: header()
 * per top-level header field (name without colon, value unfolded or not),
 * eoh(), body() chunks of raw body bytes, eom().  Or feed a whole file to
 * ack_parser_message().  Memory is bounded by max_bytes (0: 8 MiB).
 */
int ack_parser_new(ack_parser **out, size_t max_bytes) ACK_WUR;
void ack_parser_free(ack_parser *p);
void ack_parser_reset(ack_parser *p);
int ack_parser_header(ack_parser *p, const char *name, const char *value) ACK_WUR;
int ack_parser_eoh(ack_parser *p) ACK_WUR;
/* After eoh: could this message be a report at all?  The top-level
 * Content-Type is multipart/report; with patterns set, also a message
 * whose headers look like a bounce or an auto-reply (X-Failed-Recipients,
 * Auto-Submitted, X-Autoreply, ..., or a subject / From rule matches). */
bool ack_parser_candidate(const ack_parser *p);
int ack_parser_body(ack_parser *p, const void *data, size_t len) ACK_WUR;
int ack_parser_eom(ack_parser *p) ACK_WUR;
/* A whole raw message (headers and body, any line ends; a leading mbox
 * "From " line and UTF-8 BOM are skipped).  Resets the parser first. */
int ack_parser_message(ack_parser *p, const void *data, size_t len) ACK_WUR;
/* Result after eom; owned by the parser until reset/free. */
const ack_report *ack_parser_result(const ack_parser *p);
/*
 * Pattern library for non-standard bounces and auto-replies: every
 * "*.pat" file of a directory, in name order (the order is the priority
 * of "reason" rules), compiled once with PCRE2 (JIT when available) and
 * matched with match, depth and heap limits.  err receives
 * "file:line: problem" on failure (ACK_ECONFIG; ACK_EIO when the directory
 * cannot be read).  A loaded set is read-only and may be shared by
 * threads; the caller keeps it alive while parsers use it.
 */
typedef struct ack_patterns ack_patterns;
int ack_patterns_load(ack_patterns **out, const char *dir, char *err,
    size_t errlen) ACK_WUR;
void ack_patterns_free(ack_patterns *pt);
/* Number of rules loaded. */
size_t ack_patterns_count(const ack_patterns *pt);
/* Use pt at eom (NULL: none, only RFC reports are recognised).  With
 * patterns the parser also tells kind bounce and autoreply, and takes a
 * DSN recipient's reason from its Diagnostic-Code when the status does
 * not tell (x.0.0, x.y.0, x.7.x); the status stays the one stated. */
void ack_parser_set_patterns(ack_parser *p, const ack_patterns *pt);
/* The name of the tracking header (TrackingHeader) to look for in
 * returned headers; default "Ack-Tracking-Id".  ACK_EINVAL unless it is
 * a letter, then letters, digits or '-', at most ACK_HEADER_NAME_MAX bytes. */
#define ACK_HEADER_NAME_MAX 64
int ack_parser_set_tracking_header(ack_parser *p, const char *name);

/* Reason taxonomy: "userunknown", "mailboxfull", ... "undefined". */
/* The reason a d.d.d status implies, NULL for none (2.x.x, bad syntax). */
const char *ack_status_reason(const char *status);
/* 1 hard (the address is unusable), 0 soft, -1 unknown. */
int ack_reason_hard(const char *reason, const char *status);

/*
 * Write the members of a report into the JSON object the caller has
 * opened (the caller adds its own, e.g. "file", "token"): "kind",
 * "reporting_mta", "original_envelope_id", "original_message_id",
 * "returned_token", "truncated" and "recipients", an array of objects
 * {"address", "original_recipient", "action", "status", "diagnostic",
 * "remote_mta", "disposition", "reason", "hard"}.  Absent values are
 * null ("hard": true, false or null).
 */
int ack_report_json(const ack_report *r, ack_json *j) ACK_WUR;

/* ------------------------------------------------------------------ */
/* Durations and times                                                 */
/* ------------------------------------------------------------------ */

/*
 * A duration: one or more NUMBER UNIT pairs, units s, m, h, d, w
 * ("90d", "12h", "1h30m"); a bare number is seconds.  ACK_EINVAL on
 * anything else or beyond about 30,000 years.
 */
int ack_duration_parse(const char *s, int64_t *secs) ACK_WUR;
/*
 * A point in time: an RFC 3339 timestamp ("2026-11-26T06:07:44Z", offsets
 * and fractions allowed, fractions dropped), a bare date (midnight UTC),
 * or a duration meaning that long before now.
 */
int ack_time_parse(const char *s, int64_t now, int64_t *t) ACK_WUR;

/* ------------------------------------------------------------------ */
/* Token recovery                                                      */
/* ------------------------------------------------------------------ */

/*
 * Does address match the return path template (e.g. "bounces+%t@example.org",
 * compared case-insensitively)?  If so, copy the part that stands for %t
 * (lowercased, when it has a token's syntax) into token and return true.
 */
bool ack_return_path_match(const char *tmpl, const char *address,
    char token[ACK_TOKEN_LEN + 1]);

/*
 * The token a report is about, from the first place that holds one with a
 * token's syntax, in this order: envelope_token (the signed return address
 * the report was sent to, may be NULL), Original-Envelope-Id, the tracking
 * header of the returned message.  *where names the source ("return-path",
 * "envid", "returned-header").  With keys, the MAC is checked: ACK_OK,
 * ACK_EMAC or ACK_ENOKEY; without keys ACK_OK means "found, unverified".
 * ACK_ENOTFOUND when no candidate has a token's syntax.
 */
int ack_report_token(const ack_report *r, const char *envelope_token,
    const ack_keys *keys, char token[ACK_TOKEN_LEN + 1], const char **where);

/*
 * Record a parsed report in the store: find its token (ack_report_token,
 * then, for an MDN or an auto-reply, its Original-Message-ID or
 * In-Reply-To through the Message-ID index),
 * and apply it (ack_store_apply).  token and *where tell what was found.
 * ACK_ENOTFOUND: no token, or a token the store does not know; ACK_EMAC /
 * ACK_ENOKEY: a forged or foreign token (nothing changed); other codes are
 * store failures.  Only ACK_OK means the state is committed.
 */
int ack_store_absorb(ack_store *s, const ack_keys *keys, const ack_report *r,
    const char *envelope_token, int64_t now, char token[ACK_TOKEN_LEN + 1],
    const char **where, ack_apply_result *res) ACK_WUR;

#ifdef __cplusplus
}
#endif

#endif /* ACKMILTER_H */
