/*
 * json.c - a small compact JSON writer over ack_buf, plus text sanitising
 * for terminals and RFC 3339 time formatting.  Strings from the wild
 * (addresses, diagnostics) may hold any bytes: the output stays valid JSON
 * or terminal-safe text whatever they contain.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define JSON_MAX_DEPTH 63

static const char hexlower[] = "0123456789abcdef";

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the byte at
 * s does not start one: overlong forms, surrogates and code points above
 * U+10FFFF are invalid.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* ---------------------------------------------------------------- writer */

void
ack_json_init(ack_json *j, ack_buf *out)
{
	memset(j, 0, sizeof *j);
	j->out = out;
}

/*
 * Start a value at the current depth: a comma when a sibling came before
 * it.  Top-level values (depth 0) are separate documents and get none, so
 * JSON Lines are written by adding '\n' between them.
 */
static int
begin_value(ack_json *j)
{
	uint64_t bit = UINT64_C(1) << j->depth;

	if (j->after_key) {
		j->after_key = false;
		return ACK_OK;
	}
	if (j->depth > 0 && (j->need_comma & bit)) {
		int rc = ack_buf_addc(j->out, ',');
		if (rc != ACK_OK)
			return rc;
	}
	j->need_comma |= bit;
	return ACK_OK;
}

static int
open_container(ack_json *j, char c)
{
	int rc;

	if (j->depth >= JSON_MAX_DEPTH)
		return ACK_EINVAL;
	if ((rc = begin_value(j)) != ACK_OK || (rc = ack_buf_addc(j->out, c)) != ACK_OK)
		return rc;
	j->depth++;
	j->need_comma &= ~(UINT64_C(1) << j->depth);
	return ACK_OK;
}

static int
close_container(ack_json *j, char c)
{
	int rc;

	if (j->depth == 0 || j->after_key)
		return ACK_EINVAL;
	if ((rc = ack_buf_addc(j->out, c)) != ACK_OK)
		return rc;
	j->depth--;
	return ACK_OK;
}

int
ack_json_obj_open(ack_json *j)
{
	return open_container(j, '{');
}

int
ack_json_obj_close(ack_json *j)
{
	return close_container(j, '}');
}

int
ack_json_arr_open(ack_json *j)
{
	return open_container(j, '[');
}

int
ack_json_arr_close(ack_json *j)
{
	return close_container(j, ']');
}

/* The escape for byte c, or NULL when c needs none. */
static const char *
escape_for(unsigned char c, char tmp[7])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	}
	if (c >= 0x20 && c != 0x7f)
		return NULL;
	memcpy(tmp, "\\u00", 4);
	tmp[4] = hexlower[c >> 4];
	tmp[5] = hexlower[c & 0xf];
	tmp[6] = '\0';
	return tmp;
}

/* Escaped body of a JSON string, without the quotes. */
static int
put_escaped(ack_buf *b, const unsigned char *s, size_t n)
{
	size_t i = 0, run = 0;
	int rc = ACK_OK;

	while (i < n && rc == ACK_OK) {
		char tmp[7];
		const char *esc = escape_for(s[i], tmp);
		size_t len = esc ? 0 : utf8_seq(s + i, n - i);

		if (len > 0) {
			i += len;
			continue;
		}
		if ((rc = ack_buf_add(b, s + run, i - run)) != ACK_OK)
			break;
		rc = ack_buf_adds(b, esc ? esc : "\xef\xbf\xbd");
		run = ++i;
	}
	if (rc == ACK_OK)
		rc = ack_buf_add(b, s + run, i - run);
	return rc;
}

static int
put_string(ack_buf *b, const char *s, size_t n)
{
	int rc;

	if ((rc = ack_buf_addc(b, '"')) != ACK_OK ||
	    (rc = put_escaped(b, (const unsigned char *)s, n)) != ACK_OK)
		return rc;
	return ack_buf_addc(b, '"');
}

int
ack_json_key(ack_json *j, const char *k)
{
	int rc;

	if (j->depth == 0 || j->after_key || k == NULL)
		return ACK_EINVAL;
	if ((rc = begin_value(j)) != ACK_OK ||
	    (rc = put_string(j->out, k, strlen(k))) != ACK_OK ||
	    (rc = ack_buf_addc(j->out, ':')) != ACK_OK)
		return rc;
	j->after_key = true;
	return ACK_OK;
}

int
ack_json_str(ack_json *j, const char *s)
{
	return s ? ack_json_strn(j, s, strlen(s)) : ack_json_null(j);
}

int
ack_json_strn(ack_json *j, const char *s, size_t n)
{
	int rc;

	if (s == NULL)
		return ack_json_null(j);
	if ((rc = begin_value(j)) != ACK_OK)
		return rc;
	return put_string(j->out, s, n);
}

/* A bare token: a number, true, false or null. */
static int
put_bare(ack_json *j, const char *s)
{
	int rc;

	if ((rc = begin_value(j)) != ACK_OK)
		return rc;
	return ack_buf_adds(j->out, s);
}

int
ack_json_int(ack_json *j, int64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof tmp, "%" PRId64, v);
	return put_bare(j, tmp);
}

int
ack_json_bool(ack_json *j, bool v)
{
	return put_bare(j, v ? "true" : "false");
}

int
ack_json_null(ack_json *j)
{
	return put_bare(j, "null");
}

int
ack_json_time(ack_json *j, int64_t t)
{
	char tmp[64];

	if (t == 0)
		return ack_json_null(j);
	ack_time_rfc3339(t, tmp, sizeof tmp);
	return ack_json_str(j, tmp);
}

void
ack_time_rfc3339(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
		return;
	if (strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

/* ---------------------------------------------------------------- terminal */

/* Does the valid sequence s[0..len) encode a C1 control (U+0080..U+009F)? */
static bool
is_c1(const unsigned char *s, size_t len)
{
	return len == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

static int
put_hex_bytes(ack_buf *b, const unsigned char *s, size_t n)
{
	int rc = ACK_OK;

	for (size_t i = 0; i < n && rc == ACK_OK; i++)
		rc = ack_buf_printf(b, "\\x%02x", s[i]);
	return rc;
}

int
ack_safe_text(ack_buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int rc = ACK_OK;

	while (i < n && rc == ACK_OK) {
		size_t len = utf8_seq(s + i, n - i);
		bool plain = len > 1 ? !is_c1(s + i, len) :
		    len == 1 && s[i] >= 0x20 && s[i] != 0x7f;

		if (plain) {
			i += len;
			continue;
		}
		if (len == 0)
			len = 1;
		if ((rc = ack_buf_add(out, s + run, i - run)) != ACK_OK)
			break;
		rc = put_hex_bytes(out, s + i, len);
		i += len;
		run = i;
	}
	if (rc == ACK_OK)
		rc = ack_buf_add(out, s + run, i - run);
	return rc;
}

int
ack_json_kstr(ack_json *j, const char *k, const char *s)
{
	int rc = ack_json_key(j, k);

	return rc != ACK_OK ? rc : ack_json_str(j, s);
}

int
ack_json_kint(ack_json *j, const char *k, int64_t v)
{
	int rc = ack_json_key(j, k);

	return rc != ACK_OK ? rc : ack_json_int(j, v);
}

int
ack_json_kbool(ack_json *j, const char *k, bool v)
{
	int rc = ack_json_key(j, k);

	return rc != ACK_OK ? rc : ack_json_bool(j, v);
}

int
ack_json_ktime(ack_json *j, const char *k, int64_t t)
{
	int rc = ack_json_key(j, k);

	return rc != ACK_OK ? rc : ack_json_time(j, t);
}
