/* types.h - the types the sandbox library shares with the layers above:
 * what an image says (struct image_config, filled by image/), which
 * runtime handlers the node has (struct runtime_config, a runtime_set
 * view of them), and what the node allows (struct node_config, the
 * cgroup layout).  Plain data with their fini functions; nothing here
 * touches the system.
 */
#ifndef CRADLE_SANDBOX_TYPES_H
#define CRADLE_SANDBOX_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/proto.h"

/* The image's config (OCI image config "config" object) and the files the
 * user lookup needs.  Owned strings; NULL/0 when absent. */
struct image_config {
	struct proto_strs entrypoint;
	struct proto_strs cmd;
	struct proto_strs env; /* "K=V" */
	char *working_dir;
	char *user; /* "uid", "name", "uid:gid", "name:group" ... */
	struct proto_kvs labels;
	char *etc_passwd; /* contents of the image's /etc/passwd, or NULL */
	char *etc_group;  /* contents of the image's /etc/group, or NULL */
};
/* Free what ic owns and zero it; NULL-safe. */
void image_config_fini(struct image_config *ic);

/* A configured runtime handler ([runtime.NAME]). */
struct runtime_config {
	char *name;                        /* the handler name, e.g. "runc", "untrusted" */
	char *type;                        /* e.g. "io.containerd.runc.v2" (informational) */
	char *path;                        /* the OCI runtime binary (launcher oci) */
	struct proto_strs pod_annotations; /* glob patterns (fnmatch, as Go path.Match) */
	bool vm;                           /* VM-isolated: SELinux KVM type */
	char *seccomp_default;             /* profile when the pod sets none: "" (none),
	                                      "runtime/default", "unconfined", "localhost/PATH" */
	char *launcher;                    /* "" or "native": cradled's own; "oci": path */
	char *root;                        /* oci: the runtime's --root; "": <state>/runtime/NAME */
	bool no_pivot_root;                /* oci: --no-pivot */
	bool systemd_cgroup;               /* oci: --systemd-cgroup */
};
/* Free what rt owns and zero it; NULL-safe. */
void runtime_config_fini(struct runtime_config *rt);

/* The handlers a node offers: a view of an array owned elsewhere (the
 * daemon configuration), with the handler a request that names none gets. */
struct runtime_set {
	const struct runtime_config *v;
	size_t n;
	const char *default_name;
};

enum cgroup_layout { CGROUP_V1 = 1, CGROUP_V2 = 2, CGROUP_HYBRID = 3 };

/* What the node (cradled's config + what was detected at start-up) says. */
struct node_config {
	bool restrict_oom_score_adj; /* configured, or forced when the daemon
	                                lacks CAP_SYS_RESOURCE */
	int daemon_oom_score_adj;    /* /proc/self/oom_score_adj at start-up */
	bool enable_unprivileged_ports;
	bool enable_unprivileged_icmp;
	bool daemon_in_userns;            /* cradled runs in a user namespace */
	const char *cgroup_root;          /* default parent when cgroup_parent is empty,
	                                     e.g. "/k8s.io" (cgroups path "<root>/<id>") */
	enum cgroup_layout cgroup_layout; /* decides cpu.shares vs cpu.weight */
	bool seccomp_available;           /* prctl(PR_SET_SECCOMP) is supported */
};

#endif
