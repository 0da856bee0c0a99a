/* nri.h - NRI v1 plugins, as containerd's CRI calls them for a sandbox
 * (github.com/containerd/nri v0.1-v0.8, client.go and types/v1).
 *
 * Config.  nri_load reads NRI's own configuration file (default
 * /etc/nri/conf.json): one JSON object {"version": "...", "plugins":
 * [{"type": NAME, "conf": {...}}, ...]}, at most NRI_CONF_MAX bytes, at
 * most NRI_PLUGINS_MAX plugins, each type a plain file name.  No file, or
 * a file naming no plugin, is NRI off: *out NULL, nothing to run (the
 * reference's client then returns at once).  A file that is not such a
 * document is INVALID_ARGUMENT naming the file and the field.  A struct
 * nri is immutable once made: any number of threads may use it (it keeps
 * each plugin's conf as compact text, parsed afresh per call: json-c
 * objects are not safe to share).
 *
 * Invoke.  nri_invoke runs each plugin in the file's order as
 * "<plugin_dir>/<type> invoke" with the request on stdin, one JSON object
 * shaped as the reference's types.Request (keys in its order, empty ones
 * left out as its omitempty does, maps sorted by key as Go writes them):
 *   {"conf": <the plugin's conf>, "version": <the file's>, "state":
 *    "create"|"delete", "id": ID, "sandboxID": ID, "pid": PID,
 *    "spec": {"resources": {...}, "namespaces": {TYPE: PATH},
 *             "cgroupsPath": P, "annotations": {...}},
 *    "labels": {...}, "results": [<earlier plugins' results>]}
 * and reads its result from stdout: one JSON object {"plugin": S,
 * "version": S, "error": S, "metadata": {K: S}} (any key may be missing).
 * The results so far go into the next plugin's request, as
 * {"plugin", "version", "error", "metadata"?}.  The first failure ends the
 * call: the plugin not found or not executable, a non-zero exit, a signal,
 * more than NRI_STDOUT_MAX bytes of output, output that is not such an
 * object, a non-empty "error", or no exit within timeout_ms (then its
 * process group is SIGKILLed).  The message names the plugin as the
 * reference does ("plugin: NAME: ...") and quotes its output and the tail
 * of its stderr (at most NRI_STDERR_MAX bytes are kept); callers prefix
 * "nri invoke: ".  Every child is reaped on every path.  The plugin has
 * only its three pipes, the daemon's environment, an empty signal mask,
 * default dispositions and a process group of its own; it runs in the
 * calling thread's mount namespace with its credentials.
 */
#ifndef CRADLE_SANDBOX_NRI_H
#define CRADLE_SANDBOX_NRI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "proto/proto.h"

#define NRI_CONF_PATH_DEFAULT "/etc/nri/conf.json"
#define NRI_PLUGIN_DIR_DEFAULT "/opt/nri/bin"
#define NRI_VERSION "0.1"       /* the reference's, for a file without one */
#define NRI_CONF_MAX (1u << 20) /* bytes of conf.json */
#define NRI_PLUGINS_MAX 32
#define NRI_STDOUT_MAX (1u << 20)    /* bytes of a plugin's result */
#define NRI_STDERR_MAX 4096u         /* the tail of its stderr kept */
#define NRI_TIMEOUT_MS_DEFAULT 60000 /* each plugin's */
#define NRI_NS_MAX 8

struct nri;

/* Load conf_path; plugins are looked for in plugin_dir, each given
 * timeout_ms (0: NRI_TIMEOUT_MS_DEFAULT).  0 with *out NULL when the file
 * does not exist or names no plugin (NRI off), 0 with *out set, or <0 with
 * err. */
int nri_load(const char *conf_path, const char *plugin_dir, int timeout_ms, struct nri **out,
             struct cradle_err *err);
void nri_free(struct nri *n); /* NULL-safe */
size_t nri_n_plugins(const struct nri *n);
const char *nri_plugin_type(const struct nri *n, size_t i);

enum nri_state { NRI_CREATE, NRI_DELETE };

struct nri_ns {
	const char *type; /* "pid", "ipc", "uts", "mount", "network", "user" */
	const char *path; /* "": a new one */
};

/* What the reference's client takes from the task (ID, Pid, Spec) and the
 * sandbox (ID, Labels). */
struct nri_request {
	int state; /* enum nri_state */
	const char *id;
	const char *sandbox_id;
	int pid; /* 0: left out */
	/* spec.resources, the sandbox's: the device rule denying all
	 * ("rwm") and the cpu shares (0: none) */
	bool devices_deny_all;
	uint64_t cpu_shares;
	struct nri_ns namespaces[NRI_NS_MAX];
	size_t n_namespaces;
	const char *cgroups_path;            /* NULL or "": left out */
	const struct proto_kvs *annotations; /* NULL or empty: left out */
	const struct proto_kvs *labels;      /* NULL or empty: left out */
};

/* Run every plugin with r (see above).  0, or <0 with err ("plugin: NAME:
 * ..."). */
int nri_invoke(const struct nri *n, const struct nri_request *r, struct cradle_err *err);

/* The request plugin i would get, results the JSON array of the earlier
 * results (NULL: none), as malloc'd text; NULL with err.  For tests. */
char *nri_request_json(const struct nri *n, size_t i, const struct nri_request *r,
                       const char *results, struct cradle_err *err);

#endif
