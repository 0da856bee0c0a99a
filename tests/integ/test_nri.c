/* test_nri.c - NRI v1 plugins against a real cradled: a start calls them
 * with "create" between the task's create and its start (the task made
 * and waiting, not yet pause), a stop with "delete"; a failing plugin
 * fails the start with "nri invoke: ..." and leaves nothing (the rollback
 * calls "delete" as the reference's task delete does); no conf.json: no
 * plugin runs.  The plugins are tests/data/nri's scripts; record keeps
 * each request and what /proc showed of the task while it ran.  Needs
 * root. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;
static char tmp[512];      /* conf.json and rec/ */
static char rec[PATH_MAX]; /* the record plugin's directory */
static char plugins[PATH_MAX];

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "%snri-XXXXXX", IT_TMP_PREFIX);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(rec, sizeof(rec), "%s/rec", tmp);
	ck_assert_int_eq(mkdir(rec, 0755), 0);
	ck_assert_ptr_nonnull(realpath("tests/data/nri", plugins));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	it_cleanup(&D);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* Start cradled with conf.json holding conf (NULL: no file at all),
 * failing at fail_step (libinteg's it_start; NULL: none). */
static void
start_failing(const char *conf, const char *fail_step)
{
	char path[PATH_MAX + 16], text[3 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/conf.json", tmp);
	if (conf != NULL) {
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(conf, f);
		ck_assert_int_eq(fclose(f), 0);
	}
	snprintf(text, sizeof(text), "[nri]\nconfig_file = %s\nplugin_dir = %s\n", path, plugins);
	it_start_with(&D, fail_step, text);
}

static void
start(const char *conf)
{
	start_failing(conf, NULL);
}

/* {"version": "0.1", "plugins": [record, then the plugins of extra]} */
static char *
conf_with(const char *extra)
{
	char *s;

	ck_assert_int_gt(asprintf(&s,
	                          "{\"version\": \"0.1\", \"plugins\": [{\"type\": \"record\", "
	                          "\"conf\": {\"dir\": \"%s\"}}%s]}",
	                          rec, extra),
	                 0);
	return s;
}

/* rec/<n>.<ext>, trailing newline dropped. */
static void
rec_text(int n, const char *ext, char *buf, size_t len)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%d.%s", rec, n, ext);
	it_read_text(path, buf, len);
	size_t l = strlen(buf);
	if (l > 0 && buf[l - 1] == '\n')
		buf[l - 1] = '\0';
}

static json_object *
rec_json(int n)
{
	static char buf[1 << 16];

	rec_text(n, "json", buf, sizeof(buf));
	json_object *o = json_tokener_parse(buf);
	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object), "%s", buf);
	return o;
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
	              json_object_to_json_string(o));
	return v;
}

static const char *
str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is no string", key);
	return json_object_get_string(v);
}

static bool
has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static struct cradle_pod *
pod_of(const char *name)
{
	struct cradle_error err;
	struct cradle_pod *pod = it_pod(name, name);

	ck_assert_int_eq(cradle_pod_set_label(pod, "app", "web", &err), 0);
	ck_assert_int_eq(cradle_pod_set_label(pod, "tier", "front", &err), 0);
	return pod;
}

/* The common shape of both requests: ids, pid, version, conf, spec. */
static void
check_request(json_object *o, const char *state, const char *id, int32_t pid, const char *cgroup,
              const char *netns)
{
	ck_assert_str_eq(str(o, "state"), state);
	ck_assert_str_eq(str(o, "version"), "0.1");
	ck_assert_str_eq(str(o, "id"), id);
	ck_assert_str_eq(str(o, "sandboxID"), id);
	ck_assert_int_eq(json_object_get_int(get(o, "pid")), pid);
	ck_assert_str_eq(str(get(o, "conf"), "dir"), rec);
	json_object *spec = get(o, "spec");
	ck_assert_str_eq(str(spec, "cgroupsPath"), cgroup);
	json_object *ns = get(spec, "namespaces");
	ck_assert_str_eq(str(ns, "network"), netns);
	ck_assert_str_eq(str(ns, "pid"), "");
	ck_assert_str_eq(str(ns, "ipc"), "");
	ck_assert_str_eq(str(ns, "uts"), "");
	ck_assert_str_eq(str(ns, "mount"), "");
	ck_assert_int_eq(json_object_object_length(ns), 5);
	json_object *res = get(spec, "resources");
	ck_assert_int_eq(json_object_get_int(get(get(res, "cpu"), "shares")), 2);
	ck_assert_str_eq(str(get(spec, "annotations"), "io.kubernetes.cri.sandbox-id"), id);
	ck_assert_str_eq(str(get(spec, "annotations"), "io.kubernetes.cri.container-type"),
	                 "sandbox");
}

/* create: the task exists (its pid is the one the start returns), still
 * the daemon's image (not pause yet) and waiting; the pod's labels.  stop:
 * delete, once; remove: nothing more. */
START_TEST(test_nri_create_then_delete)
{
	struct cradle_error err;
	struct cradle_sandbox *s;
	char id[CRADLE_SANDBOX_ID_LEN + 1], text[PATH_MAX], daemon_exe[PATH_MAX], path[64];
	int32_t pid;

	char *conf = conf_with("");
	start(conf);
	free(conf);
	ck_assert(it_log_contains(&D, "NRI: 1 plugins from"));
	struct cradle_pod *pod = pod_of("nri-pod");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert(it_proc_alive(pid));
	ck_assert_msg(cradle_sandbox_status(D.conn, id, &s, &err) == 0, "%s", err.message);

	ck_assert_int_eq(it_count_entries(rec), 4); /* one call: json, args, exe, state */
	rec_text(0, "args", text, sizeof(text));
	ck_assert_str_eq(text, "invoke");
	json_object *o = rec_json(0);
	check_request(o, "create", id, pid, cradle_sandbox_cgroup_path(s),
	              cradle_sandbox_netns_path(s));
	ck_assert_str_eq(str(get(o, "labels"), "app"), "web");
	ck_assert_str_eq(str(get(o, "labels"), "tier"), "front");
	ck_assert_int_eq(json_object_object_length(get(o, "labels")), 2);
	ck_assert(!has(o, "results"));
	json_object_put(o);
	/* while the plugin ran, the task was alive, asleep, and still in
	 * cradled's memory (its exe cradled's): created, not started */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)D.pid);
	ssize_t n = readlink(path, daemon_exe, sizeof(daemon_exe) - 1);
	ck_assert_int_gt(n, 0);
	daemon_exe[n] = '\0';
	rec_text(0, "exe", text, sizeof(text));
	ck_assert_str_eq(text, daemon_exe);
	rec_text(0, "state", text, sizeof(text));
	/* waiting on its go pipe ("S"; "R" in the instant between its
	 * "ready" and the read), never gone ("-") or a zombie */
	ck_assert_msg(strcmp(text, "S") == 0 || strcmp(text, "R") == 0, "state %s", text);
	/* and now it runs pause */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, text, sizeof(text) - 1);
	ck_assert_int_ge(n, 6);
	text[n] = '\0';
	ck_assert_msg(strcmp(text + n - 6, "/pause") == 0, "%s", text);

	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 0, &err), 0);
	ck_assert_int_eq(it_count_entries(rec), 8);
	o = rec_json(1);
	check_request(o, "delete", id, pid, cradle_sandbox_cgroup_path(s),
	              cradle_sandbox_netns_path(s));
	ck_assert(!has(o, "labels")); /* WithNRISandboxDelete passes the id alone */
	json_object_put(o);
	rec_text(1, "exe", text, sizeof(text));
	ck_assert_str_eq(text, "-"); /* the task is gone */
	cradle_sandbox_free(s);

	/* stopped already: no second delete, not from stop, not from remove */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 0, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(it_count_entries(rec), 8);
}
END_TEST

/* A pause that exits by itself: the first stop after it calls delete. */
START_TEST(test_nri_delete_after_exit)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;

	char *conf = conf_with("");
	start(conf);
	free(conf);
	struct cradle_pod *pod = pod_of("nri-exit");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 200; i++) {
		struct cradle_sandbox *s;
		ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
		int st = cradle_sandbox_state(s);
		cradle_sandbox_free(s);
		if (st == CRADLE_STATE_NOTREADY)
			break;
		it_sleep_ms(it_ms(20));
	}
	ck_assert_int_eq(it_count_entries(rec), 4);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(it_count_entries(rec), 8);
	json_object *o = rec_json(1);
	ck_assert_str_eq(str(o, "state"), "delete");
	ck_assert_str_eq(str(o, "id"), id);
	json_object_put(o);
}
END_TEST

/* A plugin that fails fails the start, with the reference's prefix; the
 * task is deleted as the reference's rollback does (NRI delete first),
 * and nothing is left (it_cleanup). */
START_TEST(test_nri_failure_rolls_back)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];

	char *conf = conf_with(", {\"type\": \"fail\"}");
	start(conf);
	free(conf);
	struct cradle_pod *pod = pod_of("nri-fail");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, NULL, id, NULL, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "nri invoke: plugin: fail: output: \"partial\" exit "
	                                  "code: 3, stderr: \"fail: refused by the test\"") != NULL,
	              "%s", err.message);
	ck_assert_msg(strncmp(err.message, "failed to start sandbox \"", 25) == 0, "%s",
	              err.message);
	/* record ran for create, then for the rollback's delete, with the
	 * same task, which was never started and is gone now */
	ck_assert_int_eq(it_count_entries(rec), 8);
	json_object *c = rec_json(0), *d = rec_json(1);
	ck_assert_str_eq(str(c, "state"), "create");
	ck_assert_str_eq(str(d, "state"), "delete");
	int pid = json_object_get_int(get(c, "pid"));
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(json_object_get_int(get(d, "pid")), pid);
	ck_assert(!it_proc_alive(pid));
	json_object_put(c);
	json_object_put(d);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* No conf.json: NRI is off, nothing runs, starts as ever. */
START_TEST(test_nri_off_without_conf)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;

	start(NULL);
	ck_assert(!it_log_contains(&D, "NRI:"));
	struct cradle_pod *pod = pod_of("nri-off");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert(it_proc_alive(pid));
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(it_count_entries(rec), 0);
}
END_TEST

/* A conf.json that is no NRI config stops start-up, naming the file. */
START_TEST(test_nri_bad_conf_refused)
{
	char path[PATH_MAX + 16], text[3 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/conf.json", tmp);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"plugins\": [{\"type\": \"../x\"}]}", f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(text, sizeof(text), "[nri]\nconfig_file = %s\nplugin_dir = %s\n", path, plugins);
	const char *wants[] = { "[nri] config_file: NRI config", "plugins[0].type", NULL };
	it_expect_refused(text, wants);
}
END_TEST

/* The start fails after NRI create, at its start step (the test hook):
 * the created task is deleted (NRI delete, then killed) and nothing is
 * left. */
START_TEST(test_nri_rollback_after_create)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];

	char *conf = conf_with("");
	start_failing(conf, "start");
	free(conf);
	struct cradle_pod *pod = pod_of("nri-hook");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, NULL, id, NULL, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "injected failure at step start") != NULL, "%s",
	              err.message);
	ck_assert_int_eq(it_count_entries(rec), 8);
	json_object *c = rec_json(0), *d = rec_json(1);
	ck_assert_str_eq(str(c, "state"), "create");
	ck_assert_str_eq(str(d, "state"), "delete");
	int pid = json_object_get_int(get(c, "pid"));
	ck_assert_int_eq(json_object_get_int(get(d, "pid")), pid);
	ck_assert(!it_proc_alive(pid));
	json_object_put(c);
	json_object_put(d);
}
END_TEST

/* The daemon dies (SIGKILL) right after NRI create, the task created and
 * waiting: the task sees its go pipe end and exits by itself, and the
 * restarted daemon undoes the start (the cgroup intent); nothing left. */
START_TEST(test_nri_crash_while_created)
{
	struct cradle_conn *cn = NULL;
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];

	char *conf = conf_with("");
	start_failing(conf, "crash:nri");
	free(conf);
	ck_assert_int_eq(cradle_connect(D.sock, it_ms(1500), &cn, &err), 0);
	struct cradle_pod *pod = pod_of("nri-crash");
	ck_assert_int_lt(cradle_sandbox_run(cn, pod, NULL, id, NULL, NULL, &err), 0);
	cradle_pod_free(pod);
	cradle_close(cn);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);

	json_object *c = rec_json(0);
	int pid = json_object_get_int(get(c, "pid"));
	json_object_put(c);
	ck_assert_int_gt(pid, 0);
	for (int i = 0; i < 100 && it_proc_alive(pid); i++)
		it_sleep_ms(it_ms(20));
	ck_assert_msg(!it_proc_alive(pid), "the created task %d outlived the daemon", pid);

	it_restart(&D, NULL);
	ck_assert_msg(it_log_contains(&D, "undid the start of"), "no undo logged");
}
END_TEST

static Suite *
nri_suite(void)
{
	Suite *s = suite_create("nri");
	TCase *tc = tcase_create("nri");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_nri_create_then_delete);
	tcase_add_test(tc, test_nri_delete_after_exit);
	tcase_add_test(tc, test_nri_failure_rolls_back);
	tcase_add_test(tc, test_nri_off_without_conf);
	tcase_add_test(tc, test_nri_bad_conf_refused);
	tcase_add_test(tc, test_nri_rollback_after_create);
	tcase_add_test(tc, test_nri_crash_while_created);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(nri_suite());
}
