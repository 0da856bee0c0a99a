/* ops.c - one function per protocol operation. */
#include "worker/ops.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/events.h"
#include "core/lifecycle.h"
#include "core/records.h"
#include "core/table.h"
#include "image/images.h"
#include "proto/ref.h"
#include "sandbox/cgroup.h"
#include "sandbox/sdscope.h"
#include "sandbox/cni.h"
#include "sandbox/files.h"
#include "sandbox/netns.h"
#include "sandbox/nri.h"
#include "sandbox/ocirun.h"
#include "sandbox/runtime.h"
#include "sandbox/selinux.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sys.h"
#include "worker/net.h"
#include "worker/start.h"

#define DEFAULT_STOP_TIMEOUT_MS 10000
#define STOP_MIN_WAIT_MS 2000 /* for the exit of a killed task, whatever the timeout */

/* Tests fail a stop or a remove at a point ($CRADLE_FAIL_STEP: "stop:killed"
 * after the kill, before the wait; "stop:shm" after the shm went, before the
 * netns; "remove:root-dir" after the root dir went, before the volatile
 * one), as the call right after it would. */
static bool
fail_at(const struct worker_env *env, const char *point, const char *id, struct cradle_err *err)
{
	if (env->fail_step == NULL)
		return false;
	/* "crash:POINT": the daemon dies (SIGKILL) there, as worker/start.c's
	 * crash:STEP does after a step */
	if (strncmp(env->fail_step, "crash:", 6) == 0 && strcmp(env->fail_step + 6, point) == 0)
		raise(SIGKILL);
	if (strcmp(env->fail_step, point) != 0)
		return false;
	cradle_err_set(err, CRADLE_INTERNAL, "injected failure at %s of sandbox \"%s\"", point, id);
	return true;
}

static int
not_found(const char *id, struct cradle_err *err)
{
	return cradle_err_set(err, CRADLE_NOT_FOUND, "unable to find sandbox with id \"%s\"", id);
}

/* Register a sandbox.  For sandbox.create the record is committed before
 * this returns; sandbox.run commits it once, when started (its reply is
 * the first to report it), which saves a synchronous write per pod.  On
 * success returns the sandbox with a held reference and its lock held, so
 * sandbox.run can start it before anyone else sees it half-made. */
static struct sandbox *
create_locked(const struct worker_env *env, struct proto_request *req, bool persist,
              struct cradle_err *err)
{
	struct pod_config *cfg = &req->config;
	struct proto_sandbox rec;
	struct sandbox *sb;

	const struct runtime_config *rt;
	/* CRI makes the id, then picks the runtime before anything is made
	 * (RunPodSandbox), and names the id when that fails */
	memset(&rec, 0, sizeof(rec));
	if (files_new_id(rec.id, err) < 0)
		return NULL;
	log_ctx_set(rec.id, NULL, NULL); /* what is logged from here names it */
	if (runtime_select(&env->runtimes, cfg, req->runtime_handler, &rt, err) < 0) {
		cradle_err_wrap(err, "unable to get OCI runtime for sandbox \"%s\"", rec.id);
		return NULL;
	}
	if (cfg->hostname != NULL && strlen(cfg->hostname) > LAUNCH_HOSTNAME_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "config.hostname: \"%.64s...\" is longer than %d characters",
		               cfg->hostname, LAUNCH_HOSTNAME_MAX);
		return NULL;
	}

	/* Move the config out of the request: it is big and the request is
	 * finished with it. */
	rec.config = *cfg;
	pod_config_init(cfg);
	rec.runtime_handler = req->runtime_handler;
	req->runtime_handler = NULL;
	rec.phase = PHASE_CREATED;
	rec.created_at = clock_now_ns();

	char *name = sandbox_make_name(&rec.config);
	sb = name != NULL ? sandbox_new(&rec) : NULL;
	if (sb == NULL) {
		free(name);
		proto_sandbox_fini(&rec);
		cradle_err_nomem(err);
		return NULL;
	}
	sb->name = name;
	pthread_mutex_lock(&sb->lock);
	if (table_add(env->table, sb, err) < 0)
		goto fail;
	if (persist && records_put(env->store, &sb->rec, err) < 0) {
		cradle_err_wrap(err, "failed to save sandbox metadata");
		table_del(env->table, sb);
		goto fail;
	}
	return sb;
fail:
	sb->removed = true;
	pthread_mutex_unlock(&sb->lock);
	sandbox_rele(sb);
	return NULL;
}

static void
reply_started(struct proto_reply *rep, const struct sandbox *sb)
{
	memcpy(rep->id, sb->id, sizeof(rep->id));
	rep->pid = sb->rec.pid;
	rep->created_at = sb->rec.created_at;
}

/* Forget a sandbox that was never started: record, name, table entry. */
static void
forget_locked(const struct worker_env *env, struct sandbox *sb)
{
	struct cradle_err e;

	if (records_del(env->store, sb->id, &e) < 0)
		log_warn_drop(&e, "forget sandbox %s", sb->id);
	sb->removed = true;
	table_del(env->table, sb);
}

static int
start_locked(const struct worker_env *env, struct launch_stack *ls, struct sandbox *sb,
             struct cradle_err *err)
{
	if (sb->removed)
		return not_found(sb->id, err);
	switch (sb->rec.phase) {
	case PHASE_CREATED:
		break;
	case PHASE_RUNNING:
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "sandbox \"%s\" is already started", sb->id);
	default:
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "sandbox \"%s\" has exited; sandboxes are not restarted: "
		                      "remove it and run a new one",
		                      sb->id);
	}
	if (start_sandbox(env, ls, sb, err) < 0) {
		cradle_err_wrap(err, "failed to start sandbox \"%s\"", sb->id);
		return -1;
	}
	return 0;
}

/* The steps of a stop, timed as the start's are (core/stats.h): each
 * lap ends the step that had something to do. */
/* "netns" is the whole network's release: the CNI DEL, then the pin. */
enum { STOP_KILL, STOP_WAIT, STOP_SHM, STOP_NETNS, STOP_RECORD, STOP_N_STEPS };
static const char *const stop_step_names[STOP_N_STEPS] = { "kill", "wait", "shm", "netns",
	                                                   "record" };

struct stop_clock {
	struct stats *stats;
	int64_t t0, t;
	uint32_t us[STOP_N_STEPS];
	unsigned did; /* bit per step that ran */
	bool unsaved; /* all done but the record's put failed (a full store) */
};

static void
stop_lap(struct stop_clock *k, unsigned step)
{
	int64_t now = clock_mono_ns();

	stats_step(k->stats, STATS_STOP, step, stop_step_names[step], now - k->t);
	k->us[step] = stats_us(now - k->t);
	k->did |= 1u << step;
	k->t = now;
}

/* CNI DEL of a sandbox that was ADDed (its record has pod IPs), from the
 * cache its ADD left (worker/net.h), tried twice.  Forced (remove), a
 * failure is logged and the cache kept for a later DEL (net_orphan). */
static int
stop_network(const struct worker_env *env, struct sandbox *sb, bool force, struct cradle_err *err)
{
	char path[FS_PATH_MAX];
	struct cni_pod cp;

	if (net_cache_path(path, env->root, sb->id, err) < 0)
		return -1;
	net_pod_of(sb->id, &sb->rec.config, sb->rec.netns_path, sb->rec.cgroup_path, &cp, NULL);
	if (net_teardown(env->net, &cp, path, false, err) == 0)
		return 0;
	cradle_err_wrap(err, "failed to destroy network for sandbox \"%s\"", sb->id);
	if (!force)
		return -1;
	log_warn_drop(err, "remove sandbox %s anyway", sb->id);
	(void)net_orphan(env->root, sb->id);
	return 0;
}

/* Kill the pause task and wait for the reaper's record; then release the
 * network (CNI DEL) and the network namespace.  Idempotent.  A DEL that
 * fails twice fails the stop and keeps the namespace, so a later stop
 * tries again (containerd's StopPodSandbox); force (remove) logs it and
 * goes on: a plugin that keeps failing must not keep a sandbox forever. */
/* The reference deletes a sandbox's task once it exited (its exit
 * handler: task.Delete(WithNRISandboxDelete(id))), which runs NRI v1
 * delete; a failure there is logged, never the caller's. */
static void
stop_nri_delete(const struct worker_env *env, struct sandbox *sb, pid_t pid)
{
	struct nri_request r;
	struct cradle_err e = { 0 };

	start_nri_request(&r, NRI_DELETE, sb->id, (int)pid, &sb->rec.config, sb->rec.cgroup_path,
	                  sb->rec.netns_path, &sb->rec.spec_annotations);
	if (nri_invoke(env->nri, &r, &e) < 0)
		log_warn_drop(&e, "sandbox %s: NRI delete", sb->id);
}

static int
stop_steps(const struct worker_env *env, struct sandbox *sb, int64_t timeout_ms, bool force,
           struct stop_clock *k, struct cradle_err *err)
{
	bool changed = false;
	/* NRI delete is due once the task is gone: when this stop ends it,
	 * or when it ended by itself and no stop has released its shm or
	 * network yet (the reaper, in core/, runs no plugins) */
	pid_t task_pid = sb->rec.phase == PHASE_RUNNING ? sb->rec.pid : 0;
	bool exited_held =
		sb->rec.phase == PHASE_EXITED &&
		(sb->rec.shm_path != NULL || sb->rec.netns_path != NULL || sb->rec.pod_ips.n > 0);
	bool nri_due = env->nri != NULL && (sb->rec.phase == PHASE_RUNNING || exited_held);
	if (sb->rec.phase == PHASE_RUNNING && sb->pidfd < 0) {
		/* No watched task (its watch could not be set up): the reaper
		 * will never record an exit.  Kill the task if it is still the
		 * one we started (start time guards pid reuse), record it here. */
		if (sb->rec.pid > 0 && sb->rec.pid_start_time != 0 &&
		    launch_pid_start_time(sb->rec.pid) == sb->rec.pid_start_time)
			kill(sb->rec.pid, SIGKILL);
		sandbox_exited(sb, 255, env->store);
		stop_lap(k, STOP_KILL);
	}
	if (sb->rec.phase == PHASE_RUNNING) {
		struct timespec deadline;

		if (sys_pidfd_send_signal(sb->pidfd, SIGKILL) != 0 && errno != ESRCH)
			return cradle_err_errno(err, errno, "failed to kill sandbox \"%s\"",
			                        sb->id);
		stop_lap(k, STOP_KILL);
		if (fail_at(env, "stop:killed", sb->id, err))
			return -1;
		/* 0 means "kill now", not "give the reaper no time at all":
		 * a killed task's exit (its namespaces torn down) and the
		 * reaper's wake-up take a while on a busy node */
		deadline = clock_deadline(timeout_ms > STOP_MIN_WAIT_MS ? timeout_ms
		                                                        : STOP_MIN_WAIT_MS);
		while (sb->rec.phase == PHASE_RUNNING) {
			int rc = pthread_cond_timedwait(&sb->cond, &sb->lock, &deadline);
			if (rc == ETIMEDOUT && sb->rec.phase == PHASE_RUNNING)
				return cradle_err_set(
					err, CRADLE_UNAVAILABLE,
					"wait sandbox container \"%s\": timed out after %lld ms",
					sb->id,
					(long long)(timeout_ms > STOP_MIN_WAIT_MS
				                            ? timeout_ms
				                            : STOP_MIN_WAIT_MS));
		}
		stop_lap(k, STOP_WAIT);
	}
	if (nri_due)
		stop_nri_delete(env, sb, task_pid);
	/* containerd's Controller.Stop: unmount the shm, release the network.
	 * The shm's mount point goes too (<state>/shm/<id>; a record of an
	 * earlier version names <state>/sandboxes/<id>/shm, also fine). */
	/* The record keeps naming the shm and the pin until the store says
	 * they are gone (a failed put, e.g. a full store, leaves the sandbox
	 * as the store has it; removing them again is a no-op). */
	char *shm = sb->rec.shm_path, *netns = sb->rec.netns_path;
	struct proto_strs ips = sb->rec.pod_ips;
	int rc = 0;
	if (shm != NULL) {
		if ((rc = files_remove_shm(shm)) < 0)
			return cradle_err_errno(err, -rc, "failed to unmount sandbox shm \"%s\"",
			                        shm);
		changed = true;
		stop_lap(k, STOP_SHM);
		if (fail_at(env, "stop:shm", sb->id, err))
			return -1;
	}
	if (ips.n > 0 && env->net != NULL) {
		if (stop_network(env, sb, force, err) < 0)
			return -1;
		changed = true;
		if (netns == NULL) /* else timed with the pin */
			stop_lap(k, STOP_NETNS);
	}
	if (netns != NULL) {
		if ((rc = netns_unpin(netns)) < 0)
			return cradle_err_errno(
				err, -rc,
				"failed to remove network namespace \"%s\" of sandbox \"%s\"",
				netns, sb->id);
		changed = true;
		stop_lap(k, STOP_NETNS);
	}
	if (!changed)
		return 0;
	sb->rec.shm_path = NULL;
	sb->rec.netns_path = NULL;
	memset(&sb->rec.pod_ips, 0, sizeof(sb->rec.pod_ips));
	if (records_put(env->store, &sb->rec, err) < 0) {
		sb->rec.shm_path = shm;
		sb->rec.netns_path = netns;
		sb->rec.pod_ips = ips;
		k->unsaved = true;
		return -1;
	}
	free(shm);
	free(netns);
	proto_strs_fini(&ips);
	stop_lap(k, STOP_RECORD);
	return 0;
}

/* A stop, timed: one that had something to do is counted (core/stats.h)
 * and leaves its step times on the sandbox; one of a sandbox already
 * stopped is not a stop. */
static int
stop_locked(const struct worker_env *env, struct sandbox *sb, int64_t timeout_ms, bool force,
            bool *unsaved, struct cradle_err *err)
{
	struct stop_clock k = { .stats = env->stats };
	int rc;

	k.t0 = k.t = clock_mono_ns();
	rc = stop_steps(env, sb, timeout_ms, force, &k, err);
	if (unsaved != NULL)
		*unsaved = k.unsaved;
	if (rc == 0 && k.did == 0)
		return 0;
	if (rc == 0)
		sandbox_queue_lifecycle(sb, PROTO_EVENT_STOPPED);
	stats_done(env->stats, STATS_STOP, clock_mono_ns() - k.t0,
	           rc == 0 ? CRADLE_OK : stats_failure_code(err));
	for (unsigned i = 0; i < STOP_N_STEPS; i++)
		stats_name_step(STATS_STOP, i, stop_step_names[i]);
	pthread_mutex_lock(&sb->view_lock);
	memcpy(sb->step_us[STATS_STOP], k.us, sizeof(k.us));
	sb->n_steps[STATS_STOP] = STOP_N_STEPS;
	pthread_mutex_unlock(&sb->view_lock);
	return rc;
}

/* A sandbox the oci launcher ran: the runtime's delete (its state, its
 * cgroups), the task stopped already.  A handler no longer configured
 * cannot be asked: logged, and the removal goes on. */
static int
remove_oci(const struct worker_env *env, struct sandbox *sb, struct cradle_err *err)
{
	struct ocirun o;

	if (sb->rec.launcher == NULL || strcmp(sb->rec.launcher, RUNTIME_LAUNCHER_OCI) != 0)
		return 0;
	const char *h = sb->rec.runtime_handler != NULL && sb->rec.runtime_handler[0] != '\0'
	                        ? sb->rec.runtime_handler
	                        : env->runtimes.default_name;
	const struct runtime_config *rt = runtime_find(&env->runtimes, h);
	if (rt == NULL || !runtime_is_oci(rt)) {
		log_warn("sandbox %s: runtime \"%s\" that ran it is no longer an oci handler: "
		         "its runtime state is left",
		         sb->id, h);
		return 0;
	}
	if (ocirun_init(&o, rt, env->state, err) < 0 || ocirun_delete(&o, sb->id, err) < 0) {
		cradle_err_wrap(err, "failed to delete sandbox container \"%s\"", sb->id);
		return -1;
	}
	return 0;
}

/* A sandbox of the systemd cgroup driver: its scope unit, named in its
 * volatile dir (sandbox/sdscope.h), is stopped and forgotten before
 * anything else goes, so that the name is still there for a retry when
 * systemd fails; systemd's cgroups are never removed by hand. */
static int
remove_scope(const struct worker_env *env, struct sandbox *sb, struct cradle_err *err)
{
	char path[FS_PATH_MAX], unit[SDSCOPE_NAME_MAX];
	ssize_t len;

	if (fs_path(path, err, "%s/sandboxes/%s/%s", env->state, sb->id, SDSCOPE_INTENT_FILE) < 0)
		return -1;
	if ((len = fs_read(path, unit, sizeof(unit))) <= 0)
		return 0;
	unit[strcspn(unit, "\n")] = '\0';
	if (sdscope_stop(unit, err) < 0) {
		cradle_err_wrap(err, "failed to remove sandbox cgroup of \"%s\"", sb->id);
		return -1;
	}
	return 0;
}

static int
remove_locked(const struct worker_env *env, struct sandbox *sb, struct cradle_err *err)
{
	char path[FS_PATH_MAX];
	int rc;

	if (sb->removed)
		return 0;
	/* CRI: Remove force-stops a running sandbox first.  A stop that did
	 * everything but store its record (a full store) is enough: the
	 * record goes below, which is what frees room. */
	bool unsaved = false;
	if (stop_locked(env, sb, DEFAULT_STOP_TIMEOUT_MS, true, &unsaved, err) < 0 && !unsaved)
		return -1;
	if (remove_oci(env, sb, err) < 0 || remove_scope(env, sb, err) < 0)
		return -1;
	if (fs_path(path, err, "%s/sandboxes/%s", env->root, sb->id) < 0)
		return -1;
	if ((rc = fs_rmtree(path)) < 0)
		return cradle_err_errno(err, -rc, "failed to remove sandbox root directory \"%s\"",
		                        path);
	if (fail_at(env, "remove:root-dir", sb->id, err))
		return -1;
	if (fs_path(path, err, "%s/sandboxes/%s", env->state, sb->id) < 0)
		return -1;
	if ((rc = fs_rmtree(path)) < 0)
		return cradle_err_errno(
			err, -rc, "failed to remove volatile sandbox root directory \"%s\"", path);
	/* stop removed the shm its record names; one no record names (a
	 * start cut short by a crash) goes here, if recovery left it */
	if (fs_path(path, err, "%s/shm/%s", env->state, sb->id) < 0)
		return -1;
	if ((rc = files_remove_shm(path)) < 0)
		return cradle_err_errno(err, -rc, "failed to remove sandbox shm \"%s\"", path);
	if (sb->rec.cgroup_path != NULL &&
	    cgroup_remove_path(env->node->cgroups, sb->rec.cgroup_path, err) < 0)
		return -1;
	if (records_del(env->store, sb->id, err) < 0)
		return -1;
	/* a started sandbox holds the image it started from */
	if (sb->rec.image_ref != NULL)
		images_release(env->images, sb->rec.image_ref, sb->rec.image_digest);
	/* the MCS level goes with the sandbox (RemovePodSandbox) */
	selinux_labels_release(env->node->selinux, sb->rec.process_label);
	sb->removed = true;
	table_del(env->table, sb);
	sandbox_queue_lifecycle(sb, PROTO_EVENT_REMOVED);
	return 0;
}

static bool
labels_match(const struct proto_kvs *want, const struct proto_kvs *have)
{
	for (size_t i = 0; i < want->n; i++) {
		const char *v = proto_kvs_get(have, want->v[i].key);
		if (v == NULL || strcmp(v, want->v[i].value) != 0)
			return false;
	}
	return true;
}

/* Whether sb's published view passes req's filters; view_lock held.  The
 * label filter needs the labels, so only then is the view decoded. */
static int
view_matches(const struct sandbox *sb, const struct proto_request *req, bool *keep,
             struct cradle_err *err)
{
	struct proto_sandbox s;

	*keep = !sb->view_removed &&
	        (req->state_filter < 0 || proto_phase_state(sb->view_phase) == req->state_filter);
	if (!*keep || req->label_filter.n == 0)
		return 0;
	if (sandbox_view_decode(sb, &s, err) < 0)
		return -1;
	*keep = labels_match(&req->label_filter, &s.config.labels);
	proto_sandbox_fini(&s);
	return 0;
}

/* One page of the sandboxes after req->after, in id order (table_snapshot
 * sorts them): up to PROTO_LIST_PAGE_BYTES of encoded sandboxes (at least
 * one) and PROTO_MAX_LIST_REPLY of them; rep->more when others follow.
 * Each published view is copied into the reply as it was packed. */
static int
op_list(const struct worker_env *env, const struct proto_request *req, struct proto_reply *rep,
        struct cradle_err *err)
{
	struct sandbox **all = NULL;
	long n = table_snapshot(env->table, &all);
	msgpack_sbuffer page;
	int rc = 0;

	if (n < 0)
		return cradle_err_nomem(err);
	msgpack_sbuffer_init(&page);
	long first = 0;
	if (req->after[0] != '\0')
		while (first < n && strcmp(all[first]->id, req->after) <= 0)
			sandbox_rele(all[first++]);
	for (long i = first; i < n; i++) {
		struct sandbox *sb = all[i];
		bool keep = false;
		/* the published view: a start in progress does not hold us up */
		pthread_mutex_lock(&sb->view_lock);
		if (rc == 0 && !rep->more)
			rc = view_matches(sb, req, &keep, err);
		if (keep && rep->n_sandboxes > 0 &&
		    (rep->n_sandboxes == PROTO_MAX_LIST_REPLY ||
		     page.size + sb->view_len > PROTO_LIST_PAGE_BYTES)) {
			rep->more = true; /* the next page starts here */
			keep = false;
		}
		if (keep) {
			if (msgpack_sbuffer_write(&page, sb->view_msg, sb->view_len) == 0)
				rep->n_sandboxes++;
			else
				rc = cradle_err_nomem(err);
		}
		pthread_mutex_unlock(&sb->view_lock);
		sandbox_rele(sb);
	}
	free(all);
	if (rc == 0 && rep->n_sandboxes > 0) {
		rep->sandboxes_msg_len = page.size;
		rep->sandboxes_msg = msgpack_sbuffer_release(&page);
	}
	msgpack_sbuffer_destroy(&page);
	return rc;
}

/* What a verbose status adds: the step times of the sandbox's last start
 * and stop, named as their pipelines name them.  view_lock held. */
static int
status_timings(const struct sandbox *sb, struct proto_sandbox *out, struct cradle_err *err)
{
	struct proto_timings *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return cradle_err_nomem(err);
	for (int op = 0; op < STATS_N_OPS; op++) {
		for (unsigned i = 0; i < sb->n_steps[op] && i < STATS_MAX_STEPS; i++) {
			struct proto_step_time *st = &t->v[op][t->n[op]++];
			const char *name = stats_step_name(op, i);
			if (name != NULL && proto_valid_step_name(name))
				snprintf(st->name, sizeof(st->name), "%s", name);
			else
				snprintf(st->name, sizeof(st->name), "step-%u", i);
			st->us = sb->step_us[op][i];
		}
	}
	out->timings = t;
	return 0;
}

/* Status reads the published view (core/table.h), never waiting for the
 * sandbox's lock. */
static int
op_status(const struct worker_env *env, const struct proto_request *req, struct proto_reply *rep,
          struct cradle_err *err)
{
	struct sandbox *sb = table_get(env->table, req->id);
	int rc = 0;

	if (sb == NULL)
		return not_found(req->id, err);
	pthread_mutex_lock(&sb->view_lock);
	if (sb->view_removed)
		rc = not_found(sb->id, err);
	else if ((rep->sandboxes = calloc(1, sizeof(*rep->sandboxes))) == NULL)
		rc = cradle_err_nomem(err);
	else if ((rc = sandbox_view_decode(sb, rep->sandboxes, err)) == 0)
		rep->n_sandboxes = 1;
	if (rc == 0 && req->verbose)
		rc = status_timings(sb, rep->sandboxes, err);
	pthread_mutex_unlock(&sb->view_lock);
	sandbox_rele(sb);
	return rc;
}

static int
image_to_proto(const struct worker_env *env, const struct image_record *r, struct proto_image *out)
{
	memset(out, 0, sizeof(*out));
	if ((out->ref = strdup(r->ref)) == NULL)
		return -1;
	snprintf(out->manifest_digest, sizeof(out->manifest_digest), "%s", r->manifest_digest);
	snprintf(out->config_digest, sizeof(out->config_digest), "%s", r->config_digest);
	for (size_t i = 0; i < r->n_layers; i++)
		if (proto_strs_add(&out->layers, r->layers[i]) < 0)
			return -1;
	for (size_t i = 0; i < r->labels.n; i++)
		if (proto_kvs_add(&out->labels, r->labels.v[i].key, r->labels.v[i].value) < 0)
			return -1;
	out->size = r->size;
	out->pinned = r->pinned;
	out->created_at = r->created_at;
	out->in_use = images_in_use(env->images, r->ref);
	return 0;
}

struct pull_progress {
	const struct worker_env *env;
	const char *ref;
	int64_t last_ns;
};

/* Progress events for the CLI's bar, at most ten a second per pull. */
static void
pull_progress(void *arg, uint64_t done, int64_t total)
{
	struct pull_progress *pp = arg;
	int64_t now = clock_mono_ns();
	bool last = total >= 0 && done >= (uint64_t)total;
	if (!last && now - pp->last_ns < 100 * 1000 * 1000)
		return;
	pp->last_ns = now;
	struct proto_event ev;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.type, sizeof(ev.type), "%s", PROTO_EVENT_IMAGE_PROGRESS);
	snprintf(ev.ref, sizeof(ev.ref), "%s", pp->ref);
	ev.done = done;
	ev.total = total;
	events_publish(pp->env->events, &ev);
}

static int
op_image(const struct worker_env *env, const struct proto_request *req, struct proto_reply *rep,
         struct cradle_err *err)
{
	struct image_record rec, *all = NULL;
	size_t n = 0;
	int rc;

	memset(&rec, 0, sizeof(rec));
	switch (req->op) {
	case OP_IMAGE_PULL: {
		struct pull_progress pp = { .env = env, .ref = req->ref };
		/* a pull of the sandbox image pins it, as the reference's
		 * PullImage labels it io.cri-containerd.pinned=pinned */
		rc = images_pull_auth(env->images, req->ref, proto_ref_same(req->ref, env->image),
		                      req->auth, pull_progress, &pp, &rec, err);
		break;
	}
	case OP_IMAGE_STATUS:
		rc = images_get(env->images, req->ref, &rec, err);
		break;
	case OP_IMAGE_IMPORT:
		rc = images_import(env->images, req->path, req->ref, false, &rec, err);
		break;
	case OP_IMAGE_REMOVE:
		return images_remove(env->images, req->ref, err);
	default: /* OP_IMAGE_LIST */
		if (images_list(env->images, &all, &n, err) < 0)
			return -1;
		rep->images = calloc(n + 1, sizeof(*rep->images));
		rc = rep->images == NULL ? -1 : 0;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			rc = image_to_proto(env, &all[i], &rep->images[i]);
			rep->n_images = i + 1;
		}
		images_records_free(all, n);
		if (rc < 0)
			return cradle_err_nomem(err);
		return 0;
	}
	if (rc < 0)
		return -1;
	rep->images = calloc(1, sizeof(*rep->images));
	rc = rep->images == NULL ? -1 : image_to_proto(env, &rec, &rep->images[0]);
	if (rep->images != NULL)
		rep->n_images = 1;
	image_record_fini(&rec);
	if (rc < 0)
		return cradle_err_nomem(err);
	return 0;
}

/* daemon.stats: the timings, counters and gauges of core/stats.h. */
static int
op_stats(const struct worker_env *env, struct proto_reply *rep, struct cradle_err *err)
{
	if ((rep->stats = calloc(1, sizeof(*rep->stats))) == NULL)
		return cradle_err_nomem(err);
	stats_read(env->stats, rep->stats);
	rep->stats->quarantined = table_quarantined(env->table);
	if (env->stats == NULL) /* no counters kept; the table still counts */
		stats_count_sandboxes(env->table, rep->stats->sandboxes);
	return 0;
}

/* daemon.info's config: the INI text of `cradled --print-config` as its
 * sections, keys in the order printed ("key =" is an empty value). */
static int
info_config(const char *text, struct proto_info *info, struct cradle_err *err)
{
	size_t cap = 0;

	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		int rc = 0;

		if (len > 2 && line[0] == '[' && line[len - 1] == ']') {
			if (info->n_sections == PROTO_MAX_CONFIG_SECTIONS)
				return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
				                      "daemon.info: more than %d config sections",
				                      PROTO_MAX_CONFIG_SECTIONS);
			if (info->n_sections == cap) {
				size_t ncap = cap ? 2 * cap : 8;
				void *v = realloc(info->sections, ncap * sizeof(*info->sections));
				if (v == NULL)
					return cradle_err_nomem(err);
				info->sections = v;
				cap = ncap;
			}
			struct proto_config_section *s = &info->sections[info->n_sections];
			memset(s, 0, sizeof(*s));
			if ((s->name = strndup(line + 1, len - 2)) == NULL)
				return cradle_err_nomem(err);
			info->n_sections++;
		} else if (info->n_sections > 0 && memchr(line, '=', len) != NULL) {
			const char *eq = memchr(line, '=', len), *v = eq + 1, *k_end = eq;
			while (k_end > line && k_end[-1] == ' ')
				k_end--;
			while (v < line + len && *v == ' ')
				v++;
			char *key = strndup(line, (size_t)(k_end - line));
			char *val = strndup(v, (size_t)(line + len - v));
			if (key == NULL || val == NULL)
				rc = -ENOMEM;
			else if (key[0] != '\0')
				rc = proto_kvs_add(&info->sections[info->n_sections - 1].keys, key,
				                   val);
			free(key);
			free(val);
			if (rc < 0)
				return cradle_err_nomem(err);
		}
		line = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

static const char *
layout_name(enum cgroup_layout l)
{
	switch (l) {
	case CGROUP_V1:
		return "v1";
	case CGROUP_V2:
		return "v2";
	case CGROUP_HYBRID:
		return "hybrid";
	}
	return "unknown";
}

/* daemon.info's "cniconfig" section, after the configuration's (as
 * `crictl info` shows its cniconfig): the conf dir, and the network it
 * loads now -- its file, name, cniVersion and plugin types in order -- or
 * why none loads ("error"). */
static int
info_cni(const struct worker_env *env, const struct cni_net *net, const struct cradle_err *e,
         struct proto_info *info, struct cradle_err *err)
{
	char num[16], *types = NULL;
	size_t len = 0;
	int rc = 0;

	if (info->n_sections == PROTO_MAX_CONFIG_SECTIONS)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "daemon.info: more than %d config sections",
		                      PROTO_MAX_CONFIG_SECTIONS);
	void *v = realloc(info->sections, (info->n_sections + 1) * sizeof(*info->sections));
	if (v == NULL)
		return cradle_err_nomem(err);
	info->sections = v;
	struct proto_config_section *s = &info->sections[info->n_sections];
	memset(s, 0, sizeof(*s));
	if ((s->name = strdup("cniconfig")) == NULL)
		return cradle_err_nomem(err);
	info->n_sections++;
	snprintf(num, sizeof(num), "%u", env->cni_max_conf_num);
	rc = proto_kvs_add(&s->keys, "conf_dir", env->cni_conf_dir ? env->cni_conf_dir : "");
	if (rc == 0)
		rc = proto_kvs_add(&s->keys, "max_conf_num", num);
	if (rc == 0 && net == NULL)
		rc = proto_kvs_add(&s->keys, "error", e->msg);
	if (rc < 0 || net == NULL)
		return rc < 0 ? cradle_err_nomem(err) : 0;
	FILE *f = open_memstream(&types, &len);
	for (size_t i = 0; f != NULL && i < cni_net_plugins(net); i++)
		fprintf(f, "%s%s", i ? "," : "", cni_net_plugin_type(net, i));
	if (f == NULL || fclose(f) != 0) {
		free(types);
		return cradle_err_nomem(err);
	}
	rc = proto_kvs_add(&s->keys, "file", cni_net_file(net) ? cni_net_file(net) : "");
	if (rc == 0)
		rc = proto_kvs_add(&s->keys, "network", cni_net_name(net) ? cni_net_name(net) : "");
	if (rc == 0)
		rc = proto_kvs_add(&s->keys, "cni_version",
		                   cni_net_version(net) ? cni_net_version(net) : "");
	if (rc == 0)
		rc = proto_kvs_add(&s->keys, "plugins", types);
	free(types);
	return rc < 0 ? cradle_err_nomem(err) : 0;
}

/* daemon.info: as `crictl info` -- the runtime's conditions, what the
 * node allows (detected at start-up, sandbox/node.h), the effective
 * configuration and the CNI network.  NetworkReady is whether the CNI
 * conf_dir loads now, as containerd's CRI status says. */
static int
op_info(const struct worker_env *env, struct proto_reply *rep, struct cradle_err *err)
{
	struct proto_info *info = calloc(1, sizeof(*info));
	struct proto_node_info *n;
	struct cni_net *net = NULL;
	struct cradle_err e = { 0 };
	struct utsname u;

	if ((rep->info = info) == NULL)
		return cradle_err_nomem(err);
	snprintf(info->version.version, sizeof(info->version.version), "%s", env->version);
	info->version.api_version = PROTO_VERSION;
	info->version.pid = (int32_t)getpid();

	info->n_conditions = 2;
	snprintf(info->conditions[0].type, sizeof(info->conditions[0].type), "RuntimeReady");
	info->conditions[0].status = true;
	struct proto_condition *nc = &info->conditions[1];
	snprintf(nc->type, sizeof(nc->type), "NetworkReady");
	if (env->cni_conf_dir == NULL)
		cradle_err_set(&e, CRADLE_FAILED_PRECONDITION, "no CNI config directory");
	else if (cni_load(env->cni_conf_dir, env->cni_max_conf_num, &net, &e) == 0)
		nc->status = true;
	if (!nc->status) {
		snprintf(nc->reason, sizeof(nc->reason), "NetworkPluginNotReady");
		snprintf(nc->message, sizeof(nc->message), "Network plugin returns error: %.480s",
		         e.msg);
	}

	n = &info->node;
	snprintf(n->cgroup_layout, sizeof(n->cgroup_layout), "unknown");
	snprintf(n->device_control, sizeof(n->device_control), "none");
	if (env->node != NULL) {
		const struct node_config *c = &env->node->cfg;
		snprintf(n->cgroup_layout, sizeof(n->cgroup_layout), "%s",
		         layout_name(c->cgroup_layout));
		if (env->node->cgroups != NULL) {
			const struct cgroup_sys *cg = env->node->cgroups;
			if ((n->cgroups = strdup(cgroup_describe(cg))) == NULL) {
				cni_free(net);
				return cradle_err_nomem(err);
			}
			if (cgroup_devices_prog(cg) >= 0)
				snprintf(n->device_control, sizeof(n->device_control), "ebpf");
			else if (cgroup_v1_mount(cg, "devices") != NULL)
				snprintf(n->device_control, sizeof(n->device_control), "v1");
		}
		n->selinux_applied = env->node->selinux_apply;
		n->seccomp_available = c->seccomp_available;
		n->restrict_oom_score_adj = c->restrict_oom_score_adj;
		n->oom_score_adj = c->daemon_oom_score_adj;
		n->in_user_namespace = c->daemon_in_userns;
	}
	n->selinux_enabled = selinux_apply_enabled();
	if (uname(&u) == 0)
		snprintf(n->kernel, sizeof(n->kernel), "%s", u.release);
	int rc = 0;
	if (env->config_text != NULL) {
		pthread_mutex_lock(&env->config_text->lock);
		rc = info_config(env->config_text->text, info, err);
		pthread_mutex_unlock(&env->config_text->lock);
	}
	if (rc == 0)
		rc = info_cni(env, net, &e, info, err);
	cni_free(net);
	return rc;
}

/* The sandbox image, pulled when missing, before any sandbox lock is
 * taken: a pull can take up to [registry] timeout, and a stop or remove
 * of the sandbox must not wait behind it.  The start's image step then
 * finds it present (unless an rmi came in between: then that step pulls,
 * as before). */
static int
ensure_image(const struct worker_env *env, struct cradle_err *err)
{
	struct image_record rec;

	memset(&rec, 0, sizeof(rec));
	if (images_ensure(env->images, env->image, &rec, err) < 0) {
		cradle_err_wrap(err, "failed to get sandbox image \"%s\"", env->image);
		return -1;
	}
	image_record_fini(&rec);
	return 0;
}

static int
op_dispatch(const struct worker_env *env, struct launch_stack *ls, struct proto_request *req,
            struct proto_reply *rep, struct cradle_err *err)
{
	struct sandbox *sb = NULL;
	int rc = 0;

	switch (req->op) {
	case OP_VERSION:
		snprintf(rep->version.version, sizeof(rep->version.version), "%s", env->version);
		rep->version.api_version = PROTO_VERSION;
		rep->version.pid = (int32_t)getpid();
		return 0;
	case OP_CREATE:
	case OP_RUN:
		if (req->op == OP_RUN && ensure_image(env, err) < 0)
			return -1;
		sb = create_locked(env, req, req->op == OP_CREATE, err);
		if (sb == NULL)
			return -1;
		if (req->op == OP_RUN && start_locked(env, ls, sb, err) < 0) {
			/* run is one request: a failed start leaves no record. */
			forget_locked(env, sb);
			rc = -1;
		} else {
			reply_started(rep, sb);
			sandbox_queue_lifecycle(sb, PROTO_EVENT_CREATED);
			if (req->op == OP_RUN)
				sandbox_queue_lifecycle(sb, PROTO_EVENT_STARTED);
		}
		sandbox_unlock(sb, env->events);
		sandbox_rele(sb);
		return rc;
	case OP_LIST:
		return op_list(env, req, rep, err);
	case OP_STATUS:
		return op_status(env, req, rep, err);
	case OP_IMAGE_PULL:
	case OP_IMAGE_LIST:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_REMOVE:
	case OP_IMAGE_IMPORT:
		return op_image(env, req, rep, err);
	case OP_DAEMON_STATS:
		return op_stats(env, rep, err);
	case OP_DAEMON_INFO:
		return op_info(env, rep, err);
	case OP_EVENTS_SINCE:
		return events_since(env->events, req->since, PROTO_MAX_EVENTS_PAGE, rep, err);
	default:
		break;
	}

	sb = table_get(env->table, req->id);
	if (sb == NULL) {
		/* CRI: stop and remove of an unknown id succeed. */
		if (req->op == OP_STOP || req->op == OP_REMOVE)
			return 0;
		return not_found(req->id, err);
	}
	if (req->op == OP_START && ensure_image(env, err) < 0) {
		sandbox_rele(sb);
		return -1;
	}
	pthread_mutex_lock(&sb->lock);
	log_ctx_set(NULL, sb->rec.config.metadata.namespace, sb->rec.config.metadata.name);
	switch (req->op) {
	case OP_START:
		rc = start_locked(env, ls, sb, err);
		if (rc == 0) {
			reply_started(rep, sb);
			sandbox_queue_lifecycle(sb, PROTO_EVENT_STARTED);
		}
		break;
	case OP_STOP:
		rc = sb->removed ? 0 : stop_locked(env, sb, req->timeout_ms, false, NULL, err);
		break;
	case OP_REMOVE:
		rc = remove_locked(env, sb, err);
		break;
	default:
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "unknown operation %d", req->op);
	}
	sandbox_unlock(sb, env->events);
	sandbox_rele(sb);
	return rc;
}

bool
ops_is_quick(int op)
{
	return op == OP_VERSION || op == OP_STATUS || op == OP_LIST || op == OP_DAEMON_STATS;
}

/* The operations that change state: each request of one is logged at
 * info (docs/OPERATIONS.md, "Logs"), the others at debug. */
static bool
changes_state(int op)
{
	switch (op) {
	case OP_CREATE:
	case OP_RUN:
	case OP_START:
	case OP_STOP:
	case OP_REMOVE:
	case OP_IMAGE_PULL:
	case OP_IMAGE_IMPORT:
	case OP_IMAGE_REMOVE:
		return true;
	default:
		return false;
	}
}

/* One line per request: the operation, its image (the sandbox and pod are
 * the thread's log context), the time it took and how it ended.  A
 * failure is logged at the request's level, an INTERNAL one (cradle's own
 * fault, not the caller's) at warn.  Never the pod's config or anything
 * a registry was sent. */
static void
log_request(const struct proto_request *req, const struct proto_reply *rep, int64_t t0)
{
	enum log_level level = changes_state(req->op) ? LOG_INFO : LOG_DEBUG;
	char what[700] = "";

	if (!rep->ok && rep->err.code == CRADLE_INTERNAL && level == LOG_INFO)
		level = LOG_WARN;
	if (level < log_get_level())
		return;
	double ms = (double)(clock_mono_ns() - t0) / 1e6;
	const char *op = proto_op_name(req->op);
	if (req->op == OP_IMAGE_IMPORT && req->path != NULL)
		snprintf(what, sizeof(what), " %.300s%s%.300s", req->path, req->ref ? " as " : "",
		         req->ref ? req->ref : "");
	else if (req->ref != NULL)
		snprintf(what, sizeof(what), " %.600s", req->ref);
	int prec = ms < 1 ? 3 : 1; /* a refusal takes microseconds */
	if (rep->ok)
		log_msg(level, "%s%s ok in %.*f ms", op ? op : "?", what, prec, ms);
	else
		log_msg(level, "%s%s failed in %.*f ms: %s: %s", op ? op : "?", what, prec, ms,
		        cradle_code_name(rep->err.code), rep->err.msg);
}

void
ops_run(const struct worker_env *env, struct launch_stack *ls, struct proto_request *req,
        struct proto_reply *rep)
{
	struct cradle_err err = { 0 };
	int64_t t0 = clock_mono_ns();

	rep->op = req->op;
	/* the log context of this request, on this thread (util/log.h) */
	log_ctx_clear();
	if (req->op == OP_RUN || req->op == OP_CREATE)
		log_ctx_set(NULL, req->config.metadata.namespace, req->config.metadata.name);
	else if (req->id[0] != '\0')
		log_ctx_set(req->id, NULL, NULL);
	if (op_dispatch(env, ls, req, rep, &err) < 0) {
		/* a failed op returns no partial result */
		int op = rep->op;
		proto_reply_fini(rep);
		proto_reply_init(rep, op);
		rep->ok = false;
		rep->err = err;
		if (rep->err.code == CRADLE_OK)
			rep->err.code = CRADLE_INTERNAL;
	} else
		rep->ok = true;
	log_request(req, rep, t0);
	log_ctx_clear();
}
