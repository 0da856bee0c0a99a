/* ref.c - image references (see ref.h for the grammar). */
#include "proto/ref.h"

#include <stdio.h>
#include <string.h>

#define INPUT_MAX 1024 /* bytes of a reference looked at, at most */
#define QUOTED_MAX 300 /* bytes of a reference quoted in an error */
#define LABEL_MAX 63   /* a DNS label */
#define SHA256_HEX 64

static bool
lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
word(char c)
{
	return alnum(c) || c == '_';
}

static bool
lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool
hex(char c)
{
	return lower_hex(c) || (c >= 'A' && c <= 'F');
}

/* `invalid reference "<s>": <why>`, s with anything not printable ASCII
 * as \xNN and cut at QUOTED_MAX bytes. */
static int
bad(struct cradle_err *err, const char *s, const char *why)
{
	char q[QUOTED_MAX * 4 + 4];
	size_t i, n = 0;

	for (i = 0; s[i] && i < QUOTED_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(q + n, sizeof(q) - n, "\\x%02x", c);
		else
			q[n++] = (char)c;
	}
	q[n] = '\0';
	return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid reference \"%s%s\": %s", q,
	                      s[i] ? "..." : "", why);
}

/* component: [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)* */
static bool
component_ok(const char *s, size_t n)
{
	size_t i = 0, j;

	if (n == 0 || !lower_alnum(s[0]))
		return false;
	while (i < n) {
		if (lower_alnum(s[i])) {
			i++;
			continue;
		}
		j = i + 1;
		if (s[i] == '_' && j < n && s[j] == '_')
			j++;
		else if (s[i] == '-')
			while (j < n && s[j] == '-')
				j++;
		else if (s[i] != '.' && s[i] != '_')
			return false;
		if (j >= n || !lower_alnum(s[j]))
			return false;
		i = j;
	}
	return true;
}

/* path: components joined by '/'; NULL or why not */
static const char *
path_bad(const char *s, size_t n)
{
	size_t i, start = 0;

	if (n == 0)
		return "no repository name";
	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return "repository name must be lowercase";
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i == start)
			return "invalid repository name: empty path component";
		if (!component_ok(s + start, i - start))
			return "invalid repository name: path components are lower-case "
			       "letters and digits separated by '.', '_', '__' or '-'";
		start = i + 1;
	}
	return NULL;
}

/* port: 1..65535, digits only */
static bool
port_ok(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* domain: host[:port], host DNS labels joined by '.' or [IPv6] */
static const char *
domain_bad(const char *s, size_t n)
{
	size_t i = 0, label;
	const char *colon;

	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL || close == s + 1)
			return "invalid registry host";
		for (const char *p = s + 1; p < close; p++)
			if (!hex(*p) && *p != ':' && *p != '.')
				return "invalid registry host";
		i = (size_t)(close - s) + 1;
	} else {
		for (;;) {
			label = i;
			if (i >= n || !alnum(s[i]))
				return "invalid registry host";
			while (i < n && (alnum(s[i]) || s[i] == '-'))
				i++;
			if (s[i - 1] == '-' || i - label > LABEL_MAX)
				return "invalid registry host";
			if (i < n && s[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i == n)
		return NULL;
	if (s[i] != ':')
		return "invalid registry host";
	colon = s + i;
	if (!port_ok(colon + 1, n - i - 1))
		return "invalid registry port (1 to 65535)";
	return NULL;
}

/* tag: [\w][\w.-]{0,127} */
static bool
tag_ok(const char *s, size_t n)
{
	if (n == 0 || n > PROTO_REF_TAG_MAX || !word(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!word(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* digest: algorithm ":" hex; only sha256 with 64 lower-case hex is held */
static const char *
digest_bad(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t alg, i;

	if (colon == NULL || colon == s)
		return "invalid digest (want sha256:<64 lower-case hex digits>)";
	alg = (size_t)(colon - s);
	for (i = 0; i < alg; i++)
		if (!alnum(s[i]) && !(i > 0 && strchr("+._-", s[i]) != NULL))
			return "invalid digest (want sha256:<64 lower-case hex digits>)";
	if (alg != 6 || memcmp(s, "sha256", 6) != 0)
		return "unsupported digest algorithm (only sha256)";
	if (n - alg - 1 != SHA256_HEX)
		return "invalid digest (want sha256:<64 lower-case hex digits>)";
	for (i = alg + 1; i < n; i++)
		if (!lower_hex(s[i]))
			return "invalid digest (want sha256:<64 lower-case hex digits>)";
	return NULL;
}

/* Is the first component (of n bytes) a domain, as docker decides? */
static bool
looks_like_domain(const char *s, size_t n)
{
	if (memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
	    (n == 9 && memcmp(s, "localhost", 9) == 0))
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

int
proto_ref_parse(const char *s, struct proto_ref *out, struct cradle_err *err)
{
	const char *at, *slash, *colon, *why, *path;
	size_t len, name_len, path_len, total, i;
	bool library = false;

	memset(out, 0, sizeof(*out));
	if (s == NULL || s[0] == '\0')
		return bad(err, "", "empty");
	len = strnlen(s, INPUT_MAX + 1);
	if (len > INPUT_MAX)
		return bad(err, s, "too long (over 1024 bytes)");
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return bad(err, s, "contains a space, control or non-ASCII character");
	if (len == SHA256_HEX) {
		for (i = 0; i < len && lower_hex(s[i]); i++)
			;
		if (i == len)
			return bad(err, s,
			           "a 64-digit hexadecimal string is an image id, not a name");
	}

	/* name [":" tag] ["@" digest] */
	at = strchr(s, '@');
	name_len = at ? (size_t)(at - s) : len;
	if (at != NULL) {
		size_t dn = len - name_len - 1;

		if (memchr(at + 1, '@', dn) != NULL)
			return bad(err, s, "more than one '@'");
		if ((why = digest_bad(at + 1, dn)) != NULL)
			return bad(err, s, why);
		memcpy(out->digest, at + 1, dn);
	}
	if (name_len == 0)
		return bad(err, s, "no repository name");
	slash = memrchr(s, '/', name_len);
	colon = slash ? memchr(slash, ':', name_len - (size_t)(slash - s))
	              : memchr(s, ':', name_len);
	if (colon != NULL) {
		size_t tn = name_len - (size_t)(colon - s) - 1;

		if (!tag_ok(colon + 1, tn))
			return bad(err, s,
			           tn > PROTO_REF_TAG_MAX
			                   ? "invalid tag (longer than 128 characters)"
			                   : "invalid tag (want [A-Za-z0-9_][A-Za-z0-9_.-]*)");
		memcpy(out->tag, colon + 1, tn);
		name_len = (size_t)(colon - s);
	}

	/* [domain "/"] path */
	slash = memchr(s, '/', name_len);
	path = s;
	path_len = name_len;
	if (slash != NULL && looks_like_domain(s, (size_t)(slash - s))) {
		size_t dl = (size_t)(slash - s);

		if (dl > PROTO_REF_NAME_MAX)
			return bad(err, s, "name too long (over 255 characters)");
		if ((why = domain_bad(s, dl)) != NULL)
			return bad(err, s, why);
		memcpy(out->domain, s, dl);
		path = slash + 1;
		path_len = name_len - dl - 1;
	}
	if (out->domain[0] == '\0' || strcmp(out->domain, "index.docker.io") == 0)
		snprintf(out->domain, sizeof(out->domain), "%s", PROTO_REF_DOCKER_DOMAIN);
	if ((why = path_bad(path, path_len)) != NULL)
		return bad(err, s, why);
	library = strcmp(out->domain, PROTO_REF_DOCKER_DOMAIN) == 0 &&
	          memchr(path, '/', path_len) == NULL;
	total = strlen(out->domain) + 1 + (library ? 8 : 0) + path_len;
	if (total > PROTO_REF_NAME_MAX)
		return bad(err, s, "name too long (domain/repository over 255 characters)");
	snprintf(out->path, sizeof(out->path), "%s%.*s", library ? "library/" : "", (int)path_len,
	         path);
	if (out->tag[0] == '\0' && out->digest[0] == '\0')
		snprintf(out->tag, sizeof(out->tag), "latest");
	return 0;
}

void
proto_ref_format(const struct proto_ref *r, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
	         r->digest[0] ? "@" : "", r->digest);
}

int
proto_ref_normalize(const char *s, char *buf, size_t len, struct cradle_err *err)
{
	struct proto_ref r;
	char canon[PROTO_REF_CANON_MAX + 1];

	if (proto_ref_parse(s, &r, err) < 0)
		return -1;
	proto_ref_format(&r, canon, sizeof(canon));
	if (strlen(canon) >= len)
		return bad(err, s, "too long once normalised");
	memcpy(buf, canon, strlen(canon) + 1);
	return 0;
}

bool
proto_ref_same(const char *a, const char *b)
{
	char na[PROTO_REF_CANON_MAX + 1], nb[PROTO_REF_CANON_MAX + 1];
	struct cradle_err e;

	if (a == NULL || b == NULL)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	return proto_ref_normalize(a, na, sizeof(na), &e) == 0 &&
	       proto_ref_normalize(b, nb, sizeof(nb), &e) == 0 && strcmp(na, nb) == 0;
}

const char *
proto_ref_id_hex(const char *s)
{
	size_t n;

	if (s == NULL)
		return NULL;
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	n = strnlen(s, SHA256_HEX + 1);
	if (n == 0 || n > SHA256_HEX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!lower_hex(s[i]))
			return NULL;
	return s;
}
