/* seccomp.h - compile a sandbox's seccomp profile to a classic BPF program.
 *
 * DESIGN
 * The pause task is started with clone3 from a multithreaded daemon and may
 * only make raw system calls until it execs (sandbox/launch.h), so nothing
 * there can run libseccomp: libseccomp allocates, and seccomp_load() would
 * also decide no_new_privs for us.  Everything is therefore done here, in
 * the parent: the profile is compiled with libseccomp, exported with
 * seccomp_export_bpf() into a memfd, and read back into a plain malloc'd
 * array of struct sock_filter.  The child's only job is one system call
 * with a pointer to that array (see "Applying" below).
 *
 * Which profile applies (RuntimeDefault, Localhost, Unconfined, privileged
 * pods) is decided by sandbox/spec.c (containerd's generateSeccompSpecOpts);
 * this module only
 * compiles the one it is given:
 *   seccomp_prog_runtime_default  cradle's own default profile: deny by
 *                                 default (EPERM), allow the system calls
 *                                 an ordinary container uses, leave out
 *                                 those that administer the host
 *                                 (the table in seccomp.c says why).
 *   seccomp_prog_from_file        a Localhost profile, an OCI
 *                                 linux.seccomp JSON document.
 *   seccomp_runtime_default_oci   the default profile as such a document,
 *                                 for an OCI runtime (launcher = oci).
 *
 * Localhost profiles follow runc's reading of the OCI shape: defaultAction
 * (required), defaultErrnoRet, architectures ("SCMP_ARCH_X86_64", ...),
 * syscalls[] of {names[], action, errnoRet, args[{index, value, valueTwo,
 * op}]}; flags, listenerPath and unknown keys are ignored.  Syscall names
 * this libseccomp does not know are skipped (as runc does, so one profile
 * serves several kernels); a rule whose action equals the default action is
 * skipped; several conditions on the same argument become one rule each
 * (OR), conditions on distinct arguments one rule (AND), as runc does.
 * SCMP_ACT_NOTIFY is refused: there is no agent to listen.
 *
 * Errors: a malformed profile (bad JSON, missing defaultAction, unknown
 * action, operator or architecture, wrong JSON types, a relative path, not
 * a regular file, larger than 1 MiB) is INVALID_ARGUMENT naming the file
 * and the JSON path:
 *   /x.json: syscalls[3].action: unknown action "SCMP_ACT_FOO"
 * A file that cannot be opened carries its errno's code (NOT_FOUND, ...).
 *
 * Applying (in the clone3 child, after the credentials are final, last
 * thing before execve, since from then on the filter judges execve too):
 *   struct sock_fprog fprog = { .len = prog.len, .filter = prog.filter };
 *   syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
 *   syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
 * The fprog (and the program) are built and kept alive by the parent.
 * Without no_new_privs the kernel demands CAP_SYS_ADMIN at load time.  No
 * TSYNC flag: the child is single-threaded.
 *
 * Thread safety: every function may be called from any worker thread;
 * libseccomp itself is used under one lock, and the default program is
 * compiled once and copied out.
 */
#ifndef CRADLE_SECCOMP_H
#define CRADLE_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>

#include "proto/err.h"

/* Largest profile file read (bytes). */
#define SECCOMP_PROFILE_MAX (1u << 20)

/* A ready BPF program: the material of a struct sock_fprog.  filter is
 * malloc'd and owned; len is at most BPF_MAXINSNS.  A zeroed struct is
 * "no program" and may be passed to seccomp_prog_fini. */
struct seccomp_prog {
	struct sock_filter *filter;
	unsigned short len;
};

/* cradle's own default profile.  0, or <0 with err; nothing about it
 * depends on the caller, so a failure means no memory, or a libseccomp or
 * kernel this module does not expect. */
int seccomp_prog_runtime_default(struct seccomp_prog *out, struct cradle_err *err);

/* cradle's default profile as an OCI linux.seccomp object (json-c, the
 * caller's reference), for an OCI runtime: defaultAction SCMP_ACT_ERRNO
 * with defaultErrnoRet EPERM, the native architecture and its compat ones,
 * and syscalls[] from the same tables as seccomp_prog_runtime_default, in
 * the same order, so that compiling it as a Localhost profile gives the
 * same program byte for byte.  NULL with err (no memory, an architecture
 * without an OCI name). */
struct json_object;
struct json_object *seccomp_runtime_default_oci(struct cradle_err *err);

/* Compile the OCI seccomp JSON at path (absolute, a regular file of at
 * most SECCOMP_PROFILE_MAX bytes).  0, or <0 with err. */
int seccomp_prog_from_file(const char *path, struct seccomp_prog *out, struct cradle_err *err);

/* Free the program and zero the struct; zero-safe, idempotent. */
void seccomp_prog_fini(struct seccomp_prog *p);

/* Whether this kernel can load seccomp filters: PR_GET_SECCOMP works and
 * PR_SET_SECCOMP(SECCOMP_MODE_FILTER, NULL) fails with EFAULT (the pointer
 * is checked first, so nothing is loaded), as runc and containerd probe. */
bool seccomp_available(void);

#endif
