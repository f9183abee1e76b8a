/*
 * test_buf.c - unit tests for the bounded buffer and status names
 * (lib/buf.c) and for DSN/MDN state names and NOTIFY keywords
 * (lib/state.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ackmilter.h"
#include "tap.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- buffer */

static void
test_buf_basic(void)
{
	ack_buf b;
	int rc = 0;

	ack_buf_init(&b, 0);
	ok(b.data == NULL && b.len == 0 && !b.truncated, "init: empty");
	rc |= ack_buf_add(&b, "abc", 3);
	rc |= ack_buf_adds(&b, "def");
	rc |= ack_buf_addc(&b, 'g');
	rc |= ack_buf_add(&b, "", 0);
	rc |= ack_buf_add(&b, "h\0i", 3);
	is_int(rc, 0, "appends succeed");
	is_int(b.len, 10, "length counts the NUL byte");
	ok(memcmp(b.data, "abcdefgh\0i", 11) == 0, "content and terminator");
	ack_buf_reset(&b);
	ok(b.len == 0 && b.data[0] == '\0', "reset empties");
	for (int i = 0; i < 1000; i++)
		rc |= ack_buf_addc(&b, (char)('a' + i % 26));
	is_int(rc, 0, "1000 single appends");
	ok(b.len == 1000 && b.data[1000] == '\0' && b.data[999] == 'a' + 999 % 26 &&
	    b.size > 1000, "grown and terminated");
	ack_buf_free(&b);
	ok(b.data == NULL && b.len == 0, "free clears");
	is_int(ack_buf_adds(&b, "again"), ACK_OK, "usable after free");
	is_str(b.data, "again", "content after free");
	is_int(ack_buf_add(&b, "x", SIZE_MAX), ACK_ETOOBIG, "SIZE_MAX refused");
	ack_buf_free(&b);
}

static void
test_buf_cap(void)
{
	ack_buf b;

	ack_buf_init(&b, 10);
	is_int(ack_buf_adds(&b, "0123456789"), ACK_OK, "exactly the cap");
	ok(!b.truncated, "not truncated yet");
	is_int(ack_buf_addc(&b, 'x'), ACK_ETOOBIG, "one more byte refused");
	ok(b.truncated, "truncated flag set");
	is_str(b.data, "0123456789", "content unchanged");
	is_int(b.len, 10, "length unchanged");
	ack_buf_reset(&b);
	ok(!b.truncated, "reset clears truncated");
	is_int(ack_buf_adds(&b, "01234"), ACK_OK, "half");
	is_int(ack_buf_add(&b, "567890", 6), ACK_ETOOBIG, "all or nothing");
	is_str(b.data, "01234", "nothing of a refused append");
	is_int(ack_buf_printf(&b, "%s", "abcdef"), ACK_ETOOBIG, "printf past the cap");
	is_str(b.data, "01234", "nothing of a refused printf");
	is_int(ack_buf_printf(&b, "%d", 56789), ACK_OK, "printf up to the cap");
	is_str(b.data, "0123456789", "printf content");
	ack_buf_free(&b);
}

static void
test_buf_printf(void)
{
	ack_buf b;
	char big[300];
	int rc = 0;

	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ack_buf_init(&b, 0);
	rc |= ack_buf_printf(&b, "%d-%s-%05.1f", -42, "x", 3.14159);
	rc |= ack_buf_printf(&b, "%s", "");
	rc |= ack_buf_printf(&b, "|%s|", big);
	is_int(rc, 0, "printf calls");
	ok(strncmp(b.data, "-42-x-003.1|zzz", 15) == 0, "formatted: %.20s", b.data);
	is_int(b.len, 11 + 1 + 299 + 1, "length after a grow");
	ok(b.data[b.len - 1] == '|' && b.data[b.len] == '\0', "ends right");
	ack_buf_free(&b);
}

static void
test_strerror(void)
{
	static const int codes[] = {
		ACK_OK, ACK_ENOMEM, ACK_EINVAL, ACK_ENOTFOUND, ACK_ETOKEN, ACK_EMAC,
		ACK_ENOKEY, ACK_EKEYFILE, ACK_EPERM, ACK_EIO, ACK_ESTORE, ACK_ESCHEMA,
		ACK_EFULL, ACK_ECONFIG, ACK_ETOOBIG, ACK_EEXIST, ACK_ECORRUPT,
	};
	int dup = 0, unknown = 0;

	for (size_t i = 0; i < N_ELEM(codes); i++) {
		unknown += strcmp(ack_strerror(codes[i]), "unknown error") == 0;
		for (size_t k = 0; k < i; k++)
			dup += strcmp(ack_strerror(codes[i]), ack_strerror(codes[k])) == 0;
	}
	is_int(unknown, 0, "every code has a name");
	is_int(dup, 0, "names are distinct");
	is_str(ack_strerror(-1), "unknown error", "errno-like value unknown");
	is_str(ack_strerror(ACK_EMAC), "token signature does not verify", "EMAC name");
}

/* ---------------------------------------------------------------- states */

static const struct {
	const char *in;
	int want;
} dsn_words[] = {
	{ "none", ACK_DSN_NONE },
	{ "pending", ACK_DSN_PENDING },
	{ "relayed", ACK_DSN_RELAYED },
	{ "relayed (to non-DSN-aware mailer)", ACK_DSN_RELAYED },
	{ "Delivered", ACK_DSN_DELIVERED },
	{ "  EXPANDED", ACK_DSN_EXPANDED },
	{ "delayed;", ACK_DSN_DELAYED },
	{ "failed; 5.1.1", ACK_DSN_FAILED },
	{ "\tfailed\t", ACK_DSN_FAILED },
	{ "relay", -1 },
	{ "deliveredx", -1 },
	{ "bounced", -1 },
	{ "", -1 },
	{ "   ", -1 },
};

static const struct {
	const char *in;
	int want;
} mdn_words[] = {
	{ "displayed", ACK_MDN_DISPLAYED },
	{ "Deleted", ACK_MDN_DELETED },
	{ "dispatched", ACK_MDN_DISPATCHED },
	{ "processed", ACK_MDN_PROCESSED },
	{ "denied", ACK_MDN_DENIED },
	{ "failed", ACK_MDN_FAILED },
	{ "displayed/error", -1 },
	{ "manual-action/MDN-sent-manually; displayed", -1 },
	{ "read", -1 },
};

static void
test_state_parse(void)
{
	for (size_t i = 0; i < N_ELEM(dsn_words); i++)
		is_int(ack_dsn_state_parse(dsn_words[i].in, strlen(dsn_words[i].in)),
		    dsn_words[i].want, "dsn \"%s\"", dsn_words[i].in);
	for (size_t i = 0; i < N_ELEM(mdn_words); i++)
		is_int(ack_mdn_state_parse(mdn_words[i].in, strlen(mdn_words[i].in)),
		    mdn_words[i].want, "mdn \"%s\"", mdn_words[i].in);
	is_int(ack_dsn_state_parse("delayed\r\n", 9), ACK_DSN_DELAYED, "dsn delayed CRLF");
	is_int(ack_dsn_state_parse("delivered", 7), -1, "length bounds the word (\"deliver\")");
	is_int(ack_dsn_state_parse("failedXYZ", 6), ACK_DSN_FAILED, "length bounds the word");
}

static void
test_state_names(void)
{
	static const char *const dsn[] = {
		"none", "pending", "relayed", "delivered", "expanded", "delayed", "failed",
	};
	static const char *const mdn[] = {
		"none", "pending", "displayed", "deleted", "dispatched", "processed",
		"denied", "failed",
	};
	static const bool final[] = { false, false, true, true, true, false, true };

	for (int i = 0; i < ACK_DSN__COUNT; i++) {
		is_str(ack_dsn_state_name(i), dsn[i], "dsn name %d", i);
		is_int(ack_dsn_state_parse(dsn[i], strlen(dsn[i])), i, "dsn name %d parses back", i);
		is_int(ack_dsn_state_final(i), final[i], "dsn %s final?", dsn[i]);
	}
	for (int i = 0; i < ACK_MDN__COUNT; i++) {
		is_str(ack_mdn_state_name(i), mdn[i], "mdn name %d", i);
		is_int(ack_mdn_state_parse(mdn[i], strlen(mdn[i])), i, "mdn name %d parses back", i);
	}
	is_str(ack_dsn_state_name(-1), "unknown", "dsn -1");
	is_str(ack_dsn_state_name(ACK_DSN__COUNT), "unknown", "dsn past the end");
	is_str(ack_mdn_state_name(ACK_MDN__COUNT), "unknown", "mdn past the end");
	ok(!ack_dsn_state_final(-1) && !ack_dsn_state_final(ACK_DSN__COUNT), "out of range not final");
}

/* ---------------------------------------------------------------- NOTIFY */

static const struct {
	const char *in;
	int rc;
	unsigned bits;
} notify_cases[] = {
	{ "SUCCESS,FAILURE,DELAY", ACK_OK, 7 },
	{ "success", ACK_OK, ACK_NOTIFY_SUCCESS },
	{ "Failure,Delay", ACK_OK, ACK_NOTIFY_FAILURE | ACK_NOTIFY_DELAY },
	{ "DELAY,SUCCESS", ACK_OK, ACK_NOTIFY_DELAY | ACK_NOTIFY_SUCCESS },
	{ "SUCCESS,SUCCESS", ACK_OK, ACK_NOTIFY_SUCCESS },
	{ "NEVER", ACK_OK, ACK_NOTIFY_NEVER },
	{ "never", ACK_OK, ACK_NOTIFY_NEVER },
	{ "NEVER,SUCCESS", ACK_EINVAL, 99 },
	{ "FAILURE,NEVER", ACK_EINVAL, 99 },
	{ "", ACK_EINVAL, 99 },
	{ "SUCCESS,", ACK_EINVAL, 99 },
	{ ",SUCCESS", ACK_EINVAL, 99 },
	{ "SUCCESS,,FAILURE", ACK_EINVAL, 99 },
	{ "SUCCESS FAILURE", ACK_EINVAL, 99 },
	{ "SUCCES", ACK_EINVAL, 99 },
	{ "ALL", ACK_EINVAL, 99 },
};

static void
test_notify(void)
{
	char out[64];
	unsigned bits;

	for (size_t i = 0; i < N_ELEM(notify_cases); i++) {
		bits = 99;
		is_int(ack_notify_parse(notify_cases[i].in, &bits), notify_cases[i].rc,
		    "parse \"%s\"", notify_cases[i].in);
		is_int(bits, notify_cases[i].bits, "bits of \"%s\"", notify_cases[i].in);
	}
	for (unsigned v = 1; v <= ACK_NOTIFY_NEVER; v++) {
		ack_notify_format(v, out, sizeof out);
		ok(ack_notify_parse(out, &bits) == ACK_OK && bits == v, "format %u: %s", v, out);
	}
	ack_notify_format(7, out, sizeof out);
	is_str(out, "SUCCESS,FAILURE,DELAY", "canonical order");
	ack_notify_format(ACK_NOTIFY_DELAY | ACK_NOTIFY_SUCCESS, out, sizeof out);
	is_str(out, "SUCCESS,DELAY", "two words");
	ack_notify_format(0, out, sizeof out);
	is_str(out, "", "no bits");
	ack_notify_format(7, out, 16);
	is_str(out, "SUCCESS,FAILURE", "short buffer keeps whole words");
	ack_notify_format(7, out, 8);
	is_str(out, "SUCCESS", "exactly one word fits");
	ack_notify_format(7, out, 7);
	is_str(out, "", "nothing fits");
	strcpy(out, "keep");
	ack_notify_format(7, out, 0);
	is_str(out, "keep", "outlen 0 writes nothing");
}

int
main(void)
{
	test_buf_basic();
	test_buf_cap();
	test_buf_printf();
	test_strerror();
	test_state_parse();
	test_state_names();
	test_notify();
	return tap_done();
}
