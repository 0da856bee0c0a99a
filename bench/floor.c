/* floor.c - the same-plan floor (floor.h): worker/start.c's steps, made
 * with the same sandbox-layer calls, without the daemon around them. */
#include "bench/floor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "image/images.h"
#include "sandbox/cgroup.h"
#include "sandbox/files.h"
#include "sandbox/mntns.h"
#include "sandbox/netns.h"
#include "sandbox/node.h"
#include "sandbox/plan.h"
#include "sandbox/runtime.h"
#include "sandbox/seccomp.h"
#include "sandbox/selinux.h"
#include "sandbox/spec.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/store.h"
#include "util/sys.h"

/* The reference the image is imported under (cradled's built-in one). */
#define FLOOR_IMAGE "cradle.local/pause:built-in"

const char *const floor_step_names[FLOOR_STEPS] = {
	"dirs", "files", "shm", "selinux", "spec", "seccomp", "cgroup", "launch", "netns",
};

struct floor {
	struct floor_cfg cfg;
	char root[FS_PATH_MAX];      /* made by floor_open, removed by floor_close */
	char state[FS_PATH_MAX];     /* likewise */
	char skeleton[FS_PATH_MAX];  /* <root>/snapshots/skeleton */
	char empty_dir[FS_PATH_MAX]; /* <state>/empty, bound over masked dirs */
	struct mntns mntns;          /* the floor's own, as cradled's */
	struct node node;
	bool have_node;
	struct runtime_config runtime; /* cradled's default handler */
	struct runtime_set runtimes;
	struct store *store;
	struct images *images;
	bool image_used;
	struct image_rootfs rootfs;
	char *overlay_opts;
	char desc[3 * FS_PATH_MAX];
};

/* ---- setup ---- */

/* cradled's default [runtime.runc] (server/config.c, runtime_add): every
 * string set, seccomp_default "" (the pod's own profile decides). */
static int
runtime_default(struct floor *f, struct cradle_err *err)
{
	f->runtime.name = strdup("runc");
	f->runtime.type = strdup("io.containerd.runc.v2");
	f->runtime.path = strdup("");
	f->runtime.seccomp_default = strdup("");
	if (f->runtime.name == NULL || f->runtime.type == NULL || f->runtime.path == NULL ||
	    f->runtime.seccomp_default == NULL)
		return cradle_err_nomem(err);
	f->runtimes = (struct runtime_set){ .v = &f->runtime, .n = 1, .default_name = "runc" };
	return 0;
}

/* The mount-point layer cradled lays over every image (server/main.c). */
static int
make_skeleton(struct floor *f, struct cradle_err *err)
{
	if (fs_path(f->skeleton, err, "%s/snapshots/skeleton", f->root) < 0)
		return -1;
	return files_make_skeleton(f->skeleton, err);
}

/* worker/start.c, step_rootfs: "lowerdir=<skeleton>:<layers, top first>".
 * The same for every sandbox, so made once. */
static int
make_overlay_opts(struct floor *f, struct cradle_err *err)
{
	size_t len = strlen("lowerdir=") + strlen(f->skeleton) + 1;

	for (size_t i = 0; i < f->rootfs.n_layers; i++)
		len += strlen(f->rootfs.layer_dirs[i]) + 1;
	if ((f->overlay_opts = malloc(len + 1)) == NULL)
		return cradle_err_nomem(err);
	strcpy(f->overlay_opts, "lowerdir=");
	strcat(f->overlay_opts, f->skeleton);
	for (size_t i = 0; i < f->rootfs.n_layers; i++) {
		strcat(f->overlay_opts, ":");
		strcat(f->overlay_opts, f->rootfs.layer_dirs[i]);
	}
	return 0;
}

/* dir = a new "<parent>/cradle-bench-floor.XXXXXX" */
static int
make_temp_dir(char dir[FS_PATH_MAX], const char *parent, struct cradle_err *err)
{
	if (fs_path(dir, err, "%s/cradle-bench-floor.XXXXXX", parent) < 0)
		return -1;
	if (mkdtemp(dir) == NULL) {
		int e = errno;
		char tmpl[FS_PATH_MAX];
		snprintf(tmpl, sizeof(tmpl), "%s", dir);
		dir[0] = '\0';
		return cradle_err_errno(err, e, "create \"%s\"", tmpl);
	}
	return 0;
}

int
floor_open(const struct floor_cfg *cfg, struct floor **out, struct cradle_err *err)
{
	struct floor *f = calloc(1, sizeof(*f));
	struct node_opts no = { .cgroup_root = cfg->cgroup_root };
	char path[FS_PATH_MAX];
	int rc;

	*out = NULL;
	if (f == NULL)
		return cradle_err_nomem(err);
	f->cfg = *cfg;
	f->mntns.host_fd = -1; /* mntns_leave: nothing entered yet */
	/* node_detect logs each choice: the bench prints its own summary */
	log_set_level(LOG_WARN);
	if (runtime_default(f, err) < 0 || make_temp_dir(f->root, cfg->root_parent, err) < 0 ||
	    make_temp_dir(f->state, cfg->state_parent, err) < 0)
		goto fail;
	/* the directories cradled makes at start-up (server/main.c) */
	const struct {
		const char *base, *name;
		unsigned mode;
	} dirs[] = {
		{ f->root, "sandboxes", 0755 },
		{ f->state, "sandboxes", 0755 },
		{ f->state, "netns", 0755 },
		{ f->state, "empty", 0555 },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (fs_path(path, err, "%s/%s", dirs[i].base, dirs[i].name) < 0)
			goto fail;
		if ((rc = fs_mkdir_p(path, dirs[i].mode)) < 0) {
			cradle_err_errno(err, -rc, "create \"%s\"", path);
			goto fail;
		}
	}
	if (fs_path(f->empty_dir, err, "%s/empty", f->state) < 0)
		goto fail;
	/* cradled's mount namespace and template, for the floor's state dir:
	 * the floor's shm mounts and netns pins stay out of the host's mount
	 * table, and each sandbox's namespace is cloned from the template.
	 * The whole process moves, so this runs before any thread exists. */
	if (mntns_enter(f->state, (const char *const[]){ f->root, NULL }, &f->mntns, err) < 0)
		goto fail;
	if (node_detect(&no, &f->node, err) < 0)
		goto fail;
	f->have_node = true;
	if (!f->node.cfg.seccomp_available) {
		cradle_err_set(
			err, CRADLE_FAILED_PRECONDITION,
			"seccomp is not available: the floor's RuntimeDefault pods cannot start");
		goto fail;
	}

	struct images_cfg ic = { .root = f->root };
	if (make_skeleton(f, err) < 0 || store_open(f->root, &f->store, err) < 0)
		goto fail;
	ic.store = f->store;
	if (images_open(&ic, &f->images, err) < 0 ||
	    images_import(f->images, cfg->image_archive, FLOOR_IMAGE, true, NULL, err) < 0 ||
	    images_use(f->images, FLOOR_IMAGE, &f->rootfs, err) < 0) {
		cradle_err_wrap(err, "the pause image from \"%s\"", cfg->image_archive);
		goto fail;
	}
	f->image_used = true;
	if (make_overlay_opts(f, err) < 0)
		goto fail;
	snprintf(f->desc, sizeof(f->desc),
	         "cgroups %s under %s; image %zu layer(s) + skeleton; root %s, state %s",
	         cgroup_describe(f->node.cgroups), cfg->cgroup_root, f->rootfs.n_layers, f->root,
	         f->state);
	*out = f;
	return 0;
fail:
	floor_close(f);
	return -1;
}

const char *
floor_describe(const struct floor *f)
{
	return f->desc;
}

void
floor_close(struct floor *f)
{
	struct cradle_err e = { 0 };

	if (f == NULL)
		return;
	free(f->overlay_opts);
	if (f->image_used)
		images_unuse(f->images, FLOOR_IMAGE);
	image_rootfs_fini(&f->rootfs);
	images_close(f->images);
	store_close(f->store);
	if (f->have_node) {
		/* the parent every floor sandbox's cgroup was made in; busy
		 * means a sandbox was left, which floor_stop already said */
		if (cgroup_remove_path(f->node.cgroups, f->cfg.cgroup_root, &e) < 0)
			fprintf(stderr, "cradle-bench: floor cgroup parent %s: %s\n",
			        f->cfg.cgroup_root, e.msg);
		node_fini(&f->node);
	}
	/* back in the host's namespace, without the pin (no sandbox is left) */
	if (mntns_leave(&f->mntns, true, &e) < 0)
		fprintf(stderr, "cradle-bench: floor mount namespace: %s\n", e.msg);
	if (f->state[0] != '\0' && fs_rmtree(f->state) < 0)
		fprintf(stderr, "cradle-bench: cannot remove %s\n", f->state);
	if (f->root[0] != '\0' && fs_rmtree(f->root) < 0)
		fprintf(stderr, "cradle-bench: cannot remove %s\n", f->root);
	runtime_config_fini(&f->runtime);
	free(f);
}

/* ---- one sandbox ---- */

/* sandbox-root-dir, volatile-root-dir and rootfs: the directories, made
 * afresh as make_sandbox_dir does. */
static int
step_dirs(struct floor *f, struct floor_sb *sb, char rootfs_dir[FS_PATH_MAX],
          char resolv[FS_PATH_MAX], struct cradle_err *err)
{
	if (fs_path(sb->root_dir, err, "%s/sandboxes/%s", f->root, sb->id) < 0)
		return -1;
	if (mkdir(sb->root_dir, 0755) != 0)
		return cradle_err_errno(err, errno, "create \"%s\"", sb->root_dir);
	sb->root_made = true;
	if (fs_path(sb->state_dir, err, "%s/sandboxes/%s", f->state, sb->id) < 0)
		return -1;
	if (mkdir(sb->state_dir, 0755) != 0)
		return cradle_err_errno(err, errno, "create \"%s\"", sb->state_dir);
	sb->state_made = true;
	if (fs_path(sb->shm_dir, err, "%s/shm/%s", f->state, sb->id) < 0 ||
	    fs_path(resolv, err, "%s/resolv.conf", sb->state_dir) < 0 ||
	    fs_path(rootfs_dir, err, "%s/rootfs", sb->state_dir) < 0)
		return -1;
	if (mkdir(rootfs_dir, 0755) != 0)
		return cradle_err_errno(err, errno, "create \"%s\"", rootfs_dir);
	return 0;
}

/* shm: as worker/start.c's step_shm (files_setup_shm). */
static int
step_shm(struct floor *f, const struct pod_config *pod, struct floor_sb *sb, struct cradle_err *err)
{
	return files_setup_shm(sb->shm_dir, pod, f->cfg.shm_size, &sb->shm_mounted, err);
}

/* launch: spec -> plan, the cgroup's descriptors, seccomp, label, shm
 * size and overlay as worker/start.c's step_launch fills them. */
static int
step_launch(struct floor *f, struct launch_stack *ls, const struct sandbox_spec *spec,
            const struct sock_fprog *fprog, struct cgroup *cg, const char *rootfs_dir,
            struct floor_sb *sb, struct cradle_err *err)
{
	struct launch_prep prep;
	struct launch_plan plan;
	int fds[CGROUP_PROCS_FDS_MAX];
	int rc;

	memset(&prep, 0, sizeof(prep));
	launch_plan_init(&plan);
	rc = plan_prepare_in(&prep, spec, (const char *const *)f->rootfs.layer_dirs,
	                     f->rootfs.n_layers, rootfs_dir, NULL, &plan, err);
	if (rc == 0) {
		plan.cgroup_fd = cgroup_v2_dirfd(cg);
		plan.mntns_fd = f->mntns.template_fd;
		plan.root_move = f->mntns.staged;
		plan.mask_dir = f->empty_dir;
		int n = cgroup_procs_fds(cg, fds, CGROUP_PROCS_FDS_MAX);
		plan.cgroup_procs_fds = fds;
		plan.n_cgroup_procs_fds = n > 0 ? (size_t)n : 0;
		plan.seccomp = spec->seccomp != SECCOMP_UNCONFINED ? fprog : NULL;
		plan.exec_label = f->node.selinux_apply ? spec->selinux_process_label : NULL;
		plan.shm_size = f->cfg.shm_size;
		plan.rootfs_overlay = f->overlay_opts;
		rc = launch_start(&plan, ls, err);
		cgroup_close_fds(cg);
	}
	plan_release(&prep);
	if (rc < 0)
		return -1;
	sb->pid = plan.pid;
	sb->pidfd = plan.pidfd;
	return 0;
}

int
floor_start(struct floor *f, struct launch_stack *ls, const struct pod_config *pod,
            struct floor_sb *sb, double step_ms[FLOOR_STEPS], struct cradle_err *err)
{
	const struct runtime_config *rt = NULL;
	char rootfs_dir[FS_PATH_MAX], resolv[FS_PATH_MAX];
	struct sandbox_spec spec;
	bool have_spec = false;
	struct seccomp_prog prog = { 0 };
	struct sock_fprog fprog = { 0 };
	struct cgroup *cg = NULL;
	double t = now_ms(), t1;
	int rc = -1;

	sb->live = true;
	sb->pidfd = -1;
	for (int s = 0; s < FLOOR_STEPS; s++)
		step_ms[s] = 0;
#define LAP(step)                       \
	do {                            \
		t1 = now_ms();          \
		step_ms[step] = t1 - t; \
		t = t1;                 \
	} while (0)

	/* runtime: the handler, as the pipeline's first step */
	if (runtime_select(&f->runtimes, pod, NULL, &rt, err) < 0 ||
	    files_new_id(sb->id, err) < 0 || step_dirs(f, sb, rootfs_dir, resolv, err) < 0)
		goto out;
	LAP(FLOOR_DIRS);
	if (files_setup_sandbox(sb->state_dir, pod, NULL, err) < 0)
		goto out;
	LAP(FLOOR_FILES);
	if (step_shm(f, pod, sb, err) < 0)
		goto out;
	LAP(FLOOR_SHM);
	if (selinux_labels_alloc(f->node.selinux, pod, rt->vm, &sb->process_label, &sb->mount_label,
	                         err) < 0)
		goto out;
	LAP(FLOOR_SELINUX);
	struct spec_input in = {
		.id = sb->id,
		.pod = pod,
		.image = &f->rootfs.config,
		.runtime = rt,
		.node = &f->node.cfg,
		.netns_path = NULL,
		.shm_path = sb->shm_mounted ? sb->shm_dir : NULL,
		.resolv_conf_path = resolv,
		.process_label = sb->process_label,
		.mount_label = sb->mount_label,
	};
	if (spec_build(&in, &spec, err) < 0)
		goto out;
	have_spec = true;
	LAP(FLOOR_SPEC);
	if (spec.seccomp == SECCOMP_RUNTIME_DEFAULT)
		rc = seccomp_prog_runtime_default(&prog, err);
	else if (spec.seccomp == SECCOMP_LOCALHOST)
		rc = seccomp_prog_from_file(spec.seccomp_profile, &prog, err);
	else
		rc = 0;
	if (rc < 0)
		goto out;
	rc = -1;
	fprog.filter = prog.filter;
	fprog.len = prog.len;
	LAP(FLOOR_SECCOMP);
	if (cgroup_create(f->node.cgroups, spec.cgroups_path, spec.cpu_shares, &cg, err) < 0)
		goto out;
	if ((sb->cgroups_path = strdup(spec.cgroups_path)) == NULL) {
		cradle_err_nomem(err);
		goto out;
	}
	LAP(FLOOR_CGROUP);
	if (step_launch(f, ls, &spec, &fprog, cg, rootfs_dir, sb, err) < 0)
		goto out;
	LAP(FLOOR_LAUNCH);
	if (spec.ns_net) {
		if (fs_path(sb->netns_path, err, "%s/netns/%s", f->state, sb->id) < 0)
			goto out;
		if (netns_pin(sb->pid, sb->netns_path, err) < 0) {
			sb->netns_path[0] = '\0';
			goto out;
		}
	}
	LAP(FLOOR_NETNS);
#undef LAP
	rc = 0;
out:
	if (rc < 0 && cg != NULL) {
		/* the pipeline's undo: the task first, then its cgroup */
		struct cradle_err e = { 0 };
		free(sb->cgroups_path);
		sb->cgroups_path = NULL;
		floor_stop(f, sb, &e);
		if (cgroup_destroy(cg, &e) < 0)
			cgroup_release(cg);
	} else if (rc < 0) {
		struct cradle_err e = { 0 };
		floor_stop(f, sb, &e);
	} else {
		/* the sandbox keeps its cgroup; only the handle goes */
		cgroup_release(cg);
	}
	if (have_spec)
		spec_fini(&spec);
	seccomp_prog_fini(&prog);
	return rc;
}

static void
keep_first(struct cradle_err *first, const struct cradle_err *e)
{
	if (first->code == CRADLE_OK && e->code != CRADLE_OK)
		*first = *e;
}

int
floor_stop(struct floor *f, struct floor_sb *sb, struct cradle_err *err)
{
	struct cradle_err first = { 0 }, e = { 0 };
	siginfo_t si;
	int rc;

	if (!sb->live)
		return 0;
	/* stop: the task (our child: its pid cannot be reused before the wait) */
	if (sb->pidfd >= 0) {
		if (sys_pidfd_send_signal(sb->pidfd, SIGKILL) != 0 && errno != ESRCH)
			cradle_err_errno(&e, errno, "kill pause %d", (int)sb->pid);
		keep_first(&first, &e);
		if ((rc = sys_pidfd_wait(sb->pidfd, &si)) < 0)
			cradle_err_errno(&e, -rc, "wait for pause %d", (int)sb->pid);
		keep_first(&first, &e);
		close(sb->pidfd);
		sb->pidfd = -1;
	}
	/* stop: the shm and the netns pin */
	if (sb->shm_mounted) {
		if ((rc = files_remove_shm(sb->shm_dir)) < 0)
			cradle_err_errno(&e, -rc, "remove shm \"%s\"", sb->shm_dir);
		keep_first(&first, &e);
		sb->shm_mounted = false;
	}
	if (sb->netns_path[0] != '\0') {
		if ((rc = netns_unpin(sb->netns_path)) < 0)
			cradle_err_errno(&e, -rc, "unpin \"%s\"", sb->netns_path);
		keep_first(&first, &e);
		sb->netns_path[0] = '\0';
	}
	/* remove: both directories, the cgroup, the labels */
	if (sb->root_made) {
		if ((rc = fs_rmtree(sb->root_dir)) < 0)
			cradle_err_errno(&e, -rc, "remove \"%s\"", sb->root_dir);
		keep_first(&first, &e);
		sb->root_made = false;
	}
	if (sb->state_made) {
		if ((rc = fs_rmtree(sb->state_dir)) < 0)
			cradle_err_errno(&e, -rc, "remove \"%s\"", sb->state_dir);
		keep_first(&first, &e);
		sb->state_made = false;
	}
	if (sb->cgroups_path != NULL) {
		cgroup_remove_path(f->node.cgroups, sb->cgroups_path, &e);
		keep_first(&first, &e);
		free(sb->cgroups_path);
		sb->cgroups_path = NULL;
	}
	selinux_labels_release(f->node.selinux, sb->process_label);
	free(sb->process_label);
	free(sb->mount_label);
	sb->process_label = sb->mount_label = NULL;
	sb->live = false;
	if (first.code != CRADLE_OK) {
		*err = first;
		return -1;
	}
	return 0;
}
