/* test_seccomp.c - seccomp profiles compiled to BPF (sandbox/seccomp.c).
 *
 * Programs are not only compiled but loaded: each "confined" test forks a
 * child that sets no_new_privs and loads the program exactly as the
 * launcher does, then checks which system calls pass and which fail with
 * what errno, and reports back through a pipe.  The child is needed because
 * a filter cannot be removed again.  Profiles live in tests/data/seccomp,
 * found through CRADLE_SRC (default: the current directory, the repo root);
 * the ones written on the fly go to the test's own scratch directory
 * (tests/unit/lib).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <seccomp.h>

#include "sandbox/seccomp.h"
#include "tests/unit/lib/unit.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

/* Absolute path of tests/data/seccomp/<name> (profiles must be absolute). */
static const char *
data(const char *name)
{
	static char path[PATH_MAX];
	char rel[PATH_MAX];

	UNIT_FMT(rel, "seccomp/%s", name);
	ck_assert_msg(unit_data_path(path, rel) == 0, "tests/data/%s: see above", rel);
	return path;
}

/* What a confined child found wrong; written to the parent at exit.  The
 * child only formats into this buffer (no allocation, no system call)
 * until it reports. */
static char child_msg[2048];
static size_t child_len;
static int child_failures;

__attribute__((format(printf, 1, 2))) static void
child_fail(const char *fmt, ...)
{
	va_list ap;
	int n;

	child_failures++;
	if (child_len >= sizeof(child_msg) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(child_msg + child_len, sizeof(child_msg) - child_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		child_len += (size_t)n < sizeof(child_msg) - child_len
		                     ? (size_t)n
		                     : sizeof(child_msg) - 1 - child_len;
	if (child_len < sizeof(child_msg) - 1)
		child_msg[child_len++] = ';';
}

/* rc must be -1 with errno want */
#define EXPECT_ERRNO(call, want)                                                                   \
	do {                                                                                       \
		errno = 0;                                                                         \
		long rc_ = (long)(call);                                                           \
		if (rc_ != -1 || errno != (want))                                                  \
			child_fail(" %s gave %ld errno %d (%s), want errno %d", #call, rc_, errno, \
			           strerrorname_np(errno), (want));                                \
	} while (0)

/* rc must not be -1 */
#define EXPECT_OK(call)                                                       \
	do {                                                                  \
		errno = 0;                                                    \
		long rc_ = (long)(call);                                      \
		if (rc_ == -1)                                                \
			child_fail(" %s failed: errno %d (%s)", #call, errno, \
			           strerrorname_np(errno));                   \
	} while (0)

/* rc may fail, but not with errno bad (which only the filter gives) */
#define EXPECT_NOT_ERRNO(call, bad)                                                 \
	do {                                                                        \
		errno = 0;                                                          \
		long rc_ = (long)(call);                                            \
		if (rc_ == -1 && errno == (bad))                                    \
			child_fail(" %s gave the filter's errno %d", #call, (bad)); \
	} while (0)

/* Load prog into the calling process as sandbox/launch.c does. */
static int
apply(const struct seccomp_prog *prog, bool via_prctl)
{
	struct sock_fprog fprog = { .len = prog->len, .filter = prog->filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if (via_prctl)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

/* Fork, load prog in the child, run body there; the child's complaints
 * come back through a pipe.  Returns the child's wait status. */
static int
run_confined(const struct seccomp_prog *prog, bool via_prctl, void (*body)(void), char *msg,
             size_t msg_len)
{
	int p[2], status;
	size_t got = 0;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		close(p[0]);
		/* a killed child must not leave a core file behind */
		setrlimit(RLIMIT_CORE, &no_core);
		if (apply(prog, via_prctl) != 0) {
			child_fail(" loading the filter failed: %s", strerror(errno));
		} else {
			body();
		}
		if (child_len > 0 && write(p[1], child_msg, child_len) < 0)
			_exit(3);
		_exit(child_failures ? 1 : 0);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], msg + got, msg_len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == msg_len - 1)
			break;
	}
	msg[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* The child must exit 0. */
static void
confined_ok(const struct seccomp_prog *prog, bool via_prctl, void (*body)(void))
{
	char msg[4096];
	int status = run_confined(prog, via_prctl, body, msg, sizeof(msg));

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "confined child: status 0x%x:%s", status, msg);
}

static void
load_file(const char *name, struct seccomp_prog *prog)
{
	struct cradle_err err = { 0 };
	int rc = seccomp_prog_from_file(data(name), prog, &err);

	ck_assert_msg(rc == 0, "%s: rc %d: %s", name, rc, err.msg);
	ck_assert_ptr_nonnull(prog->filter);
	ck_assert_uint_gt(prog->len, 0);
	ck_assert_uint_le(prog->len, BPF_MAXINSNS);
}

/* "Seccomp:\t2" in /proc/self/status, read with plain system calls. */
static bool
in_filter_mode(void)
{
	char buf[8192];
	ssize_t n, got = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return strstr(buf, "\nSeccomp:\t2\n") != NULL;
}

/* ------------------------------------------------------------------ */
/* availability and the default program                                 */
/* ------------------------------------------------------------------ */

START_TEST(test_available)
{
	errno = 1234;
	ck_assert(seccomp_available());
	ck_assert_int_eq(errno, 1234);
	/* the probe installs nothing */
	ck_assert_int_eq(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_default_program)
{
	struct seccomp_prog a = { 0 }, b = { 0 }, zero = { 0 };
	struct cradle_err err = { 0 };

	ck_assert_int_eq(seccomp_prog_runtime_default(&a, &err), 0);
	ck_assert_ptr_nonnull(a.filter);
	/* several hundred names over three x86 ABIs: clearly not empty, and
	 * within what the kernel takes */
	ck_assert_uint_gt(a.len, 100);
	ck_assert_uint_le(a.len, BPF_MAXINSNS);
	/* the first instruction loads seccomp_data.arch */
	ck_assert_uint_eq(a.filter[0].code, BPF_LD | BPF_W | BPF_ABS);
	ck_assert_uint_eq(a.filter[0].k, 4);

	/* cached and copied: equal, and each owned by its caller */
	ck_assert_int_eq(seccomp_prog_runtime_default(&b, &err), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_ptr_ne(a.filter, b.filter);
	ck_assert_int_eq(memcmp(a.filter, b.filter, a.len * sizeof(a.filter[0])), 0);
	seccomp_prog_fini(&a);
	ck_assert_ptr_null(a.filter);
	ck_assert_uint_eq(a.len, 0);
	seccomp_prog_fini(&a);
	seccomp_prog_fini(&b);
	seccomp_prog_fini(&zero);
	seccomp_prog_fini(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the default profile as OCI JSON (seccomp_runtime_default_oci)        */
/* ------------------------------------------------------------------ */

/* doc written to <scratch>/name and compiled as a Localhost profile. */
static void
compile_doc(struct json_object *doc, const char *name, struct seccomp_prog *prog)
{
	struct cradle_err err = { 0 };
	char path[PATH_MAX];
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);

	ck_assert_ptr_nonnull(text);
	unit_path(path, sizeof(path), name);
	unit_put_file(path, text, strlen(text), 0644);
	ck_assert_msg(seccomp_prog_from_file(path, prog, &err) == 0, "%s", err.msg);
}

static bool
same_prog(const struct seccomp_prog *a, const struct seccomp_prog *b)
{
	return a->len == b->len && memcmp(a->filter, b->filter, a->len * sizeof(a->filter[0])) == 0;
}

/* Whether name is a real system call on one of doc's architectures
 * (libseccomp knows ARM-only names such as set_tls everywhere, as
 * pseudo-calls that make no rule on other architectures). */
static bool
real_on_some_arch(struct json_object *doc, const char *name)
{
	struct json_object *arches = NULL;

	ck_assert(json_object_object_get_ex(doc, "architectures", &arches));
	for (size_t i = 0; i < json_object_array_length(arches); i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(arches, i));
		char lower[32];
		size_t k;

		ck_assert(strncmp(a, "SCMP_ARCH_", 10) == 0);
		for (k = 0; a[10 + k] != '\0' && k < sizeof(lower) - 1; k++)
			lower[k] = (char)(a[10 + k] >= 'A' && a[10 + k] <= 'Z' ? a[10 + k] + 32
			                                                       : a[10 + k]);
		lower[k] = '\0';
		uint32_t token = seccomp_arch_resolve_name(lower);
		ck_assert_uint_ne(token, 0);
		if (seccomp_syscall_resolve_name_arch(token, name) >= 0)
			return true;
	}
	return false;
}

static struct json_object *
oci_default(void)
{
	struct cradle_err err = { 0 };
	struct json_object *doc = seccomp_runtime_default_oci(&err);

	ck_assert_msg(doc != NULL, "%s", err.msg);
	return doc;
}

static struct json_object *
jat(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	return v;
}

/* The JSON an OCI runtime gets for RuntimeDefault is the built-in program:
 * compiled back through the Localhost path it gives the same BPF byte for
 * byte, and leaving out any one name this libseccomp knows, the clone
 * condition or an architecture gives another program (so the comparison
 * would catch a table entry missing from the JSON). */
START_TEST(test_default_oci_json)
{
	struct seccomp_prog def = { 0 }, got = { 0 };
	struct cradle_err err = { 0 };
	struct json_object *doc = oci_default(), *calls, *v;
	size_t k, j, known = 0, names = 0;

	/* the shape */
	ck_assert_str_eq(json_object_get_string(jat(doc, "defaultAction")), "SCMP_ACT_ERRNO");
	ck_assert_int_eq(json_object_get_int(jat(doc, "defaultErrnoRet")), EPERM);
	v = jat(doc, "architectures");
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		ck_assert_uint_eq(json_object_array_length(v), 3);
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
		                 "SCMP_ARCH_X86_64");
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)),
		                 "SCMP_ARCH_X86");
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 2)),
		                 "SCMP_ARCH_X32");
	}
	calls = jat(doc, "syscalls");
	bool clone_seen = false, clone3_seen = false;
	for (k = 0; k < json_object_array_length(calls); k++) {
		struct json_object *r = json_object_array_get_idx(calls, k), *n = jat(r, "names");
		const char *first = json_object_get_string(json_object_array_get_idx(n, 0));

		if (strcmp(first, "clone") == 0) {
			struct json_object *a = json_object_array_get_idx(jat(r, "args"), 0);
			ck_assert_str_eq(json_object_get_string(jat(r, "action")),
			                 "SCMP_ACT_ALLOW");
			ck_assert_int_eq(json_object_get_int(jat(a, "index")), 0);
			ck_assert_str_eq(json_object_get_string(jat(a, "op")),
			                 "SCMP_CMP_MASKED_EQ");
			ck_assert_uint_eq(json_object_get_uint64(jat(a, "value")), 0x7e020000ull);
			ck_assert_uint_eq(json_object_get_uint64(jat(a, "valueTwo")), 0);
			clone_seen = true;
		}
		if (strcmp(first, "clone3") == 0) {
			ck_assert_str_eq(json_object_get_string(jat(r, "action")),
			                 "SCMP_ACT_ERRNO");
			ck_assert_int_eq(json_object_get_int(jat(r, "errnoRet")), ENOSYS);
			clone3_seen = true;
		}
	}
	ck_assert(clone_seen && clone3_seen);

	/* byte for byte the built-in program */
	ck_assert_int_eq(seccomp_prog_runtime_default(&def, &err), 0);
	compile_doc(doc, "default.json", &got);
	ck_assert_msg(same_prog(&def, &got), "OCI form: %u instructions, built-in %u", got.len,
	              def.len);
	seccomp_prog_fini(&got);
	json_object_put(doc);

	/* each name left out in turn */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DROP_STRIDE 8
#else
#define DROP_STRIDE 1
#endif
	doc = oci_default();
	calls = jat(doc, "syscalls");
	size_t n_calls = json_object_array_length(calls);
	json_object_put(doc);
	for (k = 0; k < n_calls; k++) {
		doc = oci_default();
		size_t n_names = json_object_array_length(
			jat(json_object_array_get_idx(jat(doc, "syscalls"), k), "names"));
		json_object_put(doc);
		for (j = 0; j < n_names; j++) {
			doc = oci_default();
			struct json_object *nm =
				jat(json_object_array_get_idx(jat(doc, "syscalls"), k), "names");
			char name[64];
			snprintf(name, sizeof(name), "%s",
			         json_object_get_string(json_object_array_get_idx(nm, j)));
			ck_assert_int_eq(json_object_array_del_idx(nm, j, 1), 0);
			names++;
			/* each one in the plain build; every 8th under the
			 * sanitizers, whose concern is the code, the same
			 * for every name (300 compilations took 14 s) */
			if (real_on_some_arch(doc, name) && known++ % DROP_STRIDE == 0) {
				compile_doc(doc, "dropped.json", &got);
				ck_assert_msg(!same_prog(&def, &got),
				              "\"%s\" left out, and still the same program", name);
				seccomp_prog_fini(&got);
			}
			json_object_put(doc);
		}
	}
	/* most names are known here; the table is large */
	ck_assert_uint_gt(known, 100);
	ck_assert_uint_ge(names, known);

	/* the clone condition left out: clone allowed whatever its flags */
	doc = oci_default();
	calls = jat(doc, "syscalls");
	for (k = 0; k < json_object_array_length(calls); k++) {
		struct json_object *r = json_object_array_get_idx(calls, k);
		if (strcmp(json_object_get_string(json_object_array_get_idx(jat(r, "names"), 0)),
		           "clone") == 0)
			json_object_object_del(r, "args");
	}
	compile_doc(doc, "no-clone-args.json", &got);
	ck_assert(!same_prog(&def, &got));
	seccomp_prog_fini(&got);
	json_object_put(doc);

	/* the last compat architecture left out */
	doc = oci_default();
	v = jat(doc, "architectures");
	if (json_object_array_length(v) > 1) {
		ck_assert_int_eq(json_object_array_del_idx(v, json_object_array_length(v) - 1, 1),
		                 0);
		compile_doc(doc, "no-compat.json", &got);
		ck_assert(!same_prog(&def, &got));
		seccomp_prog_fini(&got);
	}
	json_object_put(doc);
	seccomp_prog_fini(&def);
}
END_TEST

/* PTRACE_PEEKDATA of pid 0: harmless even if let through */
#define PTRACE_PEEKDATA_ 2

static void
clone_denied(unsigned long ns_flag)
{
	long rc;

	errno = 0;
	rc = syscall(SYS_clone, ns_flag | SIGCHLD, 0, NULL, NULL, 0);
	if (rc == 0)
		_exit(0);
	if (rc != -1 || errno != EPERM)
		child_fail(" clone(0x%lx) gave %ld errno %s, want EPERM", ns_flag, rc,
		           strerrorname_np(errno));
	if (rc > 0)
		waitpid((pid_t)rc, NULL, 0);
}

static void *
thread_main(void *arg)
{
	return arg;
}

static void
default_body(void)
{
	struct timespec ts = { 0, 1000000 };
	struct utsname un;
	char buf[4];
	int p[2], status, fd;
	pid_t pid;
	pthread_t th;
	void *ret = NULL;

	if (!in_filter_mode())
		child_fail(" /proc/self/status does not say Seccomp: 2");

	/* ordinary work */
	EXPECT_OK(getpid());
	EXPECT_OK(syscall(SYS_getppid));
	EXPECT_OK(uname(&un));
	EXPECT_OK(nanosleep(&ts, NULL));
	EXPECT_OK(pipe2(p, O_CLOEXEC));
	EXPECT_OK(write(p[1], "abc", 3));
	EXPECT_OK(read(p[0], buf, sizeof(buf)));
	EXPECT_OK(close(p[0]));
	EXPECT_OK(close(p[1]));
	EXPECT_OK(fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
	EXPECT_OK(close(fd));
	EXPECT_OK(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	EXPECT_OK(close(fd));
	/* (raw: glibc's personality() does not set errno) */
	EXPECT_OK(syscall(SYS_personality, 0xffffffff));
	EXPECT_OK(syscall(SYS_personality, PER_LINUX));
	/* fork: clone without namespace flags */
	pid = fork();
	if (pid == 0)
		_exit(7);
	if (pid < 0)
		child_fail(" fork failed: %s", strerrorname_np(errno));
	else if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		child_fail(" forked child did not exit 7");
	/* threads: libc tries clone3 (ENOSYS) and falls back to clone */
	if (pthread_create(&th, NULL, thread_main, (void *)buf) != 0 ||
	    pthread_join(th, &ret) != 0 || ret != buf)
		child_fail(" pthread_create/join failed");

	/* denied, by omission or condition.  The test runs as root in the
	 * host's namespaces, so every call is one that would be harmless if
	 * the filter let it through (bad paths, bad arguments). */
	EXPECT_ERRNO(syscall(SYS_acct, "/nonexistent-cradle/acct"), EPERM);
	EXPECT_ERRNO(unshare(0), EPERM);
	EXPECT_ERRNO(unshare(CLONE_NEWUSER), EPERM);
	EXPECT_ERRNO(setns(-1, 0), EPERM);
	EXPECT_ERRNO(mount("none", "/nonexistent-cradle", "tmpfs", 0, NULL), EPERM);
	EXPECT_ERRNO(umount2("/nonexistent-cradle", 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_pivot_root, "/nonexistent-cradle", "/nonexistent-cradle"), EPERM);
	EXPECT_ERRNO(syscall(SYS_ptrace, PTRACE_PEEKDATA_, 0, NULL, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_bpf, -1, NULL, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_keyctl, -1, 0, 0, 0, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_add_key, NULL, NULL, NULL, 0, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_userfaultfd, -1), EPERM);
	EXPECT_ERRNO(syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000ul), EPERM);
	EXPECT_ERRNO(syscall(SYS_init_module, NULL, 0, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_finit_module, -1, NULL, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_delete_module, "nonexistent_cradle", 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_swapoff, "/nonexistent-cradle"), EPERM);
	EXPECT_ERRNO(syscall(SYS_settimeofday, NULL, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_adjtimex, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_syslog, -1, NULL, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_io_uring_setup, 1, NULL), EPERM);
	EXPECT_ERRNO(syscall(SYS_sethostname, "x", 100000), EPERM);
	EXPECT_ERRNO(syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_kcmp, 1, 1, -1, 0, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_name_to_handle_at, -1, "", NULL, NULL, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_quotactl, 0, NULL, 0, NULL), EPERM);
#ifdef SYS_iopl
	EXPECT_ERRNO(syscall(SYS_iopl, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_ioperm, 0, 0, 0), EPERM);
#endif
	EXPECT_ERRNO(syscall(SYS_personality, PER_BSD), EPERM);
	EXPECT_ERRNO(syscall(SYS_personality, ADDR_NO_RANDOMIZE), EPERM);
	EXPECT_ERRNO(socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
	/* clone creating a namespace; a child made anyway leaves at once */
	clone_denied(CLONE_NEWUSER);
	clone_denied(CLONE_NEWNET);
	clone_denied(CLONE_NEWNS);
	clone_denied(CLONE_NEWPID);
	/* ENOSYS, so that libc falls back to clone */
	EXPECT_ERRNO(syscall(SYS_clone3, NULL, 0), ENOSYS);
}

START_TEST(test_default_applied)
{
	struct seccomp_prog prog = { 0 };
	struct cradle_err err = { 0 };

	ck_assert_int_eq(seccomp_prog_runtime_default(&prog, &err), 0);
	confined_ok(&prog, false, default_body);
	/* the prctl way loads the same program */
	confined_ok(&prog, true, default_body);
	seccomp_prog_fini(&prog);
}
END_TEST

/* The launcher execs right after loading: execve and what a dynamically
 * linked shell and coreutils do must pass. */
static void
exec_body(void)
{
	char *const argv[] = {
		"sh",
		"-c",
		"ls -la / /proc/self/ >/dev/null && grep -q '^Seccomp:.2$' /proc/self/status && "
		"cat /proc/self/status | wc -l >/dev/null && exit 42",
		NULL,
	};
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execv("/bin/sh", argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		child_fail(" fork/wait failed");
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 42)
		child_fail(" sh under the default profile: status 0x%x", status);
}

START_TEST(test_default_exec)
{
	struct seccomp_prog prog = { 0 };
	struct cradle_err err = { 0 };

	ck_assert_int_eq(seccomp_prog_runtime_default(&prog, &err), 0);
	confined_ok(&prog, false, exec_body);
	seccomp_prog_fini(&prog);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Localhost profiles                                                   */
/* ------------------------------------------------------------------ */

static void
deny_uname_body(void)
{
	struct utsname un;
	int p[2];

	if (!in_filter_mode())
		child_fail(" not in filter mode");
	EXPECT_ERRNO(uname(&un), EACCES);
	EXPECT_OK(getpid());
	EXPECT_OK(syscall(SYS_getppid));
	EXPECT_OK(pipe2(p, O_CLOEXEC));
	EXPECT_OK(write(p[1], "x", 1));
}

START_TEST(test_localhost_errno)
{
	struct seccomp_prog prog = { 0 };

	load_file("deny-uname.json", &prog);
	confined_ok(&prog, false, deny_uname_body);
	seccomp_prog_fini(&prog);
}
END_TEST

static void
unknown_names_body(void)
{
	struct utsname un;
	struct stat st;

	EXPECT_ERRNO(uname(&un), EACCES);
	EXPECT_OK(fstat(0, &st));
}

START_TEST(test_unknown_names_skipped)
{
	struct seccomp_prog prog = { 0 };

	load_file("unknown-names.json", &prog);
	confined_ok(&prog, false, unknown_names_body);
	seccomp_prog_fini(&prog);
}
END_TEST

static void
args_body(void)
{
	int fd = (int)syscall(SYS_memfd_create, "t", MFD_CLOEXEC);

	if (fd < 0)
		child_fail(" memfd_create: %s", strerrorname_np(errno));
	/* NE: only personality(0) passes */
	EXPECT_OK(syscall(SYS_personality, 0));
	EXPECT_ERRNO(syscall(SYS_personality, 0xffffffff), EPERM);
	/* two conditions on one argument: either one */
	EXPECT_ERRNO(getpgid(1), EINVAL);
	EXPECT_ERRNO(getpgid(2), EINVAL);
	EXPECT_OK(getpgid(0));
	EXPECT_NOT_ERRNO(getpgid(3), EINVAL);
	/* MASKED_EQ */
	EXPECT_ERRNO(dup3(fd, 100, O_CLOEXEC), EOPNOTSUPP);
	EXPECT_OK(dup3(fd, 100, 0));
	/* conditions on two arguments: both */
	EXPECT_ERRNO(lseek(fd, 5, SEEK_SET), EDOM);
	EXPECT_OK(lseek(fd, 5, SEEK_CUR));
	EXPECT_OK(lseek(fd, 6, SEEK_SET));
	/* GT, GE, LT, LE */
	EXPECT_OK(getsid(0));
	EXPECT_ERRNO(getsid(0x7fffffff), ERANGE);
	EXPECT_NOT_ERRNO(getsid(1073741824), ERANGE);
	EXPECT_ERRNO(close(5000), EAGAIN);
	EXPECT_ERRNO(close(4999), EBADF);
	EXPECT_ERRNO(fchdir(2), ENOMEM);
	EXPECT_NOT_ERRNO(fchdir(3), ENOMEM);
	EXPECT_ERRNO(fdatasync(7000), EACCES);
	EXPECT_ERRNO(fdatasync(7001), EBADF);
}

START_TEST(test_localhost_args)
{
	struct seccomp_prog prog = { 0 };

	load_file("args.json", &prog);
	confined_ok(&prog, false, args_body);
	seccomp_prog_fini(&prog);
}
END_TEST

static void
errno_default_body(void)
{
	EXPECT_ERRNO(syscall(SYS_getppid), EOPNOTSUPP); /* explicit, same as default */
	EXPECT_ERRNO(syscall(SYS_getpid), EOPNOTSUPP);  /* defaultErrnoRet */
	EXPECT_ERRNO(syscall(SYS_getuid), EPERM);       /* ERRNO without errnoRet */
}

START_TEST(test_localhost_default_errno)
{
	struct seccomp_prog prog = { 0 };

	load_file("errno-default.json", &prog);
	confined_ok(&prog, false, errno_default_body);
	seccomp_prog_fini(&prog);
}
END_TEST

static void
kill_body(void)
{
	syscall(SYS_getppid);
	child_fail(" survived getppid");
}

static void
trap_body(void)
{
	/* LOG lets the call through; TRACE without a tracer gives ENOSYS */
	EXPECT_OK(getsid(0));
	EXPECT_ERRNO(syscall(SYS_getpgid, 0), ENOSYS);
	syscall(SYS_getpgrp);
	child_fail(" survived getpgrp");
}

START_TEST(test_localhost_kill_trap)
{
	struct seccomp_prog prog = { 0 };
	char msg[1024];
	int status;

	load_file("kill.json", &prog);
	status = run_confined(&prog, false, kill_body, msg, sizeof(msg));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "status 0x%x:%s", status,
	              msg);
	status = run_confined(&prog, false, trap_body, msg, sizeof(msg));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "status 0x%x:%s", status,
	              msg);
	seccomp_prog_fini(&prog);
}
END_TEST

START_TEST(test_localhost_all_actions)
{
	struct seccomp_prog prog = { 0 };

	/* every action, operator and several architectures compile */
	load_file("all-actions.json", &prog);
	seccomp_prog_fini(&prog);
}
END_TEST

/* Worker threads compile concurrently: the default program's cache and
 * libseccomp's lock (run this under TSan to see the point). */
struct compile_job {
	const char *path;
	struct seccomp_prog ref_default, ref_file;
	int failures;
};

static void *
compile_thread(void *arg)
{
	struct compile_job *job = arg;
	int i;

	for (i = 0; i < 20; i++) {
		struct seccomp_prog a = { 0 }, b = { 0 };
		struct cradle_err err = { 0 };

		if (seccomp_prog_runtime_default(&a, &err) != 0 ||
		    seccomp_prog_from_file(job->path, &b, &err) != 0 ||
		    a.len != job->ref_default.len || b.len != job->ref_file.len ||
		    memcmp(a.filter, job->ref_default.filter, a.len * sizeof(a.filter[0])) != 0 ||
		    memcmp(b.filter, job->ref_file.filter, b.len * sizeof(b.filter[0])) != 0)
			__atomic_add_fetch(&job->failures, 1, __ATOMIC_RELAXED);
		seccomp_prog_fini(&a);
		seccomp_prog_fini(&b);
	}
	return NULL;
}

START_TEST(test_concurrent_compiles)
{
	struct compile_job job = { .path = data("args.json") };
	struct cradle_err err = { 0 };
	pthread_t th[4];
	size_t i;

	ck_assert_int_eq(seccomp_prog_runtime_default(&job.ref_default, &err), 0);
	load_file("args.json", &job.ref_file);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, compile_thread, &job), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_int_eq(job.failures, 0);
	seccomp_prog_fini(&job.ref_default);
	seccomp_prog_fini(&job.ref_file);
}
END_TEST

/* ------------------------------------------------------------------ */
/* malformed profiles                                                   */
/* ------------------------------------------------------------------ */

/* seccomp_prog_from_file(path) fails with code and a message that
 * contains want (after "<path>: " when prefixed). */
static void
expect_error(const char *path, int code, const char *want)
{
	struct seccomp_prog prog = { (struct sock_filter *)1, 7 };
	struct cradle_err err = { 0 };
	int rc = seccomp_prog_from_file(path, &prog, &err);

	ck_assert_msg(rc < 0, "%s: compiled", path);
	ck_assert_msg(err.code == code, "%s: code %s, want %s: %s", path,
	              cradle_code_name(err.code), cradle_code_name(code), err.msg);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", path,
	              err.msg, want);
	/* nothing half-made is handed out */
	ck_assert_ptr_null(prog.filter);
	ck_assert_uint_eq(prog.len, 0);
}

static const struct {
	const char *file, *want;
} malformed[] = {
	{ "bad-json.json", "invalid JSON at line 3, column 16: unexpected character" },
	{ "empty.json", "invalid JSON at line 1, column 1: unexpected end of data" },
	{ "trailing.json", "invalid JSON at line 2, column 1" },
	{ "not-object.json", "expected a JSON object at the top level, got an array" },
	{ "no-default.json", "defaultAction: missing" },
	{ "default-type.json", "defaultAction: expected a string, got an integer" },
	{ "bad-action.json", "syscalls[3].action: unknown action \"SCMP_ACT_FOO\"" },
	{ "no-action.json", "syscalls[0].action: missing" },
	{ "notify.json", "syscalls[0].action: SCMP_ACT_NOTIFY is not supported" },
	{ "syscalls-object.json", "syscalls: expected an array, got an object" },
	{ "names-not-strings.json", "syscalls[0].names[1]: expected a string, got an integer" },
	{ "no-names.json", "syscalls[0].names: missing" },
	{ "bad-op.json", "syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\"" },
	{ "bad-index.json", "syscalls[0].args[0].index: 6 is out of range (at most 5)" },
	{ "bad-value.json",
	  "syscalls[0].args[0].value: expected an unsigned integer, got a floating-point number" },
	{ "bad-errno.json", "syscalls[0].errnoRet: expected an unsigned integer, got -1" },
	{ "big-errno.json", "defaultErrnoRet: 4095 is out of range (at most 4094)" },
	{ "bad-arch.json", "architectures[1]: unknown architecture \"SCMP_ARCH_PDP11\"" },
};

START_TEST(test_malformed)
{
	const char *path = data(malformed[_i].file);
	char want[PATH_MAX + 256];

	snprintf(want, sizeof(want), "%s: %s", path, malformed[_i].want);
	expect_error(path, CRADLE_INVALID_ARGUMENT, want);
}
END_TEST

/* A profile in the test's own directory: text, then filler up to size
 * bytes (fill, or with fill 0 blanks and a newline every 64th), then tail
 * (may be NULL).  Returns its path. */
static const char *
scratch_profile(const char *name, const char *text, size_t size, char fill, const char *tail)
{
	static char path[PATH_MAX];
	size_t len = strlen(text), tl = tail != NULL ? strlen(tail) : 0;
	size_t n = size > len ? size : len;
	char *buf = malloc(n + tl);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, len);
	for (size_t i = len; i < n; i++)
		buf[i] = fill != 0 ? fill : i % 64 == 0 ? '\n' : ' ';
	memcpy(buf + n, tail != NULL ? tail : "", tl);
	unit_path(path, sizeof(path), name);
	unit_put_file(path, buf, n + tl, 0644);
	free(buf);
	return path;
}

START_TEST(test_bad_paths)
{
	static const char head[] = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"";
	char path[PATH_MAX], want[PATH_MAX + 64];
	const char *big;

	expect_error("tests/data/seccomp/deny-uname.json", CRADLE_INVALID_ARGUMENT,
	             "tests/data/seccomp/deny-uname.json: seccomp profile path is not absolute");
	expect_error("", CRADLE_INVALID_ARGUMENT, "is not absolute");
	expect_error(NULL, CRADLE_INVALID_ARGUMENT, "is not absolute");

	/* a directory */
	snprintf(want, sizeof(want), "%s: not a regular file", data(""));
	expect_error(data(""), CRADLE_INVALID_ARGUMENT, want);

	/* missing: the errno's code, in the reference's words */
	unit_path(path, sizeof(path), "missing.json");
	snprintf(want, sizeof(want),
	         "cannot load seccomp profile \"%s\": No such file or directory", path);
	expect_error(path, CRADLE_NOT_FOUND, want);

	/* a FIFO: refused, and without hanging in open() */
	unit_path(path, sizeof(path), "fifo.json");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	expect_error(path, CRADLE_INVALID_ARGUMENT, want);

	/* larger than 1 MiB, though valid JSON */
	big = scratch_profile("big.json", head, strlen(head) + SECCOMP_PROFILE_MAX, 'a', "\"}\n");
	snprintf(want, sizeof(want), "%s: seccomp profile is larger than 1048576 bytes", big);
	expect_error(big, CRADLE_INVALID_ARGUMENT, want);

	/* a NUL byte would end the text early for json-c */
	unit_path(path, sizeof(path), "nul.json");
	unit_put_file(path, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\0garbage", 43, 0644);
	expect_error(path, CRADLE_INVALID_ARGUMENT, "invalid JSON: contains a NUL byte");
}
END_TEST

/* Exactly 1 MiB is still read; a minimal profile compiles. */
START_TEST(test_size_limit_and_minimal)
{
	struct seccomp_prog prog = { 0 };
	struct cradle_err err = { 0 };
	const char *path = scratch_profile("max.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}",
	                                   SECCOMP_PROFILE_MAX, 0, NULL);

	ck_assert_msg(seccomp_prog_from_file(path, &prog, &err) == 0, "%s", err.msg);
	ck_assert_uint_gt(prog.len, 0);
	seccomp_prog_fini(&prog);
}
END_TEST

/* A profile whose program the kernel would refuse is refused here, with
 * the reason. */
START_TEST(test_too_many_instructions)
{
	struct seccomp_prog prog = { 0 };
	struct cradle_err err = { 0 };
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [", f);
	for (int i = 0; i < 4500; i++)
		fprintf(f,
		        "%s{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ERRNO\", "
		        "\"args\": [{\"index\": 1, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}]}",
		        i ? "," : "", i * 7 + 1);
	fputs("]}", f);
	ck_assert_int_eq(fclose(f), 0);
	unit_path(path, sizeof(path), "huge.json");
	unit_put_file(path, text, len, 0644);
	free(text);
	ck_assert_int_lt(seccomp_prog_from_file(path, &prog, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, path) == err.msg &&
	                      strstr(err.msg, "more than the kernel's 4096"),
	              "%s", err.msg);
	ck_assert_ptr_null(prog.filter);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc;

	tc = unit_tcase(s, "compile", unit_scratch_setup, unit_scratch_teardown, 30,
	                UNIT_TESTS(test_available, test_default_program, test_default_oci_json,
	                           test_localhost_all_actions, test_concurrent_compiles,
	                           test_bad_paths, test_size_limit_and_minimal,
	                           test_too_many_instructions));
	tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof(malformed) / sizeof(malformed[0])));

	unit_tcase(s, "load", NULL, NULL, 30,
	           UNIT_TESTS(test_default_applied, test_default_exec, test_localhost_errno,
	                      test_unknown_names_skipped, test_localhost_args,
	                      test_localhost_default_errno, test_localhost_kill_trap));

	return s;
}

int
main(void)
{
	return unit_run(seccomp_suite(), "test_seccomp", UNIT_SUBREAPER);
}
