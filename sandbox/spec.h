/* spec.h - the sandbox spec, as containerd's sandboxContainerSpec builds it
 * (pkg/cri/sbserver/podsandbox/sandbox_run_linux.go).
 *
 * spec_build is a pure function of (pod config, image config, runtime
 * handler, node config, a few per-sandbox facts): it touches no file, mount
 * or process, allocates nothing but the spec, and is unit-tested rule by
 * rule (tests/unit/test_spec.c).  Errors are INVALID_ARGUMENT (or
 * FAILED_PRECONDITION where the node cannot do it) with the reference's
 * texts, named in the comments below.
 *
 * What is not pure lives elsewhere and feeds in through spec_input:
 * SELinux labels are allocated and reserved by sandbox/selinux.c; the
 * seccomp profile named here is compiled to BPF by sandbox/seccomp.c; the
 * cgroup named here is created by sandbox/cgroup.c; sandbox/launch.c applies
 * the result in the child.
 */
#ifndef CRADLE_SPEC_H
#define CRADLE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "proto/proto.h"
#include "sandbox/types.h"

/* Per-sandbox facts the builder needs; paths are host paths. */
struct spec_input {
	const char *id; /* 64 hex */
	const struct pod_config *pod;
	const struct image_config *image;
	const struct runtime_config *runtime;
	const struct node_config *node;
	const char *netns_path;       /* pinned netns, NULL for network NODE */
	const char *shm_path;         /* host dir of the sandbox's shm tmpfs; NULL for ipc NODE */
	const char *resolv_conf_path; /* the sandbox's resolv.conf */
	const char *process_label;    /* from sandbox/selinux.c; NULL or "" when none */
	const char *mount_label;
};

struct spec_mount {
	char *destination; /* absolute, inside the sandbox */
	char *type;        /* "proc", "tmpfs", "devpts", "mqueue", "sysfs", "bind" */
	char *source;
	struct proto_strs options; /* OCI-style: "nosuid", "ro", "rbind", "mode=755", ... */
};

struct spec_idmap {
	uint32_t container_id, host_id, length;
};

enum spec_seccomp { SECCOMP_UNCONFINED = 0, SECCOMP_RUNTIME_DEFAULT = 1, SECCOMP_LOCALHOST = 2 };

#define SPEC_CAP_WORDS 1 /* capabilities as one 64-bit mask (CAP_LAST_CAP < 64) */

struct sandbox_spec {
	/* process */
	struct proto_strs args;
	struct proto_strs env;
	char *cwd;
	uint32_t uid, gid;
	gid_t *additional_gids; /* sorted, unique */
	size_t n_additional_gids;
	bool no_new_privs;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int oom_score_adj;
	char *selinux_process_label; /* NULL: none (privileged, or SELinux off) */
	char *selinux_mount_label;
	char *hostname; /* NULL when UTS is the host's */
	bool rootfs_readonly;

	/* namespaces: true = new namespace */
	bool ns_net, ns_pid, ns_ipc, ns_uts, ns_mnt, ns_user;
	char *netns_path;                   /* when ns_net: the pinned netns to use */
	struct spec_idmap uid_map, gid_map; /* when ns_user */

	/* filesystem */
	struct spec_mount *mounts;
	size_t n_mounts;
	struct proto_strs masked_paths;
	struct proto_strs readonly_paths;
	bool devices_deny_all;

	/* sysctls, validated */
	struct proto_kvs sysctls;

	/* cgroups */
	char *cgroups_path;  /* "<parent>/<id>" or "<slice>:cri-containerd:<id>" */
	uint64_t cpu_shares; /* 2; on cgroup v2 written as cpu.weight */

	/* annotations and labels */
	struct proto_kvs annotations;
	struct proto_kvs labels;

	/* seccomp: what to load; compiled by sandbox/seccomp.c */
	int seccomp;           /* enum spec_seccomp */
	char *seccomp_profile; /* SECCOMP_LOCALHOST: the JSON file's path */
};

/* 0, or <0 with err and out zeroed: SPEC_ERR_OPTS when the error is the
 * seccomp profile's, which the reference finds in sandboxContainerSpecOpts
 * (wrapped "failed to generate seccomp spec opts": the caller wraps it as
 * spec options, not as the spec), -1 for any other. */
#define SPEC_ERR_OPTS (-2)
int spec_build(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err);
void spec_fini(struct sandbox_spec *s);

/* The pieces, exposed for their unit tests. */
/* "uid", "uid:gid" from run_as_user/run_as_group; "" when neither.
 * Error: user group "<g>" is specified without user. */
int spec_user_string(const struct pod_config *pod, char *buf, size_t len, struct cradle_err *err);
/* Resolve a user string against the image's passwd/group (WithUser). */
int spec_resolve_user(const char *user, const struct image_config *image, uint32_t *uid,
                      uint32_t *gid, struct cradle_err *err);
/* cgroups path from cgroup_parent and id (getCgroupsPath). malloc'd. */
char *spec_cgroups_path(const char *parent, const char *default_parent, const char *id);
/* A sysctl the node can apply for this pod, or INVALID_ARGUMENT naming it. */
int spec_check_sysctl(const char *key, bool host_net, bool host_ipc, struct cradle_err *err);
/* The reference's 14 default capabilities as a mask. */
uint64_t spec_default_caps(void);

#endif
