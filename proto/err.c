/* err.c - the error contract of err.h.
 *
 * Messages live in a fixed buffer inside struct cradle_err, so nothing here
 * allocates and every helper is safe to call with err == NULL (the caller
 * only wants the return value).  A message that does not fit is cut at a
 * UTF-8 character boundary: error messages go on the wire as msgpack strings
 * and the peer's decoder insists on valid UTF-8.
 */
#include "proto/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[] = {
	[CRADLE_OK] = "OK",
	[CRADLE_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[CRADLE_NOT_FOUND] = "NOT_FOUND",
	[CRADLE_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[CRADLE_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[CRADLE_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[CRADLE_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[CRADLE_UNAVAILABLE] = "UNAVAILABLE",
	[CRADLE_INTERNAL] = "INTERNAL",
};

const char *
cradle_code_name(int code)
{
	if (code < 0 || code > CRADLE_CODE_MAX)
		return "UNKNOWN";
	return code_names[code];
}

int
cradle_code_from_errno(int errnum)
{
	if (errnum < 0)
		errnum = -errnum;
	switch (errnum) {
	case EEXIST:
		return CRADLE_ALREADY_EXISTS;
	case ENOENT:
		return CRADLE_NOT_FOUND;
	case EPERM:
	case EACCES:
		return CRADLE_PERMISSION_DENIED;
	case ENOMEM:
	case ENOSPC:
	case EMFILE:
	case ENFILE:
	case EDQUOT:
	case EAGAIN:
		return CRADLE_RESOURCE_EXHAUSTED;
	case EINVAL:
		return CRADLE_INVALID_ARGUMENT;
	default:
		return CRADLE_INTERNAL;
	}
}

/* Cut s (NUL-terminated, len bytes) back so it does not end inside a
 * multi-byte UTF-8 sequence. */
static void
trim_partial_utf8(char *s, size_t len)
{
	size_t i = len, need;
	unsigned char c;

	/* step back over at most 3 continuation bytes to the lead byte */
	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (i == len && ((unsigned char)s[len - 1] & 0x80) == 0))
		return;
	c = (unsigned char)s[i - 1];
	if ((c & 0xe0) == 0xc0)
		need = 2;
	else if ((c & 0xf0) == 0xe0)
		need = 3;
	else if ((c & 0xf8) == 0xf0)
		need = 4;
	else
		return; /* ASCII or stray byte: not ours to judge */
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

/* vsnprintf into dst, cutting cleanly when the text is too long. */
static void
format_into(char *dst, size_t size, const char *fmt, va_list ap)
{
	int n;

	n = vsnprintf(dst, size, fmt ? fmt : "", ap);
	if (n < 0) {
		dst[0] = '\0';
		return;
	}
	if ((size_t)n >= size)
		trim_partial_utf8(dst, size - 1);
}

int
cradle_err_set(struct cradle_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	format_into(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
cradle_err_errno(struct cradle_err *err, int errnum, const char *fmt, ...)
{
	char ebuf[128];
	const char *es;
	va_list ap;
	size_t len;

	/* Callers often hold a negative return value; treat -E like E so the
	 * result is negative either way. */
	if (errnum < 0)
		errnum = -errnum;
	if (err) {
		err->code = errnum ? cradle_code_from_errno(errnum) : CRADLE_INTERNAL;
		va_start(ap, fmt);
		format_into(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (errnum) {
			es = strerror_r(errnum, ebuf, sizeof(ebuf));
			len = strlen(err->msg);
			snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", es);
			len += strlen(err->msg + len);
			if (len == sizeof(err->msg) - 1)
				trim_partial_utf8(err->msg, len);
		}
	}
	return errnum ? -errnum : -1;
}

int
cradle_err_nomem(struct cradle_err *err)
{
	cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
	return -ENOMEM;
}

void
cradle_err_wrap(struct cradle_err *err, const char *fmt, ...)
{
	char inner[CRADLE_ERR_MSG_MAX];
	va_list ap;
	size_t len;

	if (!err)
		return;
	/* the old message may be about to be overwritten by our own output */
	memcpy(inner, err->msg, sizeof(inner));
	inner[sizeof(inner) - 1] = '\0';
	va_start(ap, fmt);
	format_into(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (inner[0] == '\0')
		return;
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", inner);
	len += strlen(err->msg + len);
	if (len == sizeof(err->msg) - 1)
		trim_partial_utf8(err->msg, len);
}
