/*
 * test_token.c - unit tests for the key file (lib/keys.c), the tracking
 * token (lib/token.c) and xtext (lib/xtext.c).
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ackmilter.h"
#include "tap.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="
#define KEY_C "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc="
#define T1 "2026-11-26T06:07:44Z"
#define T0 "2025-01-01T00:00:00Z"
#define NOW INT64_C(1795673264) /* 2026-11-26T06:07:44Z */
#define ACK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static char tmpdir[256];

/* ---------------------------------------------------------------- helpers */

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/ack-token-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
}

static void
remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[PATH_MAX + 256];

	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		if (unlink(p) != 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

/* tmpdir/name into path. */
static const char *
tpath(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", tmpdir, name);
	return path;
}

static const char *
write_file(char *path, size_t size, const char *name, const char *content, mode_t mode)
{
	FILE *fp;

	tpath(path, size, name);
	unlink(path);
	if ((fp = fopen(path, "w")) == NULL || fputs(content, fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
	chmod(path, mode);
	return path;
}

static ack_keys *
load_ok(const char *name, const char *content)
{
	char path[PATH_MAX], err[512] = "";
	ack_keys *k = NULL;
	int rc;

	write_file(path, sizeof path, name, content, 0600);
	rc = ack_keys_load(&k, path, err, sizeof err);
	is_int(rc, ACK_OK, "load %s (%s)", name, err);
	return k;
}

static unsigned
file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static bool
only_base32(const char *s)
{
	return strspn(s, b32) == strlen(s);
}

/* ---------------------------------------------------------------- tokens */

static void
test_roundtrip(void)
{
	ack_keys *k = load_ok("a", "# key file A\n1 " T1 " " KEY_A "\n");
	ack_token_info info;
	char tok[ACK_TOKEN_LEN + 1], tok2[ACK_TOKEN_LEN + 1];

	is_int(ack_keys_count(k), 1, "one key");
	is_int(ack_keys_signing_id(k), 1, "key 1 signs");
	is_int(ack_token_make(k, NOW, tok), ACK_OK, "make");
	is_int(strlen(tok), ACK_TOKEN_LEN, "40 characters");
	ok(only_base32(tok), "only [a-z2-7]: %s", tok);
	memset(&info, 0, sizeof info);
	is_int(ack_token_verify(k, tok, strlen(tok), &info), ACK_OK, "verify");
	is_int(info.version, 1, "version");
	is_int(info.key_id, 1, "key id");
	is_int(info.issued, NOW - NOW % 3600, "issued, to the hour");
	memset(&info, 0, sizeof info);
	is_int(ack_token_decode(tok, strlen(tok), &info), ACK_OK, "decode");
	is_int(info.issued, INT64_C(1795672800), "decode issued 2026-11-26T06:00:00Z");
	is_int(ack_token_make(k, NOW, tok2), ACK_OK, "make again");
	ok(strcmp(tok, tok2) != 0, "two tokens differ (random part)");
	is_int(ack_token_make(k, -1, tok2), ACK_EINVAL, "negative time refused");
	is_int(ack_token_make(NULL, NOW, tok2), ACK_ENOKEY, "no keys: ENOKEY");
	ack_keys_free(k);
}

static void
test_tamper(void)
{
	ack_keys *k = load_ok("a", "1 " T1 " " KEY_A "\n");
	char tok[ACK_TOKEN_LEN + 1], bad[ACK_TOKEN_LEN + 1];

	if (ack_token_make(k, NOW, tok) != ACK_OK)
		tok[0] = '\0';
	for (size_t pos = 0; pos < ACK_TOKEN_LEN; pos++) {
		int accepted = 0, other = 0;

		for (size_t c = 0; c < 32; c++) {
			int rc;

			if (b32[c] == tok[pos])
				continue;
			memcpy(bad, tok, sizeof bad);
			bad[pos] = b32[c];
			rc = ack_token_verify(k, bad, ACK_TOKEN_LEN, NULL);
			accepted += rc == ACK_OK;
			other += rc != ACK_EMAC && rc != ACK_ETOKEN && rc != ACK_ENOKEY && rc != ACK_OK;
		}
		ok(accepted == 0 && other == 0, "position %zu: all 31 changes rejected", pos);
	}
	memcpy(bad, tok, sizeof bad);
	bad[30] = bad[30] == 'a' ? 'b' : 'a';
	is_int(ack_token_verify(k, bad, ACK_TOKEN_LEN, NULL), ACK_EMAC, "MAC change is ACK_EMAC");
	memcpy(bad, tok, sizeof bad);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	is_int(ack_token_verify(k, bad, ACK_TOKEN_LEN, NULL), ACK_EMAC, "random change is ACK_EMAC");
	ack_keys_free(k);
}

static void
test_wrong_key(void)
{
	ack_keys *a = load_ok("a", "1 " T1 " " KEY_A "\n");
	ack_keys *b = load_ok("b", "1 " T1 " " KEY_B "\n");
	ack_keys *c = load_ok("c", "2 " T1 " " KEY_A "\n");
	char tok[ACK_TOKEN_LEN + 1] = "";
	ack_token_info info;

	is_int(ack_token_make(a, NOW, tok), ACK_OK, "make with A");
	is_int(ack_token_verify(b, tok, ACK_TOKEN_LEN, NULL), ACK_EMAC,
	    "same id, other key: ACK_EMAC");
	is_int(ack_token_verify(c, tok, ACK_TOKEN_LEN, &info), ACK_ENOKEY,
	    "id 1 unknown to C: ACK_ENOKEY");
	is_int(info.key_id, 1, "info filled on ENOKEY");
	ack_keys_free(a);
	ack_keys_free(b);
	ack_keys_free(c);
}

static void
test_case_and_syntax(void)
{
	ack_keys *k = load_ok("a", "1 " T1 " " KEY_A "\n");
	char tok[ACK_TOKEN_LEN + 2] = "", up[ACK_TOKEN_LEN + 2], canon[ACK_TOKEN_LEN + 1];
	static const char badchars[] = "0189=-_ .A\xff\x80";

	is_int(ack_token_make(k, NOW, tok), ACK_OK, "make");
	for (size_t i = 0; i <= ACK_TOKEN_LEN; i++)
		up[i] = tok[i] >= 'a' && tok[i] <= 'z' ? (char)(tok[i] - 32) : tok[i];
	ok(strcmp(up, tok) != 0, "uppercase form differs");
	is_int(ack_token_verify(k, up, ACK_TOKEN_LEN, NULL), ACK_OK, "uppercase verifies");
	is_int(ack_token_canon(up, ACK_TOKEN_LEN, canon), ACK_OK, "canon");
	is_str(canon, tok, "canon lowercases");
	is_int(ack_token_verify(k, tok, ACK_TOKEN_LEN - 1, NULL), ACK_ETOKEN, "length 39");
	memcpy(up, tok, ACK_TOKEN_LEN);
	up[ACK_TOKEN_LEN] = 'a';
	is_int(ack_token_verify(k, up, ACK_TOKEN_LEN + 1, NULL), ACK_ETOKEN, "length 41");
	is_int(ack_token_decode(up, ACK_TOKEN_LEN + 1, NULL), ACK_ETOKEN, "decode length 41");
	is_int(ack_token_canon(up, ACK_TOKEN_LEN + 1, canon), ACK_ETOKEN, "canon length 41");
	is_int(ack_token_verify(k, "", 0, NULL), ACK_ETOKEN, "empty");
	is_int(ack_token_verify(k, NULL, 0, NULL), ACK_ETOKEN, "NULL");
	for (size_t i = 0; badchars[i]; i++) {
		memcpy(up, tok, sizeof up);
		up[7] = badchars[i];
		if (badchars[i] == 'A')
			up[7] = '\0'; /* a NUL inside the 40 bytes */
		is_int(ack_token_verify(k, up, ACK_TOKEN_LEN, NULL), ACK_ETOKEN,
		    "bad character 0x%02x", (unsigned char)up[7]);
	}
	memcpy(up, tok, sizeof up);
	up[0] = 'b'; /* version byte 0x41 */
	is_int(ack_token_decode(up, ACK_TOKEN_LEN, NULL), ACK_ETOKEN, "version 9 refused");
	ack_keys_free(k);
}

/* ---------------------------------------------------------------- key files */

static void
test_permissions(void)
{
	char path[PATH_MAX], want[2 * PATH_MAX + 128], err[1024];
	ack_keys *k = NULL;
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0602, 0610, 0601 };

	write_file(path, sizeof path, "perm", "1 " T1 " " KEY_A "\n", 0644);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EPERM, "0644 refused");
	snprintf(want, sizeof want, "%s: mode 0644 is too open: group or others can "
	    "access it; chmod 600 %s", path, path);
	is_str(err, want, "permission message");
	ok(k == NULL, "no keys on failure");
	for (size_t i = 0; i < ACK_ARRAY_LEN(bad); i++) {
		chmod(path, bad[i]);
		is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EPERM, "mode %04o refused",
		    (unsigned)bad[i]);
	}
	chmod(path, 0600);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_OK, "0600 accepted");
	ack_keys_free(k);
	chmod(path, 0400);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_OK, "0400 accepted");
	ack_keys_free(k);
	is_int(ack_keys_load(&k, tpath(path, sizeof path, "missing"), err, sizeof err),
	    ACK_EIO, "missing file: ACK_EIO");
	ok(strstr(err, "No such file") != NULL, "strerror in message: %s", err);
	mkdir(tpath(path, sizeof path, "subdir"), 0700);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EKEYFILE, "directory refused");
}

static const struct {
	const char *what, *content;
	unsigned line;
	const char *problem;
} malformed[] = {
	{ "duplicate id", "# keys\n1 " T0 " " KEY_A "\n\n1 " T1 " " KEY_B "\n", 4,
	  "duplicate key id 1" },
	{ "bad base64", "1 " T1 " " KEY_A "\n2 " T1 " !!!!notbase64!!!\n", 2, "bad base64 key" },
	{ "base64 junk after padding", "1 " T1 " " KEY_A "xx\n", 1, "bad base64 key" },
	{ "short key", "\n\n1 " T1 " AAEC\n", 3, "key is 3 bytes, want 32" },
	{ "long key", "1 " T1 " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", 1,
	  "key is 33 bytes, want 32" },
	{ "id 0", "0 " T1 " " KEY_A "\n", 1, "bad key id \"0\" (want 1..255)" },
	{ "id 256", "# a\n# b\n256 " T1 " " KEY_A "\n", 3, "bad key id \"256\" (want 1..255)" },
	{ "id -1", "-1 " T1 " " KEY_A "\n", 1, "bad key id" },
	{ "id 0x1", "0x1 " T1 " " KEY_A "\n", 1, "bad key id" },
	{ "garbage line", "1 " T1 " " KEY_A "\nhello world\n", 2,
	  "expected \"ID CREATED BASE64KEY\"" },
	{ "extra field", "1 " T1 " " KEY_A " extra\n", 1, "expected" },
	{ "bad month", "1 2026-13-01T00:00:00Z " KEY_A "\n", 1, "bad time" },
	{ "february 30", "1 2026-02-30T00:00:00Z " KEY_A "\n", 1, "bad time" },
	{ "no Z", "1 2026-11-26T06:07:44 " KEY_A "\n", 1, "bad time" },
	{ "offset", "1 2026-11-26T06:07:44+01:00 " KEY_A "\n", 1, "bad time" },
	{ "hour 24", "1 2026-11-26T24:00:00Z " KEY_A "\n", 1, "bad time" },
	{ "CRLF then bad", "1 " T1 " " KEY_A "\r\n2 " T1 " AAEC\r\n", 2, "key is 3 bytes" },
};

static void
test_malformed(void)
{
	static const char nul[] = "# x\n1 " T1 " " KEY_A "\0junk\n";
	char path[PATH_MAX], want[PATH_MAX + 64], err[1024], big[2001];
	ack_keys *k;
	FILE *fp;

	for (size_t i = 0; i < ACK_ARRAY_LEN(malformed); i++) {
		write_file(path, sizeof path, "bad", malformed[i].content, 0600);
		k = (ack_keys *)&k;
		err[0] = '\0';
		is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EKEYFILE, "%s: ACK_EKEYFILE",
		    malformed[i].what);
		snprintf(want, sizeof want, "%s:%u: %s", path, malformed[i].line,
		    malformed[i].problem);
		ok(strncmp(err, want, strlen(want)) == 0, "%s: message \"%s\"", malformed[i].what, err);
		ok(k == NULL, "%s: *out cleared", malformed[i].what);
	}
	write_file(path, sizeof path, "nul", "", 0600);
	if ((fp = fopen(path, "w")) != NULL) {
		fwrite(nul, 1, sizeof nul - 1, fp);
		fclose(fp);
	}
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EKEYFILE, "NUL byte");
	snprintf(want, sizeof want, "%s:2: NUL byte in line", path);
	is_str(err, want, "NUL byte message");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	write_file(path, sizeof path, "long", big, 0600);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EKEYFILE, "2000-byte line");
	snprintf(want, sizeof want, "%s:1: line too long", path);
	is_str(err, want, "long line message");
	write_file(path, sizeof path, "empty", "", 0600);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EKEYFILE, "empty file");
	snprintf(want, sizeof want, "%s: no keys", path);
	is_str(err, want, "empty file message");
	write_file(path, sizeof path, "empty", "# only a comment\n\n   \n", 0600);
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_EKEYFILE, "comments only");
	is_str(err, want, "comments only message");
}

static void
test_signing_choice(void)
{
	ack_keys *k;
	char tok[ACK_TOKEN_LEN + 1];
	ack_token_info info;

	k = load_ok("s", "7 " T1 " " KEY_A "\n3 " T0 " " KEY_B "\n");
	is_int(ack_keys_count(k), 2, "two keys");
	is_int(ack_keys_signing_id(k), 7, "newest CREATED signs, not the last line");
	ack_keys_free(k);
	k = load_ok("s", "  # indented comment\n4 " T1 " " KEY_A "\n\t\n9 " T1 "\t" KEY_B "\n");
	is_int(ack_keys_signing_id(k), 9, "tie: the later line signs");
	is_int(ack_token_make(k, NOW, tok), ACK_OK, "make");
	is_int(ack_token_verify(k, tok, ACK_TOKEN_LEN, &info), ACK_OK, "verify");
	is_int(info.key_id, 9, "token carries key id 9");
	ack_keys_free(k);
	k = load_ok("s", "1 " T1 " " KEY_A);
	is_int(ack_keys_count(k), 1, "no final newline");
	ack_keys_free(k);
}

static void
test_generate(void)
{
	char path[PATH_MAX], err[1024] = "", tok1[ACK_TOKEN_LEN + 1] = "",
	    tok2[ACK_TOKEN_LEN + 1] = "";
	ack_keys *k = NULL;
	ack_token_info info;
	unsigned id = 0;

	tpath(path, sizeof path, "gen");
	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_OK, "generate new file (%s)", err);
	is_int(id, 1, "first id is 1");
	is_int(file_mode(path), 0600, "mode 0600");
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_OK, "load generated (%s)", err);
	is_int(ack_keys_count(k), 1, "one key");
	is_int(ack_token_make(k, NOW, tok1), ACK_OK, "token with key 1");
	ack_keys_free(k);

	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_OK, "rotate (%s)", err);
	is_int(id, 2, "second id is 2");
	is_int(file_mode(path), 0600, "still mode 0600");
	is_int(ack_keys_load(&k, path, err, sizeof err), ACK_OK, "load rotated (%s)", err);
	is_int(ack_keys_count(k), 2, "two keys");
	is_int(ack_keys_signing_id(k), 2, "newest key signs");
	is_int(ack_token_verify(k, tok1, ACK_TOKEN_LEN, NULL), ACK_OK, "old token still verifies");
	is_int(ack_token_make(k, NOW, tok2), ACK_OK, "token with key 2");
	is_int(ack_token_verify(k, tok2, ACK_TOKEN_LEN, &info), ACK_OK, "new token verifies");
	is_int(info.key_id, 2, "new token names key 2");
	ack_keys_free(k);
}

static void
test_generate_existing(void)
{
	char path[PATH_MAX], err[1024] = "", buf[4096] = "";
	static const char orig[] = "# my comment\n5 " T0 " " KEY_A "\n2 " T0 " " KEY_B;
	unsigned id = 0;
	FILE *fp;
	size_t n = 0;

	write_file(path, sizeof path, "ex", orig, 0600);
	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_OK, "append (%s)", err);
	is_int(id, 6, "max id + 1");
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	ok(strncmp(buf, orig, strlen(orig)) == 0 && buf[strlen(orig)] == '\n',
	    "old content kept, newline added");
	ok(strncmp(buf + strlen(orig) + 1, "6 ", 2) == 0, "new line starts with id 6");
	is_int(file_mode(path), 0600, "mode 0600");

	write_file(path, sizeof path, "ex", "# empty\n", 0600);
	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_OK, "comments-only file");
	is_int(id, 1, "gets id 1");
	write_file(path, sizeof path, "ex", "255 " T0 " " KEY_C "\n", 0600);
	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_EKEYFILE, "255 taken");
	ok(strstr(err, "no free key id") != NULL, "message: %s", err);
	write_file(path, sizeof path, "ex", "1 " T0 " " KEY_C "\n", 0644);
	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_EPERM, "0644 refused");
	write_file(path, sizeof path, "ex", "1 " T0 " AAEC\n", 0600);
	is_int(ack_keys_generate(path, &id, err, sizeof err), ACK_EKEYFILE, "broken file refused");
}

/* ---------------------------------------------------------------- xtext */

static const struct {
	const char *in;
	size_t len;
	const char *out;
} xtext_cases[] = {
	{ "abc", 3, "abc" },
	{ "", 0, "" },
	{ "a+b=c", 5, "a+2Bb+3Dc" },
	{ "a b", 3, "a+20b" },
	{ "!~", 2, "!~" },
	{ "\xe9t\xc3\xa9", 4, "+E9t+C3+A9" },
	{ "\0\x7f\t\n", 4, "+00+7F+09+0A" },
	{ "rfc822;user@example.org", 23, "rfc822;user@example.org" },
};

static void
test_xtext(void)
{
	ack_buf b, d;

	ack_buf_init(&b, 0);
	ack_buf_init(&d, 0);
	for (size_t i = 0; i < ACK_ARRAY_LEN(xtext_cases); i++) {
		ack_buf_reset(&b);
		ack_buf_reset(&d);
		is_int(ack_xtext_encode(&b, xtext_cases[i].in, xtext_cases[i].len), ACK_OK,
		    "encode %zu", i);
		is_str(b.data ? b.data : "", xtext_cases[i].out, "encode %zu", i);
		is_int(ack_xtext_decode(&d, b.data, b.len), ACK_OK, "decode %zu", i);
		ok(d.len == xtext_cases[i].len &&
		    memcmp(d.data ? d.data : "", xtext_cases[i].in, d.len) == 0, "round trip %zu", i);
	}
	ack_buf_free(&b);
	ack_buf_free(&d);
}

static void
test_xtext_all_bytes(void)
{
	char all[256];
	ack_buf b, d;

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	ack_buf_init(&b, 0);
	ack_buf_init(&d, 0);
	is_int(ack_xtext_encode(&b, all, sizeof all), ACK_OK, "encode 256 bytes");
	ok(strspn(b.data, "!\"#$%&'()*,-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
	    "abcdefghijklmnopqrstuvwxyz{|}~+") == b.len, "output is xchars only");
	is_int(b.len, 94 - 2 + (256 - 92) * 3, "length");
	is_int(ack_xtext_decode(&d, b.data, b.len), ACK_OK, "decode");
	ok(d.len == 256 && memcmp(d.data, all, 256) == 0, "256 bytes round trip");
	ack_buf_reset(&d);
	is_int(ack_xtext_decode(&d, "a+2b+3d", 7), ACK_OK, "lowercase hex accepted");
	is_str(d.data, "a+=", "lowercase hex decoded");
	ack_buf_free(&b);
	ack_buf_free(&d);
}

static void
test_xtext_errors(void)
{
	static const char *const bad[] = { "+", "+2", "ab+2", "+2G", "+G2", "x+ 20", "++41" };
	ack_buf b;

	ack_buf_init(&b, 0);
	for (size_t i = 0; i < ACK_ARRAY_LEN(bad); i++) {
		ack_buf_reset(&b);
		if (ack_buf_adds(&b, "keep") != ACK_OK)
			continue;
		is_int(ack_xtext_decode(&b, bad[i], strlen(bad[i])), ACK_EINVAL, "decode \"%s\"",
		    bad[i]);
		is_str(b.data, "keep", "buffer unchanged after \"%s\"", bad[i]);
	}
	ack_buf_free(&b);
	ack_buf_init(&b, 5);
	is_int(ack_xtext_encode(&b, "a b", 3), ACK_OK, "fits cap 5");
	is_int(ack_xtext_encode(&b, "c", 1), ACK_ETOOBIG, "cap reached");
	is_str(b.data, "a+20b", "content kept at cap");
	ack_buf_free(&b);
}

int
main(void)
{
	make_tmpdir();
	test_roundtrip();
	test_tamper();
	test_wrong_key();
	test_case_and_syntax();
	test_permissions();
	test_malformed();
	test_signing_choice();
	test_generate();
	test_generate_existing();
	test_xtext();
	test_xtext_all_bytes();
	test_xtext_errors();
	remove_tmpdir();
	return tap_done();
}
