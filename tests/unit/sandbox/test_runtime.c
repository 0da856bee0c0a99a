/* test_runtime.c - runtime_check (sandbox/runtime.c): the [runtime.NAME]
 * keys only an OCI launcher could honour are refused, naming the section
 * and the key, not silently ignored.  (runtime_select, containerd's
 * getSandboxRuntime, is tested with the configuration that feeds it, in
 * tests/unit/server/test_config.c.)
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "sandbox/runtime.h"
#include "sandbox/types.h"
#include "tests/unit/lib/unit.h"

#define NATIVE_ONLY "this handler has the native launcher (set launcher = oci)"

/* A handler as an empty [runtime.NAME] section makes it. */
static struct runtime_config
handler(const char *name)
{
	return (struct runtime_config){
		.name = (char *)name,
		.type = (char *)"io.containerd.runc.v2",
		.path = (char *)"",
		.seccomp_default = (char *)"",
	};
}

START_TEST(test_check_defaults_ok)
{
	struct runtime_config rt = handler("runc");
	struct cradle_err err = { 0 };

	ck_assert_msg(runtime_check(&rt, &err) == 0, "%s", err.msg);
	/* what the native launcher does honour */
	rt.type = (char *)"io.containerd.kata.v2";
	rt.seccomp_default = (char *)"runtime/default";
	ck_assert_msg(runtime_check(&rt, &err) == 0, "%s", err.msg);
	rt.path = NULL; /* unset, as a caller may leave it */
	ck_assert_msg(runtime_check(&rt, &err) == 0, "%s", err.msg);
}
END_TEST

START_TEST(test_check_path_refused)
{
	struct runtime_config rt = handler("kata");
	struct cradle_err err = { 0 };

	rt.path = (char *)"/opt/kata/bin/containerd-shim-kata-v2";
	ck_assert_int_lt(runtime_check(&rt, &err), 0);
	ck_assert_str_eq(err.msg, "[runtime.kata] path: only an OCI launcher runs a runtime "
	                          "binary; " NATIVE_ONLY);
	/* with the oci launcher path is what it runs */
	rt.launcher = (char *)"oci";
	ck_assert_msg(runtime_check(&rt, &err) == 0, "%s", err.msg);
	ck_assert(runtime_is_oci(&rt));
	rt.path = (char *)"";
	ck_assert_int_lt(runtime_check(&rt, &err), 0);
	ck_assert_str_eq(err.msg, "[runtime.kata] path: launcher = oci needs the OCI runtime "
	                          "binary (e.g. /usr/sbin/runc)");
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_check_vm_refused)
{
	struct runtime_config rt = handler("untrusted");
	struct cradle_err err = { 0 };

	rt.vm = true;
	ck_assert_int_lt(runtime_check(&rt, &err), 0);
	ck_assert_str_eq(err.msg, "[runtime.untrusted] vm: a VM-isolated runtime needs launcher "
	                          "= oci and a VM runtime in path; with the native launcher pods "
	                          "of this handler (untrusted ones included) would get no VM");
	/* oci: vm is the runtime's business */
	rt.launcher = (char *)"oci";
	rt.path = (char *)"/usr/bin/kata-runtime";
	ck_assert_msg(runtime_check(&rt, &err) == 0, "%s", err.msg);
	rt.launcher = (char *)"native";
	rt.path = (char *)"";
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);

	/* both set: the first key of the section is named */
	rt.path = (char *)"/usr/bin/kata";
	ck_assert_int_lt(runtime_check(&rt, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "[runtime.untrusted] path: "));
}
END_TEST

static Suite *
runtime_suite(void)
{
	Suite *s = suite_create("runtime");

	unit_tcase(
		s, "check", NULL, NULL, 0,
		UNIT_TESTS(test_check_defaults_ok, test_check_path_refused, test_check_vm_refused));
	return s;
}

int
main(void)
{
	return unit_run(runtime_suite(), "test_runtime", 0);
}
