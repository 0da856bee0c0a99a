/* start.c - the start pipeline with its undo stack. */
#include "start.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../server/daemon.h"
#include "../server/log.h"
#include "../server/reaper.h"
#include "../server/store.h"
#include "../server/table.h"
#include "files.h"
#include "netns.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct start_ctx {
	struct daemon *d;
	struct sandbox *sb;
	struct launch_stack *ls;
	char root_dir[4200];
	char state_dir[4200];
	char netns_path[4200];
	struct launch_plan plan;
};

static char *const pause_argv[] = { "/pause", NULL };
static char *const pause_envp[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
};

static int
step_root_dir(struct start_ctx *c, struct cradle_err *err)
{
	int r = files_path(c->root_dir, sizeof(c->root_dir), err, "%s/sandboxes/%s",
	                   c->d->cfg.root, c->sb->id);
	if (r < 0)
		return r;
	if (mkdir(c->root_dir, 0755) != 0)
		return cradle_err_errno(err, errno, "failed to create sandbox root directory \"%s\"",
		                        c->root_dir);
	return 0;
}

static void
undo_root_dir(struct start_ctx *c)
{
	int r = files_rmtree(c->root_dir);
	if (r < 0)
		log_warn("rollback: remove \"%s\": %s", c->root_dir, strerror(-r));
}

static int
step_state_dir(struct start_ctx *c, struct cradle_err *err)
{
	int r = files_path(c->state_dir, sizeof(c->state_dir), err, "%s/sandboxes/%s",
	                   c->d->cfg.state, c->sb->id);
	if (r < 0)
		return r;
	if (mkdir(c->state_dir, 0755) != 0)
		return cradle_err_errno(err, errno,
		                        "failed to create volatile sandbox root directory \"%s\"",
		                        c->state_dir);
	return 0;
}

static void
undo_state_dir(struct start_ctx *c)
{
	int r = files_rmtree(c->state_dir);
	if (r < 0)
		log_warn("rollback: remove \"%s\": %s", c->state_dir, strerror(-r));
}

static int
step_files(struct start_ctx *c, struct cradle_err *err)
{
	if (files_setup_sandbox(c->state_dir, &c->sb->rec.config, err) < 0) {
		cradle_err_wrap(err, "failed to setup sandbox files");
		return -1;
	}
	return 0;
}

static int
step_rootfs(struct start_ctx *c, struct cradle_err *err)
{
	char path[4200];
	struct stat st;

	if (files_path(path, sizeof(path), err, "%s/pause", c->d->cfg.rootfs) < 0)
		return -1;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "failed to get sandbox image \"%s\": no executable /pause in it",
		                      c->d->cfg.rootfs);
	return 0;
}

static int
step_launch(struct start_ctx *c, struct cradle_err *err)
{
	const struct pod_config *cfg = &c->sb->rec.config;
	struct launch_plan *p = &c->plan;

	launch_plan_init(p);
	p->rootfs = c->d->cfg.rootfs;
	p->exec_path = "/pause";
	p->argv = pause_argv;
	p->envp = pause_envp;
	p->new_net = cfg->linux.security_context.namespace_options.network != NS_NODE;
	p->new_pid = cfg->linux.security_context.namespace_options.pid != NS_NODE;
	p->new_ipc = cfg->linux.security_context.namespace_options.ipc != NS_NODE;
	p->shm_size = c->d->cfg.shm_size;
	if (cfg->hostname != NULL)
		snprintf(p->hostname, sizeof(p->hostname), "%s", cfg->hostname);
	if (launch_start(p, c->ls, err) < 0) {
		cradle_err_wrap(err, "failed to create sandbox task");
		return -1;
	}
	return 0;
}

static void
undo_launch(struct start_ctx *c)
{
	siginfo_t si;

	if (c->plan.pidfd < 0)
		return;
	if (syscall(SYS_pidfd_send_signal, c->plan.pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH)
		log_warn("rollback: kill pause task %d: %s", (int)c->plan.pid, strerror(errno));
	/* Never handed to the reaper: this worker is its only waiter. */
	while (waitid((idtype_t)P_PIDFD, (id_t)c->plan.pidfd, &si, WEXITED) != 0 && errno == EINTR)
		;
	close(c->plan.pidfd);
	c->plan.pidfd = -1;
}

static int
step_netns(struct start_ctx *c, struct cradle_err *err)
{
	c->netns_path[0] = '\0';
	if (!c->plan.new_net)
		return 0;
	if (files_path(c->netns_path, sizeof(c->netns_path), err, "%s/netns/%s",
	               c->d->cfg.state, c->sb->id) < 0)
		return -1;
	if (netns_pin(c->plan.pid, c->netns_path, err) < 0) {
		c->netns_path[0] = '\0';
		cradle_err_wrap(err, "failed to create network namespace for sandbox \"%s\"", c->sb->id);
		return -1;
	}
	return 0;
}

static void
undo_netns(struct start_ctx *c)
{
	if (c->netns_path[0] == '\0')
		return;
	int r = netns_unpin(c->netns_path);
	if (r < 0)
		log_warn("rollback: remove netns \"%s\": %s", c->netns_path, strerror(-r));
}

static int
step_record(struct start_ctx *c, struct cradle_err *err)
{
	struct proto_sandbox *rec = &c->sb->rec;
	char *netns = NULL;

	if (c->netns_path[0] != '\0' && (netns = strdup(c->netns_path)) == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
	free(rec->netns_path);
	rec->netns_path = netns;
	rec->phase = PHASE_RUNNING;
	rec->pid = c->plan.pid;
	rec->pid_start_time = launch_pid_start_time(c->plan.pid);
	rec->started_at = now_ns();
	rec->exit_status = 0;
	rec->exited_at = 0;
	if (store_put_sandbox(c->d->store, rec, err) < 0) {
		cradle_err_wrap(err, "failed to save sandbox \"%s\"", c->sb->id);
		return -1;
	}
	return 0;
}

static void
undo_record(struct start_ctx *c)
{
	struct proto_sandbox *rec = &c->sb->rec;
	struct cradle_err e;

	free(rec->netns_path);
	rec->netns_path = NULL;
	rec->phase = PHASE_CREATED;
	rec->pid = 0;
	rec->pid_start_time = 0;
	rec->started_at = 0;
	if (store_put_sandbox(c->d->store, rec, &e) < 0)
		log_warn("rollback: restore record of %s: %s", c->sb->id, e.msg);
}

static int
step_reaper(struct start_ctx *c, struct cradle_err *err)
{
	c->sb->pidfd = c->plan.pidfd;
	if (reaper_watch(c->d->reaper, c->sb, err) < 0) {
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
	void (*undo)(struct start_ctx *c);
} steps[] = {
	{ "sandbox-root-dir", step_root_dir, undo_root_dir },
	{ "volatile-root-dir", step_state_dir, undo_state_dir },
	{ "sandbox-files", step_files, NULL },
	{ "rootfs", step_rootfs, NULL },
	{ "launch", step_launch, undo_launch },
	{ "netns", step_netns, undo_netns },
	{ "record", step_record, undo_record },
	{ "reaper", step_reaper, NULL },
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

#ifdef CRADLE_TEST_HOOKS
static bool
injected(struct start_ctx *c, const struct step *s, bool after, struct cradle_err *err)
{
	if (strcmp(c->d->fail_step, s->name) != 0 || after != (s->undo != NULL))
		return false;
	cradle_err_set(err, CRADLE_INTERNAL, "injected failure at step %s", s->name);
	return true;
}
#else
#define injected(c, s, after, err) false
#endif

int
start_sandbox(struct daemon *d, struct launch_stack *ls, struct sandbox *sb,
              struct cradle_err *err)
{
	struct start_ctx *c = calloc(1, sizeof(*c));
	const struct step *done[N_STEPS];
	size_t n_done = 0;
	int ret = 0;

	if (c == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
	c->d = d;
	c->sb = sb;
	c->ls = ls;
	c->plan.pidfd = -1;
	for (size_t i = 0; i < N_STEPS; i++) {
		const struct step *s = &steps[i];
		if (injected(c, s, false, err) || s->run(c, err) < 0) {
			ret = -1;
			break;
		}
		if (s->undo != NULL)
			done[n_done++] = s;
		if (injected(c, s, true, err)) {
			ret = -1;
			break;
		}
	}
	if (ret < 0) {
		/* Every undo runs, even after one fails: a leftover is worse
		 * than a noisy log (unlike the reference, which stops at the
		 * first failed cleanup and keeps the rest). */
		while (n_done > 0) {
			const struct step *s = done[--n_done];
			s->undo(c);
		}
	}
	free(c);
	return ret;
}
