/* log.c - the daemon's log (see log.h). */
#include "util/log.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const format_names[] = { "text", "json" };

/* Read by every thread, changed by any (a reload): relaxed is enough, a
 * message filtered by a level a few nanoseconds old is not an error. */
static atomic_int min_level = LOG_INFO;
/* Set at start-up, before other threads log. */
static enum log_format format = LOG_FORMAT_TEXT;
static log_sink_fn sink_fn;
static void *sink_arg;
static log_record_fn record_fn;
static void *record_arg;

static __thread struct log_ctx ctx;

void
log_ctx_set(const char *sandbox_id, const char *pod_namespace, const char *pod_name)
{
	if (sandbox_id != NULL)
		snprintf(ctx.sandbox_id, sizeof(ctx.sandbox_id), "%s", sandbox_id);
	if (pod_namespace != NULL)
		snprintf(ctx.pod_namespace, sizeof(ctx.pod_namespace), "%s", pod_namespace);
	if (pod_name != NULL)
		snprintf(ctx.pod_name, sizeof(ctx.pod_name), "%s", pod_name);
}

void
log_ctx_clear(void)
{
	ctx.sandbox_id[0] = '\0';
	ctx.pod_name[0] = '\0';
	ctx.pod_namespace[0] = '\0';
}

const struct log_ctx *
log_ctx_get(void)
{
	return &ctx;
}

void
log_set_level(enum log_level min)
{
	atomic_store_explicit(&min_level, (int)min, memory_order_relaxed);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&min_level, memory_order_relaxed);
}

void
log_set_format(enum log_format fmt)
{
	format = fmt;
}

void
log_set_sink(log_sink_fn fn, void *arg)
{
	sink_fn = fn;
	sink_arg = arg;
}

void
log_set_record_sink(log_record_fn fn, void *arg)
{
	record_fn = fn;
	record_arg = arg;
}

bool
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	return false;
}

const char *
log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

bool
log_format_parse(const char *name, enum log_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum log_format)i;
			return true;
		}
	return false;
}

/* "2026-12-05T17:34:19.123Z" */
static void
format_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000);
}

static void
format_text(const struct log_record *rec, const char *time, char *buf, size_t len)
{
	const struct log_ctx *c = rec->ctx;
	int n = snprintf(buf, len, "%s cradled %s: %s", time, log_level_name(rec->level), rec->msg);

	if (n >= 0 && (size_t)n < len && c->sandbox_id[0] != '\0')
		n += snprintf(buf + n, len - (size_t)n, " sandbox=%s", c->sandbox_id);
	if (n >= 0 && (size_t)n < len && (c->pod_name[0] != '\0' || c->pod_namespace[0] != '\0'))
		snprintf(buf + n, len - (size_t)n, " pod=%s/%s", c->pod_namespace, c->pod_name);
}

/* One object into buf; false when out of memory or it does not fit. */
static bool
json_line(const struct log_record *rec, const char *time, char *buf, size_t len)
{
	const struct log_ctx *c = rec->ctx;
	json_object *o = json_object_new_object();
	const struct {
		const char *key, *v;
	} kv[] = {
		{ "time", time },
		{ "level", log_level_name(rec->level) },
		{ "msg", rec->msg },
		{ "sandbox_id", c->sandbox_id },
		{ "pod_name", c->pod_name },
		{ "pod_namespace", c->pod_namespace },
	};
	bool ok = o != NULL;

	for (size_t i = 0; ok && i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (i >= 3 && kv[i].v[0] == '\0')
			continue; /* context fields only when set */
		json_object *s = json_object_new_string(kv[i].v);
		ok = s != NULL && json_object_object_add(o, kv[i].key, s) == 0;
		if (!ok)
			json_object_put(s);
	}
	const char *str = NULL;
	if (ok)
		str = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		                                                JSON_C_TO_STRING_NOSLASHESCAPE);
	ok = str != NULL && strlen(str) < len;
	if (ok)
		memcpy(buf, str, strlen(str) + 1);
	json_object_put(o);
	return ok;
}

/* json-c escapes.  A message that escapes to more than a line is cut (an
 * escape is 6 bytes at most: an eighth of the line always fits); out of
 * memory falls back to the text line. */
static void
format_json(const struct log_record *rec, const char *time, char *buf, size_t len)
{
	char cut[600];
	struct log_record r = *rec;

	if (json_line(rec, time, buf, len))
		return;
	snprintf(cut, sizeof(cut), "%.*s...", (int)(len / 8 < 512 ? len / 8 : 512), rec->msg);
	r.msg = cut;
	if (!json_line(&r, time, buf, len))
		format_text(rec, time, buf, len);
}

void
log_format_line(enum log_format fmt, const struct log_record *rec, char *buf, size_t len)
{
	char time[40];

	format_time(&rec->time, time, sizeof(time));
	if (fmt == LOG_FORMAT_JSON)
		format_json(rec, time, buf, len);
	else
		format_text(rec, time, buf, len);
}

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap, const char *suffix)
{
	char msg[2048], line[4096];
	struct log_record rec = { .level = level, .msg = msg, .ctx = &ctx };

	if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &rec.time);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);
	}
	if (record_fn != NULL) {
		record_fn(record_arg, &rec);
		return;
	}
	log_format_line(format, &rec, line, sizeof(line) - 1);
	if (sink_fn != NULL) {
		sink_fn(sink_arg, level, line);
		return;
	}
	size_t n = strlen(line);
	line[n++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap, NULL);
	va_end(ap);
}

void
log_warn_drop(struct cradle_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code == CRADLE_OK)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_WARN, fmt, ap, err->msg);
	va_end(ap);
	err->code = CRADLE_OK;
	err->msg[0] = '\0';
}
