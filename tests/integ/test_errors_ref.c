/* test_errors_ref.c - errors a real cradled gives, worded and wrapped as
 * the reference's Start and RunPodSandbox wrap them (REFERENCE.md 1.0,
 * 1.1 and 3), and the configuration it refuses at start-up:
 *   - seccomp profile errors: failed to generate sandbox container spec
 *     options: failed to generate seccomp spec opts: ...
 *   - SELinux options: failed to generate sandbox container spec: failed
 *     to init selinux options &SELinuxOption{...}: ...
 *   - sandbox files: failed to setup sandbox files: failed to copy host's
 *     resolv.conf to "<p>": ... (a node without the host's resolv.conf;
 *     [sandbox] host_resolv_conf points at a missing file), and a DNS
 *     config present but empty copies the host's file
 *   - an unknown handler: unable to get OCI runtime for sandbox "<id>": ...
 *   - [runtime.NAME] path and vm = true: cradled does not start.
 * Every failed start must leave nothing (it_cleanup checks).  Needs root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
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

/* a host resolv.conf that no test creates */
#define MISSING_RESOLV IT_TMP_PREFIX "no-such-resolv.conf"

static void
teardown(void)
{
	it_cleanup(&D);
}

static void
run(struct cradle_pod *pod, char id[CRADLE_SANDBOX_ID_LEN + 1], int32_t *pid)
{
	struct cradle_error err = { 0 };
	int r = cradle_sandbox_run(D.conn, pod, NULL, id, pid, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run: %s: %s", cradle_status_name(err.code), err.message);
}

/* Run pod (then freed) with handler, which must fail; its error. */
static void
run_fails(struct cradle_pod *pod, const char *handler, struct cradle_error *err)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;
	int r = cradle_sandbox_run(D.conn, pod, handler, id, &pid, NULL, err);
	cradle_pod_free(pod);
	ck_assert_msg(r < 0, "started");
}

/* msg is head + "\"<64 hex>\"" + tail; the id goes to id. */
static void
expect_with_id(const char *msg, const char *head, const char *tail,
               char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	size_t hl = strlen(head);

	ck_assert_msg(strncmp(msg, head, hl) == 0 && msg[hl] == '"', "%s\nwant: %s\"<id>\"%s", msg,
	              head, tail);
	memcpy(id, msg + hl + 1, CRADLE_SANDBOX_ID_LEN);
	id[CRADLE_SANDBOX_ID_LEN] = '\0';
	ck_assert_msg(it_valid_id(id), "no id in %s", msg);
	ck_assert_msg(msg[hl + 1 + CRADLE_SANDBOX_ID_LEN] == '"' &&
	                      strcmp(msg + hl + 2 + CRADLE_SANDBOX_ID_LEN, tail) == 0,
	              "%s\nwant: %s\"<id>\"%s", msg, head, tail);
}

/* No sandbox is listed. */
static void
assert_none_listed(void)
{
	struct cradle_sandbox_list *l = NULL;
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err) == 0, "list: %s",
	              err.message);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 0);
	cradle_sandbox_list_free(l);
}

/* Step 8 of Start: sandboxContainerSpecOpts wraps the seccomp errors
 * "failed to generate seccomp spec opts", Start "failed to generate sandbox
 * container spec options"; the CRI layer "failed to start sandbox". */
START_TEST(test_seccomp_profile_errors)
{
	char tail[1024], id[CRADLE_SANDBOX_ID_LEN + 1], extra[600], prof[400];
	struct cradle_error err = { 0 };

	it_start(&D, NULL);

	/* a Localhost profile that is not there */
	snprintf(prof, sizeof(prof), "%s/no-such-profile.json", D.dir);
	snprintf(extra, sizeof(extra),
	         "\"linux\": {\"security_context\": {\"seccomp\": {\"profile_type\": "
	         "\"Localhost\", \"localhost_ref\": \"%s\"}}}",
	         prof);
	run_fails(it_pod_json("nofile", NULL, extra), NULL, &err);
	snprintf(tail, sizeof(tail),
	         ": failed to generate sandbox container spec options: failed to generate "
	         "seccomp spec opts: cannot load seccomp profile \"%s\": %s",
	         prof, strerror(ENOENT));
	expect_with_id(err.message, "failed to start sandbox ", tail, id);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);

	/* one that does not parse as a profile (the deprecated path form) */
	snprintf(prof, sizeof(prof), "%s/bad-profile.json", D.dir);
	FILE *f = fopen(prof, "we");
	ck_assert_ptr_nonnull(f);
	fputs("{\"syscalls\": []}\n", f);
	fclose(f);
	snprintf(extra, sizeof(extra),
	         "\"linux\": {\"security_context\": {\"seccomp_profile_path\": \"localhost/%s\"}}",
	         prof);
	run_fails(it_pod_json("badprofile", NULL, extra), NULL, &err);
	snprintf(tail, sizeof(tail),
	         ": failed to generate sandbox container spec options: failed to generate "
	         "seccomp spec opts: %s: defaultAction: missing",
	         prof);
	expect_with_id(err.message, "failed to start sandbox ", tail, id);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	unlink(prof);

	/* one the spec builder refuses before any file is read */
	run_fails(it_pod_json("relprofile", NULL,
	                      "\"linux\": {\"security_context\": {\"seccomp\": {\"profile_type\": "
	                      "\"Localhost\", \"localhost_ref\": \"profiles/p.json\"}}}"),
	          NULL, &err);
	expect_with_id(err.message, "failed to start sandbox ",
	               ": failed to generate sandbox container spec options: failed to generate "
	               "seccomp spec opts: seccomp localhost profile \"profiles/p.json\" is not an "
	               "absolute path",
	               id);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	assert_none_listed();
}
END_TEST

/* Step 5: sandboxContainerSpec wraps initLabelsFromOpt's error with the
 * options as Go prints them, Start with "failed to generate sandbox
 * container spec".  The level is checked with SELinux off too. */
START_TEST(test_selinux_options_error)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };

	it_start(&D, NULL);
	run_fails(it_pod_json("badlevel", NULL,
	                      "\"linux\": {\"security_context\": {\"selinux_options\": "
	                      "{\"user\": \"system_u\", \"level\": \"s0:bad\"}}}"),
	          NULL, &err);
	expect_with_id(err.message, "failed to start sandbox ",
	               ": failed to generate sandbox container spec: failed to init selinux "
	               "options &SELinuxOption{User:system_u,Role:,Type:,Level:s0:bad,}: the "
	               "format of 'level' \"s0:bad\" is not correct",
	               id);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	assert_none_listed();
}
END_TEST

/* Step 13: setupSandboxFiles on a node without the host's resolv.conf.
 * Both a pod without dns_config and one with an empty dns_config need the
 * host's file; one whose dns_config gives lines does not. */
START_TEST(test_sandbox_files_no_host_resolv)
{
	static const char *const extras[] = { NULL, "\"dns_config\": {}" };
	char tail[1024], id[CRADLE_SANDBOX_ID_LEN + 1], path[600], buf[256];
	struct cradle_error err = { 0 };
	int32_t pid;

	ck_assert_int_ne(access(MISSING_RESOLV, F_OK), 0);
	/* with [sandbox], the section libinteg would add: its cgroup_root */
	it_start_with(&D, NULL,
	              "[sandbox]\ncgroup_root = " IT_CGROUP_ROOT
	              "\nhost_resolv_conf = " MISSING_RESOLV "\n");
	for (size_t i = 0; i < 2; i++) {
		run_fails(extras[i] ? it_pod_json("nohostdns", NULL, extras[i])
		                    : it_pod("nohostdns", NULL),
		          NULL, &err);
		/* the id is in the message twice: read it from the first */
		ck_assert_msg(strncmp(err.message, "failed to start sandbox \"", 25) == 0, "%s",
		              err.message);
		memcpy(id, err.message + 25, CRADLE_SANDBOX_ID_LEN);
		id[CRADLE_SANDBOX_ID_LEN] = '\0';
		snprintf(tail, sizeof(tail),
		         ": failed to setup sandbox files: failed to copy host's resolv.conf to "
		         "\"%s/sandboxes/%s/resolv.conf\": %s",
		         D.state, id, strerror(ENOENT));
		expect_with_id(err.message, "failed to start sandbox ", tail, id);
		ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	}
	assert_none_listed();

	/* DNS lines of its own: no host file needed */
	run(it_pod_json("owndns", NULL, "\"dns_config\": {\"servers\": [\"192.0.2.1\"]}"), id,
	    &pid);
	snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", pid);
	it_read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "nameserver 192.0.2.1\n");
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* A DNS config present but empty gives the host's resolv.conf, as every
 * containerd version does; so does none.  The host file is the one
 * [sandbox] host_resolv_conf names. */
START_TEST(test_empty_dns_config_copies_host)
{
	static const char text[] = "# the node's\nnameserver 192.0.2.53\nsearch node.test\n";
	char dir[] = IT_TMP_PREFIX "XXXXXX", host[300], conf[400], path[600], buf[256];
	char id[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_sandbox *s;
	struct cradle_error err = { 0 };
	int32_t pid, pid2;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(host, sizeof(host), "%s/resolv.conf", dir);
	FILE *f = fopen(host, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	snprintf(conf, sizeof(conf), "[sandbox]\ncgroup_root = %s\nhost_resolv_conf = %s\n",
	         IT_CGROUP_ROOT, host);
	it_start_with(&D, NULL, conf);

	run(it_pod_json("emptydns", "emptydns", "\"dns_config\": {}"), id, &pid);
	run(it_pod("nodns", "nodns"), id2, &pid2);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	it_read_text(cradle_sandbox_resolv_conf_path(s), buf, sizeof(buf));
	ck_assert_str_eq(buf, text);
	cradle_sandbox_free(s);
	/* what the pauses see */
	snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", pid);
	it_read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, text);
	snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", pid2);
	it_read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, text);

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
	unlink(host);
	rmdir(dir);
}
END_TEST

/* RunPodSandbox step 4: the id is made first, and a runtime that cannot be
 * had is "unable to get OCI runtime for sandbox "<id>"". */
START_TEST(test_unknown_runtime_handler)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	struct cradle_pod *pod;

	it_start(&D, NULL);
	run_fails(it_pod("nohandler", NULL), "gvisor", &err);
	expect_with_id(err.message, "unable to get OCI runtime for sandbox ",
	               ": no runtime for \"gvisor\" is configured", id);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);

	/* an untrusted pod with an explicit handler, the same wrap */
	pod = it_pod("untrusted", NULL);
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "io.kubernetes.cri.untrusted-workload",
	                                           "true", &err),
	                 0);
	run_fails(pod, "runc", &err);
	expect_with_id(err.message, "unable to get OCI runtime for sandbox ",
	               ": untrusted workload with explicit runtime handler is not allowed", id);
	assert_none_listed();
}
END_TEST

/* [runtime.NAME] path and vm = true need an OCI launcher this cradled
 * lacks: refused at start-up, never silently ignored; the message names
 * the file. */
START_TEST(test_runtime_keys_refused)
{
	static const char *const path[] = {
		"cradled.conf: [runtime.kata] path: only an OCI launcher runs a runtime binary; "
		"this handler has the native launcher (set launcher = oci)",
		NULL
	};
	static const char *const vm[] = {
		"cradled.conf: [runtime.untrusted] vm: a VM-isolated runtime needs launcher = oci "
		"and a VM runtime in path; with the native launcher pods of this handler "
		"(untrusted ones included) would get no VM",
		NULL
	};

	it_expect_refused("[runtime.runc]\n[runtime.kata]\n"
	                  "path = /opt/kata/bin/containerd-shim-kata-v2\n",
	                  path);
	it_expect_refused("[runtime.runc]\n[runtime.untrusted]\nvm = true\n", vm);
}
END_TEST

static Suite *
errors_ref_suite(void)
{
	Suite *s = suite_create("errors_ref");
	TCase *tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_seccomp_profile_errors);
	tcase_add_test(tc, test_selinux_options_error);
	tcase_add_test(tc, test_sandbox_files_no_host_resolv);
	tcase_add_test(tc, test_empty_dns_config_copies_host);
	tcase_add_test(tc, test_unknown_runtime_handler);
	suite_add_tcase(s, tc);

	/* no daemon of D's: the refusals start and reap their own */
	tc = tcase_create("startup");
	tcase_set_timeout(tc, it_secs(60));
	tcase_add_test(tc, test_runtime_keys_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(errors_ref_suite());
}
