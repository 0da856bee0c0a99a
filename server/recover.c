/* recover.c - adopt what a previous run left. */
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../image/images.h"
#include "../worker/files.h"
#include "../worker/launch.h"
#include "../worker/netns.h"
#include "../worker/selinux.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "reaper.h"
#include "store.h"
#include "table.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct counts {
	struct daemon *d;
	int adopted, exited, created;
};

static int
adopt(struct proto_sandbox *s, void *arg)
{
	struct counts *n = arg;
	struct daemon *d = n->d;
	struct cradle_err err;
	struct proto_event ev;
	int pidfd = -1;
	bool announce = false;

	if (s->phase == PHASE_RUNNING) {
		pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
		if (pidfd >= 0 && (s->pid_start_time == 0 ||
		                   launch_pid_start_time(s->pid) != s->pid_start_time)) {
			close(pidfd);
			pidfd = -1;
		}
		if (pidfd < 0) {
			memset(&ev, 0, sizeof(ev));
			snprintf(ev.type, sizeof(ev.type), "sandbox.exit");
			memcpy(ev.id, s->id, sizeof(ev.id));
			ev.pid = s->pid;
			ev.exit_status = 255;
			ev.exited_at = now_ns();
			s->phase = PHASE_EXITED;
			s->exit_status = 255;
			s->exited_at = ev.exited_at;
			s->pid = 0;
			s->pid_start_time = 0;
			if (store_put_sandbox(d->store, s, &err) < 0)
				log_error("recover %s: %s", s->id, err.msg);
			announce = true;
		}
	}

	struct proto_sandbox rec = *s;
	memset(s, 0, sizeof(*s));     /* stolen: the walk finalises s */
	char *name = sandbox_make_name(&rec.config);
	struct sandbox *sb = name ? sandbox_new(&rec) : NULL;
	if (sb == NULL) {
		free(name);
		proto_sandbox_fini(&rec);
		if (pidfd >= 0)
			close(pidfd);
		return cradle_err_set(&err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
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
			log_error("recover %s: %s", sb->id, err.msg);
			sb->pidfd = -1;
			close(pidfd);
		} else {
			n->adopted++;
		}
	} else if (sb->rec.phase == PHASE_CREATED) {
		n->created++;
	} else {
		n->exited++;
	}
	pthread_mutex_unlock(&sb->lock);
	sandbox_rele(sb);
	if (announce)
		events_publish(d->events, &ev);
	return 0;
}

static void
bad_record(const char *id, const struct cradle_err *e, void *arg)
{
	(void)arg;
	log_error("skipping unreadable record %s: %s", id, e->msg);
}

/* Remove entries of dir that name no known sandbox. */
static void
sweep(struct daemon *d, const char *dir, bool pins)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	char path[8400];

	if (dd == NULL)
		return;
	while ((de = readdir(dd)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct sandbox *sb = proto_valid_id(de->d_name) ? table_get(d->table, de->d_name) : NULL;
		bool keep = false;
		if (sb != NULL) {
			pthread_mutex_lock(&sb->lock);
			keep = !pins || sb->rec.netns_path != NULL;
			pthread_mutex_unlock(&sb->lock);
			sandbox_rele(sb);
		}
		if (keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int r = pins ? netns_unpin(path) : files_rmtree(path);
		if (r < 0)
			log_warn("remove leftover \"%s\": %s", path, strerror(-r));
		else
			log_info("removed leftover \"%s\"", path);
	}
	closedir(dd);
}

int
recover(struct daemon *d, struct cradle_err *err)
{
	struct counts n = { .d = d };
	char dir[4200];

	if (store_foreach_sandbox(d->store, adopt, bad_record, &n, err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/sandboxes", d->cfg.root);
	sweep(d, dir, false);
	snprintf(dir, sizeof(dir), "%s/sandboxes", d->cfg.state);
	sweep(d, dir, false);
	snprintf(dir, sizeof(dir), "%s/netns", d->cfg.state);
	sweep(d, dir, true);
	if (n.adopted + n.exited + n.created > 0)
		log_info("recovered %d running, %d exited, %d created sandboxes",
		         n.adopted, n.exited, n.created);
	return 0;
}
