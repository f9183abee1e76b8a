/*
 * reason.c - the reason taxonomy of failed and delayed deliveries: which
 * reason an RFC 3463 status implies, which status a reason implies (for a
 * bounce whose text gives none), hard or soft, and the small scanners that
 * find a d.d.d status or an SMTP reply code in free text.
 */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "mime.h"

/* Every reason word, with the status it implies (permanent, temporary). */
static const struct {
	const char *word;
	const char *perm, *temp;
	bool hard; /* the address itself is unusable (with a 5.x.x) */
} reasons[] = {
	{ "userunknown", "5.1.1", "4.1.1", true },
	{ "hostunknown", "5.1.2", "4.1.2", true },
	{ "hasmoved", "5.1.6", "4.1.6", true },
	{ "notaccept", "5.3.2", "4.3.2", true },
	{ "mailboxfull", "5.2.2", "4.2.2", false },
	{ "suspend", "5.2.1", "4.2.1", false },
	{ "mesgtoobig", "5.3.4", "4.3.4", false },
	{ "filtered", "5.2.0", "4.2.0", false },
	{ "blocked", "5.7.1", "4.7.1", false },
	{ "spamdetected", "5.7.1", "4.7.1", false },
	{ "virusdetected", "5.7.1", "4.7.1", false },
	{ "policyviolation", "5.7.0", "4.7.0", false },
	{ "rejected", "5.1.8", "4.1.8", false },
	{ "norelaying", "5.7.1", "4.7.1", false },
	{ "expired", "5.4.7", "4.4.7", false },
	{ "systemerror", "5.3.0", "4.3.0", false },
	{ "mailererror", "5.3.0", "4.3.0", false },
	{ "networkerror", "5.4.0", "4.4.0", false },
	{ "toomanyconn", "4.7.0", "4.7.0", false },
	{ "securityerror", "5.7.0", "4.7.0", false },
	{ "syntaxerror", "5.5.2", "4.5.2", false },
	{ "contenterror", "5.6.0", "4.6.0", false },
	{ "undefined", "5.0.0", "4.0.0", false },
};

/* subject.detail -> reason; "s.*" entries give a whole subject's default. */
static const struct {
	const char *code;
	const char *reason;
} by_status[] = {
	{ "1.0", "userunknown" }, { "1.1", "userunknown" },
	{ "1.2", "hostunknown" }, { "1.3", "userunknown" },
	{ "1.4", "userunknown" }, { "1.6", "hasmoved" },
	{ "1.7", "rejected" }, { "1.8", "rejected" }, { "1.10", "notaccept" },
	{ "2.0", "filtered" }, { "2.1", "suspend" }, { "2.2", "mailboxfull" },
	{ "2.3", "mesgtoobig" }, { "3.1", "systemerror" },
	{ "3.2", "notaccept" }, { "3.4", "mesgtoobig" },
	{ "4.4", "hostunknown" }, { "4.6", "networkerror" },
	{ "4.7", "expired" }, { "7.0", "securityerror" },
	{ "7.1", "rejected" }, { "7.2", "rejected" }, { "7.13", "suspend" },
	{ "7.16", "suspend" }, { "7.17", "suspend" }, { "7.18", "suspend" },
	{ "7.25", "blocked" }, { "7.27", "notaccept" },
	{ "1.*", "userunknown" }, { "2.*", "mailboxfull" },
	{ "3.*", "systemerror" }, { "4.*", "networkerror" },
	{ "5.*", "syntaxerror" }, { "6.*", "contenterror" },
	{ "7.*", "securityerror" }, { "0.*", "undefined" },
};

bool
ack__reason_known(const char *word)
{
	for (size_t i = 0; i < ACK_ARRAY_LEN(reasons); i++)
		if (strcmp(reasons[i].word, word) == 0)
			return true;
	return false;
}

const char *
ack__reason_status(const char *reason, bool temporary)
{
	for (size_t i = 0; reason && i < ACK_ARRAY_LEN(reasons); i++)
		if (strcmp(reasons[i].word, reason) == 0)
			return temporary ? reasons[i].temp : reasons[i].perm;
	return temporary ? "4.0.0" : "5.0.0";
}

/* Is s a d.d.d status of class 2, 4 or 5?  Sets *sub to "s.d". */
static bool
status_syntax(const char *s, const char **sub)
{
	size_t i = 1, n;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	*sub = s + 2;
	for (int part = 0; part < 2; part++) {
		n = strspn(s + ++i, "0123456789");
		if (n < 1 || n > 3)
			return false;
		i += n;
		if (part == 0 && s[i] != '.')
			return false;
	}
	return true;
}

const char *
ack_status_reason(const char *status)
{
	const char *sub;
	char key[8];
	size_t n;

	if (!status_syntax(status, &sub) || status[0] == '2')
		return NULL;
	if (strcmp(sub, "0.0") == 0)
		return "undefined";
	n = strspn(sub, "0123456789.");
	for (size_t i = 0; i < ACK_ARRAY_LEN(by_status); i++)
		if (strlen(by_status[i].code) == n &&
		    strncmp(by_status[i].code, sub, n) == 0)
			return by_status[i].reason;
	n = strspn(sub, "0123456789");
	if (n >= sizeof key - 2)
		return "undefined";
	memcpy(key, sub, n);
	memcpy(key + n, ".*", 3);
	for (size_t i = 0; i < ACK_ARRAY_LEN(by_status); i++)
		if (strcmp(by_status[i].code, key) == 0)
			return by_status[i].reason;
	return "undefined";
}

int
ack_reason_hard(const char *reason, const char *status)
{
	const char *sub;

	if (status_syntax(status, &sub) && status[0] != '5')
		return 0;
	if (reason == NULL || strcmp(reason, "undefined") == 0)
		return -1;
	for (size_t i = 0; i < ACK_ARRAY_LEN(reasons); i++)
		if (strcmp(reasons[i].word, reason) == 0)
			return reasons[i].hard ? 1 : 0;
	return -1;
}

bool
ack__status_vague(const char *status)
{
	const char *sub;

	return !status_syntax(status, &sub) || strncmp(sub, "0.0", 3) == 0;
}

/* ----------------------------------------------------------- text scans */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a d.d.d status at s (bounded by e), 0 when none. */
static size_t
status_at(const char *s, const char *e)
{
	const char *p = s + 2;

	if (e - s < 5 || (*s != '2' && *s != '4' && *s != '5') || s[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		const char *d = p;

		while (p < e && is_digit(*p) && p - d < 4)
			p++;
		if (p == d || p - d > 3)
			return 0;
		if (part == 0 && (p >= e || *p++ != '.'))
			return 0;
	}
	if (p < e && (is_digit(*p) || (*p == '.' && p + 1 < e && is_digit(p[1]))))
		return 0; /* longer: an address or version number */
	return (size_t)(p - s);
}

bool
ack__status_find(const char *s, size_t len, char *out, size_t outlen)
{
	const char *e = s + len, *dot = s;

	/* a status is a class digit then '.': only the dots need a look */
	while (dot + 1 < e &&
	    (dot = memchr(dot + 1, '.', (size_t)(e - dot - 1))) != NULL) {
		const char *p = dot - 1;
		size_t n;

		if (*p != '2' && *p != '4' && *p != '5')
			continue;
		if (p > s && (is_digit(p[-1]) || p[-1] == '.'))
			continue;
		if ((n = status_at(p, e)) > 0 && n < outlen) {
			memcpy(out, p, n);
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

/* Is there a reply code at p (p + 3 <= e), set off from its neighbours? */
static bool
code_at(const char *s, const char *e, const char *p)
{
	char b = p > s ? p[-1] : '\n', a = p + 3 < e ? p[3] : '\n';

	if (!is_digit(p[1]) || !is_digit(p[2]) || p[1] > '5')
		return false;
	return strchr("\n \t:(<#=\"'", b) != NULL && strchr("\n -\t:)", a) != NULL;
}

int
ack__smtp_code_find(const char *s, size_t len)
{
	const char *e = s + len;
	const char *n4 = memchr(s, '4', len), *n5 = memchr(s, '5', len);

	/* a code starts with 4 or 5: only those bytes need a look, in order */
	while (n4 != NULL || n5 != NULL) {
		const char *p = n5 == NULL || (n4 != NULL && n4 < n5) ? n4 : n5;

		if (p + 3 > e)
			break;
		if (code_at(s, e, p))
			return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (p == n4)
			n4 = memchr(p + 1, '4', (size_t)(e - p - 1));
		else
			n5 = memchr(p + 1, '5', (size_t)(e - p - 1));
	}
	return 0;
}
