/* runtime.c - runtime handler selection (see runtime.h). */
#include "sandbox/runtime.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sdscope.h"

int
runtime_select(const struct runtime_set *rs, const struct pod_config *pod, const char *handler,
               const struct runtime_config **out, struct cradle_err *err)
{
	const char *h = handler != NULL ? handler : "";
	const char *untrusted =
		pod != NULL ? proto_kvs_get(&pod->annotations, RUNTIME_UNTRUSTED_ANNOTATION) : NULL;

	/* Exact "true": the reference compares strings, it does not parse a
	 * boolean, so "True" is an ordinary pod. */
	if (untrusted != NULL && strcmp(untrusted, "true") == 0) {
		if (h[0] != '\0' && strcmp(h, RUNTIME_UNTRUSTED) != 0)
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"untrusted workload with explicit runtime handler is not "
				"allowed");
		if (pod->linux.security_context.namespace_options.network == NS_NODE ||
		    pod->linux.security_context.namespace_options.pid == NS_NODE ||
		    pod->linux.security_context.namespace_options.ipc == NS_NODE)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "untrusted workload with host access is not allowed");
		h = RUNTIME_UNTRUSTED;
	}
	if (h[0] == '\0')
		h = rs->default_name;
	const struct runtime_config *rt = runtime_find(rs, h);
	if (rt == NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "no runtime for \"%s\" is configured", h);
	*out = rt;
	return 0;
}

bool
runtime_is_oci(const struct runtime_config *rt)
{
	return rt->launcher != NULL && strcmp(rt->launcher, RUNTIME_LAUNCHER_OCI) == 0;
}

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

int
runtime_check_key(const struct runtime_config *rt, const char *key, struct cradle_err *err)
{
	if (strcmp(key, "launcher") == 0 && is_set(rt->launcher) &&
	    strcmp(rt->launcher, RUNTIME_LAUNCHER_NATIVE) != 0 &&
	    strcmp(rt->launcher, RUNTIME_LAUNCHER_OCI) != 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "[runtime.%s] launcher: \"%s\" is not native or oci",
		                      rt->name, rt->launcher);
	return 0;
}

int
runtime_check(const struct runtime_config *rt, struct cradle_err *err)
{
	if (runtime_check_key(rt, "launcher", err) < 0)
		return -1;
	if (runtime_is_oci(rt)) {
		if (!is_set(rt->path))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "[runtime.%s] path: launcher = oci needs the OCI "
			                      "runtime binary (e.g. /usr/sbin/runc)",
			                      rt->name);
		return 0;
	}
	if (is_set(rt->path))
		return cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"[runtime.%s] path: only an OCI launcher runs a runtime binary; "
			"this handler has the native launcher (set launcher = oci)",
			rt->name);
	if (rt->vm)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "[runtime.%s] vm: a VM-isolated runtime needs launcher = oci "
		                      "and a VM runtime in path; with the native launcher pods of "
		                      "this handler (untrusted ones included) would get no VM",
		                      rt->name);
	/* (systemd_cgroup serves both: sandbox/sdscope.h) */
	static const char *const oci_only[] = { "root", "no_pivot_root" };
	const bool set[] = { is_set(rt->root), rt->no_pivot_root };
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (set[i])
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "[runtime.%s] %s: only for launcher = oci", rt->name,
			                      oci_only[i]);
	return 0;
}

int
runtime_check_host(const struct runtime_config *rt, struct cradle_err *err)
{
	struct stat st;
	char comm[32] = "";

	if (runtime_is_oci(rt) && stat(rt->path, &st) != 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "[runtime.%s] path: \"%s\": %s",
		                      rt->name, rt->path, strerror(errno));
	if (runtime_is_oci(rt) && (!S_ISREG(st.st_mode) || access(rt->path, X_OK) != 0))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "[runtime.%s] path: \"%s\" is not an executable file",
		                      rt->name, rt->path);
	if (!rt->systemd_cgroup)
		return 0;
	FILE *f = fopen("/proc/1/comm", "re");
	if (f != NULL) {
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "systemd") != 0 || access("/run/systemd/system", F_OK) != 0)
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "[runtime.%s] systemd_cgroup: systemd does not manage this "
		                      "node's cgroups (PID 1 is \"%s\", /run/systemd/system %s)",
		                      rt->name, comm,
		                      access("/run/systemd/system", F_OK) == 0 ? "exists"
		                                                               : "missing");
	/* the driver's scopes go through the bus: it must answer now, not
	 * at the first pod */
	if (sdscope_check_bus(NULL, err) < 0) {
		cradle_err_wrap(err, "[runtime.%s] systemd_cgroup", rt->name);
		return -1;
	}
	return 0;
}

const struct runtime_config *
runtime_find(const struct runtime_set *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].name, name) == 0)
			return &rs->v[i];
	return NULL;
}

bool
runtime_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > RUNTIME_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' &&
		    name[i] != '-')
			return false;
	return true;
}
