/* sdscope.c - the systemd cgroup driver's transient scopes (see
 * sdscope.h). */
#include "sandbox/sdscope.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/devices.h"
#include "util/clock.h"
#include "util/fs.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"
#define SD_NO_SUCH_PROCESS "org.freedesktop.systemd1.NoSuchProcess"
#define SYSTEM_BUS_DEFAULT "unix:path=/run/dbus/system_bus_socket"

/* --- names ------------------------------------------------------------------ */

/* systemd's unit name characters (unit_name_is_valid): letters, digits,
 * ":-_.\\" */
static bool
unit_chars_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ':' || c == '-' || c == '_' || c == '.' || c == '\\'))
			return false;
	}
	return true;
}

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);
	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

int
sdscope_parse(const char *cp, char slice[SDSCOPE_NAME_MAX], char unit[SDSCOPE_NAME_MAX],
              struct cradle_err *err)
{
	const char *c1 = cp != NULL ? strchr(cp, ':') : NULL;
	const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;

	if (c2 == NULL || strchr(c2 + 1, ':') != NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "cgroups path \"%s\" is not systemd's \"slice:prefix:name\"",
		                      cp != NULL ? cp : "");
	size_t sl = (size_t)(c1 - cp), pl = (size_t)(c2 - c1 - 1), nl = strlen(c2 + 1);
	const char *name = c2 + 1;
	if (sl == 0) {
		snprintf(slice, SDSCOPE_NAME_MAX, "system.slice");
	} else if (!unit_chars_ok(cp, sl) || !ends_with(cp, sl, ".slice") ||
	           sl >= SDSCOPE_NAME_MAX) {
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "cgroups path \"%s\": \"%.*s\" is not a systemd slice", cp,
		                      (int)sl, cp);
	} else {
		memcpy(slice, cp, sl);
		slice[sl] = '\0';
	}
	if (!unit_chars_ok(name, nl) || (pl > 0 && !unit_chars_ok(c1 + 1, pl)))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "cgroups path \"%s\": prefix or name is not usable in a "
		                      "systemd unit name",
		                      cp);
	if (ends_with(name, nl, ".slice"))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "cgroups path \"%s\": names a slice; a sandbox needs a scope",
		                      cp);
	int n = pl > 0 ? snprintf(unit, SDSCOPE_NAME_MAX, "%.*s-%s.scope", (int)pl, c1 + 1, name)
	               : snprintf(unit, SDSCOPE_NAME_MAX, "%s.scope", name);
	if (n < 0 || n >= SDSCOPE_NAME_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "cgroups path \"%s\": unit name too long", cp);
	return 0;
}

int
sdscope_check_path(const char *handler, const char *parent_text, const char *cgroups_path,
                   struct cradle_err *err)
{
	char slice[SDSCOPE_NAME_MAX], unit[SDSCOPE_NAME_MAX];

	if (cgroups_path != NULL && strchr(cgroups_path, ':') != NULL)
		return sdscope_parse(cgroups_path, slice, unit, err);
	return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
	                      "[runtime.%s] systemd_cgroup: cgroup parent \"%s\" is not a systemd "
	                      "slice (NAME.slice)",
	                      handler, parent_text != NULL ? parent_text : "");
}

/* --- the unit's properties ---------------------------------------------------- */

/* The name /proc/devices gives major in the section of type ('c' or 'b'),
 * or NULL. */
static bool
major_name(const char *text, char type, int major, char *buf, size_t len)
{
	const char *want = type == 'c' ? "Character devices:" : "Block devices:";
	bool in = false;

	for (const char *l = text; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t n = nl != NULL ? (size_t)(nl - l) : strlen(l);
		if (n > 0 && l[n - 1] == ':' && l[0] != ' ') {
			in = n == strlen(want) && memcmp(l, want, n) == 0;
		} else if (in) {
			int m = -1, off = 0;
			if (sscanf(l, " %d %n", &m, &off) == 1 && m == major && off > 0 &&
			    (size_t)off < n) {
				size_t nm = n - (size_t)off;
				if (nm >= len)
					return false;
				memcpy(buf, l + off, nm);
				buf[nm] = '\0';
				return true;
			}
		}
		l = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

static void
add_devices(struct sdscope_req *r, const char *proc_devices)
{
	for (size_t i = 0; i < devices_default_n && r->n_devs < SDSCOPE_DEV_MAX; i++) {
		const struct dev_rule *d = &devices_default_rules[i];
		struct sdscope_dev *o = &r->devs[r->n_devs];
		const char *kind = d->type == 'c' ? "char" : "block";
		char name[32];
		size_t a = 0;

		if (d->major == DEV_ANY)
			snprintf(o->path, sizeof(o->path), "%s-*", kind);
		else if (d->minor == DEV_ANY) {
			/* systemd names a whole major by its driver's name */
			if (proc_devices == NULL ||
			    !major_name(proc_devices, d->type, d->major, name, sizeof(name)))
				continue;
			snprintf(o->path, sizeof(o->path), "%s-%s", kind, name);
		} else
			snprintf(o->path, sizeof(o->path), "/dev/%s/%d:%d", kind, d->major,
			         d->minor);
		if (d->acc & DEV_ACC_READ)
			o->perms[a++] = 'r';
		if (d->acc & DEV_ACC_WRITE)
			o->perms[a++] = 'w';
		if (d->acc & DEV_ACC_MKNOD)
			o->perms[a++] = 'm';
		o->perms[a] = '\0';
		r->n_devs++;
	}
}

/* /proc/devices, read at the first start that needs it: the majors the
 * device rules name (pts, ...) are the kernel's and do not change while
 * pods start, so a start does not read it again. */
static char devices_text[8192];
static ssize_t devices_len;
static pthread_once_t devices_once = PTHREAD_ONCE_INIT;

static void
read_devices(void)
{
	devices_len = fs_read("/proc/devices", devices_text, sizeof(devices_text));
}

int
sdscope_req_init(struct sdscope_req *r, const char *id, const char *cgroups_path, pid_t pid,
                 uint64_t cpu_shares, enum cgroup_layout layout, const char *proc_devices,
                 struct cradle_err *err)
{
	memset(r, 0, sizeof(*r));
	if (sdscope_parse(cgroups_path, r->slice, r->unit, err) < 0)
		return -1;
	r->id = id;
	r->pid = pid;
	r->cpu_shares = cpu_shares;
	r->layout = layout;
	snprintf(r->description, sizeof(r->description), "cradle pod sandbox %s", id);
	if (proc_devices == NULL) {
		pthread_once(&devices_once, read_devices);
		if (devices_len < 0)
			return cradle_err_errno(err, (int)-devices_len, "read /proc/devices");
		proc_devices = devices_text;
	}
	add_devices(r, proc_devices);
	return 0;
}

size_t
sdscope_props(const struct sdscope_req *r, struct sdscope_prop *p, size_t max)
{
	const bool v2 = r->layout == CGROUP_V2;
	struct sdscope_prop all[SDSCOPE_PROPS_MAX];
	size_t n = 0;

	all[n++] = (struct sdscope_prop){ "Description", SDP_STR, r->description, 0, 0 };
	all[n++] = (struct sdscope_prop){ "Slice", SDP_STR, r->slice, 0, 0 };
	all[n++] = (struct sdscope_prop){ "Delegate", SDP_BOOL, NULL, 1, 0 };
	all[n++] = (struct sdscope_prop){ "PIDs", SDP_PIDS, NULL, 0, (uint64_t)r->pid };
	all[n++] = (struct sdscope_prop){ "DefaultDependencies", SDP_BOOL, NULL, 0, 0 };
	all[n++] = (struct sdscope_prop){ "MemoryAccounting", SDP_BOOL, NULL, 1, 0 };
	all[n++] = (struct sdscope_prop){ "CPUAccounting", SDP_BOOL, NULL, 1, 0 };
	all[n++] = (struct sdscope_prop){ v2 ? "IOAccounting" : "BlockIOAccounting", SDP_BOOL, NULL,
		                          1, 0 };
	all[n++] = (struct sdscope_prop){ "TasksAccounting", SDP_BOOL, NULL, 1, 0 };
	if (r->cpu_shares != 0)
		all[n++] =
			v2 ? (struct sdscope_prop){ "CPUWeight", SDP_U64, NULL, 0,
			                            cgroup_shares_to_weight(r->cpu_shares) }
			   : (struct sdscope_prop){ "CPUShares", SDP_U64, NULL, 0, r->cpu_shares };
	all[n++] = (struct sdscope_prop){ "DevicePolicy", SDP_STR, "strict", 0, 0 };
	all[n++] = (struct sdscope_prop){ "DeviceAllow", SDP_DEVICES, NULL, 0, 0 };
	if (n > max)
		n = max;
	memcpy(p, all, n * sizeof(*p));
	return n;
}

/* --- the bus ------------------------------------------------------------------ */

static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
static sd_bus *bus;           /* under bus_lock */
static sd_bus_slot *job_slot; /* the JobRemoved match */
static struct {
	char job[256];   /* the job waited for, "" none */
	char result[32]; /* its result, once removed */
	bool done;
} waiter;
/* the last call found the connection closed by the other end */
static bool stale;

static int
on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	uint32_t id;
	const char *path, *unit, *result;

	(void)userdata;
	(void)ret_error;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (waiter.job[0] != '\0' && strcmp(path, waiter.job) == 0) {
		snprintf(waiter.result, sizeof(waiter.result), "%s", result);
		waiter.done = true;
	}
	return 0;
}

static void
bus_drop(void)
{
	job_slot = sd_bus_slot_unref(job_slot);
	bus = sd_bus_flush_close_unref(bus);
}

void
sdscope_close(void)
{
	pthread_mutex_lock(&bus_lock);
	bus_drop();
	pthread_mutex_unlock(&bus_lock);
}

static const char *
system_bus_address(void)
{
	const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	return a != NULL && a[0] != '\0' ? a : SYSTEM_BUS_DEFAULT;
}

/* Connect to address ("unix:path=..."); client: through a broker (Hello,
 * signals by subscription and match). */
static int
connect_at(const char *address, bool client, sd_bus **out)
{
	sd_bus *b = NULL;
	int r;

	if ((r = sd_bus_new(&b)) < 0)
		return r;
	if ((r = sd_bus_set_address(b, address)) < 0 ||
	    (r = sd_bus_set_bus_client(b, client)) < 0 || (r = sd_bus_start(b)) < 0) {
		sd_bus_unref(b);
		return r;
	}
	*out = b;
	return 0;
}

/* Open the connection when there is none: private socket (root), then
 * the system bus.  Under bus_lock. */
static int
bus_get(const char *address, struct cradle_err *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char why[512] = "";
	bool client = true;
	int r = 0;

	if (bus != NULL)
		return 0;
	if (address != NULL) {
		client = strstr(address, SDSCOPE_PRIVATE_SOCKET) == NULL;
		r = connect_at(address, client, &bus);
		if (r < 0)
			return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			                      "systemd: connect to %s: %s", address, strerror(-r));
	} else {
		if (geteuid() == 0) {
			r = connect_at("unix:path=" SDSCOPE_PRIVATE_SOCKET, false, &bus);
			client = false;
			if (r < 0)
				snprintf(why, sizeof(why), "%s: %s; ", SDSCOPE_PRIVATE_SOCKET,
				         strerror(-r));
		}
		if (bus == NULL) {
			client = true;
			r = connect_at(system_bus_address(), true, &bus);
			if (r < 0)
				return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
				                      "systemd: no connection to systemd (%s"
				                      "system bus %s: %s)",
				                      why, system_bus_address(), strerror(-r));
		}
	}
	/* every signal of the manager reaches a private connection; a bus
	 * client must subscribe and match */
	r = sd_bus_match_signal(bus, &job_slot, client ? SD_DEST : NULL, SD_PATH, SD_MANAGER,
	                        "JobRemoved", on_job_removed, NULL);
	if (r >= 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL,
		                       "");
	if (r < 0) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "systemd: subscribe on %s: %s",
		               address != NULL ? address
		               : client        ? system_bus_address()
		                               : SDSCOPE_PRIVATE_SOCKET,
		               sd_bus_error_is_set(&e) ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		bus_drop();
		return -1;
	}
	return 0;
}

/* Wait (bus_lock held) for the job at path to be removed; its result. */
static int
wait_job(const char *what, const char *unit, const char *path, struct cradle_err *err)
{
	int64_t deadline = clock_mono_ns() + (int64_t)SDSCOPE_TIMEOUT_MS * 1000000;
	int r;

	snprintf(waiter.job, sizeof(waiter.job), "%s", path);
	waiter.done = false;
	while (!waiter.done) {
		if ((r = sd_bus_process(bus, NULL)) < 0) {
			cradle_err_set(err, CRADLE_UNAVAILABLE, "systemd: %s unit %s: bus: %s",
			               what, unit, strerror(-r));
			bus_drop();
			break;
		}
		if (r > 0)
			continue;
		int64_t left = deadline - clock_mono_ns();
		if (left <= 0) {
			cradle_err_set(err, CRADLE_UNAVAILABLE,
			               "systemd: %s unit %s: job %s not done after %d ms", what,
			               unit, path, SDSCOPE_TIMEOUT_MS);
			break;
		}
		if ((r = sd_bus_wait(bus, (uint64_t)(left / 1000))) < 0 && r != -EINTR) {
			cradle_err_set(err, CRADLE_UNAVAILABLE, "systemd: %s unit %s: bus: %s",
			               what, unit, strerror(-r));
			bus_drop();
			break;
		}
	}
	waiter.job[0] = '\0';
	if (!waiter.done)
		return -1;
	if (strcmp(waiter.result, "done") != 0)
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "systemd: %s unit %s: job result \"%s\"", what, unit,
		                      waiter.result);
	return 0;
}

/* A method call's D-Bus error (or errno) into err; a broken connection
 * is dropped. */
static int
call_failed(const char *what, const char *unit, int r, sd_bus_error *e, struct cradle_err *err)
{
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_DISCONNECTED)) {
		/* sd-bus's own answer for a connection the other end closed */
		cradle_err_set(err, CRADLE_UNAVAILABLE, "systemd: %s unit %s: %s: %s", what, unit,
		               e->name, e->message != NULL ? e->message : "");
		bus_drop();
		stale = true;
	} else if (sd_bus_error_is_set(e))
		cradle_err_set(err, CRADLE_INTERNAL, "systemd: %s unit %s: %s: %s", what, unit,
		               e->name, e->message != NULL ? e->message : "");
	else {
		cradle_err_set(err, CRADLE_UNAVAILABLE, "systemd: %s unit %s: %s", what, unit,
		               strerror(-r));
		bus_drop();
		stale = r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE;
	}
	sd_bus_error_free(e);
	return -1;
}

static int
append_prop(sd_bus_message *m, const struct sdscope_req *req, const struct sdscope_prop *p)
{
	int r;

	switch (p->type) {
	case SDP_STR:
		return sd_bus_message_append(m, "(sv)", p->name, "s", p->s);
	case SDP_BOOL:
		return sd_bus_message_append(m, "(sv)", p->name, "b", p->b);
	case SDP_U64:
		return sd_bus_message_append(m, "(sv)", p->name, "t", p->u);
	case SDP_PIDS:
		return sd_bus_message_append(m, "(sv)", p->name, "au", 1, (uint32_t)p->u);
	case SDP_DEVICES:
		if ((r = sd_bus_message_open_container(m, 'r', "sv")) < 0 ||
		    (r = sd_bus_message_append(m, "s", p->name)) < 0 ||
		    (r = sd_bus_message_open_container(m, 'v', "a(ss)")) < 0 ||
		    (r = sd_bus_message_open_container(m, 'a', "(ss)")) < 0)
			return r;
		for (size_t i = 0; i < req->n_devs; i++)
			if ((r = sd_bus_message_append(m, "(ss)", req->devs[i].path,
			                               req->devs[i].perms)) < 0)
				return r;
		if ((r = sd_bus_message_close_container(m)) < 0 ||
		    (r = sd_bus_message_close_container(m)) < 0)
			return r;
		return sd_bus_message_close_container(m);
	}
	return -EINVAL;
}

static int
start_locked(const struct sdscope_req *req, struct cradle_err *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	struct sdscope_prop props[SDSCOPE_PROPS_MAX];
	size_t n = sdscope_props(req, props, SDSCOPE_PROPS_MAX);
	const char *job;
	int r;

	if (bus_get(NULL, err) < 0)
		return -1;
	if ((r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
	                                        "StartTransientUnit")) < 0 ||
	    (r = sd_bus_message_append(m, "ss", req->unit, "fail")) < 0 ||
	    (r = sd_bus_message_open_container(m, 'a', "(sv)")) < 0)
		goto build;
	for (size_t i = 0; i < n; i++)
		if ((r = append_prop(m, req, &props[i])) < 0)
			goto build;
	if ((r = sd_bus_message_close_container(m)) < 0 ||
	    (r = sd_bus_message_append(m, "a(sa(sv))", 0)) < 0)
		goto build;
	r = sd_bus_call(bus, m, (uint64_t)SDSCOPE_TIMEOUT_MS * 1000, &e, &reply);
	sd_bus_message_unref(m);
	if (r < 0)
		return call_failed("start", req->unit, r, &e, err);
	if ((r = sd_bus_message_read(reply, "o", &job)) < 0) {
		sd_bus_message_unref(reply);
		return cradle_err_set(err, CRADLE_INTERNAL, "systemd: start unit %s: reply: %s",
		                      req->unit, strerror(-r));
	}
	r = wait_job("start", req->unit, job, err);
	sd_bus_message_unref(reply);
	return r;
build:
	sd_bus_message_unref(m);
	return cradle_err_set(err, CRADLE_INTERNAL, "systemd: start unit %s: message: %s",
	                      req->unit, strerror(-r));
}

int
sdscope_start(const struct sdscope_req *req, struct cradle_err *err)
{
	pthread_mutex_lock(&bus_lock);
	bool had = bus != NULL;
	stale = false;
	int rc = start_locked(req, err);
	/* a connection systemd closed since the last use (daemon-reexec, a
	 * package upgrade): once more on a new one */
	if (rc < 0 && had && stale)
		rc = start_locked(req, err);
	pthread_mutex_unlock(&bus_lock);
	return rc;
}

/* One call on the manager with a unit's name; NoSuchUnit is 1 (gone). */
static int
unit_call(const char *method, const char *what, const char *unit, const char *types, const char *a2,
          int32_t sig, sd_bus_message **reply, struct cradle_err *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	if (strcmp(types, "ssi") == 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, reply, types,
		                       unit, a2, sig);
	else if (strcmp(types, "ss") == 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, reply, types,
		                       unit, a2);
	else
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, reply, types,
		                       unit);
	if (r >= 0)
		return 0;
	if (sd_bus_error_has_name(&e, SD_NO_SUCH_UNIT)) {
		sd_bus_error_free(&e);
		return 1;
	}
	/* KillUnit of a scope nothing runs in any more: nothing to kill */
	if (sd_bus_error_has_name(&e, SD_NO_SUCH_PROCESS)) {
		sd_bus_error_free(&e);
		return 0;
	}
	return call_failed(what, unit, r, &e, err);
}

static int
stop_locked(const char *unit, struct cradle_err *err)
{
	sd_bus_message *reply = NULL;
	const char *job;
	int r;

	if (bus_get(NULL, err) < 0)
		return -1;
	/* what still runs goes now: a scope's stop would send SIGTERM and
	 * wait for its TimeoutStopSec */
	if ((r = unit_call("KillUnit", "kill", unit, "ssi", "all", SIGKILL, NULL, err)) != 0)
		return r > 0 ? 0 : -1;
	if ((r = unit_call("StopUnit", "stop", unit, "ss", "replace", 0, &reply, err)) != 0)
		return r > 0 ? 0 : -1;
	if ((r = sd_bus_message_read(reply, "o", &job)) < 0) {
		sd_bus_message_unref(reply);
		return cradle_err_set(err, CRADLE_INTERNAL, "systemd: stop unit %s: reply: %s",
		                      unit, strerror(-r));
	}
	r = wait_job("stop", unit, job, err);
	sd_bus_message_unref(reply);
	/* a failed unit stays loaded until reset: forget it either way */
	struct cradle_err e2 = { 0 };
	if (bus != NULL &&
	    unit_call("ResetFailedUnit", "reset", unit, "s", NULL, 0, NULL, &e2) < 0 && r == 0) {
		*err = e2;
		return -1;
	}
	return r;
}

int
sdscope_stop(const char *unit, struct cradle_err *err)
{
	pthread_mutex_lock(&bus_lock);
	bool had = bus != NULL;
	stale = false;
	int rc = stop_locked(unit, err);
	if (rc < 0 && had && stale)
		rc = stop_locked(unit, err);
	pthread_mutex_unlock(&bus_lock);
	return rc;
}

int
sdscope_check_bus(const char *address, struct cradle_err *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *version = NULL;
	int r;

	pthread_mutex_lock(&bus_lock);
	if (address != NULL)
		bus_drop();
	if (bus_get(address, err) < 0) {
		pthread_mutex_unlock(&bus_lock);
		return -1;
	}
	r = sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &version);
	if (r < 0) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "systemd: ask its version: %s",
		               sd_bus_error_is_set(&e) ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		bus_drop();
	}
	if (address != NULL)
		bus_drop();
	pthread_mutex_unlock(&bus_lock);
	free(version);
	return r < 0 ? -1 : 0;
}
