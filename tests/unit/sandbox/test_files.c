/* test_files.c - the sandbox's hostname, hosts and resolv.conf
 * (sandbox/files.c), as containerd's setupSandboxFiles writes them.
 *
 * The resolv.conf rules (REFERENCE.md section 3): the pod's DNS config as
 * search/nameserver/options lines; when that gives nothing (no DNS config,
 * or one with no servers, searches or options) a copy of the host's file,
 * which must exist: a node without it fails the start with "failed to copy
 * host's resolv.conf to ...".  The host file is a parameter here, so these
 * tests point it at a file of their own or at a missing one.
 *
 * Each test runs in its own directory and mount namespace (tests/unit/lib).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/proto.h"
#include "sandbox/files.h"
#include "tests/unit/lib/unit.h"

static void
add_strs(struct proto_strs *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(proto_strs_add(s, v[i]), 0);
}

/* --- files_resolv_conf ---------------------------------------------------- */

START_TEST(test_resolv_conf)
{
	struct pod_config cfg;
	static const char *const searches[] = { "a", "b" };
	static const char *const servers[] = { "1.1.1.1", "8.8.8.8" };
	static const char *const options[] = { "ndots:5" };
	char *s;

	/* present but empty: no content (the host's file is copied then) */
	pod_config_init(&cfg);
	cfg.has_dns_config = true;
	s = files_resolv_conf(&cfg);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);

	add_strs(&cfg.dns_config.searches, searches, 2);
	add_strs(&cfg.dns_config.servers, servers, 2);
	add_strs(&cfg.dns_config.options, options, 1);
	s = files_resolv_conf(&cfg);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s,
	                 "search a b\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:5\n");
	free(s);
	pod_config_fini(&cfg);

	/* each kind alone */
	pod_config_init(&cfg);
	add_strs(&cfg.dns_config.servers, servers + 1, 1);
	s = files_resolv_conf(&cfg);
	ck_assert_str_eq(s, "nameserver 8.8.8.8\n");
	free(s);
	pod_config_fini(&cfg);
	pod_config_init(&cfg);
	static const char *const opts2[] = { "ndots:2", "edns0", "timeout:1" };
	add_strs(&cfg.dns_config.options, opts2, 3);
	s = files_resolv_conf(&cfg);
	ck_assert_str_eq(s, "options ndots:2 edns0 timeout:1\n");
	free(s);
	pod_config_fini(&cfg);
	/* many entries (the buffer grows) */
	pod_config_init(&cfg);
	char want[8192] = "search", name[64];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "ns%03d.svc.cluster.local", i);
		ck_assert_int_eq(proto_strs_add(&cfg.dns_config.searches, name), 0);
		strcat(want, " ");
		strcat(want, name);
	}
	strcat(want, "\n");
	s = files_resolv_conf(&cfg);
	ck_assert_str_eq(s, want);
	free(s);
	pod_config_fini(&cfg);
}
END_TEST

/* --- files_setup_sandbox ------------------------------------------------- */

/* dir/name equals the host file host, byte for byte (host must exist). */
static void
assert_copy_of(const char *dir, const char *name, const char *host)
{
	char path[PATH_MAX + 64];
	size_t a, b;
	char *want = unit_slurp_ok(host, &a);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *got = unit_slurp_ok(path, &b);
	ck_assert_uint_eq(a, b);
	ck_assert_int_eq(memcmp(want, got, a), 0);
	free(want);
	free(got);
}

/* A scratch sandbox dir "sb" and a host resolv.conf of the test's own. */
static void
scratch(char dir[PATH_MAX], char host_resolv[PATH_MAX])
{
	unit_path(dir, PATH_MAX, "sb");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	unit_path(host_resolv, PATH_MAX, "host-resolv.conf");
	unit_put_str(host_resolv, "# the host's\nnameserver 192.0.2.53\nsearch example.test\n");
}

START_TEST(test_setup_sandbox)
{
	char dir[PATH_MAX], hr[PATH_MAX], path[PATH_MAX + 64], host[300];
	struct pod_config cfg;
	struct cradle_err err = { 0 };
	struct stat st;
	static const char *const servers[] = { "10.0.0.10" };
	static const char *const searches[] = { "default.svc.cluster.local", "svc.cluster.local" };

	scratch(dir, hr);

	/* a hostname and a DNS config: the host's resolv.conf is not read */
	pod_config_init(&cfg);
	cfg.hostname = strdup("unit-host");
	cfg.has_dns_config = true;
	add_strs(&cfg.dns_config.servers, servers, 1);
	add_strs(&cfg.dns_config.searches, searches, 2);
	ck_assert_msg(files_setup_sandbox(dir, &cfg, hr, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/hostname", dir);
	unit_assert_file_is(path, "unit-host\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	assert_copy_of(dir, "hosts", "/etc/hosts");
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	unit_assert_file_is(path, "search default.svc.cluster.local svc.cluster.local\n"
	                          "nameserver 10.0.0.10\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	pod_config_fini(&cfg);

	/* again over the same files: an empty hostname is the host's, and a
	 * DNS config present but empty copies the host's resolv.conf, as every
	 * containerd version does */
	pod_config_init(&cfg);
	cfg.hostname = strdup("");
	cfg.has_dns_config = true;
	ck_assert_msg(files_setup_sandbox(dir, &cfg, hr, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(gethostname(host, sizeof(host) - 2), 0);
	strcat(host, "\n");
	snprintf(path, sizeof(path), "%s/hostname", dir);
	unit_assert_file_is(path, host);
	assert_copy_of(dir, "resolv.conf", hr);
	pod_config_fini(&cfg);

	/* no hostname at all, no DNS config: the host's resolv.conf too */
	pod_config_init(&cfg);
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	unit_put_str(path, "stale\n");
	ck_assert_msg(files_setup_sandbox(dir, &cfg, hr, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/hostname", dir);
	unit_assert_file_is(path, host);
	assert_copy_of(dir, "hosts", "/etc/hosts");
	assert_copy_of(dir, "resolv.conf", hr);
	pod_config_fini(&cfg);
}
END_TEST

/* files_setup_sandbox with a NULL host file means the node's own
 * /etc/resolv.conf (this test's /etc is the host's, so it must exist here
 * for the test to mean something). */
START_TEST(test_setup_sandbox_default_host_file)
{
	char dir[PATH_MAX], hr[PATH_MAX];
	struct pod_config cfg;
	struct cradle_err err = { 0 };

	ck_assert_msg(access(FILES_HOST_RESOLV_CONF, R_OK) == 0, "this node has no %s",
	              FILES_HOST_RESOLV_CONF);
	ck_assert_str_eq(FILES_HOST_RESOLV_CONF, "/etc/resolv.conf");
	scratch(dir, hr);
	pod_config_init(&cfg);
	cfg.has_dns_config = true;
	ck_assert_msg(files_setup_sandbox(dir, &cfg, NULL, &err) == 0, "%s", err.msg);
	assert_copy_of(dir, "resolv.conf", "/etc/resolv.conf");
	pod_config_fini(&cfg);
}
END_TEST

/* A node without the host file: the start fails with the reference's
 * message, whether the pod has no DNS config or an empty one; a pod whose
 * DNS config gives content does not need the file. */
START_TEST(test_setup_sandbox_no_host_resolv)
{
	char dir[PATH_MAX], hr[PATH_MAX], missing[PATH_MAX], path[PATH_MAX + 64],
		want[2 * PATH_MAX];
	struct pod_config cfg;
	struct cradle_err err;
	static const char *const servers[] = { "10.0.0.10" };

	scratch(dir, hr);
	unit_path(missing, sizeof(missing), "no-such-resolv.conf");
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	snprintf(want, sizeof(want), "failed to copy host's resolv.conf to \"%s\": %s", path,
	         strerror(ENOENT));
	for (int present = 0; present < 2; present++) {
		pod_config_init(&cfg);
		cfg.has_dns_config = present;
		memset(&err, 0, sizeof(err));
		ck_assert_int_lt(files_setup_sandbox(dir, &cfg, missing, &err), 0);
		ck_assert_str_eq(err.msg, want);
		/* the node lacks the file; the request is fine */
		ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
		pod_config_fini(&cfg);
	}

	pod_config_init(&cfg);
	cfg.has_dns_config = true;
	add_strs(&cfg.dns_config.servers, servers, 1);
	ck_assert_msg(files_setup_sandbox(dir, &cfg, missing, &err) == 0, "%s", err.msg);
	unit_assert_file_is(path, "nameserver 10.0.0.10\n");
	pod_config_fini(&cfg);
}
END_TEST

START_TEST(test_setup_sandbox_errors)
{
	char dir[PATH_MAX], hr[PATH_MAX], path[PATH_MAX + 64], want[2 * PATH_MAX];
	struct pod_config cfg;
	struct cradle_err err = { 0 };
	static const char *const options[] = { "ndots:1" };

	unit_path(dir, sizeof(dir), "no-such-dir");
	pod_config_init(&cfg);
	ck_assert_int_lt(files_setup_sandbox(dir, &cfg, NULL, &err), 0);
	snprintf(want, sizeof(want), "failed to write hostname to \"%s/hostname\": %s", dir,
	         strerror(ENOENT));
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert(!unit_exists(dir));

	/* a directory name too long for the paths */
	char *longdir = malloc(5000);
	ck_assert_ptr_nonnull(longdir);
	memset(longdir, 'x', 4999);
	longdir[0] = '/';
	longdir[4999] = '\0';
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(files_setup_sandbox(longdir, &cfg, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "path too long"));
	free(longdir);
	pod_config_fini(&cfg);

	/* resolv.conf cannot be written (a directory is in the way): the
	 * content's error, and the copy's, with the errno's own code */
	scratch(dir, hr);
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	pod_config_init(&cfg);
	cfg.has_dns_config = true;
	add_strs(&cfg.dns_config.options, options, 1);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(files_setup_sandbox(dir, &cfg, hr, &err), 0);
	snprintf(want, sizeof(want), "failed to write resolv content to \"%s\": %s", path,
	         strerror(EISDIR));
	ck_assert_str_eq(err.msg, want);
	pod_config_fini(&cfg);
	pod_config_init(&cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(files_setup_sandbox(dir, &cfg, hr, &err), 0);
	snprintf(want, sizeof(want), "failed to copy host's resolv.conf to \"%s\": ", path);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	ck_assert_int_ne(err.code, CRADLE_FAILED_PRECONDITION);
	pod_config_fini(&cfg);
}
END_TEST

static Suite *
files_suite(void)
{
	Suite *s = suite_create("files");

	unit_tcase(s, "files", unit_scratch_setup_ns, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_resolv_conf, test_setup_sandbox,
	                      test_setup_sandbox_default_host_file,
	                      test_setup_sandbox_no_host_resolv, test_setup_sandbox_errors));
	return s;
}

int
main(void)
{
	return unit_run(files_suite(), "test_files", 0);
}
