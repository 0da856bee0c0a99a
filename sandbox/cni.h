/* cni.h - a pod's network through CNI plugins, as containerd's CRI plugin
 * drives them (CNI spec 1.0; configs of 0.3.0, 0.3.1, 0.4.0, 1.0.0).
 *
 * Config.  cni_load reads a conf_dir as containerd does: the files ending
 * .conflist (a plugin list), .conf or .json (one plugin, made a one-plugin
 * list), in lexical (byte) order; the first max_conf_num (0: 1, containerd's
 * default) are considered and the first valid one is the network.  Each is
 * at most CNI_CONF_MAX bytes, one JSON object, with a supported cniVersion,
 * a network name as libcni allows it ([A-Za-z0-9][A-Za-z0-9_.-]*), 1 to
 * CNI_PLUGINS_MAX plugins each with a "type" that is a plain file name.
 * No file at all (or no conf_dir) is FAILED_PRECONDITION (-ENOENT): "the
 * CNI plugin is not initialized"; a broken file is INVALID_ARGUMENT
 * (-EINVAL), the message naming the file and the problem.  A struct
 * cni_net is immutable once made: any number of threads may use one (it
 * keeps the list's text, which each call parses into JSON of its own:
 * json-c objects are not safe to share, even for reading).
 *
 * ADD/DEL.  Each plugin of the chain (ADD in order, DEL in reverse) is
 * found in the first of bin_dirs (NULL: cni_bin_dirs_default) holding an
 * executable regular file of its type, and run with posix_spawn: stdin
 * is its own object plus the list's "name" and "cniVersion", "prevResult"
 * (ADD: the previous plugin's result; DEL: the cached final result) and
 * "runtimeConfig" holding the capabilities it declares true in its
 * "capabilities" (portMappings, bandwidth, dns, cgroupPath,
 * io.kubernetes.cri.pod-annotations); the environment is CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH (bin_dirs joined by
 * ':'), CNI_ARGS (IgnoreUnknown=1;K8S_POD_NAMESPACE;K8S_POD_NAME;
 * K8S_POD_INFRA_CONTAINER_ID;K8S_POD_UID) and PATH.  The child has only
 * its three pipes, an empty signal mask, default dispositions and a
 * process group of its own.  Each plugin gets timeout_ms: then its group
 * is SIGKILLed and the call fails UNAVAILABLE "CNI plugin bridge ADD timed
 * out after 2000 ms".  A plugin exiting non-zero fails the call INTERNAL
 * (UNAVAILABLE for CNI code 11, "try again later") with the type, the
 * command, and the CNI error's code, msg and details (or the tail of its
 * stderr when stdout is no CNI error).  stdout is read up to
 * CNI_STDOUT_MAX, stderr's last CNI_STDERR_MAX bytes kept.  Every child is
 * reaped on every path.  No lock, no global state: concurrent calls from
 * any number of threads are fine (the calling thread's signal mask is
 * touched only around a write to a plugin's stdin, to keep SIGPIPE).
 *
 * The plugins run in the calling thread's mount namespace, with its
 * credentials: netns_path must name the pod's namespace there.
 *
 * Cache.  A successful ADD gives the pod's IPs and a cache blob (JSON:
 * the container id, ifname, network name, the conflist text used, the
 * runtime config and the result) for the caller to keep: DEL with it runs
 * the chain the ADD ran with what the ADD passed, whatever the conf_dir
 * holds by then, as containerd's libcni cache does.
 */
#ifndef CRADLE_SANDBOX_CNI_H
#define CRADLE_SANDBOX_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "proto/proto.h"

#define CNI_CONF_DIR_DEFAULT "/etc/cni/net.d"
/* Where plugins are looked for when the caller gives no list:
 * "/opt/cni/bin", "/usr/lib/cni" (Debian's), NULL. */
extern const char *const cni_bin_dirs_default[];
#define CNI_IFNAME_DEFAULT "eth0"

#define CNI_CONF_MAX (1u << 20)    /* bytes of one config file */
#define CNI_PLUGINS_MAX 16         /* plugins in one list */
#define CNI_STDOUT_MAX (1u << 20)  /* bytes of a plugin's result */
#define CNI_STDERR_MAX (64u << 10) /* last bytes of a plugin's stderr kept */
#define CNI_IPS_MAX 16             /* pod IPs in a result */
#define CNI_PORTS_MAX 1024         /* port mappings of a pod */
/* a cache blob: config, result and runtime config, escaped */
#define CNI_CACHE_MAX (4u * CNI_CONF_MAX + 2u * CNI_STDOUT_MAX)

/* The newest CNI spec version spoken ("1.0.0"), and whether a config of
 * version v can be run (0.3.0, 0.3.1, 0.4.0, 1.0.0). */
const char *cni_version(void);
bool cni_version_supported(const char *v);

struct cni_net;

/* The network of conf_dir (see above).  *out for cni_free. */
int cni_load(const char *conf_dir, unsigned max_conf_num, struct cni_net **out,
             struct cradle_err *err);
/* A network from a conflist's text (what names it in errors), e.g. a
 * built-in loopback list.  INVALID_ARGUMENT when it is not one. */
int cni_parse(const char *text, size_t len, const char *what, struct cni_net **out,
              struct cradle_err *err);
void cni_free(struct cni_net *net);

const char *cni_net_name(const struct cni_net *net);
const char *cni_net_version(const struct cni_net *net); /* its cniVersion */
const char *cni_net_file(const struct cni_net *net);    /* file or what it came from */
size_t cni_net_plugins(const struct cni_net *net);
const char *cni_net_plugin_type(const struct cni_net *net, size_t i); /* NULL past the end */

/* A CRI port mapping; host_port <= 0 is not mapped (as containerd). */
struct cni_port {
	int32_t host_port;
	int32_t container_port;
	const char *protocol; /* "tcp", "udp", "sctp" (any case); NULL: tcp */
	const char *host_ip;  /* NULL or "": every address */
};

/* What one ADD or DEL is about.  Strings are borrowed for the call. */
struct cni_pod {
	const char *id;          /* sandbox id: CNI_CONTAINERID, [A-Za-z0-9][A-Za-z0-9_.-]* */
	const char *ns, *name;   /* K8S_POD_NAMESPACE, K8S_POD_NAME (no ';') */
	const char *uid;         /* K8S_POD_UID (no ';') */
	const char *netns_path;  /* CNI_NETNS; DEL: one that is no namespace any more passes "" */
	const char *ifname;      /* NULL: eth0 */
	const char *cgroup_path; /* runtimeConfig.cgroupPath; NULL: none */
	const struct cni_port *ports; /* runtimeConfig.portMappings */
	size_t n_ports;
	bool has_dns; /* runtimeConfig.dns from the three lists (NULL: empty) */
	const struct proto_strs *dns_servers, *dns_searches, *dns_options;
	/* runtimeConfig.bandwidth (bits/s, bits); all 0: none */
	uint64_t ingress_rate, ingress_burst, egress_rate, egress_burst;
	const struct proto_kvs *annotations; /* io.kubernetes.cri.pod-annotations */
};

struct cni_ip {
	int family;    /* AF_INET, AF_INET6 */
	char addr[46]; /* "10.88.0.4", no prefix */
	unsigned prefix;
	char gateway[46]; /* "" when none */
};

/* The pod's IPs of a result: those on an interface inside the sandbox
 * (one with a "sandbox" field) or on no interface, primary (the first
 * IPv4, else the first) at ips[0], the others in the result's order. */
struct cni_result {
	char cni_version[16];
	size_t n_ips;
	struct cni_ip ips[CNI_IPS_MAX];
};

/* Parse a result (CNI 0.3.x, 0.4.0, 1.0.0 shape).  INVALID_ARGUMENT when
 * it is no result or holds a bad address; more than CNI_IPS_MAX pod IPs
 * or 256 interfaces, IPs or routes are refused too. */
int cni_result_parse(const char *json, size_t len, struct cni_result *out, struct cradle_err *err);

/* ADD the pod to net.  On success *out is filled and *cache (malloc'd,
 * NUL-terminated, *cache_len bytes without the NUL) is the blob for
 * cni_del; a final result with no pod IP is a failure (containerd's
 * "failed to find network info").  On failure the chain's DEL is run at once (plugins that did
 * nothing must tolerate it, as the spec says), its own failure logged and
 * dropped, and nothing is returned. */
int cni_add(const struct cni_net *net, const char *const *bin_dirs, const struct cni_pod *pod,
            int timeout_ms, struct cni_result *out, char **cache, size_t *cache_len,
            struct cradle_err *err);

/* DEL the pod.  With a cache (from cni_add, NULL: none) its network, runtime
 * config, CNI_ARGS and result are used and net is ignored (the cache's id and ifname
 * must be the pod's); without one net's chain runs with the pod's runtime
 * config and no prevResult.  Neither: FAILED_PRECONDITION.  Every plugin
 * is run even when one fails; the first failure is returned.  Repeating
 * a DEL is harmless (plugins must allow it). */
int cni_del(const char *cache, size_t cache_len, const struct cni_net *net,
            const char *const *bin_dirs, const struct cni_pod *pod, int timeout_ms,
            struct cradle_err *err);

/* The pod's IPs recorded in a cache blob (a restarted daemon's status). */
int cni_cache_result(const char *cache, size_t cache_len, struct cni_result *out,
                     struct cradle_err *err);

#endif
