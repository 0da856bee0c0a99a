/* node.h - what this node allows, detected once at start-up.
 *
 * Nodes differ, and cradle adapts instead of failing: the cgroup layout
 * (v1, v2 or hybrid), whether the daemon holds CAP_SYS_RESOURCE (without
 * it a negative oom_score_adj is refused by the kernel, so the reference's
 * restrict_oom_score_adj rule is applied automatically), whether seccomp
 * filters are available, whether the daemon itself runs in a user
 * namespace, and SELinux.  Each choice is logged once.
 */
#ifndef CRADLE_SANDBOX_NODE_H
#define CRADLE_SANDBOX_NODE_H

#include "proto/err.h"
#include "sandbox/selinux.h"
#include "sandbox/types.h"

struct cgroup_sys;

struct node {
	struct node_config cfg; /* fed to spec_build */
	struct cgroup_sys *cgroups;
	struct selinux_labels *selinux;
	bool selinux_apply; /* labels are written only where enabled */
};

/* What the daemon's configuration asks for; strings must outlive n. */
struct node_opts {
	const char *cgroup_root; /* default cgroup parent, e.g. "/k8s.io" */
	bool restrict_oom_score_adj;
	bool enable_unprivileged_ports;
	bool enable_unprivileged_icmp;
	struct selinux_cfg selinux;
};

int node_detect(const struct node_opts *o, struct node *n, struct cradle_err *err);
void node_fini(struct node *n);

#endif
