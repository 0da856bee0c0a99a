/* runtime.c - runtime handler selection (see runtime.h). */
#include "runtime.h"

#include <string.h>

#include "../server/config.h"

int
runtime_select(const struct daemon_config *cfg, const struct pod_config *pod,
               const char *handler, const struct runtime_config **out, struct cradle_err *err)
{
	const char *h = handler != NULL ? handler : "";
	const char *untrusted = pod != NULL ?
	        proto_kvs_get(&pod->annotations, RUNTIME_UNTRUSTED_ANNOTATION) : NULL;

	/* Exact "true": the reference compares strings, it does not parse a
	 * boolean, so "True" is an ordinary pod. */
	if (untrusted != NULL && strcmp(untrusted, "true") == 0) {
		if (h[0] != '\0' && strcmp(h, RUNTIME_UNTRUSTED) != 0)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
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
		h = cfg->default_runtime;
	const struct runtime_config *rt = config_runtime(cfg, h);
	if (rt == NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "no runtime for \"%s\" is configured",
		                      h);
	*out = rt;
	return 0;
}
