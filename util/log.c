/* log.c - the daemon's log (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };

/* Set at start-up, read by every thread: relaxed is enough, a message
 * filtered by a level a few nanoseconds old is not an error. */
static atomic_int min_level = LOG_INFO;
static log_sink_fn sink_fn;
static void *sink_arg;

void
log_set_level(enum log_level min)
{
	atomic_store_explicit(&min_level, (int)min, memory_order_relaxed);
}

void
log_set_sink(log_sink_fn fn, void *arg)
{
	sink_fn = fn;
	sink_arg = arg;
}

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap, const char *suffix)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;

	if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	                      ".%03ldZ cradled %s: ", ts.tv_nsec / 1000000, level_names[level]);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (suffix != NULL) {
		n = strlen(buf);
		snprintf(buf + n, sizeof(buf) - n, ": %s", suffix);
	}
	if (sink_fn != NULL) {
		sink_fn(sink_arg, level, buf);
		return;
	}
	n = strlen(buf);
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	if (write(STDERR_FILENO, buf, n) < 0)
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
