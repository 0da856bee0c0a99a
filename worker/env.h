/* env.h - the narrow environment the worker layer runs in.
 *
 * The operations (worker/ops.h) and the start pipeline (worker/start.h)
 * see the configuration values they use and the services below them,
 * never the daemon that owns them: server/main.c fills one worker_env at
 * start-up, and a unit test fills one from a scratch directory.  Every
 * pointer must outlive the workers; each service does its own locking.
 */
#ifndef CRADLE_WORKER_ENV_H
#define CRADLE_WORKER_ENV_H

#include <pthread.h>
#include <stdint.h>

#include "sandbox/mntns.h"
#include "sandbox/node.h"
#include "sandbox/types.h"

struct table;
struct store;
struct reaper;
struct events;
struct images;
struct stats;
struct worker_net;
struct nri;

/* Text a reload replaces while workers read it. */
struct config_text {
	pthread_mutex_t lock;
	char *text; /* owned by the daemon */
};

struct worker_env {
	/* configuration, read-only */
	const char *root;      /* persistent: <root>/sandboxes/<id> */
	const char *state;     /* volatile: <state>/sandboxes/<id>, <state>/netns/<id> */
	const char *image;     /* the sandbox image reference */
	const char *skeleton;  /* the mount-point layer laid over every image */
	const char *empty_dir; /* empty, read-only: bound over masked directories
	                          (struct launch_plan.mask_dir); NULL: tmpfs */
	uint64_t shm_size;     /* bytes of each sandbox's /dev/shm */
	/* the host file a sandbox's resolv.conf copies when its DNS config
	 * gives nothing; NULL: /etc/resolv.conf */
	const char *host_resolv_conf;
	struct runtime_set runtimes;
	const char *version; /* what OP_VERSION answers */
	/* daemon.info: the effective configuration as `cradled
	 * --print-config` prints it (INI: "[section]", "key = value"), which
	 * a reload (SIGHUP) replaces, so read under its lock (NULL, or text
	 * NULL: none); and the CNI config dir whose load decides NetworkReady */
	struct config_text *config_text;
	const char *cni_conf_dir;
	unsigned cni_max_conf_num;
	const struct node *node;   /* what this node allows, detected at start-up */
	const struct mntns *mntns; /* sandboxes clone the template's mount
	                              namespace (sandbox/mntns.h); NULL: the
	                              caller's */
	int pidfd_floor;           /* live tasks' pidfds go at or above it, the work in
	                              flight below (launch_plan.pidfd_floor); 0: anywhere */

	/* services */
	struct table *table;   /* live sandboxes and their locks */
	struct store *store;   /* sandbox records (core/records.h) */
	struct reaper *reaper; /* watches every pause task */
	struct events *events; /* where lifecycle events go */
	struct images *images; /* the sandbox image's layers and config */
	struct stats *stats;   /* step timings and counters (core/stats.h); NULL: none */

	/* the pods' CNI network (worker/net.h); NULL: pods get a network
	 * namespace with loopback only */
	struct worker_net *net;

	/* NRI v1 plugins at a sandbox's create and delete (sandbox/nri.h),
	 * loaded once at start-up; NULL: off, and a start runs exactly as
	 * without NRI (one launch step, no wait) */
	const struct nri *nri;

	/* tests: the start step to fail (worker/start.h); NULL otherwise */
	const char *fail_step;
};

#endif
