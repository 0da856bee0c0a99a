/* test_registry_auth.c - private registries against Debian's
 * docker-registry on loopback: htpasswd (bcrypt) Basic auth, TLS with a
 * CA, server and client certificates made here with the openssl CLI,
 * credentials from an auth.json and with the pull (libcradle's
 * cradle_image_pull_creds), the per-host directory of [registry]
 * config_path (CA, client certificate, hosts.conf: mirrors, insecure).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

#define USER "puller"
#define PASS "pa:ss w0rd!"                  /* a ':' and a space: split on the first ':' */
#define PASS_B64 "cHVsbGVyOnBhOnNzIHcwcmQh" /* base64("puller:pa:ss w0rd!") */

static struct it_daemon D;
static struct it_registry R = { .pid = -1 }, M = { .pid = -1 };
static char pki[256];  /* ca.crt, server.*, client.*, htpasswd */
static char conf[256]; /* certs.d/ and auth.json of the daemon */

static void
teardown(void)
{
	/* the registries first: it_cleanup fails on a child left running */
	it_registry_stop(&R);
	it_registry_stop(&M);
	it_cleanup(&D);
	if (pki[0])
		it_sh("rm -rf '%s'", pki);
	if (conf[0])
		it_sh("rm -rf '%s'", conf);
	pki[0] = conf[0] = '\0';
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate it
 * signed, and an htpasswd with USER's bcrypt hash; conf/certs.d made. */
static void
make_pki(void)
{
	char path[400];

	snprintf(pki, sizeof(pki), IT_TMP_PREFIX "pki-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(pki));
	snprintf(conf, sizeof(conf), IT_TMP_PREFIX "conf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(conf));
	snprintf(path, sizeof(path), "%s/certs.d", conf);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/server.ext", pki);
	write_file(path, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
	snprintf(path, sizeof(path), "%s/client.ext", pki);
	write_file(path, "extendedKeyUsage=clientAuth\n");
	ck_assert_int_eq(
		it_sh("( cd '%s' && "
	              "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	              "-keyout ca.key -out ca.crt -days 2 -subj /CN=cradle-test-ca && "
	              "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	              "-keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
	              "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	              "-out server.crt -days 2 -extfile server.ext && "
	              "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	              "-keyout client.key -out client.csr -subj /CN=cradle-client && "
	              "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	              "-out client.cert -days 2 -extfile client.ext && "
	              "mkdir push && cp ca.crt client.cert client.key push/ ) >/dev/null 2>&1",
	              pki),
		0);
	/* bcrypt ($2b$, cost 4: the registry checks it at every request) */
	ck_assert_int_eq(it_sh("python3 -W ignore -c 'import crypt, sys; "
	                       "print(\"%s:\" + crypt.crypt(sys.argv[1], "
	                       "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' '%s' "
	                       "> '%s/htpasswd'",
	                       USER, PASS, pki),
	                 0);
}

static const char *
pkif(const char *name)
{
	static char buf[8][400];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, sizeof(buf[0]), "%s/%s", pki, name);
	return b;
}

/* the pause archive as 127.0.0.1:<port>/pause:<tag> over TLS (skopeo:
 * no verification, the client certificate and the credentials) */
static void
push_tls(const struct it_registry *r, const char *tag, bool creds)
{
	ck_assert_int_eq(it_sh("skopeo copy -q --dest-tls-verify=false --dest-cert-dir '%s/push' "
	                       "%s%s%s oci-archive:%s docker://127.0.0.1:%d/pause:%s >/dev/null "
	                       "2>&1",
	                       pki, creds ? "--dest-creds '" USER ":" : "", creds ? PASS : "",
	                       creds ? "'" : "", it_bin("pause.oci.tar"), r->port, tag),
	                 0);
}

/* <conf>/certs.d/127.0.0.1:<port>/, made */
static const char *
hostdir(int port)
{
	static char dir[400];
	snprintf(dir, sizeof(dir), "%s/certs.d/127.0.0.1:%d", conf, port);
	mkdir(dir, 0755);
	return dir;
}

static void
host_file(int port, const char *name, const char *text)
{
	char path[500];
	snprintf(path, sizeof(path), "%s/%s", hostdir(port), name);
	write_file(path, text);
}

static void
copy_to_host(int port, const char *from, const char *name)
{
	ck_assert_int_eq(it_sh("cp '%s' '%s/%s'", pkif(from), hostdir(port), name), 0);
}

static void
start_daemon(void)
{
	char text[1200];
	snprintf(text, sizeof(text),
	         "[registry]\nconfig_path = %s/certs.d\nauth_file = %s/auth.json\n", conf, conf);
	it_start_with(&D, NULL, text);
}

/* pull ref (creds/auth as cradle_image_pull_creds takes them); 0 or the
 * status, err filled */
static int
pull(const char *ref, const char *creds, const char *auth, struct cradle_error *err)
{
	struct cradle_image *img = NULL;
	int rc = cradle_image_pull_creds(D.conn, ref, creds, auth, &img, err);
	if (rc == 0) {
		ck_assert_str_eq(cradle_image_ref(img), ref);
		ck_assert_uint_eq(cradle_image_layer_count(img), 1);
		cradle_image_free(img);
		/* gone again, so the next pull asks the registry */
		ck_assert_msg(cradle_image_remove(D.conn, ref, err) == 0, "%s", err->message);
		return 0;
	}
	return err->code;
}

START_TEST(test_htpasswd_auth_creds_and_auth_file)
{
	struct it_registry_opts o = { .tls_cert = NULL };
	struct cradle_error err;
	char ref[512], host[64], text[1024];

	make_pki();
	o.htpasswd = pkif("htpasswd");
	o.tls_cert = pkif("server.crt");
	o.tls_key = pkif("server.key");
	it_registry_start_opts(&R, &o);
	push_tls(&R, "a1", true);
	copy_to_host(R.port, "ca.crt", "ca.crt");
	start_daemon();
	snprintf(host, sizeof(host), "127.0.0.1:%d", R.port);
	snprintf(ref, sizeof(ref), "%s/pause:a1", host);

	/* no credentials anywhere: refused, naming the host */
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.message, "unauthorized") && strstr(err.message, host), "%s",
	              err.message);
	/* with the pull: user:password, then the base64 form */
	ck_assert_msg(pull(ref, USER ":" PASS, NULL, &err) == 0, "%s", err.message);
	ck_assert_msg(pull(ref, NULL, PASS_B64, &err) == 0, "%s", err.message);
	/* the CLI's --creds and --auth (crictl's) reach the same call */
	char out[2048];
	ck_assert_msg(it_cli(&D, out, sizeof(out), "pull --creds '%s' %s", USER ":" PASS, ref) == 0,
	              "%s", out);
	ck_assert_msg(cradle_image_remove(D.conn, ref, &err) == 0, "%s", err.message);
	ck_assert_msg(it_cli(&D, out, sizeof(out), "pull --auth %s %s", PASS_B64, ref) == 0, "%s",
	              out);
	ck_assert_msg(cradle_image_remove(D.conn, ref, &err) == 0, "%s", err.message);
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "pull --creds " USER ":nope %s", ref), 0);
	ck_assert_msg(strstr(out, "unauthorized") && !strstr(out, "nope"), "%s", out);
	/* a wrong password: refused, the password in no message */
	ck_assert_int_eq(pull(ref, USER ":wrong-secret", NULL, &err),
	                 CRADLE_STATUS_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.message, "refused the credentials given with the pull"), "%s",
	              err.message);
	ck_assert_ptr_null(strstr(err.message, "wrong-secret"));
	/* both forms at once, or a bad one: refused before the wire */
	ck_assert_int_eq(pull(ref, USER ":" PASS, PASS_B64, &err), CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_int_eq(pull(ref, NULL, "not*base64", &err), CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "auth: not base64"), "%s", err.message);
	ck_assert_int_eq(pull(ref, ":nouser", NULL, &err), CRADLE_STATUS_INVALID_ARGUMENT);

	/* auth.json (podman's format), read at every pull: the most specific
	 * key wins */
	snprintf(text, sizeof(text),
	         "{\"auths\": {\"%s\": {\"auth\": \"%s\"},\n"
	         " \"%s/pause\": {\"auth\": \"cHVsbGVyOndyb25nLXNlY3JldA==\"}}}\n",
	         host, PASS_B64, host);
	snprintf(ref, sizeof(ref), "%s/auth.json", conf);
	write_file(ref, text);
	snprintf(ref, sizeof(ref), "%s/pause:a1", host);
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.message, "auth.json") && strstr(err.message, host) &&
	                      strstr(err.message, "/pause\""),
	              "%s", err.message);
	ck_assert_ptr_null(strstr(err.message, "wrong-secret"));
	/* the pull's own win over the file's */
	ck_assert_msg(pull(ref, USER ":" PASS, NULL, &err) == 0, "%s", err.message);
	snprintf(text, sizeof(text), "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n", host, PASS_B64);
	snprintf(ref, sizeof(ref), "%s/auth.json", conf);
	write_file(ref, text);
	snprintf(ref, sizeof(ref), "%s/pause:a1", host);
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
	/* a broken auth.json: an error naming it */
	snprintf(ref, sizeof(ref), "%s/auth.json", conf);
	write_file(ref, "{\"auths\": {");
	snprintf(ref, sizeof(ref), "%s/pause:a1", host);
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.message, "auth.json: not valid JSON at byte 11: unexpected end"),
	              "%s", err.message);

	/* no secret in the daemon's log (each pull logs a line) */
	ck_assert(it_log_contains(&D, "image.pull"));
	ck_assert(!it_log_contains(&D, PASS));
	ck_assert(!it_log_contains(&D, PASS_B64));
	ck_assert(!it_log_contains(&D, "wrong-secret"));
}
END_TEST

START_TEST(test_tls_ca_from_certs_d)
{
	struct it_registry_opts o = { .tls_cert = NULL };
	struct cradle_error err;
	char ref[128], want[512];

	make_pki();
	o.tls_cert = pkif("server.crt");
	o.tls_key = pkif("server.key");
	it_registry_start_opts(&R, &o);
	push_tls(&R, "t1", false);
	start_daemon();
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:t1", R.port);
	/* the system's CAs do not know ours: a clear verify error */
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_UNAVAILABLE);
	snprintf(want, sizeof(want), "certificate verify failed for 127.0.0.1:%d", R.port);
	ck_assert_msg(strstr(err.message, want), "%s", err.message);
	/* the CA in the host's directory: read at the next pull */
	copy_to_host(R.port, "ca.crt", "my-ca.crt");
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
	/* skip_verify instead of the CA */
	snprintf(want, sizeof(want), "%s/my-ca.crt", hostdir(R.port));
	ck_assert_int_eq(unlink(want), 0);
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_UNAVAILABLE);
	host_file(R.port, "hosts.conf", "# test\nskip_verify = true\n");
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
}
END_TEST

START_TEST(test_client_certificate)
{
	struct it_registry_opts o = { .tls_cert = NULL };
	struct cradle_error err;
	char ref[128];

	make_pki();
	o.tls_cert = pkif("server.crt");
	o.tls_key = pkif("server.key");
	o.client_ca = pkif("ca.crt");
	o.client_cert = pkif("client.cert");
	o.client_key = pkif("client.key");
	it_registry_start_opts(&R, &o);
	push_tls(&R, "c1", false);
	copy_to_host(R.port, "ca.crt", "ca.crt");
	start_daemon();
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:c1", R.port);
	/* no client certificate: the server refuses after the handshake, and
	 * the error says what to do.  Whether the client reads the server's
	 * alert first or fails writing the request is a race (TLS 1.3), so
	 * either of the two hints; both name the file to give. */
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_UNAVAILABLE);
	ck_assert_msg(strstr(err.message, ref) &&
	                      (strstr(err.message, "refused the client certificate (none was "
	                                           "offered)") ||
	                       strstr(err.message, "closed the connection after the TLS "
	                                           "handshake (if it requires a client "
	                                           "certificate, none was offered")) &&
	                      strstr(err.message, "/client.cert and client.key"),
	              "%s", err.message);
	/* client.cert without client.key: a clear error naming the dir */
	copy_to_host(R.port, "client.cert", "client.cert");
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.message, "client.cert without client.key"), "%s", err.message);
	copy_to_host(R.port, "client.key", "client.key");
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
}
END_TEST

START_TEST(test_mirror_then_host_and_insecure_from_hosts_conf)
{
	struct cradle_error err;
	char ref[128], text[512];

	make_pki();
	it_registry_start(&R); /* the registry, plain HTTP */
	it_registry_start(&M); /* its mirror, plain HTTP */
	it_registry_push_pause(&R, "both");
	it_registry_push_pause(&M, "both");
	it_registry_push_pause(&M, "mirror-only");
	it_registry_push_pause(&R, "host-only");
	start_daemon();
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:both", R.port);
	/* plain HTTP only when the host's hosts.conf says so */
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_UNAVAILABLE);
	ck_assert_msg(strstr(err.message, "does not speak TLS (plain HTTP? insecure = true in"),
	              "%s", err.message);
	host_file(R.port, "hosts.conf", "insecure = true\n");
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);

	/* the mirror first: what only it has comes through the host's name */
	snprintf(text, sizeof(text), "insecure = true\nmirrors = http://127.0.0.1:%d\n", M.port);
	host_file(R.port, "hosts.conf", text);
	int host_before = it_registry_log_count(&R, "/v2/pause/manifests/both");
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
	ck_assert_int_ge(it_registry_log_count(&M, "/v2/pause/manifests/both"), 1);
	ck_assert_int_eq(it_registry_log_count(&R, "/v2/pause/manifests/both"), host_before);
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:mirror-only", R.port);
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
	/* what the mirror lacks: then the host */
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:host-only", R.port);
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
	ck_assert_int_ge(it_registry_log_count(&M, "/v2/pause/manifests/host-only"), 1);
	ck_assert_int_ge(it_registry_log_count(&R, "/v2/pause/manifests/host-only"), 1);
	/* a mirror that is down: the host */
	it_registry_stop(&M);
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:both", R.port);
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
	/* neither has it: the host's answer, the mirrors counted */
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:none", R.port);
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_NOT_FOUND);
	ck_assert_msg(strstr(err.message, "manifest unknown") &&
	                      strstr(err.message, "after 1 mirror failed"),
	              "%s", err.message);

	/* a bad hosts.conf: its file and line */
	host_file(R.port, "hosts.conf", "insecure = true\n\nmirrors = ftp://x\n");
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_FAILED_PRECONDITION);
	snprintf(text, sizeof(text), "127.0.0.1:%d/hosts.conf:3: mirrors", R.port);
	ck_assert_msg(strstr(err.message, text), "%s", err.message);
	host_file(R.port, "hosts.conf", "insecure = maybe\n");
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_FAILED_PRECONDITION);
	snprintf(text, sizeof(text), "127.0.0.1:%d/hosts.conf:1: insecure", R.port);
	ck_assert_msg(strstr(err.message, text), "%s", err.message);
}
END_TEST

/* SIGHUP applies a new config_path (and says so); the files below it
 * need none. */
START_TEST(test_reload_config_path)
{
	struct cradle_error err;
	char ref[128], path[700], want[600];

	make_pki();
	it_registry_start(&R);
	it_registry_push_pause(&R, "r1");
	start_daemon();
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:r1", R.port);
	ck_assert_int_eq(pull(ref, NULL, NULL, &err), CRADLE_STATUS_UNAVAILABLE);
	/* another directory, with the host's hosts.conf */
	snprintf(path, sizeof(path), "%s/other", conf);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/other/127.0.0.1:%d", conf, R.port);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/other/127.0.0.1:%d/hosts.conf", conf, R.port);
	write_file(path, "insecure = true\n");
	snprintf(path, sizeof(path), "%s.d", D.config);
	ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s.d/50-registry.conf", D.config);
	snprintf(want, sizeof(want), "[registry]\nconfig_path = %s/other\n", conf);
	write_file(path, want);
	snprintf(want, sizeof(want), "config reload: [registry] config_path %s/certs.d -> %s/other",
	         conf, conf);
	ck_assert_int_eq(kill(D.pid, SIGHUP), 0);
	for (int i = 0; i < it_ms(10000) / 10 && !it_log_contains(&D, want); i++)
		it_sleep_ms(10);
	ck_assert_msg(it_log_contains(&D, want), "no \"%s\" in %s/cradled.log", want, D.dir);
	ck_assert_msg(pull(ref, NULL, NULL, &err) == 0, "%s", err.message);
}
END_TEST

static Suite *
registry_auth_suite(void)
{
	Suite *s = suite_create("registry_auth");
	TCase *tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_htpasswd_auth_creds_and_auth_file);
	tcase_add_test(tc, test_tls_ca_from_certs_d);
	tcase_add_test(tc, test_client_certificate);
	tcase_add_test(tc, test_mirror_then_host_and_insecure_from_hosts_conf);
	tcase_add_test(tc, test_reload_config_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr,
		        "test_registry_auth: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(registry_auth_suite());
}
