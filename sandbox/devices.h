/* devices.h - which device nodes a sandbox may use, on cgroup v1 and v2.
 *
 * DESIGN
 *
 * One rule list.  A sandbox's spec denies every device ("a" in the v1
 * devices.deny, populateDefaultUnixSpec); the runtime then allows what
 * every container's /dev holds (runc's AllowedDevices): mknod of any
 * node, and read/write/mknod of null, zero, full, random, urandom, tty,
 * console, ptmx, the ptys (136:*) and tun (10:200).  devices_default_rules
 * is that list; the v1 writer (cgroup.c: "a" to devices.deny, then each
 * rule's text to devices.allow) and the v2 program below are made from it,
 * so the two layouts cannot drift apart.
 *
 * cgroup v2 has no devices controller files: the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the task's cgroup (and
 * to each ancestor's: with BPF_F_ALLOW_MULTI every one must allow).  The
 * program is built here, as runc's devicefilter does, without libbpf:
 *   r2 = ctx->access_type & 0xffff   (device type: 1 block, 2 char)
 *   r3 = ctx->access_type >> 16      (access: 1 mknod, 2 read, 4 write)
 *   r4 = ctx->major, r5 = ctx->minor
 *   per rule:  type differs, access not a subset of the rule's, major or
 *              minor differs (unless a wildcard) -> next rule;
 *              else return 1 (allow)
 *   return 0 (deny: the syscall fails with EPERM)
 * First match wins, which is the v1 semantics for an allow list behind a
 * "deny all" (an access is allowed when one rule covers all of it).
 *
 * Loading and attaching.  devices_prog_load makes the program with a raw
 * bpf(BPF_PROG_LOAD) (named "cradle_devices"; the verifier's log is in the
 * error when it is refused).  One loaded program serves every sandbox:
 * cgroup.c loads it once at detection on a pure v2 node and attaches it to
 * each sandbox's leaf with bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE,
 * BPF_F_ALLOW_MULTI) before any task is in it (the pause is born there with
 * CLONE_INTO_CGROUP).  The attachment holds its own reference: nothing is
 * kept per sandbox, and when the leaf is removed the kernel detaches the
 * program with the cgroup.  A node whose kernel or configuration refuses
 * the program (no CONFIG_CGROUP_BPF, no CAP_SYS_ADMIN/CAP_BPF, a daemon in
 * a user namespace) fails detection with a message saying so: a sandbox
 * without device control is never started.
 */
#ifndef CRADLE_SANDBOX_DEVICES_H
#define CRADLE_SANDBOX_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

/* Access bits, the kernel's BPF_DEVCG_ACC_* values. */
#define DEV_ACC_MKNOD 1u
#define DEV_ACC_READ 2u
#define DEV_ACC_WRITE 4u
#define DEV_ACC_ALL (DEV_ACC_MKNOD | DEV_ACC_READ | DEV_ACC_WRITE)
#define DEV_ANY (-1) /* a wildcard major or minor */

struct dev_rule {
	char type;    /* 'c' or 'b' */
	int major;    /* DEV_ANY or 0.. */
	int minor;    /* DEV_ANY or 0.. */
	unsigned acc; /* DEV_ACC_* bits */
};

/* What every sandbox may use, behind "deny all". */
extern const struct dev_rule devices_default_rules[];
extern const size_t devices_default_n;

/* The v1 devices.allow line of r, e.g. "c 1:3 rwm", "c 136:* rwm". */
void devices_rule_text(const struct dev_rule *r, char *buf, size_t len);

/* The program's instructions (struct bpf_insn, 8 bytes each) for rules:
 * the number written, or -ENOSPC when max is too small, -EINVAL for a bad
 * rule.  Exposed for the tests (and to size the buffer: at most
 * DEVICES_INSNS_MAX(n)). */
#define DEVICES_INSNS_MAX(n) (8 + 9 * (n))
int devices_prog_build(const struct dev_rule *rules, size_t n, void *insns, size_t max);

/* Load the program for rules; a CLOEXEC fd, or <0 with err (the errno of
 * bpf(2) and, when the verifier refused it, its log). */
int devices_prog_load(const struct dev_rule *rules, size_t n, struct cradle_err *err);

/* Attach prog_fd to the cgroup v2 directory cgroup_fd (an fd opened
 * O_RDONLY|O_DIRECTORY; O_PATH is refused by the kernel) with
 * BPF_F_ALLOW_MULTI.  what names the cgroup in the error. */
int devices_prog_attach(int prog_fd, int cgroup_fd, const char *what, struct cradle_err *err);

/* The kernel's id of the loaded program prog_fd (for tests and logs), or 0. */
uint32_t devices_prog_id(int prog_fd);

/* How many BPF_CGROUP_DEVICE programs are attached to cgroup_fd itself
 * (BPF_PROG_QUERY), ids copied into ids (up to max); <0 -errno. */
int devices_prog_query(int cgroup_fd, uint32_t *ids, size_t max);

#endif
