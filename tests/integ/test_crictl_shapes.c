/* test_crictl_shapes.c - `cradle pods` and `cradle inspectp` in crictl's
 * shapes against a real cradled.  Needs root.
 *
 * Three sandboxes (alpha, beta stopped, gamma, started in that order)
 * with labels and attempts of their own:
 * - `pods -o json` is {"items": [...]}: newest first, each with its id,
 *   metadata, state, createdAt (ns as a string, the daemon's), labels,
 *   annotations, runtimeHandler;
 * - the table has crictl's RUNTIME column;
 * - -l/--latest, -n/--last N, --label k=v (repeated) filter as crictl;
 * - `inspectp -o json` is {"status", "info"} for one id and an array of
 *   them for several; info carries the pid the kernel shows and, with
 *   -v, the step times; `-o raw` (and the default) stay cradle's JSON;
 * - `-o yaml` says what the JSON says, line by line;
 * - runp reads YAML (by name or content) and makes up a missing uid (a
 *   random UUID, as crictl), for JSON too; aliases, a second document,
 *   duplicate keys are refused, naming the file and place.
 * Every sandbox is removed before the teardown.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

struct pod {
	const char *name;
	const char *tier;
	uint32_t attempt;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;
	int64_t created_at;
};

static struct pod pods[3] = {
	{ .name = "alpha", .tier = "web", .attempt = 0 },
	{ .name = "beta", .tier = "db", .attempt = 1 },
	{ .name = "gamma", .tier = "web", .attempt = 3 },
};

/* Start the three; beta is stopped. */
static void
start_pods(void)
{
	struct cradle_error err;

	for (int i = 0; i < 3; i++) {
		struct cradle_pod *p = it_pod(pods[i].name, NULL);
		ck_assert_int_eq(cradle_pod_set_label(p, "tier", pods[i].tier, &err), 0);
		ck_assert_int_eq(cradle_pod_set_label(p, "suite", "shapes", &err), 0);
		ck_assert_int_eq(cradle_pod_set_annotation(p, "note", pods[i].name, &err), 0);
		ck_assert_int_eq(cradle_pod_set_attempt(p, pods[i].attempt, &err), 0);
		ck_assert_msg(cradle_sandbox_run(D.conn, p, NULL, pods[i].id, &pods[i].pid,
		                                 &pods[i].created_at, &err) == 0,
		              "%s", err.message);
		cradle_pod_free(p);
	}
	ck_assert_msg(cradle_sandbox_stop(D.conn, pods[1].id, 5000, &err) == 0, "%s", err.message);
}

static void
remove_pods(void)
{
	struct cradle_error err;
	char out[1024];

	for (int i = 0; i < 3; i++)
		ck_assert_msg(cradle_sandbox_remove(D.conn, pods[i].id, &err) == 0, "%s",
		              err.message);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q"), 0);
	ck_assert_str_eq(out, "");
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(o != NULL && json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
	              o ? json_object_to_json_string(o) : "(null)");
	return v;
}

static const char *
str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is no string", key);
	return json_object_get_string(v);
}

static json_object *
cli_json(const char *fmt, const char *arg)
{
	static char out[1 << 17];
	json_object *o;

	ck_assert_msg(it_cli(&D, out, sizeof(out), fmt, arg) == 0, "%s", out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "no JSON: %s", out);
	return o;
}

/* The ids `pods -q ARGS` prints, as one string of lines. */
static const char *
pod_ids(const char *args)
{
	static char out[4096];

	ck_assert_msg(it_cli(&D, out, sizeof(out), "pods -q %s", args) == 0, "%s", out);
	return out;
}

static const char *
lines(int a, int b, int c)
{
	static char buf[512];
	int idx[] = { a, b, c };

	buf[0] = '\0';
	for (int i = 0; i < 3; i++)
		if (idx[i] >= 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s\n",
			         pods[idx[i]].id);
	return buf;
}

START_TEST(test_pods_json_table_filters)
{
	char out[8192], created[32];

	it_start(&D, NULL);
	start_pods();

	/* -o json: crictl's ListPodSandboxResponse, newest first */
	json_object *o = cli_json("pods -o %s", "json");
	json_object *items = get(o, "items");
	ck_assert_uint_eq(json_object_array_length(items), 3);
	for (int k = 0; k < 3; k++) {
		const struct pod *p = &pods[2 - k];
		json_object *it = json_object_array_get_idx(items, (size_t)k);
		json_object *md = get(it, "metadata");
		ck_assert_str_eq(str(it, "id"), p->id);
		ck_assert_str_eq(str(md, "name"), p->name);
		ck_assert_str_eq(str(md, "namespace"), "default");
		char uid[64];
		snprintf(uid, sizeof(uid), "uid-%s", p->name);
		ck_assert_str_eq(str(md, "uid"), uid);
		ck_assert_int_eq(json_object_get_int64(get(md, "attempt")), p->attempt);
		ck_assert_str_eq(str(it, "state"),
		                 p == &pods[1] ? "SANDBOX_NOTREADY" : "SANDBOX_READY");
		snprintf(created, sizeof(created), "%lld", (long long)p->created_at);
		ck_assert_str_eq(str(it, "createdAt"), created);
		ck_assert_str_eq(str(get(it, "labels"), "tier"), p->tier);
		ck_assert_str_eq(str(get(it, "labels"), "suite"), "shapes");
		ck_assert_str_eq(str(get(it, "annotations"), "note"), p->name);
		ck_assert_str_eq(str(it, "runtimeHandler"), "");
	}
	json_object_put(o);

	/* the table: crictl's columns, RUNTIME among them */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods"), 0);
	ck_assert_msg(strncmp(out, "POD ID", 6) == 0, "%s", out);
	char *head_end = strchr(out, '\n');
	ck_assert_ptr_nonnull(head_end);
	*head_end = '\0';
	ck_assert_msg(strstr(out, "ATTEMPT   RUNTIME") != NULL, "%s", out);
	char *row = head_end + 1;
	ck_assert_msg(strncmp(row, pods[2].id, 13) == 0, "%s", row);
	ck_assert_msg(strstr(row, "(default)") != NULL, "%s", row);

	/* crictl's filters */
	ck_assert_str_eq(pod_ids("-l"), lines(2, -1, -1));
	ck_assert_str_eq(pod_ids("--latest"), lines(2, -1, -1));
	ck_assert_str_eq(pod_ids("-n 2"), lines(2, 1, -1));
	ck_assert_str_eq(pod_ids("--last 0"), lines(2, 1, 0));
	ck_assert_str_eq(pod_ids("--last 5"), lines(2, 1, 0));
	ck_assert_str_eq(pod_ids("-l -n 2"), lines(2, 1, -1)); /* --last wins */
	ck_assert_str_eq(pod_ids("--label tier=web"), lines(2, 0, -1));
	ck_assert_str_eq(pod_ids("--label tier=web --label suite=shapes"), lines(2, 0, -1));
	ck_assert_str_eq(pod_ids("--label tier=web --label suite=other"), "");
	ck_assert_str_eq(pod_ids("--label tier=db --state notready"), lines(1, -1, -1));
	ck_assert_str_eq(pod_ids("--label tier=web -n 1"), lines(2, -1, -1));
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -n x"), 2);
	ck_assert_msg(strstr(out, "invalid --last \"x\""), "%s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -o xml"), 2);
	ck_assert_msg(strstr(out, "expected json, yaml, table or raw"), "%s", out);

	/* -o raw: cradle's own array, phases and all */
	o = cli_json("pods -o %s", "raw");
	ck_assert(json_object_is_type(o, json_type_array));
	ck_assert_uint_eq(json_object_array_length(o), 3);
	ck_assert_str_eq(str(json_object_array_get_idx(o, 1), "phase"), "exited");
	json_object_put(o);

	/* -v: crictl's verbose listing */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -v -l"), 0);
	char want[256];
	snprintf(want, sizeof(want),
	         "ID: %s\nName: gamma\nUID: uid-gamma\nNamespace: default\n"
	         "Attempt: 3\nStatus: Ready\n",
	         pods[2].id);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\ttier -> web\n") && strstr(out, "Runtime: (default)\n"), "%s",
	              out);
	remove_pods();
}
END_TEST

START_TEST(test_inspectp_shapes)
{
	static char out[1 << 17];
	char cmd[256];

	it_start(&D, NULL);
	start_pods();

	/* one id: an object {"status", "info"} */
	json_object *o = cli_json("inspectp -o json %s", pods[0].id);
	ck_assert(json_object_is_type(o, json_type_object));
	json_object *st = get(o, "status"), *info = get(o, "info");
	ck_assert_str_eq(str(st, "id"), pods[0].id);
	ck_assert_str_eq(str(get(st, "metadata"), "name"), "alpha");
	ck_assert_str_eq(str(st, "state"), "SANDBOX_READY");
	ck_assert_msg(strncmp(str(st, "createdAt"), "20", 2) == 0 &&
	                      strchr(str(st, "createdAt"), 'T') != NULL,
	              "%s", str(st, "createdAt"));
	json_object *opts = get(get(get(st, "linux"), "namespaces"), "options");
	ck_assert_str_eq(str(opts, "network"), "POD");
	ck_assert_str_eq(str(opts, "ipc"), "POD");
	ck_assert_str_eq(str(get(st, "network"), "ip"), "");
	ck_assert_uint_eq(json_object_array_length(get(get(st, "network"), "additionalIps")), 0);
	ck_assert_str_eq(str(get(st, "labels"), "tier"), "web");
	ck_assert_str_eq(str(st, "runtimeHandler"), "");
	/* info: what the kernel shows */
	int pid = json_object_get_int(get(info, "pid"));
	ck_assert_int_eq(pid, pods[0].pid);
	ck_assert(it_proc_alive(pid));
	ck_assert_str_eq(str(info, "phase"), "running");
	ck_assert_msg(strstr(str(info, "cgroupPath"), pods[0].id) != NULL, "%s",
	              str(info, "cgroupPath"));
	ck_assert_str_eq(str(get(info, "specLabels"), "io.cri-containerd.kind"), "sandbox");
	ck_assert(!json_object_object_get_ex(info, "timings", NULL));
	json_object_put(o);

	/* two ids: an array, in the order given; the stopped one NOTREADY */
	snprintf(cmd, sizeof(cmd), "%s %.13s", pods[2].id, pods[1].id);
	o = cli_json("inspectp -o json %s", cmd);
	ck_assert(json_object_is_type(o, json_type_array));
	ck_assert_uint_eq(json_object_array_length(o), 2);
	st = get(json_object_array_get_idx(o, 0), "status");
	ck_assert_str_eq(str(st, "id"), pods[2].id);
	ck_assert_int_eq(json_object_get_int64(get(get(st, "metadata"), "attempt")), 3);
	st = get(json_object_array_get_idx(o, 1), "status");
	ck_assert_str_eq(str(st, "id"), pods[1].id);
	ck_assert_str_eq(str(st, "state"), "SANDBOX_NOTREADY");
	info = get(json_object_array_get_idx(o, 1), "info");
	ck_assert_str_eq(str(info, "phase"), "exited");
	ck_assert_int_eq(json_object_get_int(get(info, "pid")), 0);
	json_object_put(o);

	/* -v: the step times of the last start */
	o = cli_json("inspectp -v -o json %s", pods[0].id);
	json_object *start = get(get(get(o, "info"), "timings"), "start");
	bool launch = false;
	for (size_t i = 0; i < json_object_array_length(start); i++)
		if (strcmp(str(json_object_array_get_idx(start, i), "step"), "launch") == 0)
			launch = true;
	ck_assert_msg(launch, "%s", json_object_to_json_string(start));
	json_object_put(o);

	/* the default and -o raw: cradle's own JSON, as before */
	o = cli_json("inspectp %s", pods[0].id);
	ck_assert_str_eq(str(o, "phase"), "running");
	ck_assert_int_eq(json_object_get_int(get(o, "pid")), pods[0].pid);
	json_object_put(o);
	o = cli_json("inspectp -o raw %s", pods[0].id);
	ck_assert_str_eq(str(o, "state"), "SANDBOX_READY");
	ck_assert(!json_object_object_get_ex(o, "status", NULL));
	json_object_put(o);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp -o table %s", pods[0].id), 2);
	ck_assert_msg(strstr(out, "expected json, yaml or raw"), "%s", out);
	remove_pods();
}
END_TEST

/* YAML says what JSON says: every scalar of the JSON object o, whose
 * keys start at column ind (the first after "- " when dash: an element
 * of a sequence), is a "key: value" line of the YAML there (a string
 * YAML would read otherwise quoted); a sequence's elements start at the
 * column of its key, as libyaml writes them. */
static void
check_yaml_map(json_object *o, int ind, const char *yaml, bool dash)
{
	char want[1024], pre[64];
	bool first = true;

	json_object_object_foreach(o, k, v) {
		if (first && dash)
			snprintf(pre, sizeof(pre), "%*s- ", ind - 2, "");
		else
			snprintf(pre, sizeof(pre), "%*s", ind, "");
		first = false;
		if (json_object_is_type(v, json_type_object)) {
			if (json_object_object_length(v) > 0)
				check_yaml_map(v, ind + 2, yaml, false);
			continue;
		}
		if (json_object_is_type(v, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(v); i++)
				check_yaml_map(json_object_array_get_idx(v, i), ind + 2, yaml,
				               true);
			continue;
		}
		const char *s =
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		snprintf(want, sizeof(want), "\n%s%s: %s\n", pre, k,
		         s ? s : json_object_to_json_string(v));
		if (strstr(yaml, want) == NULL && s != NULL)
			snprintf(want, sizeof(want), "\n%s%s: '%s'\n", pre, k, s);
		ck_assert_msg(strstr(yaml, want) != NULL, "YAML lacks \"%s\":\n%s", want + 1, yaml);
	}
}

START_TEST(test_yaml_follows_json)
{
	static char yaml[1 << 17];

	it_start(&D, NULL);
	start_pods();

	json_object *o = cli_json("pods -o %s", "json");
	ck_assert_int_eq(it_cli(&D, yaml, sizeof(yaml), "pods -o yaml"), 0);
	ck_assert_msg(strncmp(yaml, "items:\n- id: ", 13) == 0, "%s", yaml);
	/* three items, each its own "- id:" */
	int n = 0;
	for (const char *p = yaml; (p = strstr(p, "\n- id: ")) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 3);
	check_yaml_map(o, 0, yaml, false);
	json_object_put(o);

	o = cli_json("inspectp -o json %s", pods[1].id);
	ck_assert_int_eq(it_cli(&D, yaml, sizeof(yaml), "inspectp -o yaml %s", pods[1].id), 0);
	ck_assert_msg(strncmp(yaml, "status:\n  id: ", 14) == 0, "%s", yaml);
	ck_assert_msg(strstr(yaml, "\n  state: SANDBOX_NOTREADY\n") != NULL, "%s", yaml);
	ck_assert_msg(strstr(yaml, "\n  exitedAt: '20") != NULL, "%s", yaml);
	ck_assert_msg(strstr(yaml, "\n  processLabel: null\n") != NULL, "%s", yaml);
	check_yaml_map(o, 0, yaml, false);
	json_object_put(o);
	remove_pods();
}
END_TEST

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* 8-4-4-4-12 lower-case hex, version 4, RFC 4122 variant */
static bool
is_uuid4(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* runp of YAML (by name and by content), and of configs without a uid:
 * what the daemon got is what the file said, the uid made up. */
START_TEST(test_runp_yaml_and_uid)
{
	char path[600], out[4096], ids[3][CRADLE_SANDBOX_ID_LEN + 1], uid0[64];

	it_start(&D, NULL);
	snprintf(path, sizeof(path), "%s/pod.yaml", D.dir);
	write_file(path, "# crictl's pod config, as YAML\n"
	                 "metadata:\n"
	                 "  name: yaml-pod\n"
	                 "  namespace: default\n"
	                 "  attempt: 2\n"
	                 "hostname: yaml-host\n"
	                 "labels:\n"
	                 "  app: web\n"
	                 "  port: 8080\n"
	                 "  canary: yes\n"
	                 "annotations:\n"
	                 "  note: \"a: quoted # string\"\n"
	                 "linux:\n"
	                 "  security_context:\n"
	                 "    namespace_options: {network: NODE, pid: 1}\n");
	ck_assert_msg(it_cli(&D, out, sizeof(out), "runp %s", path) == 0, "%s", out);
	ck_assert_int_eq(sscanf(out, "%64s", ids[0]), 1);
	json_object *o = cli_json("inspectp -o json %s", ids[0]);
	json_object *st = get(o, "status"), *md = get(st, "metadata");
	ck_assert_str_eq(str(md, "name"), "yaml-pod");
	ck_assert_int_eq(json_object_get_int(get(md, "attempt")), 2);
	ck_assert_msg(is_uuid4(str(md, "uid")), "uid %s", str(md, "uid"));
	snprintf(uid0, sizeof(uid0), "%s", str(md, "uid"));
	ck_assert_str_eq(str(get(st, "labels"), "port"), "8080");
	ck_assert_str_eq(str(get(st, "labels"), "canary"), "yes");
	ck_assert_str_eq(str(get(st, "annotations"), "note"), "a: quoted # string");
	json_object *opts = get(get(get(st, "linux"), "namespaces"), "options");
	ck_assert_str_eq(str(opts, "network"), "NODE");
	ck_assert_str_eq(str(opts, "pid"), "CONTAINER");
	ck_assert_str_eq(str(get(o, "info"), "hostname"), "yaml-host");
	json_object_put(o);

	/* YAML by its content (no .yaml name), with a uid of its own */
	snprintf(path, sizeof(path), "%s/pod.conf", D.dir);
	write_file(path, "metadata: {name: flow-pod, namespace: default, uid: u-1}\n");
	ck_assert_msg(it_cli(&D, out, sizeof(out), "runp %s", path) == 0, "%s", out);
	ck_assert_int_eq(sscanf(out, "%64s", ids[1]), 1);
	o = cli_json("inspectp -o json %s", ids[1]);
	ck_assert_str_eq(str(get(get(o, "status"), "metadata"), "uid"), "u-1");
	json_object_put(o);

	/* JSON without a uid: made up too, a new one each time */
	snprintf(path, sizeof(path), "%s/nouid.json", D.dir);
	write_file(path, "{\"metadata\": {\"name\": \"json-pod\", \"namespace\": \"default\", "
	                 "\"uid\": \"\"}}");
	ck_assert_msg(it_cli(&D, out, sizeof(out), "runp %s", path) == 0, "%s", out);
	ck_assert_int_eq(sscanf(out, "%64s", ids[2]), 1);
	o = cli_json("inspectp -o json %s", ids[2]);
	const char *uid = str(get(get(o, "status"), "metadata"), "uid");
	ck_assert_msg(is_uuid4(uid) && strcmp(uid, uid0) != 0, "uid %s", uid);
	json_object_put(o);

	/* refused, naming the file and the place */
	snprintf(path, sizeof(path), "%s/alias.yaml", D.dir);
	write_file(path, "metadata: &m {name: a, namespace: default}\nlabels: *m\n");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "runp %s", path), 1);
	ck_assert_msg(strstr(out, "alias.yaml\": YAML: line 2, column 9: aliases are not "
	                          "supported"),
	              "%s", out);
	snprintf(path, sizeof(path), "%s/two.yml", D.dir);
	write_file(path, "metadata: {name: a, namespace: default}\n---\nmetadata: {}\n");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "runp %s", path), 1);
	ck_assert_msg(strstr(out, "more than one YAML document"), "%s", out);
	snprintf(path, sizeof(path), "%s/bad.yaml", D.dir);
	write_file(path, "metadata:\n  name: Bad_Name\n  namespace: default\n");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "runp %s", path), 1);
	ck_assert_msg(strstr(out, "bad.yaml\": metadata.name: \"Bad_Name\" is not a valid"), "%s",
	              out);
	snprintf(path, sizeof(path), "%s/dup.yaml", D.dir);
	write_file(path, "metadata: {name: a, namespace: default}\nmetadata: {name: b}\n");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "runp %s", path), 1);
	ck_assert_msg(strstr(out, "duplicate key \"metadata\""), "%s", out);

	struct cradle_error err;
	for (int i = 0; i < 3; i++)
		ck_assert_msg(cradle_sandbox_remove(D.conn, ids[i], &err) == 0, "%s", err.message);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q"), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
shapes_suite(void)
{
	Suite *s = suite_create("crictl_shapes");
	TCase *tc = tcase_create("shapes");

	tcase_set_timeout(tc, it_secs(90));
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_pods_json_table_filters);
	tcase_add_test(tc, test_inspectp_shapes);
	tcase_add_test(tc, test_yaml_follows_json);
	tcase_add_test(tc, test_runp_yaml_and_uid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(shapes_suite());
}
