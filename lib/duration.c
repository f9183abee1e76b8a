/*
 * duration.c - durations ("90d", "12h", "1h30m") and points in time
 * (RFC 3339 timestamps, or a duration meaning "that long before now") as
 * the command line tools accept them.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "internal.h"

#define DURATION_MAX ((int64_t)1 << 40) /* about 34,800 years */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Seconds in one unit named by c; 0 when c is not a unit. */
static int64_t
unit_seconds(char c)
{
	switch (c) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	}
	return 0;
}

int
ack_duration_parse(const char *s, int64_t *secs)
{
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return ACK_EINVAL;
	while (*s) {
		int64_t n = 0, u;

		if (!is_digit(*s))
			return ACK_EINVAL;
		for (; is_digit(*s); s++) {
			n = n * 10 + (*s - '0');
			if (n > DURATION_MAX)
				return ACK_EINVAL;
		}
		/* A bare number is seconds, but only as the whole string. */
		u = *s ? unit_seconds(*s++) : (total == 0 ? 1 : 0);
		if (u == 0 || n > (DURATION_MAX - total) / u)
			return ACK_EINVAL;
		total += n * u;
	}
	*secs = total;
	return ACK_OK;
}

/* Read exactly n digits into *v. */
static bool
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!is_digit(**p))
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* "YYYY-MM-DD" into *day (days since the epoch). */
static bool
parse_date(const char **p, int64_t *day)
{
	int y, m, d;

	if (!digits(p, 4, &y) || *(*p)++ != '-' || !digits(p, 2, &m) ||
	    *(*p)++ != '-' || !digits(p, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return false;
	*day = days_from_civil(y, m, d);
	return true;
}

/* "HH:MM:SS[.frac]" into *sec (seconds since midnight); leap second 60 ok. */
static bool
parse_clock(const char **p, int64_t *sec)
{
	int h, m, s;

	if (!digits(p, 2, &h) || *(*p)++ != ':' || !digits(p, 2, &m) ||
	    *(*p)++ != ':' || !digits(p, 2, &s) || h > 23 || m > 59 || s > 60)
		return false;
	if (**p == '.') {
		(*p)++;
		if (!is_digit(**p))
			return false;
		while (is_digit(**p))
			(*p)++;
	}
	*sec = h * 3600 + m * 60 + s;
	return true;
}

/* "Z" or "+HH:MM" / "-HH:MM" into *off (seconds east of UTC). */
static bool
parse_offset(const char **p, int64_t *off)
{
	char sign = **p;
	int h, m;

	if (sign == 'Z' || sign == 'z') {
		(*p)++;
		*off = 0;
		return true;
	}
	if (sign != '+' && sign != '-')
		return false;
	(*p)++;
	if (!digits(p, 2, &h) || *(*p)++ != ':' || !digits(p, 2, &m) ||
	    h > 23 || m > 59)
		return false;
	*off = (sign == '-' ? -1 : 1) * (int64_t)(h * 3600 + m * 60);
	return true;
}

/* RFC 3339 date-time, or a bare full-date (midnight UTC). */
static int
parse_rfc3339(const char *s, int64_t *t)
{
	int64_t day, sec = 0, off = 0;
	const char *p = s;

	if (!parse_date(&p, &day))
		return ACK_EINVAL;
	if (*p != '\0') {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return ACK_EINVAL;
		p++;
		if (!parse_clock(&p, &sec) || !parse_offset(&p, &off))
			return ACK_EINVAL;
	}
	if (*p != '\0')
		return ACK_EINVAL;
	*t = day * 86400 + sec - off;
	return ACK_OK;
}

int
ack_time_parse(const char *s, int64_t now, int64_t *t)
{
	int64_t d;

	if (s == NULL || *s == '\0')
		return ACK_EINVAL;
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_rfc3339(s, t);
	if (ack_duration_parse(s, &d) != ACK_OK)
		return ACK_EINVAL;
	*t = now - d;
	return ACK_OK;
}
