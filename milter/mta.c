/*
 * mta.c - thin wrappers over libmilter's smfi_* requests (see mta.h).
 * Each returns 0 on success and -1 when the MTA refused the request.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "mta.h"

bool mta_inet;

const char *
mta_macro(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int
status(int rc)
{
	return rc == MI_SUCCESS ? 0 : -1;
}

/*
 * Its "v" macro, which Postfix sends at connect by default and
 * contrib/sendmail/ackmilter.mc asks Sendmail for, does not name Postfix;
 * or there is no "v" but there is {if_addr}, which Sendmail sends by
 * default and Postfix does not.
 */
bool
mta_is_sendmail(SMFICTX *ctx)
{
	const char *v = mta_macro(ctx, "v");

	if (v != NULL)
		return strncmp(v, "Postfix", 7) != 0;
	return mta_macro(ctx, "{if_addr}") != NULL;
}

int
mta_chgfrom(SMFICTX *ctx, const char *from, const char *args)
{
	return status(smfi_chgfrom(ctx, (char *)from, (char *)args));
}

int
mta_delrcpt(SMFICTX *ctx, const char *rcpt)
{
	return status(smfi_delrcpt(ctx, (char *)rcpt));
}

int
mta_addrcpt(SMFICTX *ctx, const char *rcpt, const char *args)
{
	return status(smfi_addrcpt_par(ctx, (char *)rcpt, (char *)args));
}

int
mta_addheader(SMFICTX *ctx, const char *name, const char *value)
{
	return status(smfi_addheader(ctx, (char *)name, (char *)value));
}

int
mta_delheader(SMFICTX *ctx, const char *name, int index)
{
	return status(smfi_chgheader(ctx, (char *)name, index, NULL));
}

int
mta_quarantine(SMFICTX *ctx, const char *reason)
{
	return status(smfi_quarantine(ctx, (char *)reason));
}
