/*
 * test_duration.c - unit tests of lib/duration.c: durations ("90d",
 * "1h30m") and times (RFC 3339, bare dates, "that long ago").
 */
#include "config.h"

#include <stdint.h>

#include "ackmilter.h"
#include "tap.h"

static const struct {
	const char *in;
	int rc;
	int64_t secs;
} durations[] = {
	{ "90d", ACK_OK, 90 * 86400 },
	{ "12h", ACK_OK, 12 * 3600 },
	{ "30m", ACK_OK, 1800 },
	{ "45s", ACK_OK, 45 },
	{ "2w", ACK_OK, 14 * 86400 },
	{ "1h30m", ACK_OK, 5400 },
	{ "1d12h30m15s", ACK_OK, 86400 + 12 * 3600 + 1800 + 15 },
	{ "0d", ACK_OK, 0 },
	{ "3600", ACK_OK, 3600 },
	{ "", ACK_EINVAL, 0 },
	{ "d", ACK_EINVAL, 0 },
	{ "5", ACK_OK, 5 },
	{ "1h30", ACK_EINVAL, 0 },  /* a bare number only as the whole string */
	{ "5y", ACK_EINVAL, 0 },
	{ "-5d", ACK_EINVAL, 0 },
	{ "5 d", ACK_EINVAL, 0 },
	{ "5D", ACK_EINVAL, 0 },
	{ "99999999999999999999d", ACK_EINVAL, 0 },
	{ "1000000000w", ACK_EINVAL, 0 },
};

static const int64_t NOW = 1764137264; /* 2025-11-26T06:07:44Z */

static const struct {
	const char *in;
	int rc;
	int64_t t;
} times[] = {
	{ "2025-11-26T06:07:44Z", ACK_OK, 1764137264 },
	{ "2025-11-26t06:07:44z", ACK_OK, 1764137264 },
	{ "2025-11-26 06:07:44Z", ACK_OK, 1764137264 },
	{ "2025-11-26T07:07:44+01:00", ACK_OK, 1764137264 },
	{ "2025-11-26T01:37:44-04:30", ACK_OK, 1764137264 },
	{ "2025-11-26T06:07:44.123456Z", ACK_OK, 1764137264 },
	{ "1970-01-01T00:00:00Z", ACK_OK, 0 },
	{ "1969-12-31T23:59:59Z", ACK_OK, -1 },
	{ "2024-02-29", ACK_OK, 1709164800 },
	{ "2000-03-01T00:00:00Z", ACK_OK, 951868800 },
	{ "2023-02-29", ACK_EINVAL, 0 },
	{ "2025-13-01", ACK_EINVAL, 0 },
	{ "2025-11-26T24:00:00Z", ACK_EINVAL, 0 },
	{ "2025-11-26T06:07:44", ACK_EINVAL, 0 },   /* no offset */
	{ "2025-11-26T06:07Z", ACK_EINVAL, 0 },
	{ "2025-11-26T06:07:44.Z", ACK_EINVAL, 0 },
	{ "2025-11-26T06:07:44Zjunk", ACK_EINVAL, 0 },
	{ "2025-11-26T06:07:44+0100", ACK_EINVAL, 0 },
	{ "7d", ACK_OK, 1764137264 - 7 * 86400 },
	{ "12h", ACK_OK, 1764137264 - 12 * 3600 },
	{ "yesterday", ACK_EINVAL, 0 },
	{ "", ACK_EINVAL, 0 },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		int64_t got = -1;
		int rc = ack_duration_parse(durations[i].in, &got);

		is_int(rc, durations[i].rc, "duration \"%s\" status", durations[i].in);
		if (durations[i].rc == ACK_OK)
			is_int(got, durations[i].secs, "duration \"%s\" value", durations[i].in);
	}
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		int64_t got = -12345;
		int rc = ack_time_parse(times[i].in, NOW, &got);

		is_int(rc, times[i].rc, "time \"%s\" status", times[i].in);
		if (times[i].rc == ACK_OK)
			is_int(got, times[i].t, "time \"%s\" value", times[i].in);
	}
	is_int(ack_duration_parse(NULL, &(int64_t){ 0 }), ACK_EINVAL, "NULL duration");
	is_int(ack_time_parse(NULL, NOW, &(int64_t){ 0 }), ACK_EINVAL, "NULL time");
	return tap_done();
}
