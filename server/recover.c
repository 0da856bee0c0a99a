/* recover.c - adopt what a previous run left (see recover.h). */
#include "server/recover.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lifecycle.h"
#include "core/reaper.h"
#include "core/records.h"
#include "core/table.h"
#include "image/images.h"
#include "sandbox/files.h"
#include "sandbox/cgroup.h"
#include "sandbox/launch.h"
#include "sandbox/netns.h"
#include "sandbox/selinux.h"
#include "server/daemon.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sys.h"
#include "worker/start.h"

struct counts {
	struct daemon *d;
	int adopted, exited, created;
};

/* A pidfd for the task of a RUNNING record when it is still that task
 * (the start time guards against a recycled pid), else -1. */
static int
open_task(const struct proto_sandbox *s)
{
	int pidfd;

	if (s->phase != PHASE_RUNNING || s->pid <= 0 || s->pid_start_time == 0)
		return -1;
	if ((pidfd = sys_pidfd_open(s->pid)) < 0)
		return -1;
	if (launch_pid_start_time(s->pid) != s->pid_start_time) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

static int
adopt(struct proto_sandbox *s, void *arg)
{
	struct counts *n = arg;
	struct daemon *d = n->d;
	struct cradle_err err = { 0 };
	int pidfd = open_task(s);

	struct proto_sandbox rec = *s;
	memset(s, 0, sizeof(*s)); /* stolen: the walk finalises s */
	char *name = sandbox_make_name(&rec.config);
	struct sandbox *sb = name ? sandbox_new(&rec) : NULL;
	if (sb == NULL) {
		free(name);
		proto_sandbox_fini(&rec);
		if (pidfd >= 0)
			close(pidfd);
		return cradle_err_nomem(&err);
	}
	sb->name = name;
	/* the sandbox's MCS level stays reserved while it exists, and a
	 * started one keeps its image in use */
	selinux_labels_reserve(d->node.selinux, sb->rec.process_label);
	if (sb->rec.image_ref != NULL)
		images_hold(d->images, sb->rec.image_ref);
	if (table_add(d->table, sb, &err) < 0) {
		selinux_labels_release(d->node.selinux, sb->rec.process_label);
		if (sb->rec.image_ref != NULL)
			images_unuse(d->images, sb->rec.image_ref);
		log_error("recover %s: %s", sb->id, err.msg);
		if (pidfd >= 0)
			close(pidfd);
		sandbox_rele(sb);
		return 0;
	}
	pthread_mutex_lock(&sb->lock);
	if (pidfd >= 0) {
		sb->pidfd = pidfd;
		if (reaper_watch(d->reaper, sb, &err) < 0) {
			/* stop kills it by pid and start time, and records it */
			log_error("recover %s: %s", sb->id, err.msg);
			sb->pidfd = -1;
			close(pidfd);
		} else {
			n->adopted++;
		}
	} else if (sb->rec.phase == PHASE_RUNNING) {
		/* gone while the daemon was down: its status cannot be read */
		sandbox_exited(sb, 255, d->store);
		n->exited++;
	} else if (sb->rec.phase == PHASE_CREATED) {
		n->created++;
	} else {
		n->exited++;
	}
	sandbox_unlock(sb, d->events);
	sandbox_rele(sb);
	return 0;
}

static void
bad_record(const char *id, const struct cradle_err *e, void *arg)
{
	(void)arg;
	log_error("skipping unreadable record %s: %s", id, e->msg);
}

/* Undo the starts a crash cut short.  Such a start left its cgroup path
 * in its volatile dir (worker/start.h, START_INTENT_FILE) and, maybe, a
 * pause task in that cgroup that no record knows.  A start is complete
 * once its record says RUNNING (or EXITED since); for any other (no
 * record: a sandbox.run never answered; CREATED: a sandbox.start never
 * answered, the sandbox stays created) the tasks in the cgroup are
 * killed, the cgroup and both of its directories are removed; the sweeps
 * that follow take its shm and netns pin, which its record does not
 * name. */
static int
undo_cut_starts(struct daemon *d, const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	int undone = 0;

	if (dd == NULL)
		return 0;
	while ((de = readdir(dd)) != NULL) {
		char path[FS_PATH_MAX], cg[FS_PATH_MAX];
		struct cradle_err err = { 0 };
		ssize_t len;

		if (!proto_valid_id(de->d_name) ||
		    fs_path(path, &err, "%s/%s/%s", dir, de->d_name, START_INTENT_FILE) < 0 ||
		    (len = fs_read(path, cg, sizeof(cg) - 1)) <= 0)
			continue;
		cg[len] = '\0';
		struct sandbox *sb = table_get(d->table, de->d_name);
		bool complete = false;
		if (sb != NULL) {
			pthread_mutex_lock(&sb->lock);
			complete = sb->rec.phase != PHASE_CREATED;
			pthread_mutex_unlock(&sb->lock);
			sandbox_rele(sb);
		}
		if (complete)
			continue;
		int killed = cgroup_kill_path(d->node.cgroups, cg, 5000, &err);
		if (killed < 0 || cgroup_remove_path(d->node.cgroups, cg, &err) < 0) {
			/* its directory stays, so the next start-up tries again */
			log_warn_drop(&err, "recover: undo the start of %s", de->d_name);
			continue;
		}
		int rc = 0;
		if (fs_path(path, &err, "%s/sandboxes/%s", d->cfg.root, de->d_name) == 0)
			rc = fs_rmtree(path);
		if (rc == 0 && fs_path(path, &err, "%s/%s", dir, de->d_name) == 0)
			rc = fs_rmtree(path);
		if (rc < 0) {
			cradle_err_errno(&err, -rc, "remove \"%s\"", path);
			log_warn_drop(&err, "recover: undo the start of %s", de->d_name);
			continue;
		}
		log_info("undid the start of %s that a crash cut short (%d task%s killed, "
		         "cgroup %s removed)",
		         de->d_name, killed, killed == 1 ? "" : "s", cg);
		undone++;
	}
	closedir(dd);
	return undone;
}

/* What a swept directory holds: per-sandbox directory trees, netns pins
 * (kept while the record names its pin), shm mount points (kept while
 * the record names its shm). */
enum leftover { DIRS, PINS, SHM };

/* Remove entries of dir that name no known sandbox. */
static void
sweep(struct daemon *d, const char *dir, enum leftover kind)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	char path[FS_PATH_MAX];
	struct cradle_err err = { 0 };

	if (dd == NULL)
		return;
	while ((de = readdir(dd)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct sandbox *sb =
			proto_valid_id(de->d_name) ? table_get(d->table, de->d_name) : NULL;
		bool keep = false;
		if (sb != NULL) {
			pthread_mutex_lock(&sb->lock);
			keep = kind == DIRS || (kind == PINS && sb->rec.netns_path != NULL) ||
			       (kind == SHM && sb->rec.shm_path != NULL);
			pthread_mutex_unlock(&sb->lock);
			sandbox_rele(sb);
		}
		if (keep || fs_path(path, &err, "%s/%s", dir, de->d_name) < 0)
			continue;
		int rc = kind == PINS  ? netns_unpin(path)
		         : kind == SHM ? files_remove_shm(path)
		                       : fs_rmtree(path);
		if (rc < 0) {
			cradle_err_errno(&err, -rc, "remove leftover \"%s\"", path);
			log_warn_drop(&err, "recover");
		} else {
			log_info("removed leftover \"%s\"", path);
		}
	}
	closedir(dd);
}

int
recover(struct daemon *d, struct cradle_err *err)
{
	struct counts n = { .d = d };
	char dir[FS_PATH_MAX];

	if (records_foreach(d->store, adopt, bad_record, &n, err) < 0)
		return -1;
	if (fs_path(dir, err, "%s/sandboxes", d->cfg.root) < 0)
		return -1;
	sweep(d, dir, DIRS);
	if (fs_path(dir, err, "%s/sandboxes", d->cfg.state) < 0)
		return -1;
	int undone = undo_cut_starts(d, dir);
	sweep(d, dir, DIRS);
	if (fs_path(dir, err, "%s/netns", d->cfg.state) < 0)
		return -1;
	sweep(d, dir, PINS);
	if (fs_path(dir, err, "%s/shm", d->cfg.state) < 0)
		return -1;
	sweep(d, dir, SHM);
	if (undone > 0)
		log_info("undid %d start%s cut short", undone, undone == 1 ? "" : "s");
	if (n.adopted + n.exited + n.created > 0)
		log_info("recovered %d running, %d exited, %d created sandboxes", n.adopted,
		         n.exited, n.created);
	return 0;
}
