/* test_table.c - the sandbox table and sandbox lifetime (core/table.c).
 *
 * add/get/del, reference counts, CRI name reservation with its exact
 * message, snapshots, growth to 10,000 sandboxes and concurrent use.
 * Threads are started inside the tests: Check forks per test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/table.h"
#include "tests/unit/lib/unit.h"

/* The id of sandbox number n: 64 lower-case hex digits. */
static void
make_id(char id[CRADLE_ID_LEN + 1], unsigned long n)
{
	snprintf(id, CRADLE_ID_LEN + 1, "%064lx", n);
}

/* A sandbox with id n and metadata (name, namespace, uid, attempt), its
 * reserved name set the way the daemon sets it. */
static struct sandbox *
new_sb(unsigned long n, const char *name, const char *ns, const char *uid, unsigned attempt)
{
	struct proto_sandbox rec;
	struct sandbox *sb;

	memset(&rec, 0, sizeof(rec));
	make_id(rec.id, n);
	rec.config.metadata.name = unit_strdup(name);
	rec.config.metadata.namespace = unit_strdup(ns);
	rec.config.metadata.uid = unit_strdup(uid);
	rec.config.metadata.attempt = attempt;
	rec.runtime_handler = unit_strdup("runc");
	rec.created_at = (int64_t)n;
	sb = sandbox_new(&rec);
	ck_assert_ptr_nonnull(sb);
	/* moved in: the caller's record owns nothing any more */
	ck_assert_ptr_null(rec.config.metadata.name);
	ck_assert_ptr_null(rec.runtime_handler);
	sb->name = sandbox_make_name(&sb->rec.config);
	ck_assert_ptr_nonnull(sb->name);
	return (sb);
}

/* A sandbox with a name unique to n. */
static struct sandbox *
new_sb_n(unsigned long n)
{
	char name[32];

	snprintf(name, sizeof(name), "pod-%lu", n);
	return (new_sb(n, name, "default", "uid", 0));
}

static int
refs(struct sandbox *sb)
{
	return (atomic_load(&sb->refs));
}

START_TEST(test_make_name)
{
	struct pod_config c;
	char *s;

	memset(&c, 0, sizeof(c));
	c.metadata.name = "nginx";
	c.metadata.namespace = "default";
	c.metadata.uid = "9b1b7c4e-0000-4d1c-a1e2-2b1e4c6f0a11";
	c.metadata.attempt = 3;
	s = sandbox_make_name(&c);
	ck_assert_str_eq(s, "nginx_default_9b1b7c4e-0000-4d1c-a1e2-2b1e4c6f0a11_3");
	free(s);
	c.metadata.attempt = 4294967295u;
	s = sandbox_make_name(&c);
	ck_assert_str_eq(s, "nginx_default_9b1b7c4e-0000-4d1c-a1e2-2b1e4c6f0a11_4294967295");
	free(s);
	memset(&c, 0, sizeof(c));
	s = sandbox_make_name(&c);
	ck_assert_str_eq(s, "___0");
	free(s);
}
END_TEST

START_TEST(test_sandbox_new)
{
	struct sandbox *sb = new_sb(7, "a", "b", "c", 1);
	struct timespec t0, t1, dl;
	long long waited;
	int rc;

	ck_assert_str_eq(sb->id, "0000000000000000000000000000000000000000"
	                         "000000000000000000000007");
	ck_assert_str_eq(sb->rec.id, sb->id);
	ck_assert_str_eq(sb->name, "a_b_c_1");
	ck_assert_str_eq(sb->rec.config.metadata.name, "a");
	ck_assert_str_eq(sb->rec.runtime_handler, "runc");
	ck_assert_int_eq(sb->pidfd, -1);
	ck_assert(!sb->removed);
	ck_assert_int_eq(refs(sb), 1);

	/* The cond runs on CLOCK_MONOTONIC: a monotonic deadline 50 ms ahead
	 * must be waited for (on CLOCK_REALTIME it would lie in 1970 and
	 * return at once). */
	ck_assert_int_eq(pthread_mutex_lock(&sb->lock), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = t0;
	dl.tv_nsec += 50 * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	do {
		rc = pthread_cond_timedwait(&sb->cond, &sb->lock, &dl);
	} while (rc == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(rc, ETIMEDOUT);
	ck_assert_int_eq(pthread_mutex_unlock(&sb->lock), 0);
	waited = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	ck_assert_int_ge(waited, 40 * 1000000LL);

	sandbox_hold(sb);
	ck_assert_int_eq(refs(sb), 2);
	sandbox_rele(sb);
	ck_assert_int_eq(refs(sb), 1);
	sandbox_rele(sb);
	sandbox_rele(NULL);
}
END_TEST

START_TEST(test_add_get_del)
{
	struct cradle_err err = { 0, "" };
	struct table *t;
	struct sandbox *sb, *got;
	char id[CRADLE_ID_LEN + 1];

	ck_assert_int_eq(table_init(&t), 0);
	ck_assert_uint_eq(table_count(t), 0);
	sb = new_sb_n(1);
	ck_assert_int_eq(table_add(t, sb, &err), 0);
	/* success leaves err untouched */
	ck_assert_int_eq(err.code, 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_int_eq(refs(sb), 2); /* ours + the table's */
	ck_assert_uint_eq(table_count(t), 1);

	got = table_get(t, sb->id);
	ck_assert_ptr_eq(got, sb);
	ck_assert_int_eq(refs(sb), 3);
	sandbox_rele(got);

	make_id(id, 2);
	ck_assert_ptr_null(table_get(t, id));
	ck_assert_ptr_null(table_get(t, ""));
	ck_assert_ptr_null(table_get(t, NULL));

	table_del(t, sb);
	ck_assert_int_eq(refs(sb), 1);
	ck_assert_uint_eq(table_count(t), 0);
	ck_assert_ptr_null(table_get(t, sb->id));
	/* absent: no-op, and no reference dropped */
	table_del(t, sb);
	ck_assert_int_eq(refs(sb), 1);

	/* the id and the name are free again */
	ck_assert_int_eq(table_add(t, sb, &err), 0);
	table_del(t, sb);
	sandbox_rele(sb);
	table_fini(t);
	table_fini(NULL);
}
END_TEST

START_TEST(test_held_after_del)
{
	struct cradle_err err;
	struct table *t;
	struct sandbox *sb, *got;
	int fd;

	ck_assert_int_eq(table_init(&t), 0);
	sb = new_sb_n(5);
	fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	sb->pidfd = fd; /* stands in for a pause task's pidfd */
	ck_assert_int_eq(table_add(t, sb, &err), 0);
	sandbox_rele(sb); /* only the table holds it now */

	got = table_get(t, "00000000000000000000000000000000000000000000"
	                   "00000000000000000005");
	ck_assert_ptr_eq(got, sb);
	table_del(t, got);
	/* still valid: our reference keeps it alive */
	ck_assert_int_eq(refs(got), 1);
	ck_assert_str_eq(got->name, "pod-5_default_uid_0");
	ck_assert_str_eq(got->rec.config.metadata.name, "pod-5");
	ck_assert_int_eq(pthread_mutex_lock(&got->lock), 0);
	got->removed = true;
	ck_assert_int_eq(pthread_mutex_unlock(&got->lock), 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	/* the last release closes the pidfd */
	sandbox_rele(got);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	table_fini(t);
}
END_TEST

START_TEST(test_table_fini_drops_refs)
{
	struct cradle_err err;
	struct table *t;
	struct sandbox *a, *b;

	ck_assert_int_eq(table_init(&t), 0);
	a = new_sb_n(1);
	b = new_sb_n(2);
	ck_assert_int_eq(table_add(t, a, &err), 0);
	ck_assert_int_eq(table_add(t, b, &err), 0);
	sandbox_rele(b); /* b is freed by table_fini (ASan checks) */
	table_fini(t);
	ck_assert_int_eq(refs(a), 1);
	sandbox_rele(a);
}
END_TEST

START_TEST(test_name_reservation)
{
	struct cradle_err err;
	struct table *t;
	struct sandbox *a, *b, *c, *d, *e;
	char want[CRADLE_ERR_MSG_MAX];

	ck_assert_int_eq(table_init(&t), 0);
	a = new_sb(1, "web", "prod", "u-1", 0);
	ck_assert_int_eq(table_add(t, a, &err), 0);

	/* same metadata, another id: the name is taken */
	b = new_sb(2, "web", "prod", "u-1", 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(table_add(t, b, &err), -EEXIST);
	ck_assert_int_eq(err.code, CRADLE_ALREADY_EXISTS);
	snprintf(want, sizeof(want),
	         "failed to reserve sandbox name "
	         "\"web_prod_u-1_0\": name \"web_prod_u-1_0\" is reserved for "
	         "\"%s\"",
	         a->id);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(refs(b), 1); /* no reference taken */
	ck_assert_uint_eq(table_count(t), 1);

	/* a loser's table_del must not release the winner's name */
	table_del(t, b);
	ck_assert_ptr_eq(table_get(t, a->id), a);
	sandbox_rele(a);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(table_add(t, b, &err), -EEXIST);

	/* the next attempt is another name */
	c = new_sb(3, "web", "prod", "u-1", 1);
	ck_assert_int_eq(table_add(t, c, &err), 0);

	/* same id, new name */
	d = new_sb(1, "other", "prod", "u-9", 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(table_add(t, d, &err), -EEXIST);
	ck_assert_int_eq(err.code, CRADLE_ALREADY_EXISTS);
	snprintf(want, sizeof(want), "sandbox id \"%s\" already exists", a->id);
	ck_assert_str_eq(err.msg, want);
	table_del(t, d);
	ck_assert_ptr_eq(table_get(t, a->id), a);
	sandbox_rele(a);

	/* the same sandbox twice */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(table_add(t, a, &err), -EEXIST);
	ck_assert_int_eq(err.code, CRADLE_ALREADY_EXISTS);
	ck_assert_int_eq(refs(a), 2);

	/* once a is gone the name can be reserved by b */
	table_del(t, a);
	ck_assert_int_eq(table_add(t, b, &err), 0);
	ck_assert_uint_eq(table_count(t), 2);

	/* a sandbox without a name gets one derived by table_add */
	e = new_sb(4, "late", "ns", "u-4", 2);
	free(e->name);
	e->name = NULL;
	ck_assert_int_eq(table_add(t, e, &err), 0);
	ck_assert_str_eq(e->name, "late_ns_u-4_2");

	sandbox_rele(a);
	sandbox_rele(b);
	sandbox_rele(c);
	sandbox_rele(d);
	sandbox_rele(e);
	table_fini(t);
}
END_TEST

START_TEST(test_snapshot)
{
	struct cradle_err err;
	struct table *t;
	struct sandbox **v, *sb;
	long n, i;
	/* inserted out of order; the snapshot comes back in id order */
	static const unsigned long order[] = { 9, 3, 27, 1, 14, 100, 55 };

	ck_assert_int_eq(table_init(&t), 0);
	v = (struct sandbox **)&err; /* must be overwritten */
	ck_assert_int_eq(table_snapshot(t, &v), 0);
	ck_assert_ptr_null(v);
	free(v);

	for (i = 0; i < 7; i++) {
		sb = new_sb_n(order[i]);
		ck_assert_int_eq(table_add(t, sb, &err), 0);
		sandbox_rele(sb);
	}
	n = table_snapshot(t, &v);
	ck_assert_int_eq(n, 7);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(refs(v[i]), 2);
		if (i > 0) {
			ck_assert_int_lt(strcmp(v[i - 1]->id, v[i]->id), 0);
		}
	}
	ck_assert_str_eq(v[0]->rec.config.metadata.name, "pod-1");
	ck_assert_str_eq(v[6]->rec.config.metadata.name, "pod-100");

	/* the snapshot outlives removal from the table */
	for (i = 0; i < n; i++) {
		table_del(t, v[i]);
	}
	ck_assert_uint_eq(table_count(t), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(refs(v[i]), 1);
		sandbox_rele(v[i]);
	}
	free(v);
	table_fini(t);
}
END_TEST

#define MANY 10000ul

START_TEST(test_growth)
{
	struct cradle_err err;
	struct table *t;
	struct sandbox *sb, **v;
	char id[CRADLE_ID_LEN + 1];
	unsigned long i;
	long n;

	ck_assert_int_eq(table_init(&t), 0);
	for (i = 0; i < MANY; i++) {
		sb = new_sb_n(i);
		ck_assert_int_eq(table_add(t, sb, &err), 0);
		sandbox_rele(sb);
	}
	ck_assert_uint_eq(table_count(t), MANY);
	for (i = 0; i < MANY; i++) {
		make_id(id, i);
		sb = table_get(t, id);
		ck_assert_ptr_nonnull(sb);
		ck_assert_str_eq(sb->id, id);
		ck_assert_int_eq(sb->rec.created_at, (int64_t)i);
		sandbox_rele(sb);
	}
	make_id(id, MANY);
	ck_assert_ptr_null(table_get(t, id));

	/* every name stays reserved */
	sb = new_sb(MANY + 1, "pod-4242", "default", "uid", 0);
	ck_assert_int_eq(table_add(t, sb, &err), -EEXIST);
	sandbox_rele(sb);

	/* remove the odd ones */
	for (i = 1; i < MANY; i += 2) {
		make_id(id, i);
		sb = table_get(t, id);
		ck_assert_ptr_nonnull(sb);
		table_del(t, sb);
		sandbox_rele(sb);
	}
	ck_assert_uint_eq(table_count(t), MANY / 2);
	for (i = 0; i < MANY; i++) {
		make_id(id, i);
		sb = table_get(t, id);
		if (i % 2 == 0) {
			ck_assert_ptr_nonnull(sb);
			sandbox_rele(sb);
		} else {
			ck_assert_ptr_null(sb);
		}
	}
	n = table_snapshot(t, &v);
	ck_assert_int_eq(n, (long)(MANY / 2));
	for (i = 0; i < (unsigned long)n; i++) {
		make_id(id, 2 * i);
		ck_assert_str_eq(v[i]->id, id);
		sandbox_rele(v[i]);
	}
	free(v);
	/* the remaining 5,000 are freed by fini (ASan checks for leaks) */
	table_fini(t);
}
END_TEST

/* --- concurrency --------------------------------------------------------- */

#define CT_THREADS 4
#define CT_PER_THREAD 2000ul
#define CT_RACE_ROUNDS 200

struct ct {
	struct table *t;
	pthread_barrier_t start;
	atomic_int errors;
	atomic_int race_wins[CT_RACE_ROUNDS];
};

struct ct_arg {
	struct ct *ct;
	unsigned long index;
};

#define CT_CHECK(ct, cond)                                  \
	do {                                                \
		if (!(cond)) {                              \
			atomic_fetch_add(&(ct)->errors, 1); \
		}                                           \
	} while (0)

static void *
ct_worker(void *arg)
{
	struct ct_arg *a = arg;
	struct ct *ct = a->ct;
	unsigned long base = (a->index + 1) * 1000000ul;
	unsigned long i, other;
	struct cradle_err err;
	struct sandbox *sb, **v;
	char id[CRADLE_ID_LEN + 1];
	char name[32];
	long n;
	int r;

	pthread_barrier_wait(&ct->start);
	for (i = 0; i < CT_PER_THREAD; i++) {
		sb = new_sb_n(base + i);
		CT_CHECK(ct, table_add(ct->t, sb, &err) == 0);
		sandbox_rele(sb);

		/* look at another thread's sandboxes: present or not, a
		 * found one must be whole */
		other = ((a->index + 1 + i % (CT_THREADS - 1)) % CT_THREADS + 1) * 1000000ul +
		        i / 2;
		make_id(id, other);
		sb = table_get(ct->t, id);
		if (sb != NULL) {
			CT_CHECK(ct, strcmp(sb->id, id) == 0);
			snprintf(name, sizeof(name), "pod-%lu", other);
			CT_CHECK(ct, strcmp(sb->rec.config.metadata.name, name) == 0);
			sandbox_rele(sb);
		}
		if (i % 500 == 0) {
			n = table_snapshot(ct->t, &v);
			CT_CHECK(ct, n >= 1);
			for (r = 0; r < n; r++) {
				sandbox_rele(v[r]);
			}
			free(v);
		}
	}
	/* all threads try to reserve the same names; one may win each */
	for (r = 0; r < CT_RACE_ROUNDS; r++) {
		char rn[32];

		snprintf(rn, sizeof(rn), "race-%d", r);
		sb = new_sb(base + CT_PER_THREAD + (unsigned long)r, rn, "default", "uid", 0);
		if (table_add(ct->t, sb, &err) == 0) {
			atomic_fetch_add(&ct->race_wins[r], 1);
		} else {
			CT_CHECK(ct, err.code == CRADLE_ALREADY_EXISTS);
		}
		sandbox_rele(sb);
	}
	/* remove our own, through a looked-up reference */
	for (i = 0; i < CT_PER_THREAD; i++) {
		make_id(id, base + i);
		sb = table_get(ct->t, id);
		CT_CHECK(ct, sb != NULL);
		if (sb != NULL) {
			CT_CHECK(ct, pthread_mutex_lock(&sb->lock) == 0);
			sb->removed = true;
			table_del(ct->t, sb); /* allowed under sb->lock */
			CT_CHECK(ct, pthread_mutex_unlock(&sb->lock) == 0);
			sandbox_rele(sb);
		}
	}
	return (NULL);
}

START_TEST(test_concurrent)
{
	pthread_t th[CT_THREADS];
	struct ct_arg args[CT_THREADS];
	struct ct ct;
	struct sandbox **v;
	unsigned long i;
	long n;
	int r;

	memset(&ct, 0, sizeof(ct));
	ck_assert_int_eq(table_init(&ct.t), 0);
	ck_assert_int_eq(pthread_barrier_init(&ct.start, NULL, CT_THREADS), 0);
	for (i = 0; i < CT_THREADS; i++) {
		args[i] = (struct ct_arg){ &ct, i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, ct_worker, &args[i]), 0);
	}
	for (i = 0; i < CT_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	}
	ck_assert_int_eq(atomic_load(&ct.errors), 0);
	for (r = 0; r < CT_RACE_ROUNDS; r++) {
		ck_assert_int_eq(atomic_load(&ct.race_wins[r]), 1);
	}
	/* only the race winners remain */
	ck_assert_uint_eq(table_count(ct.t), CT_RACE_ROUNDS);
	n = table_snapshot(ct.t, &v);
	ck_assert_int_eq(n, CT_RACE_ROUNDS);
	for (r = 0; r < n; r++) {
		ck_assert_int_eq(strncmp(v[r]->name, "race-", 5), 0);
		table_del(ct.t, v[r]);
		sandbox_rele(v[r]);
	}
	free(v);
	ck_assert_uint_eq(table_count(ct.t), 0);
	pthread_barrier_destroy(&ct.start);
	table_fini(ct.t);
}
END_TEST

/* [cradled] max_sandboxes: the table refuses the limit+1-th, names the
 * limit, frees a place on removal; a limit below the count keeps what is
 * there; concurrent adds never take more places than there are. */
struct lim_arg {
	struct table *t;
	unsigned long base;
	atomic_int added, refused, other;
};

static void *
lim_worker(void *arg)
{
	struct lim_arg *a = arg;
	struct cradle_err err;

	for (unsigned long i = 0; i < 50; i++) {
		struct sandbox *sb = new_sb_n(a->base + i);
		int rc = table_add(a->t, sb, &err);
		if (rc == 0)
			atomic_fetch_add(&a->added, 1);
		else if (rc == -ENOSPC && err.code == CRADLE_RESOURCE_EXHAUSTED)
			atomic_fetch_add(&a->refused, 1);
		else
			atomic_fetch_add(&a->other, 1);
		sandbox_rele(sb);
	}
	return (NULL);
}

START_TEST(test_limit)
{
	struct cradle_err err = { 0, "" };
	struct table *t;
	struct sandbox *sb[4];

	ck_assert_int_eq(table_init(&t), 0);
	table_set_limit(t, 3);
	for (int i = 0; i < 3; i++) {
		sb[i] = new_sb_n((unsigned long)i + 1);
		ck_assert_int_eq(table_add(t, sb[i], &err), 0);
	}
	sb[3] = new_sb_n(4);
	ck_assert_int_eq(table_add(t, sb[3], &err), -ENOSPC);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "max_sandboxes") != NULL && strstr(err.msg, "is 3") != NULL &&
	                      strstr(err.msg, "pod-4") != NULL,
	              "names the limit and the sandbox: %s", err.msg);
	ck_assert_uint_eq(table_count(t), 3);
	ck_assert_ptr_null(table_get(t, sb[3]->id));
	/* the refused one reserved no name */
	table_del(t, sb[3]);
	ck_assert_int_eq(refs(sb[3]), 1);

	/* a removal frees a place */
	table_del(t, sb[0]);
	ck_assert_int_eq(table_add(t, sb[3], &err), 0);
	/* a lower limit keeps those there, refuses more */
	table_set_limit(t, 1);
	ck_assert_uint_eq(table_count(t), 3);
	ck_assert_int_eq(table_add(t, sb[0], &err), -ENOSPC);
	/* 0: no limit */
	table_set_limit(t, 0);
	ck_assert_int_eq(table_add(t, sb[0], &err), 0);
	ck_assert_uint_eq(table_count(t), 4);
	for (int i = 0; i < 4; i++) {
		table_del(t, sb[i]);
		sandbox_rele(sb[i]);
	}

	/* four threads race for 60 places with 200 adds */
	pthread_t th[4];
	struct lim_arg a[4];
	table_set_limit(t, 60);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct lim_arg){ .t = t, .base = (unsigned long)(i + 1) * 1000 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, lim_worker, &a[i]), 0);
	}
	int added = 0, refused = 0;
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(atomic_load(&a[i].other), 0);
		added += atomic_load(&a[i].added);
		refused += atomic_load(&a[i].refused);
	}
	ck_assert_int_eq(added, 60);
	ck_assert_int_eq(refused, 140);
	ck_assert_uint_eq(table_count(t), 60);
	table_fini(t);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite *s = suite_create("table");

	unit_tcase(s, "table", NULL, NULL, 300,
	           UNIT_TESTS(test_make_name, test_sandbox_new, test_add_get_del,
	                      test_held_after_del, test_table_fini_drops_refs,
	                      test_name_reservation, test_snapshot, test_growth, test_concurrent,
	                      test_limit));

	return (s);
}

int
main(void)
{
	return (unit_run(table_suite(), "test_table", 0));
}
