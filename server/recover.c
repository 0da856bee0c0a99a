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
#include "sandbox/sdscope.h"
#include "sandbox/launch.h"
#include "sandbox/netns.h"
#include "sandbox/ocirun.h"
#include "sandbox/runtime.h"
#include "sandbox/selinux.h"
#include "server/daemon.h"
#include "server/limits.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sys.h"
#include "worker/net.h"
#include "worker/start.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

struct counts {
	struct daemon *d;
	int adopted, exited, created;
	/* keys of the quarantined records, sorted once collected: nothing
	 * of these is swept */
	char **quarantined;
	size_t n_quarantined, cap_quarantined;
	bool oom;        /* one could not be noted: sweeping might take its things */
	bool other_boot; /* the records are from an earlier boot */
};

static int
add_quarantined(struct counts *n, const char *key)
{
	if (n->n_quarantined == n->cap_quarantined) {
		size_t cap = n->cap_quarantined ? n->cap_quarantined * 2 : 16;
		char **v = realloc(n->quarantined, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		n->quarantined = v;
		n->cap_quarantined = cap;
	}
	if ((n->quarantined[n->n_quarantined] = strdup(key)) == NULL)
		return -1;
	n->n_quarantined++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_quarantined(const struct counts *n, const char *id)
{
	return n->n_quarantined > 0 &&
	       bsearch(&id, n->quarantined, n->n_quarantined, sizeof(char *), cmp_str) != NULL;
}

static void
counts_fini(struct counts *n)
{
	for (size_t i = 0; i < n->n_quarantined; i++)
		free(n->quarantined[i]);
	free(n->quarantined);
}

/* A pidfd for the task of a RUNNING record when it is still that task,
 * else -1.  The start time guards against a pid recycled in this boot;
 * a record of an earlier boot has no task (a pid and start time seen
 * again after a reboot are likely: boots start the same tasks in the same
 * order). */
static int
open_task(const struct proto_sandbox *s, const struct counts *n)
{
	int pidfd;

	if (n->other_boot || s->phase != PHASE_RUNNING || s->pid <= 0 || s->pid_start_time == 0)
		return -1;
	if ((pidfd = sys_pidfd_open(s->pid)) < 0)
		return -1;
	if (launch_pid_start_time(s->pid) != s->pid_start_time) {
		close(pidfd);
		return -1;
	}
	/* kept with the launched ones, above the work in flight */
	return sys_fd_raise(pidfd,
	                    (int)limits_nofile_margin(n->d->cfg.workers, n->d->cfg.contexts));
}

/* CNI DEL of sandbox id from the cache its ADD left, if any (blind: the
 * current network's chain without one), its namespace pin at
 * <state>/netns/<id> when the record names none.  cfg: its pod config,
 * NULL when it has no record.  0 when nothing was left to do. */
static int
del_network(struct daemon *d, const char *id, const struct proto_sandbox *rec, bool blind,
            struct cradle_err *err)
{
	char cache[FS_PATH_MAX], pin[FS_PATH_MAX];
	struct pod_config none;
	struct cni_pod cp;

	if (d->net == NULL)
		return 0;
	if (net_cache_path(cache, d->cfg.root, id, err) < 0 ||
	    fs_path(pin, err, "%s/netns/%s", d->cfg.state, id) < 0)
		return -1;
	pod_config_init(&none);
	const char *netns = rec != NULL && rec->netns_path != NULL ? rec->netns_path : pin;
	net_pod_of(id, rec != NULL ? &rec->config : &none, access(netns, F_OK) == 0 ? netns : "",
	           rec != NULL ? rec->cgroup_path : NULL, &cp, NULL);
	if (net_teardown(d->net, &cp, cache, blind, err) < 0) {
		cradle_err_wrap(err, "CNI DEL of sandbox %s", id);
		return -1;
	}
	return 0;
}

/* A sandbox whose task died while the daemon was down (or before) keeps
 * its pod IPs only until it is stopped; DEL them now, so its addresses
 * and host ports are free again.  Its lock held. */
static void
recover_network(struct daemon *d, struct sandbox *sb)
{
	struct cradle_err err = { 0 };

	if (sb->rec.pod_ips.n == 0)
		return;
	if (del_network(d, sb->id, &sb->rec, false, &err) < 0) {
		/* the IPs stay: stop and remove try again */
		log_warn_drop(&err, "recover %s", sb->id);
		return;
	}
	struct proto_strs ips = sb->rec.pod_ips;
	memset(&sb->rec.pod_ips, 0, sizeof(sb->rec.pod_ips));
	if (records_put(d->store, &sb->rec, &err) < 0) {
		sb->rec.pod_ips = ips;
		log_warn_drop(&err, "recover %s", sb->id);
		return;
	}
	proto_strs_fini(&ips);
	log_info("released the network of %s, whose task is gone", sb->id);
}

/* Before the sweeps take their directories: the CNI caches of starts a
 * crash cut short after their ADD (no record, or a created one). */
static void
del_cut_networks(struct daemon *d, const struct counts *q)
{
	char dir[FS_PATH_MAX];
	struct cradle_err err = { 0 };
	DIR *dd;
	struct dirent *de;

	if (d->net == NULL || fs_path(dir, &err, "%s/sandboxes", d->cfg.root) < 0 ||
	    (dd = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dd)) != NULL) {
		char cache[FS_PATH_MAX];
		if (!proto_valid_id(de->d_name) || is_quarantined(q, de->d_name) ||
		    net_cache_path(cache, d->cfg.root, de->d_name, &err) < 0 ||
		    access(cache, F_OK) != 0)
			continue;
		log_ctx_clear();
		log_ctx_set(de->d_name, NULL, NULL);
		struct sandbox *sb = table_get(d->table, de->d_name);
		int rc = 0;
		if (sb != NULL) {
			pthread_mutex_lock(&sb->lock);
			if (sb->rec.phase == PHASE_CREATED)
				rc = del_network(d, sb->id, &sb->rec, false, &err);
			pthread_mutex_unlock(&sb->lock);
			sandbox_rele(sb);
		} else {
			rc = del_network(d, de->d_name, NULL, false, &err);
		}
		if (rc < 0) {
			log_warn_drop(&err, "recover: undo the start of %s", de->d_name);
			/* its directory is swept next when no record keeps it */
			if (sb == NULL)
				(void)net_orphan(d->cfg.root, de->d_name);
		} else if (sb == NULL)
			log_info("released the network of %s, a start a crash cut short",
			         de->d_name);
	}
	log_ctx_clear();
	closedir(dd);
}

static int
adopt(struct proto_sandbox *s, void *arg)
{
	struct counts *n = arg;
	struct daemon *d = n->d;
	struct cradle_err err = { 0 };
	int pidfd = open_task(s, n);

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
	/* what is logged from here names the sandbox and its pod */
	log_ctx_set(sb->id, sb->rec.config.metadata.namespace, sb->rec.config.metadata.name);
	/* the sandbox's MCS level stays reserved while it exists, and a
	 * started one keeps its image in use */
	selinux_labels_reserve(d->node.selinux, sb->rec.process_label);
	if (sb->rec.image_ref != NULL)
		images_hold(d->images, sb->rec.image_ref, sb->rec.image_digest);
	if (table_add(d->table, sb, &err) < 0) {
		selinux_labels_release(d->node.selinux, sb->rec.process_label);
		if (sb->rec.image_ref != NULL)
			images_release(d->images, sb->rec.image_ref, sb->rec.image_digest);
		log_error("recover %s: %s", sb->id, err.msg);
		if (pidfd >= 0)
			close(pidfd);
		sandbox_rele(sb);
		log_ctx_clear();
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
		log_info("sandbox task (pid %d) exited while cradled was down: recorded as "
		         "exited, status 255",
		         (int)sb->rec.pid);
		sandbox_exited(sb, 255, d->store);
		recover_network(d, sb);
		n->exited++;
	} else if (sb->rec.phase == PHASE_CREATED) {
		n->created++;
	} else {
		recover_network(d, sb);
		n->exited++;
	}
	sandbox_unlock(sb, d->events);
	sandbox_rele(sb);
	log_ctx_clear();
	return 0;
}

/* A record that cannot be read: never dropped, since its sandbox may be
 * running.  Into the quarantine; if even that fails, it stays where it is
 * (and is met again at the next start-up).  Either way nothing of its id
 * is swept below. */
static void
bad_record(const char *key, const void *data, size_t len, const struct cradle_err *e, void *arg)
{
	struct counts *n = arg;
	struct cradle_err qe = { 0 };

	if (records_quarantine(n->d->store, key, data, len, e->msg, &qe) < 0) {
		log_error("unreadable record of sandbox %.64s (%s) could not be quarantined, "
		          "left in place: %s",
		          key, e->msg, qe.msg);
		/* not in the quarantine database: noted here */
		if (add_quarantined(n, key) < 0)
			n->oom = true;
	} else
		log_error("quarantined the unreadable record of sandbox %.64s: %s; its task, "
		          "cgroup and directories are left as they are (docs/OPERATIONS.md, "
		          "\"Quarantined records\")",
		          key, e->msg);
}

/* Every quarantined record, this start-up's and earlier ones'. */
static int
note_quarantined(const struct records_quarantined *q, void *arg)
{
	struct counts *n = arg;

	if (add_quarantined(n, q->key) < 0)
		n->oom = true;
	return 0;
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
undo_cut_starts(struct daemon *d, const struct counts *q, const char *dir)
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

		if (!proto_valid_id(de->d_name) || is_quarantined(q, de->d_name) ||
		    fs_path(path, &err, "%s/%s/%s", dir, de->d_name, START_INTENT_FILE) < 0 ||
		    (len = fs_read(path, cg, sizeof(cg) - 1)) <= 0)
			continue;
		cg[len] = '\0';
		log_ctx_clear();
		log_ctx_set(de->d_name, NULL, NULL);
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
		/* a crash inside the cni step leaves no cache: DEL blind while
		 * the pin says the start got that far, first, whatever happens
		 * to the rest (the pins are swept later in any case) */
		char pin[FS_PATH_MAX];
		if (fs_path(pin, &err, "%s/netns/%s", d->cfg.state, de->d_name) == 0 &&
		    access(pin, F_OK) == 0 && del_network(d, de->d_name, NULL, true, &err) < 0)
			log_warn_drop(&err, "recover: undo the start of %s", de->d_name);
		/* the systemd driver's scope (sandbox/sdscope.h): systemd
		 * kills and removes it; what is left by hand is only the
		 * cgroupfs part (v1 cpuset, freezer) */
		char unit[SDSCOPE_NAME_MAX];
		if (fs_path(path, &err, "%s/%s/%s", dir, de->d_name, SDSCOPE_INTENT_FILE) == 0 &&
		    fs_read(path, unit, sizeof(unit)) > 0) {
			unit[strcspn(unit, "\n")] = '\0';
			if (sdscope_stop(unit, &err) < 0) {
				log_warn_drop(&err, "recover: undo the start of %s", de->d_name);
				continue;
			}
		}
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
	log_ctx_clear();
	closedir(dd);
	return undone;
}

/* What a swept directory holds: per-sandbox directory trees, netns pins
 * (kept while the record names its pin), shm mount points (kept while
 * the record names its shm). */
enum leftover { DIRS, PINS, SHM };

/* Remove entries of dir that name no known sandbox. */
static void
sweep(struct daemon *d, const struct counts *q, const char *dir, enum leftover kind)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	char path[FS_PATH_MAX];
	struct cradle_err err = { 0 };

	if (dd == NULL)
		return;
	while ((de = readdir(dd)) != NULL) {
		if (de->d_name[0] == '.' || is_quarantined(q, de->d_name))
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

/* The containers of each oci handler's runtime that no started sandbox
 * owns (a start a crash cut short, after `create`): `delete --force`,
 * which kills their task and removes their cgroups and state. */
static void
sweep_runtimes(struct daemon *d, const struct counts *q)
{
	for (size_t i = 0; i < d->cfg.n_runtimes; i++) {
		const struct runtime_config *rt = &d->cfg.runtimes[i];
		struct cradle_err err = { 0 };
		struct ocirun o;
		struct dirent *de;

		if (!runtime_is_oci(rt) || ocirun_init(&o, rt, d->cfg.state, &err) < 0)
			continue;
		DIR *dd = opendir(o.root);
		if (dd == NULL)
			continue;
		while ((de = readdir(dd)) != NULL) {
			if (!proto_valid_id(de->d_name) || is_quarantined(q, de->d_name))
				continue;
			struct sandbox *sb = table_get(d->table, de->d_name);
			bool keep = false;
			if (sb != NULL) {
				pthread_mutex_lock(&sb->lock);
				keep = sb->rec.phase != PHASE_CREATED;
				pthread_mutex_unlock(&sb->lock);
				sandbox_rele(sb);
			}
			if (keep)
				continue;
			if (ocirun_delete(&o, de->d_name, &err) < 0)
				log_warn_drop(&err, "recover: delete leftover container %s",
				              de->d_name);
			else
				log_info("deleted leftover container %s of runtime %s", de->d_name,
				         rt->name);
		}
		closedir(dd);
	}
}

int
recover(struct daemon *d, bool drop_quarantined, size_t *quarantined, struct cradle_err *err)
{
	struct counts n = { .d = d };
	char dir[FS_PATH_MAX];
	int rc = -1;

	*quarantined = 0;
	char boot[64] = "", then[64] = "", boot_file[FS_PATH_MAX];
	if (fs_path(boot_file, err, "%s/boot_id", d->cfg.root) < 0)
		return -1;
	if (fs_read(BOOT_ID_PATH, boot, sizeof(boot)) > 0 &&
	    fs_read(boot_file, then, sizeof(then)) > 0 && strcmp(boot, then) != 0) {
		n.other_boot = true;
		log_info("the sandbox records are from an earlier boot: none of their tasks runs");
	}
	if (drop_quarantined) {
		long dropped = records_drop_quarantined(d->store, err);
		if (dropped < 0)
			return -1;
		log_info("dropped %ld quarantined record%s (--drop-quarantined): what they "
		         "leave is removed as leftovers",
		         dropped, dropped == 1 ? "" : "s");
	}
	if (records_foreach(d->store, adopt, bad_record, &n, err) < 0)
		goto out;
	if (records_quarantined_foreach(d->store, note_quarantined, &n, err) < 0)
		goto out;
	/* (one that could not even be moved is still in "sandboxes": noted
	 * by bad_record) */
	if (n.oom) {
		cradle_err_nomem(err);
		cradle_err_wrap(err, "recover: note the quarantined records");
		goto out;
	}
	if (n.n_quarantined > 1)
		qsort(n.quarantined, n.n_quarantined, sizeof(char *), cmp_str);
	net_retry_orphans(d->net, d->cfg.root);
	del_cut_networks(d, &n);
	if (fs_path(dir, err, "%s/sandboxes", d->cfg.root) < 0)
		goto out;
	sweep(d, &n, dir, DIRS);
	if (fs_path(dir, err, "%s/sandboxes", d->cfg.state) < 0)
		goto out;
	sweep_runtimes(d, &n);
	int undone = undo_cut_starts(d, &n, dir);
	sweep(d, &n, dir, DIRS);
	if (fs_path(dir, err, "%s/netns", d->cfg.state) < 0)
		goto out;
	sweep(d, &n, dir, PINS);
	if (fs_path(dir, err, "%s/shm", d->cfg.state) < 0)
		goto out;
	sweep(d, &n, dir, SHM);
	if (undone > 0)
		log_info("undid %d start%s cut short", undone, undone == 1 ? "" : "s");
	if (n.adopted + n.exited + n.created > 0)
		log_info("recovered %d running, %d exited, %d created sandboxes", n.adopted,
		         n.exited, n.created);
	if (n.n_quarantined > 0)
		log_error("%zu quarantined sandbox record%s: nothing of %s is removed until "
		          "dropped (cradled --drop-quarantined, docs/OPERATIONS.md)",
		          n.n_quarantined, n.n_quarantined == 1 ? "" : "s",
		          n.n_quarantined == 1 ? "it" : "them");
	*quarantined = n.n_quarantined;
	table_set_quarantined(d->table, n.n_quarantined);
	/* this boot's, for the next start-up (unsynced: lost, it only means
	 * the start times alone guard next time) */
	if (boot[0] != '\0' && strcmp(boot, then) != 0) {
		int wrc = fs_write(boot_file, boot, strlen(boot), 0600);
		if (wrc < 0)
			log_warn("write \"%s\": %s", boot_file, strerror(-wrc));
	}
	rc = 0;
out:
	counts_fini(&n);
	return rc;
}
