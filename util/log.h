/* log.h - the daemon's log: levels, a per-thread context, three outputs.
 *
 * A message is a level, a time, a text and the calling thread's context
 * (struct log_ctx: the sandbox and pod a worker is handling, set around
 * one request).  Where it goes:
 *   - text (the default): one line on stderr,
 *       "<time> cradled <level>: <text>[ sandbox=<id>][ pod=<ns>/<name>]"
 *     each field only when the context has it;
 *   - json: one object per line on stderr, {"time", "level", "msg",
 *     "sandbox_id", "pod_name", "pod_namespace"} (the last three only when
 *     set), escaped by json-c;
 *   - a record sink (log_set_record_sink): gets the parts, e.g. the
 *     journald sink of server/journal.c.
 * A line sink (log_set_sink) takes the place of stderr for text and json:
 * it gets the line without its newline (tests see what was logged).
 * Each line is written with one write(2), so lines of different threads
 * never interleave.  Messages below the level are dropped before they are
 * formatted.
 *
 * Threads: log_msg and the context functions are safe from any thread;
 * not from a signal handler.  log_set_level is safe at any time from any
 * thread (an atomic: a reload may change it while workers log).  The
 * format and the sinks are set at start-up (or in a test), before other
 * threads log.
 */
#ifndef CRADLE_UTIL_LOG_H
#define CRADLE_UTIL_LOG_H

#include <stdbool.h>
#include <time.h>

#include "proto/err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* The calling thread's context: "" where not set.  Sizes fit a sandbox id
 * (64 hex) and a DNS-1123 label (63); longer values are cut. */
struct log_ctx {
	char sandbox_id[65];
	char pod_name[64];
	char pod_namespace[64];
};

/* Each non-NULL argument replaces that field of the calling thread's
 * context; NULL leaves it as it is. */
void log_ctx_set(const char *sandbox_id, const char *pod_namespace, const char *pod_name);
void log_ctx_clear(void);                /* every field "" */
const struct log_ctx *log_ctx_get(void); /* the calling thread's */

/* One message, as a record sink gets it. */
struct log_record {
	enum log_level level;
	struct timespec time; /* CLOCK_REALTIME */
	const char *msg;      /* the text alone, no time, level or fields */
	const struct log_ctx *ctx;
};

/* The sink gets the level and the whole line without its newline. */
typedef void (*log_sink_fn)(void *arg, enum log_level level, const char *line);
typedef void (*log_record_fn)(void *arg, const struct log_record *rec);

void log_set_level(enum log_level min); /* any thread, any time */
enum log_level log_get_level(void);
void log_set_format(enum log_format fmt);
void log_set_sink(log_sink_fn fn, void *arg);          /* NULL: back to stderr */
void log_set_record_sink(log_record_fn fn, void *arg); /* NULL: text or json */

/* Names as the configuration spells them: "debug", "info", "warn",
 * "error"; "text", "json".  False for any other name. */
bool log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
bool log_format_parse(const char *name, enum log_format *out);

/* The line text and json write for rec, without its newline, into buf
 * (cut to fit; always terminated).  For a record sink that falls back to
 * stderr. */
void log_format_line(enum log_format fmt, const struct log_record *rec, char *buf, size_t len);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* A failure that is tolerated (a rollback step, a clean-up that can be
 * retried later): log "<context>: <err->msg>" as a warning and drop the
 * error (err is cleared to OK).  err may be NULL or already OK, in which
 * case nothing is logged. */
void log_warn_drop(struct cradle_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
