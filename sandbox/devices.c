/* devices.c - the sandbox's device rules, as v1 text and as a v2 eBPF
 * program.  See devices.h (DESIGN). */
#include "sandbox/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

/* runc's AllowedDevices, behind "deny all" (see cgroup.c's v1 writer). */
const struct dev_rule devices_default_rules[] = {
	{ 'c', DEV_ANY, DEV_ANY, DEV_ACC_MKNOD }, /* mknod of any node, no access */
	{ 'b', DEV_ANY, DEV_ANY, DEV_ACC_MKNOD },
	{ 'c', 1, 3, DEV_ACC_ALL },         /* null */
	{ 'c', 1, 5, DEV_ACC_ALL },         /* zero */
	{ 'c', 1, 7, DEV_ACC_ALL },         /* full */
	{ 'c', 1, 8, DEV_ACC_ALL },         /* random */
	{ 'c', 1, 9, DEV_ACC_ALL },         /* urandom */
	{ 'c', 5, 0, DEV_ACC_ALL },         /* tty */
	{ 'c', 5, 1, DEV_ACC_ALL },         /* console */
	{ 'c', 5, 2, DEV_ACC_ALL },         /* ptmx */
	{ 'c', 136, DEV_ANY, DEV_ACC_ALL }, /* the ptys */
	{ 'c', 10, 200, DEV_ACC_ALL },      /* net/tun */
};
const size_t devices_default_n = sizeof(devices_default_rules) / sizeof(devices_default_rules[0]);

void
devices_rule_text(const struct dev_rule *r, char *buf, size_t len)
{
	char maj[16] = "*", min[16] = "*", acc[4];
	size_t a = 0;

	if (r->major != DEV_ANY)
		snprintf(maj, sizeof(maj), "%d", r->major);
	if (r->minor != DEV_ANY)
		snprintf(min, sizeof(min), "%d", r->minor);
	if (r->acc & DEV_ACC_READ)
		acc[a++] = 'r';
	if (r->acc & DEV_ACC_WRITE)
		acc[a++] = 'w';
	if (r->acc & DEV_ACC_MKNOD)
		acc[a++] = 'm';
	acc[a] = '\0';
	snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, acc);
}

/* --- the program ------------------------------------------------------------ */

static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i;

	memset(&i, 0, sizeof(i));
	i.code = code;
	i.dst_reg = dst & 0xf;
	i.src_reg = src & 0xf;
	i.off = off;
	i.imm = imm;
	return i;
}

/* r_dst = *(u32 *)(r_src + off) */
#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
/* 32-bit ALU with an immediate (upper half zeroed) */
#define ALU32_K(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src) insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
/* if r_dst != imm goto pc + 1 + off (off patched once the block is known) */
#define JNE_K(dst, imm) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0 = 0, R1, R2, R3, R4, R5 };

int
devices_prog_build(const struct dev_rule *rules, size_t n, void *out, size_t max)
{
	struct bpf_insn *v = out;
	size_t k = 0;

#define PUT(i)                          \
	do {                            \
		if (k >= max)           \
			return -ENOSPC; \
		v[k++] = (i);           \
	} while (0)

	/* struct bpf_cgroup_dev_ctx { u32 access_type, major, minor; } in r1 */
	PUT(LDX_W(R2, R1, 0));
	PUT(MOV32_X(R3, R2));
	PUT(ALU32_K(BPF_AND, R2, 0xffff)); /* type */
	PUT(ALU32_K(BPF_RSH, R3, 16));     /* access */
	PUT(LDX_W(R4, R1, 4));             /* major */
	PUT(LDX_W(R5, R1, 8));             /* minor */
	for (size_t i = 0; i < n; i++) {
		const struct dev_rule *r = &rules[i];
		size_t jumps[4], nj = 0;
		int type = r->type == 'c'   ? BPF_DEVCG_DEV_CHAR
		           : r->type == 'b' ? BPF_DEVCG_DEV_BLOCK
		                            : 0;

		if (type == 0 || (r->acc & ~DEV_ACC_ALL) != 0 || r->acc == 0 ||
		    (r->major < 0 && r->major != DEV_ANY) || (r->minor < 0 && r->minor != DEV_ANY))
			return -EINVAL;
		jumps[nj++] = k;
		PUT(JNE_K(R2, type));
		if (r->acc != DEV_ACC_ALL) {
			/* access & ~allowed must be 0: r1 (the context is no
			 * longer needed) holds the bits the rule lacks */
			PUT(MOV32_X(R1, R3));
			PUT(ALU32_K(BPF_AND, R1, (int32_t)(~r->acc & DEV_ACC_ALL)));
			jumps[nj++] = k;
			PUT(JNE_K(R1, 0));
		}
		if (r->major != DEV_ANY) {
			jumps[nj++] = k;
			PUT(JNE_K(R4, r->major));
		}
		if (r->minor != DEV_ANY) {
			jumps[nj++] = k;
			PUT(JNE_K(R5, r->minor));
		}
		PUT(MOV64_K(R0, 1));
		PUT(EXIT());
		for (size_t j = 0; j < nj; j++) /* to the next rule's first insn */
			v[jumps[j]].off = (int16_t)(k - jumps[j] - 1);
	}
	PUT(MOV64_K(R0, 0));
	PUT(EXIT());
#undef PUT
	return (int)k;
}

static long
sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

/* The verifier log's last non-empty line, in place. */
static const char *
last_line(char *log)
{
	size_t l = strlen(log);

	while (l > 0 && (log[l - 1] == '\n' || log[l - 1] == ' '))
		log[--l] = '\0';
	char *nl = strrchr(log, '\n');
	return nl ? nl + 1 : log;
}

int
devices_prog_load(const struct dev_rule *rules, size_t n, struct cradle_err *err)
{
	size_t max = DEVICES_INSNS_MAX(n);
	struct bpf_insn *insns = calloc(max, sizeof(*insns));
	/* Only GPL-only helpers care about the license; the program calls
	 * no helper at all. */
	static const char license[] = "GPL";
	union bpf_attr a;
	int cnt, fd;

	if (insns == NULL)
		return cradle_err_nomem(err);
	if ((cnt = devices_prog_build(rules, n, insns, max)) < 0) {
		free(insns);
		return cradle_err_set(err, CRADLE_INTERNAL, "build the eBPF device program: %s",
		                      strerror(-cnt));
	}
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.expected_attach_type = BPF_CGROUP_DEVICE;
	a.insn_cnt = (uint32_t)cnt;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.license = (uint64_t)(uintptr_t)license;
	snprintf(a.prog_name, sizeof(a.prog_name), "%s", "cradle_devices");
	fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0) {
		int e = errno;
		/* again with the verifier's log, to say why */
		char *log = calloc(1, 65536);
		if (log != NULL && (e == EINVAL || e == EACCES)) {
			a.log_level = 1;
			a.log_size = 65536;
			a.log_buf = (uint64_t)(uintptr_t)log;
			int again = (int)sys_bpf(BPF_PROG_LOAD, &a);
			if (again >= 0)
				close(again);
		}
		const char *why = log != NULL && log[0] != '\0' ? last_line(log) : "";
		cradle_err_errno(err, e, "load the eBPF device program (%d instructions)%s%s", cnt,
		                 why[0] ? ": verifier: " : "", why);
		free(log);
		free(insns);
		return -1;
	}
	free(insns);
	return fd;
}

int
devices_prog_attach(int prog_fd, int cgroup_fd, const char *what, struct cradle_err *err)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgroup_fd;
	a.attach_bpf_fd = (uint32_t)prog_fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* every program on the path from the root must allow: a parent's own
	 * (systemd's, another manager's) keeps applying */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) != 0)
		return cradle_err_errno(err, errno,
		                        "attach the eBPF device program to cgroup \"%s\"", what);
	return 0;
}

uint32_t
devices_prog_id(int prog_fd)
{
	struct bpf_prog_info info;
	union bpf_attr a;

	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)prog_fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) != 0)
		return 0;
	return info.id;
}

int
devices_prog_query(int cgroup_fd, uint32_t *ids, size_t max)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cgroup_fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)ids;
	a.query.prog_cnt = (uint32_t)max;
	if (sys_bpf(BPF_PROG_QUERY, &a) != 0)
		return -errno;
	return (int)a.query.prog_cnt;
}
