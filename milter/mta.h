/*
 * mta.h - the seam between ackmilter's callbacks and libmilter: every
 * smfi_* request the daemon makes goes through one of these, so the
 * callbacks can be driven without an MTA and every request is logged in
 * one place when it fails.
 */
#ifndef ACK_MTA_H
#define ACK_MTA_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

/*
 * The daemon listens on a TCP socket (set once at start, before any
 * connection).  The negotiation then asks for the DATA stage with a reply:
 * Postfix's smtpd flushes the DATA macros when it hands the connection to
 * cleanup, and with nothing to answer, the milter's delayed ACK would hold
 * cleanup's next write behind Postfix's Nagle for 40 ms per message.
 */
extern bool mta_inet;

const char *mta_macro(SMFICTX *ctx, const char *name);
/* Is the MTA Sendmail (or at least not Postfix)?  Call at connect. */
bool mta_is_sendmail(SMFICTX *ctx);
int mta_chgfrom(SMFICTX *ctx, const char *from, const char *args);
int mta_delrcpt(SMFICTX *ctx, const char *rcpt);
int mta_addrcpt(SMFICTX *ctx, const char *rcpt, const char *args);
int mta_addheader(SMFICTX *ctx, const char *name, const char *value);
int mta_delheader(SMFICTX *ctx, const char *name, int index);
int mta_quarantine(SMFICTX *ctx, const char *reason);

#endif
