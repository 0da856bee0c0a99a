/* proto.h - cradle's wire format: msgpack maps over nng REQ/REP.
 *
 * Shared by cradled and libcradle; no I/O here.  proto/PROTOCOL.md is the
 * spec.  Every decoder is bounded and strict: before msgpack-c builds an
 * object tree, proto_check_bounds() walks the raw bytes and refuses messages
 * over PROTO_MAX_MSG, nesting deeper than PROTO_MAX_DEPTH, containers with
 * more than PROTO_MAX_ENTRIES entries (or more than the bytes left could
 * hold), strings longer than PROTO_MAX_STR.  Then each field is checked for
 * type, presence, UTF-8 and its own rules; every failure is an
 * INVALID_ARGUMENT error whose message names the field ("args.config.
 * metadata.name: ...").
 *
 * Field names follow the CRI PodSandboxConfig in snake_case, so later issues
 * add fields, not shapes.
 */
#ifndef CRADLE_PROTO_H
#define CRADLE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto/err.h"

#define PROTO_VERSION 1
#define PROTO_MAX_MSG (1u << 20)   /* bytes in one request or reply */
#define PROTO_MAX_DEPTH 12         /* nesting of maps and arrays */
#define PROTO_MAX_ENTRIES 1024     /* entries in one map or array (replies: see list) */
#define PROTO_MAX_STR 16384        /* bytes in one string */
#define PROTO_MAX_NAME 253         /* metadata.name / namespace / uid */
#define PROTO_MAX_KV 256           /* labels, annotations, sysctls entries */
#define PROTO_MAX_LIST_REPLY 65536 /* sandboxes in one list reply */
#define CRADLE_ID_LEN 64           /* lower-case hex */
#define PROTO_MAX_REF 511          /* bytes in an image reference */
#define PROTO_MAX_IMPORT_PATH 4096 /* bytes in image.import's path */
#define PROTO_MAX_AUTH 1024        /* bytes in image.pull's "auth" (base64) */
#define PROTO_AUTH_USER_MAX 255    /* bytes of the user name inside "auth" */
#define PROTO_AUTH_PASS_MAX 511    /* bytes of the password inside "auth" */
#define PROTO_DIGEST_MAX 71        /* "sha256:" + 64 hex */
#define PROTO_MAX_EVENTS_PAGE 512  /* events in one events.since reply */
/* A reply, record or event carries a whole config (which a request may fill
 * up to PROTO_MAX_MSG) plus a few fields, so it gets some slack; a list
 * reply carries many sandboxes.  Set the client's nng receive limit to
 * PROTO_MAX_LIST_MSG and the daemon's to PROTO_MAX_MSG.  A sandbox also
 * carries its spec's labels and annotations: copies of the pod's labels
 * and (passed-through) annotations, which share the config's PROTO_MAX_MSG,
 * plus the sandbox image's labels (an image record: at most PROTO_MAX_MSG)
 * plus the sandbox-* annotations (ids, names, the log directory): three
 * times PROTO_MAX_MSG and slack for the rest. */
#define PROTO_MAX_REPLY_MSG (3 * PROTO_MAX_MSG + 131072u) /* non-list replies, records, events */
#define PROTO_MAX_LIST_MSG (64u << 20)                    /* bytes in one sandbox.list reply */
/* The sandboxes of one sandbox.list reply add up to at most this many
 * encoded bytes, or are one sandbox (however big), and are at most
 * PROTO_MAX_LIST_REPLY: a page.  Its "more" says sandboxes follow its
 * last id, which the next request names as "after" (libcradle fetches
 * every page).  A few huge configs then cannot make the reply too big. */
#define PROTO_LIST_PAGE_BYTES (32u << 20)

/* CRI NamespaceMode */
enum proto_ns_mode { NS_POD = 0, NS_CONTAINER = 1, NS_NODE = 2, NS_TARGET = 3 };

/* CRI PodSandboxState */
enum proto_state { STATE_READY = 0, STATE_NOTREADY = 1 };

/* cradle's finer lifecycle, stored in records and shown in status */
enum proto_phase { PHASE_CREATED = 0, PHASE_RUNNING = 1, PHASE_EXITED = 2 };

struct proto_kv {
	char *key;
	char *value;
};

struct proto_kvs {
	size_t n;
	struct proto_kv *v;
};

struct proto_strs {
	size_t n;
	char **v;
};

/* CRI SecurityProfile.ProfileType */
enum proto_seccomp_type {
	SECCOMP_PROFILE_RUNTIME_DEFAULT = 0,
	SECCOMP_PROFILE_UNCONFINED = 1,
	SECCOMP_PROFILE_LOCALHOST = 2
};

struct proto_idmap {
	uint32_t host_id, container_id, length;
};

struct proto_idmaps {
	size_t n;
	struct proto_idmap *v;
};

struct proto_i64s {
	size_t n;
	int64_t *v;
};

/* CRI Protocol of a port mapping */
enum proto_protocol { PROTO_TCP = 0, PROTO_UDP = 1, PROTO_SCTP = 2 };
#define PROTO_MAX_PORT_MAPPINGS 1024 /* port_mappings of a pod */
#define PROTO_MAX_POD_IPS 16         /* pod_ips of a sandbox */
#define PROTO_IP_MAX 45              /* bytes of an IPv6 address in text */

/* CRI PortMapping; ports 0..65535, host_port 0: not mapped on the host */
struct proto_port_mapping {
	int protocol; /* enum proto_protocol */
	int32_t container_port;
	int32_t host_port;
	char *host_ip; /* NULL: every address; else an IPv4 or IPv6 address */
};

struct proto_port_mappings {
	size_t n;
	struct proto_port_mapping *v;
};
const char *proto_protocol_name(int protocol); /* "TCP", "UDP", "SCTP"; NULL out of range */

/* CRI PodSandboxConfig (the subset cradle reads today; all strings owned,
 * NULL when absent).  Decoders fill every field; encoders skip NULL/empty. */
struct pod_config {
	struct {
		char *name;      /* required, DNS-1123 label */
		char *uid;       /* required, 1..253 bytes, UTF-8, no '/' (PROTOCOL.md) */
		char *namespace; /* required, DNS-1123 label */
		uint32_t attempt;
	} metadata;
	char *hostname;      /* optional, DNS-1123 subdomain (<=63 per label) */
	char *log_directory; /* optional absolute path */
	bool has_dns_config; /* dns_config present (even if empty) */
	struct {
		struct proto_strs servers, searches, options;
	} dns_config;
	struct proto_kvs labels;
	struct proto_kvs annotations;
	struct proto_port_mappings port_mappings; /* fed to the CNI plugins */
	struct {
		char *cgroup_parent;
		struct proto_kvs sysctls;
		struct {
			struct {
				int network; /* enum proto_ns_mode, default POD */
				int pid;
				int ipc;
				char *target_id;
				struct {
					bool present; /* userns_options given */
					int mode;     /* enum proto_ns_mode */
					struct proto_idmaps uids, gids;
				} userns_options;
			} namespace_options;
			bool privileged;
			bool has_run_as_user;
			int64_t run_as_user;
			bool has_run_as_group;
			int64_t run_as_group;
			char *run_as_username;
			struct proto_i64s supplemental_groups;
			bool readonly_rootfs; /* accepted, ignored (rootfs is always ro) */
			struct {
				char *user, *role, *type, *level;
			} selinux_options; /* all NULL when absent */
			struct {
				bool present;
				int profile_type; /* enum proto_seccomp_type */
				char *localhost_ref;
			} seccomp;
			char *seccomp_profile_path; /* deprecated string form */
		} security_context;
		struct {
			bool present;
			int64_t cpu_period, cpu_quota, cpu_shares, memory_limit_in_bytes;
		} resources; /* only feeds annotations */
	} linux;
};

/* --- timings: the steps of starts and stops --------------------------
 * A verbose sandbox.status carries the step times of the sandbox's last
 * start and stop; daemon.stats the daemon's histograms of every step.
 * Histograms have PROTO_STATS_BUCKETS fixed log-scale buckets: bucket 0
 * counts durations up to 1 us, bucket i (0 < i < last) those above
 * 2^(i-1) us and up to 2^i us, the last one everything longer. */
#define PROTO_MAX_STEPS 32     /* steps of one operation */
#define PROTO_STEP_NAME_MAX 31 /* bytes in a step name: [A-Za-z0-9._-] */
#define PROTO_STATS_BUCKETS 32

/* The operations that are timed step by step. */
enum proto_timed { PROTO_TIMED_START = 0, PROTO_TIMED_STOP = 1, PROTO_TIMED_OPS = 2 };
const char *proto_timed_name(int op); /* "start" / "stop"; NULL out of range */

struct proto_step_time {
	char name[PROTO_STEP_NAME_MAX + 1];
	uint32_t us; /* microseconds, UINT32_MAX when longer */
};

struct proto_timings {
	size_t n[PROTO_TIMED_OPS]; /* steps of the last start, stop; 0: none */
	struct proto_step_time v[PROTO_TIMED_OPS][PROTO_MAX_STEPS];
};

struct proto_histogram {
	char step[PROTO_STEP_NAME_MAX + 1]; /* "" for the whole operation */
	uint64_t count;                     /* the sum of the buckets */
	uint64_t sum_ns;
	uint64_t p50_ns, p99_ns; /* proto_hist_quantile() of the buckets */
	uint64_t buckets[PROTO_STATS_BUCKETS];
};

struct proto_op_stats {
	struct proto_histogram total; /* the whole operation, failures included */
	size_t n_steps;
	struct proto_histogram steps[PROTO_MAX_STEPS];
	uint64_t errors[CRADLE_CODE_MAX + 1]; /* failures by code; [0] unused */
};

#define PROTO_N_PHASES (PHASE_EXITED + 1)

/* The daemon.stats result. */
struct proto_stats {
	struct proto_op_stats op[PROTO_TIMED_OPS];
	uint64_t queue_depth;               /* requests waiting for a worker */
	uint64_t sandboxes[PROTO_N_PHASES]; /* by phase (enum proto_phase) */
	uint64_t quarantined;               /* unreadable records set aside at start-up */
};

/* Bucket bounds: the largest duration bucket i counts, in ns (UINT64_MAX
 * for the last), and the bucket of a duration. */
uint64_t proto_bucket_le_ns(size_t i);
size_t proto_bucket_of(uint64_t ns);
/* The q-quantile (0 <= q <= 1) of n buckets laid out as above, in ns:
 * linear within the bucket that holds the rank (as Prometheus's
 * histogram_quantile), the lower bound of the last bucket for ranks in
 * it; 0 when the buckets are empty. */
uint64_t proto_hist_quantile(const uint64_t *buckets, size_t n, double q);

/* One sandbox as status/list replies show it and as the store keeps it. */
struct proto_sandbox {
	char id[CRADLE_ID_LEN + 1];
	struct pod_config config;
	char *runtime_handler;   /* may be NULL */
	int phase;               /* enum proto_phase */
	int64_t created_at;      /* ns since the epoch */
	int64_t started_at;      /* ns, 0 until started */
	int32_t pid;             /* host pid of pause, 0 when none */
	uint64_t pid_start_time; /* /proc/PID/stat field 22, guards pid reuse */
	int32_t exit_status;     /* wait status as a shell shows it (128+sig) */
	int64_t exited_at;       /* ns, 0 while running */
	char *netns_path;        /* pinned netns, NULL for NODE network */
	/* where the pod's other containers find the sandbox's files (host
	 * paths; NULL when not made), and what the sandbox runs under */
	char *hostname_path;
	char *hosts_path;
	char *resolv_conf_path;
	char *shm_path;      /* NULL for IPC NODE (the host's /dev/shm) */
	char *cgroup_path;   /* cgroups path as in the spec */
	char *process_label; /* SELinux, NULL when none */
	char *mount_label;
	char *runtime_type; /* the handler's type */
	char *image_ref;    /* the sandbox image it was started from */
	char *image_digest; /* that image's manifest digest (NULL in old records) */
	char *launcher;     /* what ran it: "native" or "oci" (NULL: native, old records) */
	/* the pod's IPs from its CNI result (CRI PodSandboxNetworkStatus:
	 * the primary first, then the additional ones); empty without a
	 * network (host network, no CNI config, stopped) */
	struct proto_strs pod_ips;
	/* what the spec builder made of the pod at its last start (empty
	 * before it, and in records from before they were kept): the spec's
	 * annotations (pod_annotations pass-through, the
	 * io.kubernetes.cri.sandbox-* set) and the sandbox's labels
	 * (buildLabels: image labels, pod labels, io.cri-containerd.kind) */
	struct proto_kvs spec_annotations;
	struct proto_kvs spec_labels;
	/* a verbose sandbox.status only (never stored): the step times of
	 * its last start and stop; owned, NULL otherwise */
	struct proto_timings *timings;
};

/* CRI state derived from the phase: RUNNING -> READY, else NOTREADY. */
int proto_phase_state(int phase);
int proto_sandbox_state(const struct proto_sandbox *s);
const char *proto_state_name(int state); /* "SANDBOX_READY" / "SANDBOX_NOTREADY" */
const char *proto_phase_name(int phase); /* "created" / "running" / "exited" */

enum proto_op {
	OP_VERSION = 0,
	OP_CREATE,       /* "sandbox.create" */
	OP_START,        /* "sandbox.start" */
	OP_RUN,          /* "sandbox.run" */
	OP_STOP,         /* "sandbox.stop" */
	OP_REMOVE,       /* "sandbox.remove" */
	OP_STATUS,       /* "sandbox.status" */
	OP_LIST,         /* "sandbox.list" */
	OP_IMAGE_PULL,   /* "image.pull" */
	OP_IMAGE_LIST,   /* "image.list" */
	OP_IMAGE_STATUS, /* "image.status" */
	OP_IMAGE_REMOVE, /* "image.remove" */
	OP_IMAGE_IMPORT, /* "image.import" */
	OP_DAEMON_STATS, /* "daemon.stats" */
	OP_EVENTS_SINCE, /* "events.since" */
	OP_DAEMON_INFO,  /* "daemon.info" */
	OP__COUNT
};
const char *proto_op_name(int op); /* NULL when out of range */

struct proto_request {
	int op;                        /* enum proto_op */
	struct pod_config config;      /* OP_CREATE, OP_RUN */
	char *runtime_handler;         /* OP_CREATE, OP_RUN; optional */
	char id[CRADLE_ID_LEN + 1];    /* OP_START, OP_STOP, OP_REMOVE, OP_STATUS */
	int64_t timeout_ms;            /* OP_STOP; default 10000, 0..3600000 */
	int state_filter;              /* OP_LIST; -1 = any, else enum proto_state */
	struct proto_kvs label_filter; /* OP_LIST; every pair must match */
	char after[CRADLE_ID_LEN + 1]; /* OP_LIST; only ids after it, "" = from the first */
	/* image ops (owned, NULL when absent; proto_request_fini frees them) */
	char *ref;      /* OP_IMAGE_PULL, _STATUS, _REMOVE: "ref";
	                 * OP_IMAGE_IMPORT: "name" (optional) */
	char *path;     /* OP_IMAGE_IMPORT: absolute path on the daemon's host */
	char *auth;     /* OP_IMAGE_PULL: "auth", optional base64("user[:pass]")
	                 * (crictl's --auth); a secret: never logged nor echoed,
	                 * zeroed by proto_request_fini */
	bool verbose;   /* OP_STATUS: the sandbox's step times too */
	uint64_t since; /* OP_EVENTS_SINCE: the first seq wanted, 0: the oldest kept */
};

/* One image as the image ops show it. */
struct proto_image {
	char *ref; /* owned; e.g. "docker.io/library/busybox:latest" */
	char manifest_digest[PROTO_DIGEST_MAX + 1]; /* "sha256:<hex>", may be "" */
	char config_digest[PROTO_DIGEST_MAX + 1];   /* the image id, may be "" */
	struct proto_strs layers;                   /* layer digests, bottom first */
	int64_t size;                               /* bytes */
	struct proto_kvs labels;                    /* the image config's labels */
	bool pinned;
	int64_t created_at; /* ns since the epoch, 0 when unknown */
	bool in_use;        /* some sandbox runs on it */
};

struct proto_version {
	char version[32];     /* cradle's version, e.g. "0.1.0" */
	uint32_t api_version; /* PROTO_VERSION */
	int32_t pid;          /* the daemon's pid */
};

/* --- daemon.info: what `cradle info` shows (as `crictl info`) --- */
#define PROTO_MAX_CONDITIONS 8         /* conditions of a daemon.info reply */
#define PROTO_MAX_CONFIG_SECTIONS 1024 /* config sections of a daemon.info reply */
#define PROTO_INFO_WORD_MAX 31         /* bytes in a condition type or reason, a layout name */

/* A CRI RuntimeCondition: "RuntimeReady", "NetworkReady". */
struct proto_condition {
	char type[PROTO_INFO_WORD_MAX + 1];
	bool status;
	char reason[PROTO_INFO_WORD_MAX + 1]; /* "" when status is true */
	char message[CRADLE_ERR_MSG_MAX];     /* "" when none */
};

/* One section of the effective configuration, as `cradled --print-config`
 * prints it: "cradled", "sandbox", ..., "runtime.runc". */
struct proto_config_section {
	char *name;            /* owned, not empty */
	struct proto_kvs keys; /* key -> value as printed, in order */
};

/* What the daemon detected on its node at start-up (sandbox/node.h). */
struct proto_node_info {
	char cgroup_layout[PROTO_INFO_WORD_MAX + 1];  /* "v1", "v2", "hybrid" */
	char *cgroups;                                /* owned; cgroup_describe() */
	char device_control[PROTO_INFO_WORD_MAX + 1]; /* "ebpf", "v1", "none" */
	bool selinux_enabled;        /* SELinux is enabled on the node (is_selinux_enabled) */
	bool selinux_applied;        /* sandboxes get labels: [selinux] enable and the above */
	bool seccomp_available;      /* seccomp filters can be installed */
	bool restrict_oom_score_adj; /* in effect (configured, or forced: no CAP_SYS_RESOURCE) */
	int32_t oom_score_adj;       /* the daemon's own */
	bool in_user_namespace;      /* the daemon runs in a user namespace */
	char kernel[65];             /* uname release */
};

/* The daemon.info result. */
struct proto_info {
	struct proto_version version;
	size_t n_conditions;
	struct proto_condition conditions[PROTO_MAX_CONDITIONS];
	struct proto_node_info node;
	size_t n_sections;
	struct proto_config_section *sections; /* owned array */
};
/* Free what info owns and zero it; NULL-safe. */
void proto_info_fini(struct proto_info *info);

struct proto_reply {
	int op;
	bool ok;
	struct cradle_err err; /* when !ok */
	/* results, by op */
	struct proto_version version;    /* OP_VERSION */
	char id[CRADLE_ID_LEN + 1];      /* OP_CREATE, OP_START, OP_RUN */
	int32_t pid;                     /* OP_START, OP_RUN */
	int64_t created_at;              /* OP_CREATE, OP_START, OP_RUN */
	size_t n_sandboxes;              /* OP_STATUS (1), OP_LIST */
	struct proto_sandbox *sandboxes; /* owned array */
	size_t n_images;                 /* OP_IMAGE_PULL, _STATUS, _IMPORT (1),
	                                  * OP_IMAGE_LIST */
	struct proto_image *images;      /* owned array */
	struct proto_stats *stats;       /* OP_DAEMON_STATS; owned */
	struct proto_info *info;         /* OP_DAEMON_INFO; owned */
	/* OP_EVENTS_SINCE: kept events from the seq asked for on, in order
	 * (owned array, at most PROTO_MAX_EVENTS_PAGE); the oldest and the
	 * last seq kept; more: events after the last one here are kept.
	 * OP_LIST: more = sandboxes follow the last one here (a page,
	 * PROTO_LIST_PAGE_BYTES) */
	size_t n_events;
	struct proto_event *events;
	uint64_t oldest_seq, last_seq;
	bool more;
	/* OP_LIST as the daemon answers it: instead of sandboxes, the
	 * n_sandboxes sandboxes already packed (each as proto_sandbox_encode
	 * packs it, so checked then), back to back; the encoder writes them
	 * as they are.  Owned; a decoded reply never has it. */
	char *sandboxes_msg;
	size_t sandboxes_msg_len;
};

/* Event published on the events socket: a sandbox event (id, pid,
 * exit_status, exited_at) or "image.progress" (ref, done, total).  The
 * sandbox events: "sandbox.created" (sandbox.create, sandbox.run),
 * "sandbox.started" (pid), "sandbox.exit" (its pause task exited: pid,
 * exit_status, exited_at), "sandbox.stopped" (sandbox.stop or remove
 * released it: exit_status and exited_at of its exit), "sandbox.removed". */
#define PROTO_EVENT_EXIT "sandbox.exit"
#define PROTO_EVENT_CREATED "sandbox.created"
#define PROTO_EVENT_STARTED "sandbox.started"
#define PROTO_EVENT_STOPPED "sandbox.stopped"
#define PROTO_EVENT_REMOVED "sandbox.removed"
#define PROTO_EVENT_IMAGE_PROGRESS "image.progress"
struct proto_event {
	uint64_t seq;  /* gap-free and never reused: goes on across restarts */
	char type[32]; /* "sandbox.exit", "image.progress" */
	char id[CRADLE_ID_LEN + 1];
	int32_t pid;
	int32_t exit_status;
	int64_t exited_at; /* ns */
	/* image.progress */
	char ref[PROTO_MAX_REF + 1]; /* the image being pulled or imported */
	uint64_t done;               /* bytes so far */
	int64_t total;               /* bytes in all, -1 (or 0) when not known yet */
};

/* --- validation helpers (also used by the CLI and the daemon) --- */
bool proto_valid_id(const char *s);            /* 64 lower-case hex */
bool proto_valid_dns_label(const char *s);     /* RFC 1123 label, 1..63 */
bool proto_valid_dns_subdomain(const char *s); /* RFC 1123 subdomain, 1..253 */
bool proto_valid_utf8(const char *s, size_t len);
/* An image reference: 1..PROTO_MAX_REF bytes of [A-Za-z0-9._:/@-]. */
bool proto_valid_image_ref(const char *s);
/* Registry credentials as image.pull's "auth" carries them: base64
 * (RFC 4648, padded) of "user" or "user:password", 1..PROTO_MAX_AUTH
 * bytes; the user 1..PROTO_AUTH_USER_MAX bytes without ':', the password
 * at most PROTO_AUTH_PASS_MAX; neither with control characters.  Errors
 * never quote the secret. */
int proto_auth_decode(const char *auth, char user[PROTO_AUTH_USER_MAX + 1],
                      char pass[PROTO_AUTH_PASS_MAX + 1], struct cradle_err *err);
/* "user:password" (crictl's --creds; the password may be empty or absent)
 * into a malloc'd "auth" string; the same checks. */
int proto_auth_from_creds(const char *creds, char **out, struct cradle_err *err);
/* A step name: 1..PROTO_STEP_NAME_MAX bytes of [A-Za-z0-9._-]. */
bool proto_valid_step_name(const char *s);
/* An IPv4 or IPv6 address in text (inet_pton), at most PROTO_IP_MAX bytes. */
bool proto_valid_ip(const char *s);

/* Walk raw msgpack and enforce the limits above; 0 or INVALID_ARGUMENT.
 * Also refused: a top level that is not a map, map keys that are not
 * strings, ext types, the 0xc1 byte, bytes after the top-level object. */
int proto_check_bounds(const void *buf, size_t len, struct cradle_err *err);

/* --- requests --- */
/* Encode into sbuf (appends). Returns 0 or <0 with err (sbuf unchanged).
 * Does not validate the config (the daemon does); timeout_ms < 0 and
 * state_filter < 0 are left out, so the daemon's defaults apply. */
int proto_request_encode(msgpack_sbuffer *sbuf, const struct proto_request *req,
                         struct cradle_err *err);
/* Decode and validate; on failure req holds nothing to free. */
int proto_request_decode(const void *buf, size_t len, struct proto_request *req,
                         struct cradle_err *err);
void proto_request_init(struct proto_request *req, int op);
void proto_request_fini(struct proto_request *req);

/* --- replies --- */
int proto_reply_encode(msgpack_sbuffer *sbuf, const struct proto_reply *rep,
                       struct cradle_err *err);
/* op tells the decoder which result shape to expect.  A well-formed error
 * reply decodes with 0, rep->ok false and rep->err holding the daemon's code
 * and message; <0 means the bytes themselves were bad. */
int proto_reply_decode(int op, const void *buf, size_t len, struct proto_reply *rep,
                       struct cradle_err *err);
/* Encode an error reply {v, ok:false, error:{code,message}}; never fails
 * except on OOM (then returns <0). */
int proto_reply_encode_error(msgpack_sbuffer *sbuf, const struct cradle_err *e);
void proto_reply_init(struct proto_reply *rep, int op);
void proto_reply_fini(struct proto_reply *rep);

/* --- sandbox records (store) and images --- */
/* A sandbox record (the SANDBOX map of PROTOCOL.md, as the store keeps it)
 * and a standalone image map (the IMAGE). */
int proto_sandbox_encode(msgpack_sbuffer *sbuf, const struct proto_sandbox *s,
                         struct cradle_err *err);
int proto_sandbox_decode(const void *buf, size_t len, struct proto_sandbox *s,
                         struct cradle_err *err);
int proto_image_encode(msgpack_sbuffer *sbuf, const struct proto_image *img,
                       struct cradle_err *err);
int proto_image_decode(const void *buf, size_t len, struct proto_image *img,
                       struct cradle_err *err);
/* Deep copies; return 0 or -ENOMEM (dst then owns nothing). */
int proto_sandbox_copy(struct proto_sandbox *dst, const struct proto_sandbox *src);
int proto_image_copy(struct proto_image *dst, const struct proto_image *src);
/* Free what the object owns and leave it empty (a sandbox's config as
 * pod_config_init() makes it, an image zeroed); safe on a zeroed one. */
void proto_sandbox_fini(struct proto_sandbox *s);
void proto_image_fini(struct proto_image *img);

/* --- pod config --- */
void pod_config_init(struct pod_config *c); /* zero + namespace modes POD */
void pod_config_fini(struct pod_config *c);
int pod_config_copy(struct pod_config *dst, const struct pod_config *src);
/* Validate a config built in memory (the CLI's JSON path uses this too):
 * same rules and messages as the decoder; prefix names the field path. */
int pod_config_validate(const struct pod_config *c, const char *prefix, struct cradle_err *err);
/* Look up a key; NULL when absent. */
const char *proto_kvs_get(const struct proto_kvs *kvs, const char *key);
int proto_kvs_add(struct proto_kvs *kvs, const char *key, const char *value);
void proto_kvs_fini(struct proto_kvs *kvs);
int proto_strs_add(struct proto_strs *strs, const char *s);
void proto_strs_fini(struct proto_strs *strs);

/* --- events --- */
int proto_event_encode(msgpack_sbuffer *sbuf, const struct proto_event *ev, struct cradle_err *err);
int proto_event_decode(const void *buf, size_t len, struct proto_event *ev, struct cradle_err *err);

#endif
