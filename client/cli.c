/* cli.c - `cradle`, the command line client of cradled, in crictl's
 * vocabulary (runp, stopp, rmp, pods, inspectp, pull, images, rmi ...).
 *
 * Each command parses its own options, connects on first use and makes
 * libcradle calls through the public API (client/cradle.h); JSON output is
 * libcradle's own rendering.  Ids may be given as unambiguous prefixes,
 * resolved against one list call per run.  Exit status: 0 done, 1 an
 * operation failed ("cradle: CODE: message" on stderr), 2 the command line
 * was wrong (with its usage).  Commands over several ids carry on past a
 * failed one and exit 1 at the end, so one bad id does not hide the rest.
 */
#include <ctype.h>
#include <errno.h>
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
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cradle.h"
#include "client/internal.h"

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

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *args; /* usage after the name */
	const char *help; /* one line */
};

static const struct command *current;

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

__attribute__((format(printf, 1, 2))) static int
usage_error(const char *fmt, ...)
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
static int
bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return usage_error("option %s needs a value", arg);
	if (optopt && !(arg[0] == '-' && arg[1] == '-'))
		return usage_error("unknown option -%c", optopt);
	return usage_error("unknown option %s", arg);
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

/* --- listings ------------------------------------------------------ */

/* How `pods` and `images` print: ids only (-q), JSON (--json, -o json)
 * or a table (-o table, the default), ids cut unless --no-trunc. */
struct listing {
	bool quiet, json, no_trunc;
};

#define LISTING_OPTIONS                                                          \
	{ "quiet", no_argument, NULL, 'q' }, { "json", no_argument, NULL, 'j' }, \
		{ "output", required_argument, NULL, 'o' },                      \
	{                                                                        \
		"no-trunc", no_argument, NULL, 'T'                               \
	}
#define LISTING_OPTSTRING "qo:"

/* Take getopt's opt if it is a listing option: 0 when taken, the exit
 * status of a usage error, or -1 when opt is not one of them. */
static int
listing_option(struct listing *l, int opt, const char *arg)
{
	switch (opt) {
	case 'q':
		l->quiet = true;
		return 0;
	case 'j':
		l->json = true;
		return 0;
	case 'T':
		l->no_trunc = true;
		return 0;
	case 'o':
		if (strcmp(arg, "json") == 0)
			l->json = true;
		else if (strcmp(arg, "table") != 0)
			return usage_error("invalid --output \"%s\": expected json or table", arg);
		return 0;
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

/* --- commands ------------------------------------------------------ */

/* The command line of runp, createp and import: one operand (what names
 * it in usage errors) and at most one option, --name VALUE or -c VALUE,
 * whose value goes to *value (NULL when not given).  0, or the exit
 * status of a usage error; optind is left at the operand. */
static int
one_operand(int argc, char **argv, const char *name, char c, const char **value, const char *what)
{
	const struct option opts[] = {
		{ name, required_argument, NULL, c },
		{ NULL, 0, NULL, 0 },
	};
	const char optstring[] = { ':', c, ':', '\0' };
	int opt;

	*value = NULL;
	while ((opt = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		if (opt != c)
			return bad_option(opt, argv);
		*value = optarg;
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
	int rc;

	if ((rc = one_operand(argc, argv, "runtime", 'r', &handler, "pod config file")) != 0)
		return rc;
	if (cradle_pod_from_file(argv[optind], &pod, &err) < 0)
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

/* Parse no options but -h; leaves optind at the first operand. */
static int
no_options(int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	int opt;

	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		return bad_option(opt, argv);
	return 0;
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
	int rc = no_options(argc, argv);

	return rc ? rc : each_id(cli, argc, argv, do_start, 0);
}

static int
cmd_stopp(struct cli *cli, int argc, char **argv)
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
				                   "(or 500ms, 2m) up to 1h",
				                   optarg);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
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
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool all = false, force = false;
	int opt;

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
	if (cradle_sandbox_pid(s) > 0)
		cell(r, 6, "%d", cradle_sandbox_pid(s));
	else
		r->cell[6] = "-";
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

static int
cmd_pods(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "id", required_argument, NULL, 'i' },
		{ "ip", required_argument, NULL, 'I' },
		LISTING_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	static const char *const head[] = {
		"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "PID",
	};
	const char *name = NULL, *ns = NULL, *id_prefix = NULL, *ip = NULL;
	struct cradle_sandbox_list *list = NULL;
	struct pods p = { .v = NULL };
	struct cradle_label *labels;
	struct cradle_conn *c;
	struct cradle_error err;
	struct listing show = { 0 };
	regex_t name_re, ns_re;
	int opt, state = -1, status = 0, rc;
	size_t n_labels = 0, n, i, kept = 0;
	char *text;

	/* every --label is an argument: there are fewer than argc */
	labels = calloc((size_t)argc, sizeof(*labels));
	if (!labels)
		return fail(CRADLE_STATUS_RESOURCE_EXHAUSTED, "label filter: out of memory");
	while ((opt = getopt_long(argc, argv, ":s:l:" LISTING_OPTSTRING, opts, NULL)) != -1) {
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
		case 'l':
			if ((status = add_label(labels, &n_labels, optarg)) != 0)
				goto out;
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
		case 'I':
			ip = optarg;
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

	if (show.quiet) {
		for (i = 0; i < kept; i++)
			printf("%s\n", cradle_sandbox_id(p.v[i]));
	} else if (show.json) {
		rc = cradle_sandboxes_to_json(p.v, kept, CRADLE_JSON_PRETTY, &text, &err);
		status = print_json(rc, text, &err);
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

/* inspectp and inspecti: "-o json" (JSON is the only form; crictl's
 * spelling of it is accepted) and at least one argument.  0, or the exit
 * status of a usage error. */
static int
parse_inspect_options(int argc, char **argv, const char *missing)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":o:v", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			if (!current || strcmp(current->name, "inspectp") != 0)
				return usage_error("-v is an option of inspectp only");
			inspect_verbose = true;
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0)
				return usage_error("invalid --output \"%s\": only json is "
				                   "supported",
				                   optarg);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
	if (optind >= argc)
		return usage_error("%s", missing);
	return 0;
}

/* inspectp and inspecti: print the JSON show(cli, operand, &text) makes
 * for every operand; show reports its own failure (returning the exit
 * status), and the other operands still go. */
static int
inspect_each(struct cli *cli, int argc, char **argv, const char *missing,
             int (*show)(struct cli *cli, const char *arg, char **text))
{
	int i, rc, status = parse_inspect_options(argc, argv, missing);
	char *text;

	if (status)
		return status;
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

static int
cmd_inspectp(struct cli *cli, int argc, char **argv)
{
	return inspect_each(cli, argc, argv, "missing sandbox id", show_sandbox);
}

/* --- images -------------------------------------------------------- */

/* What the daemon may call an image the user named: docker's
 * normalisation ("busybox" is "docker.io/library/busybox:latest"), so a
 * progress event for the resolved name still counts as ours. */
static void
normalize_ref(const char *in, char *out, size_t size)
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

static bool
same_ref(const char *a, const char *b)
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
	return pg->ref && proto_valid_image_ref(ref) && same_ref(ref, pg->ref);
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

static int
cmd_pull(struct cli *cli, int argc, char **argv)
{
	struct progress pg;
	struct cradle_image *img;
	struct cradle_conn *c;
	struct cradle_error err;
	struct cradle_err e;
	const char *ref, *id;
	int rc = no_options(argc, argv);

	if (rc)
		return rc;
	if (argc - optind != 1)
		return usage_error(argc == optind ? "missing image reference"
		                                  : "expected exactly one image reference");
	/* before connecting and subscribing: a bad reference is the user's */
	ref = argv[optind];
	if (cradle_check_image_ref(ref, "image reference", &e) < 0)
		return fail(e.code, "%s", e.msg);
	if (conn(cli, &c, &err) < 0)
		return report(&err);
	progress_start(&pg, cli, "pulling", ref, ref, NULL);
	rc = cradle_image_pull(c, ref, &img, &err);
	progress_stop(&pg);
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
	char *path;
	int rc;

	if ((rc = one_operand(argc, argv, "name", 'n', &name, "image archive or directory")) != 0)
		return rc;
	if (name && !proto_valid_image_ref(name))
		return usage_error("invalid --name \"%.80s\": expected an image reference "
		                   "(letters, digits, '.', '_', ':', '/', '@', '-')",
		                   name);
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
	static const struct option opts[] = {
		LISTING_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	static const char *const head[] = { "IMAGE", "TAG", "IMAGE ID", "SIZE", "PINNED" };
	struct cradle_image_list *list;
	struct images im = { .v = NULL };
	struct cradle_conn *c;
	struct cradle_error err;
	struct listing show = { 0 };
	int opt, status = 0, rc;
	size_t n, i;
	char *text;

	while ((opt = getopt_long(argc, argv, ":" LISTING_OPTSTRING, opts, NULL)) != -1) {
		if ((rc = listing_option(&show, opt, optarg)) < 0)
			return bad_option(opt, argv);
		if (rc > 0)
			return rc;
	}
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
	} else if (show.json) {
		rc = cradle_images_to_json(im.v, n, CRADLE_JSON_PRETTY, &text, &err);
		status = print_json(rc, text, &err);
	} else {
		im.no_trunc = show.no_trunc;
		print_table(head, sizeof(head) / sizeof(head[0]), n, image_row, &im);
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

static int
cmd_rmi(struct cli *cli, int argc, char **argv)
{
	struct cradle_conn *c;
	struct cradle_error err;
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
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct cradle_events *e;
	struct cradle_event ev;
	struct cradle_error err;
	bool json = false;
	unsigned long long since = 0;
	int opt, rc;
	char *text, *end;

	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 's':
			errno = 0;
			since = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    since == 0)
				return usage_error("--since: \"%s\" is not a sequence number "
				                   "(1 or more)",
				                   optarg);
			break;
		default:
			return bad_option(opt, argv);
		}
	}
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
	  "           [--id PREFIX] [--ip ADDRESS] [-q|--quiet] [--json|-o json]\n"
	  "           [--no-trunc]",
	  "list pod sandboxes, newest first" },
	{ "inspectp", cmd_inspectp, "[-v] ID...",
	  "show pod sandboxes as JSON (-v: then the step times of their last start and stop)" },
	{ "pull", cmd_pull, "REF", "pull an image from its registry, showing progress on stderr" },
	{ "images", cmd_images, "[-q|--quiet] [--json|-o json] [--no-trunc]",
	  "list images (-q: image ids only)" },
	{ "inspecti", cmd_inspecti, "REF...", "show images as JSON" },
	{ "rmi", cmd_rmi, "REF...", "remove images (refused while a sandbox uses one)" },
	{ "import", cmd_import, "[--name REF] FILE|DIR",
	  "import an OCI layout directory, OCI archive or docker-save archive" },
	{ "events", cmd_events, "[--json] [--since SEQ]",
	  "print sandbox events (created, started, exit, stopped, removed) and image\n"
	  "            progress as they happen, until interrupted; --since SEQ: the kept\n"
	  "            events from SEQ on first (each event once, in order)" },
	{ "version", cmd_version, "", "show the CLI's and the daemon's versions" },
	{ "help", cmd_help, "[COMMAND]", "show this help or a command's usage" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void
print_usage(FILE *f)
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
	        "Commands:\n",
	        CRADLE_DEFAULT_SOCKET);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun 'cradle help COMMAND' for a command's options.\n");
}

static int
cmd_help(struct cli *cli, int argc, char **argv)
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

int
main(int argc, char **argv)
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
				                   "(or 500ms, 2m)",
				                   optarg);
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

	cradle_sandbox_list_free(cli.all);
	cradle_close(cli.conn);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cradle: cannot write output: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
