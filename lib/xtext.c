/*
 * xtext.c - RFC 3461 section 4 "xtext" encoding, used for the ENVID and
 * ORCPT parameters of MAIL FROM and RCPT TO.
 */
#include "config.h"

#include <stddef.h>

#include "internal.h"

static const char hexdigits[] = "0123456789ABCDEF";

/* An xchar that stands for itself: '!'..'~' except '+' and '='. */
static bool
xchar_plain(unsigned char c)
{
	return c >= '!' && c <= '~' && c != '+' && c != '=';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo a partial append so a failed call leaves out as it was. */
static int
rollback(ack_buf *out, size_t len, int rc)
{
	out->len = len;
	if (out->data)
		out->data[len] = '\0';
	return rc;
}

int
ack_xtext_encode(ack_buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	int rc = ACK_OK;

	for (size_t i = 0; i < len && rc == ACK_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char hex[3] = { '+', hexdigits[c >> 4], hexdigits[c & 0xf] };

		if (xchar_plain(c))
			rc = ack_buf_addc(out, (char)c);
		else
			rc = ack_buf_add(out, hex, sizeof hex);
	}
	return rc == ACK_OK ? rc : rollback(out, start, rc);
}

int
ack_xtext_decode(ack_buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	int rc = ACK_OK;

	for (size_t i = 0; i < len && rc == ACK_OK; i++) {
		int hi, lo;

		if (s[i] != '+') {
			rc = ack_buf_addc(out, s[i]);
			continue;
		}
		if (len - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0)
			return rollback(out, start, ACK_EINVAL);
		rc = ack_buf_addc(out, (char)(hi << 4 | lo));
		i += 2;
	}
	return rc == ACK_OK ? rc : rollback(out, start, rc);
}
