/* runtime.c - runtime handler selection (see runtime.h). */
#include "sandbox/runtime.h"

#include <ctype.h>
#include <string.h>

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

int
runtime_check(const struct runtime_config *rt, struct cradle_err *err)
{
	if (rt->path != NULL && rt->path[0] != '\0')
		return cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"[runtime.%s] path: only an OCI launcher runs a runtime binary; "
			"this cradled has the native launcher only",
			rt->name);
	if (rt->vm)
		return cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"[runtime.%s] vm: a VM-isolated runtime needs an OCI launcher; "
			"this cradled has the native launcher only, so pods of this "
			"handler (untrusted ones included) would get no VM",
			rt->name);
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
