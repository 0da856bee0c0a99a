/* test_ref.c - the one image reference parser (proto/ref.c): a table of
 * inputs and their canonical forms, a table of refusals and what they
 * say, the split into domain/path/tag/digest, and the image id forms.
 * (That the pull code's registry and repository come from this same parse
 * is checked in tests/unit/image/test_pull.c, which links the image layer.)
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "proto/ref.h"
#include "tests/unit/lib/unit.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
	const char *in, *canon;
} good[] = {
	{ "busybox", "docker.io/library/busybox:latest" },
	{ "busybox:1.36", "docker.io/library/busybox:1.36" },
	{ "library/busybox", "docker.io/library/busybox:latest" },
	{ "docker.io/busybox", "docker.io/library/busybox:latest" },
	{ "docker.io/library/busybox:latest", "docker.io/library/busybox:latest" },
	{ "index.docker.io/busybox", "docker.io/library/busybox:latest" },
	{ "index.docker.io/x/y", "docker.io/x/y:latest" },
	{ "index.docker.io/x/y:v1", "docker.io/x/y:v1" },
	{ "docker.io/x", "docker.io/library/x:latest" },
	{ "someuser/app", "docker.io/someuser/app:latest" },
	{ "someuser/some-app_x__y.z", "docker.io/someuser/some-app_x__y.z:latest" },
	{ "a/b/c/d", "docker.io/a/b/c/d:latest" },
	{ "a---b", "docker.io/library/a---b:latest" },
	{ "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9" },
	{ "registry.k8s.io/pause", "registry.k8s.io/pause:latest" },
	{ "cradle.local/pause:built-in", "cradle.local/pause:built-in" },
	{ "quay.io/org/img:v1.2_rc-3", "quay.io/org/img:v1.2_rc-3" },
	{ "localhost/x", "localhost/x:latest" },
	{ "localhost/a/b/c", "localhost/a/b/c:latest" },
	{ "localhost:5000/a/b", "localhost:5000/a/b:latest" },
	{ "localhost:5000/a:1", "localhost:5000/a:1" },
	{ "localhost:5000", "docker.io/library/localhost:5000" }, /* a tag, as docker */
	{ "127.0.0.1:5000/pause:3.9", "127.0.0.1:5000/pause:3.9" },
	{ "myhost:443/x", "myhost:443/x:latest" },
	{ "[::1]:5000/pause:1", "[::1]:5000/pause:1" },
	{ "[fe80::1]/x", "[fe80::1]/x:latest" },
	{ "Registry.Example.COM/x", "Registry.Example.COM/x:latest" },
	{ "Upper/x", "Upper/x:latest" }, /* upper case: a domain, as docker */
	{ "my-registry.example.com/team/app", "my-registry.example.com/team/app:latest" },
	{ "busybox@sha256:" D64, "docker.io/library/busybox@sha256:" D64 },
	{ "busybox:1.36@sha256:" D64, "docker.io/library/busybox:1.36@sha256:" D64 },
	{ "127.0.0.1:5000/pause@sha256:" D64, "127.0.0.1:5000/pause@sha256:" D64 },
	{ "quay.io/org/img:v1@sha256:" D64, "quay.io/org/img:v1@sha256:" D64 },
	{ "busybox:_tag", "docker.io/library/busybox:_tag" },
	{ "busybox:V1.0-RC", "docker.io/library/busybox:V1.0-RC" },
	{ "docker.io", "docker.io/library/docker.io:latest" },
	{ "sha256", "docker.io/library/sha256:latest" },
	{ "abcdef", "docker.io/library/abcdef:latest" }, /* a name; an id only to lookups */
};

static const struct {
	const char *in, *why;
} bad_refs[] = {
	{ "", "empty" },
	{ "Busybox", "repository name must be lowercase" },
	{ "docker.io/Library/pause", "repository name must be lowercase" },
	{ "example.com/Team/app", "repository name must be lowercase" },
	{ "busybox:", "invalid tag" },
	{ "busybox:-x", "invalid tag" },
	{ "busybox:.x", "invalid tag" },
	{ "busybox:a+b", "invalid tag" },
	{ "busybox@", "invalid digest" },
	{ "busybox@sha256:abc", "invalid digest" },
	{ "busybox@sha256:" D64 "00", "invalid digest" },
	{ "busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	  "invalid digest" },
	{ "busybox@sha512:" D64 D64, "unsupported digest algorithm" },
	{ "busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm" },
	{ "busybox@:" D64, "invalid digest" },
	{ "busybox@sha256" D64, "invalid digest" },
	{ "@sha256:" D64, "no repository name" },
	{ "a@b@sha256:" D64, "more than one '@'" },
	{ "pa use", "space" },
	{ "pause\n", "control" },
	{ "pa\xc3\xa9use", "non-ASCII" },
	{ "a//b", "empty path component" },
	{ "a/b/", "empty path component" },
	{ "/a", "empty path component" },
	{ "example.com/", "no repository name" },
	{ "example.com//x", "empty path component" },
	{ "-pause", "invalid repository name" },
	{ "pause_", "invalid repository name" },
	{ "pau..se", "invalid repository name" },
	{ "pau___se", "invalid repository name" },
	{ "pause$", "invalid repository name" },
	{ "host:99999/pause", "port" },
	{ "host:0/pause", "port" },
	{ "host:/pause", "port" },
	{ "host:50x/pause", "port" },
	{ "-bad-.example.com/pause", "host" },
	{ "bad_host.example.com/pause", "host" },
	{ "example..com/pause", "host" },
	{ "[]:5000/x", "host" },
	{ "[]/x", "invalid repository name" }, /* not a domain, as docker */
	{ "[::1/x", "host" },
	{ D64, "image id" },
};

static void
expect_good(const char *in, const char *canon)
{
	struct cradle_err err = { 0 };
	char buf[PROTO_REF_CANON_MAX + 1];

	ck_assert_msg(proto_ref_normalize(in, buf, sizeof(buf), &err) == 0, "\"%s\": %s", in,
	              err.msg);
	ck_assert_msg(strcmp(buf, canon) == 0, "\"%s\" -> \"%s\", want \"%s\"", in, buf, canon);
	/* canonical is a fixed point */
	ck_assert_msg(proto_ref_normalize(canon, buf, sizeof(buf), &err) == 0, "\"%s\": %s", canon,
	              err.msg);
	ck_assert_str_eq(buf, canon);
	ck_assert(proto_ref_same(in, canon));
}

static void
expect_bad(const char *in, const char *why)
{
	struct cradle_err err = { 0 };
	char buf[PROTO_REF_CANON_MAX + 1], want[400];

	ck_assert_msg(proto_ref_normalize(in, buf, sizeof(buf), &err) < 0, "\"%s\" accepted as %s",
	              in, buf);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, why) != NULL, "\"%s\": want \"%s\" in: %s", in, why, err.msg);
	/* the reference is named, quoted, when it is printable and short */
	if (strlen(in) < 100 && strpbrk(in, "\n\xc3") == NULL) {
		snprintf(want, sizeof(want), "invalid reference \"%s\": ", in);
		ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "\"%s\": %s", in, err.msg);
	}
	ck_assert(!proto_ref_same(in, "docker.io/library/busybox:latest"));
}

START_TEST(test_table)
{
	size_t n = sizeof(good) / sizeof(good[0]) + sizeof(bad_refs) / sizeof(bad_refs[0]);

	ck_assert_uint_ge(n, 40);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_good(good[i].in, good[i].canon);
	for (size_t i = 0; i < sizeof(bad_refs) / sizeof(bad_refs[0]); i++)
		expect_bad(bad_refs[i].in, bad_refs[i].why);
}
END_TEST

START_TEST(test_error_text)
{
	struct cradle_err err = { 0 };
	struct proto_ref r;

	ck_assert_int_lt(proto_ref_parse("Busybox", &r, &err), 0);
	ck_assert_str_eq(err.msg, "invalid reference \"Busybox\": repository name must be "
	                          "lowercase");
	/* a control character is shown escaped, never raw */
	ck_assert_int_lt(proto_ref_parse("a\nb", &r, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "\"a\\x0ab\""));
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	ck_assert_int_lt(proto_ref_parse(NULL, &r, &err), 0);
	ck_assert_str_eq(err.msg, "invalid reference \"\": empty");
}
END_TEST

START_TEST(test_split)
{
	struct cradle_err err = { 0 };
	struct proto_ref r;

	ck_assert_int_eq(proto_ref_parse("busybox", &r, &err), 0);
	ck_assert_str_eq(r.domain, "docker.io");
	ck_assert_str_eq(r.path, "library/busybox");
	ck_assert_str_eq(r.tag, "latest");
	ck_assert_str_eq(r.digest, "");

	ck_assert_int_eq(proto_ref_parse("localhost:5000/a/b:v2@sha256:" D64, &r, &err), 0);
	ck_assert_str_eq(r.domain, "localhost:5000");
	ck_assert_str_eq(r.path, "a/b");
	ck_assert_str_eq(r.tag, "v2");
	ck_assert_str_eq(r.digest, "sha256:" D64);

	ck_assert_int_eq(proto_ref_parse("x/y@sha256:" D64, &r, &err), 0);
	ck_assert_str_eq(r.domain, "docker.io");
	ck_assert_str_eq(r.path, "x/y");
	ck_assert_str_eq(r.tag, "");
	ck_assert_str_eq(r.digest, "sha256:" D64);
}
END_TEST

START_TEST(test_lengths)
{
	char name[600], canon[700], tag[300];
	struct cradle_err err = { 0 };
	char buf[PROTO_REF_CANON_MAX + 1];

	/* the canonical name, domain included, is at most 255 */
	memset(name, 'a', sizeof(name));
	memcpy(name, "example.com/", 12);
	name[255] = '\0';
	snprintf(canon, sizeof(canon), "%s:latest", name);
	expect_good(name, canon);
	name[255] = 'a';
	name[256] = '\0';
	expect_bad(name, "name too long");
	/* docker.io/library/ counts */
	memset(name, 'b', sizeof(name));
	name[255 - 18] = '\0';
	snprintf(canon, sizeof(canon), "docker.io/library/%s:latest", name);
	expect_good(name, canon);
	name[255 - 18] = 'b';
	name[256 - 18] = '\0';
	expect_bad(name, "255");
	/* far too long: refused before anything else */
	memset(name, 'c', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	expect_bad(name, "name too long");

	/* tags: 128 characters, not 129 */
	memset(tag, 'a', sizeof(tag));
	memcpy(tag, "pause:", 6);
	tag[6 + 128] = '\0';
	snprintf(canon, sizeof(canon), "docker.io/library/%s", tag);
	expect_good(tag, canon);
	tag[6 + 128] = 'a';
	tag[6 + 129] = '\0';
	expect_bad(tag, "longer than 128");

	/* the longest canonical form fits PROTO_REF_CANON_MAX */
	memset(name, 'd', sizeof(name));
	memcpy(name, "example.com/", 12);
	memset(name + 255, 0, 2);
	name[255] = ':';
	memset(name + 256, 't', 128);
	snprintf(name + 256 + 128, sizeof(name) - 256 - 128, "@sha256:%s", D64);
	ck_assert_uint_eq(strlen(name), PROTO_REF_CANON_MAX);
	ck_assert_msg(proto_ref_normalize(name, buf, sizeof(buf), &err) == 0, "%s", err.msg);
	ck_assert_str_eq(buf, name);
	/* and a buffer too small is an error, not a cut */
	ck_assert_int_lt(proto_ref_normalize("busybox", buf, 10, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_id_hex)
{
	ck_assert_str_eq(proto_ref_id_hex("sha256:" D64), D64);
	ck_assert_str_eq(proto_ref_id_hex(D64), D64);
	ck_assert_str_eq(proto_ref_id_hex("abcd"), "abcd");
	ck_assert_str_eq(proto_ref_id_hex("sha256:0a"), "0a");
	ck_assert_ptr_null(proto_ref_id_hex("sha256:" D64 "0"));
	ck_assert_ptr_null(proto_ref_id_hex("busybox"));
	ck_assert_ptr_null(proto_ref_id_hex("ABCD"));
	ck_assert_ptr_null(proto_ref_id_hex("sha256:"));
	ck_assert_ptr_null(proto_ref_id_hex(""));
	ck_assert_ptr_null(proto_ref_id_hex(NULL));
}
END_TEST

static Suite *
ref_suite(void)
{
	Suite *s = suite_create("ref");

	unit_tcase(s, "ref", NULL, NULL, 30,
	           UNIT_TESTS(test_table, test_error_text, test_split, test_lengths, test_id_hex));
	return (s);
}

int
main(void)
{
	return (unit_run(ref_suite(), "test_ref", 0));
}
