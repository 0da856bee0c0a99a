/* test_registry_files.c - what a private registry's files mean: the
 * credentials of a containers-auth.json (image/auth.h), the per-host
 * directory and its hosts.conf (image/hosts.h), and image.pull's "auth"
 * field (proto_auth_decode, proto_auth_from_creds, the codec).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/auth.h"
#include "image/hosts.h"
#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

static struct {
	char dir[PATH_MAX];
	struct cradle_err err;
	struct auth_creds cr;
	struct host_cfg hc;
} F;

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	unit_scratch_setup();
	snprintf(F.dir, sizeof(F.dir), "%s", unit_test_dir());
}

static void
teardown(void)
{
	hosts_fini(&F.hc);
	auth_creds_clear(&F.cr);
	unit_scratch_teardown();
}

static int
lookup(const char *json, const char *host, const char *repo)
{
	memset(&F.err, 0, sizeof(F.err));
	return auth_lookup_text("/x/auth.json", json, strlen(json), host, repo, &F.cr, &F.err);
}

/* --- auth.json ------------------------------------------------------------ */

/* base64: a:b = YTpi, c:d = Yzpk, e:f = ZTpm, g:h = Zzpo */
static const char AUTHS[] = "{\"auths\": {"
			    " \"reg.example:5000\": {\"auth\": \"YTpi\"},"
			    " \"reg.example:5000/team\": {\"auth\": \"Yzpk\"},"
			    " \"reg.example:5000/team/app\": {\"auth\": \"ZTpm\"},"
			    " \"https://index.docker.io/v1/\": {\"auth\": \"Zzpo\"}"
			    "}, \"credHelpers\": {\"x\": \"y\"}}";

START_TEST(test_auth_most_specific_key_wins)
{
	ck_assert_int_eq(lookup(AUTHS, "reg.example:5000", "team/app"), 0);
	ck_assert(F.cr.found);
	ck_assert_str_eq(F.cr.user, "e");
	ck_assert_str_eq(F.cr.pass, "f");
	ck_assert_str_eq(F.cr.key, "reg.example:5000/team/app");
	ck_assert_int_eq(lookup(AUTHS, "reg.example:5000", "team/app/sub"), 0);
	ck_assert_str_eq(F.cr.user, "e");
	ck_assert_int_eq(lookup(AUTHS, "reg.example:5000", "team/other"), 0);
	ck_assert_str_eq(F.cr.user, "c");
	/* whole components only: team/apple is not below team/app */
	ck_assert_int_eq(lookup(AUTHS, "reg.example:5000", "team/apple"), 0);
	ck_assert_str_eq(F.cr.user, "c");
	ck_assert_int_eq(lookup(AUTHS, "reg.example:5000", "teams/x"), 0);
	ck_assert_str_eq(F.cr.user, "a");
	/* another port is another registry */
	ck_assert_int_eq(lookup(AUTHS, "reg.example", "team/app"), 0);
	ck_assert(!F.cr.found);
	ck_assert_int_eq(lookup(AUTHS, "reg.example:50001", "x"), 0);
	ck_assert(!F.cr.found);
	/* docker's legacy key counts as docker.io */
	ck_assert_int_eq(lookup(AUTHS, "docker.io", "library/busybox"), 0);
	ck_assert(F.cr.found);
	ck_assert_str_eq(F.cr.user, "g");
	ck_assert_str_eq(F.cr.pass, "h");
}
END_TEST

START_TEST(test_auth_empty_and_missing)
{
	ck_assert_int_eq(lookup("{}", "h", "r"), 0);
	ck_assert(!F.cr.found);
	ck_assert_int_eq(lookup("{\"auths\": {}}\n\n", "h", "r"), 0);
	ck_assert(!F.cr.found);
	/* no password: "user" alone */
	ck_assert_int_eq(lookup("{\"auths\": {\"h\": {\"auth\": \"dXNlcg==\"}}}", "h", "r"), 0);
	ck_assert(F.cr.found);
	ck_assert_str_eq(F.cr.user, "user");
	ck_assert_str_eq(F.cr.pass, "");
	/* a missing file is no credentials; a directory is an error */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/none.json", F.dir);
	ck_assert_int_eq(auth_lookup(path, "h", "r", &F.cr, &F.err), 0);
	ck_assert(!F.cr.found);
	ck_assert_int_lt(auth_lookup(F.dir, "h", "r", &F.cr, &F.err), 0);
	ck_assert_int_eq(F.err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_msg(strstr(F.err.msg, F.dir), "%s", F.err.msg);
	/* a real file, read whole */
	snprintf(path, sizeof(path), "%s/auth.json", F.dir);
	unit_put_str(path, AUTHS);
	ck_assert_int_eq(auth_lookup(path, "reg.example:5000", "x", &F.cr, &F.err), 0);
	ck_assert_str_eq(F.cr.user, "a");
}
END_TEST

START_TEST(test_auth_bad_files_named_never_the_secret)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "{\"auths\": {", "/x/auth.json: not valid JSON" },
		{ "[]", "/x/auth.json: the top level is not a JSON object" },
		{ "{\"auths\": []}", "\"auths\" is not a JSON object" },
		{ "{} x", "/x/auth.json: not valid JSON" },
		{ "{\"auths\": {\"h\": {\"identitytoken\": \"s3cret\"}}}",
		  "auths[\"h\"] has no \"auth\" string" },
		{ "{\"auths\": {\"h\": {\"auth\": \"czNjcmV0\"}}}", /* "s3cret": no ':' is a user */
		  NULL },
		{ "{\"auths\": {\"h\": {\"auth\": \"s3cret!!\"}}}",
		  "auths[\"h\"]: auth: not base64" },
		{ "{\"auths\": {\"h\": {\"auth\": \"OnMzY3JldA==\"}}}", /* ":s3cret" */
		  "auths[\"h\"]: auth: the user name is empty" },
		{ "{\"auths\": {\"h\": {\"auth\": \"dQpzM2NyZXQ=\"}}}", /* "u\ns3cret" */
		  "control character" },
		{ "{\"auths\": {\"h\": {\"auth\": \"dTpzAGNyZXQ=\"}}}", /* "u:s\0cret" */
		  "NUL byte" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = lookup(bad[i].json, "h", "r");
		if (!bad[i].want) {
			ck_assert_int_eq(rc, 0);
			continue;
		}
		ck_assert_msg(rc < 0, "%zu: %s accepted", i, bad[i].json);
		ck_assert_int_eq(F.err.code, CRADLE_FAILED_PRECONDITION);
		ck_assert_msg(strstr(F.err.msg, bad[i].want), "%zu: %s", i, F.err.msg);
		ck_assert_msg(strstr(F.err.msg, "/x/auth.json"), "%zu: %s", i, F.err.msg);
		ck_assert_msg(!strstr(F.err.msg, "s3cret") && !strstr(F.err.msg, "czNjcmV0"),
		              "%zu: %s", i, F.err.msg);
		ck_assert(!F.cr.found);
		ck_assert_str_eq(F.cr.pass, "");
	}
	/* a bad entry that does not match is not looked at */
	ck_assert_int_eq(
		lookup("{\"auths\": {\"other\": {\"auth\": 5}, \"h\": {\"auth\": \"YTpi\"}}}", "h",
	               "r"),
		0);
	ck_assert_str_eq(F.cr.user, "a");
}
END_TEST

/* --- hosts.conf ----------------------------------------------------------- */

static int
parse(const char *text)
{
	hosts_fini(&F.hc);
	memset(&F.err, 0, sizeof(F.err));
	return hosts_parse("/c/h/hosts.conf", text, strlen(text), &F.hc, &F.err);
}

START_TEST(test_hosts_parse)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert(!F.hc.insecure && !F.hc.skip_verify && F.hc.n_mirrors == 0);
	ck_assert_int_eq(parse("# comment\n\n  ; also\ninsecure = true\r\nskip_verify=no\n"
	                       "mirrors = https://m1.example:5000/, http://10.0.0.5:80/prefix/\n"
	                       "mirrors = https://[::1]:5001"),
	                 0);
	ck_assert(F.hc.insecure);
	ck_assert(!F.hc.skip_verify);
	ck_assert_uint_eq(F.hc.n_mirrors, 3);
	ck_assert_str_eq(F.hc.mirrors[0], "https://m1.example:5000");
	ck_assert_str_eq(F.hc.mirrors[1], "http://10.0.0.5:80/prefix");
	ck_assert_str_eq(F.hc.mirrors[2], "https://[::1]:5001");
}
END_TEST

START_TEST(test_hosts_parse_errors_name_file_and_line)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "insecure = true\nbogus = 1\n", "/c/h/hosts.conf:2: unknown key \"bogus\"" },
		{ "insecure\n", "/c/h/hosts.conf:1: expected \"key = value\"" },
		{ "\n\ninsecure = maybe\n", "/c/h/hosts.conf:3: insecure: \"maybe\" is not true" },
		{ "insecure = true\ninsecure = false\n",
		  "/c/h/hosts.conf:2: insecure given twice" },
		{ "mirrors =\n", "/c/h/hosts.conf:1: mirrors: empty" },
		{ "mirrors = ftp://m\n", "/c/h/hosts.conf:1: mirrors: \"ftp://m\": only http" },
		{ "mirrors = https://u:p@m\n",
		  "/c/h/hosts.conf:1: mirrors: \"https://u:p@m\": a URL" },
		{ "mirrors = https://m/?q=1\n", "/c/h/hosts.conf:1: mirrors" },
		{ "mirrors = not a url\n", "/c/h/hosts.conf:1: mirrors" },
		{ "mirrors = http://a http://b http://c http://d http://e http://f http://g "
		  "http://h http://i\n",
		  "/c/h/hosts.conf:1: more than 8 mirrors" },
		{ "skip_verify = true\x01\n", "/c/h/hosts.conf:1: control character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i].text) < 0, "%zu accepted", i);
		ck_assert_int_eq(F.err.code, CRADLE_FAILED_PRECONDITION);
		ck_assert_msg(strstr(F.err.msg, bad[i].want), "%zu: %s", i, F.err.msg);
	}
	/* a line too long, a NUL byte */
	char *big = malloc(5000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	ck_assert_int_lt(parse(big), 0);
	ck_assert_msg(strstr(F.err.msg, "/c/h/hosts.conf:1: line longer than"), "%s", F.err.msg);
	free(big);
	ck_assert_int_lt(hosts_parse("/f", "insecure = true\n\0x", 18, &F.hc, &F.err), 0);
	ck_assert_msg(strstr(F.err.msg, "/f:2: control character"), "%s", F.err.msg);
}
END_TEST

static const char PEM[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

START_TEST(test_hosts_load_dir)
{
	char dir[PATH_MAX + 64], path[PATH_MAX + 128];

	/* no dir, or no config_path: nothing */
	ck_assert_int_eq(hosts_load(F.dir, "reg:5000", &F.hc, &F.err), 0);
	ck_assert_ptr_null(F.hc.ca_pem);
	ck_assert_int_eq(hosts_load(NULL, "reg:5000", &F.hc, &F.err), 0);
	/* host names that would leave config_path */
	ck_assert_int_lt(hosts_load(F.dir, "..", &F.hc, &F.err), 0);
	ck_assert_int_lt(hosts_load(F.dir, "a/b", &F.hc, &F.err), 0);

	snprintf(dir, sizeof(dir), "%s/reg:5000", F.dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/b.crt", dir);
	unit_put_str(path, PEM);
	snprintf(path, sizeof(path), "%s/a.crt", dir);
	unit_put_str(path, PEM);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	unit_put_str(path, "ignored");
	snprintf(path, sizeof(path), "%s/hosts.conf", dir);
	unit_put_str(path, "skip_verify = true\nmirrors = http://m:1\n");
	ck_assert_msg(hosts_load(F.dir, "reg:5000", &F.hc, &F.err) == 0, "%s", F.err.msg);
	ck_assert_uint_eq(F.hc.ca_len, 2 * (sizeof(PEM) - 1) + 2);
	ck_assert(F.hc.skip_verify);
	ck_assert_uint_eq(F.hc.n_mirrors, 1);
	ck_assert_str_eq(F.hc.client_cert, "");
	hosts_fini(&F.hc);

	/* client.cert needs client.key */
	snprintf(path, sizeof(path), "%s/client.cert", dir);
	unit_put_str(path, PEM);
	ck_assert_int_lt(hosts_load(F.dir, "reg:5000", &F.hc, &F.err), 0);
	ck_assert_msg(strstr(F.err.msg, "client.cert without client.key") && strstr(F.err.msg, dir),
	              "%s", F.err.msg);
	snprintf(path, sizeof(path), "%s/client.key", dir);
	unit_put_str(path, "key");
	ck_assert_int_eq(hosts_load(F.dir, "reg:5000", &F.hc, &F.err), 0);
	snprintf(path, sizeof(path), "%s/client.cert", dir);
	ck_assert_str_eq(F.hc.client_cert, path);
	hosts_fini(&F.hc);

	/* a *.crt without a certificate; a bad hosts.conf */
	snprintf(path, sizeof(path), "%s/c.crt", dir);
	unit_put_str(path, "junk");
	ck_assert_int_lt(hosts_load(F.dir, "reg:5000", &F.hc, &F.err), 0);
	ck_assert_msg(strstr(F.err.msg, "c.crt: no PEM certificate"), "%s", F.err.msg);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/hosts.conf", dir);
	unit_put_str(path, "\nmirror = http://x\n");
	ck_assert_int_lt(hosts_load(F.dir, "reg:5000", &F.hc, &F.err), 0);
	ck_assert_msg(strstr(F.err.msg, "hosts.conf:2: unknown key \"mirror\""), "%s", F.err.msg);
}
END_TEST

/* --- image.pull's auth ---------------------------------------------------- */

START_TEST(test_proto_auth_encode_decode)
{
	char user[PROTO_AUTH_USER_MAX + 1], pass[PROTO_AUTH_PASS_MAX + 1], *enc = NULL;
	struct cradle_err err = { 0 };

	ck_assert_int_eq(proto_auth_from_creds("puller:pa:ss w0rd!", &enc, &err), 0);
	ck_assert_str_eq(enc, "cHVsbGVyOnBhOnNzIHcwcmQh");
	ck_assert_int_eq(proto_auth_decode(enc, user, pass, &err), 0);
	ck_assert_str_eq(user, "puller");
	ck_assert_str_eq(pass, "pa:ss w0rd!");
	free(enc);
	/* each padding length */
	static const char *const creds[] = { "u", "u:", "u:p", "us:p", "use:pa" };
	for (size_t i = 0; i < 5; i++) {
		char want[PROTO_AUTH_USER_MAX + PROTO_AUTH_PASS_MAX + 2];
		ck_assert_int_eq(proto_auth_from_creds(creds[i], &enc, &err), 0);
		ck_assert_int_eq(strlen(enc) % 4, 0);
		ck_assert_int_eq(proto_auth_decode(enc, user, pass, &err), 0);
		snprintf(want, sizeof(want), "%s%s%s", user, strchr(creds[i], ':') ? ":" : "",
		         pass);
		ck_assert_str_eq(want, creds[i]);
		free(enc);
	}
	/* refused, never quoting the value */
	static const char *const bad_auth[] = { "",     "abc",  "ab=c", "a===",
		                                "YT=i", "====", "Yj!i", "OnA=" /* ":p" */ };
	for (size_t i = 0; i < sizeof(bad_auth) / sizeof(bad_auth[0]); i++) {
		ck_assert_msg(proto_auth_decode(bad_auth[i], user, pass, &err) < 0, "%s",
		              bad_auth[i]);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		ck_assert_str_eq(user, "");
		ck_assert_str_eq(pass, "");
	}
	ck_assert_int_lt(proto_auth_from_creds(":p", &enc, &err), 0);
	ck_assert_int_lt(proto_auth_from_creds("", &enc, &err), 0);
	ck_assert_int_lt(proto_auth_from_creds("u:p\tq", &enc, &err), 0);
	ck_assert_msg(strstr(err.msg, "control character") && !strstr(err.msg, "p\tq"), "%s",
	              err.msg);
	/* the bounds: 255-byte user, 511-byte password, 1024 base64 bytes */
	char big[PROTO_AUTH_USER_MAX + PROTO_AUTH_PASS_MAX + 3];
	memset(big, 'u', PROTO_AUTH_USER_MAX);
	big[PROTO_AUTH_USER_MAX] = ':';
	memset(big + PROTO_AUTH_USER_MAX + 1, 'p', PROTO_AUTH_PASS_MAX);
	big[PROTO_AUTH_USER_MAX + 1 + PROTO_AUTH_PASS_MAX] = '\0';
	ck_assert_int_eq(proto_auth_from_creds(big, &enc, &err), 0);
	ck_assert_int_eq(strlen(enc), PROTO_MAX_AUTH);
	ck_assert_int_eq(proto_auth_decode(enc, user, pass, &err), 0);
	free(enc);
	strcat(big, "p");
	ck_assert_int_lt(proto_auth_from_creds(big, &enc, &err), 0);
	memset(big, 'u', PROTO_AUTH_USER_MAX + 1);
	big[PROTO_AUTH_USER_MAX + 1] = '\0';
	ck_assert_int_lt(proto_auth_from_creds(big, &enc, &err), 0);
	ck_assert_msg(strstr(err.msg, "user name of 256 bytes exceeds 255"), "%s", err.msg);
}
END_TEST

static int
roundtrip(const char *auth, struct proto_request *out, struct cradle_err *err)
{
	struct proto_request req;
	msgpack_sbuffer sb;
	int rc;

	proto_request_init(&req, OP_IMAGE_PULL);
	req.ref = (char *)"reg:5000/app:v1";
	req.auth = (char *)auth;
	msgpack_sbuffer_init(&sb);
	rc = proto_request_encode(&sb, &req, err);
	ck_assert_int_eq(rc, 0);
	proto_request_init(out, OP_IMAGE_PULL);
	rc = proto_request_decode(sb.data, sb.size, out, err);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

START_TEST(test_wire_auth_field)
{
	struct proto_request got;
	struct cradle_err err = { 0 };

	ck_assert_msg(roundtrip("cHVsbGVyOnMzY3JldA==", &got, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(got.auth, "cHVsbGVyOnMzY3JldA==");
	ck_assert_str_eq(got.ref, "reg:5000/app:v1");
	proto_request_fini(&got);
	ck_assert_ptr_null(got.auth);
	/* absent: NULL */
	ck_assert_int_eq(roundtrip(NULL, &got, &err), 0);
	ck_assert_ptr_null(got.auth);
	proto_request_fini(&got);
	/* bad ones refused by the decoder, naming the field, not the value */
	ck_assert_int_lt(roundtrip("czNjcmV0IQ", &got, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "auth") && !strstr(err.msg, "czNjcmV0IQ"), "%s", err.msg);
	proto_request_fini(&got);
	char big[PROTO_MAX_AUTH + 5];
	memset(big, 'Q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_lt(roundtrip(big, &got, &err), 0);
	ck_assert_msg(strstr(err.msg, "auth") && strstr(err.msg, "1024"), "%s", err.msg);
	proto_request_fini(&got);
}
END_TEST

static Suite *
registry_files_suite(void)
{
	Suite *s = suite_create("registry-files");

	unit_tcase(s, "files", setup, teardown, 0,
	           UNIT_TESTS(test_auth_most_specific_key_wins, test_auth_empty_and_missing,
	                      test_auth_bad_files_named_never_the_secret, test_hosts_parse,
	                      test_hosts_parse_errors_name_file_and_line, test_hosts_load_dir,
	                      test_proto_auth_encode_decode, test_wire_auth_field));
	return s;
}

int
main(void)
{
	return unit_run(registry_files_suite(), "test_registry_files", 0);
}
