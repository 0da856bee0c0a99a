/* test_log.c - the daemon's log (util/log.c): the text and json lines, the
 * per-thread context, levels (also changed from another thread), the
 * stderr output and the record sink.  Check forks per test, so each test
 * sets the sinks it wants.
 */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/lib/unit.h"
#include "util/log.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* What the line sink saw. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[16][4200];
static enum log_level seen_level[16];
static int n_seen;

static void
line_sink(void *arg, enum log_level level, const char *line)
{
	(void)arg;
	pthread_mutex_lock(&seen_lock);
	if (n_seen < 16) {
		snprintf(seen[n_seen], sizeof(seen[0]), "%s", line);
		seen_level[n_seen] = level;
	}
	n_seen++;
	pthread_mutex_unlock(&seen_lock);
}

static void
capture(enum log_format fmt)
{
	n_seen = 0;
	log_set_format(fmt);
	log_set_sink(line_sink, NULL);
	log_set_level(LOG_INFO);
	log_ctx_clear();
}

/* The line after "<time> cradled " */
static const char *
after_time(const char *line)
{
	const char *p = strstr(line, " cradled ");
	ck_assert_msg(p != NULL, "no \" cradled \" in \"%s\"", line);
	/* 2026-12-05T17:34:19.123Z */
	ck_assert_int_eq((int)(p - line), 24);
	ck_assert_int_eq(line[10], 'T');
	ck_assert_int_eq(line[23], 'Z');
	return p + strlen(" cradled ");
}

START_TEST(test_text_line)
{
	capture(LOG_FORMAT_TEXT);
	log_info("hello %d", 42);
	log_ctx_set(ID, NULL, NULL);
	log_warn("with id");
	log_ctx_set(NULL, "kube-system", "coredns");
	log_error("with pod");
	log_ctx_clear();
	log_info("cleared");
	ck_assert_int_eq(n_seen, 4);
	ck_assert_str_eq(after_time(seen[0]), "info: hello 42");
	ck_assert_str_eq(after_time(seen[1]), "warn: with id sandbox=" ID);
	ck_assert_str_eq(after_time(seen[2]),
	                 "error: with pod sandbox=" ID " pod=kube-system/coredns");
	ck_assert_str_eq(after_time(seen[3]), "info: cleared");
	ck_assert_int_eq(seen_level[0], LOG_INFO);
	ck_assert_int_eq(seen_level[1], LOG_WARN);
	ck_assert_int_eq(seen_level[2], LOG_ERROR);
}
END_TEST

static json_object *
parse_line(const char *line)
{
	ck_assert_msg(strchr(line, '\n') == NULL, "newline inside \"%s\"", line);
	json_object *o = json_tokener_parse(line);
	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	              "not a JSON object: %s", line);
	return o;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	ck_assert(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

START_TEST(test_json_line)
{
	capture(LOG_FORMAT_JSON);
	log_info("plain");
	log_ctx_set(ID, "default", "web-1");
	log_warn("quote \" backslash \\ newline \n tab \t end");
	ck_assert_int_eq(n_seen, 2);

	json_object *o = parse_line(seen[0]);
	ck_assert_str_eq(jstr(o, "level"), "info");
	ck_assert_str_eq(jstr(o, "msg"), "plain");
	ck_assert_int_eq((int)strlen(jstr(o, "time")), 24);
	ck_assert_ptr_null(jstr(o, "sandbox_id"));
	ck_assert_ptr_null(jstr(o, "pod_name"));
	ck_assert_ptr_null(jstr(o, "pod_namespace"));
	json_object_put(o);

	o = parse_line(seen[1]);
	ck_assert_str_eq(jstr(o, "level"), "warn");
	ck_assert_str_eq(jstr(o, "msg"), "quote \" backslash \\ newline \n tab \t end");
	ck_assert_str_eq(jstr(o, "sandbox_id"), ID);
	ck_assert_str_eq(jstr(o, "pod_name"), "web-1");
	ck_assert_str_eq(jstr(o, "pod_namespace"), "default");
	json_object_put(o);
}
END_TEST

/* A message that escapes to more than a line is cut, and stays JSON. */
START_TEST(test_json_long)
{
	char msg[2000];

	memset(msg, '\001', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	capture(LOG_FORMAT_JSON);
	log_info("%s", msg);
	ck_assert_int_eq(n_seen, 1);
	json_object *o = parse_line(seen[0]);
	const char *m = jstr(o, "msg");
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_lt(strlen(m), sizeof(msg) - 1);
	ck_assert(strncmp(m, "\001\001\001", 3) == 0);
	ck_assert_str_eq(m + strlen(m) - 3, "...");
	json_object_put(o);
}
END_TEST

/* Each thread has its own context: one thread's fields never show in
 * another's lines. */
static void *
other_thread(void *arg)
{
	(void)arg;
	log_info("other, unset");
	log_ctx_set("ffff", "ns2", "pod2");
	log_info("other, set");
	return NULL;
}

START_TEST(test_ctx_per_thread)
{
	pthread_t t;

	capture(LOG_FORMAT_TEXT);
	log_ctx_set(ID, "ns1", "pod1");
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	log_info("main");
	ck_assert_int_eq(n_seen, 3);
	ck_assert_str_eq(after_time(seen[0]), "info: other, unset");
	ck_assert_str_eq(after_time(seen[1]), "info: other, set sandbox=ffff pod=ns2/pod2");
	ck_assert_str_eq(after_time(seen[2]), "info: main sandbox=" ID " pod=ns1/pod1");
	ck_assert_str_eq(log_ctx_get()->pod_name, "pod1");
}
END_TEST

START_TEST(test_levels)
{
	struct cradle_err err = { 0 };

	capture(LOG_FORMAT_TEXT);
	log_debug("dropped");
	log_info("kept 1");
	log_set_level(LOG_WARN);
	ck_assert_int_eq(log_get_level(), LOG_WARN);
	log_info("dropped");
	log_warn("kept 2");
	cradle_err_set(&err, CRADLE_INTERNAL, "the cause");
	log_warn_drop(&err, "rollback of %s", "x");
	ck_assert_int_eq(err.code, CRADLE_OK);
	log_warn_drop(&err, "nothing to drop");
	log_set_level(LOG_ERROR);
	log_warn("dropped");
	log_error("kept 3");
	log_set_level(LOG_DEBUG);
	log_debug("kept 4");
	ck_assert_int_eq(n_seen, 5);
	ck_assert_str_eq(after_time(seen[0]), "info: kept 1");
	ck_assert_str_eq(after_time(seen[1]), "warn: kept 2");
	ck_assert_str_eq(after_time(seen[2]), "warn: rollback of x: the cause");
	ck_assert_str_eq(after_time(seen[3]), "error: kept 3");
	ck_assert_str_eq(after_time(seen[4]), "debug: kept 4");
}
END_TEST

/* A reload changes the level from another thread while workers log (TSan
 * checks the access; the lines show the change took). */
static atomic_int logging_done;

static void *
logger_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++)
		log_debug("spin %d", i);
	atomic_store(&logging_done, 1);
	return NULL;
}

static void *
setter_thread(void *arg)
{
	log_set_level(*(enum log_level *)arg);
	return NULL;
}

START_TEST(test_level_from_thread)
{
	pthread_t logger, setter;
	enum log_level want = LOG_ERROR;

	capture(LOG_FORMAT_TEXT);
	ck_assert_int_eq(pthread_create(&logger, NULL, logger_thread, NULL), 0);
	ck_assert_int_eq(pthread_create(&setter, NULL, setter_thread, &want), 0);
	ck_assert_int_eq(pthread_join(setter, NULL), 0);
	ck_assert_int_eq(pthread_join(logger, NULL), 0);
	ck_assert_int_eq(n_seen, 0); /* debug never passed info nor error */
	ck_assert_int_eq(log_get_level(), LOG_ERROR);
	log_warn("dropped");
	ck_assert_int_eq(n_seen, 0);
	want = LOG_DEBUG;
	ck_assert_int_eq(pthread_create(&setter, NULL, setter_thread, &want), 0);
	ck_assert_int_eq(pthread_join(setter, NULL), 0);
	log_debug("now kept");
	ck_assert_int_eq(n_seen, 1);
	ck_assert_str_eq(after_time(seen[0]), "debug: now kept");
}
END_TEST

/* Without a sink: one whole line per message on stderr. */
START_TEST(test_stderr)
{
	char path[PATH_MAX];

	unit_scratch_setup();
	unit_path(path, sizeof(path), "stderr");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	int saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_set_sink(NULL, NULL);
	log_set_format(LOG_FORMAT_TEXT);
	log_ctx_set(NULL, "ns", "p");
	log_info("one");
	log_set_format(LOG_FORMAT_JSON);
	log_info("two");
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);

	size_t len;
	char *text = unit_slurp_ok(path, &len);
	char *nl = strchr(text, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	ck_assert_str_eq(after_time(text), "info: one pod=ns/p");
	char *second = nl + 1;
	nl = strchr(second, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_str_eq(nl + 1, "");
	*nl = '\0';
	json_object *o = parse_line(second);
	ck_assert_str_eq(jstr(o, "msg"), "two");
	ck_assert_str_eq(jstr(o, "pod_namespace"), "ns");
	json_object_put(o);
	free(text);
	unit_scratch_teardown();
}
END_TEST

/* A record sink (journald's) gets the parts, and takes the place of the
 * line output until it is unset. */
static struct {
	int n;
	enum log_level level;
	char msg[256], id[80], pod[140];
	long sec;
} rec_seen;

static void
record_sink(void *arg, const struct log_record *r)
{
	(void)arg;
	rec_seen.n++;
	rec_seen.level = r->level;
	rec_seen.sec = (long)r->time.tv_sec;
	snprintf(rec_seen.msg, sizeof(rec_seen.msg), "%s", r->msg);
	snprintf(rec_seen.id, sizeof(rec_seen.id), "%s", r->ctx->sandbox_id);
	snprintf(rec_seen.pod, sizeof(rec_seen.pod), "%s/%s", r->ctx->pod_namespace,
	         r->ctx->pod_name);
}

START_TEST(test_record_sink)
{
	capture(LOG_FORMAT_TEXT);
	log_set_record_sink(record_sink, NULL);
	log_ctx_set(ID, "ns", "name");
	log_warn("to the %s", "record");
	log_debug("dropped before the sink");
	ck_assert_int_eq(rec_seen.n, 1);
	ck_assert_int_eq(n_seen, 0);
	ck_assert_int_eq(rec_seen.level, LOG_WARN);
	ck_assert_str_eq(rec_seen.msg, "to the record");
	ck_assert_str_eq(rec_seen.id, ID);
	ck_assert_str_eq(rec_seen.pod, "ns/name");
	ck_assert_int_gt(rec_seen.sec, 1700000000);
	log_set_record_sink(NULL, NULL);
	log_info("back to lines");
	ck_assert_int_eq(rec_seen.n, 1);
	ck_assert_int_eq(n_seen, 1);
}
END_TEST

START_TEST(test_parse)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	enum log_level l;
	enum log_format f;

	for (int i = 0; i < 4; i++) {
		ck_assert(log_level_parse(levels[i], &l));
		ck_assert_int_eq(l, i);
		ck_assert_str_eq(log_level_name(l), levels[i]);
	}
	ck_assert(!log_level_parse("warning", &l));
	ck_assert(!log_level_parse("INFO", &l));
	ck_assert(!log_level_parse("", &l));
	ck_assert(log_format_parse("text", &f) && f == LOG_FORMAT_TEXT);
	ck_assert(log_format_parse("json", &f) && f == LOG_FORMAT_JSON);
	ck_assert(!log_format_parse("journal", &f)); /* the server's */
	/* a context value longer than its field is cut, not overrun */
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	log_ctx_set(longname, longname, longname);
	ck_assert_uint_eq(strlen(log_ctx_get()->sandbox_id), 64);
	ck_assert_uint_eq(strlen(log_ctx_get()->pod_name), 63);
	ck_assert_uint_eq(strlen(log_ctx_get()->pod_namespace), 63);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_text_line);
	tcase_add_test(tc, test_json_line);
	tcase_add_test(tc, test_json_long);
	tcase_add_test(tc, test_ctx_per_thread);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_level_from_thread);
	tcase_add_test(tc, test_stderr);
	tcase_add_test(tc, test_record_sink);
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(log_suite(), "test_log", 0);
}
