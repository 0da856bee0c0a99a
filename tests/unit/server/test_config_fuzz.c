/* test_config_fuzz.c - what fuzzing cradled's configuration file found
 * (tests/fuzz/fuzz_ini.c: a file that loads prints, with --print-config, as
 * a file that loads to the same configuration).
 *
 * config_fprint writes "key = value", one key a line, glob lists joined by
 * ", ".  Two kinds of accepted values did not read back:
 *  - a value (or glob pattern) beginning with ';', as "image =;x" gives:
 *    printed after a blank, inih reads it as a comment and the value as
 *    empty;
 *  - a value whose printed line is longer than the line inih takes whole,
 *    as "key=value" without blanks (or a compact glob list) allows.
 * Both are now refused where they are read, with FILE:LINE.
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

#define SEMI "begins with ';', which reads as a comment after a blank"

/* the input fuzz_ini found (tests/fuzz/corpus/fuzz_ini/crash-leading-semicolon.conf) */
START_TEST(test_fuzz_ini_leading_semicolon)
{
	expect_error("\n\n\n[sandbox]\nimage =;'m ", 5, "image: \";'m\" " SEMI);
	expect_error("[runtime.r]\ntype=;x\n", 2, "type: \";x\" " SEMI);
	expect_error("[registry]\ninsecure=;\n", 2, "insecure: \";\" " SEMI);
	/* the second pattern would be printed after ", " */
	expect_error("[runtime.r]\npod_annotations = a,;b\n", 2, "pod_annotations: \";b\" " SEMI);
	expect_error("[runtime.r]\npod_annotations =;b\n", 2, "pod_annotations: \";b\" " SEMI);

	/* a ';' elsewhere is a character like another, and a ';' after a
	 * blank is a comment, both before and after printing */
	expect_round_trip(
		"[sandbox]\nimage = x;y\ndefault_runtime = r\n[runtime.r]\npod_annotations = a;,b\n"
		"[registry]\ninsecure = h ;comment\n");
}
END_TEST

START_TEST(test_fuzz_ini_printed_line_too_long)
{
	char text[512], value[256];
	size_t n;

	/* "image=" and 192 characters: 198, what inih takes; printed as
	 * "image = " and 192, it would be 200 */
	memset(value, 'x', 192);
	value[192] = '\0';
	n = (size_t)snprintf(text, sizeof(text), "[sandbox]\nimage=%s\n", value);
	ck_assert_uint_lt(n, sizeof(text));
	expect_error(text, 2,
	             "image: the value is too long: \"image = <value>\" makes a line of 200 "
	             "characters, more than 198");

	/* 190 still prints in 198 */
	value[190] = '\0';
	snprintf(text, sizeof(text), "[sandbox]\nimage=%s\n", value);
	expect_round_trip(text);

	/* a compact glob list grows by a blank per comma when printed */
	n = (size_t)snprintf(text, sizeof(text), "[runtime.r]\npod_annotations=");
	for (int i = 0; i < 42; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sabc", i ? "," : "");
	snprintf(text + n, sizeof(text) - n, "\n");
	/* 16 + 42 * 3 + 41 = 183 read, 18 + 126 + 82 = 226 printed */
	expect_error(text, 2,
	             "pod_annotations: the value is too long: \"pod_annotations = <value>\" makes "
	             "a line of 226 characters, more than 198");
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
