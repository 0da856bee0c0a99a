/* cli.c - `cradle`, the command line client of cradled, in crictl's
 * vocabulary (runp, stopp, rmp, pods, inspectp, pull, images, rmi ...).
 *
 * Each command's options are one table (cli_commands[], cli.h), from which
 * its parser, its help, the man page and the completion scripts are made
 * (client/cli_doc.c); a command connects on first use and makes
 * libcradle calls through the public API (client/cradle.h); cradle's own
 * JSON is libcradle's rendering, crictl's shapes (-o json|yaml of pods,
 * inspectp, info) are built here, YAML with libyaml from the same json-c
 * object, and pod configs may be YAML.  Ids may be given as unambiguous
 * prefixes, resolved against one list call per run.  Exit status: 0 done, 1 an
 * operation failed ("cradle: CODE: message" on stderr), 2 the command line
 * was wrong (with its usage).  Commands over several ids carry on past a
 * failed one and exit 1 at the end, so one bad id does not hide the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <yaml.h>

#include "client/cli.h"
#include "client/cradle.h"
#include "client/internal.h"
#include "client/podjson.h"
#include "proto/ref.h"

#ifndef CRADLE_VERSION
#error "CRADLE_VERSION is defined by the Makefile, from the file VERSION"
#endif

#define EXIT_USAGE 2

/* crictl shows this many characters of an id in tables */
#define SHORT_ID 13

struct cli {
	const char *socket;       /* --socket, NULL: $CRADLE_SOCKET or default */
	int timeout_ms;           /* --timeout; 0: libcradle's default, <0: none */
	struct cradle_conn *conn; /* opened on first use */
	/* every sandbox, listed once for prefix resolution */
	struct cradle_sandbox_list *all;
};

/* keys of the long-only options of the tables (cli.h) */
enum {
	O_JSON = CLI_LONG_ONLY,
	O_NO_TRUNC,
	O_LABEL,
	O_NAME,
	O_NAMESPACE,
	O_ID,
	O_IP,
	O_PINNED,
	O_PRUNE,
	O_SINCE,
	O_CREDS,
	O_AUTH,
	O_MAN,
	O_LIST_OPTIONS,
};

/* the command being run */
static const struct cli_cmd *current;

/* --- output helpers ------------------------------------------------ */

/* "cradle: CODE: message" on stderr; returns the exit status 1. */
__attribute__((format(printf, 2, 3))) static int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cradle: %s: ", cradle_status_name(code));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
report(const struct cradle_error *e)
{
	return fail(e->code, "%s", e->message[0] ? e->message : "unknown error");
}

/* "cradle: CMD: message" and the command's usage; the exit status 2. */
__attribute__((format(printf, 1, 2))) static int
usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cli_usage_error(current, fmt, ap);
	va_end(ap);
	return rc;
}

/* Print what a *_to_json call made (rc its result) and release it; the
 * exit status. */
static int
print_json(int rc, char *text, const struct cradle_error *err)
{
	if (rc < 0)
		return report(err);
	puts(text);
	free(text);
	return 0;
}

/* --- argument parsing ---------------------------------------------- */

/* A duration: a number with an optional unit ms, s, m, h (default s), as
 * crictl's "10s" or plain "10".  *ms is the result; false if malformed. */
static bool
parse_duration(const char *s, int64_t *ms)
{
	double v, mult = 1000;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return false;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return false;
	v *= mult;
	if (v > 24.0 * 3600000 * 365)
		return false;
	/* round by hand: the CLI does not link libm */
	*ms = (int64_t)(v + 0.5);
	return true;
}

static int
parse_state(const char *s, int *state)
{
	if (strcasecmp(s, "ready") == 0 || strcasecmp(s, "SANDBOX_READY") == 0)
		*state = CRADLE_STATE_READY;
	else if (strcasecmp(s, "notready") == 0 || strcasecmp(s, "SANDBOX_NOTREADY") == 0)
		*state = CRADLE_STATE_NOTREADY;
	else
		return -1;
	return 0;
}

/* --- daemon access ------------------------------------------------- */

static int
conn(struct cli *cli, struct cradle_conn **out, struct cradle_error *err)
{
	int rc;

	/* sync: a run is a few calls, each paid for by a user waiting; nng's
	 * thread pool would cost more than the calls (cradle.h) */
	if (!cli->conn) {
		rc = cradle_connect_flags(cradle_socket_path(cli->socket), cli->timeout_ms,
		                          CRADLE_CONNECT_SYNC, &cli->conn, err);
		if (rc < 0)
			return rc;
	}
	*out = cli->conn;
	return 0;
}

static int
list_all(struct cli *cli, struct cradle_error *err)
{
	struct cradle_conn *c;
	int rc;

	if (cli->all)
		return 0;
	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	return cradle_sandbox_list(c, -1, NULL, 0, &cli->all, err);
}

static bool
all_hex(const char *s)
{
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s))
			return false;
	}
	return true;
}

/* A full id as given, else the one sandbox whose id starts with arg.
 * Reports its own failure; returns 0 or the exit status. */
static int
resolve_id(struct cli *cli, const char *arg, char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	char want[CRADLE_SANDBOX_ID_LEN + 1];
	size_t len = strlen(arg), i, n, hits = 0;
	struct cradle_error err;
	const char *sid, *hit = NULL;

	if (len == 0)
		return fail(CRADLE_STATUS_INVALID_ARGUMENT, "empty sandbox id");
	if (len > CRADLE_SANDBOX_ID_LEN || !all_hex(arg))
		return fail(CRADLE_STATUS_INVALID_ARGUMENT,
		            "invalid sandbox id \"%.80s\": expected "
		            "up to %d hex characters",
		            arg, CRADLE_SANDBOX_ID_LEN);
	for (i = 0; i <= len; i++)
		want[i] = (char)tolower((unsigned char)arg[i]);
	if (len == CRADLE_SANDBOX_ID_LEN) {
		memcpy(id, want, sizeof(want));
		return 0;
	}
	if (list_all(cli, &err) < 0)
		return report(&err);
	n = cradle_sandbox_list_count(cli->all);
	for (i = 0; i < n; i++) {
		sid = cradle_sandbox_id(cradle_sandbox_list_at(cli->all, i));
		if (strncmp(sid, want, len) == 0 && hits++ == 0)
			hit = sid;
	}
	if (hits == 0)
		return fail(CRADLE_STATUS_NOT_FOUND,
		            "no pod sandbox with an id starting with "
		            "\"%s\"",
		            want);
	if (hits > 1)
		return fail(CRADLE_STATUS_INVALID_ARGUMENT,
		            "pod sandbox id prefix \"%s\" is "
		            "ambiguous: it matches %zu sandboxes",
		            want, hits);
	memcpy(id, hit, CRADLE_SANDBOX_ID_LEN + 1);
	return 0;
}

/* --- crictl's shapes ------------------------------------------------
 * `pods -o json|yaml` and `inspectp -o json|yaml` print what crictl
 * prints for the same CRI objects (protojson with default values:
 * camelCase keys, enums by their names, int64 counters as strings): one
 * json-c object per output, from which YAML is emitted too, so the two
 * always say the same.  `-o raw` is cradle's own JSON
 * (cradle_sandbox_to_json). */

enum out_format { OUT_DEFAULT, OUT_TABLE, OUT_JSON, OUT_YAML, OUT_RAW };

/* set when an allocation of a shape failed; the output is dropped then */
static bool shape_oom;

/* Add v under key to o, taking v. */
static void
jput(json_object *o, const char *key, json_object *v)
{
	if (o == NULL || v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		shape_oom = true;
	}
}

static void
jappend(json_object *a, json_object *v)
{
	if (a == NULL || v == NULL || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		shape_oom = true;
	}
}

/* json-c pretty-prints an empty container over two lines: "{}" and "[]"
 * as every other JSON tool writes them */
static int
empty_json(json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, json_object_is_type(o, json_type_array) ? "[]" : "{}", 2);
}

static json_object *
jcompact(json_object *o)
{
	if (o != NULL &&
	    ((json_object_is_type(o, json_type_array) && json_object_array_length(o) == 0) ||
	     (json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0)))
		json_object_set_serializer(o, empty_json, NULL, NULL);
	return o;
}

static json_object *
jstr(const char *s)
{
	return json_object_new_string(s != NULL ? s : "");
}

typedef bool kv_at_fn(const struct cradle_sandbox *s, size_t i, const char **key,
                      const char **value);

static json_object *
jkvs(const struct cradle_sandbox *s, kv_at_fn *at)
{
	json_object *o = json_object_new_object();
	const char *k, *v;

	for (size_t i = 0; o != NULL && at(s, i, &k, &v); i++)
		jput(o, k, jstr(v));
	return jcompact(o);
}

static json_object *
crictl_metadata(const struct cradle_sandbox *s)
{
	json_object *md = json_object_new_object();

	jput(md, "name", jstr(cradle_sandbox_name(s)));
	jput(md, "uid", jstr(cradle_sandbox_uid(s)));
	jput(md, "namespace", jstr(cradle_sandbox_namespace(s)));
	jput(md, "attempt", json_object_new_int64(cradle_sandbox_attempt(s)));
	return md;
}

static const char *
crictl_state(const struct cradle_sandbox *s)
{
	return cradle_sandbox_state(s) == CRADLE_STATE_READY ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

/* CRI PodSandbox, as `crictl pods -o json` lists it. */
static json_object *
crictl_pod(const struct cradle_sandbox *s)
{
	json_object *o = json_object_new_object();
	char created[24];

	snprintf(created, sizeof(created), "%lld", (long long)cradle_sandbox_created_at(s));
	jput(o, "id", jstr(cradle_sandbox_id(s)));
	jput(o, "metadata", crictl_metadata(s));
	jput(o, "state", jstr(crictl_state(s)));
	jput(o, "createdAt", jstr(created));
	jput(o, "labels", jkvs(s, cradle_sandbox_label_at));
	jput(o, "annotations", jkvs(s, cradle_sandbox_annotation_at));
	jput(o, "runtimeHandler", jstr(cradle_sandbox_runtime_handler(s)));
	return o;
}

static const char *
ns_mode_name(int mode)
{
	static const char *const names[] = { "POD", "CONTAINER", "NODE", "TARGET" };

	return mode >= 0 && mode < 4 ? names[mode] : "POD";
}

/* CRI PodSandboxStatus, as `crictl inspectp` shows it (createdAt as RFC
 * 3339 with nanoseconds, as crictl rewrites it). */
static json_object *
crictl_status(const struct cradle_sandbox *s)
{
	const struct pod_config *c = &s->p.config;
	json_object *o = json_object_new_object(), *net, *ips, *lnx, *nss, *opts;
	char created[CRADLE_TIME_MAX];
	size_t n_ips = cradle_sandbox_ip_count(s);

	cradle_time_rfc3339(cradle_sandbox_created_at(s), true, created);
	jput(o, "id", jstr(cradle_sandbox_id(s)));
	jput(o, "metadata", crictl_metadata(s));
	jput(o, "state", jstr(crictl_state(s)));
	jput(o, "createdAt", jstr(created));
	net = json_object_new_object();
	jput(net, "ip", jstr(n_ips > 0 ? cradle_sandbox_ip_at(s, 0) : ""));
	ips = json_object_new_array();
	for (size_t i = 1; i < n_ips; i++) {
		json_object *ip = json_object_new_object();
		jput(ip, "ip", jstr(cradle_sandbox_ip_at(s, i)));
		jappend(ips, ip);
	}
	jput(net, "additionalIps", jcompact(ips));
	jput(o, "network", net);
	opts = json_object_new_object();
	jput(opts, "network",
	     jstr(ns_mode_name(c->linux.security_context.namespace_options.network)));
	jput(opts, "pid", jstr(ns_mode_name(c->linux.security_context.namespace_options.pid)));
	jput(opts, "ipc", jstr(ns_mode_name(c->linux.security_context.namespace_options.ipc)));
	jput(opts, "targetId", jstr(c->linux.security_context.namespace_options.target_id));
	nss = json_object_new_object();
	jput(nss, "options", opts);
	lnx = json_object_new_object();
	jput(lnx, "namespaces", nss);
	jput(o, "linux", lnx);
	jput(o, "labels", jkvs(s, cradle_sandbox_label_at));
	jput(o, "annotations", jkvs(s, cradle_sandbox_annotation_at));
	jput(o, "runtimeHandler", jstr(cradle_sandbox_runtime_handler(s)));
	return o;
}

/* A string, or null for NULL. */
static void
jput_opt(json_object *o, const char *key, const char *s)
{
	/* json-c's null is a NULL object: added as is */
	if (s == NULL) {
		if (o == NULL || json_object_object_add(o, key, NULL) != 0)
			shape_oom = true;
		return;
	}
	jput(o, key, jstr(s));
}

/* A time stamp, or null for 0 (never). */
static void
jput_time(json_object *o, const char *key, int64_t ns)
{
	char t[CRADLE_TIME_MAX];

	cradle_time_rfc3339(ns, true, t);
	jput_opt(o, key, ns != 0 ? t : NULL);
}

/* The step times of s's last start or stop: [{"step", "us"}...]. */
static json_object *
crictl_steps(const struct cradle_sandbox *s, int op)
{
	json_object *a = json_object_new_array();
	const char *name;
	uint32_t us;

	for (size_t i = 0; a != NULL && cradle_sandbox_step_at(s, op, i, &name, &us); i++) {
		json_object *st = json_object_new_object();
		jput(st, "step", jstr(name));
		jput(st, "us", json_object_new_int64(us));
		jappend(a, st);
	}
	return jcompact(a);
}

/* What crictl shows as "info" (the runtime's verbose extras): cradle's
 * phase, task, paths, labels, the spec's labels and annotations, and
 * with verbose the step times of the last start and stop. */
static json_object *
crictl_info(const struct cradle_sandbox *s, bool verbose)
{
	json_object *o = json_object_new_object();

	jput(o, "phase", jstr(proto_phase_name(cradle_sandbox_phase(s))));
	jput(o, "pid", json_object_new_int(cradle_sandbox_pid(s)));
	jput_time(o, "startedAt", cradle_sandbox_started_at(s));
	jput_time(o, "exitedAt", cradle_sandbox_exited_at(s));
	jput(o, "exitStatus", json_object_new_int(cradle_sandbox_exit_status(s)));
	jput(o, "hostname", jstr(cradle_sandbox_hostname(s)));
	jput_opt(o, "runtimeType", cradle_sandbox_runtime_type(s));
	jput(o, "launcher", jstr(cradle_sandbox_launcher(s)));
	jput_opt(o, "image", cradle_sandbox_image(s));
	jput_opt(o, "netnsPath", cradle_sandbox_netns_path(s));
	jput_opt(o, "cgroupPath", cradle_sandbox_cgroup_path(s));
	jput_opt(o, "hostnamePath", cradle_sandbox_hostname_path(s));
	jput_opt(o, "hostsPath", cradle_sandbox_hosts_path(s));
	jput_opt(o, "resolvConfPath", cradle_sandbox_resolv_conf_path(s));
	jput_opt(o, "shmPath", cradle_sandbox_shm_path(s));
	jput_opt(o, "processLabel", cradle_sandbox_process_label(s));
	jput_opt(o, "mountLabel", cradle_sandbox_mount_label(s));
	jput(o, "specLabels", jkvs(s, cradle_sandbox_spec_label_at));
	jput(o, "specAnnotations", jkvs(s, cradle_sandbox_spec_annotation_at));
	if (verbose) {
		json_object *t = json_object_new_object();
		jput(t, "start", crictl_steps(s, CRADLE_TIMED_START));
		jput(t, "stop", crictl_steps(s, CRADLE_TIMED_STOP));
		jput(o, "timings", t);
	}
	return o;
}

/* `crictl inspectp`'s object for one sandbox: {"status", "info"}. */
static json_object *
crictl_inspect(const struct cradle_sandbox *s, bool verbose)
{
	json_object *o = json_object_new_object();

	jput(o, "status", crictl_status(s));
	jput(o, "info", crictl_info(s, verbose));
	return o;
}

/* --- YAML, from the same json-c object ---------------------------- */

/* A string YAML 1.1 would read as something else (a number, a bool, null,
 * a time, "" ...) is quoted; libyaml quotes what its own syntax needs. */
static bool
yaml_ambiguous(const char *s)
{
	static const char *const words[] = {
		"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", NULL,
	};

	if (s[0] == '\0' || strchr("0123456789+-.", s[0]) != NULL)
		return true;
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return false;
}

static bool
yaml_scalar(yaml_emitter_t *em, const char *v, bool is_string)
{
	yaml_event_t ev;
	bool plain = !is_string || !yaml_ambiguous(v);

	if (!yaml_scalar_event_initialize(
		    &ev, NULL, NULL, (yaml_char_t *)(uintptr_t)v, (int)strlen(v), plain, is_string,
		    is_string ? YAML_ANY_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE))
		return false;
	return yaml_emitter_emit(em, &ev) != 0;
}

static bool
yaml_value(yaml_emitter_t *em, json_object *o)
{
	yaml_event_t ev;
	char buf[32];

	switch (json_object_get_type(o)) {
	case json_type_object:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		                                         YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return false;
		json_object_object_foreach(o, k, v) {
			if (!yaml_scalar(em, k, true) || !yaml_value(em, v))
				return false;
		}
		return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
	case json_type_array:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		                                          YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return false;
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!yaml_value(em, json_object_array_get_idx(o, i)))
				return false;
		return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
	case json_type_string:
		return yaml_scalar(em, json_object_get_string(o), true);
	case json_type_boolean:
		return yaml_scalar(em, json_object_get_boolean(o) ? "true" : "false", false);
	case json_type_int:
		snprintf(buf, sizeof(buf), "%lld", (long long)json_object_get_int64(o));
		return yaml_scalar(em, buf, false);
	case json_type_double:
		return yaml_scalar(em, json_object_to_json_string(o), false);
	default: /* null */
		return yaml_scalar(em, "null", false);
	}
}

/* o as one YAML document on stdout; false (and a message) on failure. */
static bool
print_yaml(json_object *o)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	bool ok;

	if (!yaml_emitter_initialize(&em))
		return false;
	yaml_emitter_set_output_file(&em, stdout);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	     yaml_emitter_emit(&em, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&em, &ev) && yaml_value(&em, o) &&
	     yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
	     yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev);
	if (!ok)
		fprintf(stderr, "cradle: YAML output: %s\n",
		        em.problem != NULL ? em.problem : "out of memory");
	yaml_emitter_delete(&em);
	return ok;
}

/* Print o (taken) as JSON or YAML; the exit status. */
static int
print_shape(json_object *o, enum out_format fmt)
{
	int status = 0;

	if (o == NULL || shape_oom) {
		status = fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "output: out of memory");
	} else if (fmt == OUT_YAML) {
		status = print_yaml(o) ? 0 : 1;
	} else {
		const char *s = json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				   JSON_C_TO_STRING_NOSLASHESCAPE);
		if (s == NULL)
			status = fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "output: out of memory");
		else
			puts(s);
	}
	json_object_put(o);
	return status;
}

/* "json", "yaml", "table", "raw" as allowed (a mask of 1 << format). */
static int
parse_output(const char *arg, unsigned allowed, const char *list, enum out_format *fmt)
{
	static const char *const names[] = {
		[OUT_TABLE] = "table", [OUT_JSON] = "json", [OUT_YAML] = "yaml", [OUT_RAW] = "raw"
	};

	for (int f = OUT_TABLE; f <= OUT_RAW; f++) {
		if ((allowed & (1u << f)) && strcmp(arg, names[f]) == 0) {
			*fmt = (enum out_format)f;
			return 0;
		}
	}
	return usage_error("invalid --output \"%s\": expected %s", arg, list);
}

/* --- listings ------------------------------------------------------ */

/* How `pods` and `images` print: ids only (-q), JSON (--json, -o json),
 * YAML (-o yaml, pods), cradle's own JSON (-o raw, pods) or a table (-o
 * table, the default), ids cut unless --no-trunc.  formats: the -o
 * values the command takes (a mask of 1 << enum out_format), listed in
 * list for its usage error. */
struct listing {
	bool quiet, no_trunc;
	enum out_format fmt;
	unsigned formats;
	const char *list;
};

/* Take the parser's opt if it is a listing option (-q, --json, -o,
 * --no-trunc): 0 when taken, the exit status of a usage error, or -1 when
 * opt is not one of them. */
static int
listing_option(struct listing *l, int opt, const char *arg)
{
	switch (opt) {
	case 'q':
		l->quiet = true;
		return 0;
	case O_JSON:
		l->fmt = OUT_JSON;
		return 0;
	case O_NO_TRUNC:
		l->no_trunc = true;
		return 0;
	case 'o':
		return parse_output(arg, l->formats, l->list, &l->fmt);
	default:
		return -1;
	}
}

/* --- tables -------------------------------------------------------- */

#define MAX_COLS 8
#define CELL_MAX (CRADLE_IMAGE_REF_MAX + 1)

/* One row's cells and the room they are written in. */
struct row {
	const char *cell[MAX_COLS];
	char buf[MAX_COLS][CELL_MAX];
};

static void
print_row(const char *const *cell, const size_t *width, size_t n_cols)
{
	size_t k;

	for (k = 0; k < n_cols; k++)
		printf("%-*s%s", k + 1 < n_cols ? (int)width[k] : 0, cell[k],
		       k + 1 < n_cols ? "   " : "\n");
}

/* A table as crictl prints one: a heading, then n_rows rows whose cells
 * fill(arg, i, row) writes; each column as wide as its widest cell, three
 * spaces apart.  Pass 0 measures, pass 1 prints: the cells are cheap to
 * make again. */
static void
print_table(const char *const *head, size_t n_cols, size_t n_rows,
            void (*fill)(const void *arg, size_t i, struct row *r), const void *arg)
{
	size_t width[MAX_COLS], i, k, len;
	struct row r;

	for (k = 0; k < n_cols; k++)
		width[k] = strlen(head[k]);
	for (i = 0; i < n_rows; i++) {
		fill(arg, i, &r);
		for (k = 0; k < n_cols; k++) {
			len = strlen(r.cell[k]);
			if (len > width[k])
				width[k] = len;
		}
	}
	print_row(head, width, n_cols);
	for (i = 0; i < n_rows; i++) {
		fill(arg, i, &r);
		print_row(r.cell, width, n_cols);
	}
}

/* Point cell k of r at its own buffer, filled printf-style. */
__attribute__((format(printf, 3, 4))) static void
cell(struct row *r, size_t k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->buf[k], sizeof(r->buf[k]), fmt, ap);
	va_end(ap);
	r->cell[k] = r->buf[k];
}

/* --- pod configs in YAML ------------------------------------------
 * runp and createp read crictl's pod config as JSON or YAML, as crictl
 * does (YAML by a .yaml/.yml name, or content that does not start with
 * '{'): the YAML becomes a json-c object, and its JSON text goes the
 * JSON path (cradle_pod_from_json), so both meet the same rules.  A
 * plain scalar is null ("", "~", "null"), a bool (true, false, yes, no,
 * on, off, as YAML 1.1), an integer or a float, else a string; quoted
 * ones, and the values of labels, annotations and sysctls and of the
 * metadata's names and uid, are strings.  Aliases are refused (no
 * expansion bombs), as are a second document and duplicate keys; the
 * nesting is bounded as for JSON.  A missing or empty metadata.uid is
 * made up as crictl does: a random (version 4) UUID. */

struct yaml_in {
	yaml_parser_t p;
	char msg[256];
};

static bool
yaml_next(struct yaml_in *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->p, ev))
		return true;
	snprintf(y->msg, sizeof(y->msg), "line %zu, column %zu: %s%s%s", y->p.problem_mark.line + 1,
	         y->p.problem_mark.column + 1, y->p.problem ? y->p.problem : "malformed",
	         y->p.context ? " " : "", y->p.context ? y->p.context : "");
	return false;
}

__attribute__((format(printf, 3, 4))) static json_object *
yaml_fail(struct yaml_in *y, const yaml_event_t *ev, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(y->msg, sizeof(y->msg), "line %zu, column %zu: %s", ev->start_mark.line + 1,
	         ev->start_mark.column + 1, what);
	return NULL;
}

static bool
yaml_word(const char *v, const char *const *words)
{
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(v, words[i]) == 0)
			return true;
	return false;
}

/* A scalar as JSON in *out (NULL: null); as_string: a string whatever it
 * looks like.  -1 when out of memory. */
static int
yaml_scalar_json(const yaml_event_t *ev, bool as_string, json_object **out)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes",
		                             "YES",  "on",   "On",   "ON",  NULL };
	static const char *const falses[] = { "false", "False", "FALSE", "no",  "No",
		                              "NO",    "off",   "Off",   "OFF", NULL };
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;

	char *end;
	long long n;
	double d;

	*out = NULL;
	if (as_string || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag != NULL && strcmp(tag, YAML_STR_TAG) == 0) || strlen(v) != len) {
		*out = json_object_new_string_len(v, (int)len);
	} else if (yaml_word(v, nulls)) {
		return 0; /* json-c's null */
	} else if (yaml_word(v, trues) || yaml_word(v, falses)) {
		*out = json_object_new_boolean(yaml_word(v, trues));
	} else if (errno = 0, n = strtoll(v, &end, 10), end != v && *end == '\0' && errno == 0) {
		*out = json_object_new_int64(n);
	} else if (errno = 0, d = strtod(v, &end),
	           end != v && *end == '\0' && errno == 0 && strpbrk(v, ".eE") != NULL &&
	                   strpbrk(v, "xXnN") == NULL) {
		*out = json_object_new_double(d);
	} else {
		*out = json_object_new_string_len(v, (int)len);
	}
	return *out != NULL ? 0 : -1;
}

/* The keys whose values are strings whatever they look like (crictl's
 * YAML reader converts by the target's type); in maps under the first
 * three every value is. */
static bool
string_map_key(const char *k)
{
	return strcmp(k, "labels") == 0 || strcmp(k, "annotations") == 0 ||
	       strcmp(k, "sysctls") == 0;
}

static bool
string_key(const char *k)
{
	return strcmp(k, "name") == 0 || strcmp(k, "uid") == 0 || strcmp(k, "namespace") == 0 ||
	       strcmp(k, "hostname") == 0;
}

/* The node ev starts, as JSON (*null set for a null; NULL and y->msg on
 * failure).  ev is the node's first event, deleted here. */
static json_object *
yaml_node_json(struct yaml_in *y, yaml_event_t *ev, int depth, bool strings, bool *null)
{
	json_object *o = NULL;
	yaml_event_t e;

	*null = false;
	if (depth > PODJSON_MAX_DEPTH) {
		yaml_fail(y, ev, "nesting deeper than %d", PODJSON_MAX_DEPTH);
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (yaml_scalar_json(ev, strings, &o) < 0)
			snprintf(y->msg, sizeof(y->msg), "out of memory");
		else
			*null = o == NULL;
		yaml_event_delete(ev);
		return o;
	case YAML_ALIAS_EVENT:
		yaml_fail(y, ev, "aliases are not supported");
		yaml_event_delete(ev);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
		yaml_event_delete(ev);
		o = json_object_new_array();
		for (;;) {
			bool n;
			json_object *v;
			if (o == NULL || !yaml_next(y, &e))
				goto fail;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				return o;
			}
			v = yaml_node_json(y, &e, depth + 1, strings, &n);
			if (v == NULL && !n)
				goto fail;
			if (json_object_array_add(o, v) != 0) {
				json_object_put(v);
				goto fail;
			}
		}
	case YAML_MAPPING_START_EVENT:
		yaml_event_delete(ev);
		o = json_object_new_object();
		for (;;) {
			bool n;
			json_object *v;
			char *key;
			if (o == NULL || !yaml_next(y, &e))
				goto fail;
			if (e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				return o;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				yaml_fail(y, &e, "a mapping key must be a scalar");
				yaml_event_delete(&e);
				goto fail;
			}
			key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
			if (key == NULL || json_object_object_get_ex(o, key, NULL)) {
				if (key != NULL)
					yaml_fail(y, &e, "duplicate key \"%.64s\"", key);
				free(key);
				yaml_event_delete(&e);
				goto fail;
			}
			yaml_event_delete(&e);
			if (!yaml_next(y, &e)) {
				free(key);
				goto fail;
			}
			v = yaml_node_json(
				y, &e, depth + 1,
				strings || string_key(key) ||
					(string_map_key(key) && e.type == YAML_MAPPING_START_EVENT),
				&n);
			if ((v == NULL && !n) || json_object_object_add(o, key, v) != 0) {
				json_object_put(v);
				free(key);
				goto fail;
			}
			free(key);
		}
	default:
		yaml_fail(y, ev, "unexpected YAML event");
		yaml_event_delete(ev);
		return NULL;
	}
fail:
	if (y->msg[0] == '\0')
		snprintf(y->msg, sizeof(y->msg), "out of memory");
	json_object_put(o);
	return NULL;
}

/* len bytes of YAML (one document) as a json-c object; NULL and msg. */
static json_object *
yaml_to_json(const char *text, size_t len, char *msg, size_t msg_len)
{
	struct yaml_in y = { .msg = "" };
	yaml_event_t ev;
	json_object *o = NULL;
	bool null = false, ok = false;

	if (!yaml_parser_initialize(&y.p)) {
		snprintf(msg, msg_len, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
	/* stream start, document start, the node, document end */
	if (!yaml_next(&y, &ev))
		goto out;
	yaml_event_delete(&ev);
	if (!yaml_next(&y, &ev))
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		snprintf(y.msg, sizeof(y.msg), "no YAML document");
		goto out;
	}
	yaml_event_delete(&ev);
	if (!yaml_next(&y, &ev))
		goto out;
	o = yaml_node_json(&y, &ev, 1, false, &null);
	if (o == NULL) {
		if (null)
			snprintf(y.msg, sizeof(y.msg), "the document is empty");
		goto out;
	}
	if (!yaml_next(&y, &ev)) /* document end */
		goto out;
	yaml_event_delete(&ev);
	if (!yaml_next(&y, &ev))
		goto out;
	ok = ev.type == YAML_STREAM_END_EVENT;
	if (!ok)
		yaml_fail(&y, &ev, "more than one YAML document");
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&y.p);
	if (!ok) {
		json_object_put(o);
		snprintf(msg, msg_len, "%s", y.msg);
		return NULL;
	}
	return o;
}

/* crictl's answer to a pod config without metadata.uid: a random UUID. */
static bool
fill_uid(json_object *cfg)
{
	json_object *md = NULL, *uid = NULL;
	unsigned char b[16];
	char s[37];

	if (!json_object_is_type(cfg, json_type_object) ||
	    !json_object_object_get_ex(cfg, "metadata", &md) ||
	    !json_object_is_type(md, json_type_object))
		return false; /* the JSON path names what is missing */
	if (json_object_object_get_ex(md, "uid", &uid) && uid != NULL &&
	    !(json_object_is_type(uid, json_type_string) && json_object_get_string_len(uid) == 0))
		return false;
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return false;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(s, sizeof(s),
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	         b[15]);
	return json_object_object_add(md, "uid", json_object_new_string(s)) == 0;
}

/* The whole of path ("-": standard input), at most PODJSON_MAX_BYTES,
 * NUL-terminated. */
static int
read_pod_file(const char *path, char **out, size_t *len, struct cradle_err *e)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf;
	ssize_t r;

	if (fd < 0)
		return cradle_err_errno(e, errno, "cannot open pod config \"%s\"", path);
	buf = malloc(cap + 1);
	while (buf != NULL) {
		if (n == cap) {
			if (cap > PODJSON_MAX_BYTES)
				break;
			char *nb = realloc(buf, 2 * cap + 1);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int er = errno;
			free(buf);
			if (fd != STDIN_FILENO)
				close(fd);
			return cradle_err_errno(e, er, "cannot read pod config \"%s\"", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (buf == NULL)
		return cradle_err_nomem(e);
	if (n > PODJSON_MAX_BYTES) {
		free(buf);
		return cradle_err_set(e, CRADLE_INVALID_ARGUMENT,
		                      "pod config \"%s\": more than the limit of %u bytes", path,
		                      PODJSON_MAX_BYTES);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static bool
yaml_named(const char *path)
{
	size_t n = strlen(path);

	return (n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(path + n - 4, ".yml") == 0);
}

/* runp/createp's pod config: JSON as before (cradle_pod_from_file), YAML,
 * and either without a uid. */
static int
load_pod(const char *path, struct cradle_pod **pod, struct cradle_error *err)
{
	struct cradle_err e = { 0 };
	json_object *o = NULL;
	char *buf = NULL, msg[256];
	size_t len = 0, i = 0;
	int rc;

	if ((rc = read_pod_file(path, &buf, &len, &e)) < 0)
		return cradle_error_export(err, &e, rc);
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 BOM */
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	bool yaml = yaml_named(path) || (i < len && buf[i] != '{');
	if (yaml) {
		o = yaml_to_json(buf, len, msg, sizeof(msg));
		if (o == NULL) {
			free(buf);
			rc = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
			                    "pod config \"%s\": YAML: %s", path, msg);
			return cradle_error_export(err, &e, rc);
		}
	} else {
		o = json_tokener_parse(buf); /* NULL: the JSON path says why */
	}
	bool made = fill_uid(o);
	if (!yaml && !made && strcmp(path, "-") != 0) {
		rc = cradle_pod_from_file(path, pod, err);
	} else {
		const char *text =
			yaml || made ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
				     : buf;
		if (text == NULL) {
			rc = cradle_error_export(err, &e, cradle_err_nomem(&e));
		} else if ((rc = cradle_pod_from_json(text, strlen(text), pod, err)) < 0) {
			/* named as cradle_pod_from_file names it */
			e.code = err->code;
			snprintf(e.msg, sizeof(e.msg), "%s", err->message);
			cradle_err_wrap(&e, "pod config \"%s\"", path);
			cradle_error_export(err, &e, rc);
		}
	}
	json_object_put(o);
	free(buf);
	return rc;
}

/* --- commands ------------------------------------------------------ */

/* The command line of runp, createp and import: one operand (what names
 * it in usage errors) and one option with a value (-r, -n), which goes
 * to *value (NULL when not given).  0, or the exit status (also 0 after
 * --help: *done is set then); optind is left at the operand. */
static int
one_operand(int argc, char **argv, int key, const char **value, const char *what, bool *done)
{
	struct cli_parser p;
	int opt;

	*value = NULL;
	*done = false;
	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		if (opt != key)
			return cli_unhandled(&p, opt);
		*value = optarg;
	}
	if (opt == 0) {
		*done = true;
		return p.status;
	}
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing %s" : "expected exactly one %s", what);
	return 0;
}

/* runp and createp: identical but for the operation. */
static int
create_or_run(struct cli *cli, int argc, char **argv, bool run)
{
	const char *handler;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_conn *c;
	struct cradle_pod *pod;
	struct cradle_error err;
	bool done;
	int rc;

	if ((rc = one_operand(argc, argv, 'r', &handler, "pod config file", &done)) != 0 || done)
		return rc;
	if (load_pod(argv[optind], &pod, &err) < 0)
		return report(&err);
	rc = conn(cli, &c, &err);
	if (rc == 0)
		rc = run ? cradle_sandbox_run(c, pod, handler, id, NULL, NULL, &err)
		         : cradle_sandbox_create(c, pod, handler, id, &err);
	cradle_pod_free(pod);
	if (rc < 0)
		return report(&err);
	printf("%s\n", id);
	return 0;
}

static int
cmd_runp(struct cli *cli, int argc, char **argv)
{
	return create_or_run(cli, argc, argv, true);
}

static int
cmd_createp(struct cli *cli, int argc, char **argv)
{
	return create_or_run(cli, argc, argv, false);
}

/* Parse the options of a command that has none but -h; leaves optind
 * at the first operand.  0 to go on; else *status is the exit status
 * (0 after --help). */
static int
no_options(int argc, char **argv, int *status)
{
	struct cli_parser p;
	int opt;

	cli_parser_init(&p, current);
	if ((opt = cli_next(&p, argc, argv)) > 0)
		*status = cli_unhandled(&p, opt);
	else if (opt == 0)
		*status = p.status;
	return opt == -1 ? 0 : -1;
}

/* Run fn over every id operand; 1 if any failed. */
static int
each_id(struct cli *cli, int argc, char **argv,
        int (*fn)(struct cli *, const char *, int64_t, struct cradle_error *), int64_t arg)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;
	int i, status = 0, rc;

	if (optind >= argc)
		return usage_error("missing sandbox id");
	for (i = optind; i < argc; i++) {
		if ((rc = resolve_id(cli, argv[i], id)) != 0) {
			status = rc;
			continue;
		}
		if (fn(cli, id, arg, &err) < 0) {
			status = report(&err);
			continue;
		}
		printf("%s\n", id);
		fflush(stdout);
	}
	return status;
}

static int
do_start(struct cli *cli, const char *id, int64_t unused, struct cradle_error *err)
{
	struct cradle_conn *c;
	int rc;

	(void)unused;
	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	return cradle_sandbox_start(c, id, NULL, NULL, err);
}

static int
do_stop(struct cli *cli, const char *id, int64_t timeout_ms, struct cradle_error *err)
{
	struct cradle_conn *c;
	int rc;

	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	return cradle_sandbox_stop(c, id, timeout_ms, err);
}

/* arg != 0: stop first (rmp --force) */
static int
do_remove(struct cli *cli, const char *id, int64_t force, struct cradle_error *err)
{
	struct cradle_conn *c;
	int rc;

	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	if (force && (rc = cradle_sandbox_stop(c, id, -1, err)) < 0)
		return rc;
	return cradle_sandbox_remove(c, id, err);
}

static int
cmd_startp(struct cli *cli, int argc, char **argv)
{
	int status;

	if (no_options(argc, argv, &status) < 0)
		return status;
	return each_id(cli, argc, argv, do_start, 0);
}

static int
cmd_stopp(struct cli *cli, int argc, char **argv)
{
	struct cli_parser p;
	int64_t timeout_ms = -1;
	int opt;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case 't':
			if (!parse_duration(optarg, &timeout_ms) || timeout_ms > 3600000)
				return usage_error("invalid --timeout \"%s\": expected seconds "
				                   "(or 500ms, 2m) up to 1h",
				                   optarg);
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	return each_id(cli, argc, argv, do_stop, timeout_ms);
}

/* rmp --all keeps this many removes in flight: the daemon runs them on
 * its workers at once, most of each is waiting (for a task to die, for the
 * kernel to tear down mounts and cgroups) */
#define RMP_ALL_IN_FLIGHT 16

/* rmp --all: the ids, and the exit status so far */
struct removal {
	const char **ids;
	int status;
};

static void
removed(void *arg, size_t i, int rc, const struct cradle_error *err)
{
	struct removal *r = arg;

	if (rc < 0) {
		r->status = fail(err->code, "pod sandbox %s: %s", r->ids[i],
		                 err->message[0] ? err->message : "unknown error");
		return;
	}
	printf("%s\n", r->ids[i]);
	fflush(stdout);
}

/* Remove every sandbox, RMP_ALL_IN_FLIGHT at a time, each id printed as
 * it goes (or its error reported). */
static int
remove_all(struct cli *cli)
{
	struct removal r = { 0 };
	struct cradle_conn *c;
	struct cradle_error err;
	size_t i, n;

	if (list_all(cli, &err) < 0 || conn(cli, &c, &err) < 0)
		return report(&err);
	n = cradle_sandbox_list_count(cli->all);
	if (!(r.ids = calloc(n ? n : 1, sizeof(*r.ids))))
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "removing sandboxes: out of memory");
	for (i = 0; i < n; i++)
		r.ids[i] = cradle_sandbox_id(cradle_sandbox_list_at(cli->all, i));
	/* no stop first: the daemon's remove stops a running sandbox itself */
	cradle_sandboxes_remove(c, r.ids, n, RMP_ALL_IN_FLIGHT, removed, &r);
	free(r.ids);
	return r.status;
}

static int
cmd_rmp(struct cli *cli, int argc, char **argv)
{
	struct cli_parser p;
	bool all = false, force = false;
	int opt;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'f':
			force = true;
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	if (!all)
		return each_id(cli, argc, argv, do_remove, force);
	if (optind < argc)
		return usage_error("--all takes no sandbox ids");
	return remove_all(cli);
}

static int
by_created_desc(const void *a, const void *b)
{
	const struct cradle_sandbox *const *x = a, *const *y = b;
	int64_t tx = cradle_sandbox_created_at(*x), ty = cradle_sandbox_created_at(*y);

	if (tx != ty)
		return tx < ty ? 1 : -1;
	return strcmp(cradle_sandbox_id(*x), cradle_sandbox_id(*y));
}

/* crictl's --name and --namespace are regular expressions (unanchored). */
static int
compile_filter(regex_t *re, const char *pattern, const char *opt)
{
	char msg[128];
	int rc;

	rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		return usage_error("invalid %s pattern \"%s\": %s", opt, pattern, msg);
	}
	return 0;
}

static bool
matches(const regex_t *re, bool use, const char *s)
{
	return !use || regexec(re, s ? s : "", 0, NULL, 0) == 0;
}

/* The sandboxes of a `pods` table, and how to show them. */
struct pods {
	const struct cradle_sandbox **v;
	bool no_trunc;
	int64_t now;
};

/* crictl's RUNTIME: the handler, "(default)" for the default one */
static const char *
runtime_column(const struct cradle_sandbox *s)
{
	const char *h = cradle_sandbox_runtime_handler(s);

	return h != NULL && h[0] != '\0' ? h : "(default)";
}

static void
pod_row(const void *arg, size_t i, struct row *r)
{
	const struct pods *p = arg;
	const struct cradle_sandbox *s = p->v[i];
	const char *name = cradle_sandbox_name(s), *ns = cradle_sandbox_namespace(s);

	cell(r, 0, "%.*s", p->no_trunc ? CRADLE_SANDBOX_ID_LEN : SHORT_ID, cradle_sandbox_id(s));
	cli_time_ago(cradle_sandbox_created_at(s), p->now, r->buf[1], sizeof(r->buf[1]));
	r->cell[1] = r->buf[1];
	r->cell[2] = cradle_sandbox_state(s) == CRADLE_STATE_READY ? "Ready" : "NotReady";
	r->cell[3] = name ? name : "";
	r->cell[4] = ns ? ns : "";
	cell(r, 5, "%u", cradle_sandbox_attempt(s));
	r->cell[6] = runtime_column(s);
	if (cradle_sandbox_pid(s) > 0)
		cell(r, 7, "%d", cradle_sandbox_pid(s));
	else
		r->cell[7] = "-";
}

/* Add key=value (arg, split in place) to the filter, replacing the value
 * of a key given before; labels has room for one more. */
static int
add_label(struct cradle_label *labels, size_t *n, char *arg)
{
	char *eq = strchr(arg, '=');
	size_t i;

	if (!eq || eq == arg)
		return usage_error("invalid --label \"%s\": expected key=value", arg);
	*eq = '\0';
	for (i = 0; i < *n && strcmp(labels[i].key, arg) != 0; i++)
		;
	labels[i].key = arg;
	labels[i].value = eq + 1;
	if (i == *n)
		(*n)++;
	return 0;
}

/* --ip: one of the pod's IPs (primary or additional) is ip; NULL: any */
static bool
has_ip(const struct cradle_sandbox *s, const char *ip)
{
	if (ip == NULL)
		return true;
	for (size_t i = 0; i < cradle_sandbox_ip_count(s); i++)
		if (strcmp(cradle_sandbox_ip_at(s, i), ip) == 0)
			return true;
	return false;
}

/* `pods -v`: crictl's verbose listing, one block a sandbox. */
static void
print_pod_verbose(const struct cradle_sandbox *s)
{
	const char *k, *v;
	char t[CRADLE_TIME_MAX];

	printf("ID: %s\n", cradle_sandbox_id(s));
	printf("Name: %s\n", cradle_sandbox_name(s) ? cradle_sandbox_name(s) : "");
	printf("UID: %s\n", cradle_sandbox_uid(s) ? cradle_sandbox_uid(s) : "");
	printf("Namespace: %s\n", cradle_sandbox_namespace(s) ? cradle_sandbox_namespace(s) : "");
	if (cradle_sandbox_attempt(s) != 0)
		printf("Attempt: %u\n", cradle_sandbox_attempt(s));
	printf("Status: %s\n",
	       cradle_sandbox_state(s) == CRADLE_STATE_READY ? "Ready" : "NotReady");
	cradle_time_rfc3339(cradle_sandbox_created_at(s), true, t);
	printf("Created: %s\n", t);
	if (cradle_sandbox_label_count(s) > 0) {
		printf("Labels:\n");
		for (size_t i = 0; cradle_sandbox_label_at(s, i, &k, &v); i++)
			printf("\t%s -> %s\n", k, v);
	}
	if (cradle_sandbox_annotation_count(s) > 0) {
		printf("Annotations:\n");
		for (size_t i = 0; cradle_sandbox_annotation_at(s, i, &k, &v); i++)
			printf("\t%s -> %s\n", k, v);
	}
	printf("Runtime: %s\n\n", runtime_column(s));
}

static int
cmd_pods(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = {
		"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME", "PID",
	};
	const char *name = NULL, *ns = NULL, *id_prefix = NULL, *ip = NULL;
	struct cradle_sandbox_list *list = NULL;
	struct pods p = { .v = NULL };
	struct cradle_label *labels;
	struct cradle_conn *c;
	struct cradle_error err;
	struct listing show = {
		.formats = 1u << OUT_JSON | 1u << OUT_YAML | 1u << OUT_TABLE | 1u << OUT_RAW,
		.list = "json, yaml, table or raw",
	};
	regex_t name_re, ns_re;
	struct cli_parser pa;
	int opt, state = -1, status = 0, rc;
	size_t n_labels = 0, n, i, kept = 0, last = 0;
	bool latest = false, verbose = false;
	char *text, *end;

	/* every --label is an argument: there are fewer than argc */
	labels = calloc((size_t)argc, sizeof(*labels));
	if (!labels)
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "label filter: out of memory");
	cli_parser_init(&pa, current);
	while ((opt = cli_next(&pa, argc, argv)) > 0) {
		if ((rc = listing_option(&show, opt, optarg)) >= 0) {
			if ((status = rc) != 0)
				goto out;
			continue;
		}
		switch (opt) {
		case 's':
			if (parse_state(optarg, &state) < 0) {
				status = usage_error("invalid --state \"%s\": expected ready or "
				                     "notready",
				                     optarg);
				goto out;
			}
			break;
		case O_LABEL:
			if ((status = add_label(labels, &n_labels, optarg)) != 0)
				goto out;
			break;
		case O_NAME:
			name = optarg;
			break;
		case O_NAMESPACE:
			ns = optarg;
			break;
		case O_ID:
			id_prefix = optarg;
			break;
		case O_IP:
			ip = optarg;
			break;
		case 'l':
			latest = true;
			break;
		case 'n':
			errno = 0;
			last = (size_t)strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-') {
				status = usage_error("invalid --last \"%s\": expected a count (0: "
				                     "all)",
				                     optarg);
				goto out;
			}
			break;
		case 'v':
			verbose = true;
			break;
		default:
			status = cli_unhandled(&pa, opt);
			goto out;
		}
	}
	if (opt == 0) {
		status = pa.status;
		goto out;
	}
	if (optind < argc) {
		status = usage_error("unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (name && (status = compile_filter(&name_re, name, "--name")))
		goto out;
	if (ns && (status = compile_filter(&ns_re, ns, "--namespace"))) {
		if (name)
			regfree(&name_re);
		goto out;
	}

	if (conn(cli, &c, &err) < 0 ||
	    cradle_sandbox_list(c, state, labels, n_labels, &list, &err) < 0) {
		status = report(&err);
		goto out_re;
	}
	/* client-side filters */
	n = cradle_sandbox_list_count(list);
	p.v = calloc(n ? n : 1, sizeof(*p.v));
	if (!p.v) {
		status = fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "listing sandboxes: out of memory");
		goto out_re;
	}
	for (i = 0; i < n; i++) {
		const struct cradle_sandbox *s = cradle_sandbox_list_at(list, i);

		if (matches(&name_re, name, cradle_sandbox_name(s)) &&
		    matches(&ns_re, ns, cradle_sandbox_namespace(s)) &&
		    (!id_prefix ||
		     strncasecmp(cradle_sandbox_id(s), id_prefix, strlen(id_prefix)) == 0) &&
		    has_ip(s, ip))
			p.v[kept++] = s;
	}
	if (kept > 1)
		qsort(p.v, kept, sizeof(*p.v), by_created_desc);
	/* as crictl: the newest one (--latest), the newest N (--last N wins) */
	size_t limit = latest ? 1 : kept;
	if (last > 0)
		limit = last;
	if (kept > limit)
		kept = limit;

	if (show.quiet) {
		for (i = 0; i < kept; i++)
			printf("%s\n", cradle_sandbox_id(p.v[i]));
	} else if (show.fmt == OUT_RAW) {
		rc = cradle_sandboxes_to_json(p.v, kept, CRADLE_JSON_PRETTY, &text, &err);
		status = print_json(rc, text, &err);
	} else if (show.fmt == OUT_JSON || show.fmt == OUT_YAML) {
		json_object *o = json_object_new_object(), *items = json_object_new_array();
		for (i = 0; i < kept; i++)
			jappend(items, crictl_pod(p.v[i]));
		jput(o, "items", jcompact(items));
		status = print_shape(o, show.fmt);
	} else if (verbose) { /* crictl's -v: of the table only */
		for (i = 0; i < kept; i++)
			print_pod_verbose(p.v[i]);
	} else {
		p.no_trunc = show.no_trunc;
		p.now = cli_now_ns();
		print_table(head, sizeof(head) / sizeof(head[0]), kept, pod_row, &p);
	}
out_re:
	if (name)
		regfree(&name_re);
	if (ns)
		regfree(&ns_re);
out:
	free(p.v);
	cradle_sandbox_list_free(list);
	free(labels);
	return status;
}

/* inspectp -v: the step times of the last start and stop too */
static bool inspect_verbose;
/* inspectp -o: raw (cradle's JSON, the default), json or yaml (crictl's) */
static enum out_format inspect_format = OUT_RAW;

/* inspectp and inspecti: "-o json" (JSON is the only form; crictl's
 * spelling of it is accepted) and at least one argument.  0, or the exit
 * status of a usage error. */
static int
parse_inspect_options(int argc, char **argv, const char *missing, bool *done)
{
	struct cli_parser p;
	int opt;

	*done = false;
	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case 'v': /* in inspectp's table only */
			inspect_verbose = true;
			break;
		case 'o':
			if (current && strcmp(current->name, "inspectp") == 0) {
				int rc = parse_output(
					optarg, 1u << OUT_JSON | 1u << OUT_YAML | 1u << OUT_RAW,
					"json, yaml or raw", &inspect_format);
				if (rc != 0)
					return rc;
				break;
			}
			if (strcmp(optarg, "json") != 0)
				return usage_error("invalid --output \"%s\": only json is "
				                   "supported",
				                   optarg);
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0) {
		*done = true;
		return p.status;
	}
	if (optind >= argc)
		return usage_error("%s", missing);
	return 0;
}

/* inspectp and inspecti: print the JSON show(cli, operand, &text) makes
 * for every operand; show reports its own failure (returning the exit
 * status), and the other operands still go. */
static int
inspect_operands(struct cli *cli, int argc, char **argv,
                 int (*show)(struct cli *cli, const char *arg, char **text))
{
	int i, rc, status = 0;
	char *text;

	for (i = optind; i < argc; i++) {
		if ((rc = show(cli, argv[i], &text)) != 0) {
			status = rc;
			continue;
		}
		puts(text);
		free(text);
	}
	return status;
}

static int
inspect_each(struct cli *cli, int argc, char **argv, const char *missing,
             int (*show)(struct cli *cli, const char *arg, char **text))
{
	bool done;
	int status = parse_inspect_options(argc, argv, missing, &done);

	return status || done ? status : inspect_operands(cli, argc, argv, show);
}

static int
show_sandbox(struct cli *cli, const char *arg, char **text)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_sandbox *s;
	struct cradle_conn *c;
	struct cradle_error err;
	int rc;

	if ((rc = resolve_id(cli, arg, id)) != 0)
		return rc;
	if (conn(cli, &c, &err) < 0 ||
	    (inspect_verbose ? cradle_sandbox_status_verbose(c, id, &s, &err)
	                     : cradle_sandbox_status(c, id, &s, &err)) < 0)
		return report(&err);
	rc = cradle_sandbox_to_json(s, CRADLE_JSON_PRETTY, text, &err);
	if (rc == 0 && inspect_verbose && cli_append_steps(text, s) < 0) {
		free(*text);
		cradle_sandbox_free(s);
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "inspectp: out of memory");
	}
	cradle_sandbox_free(s);
	return rc < 0 ? report(&err) : 0;
}

/* inspectp -o json|yaml: crictl's {"status", "info"} for each id, an
 * array of them when there are several (as crictl). */
static int
inspect_crictl(struct cli *cli, int argc, char **argv)
{
	json_object *all = json_object_new_array(), *one;
	int status = 0, rc;

	for (int i = optind; i < argc; i++) {
		char id[CRADLE_SANDBOX_ID_LEN + 1];
		struct cradle_sandbox *s;
		struct cradle_conn *c;
		struct cradle_error err;

		if ((rc = resolve_id(cli, argv[i], id)) != 0) {
			status = rc;
			continue;
		}
		if (conn(cli, &c, &err) < 0 ||
		    (inspect_verbose ? cradle_sandbox_status_verbose(c, id, &s, &err)
		                     : cradle_sandbox_status(c, id, &s, &err)) < 0) {
			status = report(&err);
			continue;
		}
		jappend(all, crictl_inspect(s, inspect_verbose));
		cradle_sandbox_free(s);
	}
	if (all == NULL || json_object_array_length(all) == 0) {
		json_object_put(all);
		return status ? status : fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	}
	one = all;
	if (json_object_array_length(all) == 1) {
		one = json_object_get(json_object_array_get_idx(all, 0));
		json_object_put(all);
	}
	rc = print_shape(one, inspect_format);
	return status ? status : rc;
}

static int
cmd_inspectp(struct cli *cli, int argc, char **argv)
{
	bool done;
	int status = parse_inspect_options(argc, argv, "missing sandbox id", &done);

	if (status != 0 || done)
		return status;
	if (inspect_format == OUT_RAW)
		return inspect_operands(cli, argc, argv, show_sandbox);
	return inspect_crictl(cli, argc, argv);
}

/* --- images -------------------------------------------------------- */

#define BAR_WIDTH 30
#define NS_PER_SEC 1000000000LL

/* Progress of a pull or import, read from the events socket by a thread
 * while the request is in flight, drawn on stderr. */
struct progress {
	struct cradle_events *ev;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	const char *verb;  /* "pulling", "importing" */
	const char *label; /* what the line names */
	const char *ref;   /* event refs that are ours: this (normalised) */
	const char *path;  /* or exactly this (import) */
	bool tty;
	bool drawn;          /* a bar is on the terminal line */
	bool shown_complete; /* done == total was shown */
	bool have_start;
	int64_t start_ns, last_ns;
	uint64_t start_done;
};

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static bool
progress_ours(const struct progress *pg, const char *ref)
{
	if (!ref[0])
		return false;
	if (pg->path && strcmp(ref, pg->path) == 0)
		return true;
	/* the daemon names an image by its canonical form (proto/ref.h):
	 * "busybox" is "docker.io/library/busybox:latest" */
	return pg->ref && proto_valid_image_ref(ref) && proto_ref_same(ref, pg->ref);
}

static void
progress_show(struct progress *pg, uint64_t done, int64_t total)
{
	char d[32], t[32], r[32], bar[BAR_WIDTH + 1];
	int64_t now = mono_ns(), el;
	bool complete = total > 0 && done >= (uint64_t)total;
	size_t fill, i;

	if (!pg->have_start) {
		pg->have_start = true;
		pg->start_ns = now;
		pg->start_done = done;
	}
	/* a terminal is redrawn ten times a second, a log gets a line a second */
	/* (the end is always shown, once) */
	if (complete && pg->shown_complete)
		return;
	if (pg->last_ns && now - pg->last_ns < (pg->tty ? NS_PER_SEC / 10 : NS_PER_SEC) &&
	    !complete)
		return;
	pg->shown_complete = complete;
	pg->last_ns = now;
	cli_progress_size(done, d, sizeof(d));
	if (total > 0)
		cli_progress_size((uint64_t)total, t, sizeof(t));
	if (!pg->tty) {
		if (total > 0)
			fprintf(stderr, "%s %s: %s/%s\n", pg->verb, pg->label, d, t);
		else
			fprintf(stderr, "%s %s: %s\n", pg->verb, pg->label, d);
		return;
	}
	r[0] = '\0';
	el = now - pg->start_ns;
	if (el >= NS_PER_SEC / 5 && done >= pg->start_done) {
		cli_progress_size(
			(uint64_t)((double)(done - pg->start_done) * NS_PER_SEC / (double)el), r,
			sizeof(r) - 2);
		strcat(r, "/s");
	}
	if (total > 0) {
		fill = complete ? BAR_WIDTH : (size_t)((double)done * BAR_WIDTH / (double)total);
		for (i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : ' ';
		bar[BAR_WIDTH] = '\0';
		fprintf(stderr, "\r%s %s [%s] %s/%s %s\033[K", pg->verb, pg->label, bar, d, t, r);
	} else {
		fprintf(stderr, "\r%s %s %s %s\033[K", pg->verb, pg->label, d, r);
	}
	fflush(stderr);
	pg->drawn = true;
}

static void *
progress_main(void *arg)
{
	struct progress *pg = arg;
	struct cradle_error err;
	struct cradle_event ev;
	int rc;

	/* a short wait, so stopping never takes long */
	while (!atomic_load(&pg->stop)) {
		rc = cradle_events_next(pg->ev, 100, &ev, &err);
		if (rc == -ETIMEDOUT || rc == -ENODATA ||
		    (rc < 0 && err.code == CRADLE_STATUS_INTERNAL))
			continue; /* progress lost is only progress not shown */
		if (rc < 0)
			break; /* the subscription is gone: no more progress */
		if (ev.kind == CRADLE_EVENT_IMAGE_PROGRESS && progress_ours(pg, ev.ref))
			progress_show(pg, ev.done, ev.total);
	}
	return NULL;
}

/* Subscribe before the request goes out, so no progress is missed.  No
 * events socket means no progress, not a failed command. */
static void
progress_start(struct progress *pg, struct cli *cli, const char *verb, const char *label,
               const char *ref, const char *path)
{
	struct cradle_error err;

	memset(pg, 0, sizeof(*pg));
	atomic_init(&pg->stop, false);
	pg->verb = verb;
	pg->label = label;
	pg->ref = ref;
	pg->path = path;
	pg->tty = isatty(STDERR_FILENO) == 1;
	if (cradle_events_open(cradle_events_path(NULL, cli->socket), &pg->ev, &err) < 0) {
		pg->ev = NULL;
		return;
	}
	if (pthread_create(&pg->thread, NULL, progress_main, pg) != 0) {
		cradle_events_close(pg->ev);
		pg->ev = NULL;
		return;
	}
	pg->running = true;
}

static void
progress_stop(struct progress *pg)
{
	if (pg->running) {
		atomic_store(&pg->stop, true);
		pthread_join(pg->thread, NULL);
		pg->running = false;
	}
	cradle_events_close(pg->ev);
	pg->ev = NULL;
	if (pg->drawn) {
		fputc('\n', stderr);
		pg->drawn = false;
	}
}

static void
free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* "user:password" in *out (malloc'd), the password read from the terminal
 * without echo, or a line of standard input when it is not a terminal.
 * 0, or the exit status. */
static int
ask_password(const char *user, char **out)
{
	char line[1024];
	size_t n;
	char *pw;

	if (isatty(STDIN_FILENO)) {
		pw = getpass("Password: ");
		if (!pw)
			return fail(CRADLE_STATUS_INVALID_ARGUMENT,
			            "--creds %s: cannot read the password: %s", user,
			            strerror(errno));
		snprintf(line, sizeof(line), "%s", pw);
		explicit_bzero(pw, strlen(pw));
	} else if (!fgets(line, sizeof(line), stdin)) {
		return fail(CRADLE_STATUS_INVALID_ARGUMENT,
		            "--creds %s: no password (expected USERNAME:PASSWORD, or the "
		            "password on standard input)",
		            user);
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (asprintf(out, "%s:%s", user, line) < 0) {
		explicit_bzero(line, sizeof(line));
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "--creds: out of memory");
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

static int
cmd_pull(struct cli *cli, int argc, char **argv)
{
	struct progress pg;
	struct cradle_image *img;
	struct cradle_conn *c;
	struct cradle_error err;
	struct cradle_err e;
	struct proto_ref parsed;
	struct cli_parser p;
	const char *ref, *id, *creds = NULL, *auth = NULL;
	char *asked = NULL;
	int rc, opt;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case O_CREDS:
			creds = optarg;
			break;
		case O_AUTH:
			auth = optarg;
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	if (creds && auth)
		return usage_error("--creds and --auth are one or the other");
	if (creds && creds[0] == '\0')
		return usage_error("--creds: empty; expected USERNAME[:PASSWORD]");
	if (auth && auth[0] == '\0')
		return usage_error("--auth: empty; expected base64 of USERNAME:PASSWORD");
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing image reference"
		                                  : "expected exactly one image reference");
	/* before connecting and subscribing: a bad reference is the user's */
	ref = argv[optind];
	if (cradle_check_image_ref(ref, "image reference", &e) < 0 ||
	    proto_ref_parse(ref, &parsed, &e) < 0) /* the daemon's own parse */
		return fail(e.code, "%s", e.msg);
	/* crictl: --creds USERNAME without the password asks for it */
	if (creds && !strchr(creds, ':') && (rc = ask_password(creds, &asked)) != 0)
		return rc;
	if (conn(cli, &c, &err) < 0) {
		free_secret(asked);
		return report(&err);
	}
	progress_start(&pg, cli, "pulling", ref, ref, NULL);
	rc = cradle_image_pull_creds(c, ref, asked ? asked : creds, auth, &img, &err);
	progress_stop(&pg);
	free_secret(asked);
	if (rc < 0)
		return report(&err);
	/* crictl's words */
	id = cradle_image_id(img);
	printf("Image is up to date for %s\n", id[0] ? id : cradle_image_ref(img));
	cradle_image_free(img);
	return 0;
}

static int
cmd_import(struct cli *cli, int argc, char **argv)
{
	const char *name, *ref;
	struct progress pg;
	struct cradle_image *img;
	struct cradle_conn *c;
	struct cradle_error err;
	struct proto_ref parsed;
	struct cradle_err e;
	char *path;
	bool done;
	int rc;

	if ((rc = one_operand(argc, argv, 'n', &name, "image archive or directory", &done)) != 0 ||
	    done)
		return rc;
	if (name && !proto_valid_image_ref(name))
		return usage_error("invalid --name \"%.80s\": expected an image reference "
		                   "(letters, digits, '.', '_', ':', '/', '@', '-')",
		                   name);
	if (name && proto_ref_parse(name, &parsed, &e) < 0) /* the daemon's own parse */
		return fail(e.code, "%s", e.msg);
	/* the daemon opens the path itself: give it an absolute one */
	path = realpath(argv[optind], NULL);
	if (!path)
		return fail(cradle_code_from_errno(errno), "%s: %s", argv[optind], strerror(errno));
	if (conn(cli, &c, &err) < 0) {
		free(path);
		return report(&err);
	}
	progress_start(&pg, cli, "importing", name ? name : argv[optind], name, path);
	rc = cradle_image_import(c, path, name, &img, &err);
	progress_stop(&pg);
	free(path);
	if (rc < 0)
		return report(&err);
	/* docker load's words */
	ref = cradle_image_ref(img);
	printf("Loaded image: %s\n", ref ? ref : "");
	cradle_image_free(img);
	return 0;
}

/* "repo:tag" -> repo, tag; "repo@digest" and an untagged repo have tag
 * "<none>", as crictl shows them. */
static void
split_ref(const char *ref, char *repo, size_t rsize, const char **tag)
{
	const char *at = strchr(ref, '@'), *slash, *colon;
	size_t n;

	*tag = "<none>";
	if (at) {
		n = (size_t)(at - ref);
	} else {
		slash = strrchr(ref, '/');
		colon = strrchr(slash ? slash : ref, ':');
		n = colon ? (size_t)(colon - ref) : strlen(ref);
		if (colon)
			*tag = colon + 1;
	}
	snprintf(repo, rsize, "%.*s", (int)n, ref);
}

/* The images of an `images` table, and how to show them. */
struct images {
	const struct cradle_image **v;
	bool no_trunc;
};

/* crictl's IMAGE ID: the config digest without "sha256:", cut to 13. */
static void
image_row(const void *arg, size_t i, struct row *r)
{
	const struct images *im = arg;
	const struct cradle_image *img = im->v[i];
	const char *ref = cradle_image_ref(img), *id = cradle_image_id(img);

	split_ref(ref ? ref : "", r->buf[0], sizeof(r->buf[0]), &r->cell[1]);
	r->cell[0] = r->buf[0];
	if (!im->no_trunc && strncmp(id, "sha256:", 7) == 0)
		id += 7;
	cell(r, 2, "%.*s", im->no_trunc ? (int)strlen(id) : SHORT_ID, id);
	cli_human_size(cradle_image_size(img), r->buf[3], sizeof(r->buf[3]));
	r->cell[3] = r->buf[3];
	r->cell[4] = cradle_image_pinned(img) ? "true" : "false";
}

static int
by_ref_asc(const void *a, const void *b)
{
	const struct cradle_image *const *x = a, *const *y = b;
	const char *rx = cradle_image_ref(*x), *ry = cradle_image_ref(*y);

	return strcmp(rx ? rx : "", ry ? ry : "");
}

/* An image and its place in the listing, for -q. */
struct placed {
	const struct cradle_image *img;
	size_t pos;
};

static int
by_id_then_pos(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	int c = strcmp(cradle_image_id(x->img), cradle_image_id(y->img));

	/* ties in list order, so the first of each id is kept */
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* -q: one line per image id (several refs may share one), in list order;
 * an image without a config digest shows its ref. */
static int
print_image_ids(const struct cradle_image **v, size_t n)
{
	struct placed *p;
	const char *id;
	bool *dup;
	size_t i;

	if (!n)
		return 0;
	p = calloc(n, sizeof(*p));
	dup = calloc(n, sizeof(*dup));
	if (!p || !dup) {
		free(p);
		free(dup);
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "listing image ids: out of memory");
	}
	for (i = 0; i < n; i++)
		p[i] = (struct placed){ .img = v[i], .pos = i };
	qsort(p, n, sizeof(*p), by_id_then_pos);
	for (i = 1; i < n; i++) {
		id = cradle_image_id(p[i].img);
		if (id[0] && strcmp(id, cradle_image_id(p[i - 1].img)) == 0)
			dup[p[i].pos] = true;
	}
	for (i = 0; i < n; i++) {
		id = cradle_image_id(v[i]);
		if (!dup[i])
			printf("%s\n",
			       id[0] ? id : (cradle_image_ref(v[i]) ? cradle_image_ref(v[i]) : ""));
	}
	free(p);
	free(dup);
	return 0;
}

static int
cmd_images(struct cli *cli, int argc, char **argv)
{
	/* PINNED, the last column, only with --pinned (as crictl) */
	static const char *const head[] = { "IMAGE", "TAG", "IMAGE ID", "SIZE", "PINNED" };
	struct cradle_image_list *list;
	struct images im = { .v = NULL };
	struct cradle_conn *c;
	struct cradle_error err;
	struct listing show = { .formats = 1u << OUT_JSON | 1u << OUT_TABLE,
		                .list = "json or table" };
	struct cli_parser p;
	int opt, status = 0, rc;
	bool pinned = false;
	size_t n, i;
	char *text;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		if (opt == O_PINNED) {
			pinned = true;
			continue;
		}
		if ((rc = listing_option(&show, opt, optarg)) < 0)
			return cli_unhandled(&p, opt);
		if (rc > 0)
			return rc;
	}
	if (opt == 0)
		return p.status;
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (conn(cli, &c, &err) < 0 || cradle_image_list(c, &list, &err) < 0)
		return report(&err);
	n = cradle_image_list_count(list);
	im.v = calloc(n ? n : 1, sizeof(*im.v));
	if (!im.v) {
		cradle_image_list_free(list);
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "listing images: out of memory");
	}
	for (i = 0; i < n; i++)
		im.v[i] = cradle_image_list_at(list, i);
	if (n > 1)
		qsort(im.v, n, sizeof(*im.v), by_ref_asc);
	if (show.quiet) {
		status = print_image_ids(im.v, n);
	} else if (show.fmt == OUT_JSON) {
		rc = cradle_images_to_json(im.v, n, CRADLE_JSON_PRETTY, &text, &err);
		status = print_json(rc, text, &err);
	} else {
		im.no_trunc = show.no_trunc;
		print_table(head, sizeof(head) / sizeof(head[0]) - !pinned, n, image_row, &im);
	}
	free(im.v);
	cradle_image_list_free(list);
	return status;
}

static int
show_image(struct cli *cli, const char *ref, char **text)
{
	struct cradle_image *img;
	struct cradle_conn *c;
	struct cradle_error err;
	int rc;

	if (conn(cli, &c, &err) < 0 || cradle_image_status(c, ref, &img, &err) < 0)
		return report(&err);
	rc = cradle_image_to_json(img, CRADLE_JSON_PRETTY, text, &err);
	cradle_image_free(img);
	return rc < 0 ? report(&err) : 0;
}

static int
cmd_inspecti(struct cli *cli, int argc, char **argv)
{
	return inspect_each(cli, argc, argv, "missing image reference", show_image);
}

/* Remove what names an image: a reference, an image id or a prefix of one
 * (the daemon resolves them).  As crictl, its status first, so an unknown
 * one is an error here (image.remove itself succeeds, as CRI's). */
static int
rmi_one(struct cli *cli, const char *what)
{
	char ref[CRADLE_IMAGE_REF_MAX + 1];
	struct cradle_image *img;
	struct cradle_conn *c;
	struct cradle_error err;

	if (conn(cli, &c, &err) < 0 || cradle_image_status(c, what, &img, &err) < 0)
		return report(&err);
	snprintf(ref, sizeof(ref), "%s", cradle_image_ref(img) ? cradle_image_ref(img) : what);
	cradle_image_free(img);
	if (cradle_image_remove(c, what, &err) < 0)
		return report(&err);
	printf("Deleted: %s\n", ref);
	fflush(stdout);
	return 0;
}

/* -a: every image but the pinned ones (the daemon never removes those; a
 * note says so), one in use is an error; --prune: every image neither
 * pinned nor in use, failures ignored (another client may race us). */
static int
rmi_every(struct cli *cli, bool prune)
{
	struct cradle_image_list *list;
	struct cradle_conn *c;
	struct cradle_error err;
	size_t n, i, done = 0;
	char ref[CRADLE_IMAGE_REF_MAX + 1];
	int status = 0;

	if (conn(cli, &c, &err) < 0 || cradle_image_list(c, &list, &err) < 0)
		return report(&err);
	n = cradle_image_list_count(list);
	for (i = 0; i < n; i++) {
		const struct cradle_image *img = cradle_image_list_at(list, i);

		snprintf(ref, sizeof(ref), "%s",
		         cradle_image_ref(img) ? cradle_image_ref(img) : "");
		if (cradle_image_pinned(img)) {
			if (!prune)
				fprintf(stderr, "cradle: skipped %s: pinned as the sandbox image\n",
				        ref);
			continue;
		}
		if (prune && cradle_image_in_use(img))
			continue;
		if (cradle_image_remove(c, ref, &err) < 0) {
			if (!prune)
				status = report(&err);
			continue;
		}
		printf("Deleted: %s\n", ref);
		fflush(stdout);
		done++;
	}
	cradle_image_list_free(list);
	if (done == 0 && status == 0)
		fprintf(stderr, "cradle: no images to remove\n");
	return status;
}

static int
cmd_rmi(struct cli *cli, int argc, char **argv)
{
	struct cli_parser p;
	bool all = false, prune = false;
	int i, opt, rc, status = 0;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		if (opt == 'a')
			all = true;
		else if (opt == O_PRUNE)
			prune = true;
		else
			return cli_unhandled(&p, opt);
	}
	if (opt == 0)
		return p.status;
	if (optind >= argc && !all && !prune)
		return usage_error("missing image reference or id (or -a, --prune)");
	for (i = optind; i < argc; i++)
		if ((rc = rmi_one(cli, argv[i])) != 0)
			status = rc;
	if ((all || prune) && (rc = rmi_every(cli, prune)) != 0)
		status = rc;
	return status;
}

/* One event as a line of text. */
static void
print_event(const struct cradle_event *ev)
{
	char t[CRADLE_TIME_MAX];

	if (ev->kind == CRADLE_EVENT_IMAGE_PROGRESS) {
		printf("%llu %s %s done=%llu total=%lld\n", (unsigned long long)ev->seq, ev->type,
		       ev->ref, (unsigned long long)ev->done, (long long)ev->total);
		return;
	}
	if (ev->kind != CRADLE_EVENT_SANDBOX_EXIT && ev->kind != CRADLE_EVENT_SANDBOX_STOPPED &&
	    ev->exited_at == 0) {
		/* created, started, removed: no exit to show */
		printf("%llu %s %s pid=%d\n", (unsigned long long)ev->seq, ev->type, ev->id,
		       ev->pid);
		return;
	}
	cradle_time_rfc3339(ev->exited_at, false, t);
	printf("%llu %s %s pid=%d exit_status=%d at=%s\n", (unsigned long long)ev->seq, ev->type,
	       ev->id, ev->pid, ev->exit_status, t);
}

static int
cmd_events(struct cli *cli, int argc, char **argv)
{
	struct cli_parser p;
	struct cradle_events *e;
	struct cradle_event ev;
	struct cradle_error err;
	bool json = false;
	unsigned long long since = 0;
	int opt, rc;
	char *text, *end;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case O_JSON:
			json = true;
			break;
		case O_SINCE:
			errno = 0;
			since = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    since == 0)
				return usage_error("--since: \"%s\" is not a sequence number "
				                   "(1 or more)",
				                   optarg);
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	/* the request socket too: missed events are fetched from the log */
	char sock[PATH_MAX + 16];
	snprintf(sock, sizeof(sock), "%s", cradle_socket_path(cli->socket));
	if (cradle_events_subscribe(cradle_events_path(NULL, cli->socket), sock, since, &e, &err) <
	    0)
		return report(&err);
	for (;;) {
		rc = cradle_events_next(e, -1, &ev, &err);
		if (rc < 0) {
			/* one unreadable event, or events lost (reported once),
			 * are not the end of the stream; a broken subscription
			 * is */
			if (err.code == CRADLE_STATUS_INTERNAL || rc == -ENODATA) {
				report(&err);
				continue;
			}
			cradle_events_close(e);
			return report(&err);
		}
		if (json) {
			rc = cradle_event_to_json(&ev, 0, &text, &err);
			print_json(rc, text, &err);
		} else {
			print_event(&ev);
		}
		/* a pipe reader wants each event as it happens */
		fflush(stdout);
	}
}

static int
cmd_version(struct cli *cli, int argc, char **argv)
{
	struct cradle_version v;
	struct cradle_conn *c;
	struct cradle_error err;
	int status;

	if (no_options(argc, argv, &status) < 0)
		return status;
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	printf("cradle CLI version %s\n", CRADLE_VERSION);
	fflush(stdout);
	if (conn(cli, &c, &err) < 0 || cradle_version(c, &v, &err) < 0)
		return report(&err);
	printf("cradled version %s (api %u, pid %d)\n", v.version, v.api_version, v.pid);
	return 0;
}

/* crictl info's "cniconfig" (containerd's CNI library's view of its
 * config) from daemon.info's "cniconfig" section (worker/ops.c), which
 * leaves "config" (it is no configuration key), and [cni] bin_dir: the
 * plugin dirs, the conf dir, the network loaded now with its plugins by
 * type, or why none loads ("Error", cradle's).  Nothing from a daemon
 * that does not send the section. */
static void
info_cniconfig(json_object *o, const struct cradle_info *info)
{
	const char *dir = cradle_info_config_value(info, "cniconfig", "conf_dir");
	const char *bins = cradle_info_config_value(info, "cni", "bin_dir");
	const char *max = cradle_info_config_value(info, "cniconfig", "max_conf_num");
	const char *name = cradle_info_config_value(info, "cniconfig", "network");
	const char *error = cradle_info_config_value(info, "cniconfig", "error");
	const char *plugins = cradle_info_config_value(info, "cniconfig", "plugins");
	json_object *cfg = NULL, *cc, *dirs, *nets;

	if (o == NULL || dir == NULL)
		return;
	if (json_object_object_get_ex(o, "config", &cfg))
		json_object_object_del(cfg, "cniconfig");
	cc = json_object_new_object();
	dirs = json_object_new_array();
	for (const char *p = bins ? bins : ""; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0)
			jappend(dirs, json_object_new_string_len(p, (int)n));
		p += n + (p[n] == ':');
	}
	jput(cc, "PluginDirs", jcompact(dirs));
	jput(cc, "PluginConfDir", jstr(dir));
	jput(cc, "PluginMaxConfNum", json_object_new_int(max ? atoi(max) : 0));
	jput(cc, "Prefix", jstr("eth"));
	nets = json_object_new_array();
	if (name != NULL) {
		json_object *net = json_object_new_object(), *conf = json_object_new_object();
		json_object *list = json_object_new_array();
		jput(conf, "Name", jstr(name));
		jput(conf, "CNIVersion",
		     jstr(cradle_info_config_value(info, "cniconfig", "cni_version")));
		for (const char *p = plugins ? plugins : ""; *p;) {
			size_t n = strcspn(p, ",");
			json_object *pl = json_object_new_object(), *nw = json_object_new_object();
			jput(nw, "type", json_object_new_string_len(p, (int)n));
			jput(pl, "Network", nw);
			jappend(list, pl);
			p += n + (p[n] == ',');
		}
		jput(conf, "Plugins", jcompact(list));
		jput(conf, "Source", jstr(cradle_info_config_value(info, "cniconfig", "file")));
		jput(net, "Config", conf);
		jput(net, "IFName", jstr("eth0"));
		jappend(nets, net);
	}
	jput(cc, "Networks", jcompact(nets));
	if (error != NULL)
		jput(cc, "Error", jstr(error));
	jput(o, "cniconfig", cc);
}

/* `cradle info`: the daemon's conditions, node facts, effective
 * configuration and CNI network, in the shape of `crictl info`. */
static int
cmd_info(struct cli *cli, int argc, char **argv)
{
	struct cli_parser p;
	struct cradle_info *info = NULL;
	enum out_format fmt = OUT_JSON;
	struct cradle_conn *c;
	struct cradle_error err;
	int opt, rc;
	char *text;

	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case 'o':
			if ((rc = parse_output(optarg, 1u << OUT_JSON | 1u << OUT_YAML,
			                       "json or yaml", &fmt)) != 0)
				return rc;
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (conn(cli, &c, &err) < 0 || cradle_daemon_info(c, &info, &err) < 0)
		return report(&err);
	rc = cradle_info_to_json(info, CRADLE_JSON_PRETTY, &text, &err);
	if (rc < 0) {
		cradle_info_free(info);
		return report(&err);
	}
	/* JSON or YAML from the very same object */
	json_object *o = json_tokener_parse(text);
	free(text);
	info_cniconfig(o, info);
	cradle_info_free(info);
	return print_shape(o, fmt);
}

static int cmd_help(struct cli *cli, int argc, char **argv);
static int cmd_completion(struct cli *cli, int argc, char **argv);

/* --- the option tables (cli.h): parsers, help, man page, completion --- */

#define OPT(key, name, arg, help)                             \
	{                                                     \
		key, name, arg, false, help, CLI_C_NONE, NULL \
	}
#define OPT_WORDS(key, name, arg, words, help)                  \
	{                                                       \
		key, name, arg, false, help, CLI_C_WORDS, words \
	}
#define OPT_END                                              \
	{                                                    \
		0, NULL, NULL, false, NULL, CLI_C_NONE, NULL \
	}

const struct cli_opt cli_global_opts[] = {
	{ 's', "socket", "PATH", false,
	  "cradled's socket (default $CRADLE_SOCKET, else " CRADLE_DEFAULT_SOCKET
	  "); events are read from events.sock beside it (or $CRADLE_EVENTS)",
	  CLI_C_FILE, NULL },
	OPT('t', "timeout", "SECS",
	    "give up on a request after this long (default 120; 0 waits forever; units ms, s, "
	    "m, h accepted; pull and import wait at least 30m)"),
	OPT('h', "help", NULL, "show this help and exit"),
	OPT('v', "version", NULL, "show the CLI's version and exit"),
	OPT_END,
};

static const struct cli_opt runp_opts[] = {
	OPT('r', "runtime", "HANDLER",
	    "the runtime handler to run the sandbox with (default: the daemon's default)"),
	OPT_END,
};

static const struct cli_opt stopp_opts[] = {
	OPT('t', "timeout", "SECS",
	    "grace period before the sandbox is killed, in seconds or with a unit (500ms, 2m), "
	    "up to 1h"),
	OPT_END,
};

static const struct cli_opt rmp_opts[] = {
	OPT('a', "all", NULL, "remove every pod sandbox (no ids then)"),
	OPT('f', "force", NULL, "stop a running sandbox first"),
	OPT_END,
};

static const struct cli_opt pods_opts[] = {
	OPT_WORDS('s', "state", "STATE", "ready notready",
	          "only sandboxes in this state: ready or notready"),
	{ O_LABEL, "label", "KEY=VALUE", true, "only sandboxes with this label", CLI_C_NONE, NULL },
	OPT(O_NAME, "name", "RE", "only sandboxes whose name matches this regular expression"),
	OPT(O_NAMESPACE, "namespace", "RE",
	    "only sandboxes whose namespace matches this regular expression"),
	{ O_ID, "id", "PREFIX", false, "only sandboxes whose id starts with PREFIX", CLI_C_POD,
	  NULL },
	OPT(O_IP, "ip", "ADDRESS", "only sandboxes with this IP address"),
	OPT('l', "latest", NULL, "only the newest sandbox"),
	OPT('n', "last", "N", "only the N newest sandboxes (0: all)"),
	OPT('v', "verbose", NULL, "one block of details per sandbox instead of the table"),
	OPT('q', "quiet", NULL, "print sandbox ids only"),
	OPT(O_JSON, "json", NULL, "print crictl's JSON (as -o json)"),
	OPT_WORDS('o', "output", "FORMAT", "json yaml table raw",
	          "output format: json or yaml (crictl's shape), table (the default) or raw "
	          "(cradle's own JSON)"),
	OPT(O_NO_TRUNC, "no-trunc", NULL, "show ids in full"),
	OPT_END,
};

static const struct cli_opt inspectp_opts[] = {
	OPT('v', "verbose", NULL, "also show the step times of the sandbox's last start and stop"),
	OPT_WORDS('o', "output", "FORMAT", "raw json yaml",
	          "output format: raw (cradle's JSON, the default), json or yaml (crictl's "
	          "{status, info})"),
	OPT_END,
};

static const struct cli_opt inspecti_opts[] = {
	OPT_WORDS('o', "output", "FORMAT", "json",
	          "output format: json, the only one (accepted as crictl's spelling)"),
	OPT_END,
};

static const struct cli_opt pull_opts[] = {
	OPT(O_CREDS, "creds", "USERNAME[:PASSWORD]",
	    "registry credentials for this pull only; without the password it is asked for "
	    "(or read from standard input)"),
	OPT(O_AUTH, "auth", "AUTH_STRING",
	    "registry credentials for this pull only, as base64 of USERNAME:PASSWORD"),
	OPT_END,
};

static const struct cli_opt images_opts[] = {
	OPT('q', "quiet", NULL, "print image ids only"),
	OPT(O_JSON, "json", NULL, "print JSON (as -o json)"),
	OPT_WORDS('o', "output", "FORMAT", "json table",
	          "output format: json or table (the default)"),
	OPT(O_NO_TRUNC, "no-trunc", NULL, "show image ids in full"),
	OPT(O_PINNED, "pinned", NULL, "show the PINNED column"),
	OPT_END,
};

static const struct cli_opt rmi_opts[] = {
	OPT('a', "all", NULL, "remove every image but the pinned ones"),
	OPT(O_PRUNE, "prune", NULL, "remove every image that is neither pinned nor in use"),
	OPT_END,
};

static const struct cli_opt import_opts[] = {
	OPT('n', "name", "REF", "the reference to store the image under"),
	OPT_END,
};

static const struct cli_opt events_opts[] = {
	OPT(O_JSON, "json", NULL, "one JSON object per event"),
	OPT(O_SINCE, "since", "SEQ",
	    "first the kept events from sequence number SEQ on (each event once, in order)"),
	OPT_END,
};

static const struct cli_opt info_opts[] = {
	OPT_WORDS('o', "output", "FORMAT", "json yaml",
	          "output format: json (the default) or yaml"),
	OPT_END,
};

static const struct cli_opt help_opts[] = {
	OPT(O_MAN, "man", NULL, "print the man page cradle(1) (roff) of every command and option"),
	OPT(O_LIST_OPTIONS, "list-options", NULL,
	    "print every option, one a line: COMMAND, short, long, value, repeats (tab-separated; "
	    "COMMAND - for a global option)"),
	OPT_END,
};

const struct cli_cmd cli_commands[] = {
	{ "runp", cmd_runp, "POD_CONFIG", "create and start a pod sandbox; prints its id",
	  "Create and start a pod sandbox from a pod config (crictl's JSON or YAML, a file or - "
	  "for standard input; a missing metadata.uid is generated) and print its id.",
	  runp_opts, CLI_C_FILE, NULL },
	{ "createp", cmd_createp, "POD_CONFIG",
	  "create a pod sandbox without starting it; prints its id",
	  "Create a pod sandbox from a pod config, as runp does, without starting it (startp "
	  "starts it), and print its id.",
	  runp_opts, CLI_C_FILE, NULL },
	{ "startp", cmd_startp, "ID...", "start created pod sandboxes",
	  "Start pod sandboxes made by createp; print each id as it is started.", NULL, CLI_C_POD,
	  NULL },
	{ "stopp", cmd_stopp, "ID...",
	  "stop pod sandboxes (grace period default 10s; stopping twice is fine)",
	  "Stop pod sandboxes: their tasks are killed, their network and shm torn down.  "
	  "Stopping a stopped or unknown sandbox succeeds, as in CRI.",
	  stopp_opts, CLI_C_POD, NULL },
	{ "rmp", cmd_rmp, "ID...", "remove pod sandboxes (--force stops first; --all: every one)",
	  "Remove pod sandboxes: stopped first when running, then their directories, cgroup and "
	  "record.  Removing an unknown sandbox succeeds, as in CRI.",
	  rmp_opts, CLI_C_POD, NULL },
	{ "pods", cmd_pods, "", "list pod sandboxes, newest first",
	  "List pod sandboxes, newest first, as a table (crictl's columns), ids, crictl's JSON or "
	  "YAML ({\"items\": [...]}), or cradle's own JSON.  The filters combine.",
	  pods_opts, CLI_C_NONE, NULL },
	{ "inspectp", cmd_inspectp, "ID...", "show pod sandboxes",
	  "Show pod sandboxes: cradle's JSON (raw, the default) or crictl's {status, info}, an "
	  "array of them for several ids.",
	  inspectp_opts, CLI_C_POD, NULL },
	{ "pull", cmd_pull, "REF", "pull an image from its registry, showing progress on stderr",
	  "Pull an image from its registry (references as docker's: busybox is "
	  "docker.io/library/busybox:latest), showing progress on standard error.",
	  pull_opts, CLI_C_IMAGE, NULL },
	{ "images", cmd_images, "", "list images",
	  "List images: repository, tag, image id and size (and PINNED with --pinned).",
	  images_opts, CLI_C_NONE, NULL },
	{ "inspecti", cmd_inspecti, "REF|ID...", "show images as JSON",
	  "Show images as JSON, each named by a reference, an image id or a unique prefix of one.",
	  inspecti_opts, CLI_C_IMAGE, NULL },
	{ "rmi", cmd_rmi, "REF|ID...", "remove images",
	  "Remove images, each named by a reference, an image id or a unique prefix of one.  An "
	  "image a sandbox uses, or the pinned sandbox image, is not removed.",
	  rmi_opts, CLI_C_IMAGE, NULL },
	{ "import", cmd_import, "FILE|DIR",
	  "import an OCI layout directory, OCI archive or docker-save archive",
	  "Import an image from an OCI layout directory, an OCI archive or a docker-save "
	  "archive, showing progress on standard error.",
	  import_opts, CLI_C_FILE, NULL },
	{ "events", cmd_events, "", "print sandbox and image events as they happen",
	  "Print sandbox events (created, started, exit, stopped, removed) and image progress as "
	  "they happen, until interrupted.",
	  events_opts, CLI_C_NONE, NULL },
	{ "version", cmd_version, "", "show the CLI's and the daemon's versions",
	  "Show the CLI's version, then the daemon's (its version, API version and pid).", NULL,
	  CLI_C_NONE, NULL },
	{ "info", cmd_info, "", "show the daemon's conditions, node facts and configuration",
	  "Show the daemon's conditions, what it detected on the node, its network (CNI) "
	  "config and its effective configuration, as crictl info does.",
	  info_opts, CLI_C_NONE, NULL },
	{ "completion", cmd_completion, "SHELL", "print a shell completion script",
	  "Print the completion script for bash, zsh or fish: commands, their options, and sandbox "
	  "ids and images from the daemon.  For example: source <(cradle completion bash).",
	  NULL, CLI_C_WORDS, "bash zsh fish" },
	{ "help", cmd_help, "[COMMAND]", "show this help or a command's",
	  "Show the commands, or one command's usage and every option of it.", help_opts,
	  CLI_C_COMMAND, NULL },
};
const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);

static const struct cli_cmd *
find_command(const char *name)
{
	for (size_t i = 0; i < cli_n_commands; i++) {
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	}
	return NULL;
}

static int
cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cli_cmd *cmd;
	struct cli_parser p;
	bool man = false, list = false;
	int opt;

	(void)cli;
	cli_parser_init(&p, current);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case O_MAN:
			man = true;
			break;
		case O_LIST_OPTIONS:
			list = true;
			break;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	if (argc - optind > 1)
		return usage_error("expected at most one command");
	if ((man || list) && optind < argc)
		return usage_error("--man and --list-options take no command");
	if (man) {
		cli_print_man(stdout);
		return 0;
	}
	if (list) {
		cli_print_table(stdout);
		return 0;
	}
	if (optind >= argc) {
		cli_print_usage(stdout);
		return 0;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error("unknown command \"%s\"; the commands are in 'cradle help'",
		                   argv[optind]);
	cli_print_command_help(stdout, cmd);
	return 0;
}

static int
cmd_completion(struct cli *cli, int argc, char **argv)
{
	int status;

	(void)cli;
	if (no_options(argc, argv, &status) < 0)
		return status;
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing shell (bash, zsh or fish)"
		                                  : "expected exactly one shell");
	if (cli_print_completion(stdout, argv[optind]) < 0)
		return usage_error("unknown shell \"%s\": expected bash, zsh or fish",
		                   argv[optind]);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct cli_parser p;
	int64_t ms;
	int opt, rc;
	char **cargv;

	cli_parser_init(&p, NULL);
	while ((opt = cli_next(&p, argc, argv)) > 0) {
		switch (opt) {
		case 's':
			cli.socket = optarg;
			break;
		case 't':
			if (!parse_duration(optarg, &ms) || ms > INT32_MAX)
				return usage_error("invalid --timeout \"%s\": expected seconds "
				                   "(or 500ms, 2m)",
				                   optarg);
			/* 0 means no limit; a fraction of a millisecond is not 0 */
			cli.timeout_ms = ms == 0 ? (strtod(optarg, NULL) > 0 ? 1 : -1) : (int)ms;
			break;
		case 'h':
			cli_print_usage(stdout);
			return 0;
		case 'v':
			printf("cradle CLI version %s\n", CRADLE_VERSION);
			return 0;
		default:
			return cli_unhandled(&p, opt);
		}
	}
	if (opt == 0)
		return p.status;
	if (optind >= argc)
		return usage_error("missing command");
	current = find_command(argv[optind]);
	if (!current)
		return usage_error("unknown command \"%s\"", argv[optind]);

	/* the command sees argv[0] = its name; its parser starts over */
	cargv = argv + optind;
	argc -= optind;
	rc = current->run(&cli, argc, cargv);

	cradle_sandbox_list_free(cli.all);
	cradle_close(cli.conn);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cradle: cannot write output: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
