/* log.h - the daemon's log: one line per message on stderr, with the time
 * and the level.  Safe from any thread (one write(2) per line). */
#ifndef CRADLE_LOG_H
#define CRADLE_LOG_H

void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

#endif
