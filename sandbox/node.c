/* node.c - detect what this node allows and log each choice once. */
#include "sandbox/node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/devices.h"
#include "sandbox/seccomp.h"
#include "sandbox/selinux.h"
#include "util/fs.h"
#include "util/log.h"

static bool
has_effective_cap(cap_value_t cap)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps == NULL)
		return false;
	cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
}

/* The initial user namespace maps every id onto itself. */
static bool
in_user_namespace(void)
{
	char buf[128];
	unsigned long a = 0, b = 0, len = 0;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (f == NULL)
		return false;
	bool init = fgets(buf, sizeof(buf), f) != NULL &&
	            sscanf(buf, "%lu %lu %lu", &a, &b, &len) == 3 && a == 0 && b == 0 &&
	            len == 4294967295ul;
	fclose(f);
	return !init;
}

int
node_detect(const struct node_opts *o, struct node *n, struct cradle_err *err)
{
	struct node_config *c = &n->cfg;

	memset(n, 0, sizeof(*n));
	char buf[32];
	ssize_t len;

	c->cgroup_root = o->cgroup_root;
	c->enable_unprivileged_ports = o->enable_unprivileged_ports;
	c->enable_unprivileged_icmp = o->enable_unprivileged_icmp;
	c->restrict_oom_score_adj = o->restrict_oom_score_adj;
	if ((len = fs_read("/proc/self/oom_score_adj", buf, sizeof(buf))) <= 0)
		return cradle_err_errno(err, len < 0 ? (int)-len : EIO,
		                        "read /proc/self/oom_score_adj");
	c->daemon_oom_score_adj = atoi(buf);
	if (!has_effective_cap(CAP_SYS_RESOURCE) && !c->restrict_oom_score_adj) {
		/* The kernel refuses a negative oom_score_adj without it; the
		 * reference's own answer to that is restrict_oom_score_adj. */
		c->restrict_oom_score_adj = true;
		log_info(
			"no CAP_SYS_RESOURCE: sandboxes get oom_score_adj %d (the daemon's own) instead "
			"of -998, as restrict_oom_score_adj does",
			c->daemon_oom_score_adj > -998 ? c->daemon_oom_score_adj : -998);
	}
	c->daemon_in_userns = in_user_namespace();
	if (c->daemon_in_userns)
		log_info("running in a user namespace: no default ping_group_range sysctl");
	c->seccomp_available = seccomp_available();
	if (!c->seccomp_available)
		log_info("seccomp filters are not available: only Unconfined sandboxes can start");

	if (cgroup_detect(&n->cgroups, err) < 0)
		return -1;
	c->cgroup_layout = cgroup_layout_of(n->cgroups);
	log_info("cgroups: %s", cgroup_describe(n->cgroups));
	if (cgroup_devices_prog(n->cgroups) >= 0)
		log_info("device control: eBPF device program (id %u) on each sandbox's cgroup v2",
		         devices_prog_id(cgroup_devices_prog(n->cgroups)));
	else if (cgroup_v1_mount(n->cgroups, "devices") != NULL)
		log_info("device control: the v1 devices controller");
	else
		log_warn("device control: none (no v1 devices controller, no cgroup2): sandboxes "
		         "may open any device node they can make");

	const struct selinux_cfg *sc = &o->selinux;
	if (selinux_labels_init(sc, &n->selinux, err) < 0)
		return -1;
	n->selinux_apply = sc->enable && selinux_apply_enabled();
	log_info("selinux: labels %s, %s", sc->enable ? "allocated" : "disabled by config",
	         n->selinux_apply ? "applied"
	                          : "not applied (SELinux is not enabled on this node)");
	return 0;
}

void
node_fini(struct node *n)
{
	cgroup_sys_free(n->cgroups);
	selinux_labels_fini(n->selinux);
	memset(n, 0, sizeof(*n));
}
