/* cradle.h - libcradle, the C client of cradled (installed as
 * <cradle/cradle.h>; link with `pkg-config --libs libcradle`).
 *
 * This header stands alone: it includes only <stdbool.h>, <stddef.h> and
 * <stdint.h>.  The library's wire format stays inside the library; what a
 * caller sees are opaque handles with accessors, a few enums and three small
 * structs of scalars (errors, the daemon's version, events).
 *
 * Errors.  A call that can fail takes `struct cradle_error *err` last (NULL
 * is allowed), returns 0 on success and leaves *err untouched, or returns a
 * negative errno-style value (-EINVAL, -ENOENT, -ECONNREFUSED, -ETIMEDOUT,
 * ...) and fills *err: err->code is an enum cradle_status, err->message
 * names the object and the cause ("invalid sandbox id \"xyz\": expected 64
 * lower-case hex characters").  Branch on the code, never on the text.
 *
 * Ownership.  Every handle a call hands out is the caller's and goes back
 * with its own *_free (or *_close).  Strings returned by getters belong to
 * the handle and live as long as it; a getter given NULL returns NULL, 0,
 * false (or NOTREADY for a state).  Text from the *_to_json calls is
 * released with free().
 *
 * Threads.  One struct cradle_conn serves many threads at once: every call
 * opens its own request context on it (or, CRADLE_CONNECT_SYNC, its own
 * socket).  Other handles are used by one thread at a time (getters only
 * read, so they may be shared).
 */
#ifndef CRADLE_CRADLE_H
#define CRADLE_CRADLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what libcradle.so exports; everything else in it is hidden. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define CRADLE_API __attribute__((visibility("default")))
#else
#define CRADLE_API
#endif

#define CRADLE_DEFAULT_SOCKET "/run/cradle/cradle.sock"
#define CRADLE_DEFAULT_EVENTS "/run/cradle/events.sock"
#define CRADLE_SANDBOX_ID_LEN 64 /* lower-case hex, without the NUL */
#define CRADLE_IMAGE_REF_MAX 511 /* bytes in an image reference */
#define CRADLE_ERROR_MAX 512     /* bytes in an error message, NUL included */

/* --- errors --------------------------------------------------------- */

/* The daemon's wire codes (stable values). */
enum cradle_status {
	CRADLE_STATUS_OK = 0,
	CRADLE_STATUS_INVALID_ARGUMENT = 1,
	CRADLE_STATUS_NOT_FOUND = 2,
	CRADLE_STATUS_ALREADY_EXISTS = 3,
	CRADLE_STATUS_FAILED_PRECONDITION = 4,
	CRADLE_STATUS_RESOURCE_EXHAUSTED = 5,
	CRADLE_STATUS_PERMISSION_DENIED = 6,
	CRADLE_STATUS_UNAVAILABLE = 7,
	CRADLE_STATUS_INTERNAL = 8,
};

struct cradle_error {
	int code; /* enum cradle_status */
	char message[CRADLE_ERROR_MAX];
};

/* "INVALID_ARGUMENT", ...; "UNKNOWN" for a value out of range. */
CRADLE_API const char *cradle_status_name(int code);

/* --- connections ---------------------------------------------------- */

struct cradle_conn;

/* The request socket: explicit_path, else $CRADLE_SOCKET, else
 * CRADLE_DEFAULT_SOCKET.  A plain path gets "ipc://" put in front, a URL
 * is used as is.  The result lives in a buffer of the calling thread until
 * its next call. */
CRADLE_API const char *cradle_socket_path(const char *explicit_path);

/* The events socket: explicit_path, else $CRADLE_EVENTS, else
 * "events.sock" beside the request socket (socket_path, else
 * $CRADLE_SOCKET), else CRADLE_DEFAULT_EVENTS.  Same buffer rules. */
CRADLE_API const char *cradle_events_path(const char *explicit_path, const char *socket_path);

/* Connect to the daemon (socket_path NULL: cradle_socket_path(NULL)).
 * timeout_ms bounds every call: 0 means 120 s, < 0 no limit.  Fails with
 * UNAVAILABLE when no daemon listens there (-ENOENT: no socket file,
 * -ECONNREFUSED: nobody listens on it). */
CRADLE_API int cradle_connect(const char *socket_path, int timeout_ms, struct cradle_conn **out,
                              struct cradle_error *err);

/* Flags of cradle_connect_flags. */
#define CRADLE_CONNECT_SYNC 1u

/* cradle_connect with flags (0: the same as cradle_connect).
 *
 * Without CRADLE_CONNECT_SYNC the connection is an nng req0 socket: nng
 * starts its thread pool (a dozen threads) when the process opens its
 * first socket, redials in the background when the daemon restarts, and
 * keeps any number of requests in flight on one connection.  That suits
 * long-lived, multi-threaded callers.
 *
 * With CRADLE_CONNECT_SYNC no thread is started and nng is not touched:
 * every call is one synchronous exchange, made by the calling thread on a
 * plain UNIX socket (the same wire as nng's req0 over ipc), bounded by
 * timeout_ms.  Sockets are kept for the next calls; threads calling at
 * once each get a socket of their own.  That suits short-lived callers:
 * the cradle CLI uses it.  It applies to ipc addresses (plain paths and
 * ipc:// URLs); another transport goes through nng as without the flag.
 * Event subscriptions (cradle_events_open) always use nng. */
CRADLE_API int cradle_connect_flags(const char *socket_path, int timeout_ms, unsigned flags,
                                    struct cradle_conn **out, struct cradle_error *err);
CRADLE_API void cradle_close(struct cradle_conn *c);

struct cradle_version {
	char version[32];     /* the daemon's version, "0.1.0" */
	uint32_t api_version; /* its wire protocol version */
	int32_t pid;          /* its process id */
};

CRADLE_API int cradle_version(struct cradle_conn *c, struct cradle_version *out,
                              struct cradle_error *err);

/* --- pod configs ---------------------------------------------------- */

/* A CRI PodSandboxConfig.  A pod is valid from the moment it exists: every
 * setter checks its value by the daemon's own rules and, when it refuses
 * one, leaves the pod as it was. */
struct cradle_pod;

/* CRI NamespaceMode, and the namespaces a pod sets it for. */
enum cradle_ns_mode {
	CRADLE_NS_MODE_POD = 0,
	CRADLE_NS_MODE_CONTAINER = 1,
	CRADLE_NS_MODE_NODE = 2,
	CRADLE_NS_MODE_TARGET = 3,
};
enum cradle_ns {
	CRADLE_NS_NETWORK = 0,
	CRADLE_NS_PID = 1,
	CRADLE_NS_IPC = 2,
};

/* A pod with its metadata (name and namespace DNS-1123 labels, uid 1..253
 * bytes without '/'), attempt 0, every namespace POD. */
CRADLE_API int cradle_pod_new(const char *name, const char *ns, const char *uid,
                              struct cradle_pod **out, struct cradle_error *err);
/* A pod from crictl's POD_CONFIG JSON (len bytes of text, at most 1 MiB):
 * snake_case fields, unknown fields ignored, errors naming the field
 * ("linux.security_context.namespace_options.network: expected ...") or
 * the line and column of a syntax error. */
CRADLE_API int cradle_pod_from_json(const char *text, size_t len, struct cradle_pod **out,
                                    struct cradle_error *err);
/* The same from a file ("-" is standard input); errors name the file. */
CRADLE_API int cradle_pod_from_file(const char *path, struct cradle_pod **out,
                                    struct cradle_error *err);
CRADLE_API void cradle_pod_free(struct cradle_pod *pod);

CRADLE_API int cradle_pod_set_attempt(struct cradle_pod *pod, uint32_t attempt,
                                      struct cradle_error *err);
/* hostname: a DNS-1123 subdomain; NULL or "" for the node's default. */
CRADLE_API int cradle_pod_set_hostname(struct cradle_pod *pod, const char *hostname,
                                       struct cradle_error *err);
/* log_directory: an absolute path; NULL or "" for none. */
CRADLE_API int cradle_pod_set_log_directory(struct cradle_pod *pod, const char *log_directory,
                                            struct cradle_error *err);
/* Add key=value, or replace the value of key (at most 256 of each). */
CRADLE_API int cradle_pod_set_label(struct cradle_pod *pod, const char *key, const char *value,
                                    struct cradle_error *err);
CRADLE_API int cradle_pod_set_annotation(struct cradle_pod *pod, const char *key, const char *value,
                                         struct cradle_error *err);
/* ns: enum cradle_ns; mode: enum cradle_ns_mode. */
CRADLE_API int cradle_pod_set_namespace_mode(struct cradle_pod *pod, int ns, int mode,
                                             struct cradle_error *err);
/* CRI PortMapping, handed to the CNI plugins (portmap): protocol 0 TCP,
 * 1 UDP, 2 SCTP; ports 0..65535, host_port 0 maps nothing on the host;
 * host_ip NULL or "" for every address, else an IPv4 or IPv6 address.  At
 * most 1024 per pod. */
enum cradle_protocol {
	CRADLE_PROTOCOL_TCP = 0,
	CRADLE_PROTOCOL_UDP = 1,
	CRADLE_PROTOCOL_SCTP = 2,
};
CRADLE_API int cradle_pod_add_port_mapping(struct cradle_pod *pod, int protocol,
                                           int32_t container_port, int32_t host_port,
                                           const char *host_ip, struct cradle_error *err);

/* --- sandboxes ------------------------------------------------------ */

/* CRI PodSandboxState, and cradle's finer lifecycle. */
enum cradle_state {
	CRADLE_STATE_READY = 0,
	CRADLE_STATE_NOTREADY = 1,
};
enum cradle_phase {
	CRADLE_PHASE_CREATED = 0,
	CRADLE_PHASE_RUNNING = 1,
	CRADLE_PHASE_EXITED = 2,
};

/* create: registers the sandbox and writes its id (NUL-terminated) to id.
 * run: create and start.  runtime_handler may be NULL (the default); pid
 * and created_at (ns since the epoch) may be NULL. */
CRADLE_API int cradle_sandbox_create(struct cradle_conn *c, const struct cradle_pod *pod,
                                     const char *runtime_handler,
                                     char id[CRADLE_SANDBOX_ID_LEN + 1], struct cradle_error *err);
CRADLE_API int cradle_sandbox_run(struct cradle_conn *c, const struct cradle_pod *pod,
                                  const char *runtime_handler, char id[CRADLE_SANDBOX_ID_LEN + 1],
                                  int32_t *pid, int64_t *created_at, struct cradle_error *err);
CRADLE_API int cradle_sandbox_start(struct cradle_conn *c, const char *id, int32_t *pid,
                                    int64_t *created_at, struct cradle_error *err);
/* timeout_ms: the grace period; < 0 means the daemon's default (10 s).
 * Stopping an unknown or stopped sandbox succeeds, as does removing an
 * unknown one; remove stops a running sandbox first. */
CRADLE_API int cradle_sandbox_stop(struct cradle_conn *c, const char *id, int64_t timeout_ms,
                                   struct cradle_error *err);
CRADLE_API int cradle_sandbox_remove(struct cradle_conn *c, const char *id,
                                     struct cradle_error *err);

/* One sandbox as the daemon shows it. */
struct cradle_sandbox;

/* NOT_FOUND for an unknown id. */
CRADLE_API int cradle_sandbox_status(struct cradle_conn *c, const char *id,
                                     struct cradle_sandbox **out, struct cradle_error *err);
CRADLE_API void cradle_sandbox_free(struct cradle_sandbox *s);

CRADLE_API const char *cradle_sandbox_id(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_name(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_namespace(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_uid(const struct cradle_sandbox *s);
CRADLE_API uint32_t cradle_sandbox_attempt(const struct cradle_sandbox *s);
CRADLE_API int cradle_sandbox_state(const struct cradle_sandbox *s); /* enum cradle_state */
CRADLE_API int cradle_sandbox_phase(const struct cradle_sandbox *s); /* enum cradle_phase */
/* ns since the epoch; started_at and exited_at are 0 until it happened */
CRADLE_API int64_t cradle_sandbox_created_at(const struct cradle_sandbox *s);
CRADLE_API int64_t cradle_sandbox_started_at(const struct cradle_sandbox *s);
CRADLE_API int64_t cradle_sandbox_exited_at(const struct cradle_sandbox *s);
/* host pid of its pause process, 0 when none; exit status as a shell
 * shows it (128 + signal) */
CRADLE_API int32_t cradle_sandbox_pid(const struct cradle_sandbox *s);
CRADLE_API int32_t cradle_sandbox_exit_status(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_hostname(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_runtime_handler(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_runtime_type(const struct cradle_sandbox *s);
/* What ran its pause: "native" (cradle itself) or "oci" (the handler's
 * OCI runtime, [runtime.NAME] launcher = oci); "native" for records older
 * than the field. */
CRADLE_API const char *cradle_sandbox_launcher(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_image(const struct cradle_sandbox *s);
/* Host paths other containers of the pod use; NULL when not made (no
 * netns for host network, no shm path for host IPC). */
CRADLE_API const char *cradle_sandbox_netns_path(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_hostname_path(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_hosts_path(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_resolv_conf_path(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_shm_path(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_cgroup_path(const struct cradle_sandbox *s);
/* The pod's IPs from its CNI network (CRI PodSandboxNetworkStatus): the
 * primary one ("" when the pod has no network address: host network, no
 * CNI network configured, or stopped), and every one, the primary at 0
 * (NULL when i is past the end). */
CRADLE_API const char *cradle_sandbox_ip(const struct cradle_sandbox *s);
CRADLE_API size_t cradle_sandbox_ip_count(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_ip_at(const struct cradle_sandbox *s, size_t i);
/* SELinux labels, NULL when none */
CRADLE_API const char *cradle_sandbox_process_label(const struct cradle_sandbox *s);
CRADLE_API const char *cradle_sandbox_mount_label(const struct cradle_sandbox *s);
/* Labels and annotations: by key (NULL when absent), or the i-th pair
 * (false when i is past the end). */
CRADLE_API const char *cradle_sandbox_label(const struct cradle_sandbox *s, const char *key);
CRADLE_API size_t cradle_sandbox_label_count(const struct cradle_sandbox *s);
CRADLE_API bool cradle_sandbox_label_at(const struct cradle_sandbox *s, size_t i, const char **key,
                                        const char **value);
CRADLE_API const char *cradle_sandbox_annotation(const struct cradle_sandbox *s, const char *key);
CRADLE_API size_t cradle_sandbox_annotation_count(const struct cradle_sandbox *s);
CRADLE_API bool cradle_sandbox_annotation_at(const struct cradle_sandbox *s, size_t i,
                                             const char **key, const char **value);
/* What the spec of the sandbox's last start had, as the reference gives
 * them to its runtime: the spec's annotations (the pod annotations its
 * runtime handler passes through, the io.kubernetes.cri.sandbox-* set)
 * and the sandbox's labels (the sandbox image's labels, the pod's labels,
 * io.cri-containerd.kind=sandbox).  None before its first start, nor from
 * a daemon that does not keep them.  Same calls as above. */
CRADLE_API const char *cradle_sandbox_spec_label(const struct cradle_sandbox *s, const char *key);
CRADLE_API size_t cradle_sandbox_spec_label_count(const struct cradle_sandbox *s);
CRADLE_API bool cradle_sandbox_spec_label_at(const struct cradle_sandbox *s, size_t i,
                                             const char **key, const char **value);
CRADLE_API const char *cradle_sandbox_spec_annotation(const struct cradle_sandbox *s,
                                                      const char *key);
CRADLE_API size_t cradle_sandbox_spec_annotation_count(const struct cradle_sandbox *s);
CRADLE_API bool cradle_sandbox_spec_annotation_at(const struct cradle_sandbox *s, size_t i,
                                                  const char **key, const char **value);

/* A label filter for listing: every pair must match. */
struct cradle_label {
	const char *key;
	const char *value;
};

struct cradle_sandbox_list;

/* state: -1 for any, else enum cradle_state; labels may be NULL. */
CRADLE_API int cradle_sandbox_list(struct cradle_conn *c, int state,
                                   const struct cradle_label *labels, size_t n_labels,
                                   struct cradle_sandbox_list **out, struct cradle_error *err);
CRADLE_API size_t cradle_sandbox_list_count(const struct cradle_sandbox_list *l);
/* The i-th sandbox, owned by the list; NULL when i is past the end. */
CRADLE_API const struct cradle_sandbox *cradle_sandbox_list_at(const struct cradle_sandbox_list *l,
                                                               size_t i);
CRADLE_API void cradle_sandbox_list_free(struct cradle_sandbox_list *l);

/* --- images ---------------------------------------------------------
 * References are 1..CRADLE_IMAGE_REF_MAX bytes of [A-Za-z0-9._:/@-]; the
 * daemon resolves short names ("busybox").  Pull and import wait at least
 * CRADLE_IMAGE_TIMEOUT_MS for their reply (longer if the connection's own
 * timeout is longer) and publish their progress as events (subscribe with
 * cradle_events_open before the call to see all of it). */
#define CRADLE_IMAGE_TIMEOUT_MS (30 * 60 * 1000)

struct cradle_image;

/* pull: fetch ref from its registry (nothing to do when present); out may
 * be NULL. */
CRADLE_API int cradle_image_pull(struct cradle_conn *c, const char *ref, struct cradle_image **out,
                                 struct cradle_error *err);
/* pull with registry credentials for this pull only (they win over the
 * daemon's auth_file; never stored, never logged): creds "user:password"
 * (crictl's --creds) or auth, base64 of "user[:password]" (crictl's
 * --auth).  Both NULL: cradle_image_pull; both set: INVALID_ARGUMENT. */
CRADLE_API int cradle_image_pull_creds(struct cradle_conn *c, const char *ref, const char *creds,
                                       const char *auth, struct cradle_image **out,
                                       struct cradle_error *err);
/* status: NOT_FOUND when the daemon does not hold ref. */
CRADLE_API int cradle_image_status(struct cradle_conn *c, const char *ref,
                                   struct cradle_image **out, struct cradle_error *err);
/* remove: FAILED_PRECONDITION while a sandbox uses the image. */
CRADLE_API int cradle_image_remove(struct cradle_conn *c, const char *ref,
                                   struct cradle_error *err);
/* import: an OCI layout directory, OCI archive or docker-save archive at
 * path, absolute on the daemon's host (at most 4096 bytes); name (may be
 * NULL) is the reference to keep it under, else the archive's own.  out
 * may be NULL. */
CRADLE_API int cradle_image_import(struct cradle_conn *c, const char *path, const char *name,
                                   struct cradle_image **out, struct cradle_error *err);
CRADLE_API void cradle_image_free(struct cradle_image *img);

CRADLE_API const char *cradle_image_ref(const struct cradle_image *img);
/* the config digest ("sha256:<hex>"), what crictl calls the image id;
 * "" when unknown, as the manifest digest */
CRADLE_API const char *cradle_image_id(const struct cradle_image *img);
CRADLE_API const char *cradle_image_manifest_digest(const struct cradle_image *img);
CRADLE_API int64_t cradle_image_size(const struct cradle_image *img);       /* bytes */
CRADLE_API int64_t cradle_image_created_at(const struct cradle_image *img); /* ns, 0: unknown */
CRADLE_API bool cradle_image_pinned(const struct cradle_image *img);
CRADLE_API bool cradle_image_in_use(const struct cradle_image *img);
/* layer digests, bottom first; NULL when i is past the end */
CRADLE_API size_t cradle_image_layer_count(const struct cradle_image *img);
CRADLE_API const char *cradle_image_layer(const struct cradle_image *img, size_t i);
/* the image config's labels, as for sandboxes */
CRADLE_API const char *cradle_image_label(const struct cradle_image *img, const char *key);
CRADLE_API size_t cradle_image_label_count(const struct cradle_image *img);
CRADLE_API bool cradle_image_label_at(const struct cradle_image *img, size_t i, const char **key,
                                      const char **value);

struct cradle_image_list;

CRADLE_API int cradle_image_list(struct cradle_conn *c, struct cradle_image_list **out,
                                 struct cradle_error *err);
CRADLE_API size_t cradle_image_list_count(const struct cradle_image_list *l);
CRADLE_API const struct cradle_image *cradle_image_list_at(const struct cradle_image_list *l,
                                                           size_t i);
CRADLE_API void cradle_image_list_free(struct cradle_image_list *l);

/* --- events --------------------------------------------------------- */

struct cradle_events;

enum cradle_event_kind {
	CRADLE_EVENT_OTHER = 0,           /* a type this library does not know */
	CRADLE_EVENT_SANDBOX_EXIT = 1,    /* "sandbox.exit": id, pid, exit_status, exited_at */
	CRADLE_EVENT_IMAGE_PROGRESS = 2,  /* "image.progress": ref, done, total */
	CRADLE_EVENT_SANDBOX_CREATED = 3, /* "sandbox.created": id */
	CRADLE_EVENT_SANDBOX_STARTED = 4, /* "sandbox.started": id, pid */
	CRADLE_EVENT_SANDBOX_STOPPED = 5, /* "sandbox.stopped": id, and the exit_status
	                                   * and exited_at of its exit */
	CRADLE_EVENT_SANDBOX_REMOVED = 6, /* "sandbox.removed": id */
};

struct cradle_event {
	int kind;      /* enum cradle_event_kind */
	char type[32]; /* as the daemon names it */
	uint64_t seq;  /* gap-free, never reused: goes on across daemon restarts */
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;
	int32_t exit_status; /* 128 + signal for a killed task */
	int64_t exited_at;   /* ns since the epoch */
	char ref[CRADLE_IMAGE_REF_MAX + 1];
	uint64_t done; /* bytes so far */
	int64_t total; /* bytes in all; <= 0 while unknown */
};

/* Subscribe to every event.
 *
 * A subscription hands out every event once, in seq order, across daemon
 * restarts: events it did not receive (the daemon drops messages for a
 * subscriber that does not keep up, and publishes while it is restarting
 * and nobody is connected) are fetched from the daemon's event log with
 * the events.since request on socket_path, the request socket, before
 * the events that came after them; while the daemon cannot answer
 * (restarting, not reachable, no reply in time) the subscription waits
 * and asks again, handing out nothing past the gap.  The daemon keeps
 * the last [events]
 * keep events (65536 by default); events that were trimmed before they
 * could be fetched are reported once by cradle_events_next (-ENODATA,
 * NOT_FOUND, naming the seqs), and the subscription goes on from the
 * oldest kept one.
 *
 * events_path NULL: cradle_events_path(NULL, socket_path).  socket_path
 * NULL: the request socket beside the events socket (cradled puts both in
 * its state directory; none for a non-ipc events URL: gaps are then
 * reported, not filled).  since 0: the events published after this call
 * (the daemon is asked for its last seq; when it cannot be reached, from
 * the first event received); since N: every kept event from seq N on
 * first, then the live ones.  One thread at a time may call
 * cradle_events_next on a subscription. */
CRADLE_API int cradle_events_subscribe(const char *events_path, const char *socket_path,
                                       uint64_t since, struct cradle_events **out,
                                       struct cradle_error *err);
/* cradle_events_subscribe(events_path, NULL, 0, out, err). */
CRADLE_API int cradle_events_open(const char *events_path, struct cradle_events **out,
                                  struct cradle_error *err);
/* The seq of the last event handed out (0: none yet): where a later
 * subscription resumes (since = it + 1). */
CRADLE_API uint64_t cradle_events_last_seq(const struct cradle_events *e);
/* Wait for the next event up to timeout_ms (< 0: forever; a fetch from
 * the log may take longer, up to 10 s per page).  A timeout is -ETIMEDOUT
 * with UNAVAILABLE (also while a gap waits for a daemon that cannot
 * answer: the message says why; the next call goes on from there,
 * nothing lost); an event that cannot be read is INTERNAL, events lost
 * for good -ENODATA: trimmed from the log, or no log to ask (the
 * subscription goes on after each); another failure to replay is
 * returned as it is, and the next call asks again. */
CRADLE_API int cradle_events_next(struct cradle_events *e, int timeout_ms, struct cradle_event *ev,
                                  struct cradle_error *err);
CRADLE_API void cradle_events_close(struct cradle_events *e);

/* --- timings ------------------------------------------------------
 * cradled times every sandbox start and stop step by step: the steps of
 * its start pipeline ("runtime", "image", ..., "launch", "netns",
 * "record", "reaper") and of a stop ("kill", "wait", "shm", "netns",
 * "record").  Each sandbox keeps the step times of its last start and of
 * its last stop (cradle_sandbox_status_verbose; `cradle inspectp -v`);
 * the daemon keeps a histogram of every step and of whole operations
 * since it started (cradle_daemon_stats; its metrics endpoint shows the
 * same, see docs/CONFIGURATION.md). */

/* The operations timed. */
enum cradle_timed_op {
	CRADLE_TIMED_START = 0,
	CRADLE_TIMED_STOP = 1,
};
#define CRADLE_STEP_NAME_MAX 31 /* bytes in a step name, [A-Za-z0-9._-] */

/* cradle_sandbox_status, with the sandbox's step times. */
CRADLE_API int cradle_sandbox_status_verbose(struct cradle_conn *c, const char *id,
                                             struct cradle_sandbox **out, struct cradle_error *err);
/* The steps of the sandbox's last start or stop (op: enum
 * cradle_timed_op), in the order they ran (a failed start's up to the one
 * that failed); 0 when there was none since the daemon started, or when s
 * did not come from cradle_sandbox_status_verbose. */
CRADLE_API size_t cradle_sandbox_step_count(const struct cradle_sandbox *s, int op);
/* The i-th step: its name and its time in microseconds (rounded up;
 * UINT32_MAX for over an hour); false when i is past the end.  A stop's
 * step that had nothing to do (the task had exited already) took 0.
 * name and us may be NULL. */
CRADLE_API bool cradle_sandbox_step_at(const struct cradle_sandbox *s, int op, size_t i,
                                       const char **name, uint32_t *us);

#define CRADLE_STATS_BUCKETS 32

/* Durations in fixed log-scale buckets: buckets[0] counts those up to
 * 1 us, buckets[i] those above 2^(i-1) us and up to 2^i us (the bound is
 * cradle_stats_bucket_le_ns(i)), the last one those longer than that. */
struct cradle_histogram {
	char step[CRADLE_STEP_NAME_MAX + 1]; /* the step; "" for a whole operation */
	uint64_t count;                      /* durations counted, the sum of buckets */
	uint64_t sum_ns;                     /* their sum */
	uint64_t p50_ns, p99_ns;             /* cradle_histogram_quantile, as the daemon
	                                        computed them */
	uint64_t buckets[CRADLE_STATS_BUCKETS];
};

/* The daemon's counters since it started, and its gauges now. */
struct cradle_stats;

CRADLE_API int cradle_daemon_stats(struct cradle_conn *c, struct cradle_stats **out,
                                   struct cradle_error *err);
CRADLE_API void cradle_stats_free(struct cradle_stats *st);
/* Operations of op (enum cradle_timed_op) run, failed ones included: a
 * start is every run of the start pipeline (sandbox.run, sandbox.start),
 * a stop every stop or remove that had a task or resources to release. */
CRADLE_API uint64_t cradle_stats_count(const struct cradle_stats *st, int op);
/* Those of them that failed with code (enum cradle_status). */
CRADLE_API uint64_t cradle_stats_errors(const struct cradle_stats *st, int op, int code);
/* Requests waiting for a worker, and sandboxes in phase (enum
 * cradle_phase), when the daemon answered. */
CRADLE_API uint64_t cradle_stats_queue_depth(const struct cradle_stats *st);
CRADLE_API uint64_t cradle_stats_sandboxes(const struct cradle_stats *st, int phase);
/* Sandbox records the daemon found unreadable at start-up and set aside
 * (docs/OPERATIONS.md, "Quarantined records"): their sandboxes are not
 * served, and nothing of them is removed until an operator drops them. */
CRADLE_API uint64_t cradle_stats_quarantined(const struct cradle_stats *st);
/* The histogram of whole operations of op; false for a bad st or op. */
CRADLE_API bool cradle_stats_total(const struct cradle_stats *st, int op,
                                   struct cradle_histogram *out);
/* The steps of op the daemon knows (every step of a pipeline once it has
 * run), and the histogram of the i-th; false when i is past the end. */
CRADLE_API size_t cradle_stats_step_count(const struct cradle_stats *st, int op);
CRADLE_API bool cradle_stats_step(const struct cradle_stats *st, int op, size_t i,
                                  struct cradle_histogram *out);
/* The largest duration bucket i counts, in ns; UINT64_MAX for the last. */
CRADLE_API uint64_t cradle_stats_bucket_le_ns(size_t i);
/* The q-quantile (0..1) of h's buckets in ns, linear within the bucket
 * that holds it (Prometheus's histogram_quantile), the last bucket's lower
 * bound when it falls there; 0 for an empty histogram.  For what happened
 * between two snapshots, subtract the buckets first. */
CRADLE_API uint64_t cradle_histogram_quantile(const struct cradle_histogram *h, double q);

/* --- daemon info ----------------------------------------------------
 * What `cradle info` shows, as `crictl info`: the runtime's conditions
 * ("RuntimeReady"; "NetworkReady": the CNI config directory loads), what
 * the daemon detected on its node at start-up, and its effective
 * configuration as `cradled --print-config` prints it.  Members of the
 * daemon's readonly_group may ask. */
struct cradle_info;

CRADLE_API int cradle_daemon_info(struct cradle_conn *c, struct cradle_info **out,
                                  struct cradle_error *err);
CRADLE_API void cradle_info_free(struct cradle_info *info);
/* The daemon's version (as cradle_version), wire protocol and pid. */
CRADLE_API const char *cradle_info_version(const struct cradle_info *info);
CRADLE_API uint32_t cradle_info_api_version(const struct cradle_info *info);
CRADLE_API int32_t cradle_info_pid(const struct cradle_info *info);
/* The conditions, in order; reason and message "" when none.  Any of the
 * out pointers may be NULL; false when i is past the end. */
CRADLE_API size_t cradle_info_condition_count(const struct cradle_info *info);
CRADLE_API bool cradle_info_condition_at(const struct cradle_info *info, size_t i,
                                         const char **type, bool *status, const char **reason,
                                         const char **message);
/* The node: the cgroup layout ("v1", "v2", "hybrid") and its hierarchies
 * as the daemon logged them, the device control ("ebpf", "v1", "none"),
 * SELinux enabled on the node and applied to sandboxes, seccomp filters
 * available, oom_score_adj restricted (configured, or forced without
 * CAP_SYS_RESOURCE) and the daemon's own, whether the daemon runs in a
 * user namespace, the kernel release.  Strings are "" when unknown. */
CRADLE_API const char *cradle_info_cgroup_layout(const struct cradle_info *info);
CRADLE_API const char *cradle_info_cgroups(const struct cradle_info *info);
CRADLE_API const char *cradle_info_device_control(const struct cradle_info *info);
CRADLE_API bool cradle_info_selinux_enabled(const struct cradle_info *info);
CRADLE_API bool cradle_info_selinux_applied(const struct cradle_info *info);
CRADLE_API bool cradle_info_seccomp_available(const struct cradle_info *info);
CRADLE_API bool cradle_info_restrict_oom_score_adj(const struct cradle_info *info);
CRADLE_API int32_t cradle_info_oom_score_adj(const struct cradle_info *info);
CRADLE_API bool cradle_info_in_user_namespace(const struct cradle_info *info);
CRADLE_API const char *cradle_info_kernel(const struct cradle_info *info);
/* The configuration's sections ("cradled", "sandbox", ..., "runtime.runc")
 * in order, the keys of the i-th in order, and one value by section and
 * key (NULL when absent; "" for a key set to nothing). */
CRADLE_API size_t cradle_info_config_section_count(const struct cradle_info *info);
CRADLE_API const char *cradle_info_config_section(const struct cradle_info *info, size_t i);
CRADLE_API size_t cradle_info_config_key_count(const struct cradle_info *info, size_t i);
CRADLE_API bool cradle_info_config_key_at(const struct cradle_info *info, size_t i, size_t j,
                                          const char **key, const char **value);
CRADLE_API const char *cradle_info_config_value(const struct cradle_info *info, const char *section,
                                                const char *key);

/* --- JSON -----------------------------------------------------------
 * Everything a sandbox, image or event holds, as `cradle inspectp`,
 * `inspecti` and `events --json` print it, in *out (NUL-terminated,
 * release with free()).  The list forms write an array of n items. */
#define CRADLE_JSON_PRETTY 1u /* indented, one field a line */

CRADLE_API int cradle_sandbox_to_json(const struct cradle_sandbox *s, unsigned flags, char **out,
                                      struct cradle_error *err);
CRADLE_API int cradle_sandboxes_to_json(const struct cradle_sandbox *const *v, size_t n,
                                        unsigned flags, char **out, struct cradle_error *err);
CRADLE_API int cradle_image_to_json(const struct cradle_image *img, unsigned flags, char **out,
                                    struct cradle_error *err);
CRADLE_API int cradle_images_to_json(const struct cradle_image *const *v, size_t n, unsigned flags,
                                     char **out, struct cradle_error *err);
CRADLE_API int cradle_event_to_json(const struct cradle_event *ev, unsigned flags, char **out,
                                    struct cradle_error *err);
/* `cradle info`: {"status": {"conditions": [{"type", "status", "reason",
 * "message"}...], "node": {...}, "version", "apiVersion", "pid"},
 * "config": {"<section>": {"<key>": "<value>"...}...}}, the shape of
 * `crictl info`. */
CRADLE_API int cradle_info_to_json(const struct cradle_info *info, unsigned flags, char **out,
                                   struct cradle_error *err);

#ifdef __cplusplus
}
#endif
#endif
