/* hosts.c - per-registry settings below [registry] config_path.
 * See hosts.h for the contract.
 */
#include "image/hosts.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#define LINE_MAX_BYTES 4096

void
hosts_fini(struct host_cfg *c)
{
	if (!c)
		return;
	free(c->ca_pem);
	memset(c, 0, sizeof(*c));
}

int
hosts_check_url(const char *url, char *out, size_t out_len, char *authority, size_t auth_len,
                struct cradle_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *query = NULL, *frag = NULL,
	     *path = NULL;
	int rc = -1;
	CURLUcode uc;

	if (!u)
		return cradle_err_nomem(err);
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "\"%.300s\" is not a URL: %s", url,
		               curl_url_strerror(uc));
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "\"%.300s\": only http:// and https:// URLs", url);
		goto out;
	}
	if (!host || !host[0] || user || query || frag) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "\"%.300s\": a URL with a host and without user, query or fragment",
		               url);
		goto out;
	}
	size_t pl = path ? strlen(path) : 0;
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	int n = snprintf(out, out_len, "%s://%s%s%s%.*s", scheme, host, port ? ":" : "",
	                 port ? port : "", (int)pl, path ? path : "");
	int m = snprintf(authority, auth_len, "%s%s%s", host, port ? ":" : "", port ? port : "");
	if (n < 0 || (size_t)n >= out_len || m < 0 || (size_t)m >= auth_len) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "\"%.300s\": URL too long", url);
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

int
hosts_parse(const char *file, const char *text, size_t len, struct host_cfg *out,
            struct cradle_err *err)
{
	char line[LINE_MAX_BYTES + 1];
	bool seen_insecure = false, seen_skip = false;
	size_t pos = 0;
	int lineno = 0;

	if (len > HOSTS_CONF_MAX)
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "%s: %zu bytes exceeds %u",
		                      file, len, HOSTS_CONF_MAX);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *l, *eq, *key, *val;

		lineno++;
		if (n > LINE_MAX_BYTES)
			return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			                      "%s:%d: line longer than %d bytes", file, lineno,
			                      LINE_MAX_BYTES);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t' && line[i] != '\r')
				return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
				                      "%s:%d: control character (byte 0x%02x)",
				                      file, lineno, (unsigned char)line[i]);
		l = trim(line);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (!(eq = strchr(l, '=')))
			return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			                      "%s:%d: expected \"key = value\"", file, lineno);
		*eq = '\0';
		key = trim(l);
		val = trim(eq + 1);
		if (strcmp(key, "insecure") == 0 || strcmp(key, "skip_verify") == 0) {
			bool ins = key[0] == 'i';
			bool *dst = ins ? &out->insecure : &out->skip_verify;
			bool *seen = ins ? &seen_insecure : &seen_skip;
			if (*seen)
				return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
				                      "%s:%d: %s given twice", file, lineno, key);
			*seen = true;
			if (parse_bool(val, dst) < 0)
				return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
				                      "%s:%d: %s: \"%.100s\" is not true or false",
				                      file, lineno, key, val);
		} else if (strcmp(key, "mirrors") == 0) {
			char *save = NULL, *tok;
			if (*val == '\0')
				return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
				                      "%s:%d: mirrors: empty", file, lineno);
			for (tok = strtok_r(val, ", \t", &save); tok;
			     tok = strtok_r(NULL, ", \t", &save)) {
				char auth[300];
				if (out->n_mirrors >= HOSTS_MAX_MIRRORS)
					return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
					                      "%s:%d: more than %d mirrors", file,
					                      lineno, HOSTS_MAX_MIRRORS);
				if (hosts_check_url(tok, out->mirrors[out->n_mirrors],
				                    sizeof(out->mirrors[0]), auth, sizeof(auth),
				                    err) < 0) {
					cradle_err_wrap(err, "%s:%d: mirrors", file, lineno);
					err->code = CRADLE_FAILED_PRECONDITION;
					return -1;
				}
				out->n_mirrors++;
			}
		} else {
			return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			                      "%s:%d: unknown key \"%.100s\" (known: insecure, "
			                      "skip_verify, mirrors)",
			                      file, lineno, key);
		}
	}
	return 0;
}

/* Read a regular file of at most max bytes into a malloc'd, NUL-ended
 * buffer; ENOENT: 0 with *buf NULL. */
static int
read_small(const char *path, size_t max, char **buf, size_t *len, struct cradle_err *err)
{
	struct stat st;
	size_t got = 0;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return 0;
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "%s: %s", path,
		                      strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "%s: not a regular file",
		                      path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "%s: %lld bytes exceeds %zu",
		                      path, (long long)st.st_size, max);
	}
	if (!(*buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return cradle_err_nomem(err);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

int
hosts_load(const char *config_path, const char *host, struct host_cfg *out, struct cradle_err *err)
{
	char dir[HOSTS_PATH_MAX], path[HOSTS_PATH_MAX + 300];
	char *names[64], *text = NULL;
	size_t n_names = 0, len;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!config_path || !config_path[0])
		return 0;
	if (!host[0] || host[0] == '.' || strchr(host, '/'))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "registry host \"%.300s\" cannot name a directory", host);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", config_path, host) >= sizeof(dir))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s/%s: path too long",
		                      config_path, host);
	if (!(d = opendir(dir))) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "%s: %s", dir,
		                      strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (!ends_with(de->d_name, ".crt"))
			continue;
		if (n_names >= sizeof(names) / sizeof(names[0])) {
			cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			               "%s: more than %zu *.crt files", dir,
			               sizeof(names) / sizeof(names[0]));
			goto out;
		}
		if (!(names[n_names] = strdup(de->d_name))) {
			cradle_err_nomem(err);
			goto out;
		}
		n_names++;
	}
	qsort(names, n_names, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n_names; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_small(path, HOSTS_CA_MAX, &text, &len, err) < 0)
			goto out;
		if (!text)
			continue; /* gone meanwhile */
		if (!strstr(text, "-----BEGIN CERTIFICATE-----")) {
			cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			               "%s: no PEM certificate in it", path);
			goto out;
		}
		if (out->ca_len + len + 1 > HOSTS_CA_MAX) {
			cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			               "%s: the *.crt files exceed %u bytes", dir, HOSTS_CA_MAX);
			goto out;
		}
		char *nb = realloc(out->ca_pem, out->ca_len + len + 2);
		if (!nb) {
			cradle_err_nomem(err);
			goto out;
		}
		out->ca_pem = nb;
		memcpy(out->ca_pem + out->ca_len, text, len);
		out->ca_len += len;
		out->ca_pem[out->ca_len++] = '\n';
		out->ca_pem[out->ca_len] = '\0';
		free(text);
		text = NULL;
	}
	snprintf(out->client_cert, sizeof(out->client_cert), "%s/client.cert", dir);
	snprintf(out->client_key, sizeof(out->client_key), "%s/client.key", dir);
	bool has_cert = stat(out->client_cert, &st) == 0;
	bool has_key = stat(out->client_key, &st) == 0;
	if (has_cert != has_key) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "%s: %s without %s", dir,
		               has_cert ? "client.cert" : "client.key",
		               has_cert ? "client.key" : "client.cert");
		goto out;
	}
	if (!has_cert)
		out->client_cert[0] = out->client_key[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, HOSTS_FILE);
	if (read_small(path, HOSTS_CONF_MAX, &text, &len, err) < 0)
		goto out;
	if (text && hosts_parse(path, text, len, out, err) < 0)
		goto out;
	rc = 0;
out:
	free(text);
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	closedir(d);
	if (rc < 0)
		hosts_fini(out);
	return rc;
}
