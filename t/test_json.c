/*
 * test_json.c - unit tests for the JSON writer, terminal-safe text and
 * RFC 3339 formatting (lib/json.c).  Every case compares exact output.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ackmilter.h"
#include "tap.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD "\xef\xbf\xbd"

static void
test_nested(void)
{
	ack_buf b;
	ack_json j;
	int rc = 0;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_key(&j, "a");
	rc |= ack_json_int(&j, 1);
	rc |= ack_json_key(&j, "b");
	rc |= ack_json_arr_open(&j);
	rc |= ack_json_int(&j, -1);
	rc |= ack_json_str(&j, "x");
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_obj_close(&j);
	rc |= ack_json_arr_open(&j);
	rc |= ack_json_arr_close(&j);
	rc |= ack_json_null(&j);
	rc |= ack_json_bool(&j, true);
	rc |= ack_json_str(&j, NULL);
	rc |= ack_json_arr_close(&j);
	rc |= ack_json_key(&j, "c");
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_key(&j, "d");
	rc |= ack_json_bool(&j, false);
	rc |= ack_json_key(&j, "e");
	rc |= ack_json_arr_open(&j);
	rc |= ack_json_arr_open(&j);
	rc |= ack_json_int(&j, INT64_MIN);
	rc |= ack_json_arr_close(&j);
	rc |= ack_json_int(&j, INT64_MAX);
	rc |= ack_json_arr_close(&j);
	rc |= ack_json_obj_close(&j);
	rc |= ack_json_obj_close(&j);
	is_int(rc, 0, "all calls succeed");
	is_str(b.data, "{\"a\":1,\"b\":[-1,\"x\",{},[],null,true,null],\"c\":{\"d\":false,"
	    "\"e\":[[-9223372036854775808],9223372036854775807]}}", "nested output");
	is_int(j.depth, 0, "back at depth 0");
	ack_buf_free(&b);
}

static void
test_misuse(void)
{
	ack_buf b;
	ack_json j;
	int rc = 0;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	is_int(ack_json_key(&j, "k"), ACK_EINVAL, "key at top level");
	is_int(ack_json_obj_close(&j), ACK_EINVAL, "close at depth 0");
	is_int(ack_json_arr_close(&j), ACK_EINVAL, "array close at depth 0");
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_key(&j, "k");
	is_int(rc, 0, "open, key");
	is_int(ack_json_key(&j, "k2"), ACK_EINVAL, "key after key");
	is_int(ack_json_obj_close(&j), ACK_EINVAL, "close after key");
	is_int(ack_json_key(&j, NULL), ACK_EINVAL, "NULL key");
	rc |= ack_json_str(&j, "v");
	rc |= ack_json_obj_close(&j);
	is_int(rc, 0, "value, close");
	is_str(b.data, "{\"k\":\"v\"}", "output after refused calls");
	ack_buf_free(&b);
}

static void
test_lines_and_depth(void)
{
	char want[200];
	ack_buf b;
	ack_json j;
	int rc = 0, i;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_obj_close(&j);
	rc |= ack_buf_addc(&b, '\n');
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_key(&j, "n");
	rc |= ack_json_int(&j, 0);
	rc |= ack_json_obj_close(&j);
	is_int(rc, 0, "two documents");
	is_str(b.data, "{}\n{\"n\":0}", "no comma between top-level values (JSON Lines)");

	ack_buf_reset(&b);
	ack_json_init(&j, &b);
	for (i = 0, rc = 0; i < 63; i++)
		rc |= ack_json_arr_open(&j);
	is_int(rc, 0, "63 levels");
	is_int(ack_json_arr_open(&j), ACK_EINVAL, "64th level refused");
	is_int(ack_json_obj_open(&j), ACK_EINVAL, "64th level refused (object)");
	rc |= ack_json_int(&j, 1);
	rc |= ack_json_int(&j, 2);
	for (i = 0; i < 63; i++)
		rc |= ack_json_arr_close(&j);
	is_int(rc, 0, "close 63 levels");
	memset(want, '[', 63);
	memcpy(want + 63, "1,2", 3);
	memset(want + 66, ']', 63);
	want[129] = '\0';
	is_str(b.data, want, "deep output");
	ack_buf_free(&b);
}

static const struct {
	const char *what, *in;
	size_t len;
	const char *out;
} strings[] = {
	{ "plain", "hello", 5, "\"hello\"" },
	{ "empty", "", 0, "\"\"" },
	{ "quote, backslash, slash", "\"\\/", 3, "\"\\\"\\\\/\"" },
	{ "every control char",
	  "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
	  "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f", 33,
	  "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b"
	  "\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
	  "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\u007f\"" },
	{ "NUL inside", "a\0b", 3, "\"a\\u0000b\"" },
	{ "valid UTF-8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13,
	  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"" },
	{ "edges U+D7FF U+E000 U+FFFD", "\xed\x9f\xbf\xee\x80\x80" FFFD, 9,
	  "\"\xed\x9f\xbf\xee\x80\x80" FFFD "\"" },
	{ "lone continuation", "a\x80z", 3, "\"a" FFFD "z\"" },
	{ "truncated sequence", "\xe2\x82z", 3, "\"" FFFD FFFD "z\"" },
	{ "truncated at end", "a\xf0\x9f\x98", 4, "\"a" FFFD FFFD FFFD "\"" },
	{ "overlong C0 80", "\xc0\x80", 2, "\"" FFFD FFFD "\"" },
	{ "overlong E0 80 AF", "\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\"" },
	{ "overlong F0 80 80 80", "\xf0\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"" },
	{ "surrogate ED A0 80", "\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"" },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"" },
	{ "F5 lead", "\xf5\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"" },
	{ "FE FF", "\xfe\xff", 2, "\"" FFFD FFFD "\"" },
	{ "invalid then control", "\xff\n", 2, "\"" FFFD "\\n\"" },
};

static void
test_strings(void)
{
	ack_buf b;
	ack_json j;

	ack_buf_init(&b, 0);
	for (size_t i = 0; i < N_ELEM(strings); i++) {
		ack_buf_reset(&b);
		ack_json_init(&j, &b);
		is_int(ack_json_strn(&j, strings[i].in, strings[i].len), ACK_OK, "%s", strings[i].what);
		is_str(b.data, strings[i].out, "%s: output", strings[i].what);
	}
	ack_buf_reset(&b);
	ack_json_init(&j, &b);
	if (ack_json_obj_open(&j) == ACK_OK && ack_json_key(&j, "k\"\x01") == ACK_OK &&
	    ack_json_strn(&j, NULL, 5) == ACK_OK && ack_json_obj_close(&j) == ACK_OK)
		is_str(b.data, "{\"k\\\"\\u0001\":null}", "keys escaped, strn(NULL) is null");
	else
		ok(0, "keys escaped");
	ack_buf_free(&b);
}

static void
test_cap(void)
{
	ack_buf b;
	ack_json j;

	ack_buf_init(&b, 9);
	ack_json_init(&j, &b);
	is_int(ack_json_str(&j, "a\x01"), ACK_OK, "fits");
	is_str(b.data, "\"a\\u0001\"", "9 bytes");
	is_int(ack_json_str(&j, "x"), ACK_ETOOBIG, "cap reached");
	ok(b.truncated, "truncated flag set");
	ack_buf_free(&b);
}

static void
test_time(void)
{
	char out[21], small[10];
	ack_buf b;
	ack_json j;
	int rc = 0;

	ack_time_rfc3339(1795673264, out, sizeof out);
	is_str(out, "2026-11-26T06:07:44Z", "rfc3339 into 21 bytes");
	ack_time_rfc3339(0, out, sizeof out);
	is_str(out, "1970-01-01T00:00:00Z", "epoch");
	ack_time_rfc3339(-1, out, sizeof out);
	is_str(out, "1969-12-31T23:59:59Z", "before the epoch");
	ack_time_rfc3339(951782400, out, sizeof out);
	is_str(out, "2000-02-29T00:00:00Z", "leap day");
	ack_time_rfc3339(1795673264, small, sizeof small);
	is_str(small, "", "too small a buffer gives an empty string");
	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc |= ack_json_arr_open(&j);
	rc |= ack_json_time(&j, 1795673264);
	rc |= ack_json_time(&j, 0);
	rc |= ack_json_arr_close(&j);
	is_int(rc, 0, "json time calls");
	is_str(b.data, "[\"2026-11-26T06:07:44Z\",null]", "json time, 0 is null");
	ack_buf_free(&b);
}

static const struct {
	const char *what, *in;
	size_t len;
	const char *out;
} safe[] = {
	{ "plain", "hello world", 11, "hello world" },
	{ "ESC colour", "\x1b[31mred\x1b[0m", 12, "\\x1b[31mred\\x1b[0m" },
	{ "OSC title", "\x1b]0;pwned\x07", 10, "\\x1b]0;pwned\\x07" },
	{ "CR LF TAB NUL", "a\r\n\t\0b", 6, "a\\x0d\\x0a\\x09\\x00b" },
	{ "DEL", "x\x7f", 2, "x\\x7f" },
	{ "C1 CSI U+009B", "\xc2\x9b" "2J", 4, "\\xc2\\x9b2J" },
	{ "C1 U+0080", "\xc2\x80", 2, "\\xc2\\x80" },
	{ "NBSP U+00A0 passes", "\xc2\xa0", 2, "\xc2\xa0" },
	{ "UTF-8 passes", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "invalid byte", "a\xff" "b", 3, "a\\xffb" },
	{ "truncated", "\xe2\x82", 2, "\\xe2\\x82" },
	{ "overlong ESC C0 9B", "\xc0\x9b", 2, "\\xc0\\x9b" },
	{ "surrogate", "\xed\xa0\x80", 3, "\\xed\\xa0\\x80" },
	{ "empty", "", 0, "" },
};

static void
test_safe_text(void)
{
	ack_buf b;

	ack_buf_init(&b, 0);
	for (size_t i = 0; i < N_ELEM(safe); i++) {
		ack_buf_reset(&b);
		is_int(ack_safe_text(&b, safe[i].in, safe[i].len), ACK_OK, "%s", safe[i].what);
		is_str(b.data ? b.data : "", safe[i].out, "%s: output", safe[i].what);
	}
	ack_buf_free(&b);
}

static void
test_members(void)
{
	ack_buf b;
	ack_json j;
	int rc = 0;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc |= ack_json_obj_open(&j);
	rc |= ack_json_kstr(&j, "s", "v");
	rc |= ack_json_kstr(&j, "n", NULL);
	rc |= ack_json_kint(&j, "i", -7);
	rc |= ack_json_kbool(&j, "b", false);
	rc |= ack_json_ktime(&j, "t", 86400);
	rc |= ack_json_ktime(&j, "z", 0);
	rc |= ack_json_obj_close(&j);
	is_int(rc, ACK_OK, "member helpers succeed");
	is_str(b.data, "{\"s\":\"v\",\"n\":null,\"i\":-7,\"b\":false,"
	    "\"t\":\"1970-01-02T00:00:00Z\",\"z\":null}", "member helpers' output");
	ack_buf_reset(&b);
	ack_json_init(&j, &b);
	ok(ack_json_kstr(&j, "k", "v") != ACK_OK, "a member outside an object is refused");
	ack_buf_free(&b);
}

int
main(void)
{
	test_nested();
	test_members();
	test_misuse();
	test_lines_and_depth();
	test_strings();
	test_cap();
	test_time();
	test_safe_text();
	return tap_done();
}
