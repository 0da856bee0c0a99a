/* ocirun.c - an OCI runtime's create, start, kill and delete (see
 * ocirun.h). */
#include "sandbox/ocirun.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/run.h"

#define OCIRUN_TIMEOUT_MS 60000
#define OCIRUN_OUT_MAX 4096
#define OCIRUN_ERR_MAX 4096

static char *const run_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
};

int
ocirun_init(struct ocirun *o, const struct runtime_config *rt, const char *state,
            struct cradle_err *err)
{
	int rc;

	memset(o, 0, sizeof(*o));
	o->name = rt->name;
	o->path = rt->path;
	o->systemd_cgroup = rt->systemd_cgroup;
	o->no_pivot = rt->no_pivot_root;
	if (rt->root != NULL && rt->root[0] != '\0') {
		if (fs_path(o->root, err, "%s", rt->root) < 0)
			return -1;
	} else if (fs_path(o->root, err, "%s/runtime/%s", state, rt->name) < 0) {
		return -1;
	}
	if ((rc = fs_mkdir_p(o->root, 0700)) < 0)
		return cradle_err_errno(err, -rc, "runtime %s: create its root \"%s\"", rt->name,
		                        o->root);
	return 0;
}

/* The binary's name for messages ("runc"). */
static const char *
base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s != NULL ? s + 1 : path;
}

/* Run <path> --root R [--systemd-cgroup] <args...>; 0 when it exited 0,
 * else <0 with err "<runtime> <verb>: <status>: <stderr tail>". */
static int
run(const struct ocirun *o, const char *verb, const char *const *args, struct cradle_err *err)
{
	char *argv[16];
	size_t n = 0;

	argv[n++] = (char *)o->path;
	argv[n++] = "--root";
	argv[n++] = (char *)o->root;
	if (o->systemd_cgroup)
		argv[n++] = "--systemd-cgroup";
	argv[n++] = (char *)verb;
	for (size_t i = 0; args[i] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;

	struct run_spec spec = {
		.path = o->path,
		.argv = argv,
		.envp = run_env,
		.out_max = OCIRUN_OUT_MAX,
		.err_max = OCIRUN_ERR_MAX,
		.timeout_ms = OCIRUN_TIMEOUT_MS,
	};
	struct run_result res;
	const char *what = NULL;
	int rc = run_program(&spec, &res, &what);
	if (rc < 0) {
		run_result_fini(&res);
		return cradle_err_errno(err, -rc, "%s %s: %s \"%s\"", base(o->path), verb, what,
		                        o->path);
	}
	if (res.timed_out || res.out_over || res.si.si_code != CLD_EXITED ||
	    res.si.si_status != 0) {
		char status[64], tail[256];
		if (res.timed_out)
			snprintf(status, sizeof(status), "timed out after %d ms",
			         OCIRUN_TIMEOUT_MS);
		else if (res.out_over)
			snprintf(status, sizeof(status), "more than %d bytes of output",
			         OCIRUN_OUT_MAX);
		else
			run_status_text(&res.si, status, sizeof(status));
		/* runc writes its error to stderr; crun too, or to stdout */
		if (res.err_len > 0)
			run_tail_text(res.err, res.err_len, tail, sizeof(tail));
		else
			run_tail_text(res.out, res.out_len, tail, sizeof(tail));
		cradle_err_set(err, CRADLE_INTERNAL, "%s %s: %s%s%s", base(o->path), verb, status,
		               tail[0] != '\0' ? ": " : "", tail);
		run_result_fini(&res);
		return -1;
	}
	run_result_fini(&res);
	return 0;
}

int
ocirun_create(const struct ocirun *o, const char *id, const char *bundle, pid_t *pid,
              struct cradle_err *err)
{
	char pidfile[FS_PATH_MAX], buf[32];
	const char *args[8];
	size_t n = 0;
	ssize_t len;

	if (fs_path(pidfile, err, "%s/pid", bundle) < 0)
		return -1;
	if (o->no_pivot)
		args[n++] = "--no-pivot";
	args[n++] = "--bundle";
	args[n++] = bundle;
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	args[n++] = id;
	args[n] = NULL;
	if (run(o, "create", args, err) < 0) {
		/* what it left (state dir, cgroups) goes; never the error's */
		struct cradle_err e = { 0 };
		(void)ocirun_delete(o, id, &e);
		return -1;
	}
	char *end = NULL;
	long v = 0;
	if ((len = fs_read(pidfile, buf, sizeof(buf))) > 0) {
		errno = 0;
		v = strtol(buf, &end, 10);
	}
	if (len <= 0 || end == buf || v <= 1 || v > 0x3fffffff) {
		struct cradle_err e = { 0 };
		(void)ocirun_delete(o, id, &e);
		return cradle_err_set(err, CRADLE_INTERNAL, "%s create: no pid in \"%s\"",
		                      base(o->path), pidfile);
	}
	*pid = (pid_t)v;
	return 0;
}

int
ocirun_start(const struct ocirun *o, const char *id, struct cradle_err *err)
{
	const char *args[] = { id, NULL };
	return run(o, "start", args, err);
}

int
ocirun_kill(const struct ocirun *o, const char *id, struct cradle_err *err)
{
	const char *args[] = { id, "KILL", NULL };
	return run(o, "kill", args, err);
}

int
ocirun_delete(const struct ocirun *o, const char *id, struct cradle_err *err)
{
	const char *args[] = { "--force", id, NULL };
	return run(o, "delete", args, err);
}
