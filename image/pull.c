/* pull.c - pull an image over the OCI distribution API with libcurl.
 * See pull.h for the contract.
 *
 * One puller per pull_image() call owns one CURL easy handle, reset before
 * every request so the connection is kept alive between the manifest and
 * the blobs.  A request is a GET with:
 *   - the bearer token (when the registry asked for one) for registry URLs;
 *   - redirects followed here, not by libcurl (at most MAX_REDIRS): to
 *     http or https only, never from https to http; the bearer token goes
 *     only to the registry's own scheme, host and port;
 *   - a connect timeout and, for manifests and tokens, a whole-request
 *     timeout; blobs may be large, so they get a stall timeout instead
 *     (less than 1 byte/s over the timeout aborts); with a deadline for
 *     the whole pull, no request runs past it;
 *   - retries on 5xx, 429 and connection errors: 200, 400, 800 ms apart.
 * Manifests and token answers are read into memory (bounded); blobs go
 * straight into a content_writer, which hashes while writing and refuses
 * to commit a blob whose digest or size is not the descriptor's.
 *
 * Response headers are read with libcurl's header API (curl_easy_header)
 * once a response is complete, URLs are built and resolved with its URL
 * API (curl_url): no hand splicing of registry, realm or redirect URLs.
 *
 * Endpoints: the mirrors of the registry's hosts.conf (image/hosts.h), in
 * order, then the registry itself; the image comes whole from the first
 * endpoint that serves it (content already fetched from an earlier one is
 * kept).  Each request gets the TLS settings of its own host's directory
 * (CA certificates replace the system's, client certificate, skip_verify).
 *
 * Credentials (image/auth.h; the pull's own win over the auth file's) are
 * looked up for each endpoint and sent only when the endpoint asks: as
 * Basic auth after a Basic challenge, or to the bearer token realm (never
 * through a redirect to another origin).  They are never put in a
 * message.
 */
#include "image/pull.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "image/auth.h"
#include "image/hosts.h"
#include "proto/ref.h"
#include "util/clock.h"

#define MANIFEST_MAX (4u << 20) /* a manifest or index, bytes */
#define TOKEN_MAX (64u << 10)   /* a token server's answer */
#define ERRBODY_MAX (64u << 10) /* an error body kept for its message */
#define DEFAULT_TIMEOUT_MS 60000L
#define RETRIES 3       /* after the first try */
#define BACKOFF_MS 200L /* doubled each retry */
#define MAX_REDIRS 10

static const char ACCEPT_MANIFESTS[] = "application/vnd.oci.image.index.v1+json, "
				       "application/vnd.oci.image.manifest.v1+json, "
				       "application/vnd.docker.distribution.manifest.list.v2+json, "
				       "application/vnd.docker.distribution.manifest.v2+json";

static const char DOCKER_HUB[] = "registry-1.docker.io";

/* --- references ------------------------------------------------------------ */

/* The one parse (proto/ref.c); the registry to ask is docker.io's API
 * host for docker.io, the domain itself otherwise. */
int
image_ref_parse(const char *ref, struct image_ref *out, struct cradle_err *err)
{
	struct proto_ref r;

	memset(out, 0, sizeof(*out));
	if (proto_ref_parse(ref, &r, err) < 0)
		return -1;
	snprintf(out->registry, sizeof(out->registry), "%s",
	         strcmp(r.domain, PROTO_REF_DOCKER_DOMAIN) == 0 ? DOCKER_HUB : r.domain);
	memcpy(out->domain, r.domain, sizeof(out->domain));
	memcpy(out->repository, r.path, sizeof(out->repository));
	memcpy(out->tag, r.tag, sizeof(out->tag));
	memcpy(out->digest, r.digest, sizeof(out->digest));
	return 0;
}

void
image_ref_format(const struct image_ref *r, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "%s/%s%s%s%s%s", r->registry, r->repository, r->tag[0] ? ":" : "",
	         r->tag, r->digest[0] ? "@" : "", r->digest);
}

/* --- WWW-Authenticate ------------------------------------------------------- */

struct challenge {
	char scheme[32];
	char realm[1024];
	char service[256];
	char scope[512];
};

/* Parse one challenge: scheme, then key=value or key="quoted \" value"
 * pairs separated by commas.  Stops at a second scheme.  -1 when
 * malformed or a value does not fit. */
static int
parse_challenge(const char *h, struct challenge *c)
{
	const char *p = h;
	size_t n;

	memset(c, 0, sizeof(*c));
	while (*p == ' ' || *p == '\t')
		p++;
	for (n = 0; *p && *p != ' ' && *p != '\t'; p++) {
		if (n + 1 >= sizeof(c->scheme))
			return -1;
		c->scheme[n++] = *p;
	}
	if (n == 0)
		return -1;
	for (;;) {
		char key[32], val[1024];
		size_t k = 0, v = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		while (*p && *p != '=' && *p != ' ' && *p != ',' && *p != '\t') {
			if (k + 1 >= sizeof(key))
				return -1;
			key[k++] = *p++;
		}
		key[k] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			return 0; /* a token68 or the next challenge's scheme */
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (v + 1 >= sizeof(val))
					return -1;
				val[v++] = *p++;
			}
			if (*p != '"')
				return -1;
			p++;
		} else {
			while (*p && *p != ',' && *p != ' ' && *p != '\t') {
				if (v + 1 >= sizeof(val))
					return -1;
				val[v++] = *p++;
			}
		}
		val[v] = '\0';
		if (strcasecmp(key, "realm") == 0) {
			if (v >= sizeof(c->realm))
				return -1;
			memcpy(c->realm, val, v + 1);
		} else if (strcasecmp(key, "service") == 0) {
			if (v >= sizeof(c->service))
				return -1;
			memcpy(c->service, val, v + 1);
		} else if (strcasecmp(key, "scope") == 0) {
			if (v >= sizeof(c->scope))
				return -1;
			memcpy(c->scope, val, v + 1);
		}
	}
}

/* --- the puller ------------------------------------------------------------- */

/* TLS settings of hosts other than the endpoint's (token realms,
 * redirect targets), loaded once per pull. */
#define TLS_CACHE 4

struct tls_cached {
	char authority[300]; /* "" unused */
	struct host_cfg cfg;
};

struct puller {
	struct content *c;
	const struct pull_opts *opts;
	const char *ref; /* as given, for messages */
	struct image_ref ir;
	char base[HOSTS_URL_MAX]; /* the endpoint: scheme://authority[/prefix] */
	char authority[300];      /* the endpoint's host[:port], its certs.d name */
	struct host_cfg tls;      /* the endpoint's host settings */
	struct tls_cached other[TLS_CACHE];
	struct auth_creds creds;               /* for the endpoint, when found */
	char creds_from[HOSTS_PATH_MAX + 600]; /* where they came from, for messages */
	bool basic;                            /* the endpoint asked for Basic auth: send creds */
	bool token_req;                        /* the request in flight asks a token realm */
	char hint[HOSTS_PATH_MAX + 600];       /* tls_hint's text */
	long timeout_ms;
	long deadline_ms; /* the whole pull, 0 = none */
	int64_t deadline; /* CLOCK_MONOTONIC ms, when deadline_ms */
	CURL *h;
	char errbuf[CURL_ERROR_SIZE];
	char *auth_header; /* "Authorization: Bearer ..." or NULL */
	uint64_t done;
	int64_t total;
};

/* One response being received. */
struct xfer {
	struct puller *p;
	/* memory sink: the wanted body (2xx, up to max) or an error body */
	char *buf;
	size_t len, cap, max;
	bool too_big;
	/* blob sink for 2xx answers, when set */
	struct content_writer *w;
	bool wfailed;
	struct cradle_err werr;
	/* headers of the last response (reset at each status line) */
	char ctype[160];
	char dcd[DIGEST_LEN + 1];
	char www[1536];
};

static void
xfer_reset(struct xfer *x)
{
	x->len = 0;
	x->too_big = false;
	x->wfailed = false;
	x->ctype[0] = x->dcd[0] = x->www[0] = '\0';
}

/* The value of the last response's header name (instance i), trimmed
 * into dst (cut at dst_len - 1 bytes); false when absent. */
static bool
header_get(CURL *h, const char *name, size_t i, char *dst, size_t dst_len)
{
	struct curl_header *hd = NULL;
	const char *v, *e;
	size_t n;

	dst[0] = '\0';
	if (curl_easy_header(h, name, i, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd || !hd->value)
		return false;
	v = hd->value;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	n = (size_t)(e - v);
	if (n >= dst_len)
		n = dst_len - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

/* Content-Type (without parameters), Docker-Content-Digest and the
 * WWW-Authenticate challenge (the first Bearer one, else the first) of
 * the response just received. */
static void
read_headers(CURL *h, struct xfer *x)
{
	struct curl_header *hd = NULL;
	char tmp[sizeof(x->www)];
	size_t amount = 0;

	if (header_get(h, "Content-Type", 0, x->ctype, sizeof(x->ctype))) {
		char *semi = strchr(x->ctype, ';');
		if (semi) {
			*semi = '\0';
			while (semi > x->ctype && (semi[-1] == ' ' || semi[-1] == '\t'))
				*--semi = '\0';
		}
	}
	header_get(h, "Docker-Content-Digest", 0, x->dcd, sizeof(x->dcd));
	if (curl_easy_header(h, "WWW-Authenticate", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK && hd)
		amount = hd->amount;
	for (size_t i = 0; i < amount && i < 16; i++) {
		if (!header_get(h, "WWW-Authenticate", i, tmp, sizeof(tmp)))
			continue;
		if (x->www[0] == '\0' ||
		    (strncasecmp(x->www, "Bearer ", 7) != 0 && strncasecmp(tmp, "Bearer ", 7) == 0))
			memcpy(x->www, tmp, sizeof(tmp));
	}
}

static void
progress(struct puller *p)
{
	if (p->opts && p->opts->progress)
		p->opts->progress(p->opts->progress_arg, p->done, p->total);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	long code = 0;
	bool ok;

	curl_easy_getinfo(x->p->h, CURLINFO_RESPONSE_CODE, &code);
	ok = code >= 200 && code < 300;
	if (ok && x->w) {
		if (content_writer_write(x->w, data, n, &x->werr) < 0) {
			x->wfailed = true;
			return 0;
		}
		x->p->done += n;
		progress(x->p);
		return n;
	}
	if (!ok) {
		/* an error body: keep its head for the message, drop the rest */
		if (x->len + n > ERRBODY_MAX)
			n = x->len < ERRBODY_MAX ? ERRBODY_MAX - x->len : 0;
		if (n == 0)
			return size * nmemb;
	} else if (x->len + n > x->max) {
		x->too_big = true;
		return 0;
	}
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		char *nb;
		while (cap < x->len + n + 1)
			cap *= 2;
		nb = realloc(x->buf, cap);
		if (!nb)
			return 0;
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return size * nmemb;
}

static bool
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* ms left before the pull's deadline; LONG_MAX without one. */
static long
left_ms(const struct puller *p)
{
	if (p->deadline_ms <= 0)
		return LONG_MAX;
	int64_t left = p->deadline - (clock_mono_ns() / 1000000);
	return left > 0 ? (long)left : 0;
}

static bool
cancelled(const struct puller *p)
{
	return p->opts != NULL && p->opts->cancel != NULL && atomic_load(p->opts->cancel);
}

static int
cancel_err(struct puller *p, const char *what, const char *obj, struct cradle_err *err)
{
	return cradle_err_set(err, CRADLE_UNAVAILABLE,
	                      "pull %s: cancelled while fetching %s%s%s: cradled is shutting down",
	                      p->ref, what, obj ? " " : "", obj ? obj : "");
}

/* libcurl calls this about once a second even while nothing arrives */
static int
on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancelled(arg) ? 1 : 0;
}

static int
timed_out(struct puller *p, const char *what, const char *obj, const char *url,
          struct cradle_err *err)
{
	return cradle_err_set(err, CRADLE_UNAVAILABLE,
	                      "pull %s: timed out after %ld s (limit [registry] timeout) while "
	                      "fetching %s%s%s from %s",
	                      p->ref, p->deadline_ms / 1000, what, obj ? " " : "", obj ? obj : "",
	                      url);
}

/* url's parts (curl_url): its origin "scheme://host:port" (the port
 * always, lower case) and its authority "host[:port]" (the port when the
 * URL names one), either may be NULL.  -1 when url is not a URL. */
static int
url_parts(const char *url, char *origin, size_t olen, char *authority, size_t alen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL;
	int rc = -1;

	if (origin && olen)
		origin[0] = '\0';
	if (authority && alen)
		authority[0] = '\0';
	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (origin)
		snprintf(origin, olen, "%s://%s:%s", scheme, host, dport);
	if (authority)
		snprintf(authority, alen, "%s%s%s", host, port ? ":" : "", port ? port : "");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(dport);
	curl_url_cleanup(u);
	return rc;
}

static void
origin_of(const char *url, char *out, size_t len)
{
	url_parts(url, out, len, NULL, 0);
}

/* The TLS settings for url's host: the endpoint's, or those of its own
 * certs.d directory (loaded once a pull). */
static int
tls_for(struct puller *p, const char *url, const struct host_cfg **out, struct cradle_err *err)
{
	char authority[300];
	size_t i;

	*out = &p->tls;
	if (url_parts(url, NULL, 0, authority, sizeof(authority)) < 0 ||
	    strcasecmp(authority, p->authority) == 0 || !p->opts || !p->opts->config_path)
		return 0;
	for (i = 0; i < TLS_CACHE && p->other[i].authority[0]; i++)
		if (strcasecmp(p->other[i].authority, authority) == 0) {
			*out = &p->other[i].cfg;
			return 0;
		}
	if (i == TLS_CACHE) {
		i = TLS_CACHE - 1; /* replace the last */
		hosts_fini(&p->other[i].cfg);
		p->other[i].authority[0] = '\0';
	}
	if (hosts_load(p->opts->config_path, authority, &p->other[i].cfg, err) < 0) {
		cradle_err_wrap(err, "pull %s", p->ref);
		return -1;
	}
	snprintf(p->other[i].authority, sizeof(p->other[i].authority), "%s", authority);
	*out = &p->other[i].cfg;
	return 0;
}

static bool
is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Set up the handle for one GET.  blob: stall timeout instead of a whole
 * request timeout.  registry: send the bearer token. */
static int
setup(struct puller *p, const char *url, const char *accept, bool blob, bool registry,
      struct xfer *x, struct curl_slist **hdrs, struct cradle_err *err)
{
	CURL *h = p->h;
	struct curl_slist *l = NULL, *t;
	char acc[sizeof(ACCEPT_MANIFESTS) + 16];

	curl_easy_reset(h);
	*hdrs = NULL;
	if (accept) {
		snprintf(acc, sizeof(acc), "Accept: %s", accept);
		if (!(t = curl_slist_append(l, acc)))
			goto nomem;
		l = t;
	}
	if (registry && p->auth_header && !p->token_req) {
		if (!(t = curl_slist_append(l, p->auth_header)))
			goto nomem;
		l = t;
	}
	*hdrs = l;
	const struct host_cfg *tls = NULL;
	if (tls_for(p, url, &tls, err) < 0) {
		curl_slist_free_all(l);
		*hdrs = NULL;
		return -1;
	}
	p->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cradle/1");
	/* redirects are checked and followed by fetch */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	long left = left_ms(p);
	if (left < 1)
		left = 1; /* 0 would mean no timeout */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left < p->timeout_ms ? left : p->timeout_ms);
	if (blob) {
		long secs = p->timeout_ms / 1000;
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1L);
		if (left != LONG_MAX)
			curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	} else {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
		                 left < p->timeout_ms ? left : p->timeout_ms);
	}
	if (tls->ca_pem) {
		/* the host's own CAs replace the system's and ca_file */
		struct curl_blob ca = { tls->ca_pem, tls->ca_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	} else if (p->opts && p->opts->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, p->opts->ca_file);
	}
	if (tls->skip_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (tls->client_cert[0]) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, tls->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, tls->client_key);
	}
	/* Basic credentials: to an endpoint that asked for them, to a token
	 * realm (registry is false once a redirect left their origin) */
	if (registry && p->creds.found && (p->token_req || (p->basic && !p->auth_header))) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, p->creds.user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, p->creds.pass);
	}
	if (l)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (p->opts != NULL && p->opts->cancel != NULL) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, p);
	}
	return 0;
nomem:
	curl_slist_free_all(l);
	return cradle_err_nomem(err);
}

static int fetch_token(struct puller *p, const char *www, struct cradle_err *err);

/* A client certificate is configured for url's host. */
static bool
tls_client_cert(struct puller *p, const char *url)
{
	const struct host_cfg *tls = NULL;
	struct cradle_err e;

	return tls_for(p, url, &tls, &e) == 0 && tls->client_cert[0] != '\0';
}

/* What to do about a TLS failure reaching url, "" for other failures. */
static const char *
tls_hint(struct puller *p, const char *url, CURLcode cres)
{
	char authority[300];
	const char *dir = p->opts && p->opts->config_path ? p->opts->config_path : NULL;

	if (url_parts(url, NULL, 0, authority, sizeof(authority)) < 0)
		snprintf(authority, sizeof(authority), "%s", p->authority);
	switch (cres) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		if (dir)
			snprintf(
				p->hint, sizeof(p->hint),
				": certificate verify failed for %s (trust its CA with %s/%s/ca.crt)",
				authority, dir, authority);
		else
			snprintf(p->hint, sizeof(p->hint), ": certificate verify failed for %s",
			         authority);
		return p->hint;
	case CURLE_SSL_CERTPROBLEM:
		snprintf(p->hint, sizeof(p->hint),
		         ": the client certificate for %s (%s/%s/client.cert, client.key) was not "
		         "accepted",
		         authority, dir ? dir : "", authority);
		return p->hint;
	case CURLE_SSL_CONNECT_ERROR:
		if (!strstr(p->errbuf, "wrong version number"))
			return "";
		snprintf(p->hint, sizeof(p->hint),
		         ": %s does not speak TLS (plain HTTP? insecure = true in %s/%s/%s, or "
		         "[registry] insecure)",
		         authority, dir ? dir : "<config_path>", authority, HOSTS_FILE);
		return p->hint;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* TLS 1.3: a server that wants a client certificate checks
		 * it after the handshake; when the request is written after
		 * its alert and close, the send fails and the alert is never
		 * read.  Only a guess, so said as one, and only where none
		 * was offered. */
		if (strncmp(url, "https:", 6) != 0 || tls_client_cert(p, url) ||
		    strstr(p->errbuf, "alert") != NULL)
			break;
		snprintf(p->hint, sizeof(p->hint),
		         ": %s closed the connection after the TLS handshake (if it requires a "
		         "client certificate, none was offered: give one as %s/%s/client.cert "
		         "and client.key)",
		         authority, dir ? dir : "<config_path>", authority);
		return p->hint;
	default:
		break;
	}
	/* TLS 1.3: the server's refusal of a client certificate comes as an
	 * alert after the handshake */
	if (!strstr(p->errbuf, "alert bad certificate") &&
	    !strstr(p->errbuf, "alert certificate required"))
		return "";
	snprintf(p->hint, sizeof(p->hint),
	         ": %s refused the client certificate%s (give one as %s/%s/client.cert "
	         "and client.key)",
	         authority, tls_client_cert(p, url) ? "" : " (none was offered)",
	         dir ? dir : "<config_path>", authority);
	return p->hint;
}
static bool host_insecure(const char *registry, const char *list);

/* A GET with retries and (registry) bearer auth.  blob_digest set: the 2xx
 * body streams into a content writer for that digest and size, committed
 * here.  Returns 0 with *status set when an answer arrived (x holds the
 * body of a non-blob or error answer), negative with err set otherwise. */
/* url for a message: without its query and fragment, which may carry a
 * credential (a presigned blob URL's signature); "?..." says one was cut. */
static void
url_shown(const char *url, char *buf, size_t len)
{
	size_t n = strcspn(url, "?#");

	snprintf(buf, len, "%.*s%s", (int)(n < 400 ? n : 400), url, url[n] != '\0' ? "?..." : "");
}

static int
fetch(struct puller *p, const char *url, const char *accept, bool registry, size_t max,
      const char *blob_digest, int64_t blob_size, const char *what, struct xfer *x, long *status,
      struct cradle_err *err)
{
	int attempt = 0, redirects = 0, rc = -1;
	bool reauthed = false, auth = registry || p->token_req;
	char origin0[320];
	char *moved = NULL; /* the URL a redirect led to, owned */
	const char *cur = url;
	char shown[512]; /* cur for messages: no query (a presigned URL's is a secret) */

	url_shown(cur, shown, sizeof(shown));
	origin_of(url, origin0, sizeof(origin0));

	x->p = p;
	x->max = max;
	for (;;) {
		struct curl_slist *hdrs = NULL;
		uint64_t done0 = p->done;
		CURLcode cres;
		bool blob_ok;

		if (cancelled(p)) {
			cancel_err(p, what, blob_digest, err);
			goto out;
		}
		if (left_ms(p) == 0) {
			timed_out(p, what, blob_digest, shown, err);
			goto out;
		}
		xfer_reset(x);
		x->w = NULL;
		if (blob_digest &&
		    content_writer_open(p->c, blob_digest, blob_size, &x->w, err) < 0) {
			cradle_err_wrap(err, "pull %s: %s %s", p->ref, what, blob_digest);
			goto out;
		}
		if (setup(p, cur, accept, blob_digest != NULL, auth, x, &hdrs, err) < 0) {
			content_writer_abort(x->w);
			x->w = NULL;
			goto out;
		}
		cres = curl_easy_perform(p->h);
		curl_slist_free_all(hdrs);
		*status = 0;
		curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, status);
		if (cres == CURLE_OK)
			read_headers(p->h, x);
		blob_ok = cres == CURLE_OK && *status >= 200 && *status < 300 && x->w;
		if (!blob_ok) {
			content_writer_abort(x->w);
			x->w = NULL;
		}
		if (x->wfailed) {
			*err = x->werr;
			cradle_err_wrap(err, "pull %s: %s %s", p->ref, what, blob_digest);
			goto out;
		}
		if (x->too_big) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "pull %s: %s from %s larger than %zu bytes", p->ref, what,
			               shown, max);
			goto out;
		}
		if (cres != CURLE_OK) {
			if (cres == CURLE_ABORTED_BY_CALLBACK && cancelled(p)) {
				cancel_err(p, what, blob_digest, err);
				goto out;
			}
			if (cres == CURLE_OPERATION_TIMEDOUT && left_ms(p) < 100) {
				timed_out(p, what, blob_digest, shown, err);
				goto out;
			}
			if (retryable_curl(cres) && attempt < RETRIES) {
				p->done = done0;
				sleep_ms(BACKOFF_MS << attempt++);
				continue;
			}
			cradle_err_set(err, CRADLE_UNAVAILABLE, "pull %s: GET %s: %s%s%s%s%s",
			               p->ref, shown, curl_easy_strerror(cres),
			               p->errbuf[0] ? " (" : "", p->errbuf, p->errbuf[0] ? ")" : "",
			               tls_hint(p, cur, cres));
			goto out;
		}
		if (*status == 301 || *status == 302 || *status == 303 || *status == 307 ||
		    *status == 308) {
			char *to = NULL, o1[320], loc[8192];
			/* Location, resolved against the URL asked (curl_url) */
			if (header_get(p->h, "Location", 0, loc, sizeof(loc)) && loc[0]) {
				CURLU *u;
				if (strlen(loc) == sizeof(loc) - 1) {
					cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
					               "pull %s: %s%s%s: HTTP %ld from %s with a "
					               "Location longer than %zu bytes",
					               p->ref, what, blob_digest ? " " : "",
					               blob_digest ? blob_digest : "", *status,
					               shown, sizeof(loc) - 2);
					goto out;
				}
				u = curl_url();
				if (!u) {
					cradle_err_nomem(err);
					goto out;
				}
				if (curl_url_set(u, CURLUPART_URL, cur, 0) != CURLUE_OK ||
				    curl_url_set(u, CURLUPART_URL, loc, 0) != CURLUE_OK ||
				    curl_url_get(u, CURLUPART_URL, &to, 0) != CURLUE_OK)
					to = NULL;
				curl_url_cleanup(u);
				if (to == NULL) {
					cradle_err_set(
						err, CRADLE_INVALID_ARGUMENT,
						"pull %s: %s%s%s: HTTP %ld from %s with a Location "
						"that is not a URL",
						p->ref, what, blob_digest ? " " : "",
						blob_digest ? blob_digest : "", *status, shown);
					goto out;
				}
			}
			if (to == NULL || to[0] == '\0') {
				curl_free(to);
				cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"pull %s: %s%s%s: HTTP %ld from %s without a Location",
					p->ref, what, blob_digest ? " " : "",
					blob_digest ? blob_digest : "", *status, shown);
				goto out;
			}
			if (++redirects > MAX_REDIRS) {
				curl_free(to);
				cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				               "pull %s: %s%s%s: more than %d redirects, the last "
				               "from %s",
				               p->ref, what, blob_digest ? " " : "",
				               blob_digest ? blob_digest : "", MAX_REDIRS, shown);
				goto out;
			}
			bool https_to = is_https(to), http_to = strncasecmp(to, "http://", 7) == 0;
			if (!https_to && !(http_to && !is_https(cur))) {
				char to_shown[512];
				url_shown(to, to_shown, sizeof(to_shown));
				curl_free(to);
				cradle_err_set(err, CRADLE_PERMISSION_DENIED,
				               "pull %s: %s%s%s: redirect from %s to \"%.300s\" "
				               "refused: %s",
				               p->ref, what, blob_digest ? " " : "",
				               blob_digest ? blob_digest : "", shown, to_shown,
				               http_to ? "from HTTPS to plain HTTP"
				                       : "not an http(s) URL");
				goto out;
			}
			/* the token and credentials stay with their origin */
			origin_of(to, o1, sizeof(o1));
			auth = auth && strcmp(o1, origin0) == 0;
			char *next = strdup(to);
			curl_free(to);
			if (next == NULL) {
				cradle_err_nomem(err);
				goto out;
			}
			free(moved);
			cur = moved = next;
			url_shown(cur, shown, sizeof(shown));
			p->done = done0;
			continue;
		}
		if (*status == 401 && auth && !reauthed && !p->token_req && x->www[0]) {
			struct challenge ch;
			if (parse_challenge(x->www, &ch) == 0 &&
			    strcasecmp(ch.scheme, "Bearer") == 0) {
				reauthed = true;
				p->done = done0;
				if (fetch_token(p, x->www, err) < 0)
					goto out;
				continue;
			}
			if (parse_challenge(x->www, &ch) == 0 &&
			    strcasecmp(ch.scheme, "Basic") == 0 && p->creds.found && !p->basic) {
				/* Basic: the credentials themselves, from now on */
				reauthed = true;
				p->basic = true;
				p->done = done0;
				continue;
			}
		}
		if ((*status >= 500 || *status == 429) && attempt < RETRIES) {
			long backoff = BACKOFF_MS << attempt++;
			if (left_ms(p) <= backoff) {
				timed_out(p, what, blob_digest, shown, err);
				goto out;
			}
			p->done = done0;
			sleep_ms(backoff);
			continue;
		}
		if (blob_ok) {
			char got[DIGEST_LEN + 1];
			struct content_writer *w = x->w;
			x->w = NULL;
			if (content_writer_commit(w, got, err) < 0) {
				cradle_err_wrap(err, "pull %s: %s %s", p->ref, what, blob_digest);
				goto out;
			}
		}
		rc = 0;
		goto out;
	}
out:
	free(moved);
	return rc;
}

/* Registry error body {"errors":[{"code","message"}]}: the first one. */
static void
registry_error(const struct xfer *x, char *code, size_t code_len, char *msg, size_t msg_len)
{
	json_object *root, *errs, *e, *v;

	code[0] = msg[0] = '\0';
	if (!x->buf || x->len == 0)
		return;
	root = json_tokener_parse(x->buf);
	if (!root)
		return;
	if (json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0) {
		e = json_object_array_get_idx(errs, 0);
		if (json_object_object_get_ex(e, "code", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(code, code_len, "%s", json_object_get_string(v));
		if (json_object_object_get_ex(e, "message", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(msg, msg_len, "%s", json_object_get_string(v));
	}
	json_object_put(root);
}

/* Turn a non-2xx answer into an error naming the reference. */
static int
http_error(struct puller *p, long status, const struct xfer *x, const char *what, const char *obj,
           const char *url, struct cradle_err *err)
{
	char code[64], msg[256];
	bool manifest = strcmp(what, "manifest") == 0;

	registry_error(x, code, sizeof(code), msg, sizeof(msg));
	if ((status == 401 || strcmp(code, "UNAUTHORIZED") == 0) && p->creds.found)
		return cradle_err_set(err, CRADLE_PERMISSION_DENIED,
		                      "pull %s: unauthorized: %s refused the credentials %s%s%s",
		                      p->ref, p->authority, p->creds_from, msg[0] ? ": " : "", msg);
	if (status == 401 && !p->auth_header)
		return cradle_err_set(
			err, CRADLE_PERMISSION_DENIED,
			"pull %s: unauthorized: %s wants credentials (none given with the pull%s%s)%s%s",
			p->ref, p->authority, p->opts && p->opts->auth_file ? " nor in " : "",
			p->opts && p->opts->auth_file ? p->opts->auth_file : "", msg[0] ? ": " : "",
			msg);
	if (status == 401 || strcmp(code, "UNAUTHORIZED") == 0)
		return cradle_err_set(err, CRADLE_PERMISSION_DENIED, "pull %s: unauthorized%s%s",
		                      p->ref, msg[0] ? ": " : "", msg);
	if (status == 403 || strcmp(code, "DENIED") == 0)
		return cradle_err_set(err, CRADLE_PERMISSION_DENIED, "pull %s: denied%s%s", p->ref,
		                      msg[0] ? ": " : "", msg);
	if (manifest && (status == 404 || strcmp(code, "MANIFEST_UNKNOWN") == 0 ||
	                 strcmp(code, "NAME_UNKNOWN") == 0)) {
		bool extra = msg[0] && strcmp(msg, "manifest unknown") != 0;
		return cradle_err_set(err, CRADLE_NOT_FOUND, "pull %s: manifest unknown%s%s",
		                      p->ref, extra ? ": " : "", extra ? msg : "");
	}
	if (status == 404 || strcmp(code, "BLOB_UNKNOWN") == 0)
		return cradle_err_set(
			err, CRADLE_NOT_FOUND, "pull %s: %s %s: %s", p->ref, what, obj,
			strcmp(code, "NAME_UNKNOWN") == 0 ? "name unknown" : "blob unknown");
	if (status == 429 || strcmp(code, "TOOMANYREQUESTS") == 0)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "pull %s: too many requests (HTTP %ld from %s)", p->ref,
		                      status, url);
	return cradle_err_set(err, status >= 500 ? CRADLE_UNAVAILABLE : CRADLE_INVALID_ARGUMENT,
	                      "pull %s: %s %s: HTTP %ld from %s%s%s%s%s", p->ref, what, obj, status,
	                      url, code[0] ? ": " : "", code, msg[0] ? ": " : "", msg);
}

/* A token from the challenge's realm (with the endpoint's credentials as
 * Basic auth when there are some, anonymous otherwise); sets
 * p->auth_header. */
static int
fetch_token(struct puller *p, const char *www, struct cradle_err *err)
{
	struct challenge ch;
	struct xfer x = { 0 };
	char scope[600], *url = NULL, *q = NULL;
	char realm_host[300];
	json_object *root = NULL, *tok;
	const char *token = NULL;
	CURLU *u = NULL;
	long status = 0;
	int rc = -1;

	if (parse_challenge(www, &ch) < 0 || ch.realm[0] == '\0')
		return cradle_err_set(err, CRADLE_PERMISSION_DENIED,
		                      "pull %s: unauthorized: malformed challenge \"%s\"", p->ref,
		                      www);
	if (strncasecmp(ch.realm, "http://", 7) != 0 && strncasecmp(ch.realm, "https://", 8) != 0)
		return cradle_err_set(
			err, CRADLE_PERMISSION_DENIED,
			"pull %s: unauthorized: token realm \"%s\" is not an http(s) URL", p->ref,
			ch.realm);
	if (url_parts(ch.realm, NULL, 0, realm_host, sizeof(realm_host)) < 0)
		return cradle_err_set(err, CRADLE_PERMISSION_DENIED,
		                      "pull %s: unauthorized: token realm \"%s\" is not a URL",
		                      p->ref, ch.realm);
	if (is_https(p->base) && !is_https(ch.realm)) {
		/* the token request would leave TLS: only for a host the
		 * operator listed as plain HTTP */
		if (!host_insecure(realm_host, p->opts ? p->opts->insecure : NULL))
			return cradle_err_set(
				err, CRADLE_PERMISSION_DENIED,
				"pull %s: unauthorized: token realm \"%s\" is plain HTTP for an "
				"HTTPS registry (refused unless its host is in [registry] insecure)",
				p->ref, ch.realm);
	}
	if (ch.scope[0])
		snprintf(scope, sizeof(scope), "%s", ch.scope);
	else
		snprintf(scope, sizeof(scope), "repository:%s:pull", p->ir.repository);
	/* realm?service=...&scope=..., each value URL-encoded by curl_url */
	if (!(u = curl_url()))
		goto nomem;
	if (curl_url_set(u, CURLUPART_URL, ch.realm, 0) != CURLUE_OK) {
		cradle_err_set(err, CRADLE_PERMISSION_DENIED,
		               "pull %s: unauthorized: token realm \"%s\" is not a URL", p->ref,
		               ch.realm);
		goto out;
	}
	if (ch.service[0]) {
		if (asprintf(&q, "service=%s", ch.service) < 0) {
			q = NULL;
			goto nomem;
		}
		if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) !=
		    CURLUE_OK)
			goto nomem;
		free(q);
		q = NULL;
	}
	if (asprintf(&q, "scope=%s", scope) < 0) {
		q = NULL;
		goto nomem;
	}
	if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto nomem;
	p->token_req = true;
	rc = fetch(p, url, "application/json", false, TOKEN_MAX, NULL, -1, "token", &x, &status,
	           err);
	p->token_req = false;
	if (rc < 0)
		goto out;
	rc = -1;
	if (status != 200) {
		if ((status == 401 || status == 403) && p->creds.found)
			cradle_err_set(
				err, CRADLE_PERMISSION_DENIED,
				"pull %s: unauthorized: token server %s (for %s) refused the "
				"credentials %s (HTTP %ld)",
				p->ref, ch.realm, p->authority, p->creds_from, status);
		else
			cradle_err_set(err, CRADLE_PERMISSION_DENIED,
			               "pull %s: unauthorized: token server %s answered HTTP %ld",
			               p->ref, ch.realm, status);
		goto out;
	}
	root = x.buf ? json_tokener_parse(x.buf) : NULL;
	if (root && json_object_object_get_ex(root, "token", &tok) &&
	    json_object_is_type(tok, json_type_string) && json_object_get_string_len(tok) > 0)
		token = json_object_get_string(tok);
	else if (root && json_object_object_get_ex(root, "access_token", &tok) &&
	         json_object_is_type(tok, json_type_string) && json_object_get_string_len(tok) > 0)
		token = json_object_get_string(tok);
	if (!token) {
		cradle_err_set(err, CRADLE_PERMISSION_DENIED,
		               "pull %s: unauthorized: no token in the answer of %s", p->ref,
		               ch.realm);
		goto out;
	}
	for (const char *t = token; *t; t++) {
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f) {
			cradle_err_set(err, CRADLE_PERMISSION_DENIED,
			               "pull %s: unauthorized: malformed token from %s", p->ref,
			               ch.realm);
			goto out;
		}
	}
	free(p->auth_header);
	if (asprintf(&p->auth_header, "Authorization: Bearer %s", token) < 0) {
		p->auth_header = NULL;
		goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	cradle_err_nomem(err);
out:
	json_object_put(root);
	free(x.buf);
	free(q);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

/* --- manifests and blobs ---------------------------------------------------- */

/* <endpoint>/v2/<repository>/<kind>/<reference> built with curl_url (the
 * endpoint may carry a path prefix).  -1 when it does not fit. */
static int
endpoint_url(struct puller *p, const char *kind, const char *reference, char *buf, size_t len,
             struct cradle_err *err)
{
	CURLU *u = curl_url();
	char *path = NULL, *full = NULL, *url = NULL;
	int rc = -1;

	if (!u)
		return cradle_err_nomem(err);
	if (curl_url_set(u, CURLUPART_URL, p->base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "pull %s: endpoint %s is not a URL",
		               p->ref, p->base);
		goto out;
	}
	size_t pl = strlen(path);
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	if (asprintf(&full, "%.*s/v2/%s/%s/%s", (int)pl, path, p->ir.repository, kind, reference) <
	    0) {
		full = NULL;
		cradle_err_nomem(err);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_PATH, full, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		cradle_err_nomem(err);
		goto out;
	}
	if (strlen(url) >= len) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "pull %s: URL for %s %s too long",
		               p->ref, kind, reference);
		goto out;
	}
	memcpy(buf, url, strlen(url) + 1);
	rc = 0;
out:
	curl_free(path);
	curl_free(url);
	free(full);
	curl_url_cleanup(u);
	return rc;
}

/* GET a manifest (tag or digest) into x.  expected (may be NULL): the
 * bytes must hash to it. */
static int
get_manifest(struct puller *p, const char *reference, const char *expected, struct xfer *x,
             struct cradle_err *err)
{
	char url[2048], got[DIGEST_LEN + 1];
	long status;

	if (endpoint_url(p, "manifests", reference, url, sizeof(url), err) < 0)
		return -1;
	if (fetch(p, url, ACCEPT_MANIFESTS, true, MANIFEST_MAX, NULL, -1, "manifest", x, &status,
	          err) < 0)
		return -1;
	if (status < 200 || status >= 300)
		return http_error(p, status, x, "manifest", reference, url, err);
	if (!x->buf || x->len == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "pull %s: empty manifest from %s", p->ref, url);
	if (expected) {
		if (digest_of(x->buf, x->len, got) < 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "pull %s: manifest %s: failed to hash it", p->ref,
			                      reference);
		if (strcmp(got, expected) != 0)
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"pull %s: manifest %s: digest mismatch: expected %s, got %s",
				p->ref, reference, expected, got);
	}
	return 0;
}

static int
get_blob(struct puller *p, const char *what, const char *digest, int64_t size,
         struct cradle_err *err)
{
	char url[2048];
	struct xfer x = { 0 };
	long status = 0;
	int rc;

	if (!digest_valid(digest))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "pull %s: %s: invalid digest \"%s\"", p->ref, what, digest);
	if (content_has(p->c, digest)) {
		if (size > 0)
			p->done += (uint64_t)size;
		progress(p);
		return 0;
	}
	if (endpoint_url(p, "blobs", digest, url, sizeof(url), err) < 0)
		return -1;
	rc = fetch(p, url, NULL, true, 0, digest, size, what, &x, &status, err);
	if (rc == 0 && (status < 200 || status >= 300))
		rc = http_error(p, status, &x, what, digest, url, err);
	free(x.buf);
	return rc < 0 ? -1 : 0;
}

/* manifest.config.size, -1 when absent */
static int64_t
config_size(const char *json)
{
	json_object *root, *cfg, *sz;
	int64_t size = -1;

	root = json_tokener_parse(json);
	if (root && json_object_object_get_ex(root, "config", &cfg) &&
	    json_object_object_get_ex(cfg, "size", &sz) && json_object_is_type(sz, json_type_int))
		size = json_object_get_int64(sz);
	json_object_put(root);
	return size;
}

static bool
host_insecure(const char *registry, const char *list)
{
	const char *p = list;

	if (!list)
		return false;
	while (*p) {
		const char *end = strchr(p, ','), *s = p, *e;
		size_t n;
		if (!end)
			end = p + strlen(p);
		e = end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		n = (size_t)(e - s);
		if (n > 0) {
			/* "host:port" matches exactly; "host" matches any port */
			if (strlen(registry) == n && strncasecmp(registry, s, n) == 0)
				return true;
			if (!memchr(s, ':', n) && strncasecmp(registry, s, n) == 0 &&
			    registry[n] == ':')
				return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The image from the endpoint p is set up for: the manifest named by the
 * reference (an index picks this platform), then the config and layers. */
static int
pull_from(struct puller *p, struct oci_image *out, struct cradle_err *err)
{
	const char *ref = p->ref;
	struct xfer x = { 0 };
	char digest[DIGEST_LEN + 1], picked[DIGEST_LEN + 1];
	const char *expected = NULL;
	int64_t cfg_size;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	p->done = 0;
	p->total = -1;
	/* the manifest named by the reference; an index picks this platform */
	if (p->ir.digest[0])
		expected = p->ir.digest;
	if (get_manifest(p, p->ir.digest[0] ? p->ir.digest : p->ir.tag, expected, &x, err) < 0)
		goto out;
	if (oci_is_index(x.ctype, x.buf, x.len)) {
		struct oci_descriptor d;
		if (oci_pick_platform(x.buf, x.len, &d, err) < 0) {
			cradle_err_wrap(err, "pull %s", ref);
			goto out;
		}
		if (!digest_valid(d.digest)) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "pull %s: index names an invalid digest \"%s\"", ref,
			               d.digest);
			goto out;
		}
		memcpy(picked, d.digest, sizeof(picked));
		expected = picked;
		if (get_manifest(p, picked, expected, &x, err) < 0)
			goto out;
		if (d.size > 0 && (size_t)d.size != x.len) {
			cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"pull %s: manifest %s: size mismatch: expected %lld, got %zu", ref,
				picked, (long long)d.size, x.len);
			goto out;
		}
		if (oci_is_index(x.ctype, x.buf, x.len)) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "pull %s: manifest %s is an index inside an index", ref,
			               picked);
			goto out;
		}
	} else if (!expected && digest_valid(x.dcd)) {
		expected = x.dcd; /* the registry's Docker-Content-Digest */
	}
	if (oci_parse_manifest(x.buf, x.len, out, err) < 0) {
		cradle_err_wrap(err, "pull %s: manifest", ref);
		goto out;
	}
	if (content_put(p->c, x.buf, x.len, expected, digest, err) < 0) {
		cradle_err_wrap(err, "pull %s: manifest", ref);
		goto out;
	}
	memcpy(out->manifest_digest, digest, sizeof(digest));

	/* then the config and the layers, streamed and verified */
	cfg_size = config_size(x.buf);
	p->total = (int64_t)x.len + (cfg_size > 0 ? cfg_size : 0);
	for (i = 0; i < out->n_layers; i++)
		if (out->layers[i].size > 0)
			p->total += out->layers[i].size;
	p->done = x.len;
	progress(p);
	if (get_blob(p, "config", out->config_digest, cfg_size, err) < 0)
		goto out;
	for (i = 0; i < out->n_layers; i++)
		if (get_blob(p, "layer", out->layers[i].digest, out->layers[i].size, err) < 0)
			goto out;
	out->size = p->total;
	p->done = (uint64_t)p->total;
	progress(p);
	rc = 0;
out:
	if (rc < 0) {
		oci_image_fini(out);
		memset(out, 0, sizeof(*out));
	}
	free(x.buf);
	return rc;
}

/* Point p at an endpoint: base URL, authority, host settings (taken
 * over from *cfg), credentials (the pull's own only for the registry
 * itself; else the auth file's for lookup, the endpoint's certs.d name). */
static int
endpoint_begin(struct puller *p, const char *base, const char *authority, const char *lookup,
               bool registry, struct host_cfg *cfg, struct cradle_err *err)
{
	const struct pull_opts *o = p->opts;

	hosts_fini(&p->tls);
	p->tls = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	snprintf(p->base, sizeof(p->base), "%s", base);
	snprintf(p->authority, sizeof(p->authority), "%s", authority);
	free(p->auth_header);
	p->auth_header = NULL;
	p->basic = false;
	auth_creds_clear(&p->creds);
	p->creds_from[0] = '\0';
	if (registry && o && o->auth) {
		if (proto_auth_decode(o->auth, p->creds.user, p->creds.pass, err) < 0) {
			auth_creds_clear(&p->creds);
			cradle_err_wrap(err, "pull %s", p->ref);
			return -1;
		}
		p->creds.found = true;
		snprintf(p->creds_from, sizeof(p->creds_from), "given with the pull");
		return 0;
	}
	if (o && o->auth_file) {
		if (auth_lookup(o->auth_file, lookup, p->ir.repository, &p->creds, err) < 0) {
			cradle_err_wrap(err, "pull %s", p->ref);
			return -1;
		}
		if (p->creds.found)
			snprintf(p->creds_from, sizeof(p->creds_from),
			         "of auth file %s (key \"%.200s\")", o->auth_file, p->creds.key);
	}
	return 0;
}

int
pull_image(struct content *c, const char *ref, const struct pull_opts *opts, struct oci_image *out,
           struct cradle_err *err)
{
	struct puller p = { 0 };
	struct host_cfg reg = { 0 }, mcfg;
	char base[HOSTS_URL_MAX];
	size_t n_mirrors, i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (image_ref_parse(ref, &p.ir, err) < 0)
		return -1;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return cradle_err_set(err, CRADLE_INTERNAL, "pull %s: curl_global_init: %s", ref,
		                      curl_easy_strerror(curl_init_rc));
	p.c = c;
	p.opts = opts;
	p.ref = ref;
	p.total = -1;
	p.timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	p.deadline_ms = opts && opts->deadline_ms > 0 ? opts->deadline_ms : 0;
	p.deadline = (clock_mono_ns() / 1000000) + p.deadline_ms;
	/* the registry's own settings: <config_path>/<domain>/ */
	if (hosts_load(opts ? opts->config_path : NULL, p.ir.domain, &reg, err) < 0) {
		cradle_err_wrap(err, "pull %s: registry %s", ref, p.ir.domain);
		return -1;
	}
	if (!(p.h = curl_easy_init())) {
		hosts_fini(&reg);
		return cradle_err_set(err, CRADLE_INTERNAL, "pull %s: curl_easy_init failed", ref);
	}
	n_mirrors = reg.n_mirrors;
	/* the mirrors in order, then the registry itself */
	for (i = 0; i <= n_mirrors; i++) {
		bool last = i == n_mirrors;
		if (!last) {
			char authority[300];
			if (hosts_check_url(reg.mirrors[i], base, sizeof(base), authority,
			                    sizeof(authority), err) < 0 ||
			    hosts_load(opts->config_path, authority, &mcfg, err) < 0) {
				cradle_err_wrap(err, "pull %s: mirror %s", ref, reg.mirrors[i]);
				goto out;
			}
			rc = endpoint_begin(&p, base, authority, authority, false, &mcfg, err);
			hosts_fini(&mcfg);
		} else {
			bool plain = reg.insecure ||
			             host_insecure(p.ir.registry, opts ? opts->insecure : NULL);
			snprintf(base, sizeof(base), "%s://%s", plain ? "http" : "https",
			         p.ir.registry);
			rc = endpoint_begin(&p, base, p.ir.registry, p.ir.domain, true, &reg, err);
		}
		if (rc == 0)
			rc = pull_from(&p, out, err);
		if (rc == 0 || last || cancelled(&p) || left_ms(&p) == 0)
			break;
		/* a mirror that failed: the next endpoint */
	}
	if (rc < 0 && n_mirrors > 0 && i == n_mirrors) {
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, " (after %zu mirror%s failed)",
		         n_mirrors, n_mirrors == 1 ? "" : "s");
	}
out:
	free(p.auth_header);
	auth_creds_clear(&p.creds);
	hosts_fini(&p.tls);
	hosts_fini(&reg);
	for (i = 0; i < TLS_CACHE; i++)
		hosts_fini(&p.other[i].cfg);
	curl_easy_cleanup(p.h);
	return rc;
}
