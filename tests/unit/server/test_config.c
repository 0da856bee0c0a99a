/* test_config.c - cradled's configuration (server/config.c) and runtime
 * handler selection (sandbox/runtime.c).
 *
 * Every key's default and parsing, every rejected value with its exact
 * "FILE:LINE: message", the file structure rules (sections, duplicates,
 * indentation, lines of any length, quoting), drop-ins, the default
 * runtime rules, config_fprint (every example and odd values print as a
 * file that reads back the same), config_diff, and the rules of
 * containerd's getSandboxRuntime one by one.  Fixtures live in
 * tests/data/config/, found through $CRADLE_SRC (default "."; tests run
 * from the repo root); cases that are one or two lines are written to a
 * file in the test's own scratch directory (tests/unit/lib) instead.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/proto.h"
#include "server/config.h"
#include "sandbox/runtime.h"
#include "sandbox/spec.h"
#include "tests/unit/lib/unit.h"

static void
fixture(char path[PATH_MAX], const char *name)
{
	char rel[PATH_MAX];

	UNIT_FMT(rel, "config/%s", name);
	ck_assert_msg(unit_data_path(path, rel) == 0, "fixture %s: see above", name);
}

/* What main does: defaults, the file (named, so it must exist), validation. */
static int
load(struct daemon_config *cfg, const char *path, struct cradle_err *err)
{
	config_defaults(cfg);
	int rc = config_load(cfg, path, true, err);
	return rc < 0 ? rc : config_validate(cfg, err);
}

static void
load_fixture(struct daemon_config *cfg, const char *name)
{
	char path[PATH_MAX];
	struct cradle_err err = { 0 };

	fixture(path, name);
	ck_assert_msg(load(cfg, path, &err) == 0, "%s: %s", name, err.msg);
}

/* path = a file in the test's directory holding len bytes of text. */
static void
write_conf(char path[PATH_MAX], const char *text, size_t len)
{
	unit_path(path, PATH_MAX, "cradled.conf");
	unit_put_file(path, text, len, 0644);
}

static int
load_text(struct daemon_config *cfg, const char *text, char path[PATH_MAX], struct cradle_err *err)
{
	write_conf(path, text, strlen(text));
	return load(cfg, path, err);
}

/* text must fail with "<file>:<line>: <msg>" and INVALID_ARGUMENT. */
static void
expect_error(const char *text, int line, const char *msg)
{
	struct daemon_config cfg;
	struct cradle_err err = { 0 };
	char path[PATH_MAX], want[PATH_MAX + 512];

	ck_assert_msg(load_text(&cfg, text, path, &err) < 0, "accepted:\n%s", text);
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	else /* checked once the file is read: the file named */
		snprintf(want, sizeof(want), "%s: %s", path, msg);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	config_fini(&cfg);
}

static void
expect_ok(struct daemon_config *cfg, const char *text)
{
	struct cradle_err err = { 0 };
	char path[PATH_MAX];

	ck_assert_msg(load_text(cfg, text, path, &err) == 0, "rejected: %s\n%s", err.msg, text);
}

/* The configured runtime of that name, or NULL. */
static const struct runtime_config *
config_runtime(const struct daemon_config *cfg, const char *name)
{
	struct runtime_set rs = config_runtimes(cfg);

	return runtime_find(&rs, name);
}

static const struct runtime_config *
runtime(const struct daemon_config *cfg, const char *name)
{
	const struct runtime_config *rt = config_runtime(cfg, name);

	ck_assert_msg(rt != NULL, "runtime %s not configured", name);
	return rt;
}

/* ---- defaults and parsing ---- */

START_TEST(test_defaults)
{
	struct daemon_config cfg;
	struct cradle_err err = { 0 };

	config_defaults(&cfg);
	ck_assert_int_eq(config_validate(&cfg, &err), 0);
	ck_assert_str_eq(cfg.root, "/var/lib/cradle");
	ck_assert_str_eq(cfg.state, "/run/cradle");
	ck_assert_int_ge(cfg.workers, 1);
	ck_assert_int_le(cfg.workers, 64);
	ck_assert_int_eq(cfg.queue_depth, 512);
	ck_assert_int_eq(cfg.contexts, 1024);
	ck_assert_msg(cfg.image_archive[0] == '/', "image_archive %s", cfg.image_archive);
	ck_assert_str_eq(cfg.image, "cradle.local/pause:built-in");
	ck_assert_uint_eq(cfg.shm_size, 64u << 20);
	ck_assert_str_eq(cfg.default_runtime, "runc");
	ck_assert(!cfg.restrict_oom_score_adj);
	ck_assert(!cfg.enable_unprivileged_ports);
	ck_assert(!cfg.enable_unprivileged_icmp);
	ck_assert_str_eq(cfg.cgroup_root, "/k8s.io");
	ck_assert_str_eq(cfg.host_resolv_conf, "/etc/resolv.conf");
	ck_assert(!cfg.selinux_enable);
	ck_assert_int_eq(cfg.selinux_category_range, 1024);
	ck_assert_str_eq(cfg.selinux_contexts, "");
	ck_assert_str_eq(cfg.metrics_address, ""); /* no endpoint */
	ck_assert_uint_eq(cfg.n_runtimes, 1);
	ck_assert_str_eq(cfg.runtimes[0].name, "runc");
	ck_assert_str_eq(cfg.runtimes[0].type, "io.containerd.runc.v2");
	ck_assert_str_eq(cfg.runtimes[0].path, "");
	ck_assert_uint_eq(cfg.runtimes[0].pod_annotations.n, 0);
	ck_assert(!cfg.runtimes[0].vm);
	ck_assert_str_eq(cfg.runtimes[0].seccomp_default, "");
	ck_assert_str_eq(cfg.config_file, "");
	config_fini(&cfg);
	ck_assert_ptr_null(cfg.runtimes);
	ck_assert_uint_eq(cfg.n_runtimes, 0);
	config_fini(&cfg); /* twice is harmless */
}
END_TEST

START_TEST(test_missing_file)
{
	struct daemon_config cfg;
	struct cradle_err err = { 0 };

	/* the default file may be absent ... */
	config_defaults(&cfg);
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/cradled.conf", false, &err), 0);
	ck_assert_str_eq(cfg.config_file, "");
	/* ... a named one may not */
	ck_assert_int_lt(config_load(&cfg, "/nonexistent/cradled.conf", true, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/cradled.conf"));
	config_fini(&cfg);
}
END_TEST

START_TEST(test_empty_file)
{
	struct daemon_config cfg, def;

	load_fixture(&cfg, "empty.conf");
	config_defaults(&def);
	ck_assert_str_eq(cfg.image, def.image);
	ck_assert_uint_eq(cfg.n_runtimes, 1);
	ck_assert_str_eq(cfg.runtimes[0].name, "runc");
	ck_assert_int_eq(cfg.default_runtime_line, 0);
	config_fini(&cfg);
	config_fini(&def);
}
END_TEST

START_TEST(test_full)
{
	struct daemon_config cfg;
	char path[PATH_MAX];

	load_fixture(&cfg, "full.conf");
	fixture(path, "full.conf");
	ck_assert_str_eq(cfg.config_file, path);
	ck_assert_str_eq(cfg.root, "/srv/cradle/lib");
	ck_assert_str_eq(cfg.state, "/srv/cradle/run");
	ck_assert_int_eq(cfg.workers, 3);
	ck_assert_int_eq(cfg.queue_depth, 100);
	ck_assert_int_eq(cfg.contexts, 50);
	ck_assert_str_eq(cfg.image_archive, "/opt/pause/pause.oci.tar");
	ck_assert_str_eq(cfg.image, "registry.k8s.io/pause:3.8");
	ck_assert_uint_eq(cfg.shm_size, 128u << 10);
	ck_assert_str_eq(cfg.default_runtime, "kata");
	ck_assert_int_eq(cfg.default_runtime_line, 15);
	ck_assert(cfg.restrict_oom_score_adj);
	ck_assert(cfg.enable_unprivileged_ports);
	ck_assert(cfg.enable_unprivileged_icmp);
	ck_assert_str_eq(cfg.cgroup_root, "/kubepods/cradle");
	ck_assert_str_eq(cfg.host_resolv_conf, "/run/systemd/resolve/resolv.conf");
	ck_assert(cfg.selinux_enable);
	ck_assert_int_eq(cfg.selinux_category_range, 512);
	ck_assert_str_eq(cfg.selinux_contexts, "/etc/cradle/lxc_contexts");

	/* file order, and the default runc replaced by the file's */
	ck_assert_uint_eq(cfg.n_runtimes, 2);
	const struct runtime_config *k = &cfg.runtimes[0], *r = &cfg.runtimes[1];
	ck_assert_str_eq(k->name, "kata");
	ck_assert_str_eq(k->type, "io.containerd.kata.v2");
	ck_assert_str_eq(k->path, ""); /* refused set: test_runtime_refused */
	ck_assert_uint_eq(k->pod_annotations.n, 2);
	ck_assert_str_eq(k->pod_annotations.v[0], "io.katacontainers.*");
	ck_assert_str_eq(k->pod_annotations.v[1], "example.com/x");
	ck_assert(!k->vm);
	ck_assert_str_eq(k->seccomp_default, "localhost//etc/cradle/seccomp.json");
	ck_assert_str_eq(r->name, "runc");
	ck_assert_str_eq(r->type, "io.containerd.runc.v2");
	ck_assert_str_eq(r->path, "");
	ck_assert_uint_eq(r->pod_annotations.n, 0);
	ck_assert(!r->vm);
	ck_assert_str_eq(r->seccomp_default, "runtime/default");
	config_fini(&cfg);
}
END_TEST

START_TEST(test_example)
{
	struct daemon_config cfg;

	load_fixture(&cfg, "example.conf");
	ck_assert_uint_eq(cfg.n_runtimes, 2);
	ck_assert_str_eq(runtime(&cfg, "runc")->seccomp_default, "runtime/default");
	ck_assert(!runtime(&cfg, "untrusted")->vm);
	ck_assert_str_eq(runtime(&cfg, "untrusted")->seccomp_default, "runtime/default");
	ck_assert(cfg.restrict_oom_score_adj);
	config_fini(&cfg);
}
END_TEST

START_TEST(test_bools)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
		{ "true", true },   { "TRUE", true },   { "True", true }, { "yes", true },
		{ "YES", true },    { "Yes", true },    { "1", true },    { "false", false },
		{ "FALSE", false }, { "False", false }, { "no", false },  { "NO", false },
		{ "No", false },    { "0", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct daemon_config cfg;
		char text[512];
		const char *v = cases[i].text;
		snprintf(text, sizeof(text),
		         "[sandbox]\nrestrict_oom_score_adj = %s\nenable_unprivileged_ports = %s\n"
		         "enable_unprivileged_icmp = %s\n[selinux]\nenable = %s\n",
		         v, v, v, v);
		expect_ok(&cfg, text);
		ck_assert_msg(cfg.restrict_oom_score_adj == cases[i].value, "%s", v);
		ck_assert_msg(cfg.enable_unprivileged_ports == cases[i].value, "%s", v);
		ck_assert_msg(cfg.enable_unprivileged_icmp == cases[i].value, "%s", v);
		ck_assert_msg(cfg.selinux_enable == cases[i].value, "%s", v);
		config_fini(&cfg);
	}
}
END_TEST

/* [runtime.NAME] path and vm = true only an OCI launcher could honour:
 * refused where they are set (sandbox/runtime.c runtime_check), naming the
 * file, the line, the section and the key; vm's false values still read. */
START_TEST(test_runtime_refused)
{
	static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "1" };
	static const char *const no[] = { "false", "NO", "0" };
	struct daemon_config cfg;
	char text[256];

	/* the keys taken together: the file named, not a line */
	expect_error("[runtime.runc]\npath = /usr/sbin/runc\n", 0,
	             "[runtime.runc] path: only an OCI launcher runs a runtime binary; this "
	             "handler has the native launcher (set launcher = oci)");
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[runtime.runc]\n[runtime.kata]\nvm = %s\n", yes[i]);
		expect_error(text, 0,
		             "[runtime.kata] vm: a VM-isolated runtime needs launcher = oci and "
		             "a VM runtime in path; with the native launcher pods of this "
		             "handler (untrusted ones included) would get no VM");
	}
	/* a launcher's own value at its line; oci needs path, and keys only
	 * oci honours are refused with the native one */
	expect_error("[runtime.runc]\nlauncher = shim\n", 2,
	             "[runtime.runc] launcher: \"shim\" is not native or oci");
	expect_error("[runtime.runc]\nlauncher = oci\n", 0,
	             "[runtime.runc] path: launcher = oci needs the OCI runtime binary (e.g. "
	             "/usr/sbin/runc)");
	expect_error("[runtime.runc]\nno_pivot_root = true\n", 0,
	             "[runtime.runc] no_pivot_root: only for launcher = oci");
	expect_error("[runtime.runc]\nlauncher = oci\npath = /nonexistent/runc\n", 0,
	             "[runtime.runc] path: \"/nonexistent/runc\": No such file or directory");
	/* order does not matter; vm is fine with oci */
	expect_ok(&cfg, "[runtime.runc]\npath = /usr/sbin/runc\nvm = true\nlauncher = oci\n");
	ck_assert_str_eq(cfg.runtimes[0].launcher, "oci");
	config_fini(&cfg);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(text, sizeof(text), "[runtime.runc]\nvm = %s\npath =\n", no[i]);
		expect_ok(&cfg, text);
		ck_assert(!cfg.runtimes[0].vm);
		ck_assert_str_eq(cfg.runtimes[0].path, "");
		config_fini(&cfg);
	}
}
END_TEST

START_TEST(test_sizes)
{
	static const struct {
		const char *text;
		uint64_t value;
	} cases[] = {
		{ "67108864", 64u << 20 }, { "65536k", 64u << 20 }, { "64M", 64u << 20 },
		{ "1g", 1u << 30 },        { "1G", 1u << 30 },      { "4097", 4097 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct daemon_config cfg;
		char text[128];
		snprintf(text, sizeof(text), "[sandbox]\nshm_size = %s\n", cases[i].text);
		expect_ok(&cfg, text);
		ck_assert_uint_eq(cfg.shm_size, cases[i].value);
		config_fini(&cfg);
	}
}
END_TEST

START_TEST(test_pod_annotations)
{
	struct daemon_config cfg;

	expect_ok(&cfg, "[runtime.runc]\npod_annotations = a ,\tb*,, c.io/[a-z]? ,\\*x, [^x] ,\n");
	const struct proto_strs *l = &cfg.runtimes[0].pod_annotations;
	ck_assert_uint_eq(l->n, 5);
	ck_assert_str_eq(l->v[0], "a");
	ck_assert_str_eq(l->v[1], "b*");
	ck_assert_str_eq(l->v[2], "c.io/[a-z]?");
	ck_assert_str_eq(l->v[3], "\\*x");
	ck_assert_str_eq(l->v[4], "[^x]");
	config_fini(&cfg);

	expect_ok(&cfg, "[runtime.runc]\npod_annotations =\n");
	ck_assert_uint_eq(cfg.runtimes[0].pod_annotations.n, 0);
	config_fini(&cfg);
}
END_TEST

START_TEST(test_structure_ok)
{
	struct daemon_config cfg;

	/* An indented key is a key, not the continuation of the one before
	 * (inih's multi-line values); ':' works as '=' as in inih. */
	expect_ok(&cfg, "  [cradled]\n  workers = 2\n    queue_depth = 3\ncontexts: 4\n");
	ck_assert_int_eq(cfg.workers, 2);
	ck_assert_int_eq(cfg.queue_depth, 3);
	ck_assert_int_eq(cfg.contexts, 4);
	config_fini(&cfg);

	/* an empty runtime section defines the runtime with the defaults;
	 * names longer than inih's 49-byte section buffer survive whole */
	const char *longname = "a-runtime-name-well-beyond-fifty-characters.0123456789";
	char text[256];
	snprintf(text, sizeof(text),
	         "[sandbox]\ndefault_runtime = %s\n[runtime.%s]\n[runtime.x_y.Z-9]\n"
	         "[runtime.%s-b]\ntype = t\n",
	         longname, longname, longname);
	expect_ok(&cfg, text);
	ck_assert_uint_eq(cfg.n_runtimes, 3);
	ck_assert_str_eq(cfg.runtimes[0].name, longname);
	ck_assert_str_eq(cfg.runtimes[0].type, "io.containerd.runc.v2");
	ck_assert_str_eq(cfg.runtimes[1].name, "x_y.Z-9");
	ck_assert_str_eq(cfg.runtimes[2].type, "t");
	ck_assert_ptr_null(config_runtime(&cfg, "runc"));
	config_fini(&cfg);

	/* a UTF-8 byte order mark and CRLF line ends */
	expect_ok(&cfg, "\xEF\xBB\xBF[cradled]\r\nworkers = 5\r\n");
	ck_assert_int_eq(cfg.workers, 5);
	config_fini(&cfg);
}
END_TEST

/* ---- rejected values ---- */

#define RTNAME "is not a valid runtime name (up to 253 letters, digits, '.', '_' or '-')"
#define NOTBOOL "is not a boolean (true/false, yes/no, 1/0)"
#define NOTSIZE "is not a size (bytes, or a number with k, m or g)"
#define NOTCG "is not an absolute cgroup path without empty, \".\" or \"..\" components"
#define NOTSEC "is not \"\", \"runtime/default\", \"unconfined\" or \"localhost/<absolute path>\""
#define NOTADDR "is not HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)"
#define NOTHOST "is not an IPv4 address, [IPv6 address] or host name"

static const struct {
	const char *text;
	int line;
	const char *msg;
} bad[] = {
	/* [cradled] */
	{ "[cradled]\nworkers = 0\n", 2, "workers: \"0\" is not an integer in 1..1024" },
	{ "[cradled]\nworkers = 1025\n", 2, "workers: \"1025\" is not an integer in 1..1024" },
	{ "[cradled]\nworkers = 4x\n", 2, "workers: \"4x\" is not an integer in 1..1024" },
	{ "[cradled]\nworkers =\n", 2, "workers: \"\" is not an integer in 1..1024" },
	{ "[cradled]\nqueue_depth = 0\n", 2, "queue_depth: \"0\" is not an integer in 1..1048576" },
	{ "[cradled]\ncontexts = 65537\n", 2, "contexts: \"65537\" is not an integer in 1..65536" },
	{ "[cradled]\nroot = var/lib/cradle\n", 2,
	  "root: \"var/lib/cradle\" is not an absolute path" },
	{ "[cradled]\nroot =\n", 2, "root: \"\" is not an absolute path" },
	{ "[cradled]\n\nstate = ./run\n", 3, "state: \"./run\" is not an absolute path" },
	/* [sandbox] */
	{ "[sandbox]\nimage_archive = p.tar\n", 2,
	  "image_archive: \"p.tar\" is not an absolute path" },
	{ "[sandbox]\nshm_size = 0\n", 2, "shm_size: \"0\" " NOTSIZE },
	{ "[sandbox]\nshm_size = 64x\n", 2, "shm_size: \"64x\" " NOTSIZE },
	{ "[sandbox]\nshm_size = 64mb\n", 2, "shm_size: \"64mb\" " NOTSIZE },
	{ "[sandbox]\nshm_size = -1\n", 2, "shm_size: \"-1\" " NOTSIZE },
	{ "[sandbox]\nshm_size = 20000000000g\n", 2, "shm_size: \"20000000000g\" " NOTSIZE },
	{ "[sandbox]\nimage =\n", 2, "image: invalid reference \"\": empty" },
	{ "[sandbox]\nimage = a b\n", 2,
	  "image: invalid reference \"a b\": contains a space, control or non-ASCII character" },
	{ "[sandbox]\nimage = Busybox\n", 2,
	  "image: invalid reference \"Busybox\": repository name must be lowercase" },
	{ "[sandbox]\nimage = busybox@sha256:123\n", 2,
	  "image: invalid reference \"busybox@sha256:123\": invalid digest (want "
	  "sha256:<64 lower-case hex digits>)" },
	{ "[sandbox]\ndefault_runtime = my/rt\n", 2, "default_runtime: \"my/rt\" " RTNAME },
	{ "[sandbox]\ndefault_runtime = ..\n", 2, "default_runtime: \"..\" " RTNAME },
	{ "[sandbox]\ndefault_runtime =\n", 2, "default_runtime: \"\" " RTNAME },
	{ "[sandbox]\nrestrict_oom_score_adj = maybe\n", 2,
	  "restrict_oom_score_adj: \"maybe\" " NOTBOOL },
	{ "[sandbox]\nenable_unprivileged_ports = on\n", 2,
	  "enable_unprivileged_ports: \"on\" " NOTBOOL },
	{ "[sandbox]\nenable_unprivileged_icmp =\n", 2, "enable_unprivileged_icmp: \"\" " NOTBOOL },
	{ "[sandbox]\ncgroup_root = k8s.io\n", 2, "cgroup_root: \"k8s.io\" " NOTCG },
	{ "[sandbox]\ncgroup_root = /\n", 2, "cgroup_root: \"/\" " NOTCG },
	{ "[sandbox]\ncgroup_root = /a/../b\n", 2, "cgroup_root: \"/a/../b\" " NOTCG },
	{ "[sandbox]\ncgroup_root = /..\n", 2, "cgroup_root: \"/..\" " NOTCG },
	{ "[sandbox]\ncgroup_root = /a//b\n", 2, "cgroup_root: \"/a//b\" " NOTCG },
	{ "[sandbox]\ncgroup_root = /a/\n", 2, "cgroup_root: \"/a/\" " NOTCG },
	{ "[sandbox]\ncgroup_root = /a/.\n", 2, "cgroup_root: \"/a/.\" " NOTCG },
	{ "[sandbox]\ncgroup_root =\n", 2, "cgroup_root: \"\" " NOTCG },
	{ "[sandbox]\nhost_resolv_conf = etc/resolv.conf\n", 2,
	  "host_resolv_conf: \"etc/resolv.conf\" is not an absolute path" },
	/* [selinux] */
	{ "[selinux]\nenable = 2\n", 2, "enable: \"2\" " NOTBOOL },
	{ "[selinux]\ncategory_range = 1\n", 2,
	  "category_range: \"1\" is not an integer in 2..1024" },
	{ "[selinux]\ncategory_range = 1025\n", 2,
	  "category_range: \"1025\" is not an integer in 2..1024" },
	{ "[selinux]\ncontexts = lxc_contexts\n", 2,
	  "contexts: \"lxc_contexts\" is not an absolute path" },
	/* [metrics] */
	{ "[metrics]\naddress = 127.0.0.1\n", 2, "address: \"127.0.0.1\" " NOTADDR },
	{ "[metrics]\naddress = 9464\n", 2, "address: \"9464\" " NOTADDR },
	{ "[metrics]\naddress = [::1]9464\n", 2, "address: \"[::1]9464\" " NOTADDR },
	{ "[metrics]\naddress = [::1\n", 2, "address: \"[::1\" " NOTADDR },
	{ "[metrics]\naddress = http://127.0.0.1:9464\n", 2,
	  "address: \"http://127.0.0.1:9464\" is a URL; give HOST:PORT (e.g. 127.0.0.1:9464)" },
	{ "[metrics]\naddress = 127.0.0.1:0\n", 2,
	  "address: \"127.0.0.1:0\": port \"0\" is not 1..65535" },
	{ "[metrics]\naddress = 127.0.0.1:65536\n", 2,
	  "address: \"127.0.0.1:65536\": port \"65536\" is not 1..65535" },
	{ "[metrics]\naddress = 127.0.0.1:+80\n", 2,
	  "address: \"127.0.0.1:+80\": port \"+80\" is not 1..65535" },
	{ "[metrics]\naddress = 127.0.0.1:\n", 2,
	  "address: \"127.0.0.1:\": port \"\" is not 1..65535" },
	{ "[metrics]\naddress = 127.0.0.1:http\n", 2,
	  "address: \"127.0.0.1:http\": port \"http\" is not 1..65535" },
	{ "[metrics]\naddress = :9464\n", 2,
	  "address: \":9464\": the host is missing (0.0.0.0 means every IPv4 address)" },
	{ "[metrics]\naddress = ::1:9464\n", 2,
	  "address: \"::1:9464\": an IPv6 address goes in brackets, as in [::1]:9464" },
	{ "[metrics]\naddress = [127.0.0.1]:80\n", 2,
	  "address: \"[127.0.0.1]:80\": \"127.0.0.1\" is not an IPv6 address" },
	{ "[metrics]\naddress = 256.0.0.1:80\n", 2,
	  "address: \"256.0.0.1:80\": \"256.0.0.1\" " NOTHOST },
	{ "[metrics]\naddress = 10.1.2:80\n", 2, "address: \"10.1.2:80\": \"10.1.2\" " NOTHOST },
	{ "[metrics]\naddress = metrics_host:80\n", 2,
	  "address: \"metrics_host:80\": \"metrics_host\" " NOTHOST },
	{ "[metrics]\naddress = -node:80\n", 2, "address: \"-node:80\": \"-node\" " NOTHOST },
	{ "[metrics]\naddress = node-.local:80\n", 2,
	  "address: \"node-.local:80\": \"node-.local\" " NOTHOST },
	{ "[metrics]\naddress = a..b:80\n", 2, "address: \"a..b:80\": \"a..b\" " NOTHOST },
	{ "[metrics]\naddress = a b:80\n", 2, "address: \"a b:80\": \"a b\" " NOTHOST },
	{ "[metrics]\nport = 9464\n", 2, "unknown key \"port\" in [metrics]" },
	{ "[metrics]\naddress = a:1\naddress = b:2\n", 3,
	  "key \"address\" is set twice in [metrics]" },
	{ "[metrics]\n[metrics]\n", 2, "section [metrics] appears twice" },
	/* [runtime.NAME] */
	{ "[runtime.r]\ntype =\n", 2, "type: \"\" is empty or contains blanks" },
	{ "[runtime.r]\ntype = io containerd\n", 2,
	  "type: \"io containerd\" is empty or contains blanks" },
	{ "[runtime.r]\npath = bin/runc\n", 2, "path: \"bin/runc\" is not an absolute path" },
	{ "[runtime.r]\nvm = nope\n", 2, "vm: \"nope\" " NOTBOOL },
	{ "[runtime.r]\nseccomp_default = docker/default\n", 2,
	  "seccomp_default: \"docker/default\" " NOTSEC },
	{ "[runtime.r]\nseccomp_default = localhost/etc/x.json\n", 2,
	  "seccomp_default: \"localhost/etc/x.json\" " NOTSEC },
	{ "[runtime.r]\nseccomp_default = localhost/\n", 2,
	  "seccomp_default: \"localhost/\" " NOTSEC },
	{ "[runtime.r]\nseccomp_default = Unconfined\n", 2,
	  "seccomp_default: \"Unconfined\" " NOTSEC },
	{ "[runtime.r]\npod_annotations = a, [b\n", 2,
	  "pod_annotations: \"[b\" is not a valid glob pattern" },
	{ "[runtime.r]\npod_annotations = x\\\n", 2,
	  "pod_annotations: \"x\\\" is not a valid glob pattern" },
	{ "[runtime.r]\npod_annotations = []\n", 2,
	  "pod_annotations: \"[]\" is not a valid glob pattern" },
	{ "[runtime.r]\npod_annotations = [a-]\n", 2,
	  "pod_annotations: \"[a-]\" is not a valid glob pattern" },
	{ "[runtime.r]\npod_annotations = [-a]\n", 2,
	  "pod_annotations: \"[-a]\" is not a valid glob pattern" },
	{ "[runtime.r]\n[runtime.my rt]\n", 2, "[runtime.my rt]: \"my rt\" " RTNAME },
	{ "[runtime.]\n", 1, "[runtime.]: \"\" " RTNAME },
	{ "[runtime../x]\n", 1, "[runtime../x]: \"./x\" " RTNAME },
	{ "[runtime.r]\nruntime_type = io.containerd.runc.v2\n", 2,
	  "unknown key \"runtime_type\" in [runtime.r]" },
	/* quoting */
	{ "[sandbox]\nimage = \"abc\n", 2, "the quoted value has no closing '\"'" },
	{ "[sandbox]\nimage = \"abc\\\n", 2, "the quoted value has no closing '\"'" },
	{ "[sandbox]\nimage = \"a\\qb\"\n", 2,
	  "\"\\q\" in a quoted value: the escapes are \\\" \\\\ \\n \\r \\t" },
	{ "[sandbox]\nimage = \"a\" b\n", 2, "text after the quoted value" },
	{ "[sandbox]\nimage = \"a b\"\n", 2,
	  "image: invalid reference \"a b\": contains a space, control or non-ASCII character" },
	/* structure */
	{ "workers = 2\n", 1, "key \"workers\" is outside any section" },
	{ "[cradled]\nworkers = 2\nworkers = 3\n", 3, "key \"workers\" is set twice in [cradled]" },
	{ "[cradled]\n[sandbox]\n[cradled]\n", 3, "section [cradled] appears twice" },
	{ "[runtime.a]\n[runtime.b]\n[runtime.a]\n", 3, "section [runtime.a] appears twice" },
	{ "[cradled]\nimage_archive = /x\n", 2, "unknown key \"image_archive\" in [cradled]" },
	{ "[Cradled]\n", 1, "unknown section [Cradled]" },
	{ "[runtime]\n", 1, "unknown section [runtime]" },
	{ "[]\n", 1, "unknown section []" },
	{ "[cradled\n", 1, "section header without \"]\"" },
	{ "[cradled] workers = 1\n", 1, "text after the section header" },
	{ "[cradled]\nworkers\n", 2, "expected \"key = value\"" },
	{ "[cradled]\nworkers ; = 1\n", 2, "expected \"key = value\"" },
	/* the first error is the one reported */
	{ "[cradled]\nworkers = 0\nbogus = 1\n[bogus]\n", 2,
	  "workers: \"0\" is not an integer in 1..1024" },
	{ "\n\n# comment\n[selinux]\n\n; comment\ncategory_range = 0\n", 7,
	  "category_range: \"0\" is not an integer in 2..1024" },
};

START_TEST(test_bad_value)
{
	expect_error(bad[_i].text, bad[_i].line, bad[_i].msg);
}
END_TEST

/* No line length limit: a 5,000-character glob list and a 4,000-character
 * path (inih took 198 characters a line). */
START_TEST(test_long_line)
{
	size_t cap = 16384, n;
	char *text = malloc(cap);
	struct daemon_config cfg;
	int i;

	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, cap, "[runtime.runc]\npod_annotations = ");
	for (i = 0; n < 5000 + 33; i++)
		n += (size_t)snprintf(text + n, cap - n, "%sio.example.com/key-%04d*",
		                      i ? ", " : "", i);
	n += (size_t)snprintf(text + n, cap - n, "\n[sandbox]\nimage_archive = /");
	memset(text + n, 'x', 3999);
	snprintf(text + n + 3999, cap - n - 3999, "\n");
	expect_ok(&cfg, text);
	ck_assert_uint_eq(cfg.runtimes[0].pod_annotations.n, (size_t)i);
	char last[64];
	snprintf(last, sizeof(last), "io.example.com/key-%04d*", i - 1);
	ck_assert_str_eq(cfg.runtimes[0].pod_annotations.v[i - 1], last);
	ck_assert_uint_eq(strlen(cfg.image_archive), 4000);
	config_fini(&cfg);

	/* the arrays keep their bounds, named */
	memset(text + n, 'x', 4095);
	snprintf(text + n + 4095, cap - n - 4095, "\n");
	expect_error(
		text, 4,
		"image_archive: \"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" "
		"is longer than 4095 bytes");
	free(text);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "[cradled]\nworkers = 2\0\n";
	struct daemon_config cfg;
	struct cradle_err err = { 0 };
	char path[PATH_MAX], want[PATH_MAX + 64];

	write_conf(path, text, sizeof(text) - 1);
	ck_assert_int_lt(load(&cfg, path, &err), 0);
	snprintf(want, sizeof(want), "%s:2: line contains a NUL byte", path);
	ck_assert_str_eq(err.msg, want);
	config_fini(&cfg);
}
END_TEST

START_TEST(test_fixture_errors)
{
	static const struct {
		const char *file;
		const char *msg; /* after "<path>" */
	} cases[] = {
		{ "bad-unknown-key.conf", ":6: unknown key \"pause_image\" in [sandbox]" },
		{ "bad-unknown-section.conf", ":3: unknown section [containerd]" },
		{ "bad-runtime-name.conf", ":4: [runtime.my runtime]: \"my runtime\" " RTNAME },
		{ "bad-relative-path.conf", ":3: state: \"run/cradle\" is not an absolute path" },
		/* default_runtime names a runtime the file does not define: the
		 * key's line ... */
		{ "bad-default-runtime.conf", ":3: default runtime \"kata\" is not configured" },
		/* ... or just the file, whose runtimes replaced the default runc */
		{ "no-runc.conf", ": default runtime \"runc\" is not configured" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct daemon_config cfg;
		struct cradle_err err = { 0 };
		char path[PATH_MAX], want[PATH_MAX + 256];
		fixture(path, cases[i].file);
		ck_assert_int_lt(load(&cfg, path, &err), 0);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].msg);
		ck_assert_str_eq(err.msg, want);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		config_fini(&cfg);
	}
}
END_TEST

START_TEST(test_default_runtime_no_file)
{
	struct daemon_config cfg;
	struct cradle_err err = { 0 };

	/* no file read: no prefix */
	config_defaults(&cfg);
	snprintf(cfg.default_runtime, sizeof(cfg.default_runtime), "kata");
	ck_assert_int_lt(config_validate(&cfg, &err), 0);
	ck_assert_str_eq(err.msg, "default runtime \"kata\" is not configured");
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	config_fini(&cfg);

	/* the default runc is kept when the file defines no runtime */
	expect_ok(&cfg, "[sandbox]\ndefault_runtime = runc\n");
	ck_assert_uint_eq(cfg.n_runtimes, 1);
	config_fini(&cfg);
	expect_error("[sandbox]\n\ndefault_runtime = kata\n", 3,
	             "default runtime \"kata\" is not configured");
}
END_TEST

START_TEST(test_metrics_address)
{
	static const char *const good[] = {
		"127.0.0.1:9464", "0.0.0.0:1",         "[::1]:9464",      "[::]:65535",
		"localhost:9464", "node-1.example:80", "[fe80::1]:09464", "a:1",
	};
	struct daemon_config cfg;
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[metrics]\naddress = %s\n", good[i]);
		expect_ok(&cfg, text);
		ck_assert_str_eq(cfg.metrics_address, good[i]);
		config_fini(&cfg);
	}
	/* empty: off, as by default */
	expect_ok(&cfg, "[metrics]\naddress =\n");
	ck_assert_str_eq(cfg.metrics_address, "");
	config_fini(&cfg);
	expect_ok(&cfg, "[metrics]\n");
	ck_assert_str_eq(cfg.metrics_address, "");
	config_fini(&cfg);
}
END_TEST

/* [cni]: containerd's defaults (Debian's plugin directory added), every
 * key read, bad values refused by name. */
START_TEST(test_cni)
{
	struct daemon_config cfg;

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.cni_conf_dir, "/etc/cni/net.d");
	ck_assert_str_eq(cfg.cni_bin_dir, "/opt/cni/bin:/usr/lib/cni");
	ck_assert_int_eq(cfg.cni_max_conf_num, 1);
	ck_assert(cfg.cni_required);
	ck_assert_int_eq(cfg.cni_timeout, 10);
	config_fini(&cfg);
	expect_ok(&cfg, "[cni]\nconf_dir = /etc/cradle/net.d\nbin_dir = /usr/lib/cni\n"
	                "max_conf_num = 3\nrequired = false\ntimeout = 2\n");
	ck_assert_str_eq(cfg.cni_conf_dir, "/etc/cradle/net.d");
	ck_assert_str_eq(cfg.cni_bin_dir, "/usr/lib/cni");
	ck_assert_int_eq(cfg.cni_max_conf_num, 3);
	ck_assert(!cfg.cni_required);
	ck_assert_int_eq(cfg.cni_timeout, 2);
	config_fini(&cfg);
	expect_error("[cni]\nbin_dir = /a:b\n", 2,
	             "bin_dir: \"/a:b\" is not a ':'-separated list of absolute paths");
	expect_error("[cni]\nbin_dir = /a::/b\n", 2,
	             "bin_dir: \"/a::/b\" is not a ':'-separated list of absolute paths");
	expect_error("[cni]\nbin_dir =\n", 2,
	             "bin_dir: \"\" is not a ':'-separated list of absolute paths");
	expect_error("[cni]\nconf_dir = net.d\n", 2, "conf_dir: \"net.d\" is not an absolute path");
	expect_error("[cni]\ntimeout = 0\n", 2, "timeout: \"0\" is not an integer in 1..600");
	expect_error("[cni]\nmax_conf_num = 0\n", 2,
	             "max_conf_num: \"0\" is not an integer in 1..1024");
	expect_error("[cni]\nrequired = maybe\n", 2,
	             "required: \"maybe\" is not a boolean (true/false, yes/no, 1/0)");
	expect_error("[cni]\n[cni]\n", 2, "section [cni] appears twice");
}
END_TEST

/* ---- printing ---- */

static char *
print_to_string(const struct daemon_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_fprint(f, cfg);
	fclose(f);
	return buf;
}

START_TEST(test_print)
{
	static const char *const lines[] = {
		"[cradled]\n",
		"\nroot = /srv/cradle/lib\n",
		"\nstate = /srv/cradle/run\n",
		"\nworkers = 3\n",
		"\nqueue_depth = 100\n",
		"\ncontexts = 50\n",
		"\n\n[sandbox]\n",
		"\nimage_archive = /opt/pause/pause.oci.tar\n",
		"\nimage = registry.k8s.io/pause:3.8\n",
		"\nshm_size = 128k\n",
		"\ndefault_runtime = kata\n",
		"\nrestrict_oom_score_adj = true\n",
		"\nenable_unprivileged_ports = true\n",
		"\nenable_unprivileged_icmp = true\n",
		"\ncgroup_root = /kubepods/cradle\n",
		"\nhost_resolv_conf = /run/systemd/resolve/resolv.conf\n",
		"\n\n[selinux]\n",
		"\nenable = true\n",
		"\ncategory_range = 512\n",
		"\ncontexts = /etc/cradle/lxc_contexts\n",
		"\n\n[runtime.kata]\ntype = io.containerd.kata.v2\n"
		"path =\n"
		"pod_annotations = io.katacontainers.*, example.com/x\nvm = false\n"
		"seccomp_default = localhost//etc/cradle/seccomp.json\n",
		"\n\n[runtime.runc]\ntype = io.containerd.runc.v2\npath =\npod_annotations =\n"
		"vm = false\nseccomp_default = runtime/default\n",
	};
	struct daemon_config cfg, again;
	char path[PATH_MAX];
	struct cradle_err err = { 0 };

	/* [metrics] prints and reads back, set or not */
	expect_ok(&cfg, "[metrics]\naddress = [::1]:9464\n");
	char *m = print_to_string(&cfg);
	ck_assert_msg(strstr(m, "\n\n[metrics]\naddress = [::1]:9464\n") != NULL, "%s", m);
	ck_assert_int_eq(load_text(&again, m, path, &err), 0);
	ck_assert_str_eq(again.metrics_address, "[::1]:9464");
	free(m);
	config_fini(&again);
	config_fini(&cfg);

	load_fixture(&cfg, "full.conf");
	char *out = print_to_string(&cfg);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ck_assert_msg(strstr(out, lines[i]) != NULL, "missing %s in:\n%s", lines[i], out);

	/* what it prints reads back to the same configuration */
	ck_assert_int_eq(load_text(&again, out, path, &err), 0);
	char *out2 = print_to_string(&again);
	ck_assert_str_eq(out2, out);
	free(out2);
	free(out);
	config_fini(&again);
	config_fini(&cfg);

	/* defaults print too, shm_size with its unit */
	config_defaults(&cfg);
	out = print_to_string(&cfg);
	ck_assert_ptr_nonnull(strstr(out, "\nshm_size = 64m\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nimage = cradle.local/pause:built-in\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n[runtime.runc]\ntype = io.containerd.runc.v2\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ncontexts =\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n[metrics]\naddress =\n"));
	free(out);
	config_fini(&cfg);
}
END_TEST

/* ---- quoting and round trips ---- */

/* text loads; its print loads to a configuration that prints the same;
 * the print is returned (free it) and the configuration left in cfg. */
static char *
round_trip(struct daemon_config *cfg, const char *text)
{
	struct daemon_config again;
	struct cradle_err err = { 0 };
	char path[PATH_MAX];

	ck_assert_msg(load_text(cfg, text, path, &err) == 0, "rejected: %s\n%s", err.msg, text);
	char *p1 = print_to_string(cfg);
	ck_assert_msg(load_text(&again, p1, path, &err) == 0, "print rejected: %s\n%s", err.msg,
	              p1);
	char *p2 = print_to_string(&again);
	ck_assert_str_eq(p2, p1);
	free(p2);
	config_fini(&again);
	return p1;
}

/* The print has this line. */
static void
expect_line(const char *print, const char *line)
{
	char want[8192];

	snprintf(want, sizeof(want), "\n%s\n", line);
	ck_assert_msg(strstr(print, want) != NULL, "no line %s in:\n%s", line, print);
}

START_TEST(test_quoting)
{
	struct daemon_config cfg;
	char *out;

	/* ';' right after '=' is a value (inih's rule too), printed quoted:
	 * printed bare after "= " it would read as a comment */
	out = round_trip(&cfg, "[runtime.runc]\ntype =;x\n[registry]\ninsecure =;h:5000\n");
	ck_assert_str_eq(cfg.runtimes[0].type, ";x");
	ck_assert_str_eq(cfg.registry_insecure, ";h:5000");
	expect_line(out, "type = \";x\"");
	expect_line(out, "insecure = \";h:5000\"");
	free(out);
	config_fini(&cfg);

	/* ... and after a blank it starts a comment; '#' is a character */
	out = round_trip(&cfg, "[runtime.runc]\ntype = #x ;c\n[registry]\ninsecure = ;gone\n");
	ck_assert_str_eq(cfg.runtimes[0].type, "#x");
	ck_assert_str_eq(cfg.registry_insecure, "");
	expect_line(out, "type = #x");
	free(out);
	config_fini(&cfg);

	/* '"' and '\' inside a bare value are characters; a value that
	 * begins with '"' is quoted; escapes \" \\ \n \r \t */
	out = round_trip(&cfg, "[runtime.runc]\ntype = a\"b\\c\n"
	                       "[registry]\ninsecure = \"\\\"q\\\\\" ; comment\n");
	ck_assert_str_eq(cfg.runtimes[0].type, "a\"b\\c");
	ck_assert_str_eq(cfg.registry_insecure, "\"q\\");
	expect_line(out, "type = a\"b\\c");
	expect_line(out, "insecure = \"\\\"q\\\\\"");
	free(out);
	config_fini(&cfg);

	/* blanks kept inside quotes: trailing ones, a " ;", a line break */
	out = round_trip(&cfg, "[sandbox]\nhost_resolv_conf = \"/etc/r c ;x  \"\n"
	                       "[cradled]\nroot = \"/a\\nb\\tc\\rd\"#c\n"
	                       "[selinux]\ncontexts = \"/x\"\n");
	ck_assert_str_eq(cfg.host_resolv_conf, "/etc/r c ;x  ");
	ck_assert_str_eq(cfg.root, "/a\nb\tc\rd");
	ck_assert_str_eq(cfg.selinux_contexts, "/x");
	expect_line(out, "host_resolv_conf = \"/etc/r c ;x  \"");
	expect_line(out, "root = \"/a\\nb\\tc\\rd\"");
	expect_line(out, "contexts = /x"); /* quotes only where needed */
	free(out);
	config_fini(&cfg);

	/* a quoted empty value is empty; leading blanks reach the checks */
	out = round_trip(&cfg, "[metrics]\naddress = \"\"\n");
	ck_assert_str_eq(cfg.metrics_address, "");
	expect_line(out, "address =");
	free(out);
	config_fini(&cfg);
	expect_error("[cradled]\nroot = \" /x\"\n", 2, "root: \" /x\" is not an absolute path");

	/* glob lists: items with ';' and '"', quoted as a whole */
	out = round_trip(&cfg, "[runtime.runc]\npod_annotations = \";a, b ;c, \\\"d\\\\*, e;f\"\n");
	const struct proto_strs *l = &cfg.runtimes[0].pod_annotations;
	ck_assert_uint_eq(l->n, 4);
	ck_assert_str_eq(l->v[0], ";a");
	ck_assert_str_eq(l->v[1], "b ;c");
	ck_assert_str_eq(l->v[2], "\"d\\*");
	ck_assert_str_eq(l->v[3], "e;f");
	expect_line(out, "pod_annotations = \";a, b ;c, \\\"d\\\\*, e;f\"");
	free(out);
	config_fini(&cfg);
	out = round_trip(&cfg, "[runtime.runc]\npod_annotations = a,;b\n");
	ck_assert_str_eq(cfg.runtimes[0].pod_annotations.v[1], ";b");
	expect_line(out, "pod_annotations = \"a, ;b\"");
	free(out);
	config_fini(&cfg);
	out = round_trip(&cfg, "[runtime.runc]\npod_annotations = \\*x, [^;]\n");
	expect_line(out, "pod_annotations = \\*x, [^;]");
	free(out);
	config_fini(&cfg);
}
END_TEST

/* What fuzz_ini found before quoting: values that loaded but printed as
 * something else (tests/fuzz/corpus/fuzz_ini), and a glob list that fit
 * inih's 198 characters but printed longer. */
START_TEST(test_round_trip_long)
{
	char text[1024];
	struct daemon_config cfg;
	size_t n = (size_t)snprintf(text, sizeof(text), "[runtime.r]\npod_annotations=");

	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sab%d", i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "\ntype =;'m \n[sandbox]\ndefault_runtime = r\n");
	ck_assert_uint_gt(strchr(text + 12, '\n') - text - 12, 198);
	char *out = round_trip(&cfg, text);
	ck_assert_uint_eq(cfg.runtimes[0].pod_annotations.n, 60);
	ck_assert_str_eq(cfg.runtimes[0].type, ";'m");
	const char *line = strstr(out, "pod_annotations = ");
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_gt((size_t)(strchr(line, '\n') - line), 198 + 59);
	free(out);
	config_fini(&cfg);
}
END_TEST

/* Every example file and every good fixture: loads, prints, and the print
 * reads back to the same print. */
static int
round_trip_dir(const char *rel, const char *suffix)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	int n = 0;

	ck_assert_msg(unit_data_path(dir, rel) == 0, "%s", rel);
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < strlen(suffix) ||
		    strcmp(de->d_name + len - strlen(suffix), suffix) != 0 ||
		    strncmp(de->d_name, "bad-", 4) == 0 || strcmp(de->d_name, "no-runc.conf") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		size_t size;
		char *text = unit_slurp_ok(path, &size);
		struct daemon_config cfg;
		char *out = round_trip(&cfg, text);
		free(out);
		free(text);
		config_fini(&cfg);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_examples_round_trip)
{
	ck_assert_int_ge(round_trip_dir("../../examples", ".conf"), 1);
	ck_assert_int_ge(round_trip_dir("config", ".conf"), 3);
}
END_TEST

/* ---- drop-ins ---- */

static void
put_dropin(const char *name, const char *text)
{
	char path[PATH_MAX];

	unit_path(path, sizeof(path), "cradled.conf.d");
	mkdir(path, 0755);
	unit_path(path, sizeof(path), name);
	unit_put_str(path, text);
}

START_TEST(test_dropins)
{
	struct daemon_config cfg;
	char path[PATH_MAX], dir[PATH_MAX], want[PATH_MAX * 2];
	struct cradle_err err = { 0 };

	put_dropin("cradled.conf.d/20-b.conf", "[registry]\ntimeout = 10\n");
	put_dropin("cradled.conf.d/10-a.conf", "[registry]\ntimeout = 20\ninsecure = a:1\n"
	                                       "[runtime.runc]\npod_annotations = x.io/*\n");
	/* ignored: not .conf, hidden, not a regular file, masked */
	put_dropin("cradled.conf.d/30-c.conf.bak", "[registry]\ntimeout = 1\n");
	put_dropin("cradled.conf.d/.40-d.conf", "[registry]\ntimeout = 2\n");
	unit_path(dir, sizeof(dir), "cradled.conf.d/50-dir.conf");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	unit_path(dir, sizeof(dir), "cradled.conf.d/60-masked.conf");
	ck_assert_int_eq(symlink("/dev/null", dir), 0);
	/* byte order: "9" after "20" */
	put_dropin("cradled.conf.d/9.conf", "[sandbox]\nshm_size = 1m\n");
	expect_ok(&cfg, "[registry]\ntimeout = 30\nca_file = /ca.pem\n[sandbox]\nshm_size = 2m\n"
	                "[runtime.runc]\npod_annotations = a, b\nseccomp_default = unconfined\n");
	ck_assert_int_eq(cfg.registry_timeout, 10);
	ck_assert_str_eq(cfg.registry_insecure, "a:1");
	ck_assert_str_eq(cfg.registry_ca_file, "/ca.pem");
	ck_assert_uint_eq(cfg.shm_size, 1u << 20);
	/* a list is replaced whole; the section's other keys stay */
	ck_assert_uint_eq(cfg.n_runtimes, 1);
	ck_assert_uint_eq(cfg.runtimes[0].pod_annotations.n, 1);
	ck_assert_str_eq(cfg.runtimes[0].pod_annotations.v[0], "x.io/*");
	ck_assert_str_eq(cfg.runtimes[0].seccomp_default, "unconfined");
	config_fini(&cfg);

	/* an error in a drop-in names it, and its line */
	put_dropin("cradled.conf.d/15-bad.conf", "[registry]\n\ntimeout = 0\n");
	ck_assert_int_lt(load_text(&cfg, "[registry]\ntimeout = 30\n", path, &err), 0);
	unit_path(dir, sizeof(dir), "cradled.conf.d/15-bad.conf");
	snprintf(want, sizeof(want), "%s:3: timeout: \"0\" is not an integer in 1..86400", dir);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	config_fini(&cfg);
	/* each file on its own: a section twice in one file, a key outside one */
	put_dropin("cradled.conf.d/15-bad.conf", "[registry]\n[registry]\n");
	ck_assert_int_lt(load_text(&cfg, "[registry]\ntimeout = 30\n", path, &err), 0);
	snprintf(want, sizeof(want), "%s:2: section [registry] appears twice", dir);
	ck_assert_str_eq(err.msg, want);
	config_fini(&cfg);
	put_dropin("cradled.conf.d/15-bad.conf", "timeout = 5\n");
	ck_assert_int_lt(load_text(&cfg, "[registry]\n", path, &err), 0);
	snprintf(want, sizeof(want), "%s:1: key \"timeout\" is outside any section", dir);
	ck_assert_str_eq(err.msg, want);
	config_fini(&cfg);
	ck_assert_int_eq(unlink(dir), 0);

	/* runtimes: a drop-in's replace the default runc too, and the error
	 * names the first file that had one */
	unit_path(dir, sizeof(dir), "cradled.conf.d");
	ck_assert_int_eq(unit_rm_rf(dir), 0);
	put_dropin("cradled.conf.d/70-kata.conf", "[runtime.kata]\n");
	ck_assert_int_lt(load_text(&cfg, "[sandbox]\n", path, &err), 0);
	unit_path(dir, sizeof(dir), "cradled.conf.d/70-kata.conf");
	snprintf(want, sizeof(want), "%s: default runtime \"runc\" is not configured", dir);
	ck_assert_str_eq(err.msg, want);
	config_fini(&cfg);
	/* a later file's [runtime.runc] sets keys of the main file's */
	put_dropin("cradled.conf.d/75-runc.conf", "[runtime.runc]\npod_annotations = y\n");
	expect_ok(&cfg, "[runtime.runc]\ntype = t1\npod_annotations = a, b\n");
	ck_assert_uint_eq(cfg.n_runtimes, 2);
	ck_assert_str_eq(cfg.runtimes[0].name, "runc");
	ck_assert_str_eq(cfg.runtimes[0].type, "t1");
	ck_assert_uint_eq(cfg.runtimes[0].pod_annotations.n, 1);
	ck_assert_str_eq(cfg.runtimes[0].pod_annotations.v[0], "y");
	ck_assert_str_eq(cfg.runtimes[1].name, "kata");
	config_fini(&cfg);
	/* default_runtime set in a drop-in, wrong: its file and line */
	put_dropin("cradled.conf.d/80-def.conf", "# x\n[sandbox]\ndefault_runtime = gvisor\n");
	ck_assert_int_lt(load_text(&cfg, "[runtime.runc]\n", path, &err), 0);
	unit_path(dir, sizeof(dir), "cradled.conf.d/80-def.conf");
	snprintf(want, sizeof(want), "%s:3: default runtime \"gvisor\" is not configured", dir);
	ck_assert_str_eq(err.msg, want);
	config_fini(&cfg);

	/* the default file may be absent: its drop-ins are still read */
	unit_path(path, sizeof(path), "cradled.conf");
	ck_assert_int_eq(unlink(path), 0);
	config_defaults(&cfg);
	ck_assert_int_lt(config_load(&cfg, path, false, &err), 0);
	ck_assert_str_eq(err.msg, want);
	config_fini(&cfg);
	/* and a named one may not */
	config_defaults(&cfg);
	ck_assert_int_lt(config_load(&cfg, path, true, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	config_fini(&cfg);
}
END_TEST

/* ---- config_diff ---- */

struct seen {
	char lines[16][256];
	int n;
};

static void
on_change(void *arg, const struct config_change *ch)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 16);
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "[%s] %s %s -> %s%s", ch->section,
	         ch->key ? ch->key : "-", ch->old_value, ch->new_value,
	         ch->reloadable ? " (reload)" : "");
}

START_TEST(test_diff)
{
	struct daemon_config a, b;
	struct seen s = { .n = 0 };

	expect_ok(&a, "[registry]\ntimeout = 30\n[sandbox]\nimage = x\n[runtime.runc]\n"
	              "[runtime.old]\n");
	ck_assert_int_eq(config_diff(&a, &a, on_change, &s), 0);
	expect_ok(&b, "[cradled]\nlog_level = debug\n[registry]\ntimeout = 10\ninsecure = h:1\n"
	              "[sandbox]\nimage = y\n[runtime.runc]\ntype = t\n[runtime.new]\n");
	ck_assert_int_eq(config_diff(&a, &b, on_change, &s), 7);
	ck_assert_str_eq(s.lines[0], "[cradled] log_level info -> debug (reload)");
	ck_assert_str_eq(s.lines[1], "[sandbox] image x -> y");
	ck_assert_str_eq(s.lines[2], "[registry] insecure  -> h:1 (reload)");
	ck_assert_str_eq(s.lines[3], "[registry] timeout 30 -> 10 (reload)");
	ck_assert_str_eq(s.lines[4], "[runtime.runc] type io.containerd.runc.v2 -> t");
	ck_assert_str_eq(s.lines[5], "[runtime.old] - defined -> removed");
	ck_assert_str_eq(s.lines[6], "[runtime.new] - absent -> added");
	config_fini(&a);
	config_fini(&b);
}
END_TEST

/* ---- runtime_select (containerd's getSandboxRuntime) ---- */

struct sel {
	struct daemon_config cfg;
	struct pod_config pod;
};

/* runc (the default) and untrusted, as the example file has them */
static void
sel_init(struct sel *s, const char *untrusted)
{
	load_fixture(&s->cfg, "example.conf");
	pod_config_init(&s->pod);
	if (untrusted != NULL)
		ck_assert_int_eq(
			proto_kvs_add(&s->pod.annotations, RUNTIME_UNTRUSTED_ANNOTATION, untrusted),
			0);
}

static void
sel_fini(struct sel *s)
{
	pod_config_fini(&s->pod);
	config_fini(&s->cfg);
}

static void
expect_select(const struct sel *s, const char *handler, const char *want)
{
	const struct runtime_config *rt = NULL;
	struct cradle_err err = { 0 };
	struct runtime_set rs = config_runtimes(&s->cfg);

	ck_assert_msg(runtime_select(&rs, &s->pod, handler, &rt, &err) == 0, "handler %s: %s",
	              handler ? handler : "(null)", err.msg);
	ck_assert_ptr_nonnull(rt);
	ck_assert_str_eq(rt->name, want);
}

static void
expect_select_error(const struct sel *s, const char *handler, const char *msg)
{
	const struct runtime_config *rt = NULL;
	struct cradle_err err = { 0 };
	struct runtime_set rs = config_runtimes(&s->cfg);

	ck_assert_int_lt(runtime_select(&rs, &s->pod, handler, &rt, &err), 0);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_ptr_null(rt);
}

START_TEST(test_select_default_and_explicit)
{
	struct sel s;

	sel_init(&s, NULL);
	expect_select(&s, NULL, "runc");
	expect_select(&s, "", "runc");
	expect_select(&s, "runc", "runc");
	expect_select(&s, "untrusted", "untrusted");
	expect_select_error(&s, "kata", "no runtime for \"kata\" is configured");

	/* a pod is optional; the default follows default_runtime */
	const struct runtime_config *rt = NULL;
	struct cradle_err err = { 0 };
	snprintf(s.cfg.default_runtime, sizeof(s.cfg.default_runtime), "untrusted");
	struct runtime_set rs = config_runtimes(&s.cfg);
	ck_assert_int_eq(runtime_select(&rs, NULL, NULL, &rt, &err), 0);
	ck_assert_str_eq(rt->name, "untrusted");
	snprintf(s.cfg.default_runtime, sizeof(s.cfg.default_runtime), "gone");
	rs = config_runtimes(&s.cfg);
	ck_assert_int_lt(runtime_select(&rs, NULL, "", &rt, &err), 0);
	ck_assert_str_eq(err.msg, "no runtime for \"gone\" is configured");
	sel_fini(&s);
}
END_TEST

START_TEST(test_select_untrusted)
{
	struct sel s;

	sel_init(&s, "true");
	expect_select(&s, NULL, "untrusted");
	expect_select(&s, "", "untrusted");
	expect_select(&s, "untrusted", "untrusted");
	expect_select_error(&s, "runc",
	                    "untrusted workload with explicit runtime handler is not allowed");
	/* even one that does not exist: the explicit-handler rule comes first */
	expect_select_error(&s, "kata",
	                    "untrusted workload with explicit runtime handler is not allowed");

	/* privileged alone is allowed: a VM runtime confines it to the guest */
	s.pod.linux.security_context.privileged = true;
	expect_select(&s, NULL, "untrusted");
	sel_fini(&s);

	/* and an untrusted pod needs the "untrusted" runtime configured */
	struct daemon_config def;
	struct pod_config pod;
	const struct runtime_config *rt = NULL;
	struct cradle_err err = { 0 };
	config_defaults(&def);
	pod_config_init(&pod);
	ck_assert_int_eq(proto_kvs_add(&pod.annotations, RUNTIME_UNTRUSTED_ANNOTATION, "true"), 0);
	struct runtime_set rs = config_runtimes(&def);
	ck_assert_int_lt(runtime_select(&rs, &pod, NULL, &rt, &err), 0);
	ck_assert_str_eq(err.msg, "no runtime for \"untrusted\" is configured");
	pod_config_fini(&pod);
	config_fini(&def);
}
END_TEST

START_TEST(test_select_untrusted_host_access)
{
	for (int which = 0; which < 3; which++) {
		struct sel s;
		sel_init(&s, "true");
		int *mode = which == 0   ? &s.pod.linux.security_context.namespace_options.network
		            : which == 1 ? &s.pod.linux.security_context.namespace_options.pid
		                         : &s.pod.linux.security_context.namespace_options.ipc;
		/* anything but NODE is no host access */
		*mode = NS_CONTAINER;
		expect_select(&s, NULL, "untrusted");
		*mode = NS_TARGET;
		expect_select(&s, NULL, "untrusted");
		*mode = NS_NODE;
		expect_select_error(&s, NULL, "untrusted workload with host access is not allowed");
		expect_select_error(&s, "untrusted",
		                    "untrusted workload with host access is not allowed");
		/* the explicit-handler rule is checked first */
		expect_select_error(
			&s, "runc",
			"untrusted workload with explicit runtime handler is not allowed");
		sel_fini(&s);
	}
}
END_TEST

START_TEST(test_select_annotation_exact)
{
	static const char *const values[] = { "True", "TRUE", "yes", "1", "", "true ", "false" };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct sel s;
		sel_init(&s, values[i]);
		/* an ordinary pod: default runtime, explicit handlers and host
		 * access allowed */
		expect_select(&s, NULL, "runc");
		expect_select(&s, "runc", "runc");
		s.pod.linux.security_context.namespace_options.network = NS_NODE;
		expect_select(&s, NULL, "runc");
		sel_fini(&s);
	}
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = unit_tcase(s, "config", unit_scratch_setup, unit_scratch_teardown, 0,
	                UNIT_TESTS(test_defaults, test_missing_file, test_empty_file, test_full,
	                           test_example, test_bools, test_runtime_refused, test_sizes,
	                           test_pod_annotations, test_structure_ok, test_long_line,
	                           test_nul_byte, test_fixture_errors, test_default_runtime_no_file,
	                           test_metrics_address, test_cni, test_print, test_quoting,
	                           test_round_trip_long, test_examples_round_trip, test_dropins,
	                           test_diff));
	tcase_add_loop_test(tc, test_bad_value, 0, (int)(sizeof(bad) / sizeof(bad[0])));

	unit_tcase(s, "runtime_select", NULL, NULL, 0,
	           UNIT_TESTS(test_select_default_and_explicit, test_select_untrusted,
	                      test_select_untrusted_host_access, test_select_annotation_exact));

	return s;
}

int
main(void)
{
	return unit_run(config_suite(), "test_config", 0);
}
