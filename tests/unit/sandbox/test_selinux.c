/* test_selinux.c - SELinux labels and MCS reservation (sandbox/selinux.c).
 *
 * One test per rule of the labelling containerd does with go-selinux's
 * label.InitLabels, as selinux.h states it, against the contexts file in
 * tests/data/selinux (found under $CRADLE_SRC, else the current directory)
 * and a few written on the fly, in the test's own scratch directory
 * (tests/unit/lib), for parsing corners.  SELinux need not be enabled on
 * the host: nothing here applies a label.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <selinux/selinux.h>

#include "sandbox/selinux.h"
#include "tests/unit/lib/unit.h"

static struct selinux_labels *
open_at(const char *contexts, unsigned range)
{
	struct selinux_cfg cfg = { .enable = true,
		                   .category_range = range,
		                   .contexts_path = contexts };
	struct cradle_err e = { 0 };
	struct selinux_labels *l = NULL;

	ck_assert_msg(selinux_labels_init(&cfg, &l, &e) == 0, "init: %s", e.msg);
	ck_assert_ptr_nonnull(l);
	return l;
}

/* tests/data/selinux/lxc_contexts, and labels from it. */
static const char *
contexts(void)
{
	static char path[PATH_MAX];

	ck_assert_msg(unit_data_path(path, "selinux/lxc_contexts") == 0, "see above");
	return path;
}

static struct selinux_labels *
open_labels(unsigned range)
{
	return open_at(contexts(), range);
}

/* A contexts file with `text`, in the test's directory; its path. */
static const char *
write_contexts(const char *text)
{
	static char path[PATH_MAX];

	unit_path(path, sizeof(path), "lxc_contexts");
	unit_put_str(path, text);
	return path;
}

static struct selinux_labels *
open_text(const char *text, unsigned range)
{
	return open_at(write_contexts(text), range);
}

static void
set_opts(struct pod_config *pod, const char *user, const char *role, const char *type,
         const char *level)
{
	memset(pod, 0, sizeof(*pod));
	pod->linux.security_context.selinux_options.user = (char *)user;
	pod->linux.security_context.selinux_options.role = (char *)role;
	pod->linux.security_context.selinux_options.type = (char *)type;
	pod->linux.security_context.selinux_options.level = (char *)level;
}

/* The level of a label (after the third ':'). */
static const char *
level_of(const char *label)
{
	const char *p = label;
	int i;

	for (i = 0; i < 3; i++) {
		p = strchr(p, ':');
		ck_assert_msg(p != NULL, "label \"%s\" has no level", label);
		p++;
	}
	return p;
}

/* "s0:cX,cY" with X < Y < range, as generated. */
static void
check_pair(const char *level, unsigned range)
{
	unsigned x, y;
	int end = 0;

	ck_assert_msg(sscanf(level, "s0:c%u,c%u%n", &x, &y, &end) == 2 && level[end] == '\0',
	              "level \"%s\" is not s0:cX,cY", level);
	ck_assert_uint_lt(x, y);
	ck_assert_uint_lt(y, range);
}

static void
alloc_ok(struct selinux_labels *l, const struct pod_config *pod, bool vm, char **p, char **m)
{
	struct cradle_err e = { 0 };

	ck_assert_msg(selinux_labels_alloc(l, pod, vm, p, m, &e) == 0, "alloc: %s", e.msg);
	ck_assert_ptr_nonnull(*p);
	ck_assert_ptr_nonnull(*m);
}

/* Labels from lxc_contexts with one pair (process, mount) allocated. */
static struct selinux_labels *
open_one(char **p, char **m)
{
	struct selinux_labels *l = open_labels(0);

	alloc_ok(l, NULL, false, p, m);
	return l;
}

/* A test's end: the labels it was given, then l. */
static void
fini_all(struct selinux_labels *l, char *p, char *m)
{
	free(p);
	free(m);
	selinux_labels_fini(l);
}

/* selinux_labels_alloc refuses pod with INVALID_ARGUMENT and exactly msg,
 * hands back no labels and reserves nothing. */
static void
alloc_refused(struct selinux_labels *l, const struct pod_config *pod, const char *msg)
{
	struct cradle_err e = { 0 };
	char *p = (char *)1, *m = (char *)1;

	ck_assert_int_lt(selinux_labels_alloc(l, pod, false, &p, &m, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, msg);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
}

/* alloc_ok for a pod with these SELinux options. */
static void
alloc_opts(struct selinux_labels *l, const char *user, const char *role, const char *type,
           const char *level, char **p, char **m)
{
	struct pod_config pod;

	set_opts(&pod, user, role, type, level);
	alloc_ok(l, &pod, false, p, m);
}

/* ---- level format ---------------------------------------------------- */

START_TEST(test_level_format_accepted)
{
	static const char *const good[] = {
		"s0",
		"s9",
		"s0-s0",
		"s1-s9",
		"s0:c0",
		"s0:c1,c2",
		"s0-s0:c0.c1023",
		"s0:c9999",
		"s0:c1,c2.c5,c7",
		"s3-s4:c1.c2,c3.c4,c5",
	};
	struct cradle_err e = { 0 };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(selinux_check_level(good[i], &e) == 0, "\"%s\" refused: %s", good[i],
		              e.msg);
	ck_assert_int_eq(selinux_check_level("", &e), 0);
	ck_assert_int_eq(selinux_check_level(NULL, &e), 0);
}
END_TEST

START_TEST(test_level_format_refused)
{
	static const char *const bad[] = {
		"s0:c12345",  "x",      "s",           "s10",       "S0",    "s0:",    "s0:c",
		"s0:c1,",     "s0:c1.", "s0:c1.c2.c3", "s0-s0-s0",  "s0-",   "s0:c-1", "s0 :c1",
		"s0:c1,c2\n", " s0",    "s0:c1;c2",    "s0:c1,,c2", "s0:cx", "s0-s10",
	};
	struct cradle_err e;
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		ck_assert_msg(selinux_check_level(bad[i], &e) < 0, "\"%s\" accepted", bad[i]);
		ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
		snprintf(want, sizeof(want), "the format of 'level' \"%s\" is not correct", bad[i]);
		ck_assert_str_eq(e.msg, want);
	}
}
END_TEST

/* containerd checks the level before go-selinux looks at anything, so a
 * bad level fails the allocation, and reserves nothing. */
START_TEST(test_alloc_refuses_bad_level)
{
	struct selinux_labels *l = open_labels(0);
	struct pod_config pod;

	set_opts(&pod, NULL, NULL, NULL, "s0:c12345");
	alloc_refused(l, &pod,
	              "failed to init selinux options &SELinuxOption{User:,Role:,Type:,"
	              "Level:s0:c12345,}: the format of 'level' \"s0:c12345\" is not correct");
	selinux_labels_fini(l);
}
END_TEST

/* ---- allocation ------------------------------------------------------ */

START_TEST(test_alloc_container_labels)
{
	char *p, *m;
	const char *lv;
	struct selinux_labels *l = open_one(&p, &m);

	ck_assert_msg(strncmp(p, "system_u:system_r:container_t:", 30) == 0, "process %s", p);
	ck_assert_msg(strncmp(m, "system_u:object_r:container_file_t:", 35) == 0, "mount %s", m);
	lv = level_of(p);
	ck_assert_str_eq(lv, level_of(m));
	check_pair(lv, SELINUX_DEFAULT_CATEGORY_RANGE);
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	ck_assert_uint_eq(selinux_labels_refs(l, p), 1);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_alloc_levels_unique)
{
	enum { N = 200 };
	struct selinux_labels *l = open_labels(0);
	char *p[N], *m[N];
	int i, j;

	for (i = 0; i < N; i++) {
		alloc_ok(l, NULL, false, &p[i], &m[i]);
		check_pair(level_of(p[i]), SELINUX_DEFAULT_CATEGORY_RANGE);
	}
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			ck_assert_str_ne(level_of(p[i]), level_of(p[j]));
	ck_assert_uint_eq(selinux_labels_reserved(l), N);
	for (i = 0; i < N; i++) {
		selinux_labels_release(l, p[i]);
		free(p[i]);
		free(m[i]);
	}
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	selinux_labels_fini(l);
}
END_TEST

/* ---- overrides ------------------------------------------------------- */

START_TEST(test_override_user_level_both)
{
	struct selinux_labels *l = open_labels(0);
	char *p, *m;

	alloc_opts(l, "user_u", NULL, NULL, "s0:c5,c6", &p, &m);
	ck_assert_str_eq(p, "user_u:system_r:container_t:s0:c5,c6");
	ck_assert_str_eq(m, "user_u:object_r:container_file_t:s0:c5,c6");
	/* the user's level is reserved, and only it */
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	ck_assert_uint_eq(selinux_labels_refs(l, p), 1);
	selinux_labels_release(l, p);
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_override_role_type_process_only)
{
	struct selinux_labels *l = open_labels(0);
	char *p, *m;

	alloc_opts(l, NULL, "sysadm_r", "spc_t", NULL, &p, &m);
	ck_assert_msg(strncmp(p, "system_u:sysadm_r:spc_t:", 24) == 0, "process %s", p);
	ck_assert_msg(strncmp(m, "system_u:object_r:container_file_t:", 35) == 0, "mount %s", m);
	ck_assert_str_eq(level_of(p), level_of(m));
	check_pair(level_of(p), SELINUX_DEFAULT_CATEGORY_RANGE);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_override_all_parts)
{
	struct selinux_labels *l = open_labels(0);
	char *p, *m;

	alloc_opts(l, "u", "r", "t", "s0-s0:c0.c1023", &p, &m);
	ck_assert_str_eq(p, "u:r:t:s0-s0:c0.c1023");
	ck_assert_str_eq(m, "u:object_r:container_file_t:s0-s0:c0.c1023");
	fini_all(l, p, m);
}
END_TEST

/* Go's protobuf has no "absent" string: "" means not set. */
START_TEST(test_override_empty_is_absent)
{
	struct selinux_labels *l = open_labels(0);
	char *p, *m;

	alloc_opts(l, "", "", "", "", &p, &m);
	ck_assert_msg(strncmp(p, "system_u:system_r:container_t:", 30) == 0, "process %s", p);
	check_pair(level_of(p), SELINUX_DEFAULT_CATEGORY_RANGE);
	fini_all(l, p, m);
}
END_TEST

/* A part libselinux cannot hold is refused, and the level given back. */
START_TEST(test_override_invalid_part_refused)
{
	struct selinux_labels *l = open_labels(0);
	struct pod_config pod;

	set_opts(&pod, "a:b", NULL, NULL, NULL);
	alloc_refused(
		l, &pod,
		"failed to init selinux options &SELinuxOption{User:a:b,Role:,Type:,Level:,}: "
		"invalid SELinux user \"a:b\"");
	selinux_labels_fini(l);
}
END_TEST

/* ---- VM runtimes ----------------------------------------------------- */

START_TEST(test_vm_kvm_type)
{
	struct selinux_labels *l = open_labels(0);
	struct cradle_err e = { 0 };
	struct pod_config pod;
	char *p, *m, *k;

	alloc_ok(l, NULL, true, &p, &m);
	ck_assert_msg(strncmp(p, "system_u:system_r:container_kvm_t:", 34) == 0, "process %s", p);
	ck_assert_msg(strncmp(m, "system_u:object_r:container_file_t:", 35) == 0, "mount %s", m);
	ck_assert_str_eq(level_of(p), level_of(m));
	free(p);
	free(m);

	/* ChangeToKVM runs after the spec is built: it beats the pod's type */
	set_opts(&pod, "user_u", NULL, "spc_t", "s0:c1,c2");
	alloc_ok(l, &pod, true, &p, &m);
	ck_assert_str_eq(p, "user_u:system_r:container_kvm_t:s0:c1,c2");
	free(p);
	free(m);

	/* the two-step form: record the plain label, derive the spec's */
	alloc_ok(l, NULL, false, &p, &m);
	ck_assert_int_eq(selinux_labels_to_kvm(l, p, &k, &e), 0);
	ck_assert_msg(strncmp(k, "system_u:system_r:container_kvm_t:", 34) == 0, "kvm %s", k);
	ck_assert_str_eq(level_of(k), level_of(p));
	free(k);
	/* it is a no-op on an empty label */
	ck_assert_int_eq(selinux_labels_to_kvm(l, "", &k, &e), 0);
	ck_assert_str_eq(k, "");
	free(k);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_vm_without_kvm_context_keeps_type)
{
	struct selinux_labels *l = open_text("process = \"system_u:system_r:container_t:s0\"\n"
	                                     "file = \"system_u:object_r:container_file_t:s0\"\n",
	                                     0);
	char *p, *m;

	alloc_ok(l, NULL, true, &p, &m);
	ck_assert_msg(strncmp(p, "system_u:system_r:container_t:", 30) == 0, "process %s", p);
	fini_all(l, p, m);
}
END_TEST

/* ---- reservation ----------------------------------------------------- */

START_TEST(test_release_frees_level)
{
	char *p, *m;
	struct selinux_labels *l = open_one(&p, &m);

	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	selinux_labels_release(l, p);
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	ck_assert_uint_eq(selinux_labels_refs(l, p), 0);
	/* releasing what is not held, or no label at all, is ignored */
	selinux_labels_release(l, p);
	selinux_labels_release(l, NULL);
	selinux_labels_release(l, "");
	selinux_labels_release(l, "system_u:system_r:container_t");
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_reserve_release_refcount)
{
	char *p, *m;
	struct selinux_labels *l = open_one(&p, &m);

	selinux_labels_reserve(l, p); /* a second holder */
	ck_assert_uint_eq(selinux_labels_refs(l, p), 2);
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	selinux_labels_release(l, p);
	ck_assert_uint_eq(selinux_labels_refs(l, p), 1);
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	/* the mount label shares the level, so it releases the same count */
	selinux_labels_release(l, m);
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_user_level_shared_refcount)
{
	struct selinux_labels *l = open_labels(0);
	struct pod_config pod;
	char *p1, *m1, *p2, *m2;

	set_opts(&pod, NULL, NULL, NULL, "s0:c7,c8");
	alloc_ok(l, &pod, false, &p1, &m1);
	alloc_ok(l, &pod, false, &p2, &m2);
	ck_assert_str_eq(p1, p2);
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	ck_assert_uint_eq(selinux_labels_refs(l, p1), 2);
	selinux_labels_release(l, p1);
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	selinux_labels_release(l, p2);
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	free(p1);
	free(m1);
	free(p2);
	free(m2);
	selinux_labels_fini(l);
}
END_TEST

/* Levels held by users or recovered sandboxes are never handed out at
 * random: with range 3 there are three pairs; hold two, get the third. */
START_TEST(test_random_skips_reserved_levels)
{
	struct selinux_labels *l = open_labels(3);
	struct pod_config pod;
	char *p, *m, *p2, *m2;
	int i;

	for (i = 0; i < 50; i++) {
		set_opts(&pod, NULL, NULL, NULL, "s0:c0,c1");
		alloc_ok(l, &pod, false, &p, &m);
		selinux_labels_reserve(l, "system_u:system_r:container_t:s0:c0,c2");
		alloc_ok(l, NULL, false, &p2, &m2);
		ck_assert_str_eq(level_of(p2), "s0:c1,c2");
		ck_assert_uint_eq(selinux_labels_reserved(l), 3);
		selinux_labels_release(l, p);
		selinux_labels_release(l, p2);
		selinux_labels_release(l, "x:y:z:s0:c0,c2");
		ck_assert_uint_eq(selinux_labels_reserved(l), 0);
		free(p);
		free(m);
		free(p2);
		free(m2);
	}
	selinux_labels_fini(l);
}
END_TEST

START_TEST(test_small_range_exhausted)
{
	enum { PAIRS = 6 }; /* range 4: c0..c3, 4*3/2 pairs */
	struct selinux_labels *l = open_labels(4);
	struct cradle_err e = { 0 };
	char *p[PAIRS], *m[PAIRS], *q, *n;
	char freed[32];
	int i, j;

	for (i = 0; i < PAIRS; i++) {
		alloc_ok(l, NULL, false, &p[i], &m[i]);
		check_pair(level_of(p[i]), 4);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(level_of(p[i]), level_of(p[j]));
	}
	ck_assert_int_lt(selinux_labels_alloc(l, NULL, false, &q, &n, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(e.msg, "selinux_category_range 4") != NULL, "msg: %s", e.msg);
	/* no selinux_options: containerd prints the nil message as "nil" */
	ck_assert_msg(strncmp(e.msg, "failed to init selinux options nil: ", 36) == 0, "msg: %s",
	              e.msg);
	ck_assert_ptr_null(q);
	ck_assert_uint_eq(selinux_labels_reserved(l), PAIRS);

	/* a user level still works when the random pairs are gone */
	{
		struct pod_config pod;

		set_opts(&pod, NULL, NULL, NULL, "s0:c100,c200");
		alloc_ok(l, &pod, false, &q, &n);
		selinux_labels_release(l, q);
		free(q);
		free(n);
	}

	/* freeing one makes exactly that one available again */
	snprintf(freed, sizeof(freed), "%s", level_of(p[3]));
	selinux_labels_release(l, p[3]);
	alloc_ok(l, NULL, false, &q, &n);
	ck_assert_str_eq(level_of(q), freed);
	free(q);
	free(n);
	for (i = 0; i < PAIRS; i++) {
		free(p[i]);
		free(m[i]);
	}
	selinux_labels_fini(l);
}
END_TEST

/* ---- configuration --------------------------------------------------- */

START_TEST(test_disabled_empty_labels)
{
	struct selinux_cfg cfg = { .enable = false, .contexts_path = "/nonexistent/lxc_contexts" };
	struct selinux_labels *l = NULL;
	struct cradle_err e = { 0 };
	struct pod_config pod;
	char *p, *m, *k;

	ck_assert_int_eq(selinux_labels_init(&cfg, &l, &e), 0);
	set_opts(&pod, "user_u", "r", "t", "s0:c1,c2");
	alloc_ok(l, &pod, true, &p, &m);
	ck_assert_str_eq(p, "");
	ck_assert_str_eq(m, "");
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	selinux_labels_reserve(l, "system_u:system_r:container_t:s0:c1,c2");
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	selinux_labels_release(l, "system_u:system_r:container_t:s0:c1,c2");
	ck_assert_int_eq(selinux_labels_to_kvm(l, "system_u:system_r:container_t:s0:c1,c2", &k, &e),
	                 0);
	ck_assert_str_eq(k, "");
	free(k);
	free(p);
	free(m);

	/* the level is still checked */
	set_opts(&pod, NULL, NULL, NULL, "x");
	ck_assert_int_lt(selinux_labels_alloc(l, &pod, false, &p, &m, &e), 0);
	ck_assert_str_eq(e.msg, "failed to init selinux options &SELinuxOption{User:,Role:,Type:,"
	                        "Level:x,}: the format of 'level' \"x\" is not correct");
	selinux_labels_fini(l);
}
END_TEST

START_TEST(test_category_range_bounds)
{
	struct selinux_cfg cfg = { .enable = true, .contexts_path = contexts() };
	struct selinux_labels *l = NULL;
	struct cradle_err e = { 0 };

	cfg.category_range = 1;
	ck_assert_int_lt(selinux_labels_init(&cfg, &l, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, "selinux_category_range 1") != NULL, "msg: %s", e.msg);
	ck_assert_ptr_null(l);
	cfg.category_range = SELINUX_MAX_CATEGORY_RANGE + 1;
	ck_assert_int_lt(selinux_labels_init(&cfg, &l, &e), 0);
	cfg.category_range = 2; /* one pair: c0,c1 */
	ck_assert_int_eq(selinux_labels_init(&cfg, &l, &e), 0);
	{
		char *p, *m;

		alloc_ok(l, NULL, false, &p, &m);
		ck_assert_str_eq(level_of(p), "s0:c0,c1");
		free(p);
		free(m);
	}
	selinux_labels_fini(l);
}
END_TEST

/* container-selinux not installed: go-selinux silently gives no labels. */
START_TEST(test_missing_contexts_file_no_labels)
{
	struct selinux_cfg cfg = { .enable = true, .contexts_path = "/nonexistent/lxc_contexts" };
	struct selinux_labels *l = NULL;
	struct cradle_err e = { 0 };
	char *p, *m;

	ck_assert_int_eq(selinux_labels_init(&cfg, &l, &e), 0);
	alloc_ok(l, NULL, false, &p, &m);
	ck_assert_str_eq(p, "");
	ck_assert_str_eq(m, "");
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	fini_all(l, p, m);
}
END_TEST

/* loadLabels' syntax: blanks and '#'/';' comments skipped, spaces and
 * quotes trimmed, the last of a repeated key wins. */
START_TEST(test_contexts_file_syntax)
{
	struct selinux_labels *l = open_text("# comment\n"
	                                     "; another = \"comment\"\n"
	                                     "\n"
	                                     "   process=\"a_u:a_r:wrong_t:s0\"\n"
	                                     "not a pair\n"
	                                     "\tprocess   =   \"\"sys_u:sys_r:mine_t:s0\"\"   \n"
	                                     "file=sys_u:object_r:mine_file_t:s0\n"
	                                     "kvm_process = \"sys_u:sys_r:mine_kvm_t:s0\"",
	                                     0);
	char *p, *m;

	alloc_ok(l, NULL, true, &p, &m);
	ck_assert_msg(strncmp(p, "sys_u:sys_r:mine_kvm_t:s0:c", 27) == 0, "process %s", p);
	ck_assert_msg(strncmp(m, "sys_u:object_r:mine_file_t:s0:c", 31) == 0, "mount %s", m);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_contexts_file_bad_context)
{
	struct selinux_cfg cfg = { .enable = true,
		                   .contexts_path = write_contexts("process = \"garbage\"\n"
		                                                   "file = \"u:r:t:s0\"\n") };
	struct selinux_labels *l = NULL;
	struct cradle_err e = { 0 };

	ck_assert_int_lt(selinux_labels_init(&cfg, &l, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_msg(strstr(e.msg, "process = \"garbage\"") != NULL, "msg: %s", e.msg);
	ck_assert_ptr_null(l);
}
END_TEST

/* Only a missing file means "no labels"; one we cannot read is an error
 * rather than a silently unconfined node. */
START_TEST(test_contexts_file_unreadable)
{
	static const char want[] = "failed to read SELinux contexts file \"/\": ";
	struct selinux_cfg cfg = { .enable = true, .contexts_path = "/" };
	struct selinux_labels *l = NULL;
	struct cradle_err e = { 0 };

	ck_assert_int_lt(selinux_labels_init(&cfg, &l, &e), 0);
	ck_assert_msg(strncmp(e.msg, want, sizeof(want) - 1) == 0, "msg: %s", e.msg);
	ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_to_kvm_bad_label)
{
	struct selinux_labels *l = open_labels(0);
	struct cradle_err e = { 0 };
	char *k;

	ck_assert_int_lt(selinux_labels_to_kvm(l, "nonsense", &k, &e), 0);
	ck_assert_ptr_null(k);
	ck_assert_str_eq(e.msg,
	                 "failed to get selinux kvm label: invalid SELinux context \"nonsense\"");
	selinux_labels_fini(l);
}
END_TEST

/* A policy without MLS has no level to make unique: no MCS, no count,
 * unless the pod names a level. */
START_TEST(test_no_mls_policy)
{
	struct selinux_labels *l = open_text("process = \"u:r:container_t\"\n"
	                                     "file = \"u:object_r:container_file_t\"\n",
	                                     0);
	char *p, *m;

	alloc_ok(l, NULL, false, &p, &m);
	ck_assert_str_eq(p, "u:r:container_t");
	ck_assert_str_eq(m, "u:object_r:container_file_t");
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	free(p);
	free(m);
	alloc_opts(l, NULL, NULL, NULL, "s0:c1,c2", &p, &m);
	ck_assert_str_eq(p, "u:r:container_t:s0:c1,c2");
	ck_assert_str_eq(m, "u:object_r:container_file_t:s0:c1,c2");
	ck_assert_uint_eq(selinux_labels_reserved(l), 1);
	fini_all(l, p, m);
}
END_TEST

START_TEST(test_apply_enabled_follows_host)
{
	ck_assert_int_eq(selinux_apply_enabled(), is_selinux_enabled() > 0);
}
END_TEST

/* ---- threads --------------------------------------------------------- */

/* Range 12 has 66 pairs; 4 threads holding up to 16 each keep the table
 * nearly full, so random probing misses and the scan runs too. */
#define T_RANGE 12
#define T_HOLD 16
#define T_ITER 3000

struct worker {
	struct selinux_labels *l;
	int bad;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char *held[T_HOLD] = { 0 };
	int i, slot;

	for (i = 0; i < T_ITER; i++) {
		struct cradle_err e = { 0 };
		char *p, *m;

		slot = i % T_HOLD;
		if (held[slot]) {
			selinux_labels_release(w->l, held[slot]);
			free(held[slot]);
			held[slot] = NULL;
		}
		if (selinux_labels_alloc(w->l, NULL, false, &p, &m, &e) < 0) {
			w->bad++;
			continue;
		}
		/* nobody else may hold what we were just given */
		if (selinux_labels_refs(w->l, p) != 1)
			w->bad++;
		free(m);
		held[slot] = p;
	}
	for (slot = 0; slot < T_HOLD; slot++) {
		selinux_labels_release(w->l, held[slot]);
		free(held[slot]);
	}
	return NULL;
}

START_TEST(test_threads_alloc_release)
{
	struct selinux_labels *l = open_labels(T_RANGE);
	struct worker w[4];
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++) {
		w[i].l = l;
		w[i].bad = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(w[i].bad, 0);
	}
	ck_assert_uint_eq(selinux_labels_reserved(l), 0);
	selinux_labels_fini(l);
}
END_TEST

static Suite *
selinux_suite(void)
{
	Suite *s = suite_create("selinux");

	unit_tcase(s, "rules", unit_scratch_setup, unit_scratch_teardown, 0,
	           UNIT_TESTS(test_level_format_accepted, test_level_format_refused,
	                      test_alloc_refuses_bad_level, test_alloc_container_labels,
	                      test_alloc_levels_unique, test_override_user_level_both,
	                      test_override_role_type_process_only, test_override_all_parts,
	                      test_override_empty_is_absent, test_override_invalid_part_refused,
	                      test_vm_kvm_type, test_vm_without_kvm_context_keeps_type,
	                      test_release_frees_level, test_reserve_release_refcount,
	                      test_user_level_shared_refcount, test_random_skips_reserved_levels,
	                      test_small_range_exhausted, test_disabled_empty_labels,
	                      test_category_range_bounds, test_missing_contexts_file_no_labels,
	                      test_contexts_file_syntax, test_contexts_file_bad_context,
	                      test_contexts_file_unreadable, test_to_kvm_bad_label,
	                      test_no_mls_policy, test_apply_enabled_follows_host));

	/* generous: TSan slows the contended loop considerably */
	unit_tcase(s, "threads", NULL, NULL, 120, UNIT_TESTS(test_threads_alloc_release));

	return s;
}

int
main(void)
{
	return unit_run(selinux_suite(), "test_selinux", 0);
}
