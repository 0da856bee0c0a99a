/* test_recovery.c - a sandbox record that cannot be read is quarantined,
 * never dropped while its pause runs on (server/recover.c,
 * core/records.c).
 *
 * The garbage is written into the store with LMDB itself while the
 * daemon is stopped.  The integration tests do not link liblmdb (the
 * Makefile links them with the client library only), so LMDB is loaded
 * with dlopen: the same library the daemon uses, through its own API.
 *
 * Needs root (namespaces, mounts, cgroups); CI runs as root.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

extern char **environ;

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* --- LMDB, loaded at run time ----------------------------------------- */

static struct {
	void *h;
	int (*env_create)(MDB_env **);
	int (*env_set_maxdbs)(MDB_env *, MDB_dbi);
	int (*env_open)(MDB_env *, const char *, unsigned, mdb_mode_t);
	void (*env_close)(MDB_env *);
	int (*txn_begin)(MDB_env *, MDB_txn *, unsigned, MDB_txn **);
	int (*txn_commit)(MDB_txn *);
	void (*txn_abort)(MDB_txn *);
	int (*dbi_open)(MDB_txn *, const char *, unsigned, MDB_dbi *);
	int (*put)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned);
	int (*get)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);
} L;

static void
lmdb_load(void)
{
	if (L.h != NULL)
		return;
	L.h = dlopen("liblmdb.so.0", RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(L.h != NULL, "dlopen liblmdb.so.0: %s", dlerror());
#define SYM(f, name) ck_assert_ptr_nonnull(*(void **)&L.f = dlsym(L.h, name))
	SYM(env_create, "mdb_env_create");
	SYM(env_set_maxdbs, "mdb_env_set_maxdbs");
	SYM(env_open, "mdb_env_open");
	SYM(env_close, "mdb_env_close");
	SYM(txn_begin, "mdb_txn_begin");
	SYM(txn_commit, "mdb_txn_commit");
	SYM(txn_abort, "mdb_txn_abort");
	SYM(dbi_open, "mdb_dbi_open");
	SYM(put, "mdb_put");
	SYM(get, "mdb_get");
#undef SYM
}

static MDB_env *
env_open(const struct it_daemon *d)
{
	char path[400];
	MDB_env *env;

	lmdb_load();
	snprintf(path, sizeof(path), "%s/cradle.mdb", d->root);
	ck_assert_int_eq(L.env_create(&env), 0);
	ck_assert_int_eq(L.env_set_maxdbs(env, 32), 0);
	/* the map size of the existing file */
	ck_assert_int_eq(L.env_open(env, path, MDB_NOTLS, 0600), 0);
	return env;
}

/* Put raw bytes under key in database db (the daemon is stopped). */
static void
raw_put(const struct it_daemon *d, const char *db, const char *key, const void *v, size_t len)
{
	MDB_env *env = env_open(d);
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(key), (void *)key }, val = { len, (void *)v };

	ck_assert_int_eq(L.txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(L.dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	ck_assert_int_eq(L.put(txn, dbi, &k, &val, 0), 0);
	ck_assert_int_eq(L.txn_commit(txn), 0);
	L.env_close(env);
}

/* The value of key in db copied to buf (NUL-terminated, *len bytes), or
 * false when absent.  LMDB is safe for a second process while the daemon
 * runs. */
static bool
raw_get(const struct it_daemon *d, const char *db, const char *key, char *buf, size_t cap,
        size_t *len)
{
	MDB_env *env = env_open(d);
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(key), (void *)key }, val;
	bool found = false;

	ck_assert_int_eq(L.txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	int rc = L.dbi_open(txn, db, 0, &dbi);
	if (rc == 0 && L.get(txn, dbi, &k, &val) == 0) {
		ck_assert_uint_lt(val.mv_size, cap);
		memcpy(buf, val.mv_data, val.mv_size);
		buf[val.mv_size] = '\0';
		*len = val.mv_size;
		found = true;
	} else {
		ck_assert(rc == 0 || rc == MDB_NOTFOUND);
	}
	L.txn_abort(txn);
	L.env_close(env);
	return found;
}

/* --- the daemon with --drop-quarantined --------------------------------- */

/* Restart with --drop-quarantined. */
static void
restart_dropping(struct it_daemon *d)
{
	it_restart_with_arg(d, NULL, "--drop-quarantined");
}

/* --- tests ----------------------------------------------------------- */

/* daemon.stats' count of quarantined records. */
static uint64_t
stats_quarantined(const struct it_daemon *d)
{
	struct cradle_stats *st;
	struct cradle_error err;

	ck_assert_msg(cradle_daemon_stats(d->conn, &st, &err) == 0, "%s", err.message);
	uint64_t n = cradle_stats_quarantined(st);
	cradle_stats_free(st);
	return n;
}

static int32_t
run_pod(struct cradle_conn *c, const char *name, char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	struct cradle_pod *pod = it_pod(name, name);
	struct cradle_error err = { 0 };
	int32_t pid = 0;

	int r = cradle_sandbox_run(c, pod, NULL, id, &pid, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run %s: %s: %s", name, cradle_status_name(err.code), err.message);
	ck_assert_int_gt(pid, 0);
	return pid;
}

static bool
exists(const char *fmt, const char *a, const char *b)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof(p), fmt, a, b);
	return lstat(p, &st) == 0;
}

/* What a running sandbox owns on the node, all there (or all gone). */
static void
assert_owned(const struct it_daemon *d, const char *id, pid_t pid, int cgroups, bool there)
{
	ck_assert_int_eq(it_proc_alive(pid), there);
	ck_assert_int_eq(exists("%s/sandboxes/%s", d->root, id), there);
	ck_assert_int_eq(exists("%s/sandboxes/%s", d->state, id), there);
	ck_assert_int_eq(exists("%s/netns/%s", d->state, id), there);
	ck_assert_int_eq(it_count_cgroups(), cgroups);
}

static const unsigned char garbage[] = { 0xc1, 0xde, 0xad, 0x00, 0xbe, 0xef, 0x92, 0x01 };

START_TEST(test_unreadable_record_is_quarantined)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], good[CRADLE_SANDBOX_ID_LEN + 1];
	char buf[4096], want[200];
	struct cradle_sandbox *s;
	struct cradle_error err;
	size_t len;

	it_start(&D, NULL);
	pid_t pid = run_pod(D.conn, "corrupted", id);
	pid_t good_pid = run_pod(D.conn, "healthy", good);
	int cgroups = it_count_cgroups();
	ck_assert_int_ge(cgroups, 2);
	ck_assert_int_eq(it_stop(&D), 0);

	/* the record of a running sandbox turns to garbage while the
	 * daemon is down */
	raw_put(&D, "sandboxes", id, garbage, sizeof(garbage));

	it_restart(&D, NULL);
	/* it serves; the healthy sandbox is adopted */
	ck_assert_msg(cradle_sandbox_status(D.conn, good, &s, &err) == 0, "%s", err.message);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	ck_assert_int_eq(cradle_sandbox_pid(s), good_pid);
	cradle_sandbox_free(s);
	/* the corrupt one is not in the table... */
	ck_assert_int_lt(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	/* ...and the log says so, naming it and the cause */
	snprintf(want, sizeof(want), "quarantined the unreadable record of sandbox %s", id);
	ck_assert_msg(it_log_contains(&D, want), "log names the id");
	ck_assert(it_log_contains(&D, "corrupt record for sandbox"));
	ck_assert(it_log_contains(&D, "1 quarantined records"));
	ck_assert_uint_eq(stats_quarantined(&D), 1);
	/* the quarantine holds its bytes and the reason; "sandboxes" does
	 * not hold it any more */
	ck_assert(raw_get(&D, "quarantine", id, buf, sizeof(buf), &len));
	ck_assert_msg(strncmp(buf, "cradle-quarantine 1\nat ", 23) == 0, "%s", buf);
	ck_assert(strstr(buf, "\nreason ") != NULL);
	ck_assert_uint_gt(len, sizeof(garbage));
	ck_assert_mem_eq(buf + len - sizeof(garbage), garbage, sizeof(garbage));
	ck_assert(!raw_get(&D, "sandboxes", id, buf, sizeof(buf), &len));
	/* everything it owns is left as it was: task, dirs, pin, cgroup */
	assert_owned(&D, id, pid, cgroups, true);

	/* and at every later start-up too */
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	assert_owned(&D, id, pid, cgroups, true);
	ck_assert(raw_get(&D, "quarantine", id, buf, sizeof(buf), &len));

	/* the operator's way out: the healthy one goes as usual; dropping
	 * the quarantined record makes what it left a leftover, removed */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, good, &err), 0);
	ck_assert_int_eq(it_stop(&D), 0);
	restart_dropping(&D);
	ck_assert(it_log_contains(&D, "dropped 1 quarantined record"));
	ck_assert_uint_eq(stats_quarantined(&D), 0);
	ck_assert(!raw_get(&D, "quarantine", id, buf, sizeof(buf), &len));
	for (int i = 0; i < it_ms(2000) / 10 && it_proc_alive(pid); i++)
		it_sleep_ms(10);
	assert_owned(&D, id, pid, 0, false);
}
END_TEST

/* The pod's netns pin as seen inside cradle's namespace (it_in_mntns):
 * exit 0 when arg (its path) has a namespace file mounted on it there. */
static int
pin_mounted(void *arg)
{
	struct it_mount m;

	return it_mount_at(0, arg, &m) && strcmp(m.fstype, "nsfs") == 0 ? 0 : 1;
}

/* A start-up that fails before recovery (here: a store that will not
 * open) must not take cradle's mount namespace away from pods that still
 * run: their netns pins and shm mounts live in it, and its table, empty
 * before recovery, says nothing about them.  With the store back, the
 * next start-up adopts the pod as it was. */
START_TEST(test_failed_startup_keeps_the_pods_namespace)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], data[400], saved[420], pin[400], netns[600];
	char bin[512], archive[512];
	struct cradle_sandbox *s;
	struct cradle_error err;
	struct it_mount m;
	int st;

	it_start(&D, NULL);
	pid_t pid = run_pod(D.conn, "survivor", id);
	int cgroups = it_count_cgroups();
	ck_assert_int_eq(it_stop(&D), 0);

	/* the store turns to garbage while the daemon is down */
	snprintf(data, sizeof(data), "%s/cradle.mdb/data.mdb", D.root);
	snprintf(saved, sizeof(saved), "%s.saved", data);
	ck_assert_int_eq(rename(data, saved), 0);
	FILE *f = fopen(data, "we");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 4096; i++)
		fputc(0xa5, f);
	fclose(f);

	snprintf(bin, sizeof(bin), "%s", it_bin("cradled"));
	snprintf(archive, sizeof(archive), "%s", it_bin("pause.oci.tar"));
	char *argv[] = { bin, "--root",          D.root,  "--state",  D.state,  "--workers",
		         "8", "--image-archive", archive, "--config", D.config, NULL };
	pid_t dpid;
	ck_assert_int_eq(posix_spawn(&dpid, bin, NULL, NULL, argv, environ), 0);
	ck_assert_int_eq(waitpid(dpid, &st, 0), dpid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "cradled: status %d", st);

	/* the namespace is still pinned, the pod's pin still in it */
	snprintf(pin, sizeof(pin), "%s/ns/mnt", D.state);
	ck_assert_msg(it_mount_at(0, pin, &m), "cradle's namespace was unpinned");
	snprintf(netns, sizeof(netns), "%s/netns/%s", D.state, id);
	ck_assert_int_eq(it_in_mntns(pin, pin_mounted, netns), 0);
	ck_assert(it_proc_alive(pid));

	/* the store back: the pod is adopted, then removed as usual */
	ck_assert_int_eq(rename(saved, data), 0);
	it_restart(&D, NULL);
	ck_assert_msg(cradle_sandbox_status(D.conn, id, &s, &err) == 0, "%s", err.message);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	ck_assert_int_eq(cradle_sandbox_pid(s), pid);
	cradle_sandbox_free(s);
	assert_owned(&D, id, pid, cgroups, true);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_owned(&D, id, pid, 0, false);
}
END_TEST

/* Records of an earlier boot name no running task, whatever their pid and
 * start time match now: recovery adopts none of them.  (The test's pause
 * does run on; a real reboot leaves none, so the test kills it itself.) */
START_TEST(test_records_of_an_earlier_boot_are_not_adopted)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[600], boot[64] = "";
	struct cradle_sandbox *s;
	struct cradle_error err;

	it_start(&D, NULL);
	pid_t pid = run_pod(D.conn, "rebooted", id);
	snprintf(path, sizeof(path), "%s/boot_id", D.root);
	FILE *f = fopen(path, "re");
	ck_assert_msg(f != NULL, "%s: written at start-up", path);
	ck_assert_ptr_nonnull(fgets(boot, sizeof(boot), f));
	fclose(f);
	ck_assert_int_eq(it_stop(&D), 0);

	/* a restart in the same boot adopts it */
	it_restart(&D, NULL);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	cradle_sandbox_free(s);
	ck_assert_int_eq(it_stop(&D), 0);

	/* as if the machine had booted since */
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("00000000-0000-4000-8000-000000000000\n", f);
	fclose(f);
	it_restart(&D, NULL);
	ck_assert(it_log_contains(&D, "from an earlier boot"));
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	ck_assert_int_eq(cradle_sandbox_pid(s), 0);
	cradle_sandbox_free(s);
	/* and this boot's id is what it keeps now */
	f = fopen(path, "re");
	char now[64] = "";
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(now, sizeof(now), f));
	fclose(f);
	ck_assert_str_eq(now, boot);

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	for (int i = 0; i < it_ms(2000) / 10 && it_proc_alive(pid); i++)
		it_sleep_ms(10);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* A record under a key that is no sandbox id, and a record filed under
 * another id: both quarantined, the daemon starts. */
START_TEST(test_misfiled_records_are_quarantined)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], buf[4096], other[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;
	size_t len;

	it_start(&D, NULL);
	struct cradle_pod *pod = it_pod("created", NULL);
	ck_assert_msg(cradle_sandbox_create(D.conn, pod, NULL, id, &err) == 0, "%s", err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(it_stop(&D), 0);
	/* copy the created record under another id */
	ck_assert(raw_get(&D, "sandboxes", id, buf, sizeof(buf), &len));
	memset(other, 'e', CRADLE_SANDBOX_ID_LEN);
	other[CRADLE_SANDBOX_ID_LEN] = '\0';
	raw_put(&D, "sandboxes", other, buf, len);
	raw_put(&D, "sandboxes", "not-an-id", garbage, sizeof(garbage));

	it_restart(&D, NULL);
	ck_assert(it_log_contains(&D, "2 quarantined records"));
	ck_assert_uint_eq(stats_quarantined(&D), 2);
	ck_assert(raw_get(&D, "quarantine", other, buf, sizeof(buf), &len));
	ck_assert(strstr(buf, "it holds id") != NULL);
	ck_assert(raw_get(&D, "quarantine", "not-an-id", buf, sizeof(buf), &len));
	ck_assert(strstr(buf, "is not a sandbox id") != NULL);
	/* the good record is served as before */
	struct cradle_sandbox *s;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(it_stop(&D), 0);
	restart_dropping(&D);
	ck_assert(it_log_contains(&D, "dropped 2 quarantined records"));
	ck_assert(!raw_get(&D, "quarantine", other, buf, sizeof(buf), &len));
}
END_TEST

static Suite *
recovery_suite(void)
{
	Suite *s = suite_create("recovery");
	TCase *tc = tcase_create("quarantine");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_unreadable_record_is_quarantined);
	tcase_add_test(tc, test_misfiled_records_are_quarantined);
	tcase_add_test(tc, test_records_of_an_earlier_boot_are_not_adopted);
	tcase_add_test(tc, test_failed_startup_keeps_the_pods_namespace);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr,
		        "test_recovery: needs root (namespaces, mounts); CI runs as root\n");
		return 1;
	}
	return it_run_suite(recovery_suite());
}
