/* node.h - what this node allows, detected once at start-up.
 *
 * Nodes differ, and cradle adapts instead of failing: the cgroup layout
 * (v1, v2 or hybrid), whether the daemon holds CAP_SYS_RESOURCE (without
 * it a negative oom_score_adj is refused by the kernel, so the reference's
 * restrict_oom_score_adj rule is applied automatically), whether seccomp
 * filters are available, whether the daemon itself runs in a user
 * namespace, and SELinux.  Each choice is logged once.
 */
#ifndef CRADLE_NODE_H
#define CRADLE_NODE_H

#include "../proto/err.h"
#include "../worker/spec.h"

struct daemon;
struct cgroup_sys;
struct selinux_labels;

struct node {
	struct node_config cfg;          /* fed to spec_build */
	struct cgroup_sys *cgroups;
	struct selinux_labels *selinux;
	bool selinux_apply;              /* labels are written only where enabled */
};

int node_detect(struct daemon *d, struct node *n, struct cradle_err *err);
void node_fini(struct node *n);

#endif
