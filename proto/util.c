/* util.c - field paths, error messages and the small validators of proto.h.
 *
 * Peer input that ends up inside an error message is quoted, escaped and
 * shortened (proto_quote): the message travels back to the peer as a
 * msgpack string that must be valid UTF-8, and to logs that must not
 * receive control characters.
 */
#include "proto/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/internal.h"

/* Bytes of peer input shown in a quoted excerpt. */
#define QUOTE_SHOW 48

void
ppath_init(struct ppath *p, const char *prefix)
{
	p->len = 0;
	p->s[0] = '\0';
	if (prefix && prefix[0])
		ppath_push(p, prefix);
}

/* Append text; on overflow end the path with "..." and keep len at the
 * buffer's end so later pushes are no-ops while pops still work. */
static void
ppath_append(struct ppath *p, const char *text, size_t n)
{
	size_t room = sizeof(p->s) - 1 - p->len;

	if (p->len >= sizeof(p->s) - 1)
		return;
	if (n > room) {
		memcpy(p->s + p->len, text, room);
		p->len = sizeof(p->s) - 1;
		memcpy(p->s + p->len - 3, "...", 3);
		p->s[p->len] = '\0';
		return;
	}
	memcpy(p->s + p->len, text, n);
	p->len += n;
	p->s[p->len] = '\0';
}

/* ".key", or "key" at the top. */
static void
ppath_append_member(struct ppath *p, const char *key, size_t n)
{
	if (p->len)
		ppath_append(p, ".", 1);
	ppath_append(p, key, n);
}

size_t
ppath_push(struct ppath *p, const char *key)
{
	size_t old = p->len;

	ppath_append_member(p, key, strlen(key));
	return old;
}

size_t
ppath_push_index(struct ppath *p, size_t i)
{
	size_t old = p->len;
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "[%zu]", i);
	ppath_append(p, buf, (size_t)n);
	return old;
}

size_t
proto_word_span(const char *s, size_t n, const char *extra)
{
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			break;
	}
	return i;
}

size_t
ppath_push_key(struct ppath *p, const char *key, size_t len)
{
	size_t old = p->len;
	char q[QUOTE_MAX];

	if (len > 0 && len <= 64 && proto_word_span(key, len, "_-") == len) {
		ppath_append_member(p, key, len);
		return old;
	}
	proto_quote(q, key, len);
	ppath_append(p, "[", 1);
	ppath_append(p, q, strlen(q));
	ppath_append(p, "]", 1);
	return old;
}

void
ppath_pop(struct ppath *p, size_t len)
{
	if (len < sizeof(p->s)) {
		p->len = len;
		p->s[len] = '\0';
	}
}

int
proto_vfail(struct cradle_err *err, const struct ppath *p, const char *fmt, va_list ap)
{
	char what[CRADLE_ERR_MSG_MAX];

	if (!err)
		return -EINVAL;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (p && p->len)
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: %s", p->s, what);
	else
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s", what);
	return -EINVAL;
}

int
proto_fail(struct cradle_err *err, const struct ppath *p, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = proto_vfail(err, p, fmt, ap);
	va_end(ap);
	return rc;
}

void
proto_quote(char out[QUOTE_MAX], const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, show = len < QUOTE_SHOW ? len : QUOTE_SHOW;

	out[o++] = '"';
	for (i = 0; i < show; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o++] = '"';
	if (show < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int
proto_check_text(const char *s, size_t len, const struct ppath *p, struct cradle_err *err)
{
	if (len && memchr(s, '\0', len))
		return proto_fail(err, p, "contains a NUL byte");
	if (!proto_valid_utf8(s, len))
		return proto_fail(err, p, "invalid UTF-8");
	return 0;
}

int
proto_check_key(const char *s, size_t len, const struct ppath *p, struct cradle_err *err)
{
	if (len == 0)
		return proto_fail(err, p, "keys must not be empty");
	if (memchr(s, '\0', len))
		return proto_fail(err, p, "key contains a NUL byte");
	if (!proto_valid_utf8(s, len))
		return proto_fail(err, p, "key is not valid UTF-8");
	return 0;
}

int
proto_check_count(size_t n, size_t max, const struct ppath *p, struct cradle_err *err)
{
	if (n > max)
		return proto_fail(err, p, "%zu entries exceed the limit of %zu", n, max);
	return 0;
}

int
proto_check_ns_mode(long long v, const struct ppath *p, struct cradle_err *err)
{
	if (v < NS_POD || v > NS_TARGET)
		return proto_fail(err, p,
		                  "%lld is out of range (POD=0, CONTAINER=1, NODE=2, TARGET=3)", v);
	return 0;
}

bool
proto_valid_id(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < CRADLE_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[CRADLE_ID_LEN] == '\0';
}

static bool
dns_label_n(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (c != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

bool
proto_valid_dns_label(const char *s)
{
	return s && dns_label_n(s, strnlen(s, 64));
}

bool
proto_valid_dns_subdomain(const char *s)
{
	const char *dot;
	size_t len;

	if (!s)
		return false;
	len = strnlen(s, 254);
	if (len < 1 || len > 253)
		return false;
	for (;;) {
		dot = memchr(s, '.', len);
		if (!dot)
			return dns_label_n(s, len);
		if (!dns_label_n(s, (size_t)(dot - s)))
			return false;
		len -= (size_t)(dot - s) + 1;
		s = dot + 1;
	}
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF.  NUL is valid UTF-8; callers that forbid it check separately. */
bool
proto_valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned char c, lo, hi;

	if (!s)
		return len == 0;
	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		}
		i += n + 1;
	}
	return true;
}

static const char *const state_names[] = {
	[STATE_READY] = "SANDBOX_READY",
	[STATE_NOTREADY] = "SANDBOX_NOTREADY",
};

static const char *const phase_names[] = {
	[PHASE_CREATED] = "created",
	[PHASE_RUNNING] = "running",
	[PHASE_EXITED] = "exited",
};

/* clang-format off */
static const char *const op_names[OP__COUNT] = {
	[OP_VERSION] = "version",
	[OP_CREATE] = "sandbox.create",
	[OP_START] = "sandbox.start",
	[OP_RUN] = "sandbox.run",
	[OP_STOP] = "sandbox.stop",
	[OP_REMOVE] = "sandbox.remove",
	[OP_STATUS] = "sandbox.status",
	[OP_LIST] = "sandbox.list",
	[OP_IMAGE_PULL] = "image.pull",
	[OP_IMAGE_LIST] = "image.list",
	[OP_IMAGE_STATUS] = "image.status",
	[OP_IMAGE_REMOVE] = "image.remove",
	[OP_IMAGE_IMPORT] = "image.import",
	[OP_DAEMON_STATS] = "daemon.stats",
	[OP_EVENTS_SINCE] = "events.since",
	[OP_DAEMON_INFO] = "daemon.info",
};
/* clang-format on */

/* Docker reference characters; the daemon parses the structure. */
bool
proto_valid_image_ref(const char *s)
{
	size_t n = s ? strnlen(s, PROTO_MAX_REF + 1) : 0;

	return n >= 1 && n <= PROTO_MAX_REF && proto_word_span(s, n, "._:/@-") == n;
}

/* --- registry credentials (image.pull's "auth") --- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(unsigned char c)
{
	const char *at = c ? strchr(b64_chars, c) : NULL;

	return at ? (int)(at - b64_chars) : -1;
}

/* The user and password checks both directions share; never quotes them. */
static int
auth_check_parts(const char *what, const char *s, size_t n, struct cradle_err *err)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon ? (size_t)(colon - s) : n;
	size_t plen = colon ? n - ulen - 1 : 0;

	if (ulen == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: the user name is empty",
		                      what);
	if (ulen > PROTO_AUTH_USER_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: user name of %zu bytes exceeds %d", what, ulen,
		                      PROTO_AUTH_USER_MAX);
	if (plen > PROTO_AUTH_PASS_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: password of %zu bytes exceeds %d", what, plen,
		                      PROTO_AUTH_PASS_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: the %s contains a control character", what,
			                      i < ulen ? "user name" : "password");
	if (!proto_valid_utf8(s, n))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: not valid UTF-8", what);
	return 0;
}

int
proto_auth_decode(const char *auth, char user[PROTO_AUTH_USER_MAX + 1],
                  char pass[PROTO_AUTH_PASS_MAX + 1], struct cradle_err *err)
{
	char buf[PROTO_MAX_AUTH / 4 * 3 + 1];
	size_t n = auth ? strnlen(auth, PROTO_MAX_AUTH + 1) : 0, o = 0;
	const char *colon;
	int rc = 0;

	user[0] = pass[0] = '\0';
	if (n == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "auth: must not be empty");
	if (n > PROTO_MAX_AUTH)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "auth: more than %d bytes",
		                      PROTO_MAX_AUTH);
	if (n % 4)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "auth: not base64 (%zu bytes, not a multiple of 4)", n);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)auth[i + j];

			if (c == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad || (v[j] = b64_value(c)) < 0)
				return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				                      "auth: not base64 (byte %zu)", i + j + 1);
		}
		buf[o++] = (char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			buf[o++] = (char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			buf[o++] = (char)((v[2] & 0x3) << 6 | v[3]);
	}
	if (memchr(buf, '\0', o))
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "auth: the decoded credentials contain a NUL byte");
	if (!rc)
		rc = auth_check_parts("auth", buf, o, err);
	if (!rc) {
		colon = memchr(buf, ':', o);
		if (colon) {
			memcpy(user, buf, (size_t)(colon - buf));
			user[colon - buf] = '\0';
			memcpy(pass, colon + 1, o - (size_t)(colon - buf) - 1);
			pass[o - (size_t)(colon - buf) - 1] = '\0';
		} else {
			memcpy(user, buf, o);
			user[o] = '\0';
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int
proto_auth_from_creds(const char *creds, char **out, struct cradle_err *err)
{
	size_t n = creds ? strnlen(creds, PROTO_MAX_AUTH + 1) : 0, o = 0;
	unsigned char a, b, c;
	char *s;
	int rc;

	*out = NULL;
	if (n > PROTO_AUTH_USER_MAX + 1 + PROTO_AUTH_PASS_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "creds: more than %d bytes",
		                      PROTO_AUTH_USER_MAX + 1 + PROTO_AUTH_PASS_MAX);
	if ((rc = auth_check_parts("creds", creds ? creds : "", n, err)))
		return rc;
	if (!(s = malloc((n + 2) / 3 * 4 + 1)))
		return cradle_err_nomem(err);
	for (size_t i = 0; i < n; i += 3) {
		a = (unsigned char)creds[i];
		b = i + 1 < n ? (unsigned char)creds[i + 1] : 0;
		c = i + 2 < n ? (unsigned char)creds[i + 2] : 0;
		s[o++] = b64_chars[a >> 2];
		s[o++] = b64_chars[(a & 0x3) << 4 | b >> 4];
		s[o++] = i + 1 < n ? b64_chars[(b & 0xf) << 2 | c >> 6] : '=';
		s[o++] = i + 2 < n ? b64_chars[c & 0x3f] : '=';
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

int
proto_phase_state(int phase)
{
	return phase == PHASE_RUNNING ? STATE_READY : STATE_NOTREADY;
}

int
proto_sandbox_state(const struct proto_sandbox *s)
{
	return proto_phase_state(s ? s->phase : -1);
}

const char *
proto_state_name(int state)
{
	if (state < STATE_READY || state > STATE_NOTREADY)
		return "UNKNOWN";
	return state_names[state];
}

const char *
proto_phase_name(int phase)
{
	if (phase < PHASE_CREATED || phase > PHASE_EXITED)
		return "unknown";
	return phase_names[phase];
}

const char *
proto_op_name(int op)
{
	if (op < 0 || op >= OP__COUNT)
		return NULL;
	return op_names[op];
}
