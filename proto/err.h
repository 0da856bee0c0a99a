/* err.h - the error contract shared by daemon, library and tools.
 *
 * A function that can fail takes a `struct cradle_err *` last, returns 0 (or
 * a non-negative value) on success and leaves the error untouched, and on
 * failure returns a negative errno-style value and fills the error with a
 * wire code and a message that names the object and the cause:
 *   failed to create sandbox root directory "/x": Permission denied
 * cradle_err_wrap() prefixes context ("outer: inner") and keeps the code.
 *
 * Callers branch on the return value (negative: failed) and on err->code,
 * never on the text.  Out of memory is cradle_err_nomem() everywhere.  A
 * failure that is tolerated (a rollback step) is logged as a warning and
 * dropped with log_warn_drop() (util/log.h).
 */
#ifndef CRADLE_ERR_H
#define CRADLE_ERR_H

#include <stdarg.h>

/* Wire error codes (DESIGN.md, proto/PROTOCOL.md). Values are stable. */
enum cradle_code {
	CRADLE_OK = 0,
	CRADLE_INVALID_ARGUMENT = 1,
	CRADLE_NOT_FOUND = 2,
	CRADLE_ALREADY_EXISTS = 3,
	CRADLE_FAILED_PRECONDITION = 4,
	CRADLE_RESOURCE_EXHAUSTED = 5,
	CRADLE_PERMISSION_DENIED = 6,
	CRADLE_UNAVAILABLE = 7,
	CRADLE_INTERNAL = 8,
};
#define CRADLE_CODE_MAX CRADLE_INTERNAL

#define CRADLE_ERR_MSG_MAX 512

struct cradle_err {
	int code; /* enum cradle_code */
	char msg[CRADLE_ERR_MSG_MAX];
};

/* Name of a code ("INVALID_ARGUMENT"); "UNKNOWN" for values out of range. */
const char *cradle_code_name(int code);

/* Fill err (may be NULL) and return -1.  Always returns a negative value so
 * callers can `return cradle_err_set(...)`. */
int cradle_err_set(struct cradle_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As cradle_err_set, appending ": strerror(errnum)" and choosing the code
 * from errnum (cradle_code_from_errno). Returns -errnum (or -1 if 0). */
int cradle_err_errno(struct cradle_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* RESOURCE_EXHAUSTED "out of memory"; returns -ENOMEM. */
int cradle_err_nomem(struct cradle_err *err);

/* Prefix the message already in err with "<context>: ", keeping its code. */
void cradle_err_wrap(struct cradle_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One table mapping errno values to wire codes (EEXIST->ALREADY_EXISTS,
 * ENOENT->NOT_FOUND, EPERM/EACCES->PERMISSION_DENIED, ENOMEM/ENOSPC/EMFILE/
 * EAGAIN->RESOURCE_EXHAUSTED, EINVAL->INVALID_ARGUMENT, else INTERNAL). */
int cradle_code_from_errno(int errnum);

#endif
