/* test_logging.c - cradled's logs (docs/OPERATIONS.md, "Logs").
 *
 *   - every request that changes state is one info line with its sandbox,
 *     pod, duration and, when it failed, the error's code and text; a read
 *     is not logged at info;
 *   - --log-format json (log_format = json): every line is a JSON object
 *     carrying the same;
 *   - --log-level warn: no info line at all;
 *   - a bad --log-level or log_format refuses to start, naming the values;
 *   - journald: with $JOURNAL_STREAM naming its stderr, cradled sends the
 *     journal's native protocol, each entry with PRIORITY=, MESSAGE=,
 *     SANDBOX_ID=, POD_NAME=, POD_NAMESPACE=.  The journal's socket has a
 *     fixed path (/run/systemd/journal/socket): the test binds it on a
 *     tmpfs over /run/systemd in a mount namespace of its own (a slave
 *     of the host's: nothing propagates back, and the host's journal is
 *     not touched).  On a host without /run/systemd the runner process
 *     makes that directory and removes it after.
 *
 * Needs root (namespaces, mounts); CI runs as root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/cradle.h"
#include "tests/integ/libinteg.h"

extern char **environ;

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* ---- the daemon's log ---- */

/* The log from byte offset on (malloc'd, NUL-terminated). */
static char *
read_log(const struct it_daemon *d, long offset)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/cradled.log", d->dir);
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	ck_assert_int_ge(size, offset);
	char *buf = malloc((size_t)(size - offset) + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
	size_t n = fread(buf, 1, (size_t)(size - offset), f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static long
log_size(const struct it_daemon *d)
{
	char path[400];
	struct stat st;
	snprintf(path, sizeof(path), "%s/cradled.log", d->dir);
	ck_assert_int_eq(stat(path, &st), 0);
	return (long)st.st_size;
}

/* Lines of text holding every string of wants (NULL ended); the first
 * such line into first (when not NULL). */
static int
count_lines(const char *text, const char *const *wants, char *first, size_t len)
{
	int n = 0;

	for (const char *p = text; *p != '\0';) {
		const char *end = strchr(p, '\n');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		char line[8192];
		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		bool all = true;
		for (size_t i = 0; all && wants[i] != NULL; i++)
			all = strstr(line, wants[i]) != NULL;
		if (all && n++ == 0 && first != NULL)
			snprintf(first, len, "%s", line);
		p += l + (end != NULL);
	}
	return n;
}

/* ---- requests ---- */

static void
run_ok(const char *name, char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	struct cradle_pod *pod = it_pod(name, NULL);
	struct cradle_error err = { 0 };
	int r = cradle_sandbox_run(D.conn, pod, NULL, id, NULL, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run %s: %s", name, err.message);
}

/* A run that fails once the id is made (an unknown runtime handler): the
 * id from the error text. */
static void
run_failing(const char *name, char id[CRADLE_SANDBOX_ID_LEN + 1], char *msg, size_t len)
{
	struct cradle_pod *pod = it_pod(name, NULL);
	struct cradle_error err = { 0 };
	char tmp[CRADLE_SANDBOX_ID_LEN + 1];
	int r = cradle_sandbox_run(D.conn, pod, "gvisor", tmp, NULL, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_int_ne(r, 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	const char *q = strchr(err.message, '"');
	ck_assert_ptr_nonnull(q);
	snprintf(id, CRADLE_SANDBOX_ID_LEN + 1, "%s", q + 1);
	ck_assert_msg(it_valid_id(id), "no id in \"%s\"", err.message);
	snprintf(msg, len, "%s", err.message);
}

static void
remove_ok(const char *id)
{
	struct cradle_error err = { 0 };
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s", err.message);
}

/* A run, a status, a failed run, a failed start and a remove. */
struct requests {
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	char fail_id[CRADLE_SANDBOX_ID_LEN + 1];
	char fail_msg[1024];
	char unknown[CRADLE_SANDBOX_ID_LEN + 1];
};

static void
make_requests(struct requests *r, const char *prefix)
{
	struct cradle_error err = { 0 };
	struct cradle_sandbox *sb = NULL;
	char name[64], fname[64];

	snprintf(name, sizeof(name), "%s-ok", prefix);
	snprintf(fname, sizeof(fname), "%s-failing", prefix);
	run_ok(name, r->id);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, r->id, &sb, &err), 0);
	cradle_sandbox_free(sb);
	run_failing(fname, r->fail_id, r->fail_msg, sizeof(r->fail_msg));
	memset(r->unknown, 'e', CRADLE_SANDBOX_ID_LEN);
	r->unknown[CRADLE_SANDBOX_ID_LEN] = '\0';
	ck_assert_int_ne(cradle_sandbox_start(D.conn, r->unknown, NULL, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	remove_ok(r->id);
}

/* ---- text ---- */

START_TEST(test_text_request_lines)
{
	struct requests r;
	char line[8192], sb[100], fsb[100], usb[100];

	unsetenv("JOURNAL_STREAM"); /* a runner under systemd: still not our stderr */
	it_start(&D, NULL);
	make_requests(&r, "text");
	char *log = read_log(&D, 0);
	snprintf(sb, sizeof(sb), "sandbox=%s", r.id);
	snprintf(fsb, sizeof(fsb), "sandbox=%s", r.fail_id);
	snprintf(usb, sizeof(usb), "sandbox=%s", r.unknown);

	const char *run[] = { " cradled info: sandbox.run ok in ", " ms", sb, "pod=default/text-ok",
		              NULL };
	ck_assert_msg(count_lines(log, run, line, sizeof(line)) == 1, "%s", log);
	ck_assert_msg(strstr(line, " ms " /* before the fields */) != NULL, "%s", line);

	char code_text[1100];
	snprintf(code_text, sizeof(code_text), "INVALID_ARGUMENT: %s", r.fail_msg);
	const char *fail[] = { " cradled info: sandbox.run failed in ", code_text, fsb,
		               "pod=default/text-failing", NULL };
	ck_assert_msg(count_lines(log, fail, NULL, 0) == 1, "%s", log);

	const char *start[] = { " cradled info: sandbox.start failed in ",
		                "NOT_FOUND: unable to find sandbox with id", usb, NULL };
	ck_assert_msg(count_lines(log, start, NULL, 0) == 1, "%s", log);

	const char *rm[] = { " cradled info: sandbox.remove ok in ", sb, "pod=default/text-ok",
		             NULL };
	ck_assert_msg(count_lines(log, rm, NULL, 0) == 1, "%s", log);

	/* one request line per request: the run and the remove of one
	 * sandbox (other lines of a request carry its fields too) */
	const char *any[] = { " cradled info: sandbox.", sb, NULL };
	const char *anyf[] = { " cradled info: sandbox.", fsb, NULL };
	ck_assert_msg(count_lines(log, any, NULL, 0) == 2, "%s", log);
	ck_assert_msg(count_lines(log, anyf, NULL, 0) == 1, "%s", log);
	/* reads are not logged at info */
	const char *status[] = { "sandbox.status", NULL }, *version[] = { "version", NULL };
	ck_assert_int_eq(count_lines(log, status, NULL, 0), 0);
	ck_assert_int_eq(count_lines(log, version, NULL, 0), 0);
	free(log);
}
END_TEST

/* ---- json ---- */

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
jeq(json_object *o, const char *key, const char *want)
{
	const char *v = jstr(o, key);
	return v != NULL && strcmp(v, want) == 0;
}

static bool
jhas(json_object *o, const char *key, const char *part)
{
	const char *v = jstr(o, key);
	return v != NULL && strstr(v, part) != NULL;
}

START_TEST(test_json_request_lines)
{
	struct requests r;
	int lines = 0, runs = 0, fails = 0, removes = 0, ready = 0;

	it_start_with(&D, NULL, "[cradled]\nlog_format = json\n");
	make_requests(&r, "json");
	char *log = read_log(&D, 0);
	for (char *save = NULL, *l = strtok_r(log, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(l);
		ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
		              "not a JSON object: %s", l);
		lines++;
		ck_assert_msg(jstr(o, "time") != NULL && jstr(o, "level") != NULL &&
		                      jstr(o, "msg") != NULL,
		              "%s", l);
		if (jhas(o, "msg", "ready: requests on "))
			ready++;
		if (jhas(o, "msg", "sandbox.run ok in ") && jhas(o, "msg", " ms") &&
		    jeq(o, "level", "info") && jeq(o, "sandbox_id", r.id) &&
		    jeq(o, "pod_name", "json-ok") && jeq(o, "pod_namespace", "default"))
			runs++;
		if (jhas(o, "msg", "sandbox.run failed in ") &&
		    jhas(o, "msg", "INVALID_ARGUMENT: unable to get OCI runtime for sandbox") &&
		    jeq(o, "level", "info") && jeq(o, "sandbox_id", r.fail_id) &&
		    jeq(o, "pod_name", "json-failing") && jeq(o, "pod_namespace", "default"))
			fails++;
		if (jhas(o, "msg", "sandbox.remove ok in ") && jeq(o, "sandbox_id", r.id))
			removes++;
		/* no context outside a request */
		if (jhas(o, "msg", "ready: "))
			ck_assert_ptr_null(jstr(o, "sandbox_id"));
		json_object_put(o);
	}
	free(log);
	ck_assert_int_gt(lines, 4);
	ck_assert_int_eq(ready, 1);
	ck_assert_int_eq(runs, 1);
	ck_assert_int_eq(fails, 1);
	ck_assert_int_eq(removes, 1);
}
END_TEST

/* ---- levels ---- */

START_TEST(test_log_level_warn)
{
	struct requests r;

	unsetenv("JOURNAL_STREAM");
	it_start(&D, NULL);
	ck_assert_int_eq(it_stop(&D), 0);
	long from = log_size(&D);
	it_restart_with_arg(&D, NULL, "--log-level=warn");
	make_requests(&r, "quiet");
	char *log = read_log(&D, from);
	const char *info[] = { " info: ", NULL }, *run[] = { "sandbox.", NULL };
	ck_assert_msg(count_lines(log, info, NULL, 0) == 0, "%s", log);
	ck_assert_msg(count_lines(log, run, NULL, 0) == 0, "%s", log);
	free(log);
	/* and the default shows them: the same requests logged before */
	ck_assert_int_eq(it_stop(&D), 0);
	from = log_size(&D);
	it_restart(&D, NULL);
	make_requests(&r, "loud");
	log = read_log(&D, from);
	ck_assert_msg(count_lines(log, run, NULL, 0) == 4, "%s", log);
	free(log);
}
END_TEST

/* A bad --log-level: exit 1, one line naming the option and the values,
 * nothing made. */
START_TEST(test_bad_log_level_refused)
{
	static const char *const args[] = { "--log-level", "verbose", NULL };
	static const char *const option[] = {
		"cradled error: --log-level: \"verbose\" is not one of debug, info, warn, error",
		NULL
	};
	it_expect_refused_args("", args, option);

	/* the keys, from the file */
	static const char *const level[] = { "cradled.conf:", "log_level",
		                             "\"loud\" is not one of debug, info, warn, error",
		                             NULL };
	it_expect_refused("[cradled]\nlog_level = loud\n", level);
	static const char *const format[] = { "cradled.conf:", "log_format",
		                              "\"xml\" is not one of text, json, journal, auto",
		                              NULL };
	it_expect_refused("[cradled]\nlog_format = xml\n", format);
}
END_TEST

/* ---- journald ---- */

#define JOURNAL_DIR "/run/systemd/journal"
#define JOURNAL_SOCKET JOURNAL_DIR "/socket"

/* Made by the runner process (unchecked fixture), where no test mounts
 * anything, when the host has none: it can remove it again. */
static bool made_systemd_dir;

static void
journal_dir_setup(void)
{
	if (mkdir("/run/systemd", 0755) == 0)
		made_systemd_dir = true;
}

static void
journal_dir_teardown(void)
{
	if (made_systemd_dir && rmdir("/run/systemd") != 0)
		fprintf(stderr, "test_logging: cannot remove /run/systemd: %s\n", strerror(errno));
}

/* One journal entry: its fields ("KEY=value", value may hold newlines). */
struct entry {
	int n;
	char key[16][64];
	char val[16][2200];
};

/* The native protocol: "KEY=value\n", or "KEY\n" + 64-bit little-endian
 * length + value + "\n" for a value with a newline. */
static bool
parse_entry(const char *buf, size_t len, struct entry *e)
{
	size_t i = 0;

	e->n = 0;
	while (i < len && e->n < 16) {
		const char *nl = memchr(buf + i, '\n', len - i);
		const char *eq = memchr(buf + i, '=', len - i);
		if (nl == NULL)
			return false;
		if (eq != NULL && eq < nl) {
			snprintf(e->key[e->n], sizeof(e->key[0]), "%.*s", (int)(eq - buf - i),
			         buf + i);
			snprintf(e->val[e->n], sizeof(e->val[0]), "%.*s", (int)(nl - eq - 1),
			         eq + 1);
			i = (size_t)(nl - buf) + 1;
		} else {
			uint64_t vlen;
			snprintf(e->key[e->n], sizeof(e->key[0]), "%.*s", (int)(nl - buf - i),
			         buf + i);
			i = (size_t)(nl - buf) + 1;
			if (len - i < 8)
				return false;
			memcpy(&vlen, buf + i, 8); /* little-endian, as x86 */
			i += 8;
			if (len - i < vlen + 1)
				return false;
			snprintf(e->val[e->n], sizeof(e->val[0]), "%.*s", (int)vlen, buf + i);
			i += vlen + 1;
		}
		e->n++;
	}
	return true;
}

static const char *
field(const struct entry *e, const char *key)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->key[i], key) == 0)
			return e->val[i];
	return NULL;
}

static bool
field_is(const struct entry *e, const char *key, const char *want)
{
	const char *v = field(e, key);
	return v != NULL && strcmp(v, want) == 0;
}

struct seen {
	int entries, ready, runs, fails, removes, with_id_outside;
	int bad_prio;
};

static void
look_at(const struct entry *e, const struct requests *r, struct seen *s)
{
	const char *msg = field(e, "MESSAGE");

	s->entries++;
	ck_assert_ptr_nonnull(msg);
	ck_assert(field_is(e, "SYSLOG_IDENTIFIER", "cradled"));
	const char *prio = field(e, "PRIORITY");
	ck_assert_ptr_nonnull(prio);
	if (strcmp(prio, "7") && strcmp(prio, "6") && strcmp(prio, "4") && strcmp(prio, "3"))
		s->bad_prio++;
	if (strstr(msg, "ready: requests on ") == msg) {
		s->ready++;
		if (field(e, "SANDBOX_ID") != NULL || field(e, "POD_NAME") != NULL)
			s->with_id_outside++;
	}
	if (strstr(msg, "sandbox.run ok in ") == msg && field_is(e, "PRIORITY", "6") &&
	    field_is(e, "SANDBOX_ID", r->id) && field_is(e, "POD_NAME", "journal-ok") &&
	    field_is(e, "POD_NAMESPACE", "default"))
		s->runs++;
	if (strstr(msg, "sandbox.run failed in ") == msg &&
	    strstr(msg, "INVALID_ARGUMENT: unable to get OCI runtime") != NULL &&
	    field_is(e, "PRIORITY", "6") && field_is(e, "SANDBOX_ID", r->fail_id) &&
	    field_is(e, "POD_NAME", "journal-failing") && field_is(e, "POD_NAMESPACE", "default"))
		s->fails++;
	if (strstr(msg, "sandbox.remove ok in ") == msg && field_is(e, "SANDBOX_ID", r->id))
		s->removes++;
}

/* The journal's reader: a sender blocks once 10 datagrams wait
 * (net.unix.max_dgram_qlen), as a service blocks on a stuck journald, so
 * a thread takes them as they come, until told to stop. */
struct reader {
	int fd;
	atomic_bool stop;
	size_t n;
	char *dgram[512];
	size_t len[512];
	pthread_t thread;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	static char buf[65536];

	while (!atomic_load(&rd->stop)) {
		struct pollfd p = { .fd = rd->fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(rd->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0 || rd->n == 512)
			continue;
		rd->dgram[rd->n] = malloc((size_t)n);
		if (rd->dgram[rd->n] == NULL)
			continue;
		memcpy(rd->dgram[rd->n], buf, (size_t)n);
		rd->len[rd->n++] = (size_t)n;
	}
	return NULL;
}

static void
reader_start(struct reader *rd, int fd)
{
	memset(rd, 0, sizeof(*rd));
	rd->fd = fd;
	ck_assert_int_eq(pthread_create(&rd->thread, NULL, reader_main, rd), 0);
}

/* Stop the reader (after ms more for what is still on its way) and look
 * at every entry it took (r NULL: count them only). */
static void
reader_stop(struct reader *rd, int ms, const struct requests *r, struct seen *s)
{
	struct entry *e = malloc(sizeof(*e));

	ck_assert_ptr_nonnull(e);
	it_sleep_ms(ms);
	atomic_store(&rd->stop, true);
	ck_assert_int_eq(pthread_join(rd->thread, NULL), 0);
	for (size_t i = 0; i < rd->n; i++) {
		ck_assert_msg(parse_entry(rd->dgram[i], rd->len[i], e), "not a journal entry: %.*s",
		              (int)rd->len[i], rd->dgram[i]);
		if (r != NULL)
			look_at(e, r, s);
		else
			s->entries++;
		free(rd->dgram[i]);
	}
	free(e);
}

START_TEST(test_journal_fields)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct requests r;
	struct seen s = { 0 };
	struct reader rd;
	char path[400], stream[64];
	struct stat st;

	/* before any thread (nng's): unshare refuses a shared fs_struct */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), 0);
	ck_assert_int_eq(mount("tmpfs", "/run/systemd", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"),
	                 0);
	ck_assert_int_eq(mkdir(JOURNAL_DIR, 0755), 0);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", JOURNAL_SOCKET);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	/* auto, no $JOURNAL_STREAM: text on stderr, nothing to the journal */
	unsetenv("JOURNAL_STREAM");
	reader_start(&rd, fd);
	it_start(&D, NULL);
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert(it_log_contains(&D, " cradled info: ready: requests on "));

	/* $JOURNAL_STREAM naming another file: still text */
	setenv("JOURNAL_STREAM", "1:1", 1);
	long from = log_size(&D);
	it_restart(&D, NULL);
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert_int_gt(log_size(&D), from);
	reader_stop(&rd, 0, NULL, &s);
	ck_assert_int_eq(s.entries, 0);

	/* naming its stderr (the log file, which spawn opens again): the
	 * journal */
	snprintf(path, sizeof(path), "%s/cradled.log", D.dir);
	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(stream, sizeof(stream), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", stream, 1);
	from = log_size(&D);
	reader_start(&rd, fd);
	it_restart(&D, NULL);
	make_requests(&r, "journal");
	reader_stop(&rd, it_ms(500), &r, &s);
	char *log = read_log(&D, from);
	ck_assert_msg(log[0] == '\0', "on stderr: %s", log);
	free(log);
	ck_assert_int_eq(s.ready, 1);
	ck_assert_int_eq(s.with_id_outside, 0);
	ck_assert_int_eq(s.runs, 1);
	ck_assert_int_eq(s.fails, 1);
	ck_assert_int_eq(s.removes, 1);
	ck_assert_int_eq(s.bad_prio, 0);
	unsetenv("JOURNAL_STREAM");
	it_cleanup(&D);
	memset(&D, 0, sizeof(D));
	close(fd);
	ck_assert_int_eq(umount2("/run/systemd", MNT_DETACH), 0);
}
END_TEST

static Suite *
logging_suite(void)
{
	Suite *s = suite_create("logging");
	TCase *tc = tcase_create("logging");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_text_request_lines);
	tcase_add_test(tc, test_json_request_lines);
	tcase_add_test(tc, test_log_level_warn);
	tcase_add_test(tc, test_bad_log_level_refused);
	suite_add_tcase(s, tc);

	TCase *tj = tcase_create("journal");
	tcase_add_unchecked_fixture(tj, journal_dir_setup, journal_dir_teardown);
	tcase_set_timeout(tj, it_secs(120));
	tcase_add_test(tj, test_journal_fields);
	suite_add_tcase(s, tj);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_logging: needs root (namespaces, mounts); CI runs as root\n");
		return 1;
	}
	return it_run_suite(logging_suite());
}
