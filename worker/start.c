/* start.c - the start pipeline with its undo stack. */
#include "worker/start.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/reaper.h"
#include "core/records.h"
#include "image/images.h"
#include "sandbox/bundle.h"
#include "sandbox/cgroup.h"
#include "sandbox/files.h"
#include "sandbox/netns.h"
#include "sandbox/nri.h"
#include "sandbox/ocirun.h"
#include "sandbox/plan.h"
#include "sandbox/runtime.h"
#include "sandbox/sdscope.h"
#include "sandbox/seccomp.h"
#include "sandbox/selinux.h"
#include "sandbox/spec.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sys.h"
#include "worker/net.h"

struct start_ctx {
	const struct worker_env *env;
	struct sandbox *sb;
	struct launch_stack *ls;
	const char *handler;
	const struct runtime_config *runtime;
	char root_dir[FS_PATH_MAX];
	char state_dir[FS_PATH_MAX];
	char shm_dir[FS_PATH_MAX];
	char resolv_path[FS_PATH_MAX];
	char netns_path[FS_PATH_MAX];
	char cni_cache[FS_PATH_MAX]; /* "": no ADD done */
	struct cni_result cni;
	bool shm_mounted;
	char *process_label, *mount_label;
	struct image_rootfs rootfs;   /* the image's layers and config */
	char rootfs_dir[FS_PATH_MAX]; /* mount point in the volatile dir */
	char *overlay_opts;
	struct sandbox_spec spec;
	bool have_spec;
	struct seccomp_prog prog;
	struct sock_fprog fprog;
	struct cgroup *cgroup;
	/* systemd_cgroup (sandbox/sdscope.h): the scope unit, "" none */
	char scope[SDSCOPE_NAME_MAX];
	struct launch_prep prep;
	struct launch_plan plan;
	pid_t task_pid; /* the task the launch made, for NRI delete */
	/* launcher = oci (sandbox/ocirun.h): the runtime, whether its
	 * container exists, whether the rootfs overlay is mounted for it */
	struct ocirun oci;
	bool oci_created, oci_rootfs;
	const char *fail; /* the test hook's step to fail, NULL: none */
};

static const struct pod_config *
pod(const struct start_ctx *c)
{
	return &c->sb->rec.config;
}

/* Points inside steps where tests fail a start ($CRADLE_FAIL_STEP, as a
 * step's name; "random:P" draws them too): the step takes the error path
 * the call at that point would take, with what it made so far. */
static const char *const inside_points[] = {
	"volatile-root-dir:made", /* the dir made, the paths in it not yet */
	"cgroup:intent",          /* the intent file written, no cgroup yet */
	"launch:prepared",        /* the plan and cgroup fds ready, no task */
};
#define N_INSIDE (sizeof(inside_points) / sizeof(inside_points[0]))

static bool
inside(const struct start_ctx *c, const char *point, struct cradle_err *err)
{
	/* "crash:POINT": the daemon dies (SIGKILL) there */
	if (c->fail != NULL && strncmp(c->fail, "crash:", 6) == 0 &&
	    strcmp(c->fail + 6, point) == 0)
		raise(SIGKILL);
	if (c->fail == NULL || strcmp(c->fail, point) != 0)
		return false;
	cradle_err_set(err, CRADLE_INTERNAL, "injected failure inside step %s", point);
	return true;
}

static int
step_runtime(struct start_ctx *c, struct cradle_err *err)
{
	if (runtime_select(&c->env->runtimes, pod(c), c->sb->rec.runtime_handler, &c->runtime,
	                   err) < 0) {
		cradle_err_wrap(err, "failed to get sandbox runtime");
		return -1;
	}
	return 0;
}

/* Controller.Start: the sandbox image must be present, pulled when not
 * (EnsureImageExists). */
static int
step_image(struct start_ctx *c, struct cradle_err *err)
{
	const char *ref = c->env->image;

	if (images_use(c->env->images, ref, &c->rootfs, err) < 0) {
		cradle_err_wrap(err, "failed to get sandbox image \"%s\"", ref);
		return -1;
	}
	/* the record names what the use pinned: remove and recovery
	 * release and hold exactly that (images_release, images_hold) */
	free(c->sb->rec.image_digest);
	if ((c->sb->rec.image_digest = strdup(c->rootfs.manifest_digest)) == NULL) {
		images_release(c->env->images, ref, c->rootfs.manifest_digest);
		return cradle_err_nomem(err);
	}
	return 0;
}

static int
undo_image(struct start_ctx *c, struct cradle_err *err)
{
	(void)err;
	images_release(c->env->images, c->env->image, c->rootfs.manifest_digest);
	free(c->sb->rec.image_digest);
	c->sb->rec.image_digest = NULL;
	return 0;
}

/* dir = <base>/sandboxes/<id>, made afresh: a start cut short by a crash
 * may have left one behind.  what names it in the error. */
static int
make_sandbox_dir(struct start_ctx *c, char dir[FS_PATH_MAX], const char *base, const char *what,
                 struct cradle_err *err)
{
	if (fs_path(dir, err, "%s/sandboxes/%s", base, c->sb->id) < 0)
		return -1;
	fs_rmtree(dir);
	if (mkdir(dir, 0700) != 0)
		return cradle_err_errno(err, errno, "failed to create %s \"%s\"", what, dir);
	return 0;
}

static int
step_root_dir(struct start_ctx *c, struct cradle_err *err)
{
	return make_sandbox_dir(c, c->root_dir, c->env->root, "sandbox root directory", err);
}

/* Remove a directory tree the start made. */
static int
undo_tree(const char *dir, struct cradle_err *err)
{
	int rc = fs_rmtree(dir);

	return rc < 0 ? cradle_err_errno(err, -rc, "remove \"%s\"", dir) : 0;
}

static int
undo_root_dir(struct start_ctx *c, struct cradle_err *err)
{
	return undo_tree(c->root_dir, err);
}

static int
step_state_dir(struct start_ctx *c, struct cradle_err *err)
{
	if (make_sandbox_dir(c, c->state_dir, c->env->state, "volatile sandbox root directory",
	                     err) < 0)
		return -1;
	/* not in state_dir: see files_setup_shm.  A failed step has no undo
	 * to run: the dir it made goes here. */
	if (inside(c, "volatile-root-dir:made", err) ||
	    fs_path(c->shm_dir, err, "%s/shm/%s", c->env->state, c->sb->id) < 0 ||
	    fs_path(c->resolv_path, err, "%s/resolv.conf", c->state_dir) < 0) {
		fs_rmtree(c->state_dir);
		return -1;
	}
	return 0;
}

/* The rootfs: a read-only overlay of cradle's mount-point skeleton over the
 * image's layers, mounted by the child in its own mount namespace on an
 * empty directory here; no per-sandbox mount lands in the host's table. */
static int
step_rootfs(struct start_ctx *c, struct cradle_err *err)
{
	size_t len = strlen("lowerdir=") + strlen(c->env->skeleton) + 1;
	for (size_t i = 0; i < c->rootfs.n_layers; i++)
		len += strlen(c->rootfs.layer_dirs[i]) + 1;
	if (len > 4000)
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "image \"%s\" has too many layers for one overlay mount",
		                      c->env->image);
	if ((c->overlay_opts = malloc(len + 1)) == NULL)
		return cradle_err_nomem(err);
	strcpy(c->overlay_opts, "lowerdir=");
	strcat(c->overlay_opts, c->env->skeleton);
	for (size_t i = 0; i < c->rootfs.n_layers; i++) {
		strcat(c->overlay_opts, ":");
		strcat(c->overlay_opts, c->rootfs.layer_dirs[i]);
	}
	if (fs_path(c->rootfs_dir, err, "%s/rootfs", c->state_dir) < 0)
		return -1;
	if (mkdir(c->rootfs_dir, 0755) != 0)
		return cradle_err_errno(err, errno, "failed to create sandbox rootfs \"%s\"",
		                        c->rootfs_dir);
	return 0;
}

static int
undo_state_dir(struct start_ctx *c, struct cradle_err *err)
{
	return undo_tree(c->state_dir, err);
}

static int
step_files(struct start_ctx *c, struct cradle_err *err)
{
	if (files_setup_sandbox(c->state_dir, pod(c), c->env->host_resolv_conf, err) < 0) {
		cradle_err_wrap(err, "failed to setup sandbox files");
		return -1;
	}
	return 0;
}

/* setupSandboxFiles: the pod's /dev/shm, at <state>/shm/<id>
 * (sandbox/files.h). */
static int
step_shm(struct start_ctx *c, struct cradle_err *err)
{
	if (files_setup_shm(c->shm_dir, pod(c), c->env->shm_size, &c->shm_mounted, err) < 0) {
		cradle_err_wrap(err, "failed to setup sandbox files");
		return -1;
	}
	return 0;
}

static int
undo_shm(struct start_ctx *c, struct cradle_err *err)
{
	int rc;

	if (!c->shm_mounted)
		return 0;
	c->shm_mounted = false;
	if ((rc = files_remove_shm(c->shm_dir)) < 0)
		return cradle_err_errno(err, -rc, "remove sandbox shm \"%s\"", c->shm_dir);
	return 0;
}

static int
step_selinux(struct start_ctx *c, struct cradle_err *err)
{
	/* the reference records the label as allocated (metadata.ProcessLabel,
	 * the selinux_label return label) and gives a VM runtime's spec the
	 * KVM-typed one (step_spec) */
	if (selinux_labels_alloc(c->env->node->selinux, pod(c), false, &c->process_label,
	                         &c->mount_label, err) < 0) {
		cradle_err_wrap(err, "failed to generate sandbox container spec");
		return -1;
	}
	return 0;
}

static int
undo_selinux(struct start_ctx *c, struct cradle_err *err)
{
	(void)err;
	selinux_labels_release(c->env->node->selinux, c->process_label);
	return 0;
}

static int
step_spec(struct start_ctx *c, struct cradle_err *err)
{
	struct spec_input in = {
		.id = c->sb->id,
		.pod = pod(c),
		.image = &c->rootfs.config,
		.runtime = c->runtime,
		.node = &c->env->node->cfg,
		.netns_path = NULL,
		.shm_path = c->shm_mounted ? c->shm_dir : NULL,
		.resolv_conf_path = c->resolv_path,
		.process_label = c->process_label,
		.mount_label = c->mount_label,
	};
	int rc = spec_build(&in, &c->spec, err);
	if (rc < 0) {
		cradle_err_wrap(err, rc == SPEC_ERR_OPTS
		                             ? "failed to generate sandbox container spec options"
		                             : "failed to generate sandbox container spec");
		return -1;
	}
	c->have_spec = true;
	/* after the spec, as the reference's Start (modifyProcessLabel): a
	 * privileged pod's spec has no label left to change */
	if (c->runtime->vm && c->spec.selinux_process_label != NULL) {
		char *kvm;
		if (selinux_labels_to_kvm(c->env->node->selinux, c->spec.selinux_process_label,
		                          &kvm, err) < 0)
			return -1;
		free(c->spec.selinux_process_label);
		c->spec.selinux_process_label = kvm;
		if (kvm[0] == '\0') {
			free(kvm);
			c->spec.selinux_process_label = NULL;
		}
	}
	return 0;
}

static int
step_seccomp(struct start_ctx *c, struct cradle_err *err)
{
	int rc = 0;

	switch (c->spec.seccomp) {
	case SECCOMP_RUNTIME_DEFAULT:
		rc = seccomp_prog_runtime_default(&c->prog, err);
		break;
	case SECCOMP_LOCALHOST:
		rc = seccomp_prog_from_file(c->spec.seccomp_profile, &c->prog, err);
		break;
	default:
		return 0;
	}
	if (rc < 0) {
		/* sandboxContainerSpecOpts: the seccomp opts, then Start's wrap */
		cradle_err_wrap(err, "failed to generate sandbox container spec options: "
		                     "failed to generate seccomp spec opts");
		return -1;
	}
	c->fprog.filter = c->prog.filter;
	c->fprog.len = c->prog.len;
	return 0;
}

/* The one side effect of a start that its id does not name: the cgroup
 * (its path comes from the pod's config).  Its path is written into the
 * volatile directory before the cgroup is made, so recovery can undo a
 * start a crash cut short (server/recover.c: kill what runs in it, remove
 * it); every other leftover is found by the id.  No fsync: what it
 * guards (tasks, cgroups) does not outlive the node either. */
static int
write_intent(struct start_ctx *c, struct cradle_err *err)
{
	char path[FS_PATH_MAX];
	int rc;

	if (fs_path(path, err, "%s/%s", c->state_dir, START_INTENT_FILE) < 0)
		return -1;
	if ((rc = fs_write(path, c->spec.cgroups_path, strlen(c->spec.cgroups_path), 0600)) < 0)
		return cradle_err_errno(err, -rc, "write \"%s\"", path);
	return 0;
}

/* The systemd driver (sandbox/sdscope.h): the unit's name written next
 * to the cgroup intent, so remove and recovery stop the unit rather than
 * remove systemd's cgroups by hand.  systemd makes the scope itself (the
 * native launch asks for it once the pause exists; runc's create with
 * launcher = oci); for a native pause on v1 the hierarchies systemd left
 * alone are joined once it is in the scope (step_launch). */
static int
step_cgroup_systemd(struct start_ctx *c, struct cradle_err *err)
{
	const char *parent = pod(c)->linux.cgroup_parent;
	char slice[SDSCOPE_NAME_MAX], path[FS_PATH_MAX];
	int rc;

	if (parent == NULL || parent[0] == '\0')
		parent = c->env->node->cfg.cgroup_root;
	if (sdscope_check_path(c->runtime->name, parent, c->spec.cgroups_path, err) < 0 ||
	    sdscope_parse(c->spec.cgroups_path, slice, c->scope, err) < 0) {
		c->scope[0] = '\0';
		cradle_err_wrap(err, "failed to create sandbox cgroup");
		return -1;
	}
	if (write_intent(c, err) < 0 ||
	    fs_path(path, err, "%s/%s", c->state_dir, SDSCOPE_INTENT_FILE) < 0)
		return -1;
	if ((rc = fs_write(path, c->scope, strlen(c->scope), 0600)) < 0)
		return cradle_err_errno(err, -rc, "write \"%s\"", path);
	if (inside(c, "cgroup:intent", err)) {
		cradle_err_wrap(err, "failed to create sandbox cgroup");
		return -1;
	}
	return 0;
}

static int
step_cgroup(struct start_ctx *c, struct cradle_err *err)
{
	if (c->runtime->systemd_cgroup)
		return step_cgroup_systemd(c, err);
	if (write_intent(c, err) < 0)
		return -1;
	if (inside(c, "cgroup:intent", err) ||
	    cgroup_create(c->env->node->cgroups, c->spec.cgroups_path, c->spec.cpu_shares,
	                  &c->cgroup, err) < 0) {
		cradle_err_wrap(err, "failed to create sandbox cgroup");
		return -1;
	}
	return 0;
}

static int
undo_cgroup(struct start_ctx *c, struct cradle_err *err)
{
	/* runs after the launch undo, so the task is gone */
	int rc = 0;

	if (c->scope[0] != '\0' && sdscope_stop(c->scope, err) < 0) {
		/* systemd's cgroups are not removed by hand */
		cradle_err_wrap(err, "remove sandbox cgroup");
		cgroup_release(c->cgroup);
		c->cgroup = NULL;
		return -1;
	}
	if ((rc = cgroup_destroy(c->cgroup, err)) < 0)
		cgroup_release(c->cgroup);
	c->cgroup = NULL;
	return rc;
}

/* The oci launcher's seccomp profile: a Localhost profile's JSON as it
 * is (it compiled already: step_seccomp); for RuntimeDefault none here:
 * the bundle writes cradle's built-in profile (seccomp_runtime_default_oci). */
static int
oci_seccomp(struct start_ctx *c, char **json, struct cradle_err *err)
{
	int rc;

	*json = NULL;
	if (c->spec.seccomp != SECCOMP_LOCALHOST)
		return 0;
	if ((rc = fs_read_alloc(c->spec.seccomp_profile, SECCOMP_PROFILE_MAX, 0, json, NULL)) < 0)
		return cradle_err_errno(err, -rc, "cannot load seccomp profile \"%s\"",
		                        c->spec.seccomp_profile);
	return 0;
}

/* launcher = oci: the rootfs overlay mounted (in cradle's namespace, for
 * the runtime to bind), the bundle written, `create`; the overlay is
 * detached again at once: the container's mount namespace holds its own
 * copy, private (rootfsPropagation), so nothing of it stays on cradle's
 * side.  The task is created; step_start starts it. */
static int
step_launch_oci(struct start_ctx *c, struct cradle_err *err)
{
	char bundle[FS_PATH_MAX];
	char *seccomp = NULL;
	pid_t pid = 0;
	int fd;

	launch_plan_init(&c->plan);
	/* (systemd_cgroup: the cgroup step checked the slice form runc's
	 * systemd driver takes) */
	if (oci_seccomp(c, &seccomp, err) < 0 ||
	    ocirun_init(&c->oci, c->runtime, c->env->state, err) < 0 ||
	    fs_path(bundle, err, "%s/bundle", c->state_dir) < 0)
		goto fail;
	if (mkdir(bundle, 0700) != 0 && errno != EEXIST) {
		cradle_err_errno(err, errno, "create bundle \"%s\"", bundle);
		goto fail;
	}
	if (mount("overlay", c->rootfs_dir, "overlay", MS_RDONLY | MS_NODEV, c->overlay_opts) !=
	    0) {
		cradle_err_errno(err, errno, "mount sandbox rootfs \"%s\"", c->rootfs_dir);
		goto fail;
	}
	c->oci_rootfs = true;
	struct bundle_input in = {
		.spec = &c->spec,
		.rootfs = c->rootfs_dir,
		.seccomp = seccomp,
		.propagation = "private", /* as the native launcher (DIFFERENCES.md) */
		.nofile = 1024,           /* as the native plan */
	};
	if (bundle_write(bundle, &in, err) < 0 || inside(c, "launch:prepared", err) ||
	    ocirun_create(&c->oci, c->sb->id, bundle, &pid, err) < 0)
		goto fail;
	c->oci_created = true;
	cgroup_close_fds(c->cgroup);
	umount2(c->rootfs_dir, MNT_DETACH);
	c->oci_rootfs = false;
	free(seccomp);
	seccomp = NULL;
	if ((fd = sys_pidfd_open(pid)) < 0) {
		cradle_err_errno(err, errno, "%s create: open its task %d", c->runtime->name,
		                 (int)pid);
		goto fail;
	}
	c->plan.pidfd = sys_fd_raise(fd, c->env->pidfd_floor);
	/* the nice value a native pause execs at (launch_stack): the
	 * runtime ran at this worker's */
	if (c->ls->set_exec_nice && setpriority(PRIO_PROCESS, (id_t)pid, c->ls->exec_nice) != 0)
		log_warn("sandbox %s: set the nice value of task %d: %s", c->sb->id, (int)pid,
		         strerror(errno));
	c->plan.pid = pid;
	c->plan.start_time = launch_pid_start_time(pid);
	c->plan.new_net = c->spec.ns_net;
	c->task_pid = pid;
	return 0;
fail:
	free(seccomp);
	if (c->oci_rootfs) {
		umount2(c->rootfs_dir, MNT_DETACH);
		c->oci_rootfs = false;
	}
	if (c->oci_created) {
		/* no undo will run: the container goes now, and its task (our
		 * child, cradled being the subreaper) is reaped */
		struct cradle_err e = { 0 };
		if (ocirun_delete(&c->oci, c->sb->id, &e) < 0)
			log_warn_drop(&e, "sandbox %s: delete the created container", c->sb->id);
		c->oci_created = false;
		waitpid(pid, NULL, 0);
	}
	cradle_err_wrap(err, "failed to create sandbox task");
	return -1;
}

static int
step_launch(struct start_ctx *c, struct cradle_err *err)
{
	struct launch_plan *p = &c->plan;
	int fds[16];

	if (runtime_is_oci(c->runtime))
		return step_launch_oci(c, err);
	launch_plan_init(p);
	/* the mount label (context=) only where SELinux is enabled, as the
	 * exec label below */
	if (plan_prepare_in(&c->prep, &c->spec, (const char *const *)c->rootfs.layer_dirs,
	                    c->rootfs.n_layers, c->rootfs_dir,
	                    c->env->node->selinux_apply ? c->spec.selinux_mount_label : NULL, p,
	                    err) < 0) {
		cradle_err_wrap(err, "failed to create sandbox task");
		return -1;
	}
	p->cgroup_fd = cgroup_v2_dirfd(c->cgroup);
	p->mntns_fd = c->env->mntns != NULL ? c->env->mntns->template_fd : -1;
	p->root_move = c->env->mntns != NULL && c->env->mntns->staged;
	p->mask_dir = c->env->empty_dir;
	int n = cgroup_procs_fds(c->cgroup, fds, 16);
	p->cgroup_procs_fds = fds;
	p->n_cgroup_procs_fds = n > 0 ? (size_t)n : 0;
	p->seccomp = c->spec.seccomp != SECCOMP_UNCONFINED ? &c->fprog : NULL;
	p->exec_label = c->env->node->selinux_apply ? c->spec.selinux_process_label : NULL;
	p->shm_size = c->env->shm_size;
	p->rootfs_overlay = c->overlay_opts;
	p->pidfd_floor = c->env->pidfd_floor;
	/* With NRI the task is created here and started by step_start, NRI
	 * between them; without, it execs now, as it always did.  The
	 * systemd driver needs the task to exist before its scope: it waits
	 * too, until systemd moved it in. */
	p->wait_go = c->env->nri != NULL || c->scope[0] != '\0';
	int rc = inside(c, "launch:prepared", err) ? -1 : launch_start(p, c->ls, err);
	/* the child has joined (or is gone): the descriptors are done */
	cgroup_close_fds(c->cgroup);
	if (rc < 0) {
		cradle_err_wrap(err, "failed to create sandbox task");
		return -1;
	}
	c->task_pid = p->pid;
	if (c->scope[0] == '\0')
		return 0;
	struct sdscope_req *req = malloc(sizeof(*req));
	if (req == NULL)
		rc = cradle_err_nomem(err);
	else if (sdscope_req_init(req, c->sb->id, c->spec.cgroups_path, p->pid, c->spec.cpu_shares,
	                          c->env->node->cfg.cgroup_layout, NULL, err) < 0 ||
	         sdscope_start(req, err) < 0 ||
	         (c->env->node->cfg.cgroup_layout != CGROUP_V2 &&
	          cgroup_join_rest(c->env->node->cgroups, c->spec.cgroups_path, c->spec.cpu_shares,
	                           p->pid, &c->cgroup, err) < 0)) {
		cradle_err_wrap(err, "failed to create sandbox cgroup");
		rc = -1;
	}
	free(req);
	cgroup_close_fds(c->cgroup);
	/* in its scope: without NRI it execs now, as a one-step launch */
	if (rc == 0 && c->env->nri == NULL && launch_go(p, c->ls, err) < 0) {
		cradle_err_wrap(err, "failed to start sandbox container task \"%s\"", c->sb->id);
		rc = -1;
	}
	if (rc < 0) {
		/* the cgroup step's undo stops the unit */
		if (launch_waiting(p))
			launch_abort(p, c->ls);
		else if (p->pidfd >= 0) {
			siginfo_t si;
			sys_pidfd_send_signal(p->pidfd, SIGKILL);
			sys_pidfd_wait(p->pidfd, &si);
		}
		if (p->pidfd >= 0)
			close(p->pidfd);
		p->pidfd = -1;
		return -1;
	}
	return 0;
}

/* Fill r for a sandbox, as the reference's NRI client makes it from the
 * task (ID, Pid, Spec: linux.resources, namespaces, cgroupsPath,
 * annotations) and the sandbox (ID, Labels: the pod's; none on delete). */
void
start_nri_request(struct nri_request *r, int state, const char *id, int pid,
                  const struct pod_config *pod, const char *cgroups_path, const char *netns_path,
                  const struct proto_kvs *annotations)
{
	const int net = pod->linux.security_context.namespace_options.network;
	const int pidns = pod->linux.security_context.namespace_options.pid;
	const int ipc = pod->linux.security_context.namespace_options.ipc;
	const bool user =
		pod->linux.security_context.namespace_options.userns_options.present &&
		pod->linux.security_context.namespace_options.userns_options.mode == NS_POD;

	memset(r, 0, sizeof(*r));
	r->state = state;
	r->id = id;
	r->sandbox_id = id;
	r->pid = pid;
	/* the sandbox spec's, whatever the pod (sandbox/spec.c: deny all
	 * devices, SANDBOX_CPU_SHARES) */
	r->devices_deny_all = true;
	r->cpu_shares = 2;
	/* containerd's default spec's namespaces, less the node's */
	if (pidns != NS_NODE)
		r->namespaces[r->n_namespaces++] = (struct nri_ns){ "pid", "" };
	if (ipc != NS_NODE)
		r->namespaces[r->n_namespaces++] = (struct nri_ns){ "ipc", "" };
	if (net != NS_NODE) {
		r->namespaces[r->n_namespaces++] = (struct nri_ns){ "uts", "" };
		r->namespaces[r->n_namespaces++] =
			(struct nri_ns){ "network", netns_path != NULL ? netns_path : "" };
	}
	r->namespaces[r->n_namespaces++] = (struct nri_ns){ "mount", "" };
	if (user)
		r->namespaces[r->n_namespaces++] = (struct nri_ns){ "user", "" };
	r->cgroups_path = cgroups_path;
	r->annotations = annotations;
	r->labels = state == NRI_CREATE ? &pod->labels : NULL;
}

/* The reference's task.Delete(WithNRISandboxDelete(id), ...) in Start's
 * rollback: NRI delete while the task is still there; a failure is
 * logged, never the rollback's. */
static void
nri_delete(struct start_ctx *c)
{
	struct nri_request r;
	struct cradle_err e = { 0 };

	start_nri_request(&r, NRI_DELETE, c->sb->id, (int)c->task_pid, pod(c), c->spec.cgroups_path,
	                  c->netns_path[0] != '\0' ? c->netns_path : NULL, &c->spec.annotations);
	if (nri_invoke(c->env->nri, &r, &e) < 0)
		log_warn_drop(&e, "sandbox %s: NRI delete", c->sb->id);
}

/* Controller.Start: NRI v1 between the task's create and its start
 * (nri.InvokeWithSandbox(ctx, task, v1.Create, {ID, Labels}), wrapped
 * "nri invoke").  After netns and cni, not right after the launch: the
 * reference's network is set up before its task is created, so its
 * plugins see the pinned namespace and the pod's interfaces; the task
 * exists (its pid is known) and has not exec'd pause yet.  From here on a
 * rollback deletes the task as the reference's does, NRI delete first
 * (before the network goes, as there): this step's undo, or right here
 * when the create failed (the reference deletes then too). */
static int
step_nri(struct start_ctx *c, struct cradle_err *err)
{
	struct nri_request r;

	if (c->env->nri == NULL)
		return 0;
	start_nri_request(&r, NRI_CREATE, c->sb->id, (int)c->plan.pid, pod(c), c->spec.cgroups_path,
	                  c->netns_path[0] != '\0' ? c->netns_path : NULL, &c->spec.annotations);
	if (nri_invoke(c->env->nri, &r, err) < 0) {
		cradle_err_wrap(err, "nri invoke");
		nri_delete(c);
		return -1;
	}
	return 0;
}

static int
undo_nri(struct start_ctx *c, struct cradle_err *err)
{
	(void)err;
	if (c->env->nri != NULL)
		nri_delete(c);
	return 0;
}

/* task.Start: the created task execs pause (without NRI it did at the
 * launch already). */
static int
step_start(struct start_ctx *c, struct cradle_err *err)
{
	if (c->oci_created) {
		if (ocirun_start(&c->oci, c->sb->id, err) < 0) {
			cradle_err_wrap(err, "failed to start sandbox container task \"%s\"",
			                c->sb->id);
			return -1;
		}
		return 0;
	}
	if (!launch_waiting(&c->plan))
		return 0;
	if (launch_go(&c->plan, c->ls, err) < 0) {
		cradle_err_wrap(err, "failed to start sandbox container task \"%s\"", c->sb->id);
		return -1;
	}
	return 0;
}

static int
undo_launch(struct start_ctx *c, struct cradle_err *err)
{
	siginfo_t si;
	int rc = 0;

	/* NRI delete, when NRI create was tried, ran already (step_nri) */
	if (c->oci_rootfs) {
		umount2(c->rootfs_dir, MNT_DETACH);
		c->oci_rootfs = false;
	}
	if (c->oci_created) {
		/* kills the task, removes the runtime's state and cgroups; the
		 * task, reparented to cradled (the subreaper), is reaped below */
		c->oci_created = false;
		if (ocirun_delete(&c->oci, c->sb->id, err) < 0) {
			rc = -1;
			if (c->plan.pidfd >= 0)
				sys_pidfd_send_signal(c->plan.pidfd, SIGKILL);
		}
		if (c->plan.pidfd >= 0) {
			sys_pidfd_wait(c->plan.pidfd, &si);
			close(c->plan.pidfd);
			c->plan.pidfd = -1;
		}
		return rc;
	}
	if (launch_waiting(&c->plan)) {
		/* created, never started: kill and reap, the stack free */
		launch_abort(&c->plan, c->ls);
		return 0;
	}
	if (c->plan.pidfd < 0)
		return 0;
	/* Our own unreaped child: its pid cannot have been recycled, so
	 * kill(2) is the fallback when the pidfd refuses.  If neither works,
	 * waiting would hang this worker for good: report the task instead. */
	if (sys_pidfd_send_signal(c->plan.pidfd, SIGKILL) != 0 && errno != ESRCH &&
	    kill(c->plan.pid, SIGKILL) != 0 && errno != ESRCH)
		rc = cradle_err_errno(err, errno, "kill pause task %d", (int)c->plan.pid);
	else /* never handed to the reaper: this worker is its only waiter */
		sys_pidfd_wait(c->plan.pidfd, &si);
	close(c->plan.pidfd);
	c->plan.pidfd = -1;
	return rc;
}

static int
step_netns(struct start_ctx *c, struct cradle_err *err)
{
	c->netns_path[0] = '\0';
	if (!c->plan.new_net)
		return 0;
	if (fs_path(c->netns_path, err, "%s/netns/%s", c->env->state, c->sb->id) < 0)
		return -1;
	if (netns_pin(c->plan.pid, c->netns_path, err) < 0) {
		c->netns_path[0] = '\0';
		cradle_err_wrap(err, "failed to create network namespace for sandbox \"%s\"",
		                c->sb->id);
		return -1;
	}
	return 0;
}

static int
undo_netns(struct start_ctx *c, struct cradle_err *err)
{
	int rc;

	if (c->netns_path[0] == '\0')
		return 0;
	if ((rc = netns_unpin(c->netns_path)) < 0)
		return cradle_err_errno(err, -rc, "remove netns \"%s\"", c->netns_path);
	return 0;
}

/* The CNI pod of this sandbox (strings borrowed from the start). */
static void
cni_pod_of(const struct start_ctx *c, struct cni_pod *cp, struct cni_port *ports)
{
	net_pod_of(c->sb->id, pod(c), c->netns_path, c->have_spec ? c->spec.cgroups_path : NULL, cp,
	           ports);
}

/* CNI ADD, once the network namespace is pinned; host-network pods have
 * none and skip it (as containerd's RunPodSandbox). */
static int
step_cni(struct start_ctx *c, struct cradle_err *err)
{
	struct cni_pod cp;
	struct cni_port *ports = NULL;
	char path[FS_PATH_MAX];
	int rc;

	c->cni_cache[0] = '\0';
	if (c->netns_path[0] == '\0' || c->env->net == NULL)
		return 0;
	if (net_cache_path(path, c->env->root, c->sb->id, err) < 0)
		return -1;
	size_t n = pod(c)->port_mappings.n;
	if (n > CNI_PORTS_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "sandbox \"%s\": %zu port mappings exceed %d", c->sb->id, n,
		                      CNI_PORTS_MAX);
	if (n > 0 && (ports = calloc(n, sizeof(*ports))) == NULL)
		return cradle_err_nomem(err);
	cni_pod_of(c, &cp, ports);
	if (net_bandwidth(&pod(c)->annotations, &cp, err) < 0) {
		free(ports);
		cradle_err_wrap(err, "failed to setup network for sandbox \"%s\"", c->sb->id);
		return -1;
	}
	rc = net_setup(c->env->net, &cp, path, &c->cni, err);
	free(ports);
	if (rc < 0) {
		cradle_err_wrap(err, "failed to setup network for sandbox \"%s\"", c->sb->id);
		return -1;
	}
	if (rc > 0)
		memcpy(c->cni_cache, path, sizeof(path));
	return 0;
}

static int
undo_cni(struct start_ctx *c, struct cradle_err *err)
{
	struct cni_pod cp;

	if (c->cni_cache[0] == '\0')
		return 0;
	cni_pod_of(c, &cp, NULL);
	if (net_teardown(c->env->net, &cp, c->cni_cache, false, err) < 0) {
		cradle_err_wrap(err, "failed to destroy network for sandbox \"%s\"", c->sb->id);
		/* the sandbox's directory goes with the rollback */
		(void)net_orphan(c->env->root, c->sb->id);
		return -1;
	}
	c->cni_cache[0] = '\0';
	return 0;
}

static int
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	if (src == NULL || src[0] == '\0')
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

static void
clear_started(struct proto_sandbox *rec)
{
	char **strs[] = { &rec->netns_path,       &rec->hostname_path, &rec->hosts_path,
		          &rec->resolv_conf_path, &rec->shm_path,      &rec->cgroup_path,
		          &rec->process_label,    &rec->mount_label,   &rec->runtime_type,
		          &rec->image_ref,        &rec->image_digest,  &rec->launcher };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	proto_strs_fini(&rec->pod_ips);
	proto_kvs_fini(&rec->spec_annotations);
	proto_kvs_fini(&rec->spec_labels);
	rec->phase = PHASE_CREATED;
	rec->pid = 0;
	rec->pid_start_time = 0;
	rec->started_at = 0;
}

static int
step_record(struct start_ctx *c, struct cradle_err *err)
{
	struct proto_sandbox *rec = &c->sb->rec;
	char hostname[FS_PATH_MAX], hosts[FS_PATH_MAX];
	int rc = 0;

	if (fs_path(hostname, err, "%s/hostname", c->state_dir) < 0 ||
	    fs_path(hosts, err, "%s/hosts", c->state_dir) < 0)
		return -1;
	rc |= set_str(&rec->netns_path, c->netns_path);
	rc |= set_str(&rec->hostname_path, hostname);
	rc |= set_str(&rec->hosts_path, hosts);
	rc |= set_str(&rec->resolv_conf_path, c->resolv_path);
	rc |= set_str(&rec->shm_path, c->shm_mounted ? c->shm_dir : NULL);
	rc |= set_str(&rec->cgroup_path, c->spec.cgroups_path);
	rc |= set_str(&rec->process_label, c->process_label);
	rc |= set_str(&rec->mount_label, c->mount_label);
	rc |= set_str(&rec->runtime_type, c->runtime->type);
	rc |= set_str(&rec->launcher,
	              runtime_is_oci(c->runtime) ? RUNTIME_LAUNCHER_OCI : RUNTIME_LAUNCHER_NATIVE);
	rc |= set_str(&rec->image_ref, c->env->image);
	proto_strs_fini(&rec->pod_ips);
	for (size_t i = 0; c->cni_cache[0] != '\0' && i < c->cni.n_ips && i < PROTO_MAX_POD_IPS;
	     i++)
		rc |= proto_strs_add(&rec->pod_ips, c->cni.ips[i].addr);
	/* the spec's annotations and labels, kept for status and recovery:
	 * moved, no step after this one reads them from the spec */
	proto_kvs_fini(&rec->spec_annotations);
	proto_kvs_fini(&rec->spec_labels);
	rec->spec_annotations = c->spec.annotations;
	rec->spec_labels = c->spec.labels;
	c->spec.annotations = (struct proto_kvs){ 0 };
	c->spec.labels = (struct proto_kvs){ 0 };
	if (rc != 0) {
		clear_started(rec);
		return cradle_err_nomem(err);
	}
	rec->phase = PHASE_RUNNING;
	rec->pid = c->plan.pid;
	/* read by the launch already (its check that pause runs) */
	rec->pid_start_time =
		c->plan.start_time ? c->plan.start_time : launch_pid_start_time(c->plan.pid);
	rec->started_at = clock_now_ns();
	rec->exit_status = 0;
	rec->exited_at = 0;
	if (records_put(c->env->store, rec, err) < 0) {
		/* this step's undo will not run: put the record back now */
		clear_started(rec);
		cradle_err_wrap(err, "failed to save sandbox \"%s\"", c->sb->id);
		return -1;
	}
	return 0;
}

static int
undo_record(struct start_ctx *c, struct cradle_err *err)
{
	clear_started(&c->sb->rec);
	return records_put(c->env->store, &c->sb->rec, err);
}

static int
step_reaper(struct start_ctx *c, struct cradle_err *err)
{
	c->sb->pidfd = c->plan.pidfd;
	if (reaper_watch(c->env->reaper, c->sb, err) < 0) {
		c->sb->pidfd = -1;
		return -1;
	}
	/* The reaper owns the pidfd now; the launch undo must not touch it. */
	c->plan.pidfd = -1;
	return 0;
}

static const struct step {
	const char *name;
	int (*run)(struct start_ctx *c, struct cradle_err *err);
	int (*undo)(struct start_ctx *c, struct cradle_err *err);
} steps[] = {
	{ "runtime", step_runtime, NULL },
	{ "image", step_image, undo_image },
	{ "sandbox-root-dir", step_root_dir, undo_root_dir },
	{ "volatile-root-dir", step_state_dir, undo_state_dir },
	{ "rootfs", step_rootfs, NULL },
	{ "sandbox-files", step_files, NULL },
	{ "shm", step_shm, undo_shm },
	{ "selinux", step_selinux, undo_selinux },
	{ "spec", step_spec, NULL },
	{ "seccomp", step_seccomp, NULL },
	{ "cgroup", step_cgroup, undo_cgroup },
	{ "launch", step_launch, undo_launch },
	{ "netns", step_netns, undo_netns },
	{ "cni", step_cni, undo_cni },
	{ "nri", step_nri, undo_nri },
	{ "start", step_start, NULL },
	{ "record", step_record, undo_record },
	{ "reaper", step_reaper, NULL },
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

/* Tests fail the step env->fail_step names: after it ran (so its undo
 * is exercised) when it has an undo, before it runs otherwise. */
static bool
injected(const struct start_ctx *c, const struct step *s, bool after, struct cradle_err *err)
{
	const char *f = c->fail;

	/* "crash:STEP": the daemon dies (SIGKILL) right after STEP ran */
	if (f != NULL && after && strncmp(f, "crash:", 6) == 0 && strcmp(f + 6, s->name) == 0)
		raise(SIGKILL);
	if (f == NULL || strcmp(f, s->name) != 0 || after != (s->undo != NULL))
		return false;
	cradle_err_set(err, CRADLE_INTERNAL, "injected failure at step %s", s->name);
	return true;
}

/* "random:P" (tests): a start fails, with probability P %, at a step
 * drawn at random, from a sequence seeded by $CRADLE_FAIL_SEED (else the
 * pid), logged once; each injected failure is logged with its step. */
static const char *
fail_for(const struct worker_env *env, const char *id)
{
	static atomic_uint_fast64_t n_starts;
	static atomic_bool told;
	const char *f = env->fail_step;

	if (f == NULL || strncmp(f, "random:", 7) != 0)
		return f;
	const char *s = getenv("CRADLE_FAIL_SEED");
	uint64_t seed = s != NULL ? strtoull(s, NULL, 10) : (uint64_t)getpid();
	if (!atomic_exchange(&told, true))
		log_info("test hook: %s%% of starts fail at a random step, seed %llu", f + 7,
		         (unsigned long long)seed);
	/* splitmix64 of the seed and the start's number */
	uint64_t x = seed + (atomic_fetch_add(&n_starts, 1) + 1) * 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	if (x % 100 >= strtoull(f + 7, NULL, 10))
		return NULL;
	uint64_t k = (x >> 32) % (N_STEPS + N_INSIDE);
	const char *step = k < N_STEPS ? steps[k].name : inside_points[k - N_STEPS];
	log_info("test hook: sandbox %s: start fails at step %s", id, step);
	return step;
}

int
start_sandbox(const struct worker_env *env, struct launch_stack *ls, struct sandbox *sb,
              struct cradle_err *err)
{
	_Static_assert(N_STEPS <= STATS_MAX_STEPS, "more start steps than core/stats.h keeps");
	int64_t t0 = clock_mono_ns(), t = t0;
	struct start_ctx *c = calloc(1, sizeof(*c));
	const struct step *done[N_STEPS];
	uint32_t us[N_STEPS]; /* each step's time, for the sandbox */
	size_t n_done = 0, n_run = 0;
	int rc = 0;

	if (c == NULL)
		return cradle_err_nomem(err);
	c->env = env;
	c->sb = sb;
	c->ls = ls;
	c->plan.pidfd = -1;
	c->fail = fail_for(env, sb->id);
	for (size_t i = 0; i < N_STEPS; i++) {
		const struct step *s = &steps[i];
		bool failed = injected(c, s, false, err) || s->run(c, err) < 0;
		/* timed: a clock read and two atomic adds (core/stats.h) */
		int64_t now = clock_mono_ns();
		stats_step(env->stats, STATS_START, (unsigned)i, s->name, now - t);
		us[n_run++] = stats_us(now - t);
		t = now;
		if (failed) {
			rc = -1;
			break;
		}
		if (s->undo != NULL)
			done[n_done++] = s;
		if (injected(c, s, true, err)) {
			rc = -1;
			break;
		}
	}
	if (rc < 0) {
		/* Every undo runs, even after one fails: a leftover is worse
		 * than a noisy log (unlike the reference, which stops at the
		 * first failed cleanup and keeps the rest). */
		while (n_done > 0) {
			const struct step *s = done[--n_done];
			struct cradle_err e = { 0 };
			if (s->undo(c, &e) < 0)
				log_warn_drop(&e, "sandbox %s: rollback of step %s", sb->id,
				              s->name);
		}
	} else if (c->cgroup != NULL) {
		/* The sandbox keeps its cgroup; only the handle goes. */
		cgroup_release(c->cgroup);
	}
	/* The start step or the launch's undo let go of a created task, and
	 * with it of this worker's launch stack; never left waiting. */
	if (launch_waiting(&c->plan)) {
		log_error("sandbox %s: created task left waiting: killed", sb->id);
		launch_abort(&c->plan, ls);
	}
	plan_release(&c->prep);
	image_rootfs_fini(&c->rootfs);
	free(c->overlay_opts);
	if (c->have_spec)
		spec_fini(&c->spec);
	seccomp_prog_fini(&c->prog);
	free(c->process_label);
	free(c->mount_label);
	free(c);
	stats_done(env->stats, STATS_START, clock_mono_ns() - t0,
	           rc == 0 ? CRADLE_OK : stats_failure_code(err));
	/* the sandbox's own record of this start, for a verbose status */
	pthread_mutex_lock(&sb->view_lock);
	memcpy(sb->step_us[STATS_START], us, n_run * sizeof(us[0]));
	sb->n_steps[STATS_START] = (uint8_t)n_run;
	pthread_mutex_unlock(&sb->view_lock);
	return rc;
}
