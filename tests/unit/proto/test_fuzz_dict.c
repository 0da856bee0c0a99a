/* test_fuzz_dict.c - the request fuzzer's dictionary
 * (tests/fuzz/fuzz_request.dict) holds every operation's name as the
 * msgpack string the wire carries ("\xab" "daemon.info": fixstr of 11
 * bytes), so an operation added to proto_op_name is fuzzed by name too.
 * Reads the dictionary from $CRADLE_SRC (default: the current directory,
 * the source tree when make runs the tests).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

START_TEST(test_every_op_in_the_dictionary)
{
	static char dict[65536];
	char path[512], want[128];
	const char *src = getenv("CRADLE_SRC");
	FILE *f;
	size_t n;
	int ops = 0;

	snprintf(path, sizeof(path), "%s/tests/fuzz/fuzz_request.dict", src ? src : ".");
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	n = fread(dict, 1, sizeof(dict) - 1, f);
	fclose(f);
	ck_assert_uint_lt(n, sizeof(dict) - 1);
	dict[n] = '\0';
	for (int op = 0; op < OP__COUNT; op++) {
		const char *name = proto_op_name(op);

		ck_assert_ptr_nonnull(name);
		ck_assert_uint_lt(strlen(name), 32); /* a fixstr */
		snprintf(want, sizeof(want), "\n\"\\x%02x%s\"\n", 0xa0 | (unsigned)strlen(name),
		         name);
		ck_assert_msg(strstr(dict, want) != NULL, "%s lacks the line %s", path, want + 1);
		ops++;
	}
	ck_assert_int_ge(ops, 16);
	ck_assert_ptr_null(proto_op_name(OP__COUNT));
}
END_TEST

static Suite *
fuzz_dict_suite(void)
{
	Suite *s = suite_create("fuzz_dict");

	unit_tcase(s, "fuzz_dict", NULL, NULL, 30, UNIT_TESTS(test_every_op_in_the_dictionary));
	return (s);
}

int
main(void)
{
	return (unit_run(fuzz_dict_suite(), "test_fuzz_dict", 0));
}
