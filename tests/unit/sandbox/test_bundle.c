/* test_bundle.c - the OCI bundle's config.json (sandbox/bundle.c).
 *
 * From the spec the daemon builds for a plain pod (libspec.h: spec_build,
 * POD namespaces, no security context, the pause image, the runc
 * handler), the document is read back with json-c and every field the
 * oci launcher depends on is asserted: process (args, env, cwd, user,
 * capabilities, noNewPrivileges, oomScoreAdj, rlimits), root, hostname,
 * mounts, namespaces, cgroupsPath, resources, sysctls, masked and
 * read-only paths, annotations, propagation, seccomp.  Hostile values
 * (quotes, backslashes, control characters, non-ASCII bytes, a key
 * named like a field) come back byte for byte and change no field;
 * bundle_write replaces config.json whole and leaves no temporary file.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sandbox/bundle.h"
#include "sandbox/seccomp.h"
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
	json_object *doc;
} F;

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	pod_config_init(&F.pod);
	unit_spec_input(&F.pod, &F.image, &F.runtime, &F.node, &F.in);
}

static void
teardown(void)
{
	json_object_put(F.doc);
	spec_fini(&F.spec);
	unit_spec_input_fini(&F.pod, &F.image, &F.runtime);
}

/* spec_build, then the document parsed back. */
static json_object *
build(const char *seccomp)
{
	ck_assert_msg(spec_build(&F.in, &F.spec, &F.err) == 0, "%s", F.err.msg);
	struct bundle_input bi = {
		.spec = &F.spec,
		.rootfs = "/run/cradle/sandboxes/" ID "/rootfs",
		.seccomp = seccomp,
		.propagation = "private",
		.nofile = 1024,
	};
	char *text = bundle_config_json(&bi, &F.err);
	ck_assert_msg(text != NULL, "%s", F.err.msg);
	json_object_put(F.doc);
	F.doc = json_tokener_parse(text);
	ck_assert_msg(F.doc != NULL, "not JSON: %s", text);
	free(text);
	return F.doc;
}

/* The value at a path of keys and array indexes ("process.user.uid",
 * "mounts.0.type"), or NULL. */
static json_object *
at(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); o != NULL && k != NULL;
	     k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			o = json_object_array_get_idx(o, (size_t)atoi(k));
		} else {
			json_object *v = NULL;
			o = json_object_object_get_ex(o, k, &v) ? v : NULL;
		}
	}
	return o;
}

static const char *
str_at(const char *path)
{
	json_object *v = at(F.doc, path);
	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_string), "%s: no string", path);
	return json_object_get_string(v);
}

static int64_t
int_at(const char *path)
{
	json_object *v = at(F.doc, path);
	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_int), "%s: no int", path);
	return json_object_get_int64(v);
}

static bool
bool_at(const char *path)
{
	json_object *v = at(F.doc, path);
	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_boolean), "%s: no bool", path);
	return json_object_get_boolean(v);
}

static size_t
len_at(const char *path)
{
	json_object *v = at(F.doc, path);
	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_array), "%s: no array", path);
	return json_object_array_length(v);
}

/* The mount at destination, or NULL. */
static json_object *
mount_at(const char *dst)
{
	json_object *m = at(F.doc, "mounts");
	for (size_t i = 0; m != NULL && i < json_object_array_length(m); i++) {
		json_object *e = json_object_array_get_idx(m, i), *d = NULL;
		if (json_object_object_get_ex(e, "destination", &d) &&
		    strcmp(json_object_get_string(d), dst) == 0)
			return e;
	}
	return NULL;
}

static bool
array_has(json_object *a, const char *s)
{
	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
			return true;
	return false;
}

START_TEST(test_process)
{
	build(NULL);
	ck_assert_str_eq(str_at("ociVersion"), "1.0.2");
	ck_assert_uint_eq(len_at("process.args"), 1);
	ck_assert_str_eq(str_at("process.args.0"), "/pause");
	ck_assert_str_eq(str_at("process.cwd"), "/");
	ck_assert_int_eq(int_at("process.user.uid"), 0);
	ck_assert_int_eq(int_at("process.user.gid"), 0);
	ck_assert(!bool_at("process.terminal"));
	ck_assert(bool_at("process.noNewPrivileges") == F.spec.no_new_privs);
	ck_assert_int_eq(int_at("process.oomScoreAdj"), F.spec.oom_score_adj);
	ck_assert_str_eq(str_at("process.rlimits.0.type"), "RLIMIT_NOFILE");
	ck_assert_int_eq(int_at("process.rlimits.0.hard"), 1024);
	ck_assert_int_eq(int_at("process.rlimits.0.soft"), 1024);
	/* the 14 default capabilities, each set as the spec's masks say */
	ck_assert_uint_eq(len_at("process.capabilities.bounding"),
	                  (size_t)__builtin_popcountll(F.spec.cap_bounding));
	ck_assert_uint_eq(len_at("process.capabilities.effective"),
	                  (size_t)__builtin_popcountll(F.spec.cap_effective));
	ck_assert_uint_eq(len_at("process.capabilities.ambient"), 0);
	json_object *b = at(F.doc, "process.capabilities.bounding");
	ck_assert(array_has(b, "CAP_CHOWN"));
	ck_assert(array_has(b, "CAP_NET_BIND_SERVICE"));
	ck_assert(!array_has(b, "CAP_SYS_ADMIN"));
	ck_assert_str_eq(bundle_cap_name(21), "CAP_SYS_ADMIN");
	ck_assert_ptr_null(bundle_cap_name(64));
}
END_TEST

START_TEST(test_root_hostname_mounts)
{
	build(NULL);
	ck_assert_str_eq(str_at("root.path"), "/run/cradle/sandboxes/" ID "/rootfs");
	ck_assert(bool_at("root.readonly"));
	ck_assert_str_eq(str_at("hostname"), "web-0");
	ck_assert_uint_eq(len_at("mounts"), F.spec.n_mounts);
	json_object *shm = mount_at("/dev/shm");
	ck_assert_ptr_nonnull(shm);
	json_object *v = NULL;
	ck_assert(json_object_object_get_ex(shm, "type", &v));
	ck_assert_str_eq(json_object_get_string(v), "bind");
	ck_assert(json_object_object_get_ex(shm, "source", &v));
	ck_assert_str_eq(json_object_get_string(v), SHM);
	ck_assert_ptr_nonnull(mount_at("/proc"));
	ck_assert_ptr_nonnull(mount_at("/etc/resolv.conf"));
	ck_assert_str_eq(str_at("mounts.0.destination"), F.spec.mounts[0].destination);
	ck_assert_uint_eq(len_at("mounts.0.options"), F.spec.mounts[0].options.n);
}
END_TEST

START_TEST(test_linux)
{
	build(NULL);
	/* POD namespaces: pid, ipc, uts, mount, network */
	ck_assert_uint_eq(len_at("linux.namespaces"), 5);
	ck_assert_str_eq(str_at("linux.namespaces.0.type"), "pid");
	ck_assert_str_eq(str_at("linux.namespaces.1.type"), "ipc");
	ck_assert_str_eq(str_at("linux.namespaces.2.type"), "uts");
	ck_assert_str_eq(str_at("linux.namespaces.3.type"), "mount");
	ck_assert_str_eq(str_at("linux.namespaces.4.type"), "network");
	/* the spec's netns path when it has one (the start pipeline gives
	 * none: the runtime makes the namespace and cradle pins it) */
	ck_assert_str_eq(str_at("linux.namespaces.4.path"), NETNS);
	ck_assert_str_eq(str_at("linux.cgroupsPath"), "/k8s.io/" ID);
	ck_assert_int_eq(int_at("linux.resources.cpu.shares"), 2);
	ck_assert(!bool_at("linux.resources.devices.0.allow"));
	ck_assert_str_eq(str_at("linux.resources.devices.0.access"), "rwm");
	ck_assert_uint_eq(len_at("linux.maskedPaths"), F.spec.masked_paths.n);
	ck_assert_uint_eq(len_at("linux.readonlyPaths"), F.spec.readonly_paths.n);
	ck_assert_str_eq(str_at("linux.rootfsPropagation"), "private");
	ck_assert_ptr_null(at(F.doc, "linux.seccomp"));
	ck_assert_ptr_null(at(F.doc, "linux.sysctl"));
	json_object *v = NULL;
	ck_assert(json_object_object_get_ex(at(F.doc, "annotations"),
	                                    "io.kubernetes.cri.sandbox-id", &v));
	ck_assert_str_eq(json_object_get_string(v), ID);
}
END_TEST

/* host namespaces: none asked for, no hostname */
START_TEST(test_host_namespaces)
{
	F.pod.linux.security_context.namespace_options.network = NS_NODE;
	F.pod.linux.security_context.namespace_options.pid = NS_NODE;
	F.pod.linux.security_context.namespace_options.ipc = NS_NODE;
	build(NULL);
	ck_assert_uint_eq(len_at("linux.namespaces"), 1);
	ck_assert_str_eq(str_at("linux.namespaces.0.type"), "mount");
	ck_assert_ptr_null(at(F.doc, "hostname"));
}
END_TEST

/* what the pod says comes back byte for byte, and changes nothing else */
START_TEST(test_hostile_values)
{
	static const char hostile[] = "a\"b\\c\n\t\x01}]{\",\"root\":{\"path\":\"/\"}\xc3\xa9\xff";

	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net.ipv4.ip_forward", hostile), 0);
	free(F.pod.hostname);
	F.pod.hostname = unit_strdup("h\"x");
	build(NULL);
	ck_assert_str_eq(str_at("root.path"), "/run/cradle/sandboxes/" ID "/rootfs");
	json_object *sys = at(F.doc, "linux.sysctl"), *v = NULL;
	ck_assert_ptr_nonnull(sys);
	ck_assert(json_object_object_get_ex(sys, "net.ipv4.ip_forward", &v));
	ck_assert_uint_eq(json_object_get_string_len(v), sizeof(hostile) - 1);
	ck_assert_mem_eq(json_object_get_string(v), hostile, sizeof(hostile) - 1);
	ck_assert_str_eq(str_at("hostname"), "h\"x");
	ck_assert_uint_eq(json_object_object_length(sys), 1);
}
END_TEST

START_TEST(test_seccomp_json)
{
	build("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": []}");
	ck_assert_str_eq(str_at("linux.seccomp.defaultAction"), "SCMP_ACT_ERRNO");
	ck_assert_uint_eq(len_at("linux.seccomp.syscalls"), 0);
	/* not an object: refused, naming why */
	struct bundle_input bi = { .spec = &F.spec, .rootfs = "/r", .seccomp = "[1," };
	ck_assert_ptr_null(bundle_config_json(&bi, &F.err));
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(F.err.msg, "not a JSON object"));

	/* RuntimeDefault: cradle's built-in profile as OCI JSON, exactly
	 * seccomp_runtime_default_oci's document (test_seccomp.c holds that
	 * one to the built-in BPF) */
	F.spec.seccomp = SECCOMP_RUNTIME_DEFAULT;
	struct bundle_input def = { .spec = &F.spec, .rootfs = "/r" };
	char *text = bundle_config_json(&def, &F.err);
	ck_assert_msg(text != NULL, "%s", F.err.msg);
	json_object *doc = json_tokener_parse(text), *sc = NULL, *linux_o = NULL;
	free(text);
	ck_assert_ptr_nonnull(doc);
	ck_assert(json_object_object_get_ex(doc, "linux", &linux_o));
	ck_assert(json_object_object_get_ex(linux_o, "seccomp", &sc));
	json_object *ref = seccomp_runtime_default_oci(&F.err);
	ck_assert_ptr_nonnull(ref);
	ck_assert(json_object_equal(sc, ref));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(sc, "defaultAction")),
	                 "SCMP_ACT_ERRNO");
	ck_assert_int_gt((int)json_object_array_length(json_object_object_get(sc, "syscalls")), 3);
	json_object_put(ref);
	json_object_put(doc);
	/* Unconfined: none */
	F.spec.seccomp = SECCOMP_UNCONFINED;
	text = bundle_config_json(&def, &F.err);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "\"seccomp\""));
	free(text);
}
END_TEST

START_TEST(test_write_atomic)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];

	ck_assert_msg(spec_build(&F.in, &F.spec, &F.err) == 0, "%s", F.err.msg);
	unit_path(dir, sizeof(dir), "bundle");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	unit_put_str(path, "old, and longer than nothing at all");
	struct bundle_input bi = { .spec = &F.spec, .rootfs = "/r" };
	ck_assert_msg(bundle_write(dir, &bi, &F.err) == 0, "%s", F.err.msg);
	/* replaced whole; no temporary left */
	ck_assert_int_eq(unit_count_entries(dir), 1);
	char *text = unit_slurp_ok(path, NULL);
	F.doc = json_tokener_parse(text);
	free(text);
	ck_assert_ptr_nonnull(F.doc);
	ck_assert_str_eq(str_at("root.path"), "/r");
	/* a directory that is not there: the file named, nothing made */
	ck_assert_int_lt(bundle_write("/nonexistent-dir", &bi, &F.err), 0);
	ck_assert_ptr_nonnull(strstr(F.err.msg, "\"/nonexistent-dir/config.json\""));
	ck_assert_int_eq(F.err.code, CRADLE_NOT_FOUND);
}
END_TEST

static void
setup_dir(void)
{
	unit_scratch_setup();
	setup();
}

static void
teardown_dir(void)
{
	teardown();
	unit_scratch_teardown();
}

static Suite *
bundle_suite(void)
{
	Suite *s = suite_create("bundle");

	unit_tcase(s, "config", setup, teardown, 0,
	           UNIT_TESTS(test_process, test_root_hostname_mounts, test_linux,
	                      test_host_namespaces, test_hostile_values, test_seccomp_json));
	unit_tcase(s, "write", setup_dir, teardown_dir, 0, UNIT_TESTS(test_write_atomic));
	return s;
}

int
main(void)
{
	return unit_run(bundle_suite(), "test_bundle", 0);
}
