/* launch.h - start a pause task: clone3 posix_spawn-style into new namespaces.
 *
 * The parent is multithreaded, so the child runs a plan prepared in the
 * parent and makes only raw system calls: no malloc, no locks, no stdio, no
 * glibc wrappers that coordinate threads.  The child shares the parent's
 * memory (CLONE_VM) and the parent thread is suspended until the child execs
 * or exits (CLONE_VFORK), exactly as posix_spawn does; the child runs on a
 * stack of its own (struct launch_stack, one per worker thread).  Because
 * memory is shared and the parent resumes only after exec or exit, the
 * child reports a failure by writing {errno, step name} into the plan: the
 * same contract as a CLOEXEC error pipe whose EOF means "exec succeeded",
 * without the pipe (see docs/ARCHITECTURE.md, "Launch").
 *
 * Child steps, in order (step names as reported):
 *                  first, not a step: close every descriptor above 2 but
 *                  the plan's own (sandbox/launch.c: a concurrent launch's
 *                  pipes must not live on in this child)
 *   "sync"         (user namespace only) wait until the parent wrote the
 *                  id maps; without a user namespace the spawn is vfork-like
 *                  (the parent's own steps there fail as "set up user
 *                  namespace: write uid_map", "... write gid_map", "...
 *                  join cgroup", "... release the child")
 *   "cgroup"       join each v1 hierarchy by writing "0" to the prepared
 *                  cgroup.procs descriptors (v2: CLONE_INTO_CGROUP already)
 *   "sigmask"      restore an empty signal mask
 *   "propagation"  make every mount private (MS_REC|MS_PRIVATE on /)
 *   "bind-rootfs"  bind the image rootfs onto itself, chdir into it (or
 *   "mount-rootfs" a read-only overlay of the image's layers on it)
 *   "userns-ids"   (user namespace only) become the namespace's root
 *   then either the plan's ops (each names its own step: mounts, device
 *   nodes, masks, read-only paths, sysctls, oom_score_adj), or, with no
 *   ops, the minimal built-in sequence:
 *   "mount-proc"   proc on proc/ (nosuid,noexec,nodev)
 *   "mount-dev"    tmpfs on dev/ (nosuid,strictatime,mode=755,size=65536k)
 *                  + null, zero, full, random, urandom, tty and fd links
 *   "mount-shm"    tmpfs on dev/shm (nosuid,nodev,noexec,mode=1777,size=shm)
 *   "readonly-rootfs" remount the rootfs bind read-only
 *   "pivot-root"   pivot_root(".", "."), detach the old root, chdir to cwd;
 *   "move-root"    or, with root_move, move the rootfs over "/", chroot to
 *                  it, chdir to cwd
 *   "sethostname"  when a new UTS namespace is made and hostname is set
 *   "selinux-label" write the exec label to /proc/thread-self/attr/exec
 *   "stdio"        /dev/null on 0, 1, 2; close every other descriptor
 *                  then, when the stack asks for it (set_exec_nice), the
 *                  nice value pause runs at; not a step: a refusal leaves
 *                  it to the parent, after the exec
 *   "capabilities" drop the bounding set, ids (raw setgroups, setresgid,
 *                  setresuid with KEEPCAPS), capset, ambient
 *   "no-new-privs" PR_SET_NO_NEW_PRIVS
 *   "wait"         (wait_go only) tell the parent it is ready, then wait
 *                  for launch_go's byte; EOF (launch_abort, the daemon
 *                  gone) ends it with status 127
 *   "seccomp"      load the prepared BPF program
 *   "exec"         execve(exec_path, argv, envp)
 */
#ifndef CRADLE_LAUNCH_H
#define CRADLE_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

struct launch_stack {
	void *base; /* mmap'd, with a guard page below */
	size_t size;
	/* The nice value the pause task is to run at, when the launching
	 * thread runs at another one (the daemon's workers run below its
	 * front end, worker/pool.c).  The child inherits the thread's nice,
	 * keeps it for its own work, and sets exec_nice just before it drops
	 * its capabilities and execs (in a user namespace, where the child
	 * has no CAP_SYS_NICE of the host's, the parent does it once the
	 * child has exec'd).  launch_stack_alloc clears set_exec_nice: the
	 * child keeps the thread's nice. */
	bool set_exec_nice;
	int exec_nice;
	/* A child launched with wait_go still runs on this stack (until
	 * launch_go or launch_abort): launch_start refuses to use it. */
	bool waiting;
};

/* 0 or <0 with err. */
int launch_stack_alloc(struct launch_stack *st, struct cradle_err *err);
void launch_stack_free(struct launch_stack *st); /* zero-safe */

#define LAUNCH_HOSTNAME_MAX 64

enum launch_op_kind {
	LOP_MOUNT,    /* mount(source, target, fstype, flags, data) */
	LOP_BIND_RO,  /* bind source on target, then remount it read-only */
	LOP_MKDIR,    /* mkdirat(target, mode); EEXIST is fine */
	LOP_MKNOD,    /* node target: mode holds the type (S_IFCHR, S_IFREG) and bits */
	LOP_SYMLINK,  /* symlink target -> source */
	LOP_MASK,     /* a directory gets mask_dir (or a read-only tmpfs), a file
	                 /dev/null */
	LOP_READONLY, /* bind target on itself, remount read-only */
	LOP_WRITE,    /* write value to the file target (sysctls, oom) */
	LOP_ATTACH,   /* attach the detached mount tree fd (open_tree) on target */
};

/* One child operation; paths relative to the rootfs (cwd of the child) or
 * absolute on the host before the root switch (from a staged template,
 * only what it shows: sandbox/mntns.h).  Strings must outlive the launch:
 * they are read by the child in place. */
struct launch_op {
	int kind;         /* enum launch_op_kind */
	const char *step; /* reported on failure */
	const char *source, *target, *fstype, *data;
	unsigned long flags;
	unsigned mode;
	unsigned long long dev;
	const char *value;
	size_t len;
	bool optional; /* ENOENT (missing target) is not a failure */
	int fd;        /* LOP_ATTACH: the tree, open in the caller */
};

struct launch_plan {
	/* inputs (set by the caller, read by the child) */
	const char *rootfs;                     /* absolute path of the image rootfs */
	const char *exec_path;                  /* inside the rootfs, e.g. "/pause" */
	char *const *argv;                      /* NULL-terminated */
	char *const *envp;                      /* NULL-terminated */
	bool new_net, new_pid, new_ipc;         /* UTS follows net; mount always new */
	char hostname[LAUNCH_HOSTNAME_MAX + 1]; /* applied when new_net and set */
	uint64_t shm_size;                      /* bytes for /dev/shm when new_ipc */
	char shm_opts[64];                      /* filled by launch_start */

	/* Extended plan (all optional: zero means "not asked for") */
	const char *rootfs_overlay;  /* "lowerdir=A:B": a read-only overlay of the
	                                image's layers is mounted on rootfs (an
	                                empty directory) instead of binding it */
	const struct launch_op *ops; /* replace the built-in mount sequence */
	size_t n_ops;
	const char *cwd; /* after the root switch; NULL = "/" */
	/* An empty directory (absolute, in the caller's namespace) bound
	 * read-only over each masked directory.  NULL: a read-only tmpfs
	 * each, as runc does; but every new superblock registers a
	 * shrinker, and every memory cgroup made afterwards on the node
	 * allocates room for every shrinker id there has been (~8 bytes
	 * each, see docs/PERFORMANCE.md). */
	const char *mask_dir;
	int cgroup_fd;               /* v2 leaf for CLONE_INTO_CGROUP; -1 none */
	const int *cgroup_procs_fds; /* v1 cgroup.procs of each hierarchy */
	size_t n_cgroup_procs_fds;
	int mntns_fd; /* the mount namespace the child's is copied from (the
	                 template, sandbox/mntns.h); -1: the caller's */
	/* The namespace copied holds nothing but what the launch needs (a
	 * staged template, struct mntns.staged): the rootfs is moved over its
	 * root and chroot'ed into ("move-root") instead of pivot_root, which
	 * walks every task on the node.  What stays below the rootfs is that
	 * small tree, out of the pause's reach and out of its mountinfo. */
	bool root_move;
	bool new_user;       /* user namespace with the maps below */
	const char *uid_map; /* "CONTAINER HOST LENGTH\n" */
	const char *gid_map;
	bool set_ids;
	uint32_t uid, gid;
	const uint32_t *groups; /* supplementary groups */
	size_t n_groups;
	bool set_caps;
	int cap_last; /* highest capability the kernel knows */
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	bool no_new_privs;
	/* RLIMIT_NOFILE of the task (soft = hard), 0: the daemon's.  The
	 * daemon raises its own to hold a pidfd per sandbox; the pause gets
	 * the reference's default spec's 1024 instead. */
	uint64_t nofile;
	const char *exec_label; /* SELinux exec label; NULL none */
	const void *seccomp;    /* struct sock_fprog *; NULL none */

	/* The lowest number the returned pidfd may have; 0: any.  A daemon
	 * holding a pidfd per live task keeps them above the descriptors of
	 * its work in flight, so a launch (which copies only the descriptors
	 * below the highest one the child uses) costs the same with 5,000
	 * tasks alive as with none. */
	int pidfd_floor;

	/* Two steps (the reference's task create, then start, with NRI
	 * between them): the child makes every step up to and including
	 * "no-new-privs", then waits ("wait") before its seccomp filter and
	 * execve, as runc's init waits on its exec fifo.  launch_start returns
	 * with pid and pidfd set and the child waiting (launch_waiting);
	 * launch_go lets it exec, launch_abort kills and reaps it.  Until one
	 * of those the child runs on the stack (launch_stack.waiting) and in
	 * the daemon's mm, and the plan must stay where it is.  false: the
	 * one-step spawn, not one system call more. */
	bool wait_go;

	/* private to launch.c */
	int sync_r, sync_w, exec_w;
	int go_r, go_w, exec_r; /* wait_go: the go pipe, the exec pipe's read end */
	bool waiting;           /* created, waiting for launch_go */
	bool set_exec_nice;     /* the stack's two, */
	int exec_nice;          /* copied for the child */
	bool exec_nice_done;    /* the child set it */
	int mask_fd;            /* the tree of mask_dir, -1 none */
	const char *mask_first; /* the masked directory holding it (child) */
	/* the descriptors above 2 the child uses, ascending: it closes every
	 * other one first thing (n_keep > LAUNCH_KEEP_MAX: it does not) */
#define LAUNCH_KEEP_MAX 48
	int keep[LAUNCH_KEEP_MAX];
	size_t n_keep;
	unsigned fd_end; /* 1 + the highest the child uses (3 at least) */

	/* outputs */
	pid_t pid;
	int pidfd;              /* CLOEXEC, owned by the caller */
	uint64_t start_time;    /* of pid (launch_pid_start_time), 0 unknown */
	int child_errno;        /* 0 when exec succeeded */
	const char *child_step; /* static string, the failing step */
};

void launch_plan_init(struct launch_plan *p);

/* Spawn.  On success plan->pid/pidfd are set and the child has exec'd.  On
 * failure returns <0 with err naming the step ("launch sandbox: mount-proc:
 * Operation not permitted"); a child that failed has been waited for, so
 * nothing is left.  Thread-safe as long as each thread uses its own stack. */
int launch_start(struct launch_plan *p, struct launch_stack *st, struct cradle_err *err);

/* Whether the plan's child was created with wait_go and waits for
 * launch_go (or launch_abort). */
static inline bool
launch_waiting(const struct launch_plan *p)
{
	return p->waiting;
}

/* Let a waiting child (wait_go) load its seccomp filter and exec, and wait
 * for that as launch_start does in one step: 0 with the pause running, or
 * <0 with err naming the step ("launch sandbox: exec: ..."), the child
 * reaped and plan->pidfd -1.  The stack is free again either way. */
int launch_go(struct launch_plan *p, struct launch_stack *st, struct cradle_err *err);

/* Kill a waiting child and reap it (its go pipe closed first: it exits at
 * once even if the kill failed); plan->pidfd -1, the stack free.  A plan
 * whose child does not wait: nothing. */
void launch_abort(struct launch_plan *p, struct launch_stack *st);

/* A detached copy of source's mount (open_tree(OPEN_TREE_CLONE), with its
 * submounts when recursive) carrying the mount flags of flags (MS_RDONLY,
 * MS_NOSUID, MS_NODEV, MS_NOEXEC, and the atime ones), for LOP_ATTACH: the
 * caller's namespace and credentials find the source, the child attaches
 * it.  A CLOEXEC descriptor, or <0 with err. */
int launch_open_tree(const char *source, unsigned long flags, bool recursive,
                     struct cradle_err *err);

/* Start time of a pid (field 22 of /proc/PID/stat), 0 when unreadable. */
uint64_t launch_pid_start_time(pid_t pid);

#endif
