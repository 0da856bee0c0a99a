/* test_spec.c - the sandbox spec (sandbox/spec.c), one test per rule of
 * containerd's sandboxContainerSpec (pkg/cri/sbserver/podsandbox/
 * sandbox_run_linux.go) and buildLabels (podsandbox/helpers.go), each
 * named after its rule and asserting exact values and exact error texts.
 *
 * Every test starts from one fixture: a plain pod (POD namespaces, no
 * security context), a pause image with ENTRYPOINT ["/pause"], the runc
 * handler and a node with every optional feature off, then changes what
 * its rule is about.
 */
#include <check.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/spec.h"
#include "tests/unit/lib/unit.h"
#include "tests/unit/sandbox/libspec.h"

static struct {
	struct pod_config pod;
	struct image_config image;
	struct runtime_config runtime;
	struct node_config node;
	struct spec_input in;
	struct sandbox_spec spec;
	struct cradle_err err;
} F;

#define SC (F.pod.linux.security_context)
#define NSO (F.pod.linux.security_context.namespace_options)

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	unit_spec_input(&F.pod, &F.image, &F.runtime, &F.node, &F.in);
}

/* The security-context fields are freed here and cleared, so this stays
 * right whether or not pod_config_fini frees them too. */
static void
teardown(void)
{
	free(SC.run_as_username);
	free(SC.selinux_options.user);
	free(SC.selinux_options.role);
	free(SC.selinux_options.type);
	free(SC.selinux_options.level);
	free(SC.seccomp.localhost_ref);
	free(SC.seccomp_profile_path);
	free(SC.supplemental_groups.v);
	free(NSO.userns_options.uids.v);
	free(NSO.userns_options.gids.v);
	memset(&SC.selinux_options, 0, sizeof(SC.selinux_options));
	SC.run_as_username = NULL;
	SC.seccomp.localhost_ref = NULL;
	SC.seccomp_profile_path = NULL;
	memset(&SC.supplemental_groups, 0, sizeof(SC.supplemental_groups));
	memset(&NSO.userns_options, 0, sizeof(NSO.userns_options));
	unit_spec_input_fini(&F.pod, &F.image, &F.runtime);
	spec_fini(&F.spec);
}

/* Build and expect success; the spec is F.spec. */
static void
build_ok(void)
{
	int rc = spec_build(&F.in, &F.spec, &F.err);

	ck_assert_msg(rc == 0, "spec_build failed: %s", F.err.msg);
}

/* The same pod, privileged, built again. */
static void
rebuild_privileged(void)
{
	spec_fini(&F.spec);
	SC.privileged = true;
	build_ok();
}

/* Build and expect failure with exactly this code and message; a failed
 * build hands back a zeroed spec. */
static void
build_fails(int code, const char *msg)
{
	static const struct sandbox_spec zero;

	int rc = spec_build(&F.in, &F.spec, &F.err);
	/* the seccomp profile's errors are the spec options' */
	ck_assert_int_eq(rc, strncmp(msg, "failed to generate seccomp spec opts: ", 38) == 0
	                             ? SPEC_ERR_OPTS
	                             : -1);
	ck_assert_str_eq(F.err.msg, msg);
	ck_assert_int_eq(F.err.code, code);
	ck_assert(memcmp(&F.spec, &zero, sizeof(zero)) == 0);
}

static void
set_groups(const int64_t *g, size_t n)
{
	SC.supplemental_groups.v = calloc(n, sizeof(int64_t));
	ck_assert_ptr_nonnull(SC.supplemental_groups.v);
	memcpy(SC.supplemental_groups.v, g, n * sizeof(int64_t));
	SC.supplemental_groups.n = n;
}

static void
set_userns(int mode, size_t nu, size_t ng, uint32_t length)
{
	size_t i;

	NSO.userns_options.present = true;
	NSO.userns_options.mode = mode;
	NSO.userns_options.uids.n = nu;
	NSO.userns_options.gids.n = ng;
	NSO.userns_options.uids.v = calloc(nu + 1, sizeof(struct proto_idmap));
	NSO.userns_options.gids.v = calloc(ng + 1, sizeof(struct proto_idmap));
	ck_assert_ptr_nonnull(NSO.userns_options.uids.v);
	ck_assert_ptr_nonnull(NSO.userns_options.gids.v);
	for (i = 0; i < nu; i++)
		NSO.userns_options.uids.v[i] = (struct proto_idmap){ 100000, 0, length };
	for (i = 0; i < ng; i++)
		NSO.userns_options.gids.v[i] = (struct proto_idmap){ 200000, 0, length };
}

static const struct spec_mount *
find_mount(const char *dst)
{
	size_t i;

	for (i = 0; i < F.spec.n_mounts; i++)
		if (strcmp(F.spec.mounts[i].destination, dst) == 0)
			return (&F.spec.mounts[i]);
	return (NULL);
}

/* "a,b,c" of a string list, for comparing whole lists in one assertion. */
static const char *
joined(const struct proto_strs *s)
{
	static char buf[1024];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
		                        s->v[i]);
	return (buf);
}

static const char *
kv(const struct proto_kvs *kvs, const char *key)
{
	return (proto_kvs_get(kvs, key));
}

static const char *PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
			    "# a comment\n"
			    "\n"
			    "  daemon:x:1:1::/usr/sbin:/usr/sbin/nologin  \n"
			    "nobody:x:65534:65533:nobody:/nonexistent:/bin/false\n"
			    "app:x:1000:1001:app:/home/app:/bin/sh\n";
static const char *GROUP = "root:x:0:\n"
			   "staff:x:50:app\n"
			   "nogroup:x:65533:\n";

static void
image_files(void)
{
	F.image.etc_passwd = unit_strdup(PASSWD);
	F.image.etc_group = unit_strdup(GROUP);
}

/* --- process: args, env, cwd (sandboxContainerSpec) --- */

START_TEST(test_args_entrypoint_plus_cmd)
{
	ck_assert_int_eq(proto_strs_add(&F.image.entrypoint, "-v"), 0);
	ck_assert_int_eq(proto_strs_add(&F.image.cmd, "--a"), 0);
	ck_assert_int_eq(proto_strs_add(&F.image.cmd, "b"), 0);
	build_ok();
	ck_assert_str_eq(joined(&F.spec.args), "/pause,-v,--a,b");
}
END_TEST

START_TEST(test_args_cmd_only)
{
	proto_strs_fini(&F.image.entrypoint);
	ck_assert_int_eq(proto_strs_add(&F.image.cmd, "/pause"), 0);
	build_ok();
	ck_assert_str_eq(joined(&F.spec.args), "/pause");
}
END_TEST

START_TEST(test_args_both_empty_is_error)
{
	proto_strs_fini(&F.image.entrypoint);
	build_fails(CRADLE_INVALID_ARGUMENT, "invalid empty entrypoint and cmd in image config");
}
END_TEST

START_TEST(test_env_duplicates_collapsed)
{
	const char *env[] = { "A=1", "B=2", "A=3", "C", "B=", "D=4=5", "E=6", "E", "E=7" };
	size_t i;

	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		ck_assert_int_eq(proto_strs_add(&F.image.env, env[i]), 0);
	build_ok();
	/* last value wins in the slot of the first appearance; a bare "C"
	 * with no earlier C is dropped; "E" unsets E and "E=7" brings it
	 * back in its first slot */
	ck_assert_str_eq(joined(&F.spec.env), "A=3,B=,D=4=5,E=7");
}
END_TEST

START_TEST(test_env_empty_by_default)
{
	build_ok();
	ck_assert_uint_eq(F.spec.env.n, 0);
}
END_TEST

START_TEST(test_cwd_default)
{
	build_ok();
	ck_assert_str_eq(F.spec.cwd, "/");
}
END_TEST

START_TEST(test_cwd_from_image)
{
	F.image.working_dir = unit_strdup("/work");
	build_ok();
	ck_assert_str_eq(F.spec.cwd, "/work");
}
END_TEST

/* --- user (generateUserString, WithUser) --- */

START_TEST(test_user_uid_only)
{
	char buf[64];

	SC.has_run_as_user = true;
	SC.run_as_user = 1234;
	ck_assert_int_eq(spec_user_string(&F.pod, buf, sizeof(buf), &F.err), 0);
	ck_assert_str_eq(buf, "1234");
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 1234);
	ck_assert_uint_eq(F.spec.gid, 0);
}
END_TEST

START_TEST(test_user_uid_gid)
{
	char buf[64];

	SC.has_run_as_user = true;
	SC.run_as_user = 1234;
	SC.has_run_as_group = true;
	SC.run_as_group = 5678;
	ck_assert_int_eq(spec_user_string(&F.pod, buf, sizeof(buf), &F.err), 0);
	ck_assert_str_eq(buf, "1234:5678");
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 1234);
	ck_assert_uint_eq(F.spec.gid, 5678);
}
END_TEST

START_TEST(test_user_none_is_empty_string)
{
	char buf[64] = "junk";

	ck_assert_int_eq(spec_user_string(&F.pod, buf, sizeof(buf), &F.err), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_user_group_without_user_is_error)
{
	char buf[64];

	SC.has_run_as_group = true;
	SC.run_as_group = 7;
	ck_assert_int_lt(spec_user_string(&F.pod, buf, sizeof(buf), &F.err), 0);
	ck_assert_str_eq(F.err.msg, "user group \"7\" is specified without user");
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	build_fails(CRADLE_INVALID_ARGUMENT, "user group \"7\" is specified without user");
}
END_TEST

START_TEST(test_user_username_used_without_uid)
{
	char buf[64];

	image_files();
	SC.run_as_username = unit_strdup("app");
	SC.has_run_as_group = true;
	SC.run_as_group = 50;
	ck_assert_int_eq(spec_user_string(&F.pod, buf, sizeof(buf), &F.err), 0);
	ck_assert_str_eq(buf, "app:50");
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 1000);
	ck_assert_uint_eq(F.spec.gid, 50);
	/* run_as_user, when given, wins over the name */
	SC.has_run_as_user = true;
	SC.run_as_user = 7;
	ck_assert_int_eq(spec_user_string(&F.pod, buf, sizeof(buf), &F.err), 0);
	ck_assert_str_eq(buf, "7:50");
}
END_TEST

START_TEST(test_user_from_image)
{
	F.image.user = unit_strdup("65535:65535");
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 65535);
	ck_assert_uint_eq(F.spec.gid, 65535);
	/* the security context wins over the image */
	spec_fini(&F.spec);
	SC.has_run_as_user = true;
	SC.run_as_user = 10;
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 10);
	ck_assert_uint_eq(F.spec.gid, 0);
}
END_TEST

START_TEST(test_user_default_root)
{
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 0);
	ck_assert_uint_eq(F.spec.gid, 0);
	ck_assert_uint_eq(F.spec.n_additional_gids, 1);
	ck_assert_uint_eq(F.spec.additional_gids[0], 0);
}
END_TEST

START_TEST(test_user_name_lookup_passwd)
{
	uint32_t u = 9, g = 9;

	image_files();
	ck_assert_int_eq(spec_resolve_user("app", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 1001);
	/* white space around a line is trimmed */
	ck_assert_int_eq(spec_resolve_user("daemon", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1);
	ck_assert_uint_eq(g, 1);
	F.image.user = unit_strdup("nobody");
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 65534);
	ck_assert_uint_eq(F.spec.gid, 65533);
}
END_TEST

START_TEST(test_user_mixed_forms)
{
	uint32_t u, g;

	image_files();
	/* name:group - both looked up; a name gives only the uid */
	ck_assert_int_eq(spec_resolve_user("app:staff", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 50);
	/* uid:group */
	ck_assert_int_eq(spec_resolve_user("42:nogroup", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 42);
	ck_assert_uint_eq(g, 65533);
	/* name:gid */
	ck_assert_int_eq(spec_resolve_user("app:7", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 7);
	/* uid:gid - no lookup at all, even with no files */
	ck_assert_int_eq(spec_resolve_user("1000:3", NULL, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 3);
}
END_TEST

START_TEST(test_user_numeric_found_gets_passwd_gid)
{
	uint32_t u, g;

	image_files();
	ck_assert_int_eq(spec_resolve_user("1000", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 1001);
}
END_TEST

START_TEST(test_user_numeric_missing_gets_gid0)
{
	uint32_t u, g = 9;

	image_files();
	ck_assert_int_eq(spec_resolve_user("4242", &F.image, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 4242);
	ck_assert_uint_eq(g, 0);
	/* no passwd file at all: the same */
	g = 9;
	ck_assert_int_eq(spec_resolve_user("1000", NULL, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 0);
}
END_TEST

START_TEST(test_user_unknown_name_error)
{
	uint32_t u, g;

	image_files();
	ck_assert_int_lt(spec_resolve_user("ghost", &F.image, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg,
	                 "unable to find user ghost: no matching entries in passwd file");
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_int_lt(spec_resolve_user("ghost:staff", &F.image, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg,
	                 "unable to find user ghost: no matching entries in passwd file");
	/* a comment line is not an entry */
	ck_assert_int_lt(spec_resolve_user("# a comment", &F.image, &u, &g, &F.err), 0);
	/* no passwd at all */
	ck_assert_int_lt(spec_resolve_user("app", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "unable to find user app: no matching entries in passwd file");
	F.image.user = unit_strdup("ghost");
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "unable to find user ghost: no matching entries in passwd file");
}
END_TEST

START_TEST(test_user_unknown_group_error)
{
	uint32_t u, g;

	image_files();
	ck_assert_int_lt(spec_resolve_user("app:wheel", &F.image, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg,
	                 "unable to find group wheel: no matching entries in group file");
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_int_lt(spec_resolve_user("0:wheel", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg,
	                 "unable to find group wheel: no matching entries in group file");
}
END_TEST

START_TEST(test_user_id_over_int32_refused)
{
	uint32_t u, g;

	ck_assert_int_eq(spec_resolve_user("2147483647:2147483647", NULL, &u, &g, &F.err), 0);
	ck_assert_uint_eq(u, 2147483647u);
	ck_assert_int_lt(spec_resolve_user("2147483648", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "invalid USER value \"2147483648\": uid out of range");
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_int_lt(spec_resolve_user("1:4294967296", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "invalid USER value \"1:4294967296\": gid out of range");
	ck_assert_int_lt(spec_resolve_user("-1", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "invalid USER value \"-1\": uid out of range");
	/* beyond int64: still a number, still out of range */
	ck_assert_int_lt(spec_resolve_user("99999999999999999999", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg,
	                 "invalid USER value \"99999999999999999999\": uid out of range");
	/* an id in the image's passwd is held to the same range */
	F.image.etc_passwd = unit_strdup("big:x:3000000000:0::/:/bin/sh\n");
	ck_assert_int_lt(spec_resolve_user("big", &F.image, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "invalid USER value \"big\": uid out of range");
	/* through the security context */
	SC.has_run_as_user = true;
	SC.run_as_user = 4294967295LL;
	build_fails(CRADLE_INVALID_ARGUMENT, "invalid USER value \"4294967295\": uid out of range");
}
END_TEST

START_TEST(test_user_too_many_parts_error)
{
	uint32_t u, g;

	ck_assert_int_lt(spec_resolve_user("1:2:3", NULL, &u, &g, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "invalid USER value 1:2:3");
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_supplemental_groups_kept_with_user)
{
	const int64_t g[] = { 3000, 2000, 3000, 65535 };

	/* containerd's WithUser would leave only the primary gid here;
	 * cradle keeps the pod's groups, merged, sorted and unique */
	F.image.user = unit_strdup("65535:65535");
	set_groups(g, 4);
	build_ok();
	ck_assert_uint_eq(F.spec.n_additional_gids, 3);
	ck_assert_uint_eq(F.spec.additional_gids[0], 2000);
	ck_assert_uint_eq(F.spec.additional_gids[1], 3000);
	ck_assert_uint_eq(F.spec.additional_gids[2], 65535);
}
END_TEST

START_TEST(test_supplemental_groups_without_user)
{
	const int64_t g[] = { 5, 1 };

	set_groups(g, 2);
	build_ok();
	ck_assert_uint_eq(F.spec.n_additional_gids, 3);
	ck_assert_uint_eq(F.spec.additional_gids[0], 0);
	ck_assert_uint_eq(F.spec.additional_gids[1], 1);
	ck_assert_uint_eq(F.spec.additional_gids[2], 5);
}
END_TEST

START_TEST(test_supplemental_groups_out_of_range_refused)
{
	const int64_t g[] = { 5, -1 };

	set_groups(g, 2);
	build_fails(CRADLE_INVALID_ARGUMENT, "supplemental group -1 out of range");
}
END_TEST

/* --- privileges, oom (WithPodOOMScoreAdj), hostname, rootfs --- */

START_TEST(test_no_new_privs)
{
	build_ok();
	ck_assert(F.spec.no_new_privs);
	rebuild_privileged();
	ck_assert(F.spec.no_new_privs);
}
END_TEST

START_TEST(test_caps_default_14)
{
	const uint64_t want = (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) |
	                      (1ULL << CAP_FSETID) | (1ULL << CAP_FOWNER) | (1ULL << CAP_MKNOD) |
	                      (1ULL << CAP_NET_RAW) | (1ULL << CAP_SETGID) | (1ULL << CAP_SETUID) |
	                      (1ULL << CAP_SETFCAP) | (1ULL << CAP_SETPCAP) |
	                      (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SYS_CHROOT) |
	                      (1ULL << CAP_KILL) | (1ULL << CAP_AUDIT_WRITE);

	ck_assert_uint_eq(spec_default_caps(), want);
	ck_assert_int_eq(__builtin_popcountll(spec_default_caps()), 14);
	build_ok();
	ck_assert_uint_eq(F.spec.cap_bounding, want);
	ck_assert_uint_eq(F.spec.cap_effective, want);
	ck_assert_uint_eq(F.spec.cap_permitted, want);
	ck_assert_uint_eq(F.spec.cap_inheritable, 0);
	ck_assert_uint_eq(F.spec.cap_ambient, 0);
}
END_TEST

START_TEST(test_caps_privileged_unchanged)
{
	SC.privileged = true;
	build_ok();
	ck_assert_uint_eq(F.spec.cap_bounding, spec_default_caps());
	ck_assert_uint_eq(F.spec.cap_effective, spec_default_caps());
	ck_assert_uint_eq(F.spec.cap_permitted, spec_default_caps());
	ck_assert_uint_eq(F.spec.cap_inheritable, 0);
	ck_assert_uint_eq(F.spec.cap_ambient, 0);
}
END_TEST

START_TEST(test_oom_default)
{
	/* not restricted: -998 even when the daemon's own is higher */
	F.node.daemon_oom_score_adj = 500;
	build_ok();
	ck_assert_int_eq(F.spec.oom_score_adj, -998);
}
END_TEST

START_TEST(test_oom_restricted_raises)
{
	F.node.restrict_oom_score_adj = true;
	F.node.daemon_oom_score_adj = -500;
	build_ok();
	ck_assert_int_eq(F.spec.oom_score_adj, -500);
	/* never lowered */
	spec_fini(&F.spec);
	F.node.daemon_oom_score_adj = -999;
	build_ok();
	ck_assert_int_eq(F.spec.oom_score_adj, -998);
}
END_TEST

START_TEST(test_hostname)
{
	build_ok();
	ck_assert_str_eq(F.spec.hostname, "web-0");
	spec_fini(&F.spec);
	free(F.pod.hostname);
	F.pod.hostname = unit_strdup("");
	build_ok();
	ck_assert_ptr_null(F.spec.hostname);
}
END_TEST

START_TEST(test_rootfs_readonly)
{
	SC.readonly_rootfs = false;
	build_ok();
	ck_assert(F.spec.rootfs_readonly);
}
END_TEST

/* --- namespaces (sandboxContainerSpec's namespace options) --- */

START_TEST(test_ns_node_network_removes_uts)
{
	NSO.network = NS_NODE;
	build_ok();
	ck_assert(!F.spec.ns_net);
	ck_assert(!F.spec.ns_uts);
	ck_assert_ptr_null(F.spec.netns_path);
	ck_assert_ptr_null(F.spec.hostname);
	ck_assert(F.spec.ns_pid);
	ck_assert(F.spec.ns_ipc);
}
END_TEST

START_TEST(test_ns_node_pid_ipc)
{
	NSO.pid = NS_NODE;
	NSO.ipc = NS_NODE;
	build_ok();
	ck_assert(!F.spec.ns_pid);
	ck_assert(!F.spec.ns_ipc);
	ck_assert(F.spec.ns_net);
	ck_assert(F.spec.ns_uts);
}
END_TEST

START_TEST(test_ns_pod_container_target_new)
{
	const int modes[] = { NS_POD, NS_CONTAINER, NS_TARGET };
	size_t i;

	for (i = 0; i < 3; i++) {
		NSO.network = NSO.pid = NSO.ipc = modes[i];
		build_ok();
		ck_assert(F.spec.ns_net);
		ck_assert(F.spec.ns_uts);
		ck_assert(F.spec.ns_pid);
		ck_assert(F.spec.ns_ipc);
		ck_assert(!F.spec.ns_user);
		ck_assert_str_eq(F.spec.netns_path, NETNS);
		spec_fini(&F.spec);
	}
}
END_TEST

START_TEST(test_mount_always_new)
{
	NSO.network = NSO.pid = NSO.ipc = NS_NODE;
	build_ok();
	ck_assert(F.spec.ns_mnt);
}
END_TEST

START_TEST(test_userns_absent_none)
{
	build_ok();
	ck_assert(!F.spec.ns_user);
}
END_TEST

START_TEST(test_userns_pod_one_mapping)
{
	set_userns(NS_POD, 1, 1, 65536);
	build_ok();
	ck_assert(F.spec.ns_user);
	ck_assert_uint_eq(F.spec.uid_map.container_id, 0);
	ck_assert_uint_eq(F.spec.uid_map.host_id, 100000);
	ck_assert_uint_eq(F.spec.uid_map.length, 65536);
	ck_assert_uint_eq(F.spec.gid_map.container_id, 0);
	ck_assert_uint_eq(F.spec.gid_map.host_id, 200000);
	ck_assert_uint_eq(F.spec.gid_map.length, 65536);
}
END_TEST

START_TEST(test_userns_pod_needs_exactly_one)
{
	set_userns(NS_POD, 2, 1, 10);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: UID mapping: only one "
	                                     "mapping line supported, got 2 mapping lines");
	teardown();
	setup();
	set_userns(NS_POD, 1, 3, 10);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: GID mapping: only one "
	                                     "mapping line supported, got 3 mapping lines");
	teardown();
	setup();
	set_userns(NS_POD, 1, 0, 10);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: can't use user "
	                                     "namespace mode \"POD\" without UID and GID mappings");
	teardown();
	setup();
	set_userns(NS_POD, 0, 0, 10);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: can't use user "
	                                     "namespace mode \"POD\" without UID and GID mappings");
}
END_TEST

START_TEST(test_userns_pod_length_at_least_one)
{
	set_userns(NS_POD, 1, 1, 0);
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "user namespace configuration: UID mapping: invalid mapping length: 0");
}
END_TEST

START_TEST(test_userns_node_refuses_mappings)
{
	set_userns(NS_NODE, 0, 0, 1);
	build_ok();
	ck_assert(!F.spec.ns_user);
	spec_fini(&F.spec);
	teardown();
	setup();
	set_userns(NS_NODE, 1, 0, 1);
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "user namespace configuration: can't use user "
	            "namespace mode \"NODE\" with mappings. Got 1 UID mappings and 0 GID mappings");
}
END_TEST

START_TEST(test_userns_other_mode_error)
{
	set_userns(NS_CONTAINER, 1, 1, 1);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: unsupported user "
	                                     "namespace mode: \"CONTAINER\"");
	teardown();
	setup();
	set_userns(NS_TARGET, 0, 0, 1);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: unsupported user "
	                                     "namespace mode: \"TARGET\"");
	teardown();
	setup();
	set_userns(7, 0, 0, 1);
	build_fails(CRADLE_INVALID_ARGUMENT, "user namespace configuration: unsupported user "
	                                     "namespace mode: \"7\"");
}
END_TEST

/* --- mounts, masked and read-only paths, devices (oci/spec.go
 *     populateDefaultUnixSpec, sandboxContainerSpec) --- */

START_TEST(test_mounts_table)
{
	static const struct {
		const char *dst, *type, *src, *opts;
	} want[] = {
		{ "/proc", "proc", "proc", "nosuid,noexec,nodev" },
		{ "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k" },
		{ "/dev/pts", "devpts", "devpts",
		  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5" },
		{ "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev" },
		{ "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro" },
		{ "/dev/shm", "bind", SHM, "rbind,ro,nosuid,nodev,noexec" },
		{ "/etc/resolv.conf", "bind", RESOLV, "rbind,ro,nosuid,nodev,noexec" },
	};
	size_t i;

	build_ok();
	ck_assert_uint_eq(F.spec.n_mounts, 7);
	for (i = 0; i < 7; i++) {
		const struct spec_mount *m = &F.spec.mounts[i];

		ck_assert_str_eq(m->destination, want[i].dst);
		ck_assert_str_eq(m->type, want[i].type);
		ck_assert_str_eq(m->source, want[i].src);
		ck_assert_str_eq(joined(&m->options), want[i].opts);
	}
}
END_TEST

START_TEST(test_sys_rw_when_privileged)
{
	SC.privileged = true;
	build_ok();
	ck_assert_uint_eq(F.spec.n_mounts, 7);
	ck_assert_str_eq(joined(&find_mount("/sys")->options), "nosuid,noexec,nodev,rw");
	/* nothing else changes */
	ck_assert_str_eq(joined(&find_mount("/dev/shm")->options), "rbind,ro,nosuid,nodev,noexec");
	ck_assert_str_eq(joined(&find_mount("/proc")->options), "nosuid,noexec,nodev");
}
END_TEST

START_TEST(test_shm_host_for_ipc_node)
{
	NSO.ipc = NS_NODE;
	F.in.shm_path = NULL;
	build_ok();
	ck_assert_str_eq(find_mount("/dev/shm")->source, "/dev/shm");
	ck_assert_str_eq(joined(&find_mount("/dev/shm")->options), "rbind,ro,nosuid,nodev,noexec");
}
END_TEST

START_TEST(test_masked_paths)
{
	const char *want = "/proc/acpi,/proc/asound,/proc/kcore,/proc/keys,/proc/latency_stats,"
			   "/proc/timer_list,/proc/timer_stats,/proc/sched_debug,/sys/firmware,"
			   "/sys/devices/virtual/powercap,/proc/scsi";

	build_ok();
	ck_assert_str_eq(joined(&F.spec.masked_paths), want);
	rebuild_privileged();
	ck_assert_str_eq(joined(&F.spec.masked_paths), want);
}
END_TEST

START_TEST(test_readonly_paths)
{
	const char *want = "/proc/bus,/proc/fs,/proc/irq,/proc/sys,/proc/sysrq-trigger";

	build_ok();
	ck_assert_str_eq(joined(&F.spec.readonly_paths), want);
	rebuild_privileged();
	ck_assert_str_eq(joined(&F.spec.readonly_paths), want);
}
END_TEST

START_TEST(test_devices_deny_all)
{
	build_ok();
	ck_assert(F.spec.devices_deny_all);
	rebuild_privileged();
	ck_assert(F.spec.devices_deny_all);
}
END_TEST

/* --- sysctls (sandboxContainerSpec) --- */

START_TEST(test_sysctls_copied)
{
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net.ipv4.ip_forward", "1"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "kernel.shmmax", "65536"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "kernel.msgmax", "8192"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "kernel.sem", "250 256000 32 1024"),
	                 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "fs.mqueue.msg_max", "10"), 0);
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 5);
	ck_assert_str_eq(F.spec.sysctls.v[0].key, "net.ipv4.ip_forward");
	ck_assert_str_eq(F.spec.sysctls.v[0].value, "1");
	ck_assert_str_eq(kv(&F.spec.sysctls, "kernel.shmmax"), "65536");
	ck_assert_str_eq(kv(&F.spec.sysctls, "kernel.msgmax"), "8192");
	ck_assert_str_eq(kv(&F.spec.sysctls, "kernel.sem"), "250 256000 32 1024");
	ck_assert_str_eq(kv(&F.spec.sysctls, "fs.mqueue.msg_max"), "10");
}
END_TEST

START_TEST(test_sysctl_slash_form_normalized)
{
	ck_assert_int_eq(spec_check_sysctl("net/ipv4/ip_forward", false, false, &F.err), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net/ipv4/ip_forward", "1"), 0);
	/* kubelet's NormalizeName: a dot inside a component survives as '/' */
	ck_assert_int_eq(
		proto_kvs_add(&F.pod.linux.sysctls, "net/ipv4/conf/eno2.100/rp_filter", "2"), 0);
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 2);
	ck_assert_str_eq(kv(&F.spec.sysctls, "net.ipv4.ip_forward"), "1");
	ck_assert_str_eq(kv(&F.spec.sysctls, "net.ipv4.conf.eno2/100.rp_filter"), "2");
}
END_TEST

START_TEST(test_sysctl_not_namespaced_refused)
{
	const char *bad[] = { "vm.swappiness", "kernel.hostname", "kernel.domainname",
		              "kernel.pid_max", "fs.file-max" };
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "sysctl \"%s\" is not namespaced", bad[i]);
		ck_assert_int_lt(spec_check_sysctl(bad[i], false, false, &F.err), 0);
		ck_assert_str_eq(F.err.msg, want);
		ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	}
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "vm/swappiness", "1"), 0);
	build_fails(CRADLE_INVALID_ARGUMENT, "sysctl \"vm/swappiness\" is not namespaced");
}
END_TEST

START_TEST(test_sysctl_invalid_name_refused)
{
	const char *bad[] = { "net..ipv4",  "net.",    "net/ipv4//x",
		              "net.ipv4./", "net.a b", "/net/ipv4" };
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "sysctl \"%s\" is not a valid name", bad[i]);
		ck_assert_int_lt(spec_check_sysctl(bad[i], false, false, &F.err), 0);
		ck_assert_str_eq(F.err.msg, want);
	}
	/* a component of '/' only would become ".." under /proc/sys */
	ck_assert_int_lt(spec_check_sysctl("net.ipv4.//.x", false, false, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "sysctl \"net.ipv4.//.x\" is not a valid name");
	/* the same climb written in the '/' form normalises to just that */
	ck_assert_int_lt(spec_check_sysctl("net/ipv4/../x", false, false, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "sysctl \"net/ipv4/../x\" is not a valid name");
	/* while a dot inside a '/'-form component is just a character */
	ck_assert_int_eq(
		spec_check_sysctl("net/ipv4/conf/eno2.100/rp_filter", false, false, &F.err), 0);
}
END_TEST

START_TEST(test_sysctl_net_with_host_network_refused)
{
	ck_assert_int_lt(spec_check_sysctl("net.ipv4.ip_forward", true, false, &F.err), 0);
	ck_assert_str_eq(F.err.msg, "sysctl \"net.ipv4.ip_forward\" not allowed with host network");
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	/* IPC ones are fine there */
	ck_assert_int_eq(spec_check_sysctl("kernel.shmmax", true, false, &F.err), 0);
	NSO.network = NS_NODE;
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net.core.somaxconn", "1024"), 0);
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "sysctl \"net.core.somaxconn\" not allowed with host network");
}
END_TEST

START_TEST(test_sysctl_ipc_with_host_ipc_refused)
{
	const char *ipc[] = { "kernel.shmall", "kernel.msgmnb", "kernel.sem",
		              "fs.mqueue.queues_max" };
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++) {
		snprintf(want, sizeof(want), "sysctl \"%s\" not allowed with host IPC", ipc[i]);
		ck_assert_int_lt(spec_check_sysctl(ipc[i], false, true, &F.err), 0);
		ck_assert_str_eq(F.err.msg, want);
	}
	ck_assert_int_eq(spec_check_sysctl("net.ipv4.ip_forward", false, true, &F.err), 0);
	NSO.ipc = NS_NODE;
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "kernel.sem", "1 2 3 4"), 0);
	build_fails(CRADLE_INVALID_ARGUMENT, "sysctl \"kernel.sem\" not allowed with host IPC");
}
END_TEST

START_TEST(test_sysctl_default_unprivileged_ports)
{
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 0);
	spec_fini(&F.spec);
	F.node.enable_unprivileged_ports = true;
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 1);
	ck_assert_str_eq(kv(&F.spec.sysctls, "net.ipv4.ip_unprivileged_port_start"), "0");
}
END_TEST

START_TEST(test_sysctl_default_icmp)
{
	F.node.enable_unprivileged_icmp = true;
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 1);
	ck_assert_str_eq(kv(&F.spec.sysctls, "net.ipv4.ping_group_range"), "0 2147483647");
	/* not when the daemon runs in a user namespace */
	spec_fini(&F.spec);
	F.node.daemon_in_userns = true;
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 0);
	/* nor when the pod has one */
	spec_fini(&F.spec);
	F.node.daemon_in_userns = false;
	set_userns(NS_POD, 1, 1, 65536);
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 0);
}
END_TEST

START_TEST(test_sysctl_defaults_not_with_host_network)
{
	F.node.enable_unprivileged_ports = true;
	F.node.enable_unprivileged_icmp = true;
	NSO.network = NS_NODE;
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 0);
}
END_TEST

START_TEST(test_sysctl_given_key_not_overridden)
{
	F.node.enable_unprivileged_ports = true;
	F.node.enable_unprivileged_icmp = true;
	ck_assert_int_eq(
		proto_kvs_add(&F.pod.linux.sysctls, "net/ipv4/ip_unprivileged_port_start", "1024"),
		0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net.ipv4.ping_group_range", "1 1"),
	                 0);
	build_ok();
	ck_assert_uint_eq(F.spec.sysctls.n, 2);
	ck_assert_str_eq(kv(&F.spec.sysctls, "net.ipv4.ip_unprivileged_port_start"), "1024");
	ck_assert_str_eq(kv(&F.spec.sysctls, "net.ipv4.ping_group_range"), "1 1");
}
END_TEST

/* --- cgroups (getCgroupsPath, podsandbox/helpers_linux.go) --- */

static void
check_cgroup(const char *parent, const char *def, const char *want)
{
	char *p = spec_cgroups_path(parent, def, ID);

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, want);
	free(p);
}

START_TEST(test_cgroup_slice_rule)
{
	check_cgroup("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
	             "/k8s.io", "kubepods-burstable-pod1.slice:cri-containerd:" ID);
	check_cgroup("/kubepods.slice/", "/k8s.io", "kubepods.slice:cri-containerd:" ID);
	F.pod.linux.cgroup_parent = unit_strdup("/system.slice");
	build_ok();
	ck_assert_str_eq(F.spec.cgroups_path, "system.slice:cri-containerd:" ID);
}
END_TEST

START_TEST(test_cgroup_parent_id_rule)
{
	check_cgroup("/kubepods/burstable/pod1", "/k8s.io", "/kubepods/burstable/pod1/" ID);
	/* filepath.Join cleans the parent */
	check_cgroup("/kubepods//burstable/./pod1/", "/k8s.io", "/kubepods/burstable/pod1/" ID);
	check_cgroup("kubepods", "/k8s.io", "kubepods/" ID);
	check_cgroup("/", "/k8s.io", "/" ID);
	/* ".slice" must end the last element, not just appear in it */
	check_cgroup("/a.slice/b", "/k8s.io", "/a.slice/b/" ID);
	F.pod.linux.cgroup_parent = unit_strdup("/kubepods/pod1");
	build_ok();
	ck_assert_str_eq(F.spec.cgroups_path, "/kubepods/pod1/" ID);
}
END_TEST

START_TEST(test_cgroup_default_parent)
{
	check_cgroup(NULL, "/k8s.io", "/k8s.io/" ID);
	check_cgroup("", "/cradle", "/cradle/" ID);
	check_cgroup(NULL, NULL, "/k8s.io/" ID);
	build_ok();
	ck_assert_str_eq(F.spec.cgroups_path, "/k8s.io/" ID);
}
END_TEST

START_TEST(test_cgroup_dotdot_refused)
{
	ck_assert_ptr_null(spec_cgroups_path("/kubepods/../../etc", "/k8s.io", ID));
	ck_assert_ptr_null(spec_cgroups_path("..", "/k8s.io", ID));
	ck_assert_ptr_null(spec_cgroups_path("../x.slice", "/k8s.io", ID));
	/* ".." inside a name is just a name */
	check_cgroup("/a..b", "/k8s.io", "/a..b/" ID);
	F.pod.linux.cgroup_parent = unit_strdup("/kubepods/../x");
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "invalid cgroup parent \"/kubepods/../x\": \"..\" is not allowed");
}
END_TEST

START_TEST(test_cpu_shares_2)
{
	F.pod.linux.resources.present = true;
	F.pod.linux.resources.cpu_shares = 1024;
	build_ok();
	ck_assert_uint_eq(F.spec.cpu_shares, 2);
}
END_TEST

/* --- annotations (DefaultCRIAnnotations) --- */

START_TEST(test_annotations_passthrough_glob)
{
	ck_assert_int_eq(proto_strs_add(&F.runtime.pod_annotations, "io.katacontainers.*"), 0);
	ck_assert_int_eq(proto_strs_add(&F.runtime.pod_annotations, "example.com/?"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "io.katacontainers.config.a", "1"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "example.com/x", "2"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "example.com/xy", "3"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "other", "4"), 0);
	/* path.Match: '*' does not cross a '/' */
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "io.katacontainers.x/y", "5"), 0);
	build_ok();
	ck_assert_str_eq(kv(&F.spec.annotations, "io.katacontainers.config.a"), "1");
	ck_assert_str_eq(kv(&F.spec.annotations, "example.com/x"), "2");
	ck_assert_ptr_null(kv(&F.spec.annotations, "example.com/xy"));
	ck_assert_ptr_null(kv(&F.spec.annotations, "other"));
	ck_assert_ptr_null(kv(&F.spec.annotations, "io.katacontainers.x/y"));
	/* two pass-through + six defaults */
	ck_assert_uint_eq(F.spec.annotations.n, 8);
}
END_TEST

START_TEST(test_annotations_none_without_patterns)
{
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "a", "1"), 0);
	build_ok();
	ck_assert_ptr_null(kv(&F.spec.annotations, "a"));
	ck_assert_uint_eq(F.spec.annotations.n, 6);
}
END_TEST

START_TEST(test_annotations_resources)
{
	build_ok();
	ck_assert_ptr_null(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-cpu-period"));
	spec_fini(&F.spec);
	F.pod.linux.resources.present = true;
	F.pod.linux.resources.cpu_period = 100000;
	F.pod.linux.resources.cpu_quota = -1;
	F.pod.linux.resources.cpu_shares = 1024;
	F.pod.linux.resources.memory_limit_in_bytes = 9223372036854775807LL;
	build_ok();
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-cpu-period"), "100000");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-cpu-quota"), "-1");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-cpu-shares"), "1024");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-memory"),
	                 "9223372036854775807");
	ck_assert_uint_eq(F.spec.annotations.n, 10);
}
END_TEST

START_TEST(test_annotations_defaults_win)
{
	ck_assert_int_eq(proto_strs_add(&F.runtime.pod_annotations, "io.kubernetes.cri.*"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "io.kubernetes.cri.sandbox-id", "x"), 0);
	ck_assert_int_eq(
		proto_kvs_add(&F.pod.annotations, "io.kubernetes.cri.container-type", "container"),
		0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.annotations, "io.kubernetes.cri.extra", "e"), 0);
	F.pod.log_directory = unit_strdup("/var/log/pods/default_web_a1b2-c3");
	build_ok();
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-id"), ID);
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-namespace"), "default");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-uid"), "a1b2-c3");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-name"), "web");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-log-directory"),
	                 "/var/log/pods/default_web_a1b2-c3");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.container-type"), "sandbox");
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.extra"), "e");
	ck_assert_uint_eq(F.spec.annotations.n, 7);
}
END_TEST

START_TEST(test_annotations_log_directory_empty)
{
	build_ok();
	ck_assert_str_eq(kv(&F.spec.annotations, "io.kubernetes.cri.sandbox-log-directory"), "");
}
END_TEST

/* --- labels (buildLabels) --- */

START_TEST(test_labels_reserved_filtered)
{
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "containerd.io/gc.ref", "x"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "io.cri-containerd.kind", "container"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "io.cri-containerd.image", "managed"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "org.opencontainers.image.title", "pause"),
	                 0);
	build_ok();
	ck_assert_ptr_null(kv(&F.spec.labels, "containerd.io/gc.ref"));
	ck_assert_ptr_null(kv(&F.spec.labels, "io.cri-containerd.image"));
	ck_assert_str_eq(kv(&F.spec.labels, "org.opencontainers.image.title"), "pause");
	ck_assert_str_eq(kv(&F.spec.labels, "io.cri-containerd.kind"), "sandbox");
	ck_assert_uint_eq(F.spec.labels.n, 2);
}
END_TEST

START_TEST(test_labels_oversize_filtered)
{
	char *v = malloc(4097);

	ck_assert_ptr_nonnull(v);
	memset(v, 'v', 4096);
	v[4096 - 3] = '\0'; /* "big" + 4093 = 4096: kept */
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "big", v), 0);
	v[4096 - 3] = 'v';
	v[4096 - 2] = '\0'; /* "bigger" + 4094 = 4100: dropped */
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "bigger", v), 0);
	free(v);
	build_ok();
	ck_assert_uint_eq(strlen(kv(&F.spec.labels, "big")), 4093);
	ck_assert_ptr_null(kv(&F.spec.labels, "bigger"));
}
END_TEST

START_TEST(test_labels_pod_wins)
{
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "app", "image"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "tier", "base"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.labels, "app", "pod"), 0);
	/* the reserved filter is for image labels only */
	ck_assert_int_eq(proto_kvs_add(&F.pod.labels, "containerd.io/x", "y"), 0);
	build_ok();
	ck_assert_str_eq(kv(&F.spec.labels, "app"), "pod");
	ck_assert_str_eq(kv(&F.spec.labels, "tier"), "base");
	ck_assert_str_eq(kv(&F.spec.labels, "containerd.io/x"), "y");
}
END_TEST

START_TEST(test_labels_kind_sandbox)
{
	ck_assert_int_eq(proto_kvs_add(&F.pod.labels, "io.cri-containerd.kind", "container"), 0);
	build_ok();
	ck_assert_str_eq(kv(&F.spec.labels, "io.cri-containerd.kind"), "sandbox");
	ck_assert_uint_eq(F.spec.labels.n, 1);
}
END_TEST

/* --- seccomp (generateSeccompSpecOpts, podsandbox/container_linux.go) --- */

static void
seccomp_struct(int type, const char *ref)
{
	SC.seccomp.present = true;
	SC.seccomp.profile_type = type;
	SC.seccomp.localhost_ref = ref ? unit_strdup(ref) : NULL;
}

START_TEST(test_seccomp_runtime_default)
{
	seccomp_struct(SECCOMP_PROFILE_RUNTIME_DEFAULT, NULL);
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_RUNTIME_DEFAULT);
	ck_assert_ptr_null(F.spec.seccomp_profile);
}
END_TEST

START_TEST(test_seccomp_unconfined)
{
	seccomp_struct(SECCOMP_PROFILE_UNCONFINED, NULL);
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
	ck_assert_ptr_null(F.spec.seccomp_profile);
}
END_TEST

START_TEST(test_seccomp_localhost)
{
	seccomp_struct(SECCOMP_PROFILE_LOCALHOST, "/var/lib/kubelet/seccomp/p.json");
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_LOCALHOST);
	ck_assert_str_eq(F.spec.seccomp_profile, "/var/lib/kubelet/seccomp/p.json");
	/* a "localhost/" prefix is trimmed */
	spec_fini(&F.spec);
	free(SC.seccomp.localhost_ref);
	SC.seccomp.localhost_ref = unit_strdup("localhost//etc/p.json");
	build_ok();
	ck_assert_str_eq(F.spec.seccomp_profile, "/etc/p.json");
}
END_TEST

START_TEST(test_seccomp_localhost_relative_error)
{
	seccomp_struct(SECCOMP_PROFILE_LOCALHOST, "profiles/p.json");
	build_fails(
		CRADLE_INVALID_ARGUMENT,
		"failed to generate seccomp spec opts: seccomp localhost profile \"profiles/p.json\" is not an absolute path");
	teardown();
	setup();
	seccomp_struct(SECCOMP_PROFILE_LOCALHOST, NULL);
	build_fails(
		CRADLE_INVALID_ARGUMENT,
		"failed to generate seccomp spec opts: seccomp localhost profile \"\" is not an absolute path");
}
END_TEST

START_TEST(test_seccomp_privileged_none)
{
	SC.privileged = true;
	seccomp_struct(SECCOMP_PROFILE_RUNTIME_DEFAULT, NULL);
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
	ck_assert_ptr_null(F.spec.seccomp_profile);
	/* even where seccomp is unavailable */
	spec_fini(&F.spec);
	F.node.seccomp_available = false;
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
}
END_TEST

START_TEST(test_seccomp_unavailable_error)
{
	F.node.seccomp_available = false;
	seccomp_struct(SECCOMP_PROFILE_RUNTIME_DEFAULT, NULL);
	build_fails(CRADLE_FAILED_PRECONDITION,
	            "failed to generate seccomp spec opts: seccomp is not supported");
	teardown();
	setup();
	F.node.seccomp_available = false;
	SC.seccomp_profile_path = unit_strdup("localhost//p.json");
	build_fails(CRADLE_FAILED_PRECONDITION,
	            "failed to generate seccomp spec opts: seccomp is not supported");
	/* unconfined, or no profile at all, is fine */
	teardown();
	setup();
	F.node.seccomp_available = false;
	seccomp_struct(SECCOMP_PROFILE_UNCONFINED, NULL);
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
	teardown();
	setup();
	F.node.seccomp_available = false;
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
}
END_TEST

START_TEST(test_seccomp_localhost_ref_wrong_type_error)
{
	seccomp_struct(SECCOMP_PROFILE_RUNTIME_DEFAULT, "/p.json");
	build_fails(
		CRADLE_INVALID_ARGUMENT,
		"failed to generate seccomp spec opts: seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost");
	teardown();
	setup();
	seccomp_struct(SECCOMP_PROFILE_UNCONFINED, "/p.json");
	build_fails(
		CRADLE_INVALID_ARGUMENT,
		"failed to generate seccomp spec opts: seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost");
}
END_TEST

START_TEST(test_seccomp_unknown_type_error)
{
	seccomp_struct(9, NULL);
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "failed to generate seccomp spec opts: seccomp unknown ProfileType");
}
END_TEST

START_TEST(test_seccomp_path_forms)
{
	static const struct {
		const char *path;
		int want;
		const char *profile;
	} c[] = {
		{ "runtime/default", SECCOMP_RUNTIME_DEFAULT, NULL },
		{ "docker/default", SECCOMP_RUNTIME_DEFAULT, NULL },
		{ "unconfined", SECCOMP_UNCONFINED, NULL },
		{ "localhost//var/lib/p.json", SECCOMP_LOCALHOST, "/var/lib/p.json" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		free(SC.seccomp_profile_path);
		SC.seccomp_profile_path = unit_strdup(c[i].path);
		build_ok();
		ck_assert_int_eq(F.spec.seccomp, c[i].want);
		if (c[i].profile)
			ck_assert_str_eq(F.spec.seccomp_profile, c[i].profile);
		else
			ck_assert_ptr_null(F.spec.seccomp_profile);
		spec_fini(&F.spec);
	}
	/* the struct form wins over the path */
	free(SC.seccomp_profile_path);
	SC.seccomp_profile_path = unit_strdup("runtime/default");
	seccomp_struct(SECCOMP_PROFILE_UNCONFINED, NULL);
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
}
END_TEST

START_TEST(test_seccomp_invalid_profile_string)
{
	SC.seccomp_profile_path = unit_strdup("/etc/p.json");
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "failed to generate seccomp spec opts: invalid profile \"/etc/p.json\"");
	/* parsed before privileged is looked at, as generateSeccompSpecOpts does */
	SC.privileged = true;
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "failed to generate seccomp spec opts: invalid profile \"/etc/p.json\"");
	teardown();
	setup();
	F.runtime.seccomp_default = unit_strdup("strict");
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "failed to generate seccomp spec opts: invalid profile \"strict\"");
}
END_TEST

START_TEST(test_seccomp_runtime_default_from_handler)
{
	F.runtime.seccomp_default = unit_strdup("runtime/default");
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_RUNTIME_DEFAULT);
	/* the pod's path wins over the handler's default */
	spec_fini(&F.spec);
	SC.seccomp_profile_path = unit_strdup("unconfined");
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
	/* "" in the handler means none */
	spec_fini(&F.spec);
	free(SC.seccomp_profile_path);
	SC.seccomp_profile_path = NULL;
	free(F.runtime.seccomp_default);
	F.runtime.seccomp_default = unit_strdup("");
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
}
END_TEST

START_TEST(test_seccomp_none_is_unconfined)
{
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
	ck_assert_ptr_null(F.spec.seccomp_profile);
	/* no runtime handler at all */
	spec_fini(&F.spec);
	F.in.runtime = NULL;
	build_ok();
	ck_assert_int_eq(F.spec.seccomp, SECCOMP_UNCONFINED);
}
END_TEST

/* --- SELinux (go-selinux label.InitLabels) --- */

START_TEST(test_selinux_labels_copied)
{
	F.in.process_label = "system_u:system_r:container_t:s0:c1,c2";
	F.in.mount_label = "system_u:object_r:container_file_t:s0:c1,c2";
	build_ok();
	ck_assert_str_eq(F.spec.selinux_process_label, "system_u:system_r:container_t:s0:c1,c2");
	ck_assert_str_eq(F.spec.selinux_mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
	/* "" means none */
	spec_fini(&F.spec);
	F.in.process_label = "";
	F.in.mount_label = "";
	build_ok();
	ck_assert_ptr_null(F.spec.selinux_process_label);
	ck_assert_ptr_null(F.spec.selinux_mount_label);
}
END_TEST

START_TEST(test_selinux_privileged_clears_process_label)
{
	F.in.process_label = "system_u:system_r:container_t:s0:c1,c2";
	F.in.mount_label = "system_u:object_r:container_file_t:s0:c1,c2";
	SC.privileged = true;
	build_ok();
	ck_assert_ptr_null(F.spec.selinux_process_label);
	ck_assert_str_eq(F.spec.selinux_mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
}
END_TEST

/* --- life cycle --- */

START_TEST(test_spec_fini_zeroed_and_twice)
{
	struct sandbox_spec s;

	memset(&s, 0, sizeof(s));
	spec_fini(&s);
	spec_fini(NULL);
	build_ok();
	spec_fini(&F.spec);
	spec_fini(&F.spec);
	ck_assert_ptr_null(F.spec.mounts);
	image_config_fini(NULL);
}
END_TEST

START_TEST(test_build_missing_input)
{
	F.in.node = NULL;
	build_fails(CRADLE_INTERNAL, "build sandbox spec: missing input");
}
END_TEST

START_TEST(test_build_fails_late_leaves_nothing)
{
	/* everything but seccomp builds: the failure at the end must free it
	 * all (ASan's leak check sees it) and zero the spec */
	ck_assert_int_eq(proto_kvs_add(&F.image.labels, "a", "b"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net.ipv4.ip_forward", "1"), 0);
	F.image.user = unit_strdup("1:2");
	seccomp_struct(9, NULL);
	build_fails(CRADLE_INVALID_ARGUMENT,
	            "failed to generate seccomp spec opts: seccomp unknown ProfileType");
}
END_TEST

static Suite *
spec_suite(void)
{
	Suite *s = suite_create("spec");

	unit_tcase(
		s, "spec", setup, teardown, 0,
		UNIT_TESTS(/* process */
	                   test_args_entrypoint_plus_cmd, test_args_cmd_only,
	                   test_args_both_empty_is_error, test_env_duplicates_collapsed,
	                   test_env_empty_by_default, test_cwd_default, test_cwd_from_image,
	                   /* user */
	                   test_user_uid_only, test_user_uid_gid, test_user_none_is_empty_string,
	                   test_user_group_without_user_is_error,
	                   test_user_username_used_without_uid, test_user_from_image,
	                   test_user_default_root, test_user_name_lookup_passwd,
	                   test_user_mixed_forms, test_user_numeric_found_gets_passwd_gid,
	                   test_user_numeric_missing_gets_gid0, test_user_unknown_name_error,
	                   test_user_unknown_group_error, test_user_id_over_int32_refused,
	                   test_user_too_many_parts_error, test_supplemental_groups_kept_with_user,
	                   test_supplemental_groups_without_user,
	                   test_supplemental_groups_out_of_range_refused,
	                   /* privileges */
	                   test_no_new_privs, test_caps_default_14, test_caps_privileged_unchanged,
	                   test_oom_default, test_oom_restricted_raises, test_hostname,
	                   test_rootfs_readonly,
	                   /* namespaces */
	                   test_ns_node_network_removes_uts, test_ns_node_pid_ipc,
	                   test_ns_pod_container_target_new, test_mount_always_new,
	                   test_userns_absent_none, test_userns_pod_one_mapping,
	                   test_userns_pod_needs_exactly_one, test_userns_pod_length_at_least_one,
	                   test_userns_node_refuses_mappings, test_userns_other_mode_error,
	                   /* filesystem */
	                   test_mounts_table, test_sys_rw_when_privileged,
	                   test_shm_host_for_ipc_node, test_masked_paths, test_readonly_paths,
	                   test_devices_deny_all,
	                   /* sysctls */
	                   test_sysctls_copied, test_sysctl_slash_form_normalized,
	                   test_sysctl_not_namespaced_refused, test_sysctl_invalid_name_refused,
	                   test_sysctl_net_with_host_network_refused,
	                   test_sysctl_ipc_with_host_ipc_refused,
	                   test_sysctl_default_unprivileged_ports, test_sysctl_default_icmp,
	                   test_sysctl_defaults_not_with_host_network,
	                   test_sysctl_given_key_not_overridden,
	                   /* cgroups */
	                   test_cgroup_slice_rule, test_cgroup_parent_id_rule,
	                   test_cgroup_default_parent, test_cgroup_dotdot_refused,
	                   test_cpu_shares_2,
	                   /* annotations and labels */
	                   test_annotations_passthrough_glob,
	                   test_annotations_none_without_patterns, test_annotations_resources,
	                   test_annotations_defaults_win, test_annotations_log_directory_empty,
	                   test_labels_reserved_filtered, test_labels_oversize_filtered,
	                   test_labels_pod_wins, test_labels_kind_sandbox,
	                   /* seccomp */
	                   test_seccomp_runtime_default, test_seccomp_unconfined,
	                   test_seccomp_localhost, test_seccomp_localhost_relative_error,
	                   test_seccomp_privileged_none, test_seccomp_unavailable_error,
	                   test_seccomp_localhost_ref_wrong_type_error,
	                   test_seccomp_unknown_type_error, test_seccomp_path_forms,
	                   test_seccomp_invalid_profile_string,
	                   test_seccomp_runtime_default_from_handler,
	                   test_seccomp_none_is_unconfined,
	                   /* SELinux */
	                   test_selinux_labels_copied, test_selinux_privileged_clears_process_label,
	                   /* life cycle */
	                   test_spec_fini_zeroed_and_twice, test_build_missing_input,
	                   test_build_fails_late_leaves_nothing));

	return (s);
}

int
main(void)
{
	return (unit_run(spec_suite(), "test_spec", 0));
}
