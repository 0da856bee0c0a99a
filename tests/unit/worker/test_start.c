/* test_start.c - the start pipeline and the operations (worker/start.c,
 * worker/ops.c) in an environment built from the real services below
 * them, no daemon and no mocks.
 *
 * ROOT: the sandboxes are real (clone3 into new namespaces, overlay and
 * tmpfs mounts, cgroups, netns pins), so these tests need root, and the
 * pause image `make` builds: $CRADLE_BUILD/pause.oci.tar (CRADLE_BUILD is
 * set by tests/run.sh; default "build").
 *
 * Each test's worker_env is filled the way server/main.c fills cradled's:
 * a store, table, publisher (ipc:// in the test's directory), reaper and
 * image service (the pause archive imported as the built-in image) on a
 * root directory, a state directory on a tmpfs, the skeleton layer, the
 * node as detected with a cgroup parent of the test's own
 * (/cradle-unit-<runner pid>/<test pid>), one "runc" handler and a launch
 * stack.  SELinux labels are allocated (from an lxc_contexts file the test
 * writes) but not applied, so a leaked MCS reservation shows.
 *
 *   steps  every step of the pipeline fails in turn (env.fail_step), through
 *          sandbox.run and through start_sandbox on a created sandbox: the
 *          error names the step and nothing is left (directories, mounts,
 *          netns pin, cgroup, process, record or a record back to CREATED,
 *          image use, MCS level), no rollback warning is logged, and the
 *          sandbox can then be started for real;
 *   run    a started pause task (namespaces, cgroup, record, pin, shm),
 *          stopped (exit 137, one "sandbox.exit" event) and removed; a task
 *          that exits on its own (SIGTERM: exit 0);
 *   ops    create, start, status, list with filters and the error cases.
 *
 * Isolation: Check forks per test; each test runs in a mount namespace of
 * its own (unit_scratch_setup_ns), so its mounts go with it even when it
 * fails; the runner is a child subreaper (pause tasks of a failed test are
 * killed with its process group and reaped there) and removes the cgroup
 * parent of the whole run at the end.  Threads start inside the tests.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "core/events.h"
#include "core/lifecycle.h"
#include "core/reaper.h"
#include "core/records.h"
#include "core/table.h"
#include "image/images.h"
#include "sandbox/launch.h"
#include "sandbox/node.h"
#include "sandbox/selinux.h"
#include "tests/unit/core/libsub.h"
#include "tests/unit/lib/unit.h"
#include "util/log.h"
#include "util/store.h"
#include "worker/env.h"
#include "worker/ops.h"
#include "worker/start.h"

#define IMAGE "cradle.local/pause:built-in"
#define QUIET_MS 200 /* how long "no event" waits */

/* worker/start.c's steps[], in order */
static const char *const steps[] = {
	"runtime",
	"image",
	"sandbox-root-dir",
	"volatile-root-dir",
	"rootfs",
	"sandbox-files",
	"shm",
	"selinux",
	"spec",
	"seccomp",
	"cgroup",
	"launch",
	"netns",
	"cni",
	"record",
	"reaper",
};
#define N_STEPS ((int)(sizeof(steps) / sizeof(steps[0])))

static pid_t runner_pid; /* main(): the run's cgroup parent is named after it */

static struct {
	char root[PATH_MAX], state[PATH_MAX], skeleton[PATH_MAX + 32];
	char url[PATH_MAX + 32];
	char cgroup_run[64], cgroup_parent[64];
	struct node node;
	struct runtime_config runc;
	struct store *store;
	struct table *table;
	struct events *events;
	struct reaper *reaper;
	struct images *images;
	struct worker_env env;
	struct launch_stack ls;
	nng_socket sub;
	bool have_sub, state_mounted;
	uint64_t seq; /* the last seq the publisher assigned */

	pthread_mutex_t log_lock;
	int log_lines, rollbacks;
	char rollback[512]; /* the first rollback warning */
} E;

/* --- small helpers ------------------------------------------------------- */

static int
count_one(struct proto_sandbox *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

static int
count_records(void)
{
	struct cradle_err err = { 0 };
	int n = 0;

	ck_assert_msg(records_foreach(E.store, count_one, NULL, &n, &err) == 0, "%s", err.msg);
	return n;
}

static void
log_sink(void *arg, enum log_level level, const char *line)
{
	(void)arg;
	pthread_mutex_lock(&E.log_lock);
	E.log_lines++;
	if (level >= LOG_WARN && strstr(line, "rollback") != NULL && E.rollbacks++ == 0)
		snprintf(E.rollback, sizeof(E.rollback), "%s", line);
	pthread_mutex_unlock(&E.log_lock);
}

static int
rollbacks_logged(char *first, size_t len)
{
	pthread_mutex_lock(&E.log_lock);
	int n = E.rollbacks;
	snprintf(first, len, "%s", E.rollback);
	pthread_mutex_unlock(&E.log_lock);
	return n;
}

/* --- events --------------------------------------------------------------- */

static bool
sub_recv(int timeout_ms, struct proto_event *ev)
{
	return unit_sub_recv(E.sub, timeout_ms, ev);
}

/* Subscribe to the environment's events (tests/unit/core/libsub.h).
 * E.seq is the last probe's seq. */
static void
subscribe(void)
{
	E.seq = unit_sub_attach(&E.sub, E.url, E.events);
	E.have_sub = true;
}

/* --- the environment ------------------------------------------------------ */

static void
make_skeleton(void)
{
	static const char *const dirs[] = { "", "/proc", "/dev", "/sys", "/etc" };
	static const char *const files[] = { "/etc/resolv.conf", "/etc/hostname", "/etc/hosts" };
	char path[PATH_MAX + 64];

	UNIT_FMT(E.skeleton, "%s/snapshots/skeleton", E.root);
	UNIT_FMT(path, "%s/snapshots", E.root);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		UNIT_FMT(path, "%s%s", E.skeleton, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		UNIT_FMT(path, "%s%s", E.skeleton, files[i]);
		unit_put_str(path, "");
	}
}

static void
env_setup(void)
{
	struct cradle_err err = { 0 };
	char path[PATH_MAX + 64], contexts[PATH_MAX], archive[PATH_MAX];

	memset(&E, 0, sizeof(E));
	pthread_mutex_init(&E.log_lock, NULL);
	log_set_sink(log_sink, NULL);
	unit_scratch_setup_ns();

	/* root: persistent; state: volatile, on a tmpfs as on a node */
	unit_path(E.root, sizeof(E.root), "root");
	unit_path(E.state, sizeof(E.state), "state");
	ck_assert_int_eq(mkdir(E.root, 0700), 0);
	ck_assert_int_eq(mkdir(E.state, 0711), 0);
	ck_assert_int_eq(mount("tmpfs", E.state, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711"), 0);
	E.state_mounted = true;
	UNIT_FMT(path, "%s/sandboxes", E.root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	UNIT_FMT(path, "%s/sandboxes", E.state);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	UNIT_FMT(path, "%s/netns", E.state);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	make_skeleton();

	/* the node, with a cgroup parent of this test's own */
	UNIT_FMT(E.cgroup_run, "/cradle-unit-%d", (int)runner_pid);
	UNIT_FMT(E.cgroup_parent, "%s/%d", E.cgroup_run, (int)getpid());
	unit_path(contexts, sizeof(contexts), "lxc_contexts");
	unit_put_str(contexts, "process = \"system_u:system_r:container_t:s0\"\n"
	                       "file = \"system_u:object_r:container_file_t:s0\"\n");
	struct node_opts no = {
		.cgroup_root = E.cgroup_parent,
		.selinux = { .enable = !selinux_apply_enabled(), .contexts_path = contexts },
	};
	ck_assert_msg(node_detect(&no, &E.node, &err) == 0, "%s", err.msg);
	ck_assert(!E.node.selinux_apply);

	/* the services, as cradled starts them */
	ck_assert_msg(store_open(E.root, &E.store, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(table_init(&E.table), 0);
	struct images_cfg ic = { .root = E.root, .store = E.store };
	ck_assert_msg(images_open(&ic, &E.images, &err) == 0, "%s", err.msg);
	ck_assert_msg(unit_build_path(archive, "pause.oci.tar") == 0, "no pause image (see above)");
	ck_assert_msg(images_import(E.images, archive, IMAGE, true, NULL, &err) == 0, "%s",
	              err.msg);
	unit_path(path, sizeof(path), "events.sock");
	UNIT_FMT(E.url, "ipc://%s", path);
	ck_assert_msg(events_open(E.url, &E.events, &err) == 0, "%s", err.msg);
	ck_assert_msg(reaper_start(E.store, E.events, &E.reaper, &err) == 0, "%s", err.msg);
	ck_assert_msg(launch_stack_alloc(&E.ls, &err) == 0, "%s", err.msg);

	E.runc = (struct runtime_config){
		.name = "runc",
		.type = "io.containerd.runc.v2",
		.path = "",
		.seccomp_default = "",
	};
	E.env = (struct worker_env){
		.root = E.root,
		.state = E.state,
		.image = IMAGE,
		.skeleton = E.skeleton,
		.shm_size = 64ull << 20,
		.runtimes = { .v = &E.runc, .n = 1, .default_name = "runc" },
		.version = "0.0.0-test",
		.node = &E.node,
		.table = E.table,
		.store = E.store,
		.reaper = E.reaper,
		.events = E.events,
		.images = E.images,
	};
	/* the sink sees what is logged (node_detect logs its choices) */
	pthread_mutex_lock(&E.log_lock);
	ck_assert_int_gt(E.log_lines, 0);
	pthread_mutex_unlock(&E.log_lock);
}

/* Nothing of any sandbox is left but n_records records and n_sandboxes
 * table entries (a created, never started sandbox has both). */
static void
assert_clean(int n_records, size_t n_sandboxes)
{
	char path[PATH_MAX + 64], first[512];

	unit_assert_no_children();
	UNIT_FMT(path, "%s/sandboxes", E.root);
	ck_assert_int_eq(unit_count_entries(path), 0);
	UNIT_FMT(path, "%s/sandboxes", E.state);
	ck_assert_int_eq(unit_count_entries(path), 0);
	ck_assert_int_eq(unit_mounts_under(path), 0);
	UNIT_FMT(path, "%s/netns", E.state);
	ck_assert_int_eq(unit_count_entries(path), 0);
	ck_assert_int_eq(unit_mounts_under(path), 0);
	ck_assert_int_eq(unit_mounts_under(E.root), 0);
	ck_assert_int_eq(unit_mounts_under(E.state), 1); /* the tmpfs itself */
	ck_assert_int_eq(unit_cgroups_below(E.cgroup_parent), 0);
	ck_assert_int_eq(count_records(), n_records);
	ck_assert_uint_eq(table_count(E.table), n_sandboxes);
	ck_assert_uint_eq(selinux_labels_reserved(E.node.selinux), 0);
	ck_assert(!images_in_use(E.images, IMAGE));
	ck_assert_msg(rollbacks_logged(first, sizeof(first)) == 0, "%s", first);
}

static void
env_teardown(void)
{
	assert_clean(0, 0);
	launch_stack_free(&E.ls);
	reaper_stop(E.reaper);
	if (E.have_sub)
		nng_close(E.sub);
	events_close(E.events);
	table_fini(E.table);
	images_close(E.images);
	store_close(E.store);
	node_fini(&E.node);
	log_set_sink(NULL, NULL);
	/* what cgroup_create made above the leaves, if anything is left */
	ck_assert_int_eq(unit_cgroup_rmtree(E.cgroup_parent), 0);
	ck_assert_int_eq(unit_cgroups_at(E.cgroup_parent), 0);
	if (E.state_mounted)
		ck_assert_int_eq(umount2(E.state, MNT_DETACH), 0);
	unit_scratch_teardown();
}

/* --- requests -------------------------------------------------------------- */

/* A pod named name (uid derived), with label app=<app> when app is set. */
static void
pod_request(struct proto_request *req, int op, const char *name, const char *app)
{
	char uid[128];

	proto_request_init(req, op);
	req->config.metadata.name = unit_strdup(name);
	req->config.metadata.namespace = unit_strdup("default");
	UNIT_FMT(uid, "uid-%s", name);
	req->config.metadata.uid = unit_strdup(uid);
	req->config.hostname = unit_strdup(name);
	if (app != NULL)
		ck_assert_int_eq(proto_kvs_add(&req->config.labels, "app", app), 0);
}

/* ops_run with a fresh reply; the request is finished here. */
static void
run_op(struct proto_request *req, struct proto_reply *rep)
{
	proto_reply_init(rep, req->op);
	ops_run(&E.env, &E.ls, req, rep);
	proto_request_fini(req);
}

static void
expect_ok(const struct proto_reply *rep)
{
	ck_assert_msg(rep->ok, "%s: %s", cradle_code_name(rep->err.code), rep->err.msg);
}

static void
expect_err(const struct proto_reply *rep, int code, const char *text)
{
	ck_assert_msg(!rep->ok, "succeeded");
	ck_assert_msg(rep->err.code == code, "%s, not %s: %s", cradle_code_name(rep->err.code),
	              cradle_code_name(code), rep->err.msg);
	ck_assert_msg(strstr(rep->err.msg, text) != NULL, "\"%s\" not in \"%s\"", text,
	              rep->err.msg);
}

/* sandbox.run of pod name; returns its id and pause pid. */
static pid_t
run_pod(const char *name, const char *app, char id[CRADLE_ID_LEN + 1])
{
	struct proto_request req;
	struct proto_reply rep;

	pod_request(&req, OP_RUN, name, app);
	run_op(&req, &rep);
	expect_ok(&rep);
	ck_assert(proto_valid_id(rep.id));
	memcpy(id, rep.id, CRADLE_ID_LEN + 1);
	pid_t pid = rep.pid;
	ck_assert_int_gt(pid, 0);
	proto_reply_fini(&rep);
	return pid;
}

static void
id_op(int op, const char *id, struct proto_reply *rep)
{
	struct proto_request req;

	proto_request_init(&req, op);
	memcpy(req.id, id, CRADLE_ID_LEN + 1);
	run_op(&req, rep);
}

static void
id_op_ok(int op, const char *id)
{
	struct proto_reply rep;

	id_op(op, id, &rep);
	expect_ok(&rep);
	proto_reply_fini(&rep);
}

static void
get_rec(const char *id, struct proto_sandbox *out)
{
	struct cradle_err err = { 0 };

	ck_assert_msg(records_get(E.store, id, out, &err) == 0, "%s: %s", id, err.msg);
}

/* --- steps ------------------------------------------------------------------ */

/* sandbox.run with each step failing: no record, nothing else either;
 * then the same pod runs (its name was released) and is removed. */
START_TEST(test_run_fail_step)
{
	const char *step = steps[_i];
	struct proto_request req;
	struct proto_reply rep;
	char want[128], id[CRADLE_ID_LEN + 1];

	E.env.fail_step = step;
	pod_request(&req, OP_RUN, "web", "web");
	run_op(&req, &rep);
	UNIT_FMT(want, "injected failure at step %s", step);
	expect_err(&rep, CRADLE_INTERNAL, want);
	ck_assert_msg(strncmp(rep.err.msg, "failed to start sandbox \"", 25) == 0, "%s",
	              rep.err.msg);
	ck_assert(rep.id[0] == '\0' && rep.pid == 0);
	proto_reply_fini(&rep);
	assert_clean(0, 0);

	E.env.fail_step = NULL;
	run_pod("web", "web", id);
	id_op_ok(OP_REMOVE, id);
	assert_clean(0, 0);
}
END_TEST

/* start_sandbox on a created sandbox with each step failing: the error is
 * the step's own, the sandbox and its record are CREATED as before, with
 * nothing of the start left; then it starts. */
START_TEST(test_start_fail_step)
{
	const char *step = steps[_i];
	struct cradle_err err = { 0 };
	struct proto_request req;
	struct proto_reply rep;
	struct proto_sandbox rec;
	char want[128], id[CRADLE_ID_LEN + 1];

	pod_request(&req, OP_CREATE, "web", "web");
	run_op(&req, &rep);
	expect_ok(&rep);
	memcpy(id, rep.id, sizeof(id));
	proto_reply_fini(&rep);
	get_rec(id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_CREATED);
	int64_t created_at = rec.created_at;
	proto_sandbox_fini(&rec);

	struct sandbox *sb = table_get(E.table, id);
	ck_assert_ptr_nonnull(sb);
	E.env.fail_step = step;
	pthread_mutex_lock(&sb->lock);
	ck_assert_int_eq(start_sandbox(&E.env, &E.ls, sb, &err), -1);
	UNIT_FMT(want, "injected failure at step %s", step);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	const struct proto_sandbox *r = &sb->rec;
	ck_assert_int_eq(r->phase, PHASE_CREATED);
	ck_assert_int_eq(r->pid, 0);
	ck_assert_uint_eq(r->pid_start_time, 0);
	ck_assert_int_eq(r->started_at, 0);
	ck_assert_int_eq(sb->pidfd, -1);
	ck_assert(r->netns_path == NULL && r->shm_path == NULL && r->cgroup_path == NULL &&
	          r->hostname_path == NULL && r->process_label == NULL && r->image_ref == NULL);
	ck_assert_ptr_null(sb->pending);
	sandbox_unlock(sb, E.events);

	get_rec(id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_CREATED);
	ck_assert_int_eq(rec.pid, 0);
	ck_assert_int_eq(rec.created_at, created_at);
	ck_assert(rec.netns_path == NULL && rec.shm_path == NULL && rec.cgroup_path == NULL &&
	          rec.image_ref == NULL && rec.process_label == NULL);
	proto_sandbox_fini(&rec);
	assert_clean(1, 1);

	/* nothing is in the way of a real start */
	E.env.fail_step = NULL;
	pthread_mutex_lock(&sb->lock);
	ck_assert_msg(start_sandbox(&E.env, &E.ls, sb, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sb->rec.phase, PHASE_RUNNING);
	sandbox_unlock(sb, E.events);
	sandbox_rele(sb);
	get_rec(id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_RUNNING);
	proto_sandbox_fini(&rec);
	id_op_ok(OP_REMOVE, id);
	assert_clean(0, 0);
}
END_TEST

/* A name no step has fails nothing. */
START_TEST(test_unknown_fail_step)
{
	char id[CRADLE_ID_LEN + 1];

	E.env.fail_step = "no-such-step";
	run_pod("web", NULL, id);
	id_op_ok(OP_REMOVE, id);
}
END_TEST

/* --- run, stop, remove --------------------------------------------------------- */

/* Field 22 of /proc/PID/stat, read here independently. */
static unsigned long long
start_time_of(pid_t pid)
{
	char path[64], *s, *p;
	unsigned long long v = 0;

	UNIT_FMT(path, "/proc/%d/stat", (int)pid);
	s = unit_slurp_ok(path, NULL);
	p = strrchr(s, ')');
	ck_assert_ptr_nonnull(p);
	p += 2; /* field 3 */
	for (int f = 3; f < 22; f++) {
		p = strchr(p, ' ');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	v = strtoull(p, NULL, 10);
	free(s);
	return v;
}

/* The pause task is in cgroup want in the v2 hierarchy and in those v1
 * hierarchies cradle joins; in a v1 hierarchy of the memory or the cpuset
 * controller alone, in want's parent (no cgroup of its own there). */
static void
assert_in_cgroup(pid_t pid, const char *want)
{
	static const char *const joined[] = { "cpu",  "cpuset",  "memory",
		                              "pids", "devices", "name=systemd" };
	char path[64], up[PATH_MAX], *s, *line, *save = NULL;
	int matched = 0;

	ck_assert(strrchr(want, '/') != NULL && strlen(want) < sizeof(up));
	memcpy(up, want, (size_t)(strrchr(want, '/') - want));
	up[strrchr(want, '/') - want] = '\0';

	UNIT_FMT(path, "/proc/%d/cgroup", (int)pid);
	s = unit_slurp_ok(path, NULL);
	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		bool check = false;

		ck_assert_ptr_nonnull(c2);
		*c2 = '\0';
		bool shared = !strcmp(c1 + 1, "memory") || !strcmp(c1 + 1, "cpuset");
		if (strcmp(line, "0:") == 0 && c1 == line + 1) {
			check = true; /* "0::/path": cgroup2 */
		} else {
			char *ctl, *save2 = NULL;
			for (ctl = strtok_r(c1 + 1, ",", &save2); ctl != NULL;
			     ctl = strtok_r(NULL, ",", &save2))
				for (size_t i = 0; i < sizeof(joined) / sizeof(joined[0]); i++)
					check |= strcmp(ctl, joined[i]) == 0;
		}
		if (check) {
			const char *w = shared ? up : want;
			ck_assert_msg(strcmp(c2 + 1, w) == 0, "%s in %s, not %s", line, c2 + 1, w);
			matched++;
		}
	}
	free(s);
	ck_assert_int_ge(matched, 2);
}

static void
expect_exit_event(const char *id, pid_t pid, int32_t status, int64_t exited_at)
{
	struct proto_event ev;

	ck_assert_msg(sub_recv(5000, &ev), "no exit event");
	ck_assert_str_eq(ev.type, PROTO_EVENT_EXIT);
	ck_assert_str_eq(ev.id, id);
	ck_assert_int_eq(ev.pid, pid);
	ck_assert_int_eq(ev.exit_status, status);
	ck_assert_int_eq(ev.exited_at, exited_at);
	ck_assert_uint_eq(ev.seq, E.seq + 1);
	E.seq = ev.seq;
}

/* The next event: a sandbox event of type for id (issue 9: stop and
 * remove publish sandbox.stopped and sandbox.removed), seq E.seq + 1. */
static void
expect_event(const char *type, const char *id)
{
	struct proto_event ev;

	ck_assert_msg(sub_recv(5000, &ev), "no %s event", type);
	ck_assert_str_eq(ev.type, type);
	ck_assert_str_eq(ev.id, id);
	ck_assert_uint_eq(ev.seq, E.seq + 1);
	E.seq = ev.seq;
}

static void
expect_no_event(void)
{
	struct proto_event ev;

	ck_assert_msg(!sub_recv(QUIET_MS, &ev), "unexpected event %s seq %llu", ev.type,
	              (unsigned long long)ev.seq);
}

START_TEST(test_run_stop_remove)
{
	static const char *const nss[] = { "net", "pid", "ipc", "uts", "mnt" };
	struct proto_sandbox rec;
	struct stat a, b;
	char id[CRADLE_ID_LEN + 1], cg[128], pin[PATH_MAX + 128], shm[PATH_MAX + 128];
	char dir[PATH_MAX + 128], path[64];

	pid_t pid = run_pod("web", "web", id);

	/* the pause task, alive in namespaces of its own and in its cgroup */
	ck_assert_int_eq(kill(pid, 0), 0);
	ck_assert_int_eq(unit_count_children(), 1);
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++)
		ck_assert_msg(unit_ns_same(pid, nss[i]) == 0, "%s namespace shared", nss[i]);
	UNIT_FMT(cg, "%s/%s", E.cgroup_parent, id);
	assert_in_cgroup(pid, cg);
	ck_assert_int_gt(unit_cgroups_at(cg), 1);

	/* recorded RUNNING, with what the pod's containers need */
	get_rec(id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_RUNNING);
	ck_assert_int_eq(rec.pid, pid);
	ck_assert_uint_eq(rec.pid_start_time, start_time_of(pid));
	ck_assert_int_gt(rec.started_at, 0);
	UNIT_FMT(pin, "%s/netns/%s", E.state, id);
	UNIT_FMT(shm, "%s/shm/%s", E.state, id);
	ck_assert_str_eq(rec.netns_path, pin);
	ck_assert_str_eq(rec.shm_path, shm);
	ck_assert_str_eq(rec.cgroup_path, cg);
	ck_assert_str_eq(rec.image_ref, IMAGE);
	ck_assert_ptr_nonnull(rec.process_label);
	proto_sandbox_fini(&rec);
	UNIT_FMT(path, "/proc/%d/ns/net", (int)pid);
	ck_assert_int_eq(stat(pin, &a), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	ck_assert_int_eq(unit_mounts_under(shm), 1);
	ck_assert(images_in_use(E.images, IMAGE));
	ck_assert_uint_eq(selinux_labels_reserved(E.node.selinux), 1);

	/* stop: killed, recorded, one event; the pin and shm released */
	subscribe();
	id_op_ok(OP_STOP, id);
	get_rec(id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_EXITED);
	ck_assert_int_eq(rec.exit_status, 128 + SIGKILL);
	ck_assert_int_eq(rec.pid, 0);
	ck_assert_int_gt(rec.exited_at, 0);
	ck_assert_ptr_null(rec.netns_path);
	ck_assert_ptr_null(rec.shm_path);
	expect_exit_event(id, pid, 137, rec.exited_at);
	proto_sandbox_fini(&rec);
	expect_event(PROTO_EVENT_STOPPED, id);
	expect_no_event();
	unit_assert_no_children();
	ck_assert(!unit_exists(pin));
	ck_assert_int_eq(unit_mounts_under(shm), 0);
	ck_assert_int_gt(unit_cgroups_at(cg), 1); /* kept until remove */
	/* in every hierarchy of its parent but the shared ones */
	int shared = 0;
	while (unit_shared_hierarchy(shared) != NULL)
		shared++;
	ck_assert_int_eq(unit_cgroups_at(cg) + shared, unit_cgroups_at(E.cgroup_parent));

	/* stopping again is fine and publishes nothing */
	id_op_ok(OP_STOP, id);
	expect_no_event();

	/* remove: everything goes */
	id_op_ok(OP_REMOVE, id);
	expect_event(PROTO_EVENT_REMOVED, id);
	ck_assert_int_eq(unit_cgroups_at(cg), 0);
	UNIT_FMT(dir, "%s/sandboxes/%s", E.root, id);
	ck_assert(!unit_exists(dir));
	UNIT_FMT(dir, "%s/sandboxes/%s", E.state, id);
	ck_assert(!unit_exists(dir));
	ck_assert_ptr_null(table_get(E.table, id));
	assert_clean(0, 0);
	id_op_ok(OP_STOP, id);
	id_op_ok(OP_REMOVE, id);
	expect_no_event();
}
END_TEST

/* A pause task that exits on its own (SIGTERM: pause exits 0) is recorded
 * by the reaper with one event; stop then only releases the pin and shm. */
START_TEST(test_exit_on_its_own)
{
	struct proto_sandbox rec;
	char id[CRADLE_ID_LEN + 1];

	pid_t pid = run_pod("web", NULL, id);
	subscribe();
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	struct sandbox *sb = table_get(E.table, id);
	ck_assert_ptr_nonnull(sb);
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&sb->lock);
	while (sb->rec.phase == PHASE_RUNNING &&
	       pthread_cond_timedwait(&sb->cond, &sb->lock, &dl) != ETIMEDOUT)
		;
	ck_assert_int_eq(sb->rec.phase, PHASE_EXITED);
	pthread_mutex_unlock(&sb->lock);
	sandbox_rele(sb);
	get_rec(id, &rec);
	ck_assert_int_eq(rec.exit_status, 0);
	expect_exit_event(id, pid, 0, rec.exited_at);
	ck_assert_ptr_nonnull(rec.netns_path); /* held until stop */
	proto_sandbox_fini(&rec);
	unit_assert_no_children();
	id_op_ok(OP_STOP, id);
	expect_event(PROTO_EVENT_STOPPED, id);
	expect_no_event();
	get_rec(id, &rec);
	ck_assert_ptr_null(rec.netns_path);
	ck_assert_ptr_null(rec.shm_path);
	ck_assert_int_eq(rec.exit_status, 0);
	proto_sandbox_fini(&rec);
	id_op_ok(OP_REMOVE, id);
}
END_TEST

/* --- ops ------------------------------------------------------------------------- */

static void
list(const char *app, int state, struct proto_reply *rep)
{
	struct proto_request req;

	proto_request_init(&req, OP_LIST);
	if (app != NULL)
		ck_assert_int_eq(proto_kvs_add(&req.label_filter, "app", app), 0);
	req.state_filter = state;
	run_op(&req, rep);
	expect_ok(rep);
	/* the daemon's list reply holds its sandboxes packed: read it as a
	 * client does */
	msgpack_sbuffer buf;
	struct cradle_err e;
	msgpack_sbuffer_init(&buf);
	ck_assert_msg(proto_reply_encode(&buf, rep, &e) == 0, "%s", e.msg);
	ck_assert_ptr_null(rep->sandboxes);
	proto_reply_fini(rep);
	ck_assert_msg(proto_reply_decode(OP_LIST, buf.data, buf.size, rep, &e) == 0, "%s", e.msg);
	msgpack_sbuffer_destroy(&buf);
	expect_ok(rep);
}

START_TEST(test_ops)
{
	struct proto_request req;
	struct proto_reply rep;
	char web[CRADLE_ID_LEN + 1], db[CRADLE_ID_LEN + 1], want[256];

	proto_request_init(&req, OP_VERSION);
	run_op(&req, &rep);
	expect_ok(&rep);
	ck_assert_str_eq(rep.version.version, "0.0.0-test");
	ck_assert_int_eq(rep.version.pid, getpid());
	proto_reply_fini(&rep);

	/* create: recorded CREATED, NOTREADY, no task */
	pod_request(&req, OP_CREATE, "web", "web");
	run_op(&req, &rep);
	expect_ok(&rep);
	memcpy(web, rep.id, sizeof(web));
	ck_assert_int_eq(rep.pid, 0);
	ck_assert_int_gt(rep.created_at, 0);
	proto_reply_fini(&rep);
	ck_assert_int_eq(count_records(), 1);
	id_op(OP_STATUS, web, &rep);
	expect_ok(&rep);
	ck_assert_uint_eq(rep.n_sandboxes, 1);
	ck_assert_str_eq(rep.sandboxes[0].id, web);
	ck_assert_int_eq(rep.sandboxes[0].phase, PHASE_CREATED);
	ck_assert_int_eq(proto_sandbox_state(&rep.sandboxes[0]), STATE_NOTREADY);
	ck_assert_str_eq(rep.sandboxes[0].config.metadata.name, "web");
	proto_reply_fini(&rep);
	unit_assert_no_children();

	/* a second pod with the same name, namespace, uid and attempt */
	pod_request(&req, OP_CREATE, "web", "other");
	run_op(&req, &rep);
	expect_err(&rep, CRADLE_ALREADY_EXISTS, "is reserved for");
	ck_assert_msg(strstr(rep.err.msg, web) != NULL, "%s", rep.err.msg);
	proto_reply_fini(&rep);
	pod_request(&req, OP_RUN, "web", "other");
	run_op(&req, &rep);
	expect_err(&rep, CRADLE_ALREADY_EXISTS, "failed to reserve sandbox name");
	proto_reply_fini(&rep);
	ck_assert_uint_eq(table_count(E.table), 1);
	ck_assert_int_eq(count_records(), 1);

	/* start: RUNNING, READY */
	id_op(OP_START, web, &rep);
	expect_ok(&rep);
	ck_assert_str_eq(rep.id, web);
	pid_t pid = rep.pid;
	ck_assert_int_gt(pid, 0);
	proto_reply_fini(&rep);
	ck_assert_int_eq(kill(pid, 0), 0);
	id_op(OP_STATUS, web, &rep);
	expect_ok(&rep);
	ck_assert_int_eq(rep.sandboxes[0].phase, PHASE_RUNNING);
	ck_assert_int_eq(rep.sandboxes[0].pid, pid);
	ck_assert_int_eq(proto_sandbox_state(&rep.sandboxes[0]), STATE_READY);
	proto_reply_fini(&rep);

	/* starting it again is refused, and changes nothing */
	id_op(OP_START, web, &rep);
	expect_err(&rep, CRADLE_FAILED_PRECONDITION, "is already started");
	proto_reply_fini(&rep);
	ck_assert_int_eq(kill(pid, 0), 0);
	ck_assert_int_eq(unit_count_children(), 1);

	/* list, with label and state filters */
	pod_request(&req, OP_CREATE, "db", "db");
	run_op(&req, &rep);
	expect_ok(&rep);
	memcpy(db, rep.id, sizeof(db));
	proto_reply_fini(&rep);
	list(NULL, -1, &rep);
	ck_assert_uint_eq(rep.n_sandboxes, 2);
	proto_reply_fini(&rep);
	list("web", -1, &rep);
	ck_assert_uint_eq(rep.n_sandboxes, 1);
	ck_assert_str_eq(rep.sandboxes[0].id, web);
	proto_reply_fini(&rep);
	list("db", -1, &rep);
	ck_assert_uint_eq(rep.n_sandboxes, 1);
	ck_assert_str_eq(rep.sandboxes[0].id, db);
	proto_reply_fini(&rep);
	list("db", STATE_READY, &rep);
	ck_assert_uint_eq(rep.n_sandboxes, 0);
	proto_reply_fini(&rep);
	list(NULL, STATE_READY, &rep);
	ck_assert_uint_eq(rep.n_sandboxes, 1);
	ck_assert_str_eq(rep.sandboxes[0].id, web);
	proto_reply_fini(&rep);
	list("nothing", -1, &rep);
	ck_assert_uint_eq(rep.n_sandboxes, 0);
	proto_reply_fini(&rep);

	/* an exited sandbox is not started again */
	id_op_ok(OP_STOP, web);
	id_op(OP_START, web, &rep);
	expect_err(&rep, CRADLE_FAILED_PRECONDITION, "has exited");
	proto_reply_fini(&rep);
	unit_assert_no_children();

	/* removal, of a created sandbox too */
	id_op_ok(OP_REMOVE, web);
	id_op_ok(OP_REMOVE, db);
	id_op(OP_STATUS, web, &rep);
	UNIT_FMT(want, "unable to find sandbox with id \"%s\"", web);
	expect_err(&rep, CRADLE_NOT_FOUND, want);
	proto_reply_fini(&rep);
	id_op(OP_START, db, &rep);
	expect_err(&rep, CRADLE_NOT_FOUND, "unable to find sandbox with id");
	proto_reply_fini(&rep);
}
END_TEST

START_TEST(test_ops_unknown_id)
{
	static const char unknown[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct proto_reply rep;
	char want[256];

	/* CRI: stop and remove of an unknown id succeed */
	id_op_ok(OP_STOP, unknown);
	id_op_ok(OP_REMOVE, unknown);
	id_op(OP_STATUS, unknown, &rep);
	UNIT_FMT(want, "unable to find sandbox with id \"%s\"", unknown);
	expect_err(&rep, CRADLE_NOT_FOUND, want);
	ck_assert_str_eq(rep.err.msg, want);
	ck_assert_uint_eq(rep.n_sandboxes, 0);
	proto_reply_fini(&rep);
	id_op(OP_START, unknown, &rep);
	expect_err(&rep, CRADLE_NOT_FOUND, want);
	proto_reply_fini(&rep);
}
END_TEST

/* A handler that is not configured: refused before anything is made. */
START_TEST(test_ops_unknown_runtime)
{
	struct proto_request req;
	struct proto_reply rep;

	pod_request(&req, OP_RUN, "web", NULL);
	req.runtime_handler = unit_strdup("kata");
	run_op(&req, &rep);
	expect_err(&rep, CRADLE_INVALID_ARGUMENT, "no runtime for \"kata\" is configured");
	proto_reply_fini(&rep);
}
END_TEST

static Suite *
start_suite(void)
{
	Suite *s = suite_create("start");
	TCase *tc;

	tc = unit_tcase(s, "steps", env_setup, env_teardown, 30,
	                UNIT_TESTS(test_unknown_fail_step));
	tcase_add_loop_test(tc, test_run_fail_step, 0, N_STEPS);
	tcase_add_loop_test(tc, test_start_fail_step, 0, N_STEPS);
	unit_tcase(s, "run", env_setup, env_teardown, 30,
	           UNIT_TESTS(test_run_stop_remove, test_exit_on_its_own));
	unit_tcase(s, "ops", env_setup, env_teardown, 30,
	           UNIT_TESTS(test_ops, test_ops_unknown_id, test_ops_unknown_runtime));
	return s;
}

/* After the run: whatever failed tests left of the run's cgroups (their
 * tasks were killed with their process groups and reaped by the runner;
 * a cgroup may stay busy a moment after that). */
static int
sweep_cgroups(void)
{
	char cg[64];
	int rc = -1;

	snprintf(cg, sizeof(cg), "/cradle-unit-%d", (int)runner_pid);
	for (int i = 0; i < 50 && rc != 0; i++) {
		if ((rc = unit_cgroup_rmtree(cg)) != 0 && errno == EBUSY)
			unit_sleep_ms(20);
		else if (rc != 0)
			break;
	}
	if (rc != 0 || unit_cgroups_at(cg) != 0) {
		fprintf(stderr, "test_start: cgroup %s left: %s\n", cg, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(void)
{
	runner_pid = getpid();
	return unit_run_with(start_suite(), "test_start", UNIT_SUBREAPER | UNIT_ROOT, NULL,
	                     sweep_cgroups);
}
