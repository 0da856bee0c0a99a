/* log.h - the daemon's log: levels and one sink.
 *
 * Every message is one line: "<time> cradled <level>: <text>".  The
 * default sink writes it to stderr with one write(2), so lines from
 * different threads never interleave; log_set_sink replaces it (a test
 * that wants to see what was logged, or journald later).  Messages below
 * the level set with log_set_level are dropped before they are
 * formatted.  Safe from any thread; not from a signal handler.
 */
#ifndef CRADLE_UTIL_LOG_H
#define CRADLE_UTIL_LOG_H

#include "proto/err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* The sink gets the level and the whole line without its newline. */
typedef void (*log_sink_fn)(void *arg, enum log_level level, const char *line);

/* Both are meant for start-up (or a test), before other threads log. */
void log_set_level(enum log_level min);
void log_set_sink(log_sink_fn fn, void *arg); /* NULL: back to stderr */

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
