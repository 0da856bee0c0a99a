/* auth.c - registry credentials from a containers-auth.json file.
 * See auth.h for the contract.
 */
#include "image/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#define JSON_DEPTH 8

void
auth_creds_clear(struct auth_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}

/* key as a registry plus an optional path: legacy "scheme://host/..."
 * keys become their host, Docker Hub's host names docker.io.  false when
 * the key cannot be a registry key. */
static bool
normalize_key(const char *key, char *out, size_t len)
{
	const char *k = key;
	size_t n;

	if (strncasecmp(k, "https://", 8) == 0 || strncasecmp(k, "http://", 7) == 0) {
		k = strstr(k, "://") + 3;
		n = strcspn(k, "/");
	} else {
		n = strlen(k);
	}
	while (n > 0 && k[n - 1] == '/')
		n--;
	if (n == 0 || n >= len)
		return false;
	memcpy(out, k, n);
	out[n] = '\0';
	size_t h = strcspn(out, "/");
	if ((h == 15 && strncmp(out, "index.docker.io", 15) == 0) ||
	    (h == 20 && strncmp(out, "registry-1.docker.io", 20) == 0)) {
		char rest[AUTH_KEY_MAX];
		snprintf(rest, sizeof(rest), "%s", out + h);
		if (strlen(rest) + 9 >= len)
			return false;
		snprintf(out, len, "docker.io%s", rest);
	}
	return true;
}

/* How specific key (normalised) is for host/repository: the number of
 * bytes it matches, 0 when it does not. */
static size_t
key_match(const char *key, const char *host, const char *repository)
{
	size_t hl = strlen(host), kl = strlen(key);

	if (strncasecmp(key, host, hl) != 0)
		return 0;
	if (kl == hl)
		return hl;
	if (key[hl] != '/')
		return 0;
	/* a path prefix of whole components */
	const char *path = key + hl + 1;
	size_t pl = kl - hl - 1;
	if (strncmp(path, repository, pl) != 0 || (repository[pl] != '\0' && repository[pl] != '/'))
		return 0;
	return kl;
}

int
auth_lookup_text(const char *file, const char *text, size_t len, const char *host,
                 const char *repository, struct auth_creds *out, struct cradle_err *err)
{
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	json_object *root = NULL, *auths, *best = NULL, *a;
	size_t best_len = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!tok)
		return cradle_err_nomem(err);
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		enum json_tokener_error je = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok);
		/* trailing white space is fine */
		while (root && je == json_tokener_success && at < len &&
		       strchr(" \t\r\n", text[at]))
			at++;
		if (!root || je != json_tokener_success || at < len) {
			cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			               "auth file %s: not valid JSON at byte %zu: %s", file, at,
			               je == json_tokener_continue  ? "unexpected end of the file"
			               : je != json_tokener_success ? json_tokener_error_desc(je)
			                                            : "text after the object");
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		               "auth file %s: the top level is not a JSON object", file);
		goto out;
	}
	if (!json_object_object_get_ex(root, "auths", &auths)) {
		rc = 0; /* nothing for anyone */
		goto out;
	}
	if (!json_object_is_type(auths, json_type_object)) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		               "auth file %s: \"auths\" is not a JSON object", file);
		goto out;
	}
	json_object_object_foreach(auths, key, val) {
		char norm[AUTH_KEY_MAX];
		size_t m;

		if (!normalize_key(key, norm, sizeof(norm)))
			continue;
		m = key_match(norm, host, repository);
		if (m > best_len) {
			best_len = m;
			best = val;
			snprintf(out->key, sizeof(out->key), "%s", key);
		}
	}
	if (!best) {
		out->key[0] = '\0';
		rc = 0;
		goto out;
	}
	if (!json_object_is_type(best, json_type_object) ||
	    !json_object_object_get_ex(best, "auth", &a) ||
	    !json_object_is_type(a, json_type_string) || json_object_get_string_len(a) == 0) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		               "auth file %s: auths[\"%.200s\"] has no \"auth\" string (identity "
		               "tokens and credential helpers are not supported)",
		               file, out->key);
		goto out;
	}
	if (proto_auth_decode(json_object_get_string(a), out->user, out->pass, err) < 0) {
		char which[AUTH_KEY_MAX];
		memcpy(which, out->key, sizeof(which));
		auth_creds_clear(out);
		cradle_err_wrap(err, "auth file %s: auths[\"%.200s\"]", file, which);
		err->code = CRADLE_FAILED_PRECONDITION;
		goto out;
	}
	out->found = true;
	rc = 0;
out:
	/* json-c holds its own copies of the secrets: wipe every one */
	if (root && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "auths", &auths) &&
	    json_object_is_type(auths, json_type_object)) {
		json_object_object_foreach(auths, k2, v2) {
			(void)k2;
			if (json_object_is_type(v2, json_type_object) &&
			    json_object_object_get_ex(v2, "auth", &a) &&
			    json_object_is_type(a, json_type_string)) {
				char *sec = (char *)json_object_get_string(a);
				explicit_bzero(sec, strlen(sec));
			}
		}
	}
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

int
auth_lookup(const char *file, const char *host, const char *repository, struct auth_creds *out,
            struct cradle_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (!file || !file[0])
		return 0;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "auth file %s: %s", file,
		                      strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "auth file %s: not a regular file", file);
	}
	if (st.st_size > (off_t)AUTH_FILE_MAX) {
		close(fd);
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "auth file %s: %lld bytes exceeds %u", file,
		                      (long long)st.st_size, AUTH_FILE_MAX);
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return cradle_err_nomem(err);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "auth file %s: %s",
			                    file, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	rc = auth_lookup_text(file, buf, got, host, repository, out, err);
out:
	close(fd);
	explicit_bzero(buf, got);
	free(buf);
	return rc;
}
