/* pod.c - struct cradle_pod, a CRI PodSandboxConfig built by the caller:
 * from metadata and setters, or from crictl's JSON (client/podjson.c).
 *
 * A pod always passes pod_config_validate(), the daemon's own checks.  A
 * setter therefore validates a probe first: a shallow copy of the config
 * with the one field replaced by the new value (borrowed strings, never
 * freed), so the error names that field, and only a value that passes is
 * copied in.  The rest of the config is valid already, so the probe can
 * only fail on the new value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "client/podjson.h"

_Static_assert((int)CRADLE_NS_MODE_POD == (int)NS_POD &&
                       (int)CRADLE_NS_MODE_CONTAINER == (int)NS_CONTAINER &&
                       (int)CRADLE_NS_MODE_NODE == (int)NS_NODE &&
                       (int)CRADLE_NS_MODE_TARGET == (int)NS_TARGET,
               "enum cradle_ns_mode differs from proto/proto.h");

static int
check_pod(const struct cradle_pod *pod, const char *what, struct cradle_err *err)
{
	if (!pod)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: the pod is NULL", what);
	return 0;
}

/* Hand a parsed or built config (rc: how that went) out as a new pod,
 * which takes it over; on failure the config is released.  Returns rc, or
 * the failure to allocate. */
static int
give(int rc, struct pod_config *cfg, struct cradle_pod **out, struct cradle_err *err)
{
	struct cradle_pod *pod;

	if (rc < 0)
		return rc;
	if (!(pod = malloc(sizeof(*pod)))) {
		pod_config_fini(cfg);
		return cradle_err_nomem(err);
	}
	pod->cfg = *cfg;
	*out = pod;
	return 0;
}

/* A new pod must have somewhere to go. */
static int
check_out(struct cradle_pod **out, const char *what, struct cradle_err *err)
{
	if (!out)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: out is NULL", what);
	*out = NULL;
	return 0;
}

int
cradle_pod_new(const char *name, const char *ns, const char *uid, struct cradle_pod **out,
               struct cradle_error *err)
{
	struct pod_config cfg;
	struct cradle_err e;
	int rc;

	if ((rc = check_out(out, "new pod", &e)))
		return cradle_error_export(err, &e, rc);
	/* borrowed for the check */
	pod_config_init(&cfg);
	cfg.metadata.name = (char *)name;
	cfg.metadata.namespace = (char *)ns;
	cfg.metadata.uid = (char *)uid;
	if ((rc = pod_config_validate(&cfg, "", &e)) < 0)
		return cradle_error_export(err, &e, rc);
	cfg.metadata.name = strdup(name);
	cfg.metadata.namespace = strdup(ns);
	cfg.metadata.uid = strdup(uid);
	if (!cfg.metadata.name || !cfg.metadata.namespace || !cfg.metadata.uid) {
		pod_config_fini(&cfg);
		rc = cradle_err_nomem(&e);
	}
	return cradle_error_export(err, &e, give(rc, &cfg, out, &e));
}

int
cradle_pod_from_json(const char *text, size_t len, struct cradle_pod **out,
                     struct cradle_error *err)
{
	struct pod_config cfg;
	struct cradle_err e;
	int rc = check_out(out, "pod from JSON", &e);

	if (rc == 0)
		rc = give(podjson_parse(text, len, &cfg, &e), &cfg, out, &e);
	return cradle_error_export(err, &e, rc);
}

int
cradle_pod_from_file(const char *path, struct cradle_pod **out, struct cradle_error *err)
{
	struct pod_config cfg;
	struct cradle_err e;
	int rc = check_out(out, "pod from file", &e);

	if (rc == 0)
		rc = give(podjson_parse_file(path, &cfg, &e), &cfg, out, &e);
	return cradle_error_export(err, &e, rc);
}

void
cradle_pod_free(struct cradle_pod *pod)
{
	if (pod)
		pod_config_fini(&pod->cfg);
	free(pod);
}

int
cradle_pod_set_attempt(struct cradle_pod *pod, uint32_t attempt, struct cradle_error *err)
{
	struct cradle_err e;
	int rc;

	if ((rc = check_pod(pod, "set attempt", &e)) == 0)
		pod->cfg.metadata.attempt = attempt;
	return cradle_error_export(err, &e, rc);
}

/* The optional string fields a setter may replace; NULL or "" clears one. */
enum pod_str { POD_HOSTNAME, POD_LOG_DIRECTORY };

static char **
pod_str_field(struct pod_config *cfg, enum pod_str which)
{
	return which == POD_HOSTNAME ? &cfg->hostname : &cfg->log_directory;
}

static int
set_optional(struct cradle_pod *pod, enum pod_str which, const char *value, const char *what,
             struct cradle_error *err)
{
	struct pod_config probe;
	struct cradle_err e;
	char *copy = NULL;
	int rc;

	if ((rc = check_pod(pod, what, &e)))
		return cradle_error_export(err, &e, rc);
	if (value && !value[0])
		value = NULL;
	probe = pod->cfg;
	*pod_str_field(&probe, which) = (char *)value;
	if ((rc = pod_config_validate(&probe, "", &e)) < 0)
		return cradle_error_export(err, &e, rc);
	if (value && !(copy = strdup(value)))
		return cradle_error_export(err, &e, cradle_err_nomem(&e));
	free(*pod_str_field(&pod->cfg, which));
	*pod_str_field(&pod->cfg, which) = copy;
	return 0;
}

int
cradle_pod_set_hostname(struct cradle_pod *pod, const char *hostname, struct cradle_error *err)
{
	return set_optional(pod, POD_HOSTNAME, hostname, "set hostname", err);
}

int
cradle_pod_set_log_directory(struct cradle_pod *pod, const char *log_directory,
                             struct cradle_error *err)
{
	return set_optional(pod, POD_LOG_DIRECTORY, log_directory, "set log directory", err);
}

/* Add or replace key=value in the labels (or the annotations). */
static int
set_pair(struct cradle_pod *pod, bool labels, const char *key, const char *value,
         struct cradle_error *err)
{
	const char *what = labels ? "labels" : "annotations";
	struct proto_kvs *kvs;
	struct pod_config probe;
	struct proto_kv one;
	struct cradle_err e;
	int rc;

	if ((rc = check_pod(pod, labels ? "set label" : "set annotation", &e)))
		return cradle_error_export(err, &e, rc);
	if (!key || !value)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "%s: the %s is NULL", what,
		                                          key ? "value" : "key"));
	kvs = labels ? &pod->cfg.labels : &pod->cfg.annotations;
	if (!proto_kvs_get(kvs, key) && kvs->n >= PROTO_MAX_KV)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "%s: cannot add \"%.80s\": the "
		                                          "limit is %d entries",
		                                          what, key, PROTO_MAX_KV));
	/* the probe holds this one pair alone: the others passed before */
	one.key = (char *)key;
	one.value = (char *)value;
	probe = pod->cfg;
	*(labels ? &probe.labels : &probe.annotations) = (struct proto_kvs){ .n = 1, .v = &one };
	if ((rc = pod_config_validate(&probe, "", &e)) < 0)
		return cradle_error_export(err, &e, rc);
	if (proto_kvs_add(kvs, key, value) < 0)
		return cradle_error_export(err, &e, cradle_err_nomem(&e));
	return 0;
}

int
cradle_pod_set_label(struct cradle_pod *pod, const char *key, const char *value,
                     struct cradle_error *err)
{
	return set_pair(pod, true, key, value, err);
}

int
cradle_pod_set_annotation(struct cradle_pod *pod, const char *key, const char *value,
                          struct cradle_error *err)
{
	return set_pair(pod, false, key, value, err);
}

int
cradle_pod_add_port_mapping(struct cradle_pod *pod, int protocol, int32_t container_port,
                            int32_t host_port, const char *host_ip, struct cradle_error *err)
{
	struct proto_port_mappings *l;
	struct proto_port_mapping one = { protocol, container_port, host_port, (char *)host_ip };
	struct pod_config probe;
	struct cradle_err e;
	int rc;

	if ((rc = check_pod(pod, "add port mapping", &e)))
		return cradle_error_export(err, &e, rc);
	l = &pod->cfg.port_mappings;
	if (l->n >= PROTO_MAX_PORT_MAPPINGS)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "port_mappings: the limit is %d "
		                                          "entries",
		                                          PROTO_MAX_PORT_MAPPINGS));
	/* the probe holds this one mapping alone: the others passed before */
	probe = pod->cfg;
	probe.port_mappings = (struct proto_port_mappings){ .n = 1, .v = &one };
	if ((rc = pod_config_validate(&probe, "", &e)) < 0)
		return cradle_error_export(err, &e, rc);
	struct proto_port_mapping *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL)
		return cradle_error_export(err, &e, cradle_err_nomem(&e));
	l->v = v;
	one.host_ip = NULL;
	if (host_ip != NULL && host_ip[0] != '\0' && (one.host_ip = strdup(host_ip)) == NULL)
		return cradle_error_export(err, &e, cradle_err_nomem(&e));
	v[l->n++] = one;
	return 0;
}

int
cradle_pod_set_namespace_mode(struct cradle_pod *pod, int ns, int mode, struct cradle_error *err)
{
	struct pod_config probe;
	struct cradle_err e;
	int *field;
	int rc;

	if ((rc = check_pod(pod, "set namespace mode", &e)))
		return cradle_error_export(err, &e, rc);
	probe = pod->cfg;
	switch (ns) {
	case CRADLE_NS_NETWORK:
		field = &probe.linux.security_context.namespace_options.network;
		break;
	case CRADLE_NS_PID:
		field = &probe.linux.security_context.namespace_options.pid;
		break;
	case CRADLE_NS_IPC:
		field = &probe.linux.security_context.namespace_options.ipc;
		break;
	default:
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "set namespace mode: %d is not a "
		                                          "namespace (NETWORK=0, PID=1, "
		                                          "IPC=2)",
		                                          ns));
	}
	*field = mode;
	if ((rc = pod_config_validate(&probe, "", &e)) < 0)
		return cradle_error_export(err, &e, rc);
	pod->cfg = probe;
	return 0;
}
