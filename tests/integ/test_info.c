/* test_info.c - `cradle info` (daemon.info) against a real cradled: the
 * node facts it reports are the ones this test reads from the machine
 * and from the daemon's own /proc entries, its configuration is the one
 * the test gave it, NetworkReady follows the CNI config directory, and a
 * member of readonly_group may ask.  Needs root.
 *
 * - info: conditions, node facts (cgroup layout from our mountinfo,
 *   SELinux, seccomp, the daemon's oom_score_adj and whether its
 *   CAP_SYS_RESOURCE forces restrict_oom_score_adj, user namespace,
 *   kernel), version and pid, the config's sections and values;
 * - the same through libcradle's accessors, and as YAML;
 * - NetworkReady false while conf_dir holds nothing, true once a
 *   conflist is dropped in, without a restart; cniconfig (crictl's)
 *   names the dirs and the network loaded, or why none is;
 * - readonly_group: info answers, a stop is refused.
 *
 * No sandbox is started.
 */
#include <check.h>
#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
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

/* o.a.b... (a path of object keys); NULL when one is missing */
static json_object *
jget(json_object *o, const char *const *path)
{
	for (; o != NULL && *path != NULL; path++) {
		json_object *next = NULL;
		if (!json_object_object_get_ex(o, *path, &next))
			return NULL;
		o = next;
	}
	return o;
}

#define JGET(o, ...) jget((o), (const char *const[]){ __VA_ARGS__, NULL })

static const char *
jstring(json_object *o, const char *const *path)
{
	json_object *v = jget(o, path);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_string), "%s: no string",
	              path[0]);
	return json_object_get_string(v);
}

#define JSTR(o, ...) jstring((o), (const char *const[]){ __VA_ARGS__, NULL })

static bool
jbool(json_object *o, const char *const *path)
{
	json_object *v = jget(o, path);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_boolean), "%s: no boolean",
	              path[1] ? path[1] : path[0]);
	return json_object_get_boolean(v);
}

#define JBOOL(o, ...) jbool((o), (const char *const[]){ __VA_ARGS__, NULL })

/* The cgroup layout as this test reads /proc/self/mountinfo: a cgroup2
 * mount, v1 hierarchies holding a controller cradle joins. */
static const char *
expected_layout(void)
{
	static const char *const joined[] = { "cpu",     "cpuacct", "cpuset", "memory", "pids",
		                              "devices", "freezer", "blkio",  NULL };
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool v1 = false, v2 = false;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sep = strstr(line, " - ");
		char fstype[64], source[256], opts[2048];
		if (sep == NULL || sscanf(sep + 3, "%63s %255s %2047s", fstype, source, opts) != 3)
			continue;
		if (strcmp(fstype, "cgroup2") == 0)
			v2 = true;
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		for (char *tok = strtok(opts, ","); tok != NULL; tok = strtok(NULL, ","))
			for (size_t i = 0; joined[i] != NULL; i++)
				if (strcmp(tok, joined[i]) == 0)
					v1 = true;
	}
	fclose(f);
	ck_assert_msg(v1 || v2, "no cgroup hierarchy mounted");
	return v1 && v2 ? "hybrid" : v2 ? "v2" : "v1";
}

/* SELinux is on when selinuxfs is mounted with a policy loaded (what
 * libselinux's is_selinux_enabled looks at). */
static bool
expected_selinux(void)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[1024];
	bool fs = false;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " selinuxfs ") != NULL)
			fs = true;
	fclose(f);
	return fs && access("/sys/fs/selinux/policyvers", R_OK) == 0;
}

/* A line "Key:\tvalue" of /proc/PID/status. */
static bool
proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			snprintf(out, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			found = true;
		}
	}
	fclose(f);
	return found;
}

static int
daemon_oom_score_adj(pid_t pid)
{
	char path[64], buf[32];

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	it_read_text(path, buf, sizeof(buf));
	return atoi(buf);
}

static bool
has_cap_sys_resource(pid_t pid)
{
	char v[64];

	ck_assert(proc_status(pid, "CapEff", v, sizeof(v)));
	return (strtoull(v, NULL, 16) >> 24) & 1; /* CAP_SYS_RESOURCE */
}

static json_object *
info_json(void)
{
	static char out[65536];
	json_object *o;

	ck_assert_msg(it_cli(&D, out, sizeof(out), "info") == 0, "info: %s", out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "info printed no JSON: %s", out);
	return o;
}

START_TEST(test_info_node_and_config)
{
	char expect[512];
	struct utsname u;

	it_start_with(&D, NULL,
	              "[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\nshm_size = 48m\n"
	              "[cradled]\nqueue_depth = 77\n"
	              "[runtime.runc]\ntype = io.containerd.runc.v2\n"
	              "[runtime.kata]\ntype = io.containerd.kata.v2\n"
	              "pod_annotations = io.katacontainers.*\n");
	json_object *o = info_json(), *conds = JGET(o, "status", "conditions");

	/* conditions: the runtime answers; no CNI config (libinteg's conf_dir
	 * does not exist) */
	ck_assert_ptr_nonnull(conds);
	ck_assert_uint_eq(json_object_array_length(conds), 2);
	json_object *rt = json_object_array_get_idx(conds, 0),
		    *net = json_object_array_get_idx(conds, 1);
	ck_assert_str_eq(JSTR(rt, "type"), "RuntimeReady");
	ck_assert(JBOOL(rt, "status"));
	ck_assert_str_eq(JSTR(net, "type"), "NetworkReady");
	ck_assert(!JBOOL(net, "status"));
	ck_assert_str_eq(JSTR(net, "reason"), "NetworkPluginNotReady");
	snprintf(expect, sizeof(expect), "%s/no-cni", D.dir);
	ck_assert_msg(strstr(JSTR(net, "message"), expect) != NULL, "%s", JSTR(net, "message"));

	/* the node, as this test sees it */
	ck_assert_str_eq(JSTR(o, "status", "node", "cgroupLayout"), expected_layout());
	const char *cg = JSTR(o, "status", "node", "cgroups");
	ck_assert_msg(strncmp(cg, expected_layout(), strlen(expected_layout())) == 0, "%s", cg);
	ck_assert_int_eq(JBOOL(o, "status", "node", "selinuxEnabled"), expected_selinux());
	/* [selinux] enable is off: never applied */
	ck_assert(!JBOOL(o, "status", "node", "selinuxApplied"));
	/* the kernel has seccomp when /proc shows a task's mode */
	char seccomp[32];
	ck_assert_int_eq(JBOOL(o, "status", "node", "seccompAvailable"),
	                 proc_status(D.pid, "Seccomp", seccomp, sizeof(seccomp)));
	ck_assert_int_eq(json_object_get_int(JGET(o, "status", "node", "oomScoreAdj")),
	                 daemon_oom_score_adj(D.pid));
	/* configured false: on exactly when the daemon lacks CAP_SYS_RESOURCE */
	ck_assert_int_eq(JBOOL(o, "status", "node", "restrictOOMScoreAdj"),
	                 !has_cap_sys_resource(D.pid));
	char uid_map[128];
	snprintf(expect, sizeof(expect), "/proc/%d/uid_map", (int)D.pid);
	it_read_text(expect, uid_map, sizeof(uid_map));
	unsigned long a, b, len;
	ck_assert_int_eq(sscanf(uid_map, "%lu %lu %lu", &a, &b, &len), 3);
	ck_assert_int_eq(JBOOL(o, "status", "node", "inUserNamespace"),
	                 !(a == 0 && b == 0 && len == 4294967295ul));
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_str_eq(JSTR(o, "status", "node", "kernel"), u.release);
	ck_assert_str_eq(JSTR(o, "status", "version"), CRADLE_VERSION);
	ck_assert_int_eq(json_object_get_int(JGET(o, "status", "pid")), D.pid);
	ck_assert_int_eq(json_object_get_int(JGET(o, "status", "apiVersion")), 1);

	/* the configuration it runs with: what we gave, and the defaults */
	ck_assert_str_eq(JSTR(o, "config", "sandbox", "shm_size"), "48m");
	ck_assert_str_eq(JSTR(o, "config", "sandbox", "cgroup_root"), IT_CGROUP_ROOT);
	ck_assert_str_eq(JSTR(o, "config", "cradled", "queue_depth"), "77");
	ck_assert_str_eq(JSTR(o, "config", "cradled", "root"), D.root);
	ck_assert_str_eq(JSTR(o, "config", "cradled", "state"), D.state);
	ck_assert_str_eq(JSTR(o, "config", "cradled", "group"), "");
	snprintf(expect, sizeof(expect), "%s/no-cni", D.dir);
	ck_assert_str_eq(JSTR(o, "config", "cni", "conf_dir"), expect);
	ck_assert_str_eq(JSTR(o, "config", "sandbox", "restrict_oom_score_adj"), "false");
	ck_assert_str_eq(JSTR(o, "config", "runtime.runc", "type"), "io.containerd.runc.v2");
	ck_assert_str_eq(JSTR(o, "config", "runtime.kata", "type"), "io.containerd.kata.v2");
	ck_assert_str_eq(JSTR(o, "config", "runtime.kata", "vm"), "false");
	ck_assert_str_eq(JSTR(o, "config", "runtime.kata", "pod_annotations"),
	                 "io.katacontainers.*");
	ck_assert_ptr_null(JGET(o, "config", "runtime.other"));

	/* libcradle's accessors say the same */
	struct cradle_info *info = NULL;
	struct cradle_error err;
	ck_assert_msg(cradle_daemon_info(D.conn, &info, &err) == 0, "%s", err.message);
	ck_assert_str_eq(cradle_info_cgroup_layout(info), expected_layout());
	ck_assert_str_eq(cradle_info_config_value(info, "sandbox", "shm_size"), "48m");
	ck_assert_str_eq(cradle_info_config_value(info, "cradled", "group"), "");
	ck_assert_ptr_null(cradle_info_config_value(info, "cradled", "nothing"));
	ck_assert_ptr_null(cradle_info_config_value(info, "nothing", "root"));
	ck_assert_str_eq(cradle_info_config_section(info, 0), "cradled");
	ck_assert_int_eq(cradle_info_pid(info), D.pid);
	ck_assert_uint_eq(cradle_info_condition_count(info), 2);
	const char *type;
	bool status;
	ck_assert(cradle_info_condition_at(info, 1, &type, &status, NULL, NULL));
	ck_assert_str_eq(type, "NetworkReady");
	ck_assert(!status);
	ck_assert(!cradle_info_condition_at(info, 2, &type, &status, NULL, NULL));
	cradle_info_free(info);
	json_object_put(o);
}
END_TEST

/* `info -o yaml` is the same document: every node fact and config value
 * of the JSON appears as its YAML line. */
START_TEST(test_info_yaml)
{
	static char out[65536];
	char want[1024];

	it_start_with(&D, NULL, "[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\nshm_size = 96m\n");
	json_object *o = info_json();
	ck_assert_msg(it_cli(&D, out, sizeof(out), "info -o yaml") == 0, "%s", out);
	static const char head[] = "status:\n  conditions:\n  - type: RuntimeReady\n"
				   "    status: true\n";
	ck_assert_msg(strncmp(out, head, strlen(head)) == 0, "%s", out);
	json_object_object_foreach(JGET(o, "status", "node"), k, v) {
		if (json_object_is_type(v, json_type_string))
			snprintf(want, sizeof(want), "\n    %s: %s\n", k,
			         json_object_get_string(v));
		else
			snprintf(want, sizeof(want), "\n    %s: %s\n", k,
			         json_object_to_json_string(v));
		/* strings YAML would misread (the kernel "6.1...") are quoted */
		if (strstr(out, want) == NULL) {
			snprintf(want, sizeof(want), "\n    %s: '%s'\n", k,
			         json_object_get_string(v));
			ck_assert_msg(strstr(out, want) != NULL, "no %s in %s", k, out);
		}
	}
	ck_assert_msg(strstr(out, "\n  sandbox:\n") != NULL, "%s", out);
	/* quoted: it starts with a digit */
	ck_assert_msg(strstr(out, "\n    shm_size: '96m'\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\n    group: ''\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\n    workers: '8'\n") != NULL, "%s", out);
	json_object_put(o);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "info -o table"), 2);
	ck_assert_msg(strstr(out, "expected json or yaml") != NULL, "%s", out);
}
END_TEST

/* NetworkReady is read when asked: a conflist dropped into conf_dir makes
 * it true without a restart, its removal false again. */
START_TEST(test_info_network_ready)
{
	char cni[256], conf[512], path[600];

	snprintf(cni, sizeof(cni), IT_TMP_PREFIX "cni.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(cni));
	snprintf(conf, sizeof(conf),
	         "[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\n[cni]\nconf_dir = %s\n", cni);
	it_start_with(&D, NULL, conf);

	json_object *o = info_json();
	json_object *net = json_object_array_get_idx(JGET(o, "status", "conditions"), 1);
	ck_assert(!JBOOL(net, "status"));
	ck_assert_msg(strstr(JSTR(net, "message"), cni) != NULL, "%s", JSTR(net, "message"));
	/* crictl's cniconfig: the dirs, no network, and why */
	ck_assert_str_eq(JSTR(o, "cniconfig", "PluginConfDir"), cni);
	ck_assert_int_eq(json_object_get_int(JGET(o, "cniconfig", "PluginMaxConfNum")), 1);
	json_object *dirs = JGET(o, "cniconfig", "PluginDirs");
	ck_assert_int_eq(json_object_array_length(dirs), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(dirs, 0)),
	                 "/opt/cni/bin");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(dirs, 1)),
	                 "/usr/lib/cni");
	ck_assert_int_eq(json_object_array_length(JGET(o, "cniconfig", "Networks")), 0);
	ck_assert_msg(strstr(JSTR(o, "cniconfig", "Error"), cni) != NULL, "%s",
	              JSTR(o, "cniconfig", "Error"));
	ck_assert_ptr_null(JGET(o, "config", "cniconfig")); /* not a config section */
	json_object_put(o);

	snprintf(path, sizeof(path), "%s/10-test.conflist", cni);
	FILE *f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("{\"cniVersion\": \"1.0.0\", \"name\": \"infonet\", "
	      "\"plugins\": [{\"type\": \"bridge\"}]}\n",
	      f);
	ck_assert_int_eq(fclose(f), 0);
	o = info_json();
	net = json_object_array_get_idx(JGET(o, "status", "conditions"), 1);
	ck_assert_str_eq(JSTR(net, "type"), "NetworkReady");
	ck_assert(JBOOL(net, "status"));
	ck_assert_str_eq(JSTR(net, "reason"), "");
	ck_assert_str_eq(JSTR(net, "message"), "");
	/* and cniconfig names the network it loaded, its file and plugins */
	json_object *nets = JGET(o, "cniconfig", "Networks");
	ck_assert_int_eq(json_object_array_length(nets), 1);
	json_object *n0 = json_object_array_get_idx(nets, 0);
	ck_assert_str_eq(JSTR(n0, "Config", "Name"), "infonet");
	ck_assert_str_eq(JSTR(n0, "Config", "CNIVersion"), "1.0.0");
	ck_assert_str_eq(JSTR(n0, "Config", "Source"), path);
	ck_assert_str_eq(JSTR(n0, "IFName"), "eth0");
	json_object *plugins = JGET(n0, "Config", "Plugins");
	ck_assert_int_eq(json_object_array_length(plugins), 1);
	ck_assert_str_eq(JSTR(json_object_array_get_idx(plugins, 0), "Network", "type"), "bridge");
	ck_assert_ptr_null(JGET(o, "cniconfig", "Error"));
	json_object_put(o);
	/* the same in YAML */
	static char out[65536];
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "info -o yaml"), 0);
	ck_assert_msg(strstr(out, "\ncniconfig:\n") && strstr(out, "Name: infonet\n"), "%s", out);

	/* a broken one: not ready, and the message names the file */
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("{\"cniVersion\": \"1.0.0\", \"plugins\": []}\n", f);
	ck_assert_int_eq(fclose(f), 0);
	o = info_json();
	net = json_object_array_get_idx(JGET(o, "status", "conditions"), 1);
	ck_assert(!JBOOL(net, "status"));
	ck_assert_msg(strstr(JSTR(net, "message"), "10-test.conflist") != NULL, "%s",
	              JSTR(net, "message"));
	json_object_put(o);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(cni), 0);
}
END_TEST

/* `cradle CMD ARG` as uid 65534 in group and readonly_group (the
 * readonly group wins); its exit status, its output in out. */
static int
cli_readonly(char *out, size_t len, const char *cmd, const char *arg)
{
	int fds[2], st;
	size_t got = 0;
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the socket is 0660 root:group: its group reaches it */
		gid_t groups[] = { 4242, 4343 };
		if (dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 || setgroups(2, groups) != 0 ||
		    setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(100);
		execl(it_bin("cradle"), "cradle", "--socket", D.sock, cmd, arg, (char *)NULL);
		_exit(101);
	}
	close(fds[1]);
	while (got + 1 < len && (n = read(fds[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* A value of a sched file's text ("se.slice", "prio"), -1 when absent. */
static long
sched_field(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *l = text; l != NULL;) {
		if (strncmp(l, key, n) == 0 && l[n] == ' ') {
			const char *colon = strchr(l, ':');
			return colon != NULL ? strtol(colon + 1, NULL, 10) : -1;
		}
		if ((l = strchr(l, '\n')) != NULL)
			l++;
	}
	return -1;
}

/* The scheduling the daemon asks for (server/main.c FRONTEND_SLICE_NS,
 * worker/pool.c): the threads that answer status and list take the
 * kernel's short slice, so that a waking one preempts a busy CPU; the
 * workers run 10 nice steps below them (prio 120 -> 130) with the
 * kernel's default slice.  As the kernel reports them. */
START_TEST(test_info_thread_sched)
{
	char file[300], comm[64], sched[8192];
	int fronts = 0, workers = 0;
	DIR *d;
	struct dirent *e;

	ck_assert_int_gt(it_proc_read(getpid(), "sched", sched, sizeof(sched)), 0);
	long def = sched_field(sched, "se.slice");
	it_start(&D, NULL);
	if (def < 0) {
		/* a kernel before EEVDF (6.6) has no slice to ask for */
		fprintf(stderr,
		        "test_info_thread_sched: no se.slice in /proc: slices not checked\n");
	}
	snprintf(file, sizeof(file), "/proc/%d/task", (int)D.pid);
	ck_assert_ptr_nonnull(d = opendir(file));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "task/%s/comm", e->d_name);
		if (it_proc_read(D.pid, file, comm, sizeof(comm)) <= 0)
			continue; /* the thread is gone */
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(file, sizeof(file), "task/%s/sched", e->d_name);
		if (it_proc_read(D.pid, file, sched, sizeof(sched)) <= 0)
			continue;
		long slice = sched_field(sched, "se.slice"), prio = sched_field(sched, "prio");
		if (strcmp(comm, "cradle:front") == 0 || strcmp(comm, "cradle:list") == 0) {
			fronts++;
			ck_assert_int_eq(prio, 120);
			if (def >= 0)
				ck_assert_msg(slice == 100000, "%s: se.slice %ld", comm, slice);
		} else if (strcmp(comm, "cradle:worker") == 0) {
			workers++;
			ck_assert_int_eq(prio, 130);
			if (def >= 0)
				ck_assert_msg(slice != 100000 && slice > 0, "worker se.slice %ld",
				              slice);
		}
	}
	closedir(d);
	ck_assert_int_eq(fronts, 3); /* the loop and FE_LISTERS listers */
	ck_assert_int_gt(workers, 0);
}
END_TEST

START_TEST(test_info_readonly_group)
{
	static char out[65536];

	it_start_with(&D, NULL, "[cradled]\ngroup = 4242\nreadonly_group = 4343\n");
	ck_assert_int_eq(chmod(D.dir, 0711), 0);
	ck_assert_msg(cli_readonly(out, sizeof(out), "info", "-ojson") == 0, "%s", out);
	json_object *o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "%s", out);
	ck_assert_str_eq(JSTR(o, "config", "cradled", "readonly_group"), "4343");
	json_object_put(o);
	/* and it is read-only: a stop is refused */
	ck_assert_int_eq(cli_readonly(out, sizeof(out), "stopp",
	                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
	                              "cdef"),
	                 1);
	ck_assert_msg(strstr(out, "PERMISSION_DENIED") && strstr(out, "may only read"), "%s", out);
}
END_TEST

static Suite *
info_suite(void)
{
	Suite *s = suite_create("info");
	TCase *tc = tcase_create("info");

	tcase_set_timeout(tc, it_secs(60));
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_info_node_and_config);
	tcase_add_test(tc, test_info_yaml);
	tcase_add_test(tc, test_info_network_ready);
	tcase_add_test(tc, test_info_readonly_group);
	tcase_add_test(tc, test_info_thread_sched);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(info_suite());
}
