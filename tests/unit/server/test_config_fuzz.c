/* test_config_fuzz.c - what fuzzing cradled's configuration file found
 * (tests/fuzz/fuzz_ini.c: a file that loads prints, with --print-config, as
 * a file that loads to the same configuration).
 *
 * config_fprint writes "key = value", one key a line, glob lists joined by
 * ", ".  Two kinds of accepted values did not read back when inih read
 * the file:
 *  - a value (or glob pattern) beginning with ';', as "type =;x" gives:
 *    printed after a blank, it read as a comment and the value as empty;
 *  - a value whose printed line was longer than the 198 characters inih
 *    took whole, as "key=value" without blanks (or a compact glob list)
 *    allowed.
 * Both were refused for a while; now lines have no limit and such values
 * print in double quotes, so both read back as they were.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "tests/unit/lib/unit.h"

/* Load text as main does (defaults, the file, validation). */
static int
load_text(struct daemon_config *cfg, const char *text, size_t len, char path[PATH_MAX],
          struct cradle_err *err)
{
	int rc;

	unit_path(path, PATH_MAX, "cradled.conf");
	unit_put_file(path, text, len, 0644);
	config_defaults(cfg);
	rc = config_load(cfg, path, true, err);
	return rc < 0 ? rc : config_validate(cfg, err);
}

static void
expect_error(const char *text, int line, const char *msg)
{
	struct daemon_config cfg;
	struct cradle_err err = { 0 };
	char path[PATH_MAX], want[PATH_MAX + 600];

	ck_assert_msg(load_text(&cfg, text, strlen(text), path, &err) < 0, "accepted:\n%s", text);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	config_fini(&cfg);
}

static char *
print_to_string(const struct daemon_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_fprint(f, cfg);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* text loads, prints, and what it prints loads and prints the same. */
static void
expect_round_trip(const char *text)
{
	struct daemon_config cfg, again;
	struct cradle_err err = { 0 };
	char path[PATH_MAX];
	char *p1, *p2;

	ck_assert_msg(load_text(&cfg, text, strlen(text), path, &err) == 0, "%s\n%s", err.msg,
	              text);
	p1 = print_to_string(&cfg);
	ck_assert_msg(load_text(&again, p1, strlen(p1), path, &err) == 0, "%s\n%s", err.msg, p1);
	p2 = print_to_string(&again);
	ck_assert_str_eq(p2, p1);
	free(p1);
	free(p2);
	config_fini(&again);
	config_fini(&cfg);
}

/* the input fuzz_ini found (tests/fuzz/corpus/fuzz_ini/crash-leading-semicolon.conf) */
START_TEST(test_fuzz_ini_leading_semicolon)
{
	expect_round_trip("\n\n\n[runtime.runc]\ntype =;'m ");
	expect_round_trip("[runtime.r]\ntype=;x\n[sandbox]\ndefault_runtime = r\n");
	expect_round_trip("[registry]\ninsecure=;\n");
	expect_round_trip("[runtime.r]\npod_annotations = a,;b\n[sandbox]\ndefault_runtime = r\n");
	expect_round_trip("[runtime.r]\npod_annotations =;b\n[sandbox]\ndefault_runtime = r\n");

	/* a ';' elsewhere is a character like another, and a ';' after a
	 * blank is a comment, both before and after printing */
	expect_round_trip("[sandbox]\nhost_resolv_conf = /x;y\ndefault_runtime = r\n[runtime.r]\n"
	                  "pod_annotations = a;,b\n"
	                  "[registry]\ninsecure = h ;comment\n");
	/* what is still refused is refused with its line */
	expect_error("[sandbox]\nimage = \";x\n", 2, "the quoted value has no closing '\"'");
}
END_TEST

START_TEST(test_fuzz_ini_printed_line_too_long)
{
	char text[512], value[256];
	size_t n;

	/* "image=" and 192 characters: 198, what inih took; printed as
	 * "image = " and 192, 200 */
	memset(value, 'x', 192);
	value[192] = '\0';
	n = (size_t)snprintf(text, sizeof(text), "[sandbox]\nimage=%s\n", value);
	ck_assert_uint_lt(n, sizeof(text));
	expect_round_trip(text);

	/* a compact glob list grows by a blank per comma when printed:
	 * 16 + 42 * 3 + 41 = 183 read, 18 + 126 + 82 = 226 printed */
	n = (size_t)snprintf(text, sizeof(text), "[runtime.r]\npod_annotations=");
	for (int i = 0; i < 42; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sabc", i ? "," : "");
	snprintf(text + n, sizeof(text) - n, "\n[sandbox]\ndefault_runtime = r\n");
	expect_round_trip(text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config_fuzz");

	unit_tcase(
		s, "print", unit_scratch_setup, unit_scratch_teardown, 0,
		UNIT_TESTS(test_fuzz_ini_leading_semicolon, test_fuzz_ini_printed_line_too_long));
	return unit_run(s, "test_config_fuzz", 0);
}
