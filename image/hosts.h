/* hosts.h - per-registry settings below [registry] config_path.
 *
 * <config_path>/<host[:port]>/ (the registry's name as references spell
 * it: docker.io for Docker Hub; "host" for a registry on the default
 * port), with Docker's file names:
 *   *.crt        CA certificates (PEM) for that host: together they
 *                replace the system's CAs (and [registry] ca_file) for it;
 *   client.cert  client certificate (PEM) with its key client.key, offered
 *                when the host asks for one;
 *   hosts.conf   settings, one "key = value" a line, '#' starts a comment
 *                line, blank lines ignored:
 *                  insecure = true|false     plain HTTP for this host
 *                  skip_verify = true|false  HTTPS without verifying the
 *                                            host's certificate
 *                  mirrors = URL[, URL...]   endpoints tried in order
 *                                            before the host itself
 *                                            (http:// or https://, an
 *                                            optional path prefix before
 *                                            /v2/); repeatable, appending.
 * A missing directory or file means no setting.  The directory is read at
 * every pull (no reload needed).  Anything else is an error naming the
 * file (and the line): unknown keys, repeated scalars, bad values, more
 * than HOSTS_MAX_MIRRORS mirrors, client.cert without client.key.
 */
#ifndef CRADLE_HOSTS_H
#define CRADLE_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/err.h"

#define HOSTS_FILE "hosts.conf"
#define HOSTS_MAX_MIRRORS 8
#define HOSTS_URL_MAX 512
#define HOSTS_PATH_MAX 4500
#define HOSTS_CONF_MAX (64u << 10) /* bytes in hosts.conf */
#define HOSTS_CA_MAX (1u << 20)    /* bytes of all *.crt of one host */

struct host_cfg {
	char *ca_pem; /* the *.crt files, concatenated (sorted by name); NULL: none */
	size_t ca_len;
	char client_cert[HOSTS_PATH_MAX + 32]; /* "" none */
	char client_key[HOSTS_PATH_MAX + 32];
	bool insecure, skip_verify;
	size_t n_mirrors;
	char mirrors[HOSTS_MAX_MIRRORS][HOSTS_URL_MAX]; /* "scheme://authority[/path]" */
};

/* Load host's settings; *out is zeroed first (then hosts_fini it). */
int hosts_load(const char *config_path, const char *host, struct host_cfg *out,
               struct cradle_err *err);
/* Parse a hosts.conf text (len bytes) into out; file names it. */
int hosts_parse(const char *file, const char *text, size_t len, struct host_cfg *out,
                struct cradle_err *err);
void hosts_fini(struct host_cfg *c);

/* A mirror or endpoint URL: http(s), a host, no user, query or fragment;
 * out gets it normalised (no trailing '/'), authority "host[:port]". */
int hosts_check_url(const char *url, char *out, size_t out_len, char *authority, size_t auth_len,
                    struct cradle_err *err);

#endif
