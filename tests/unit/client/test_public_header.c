/* test_public_header.c - libcradle as a user of an installed copy sees it.
 *
 * Built by its own Makefile rule: with only build/tests/sdk/include in the
 * include path (that directory holds cradle/cradle.h and nothing else, so
 * no proto/ header and no msgpack.h can be reached), the flags of
 * build/libcradle.pc, and linked against libcradle.so.  So it compiling at
 * all is the first check.  Then, with no daemon anywhere: connecting and
 * asking for the version fail with the right codes and words, pods refuse
 * bad values naming the field, paths and JSON behave as documented.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cradle/cradle.h>

#define NOWHERE "/nonexistent-cradle-test/cradle.sock"

/* Assert a failure with code and a message containing want. */
#define ck_failed(rc, err, want_code, want)                                                        \
	do {                                                                                       \
		ck_assert_int_lt((rc), 0);                                                         \
		ck_assert_msg((err).code == (want_code), "code %s, want %s: %s",                   \
		              cradle_status_name((err).code), cradle_status_name(want_code),       \
		              (err).message);                                                      \
		ck_assert_msg(strstr((err).message, (want)) != NULL, "want \"%s\" in: %s", (want), \
		              (err).message);                                                      \
	} while (0)

START_TEST(test_version_against_nothing)
{
	struct cradle_conn *c = (struct cradle_conn *)&c;
	struct cradle_version v;
	struct cradle_error err = { 0 };
	int rc;

	rc = cradle_connect(NOWHERE, 1000, &c, &err);
	ck_failed(rc, err, CRADLE_STATUS_UNAVAILABLE, "cannot reach cradled at \"ipc://" NOWHERE);
	ck_assert_msg(strstr(err.message, "No such file or directory"), "%s", err.message);
	ck_assert_ptr_null(c);
	memset(&err, 0, sizeof(err));
	rc = cradle_version(c, &v, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "not connected to cradled");
	cradle_close(c);

	/* events: the same */
	struct cradle_events *e = NULL;
	rc = cradle_events_open("/nonexistent-cradle-test/events.sock", &e, &err);
	ck_failed(rc, err, CRADLE_STATUS_UNAVAILABLE, "events.sock");
	ck_assert_ptr_null(e);
}
END_TEST

START_TEST(test_success_leaves_error_alone)
{
	struct cradle_error err = { .code = 42, .message = "untouched" };
	struct cradle_pod *pod = NULL;

	ck_assert_int_eq(cradle_pod_new("web", "default", "u-1", &pod, &err), 0);
	ck_assert_int_eq(cradle_pod_set_hostname(pod, "web-1.example", &err), 0);
	ck_assert_int_eq(err.code, 42);
	ck_assert_str_eq(err.message, "untouched");
	/* and NULL is fine where an error would go */
	ck_assert_int_lt(cradle_pod_set_hostname(pod, "Not A Host", NULL), 0);
	cradle_pod_free(pod);
	cradle_pod_free(NULL);
}
END_TEST

START_TEST(test_pod_refuses_bad_values)
{
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = NULL;
	int rc;

	rc = cradle_pod_new("Not_A_Label", "default", "u-1", &pod, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "metadata.name");
	ck_assert_ptr_null(pod);
	rc = cradle_pod_new("web", "default", NULL, &pod, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "metadata.uid");
	ck_assert_int_eq(cradle_pod_new("web", "default", "u-1", &pod, &err), 0);

	rc = cradle_pod_set_hostname(pod, "under_score", &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "hostname");
	rc = cradle_pod_set_log_directory(pod, "relative/dir", &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "log_directory");
	rc = cradle_pod_set_label(pod, "", "x", &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "labels");
	rc = cradle_pod_set_annotation(pod, "note", NULL, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "annotations: the value is NULL");
	rc = cradle_pod_set_namespace_mode(pod, 7, CRADLE_NS_MODE_NODE, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "7 is not a namespace");
	rc = cradle_pod_set_namespace_mode(pod, CRADLE_NS_PID, 9, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "namespace_options.pid");
	rc = cradle_pod_set_attempt(NULL, 1, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "the pod is NULL");
	/* good values after bad ones */
	ck_assert_int_eq(cradle_pod_set_label(pod, "app.kubernetes.io/name", "web", &err), 0);
	ck_assert_int_eq(
		cradle_pod_set_namespace_mode(pod, CRADLE_NS_IPC, CRADLE_NS_MODE_NODE, &err), 0);
	ck_assert_int_eq(cradle_pod_set_hostname(pod, NULL, &err), 0);
	cradle_pod_free(pod);
}
END_TEST

START_TEST(test_pod_from_json)
{
	static const char good[] = "{\"metadata\": {\"name\": \"web\", \"uid\": \"u-1\", "
				   "\"namespace\": \"default\"}, \"hostname\": \"web\"}";
	static const char bad_type[] = "{\"metadata\": {\"name\": \"web\", \"uid\": \"u-1\", "
				       "\"namespace\": \"default\", \"attempt\": \"one\"}}";
	static const char bad_syntax[] = "{\n  \"metadata\": {,}\n}";
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = NULL;
	int rc;

	ck_assert_msg(cradle_pod_from_json(good, strlen(good), &pod, &err) == 0, "%s", err.message);
	cradle_pod_free(pod);
	rc = cradle_pod_from_json(bad_type, strlen(bad_type), &pod, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "metadata.attempt: expected");
	ck_assert_ptr_null(pod);
	rc = cradle_pod_from_json(bad_syntax, strlen(bad_syntax), &pod, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "line 2");
	rc = cradle_pod_from_file("/nonexistent-cradle-test/pod.json", &pod, &err);
	ck_failed(rc, err, CRADLE_STATUS_NOT_FOUND, "/nonexistent-cradle-test/pod.json");
	rc = cradle_pod_from_json(good, strlen(good), NULL, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "out is NULL");
}
END_TEST

START_TEST(test_names_and_paths)
{
	ck_assert_str_eq(cradle_status_name(CRADLE_STATUS_OK), "OK");
	ck_assert_str_eq(cradle_status_name(CRADLE_STATUS_UNAVAILABLE), "UNAVAILABLE");
	ck_assert_str_eq(cradle_status_name(99), "UNKNOWN");
	ck_assert_str_eq(cradle_socket_path("/x/cradle.sock"), "ipc:///x/cradle.sock");
	ck_assert_str_eq(cradle_socket_path("tcp://127.0.0.1:1"), "tcp://127.0.0.1:1");
	ck_assert_str_eq(cradle_events_path(NULL, "/x/cradle.sock"), "ipc:///x/events.sock");
	ck_assert_str_eq(cradle_events_path("/y/ev.sock", "/x/cradle.sock"), "ipc:///y/ev.sock");
}
END_TEST

START_TEST(test_json)
{
	struct cradle_event ev = { .kind = CRADLE_EVENT_SANDBOX_EXIT,
		                   .type = "sandbox.exit",
		                   .seq = 7,
		                   .id = "ab",
		                   .pid = 42,
		                   .exit_status = 137,
		                   .exited_at = 1500000000 };
	struct cradle_error err = { 0 };
	char *text = NULL;
	int rc;

	ck_assert_int_eq(cradle_event_to_json(&ev, 0, &text, &err), 0);
	ck_assert_str_eq(text, "{\"seq\":7,\"type\":\"sandbox.exit\",\"id\":\"ab\",\"pid\":42,"
	                       "\"exit_status\":137,\"exited_at\":1500000000,"
	                       "\"exited\":\"1970-01-01T00:00:01.5Z\"}");
	free(text);
	ck_assert_int_eq(cradle_sandboxes_to_json(NULL, 0, CRADLE_JSON_PRETTY, &text, &err), 0);
	ck_assert_str_eq(text, "[]");
	free(text);
	rc = cradle_sandbox_to_json(NULL, 0, &text, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "the sandbox is NULL");
	ck_assert_ptr_null(text);
	rc = cradle_images_to_json(NULL, 2, 0, &text, &err);
	ck_failed(rc, err, CRADLE_STATUS_INVALID_ARGUMENT, "the array is NULL");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("public_header");
	TCase *tc = tcase_create("installed");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_version_against_nothing);
	tcase_add_test(tc, test_success_leaves_error_alone);
	tcase_add_test(tc, test_pod_refuses_bad_values);
	tcase_add_test(tc, test_pod_from_json);
	tcase_add_test(tc, test_names_and_paths);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
