/* test_nri.c - NRI v1 plugins (sandbox/nri.c): the config file, the
 * request each plugin gets, its result, and every way a plugin fails.
 *
 * The plugins are the shell scripts of tests/data/nri (record keeps its
 * request in the directory its conf names; fail, error, garbage, hang and
 * flood fail as their names say).  Every call must leave no child (not
 * even a zombie) and no descriptor behind.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/nri.h"
#include "tests/unit/lib/unit.h"

static char plugin_dir[PATH_MAX];

static void
setup(void)
{
	unit_scratch_setup();
	ck_assert_int_eq(unit_data_path(plugin_dir, "nri"), 0);
}

/* conf.json in the test's directory holding text; its path in path. */
static void
put_conf(char path[PATH_MAX], const char *text)
{
	unit_path(path, PATH_MAX, "conf.json");
	unit_put_str(path, text);
}

static struct nri *
load_ok(const char *text, int timeout_ms)
{
	char path[PATH_MAX];
	struct cradle_err err = { 0 };
	struct nri *n = NULL;

	put_conf(path, text);
	ck_assert_msg(nri_load(path, plugin_dir, timeout_ms, &n, &err) == 0, "%s", err.msg);
	return n;
}

static void
expect_conf_error(const char *text, const char *what)
{
	char path[PATH_MAX], want[PATH_MAX + 256];
	struct cradle_err err = { 0 };
	struct nri *n = (struct nri *)1;

	put_conf(path, text);
	ck_assert_int_lt(nri_load(path, plugin_dir, 0, &n, &err), 0);
	ck_assert_ptr_null(n);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	snprintf(want, sizeof(want), "NRI config \"%s\": %s", path, what);
	ck_assert_str_eq(err.msg, want);
}

/* --- the config file ------------------------------------------------------ */

START_TEST(test_conf_off)
{
	char path[PATH_MAX];
	struct cradle_err err = { 0 };
	struct nri *n = (struct nri *)1;

	/* no file: off, as the reference's client with nothing to run */
	unit_path(path, sizeof(path), "no-such.json");
	ck_assert_int_eq(nri_load(path, plugin_dir, 0, &n, &err), 0);
	ck_assert_ptr_null(n);
	ck_assert_uint_eq(nri_n_plugins(NULL), 0);
	/* nri_invoke with none: nothing */
	struct nri_request r = { .id = "x" };
	ck_assert_int_eq(nri_invoke(NULL, &r, &err), 0);
	/* a file naming no plugin: off too */
	ck_assert_ptr_null(load_ok("{}", 0));
	ck_assert_ptr_null(load_ok("{\"version\": \"0.1\", \"plugins\": []}", 0));
	ck_assert_ptr_null(load_ok("{\"version\": \"0.1\", \"plugins\": null}", 0));
	nri_free(NULL);
}
END_TEST

START_TEST(test_conf_plugins)
{
	struct nri *n = load_ok("{\"version\": \"0.1\", \"unknown\": 1, \"plugins\": ["
	                        "{\"type\": \"record\", \"conf\": {\"dir\": \"/x\"}},"
	                        "{\"type\": \"fail\"}]}",
	                        0);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(nri_n_plugins(n), 2);
	ck_assert_str_eq(nri_plugin_type(n, 0), "record");
	ck_assert_str_eq(nri_plugin_type(n, 1), "fail");
	ck_assert_ptr_null(nri_plugin_type(n, 2));
	nri_free(n);
}
END_TEST

START_TEST(test_conf_errors)
{
	char path[PATH_MAX], big[PATH_MAX];
	struct cradle_err err = { 0 };
	struct nri *n = NULL;

	put_conf(path, "{\"plugins\": [");
	ck_assert_int_lt(nri_load(path, plugin_dir, 0, &n, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0 &&
	                      strstr(err.msg, "invalid JSON") != NULL,
	              "%s", err.msg);
	expect_conf_error("[]", "not a JSON object");
	expect_conf_error("{\"version\": 1}", "version: not a string");
	expect_conf_error("{\"plugins\": {}}", "plugins: not an array");
	expect_conf_error("{\"plugins\": [1]}", "plugins[0]: not an object");
	expect_conf_error("{\"plugins\": [{\"type\": \"record\"}, null]}",
	                  "plugins[1]: not an object");
	expect_conf_error("{\"plugins\": [{\"conf\": {}}]}",
	                  "plugins[0].type: not the file name of a plugin");
	expect_conf_error("{\"plugins\": [{\"type\": \"../bin/sh\"}]}",
	                  "plugins[0].type: not the file name of a plugin");
	expect_conf_error("{\"plugins\": [{\"type\": \"\"}]}",
	                  "plugins[0].type: not the file name of a plugin");
	expect_conf_error("{\"plugins\": [{\"type\": \"..\"}]}",
	                  "plugins[0].type: not the file name of a plugin");
	char many[4096] = "{\"plugins\": [";
	for (int i = 0; i < NRI_PLUGINS_MAX + 1; i++)
		strcat(many, i > 0 ? ",{\"type\":\"record\"}" : "{\"type\":\"record\"}");
	strcat(many, "]}");
	expect_conf_error(many, "plugins: 33 plugins, at most 32");

	/* bounded: a file over NRI_CONF_MAX is not read */
	unit_path(big, sizeof(big), "big.json");
	ck_assert_int_eq(unit_sh("head -c %u /dev/zero | tr '\\0' ' ' > %s", NRI_CONF_MAX + 1, big),
	                 0);
	ck_assert_int_lt(nri_load(big, plugin_dir, 0, &n, &err), 0);
	ck_assert_ptr_null(n);
	ck_assert_msg(strstr(err.msg, "larger than 1048576 bytes") != NULL, "%s", err.msg);
	/* not a regular file */
	unit_path(path, sizeof(path), "");
	ck_assert_int_lt(nri_load(path, plugin_dir, 0, &n, &err), 0);
	ck_assert_ptr_null(n);
}
END_TEST

/* --- the request ----------------------------------------------------------- */

static struct proto_kv label_v[] = { { "zone", "b" }, { "app", "web" } };
static struct proto_kv anno_v[] = { { "io.kubernetes.cri.sandbox-id", "abc" }, { "b/x", "<&>" } };
static const struct proto_kvs labels = { 2, label_v };
static const struct proto_kvs annos = { 2, anno_v };

static void
full_request(struct nri_request *r, int state)
{
	memset(r, 0, sizeof(*r));
	r->state = state;
	r->id = "abc";
	r->sandbox_id = "abc";
	r->pid = 4242;
	r->devices_deny_all = true;
	r->cpu_shares = 2;
	r->namespaces[r->n_namespaces++] = (struct nri_ns){ "pid", "" };
	r->namespaces[r->n_namespaces++] = (struct nri_ns){ "network", "/run/netns/abc" };
	r->namespaces[r->n_namespaces++] = (struct nri_ns){ "ipc", "" };
	r->namespaces[r->n_namespaces++] = (struct nri_ns){ "mount", "" };
	r->cgroups_path = "/kubepods/pod1/abc";
	r->annotations = &annos;
	r->labels = &labels;
}

/* Keys in types.Request's order, maps sorted by key, the conf as given. */
START_TEST(test_request_shape)
{
	struct cradle_err err = { 0 };
	struct nri *n =
		load_ok("{\"version\": \"0.1\", \"plugins\": ["
	                "{\"type\": \"record\", \"conf\": {\"dir\": \"/x/y\", \"n\": [1, 2.5]}},"
	                "{\"type\": \"other\"}]}",
	                0);
	struct nri_request r;
	char *s;

	full_request(&r, NRI_CREATE);
	s = nri_request_json(n, 0, &r, NULL, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_str_eq(
		s,
		"{\"conf\":{\"dir\":\"/x/y\",\"n\":[1,2.5]},\"version\":\"0.1\",\"state\":\"create\","
		"\"id\":\"abc\",\"sandboxID\":\"abc\",\"pid\":4242,\"spec\":{\"resources\":{"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],\"cpu\":{\"shares\":2}},"
		"\"namespaces\":{\"ipc\":\"\",\"mount\":\"\",\"network\":\"/run/netns/abc\","
		"\"pid\":\"\"},\"cgroupsPath\":\"/kubepods/pod1/abc\",\"annotations\":{\"b/x\":"
		"\"<&>\",\"io.kubernetes.cri.sandbox-id\":\"abc\"}},\"labels\":{\"app\":\"web\","
		"\"zone\":\"b\"}}");
	free(s);

	/* delete, no pid, labels or annotations; the second plugin, no conf,
	 * with the first one's result */
	memset(&r, 0, sizeof(r));
	r.state = NRI_DELETE;
	r.id = "abc";
	r.sandbox_id = "abc";
	s = nri_request_json(n, 1, &r,
	                     "[{\"plugin\":\"record\",\"version\":\"0.1\",\"error\":\"\"}]", &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_str_eq(s, "{\"version\":\"0.1\",\"state\":\"delete\",\"id\":\"abc\","
	                    "\"sandboxID\":\"abc\",\"spec\":{\"resources\":{}},\"results\":[{"
	                    "\"plugin\":\"record\",\"version\":\"0.1\",\"error\":\"\"}]}");
	free(s);
	ck_assert_ptr_null(nri_request_json(n, 2, &r, NULL, &err));
	nri_free(n);
}
END_TEST

/* --- invoking -------------------------------------------------------------- */

static char *
conf_text(const char *dir_a, const char *dir_b, const char *middle)
{
	char *s;

	ck_assert_int_gt(asprintf(&s,
	                          "{\"version\": \"0.1\", \"plugins\": ["
	                          "{\"type\": \"record\", \"conf\": {\"dir\": \"%s\"}},%s"
	                          "{\"type\": \"record\", \"conf\": {\"dir\": \"%s\"}}]}",
	                          dir_a, middle, dir_b),
	                 0);
	return s;
}

/* Two recording plugins: each gets the request, in order, and "invoke"
 * as its argument; the second also gets the first one's result. */
START_TEST(test_invoke_chain)
{
	char a[PATH_MAX], b[PATH_MAX], f[PATH_MAX + 16];
	struct cradle_err err = { 0 };
	struct nri_request r;

	unit_path(a, sizeof(a), "a");
	unit_path(b, sizeof(b), "b");
	ck_assert_int_eq(mkdir(a, 0755), 0);
	ck_assert_int_eq(mkdir(b, 0755), 0);
	char *text = conf_text(a, b, "");
	struct nri *n = load_ok(text, 0);
	free(text);
	int fds = unit_count_fds();

	full_request(&r, NRI_CREATE);
	r.pid = getpid();
	ck_assert_msg(nri_invoke(n, &r, &err) == 0, "%s", err.msg);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds);

	snprintf(f, sizeof(f), "%s/0.args", a);
	unit_assert_file_is(f, "invoke\n");
	snprintf(f, sizeof(f), "%s/0.json", a);
	char *want = nri_request_json(n, 0, &r, NULL, &err);
	ck_assert_ptr_nonnull(want);
	unit_assert_file_is(f, want);
	free(want);
	/* the plugin saw this process (pid given) */
	snprintf(f, sizeof(f), "%s/0.exe", a);
	char *exe = unit_slurp_ok(f, NULL), self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(len, 0);
	self[len] = '\0';
	ck_assert_int_eq(strncmp(exe, self, (size_t)len), 0);
	free(exe);

	snprintf(f, sizeof(f), "%s/0.json", b);
	want = nri_request_json(n, 1, &r,
	                        "[{\"plugin\":\"record\",\"version\":\"0.1\",\"error\":\"\","
	                        "\"metadata\":{\"call\":\"0\"}}]",
	                        &err);
	ck_assert_ptr_nonnull(want);
	unit_assert_file_is(f, want);
	free(want);
	nri_free(n);
}
END_TEST

/* A plugin that fails: the message, no child, no descriptor; the plugins
 * after it do not run. */
static void
expect_invoke_error(const char *type, int timeout_ms, int code, const char *want_prefix)
{
	char a[PATH_MAX], b[PATH_MAX], mid[128];
	struct cradle_err err = { 0 };
	struct nri_request r;

	unit_path(a, sizeof(a), "a");
	unit_path(b, sizeof(b), "b");
	unit_rm_rf(a);
	unit_rm_rf(b);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	ck_assert_int_eq(mkdir(b, 0755), 0);
	snprintf(mid, sizeof(mid), "{\"type\": \"%s\"},", type);
	char *text = conf_text(a, b, mid);
	struct nri *n = load_ok(text, timeout_ms);
	free(text);
	int fds = unit_count_fds();

	full_request(&r, NRI_CREATE);
	ck_assert_int_lt(nri_invoke(n, &r, &err), 0);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strncmp(err.msg, want_prefix, strlen(want_prefix)) == 0,
	              "\"%s\" does not start with \"%s\"", err.msg, want_prefix);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds);
	ck_assert_int_eq(unit_count_entries(a), 4); /* the first one ran */
	ck_assert_int_eq(unit_count_entries(b), 0); /* the last one did not */
	nri_free(n);
}

START_TEST(test_invoke_exit_status)
{
	expect_invoke_error("fail", 0, CRADLE_INTERNAL,
	                    "plugin: fail: output: \"partial\" exit code: 3, stderr: \"fail: "
	                    "refused by the test\"");
}
END_TEST

START_TEST(test_invoke_result_error)
{
	expect_invoke_error("error", 0, CRADLE_INTERNAL, "plugin: error: denied by test policy");
}
END_TEST

START_TEST(test_invoke_bad_output)
{
	expect_invoke_error("garbage", 0, CRADLE_INTERNAL,
	                    "plugin: garbage: failed to unmarshal plugin output output: \"this is "
	                    "not json\": plugin output: invalid JSON");
}
END_TEST

START_TEST(test_invoke_timeout)
{
	/* long enough for record, which runs first, on a loaded machine */
	expect_invoke_error("hang", 3000, CRADLE_UNAVAILABLE,
	                    "plugin: hang: timed out after 3000 ms");
	/* its own child went with its process group */
	ck_assert_int_ne(unit_sh("pgrep -f '^sleep 600$' >/dev/null"), 0);
}
END_TEST

START_TEST(test_invoke_flood)
{
	expect_invoke_error("flood", 0, CRADLE_INTERNAL,
	                    "plugin: flood: output: more than 1048576 bytes");
}
END_TEST

START_TEST(test_invoke_not_found)
{
	char want[PATH_MAX + 128];

	snprintf(want, sizeof(want), "plugin: nope: exec \"%s/nope\": No such file or directory",
	         plugin_dir);
	expect_invoke_error("nope", 0, CRADLE_NOT_FOUND, want);
}
END_TEST

static Suite *
nri_suite(void)
{
	Suite *s = suite_create("nri");

	unit_tcase(s, "conf", setup, unit_scratch_teardown, 30,
	           UNIT_TESTS(test_conf_off, test_conf_plugins, test_conf_errors));
	unit_tcase(s, "request", setup, unit_scratch_teardown, 30, UNIT_TESTS(test_request_shape));
	unit_tcase(s, "invoke", setup, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_invoke_chain, test_invoke_exit_status, test_invoke_result_error,
	                      test_invoke_bad_output, test_invoke_timeout, test_invoke_flood,
	                      test_invoke_not_found));
	return s;
}

int
main(void)
{
	return unit_run(nri_suite(), "test_nri", UNIT_SUBREAPER);
}
