/* test_json.c - json_doc_parse of util/json.c: one JSON document, strictly. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/json.h"
#include "tests/unit/lib/unit.h"

/* text parses; the value has type t. */
static void
parses(const char *text, size_t len, json_type t)
{
	struct cradle_err err = { 0 };
	json_object *o = json_doc_parse(text, len, "doc", &err);

	ck_assert_msg(o != NULL, "refused \"%.*s\": %s", (int)len, text, err.msg);
	ck_assert_int_eq(json_object_get_type(o), t);
	ck_assert_int_eq(err.code, CRADLE_OK);
	json_object_put(o);
}

/* text is refused with INVALID_ARGUMENT and a message starting with want. */
static void
refused(const char *text, size_t len, const char *want)
{
	struct cradle_err err = { 0 };
	json_object *o = json_doc_parse(text, len, "doc", &err);

	ck_assert_msg(o == NULL, "accepted \"%.*s\"", (int)len, text);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0,
	              "\"%.*s\": got \"%s\", want \"%s...\"", (int)len, text, err.msg, want);
}

#define PARSES(text, t) parses(text, strlen(text), t)
#define REFUSED(text, want) refused(text, strlen(text), want)

START_TEST(test_json_values)
{
	PARSES("{\"a\": [1, 2]}", json_type_object);
	PARSES("[]", json_type_array);
	PARSES("\"s\"", json_type_string);
	/* white space after the value is fine */
	PARSES("{}\n\n", json_type_object);
	PARSES(" \t{}\r\n ", json_type_object);
	/* a top-level number or literal ends with the text, which needs no NUL */
	PARSES("123", json_type_int);
	PARSES("true", json_type_boolean);
	parses("1234", 3, json_type_int);
	parses("{}garbage", 2, json_type_object);

	struct cradle_err err = { 0 };
	json_object *o = json_doc_parse("1234", 3, "doc", &err);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_get_int(o), 123);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_syntax_errors)
{
	REFUSED("", "doc: invalid JSON at line 1, column 1: unexpected end of data");
	REFUSED("  \n  ", "doc: invalid JSON at line 2, column 3: unexpected end of data");
	REFUSED("{\"a\": [", "doc: invalid JSON at line 1, column 8: unexpected end of data");
	REFUSED("nul", "doc: invalid JSON at line 1, column 4: unexpected end of data");
	REFUSED("{\n\"a\": tru}", "doc: invalid JSON at line 2, column ");
	/* strict: no comments, no trailing commas */
	REFUSED("/* c */ {}", "doc: invalid JSON at line 1, column 1: ");
	REFUSED("[1,]", "doc: invalid JSON at line 1, column 4: ");
}
END_TEST

/* One value and nothing after it but white space. */
START_TEST(test_json_trailing)
{
	REFUSED("{} x", "doc: invalid JSON at line 1, column 4: ");
	REFUSED("{}\n{}", "doc: invalid JSON at line 2, column 1: ");
	REFUSED("[1] [2]", "doc: invalid JSON at line 1, column 5: ");
	REFUSED("123 4", "doc: invalid JSON at line 1, column 5: ");
}
END_TEST

START_TEST(test_json_nul_null_depth)
{
	char deep[2 * (JSON_DOC_DEPTH + 1) + 1];

	/* json-c would stop at the NUL and call "{}" complete */
	refused("{}\0{}", 5, "doc: invalid JSON: contains a NUL byte");
	refused("{\"a\": \"b\0c\"}", 12, "doc: invalid JSON: contains a NUL byte");
	REFUSED("null", "doc: the document is null");
	REFUSED(" null ", "doc: the document is null");

	/* JSON_DOC_DEPTH levels, not one more */
	memset(deep, '[', JSON_DOC_DEPTH);
	memset(deep + JSON_DOC_DEPTH, ']', JSON_DOC_DEPTH);
	parses(deep, 2 * JSON_DOC_DEPTH, json_type_array);
	memset(deep, '[', JSON_DOC_DEPTH + 1);
	memset(deep + JSON_DOC_DEPTH + 1, ']', JSON_DOC_DEPTH + 1);
	refused(deep, 2 * (JSON_DOC_DEPTH + 1), "doc: invalid JSON at line 1, column ");
}
END_TEST

/* The message names the document; err may be NULL. */
START_TEST(test_json_names_document)
{
	struct cradle_err err = { 0 };

	ck_assert_ptr_null(json_doc_parse("{", 1, "image config \"/x.json\"", &err));
	ck_assert_str_eq(err.msg, "image config \"/x.json\": invalid JSON at line 1, column 2: "
	                          "unexpected end of data");
	ck_assert_ptr_null(json_doc_parse("{", 1, "doc", NULL));
	ck_assert_ptr_null(json_doc_parse("a\0", 2, "doc", NULL));
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = { test_json_values, test_json_syntax_errors,
		                       test_json_trailing, test_json_nul_null_depth,
		                       test_json_names_document };
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return unit_run(s, "test_json", 0);
}
