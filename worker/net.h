/* net.h - the pods' network: the node's CNI config (sandbox/cni.h) and a
 * sandbox's ADD and DEL.
 *
 * Config.  The conf_dir is read at start-up (net_new) and again by the
 * first start that finds none loaded, the directory changed (its mtime,
 * ctime or inode: a file dropped in, renamed, removed) or the file the
 * network came from did (edited in place).  A struct cni_net
 * is immutable: a reload swaps the pointer under a small lock and the
 * old one is freed by its last user (a reference count); no lock is held
 * while plugins run, so concurrent starts ADD in parallel.
 *
 * Cache.  A successful ADD leaves its cache blob (cni_add) at
 * <root>/sandboxes/<id>/NET_CACHE_FILE (like libcni's
 * /var/lib/cni/results, not synced: a crash of the daemon keeps it, a
 * crash of the machine takes the namespace too).  DEL runs from it, so
 * stop, remove and recovery tear down exactly what the ADD set up, also
 * after a restart; the file goes when the DEL succeeded.
 */
#ifndef CRADLE_WORKER_NET_H
#define CRADLE_WORKER_NET_H

#include <stdbool.h>

#include "proto/err.h"
#include "sandbox/cni.h"
#include "util/fs.h" /* FS_PATH_MAX */

#define NET_CACHE_FILE "cni-cache.json"
/* <root>/NET_ORPHANS_DIR/<id>.json: caches of sandboxes removed while their
 * DEL kept failing (net_orphan), DELed again at start-up */
#define NET_ORPHANS_DIR "cni-orphans"

struct net_config {
	const char *conf_dir;  /* [cni] conf_dir */
	unsigned max_conf_num; /* [cni] max_conf_num */
	const char *bin_dir;   /* [cni] bin_dir: ':'-separated absolute paths */
	int timeout_ms;        /* each plugin call */
	bool required;         /* no config: starts fail; else they run without a network */
};

struct worker_net;

/* Copies cfg; loads the conf_dir once (a missing or broken config is
 * logged, not an error: starts report it). */
int net_new(const struct net_config *cfg, struct worker_net **out, struct cradle_err *err);
void net_free(struct worker_net *n);

/* The CNI pod of sandbox id with config cfg (strings borrowed); ports,
 * when not NULL, has room for cfg's port mappings and gets them. */
void net_pod_of(const char *id, const struct pod_config *cfg, const char *netns_path,
                const char *cgroup_path, struct cni_pod *cp, struct cni_port *ports);

/* Where sandbox id's cache is: <root>/sandboxes/<id>/NET_CACHE_FILE. */
int net_cache_path(char buf[FS_PATH_MAX], const char *root, const char *id, struct cradle_err *err);
/* A DEL failed twice and the sandbox's directories go now (a forced
 * remove, a rollback, recovery): keep its cache at
 * <root>/NET_ORPHANS_DIR/<id>.json, so its addresses and host ports are not
 * lost for good.  0 (also when there is no cache), -1 logged. */
int net_orphan(const char *root, const char *id);
/* Start-up: DEL every kept cache (net_orphan); those that succeed go. */
void net_retry_orphans(struct worker_net *n, const char *root);

/* The pod's traffic shaping, as containerd takes it for the bandwidth
 * capability: the annotations kubernetes.io/ingress-bandwidth and
 * kubernetes.io/egress-bandwidth, Kubernetes quantities of bits per
 * second ("10M", "1Gi", "500k"), from 1k to 1P; the burst is then
 * 4294967295 bits (math.MaxUint32, as containerd).  Absent: no shaping.
 * INVALID_ARGUMENT naming the annotation for anything else. */
int net_bandwidth(const struct proto_kvs *annotations, struct cni_pod *cp, struct cradle_err *err);

/* ADD the pod (pod->id, netns_path, ... as cni_add) and write the cache to
 * cache_path.  1: added, *res its IPs; 0: no network config and not
 * required (a warning logged once; the pod has loopback only); -1: failed,
 * nothing left (cni_add's own DEL ran), the plugin's text in err. */
int net_setup(struct worker_net *n, const struct cni_pod *pod, const char *cache_path,
              struct cni_result *res, struct cradle_err *err);

/* DEL the pod from the cache at cache_path, tried twice; the file is
 * removed once a DEL succeeded.  No cache file: 0, nothing done, unless
 * blind, when the current network's chain is run without one (a start
 * cut short between ADD and its cache; skipped without a config). */
int net_teardown(struct worker_net *n, const struct cni_pod *pod, const char *cache_path,
                 bool blind, struct cradle_err *err);

#endif
