/* test_labels.c - a sandbox's spec annotations and labels against a real
 * cradled: what the spec builder made of the pod (the pod annotations its
 * runtime handler passes through, the io.kubernetes.cri.sandbox-* set;
 * the image's and the pod's labels and io.cri-containerd.kind=sandbox)
 * is kept on the sandbox's record, returned by sandbox.status (libcradle's
 * cradle_sandbox_spec_* calls), shown by `cradle inspectp` under
 * "spec": {"annotations", "labels"}, and read back by recovery after a
 * restart.  Needs root. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* "runc" passes example.com/pass-* through, "other" nothing. */
#define CONF "[runtime.runc]\npod_annotations = example.com/pass-*\n[runtime.other]\n"
#define LOGDIR "/var/log/pods/default_labelled_uid-labelled"

static struct cradle_pod *
labelled_pod(const char *name)
{
	struct cradle_error err;
	struct cradle_pod *pod = it_pod(name, name);

	ck_assert_int_eq(cradle_pod_set_label(pod, "app", "web", &err), 0);
	ck_assert_int_eq(cradle_pod_set_label(pod, "tier", "front", &err), 0);
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "example.com/pass-one", "1", &err), 0);
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "example.com/pass-two", "two", &err), 0);
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "example.com/keep", "no", &err), 0);
	ck_assert_int_eq(cradle_pod_set_log_directory(pod, LOGDIR, &err), 0);
	return pod;
}

static struct cradle_sandbox *
status(const char *id)
{
	struct cradle_sandbox *s = NULL;
	struct cradle_error err;

	ck_assert_msg(cradle_sandbox_status(D.conn, id, &s, &err) == 0, "status %s: %s", id,
	              err.message);
	return s;
}

/* What a "runc" sandbox of labelled_pod(name) must show. */
static void
check_spec(const struct cradle_sandbox *s, const char *id, const char *name, bool passed)
{
	char uid[64];

	snprintf(uid, sizeof(uid), "uid-%s", name);
	/* labels: the image's, the pod's, the kind; nothing else */
	ck_assert_uint_eq(cradle_sandbox_spec_label_count(s), 4);
	ck_assert_str_eq(cradle_sandbox_spec_label(s, "io.cradle.image"), "pause");
	ck_assert_str_eq(cradle_sandbox_spec_label(s, "app"), "web");
	ck_assert_str_eq(cradle_sandbox_spec_label(s, "tier"), "front");
	ck_assert_str_eq(cradle_sandbox_spec_label(s, "io.cri-containerd.kind"), "sandbox");
	/* annotations: the passed-through ones (not the others), the set */
	ck_assert_uint_eq(cradle_sandbox_spec_annotation_count(s), passed ? 8 : 6);
	if (passed) {
		ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "example.com/pass-one"), "1");
		ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "example.com/pass-two"), "two");
	} else {
		ck_assert_ptr_null(cradle_sandbox_spec_annotation(s, "example.com/pass-one"));
	}
	ck_assert_ptr_null(cradle_sandbox_spec_annotation(s, "example.com/keep"));
	ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "io.kubernetes.cri.sandbox-id"), id);
	ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "io.kubernetes.cri.sandbox-name"), name);
	ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "io.kubernetes.cri.sandbox-namespace"),
	                 "default");
	ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "io.kubernetes.cri.sandbox-uid"), uid);
	ck_assert_str_eq(
		cradle_sandbox_spec_annotation(s, "io.kubernetes.cri.sandbox-log-directory"),
		LOGDIR);
	ck_assert_str_eq(cradle_sandbox_spec_annotation(s, "io.kubernetes.cri.container-type"),
	                 "sandbox");
	/* the _at calls walk the same pairs */
	const char *k = NULL, *v = NULL;
	size_t n = cradle_sandbox_spec_label_count(s);
	ck_assert(cradle_sandbox_spec_label_at(s, n - 1, &k, &v));
	ck_assert_str_eq(cradle_sandbox_spec_label(s, k), v);
	ck_assert(!cradle_sandbox_spec_label_at(s, n, &k, &v));
	n = cradle_sandbox_spec_annotation_count(s);
	ck_assert(cradle_sandbox_spec_annotation_at(s, 0, &k, &v));
	ck_assert_str_eq(cradle_sandbox_spec_annotation(s, k), v);
	ck_assert(!cradle_sandbox_spec_annotation_at(s, n, &k, &v));
	/* the pod's own are as it gave them */
	ck_assert_uint_eq(cradle_sandbox_label_count(s), 2);
	ck_assert_uint_eq(cradle_sandbox_annotation_count(s), 3);
	ck_assert_str_eq(cradle_sandbox_annotation(s, "example.com/keep"), "no");
}

/* `cradle inspectp ID`, parsed; the caller puts it. */
static json_object *
inspectp(const char *id)
{
	static char out[1 << 16];

	ck_assert_msg(it_cli(&D, out, sizeof(out), "inspectp %s", id) == 0, "inspectp: %s", out);
	json_object *o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "inspectp printed no JSON: %s", out);
	return o;
}

static const char *
jstr(json_object *o, const char *a, const char *b, const char *key)
{
	json_object *x;

	ck_assert_msg(json_object_object_get_ex(o, a, &x), "no \"%s\"", a);
	if (b)
		ck_assert_msg(json_object_object_get_ex(x, b, &x), "no \"%s.%s\"", a, b);
	if (!json_object_object_get_ex(x, key, &x))
		return NULL;
	return json_object_get_string(x);
}

static size_t
jlen(json_object *o, const char *a, const char *b)
{
	json_object *x;

	ck_assert(json_object_object_get_ex(o, a, &x));
	ck_assert(json_object_object_get_ex(x, b, &x));
	ck_assert(json_object_is_type(x, json_type_object));
	return (size_t)json_object_object_length(x);
}

static void
check_inspectp(const char *id)
{
	json_object *o = inspectp(id);

	ck_assert_uint_eq(jlen(o, "spec", "labels"), 4);
	ck_assert_str_eq(jstr(o, "spec", "labels", "io.cri-containerd.kind"), "sandbox");
	ck_assert_str_eq(jstr(o, "spec", "labels", "io.cradle.image"), "pause");
	ck_assert_str_eq(jstr(o, "spec", "labels", "app"), "web");
	ck_assert_uint_eq(jlen(o, "spec", "annotations"), 8);
	ck_assert_str_eq(jstr(o, "spec", "annotations", "example.com/pass-one"), "1");
	ck_assert_ptr_null(jstr(o, "spec", "annotations", "example.com/keep"));
	ck_assert_str_eq(jstr(o, "spec", "annotations", "io.kubernetes.cri.sandbox-id"), id);
	ck_assert_str_eq(jstr(o, "spec", "annotations", "io.kubernetes.cri.sandbox-log-directory"),
	                 LOGDIR);
	/* the pod's own stay where they were */
	ck_assert_str_eq(jstr(o, "annotations", NULL, "example.com/keep"), "no");
	ck_assert_str_eq(jstr(o, "labels", NULL, "tier"), "front");
	json_object_put(o);
}

START_TEST(test_spec_kept_shown_and_recovered)
{
	struct cradle_sandbox *s;
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;

	it_start_with(&D, NULL, CONF);
	struct cradle_pod *pod = labelled_pod("labelled");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "runc", id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	/* a handler that passes nothing through */
	pod = labelled_pod("plain");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "other", id2, NULL, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);

	s = status(id);
	check_spec(s, id, "labelled", true);
	cradle_sandbox_free(s);
	s = status(id2);
	check_spec(s, id2, "plain", false);
	cradle_sandbox_free(s);
	check_inspectp(id);

	/* a restart: recovery reads them back from the records */
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	ck_assert(it_proc_alive(pid));
	s = status(id);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	check_spec(s, id, "labelled", true);
	cradle_sandbox_free(s);
	s = status(id2);
	check_spec(s, id2, "plain", false);
	cradle_sandbox_free(s);
	check_inspectp(id);

	/* stopped, they stay: they are those of its last start */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 0, &err), 0);
	s = status(id);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	check_spec(s, id, "labelled", true);
	cradle_sandbox_free(s);

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
}
END_TEST

/* Created, not started: no spec yet, so none; started: all of them. */
START_TEST(test_created_has_none_until_started)
{
	struct cradle_sandbox *s;
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];

	it_start_with(&D, NULL, CONF);
	struct cradle_pod *pod = labelled_pod("labelled");
	ck_assert_msg(cradle_sandbox_create(D.conn, pod, NULL, id, &err) == 0, "%s", err.message);
	cradle_pod_free(pod);
	s = status(id);
	ck_assert_uint_eq(cradle_sandbox_spec_label_count(s), 0);
	ck_assert_uint_eq(cradle_sandbox_spec_annotation_count(s), 0);
	ck_assert_ptr_null(cradle_sandbox_spec_label(s, "io.cri-containerd.kind"));
	ck_assert(!cradle_sandbox_spec_label_at(s, 0, NULL, NULL));
	cradle_sandbox_free(s);
	json_object *o = inspectp(id);
	ck_assert_uint_eq(jlen(o, "spec", "labels"), 0);
	ck_assert_uint_eq(jlen(o, "spec", "annotations"), 0);
	json_object_put(o);

	ck_assert_msg(cradle_sandbox_start(D.conn, id, NULL, NULL, &err) == 0, "%s", err.message);
	s = status(id);
	check_spec(s, id, "labelled", true);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

static Suite *
labels_suite(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("spec");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_spec_kept_shown_and_recovered);
	tcase_add_test(tc, test_created_has_none_until_started);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_labels: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(labels_suite());
}
