/* test_records.c - sandbox records on the store (core/records.c; the
 * store itself is tests/unit/util/test_store.c's).
 *
 * put/get/del, overwrite, walk order and content, reopening the same
 * directory, absent ids, a corrupt record skipped and reported, writes from
 * a walk callback and from several threads.  Each test works in its own
 * scratch directory (tests/unit/lib).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/records.h"
#include "util/store.h"
#include "tests/unit/lib/unit.h"

/* The store's directory in the test's own (tests/unit/lib): two levels
 * that do not exist yet, store_open makes them. */
static char root[PATH_MAX];

static void
setup(void)
{
	unit_scratch_setup();
	unit_path(root, sizeof(root), "state/root");
}

/* --- records ------------------------------------------------------------ */

static void
make_id(char id[CRADLE_ID_LEN + 1], unsigned long n)
{
	snprintf(id, CRADLE_ID_LEN + 1, "%064lx", n);
}

/* A record with every field set (variant n changes the values). */
static void
full_rec(struct proto_sandbox *s, unsigned long n)
{
	struct pod_config *c = &s->config;
	char buf[128];

	memset(s, 0, sizeof(*s));
	pod_config_init(c);
	make_id(s->id, n);
	snprintf(buf, sizeof(buf), "web-%lu", n);
	c->metadata.name = unit_strdup(buf);
	c->metadata.namespace = unit_strdup("default");
	snprintf(buf, sizeof(buf), "6b1c1a3e-7f00-4c2d-9a11-%012lu", n);
	c->metadata.uid = unit_strdup(buf);
	c->metadata.attempt = (uint32_t)(n % 7);
	c->hostname = unit_strdup("web-0.example");
	c->log_directory = unit_strdup("/var/log/pods/default_web");
	c->has_dns_config = true;
	ck_assert_int_eq(proto_strs_add(&c->dns_config.servers, "10.96.0.10"), 0);
	ck_assert_int_eq(proto_strs_add(&c->dns_config.servers, "8.8.8.8"), 0);
	ck_assert_int_eq(proto_strs_add(&c->dns_config.searches, "default.svc.cluster.local"), 0);
	ck_assert_int_eq(proto_strs_add(&c->dns_config.options, "ndots:5"), 0);
	ck_assert_int_eq(proto_kvs_add(&c->labels, "app", "web"), 0);
	ck_assert_int_eq(proto_kvs_add(&c->labels, "tier", "front"), 0);
	ck_assert_int_eq(proto_kvs_add(&c->annotations, "example.com/owner", "team \"blue\" ✓"), 0);
	c->linux.cgroup_parent = unit_strdup("/kubepods/burstable/pod-web");
	ck_assert_int_eq(
		proto_kvs_add(&c->linux.sysctls, "net.ipv4.ip_unprivileged_port_start", "0"), 0);
	c->linux.security_context.namespace_options.network = NS_POD;
	c->linux.security_context.namespace_options.pid = NS_CONTAINER;
	c->linux.security_context.namespace_options.ipc = NS_NODE;
	c->linux.security_context.privileged = (n % 2) == 1;
	s->runtime_handler = unit_strdup("runc");
	s->phase = PHASE_EXITED;
	s->created_at = 1700000000123456789LL + (int64_t)n;
	s->started_at = 1700000001000000000LL + (int64_t)n;
	s->pid = 40000 + (int32_t)n;
	s->pid_start_time = 9876543210ULL + n;
	s->exit_status = 137;
	s->exited_at = 1700000002000000000LL + (int64_t)n;
	snprintf(buf, sizeof(buf), "/run/cradle/netns/%s", s->id);
	s->netns_path = unit_strdup(buf);
}

/* A record with only what is required (NULL optional strings). */
static void
min_rec(struct proto_sandbox *s, unsigned long n)
{
	char buf[64];

	memset(s, 0, sizeof(*s));
	pod_config_init(&s->config);
	make_id(s->id, n);
	snprintf(buf, sizeof(buf), "min-%lu", n);
	s->config.metadata.name = unit_strdup(buf);
	s->config.metadata.namespace = unit_strdup("kube-system");
	s->config.metadata.uid = unit_strdup("u");
	s->phase = PHASE_CREATED;
	s->created_at = 1;
}

static void
assert_str_same(const char *a, const char *b, const char *what)
{
	if (a == NULL || b == NULL) {
		ck_assert_msg(a == b, "%s: %s vs %s", what, a ? a : "(null)", b ? b : "(null)");
		return;
	}
	ck_assert_msg(strcmp(a, b) == 0, "%s: \"%s\" vs \"%s\"", what, a, b);
}

static void
assert_strs_same(const struct proto_strs *a, const struct proto_strs *b, const char *what)
{
	size_t i;

	ck_assert_msg(a->n == b->n, "%s: %zu vs %zu entries", what, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_str_same(a->v[i], b->v[i], what);
	}
}

/* maps: same pairs, in any order */
static void
assert_kvs_same(const struct proto_kvs *a, const struct proto_kvs *b, const char *what)
{
	size_t i;

	ck_assert_msg(a->n == b->n, "%s: %zu vs %zu entries", what, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_str_same(proto_kvs_get(b, a->v[i].key), a->v[i].value, what);
	}
}

static void
assert_rec_same(const struct proto_sandbox *a, const struct proto_sandbox *b)
{
	const struct pod_config *x = &a->config, *y = &b->config;

	ck_assert_str_eq(a->id, b->id);
	assert_str_same(x->metadata.name, y->metadata.name, "metadata.name");
	assert_str_same(x->metadata.uid, y->metadata.uid, "metadata.uid");
	assert_str_same(x->metadata.namespace, y->metadata.namespace, "metadata.namespace");
	ck_assert_uint_eq(x->metadata.attempt, y->metadata.attempt);
	assert_str_same(x->hostname, y->hostname, "hostname");
	assert_str_same(x->log_directory, y->log_directory, "log_directory");
	ck_assert_int_eq(x->has_dns_config, y->has_dns_config);
	assert_strs_same(&x->dns_config.servers, &y->dns_config.servers, "dns_config.servers");
	assert_strs_same(&x->dns_config.searches, &y->dns_config.searches, "dns_config.searches");
	assert_strs_same(&x->dns_config.options, &y->dns_config.options, "dns_config.options");
	assert_kvs_same(&x->labels, &y->labels, "labels");
	assert_kvs_same(&x->annotations, &y->annotations, "annotations");
	assert_str_same(x->linux.cgroup_parent, y->linux.cgroup_parent, "linux.cgroup_parent");
	assert_kvs_same(&x->linux.sysctls, &y->linux.sysctls, "linux.sysctls");
	ck_assert_int_eq(x->linux.security_context.namespace_options.network,
	                 y->linux.security_context.namespace_options.network);
	ck_assert_int_eq(x->linux.security_context.namespace_options.pid,
	                 y->linux.security_context.namespace_options.pid);
	ck_assert_int_eq(x->linux.security_context.namespace_options.ipc,
	                 y->linux.security_context.namespace_options.ipc);
	assert_str_same(x->linux.security_context.namespace_options.target_id,
	                y->linux.security_context.namespace_options.target_id, "target_id");
	ck_assert_int_eq(x->linux.security_context.privileged,
	                 y->linux.security_context.privileged);
	assert_str_same(a->runtime_handler, b->runtime_handler, "runtime_handler");
	ck_assert_int_eq(a->phase, b->phase);
	ck_assert_int_eq(a->created_at, b->created_at);
	ck_assert_int_eq(a->started_at, b->started_at);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_uint_eq(a->pid_start_time, b->pid_start_time);
	ck_assert_int_eq(a->exit_status, b->exit_status);
	ck_assert_int_eq(a->exited_at, b->exited_at);
	assert_str_same(a->netns_path, b->netns_path, "netns_path");
}

static struct store *
open_ok(const char *dir)
{
	struct cradle_err err = { 0, "" };
	struct store *st = NULL;
	int rc = store_open(dir, &st, &err);

	ck_assert_msg(rc == 0, "store_open %s: %d %s", dir, rc, err.msg);
	ck_assert_ptr_nonnull(st);
	return (st);
}

static void
put_ok(struct store *st, const struct proto_sandbox *s)
{
	struct cradle_err err = { 0, "" };
	int rc = records_put(st, s, &err);

	ck_assert_msg(rc == 0, "put %s: %d %s", s->id, rc, err.msg);
	ck_assert_int_eq(err.code, 0);
}

/* --- tests -------------------------------------------------------------- */

START_TEST(test_put_get_del)
{
	struct cradle_err err = { 0, "" };
	struct proto_sandbox a, b, got;
	struct store *st;
	char want[CRADLE_ERR_MSG_MAX];

	st = open_ok(root);
	full_rec(&a, 1);
	min_rec(&b, 2);
	put_ok(st, &a);
	put_ok(st, &b);

	ck_assert_int_eq(records_get(st, a.id, &got, &err), 0);
	assert_rec_same(&a, &got);
	proto_sandbox_fini(&got);
	ck_assert_int_eq(records_get(st, b.id, &got, &err), 0);
	assert_rec_same(&b, &got);
	proto_sandbox_fini(&got);
	ck_assert_int_eq(err.code, 0);

	ck_assert_int_eq(records_del(st, a.id, &err), 0);
	ck_assert_int_eq(records_get(st, a.id, &got, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, a.id) != NULL, "names the id: %s", err.msg);
	/* a failed get leaves nothing to free, and fini is safe */
	ck_assert_ptr_null(got.config.metadata.name);
	proto_sandbox_fini(&got);
	/* b is untouched */
	ck_assert_int_eq(records_get(st, b.id, &got, &err), 0);
	proto_sandbox_fini(&got);

	/* deleting an absent id succeeds and leaves err alone */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(records_del(st, a.id, &err), 0);
	ck_assert_int_eq(err.code, 0);
	make_id(want, 999);
	ck_assert_int_eq(records_del(st, want, &err), 0);
	ck_assert_int_eq(records_get(st, want, &got, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);

	/* ids that are not ids never reach the database */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(records_get(st, "../x", &got, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_int_eq(records_del(st, "ABC", &err), -EINVAL);
	snprintf(a.id, sizeof(a.id), "%s", "short");
	ck_assert_int_eq(records_put(st, &a, &err), -EINVAL);

	proto_sandbox_fini(&a);
	proto_sandbox_fini(&b);
	store_close(st);
}
END_TEST

START_TEST(test_overwrite)
{
	struct cradle_err err;
	struct proto_sandbox a, got;
	struct store *st;

	st = open_ok(root);
	full_rec(&a, 3);
	a.phase = PHASE_CREATED;
	a.pid = 0;
	put_ok(st, &a);
	a.phase = PHASE_RUNNING;
	a.pid = 31337;
	free(a.netns_path);
	a.netns_path = NULL;
	put_ok(st, &a);
	ck_assert_int_eq(records_get(st, a.id, &got, &err), 0);
	ck_assert_int_eq(got.phase, PHASE_RUNNING);
	ck_assert_int_eq(got.pid, 31337);
	ck_assert_ptr_null(got.netns_path);
	assert_rec_same(&a, &got);
	proto_sandbox_fini(&got);
	proto_sandbox_fini(&a);
	store_close(st);
}
END_TEST

/* --- walks --------------------------------------------------------------- */

#define WALK_MAX 32

struct walk {
	struct proto_sandbox got[WALK_MAX];
	size_t n;
	int stop_after; /* return -ECANCELED after this many */
	char bad_ids[4][CRADLE_ID_LEN + 8];
	struct cradle_err bad_err[4];
	size_t nbad;
	struct store *st; /* when set, write from the callback */
};

/* Keeps a deep copy of every record, and steals runtime_handler to show
 * the walk tolerates a callback that takes ownership. */
static int
walk_fn(struct proto_sandbox *s, void *arg)
{
	struct walk *w = arg;
	struct cradle_err err;
	char *stolen;

	ck_assert_uint_lt(w->n, WALK_MAX);
	ck_assert_int_eq(proto_sandbox_copy(&w->got[w->n], s), 0);
	stolen = s->runtime_handler;
	s->runtime_handler = NULL;
	free(stolen);
	w->n++;
	if (w->st != NULL) {
		/* recovery's pattern: rewrite the record during the walk */
		s->phase = PHASE_EXITED;
		ck_assert_int_eq(records_put(w->st, s, &err), 0);
	}
	if (w->stop_after > 0 && (int)w->n == w->stop_after) {
		return (-ECANCELED);
	}
	return (0);
}

static void
walk_bad(const char *id, const void *data, size_t len, const struct cradle_err *e, void *arg)
{
	struct walk *w = arg;

	/* the raw bytes come along, for the quarantine */
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_gt(len, 0);

	ck_assert_uint_lt(w->nbad, 4);
	snprintf(w->bad_ids[w->nbad], sizeof(w->bad_ids[0]), "%s", id);
	w->bad_err[w->nbad] = *e;
	w->nbad++;
}

static void
walk_fini(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		proto_sandbox_fini(&w->got[i]);
	}
}

START_TEST(test_foreach_order)
{
	/* written out of order; walked in id order */
	static const unsigned long order[] = { 50, 7, 3000, 1, 260, 9 };
	static const unsigned long sorted[] = { 1, 7, 9, 50, 260, 3000 };
	struct proto_sandbox recs[6];
	struct cradle_err err = { 0, "" };
	struct store *st;
	struct walk *w;
	size_t i, k;

	st = open_ok(root);

	/* empty store: no calls */
	w = calloc(1, sizeof(*w));
	ck_assert_int_eq(records_foreach(st, walk_fn, walk_bad, w, &err), 0);
	ck_assert_uint_eq(w->n, 0);

	for (i = 0; i < 6; i++) {
		if (i % 2 == 0) {
			full_rec(&recs[i], order[i]);
		} else {
			min_rec(&recs[i], order[i]);
		}
		put_ok(st, &recs[i]);
	}
	ck_assert_int_eq(records_foreach(st, walk_fn, walk_bad, w, &err), 0);
	ck_assert_uint_eq(w->n, 6);
	ck_assert_uint_eq(w->nbad, 0);
	for (i = 0; i < 6; i++) {
		char id[CRADLE_ID_LEN + 1];

		make_id(id, sorted[i]);
		ck_assert_str_eq(w->got[i].id, id);
		for (k = 0; k < 6; k++) {
			if (order[k] == sorted[i]) {
				assert_rec_same(&recs[k], &w->got[i]);
			}
		}
	}
	walk_fini(w);

	/* fn < 0 stops the walk and is returned */
	memset(w, 0, sizeof(*w));
	w->stop_after = 2;
	ck_assert_int_eq(records_foreach(st, walk_fn, NULL, w, &err), -ECANCELED);
	ck_assert_uint_eq(w->n, 2);
	walk_fini(w);

	for (i = 0; i < 6; i++) {
		proto_sandbox_fini(&recs[i]);
	}
	free(w);
	store_close(st);
}
END_TEST

START_TEST(test_foreach_writes)
{
	struct proto_sandbox r, got;
	struct cradle_err err;
	struct store *st;
	struct walk *w;
	unsigned long i;

	st = open_ok(root);
	for (i = 1; i <= 5; i++) {
		min_rec(&r, i);
		r.phase = PHASE_RUNNING;
		put_ok(st, &r);
		proto_sandbox_fini(&r);
	}
	w = calloc(1, sizeof(*w));
	w->st = st;
	ck_assert_int_eq(records_foreach(st, walk_fn, NULL, w, &err), 0);
	ck_assert_uint_eq(w->n, 5);
	walk_fini(w);
	free(w);
	for (i = 1; i <= 5; i++) {
		char id[CRADLE_ID_LEN + 1];

		make_id(id, i);
		ck_assert_int_eq(records_get(st, id, &got, &err), 0);
		ck_assert_int_eq(got.phase, PHASE_EXITED);
		proto_sandbox_fini(&got);
	}
	store_close(st);
}
END_TEST

START_TEST(test_reopen)
{
	struct proto_sandbox recs[4], got;
	struct cradle_err err;
	struct store *st;
	struct walk *w;
	size_t i;

	st = open_ok(root);
	for (i = 0; i < 4; i++) {
		if (i == 2) {
			min_rec(&recs[i], 100 + i);
		} else {
			full_rec(&recs[i], 100 + i);
		}
		put_ok(st, &recs[i]);
	}
	ck_assert_int_eq(records_del(st, recs[3].id, &err), 0);
	store_close(st);

	st = open_ok(root);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(records_get(st, recs[i].id, &got, &err), 0);
		assert_rec_same(&recs[i], &got);
		proto_sandbox_fini(&got);
	}
	ck_assert_int_eq(records_get(st, recs[3].id, &got, &err), -ENOENT);
	w = calloc(1, sizeof(*w));
	ck_assert_int_eq(records_foreach(st, walk_fn, walk_bad, w, &err), 0);
	ck_assert_uint_eq(w->n, 3);
	for (i = 0; i < 3; i++) {
		assert_rec_same(&recs[i], &w->got[i]);
	}
	walk_fini(w);
	free(w);
	for (i = 0; i < 4; i++) {
		proto_sandbox_fini(&recs[i]);
	}
	store_close(st);
}
END_TEST

/* Write raw bytes under a raw key with plain LMDB, behind the store's
 * back.  The store must be closed: one process must not open an
 * environment twice. */
static void
raw_put(const char *dir, const void *k, size_t klen, const void *v, size_t vlen)
{
	char path[PATH_MAX + 16];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };

	UNIT_FMT(path, "%s/cradle.mdb", dir);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
	ck_assert_int_eq(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
	ck_assert_int_eq(mdb_env_open(env, path, MDB_NOTLS, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "sandboxes", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &key, &val, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(test_corrupt_record)
{
	static const unsigned char garbage[] = {
		0xc1, 0xff, 0x00, 0x13, 0x37, 'n', 'o', 't', 0x92, 0xdd,
	};
	struct proto_sandbox good[2], got, other;
	struct cradle_err err;
	char bad_id[CRADLE_ID_LEN + 1], swapped_id[CRADLE_ID_LEN + 1];
	msgpack_sbuffer sbuf;
	struct store *st;
	struct walk *w;

	st = open_ok(root);
	full_rec(&good[0], 1);
	full_rec(&good[1], 3);
	put_ok(st, &good[0]);
	put_ok(st, &good[1]);
	store_close(st);

	/* garbage bytes under a valid id */
	make_id(bad_id, 2);
	raw_put(root, bad_id, CRADLE_ID_LEN, garbage, sizeof(garbage));
	/* a well-formed record filed under another id */
	make_id(swapped_id, 4);
	min_rec(&other, 5);
	msgpack_sbuffer_init(&sbuf);
	ck_assert_int_eq(proto_sandbox_encode(&sbuf, &other, &err), 0);
	raw_put(root, swapped_id, CRADLE_ID_LEN, sbuf.data, sbuf.size);
	/* a key that is no id at all */
	raw_put(root, "zzz", 3, sbuf.data, sbuf.size);
	msgpack_sbuffer_destroy(&sbuf);
	proto_sandbox_fini(&other);

	st = open_ok(root);
	w = calloc(1, sizeof(*w));
	ck_assert_int_eq(records_foreach(st, walk_fn, walk_bad, w, &err), 0);
	/* the good ones are delivered, in order, around the bad ones */
	ck_assert_uint_eq(w->n, 2);
	assert_rec_same(&good[0], &w->got[0]);
	assert_rec_same(&good[1], &w->got[1]);
	ck_assert_uint_eq(w->nbad, 3);
	ck_assert_str_eq(w->bad_ids[0], bad_id);
	ck_assert_str_eq(w->bad_ids[1], swapped_id);
	ck_assert_str_eq(w->bad_ids[2], "zzz");
	ck_assert_int_eq(w->bad_err[0].code, CRADLE_INTERNAL);
	ck_assert_msg(strstr(w->bad_err[0].msg, bad_id) != NULL,
	              "names the "
	              "id: %s",
	              w->bad_err[0].msg);
	ck_assert_int_eq(w->bad_err[1].code, CRADLE_INTERNAL);
	ck_assert_msg(strstr(w->bad_err[1].msg, swapped_id) != NULL, "names the id: %s",
	              w->bad_err[1].msg);
	ck_assert_int_eq(w->bad_err[2].code, CRADLE_INTERNAL);
	walk_fini(w);

	/* without a bad callback they are skipped silently */
	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(records_foreach(st, walk_fn, NULL, w, &err), 0);
	ck_assert_uint_eq(w->n, 2);
	walk_fini(w);
	free(w);

	/* a direct read of the corrupt record fails cleanly */
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(records_get(st, bad_id, &got, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	ck_assert_msg(strstr(err.msg, bad_id) != NULL, "names the id: %s", err.msg);
	ck_assert_int_lt(records_get(st, swapped_id, &got, &err), 0);
	/* and it can be deleted */
	ck_assert_int_eq(records_del(st, bad_id, &err), 0);
	ck_assert_int_eq(records_get(st, bad_id, &got, &err), -ENOENT);

	proto_sandbox_fini(&good[0]);
	proto_sandbox_fini(&good[1]);
	store_close(st);
}
END_TEST

/* --- quarantine ---------------------------------------------------------- */

#define Q_MAX 8

struct qseen {
	char keys[Q_MAX][CRADLE_ID_LEN + 8];
	char reasons[Q_MAX][CRADLE_ERR_MSG_MAX];
	unsigned char records[Q_MAX][64];
	size_t lens[Q_MAX];
	int64_t at[Q_MAX];
	size_t n;
};

static int
q_seen(const struct records_quarantined *q, void *arg)
{
	struct qseen *s = arg;

	ck_assert_uint_lt(s->n, Q_MAX);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", q->key);
	snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s", q->reason);
	ck_assert_uint_le(q->len, sizeof(s->records[0]));
	memcpy(s->records[s->n], q->record, q->len);
	s->lens[s->n] = q->len;
	s->at[s->n] = q->at;
	s->n++;
	return (0);
}

/* Moving unreadable records aside: the raw bytes and the reason are kept
 * under the same key, the record leaves "sandboxes", good records stay;
 * dropping empties the quarantine. */
START_TEST(test_quarantine)
{
	static const unsigned char garbage[] = { 0xc1, 0xff, 0x00, 0x13, 0x37, '\n', 0x92 };
	struct proto_sandbox good, got;
	struct cradle_err err;
	char bad_id[CRADLE_ID_LEN + 1];
	struct qseen seen;
	struct store *st;
	struct walk *w;

	st = open_ok(root);
	full_rec(&good, 1);
	put_ok(st, &good);
	store_close(st);
	make_id(bad_id, 2);
	raw_put(root, bad_id, CRADLE_ID_LEN, garbage, sizeof(garbage));
	raw_put(root, "zzz", 3, "x", 1);

	st = open_ok(root);
	/* an empty quarantine */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(records_quarantined_foreach(st, q_seen, &seen, &err), 0);
	ck_assert_uint_eq(seen.n, 0);

	w = calloc(1, sizeof(*w));
	ck_assert_int_eq(records_foreach(st, walk_fn, walk_bad, w, &err), 0);
	ck_assert_uint_eq(w->nbad, 2);
	ck_assert_int_eq(records_quarantine(st, bad_id, garbage, sizeof(garbage),
	                                    "corrupt record:\nbad bytes", &err),
	                 0);
	ck_assert_int_eq(records_quarantine(st, "zzz", "x", 1, w->bad_err[1].msg, &err), 0);
	walk_fini(w);

	/* gone from "sandboxes", the good one stays */
	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(records_foreach(st, walk_fn, walk_bad, w, &err), 0);
	ck_assert_uint_eq(w->n, 1);
	ck_assert_uint_eq(w->nbad, 0);
	walk_fini(w);
	free(w);
	ck_assert_int_eq(records_get(st, bad_id, &got, &err), -ENOENT);
	ck_assert_int_eq(records_get(st, good.id, &got, &err), 0);
	proto_sandbox_fini(&got);

	/* and in the quarantine, bytes, reason (one line) and time kept,
	 * across a reopen */
	store_close(st);
	st = open_ok(root);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(records_quarantined_foreach(st, q_seen, &seen, &err), 0);
	ck_assert_uint_eq(seen.n, 2);
	ck_assert_str_eq(seen.keys[0], bad_id);
	ck_assert_str_eq(seen.reasons[0], "corrupt record: bad bytes");
	ck_assert_uint_eq(seen.lens[0], sizeof(garbage));
	ck_assert_mem_eq(seen.records[0], garbage, sizeof(garbage));
	ck_assert_int_gt(seen.at[0], 0);
	ck_assert_str_eq(seen.keys[1], "zzz");
	ck_assert_msg(strstr(seen.reasons[1], "zzz") != NULL, "reason: %s", seen.reasons[1]);
	ck_assert_uint_eq(seen.lens[1], 1);

	/* quarantining again (a crash between put and delete) overwrites */
	ck_assert_int_eq(records_quarantine(st, bad_id, garbage, 3, "again", &err), 0);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(records_quarantined_foreach(st, q_seen, &seen, &err), 0);
	ck_assert_uint_eq(seen.n, 2);
	ck_assert_str_eq(seen.reasons[0], "again");
	ck_assert_uint_eq(seen.lens[0], 3);

	/* a value of another form is shown whole, never skipped */
	store_close(st);
	{
		char path[PATH_MAX + 16];
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val key = { 3, (void *)"yyy" }, val = { 4, (void *)"junk" };

		UNIT_FMT(path, "%s/cradle.mdb", root);
		ck_assert_int_eq(mdb_env_create(&env), 0);
		ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
		ck_assert_int_eq(mdb_env_open(env, path, MDB_NOTLS, 0600), 0);
		ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
		ck_assert_int_eq(mdb_dbi_open(txn, RECORDS_QUARANTINE_DB, 0, &dbi), 0);
		ck_assert_int_eq(mdb_put(txn, dbi, &key, &val, 0), 0);
		ck_assert_int_eq(mdb_txn_commit(txn), 0);
		mdb_env_close(env);
	}
	st = open_ok(root);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(records_quarantined_foreach(st, q_seen, &seen, &err), 0);
	ck_assert_uint_eq(seen.n, 3);
	ck_assert_str_eq(seen.keys[1], "yyy");
	ck_assert_str_eq(seen.reasons[1], "(unreadable quarantine entry)");
	ck_assert_uint_eq(seen.lens[1], 4);

	/* dropping empties it; the good record is untouched */
	ck_assert_int_eq(records_drop_quarantined(st, &err), 3);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(records_quarantined_foreach(st, q_seen, &seen, &err), 0);
	ck_assert_uint_eq(seen.n, 0);
	ck_assert_int_eq(records_drop_quarantined(st, &err), 0);
	ck_assert_int_eq(records_get(st, good.id, &got, &err), 0);
	proto_sandbox_fini(&got);
	proto_sandbox_fini(&good);
	store_close(st);
}
END_TEST

/* --- a full store ------------------------------------------------------- */

static int count_fn(struct proto_sandbox *s, void *arg);

/* A record of about 40 KiB (overflow pages), variant n. */
static void
big_rec(struct proto_sandbox *s, unsigned long n)
{
	char *v = malloc(13001);

	ck_assert_ptr_nonnull(v);
	memset(v, 'x', 13000);
	v[13000] = '\0';
	min_rec(s, n);
	for (int i = 0; i < 3; i++) {
		char key[8];
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(proto_kvs_add(&s->config.annotations, key, v), 0);
	}
	free(v);
}

/* Puts until the map is full: RESOURCE_EXHAUSTED with the hint, nothing
 * half-written; one delete makes room for the next put at once. */
START_TEST(test_store_full)
{
	struct store_opts o = { .map_size = 256 * 1024 };
	struct proto_sandbox r, got;
	struct cradle_err err;
	struct store *st;
	unsigned long n;
	int rc = 0;

	ck_assert_int_eq(store_open_opts(root, &o, &st, &err), 0);
	for (n = 1; n < 100; n++) {
		big_rec(&r, n);
		rc = records_put(st, &r, &err);
		proto_sandbox_fini(&r);
		if (rc < 0)
			break;
	}
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_uint_gt(n, 1);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "store full (raise [store] map_size)") != NULL, "%s",
	              err.msg);
	/* the failed one is not there, the others are */
	char id[CRADLE_ID_LEN + 1];
	make_id(id, n);
	ck_assert_int_eq(records_get(st, id, &got, &err), -ENOENT);
	make_id(id, n - 1);
	ck_assert_int_eq(records_get(st, id, &got, &err), 0);
	proto_sandbox_fini(&got);
	/* one removal, and the next put fits */
	ck_assert_int_eq(records_del(st, id, &err), 0);
	big_rec(&r, n);
	ck_assert_msg(records_put(st, &r, &err) == 0, "%s", err.msg);
	proto_sandbox_fini(&r);
	size_t count = 0;
	ck_assert_int_eq(records_foreach(st, count_fn, NULL, &count, &err), 0);
	ck_assert_uint_eq(count, n - 1);
	store_close(st);
}
END_TEST

/* --- threads ------------------------------------------------------------- */

#define ST_THREADS 4
#define ST_PER_THREAD 25

struct st_arg {
	struct store *st;
	unsigned long index;
	int failures;
};

static void *
st_writer(void *arg)
{
	struct st_arg *a = arg;
	struct proto_sandbox r, got;
	struct cradle_err err;
	unsigned long i, n;

	for (i = 0; i < ST_PER_THREAD; i++) {
		n = a->index * 1000 + i;
		min_rec(&r, n);
		if (records_put(a->st, &r, &err) != 0) {
			a->failures++;
		}
		if (records_get(a->st, r.id, &got, &err) != 0) {
			a->failures++;
		} else {
			a->failures +=
				strcmp(got.config.metadata.name, r.config.metadata.name) != 0;
			proto_sandbox_fini(&got);
		}
		if (i % 5 == 0 && records_del(a->st, r.id, &err) != 0) {
			a->failures++;
		}
		proto_sandbox_fini(&r);
	}
	return (NULL);
}

static int
count_fn(struct proto_sandbox *s, void *arg)
{
	(void)s;
	(*(size_t *)arg)++;
	return (0);
}

START_TEST(test_threads)
{
	pthread_t th[ST_THREADS];
	struct st_arg args[ST_THREADS];
	struct cradle_err err;
	struct store *st;
	size_t i, count = 0;

	st = open_ok(root);
	for (i = 0; i < ST_THREADS; i++) {
		args[i] = (struct st_arg){ st, i + 1, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, st_writer, &args[i]), 0);
	}
	for (i = 0; i < ST_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(args[i].failures, 0);
	}
	/* every fifth was deleted again */
	ck_assert_int_eq(records_foreach(st, count_fn, NULL, &count, &err), 0);
	ck_assert_uint_eq(count, ST_THREADS * (ST_PER_THREAD - ST_PER_THREAD / 5));
	store_close(st);
}
END_TEST

static Suite *
records_suite(void)
{
	Suite *s = suite_create("records");

	unit_tcase(s, "records", setup, unit_scratch_teardown, 120,
	           UNIT_TESTS(test_put_get_del, test_overwrite, test_foreach_order,
	                      test_foreach_writes, test_reopen, test_corrupt_record,
	                      test_quarantine, test_store_full, test_threads));

	return (s);
}

int
main(void)
{
	return (unit_run(records_suite(), "test_records", 0));
}
