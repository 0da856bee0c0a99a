/* daemon.h - the state one cradled process shares between its threads.
 *
 * Filled by main() at start-up and read-only afterwards, except the
 * objects it points to, each with its own synchronisation.  Only server/
 * sees it: the workers get the narrow struct worker_env (worker/env.h)
 * that main() fills from it.
 */
#ifndef CRADLE_SERVER_DAEMON_H
#define CRADLE_SERVER_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/mntns.h"
#include "sandbox/node.h"
#include "util/queue.h"
#include "worker/env.h"

struct table;
struct store;
struct reaper;
struct events;
struct images;
struct worker_net;

struct daemon_config {
	char root[4096];                /* persistent: LMDB, sandboxes/<id> */
	char state[4096];               /* volatile: sockets, sandboxes/<id>, netns/<id> */
	char image_archive[4096];       /* OCI archive of the built-in sandbox image */
	int workers;                    /* worker threads */
	int queue_depth;                /* jobs waiting for a worker */
	int contexts;                   /* nng contexts (requests in flight) */
	uint64_t shm_size;              /* bytes of each sandbox's /dev/shm */
	char image[4096];               /* the sandbox (pause) image reference */
	char default_runtime[256];      /* handler used when a request names none */
	bool restrict_oom_score_adj;    /* never set a pod's oom_score_adj below ours */
	bool enable_unprivileged_ports; /* net.ipv4.ip_unprivileged_port_start=0 */
	bool enable_unprivileged_icmp;  /* net.ipv4.ping_group_range="0 2147483647" */
	char cgroup_root[4096];         /* cgroup parent when a pod names none ("/k8s.io") */
	char host_resolv_conf[4096];    /* copied when a pod's DNS config gives nothing */
	bool selinux_enable;            /* false: every SELinux label is empty */
	int selinux_category_range;     /* MCS categories c0..c<range-1> to allocate from */
	char selinux_contexts[4096];    /* lxc_contexts file; "" = libselinux's own */
	char registry_insecure[1024];   /* plain-HTTP registries "host:port,..." */
	char registry_ca_file[4096];    /* CA bundle for registries; "" = the system's */
	char metrics_address[256];      /* HOST:PORT of the Prometheus endpoint; "" = off */
	char group[256];          /* group owning the sockets: may do anything; "" = root only */
	char readonly_group[256]; /* may only read (version, status, list, stats, images) */
	int max_sandboxes;        /* sandboxes alive at once (records kept) */
	char log_level[16];       /* debug, info, warn, error (util/log.h) */
	char log_format[16];      /* text, json, journal, auto (server/journal.h) */
	int events_keep;          /* [events] keep: events stored for replay */
	uint64_t store_map_size;  /* [store] map_size: LMDB map, bytes */
	int registry_timeout;     /* [registry] timeout: seconds for a whole pull */
	uint64_t image_max_layer_bytes; /* [images] unpacked bytes of one layer */
	int image_max_layer_entries;    /* [images] tar entries of one layer */
	int image_max_expansion;        /* [images] unpacked / compressed bytes of one layer */
	char cni_conf_dir[4096];        /* [cni] conf_dir: the network configs */
	char cni_bin_dir[4096];         /* [cni] bin_dir: ':'-separated plugin directories */
	int cni_max_conf_num;           /* [cni] max_conf_num: config files considered */
	bool cni_required;              /* [cni] required: no network config fails starts */
	int cni_timeout;                /* [cni] timeout: seconds for one plugin call */
	char nri_config_file[4096];     /* [nri] config_file: NRI v1's conf.json */
	char nri_plugin_dir[4096];      /* [nri] plugin_dir: where its plugins are */
	/* [registry] config_path, per-host dirs <path>/<host>/, and auth_file,
	 * a containers-auth.json; "" = none */
	char registry_config_path[4096];
	char registry_auth_file[4096];
	/* [runtime.NAME] sections, owned (config_fini frees them); never
	 * empty after config_validate */
	struct runtime_config *runtimes;
	size_t n_runtimes;
	/* where the values came from, so late checks can name a file line */
	char config_file[4096];   /* the file read; "" when none was */
	int default_runtime_line; /* line of default_runtime there; 0 if not set */
};

struct daemon {
	struct daemon_config cfg;
	char sock_url[4200];   /* ipc://<state>/cradle.sock */
	char events_url[4200]; /* ipc://<state>/events.sock */
	struct table *table;
	struct store *store;
	struct reaper *reaper;
	struct events *events;
	struct queue queue;
	struct node node;              /* what this node allows, detected at start-up */
	struct images *images;         /* content store, image records, snapshots */
	char skeleton[4200];           /* the mount-point layer put over every image */
	char empty_dir[4200];          /* <state>/empty, bound over masked directories */
	gid_t group_gid, readonly_gid; /* cfg.group, cfg.readonly_group resolved */
	bool have_group, have_readonly_group;
	int64_t started_at;    /* ns */
	struct mntns mntns;    /* cradle's mount namespace and the sandbox template */
	struct worker_env env; /* what the workers see of all this */

	/* the pods' network (worker/net.h) */
	struct worker_net *net;
};

#endif
