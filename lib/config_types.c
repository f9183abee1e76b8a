/*
 * config_types.c - one parser, one destructor and one printer per type of
 * ackmilter.conf value (bool, int, size, enum, notify, string, path,
 * template, word, list, netlist), the checks of particular string keys,
 * and the matching of client addresses against InternalHosts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_types.h"
#include "internal.h"

#define LOCAL_PART_MAX 64   /* RFC 5321 section 4.5.3.1.1 */

/* NETLIST fields are a pointer followed by its count. */
_Static_assert(offsetof(ack_config, n_internal_hosts) ==
    offsetof(ack_config, internal_hosts) + sizeof(ack_net *),
    "InternalHosts count must follow its array");

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Does the key accept an empty value (its default is empty)? */
static bool
optional(const ack_config_key *k)
{
	return k->def == NULL || k->def[0] == '\0';
}

/* s quoted for a message: printable ASCII kept, others \xNN, long cut. */
const char *
ack__config_quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; s[i] != '\0' && i < QUOTE_MAX && o + 8 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
	}
	out[o++] = '"';
	if (s[i] != '\0' && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* Index of word s in "a|b|c", case-insensitively, or -1. */
static int
word_index(const char *words, const char *s)
{
	size_t n = strlen(s);
	int i = 0;

	for (const char *w = words; *w != '\0'; i++) {
		size_t len = strcspn(w, "|");

		if (len == n && ack__strncasecmp(w, s, n) == 0)
			return i;
		w += len;
		if (*w == '|')
			w++;
	}
	return -1;
}

/* "hdrs|full" written as "hdrs, full" into msg after its current text. */
static void
words_list(const char *words, char *msg, size_t msglen)
{
	size_t o = strlen(msg);

	for (const char *w = words; *w != '\0' && o + 3 < msglen; w++) {
		if (*w == '|') {
			msg[o++] = ',';
			msg[o++] = ' ';
		} else {
			msg[o++] = *w;
		}
	}
	msg[o] = '\0';
}

/* A size as written in a file: "4m" when exact, else the byte count. */
static void
size_text(int64_t v, char *out, size_t outlen)
{
	static const char suffix[] = "tgmk";
	int64_t unit = TIB;

	for (int i = 0; i < 4; i++, unit /= 1024)
		if (v != 0 && v % unit == 0) {
			snprintf(out, outlen, "%lld%c", (long long)(v / unit), suffix[i]);
			return;
		}
	snprintf(out, outlen, "%lld", (long long)v);
}

/* ------------------------------------------------------------------ */
/* Scalars: BOOL, INT, SIZE, ENUM, NOTIFY                              */
/* ------------------------------------------------------------------ */

static int
parse_bool(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	static const char *const yes = "yes|true|1", *const no = "no|false|0";
	char q[QUOTE_MAX * 4 + 8];

	(void)k;
	if (word_index(yes, v) >= 0)
		*(bool *)field = true;
	else if (word_index(no, v) >= 0)
		*(bool *)field = false;
	else {
		snprintf(msg, msglen, "%s is not a boolean (yes or no)",
		    ack__config_quote(v, q, sizeof q));
		return ACK_ECONFIG;
	}
	return ACK_OK;
}

/* Digits only, into *out; false on anything else or overflow. */
static bool
digits(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int
check_bounds(const ack_config_key *k, int64_t v, char *msg, size_t msglen)
{
	char a[32], b[32];
	bool low = v < k->min;

	if (!low && v <= k->max)
		return ACK_OK;
	if (k->type == ACK_CT_SIZE) {
		size_text(v, a, sizeof a);
		size_text(low ? k->min : k->max, b, sizeof b);
	} else {
		snprintf(a, sizeof a, "%lld", (long long)v);
		snprintf(b, sizeof b, "%lld", (long long)(low ? k->min : k->max));
	}
	snprintf(msg, msglen, "%s is %s the %s %s", a, low ? "below" : "above",
	    low ? "minimum" : "maximum", b);
	return ACK_ECONFIG;
}

static int
parse_int(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	char q[QUOTE_MAX * 4 + 8];
	bool neg = v[0] == '-';
	int64_t n;

	if (!digits(v + neg, strlen(v + neg), &n)) {
		bool all = strspn(v + neg, "0123456789") == strlen(v + neg);

		snprintf(msg, msglen, "%s is %s", ack__config_quote(v, q, sizeof q),
		    all && v[neg] != '\0' ? "too large" : "not an integer");
		return ACK_ECONFIG;
	}
	if (neg)
		n = -n;
	if (check_bounds(k, n, msg, msglen) != ACK_OK)
		return ACK_ECONFIG;
	*(int64_t *)field = n;
	return ACK_OK;
}

static int
parse_size(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	static const char units[] = "kmgt";
	char q[QUOTE_MAX * 4 + 8];
	size_t n = strlen(v);
	const char *u = n ? strchr(units, v[n - 1] | 0x20) : NULL;
	int64_t val, mult = 1;

	if (u != NULL) {
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		n--;
	}
	if (!digits(v, n, &val)) {
		snprintf(msg, msglen, "%s is not a size (digits with an optional "
		    "k, m, g or t)", ack__config_quote(v, q, sizeof q));
		return ACK_ECONFIG;
	}
	if (val > INT64_MAX / mult) {
		snprintf(msg, msglen, "%s is too large", ack__config_quote(v, q, sizeof q));
		return ACK_ECONFIG;
	}
	if (check_bounds(k, val * mult, msg, msglen) != ACK_OK)
		return ACK_ECONFIG;
	*(int64_t *)field = val * mult;
	return ACK_OK;
}

static int
parse_enum(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	char q[QUOTE_MAX * 4 + 8];
	int i = word_index(k->words, v);

	if (i < 0) {
		snprintf(msg, msglen, "%s is not one of ", ack__config_quote(v, q, sizeof q));
		words_list(k->words, msg, msglen);
		return ACK_ECONFIG;
	}
	*(int *)field = i;
	return ACK_OK;
}

/* NOTIFY words separated by commas and/or blanks. */
static int
parse_notify(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	char q[QUOTE_MAX * 4 + 8];
	ack_buf b;
	unsigned bits = 0;
	int rc = ACK_OK;

	(void)k;
	ack_buf_init(&b, LINE_MAX_BYTES + 1);
	for (const char *p = v; *p != '\0' && rc == ACK_OK;) {
		size_t w = strcspn(p, " \t,");

		if (w > 0 && b.len > 0)
			rc = ack_buf_addc(&b, ',');
		if (rc == ACK_OK)
			rc = ack_buf_add(&b, p, w);
		p += w;
		p += strspn(p, " \t,");
	}
	if (rc != ACK_OK || b.len == 0 || ack_notify_parse(b.data, &bits) != ACK_OK) {
		snprintf(msg, msglen, "%s is not SUCCESS, FAILURE and DELAY in any "
		    "combination, or NEVER", ack__config_quote(v, q, sizeof q));
		rc = rc == ACK_ENOMEM ? ACK_ENOMEM : ACK_ECONFIG;
	} else {
		*(unsigned *)field = bits;
	}
	ack_buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Strings: STRING, PATH, TEMPLATE, WORD                               */
/* ------------------------------------------------------------------ */

static int
check_socket(const char *v, char *msg, size_t msglen)
{
	static const char *const prefix[] = { "unix:", "local:", "inet:", "inet6:" };

	for (size_t i = 0; i < ACK_ARRAY_LEN(prefix); i++) {
		size_t n = strlen(prefix[i]);

		if (ack__strncasecmp(v, prefix[i], n) == 0 && v[n] != '\0')
			return ACK_OK;
	}
	snprintf(msg, msglen, "expected unix:/path, inet:port@host or inet6:port@host");
	return ACK_ECONFIG;
}

static int
check_header_name(const char *v, char *msg, size_t msglen)
{
	char q[QUOTE_MAX * 4 + 8];

	if (ack__header_name_ok(v))
		return ACK_OK;
	snprintf(msg, msglen, "%s is not a header field name (a letter, then "
	    "letters, digits or '-'; at most %d)", ack__config_quote(v, q, sizeof q),
	    ACK_HEADER_NAME_MAX);
	return ACK_ECONFIG;
}

static int
check_user(const char *v, char *msg, size_t msglen)
{
	char q[QUOTE_MAX * 4 + 8];
	const char *colon = strchr(v, ':');
	bool good = v[0] != ':' && strpbrk(v, " \t") == NULL;

	if (colon != NULL)
		good = good && colon[1] != '\0' && strchr(colon + 1, ':') == NULL;
	if (good)
		return ACK_OK;
	snprintf(msg, msglen, "%s: expected user or user:group",
	    ack__config_quote(v, q, sizeof q));
	return ACK_ECONFIG;
}

/* Extra checks of STRING keys, by field. */
static const struct {
	size_t offset;
	int (*check)(const char *v, char *msg, size_t msglen);
} string_checks[] = {
	{ FIELD(socket), check_socket },
	{ FIELD(tracking_header), check_header_name },
	{ FIELD(user_id), check_user },
};

static int
check_template(const char *v, char *msg, size_t msglen)
{
	const char *at = strchr(v, '@'), *pct = strchr(v, '%');
	size_t local;

	if (strpbrk(v, " \t<>\"'\\()[],;") != NULL) {
		snprintf(msg, msglen, "must not contain blanks, quotes, backslashes, "
		    "brackets, commas or semicolons");
		return ACK_ECONFIG;
	}
	if (pct == NULL || pct[1] != 't' || strchr(pct + 1, '%') != NULL) {
		snprintf(msg, msglen, "must contain %%t exactly once, and no other %%");
		return ACK_ECONFIG;
	}
	if (at == NULL || at == v || at[1] == '\0' || strchr(at + 1, '@') != NULL) {
		snprintf(msg, msglen, "must be of the form local@domain");
		return ACK_ECONFIG;
	}
	if (pct > at) {
		snprintf(msg, msglen, "%%t must be in the local part");
		return ACK_ECONFIG;
	}
	local = (size_t)(at - v) - 2 + ACK_TOKEN_LEN;
	if (local > LOCAL_PART_MAX) {
		snprintf(msg, msglen, "the local part with a %d-character token is "
		    "%zu characters, more than %d", ACK_TOKEN_LEN, local,
		    LOCAL_PART_MAX);
		return ACK_ECONFIG;
	}
	return ACK_OK;
}

/* Replace the string in field by a copy of v (NULL when v is empty). */
static int
set_string(void *field, const char *v)
{
	char *s = NULL;

	if (v[0] != '\0' && (s = ack__strdup(v)) == NULL)
		return ACK_ENOMEM;
	free(*(char **)field);
	*(char **)field = s;
	return ACK_OK;
}

static int
parse_string(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	int rc = ACK_OK;

	for (size_t i = 0; i < ACK_ARRAY_LEN(string_checks) && v[0] != '\0'; i++)
		if (string_checks[i].offset == k->offset)
			rc = string_checks[i].check(v, msg, msglen);
	if (rc == ACK_OK && k->type == ACK_CT_PATH && v[0] != '\0' && v[0] != '/') {
		snprintf(msg, msglen, "path must be absolute");
		rc = ACK_ECONFIG;
	}
	if (rc == ACK_OK && k->type == ACK_CT_TEMPLATE && v[0] != '\0')
		rc = check_template(v, msg, msglen);
	return rc == ACK_OK ? set_string(field, v) : rc;
}

static int
parse_word(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	const char *w = k->words;
	char *word;
	int i, rc;

	if ((rc = parse_enum(k, v, &i, msg, msglen)) != ACK_OK)
		return rc;
	while (i-- > 0)
		w += strcspn(w, "|") + 1;
	if ((word = ack__strndup(w, strcspn(w, "|"))) == NULL)
		return ACK_ENOMEM;
	free(*(char **)field);
	*(char **)field = word;
	return ACK_OK;
}

static void
clear_string(void *field)
{
	free(*(char **)field);
	*(char **)field = NULL;
}

/* ------------------------------------------------------------------ */
/* Lists: LIST, NETLIST                                                */
/* ------------------------------------------------------------------ */

static void
clear_list(void *field)
{
	ack_strlist *l = field;

	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Number of words separated by commas and/or blanks. */
static size_t
count_words(const char *v)
{
	size_t n = 0;

	for (v += strspn(v, " \t,"); *v != '\0'; v += strspn(v, " \t,")) {
		n++;
		v += strcspn(v, " \t,");
	}
	return n;
}

static int
parse_list(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	ack_strlist l = { NULL, 0 };
	size_t n = count_words(v);

	if (n == 0 && !optional(k)) {
		snprintf(msg, msglen, "value required");
		return ACK_ECONFIG;
	}
	if (n > 0 && (l.v = calloc(n, sizeof *l.v)) == NULL)
		return ACK_ENOMEM;
	for (v += strspn(v, " \t,"); *v != '\0'; v += strspn(v, " \t,")) {
		size_t w = strcspn(v, " \t,");

		if ((l.v[l.n] = ack__strndup(v, w)) == NULL) {
			clear_list(&l);
			return ACK_ENOMEM;
		}
		l.n++;
		v += w;
	}
	clear_list(field);
	*(ack_strlist *)field = l;
	return ACK_OK;
}

/* Parse "addr" or "addr/prefix" (w bytes at s) into *net. */
static int
parse_net(const char *s, size_t w, ack_net *net, char *msg, size_t msglen)
{
	char word[INET6_ADDRSTRLEN + 8], q[QUOTE_MAX * 4 + 8];
	char *slash;
	int64_t prefix;
	unsigned max;

	memset(net, 0, sizeof *net);
	memcpy(word, s, w < sizeof word ? w : sizeof word - 1);
	word[w < sizeof word ? w : sizeof word - 1] = '\0';
	if ((slash = strchr(word, '/')) != NULL)
		*slash = '\0';
	if (w < sizeof word && inet_pton(AF_INET, word, net->addr) == 1)
		net->family = AF_INET;
	else if (w < sizeof word && inet_pton(AF_INET6, word, net->addr) == 1)
		net->family = AF_INET6;
	else {
		if (slash != NULL)
			*slash = '/';
		snprintf(msg, msglen, "%s is not an IPv4 or IPv6 address or network",
		    ack__config_quote(word, q, sizeof q));
		return ACK_ECONFIG;
	}
	max = net->family == AF_INET ? 32 : 128;
	net->prefix = max;
	if (slash == NULL)
		return ACK_OK;
	if (!digits(slash + 1, strlen(slash + 1), &prefix) || prefix > max) {
		*slash = '/';
		snprintf(msg, msglen, "%s: prefix length must be 0 to %u",
		    ack__config_quote(word, q, sizeof q), max);
		return ACK_ECONFIG;
	}
	net->prefix = (unsigned)prefix;
	return ACK_OK;
}

/* Clear the address bits beyond the prefix. */
static void
mask_net(ack_net *net)
{
	unsigned len = net->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < len; i++) {
		unsigned keep = net->prefix > i * 8 ? net->prefix - i * 8 : 0;

		if (keep < 8)
			net->addr[i] &= (unsigned char)(0xff00u >> keep);
	}
}

static void
clear_netlist(void *field)
{
	ack_net **v = field;
	size_t *n = (size_t *)((char *)field + sizeof(ack_net *));

	free(*v);
	*v = NULL;
	*n = 0;
}

static int
parse_netlist(const ack_config_key *k, const char *v, void *field, char *msg,
    size_t msglen)
{
	size_t n = count_words(v), i = 0;
	ack_net *nets = NULL;

	(void)k;
	if (n > 0 && (nets = calloc(n, sizeof *nets)) == NULL)
		return ACK_ENOMEM;
	for (v += strspn(v, " \t,"); *v != '\0'; v += strspn(v, " \t,")) {
		size_t w = strcspn(v, " \t,");

		if (parse_net(v, w, &nets[i], msg, msglen) != ACK_OK) {
			free(nets);
			return ACK_ECONFIG;
		}
		mask_net(&nets[i++]);
		v += w;
	}
	clear_netlist(field);
	*(ack_net **)field = nets;
	*(size_t *)((char *)field + sizeof(ack_net *)) = n;
	return ACK_OK;
}

/* ------------------------------------------------------------------ */
/* Printing                                                            */
/* ------------------------------------------------------------------ */

void
ack__config_print(const ack_config_key *k, const void *field, FILE *fp)
{
	char tmp[INET6_ADDRSTRLEN + 64];

	switch (k->type) {
	case ACK_CT_STRING: case ACK_CT_PATH: case ACK_CT_TEMPLATE: case ACK_CT_WORD:
		if (*(char *const *)field != NULL)
			fprintf(fp, " %s", *(char *const *)field);
		break;
	case ACK_CT_BOOL:
		fprintf(fp, " %s", *(const bool *)field ? "yes" : "no");
		break;
	case ACK_CT_INT: case ACK_CT_SIZE:
		fprintf(fp, " %lld", (long long)*(const int64_t *)field);
		break;
	case ACK_CT_ENUM: {
		const char *w = k->words;

		for (int i = *(const int *)field; i > 0 && strchr(w, '|'); i--)
			w = strchr(w, '|') + 1;
		fprintf(fp, " %.*s", (int)strcspn(w, "|"), w);
		break;
	}
	case ACK_CT_NOTIFY:
		ack_notify_format(*(const unsigned *)field, tmp, sizeof tmp);
		fprintf(fp, " %s", tmp);
		break;
	case ACK_CT_LIST: {
		const ack_strlist *l = field;

		for (size_t i = 0; i < l->n; i++)
			fprintf(fp, "%s%s", i ? ", " : " ", l->v[i]);
		break;
	}
	case ACK_CT_NETLIST: {
		const ack_net *v = *(ack_net *const *)field;
		size_t n = *(const size_t *)((const char *)field + sizeof(ack_net *));

		for (size_t i = 0; i < n; i++) {
			inet_ntop(v[i].family, v[i].addr, tmp, sizeof tmp);
			fprintf(fp, "%s%s/%u", i ? ", " : " ", tmp, v[i].prefix);
		}
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* Setting and clearing a value                                        */
/* ------------------------------------------------------------------ */

typedef int (*parse_fn)(const ack_config_key *k, const char *v, void *field,
    char *msg, size_t msglen);

static const parse_fn parsers[] = {
	[ACK_CT_STRING] = parse_string,
	[ACK_CT_PATH] = parse_string,
	[ACK_CT_BOOL] = parse_bool,
	[ACK_CT_INT] = parse_int,
	[ACK_CT_SIZE] = parse_size,
	[ACK_CT_ENUM] = parse_enum,
	[ACK_CT_LIST] = parse_list,
	[ACK_CT_NOTIFY] = parse_notify,
	[ACK_CT_NETLIST] = parse_netlist,
	[ACK_CT_TEMPLATE] = parse_string,
	[ACK_CT_WORD] = parse_word,
};

/*
 * Set key k from text v into field.  msg gets the problem, without the key
 * name.  The field keeps its old value on failure.
 */
int
ack__config_set(const ack_config_key *k, const char *v, void *field,
    char *msg, size_t msglen)
{
	for (const char *p = v; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			snprintf(msg, msglen, "control character in value");
			return ACK_ECONFIG;
		}
	if (v[0] == '\0' && !optional(k)) {
		snprintf(msg, msglen, "value required");
		return ACK_ECONFIG;
	}
	return parsers[k->type](k, v, field, msg, msglen);
}

void
ack__config_clear(const ack_config_key *k, void *field)
{
	if (k->type == ACK_CT_LIST)
		clear_list(field);
	else if (k->type == ACK_CT_NETLIST)
		clear_netlist(field);
	else if (k->type == ACK_CT_STRING || k->type == ACK_CT_PATH ||
	    k->type == ACK_CT_TEMPLATE || k->type == ACK_CT_WORD)
		clear_string(field);
}

/* ------------------------------------------------------------------ */
/* InternalHosts matching                                              */
/* ------------------------------------------------------------------ */

static bool
net_match(const ack_net *net, int family, const unsigned char *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != family || memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr[full] ^ net->addr[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static bool
any_match(const ack_config *c, int family, const unsigned char *addr)
{
	for (size_t i = 0; i < c->n_internal_hosts; i++)
		if (net_match(&c->internal_hosts[i], family, addr))
			return true;
	return false;
}

bool
ack_config_internal(const ack_config *c, const void *sockaddr)
{
	const struct sockaddr *sa = sockaddr;

	if (c == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = sockaddr;

		return any_match(c, AF_INET, (const unsigned char *)&sin->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = sockaddr;
		const unsigned char *a = sin6->sin6_addr.s6_addr;

		if (any_match(c, AF_INET6, a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    any_match(c, AF_INET, a + 12);
	}
	return false;
}
