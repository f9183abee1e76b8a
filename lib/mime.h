/*
 * mime.h - internal interface of the MIME helpers (mime.c) and of the
 * report field parser (fields.c) used by the report parser (report.c,
 * report_eom.c).
 * Not installed.
 *
 * Everything here works on text whose line ends were already normalised
 * to LF; inputs are (pointer, length) pairs and may hold NUL bytes.
 */
#ifndef ACK_MIME_H
#define ACK_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "ackmilter.h"

#define ACK_MIME_FIELD_MAX 8192   /* bytes kept of one unfolded header field */
#define ACK_MIME_DEPTH_MAX 8      /* nested multipart levels */
#define ACK_MIME_PARTS_MAX 1000   /* parts per multipart */
#define ACK_REPORT_STR_MAX 4096   /* bytes kept of one report string */
#define ACK_REPORT_RCPT_MAX 1000  /* recipient blocks kept */
#define ACK_REPORT_TEXT_MAX 65536 /* bytes kept of the first text part */

/* ------------------------------------------------------------------ */
/* mime.c                                                              */
/* ------------------------------------------------------------------ */

/* Append what fits of s[0..n) below b's cap (then set truncated). */
int ack__buf_add_capped(ack_buf *b, const char *s, size_t n);

/* One header field: name (namelen = strlen(name)) and unfolded value,
 * both NUL terminated. */
typedef int (*ack__mime_field_cb)(const char *name, size_t namelen,
    const char *value, void *arg);
/* What a field callback returns to end the walk early, with no error (the
 * offset returned is then of no use). */
#define ACK__MIME_STOP 1

/*
 * Call cb for each field of the header block at the start of s.  Returns
 * the offset of the body (after the empty line), or len when none; a
 * non-zero return of cb stops the walk and is stored in *rc.
 */
size_t ack__mime_headers(const char *s, size_t len, ack__mime_field_cb cb,
    void *arg, int *rc);
/* The same for the fields named in only[] (NULL-terminated, any case;
 * names of letters, digits and '-' only): the others are skipped unread. */
size_t ack__mime_headers_only(const char *s, size_t len,
    const char *const *only, ack__mime_field_cb cb, void *arg, int *rc);

/* Lowercase "type/subtype" of a Content-Type value into out ("" if none). */
void ack__mime_ctype(const char *value, char *out, size_t outlen);
/* A parameter of a Content-Type value, unquoted; false when absent. */
bool ack__mime_param(const char *value, const char *name, char *out,
    size_t outlen);

/* Decoders; they append to out and stop silently at its cap. */
int ack__b64_decode(ack_buf *out, const char *s, size_t n);
int ack__qp_decode(ack_buf *out, const char *s, size_t n);
/* Does a Content-Transfer-Encoding value (NULL: none) need decoding? */
bool ack__mime_encoded(const char *cte);
/* Decode per a Content-Transfer-Encoding value (NULL or other: copy). */
int ack__mime_decode(ack_buf *out, const char *cte, const char *s, size_t n);

/* A part met during a walk.  data/len is the raw (still encoded) body. */
typedef struct ack__mime_part {
	char type[128];      /* lowercase type/subtype; "" when absent */
	const char *ctype;   /* full Content-Type value ("" when absent) */
	const char *cte;     /* Content-Transfer-Encoding value or "" */
	const char *data;
	size_t len;
	unsigned depth;
	bool container;      /* a multipart: called before its children */
} ack__mime_part;

typedef int (*ack__mime_part_cb)(const ack__mime_part *part, void *arg);

/*
 * Walk the entity whose body is data/len and whose headers gave ctype and
 * cte: cb is called for every multipart container (before its children)
 * and every leaf.  A multipart without a usable boundary parameter uses
 * the first "--x" line as its boundary.  Depth and part counts are
 * capped.  Returns the first non-zero return of cb, or ACK_OK.
 */
int ack__mime_walk(const char *data, size_t len, const char *ctype,
    const char *cte, ack__mime_part_cb cb, void *arg);
/* The same for a whole entity d/len (a message/rfc822 part's body): its
 * header fields give ctype and cte; its parts are met from depth on. */
int ack__mime_walk_entity(const char *d, size_t len, unsigned depth,
    ack__mime_part_cb cb, void *arg);

/* ------------------------------------------------------------------ */
/* fields.c                                                            */
/* ------------------------------------------------------------------ */

/* A report being built: the result plus the capacity of its array. */
typedef struct ack__report_build {
	ack_report r;
	size_t rcap;
	bool rcpt_open;  /* the last recipient block may take more fields */
} ack__report_build;

/*
 * Parse a block of report fields (DSN, MDN or ARF per kind) into b.
 * Groups are separated by blank lines; a repeated Final-Recipient also
 * starts a new recipient.  A line starting with "--" ends the block when
 * stop_at_boundary.  ack__fields_finish() drops recipient blocks with no
 * address (MDN: no disposition either), fills a missing final recipient
 * from the original one and a missing DSN status from the first d.d.d of
 * the Diagnostic-Code.
 */
int ack__fields_parse(ack__report_build *b, int kind, const char *s,
    size_t len, bool stop_at_boundary);
void ack__fields_finish(ack__report_build *b);
/* A new, zeroed recipient block (NULL at the cap or on ENOMEM). */
ack_report_rcpt *ack__report_add_rcpt(ack__report_build *b);
/* Free every string of the report and zero it. */
void ack__report_clear(ack__report_build *b);
/* Does s hold a line starting with one of the DSN field names?  Offset. */
bool ack__fields_find_dsn(const char *s, size_t len, size_t *off);
/* Does s hold a line starting with name ":" (case-insensitive)?  Offset. */
bool ack__fields_find_line(const char *s, size_t len, const char *name,
    size_t *off);

/* Value helpers (copy capped at ACK_REPORT_STR_MAX; NULL on ENOMEM). */
char *ack__field_address(const char *v);
char *ack__field_status(const char *v);
char *ack__field_word(const char *v);
/* Value with an "addr-type;" prefix ("dns; mx.example") removed. */
char *ack__field_typed(const char *v);
char *ack__field_text(const char *v);

/* ------------------------------------------------------------------ */
/* report.c, report_eom.c: what a later pattern library may look at   */
/* ------------------------------------------------------------------ */

/* Decoded first text part (capped at ACK_REPORT_TEXT_MAX), or NULL. */
const char *ack__parser_text(const ack_parser *p, size_t *len);
/* A top-level header kept by the parser: "subject", "from",
 * "auto-submitted", "content-type"; NULL when absent. */
const char *ack__parser_header_value(const ack_parser *p, const char *name);

/* Top-level header i (ACK__HDR_*) kept by the parser, or NULL. */
const char *ack__parser_hdr(const ack_parser *p, int i);
/* The To: of the returned message (NULL when none), searched for in
 * the body on first use when no returned part was seen. */
const char *ack__parser_returned_to(ack_parser *p);
/* The parser's PCRE2 match data (made on first use; NULL on ENOMEM). */
void *ack__parser_md(ack_parser *p);
/* A filter of rules for one text (patterns.c, below). */
typedef struct ack__pat_filter ack__pat_filter;
/* The parser's rule filter set to s[0..len) (made on first use; NULL on
 * ENOMEM, which only means no filtering).  Valid until the next call. */
ack__pat_filter *ack__parser_filter(ack_parser *p, const char *s,
    size_t len);
/* The pattern set given to the parser, or NULL. */
const ack_patterns *ack__parser_patterns(const ack_parser *p);
/* The report being built (bounce.c adds recipients to it). */
ack__report_build *ack__parser_build(ack_parser *p);

/* ------------------------------------------------------------------ */
/* report.c, report_eom.c: the parser handle                           */
/* ------------------------------------------------------------------ */

/* The fields of the handle are used by report.c and report_eom.c only;
 * other modules go through the accessors above. */

#define ACK__TEXT_LEAVES_MAX 8

/* The top-level headers kept, in the order of kept_headers[] (report.c). */
enum {
	ACK__HDR_CTYPE, ACK__HDR_CTE, ACK__HDR_SUBJECT, ACK__HDR_FROM,
	ACK__HDR_AUTOSUB, ACK__HDR_MSGID, ACK__HDR_XAUTOREPLY,
	ACK__HDR_XAUTORESPOND, ACK__HDR_PRECEDENCE, ACK__HDR_XFAILED,
	ACK__HDR_INREPLYTO,
	ACK__HDR_COUNT
};

/* A text leaf that may hold report fields after all (kept for fallback). */
typedef struct ack__text_leaf {
	const char *data;
	size_t len;
	char cte[32];
} ack__text_leaf;

struct ack_parser {
	size_t max_bytes;
	ack__report_build b;
	ack_buf body;      /* normalised body, capped at max_bytes */
	const char *view;  /* the body eom reads: body's bytes, or (borrowed)
	                    * those of ack_parser_message()'s caller when they
	                    * need no normalising: no copy of them is made */
	size_t view_len;
	bool borrowed;
	ack_buf text;      /* first text/plain part, decoded */
	const char *text_at; /* or that part where it lies (not NULL) when it
	                      * needs no decoding: no copy of it is made */
	size_t text_len;   /* of text_at's, capped at text's cap */
	ack_buf hdrs;      /* the kept headers' values, each NUL terminated */
	size_t hdr_at[ACK__HDR_COUNT]; /* offset + 1 in hdrs; 0: absent */
	bool pending_cr;   /* the last body byte was CR */
	bool returned_seen;
	bool done;         /* eom ran */
	char report_type[64];
	bool top_report;   /* the walk found a multipart/report at the top */
	ack__text_leaf leaves[ACK__TEXT_LEAVES_MAX];
	size_t nleaves;
	const ack_patterns *patterns;
	char track_name[ACK_HEADER_NAME_MAX + 1]; /* the tracking header */
	const char *returned_names[4]; /* returned_field()'s, NULL-terminated */
	char *returned_to;  /* To: of the returned message */
	bool to_scanned;    /* the body was searched for a To: line */
	void *md;           /* PCRE2 match data, kept across messages */
	ack__pat_filter *filt; /* rule filter, kept across messages */
};

/* ------------------------------------------------------------------ */
/* patterns.c                                                          */
/* ------------------------------------------------------------------ */

#define ACK__PAT_SUBJECT_MAX 65536 /* bytes of a subject a rule looks at */

enum {
	ACK__PAT_SIGNATURE, /* body text that only a bounce has */
	ACK__PAT_BOUNCE,    /* a hint (per scope) that this is a bounce */
	ACK__PAT_NOTBOUNCE, /* vetoes the bounce hints */
	ACK__PAT_DELAYED,   /* a warning: delivery delayed, not failed */
	ACK__PAT_RECIPIENT, /* group 1: a failed recipient in the text */
	ACK__PAT_ORIGINAL,  /* where the returned message starts in the text */
	ACK__PAT_REASON,    /* text implying a reason word */
	ACK__PAT_AUTOREPLY, /* a hint that this is an auto-reply */
};
enum { ACK__SCOPE_SUBJECT, ACK__SCOPE_FROM, ACK__SCOPE_BODY, ACK__SCOPE__COUNT };

typedef struct ack__rule {
	int type;
	int scope;
	char *word;    /* reason word (ACK__PAT_REASON) */
	void *re;      /* pcre2_code */
} ack__rule;

typedef struct ack__match {
	size_t start, end;   /* the whole match */
	size_t gstart, gend; /* group 1 (or the end of the match) */
} ack__match;

/* JIT for the sets loaded from now on (on by default; tests under
 * valgrind turn it off: JIT code confuses memcheck). */
void ack__patterns_jit(bool on);
size_t ack__patterns_n(const ack_patterns *pt);
const ack__rule *ack__patterns_rule(const ack_patterns *pt, size_t i);
void *ack__pat_md_new(void);
void ack__pat_md_free(void *md);
int ack__pat_match(const ack_patterns *pt, const ack__rule *r, void *md,
    const char *s, size_t len, size_t start, ack__match *m);
int ack__pat_match_any(const ack_patterns *pt, int type, int scope, void *md,
    const char *s, size_t len, size_t start, ack__match *m, bool leftmost);
/* The first rule (load order) of type and scope matching s[0..len):
 * 1 and *rule set, or 0. */
int ack__pat_first(const ack_patterns *pt, int type, int scope, void *md,
    const char *s, size_t len, const ack__rule **rule);

/* ------------------------------------------------------------------ */
/* patterns.c: a filter of rules by their required literals            */
/* ------------------------------------------------------------------ */

/*
 * A filter of one text: a lowercase copy (ASCII case folded) and a
 * bitmap of its triples of bytes, so that a rule none of whose required
 * literals is in the subject is not run.  It applies to subjects inside
 * that text only (others run every rule) and never changes a result.
 */
ack__pat_filter *ack__pat_filter_new(void);
void ack__pat_filter_free(ack__pat_filter *f);
/* Describe s[0..len), which must not change while f is used on it. */
void ack__pat_filter_set(ack__pat_filter *f, const char *s, size_t len);
/* Extend f to the first len bytes of the same text (which grew, or was
 * described in part only). */
void ack__pat_filter_extend(ack__pat_filter *f, size_t len);
/* ack__pat_match_any, ack__pat_first with a filter (NULL: none). */
int ack__pat_match_any_f(const ack_patterns *pt, int type, int scope,
    void *md, ack__pat_filter *f, const char *s, size_t len,
    size_t start, ack__match *m, bool leftmost);
int ack__pat_first_f(const ack_patterns *pt, int type, int scope, void *md,
    ack__pat_filter *f, const char *s, size_t len,
    const ack__rule **rule);
/* May rule r match in s[0..len), per f?  (NULL: yes.) */
bool ack__pat_may_match(const ack_patterns *pt, const ack__rule *r,
    ack__pat_filter *f, const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* reason.c                                                            */
/* ------------------------------------------------------------------ */

bool ack__reason_known(const char *word);
/* The status a reason implies ("5.1.1"); temporary picks class 4. */
const char *ack__reason_status(const char *reason, bool temporary);
/* Is a status vague (x.0.0, or no status): may the text refine it? */
bool ack__status_vague(const char *status);
/* First d.d.d (class 2, 4, 5) in s, copied into out[16]; false if none. */
bool ack__status_find(const char *s, size_t len, char *out, size_t outlen);
/* First SMTP reply code (2xx, 4xx, 5xx) at a line start or after a
 * colon/space in s; 0 when none. */
int ack__smtp_code_find(const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* bounce.c                                                            */
/* ------------------------------------------------------------------ */

/* After eoh, with patterns: could this be a bounce or an auto-reply? */
bool ack__bounce_candidate(const ack_parser *p);
/* At eom, on a message that is no RFC report: bounce or auto-reply? */
int ack__bounce_detect(ack_parser *p);
/* A report that named no recipient: find them in its text, as for a
 * non-standard bounce (the kind is kept). */
int ack__bounce_recipients(ack_parser *p);
/* Fill reason/hard of every recipient; refine vague statuses from text. */
int ack__bounce_classify(ack_parser *p);

#endif
