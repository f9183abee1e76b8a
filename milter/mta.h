/*
 * mta.h - the seam between ackmilter's callbacks and libmilter: every
 * smfi_* request the daemon makes goes through one of these, so the
 * callbacks can be driven without an MTA and every request is logged in
 * one place when it fails.
 */
#ifndef ACK_MTA_H
#define ACK_MTA_H

#include <libmilter/mfapi.h>

const char *mta_macro(SMFICTX *ctx, const char *name);
int mta_chgfrom(SMFICTX *ctx, const char *from, const char *args);
int mta_delrcpt(SMFICTX *ctx, const char *rcpt);
int mta_addrcpt(SMFICTX *ctx, const char *rcpt, const char *args);
int mta_addheader(SMFICTX *ctx, const char *name, const char *value);
int mta_delheader(SMFICTX *ctx, const char *name, int index);
int mta_quarantine(SMFICTX *ctx, const char *reason);

#endif
