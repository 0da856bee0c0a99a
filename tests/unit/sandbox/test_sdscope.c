/* test_sdscope.c - the systemd cgroup driver (sandbox/sdscope.c) where no
 * systemd is needed: unit and slice names from runc's "slice:prefix:name",
 * the refusals and their texts, the properties a scope gets, the device
 * list from /proc/devices, and a bus that cannot be reached.  The driver
 * against a real systemd (scopes made, stopped, recovered) is
 * tests/integ/test_systemd.c, in a booted systemd.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/runtime.h"
#include "sandbox/sdscope.h"
#include "sandbox/types.h"
#include "tests/unit/lib/unit.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_parse_names)
{
	char slice[SDSCOPE_NAME_MAX], unit[SDSCOPE_NAME_MAX];
	struct cradle_err err = { 0 };

	ck_assert_msg(sdscope_parse("kubepods-besteffort.slice:cri-containerd:" ID, slice, unit,
	                            &err) == 0,
	              "%s", err.msg);
	ck_assert_str_eq(slice, "kubepods-besteffort.slice");
	ck_assert_str_eq(unit, "cri-containerd-" ID ".scope");
	/* an empty slice is runc's default */
	ck_assert_msg(sdscope_parse(":cri-containerd:" ID, slice, unit, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(slice, "system.slice");
	/* no prefix: the name alone */
	ck_assert_msg(sdscope_parse("-.slice::x", slice, unit, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(slice, "-.slice");
	ck_assert_str_eq(unit, "x.scope");
}
END_TEST

START_TEST(test_parse_refusals)
{
	char slice[SDSCOPE_NAME_MAX], unit[SDSCOPE_NAME_MAX];
	struct cradle_err err = { 0 };

	ck_assert_int_lt(sdscope_parse("/k8s.io/" ID, slice, unit, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_str_eq(err.msg,
	                 "cgroups path \"/k8s.io/" ID "\" is not systemd's \"slice:prefix:name\"");
	ck_assert_int_lt(sdscope_parse("a:b:c:d", slice, unit, &err), 0);
	ck_assert_str_eq(err.msg,
	                 "cgroups path \"a:b:c:d\" is not systemd's \"slice:prefix:name\"");
	ck_assert_int_lt(sdscope_parse("kubepods:cri-containerd:x", slice, unit, &err), 0);
	ck_assert_str_eq(err.msg, "cgroups path \"kubepods:cri-containerd:x\": \"kubepods\" is not "
	                          "a systemd slice");
	ck_assert_int_lt(sdscope_parse("a/b.slice:p:x", slice, unit, &err), 0);
	ck_assert_str_eq(err.msg, "cgroups path \"a/b.slice:p:x\": \"a/b.slice\" is not a systemd "
	                          "slice");
	ck_assert_int_lt(sdscope_parse("a.slice:p:x y", slice, unit, &err), 0);
	ck_assert_str_eq(err.msg, "cgroups path \"a.slice:p:x y\": prefix or name is not usable "
	                          "in a systemd unit name");
	ck_assert_int_lt(sdscope_parse("a.slice:p:", slice, unit, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_int_lt(sdscope_parse("a.slice:p:b.slice", slice, unit, &err), 0);
	ck_assert_str_eq(
		err.msg,
		"cgroups path \"a.slice:p:b.slice\": names a slice; a sandbox needs a scope");
}
END_TEST

/* A pod of a systemd_cgroup handler whose parent is no slice (the spec
 * made "<parent>/<id>"): refused, naming the handler and the parent. */
START_TEST(test_check_path)
{
	struct cradle_err err = { 0 };

	ck_assert_int_lt(sdscope_check_path("runc", "/k8s.io", "/k8s.io/" ID, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_str_eq(err.msg, "[runtime.runc] systemd_cgroup: cgroup parent \"/k8s.io\" is "
	                          "not a systemd slice (NAME.slice)");
	ck_assert_msg(sdscope_check_path("runc", "/kubepods.slice/kubepods-burstable.slice",
	                                 "kubepods-burstable.slice:cri-containerd:" ID, &err) == 0,
	              "%s", err.msg);
}
END_TEST

static const char proc_devices[] = "Character devices:\n"
				   "  1 mem\n"
				   "  4 /dev/vc/0\n"
				   "  5 /dev/tty\n"
				   " 10 misc\n"
				   "136 pts\n"
				   "\n"
				   "Block devices:\n"
				   "  8 sd\n"
				   "136 notpts\n";

static const struct sdscope_prop *
prop(const struct sdscope_prop *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return &p[i];
	return NULL;
}

START_TEST(test_props_v1)
{
	struct sdscope_req r;
	struct sdscope_prop p[SDSCOPE_PROPS_MAX];
	struct cradle_err err = { 0 };

	ck_assert_msg(sdscope_req_init(&r, ID, "kubepods.slice:cri-containerd:" ID, 4242, 2,
	                               CGROUP_V1, proc_devices, &err) == 0,
	              "%s", err.msg);
	size_t n = sdscope_props(&r, p, SDSCOPE_PROPS_MAX);
	static const char *const order[] = {
		"Description",
		"Slice",
		"Delegate",
		"PIDs",
		"DefaultDependencies",
		"MemoryAccounting",
		"CPUAccounting",
		"BlockIOAccounting",
		"TasksAccounting",
		"CPUShares",
		"DevicePolicy",
		"DeviceAllow",
	};
	ck_assert_uint_eq(n, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(p[i].name, order[i]);
	ck_assert_str_eq(p[0].s, "cradle pod sandbox " ID);
	ck_assert_str_eq(p[1].s, "kubepods.slice");
	ck_assert_int_eq(p[2].b, 1);
	ck_assert_int_eq(p[3].type, SDP_PIDS);
	ck_assert_uint_eq(p[3].u, 4242);
	ck_assert_int_eq(p[4].b, 0);
	ck_assert_int_eq(p[9].type, SDP_U64);
	ck_assert_uint_eq(p[9].u, 2);
	ck_assert_str_eq(p[10].s, "strict");
	ck_assert_str_eq(r.unit, "cri-containerd-" ID ".scope");

	/* runc's translation of the default allow list */
	static const char *const devs[][2] = {
		{ "char-*", "m" },          { "block-*", "m" },
		{ "/dev/char/1:3", "rwm" }, { "/dev/char/1:5", "rwm" },
		{ "/dev/char/1:7", "rwm" }, { "/dev/char/1:8", "rwm" },
		{ "/dev/char/1:9", "rwm" }, { "/dev/char/5:0", "rwm" },
		{ "/dev/char/5:1", "rwm" }, { "/dev/char/5:2", "rwm" },
		{ "char-pts", "rwm" },      { "/dev/char/10:200", "rwm" },
	};
	ck_assert_uint_eq(r.n_devs, sizeof(devs) / sizeof(devs[0]));
	for (size_t i = 0; i < r.n_devs; i++) {
		ck_assert_str_eq(r.devs[i].path, devs[i][0]);
		ck_assert_str_eq(r.devs[i].perms, devs[i][1]);
	}
}
END_TEST

START_TEST(test_props_v2)
{
	struct sdscope_req r;
	struct sdscope_prop p[SDSCOPE_PROPS_MAX];
	struct cradle_err err = { 0 };

	/* a node without the pts driver: that rule has no name to give */
	ck_assert_msg(sdscope_req_init(&r, ID, "a.slice:p:" ID, 7, 2, CGROUP_V2,
	                               "Character devices:\n  1 mem\n", &err) == 0,
	              "%s", err.msg);
	size_t n = sdscope_props(&r, p, SDSCOPE_PROPS_MAX);
	ck_assert_ptr_nonnull(prop(p, n, "IOAccounting"));
	ck_assert_ptr_null(prop(p, n, "BlockIOAccounting"));
	ck_assert_ptr_null(prop(p, n, "CPUShares"));
	const struct sdscope_prop *w = prop(p, n, "CPUWeight");
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->u, 1); /* shares 2, as runc and crun convert */
	for (size_t i = 0; i < r.n_devs; i++)
		ck_assert_str_ne(r.devs[i].path, "char-pts");
	ck_assert_uint_eq(r.n_devs, 11);
	/* cpu shares 0: not set */
	ck_assert_msg(sdscope_req_init(&r, ID, "a.slice:p:" ID, 7, 0, CGROUP_HYBRID, proc_devices,
	                               &err) == 0,
	              "%s", err.msg);
	n = sdscope_props(&r, p, SDSCOPE_PROPS_MAX);
	ck_assert_ptr_null(prop(p, n, "CPUWeight"));
	ck_assert_ptr_null(prop(p, n, "CPUShares"));
	ck_assert_ptr_nonnull(prop(p, n, "BlockIOAccounting"));
	/* a bad path: nothing filled */
	ck_assert_int_lt(sdscope_req_init(&r, ID, "/k8s.io/x", 7, 2, CGROUP_V2, proc_devices, &err),
	                 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
}
END_TEST

/* This kernel's /proc/devices names the pty major (136) "pts". */
START_TEST(test_props_host_devices)
{
	struct sdscope_req r;
	struct cradle_err err = { 0 };
	bool pts = false;

	ck_assert_msg(sdscope_req_init(&r, ID, "a.slice:p:" ID, 7, 2, CGROUP_V1, NULL, &err) == 0,
	              "%s", err.msg);
	for (size_t i = 0; i < r.n_devs; i++)
		pts = pts || strcmp(r.devs[i].path, "char-pts") == 0;
	ck_assert(pts);
}
END_TEST

/* No systemd at an address: the error names it and the errno. */
START_TEST(test_bus_unreachable)
{
	char sock[PATH_MAX], addr[PATH_MAX + 16], want[PATH_MAX + 64];
	struct cradle_err err = { 0 };

	unit_path(sock, sizeof(sock), "bus");
	UNIT_FMT(addr, "unix:path=%s", sock);
	ck_assert_int_lt(sdscope_check_bus(addr, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	UNIT_FMT(want, "systemd: connect to %s: No such file or directory", addr);
	ck_assert_str_eq(err.msg, want);

	/* a socket nobody listens on */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
	strcpy(sa.sun_path, sock);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_lt(sdscope_check_bus(addr, &err), 0);
	UNIT_FMT(want, "systemd: connect to %s: Connection refused", addr);
	ck_assert_str_eq(err.msg, want);
	close(fd);
	sdscope_close();
}
END_TEST

/* systemd_cgroup serves both launchers now; the other oci-only keys are
 * still refused with the native one. */
START_TEST(test_runtime_check_native)
{
	struct runtime_config rt = {
		.name = (char *)"runc",
		.path = (char *)"",
		.seccomp_default = (char *)"",
		.systemd_cgroup = true,
	};
	struct cradle_err err = { 0 };

	ck_assert_msg(runtime_check(&rt, &err) == 0, "%s", err.msg);
	rt.no_pivot_root = true;
	ck_assert_int_lt(runtime_check(&rt, &err), 0);
	ck_assert_str_eq(err.msg, "[runtime.runc] no_pivot_root: only for launcher = oci");
}
END_TEST

static Suite *
sdscope_suite(void)
{
	Suite *s = suite_create("sdscope");

	unit_tcase(s, "names", NULL, NULL, 0,
	           UNIT_TESTS(test_parse_names, test_parse_refusals, test_check_path));
	unit_tcase(s, "props", NULL, NULL, 0,
	           UNIT_TESTS(test_props_v1, test_props_v2, test_props_host_devices));
	unit_tcase(s, "bus", unit_scratch_setup, unit_scratch_teardown, 0,
	           UNIT_TESTS(test_bus_unreachable, test_runtime_check_native));
	return s;
}

int
main(void)
{
	return unit_run(sdscope_suite(), "test_sdscope", 0);
}
