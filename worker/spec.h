/* spec.h - the sandbox spec, as the reference builds it (REFERENCE §2).
 *
 * spec_build is a pure function of (pod config, image config, runtime
 * handler, node config, a few per-sandbox facts): it touches no file, mount
 * or process, allocates nothing but the spec, and is unit-tested rule by
 * rule (tests/unit/test_spec.c).  Errors are INVALID_ARGUMENT (or
 * FAILED_PRECONDITION where the node cannot do it) with the reference's
 * texts, named in the comments below.
 *
 * What is not pure lives elsewhere and feeds in through spec_input:
 * SELinux labels are allocated and reserved by worker/selinux.c; the
 * seccomp profile named here is compiled to BPF by worker/seccomp.c; the
 * cgroup named here is created by worker/cgroup.c; worker/launch.c applies
 * the result in the child.
 */
#ifndef CRADLE_SPEC_H
#define CRADLE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/err.h"
#include "../proto/proto.h"

/* The image's config (OCI image config "config" object) and the files the
 * user lookup needs.  Owned strings; NULL/0 when absent. */
struct image_config {
	struct proto_strs entrypoint;
	struct proto_strs cmd;
	struct proto_strs env;          /* "K=V" */
	char *working_dir;
	char *user;                     /* "uid", "name", "uid:gid", "name:group" ... */
	struct proto_kvs labels;
	char *etc_passwd;               /* contents of the image's /etc/passwd, or NULL */
	char *etc_group;                /* contents of the image's /etc/group, or NULL */
};
void image_config_fini(struct image_config *ic);

/* A configured runtime handler ([runtime.NAME]). */
struct runtime_config {
	char *name;                     /* the handler name, e.g. "runc", "untrusted" */
	char *type;                     /* e.g. "io.containerd.runc.v2" (informational) */
	char *path;                     /* optional runtime binary path (informational) */
	struct proto_strs pod_annotations; /* glob patterns (fnmatch, as Go path.Match) */
	bool vm;                        /* VM-isolated: SELinux KVM type */
	char *seccomp_default;          /* profile when the pod sets none: "" (none),
	                                   "runtime/default", "unconfined", "localhost/PATH" */
};

enum cgroup_layout { CGROUP_V1 = 1, CGROUP_V2 = 2, CGROUP_HYBRID = 3 };

/* What the node (cradled's config + what was detected at start-up) says. */
struct node_config {
	bool restrict_oom_score_adj;    /* configured, or forced when the daemon
	                                   lacks CAP_SYS_RESOURCE */
	int daemon_oom_score_adj;       /* /proc/self/oom_score_adj at start-up */
	bool enable_unprivileged_ports;
	bool enable_unprivileged_icmp;
	bool daemon_in_userns;          /* cradled runs in a user namespace */
	const char *cgroup_root;        /* default parent when cgroup_parent is empty,
	                                   e.g. "/k8s.io" (cgroups path "<root>/<id>") */
	enum cgroup_layout cgroup_layout; /* decides cpu.shares vs cpu.weight */
	bool seccomp_available;         /* prctl(PR_SET_SECCOMP) is supported */
};

/* Per-sandbox facts the builder needs; paths are host paths. */
struct spec_input {
	const char *id;                 /* 64 hex */
	const struct pod_config *pod;
	const struct image_config *image;
	const struct runtime_config *runtime;
	const struct node_config *node;
	const char *netns_path;         /* pinned netns, NULL for network NODE */
	const char *shm_path;           /* host dir of the sandbox's shm tmpfs; NULL for ipc NODE */
	const char *resolv_conf_path;   /* the sandbox's resolv.conf */
	const char *process_label;      /* from worker/selinux.c; NULL or "" when none */
	const char *mount_label;
};

struct spec_mount {
	char *destination;              /* absolute, inside the sandbox */
	char *type;                     /* "proc", "tmpfs", "devpts", "mqueue", "sysfs", "bind" */
	char *source;
	struct proto_strs options;      /* OCI-style: "nosuid", "ro", "rbind", "mode=755", ... */
};

struct spec_idmap {
	uint32_t container_id, host_id, length;
};

enum spec_seccomp { SECCOMP_UNCONFINED = 0, SECCOMP_RUNTIME_DEFAULT = 1, SECCOMP_LOCALHOST = 2 };

#define SPEC_CAP_WORDS 1            /* capabilities as one 64-bit mask (CAP_LAST_CAP < 64) */

struct sandbox_spec {
	/* process (§2.1) */
	struct proto_strs args;
	struct proto_strs env;
	char *cwd;
	uint32_t uid, gid;
	gid_t *additional_gids;         /* sorted, unique */
	size_t n_additional_gids;
	bool no_new_privs;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int oom_score_adj;
	char *selinux_process_label;    /* NULL: none (privileged, or SELinux off) */
	char *selinux_mount_label;
	char *hostname;                 /* NULL when UTS is the host's */
	bool rootfs_readonly;

	/* namespaces (§2.2): true = new namespace */
	bool ns_net, ns_pid, ns_ipc, ns_uts, ns_mnt, ns_user;
	char *netns_path;               /* when ns_net: the pinned netns to use */
	struct spec_idmap uid_map, gid_map; /* when ns_user */

	/* filesystem (§2.3-2.4) */
	struct spec_mount *mounts;
	size_t n_mounts;
	struct proto_strs masked_paths;
	struct proto_strs readonly_paths;
	bool devices_deny_all;

	/* sysctls (§2.5), validated */
	struct proto_kvs sysctls;

	/* cgroups (§2.6) */
	char *cgroups_path;             /* "<parent>/<id>" or "<slice>:cri-containerd:<id>" */
	uint64_t cpu_shares;            /* 2; on cgroup v2 written as cpu.weight */

	/* annotations (§2.7) and labels (§5.1) */
	struct proto_kvs annotations;
	struct proto_kvs labels;

	/* seccomp (§2.8): what to load; compiled by worker/seccomp.c */
	int seccomp;                    /* enum spec_seccomp */
	char *seccomp_profile;          /* SECCOMP_LOCALHOST: the JSON file's path */
};

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
