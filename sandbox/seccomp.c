/* seccomp.c - compile seccomp profiles to BPF in the parent (seccomp.h).
 *
 * Two front ends feed one back end: the built-in default profile is a
 * table, a Localhost profile is OCI JSON parsed with json-c; both become
 * libseccomp rules in a filter context, which is exported as BPF into a
 * memfd and read back as a plain array the clone3 child can hand to the
 * kernel with one system call.
 */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <seccomp.h>

#include "util/fs.h"
#include "util/json.h"

/* libseccomp does not promise thread safety (it probes the kernel into
 * process-wide state on first use), and the daemon compiles from many
 * worker threads: every use of it goes through this lock.  Compiling is
 * rare (the default program is cached) and short. */
static pthread_mutex_t scmp_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ */
/* Back end: filter context -> struct seccomp_prog                     */
/* ------------------------------------------------------------------ */

void
seccomp_prog_fini(struct seccomp_prog *p)
{
	if (p == NULL)
		return;
	free(p->filter);
	p->filter = NULL;
	p->len = 0;
}

/* Export ctx as BPF and read it back.  libseccomp 2.5 can only export to a
 * file descriptor; a memfd needs no reader thread (a pipe would block the
 * exporter once the program outgrew the pipe buffer) and no file system. */
static int
export_prog(scmp_filter_ctx ctx, struct seccomp_prog *out, struct cradle_err *err)
{
	struct sock_filter *filter = NULL;
	struct stat st;
	size_t size, got = 0;
	int fd, rc;

	fd = memfd_create("cradle-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return cradle_err_errno(err, errno,
		                        "failed to create a memfd for the seccomp program");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		rc = cradle_err_errno(err, -rc, "failed to export the seccomp program");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = cradle_err_errno(err, errno, "failed to stat the seccomp program's memfd");
		goto out;
	}
	size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0) {
		rc = cradle_err_set(err, CRADLE_INTERNAL,
		                    "seccomp program export gave %zu bytes, not whole instructions",
		                    size);
		goto out;
	}
	/* The kernel refuses longer programs with EINVAL; say why here, in
	 * the parent, rather than as a bare errno from the child. */
	if (size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		rc = cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"seccomp program has %zu instructions, more than the kernel's %d",
			size / sizeof(struct sock_filter), BPF_MAXINSNS);
		goto out;
	}
	filter = malloc(size);
	if (filter == NULL) {
		rc = cradle_err_nomem(err);
		goto out;
	}
	while (got < size) {
		ssize_t n = pread(fd, (char *)filter + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? cradle_err_errno(err, errno,
			                              "failed to read the seccomp program back")
			           : cradle_err_set(err, CRADLE_INTERNAL,
			                            "seccomp program memfd shrank");
			goto out;
		}
		got += (size_t)n;
	}
	out->filter = filter;
	out->len = (unsigned short)(size / sizeof(struct sock_filter));
	filter = NULL;
	rc = 0;
out:
	free(filter);
	close(fd);
	return rc;
}

/* A context with the given default action.  no_new_privs is the
 * launcher's business (it sets it itself, in the child): tell libseccomp
 * not to, should anyone ever seccomp_load() this context. */
static scmp_filter_ctx
new_ctx(uint32_t def_action, struct cradle_err *err)
{
	scmp_filter_ctx ctx;
	int rc;

	ctx = seccomp_init(def_action);
	if (ctx == NULL) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "libseccomp refused default action 0x%08x (or out of memory)",
		               def_action);
		return NULL;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc < 0) {
		cradle_err_errno(err, -rc, "failed to clear libseccomp's no_new_privs attribute");
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* Add an architecture; the native one is always there already. */
static int
add_arch(scmp_filter_ctx ctx, uint32_t arch)
{
	int rc = seccomp_arch_add(ctx, arch);

	return rc == -EEXIST ? 0 : rc;
}

/* ------------------------------------------------------------------ */
/* The runtime default profile                                          */
/* ------------------------------------------------------------------ */

/*
 * cradle's default profile.  Default action: ERRNO(EPERM), the answer a
 * program already handles for an operation it may not do.
 *
 * Allowed below: what ordinary unprivileged programs are built from -
 * files, memory, processes and threads, signals, time (reading it), polling,
 * sockets, System V and POSIX IPC, scheduling of oneself, resource limits.
 * Names for every architecture are listed together (the *64, *32 and
 * *_time64 variants and socketcall/ipc exist only on 32-bit ABIs): names a
 * given architecture lacks are resolved per architecture by libseccomp,
 * and names this libseccomp does not know at all are skipped, so newer
 * system calls here start to be allowed once libseccomp learns them.
 * Calls that also need a capability (chown, mknod, setuid, chroot, ...)
 * stay allowed: the capability set already decides them, and a pod that
 * was granted the capability expects the call to work.
 *
 * Left out, so denied: what administers the host or the kernel rather
 * than the container, or what opens a way around the other isolation -
 *   kernel code and boot:  kexec_load, kexec_file_load, init_module,
 *                          finit_module, delete_module, create_module,
 *                          get_kernel_syms, query_module, reboot, uselib
 *   mounts and roots:      mount, umount, umount2, pivot_root, fsopen,
 *                          fsconfig, fsmount, fspick, move_mount,
 *                          open_tree, mount_setattr (chroot stays: it
 *                          needs CAP_SYS_CHROOT and cannot escape a
 *                          pivot_root'ed mount namespace)
 *   namespaces:            unshare, setns, and clone with CLONE_NEW*
 *                          flags; clone3 gets ENOSYS (its flags are behind
 *                          a pointer seccomp cannot read) so libc falls
 *                          back to clone
 *   host-wide state:       swapon, swapoff, settimeofday, stime,
 *                          clock_settime, clock_adjtime, adjtimex, acct,
 *                          quotactl, quotactl_fd, nfsservctl, syslog,
 *                          vhangup, sethostname, setdomainname, _sysctl
 *   kernel attack surface: bpf, perf_event_open, userfaultfd, io_uring_*,
 *                          keyctl, add_key, request_key, lookup_dcookie,
 *                          fanotify_init, modify_ldt, vm86, vm86old
 *   other processes:       ptrace, process_vm_readv, process_vm_writev,
 *                          kcmp, pidfd_getfd, process_madvise,
 *                          process_mrelease, migrate_pages, move_pages
 *   file handles:          name_to_handle_at, open_by_handle_at (they
 *                          open files by inode, bypassing the mount tree)
 *   hardware:              iopl, ioperm, pciconfig_*
 * plus obsolete calls nothing uses any more (sysfs, ustat, ...).
 */
/* clang-format off */
static const char *const default_allow[] = {
	/* process and thread life */
	"execve", "execveat", "exit", "exit_group", "fork", "vfork",
	"wait4", "waitid", "waitpid", "set_tid_address", "set_robust_list",
	"get_robust_list", "rseq", "restart_syscall", "arch_prctl", "prctl",
	"set_thread_area", "get_thread_area", "set_tls", "cacheflush",
	"breakpoint", "riscv_flush_icache", "seccomp", "landlock_create_ruleset",
	"landlock_add_rule", "landlock_restrict_self",

	/* ids, credentials, sessions */
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"getuid32", "geteuid32", "getgid32", "getegid32", "getresuid", "getresgid",
	"getresuid32", "getresgid32", "getgroups", "getgroups32", "setuid",
	"setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid",
	"setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32",
	"setgroups", "setgroups32", "setfsuid", "setfsuid32", "setfsgid",
	"setfsgid32", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
	"capget", "capset",

	/* memory */
	"brk", "mmap", "mmap2", "munmap", "mprotect", "mremap", "madvise",
	"mincore", "msync", "mlock", "mlock2", "mlockall", "munlock", "munlockall",
	"remap_file_pages", "pkey_alloc", "pkey_free", "pkey_mprotect",
	"membarrier", "mbind", "get_mempolicy", "set_mempolicy",
	"set_mempolicy_home_node", "map_shadow_stack", "mseal", "memfd_create",
	"memfd_secret",

	/* file descriptors and I/O */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "open", "openat", "openat2", "creat",
	"close", "close_range", "lseek", "_llseek", "dup", "dup2", "dup3",
	"fcntl", "fcntl64", "flock", "fsync", "fdatasync", "sync", "syncfs",
	"sync_file_range", "sync_file_range2", "arm_sync_file_range",
	"fallocate", "ftruncate", "ftruncate64", "truncate", "truncate64",
	"fadvise64", "fadvise64_64", "arm_fadvise64_64", "readahead",
	"sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
	"ioctl", "pipe", "pipe2", "eventfd", "eventfd2", "signalfd", "signalfd4",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	"timerfd_settime64", "timerfd_gettime64", "cachestat",

	/* file system names and metadata */
	"stat", "lstat", "fstat", "stat64", "lstat64", "fstat64", "fstatat64",
	"newfstatat", "statx", "statfs", "fstatfs", "statfs64", "fstatfs64",
	"access", "faccessat", "faccessat2", "readlink", "readlinkat",
	"getdents", "getdents64", "getcwd", "chdir", "fchdir", "chroot", "mkdir",
	"mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
	"symlink", "symlinkat", "unlink", "unlinkat", "chmod", "fchmod",
	"fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
	"chown32", "fchown32", "lchown32", "utime", "utimes", "futimesat",
	"utimensat", "utimensat_time64", "umask", "mknod", "mknodat",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr",
	"fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
	"lremovexattr", "fremovexattr", "inotify_init", "inotify_init1",
	"inotify_add_watch", "inotify_rm_watch",

	/* waiting for descriptors */
	"select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll",
	"ppoll_time64", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2",

	/* asynchronous I/O (the classic interface; io_uring is left out) */
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
	"io_pgetevents", "io_pgetevents_time64",

	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaction", "sigprocmask",
	"sigreturn", "sigpending", "sigsuspend", "signal", "sigaltstack",
	"kill", "tkill", "tgkill", "pause", "pidfd_open", "pidfd_send_signal",

	/* futexes */
	"futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait",
	"futex_requeue",

	/* time: reading clocks, sleeping, timers (setting clocks is left out) */
	"time", "gettimeofday", "clock_gettime", "clock_gettime64",
	"clock_getres", "clock_getres_time64", "clock_nanosleep",
	"clock_nanosleep_time64", "nanosleep", "alarm", "getitimer",
	"setitimer", "timer_create", "timer_settime", "timer_settime64",
	"timer_gettime", "timer_gettime64", "timer_getoverrun", "timer_delete",
	"times",

	/* scheduling and limits of oneself */
	"sched_yield", "sched_getaffinity", "sched_setaffinity",
	"sched_getparam", "sched_setparam", "sched_getscheduler",
	"sched_setscheduler", "sched_get_priority_max",
	"sched_get_priority_min", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_getattr", "sched_setattr",
	"getpriority", "setpriority", "nice", "ioprio_get", "ioprio_set",
	"getcpu", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64",
	"getrusage",

	/* sockets (socket itself is in default_cond) */
	"socketcall", "socketpair", "bind", "connect", "listen", "accept",
	"accept4", "getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "send", "recvfrom", "recv", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "recvmmsg_time64", "shutdown",

	/* System V and POSIX IPC (namespaced with the pod's IPC namespace) */
	"ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop",
	"semtimedop", "semtimedop_time64", "semctl", "msgget", "msgsnd",
	"msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_notify", "mq_getsetattr",

	/* information about the system */
	"uname", "sysinfo", "getrandom",
};
/* clang-format on */

/* CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone may
 * create no namespace (CLONE_NEWTIME, 0x80, is only reachable through
 * clone3; for clone that bit is part of the exit signal). */
#define CLONE_NS_FLAGS 0x7e020000ull

enum { ARG_CLONE_FLAGS = 0xff }; /* placeholder index: clone's flags argument */

/* Allowed only when the argument test holds.  Entries for one name are
 * separate rules, so they combine with OR. */
static const struct {
	const char *name;
	unsigned int arg;
	enum scmp_compare op;
	uint64_t a, b;
} default_cond[] = {
	/* personality: query (0xffffffff), and the settings 32-bit programs
	 * and old software use (PER_LINUX, PER_LINUX32, UNAME26, both);
	 * others (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...) weaken the
	 * address-space hardening. */
	{ "personality", 0, SCMP_CMP_EQ, 0x0, 0 },
	{ "personality", 0, SCMP_CMP_EQ, 0x8, 0 },
	{ "personality", 0, SCMP_CMP_EQ, 0x20000, 0 },
	{ "personality", 0, SCMP_CMP_EQ, 0x20008, 0 },
	{ "personality", 0, SCMP_CMP_EQ, 0xffffffff, 0 },
	/* clone without namespace flags (fork, threads) */
	{ "clone", ARG_CLONE_FLAGS, SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0 },
	/* any address family but AF_VSOCK (40): a node that is a VM would
	 * otherwise let pods talk to its hypervisor's agents. */
	{ "socket", 0, SCMP_CMP_NE, 40, 0 },
};

/* The default-profile entries that get an errno of their own. */
static const struct {
	const char *name;
	int errnum;
} default_errno[] = {
	/* clone3's flags are out of seccomp's reach; ENOSYS (not EPERM) makes
	 * glibc and others fall back to clone, which is checked above. */
	{ "clone3", ENOSYS },
};

/* The compat ABIs a native architecture also runs, so that 32-bit
 * programs in a container are judged by the same rules instead of being
 * killed as a bad architecture.  Fills out[] (room for 2), returns how
 * many; the built-in program and its OCI form both take them from here. */
static size_t
compat_arches(uint32_t native, uint32_t out[2])
{
	switch (native) {
	case SCMP_ARCH_X86_64:
		out[0] = SCMP_ARCH_X86;
		out[1] = SCMP_ARCH_X32;
		return 2;
	case SCMP_ARCH_AARCH64:
		out[0] = SCMP_ARCH_ARM;
		return 1;
	case SCMP_ARCH_S390X:
		out[0] = SCMP_ARCH_S390;
		return 1;
	default:
		return 0;
	}
}

static int
add_compat_arches(scmp_filter_ctx ctx)
{
	uint32_t arches[2];
	size_t i, n = compat_arches(seccomp_arch_native(), arches);
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = add_arch(ctx, arches[i]);
	return rc;
}

/* clone's flags argument: s390 passes the stack pointer first, the flags
 * second. */
static unsigned int
clone_flags_arg(uint32_t native)
{
	return (native == SCMP_ARCH_S390X || native == SCMP_ARCH_S390) ? 1 : 0;
}

/* Add one rule of the default profile; names unknown here are skipped. */
static int
default_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned int n,
             const struct scmp_arg_cmp *cmp, struct cradle_err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (rc < 0)
		return cradle_err_errno(
			err, -rc, "default seccomp profile: failed to add rule for \"%s\"", name);
	return 0;
}

static int
compile_default(struct seccomp_prog *out, struct cradle_err *err)
{
	unsigned int clone_arg = clone_flags_arg(seccomp_arch_native());
	scmp_filter_ctx ctx;
	size_t i;
	int rc;

	ctx = new_ctx(SCMP_ACT_ERRNO(EPERM), err);
	if (ctx == NULL)
		return -1;
	rc = add_compat_arches(ctx);
	if (rc < 0) {
		rc = cradle_err_errno(err, -rc,
		                      "default seccomp profile: failed to add architectures");
		goto out;
	}
	for (i = 0; i < sizeof(default_allow) / sizeof(default_allow[0]); i++)
		if ((rc = default_rule(ctx, SCMP_ACT_ALLOW, default_allow[i], 0, NULL, err)) < 0)
			goto out;
	for (i = 0; i < sizeof(default_cond) / sizeof(default_cond[0]); i++) {
		struct scmp_arg_cmp cmp = {
			.arg = default_cond[i].arg == ARG_CLONE_FLAGS ? clone_arg
			                                              : default_cond[i].arg,
			.op = default_cond[i].op,
			.datum_a = default_cond[i].a,
			.datum_b = default_cond[i].b,
		};
		if ((rc = default_rule(ctx, SCMP_ACT_ALLOW, default_cond[i].name, 1, &cmp, err)) <
		    0)
			goto out;
	}
	for (i = 0; i < sizeof(default_errno) / sizeof(default_errno[0]); i++)
		if ((rc = default_rule(ctx, SCMP_ACT_ERRNO((uint32_t)default_errno[i].errnum),
		                       default_errno[i].name, 0, NULL, err)) < 0)
			goto out;
	rc = export_prog(ctx, out, err);
out:
	seccomp_release(ctx);
	return rc;
}

/* Compiled once, copied out: the table never changes, and many pods
 * start at once. */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct seccomp_prog default_prog;
static int default_rc;
static struct cradle_err default_err;

static void
default_init(void)
{
	pthread_mutex_lock(&scmp_lock);
	default_rc = compile_default(&default_prog, &default_err);
	pthread_mutex_unlock(&scmp_lock);
}

int
seccomp_prog_runtime_default(struct seccomp_prog *out, struct cradle_err *err)
{
	size_t size;

	out->filter = NULL;
	out->len = 0;
	pthread_once(&default_once, default_init);
	if (default_rc < 0) {
		if (err != NULL)
			*err = default_err;
		return default_rc;
	}
	size = (size_t)default_prog.len * sizeof(struct sock_filter);
	out->filter = malloc(size);
	if (out->filter == NULL)
		return cradle_err_nomem(err);
	memcpy(out->filter, default_prog.filter, size);
	out->len = default_prog.len;
	return 0;
}

/* The default profile as OCI linux.seccomp, for an OCI runtime (the oci
 * launcher): the same tables in the same order, so that compile_profile
 * turns it into the very program compile_default makes (a unit test holds
 * them byte for byte).  Names this libseccomp does not know are written
 * too: the runtime's libseccomp skips what it does not know, as
 * compile_default and compile_profile do. */

/* libseccomp token -> the OCI name (runc's SCMP_ARCH_*); NULL unknown. */
static const char *
arch_oci_name(uint32_t token)
{
	static const struct {
		uint32_t token;
		const char *name;
	} names[] = {
		{ SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64" },
		{ SCMP_ARCH_X86, "SCMP_ARCH_X86" },
		{ SCMP_ARCH_X32, "SCMP_ARCH_X32" },
		{ SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64" },
		{ SCMP_ARCH_ARM, "SCMP_ARCH_ARM" },
		{ SCMP_ARCH_S390X, "SCMP_ARCH_S390X" },
		{ SCMP_ARCH_S390, "SCMP_ARCH_S390" },
		{ SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE" },
		{ SCMP_ARCH_PPC64, "SCMP_ARCH_PPC64" },
		{ SCMP_ARCH_PPC, "SCMP_ARCH_PPC" },
		{ SCMP_ARCH_MIPS, "SCMP_ARCH_MIPS" },
		{ SCMP_ARCH_MIPSEL, "SCMP_ARCH_MIPSEL" },
		{ SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64" },
		{ SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64" },
		{ SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].token == token)
			return names[i].name;
	return NULL;
}

static const char *
op_oci_name(enum scmp_compare op)
{
	switch (op) {
	case SCMP_CMP_NE:
		return "SCMP_CMP_NE";
	case SCMP_CMP_LT:
		return "SCMP_CMP_LT";
	case SCMP_CMP_LE:
		return "SCMP_CMP_LE";
	case SCMP_CMP_EQ:
		return "SCMP_CMP_EQ";
	case SCMP_CMP_GE:
		return "SCMP_CMP_GE";
	case SCMP_CMP_GT:
		return "SCMP_CMP_GT";
	case SCMP_CMP_MASKED_EQ:
		return "SCMP_CMP_MASKED_EQ";
	default:
		return NULL;
	}
}

/* json-c helpers that remember a failed allocation in *oom. */
static void
jput(struct json_object *o, const char *key, struct json_object *v, bool *oom)
{
	if (v == NULL || o == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		*oom = true;
	}
}

static void
jpush(struct json_object *a, struct json_object *v, bool *oom)
{
	if (v == NULL || a == NULL || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		*oom = true;
	}
}

static struct json_object *
jstr(const char *s)
{
	return json_object_new_string(s);
}

/* {"names": [name...], "action": action[, "errnoRet": errnum]} */
static struct json_object *
oci_rule(const char *action, int errnum, bool *oom)
{
	struct json_object *r = json_object_new_object();

	jput(r, "names", json_object_new_array(), oom);
	jput(r, "action", jstr(action), oom);
	if (errnum > 0)
		jput(r, "errnoRet", json_object_new_uint64((uint64_t)errnum), oom);
	return r;
}

struct json_object *
seccomp_runtime_default_oci(struct cradle_err *err)
{
	uint32_t native = seccomp_arch_native(), compat[2];
	unsigned int clone_arg = clone_flags_arg(native);
	struct json_object *doc, *arches, *calls, *r, *names = NULL;
	size_t i, n;
	bool oom = false;

	if (arch_oci_name(native) == NULL) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "default seccomp profile: no OCI name for this node's "
		               "architecture (libseccomp token 0x%08x)",
		               native);
		return NULL;
	}
	doc = json_object_new_object();
	jput(doc, "defaultAction", jstr("SCMP_ACT_ERRNO"), &oom);
	jput(doc, "defaultErrnoRet", json_object_new_uint64(EPERM), &oom);
	arches = json_object_new_array();
	jpush(arches, jstr(arch_oci_name(native)), &oom);
	n = compat_arches(native, compat);
	for (i = 0; i < n; i++)
		if (arch_oci_name(compat[i]) != NULL)
			jpush(arches, jstr(arch_oci_name(compat[i])), &oom);
	jput(doc, "architectures", arches, &oom);
	calls = json_object_new_array();
	/* default_allow: one rule, its names in the table's order */
	r = oci_rule("SCMP_ACT_ALLOW", 0, &oom);
	if (r != NULL)
		json_object_object_get_ex(r, "names", &names);
	for (i = 0; i < sizeof(default_allow) / sizeof(default_allow[0]); i++)
		jpush(names, jstr(default_allow[i]), &oom);
	jpush(calls, r, &oom);
	/* default_cond: one rule per entry (entries for one name are OR) */
	for (i = 0; i < sizeof(default_cond) / sizeof(default_cond[0]); i++) {
		struct json_object *args = json_object_new_array(), *a = json_object_new_object();
		unsigned int idx =
			default_cond[i].arg == ARG_CLONE_FLAGS ? clone_arg : default_cond[i].arg;

		r = oci_rule("SCMP_ACT_ALLOW", 0, &oom);
		names = NULL;
		if (r != NULL)
			json_object_object_get_ex(r, "names", &names);
		jpush(names, jstr(default_cond[i].name), &oom);
		jput(a, "index", json_object_new_uint64(idx), &oom);
		jput(a, "value", json_object_new_uint64(default_cond[i].a), &oom);
		jput(a, "valueTwo", json_object_new_uint64(default_cond[i].b), &oom);
		jput(a, "op", jstr(op_oci_name(default_cond[i].op)), &oom);
		jpush(args, a, &oom);
		jput(r, "args", args, &oom);
		jpush(calls, r, &oom);
	}
	for (i = 0; i < sizeof(default_errno) / sizeof(default_errno[0]); i++) {
		r = oci_rule("SCMP_ACT_ERRNO", default_errno[i].errnum, &oom);
		names = NULL;
		if (r != NULL)
			json_object_object_get_ex(r, "names", &names);
		jpush(names, jstr(default_errno[i].name), &oom);
		jpush(calls, r, &oom);
	}
	jput(doc, "syscalls", calls, &oom);
	if (oom || doc == NULL) {
		json_object_put(doc);
		cradle_err_nomem(err);
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------------ */
/* Localhost profiles: OCI linux.seccomp JSON                           */
/* ------------------------------------------------------------------ */

struct parse {
	const char *file; /* for messages */
	struct cradle_err *err;
	scmp_filter_ctx ctx;
	uint32_t def_action;
};

/* INVALID_ARGUMENT "<file>: <where>: <what>", or "<file>: <what>" for
 * the document as a whole (where NULL): how this file reports a profile
 * it refuses. */
__attribute__((format(printf, 3, 4))) static int
bad(const struct parse *ps, const char *where, const char *fmt, ...)
{
	char what[CRADLE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cradle_err_set(ps->err, CRADLE_INVALID_ARGUMENT, "%s: %s%s%s", ps->file,
	                      where != NULL ? where : "", where != NULL ? ": " : "", what);
}

/* JSON type names as a profile's author would say them. */
static const char *
jtype(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a floating-point number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

/* Member key of obj; NULL when absent or JSON null (as Go's decoder,
 * which the reference uses, treats null as "not set"). */
static struct json_object *
member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static int
want_string(const struct parse *ps, const char *where, struct json_object *o, const char **out)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string))
		return bad(ps, where, "expected a string, got %s", jtype(o));
	s = json_object_get_string(o);
	/* "read\u0000x" must not quietly become "read" */
	if (strlen(s) != (size_t)json_object_get_string_len(o))
		return bad(ps, where, "string contains a NUL character");
	*out = s;
	return 0;
}

static int
want_array(const struct parse *ps, const char *where, struct json_object *o)
{
	if (!json_object_is_type(o, json_type_array))
		return bad(ps, where, "expected an array, got %s", jtype(o));
	return 0;
}

/* An unsigned integer up to max.  json-c saturates integers beyond 64
 * bits to UINT64_MAX, so those cannot be told apart from it. */
static int
want_uint(const struct parse *ps, const char *where, struct json_object *o, uint64_t max,
          uint64_t *out)
{
	uint64_t v;

	if (!json_object_is_type(o, json_type_int))
		return bad(ps, where, "expected an unsigned integer, got %s", jtype(o));
	if (json_object_get_int64(o) < 0)
		return bad(ps, where, "expected an unsigned integer, got %lld",
		           (long long)json_object_get_int64(o));
	v = json_object_get_uint64(o);
	if (v > max)
		return bad(ps, where, "%llu is out of range (at most %llu)", (unsigned long long)v,
		           (unsigned long long)max);
	*out = v;
	return 0;
}

enum act_kind { ACT_PLAIN, ACT_ERRNO, ACT_TRACE, ACT_NOTIFY };

static const struct {
	const char *name;
	enum act_kind kind;
	uint32_t action; /* ACT_PLAIN */
} actions[] = {
	/* runc reads SCMP_ACT_KILL as kill-thread, libseccomp's meaning too */
	{ "SCMP_ACT_KILL", ACT_PLAIN, SCMP_ACT_KILL_THREAD },
	{ "SCMP_ACT_KILL_THREAD", ACT_PLAIN, SCMP_ACT_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", ACT_PLAIN, SCMP_ACT_KILL_PROCESS },
	{ "SCMP_ACT_TRAP", ACT_PLAIN, SCMP_ACT_TRAP },
	{ "SCMP_ACT_ERRNO", ACT_ERRNO, 0 },
	{ "SCMP_ACT_TRACE", ACT_TRACE, 0 },
	{ "SCMP_ACT_ALLOW", ACT_PLAIN, SCMP_ACT_ALLOW },
	{ "SCMP_ACT_LOG", ACT_PLAIN, SCMP_ACT_LOG },
	{ "SCMP_ACT_NOTIFY", ACT_NOTIFY, 0 },
};

/* The action named by act_o, with its errno (or trace message) from
 * ret_o, which may be NULL: EPERM then, as runc does.  ret_o is ignored by
 * actions that carry no value, as runc ignores it. */
static int
parse_action(const struct parse *ps, const char *where, struct json_object *act_o,
             const char *ret_where, struct json_object *ret_o, uint32_t *out)
{
	const char *name;
	uint64_t ret = EPERM;
	size_t i;

	if (want_string(ps, where, act_o, &name) < 0)
		return -1;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(name, actions[i].name) == 0)
			break;
	if (i == sizeof(actions) / sizeof(actions[0]))
		return bad(ps, where, "unknown action \"%s\"", name);
	switch (actions[i].kind) {
	case ACT_PLAIN:
		*out = actions[i].action;
		return 0;
	case ACT_NOTIFY:
		return bad(ps, where, "%s is not supported (no seccomp agent listens)", name);
	case ACT_ERRNO:
		/* errno values are below MAX_ERRNO (4095): libseccomp
		 * refuses more, and the kernel would clamp them */
		if (ret_o != NULL && want_uint(ps, ret_where, ret_o, 4094, &ret) < 0)
			return -1;
		*out = SCMP_ACT_ERRNO((uint32_t)ret);
		return 0;
	case ACT_TRACE:
		/* the tracer's message is SECCOMP_RET_DATA, 16 bits */
		if (ret_o != NULL && want_uint(ps, ret_where, ret_o, 0xffff, &ret) < 0)
			return -1;
		*out = SCMP_ACT_TRACE((uint32_t)ret);
		return 0;
	}
	return -1;
}

static const struct {
	const char *name;
	enum scmp_compare op;
} operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* System calls have at most six arguments. */
#define MAX_ARG_INDEX 5

/* One element of syscalls[i].args: {index, value, valueTwo, op}.  For
 * MASKED_EQ, value is the mask and valueTwo the expected result (runc
 * passes them to libseccomp in that order). */
static int
parse_arg(const struct parse *ps, const char *where, struct json_object *o,
          struct scmp_arg_cmp *cmp)
{
	char w[160];
	struct json_object *v;
	const char *op;
	uint64_t index = 0, a = 0, b = 0;
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return bad(ps, where, "expected an object, got %s", jtype(o));
	if ((v = member(o, "index")) != NULL) {
		snprintf(w, sizeof(w), "%s.index", where);
		if (want_uint(ps, w, v, MAX_ARG_INDEX, &index) < 0)
			return -1;
	}
	if ((v = member(o, "value")) != NULL) {
		snprintf(w, sizeof(w), "%s.value", where);
		if (want_uint(ps, w, v, UINT64_MAX, &a) < 0)
			return -1;
	}
	if ((v = member(o, "valueTwo")) != NULL) {
		snprintf(w, sizeof(w), "%s.valueTwo", where);
		if (want_uint(ps, w, v, UINT64_MAX, &b) < 0)
			return -1;
	}
	snprintf(w, sizeof(w), "%s.op", where);
	if ((v = member(o, "op")) == NULL)
		return bad(ps, w, "missing");
	if (want_string(ps, w, v, &op) < 0)
		return -1;
	for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++)
		if (strcmp(op, operators[i].name) == 0)
			break;
	if (i == sizeof(operators) / sizeof(operators[0]))
		return bad(ps, w, "unknown operator \"%s\"", op);
	cmp->arg = (unsigned int)index;
	cmp->op = operators[i].op;
	cmp->datum_a = a;
	cmp->datum_b = b;
	return 0;
}

/* Rules for one resolved name: all conditions in one rule (AND) unless
 * two test the same argument, which libseccomp refuses in one rule; then,
 * as runc does, one rule per condition (OR). */
static int
add_rules(const struct parse *ps, const char *where, const char *name, int nr, uint32_t action,
          const struct scmp_arg_cmp *cmp, unsigned int n)
{
	unsigned int seen = 0, i;
	bool split = false;
	int rc;

	for (i = 0; i < n; i++) {
		if (seen & (1u << cmp[i].arg))
			split = true;
		seen |= 1u << cmp[i].arg;
	}
	if (!split) {
		rc = seccomp_rule_add_array(ps->ctx, action, nr, n, cmp);
	} else {
		rc = 0;
		for (i = 0; i < n && rc == 0; i++)
			rc = seccomp_rule_add_array(ps->ctx, action, nr, 1, &cmp[i]);
	}
	if (rc == -ENOMEM)
		return cradle_err_nomem(ps->err);
	if (rc < 0)
		return bad(ps, where, "libseccomp refused the rule for \"%s\": %s", name,
		           strerror(-rc));
	return 0;
}

/* One element of syscalls[]. */
static int
parse_syscall(const struct parse *ps, size_t idx, struct json_object *o)
{
	char where[64], w[96], rw[96];
	struct json_object *names, *args, *v;
	struct scmp_arg_cmp *cmp = NULL;
	unsigned int n_cmp = 0;
	uint32_t action;
	size_t i, n;
	int rc = -1;

	snprintf(where, sizeof(where), "syscalls[%zu]", idx);
	if (!json_object_is_type(o, json_type_object))
		return bad(ps, where, "expected an object, got %s", jtype(o));

	snprintf(w, sizeof(w), "%s.action", where);
	snprintf(rw, sizeof(rw), "%s.errnoRet", where);
	if ((v = member(o, "action")) == NULL)
		return bad(ps, w, "missing");
	if (parse_action(ps, w, v, rw, member(o, "errnoRet"), &action) < 0)
		return -1;

	/* An entry without names is most likely the old Docker format's
	 * "name": dropping it silently would drop a rule. */
	snprintf(w, sizeof(w), "%s.names", where);
	if ((names = member(o, "names")) == NULL)
		return bad(ps, w, "missing");
	if (want_array(ps, w, names) < 0)
		return -1;

	if ((args = member(o, "args")) != NULL) {
		snprintf(w, sizeof(w), "%s.args", where);
		if (want_array(ps, w, args) < 0)
			return -1;
		n = json_object_array_length(args);
		/* six arguments, each tested at most a few ways; more is not
		 * a filter anyone means */
		if (n > 64)
			return bad(ps, w, "%zu conditions, more than 64", n);
		if (n > 0 && (cmp = calloc(n, sizeof(*cmp))) == NULL)
			return cradle_err_nomem(ps->err);
		for (i = 0; i < n; i++) {
			snprintf(w, sizeof(w), "%s.args[%zu]", where, i);
			if (parse_arg(ps, w, json_object_array_get_idx(args, i), &cmp[i]) < 0)
				goto out;
		}
		n_cmp = (unsigned int)n;
	}

	n = json_object_array_length(names);
	for (i = 0; i < n; i++) {
		const char *name;
		int nr;

		snprintf(w, sizeof(w), "%s.names[%zu]", where, i);
		if (want_string(ps, w, json_object_array_get_idx(names, i), &name) < 0)
			goto out;
		/* unknown to this libseccomp (a newer or misspelt call):
		 * skipped, so that one profile serves several nodes */
		nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		/* the default already does it; libseccomp refuses such rules */
		if (action == ps->def_action)
			continue;
		if (add_rules(ps, w, name, nr, action, cmp, n_cmp) < 0)
			goto out;
	}
	rc = 0;
out:
	free(cmp);
	return rc;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 when unknown. */
static uint32_t
arch_token(const char *name)
{
	static const char prefix[] = "SCMP_ARCH_";
	char lower[32];
	size_t i, len;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	name += sizeof(prefix) - 1;
	len = strlen(name);
	if (len == 0 || len >= sizeof(lower))
		return 0;
	for (i = 0; i <= len; i++)
		lower[i] =
			(name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
	return seccomp_arch_resolve_name(lower);
}

static int
parse_arches(const struct parse *ps, struct json_object *arches)
{
	char w[64];
	size_t i, n;

	if (want_array(ps, "architectures", arches) < 0)
		return -1;
	n = json_object_array_length(arches);
	for (i = 0; i < n; i++) {
		const char *name;
		uint32_t token;
		int rc;

		snprintf(w, sizeof(w), "architectures[%zu]", i);
		if (want_string(ps, w, json_object_array_get_idx(arches, i), &name) < 0)
			return -1;
		if ((token = arch_token(name)) == 0)
			return bad(ps, w, "unknown architecture \"%s\"", name);
		rc = add_arch(ps->ctx, token);
		/* EDOM: the other byte order.  A profile written for every
		 * node may list such architectures; this kernel can never run
		 * their code, so there is nothing to filter (runc fails). */
		if (rc == -EDOM)
			continue;
		if (rc < 0)
			return bad(ps, w, "libseccomp refused architecture \"%s\": %s", name,
			           strerror(-rc));
	}
	return 0;
}

/* The whole document.  The default action comes first (the context is
 * made with it), then the architectures (libseccomp applies a rule only
 * to the architectures present when it is added), then the rules. */
static int
compile_profile(const char *file, struct json_object *root, struct seccomp_prog *out,
                struct cradle_err *err)
{
	struct parse ps = { .file = file, .err = err };
	struct json_object *v, *syscalls;
	size_t i, n;
	int rc = -1;

	if (!json_object_is_type(root, json_type_object))
		return bad(&ps, NULL, "expected a JSON object at the top level, got %s",
		           jtype(root));
	if ((v = member(root, "defaultAction")) == NULL)
		return bad(&ps, "defaultAction", "missing");
	if (parse_action(&ps, "defaultAction", v, "defaultErrnoRet",
	                 member(root, "defaultErrnoRet"), &ps.def_action) < 0)
		return -1;
	/* check the shape of syscalls before any work */
	syscalls = member(root, "syscalls");
	if (syscalls != NULL && want_array(&ps, "syscalls", syscalls) < 0)
		return -1;

	pthread_mutex_lock(&scmp_lock);
	ps.ctx = new_ctx(ps.def_action, err);
	if (ps.ctx == NULL) {
		/* e.g. an action this kernel lacks (libseccomp asks it) */
		cradle_err_wrap(err, "%s: defaultAction", file);
		goto out_unlock;
	}
	if ((v = member(root, "architectures")) != NULL && parse_arches(&ps, v) < 0)
		goto out;
	n = syscalls != NULL ? json_object_array_length(syscalls) : 0;
	for (i = 0; i < n; i++)
		if (parse_syscall(&ps, i, json_object_array_get_idx(syscalls, i)) < 0)
			goto out;
	if ((rc = export_prog(ps.ctx, out, err)) < 0)
		cradle_err_wrap(err, "%s", file);
out:
	seccomp_release(ps.ctx);
out_unlock:
	pthread_mutex_unlock(&scmp_lock);
	return rc;
}

/* Read the whole file: absolute path, regular file, at most
 * SECCOMP_PROFILE_MAX bytes.  *buf is NUL-terminated. */
static int
read_profile(const char *path, char **buf, size_t *len, struct cradle_err *err)
{
	int rc;

	if (path == NULL || path[0] != '/')
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: seccomp profile path is not absolute",
		                      path ? path : "(null)");
	rc = fs_read_alloc(path, SECCOMP_PROFILE_MAX, 0, buf, len);
	if (rc == -EINVAL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: not a regular file", path);
	if (rc == -EFBIG)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: seccomp profile is larger than %u bytes", path,
		                      SECCOMP_PROFILE_MAX);
	if (rc < 0)
		/* seccomp.WithProfile's words */
		return cradle_err_errno(err, -rc, "cannot load seccomp profile \"%s\"", path);
	return 0;
}

int
seccomp_prog_from_file(const char *path, struct seccomp_prog *out, struct cradle_err *err)
{
	struct json_object *root;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	out->filter = NULL;
	out->len = 0;
	if ((rc = read_profile(path, &buf, &len, err)) < 0)
		return rc;
	root = json_doc_parse(buf, len, path, err);
	free(buf);
	if (root == NULL)
		return -1;
	rc = compile_profile(path, root, out, err);
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------ */

bool
seccomp_available(void)
{
	int saved = errno;
	bool ok;

	/* EINVAL: the kernel was built without CONFIG_SECCOMP */
	ok = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	/* With filter support the kernel copies the (NULL) program first and
	 * fails with EFAULT; without it, EINVAL.  Nothing is installed. */
	if (ok)
		ok = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) < 0 && errno == EFAULT;
	errno = saved;
	return ok;
}
