/*
 * fuzz_report.c - libFuzzer target for the report parser: each input is
 * parsed as a whole message with a small body cap, then fed again through
 * the milter stages in chunks whose sizes come from the input, and the
 * JSON form of both results is written.  Build:
 *   clang -fsanitize=fuzzer,address,undefined -I lib -I BUILDDIR \
 *     fuzz/fuzz_report.c lib/[a-z]*.c -lsodium -llmdb -lpcre2-8 (all of lib/)
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ackmilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
emit_json(const ack_parser *p)
{
	ack_buf b;
	ack_json j;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	if (ack_json_obj_open(&j) == ACK_OK &&
	    ack_report_json(ack_parser_result(p), &j) == ACK_OK)
		(void)ack_json_obj_close(&j);
	ack_buf_free(&b);
}

/* Headers as one field, then the data as body in varying chunks. */
static void
feed_stages(ack_parser *p, const uint8_t *data, size_t size)
{
	size_t i = 0, step = size ? (size_t)data[0] % 61 + 1 : 1;

	ack_parser_reset(p);
	if (ack_parser_header(p, "Content-Type",
	    "multipart/report; report-type=delivery-status; boundary=B") != ACK_OK)
		return;
	(void)ack_parser_eoh(p);
	(void)ack_parser_candidate(p);
	while (i < size) {
		size_t n = size - i < step ? size - i : step;

		if (ack_parser_body(p, data + i, n) != ACK_OK)
			return;
		i += n;
	}
	if (ack_parser_eom(p) == ACK_OK)
		emit_json(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ack_parser *p;

	if (p == NULL && ack_parser_new(&p, 64 * 1024) != ACK_OK)
		return 0;
	ack_parser_reset(p);
	if (ack_parser_message(p, data, size) == ACK_OK)
		emit_json(p);
	feed_stages(p, data, size);
	ack_parser_reset(p);
	return 0;
}
