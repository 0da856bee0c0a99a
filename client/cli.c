/* cli.c - `cradle`, the command line client of cradled, in crictl's
 * vocabulary (runp, stopp, rmp, pods, inspectp, pull, images, rmi ...).
 *
 * Each command parses its own options, connects on first use and makes
 * libcradle calls.  Ids may be given as unambiguous prefixes, resolved
 * against one list call per run.  Exit status: 0 done, 1 an operation
 * failed ("cradle: CODE: message" on stderr), 2 the command line was
 * wrong (with its usage).  Commands over several ids carry on past a
 * failed one and exit 1 at the end, so one bad id does not hide the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cradle.h"
#include "client/podjson.h"

#ifndef CRADLE_VERSION
#define CRADLE_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

/* crictl shows this many characters of an id in tables */
#define SHORT_ID 13

struct cli {
	const char *socket;          /* --socket, NULL: $CRADLE_SOCKET or default */
	int timeout_ms;              /* --timeout; 0: libcradle's default, <0: none */
	struct cradle_conn *conn;    /* opened on first use */
	/* every sandbox, listed once for prefix resolution */
	struct proto_sandbox *all;
	size_t n_all;
	bool have_all;
};

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *args;            /* usage after the name */
	const char *help;            /* one line */
};

static const struct command *current;

/* --- output helpers ------------------------------------------------ */

static int report(const struct cradle_err *e)
{
	fprintf(stderr, "cradle: %s: %s\n", cradle_code_name(e->code),
	        e->msg[0] ? e->msg : "unknown error");
	return 1;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cradle: ", stderr);
	if (current)
		fprintf(stderr, "%s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (current)
		fprintf(stderr, "usage: cradle [GLOBAL OPTIONS] %s %s\n", current->name,
		        current->args);
	else
		fprintf(stderr, "usage: cradle [--socket PATH] [--timeout SECS] COMMAND "
		        "[ARGS...]\nRun 'cradle --help' for the commands.\n");
	return EXIT_USAGE;
}

/* After getopt_long returned '?' or ':' (optstring starts with ':'). */
static int bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return usage_error("option %s needs a value", arg);
	if (optopt && !(arg[0] == '-' && arg[1] == '-'))
		return usage_error("unknown option -%c", optopt);
	return usage_error("unknown option %s", arg);
}

/* Print a JSON value on stdout; false on OOM. */
static bool print_json(json_object *o, int flags)
{
	const char *s;

	if (!o)
		return false;
	s = json_object_to_json_string_ext(o, flags);
	if (!s)
		return false;
	puts(s);
	return true;
}

/* --- argument parsing ---------------------------------------------- */

/* A duration: a number with an optional unit ms, s, m, h (default s), as
 * crictl's "10s" or plain "10".  *ms is the result; false if malformed. */
static bool parse_duration(const char *s, int64_t *ms)
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

static int parse_state(const char *s, int *state)
{
	if (strcasecmp(s, "ready") == 0 || strcasecmp(s, "SANDBOX_READY") == 0)
		*state = STATE_READY;
	else if (strcasecmp(s, "notready") == 0 || strcasecmp(s, "SANDBOX_NOTREADY") == 0)
		*state = STATE_NOTREADY;
	else
		return -1;
	return 0;
}

/* --- daemon access ------------------------------------------------- */

static int conn(struct cli *cli, struct cradle_conn **out, struct cradle_err *err)
{
	int rc;

	if (!cli->conn) {
		rc = cradle_connect(cradle_socket_path(cli->socket), cli->timeout_ms, &cli->conn,
		                    err);
		if (rc < 0)
			return rc;
	}
	*out = cli->conn;
	return 0;
}

static int list_all(struct cli *cli, struct cradle_err *err)
{
	struct cradle_conn *c;
	int rc;

	if (cli->have_all)
		return 0;
	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	rc = cradle_sandbox_list(c, -1, NULL, &cli->all, &cli->n_all, err);
	if (rc < 0)
		return rc;
	cli->have_all = true;
	return 0;
}

static bool all_hex(const char *s)
{
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s))
			return false;
	}
	return true;
}

/* A full id as given, else the one sandbox whose id starts with arg. */
static int resolve_id(struct cli *cli, const char *arg, char id[CRADLE_ID_LEN + 1],
                      struct cradle_err *err)
{
	char want[CRADLE_ID_LEN + 1];
	size_t len = strlen(arg), i, hits = 0, hit = 0;
	int rc;

	if (len == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "empty sandbox id");
	if (len > CRADLE_ID_LEN || !all_hex(arg))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid sandbox id \"%.80s\": expected up to %d hex "
		                      "characters", arg, CRADLE_ID_LEN);
	for (i = 0; i <= len; i++)
		want[i] = (char)tolower((unsigned char)arg[i]);
	if (len == CRADLE_ID_LEN) {
		memcpy(id, want, sizeof(want));
		return 0;
	}
	if ((rc = list_all(cli, err)) < 0)
		return rc;
	for (i = 0; i < cli->n_all; i++) {
		if (strncmp(cli->all[i].id, want, len) == 0) {
			if (hits++ == 0)
				hit = i;
		}
	}
	if (hits == 0)
		return cradle_err_set(err, CRADLE_NOT_FOUND,
		                      "no pod sandbox with an id starting with \"%s\"", want);
	if (hits > 1)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "pod sandbox id prefix \"%s\" is ambiguous: it matches "
		                      "%zu sandboxes", want, hits);
	memcpy(id, cli->all[hit].id, CRADLE_ID_LEN + 1);
	return 0;
}

/* --- commands ------------------------------------------------------ */

/* runp and createp: identical but for the operation. */
static int create_or_run(struct cli *cli, int argc, char **argv, bool run)
{
	static const struct option opts[] = {
		{ "runtime", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *handler = NULL;
	char id[CRADLE_ID_LEN + 1];
	struct cradle_conn *c;
	struct pod_config cfg;
	struct cradle_err err;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, ":r:", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			handler = optarg;
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing pod config file"
		                                  : "expected exactly one pod config file");
	if (podjson_parse_file(argv[optind], &cfg, &err) < 0)
		return report(&err);
	rc = conn(cli, &c, &err);
	if (rc == 0)
		rc = run ? cradle_sandbox_run(c, &cfg, handler, id, NULL, NULL, &err)
		         : cradle_sandbox_create(c, &cfg, handler, id, &err);
	pod_config_fini(&cfg);
	if (rc < 0)
		return report(&err);
	printf("%s\n", id);
	return 0;
}

static int cmd_runp(struct cli *cli, int argc, char **argv)
{
	return create_or_run(cli, argc, argv, true);
}

static int cmd_createp(struct cli *cli, int argc, char **argv)
{
	return create_or_run(cli, argc, argv, false);
}

/* Parse no options but -h; leaves optind at the first operand. */
static int no_options(int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	int opt;

	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		return bad_option(opt, argv);
	return 0;
}

/* Run fn over every id operand; 1 if any failed. */
static int each_id(struct cli *cli, int argc, char **argv,
                   int (*fn)(struct cli *, const char *, int64_t, struct cradle_err *),
                   int64_t arg)
{
	char id[CRADLE_ID_LEN + 1];
	struct cradle_err err;
	int i, status = 0;

	if (optind >= argc)
		return usage_error("missing sandbox id");
	for (i = optind; i < argc; i++) {
		if (resolve_id(cli, argv[i], id, &err) < 0 || fn(cli, id, arg, &err) < 0) {
			status = report(&err);
			continue;
		}
		printf("%s\n", id);
		fflush(stdout);
	}
	return status;
}

static int do_start(struct cli *cli, const char *id, int64_t unused, struct cradle_err *err)
{
	struct cradle_conn *c;
	int rc;

	(void)unused;
	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	return cradle_sandbox_start(c, id, NULL, NULL, err);
}

static int do_stop(struct cli *cli, const char *id, int64_t timeout_ms,
                   struct cradle_err *err)
{
	struct cradle_conn *c;
	int rc;

	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	return cradle_sandbox_stop(c, id, timeout_ms, err);
}

/* arg != 0: stop first (rmp --force) */
static int do_remove(struct cli *cli, const char *id, int64_t force, struct cradle_err *err)
{
	struct cradle_conn *c;
	int rc;

	if ((rc = conn(cli, &c, err)) < 0)
		return rc;
	if (force && (rc = cradle_sandbox_stop(c, id, -1, err)) < 0)
		return rc;
	return cradle_sandbox_remove(c, id, err);
}

static int cmd_startp(struct cli *cli, int argc, char **argv)
{
	int rc = no_options(argc, argv);

	return rc ? rc : each_id(cli, argc, argv, do_start, 0);
}

static int cmd_stopp(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t timeout_ms = -1;
	int opt;

	while ((opt = getopt_long(argc, argv, ":t:", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (!parse_duration(optarg, &timeout_ms) || timeout_ms > 3600000)
				return usage_error("invalid --timeout \"%s\": expected seconds "
				                   "(or 500ms, 2m) up to 1h", optarg);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	return each_id(cli, argc, argv, do_stop, timeout_ms);
}

static int cmd_rmp(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct cradle_err err;
	bool all = false, force = false;
	int opt, status = 0;
	size_t i;

	while ((opt = getopt_long(argc, argv, ":af", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'f':
			force = true;
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (!all)
		return each_id(cli, argc, argv, do_remove, force);
	if (optind < argc)
		return usage_error("--all takes no sandbox ids");
	if (list_all(cli, &err) < 0)
		return report(&err);
	/* --all removes running sandboxes too: stop each first */
	for (i = 0; i < cli->n_all; i++) {
		if (do_remove(cli, cli->all[i].id, 1, &err) < 0) {
			status = report(&err);
			continue;
		}
		printf("%s\n", cli->all[i].id);
		fflush(stdout);
	}
	return status;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct proto_sandbox *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* crictl's --name and --namespace are regular expressions (unanchored). */
static int compile_filter(regex_t *re, const char *pattern, const char *opt)
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

static bool matches(const regex_t *re, bool use, const char *s)
{
	return !use || regexec(re, s ? s : "", 0, NULL, 0) == 0;
}

#define POD_COLS 7

static void print_table(struct proto_sandbox *v, size_t n, bool no_trunc)
{
	static const char *const head[POD_COLS] = {
		"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "PID",
	};
	size_t width[POD_COLS], i, k, len;
	char created[48], attempt[16], pid[16];
	const char *cell[POD_COLS];
	int64_t now = cli_now_ns();
	int pass;

	for (k = 0; k < POD_COLS; k++)
		width[k] = strlen(head[k]);
	/* pass 0 measures, pass 1 prints: the cells are cheap to rebuild */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (k = 0; k < POD_COLS; k++)
				printf("%-*s%s", k + 1 < POD_COLS ? (int)width[k] : 0, head[k],
				       k + 1 < POD_COLS ? "   " : "\n");
		}
		for (i = 0; i < n; i++) {
			const struct proto_sandbox *s = &v[i];

			cli_time_ago(s->created_at, now, created, sizeof(created));
			snprintf(attempt, sizeof(attempt), "%u", s->config.metadata.attempt);
			if (s->pid > 0)
				snprintf(pid, sizeof(pid), "%d", s->pid);
			else
				snprintf(pid, sizeof(pid), "-");
			cell[0] = s->id;
			cell[1] = created;
			cell[2] = proto_sandbox_state(s) == STATE_READY ? "Ready" : "NotReady";
			cell[3] = s->config.metadata.name ? s->config.metadata.name : "";
			cell[4] = s->config.metadata.namespace ? s->config.metadata.namespace : "";
			cell[5] = attempt;
			cell[6] = pid;
			for (k = 0; k < POD_COLS; k++) {
				len = strlen(cell[k]);
				if (k == 0 && !no_trunc && len > SHORT_ID)
					len = SHORT_ID;
				if (pass == 0) {
					if (len > width[k])
						width[k] = len;
				} else {
					printf("%-*.*s%s", k + 1 < POD_COLS ? (int)width[k] : 0, (int)len,
					       cell[k], k + 1 < POD_COLS ? "   " : "\n");
				}
			}
		}
	}
}

static int cmd_pods(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "id", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *ns = NULL, *id_prefix = NULL, *eq;
	struct proto_kvs labels = { 0 };
	struct proto_sandbox *v = NULL;
	struct cradle_conn *c;
	struct cradle_err err;
	regex_t name_re, ns_re;
	bool quiet = false, json = false, no_trunc = false;
	int opt, state = -1, status = 0;
	size_t n = 0, i, kept;
	json_object *arr = NULL, *o;
	char *key;

	while ((opt = getopt_long(argc, argv, ":s:l:qo:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_state(optarg, &state) < 0) {
				status = usage_error("invalid --state \"%s\": expected ready or "
				                     "notready", optarg);
				goto out;
			}
			break;
		case 'l':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				status = usage_error("invalid --label \"%s\": expected key=value",
				                     optarg);
				goto out;
			}
			key = strndup(optarg, (size_t)(eq - optarg));
			if (!key || proto_kvs_add(&labels, key, eq + 1) < 0) {
				free(key);
				cradle_err_errno(&err, ENOMEM, "label filter");
				status = report(&err);
				goto out;
			}
			free(key);
			break;
		case 'n':
			name = optarg;
			break;
		case 'N':
			ns = optarg;
			break;
		case 'i':
			id_prefix = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0) {
				json = true;
			} else if (strcmp(optarg, "table") != 0) {
				status = usage_error("invalid --output \"%s\": expected json or table",
				                     optarg);
				goto out;
			}
			break;
		case 'T':
			no_trunc = true;
			break;
		default:
			status = bad_option(opt, argv);
			goto out;
		}
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
	    cradle_sandbox_list(c, state, labels.n ? &labels : NULL, &v, &n, &err) < 0) {
		status = report(&err);
		goto out_re;
	}
	/* client-side filters, compacting the array in place */
	for (i = 0, kept = 0; i < n; i++) {
		if (matches(&name_re, name, v[i].config.metadata.name) &&
		    matches(&ns_re, ns, v[i].config.metadata.namespace) &&
		    (!id_prefix || strncasecmp(v[i].id, id_prefix, strlen(id_prefix)) == 0)) {
			if (kept != i) {
				v[kept] = v[i];
				memset(&v[i], 0, sizeof(v[i]));
			}
			kept++;
		} else {
			proto_sandbox_fini(&v[i]);
		}
	}
	n = kept;
	if (n > 1)
		qsort(v, n, sizeof(*v), by_created_desc);

	if (quiet) {
		for (i = 0; i < n; i++)
			printf("%s\n", v[i].id);
	} else if (json) {
		arr = json_object_new_array();
		for (i = 0; arr && i < n; i++) {
			o = cli_sandbox_json(&v[i]);
			if (!o || json_object_array_add(arr, o) != 0) {
				json_object_put(o);
				json_object_put(arr);
				arr = NULL;
			}
		}
		if (arr)
			cli_json_compact_empty(arr);
		if (!print_json(arr, CLI_JSON_PRETTY)) {
			cradle_err_errno(&err, ENOMEM, "formatting JSON");
			status = report(&err);
		}
		json_object_put(arr);
	} else {
		print_table(v, n, no_trunc);
	}
out_re:
	if (name)
		regfree(&name_re);
	if (ns)
		regfree(&ns_re);
out:
	cradle_sandboxes_free(v, n);
	proto_kvs_fini(&labels);
	return status;
}

/* inspectp and inspecti: "-o json" (JSON is the only form; crictl's
 * spelling of it is accepted) and at least one argument.  0, or the exit
 * status of a usage error. */
static int parse_inspect_options(int argc, char **argv, const char *missing)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (strcmp(optarg, "json") != 0)
				return usage_error("invalid --output \"%s\": only json is "
				                   "supported", optarg);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (optind >= argc)
		return usage_error("%s", missing);
	return 0;
}

static int cmd_inspectp(struct cli *cli, int argc, char **argv)
{
	char id[CRADLE_ID_LEN + 1];
	struct proto_sandbox s;
	struct cradle_conn *c;
	struct cradle_err err;
	json_object *o;
	int i, status = 0;
	bool ok;

	if ((i = parse_inspect_options(argc, argv, "missing sandbox id")) != 0)
		return i;
	for (i = optind; i < argc; i++) {
		if (resolve_id(cli, argv[i], id, &err) < 0 || conn(cli, &c, &err) < 0 ||
		    cradle_sandbox_status(c, id, &s, &err) < 0) {
			status = report(&err);
			continue;
		}
		o = cli_sandbox_json(&s);
		ok = print_json(o, CLI_JSON_PRETTY);
		json_object_put(o);
		proto_sandbox_fini(&s);
		if (!ok) {
			cradle_err_errno(&err, ENOMEM, "formatting JSON");
			status = report(&err);
		}
	}
	return status;
}

/* --- images -------------------------------------------------------- */

/* What the daemon may call an image the user named: docker's
 * normalisation ("busybox" is "docker.io/library/busybox:latest"), so a
 * progress event for the resolved name still counts as ours. */
static void normalize_ref(const char *in, char *out, size_t size)
{
	const char *at = strchr(in, '@'), *slash, *colon, *first_slash;
	size_t name_len = at ? (size_t)(at - in) : strlen(in), first_len;
	const char *domain = "", *prefix = "", *suffix = "";
	bool tagged = at != NULL;

	slash = memrchr(in, '/', name_len);
	colon = memchr(slash ? slash : in, ':', name_len - (size_t)((slash ? slash : in) - in));
	if (colon)
		tagged = true;
	first_slash = memchr(in, '/', name_len);
	first_len = first_slash ? (size_t)(first_slash - in) : 0;
	if (!first_slash) {
		domain = "docker.io/";
		prefix = "library/";
	} else if (!memchr(in, '.', first_len) && !memchr(in, ':', first_len) &&
	           !(first_len == 9 && strncmp(in, "localhost", 9) == 0)) {
		domain = "docker.io/";
	}
	if (!tagged)
		suffix = ":latest";
	snprintf(out, size, "%s%s%s%s", domain, prefix, in, suffix);
}

static bool same_ref(const char *a, const char *b)
{
	char na[PROTO_MAX_REF + 32], nb[PROTO_MAX_REF + 32];

	if (strcmp(a, b) == 0)
		return true;
	normalize_ref(a, na, sizeof(na));
	normalize_ref(b, nb, sizeof(nb));
	return strcmp(na, nb) == 0;
}

#define BAR_WIDTH 30
#define NS_PER_SEC 1000000000LL

/* Progress of a pull or import, read from the events socket by a thread
 * while the request is in flight, drawn on stderr. */
struct progress {
	struct cradle_events *ev;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	const char *verb;            /* "pulling", "importing" */
	const char *label;           /* what the line names */
	const char *ref;             /* event refs that are ours: this (normalised) */
	const char *path;            /* or exactly this (import) */
	bool tty;
	bool drawn;                  /* a bar is on the terminal line */
	bool shown_complete;         /* done == total was shown */
	bool have_start;
	int64_t start_ns, last_ns;
	uint64_t start_done;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static bool progress_ours(const struct progress *pg, const char *ref)
{
	if (!ref[0])
		return false;
	if (pg->path && strcmp(ref, pg->path) == 0)
		return true;
	return pg->ref && proto_valid_image_ref(ref) && same_ref(ref, pg->ref);
}

static void progress_show(struct progress *pg, uint64_t done, int64_t total)
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
		cli_progress_size((uint64_t)((double)(done - pg->start_done) * NS_PER_SEC /
		                             (double)el), r, sizeof(r) - 2);
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

static void *progress_main(void *arg)
{
	struct progress *pg = arg;
	struct cradle_err err;
	struct proto_event ev;
	int rc;

	/* a short wait, so stopping never takes long */
	while (!atomic_load(&pg->stop)) {
		rc = cradle_events_next(pg->ev, 100, &ev, &err);
		if (rc == -ETIMEDOUT || (rc < 0 && err.code == CRADLE_INTERNAL))
			continue;
		if (rc < 0)
			break;      /* the subscription is gone: no more progress */
		if (strcmp(ev.type, PROTO_EVENT_IMAGE_PROGRESS) == 0 && progress_ours(pg, ev.ref))
			progress_show(pg, ev.done, ev.total);
	}
	return NULL;
}

/* Subscribe before the request goes out, so no progress is missed.  No
 * events socket means no progress, not a failed command. */
static void progress_start(struct progress *pg, struct cli *cli, const char *verb,
                           const char *label, const char *ref, const char *path)
{
	struct cradle_err err;

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

static void progress_stop(struct progress *pg)
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

static int cmd_pull(struct cli *cli, int argc, char **argv)
{
	struct progress pg;
	struct proto_image img;
	struct cradle_conn *c;
	struct cradle_err err;
	const char *ref;
	int rc = no_options(argc, argv);

	if (rc)
		return rc;
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing image reference"
		                                  : "expected exactly one image reference");
	ref = argv[optind];
	if (!proto_valid_image_ref(ref)) {
		cradle_err_set(&err, CRADLE_INVALID_ARGUMENT, "invalid image reference \"%.80s\": "
		               "expected 1 to %d letters, digits, '.', '_', ':', '/', '@' or '-'",
		               ref, PROTO_MAX_REF);
		return report(&err);
	}
	if (conn(cli, &c, &err) < 0)
		return report(&err);
	progress_start(&pg, cli, "pulling", ref, ref, NULL);
	rc = cradle_image_pull(c, ref, &img, &err);
	progress_stop(&pg);
	if (rc < 0)
		return report(&err);
	/* crictl's words */
	printf("Image is up to date for %s\n", img.config_digest[0] ? img.config_digest : img.ref);
	proto_image_fini(&img);
	return 0;
}

static int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL;
	struct progress pg;
	struct proto_image img;
	struct cradle_conn *c;
	struct cradle_err err;
	char *path;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, ":n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing image archive or directory"
		                                  : "expected exactly one archive or directory");
	if (name && !proto_valid_image_ref(name))
		return usage_error("invalid --name \"%.80s\": expected an image reference "
		                   "(letters, digits, '.', '_', ':', '/', '@', '-')", name);
	/* the daemon opens the path itself: give it an absolute one */
	path = realpath(argv[optind], NULL);
	if (!path) {
		cradle_err_errno(&err, errno, "%s", argv[optind]);
		return report(&err);
	}
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
	printf("Loaded image: %s\n", img.ref ? img.ref : "");
	proto_image_fini(&img);
	return 0;
}

/* "repo:tag" -> repo, tag; "repo@digest" and an untagged repo have tag
 * "<none>", as crictl shows them. */
static void split_ref(const char *ref, char *repo, size_t rsize, const char **tag)
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

/* crictl's IMAGE ID: the config digest without "sha256:", cut to 13. */
static const char *image_id(const struct proto_image *img, bool no_trunc, char *buf,
                            size_t size)
{
	const char *id = img->config_digest;

	if (no_trunc)
		return id;
	if (strncmp(id, "sha256:", 7) == 0)
		id += 7;
	snprintf(buf, size, "%.*s", SHORT_ID, id);
	return buf;
}

#define IMG_COLS 5

static void print_image_table(const struct proto_image *v, size_t n, bool no_trunc)
{
	static const char *const head[IMG_COLS] = {
		"IMAGE", "TAG", "IMAGE ID", "SIZE", "PINNED",
	};
	char repo[PROTO_MAX_REF + 1], idb[CRADLE_ID_LEN + 8], size[32];
	const char *cell[IMG_COLS];
	size_t width[IMG_COLS], i, k, len;
	int pass;

	for (k = 0; k < IMG_COLS; k++)
		width[k] = strlen(head[k]);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (k = 0; k < IMG_COLS; k++)
				printf("%-*s%s", k + 1 < IMG_COLS ? (int)width[k] : 0, head[k],
				       k + 1 < IMG_COLS ? "   " : "\n");
		}
		for (i = 0; i < n; i++) {
			split_ref(v[i].ref ? v[i].ref : "", repo, sizeof(repo), &cell[1]);
			cli_human_size(v[i].size, size, sizeof(size));
			cell[0] = repo;
			cell[2] = image_id(&v[i], no_trunc, idb, sizeof(idb));
			cell[3] = size;
			cell[4] = v[i].pinned ? "true" : "false";
			for (k = 0; k < IMG_COLS; k++) {
				len = strlen(cell[k]);
				if (pass == 0) {
					if (len > width[k])
						width[k] = len;
				} else {
					printf("%-*s%s", k + 1 < IMG_COLS ? (int)width[k] : 0, cell[k],
					       k + 1 < IMG_COLS ? "   " : "\n");
				}
			}
		}
	}
}

static int by_ref_asc(const void *a, const void *b)
{
	const struct proto_image *x = a, *y = b;

	return strcmp(x->ref ? x->ref : "", y->ref ? y->ref : "");
}

static int by_id_ptr(const void *a, const void *b)
{
	const struct proto_image *const *x = a, *const *y = b;
	int c = strcmp((*x)->config_digest, (*y)->config_digest);

	/* ties in list order, so the first of each id is kept */
	return c ? c : (*x < *y ? -1 : *x > *y);
}

/* -q: one line per image id (several refs may share one), in list order;
 * an image without a config digest shows its ref. */
static int print_image_ids(const struct proto_image *v, size_t n)
{
	const struct proto_image **p;
	bool *dup;
	size_t i;

	if (!n)
		return 0;
	p = calloc(n, sizeof(*p));
	dup = calloc(n, sizeof(*dup));
	if (!p || !dup) {
		free(p);
		free(dup);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		p[i] = &v[i];
	qsort(p, n, sizeof(*p), by_id_ptr);
	for (i = 1; i < n; i++) {
		if (p[i]->config_digest[0] &&
		    strcmp(p[i]->config_digest, p[i - 1]->config_digest) == 0)
			dup[p[i] - v] = true;
	}
	for (i = 0; i < n; i++) {
		if (!dup[i])
			printf("%s\n", v[i].config_digest[0] ? v[i].config_digest
			                                     : (v[i].ref ? v[i].ref : ""));
	}
	free(p);
	free(dup);
	return 0;
}

static int cmd_images(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct proto_image *v = NULL;
	struct cradle_conn *c;
	struct cradle_err err;
	bool quiet = false, json = false, no_trunc = false;
	json_object *arr, *o;
	int opt, status = 0;
	size_t n = 0, i;

	while ((opt = getopt_long(argc, argv, ":qo:", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			quiet = true;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return usage_error("invalid --output \"%s\": expected json or table",
				                   optarg);
			break;
		case 'T':
			no_trunc = true;
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (conn(cli, &c, &err) < 0 || cradle_image_list(c, &v, &n, &err) < 0)
		return report(&err);
	if (n > 1)
		qsort(v, n, sizeof(*v), by_ref_asc);
	if (quiet) {
		if (print_image_ids(v, n) < 0) {
			cradle_err_errno(&err, ENOMEM, "listing image ids");
			status = report(&err);
		}
	} else if (json) {
		arr = json_object_new_array();
		for (i = 0; arr && i < n; i++) {
			o = cli_image_json(&v[i]);
			if (!o || json_object_array_add(arr, o) != 0) {
				json_object_put(o);
				json_object_put(arr);
				arr = NULL;
			}
		}
		if (arr)
			cli_json_compact_empty(arr);
		if (!print_json(arr, CLI_JSON_PRETTY)) {
			cradle_err_errno(&err, ENOMEM, "formatting JSON");
			status = report(&err);
		}
		json_object_put(arr);
	} else {
		print_image_table(v, n, no_trunc);
	}
	cradle_images_free(v, n);
	return status;
}

static int cmd_inspecti(struct cli *cli, int argc, char **argv)
{
	struct proto_image img;
	struct cradle_conn *c;
	struct cradle_err err;
	json_object *o;
	int i, status = 0;
	bool ok;

	if ((i = parse_inspect_options(argc, argv, "missing image reference")) != 0)
		return i;
	for (i = optind; i < argc; i++) {
		if (conn(cli, &c, &err) < 0 || cradle_image_status(c, argv[i], &img, &err) < 0) {
			status = report(&err);
			continue;
		}
		o = cli_image_json(&img);
		ok = print_json(o, CLI_JSON_PRETTY);
		json_object_put(o);
		proto_image_fini(&img);
		if (!ok) {
			cradle_err_errno(&err, ENOMEM, "formatting JSON");
			status = report(&err);
		}
	}
	return status;
}

static int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	struct cradle_conn *c;
	struct cradle_err err;
	int i, status = no_options(argc, argv);

	if (status)
		return status;
	if (optind >= argc)
		return usage_error("missing image reference");
	for (i = optind; i < argc; i++) {
		if (conn(cli, &c, &err) < 0 || cradle_image_remove(c, argv[i], &err) < 0) {
			status = report(&err);
			continue;
		}
		printf("Deleted: %s\n", argv[i]);
		fflush(stdout);
	}
	return status;
}

static int cmd_events(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cradle_events *e;
	struct proto_event ev;
	struct cradle_err err;
	char t[CLI_TIME_MAX];
	json_object *o;
	bool json = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (cradle_events_open(cradle_events_path(NULL, cli->socket), &e, &err) < 0)
		return report(&err);
	for (;;) {
		rc = cradle_events_next(e, -1, &ev, &err);
		if (rc < 0) {
			/* one unreadable event is not the end of the stream; a
			 * broken subscription is */
			if (err.code == CRADLE_INTERNAL) {
				report(&err);
				continue;
			}
			cradle_events_close(e);
			return report(&err);
		}
		if (json) {
			o = cli_event_json(&ev);
			if (!print_json(o, CLI_JSON_PLAIN))
				fprintf(stderr, "cradle: INTERNAL: cannot format event %llu\n",
				        (unsigned long long)ev.seq);
			json_object_put(o);
		} else if (strcmp(ev.type, PROTO_EVENT_IMAGE_PROGRESS) == 0) {
			printf("%llu %s %s done=%llu total=%lld\n", (unsigned long long)ev.seq,
			       ev.type, ev.ref, (unsigned long long)ev.done, (long long)ev.total);
		} else {
			cli_time_rfc3339(ev.exited_at, false, t);
			printf("%llu %s %s pid=%d exit_status=%d at=%s\n",
			       (unsigned long long)ev.seq, ev.type, ev.id, ev.pid, ev.exit_status, t);
		}
		/* a pipe reader wants each event as it happens */
		fflush(stdout);
	}
}

static int cmd_version(struct cli *cli, int argc, char **argv)
{
	struct proto_version v;
	struct cradle_conn *c;
	struct cradle_err err;
	int rc = no_options(argc, argv);

	if (rc)
		return rc;
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	printf("cradle CLI version %s\n", CRADLE_VERSION);
	fflush(stdout);
	if (conn(cli, &c, &err) < 0 || cradle_version(c, &v, &err) < 0)
		return report(&err);
	printf("cradled version %s (api %u, pid %d)\n", v.version, v.api_version, v.pid);
	return 0;
}

static int cmd_help(struct cli *cli, int argc, char **argv);

static const struct command commands[] = {
	{ "runp", cmd_runp, "[--runtime HANDLER] POD_CONFIG.json",
	  "create and start a pod sandbox; prints its id" },
	{ "createp", cmd_createp, "[--runtime HANDLER] POD_CONFIG.json",
	  "create a pod sandbox without starting it; prints its id" },
	{ "startp", cmd_startp, "ID...", "start created pod sandboxes" },
	{ "stopp", cmd_stopp, "[--timeout SECS] ID...",
	  "stop pod sandboxes (grace period default 10s; stopping twice is fine)" },
	{ "rmp", cmd_rmp, "[-f|--force] ID... | -a|--all",
	  "remove pod sandboxes (--force stops first; --all stops and removes all)" },
	{ "pods", cmd_pods,
	  "[--state ready|notready] [--label KEY=VALUE]... [--name RE] [--namespace RE]\n"
	  "           [--id PREFIX] [-q|--quiet] [--json|-o json] [--no-trunc]",
	  "list pod sandboxes, newest first" },
	{ "inspectp", cmd_inspectp, "ID...", "show pod sandboxes as JSON" },
	{ "pull", cmd_pull, "REF",
	  "pull an image from its registry, showing progress on stderr" },
	{ "images", cmd_images, "[-q|--quiet] [--json|-o json] [--no-trunc]",
	  "list images (-q: image ids only)" },
	{ "inspecti", cmd_inspecti, "REF...", "show images as JSON" },
	{ "rmi", cmd_rmi, "REF...", "remove images (refused while a sandbox uses one)" },
	{ "import", cmd_import, "[--name REF] FILE|DIR",
	  "import an OCI layout directory, OCI archive or docker-save archive" },
	{ "events", cmd_events, "[--json]",
	  "print sandbox exits and image progress as they happen, until interrupted" },
	{ "version", cmd_version, "", "show the CLI's and the daemon's versions" },
	{ "help", cmd_help, "[COMMAND]", "show this help or a command's usage" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void print_usage(FILE *f)
{
	size_t i;

	fprintf(f,
	        "usage: cradle [--socket PATH] [--timeout SECS] COMMAND [ARGS...]\n"
	        "\n"
	        "Client of cradled, the pod sandbox daemon.  Sandbox ids may be\n"
	        "abbreviated to any unambiguous prefix.\n"
	        "\n"
	        "Global options:\n"
	        "  -s, --socket PATH   cradled's socket (default $CRADLE_SOCKET, else\n"
	        "                      %s); events are read from\n"
	        "                      events.sock beside it (or $CRADLE_EVENTS)\n"
	        "  -t, --timeout SECS  give up on a request after this long (default 120;\n"
	        "                      0 waits forever; units ms, s, m, h accepted;\n"
	        "                      pull and import wait at least 30m)\n"
	        "  -h, --help          show this help\n"
	        "  -v, --version       show the CLI's version\n"
	        "\n"
	        "Commands:\n", CRADLE_DEFAULT_SOCKET);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun 'cradle help COMMAND' for a command's options.\n");
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;
	int rc = no_options(argc, argv);

	(void)cli;
	if (rc)
		return rc;
	if (optind >= argc) {
		print_usage(stdout);
		return 0;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error("unknown command \"%s\"", argv[optind]);
	printf("usage: cradle [GLOBAL OPTIONS] %s %s\n\n%s\n", cmd->name, cmd->args, cmd->help);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	int64_t ms;
	int opt, rc, i;
	char **cargv;

	opterr = 0;
	/* '+': stop at the command, whose options are its own */
	while ((opt = getopt_long(argc, argv, "+:s:t:hv", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cli.socket = optarg;
			break;
		case 't':
			if (!parse_duration(optarg, &ms) || ms > INT32_MAX)
				return usage_error("invalid --timeout \"%s\": expected seconds "
				                   "(or 500ms, 2m)", optarg);
			/* 0 means no limit; a fraction of a millisecond is not 0 */
			cli.timeout_ms = ms == 0 ? (strtod(optarg, NULL) > 0 ? 1 : -1) : (int)ms;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		case 'v':
			printf("cradle CLI version %s\n", CRADLE_VERSION);
			return 0;
		default:
			return bad_option(opt, argv);
		}
	}
	if (optind >= argc)
		return usage_error("missing command");
	current = find_command(argv[optind]);
	if (!current)
		return usage_error("unknown command \"%s\"", argv[optind]);

	/* the command sees argv[0] = its name; optind = 0 makes glibc's
	 * getopt start over */
	cargv = argv + optind;
	argc -= optind;
	for (i = 1; i < argc; i++) {
		if (strcmp(cargv[i], "-h") == 0 || strcmp(cargv[i], "--help") == 0) {
			printf("usage: cradle [GLOBAL OPTIONS] %s %s\n\n%s\n", current->name,
			       current->args, current->help);
			return 0;
		}
		if (strcmp(cargv[i], "--") == 0)
			break;
	}
	optind = 0;
	rc = current->run(&cli, argc, cargv);

	cradle_sandboxes_free(cli.all, cli.n_all);
	cradle_close(cli.conn);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cradle: cannot write output: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
