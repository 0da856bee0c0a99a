/* test_config.c - an image's config and user databases (image/config.c).
 *
 * The tests read build/rootfs.json and build/rootfs/etc/{passwd,group} as
 * `make` writes them (realpath of $CRADLE_BUILD/rootfs, default
 * "build/rootfs"), and small images written in each test's own scratch
 * directory (tests/unit/lib).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/config.h"
#include "util/fs.h"
#include "tests/unit/lib/unit.h"

#define IMAGE_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct {
	struct image_config loaded; /* image_load's output */
	struct cradle_err err;
	char rootfs[PATH_MAX]; /* realpath of the pause rootfs */
	char dir[PATH_MAX];    /* this test's own scratch directory */
} F;

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	unit_scratch_setup();
	UNIT_FMT(F.dir, "%s", unit_test_dir());
	unit_pause_rootfs(F.rootfs);
}

static void
teardown(void)
{
	image_config_fini(&F.loaded);
	unit_scratch_teardown();
}

/* --- scratch images ------------------------------------------------------ */

/* A scratch image: F.dir/rootfs (with etc/ when passwd or group is given)
 * and F.dir/rootfs.json holding json (none when NULL).  Returns the rootfs. */
static const char *
scratch_image(const char *json, const char *passwd, const char *group)
{
	static char root[PATH_MAX];

	UNIT_FMT(root, "%s/rootfs", F.dir);
	ck_assert(mkdir(root, 0755) == 0 || errno == EEXIST);
	if (json != NULL)
		unit_put_in(F.dir, "rootfs.json", json, 0644);
	if (passwd != NULL || group != NULL)
		unit_mkdir_in(root, "etc");
	if (passwd != NULL)
		unit_put_in(root, "etc/passwd", passwd, 0644);
	if (group != NULL)
		unit_put_in(root, "etc/group", group, 0644);
	return root;
}

/* image_load must fail with code and exactly msg, handing back a zeroed
 * config. */
static void
load_fails(const char *rootfs, int code, const char *msg)
{
	static const struct image_config zero;

	ck_assert_int_lt(image_load(rootfs, &F.loaded, &F.err), 0);
	ck_assert_str_eq(F.err.msg, msg);
	ck_assert_int_eq(F.err.code, code);
	ck_assert(memcmp(&F.loaded, &zero, sizeof(zero)) == 0);
}

/* image_load(root) must fail reading its config file json: code and
 * "failed to get sandbox image \"<root>\": read config \"<json>\": " + why. */
static void
read_fails(const char *root, const char *json, int code, const char *why)
{
	char msg[CRADLE_ERR_MSG_MAX];

	UNIT_FMT(msg, "failed to get sandbox image \"%s\": read config \"%s\": %s", root, json,
	         why);
	load_fails(root, code, msg);
}

/* A scratch image whose config file holds text must fail with
 * INVALID_ARGUMENT and "image config \"<json path>\": " + tail, or, with
 * tail NULL, + some reason, handing back a zeroed config. */
static void
json_fails(const char *text, const char *tail)
{
	static const struct image_config zero;
	char prefix[PATH_MAX + 64], msg[CRADLE_ERR_MSG_MAX];
	const char *root = scratch_image(text, NULL, NULL);

	UNIT_FMT(prefix, "image config \"%s.json\": ", root);
	if (tail != NULL) {
		UNIT_FMT(msg, "%s%s", prefix, tail);
		load_fails(root, CRADLE_INVALID_ARGUMENT, msg);
		return;
	}
	ck_assert_msg(image_load(root, &F.loaded, &F.err) < 0, "accepted: %s", text);
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(F.err.msg, prefix, strlen(prefix)) == 0, "message: %s", F.err.msg);
	ck_assert_uint_gt(strlen(F.err.msg), strlen(prefix));
	ck_assert_uint_eq(F.loaded.entrypoint.n, 0);
	ck_assert(memcmp(&F.loaded, &zero, sizeof(zero)) == 0);
}

/* The same for a config whose "config" object is body. */
static void
config_fails(const char *body, const char *tail)
{
	char json[1024];

	UNIT_FMT(json, "{\"config\": %s}", body);
	json_fails(json, tail);
}

/* ======================================================================= */
/* image_load                                                               */
/* ======================================================================= */

START_TEST(test_image_load_pause)
{
	int rc = image_load(F.rootfs, &F.loaded, &F.err);

	ck_assert_msg(rc == 0, "image_load: %s", F.err.msg);
	ck_assert_uint_eq(F.loaded.entrypoint.n, 1);
	ck_assert_str_eq(F.loaded.entrypoint.v[0], "/pause");
	ck_assert_uint_eq(F.loaded.cmd.n, 0);
	ck_assert_uint_eq(F.loaded.env.n, 1);
	ck_assert_str_eq(F.loaded.env.v[0], IMAGE_PATH);
	ck_assert_pstr_eq(F.loaded.working_dir, "/");
	ck_assert_ptr_null(F.loaded.user);
	ck_assert_uint_eq(F.loaded.labels.n, 1);
	ck_assert_pstr_eq(proto_kvs_get(&F.loaded.labels, "io.cradle.image"), "pause");
	ck_assert_ptr_nonnull(F.loaded.etc_passwd);
	ck_assert_ptr_nonnull(strstr(F.loaded.etc_passwd, "nobody:x:65534"));
	ck_assert_ptr_nonnull(strstr(F.loaded.etc_passwd, "root:x:0:0:"));
	ck_assert_ptr_nonnull(F.loaded.etc_group);
	ck_assert_ptr_nonnull(strstr(F.loaded.etc_group, "nobody:x:65534:"));
}
END_TEST

START_TEST(test_image_load_scratch_full)
{
	const char *root = scratch_image(
		"{\"config\": {\"Entrypoint\": [\"/bin/sh\", \"-c\"], \"Cmd\": [\"sleep 1\"],"
		" \"Env\": [\"A=1\", \"B=\"], \"WorkingDir\": \"/w\", \"User\": \"app:staff\","
		" \"Labels\": {\"a\": \"1\", \"b\": \"\"}}, \"rootfs\": {}}",
		"app:x:1000:1000::/:/bin/sh\n", "staff:x:50:\n");
	int rc = image_load(root, &F.loaded, &F.err);

	ck_assert_msg(rc == 0, "image_load: %s", F.err.msg);
	ck_assert_uint_eq(F.loaded.entrypoint.n, 2);
	ck_assert_str_eq(F.loaded.entrypoint.v[0], "/bin/sh");
	ck_assert_str_eq(F.loaded.entrypoint.v[1], "-c");
	ck_assert_uint_eq(F.loaded.cmd.n, 1);
	ck_assert_str_eq(F.loaded.cmd.v[0], "sleep 1");
	ck_assert_uint_eq(F.loaded.env.n, 2);
	ck_assert_str_eq(F.loaded.env.v[1], "B=");
	ck_assert_pstr_eq(F.loaded.working_dir, "/w");
	ck_assert_pstr_eq(F.loaded.user, "app:staff");
	ck_assert_uint_eq(F.loaded.labels.n, 2);
	ck_assert_pstr_eq(proto_kvs_get(&F.loaded.labels, "a"), "1");
	ck_assert_pstr_eq(proto_kvs_get(&F.loaded.labels, "b"), "");
	ck_assert_pstr_eq(F.loaded.etc_passwd, "app:x:1000:1000::/:/bin/sh\n");
	ck_assert_pstr_eq(F.loaded.etc_group, "staff:x:50:\n");
}
END_TEST

/* JSON nulls read as absent. */
START_TEST(test_image_load_nulls)
{
	const char *root = scratch_image("{\"config\": {\"Entrypoint\": null, \"Cmd\": [\"/x\"],"
	                                 " \"Env\": null, \"WorkingDir\": null, \"User\": null,"
	                                 " \"Labels\": null}}",
	                                 NULL, NULL);
	int rc = image_load(root, &F.loaded, &F.err);

	ck_assert_msg(rc == 0, "image_load: %s", F.err.msg);
	ck_assert_uint_eq(F.loaded.entrypoint.n, 0);
	ck_assert_uint_eq(F.loaded.cmd.n, 1);
	ck_assert_uint_eq(F.loaded.env.n, 0);
	ck_assert_ptr_null(F.loaded.working_dir);
	ck_assert_ptr_null(F.loaded.user);
	ck_assert_uint_eq(F.loaded.labels.n, 0);
}
END_TEST

START_TEST(test_image_load_no_passwd)
{
	const char *root =
		scratch_image("{\"config\": {\"Entrypoint\": [\"/pause\"]}}", NULL, NULL);
	int rc = image_load(root, &F.loaded, &F.err);

	ck_assert_msg(rc == 0, "image_load: %s", F.err.msg);
	ck_assert_uint_eq(F.loaded.entrypoint.n, 1);
	ck_assert_ptr_null(F.loaded.etc_passwd);
	ck_assert_ptr_null(F.loaded.etc_group);
}
END_TEST

START_TEST(test_image_load_passwd_only)
{
	const char *root = scratch_image("{\"config\": {}}", "root:x:0:0::/:/x\n", NULL);
	int rc = image_load(root, &F.loaded, &F.err);

	ck_assert_msg(rc == 0, "image_load: %s", F.err.msg);
	ck_assert_pstr_eq(F.loaded.etc_passwd, "root:x:0:0::/:/x\n");
	ck_assert_ptr_null(F.loaded.etc_group);
}
END_TEST

START_TEST(test_image_load_malformed_json)
{
	json_fails("{\"config\": {\"Entrypoint\": [\"/pause\"}}", NULL);
}
END_TEST

START_TEST(test_image_load_truncated_json)
{
	json_fails("{\"config\": {\"Entrypoint\": [", NULL);
}
END_TEST

START_TEST(test_image_load_empty_json)
{
	json_fails("", NULL);
}
END_TEST

/* Whatever follows the config object is refused, not silently ignored
 * (a second object, or text): json_tokener_parse_ex stops after the first
 * value, so image_load has to check it reached the end. */
START_TEST(test_image_load_trailing_data)
{
	static const char *const texts[] = {
		"{\"config\": {\"Entrypoint\": [\"/pause\"]}} garbage",
		"{\"config\": {\"Entrypoint\": [\"/pause\"]}}{\"config\": {\"Entrypoint\": [\"/x\"]}}",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		json_fails(texts[i], NULL);
	/* white space after it is fine */
	const char *root =
		scratch_image("{\"config\": {\"Entrypoint\": [\"/pause\"]}}\n\n", NULL, NULL);
	int rc = image_load(root, &F.loaded, &F.err);
	ck_assert_msg(rc == 0, "image_load: %s", F.err.msg);
}
END_TEST

START_TEST(test_image_load_no_config)
{
	json_fails("{\"architecture\": \"amd64\"}", "no \"config\" object");
}
END_TEST

START_TEST(test_image_load_config_not_object)
{
	config_fails("[\"/pause\"]", "no \"config\" object");
}
END_TEST

START_TEST(test_image_load_top_not_object)
{
	json_fails("[1, 2]", "no \"config\" object");
}
END_TEST

START_TEST(test_image_load_entrypoint_not_array)
{
	config_fails("{\"Entrypoint\": \"/pause\"}", "Entrypoint: expected an array");
}
END_TEST

START_TEST(test_image_load_field_types)
{
	config_fails("{\"Entrypoint\": [\"/pause\", 1]}", "Entrypoint[1]: expected a string");
	config_fails("{\"Cmd\": {}}", "Cmd: expected an array");
	config_fails("{\"Entrypoint\": [\"/pause\"], \"Env\": [true]}",
	             "Env[0]: expected a string");
	config_fails("{\"WorkingDir\": 5}", "WorkingDir: expected a string");
	config_fails("{\"User\": [\"0\"]}", "User: expected a string");
	config_fails("{\"Labels\": [\"a\"]}", "Labels: expected an object");
	config_fails("{\"Labels\": {\"a\": \"1\", \"b\": 2}}", "Labels.b: expected a string");
}
END_TEST

START_TEST(test_image_load_missing_json)
{
	char root[PATH_MAX], json[PATH_MAX + 8];

	UNIT_FMT(root, "%s/none", F.dir);
	UNIT_FMT(json, "%s.json", root);
	read_fails(root, json, CRADLE_NOT_FOUND, "No such file or directory");
}
END_TEST

START_TEST(test_image_load_json_is_directory)
{
	char root[PATH_MAX], json[PATH_MAX + 8];

	UNIT_FMT(root, "%s/rootfs", F.dir);
	UNIT_FMT(json, "%s.json", root);
	ck_assert_int_eq(mkdir(json, 0755), 0);
	read_fails(root, json, CRADLE_INVALID_ARGUMENT, "Invalid argument");
}
END_TEST

START_TEST(test_image_load_json_symlink_refused)
{
	char root[PATH_MAX], json[PATH_MAX + 8], msg[CRADLE_ERR_MSG_MAX];

	UNIT_FMT(root, "%s/rootfs", F.dir);
	UNIT_FMT(json, "%s.json", root);
	unit_put_in(F.dir, "real.json", "{\"config\": {}}", 0644);
	ck_assert_int_eq(symlink("real.json", json), 0);
	ck_assert_int_lt(image_load(root, &F.loaded, &F.err), 0);
	UNIT_FMT(msg, "failed to get sandbox image \"%s\": read config \"%s\": ", root, json);
	ck_assert_msg(strncmp(F.err.msg, msg, strlen(msg)) == 0, "message: %s", F.err.msg);
}
END_TEST

START_TEST(test_image_load_json_too_big)
{
	char root[PATH_MAX], msg[CRADLE_ERR_MSG_MAX];
	size_t n = (1u << 20) + 1;
	char *big = malloc(n + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	UNIT_FMT(root, "%s", scratch_image(big, NULL, NULL));
	free(big);
	ck_assert_int_lt(image_load(root, &F.loaded, &F.err), 0);
	UNIT_FMT(msg, "failed to get sandbox image \"%s\": read config \"%s.json\": %s", root, root,
	         strerror(EFBIG));
	ck_assert_str_eq(F.err.msg, msg);
}
END_TEST

START_TEST(test_image_load_passwd_not_file)
{
	char msg[CRADLE_ERR_MSG_MAX];
	const char *root =
		scratch_image("{\"config\": {\"Entrypoint\": [\"/pause\"]}}", NULL, NULL);

	unit_mkdir_in(root, "etc");
	unit_mkdir_in(root, "etc/passwd");
	UNIT_FMT(msg, "read \"%s/etc/passwd\": Invalid argument", root);
	load_fails(root, CRADLE_INVALID_ARGUMENT, msg);
}
END_TEST

START_TEST(test_image_load_group_not_file)
{
	char msg[CRADLE_ERR_MSG_MAX];
	const char *root = scratch_image("{\"config\": {\"Entrypoint\": [\"/pause\"]}}",
	                                 "root:x:0:0::/:/x\n", NULL);

	unit_mkdir_in(root, "etc/group");
	UNIT_FMT(msg, "read \"%s/etc/group\": Invalid argument", root);
	/* the passwd already read is freed too: the config comes back zeroed */
	load_fails(root, CRADLE_INVALID_ARGUMENT, msg);
}
END_TEST

/* ======================================================================= */
/* a hostile image's /etc: resolved inside the layer, never on the host     */
/* ======================================================================= */

/* F.dir/<name>: an empty layer directory. */
static const char *
layer_dir(const char *name)
{
	static char bufs[4][PATH_MAX + 64];
	static int i;
	char *d = bufs[i++ % 4];

	snprintf(d, PATH_MAX + 64, "%s/%s", F.dir, name);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	return d;
}

static void
link_in(const char *root, const char *rel, const char *target)
{
	char p[PATH_MAX + 64];

	UNIT_FMT(p, "%s/%s", root, rel);
	ck_assert_msg(symlink(target, p) == 0, "%s: %s", p, strerror(errno));
}

/* The host's /etc/passwd starts "root:x:0:0:"; nothing read may be it. */
static void
assert_not_host(const char *text)
{
	char *host = NULL;
	size_t len = 0;

	if (text == NULL)
		return;
	ck_assert_int_eq(fs_read_alloc("/etc/passwd", 1 << 20, 0, &host, &len), 0);
	ck_assert_msg(strcmp(text, host) != 0, "the host's /etc/passwd was read");
	free(host);
}

START_TEST(test_user_dbs_etc_symlink_to_host_etc)
{
	const char *up = layer_dir("up");
	struct image_config c = { 0 };

	/* /etc -> /etc: inside the layer it is a loop, not the host's */
	link_in(up, "etc", "/etc");
	int rc = image_config_read_user_dbs(&c, &up, 1, &F.err);
	assert_not_host(c.etc_passwd);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(F.err.msg, "/up/etc/passwd") && strstr(F.err.msg, strerror(ELOOP)),
	              "%s", F.err.msg);
	image_config_fini(&c);
}
END_TEST

START_TEST(test_user_dbs_etc_climbing_symlink)
{
	const char *up = layer_dir("up");
	struct image_config c = { 0 };

	/* "../../../../../../etc": ".." stops at the layer's root */
	link_in(up, "etc", "../../../../../../../../etc");
	ck_assert_int_lt(image_config_read_user_dbs(&c, &up, 1, &F.err), 0);
	assert_not_host(c.etc_passwd);
	image_config_fini(&c);

	/* a directory that climbs to a real one of the layer resolves there */
	const char *l2 = layer_dir("l2");
	unit_mkdir_in(l2, "real");
	unit_put_in(l2, "real/passwd", "img:x:1:1::/:/x\n", 0644);
	link_in(l2, "etc", "../../../../../real");
	ck_assert_msg(image_config_read_user_dbs(&c, &l2, 1, &F.err) == 0, "%s", F.err.msg);
	ck_assert_str_eq(c.etc_passwd, "img:x:1:1::/:/x\n");
	ck_assert_ptr_null(c.etc_group);
	image_config_fini(&c);
}
END_TEST

START_TEST(test_user_dbs_passwd_symlink_to_shadow)
{
	const char *up = layer_dir("up"), *low = layer_dir("low");
	const char *dirs[2] = { up, low };
	struct image_config c = { 0 };

	/* /etc/passwd -> /etc/shadow with no shadow in the layer: absent
	 * here, read further down; the host's shadow is never opened */
	unit_mkdir_in(up, "etc");
	link_in(up, "etc/passwd", "/etc/shadow");
	link_in(up, "etc/group", "../../../../etc/hostname");
	unit_mkdir_in(low, "etc");
	unit_put_in(low, "etc/passwd", "low:x:2:2::/:/x\n", 0644);
	ck_assert_msg(image_config_read_user_dbs(&c, dirs, 2, &F.err) == 0, "%s", F.err.msg);
	ck_assert_str_eq(c.etc_passwd, "low:x:2:2::/:/x\n");
	ck_assert_ptr_null(c.etc_group); /* the layer's /etc/hostname: none */
	image_config_fini(&c);

	/* with a shadow of its own, the link reads that one */
	unit_put_in(up, "etc/shadow", "layer-shadow\n", 0600);
	ck_assert_msg(image_config_read_user_dbs(&c, dirs, 2, &F.err) == 0, "%s", F.err.msg);
	ck_assert_str_eq(c.etc_passwd, "layer-shadow\n");
	image_config_fini(&c);
}
END_TEST

/* A whiteout of /etc, or a file where /etc was, hides the lower ones. */
START_TEST(test_user_dbs_hidden_etc)
{
	const char *up = layer_dir("up"), *low = layer_dir("low");
	const char *dirs[2] = { up, low };
	struct image_config c = { 0 };
	char p[PATH_MAX + 16];

	unit_mkdir_in(low, "etc");
	unit_put_in(low, "etc/passwd", "low:x:2:2::/:/x\n", 0644);
	UNIT_FMT(p, "%s/etc", up);
	ck_assert_int_eq(mknod(p, S_IFCHR | 0600, makedev(0, 0)), 0);
	ck_assert_msg(image_config_read_user_dbs(&c, dirs, 2, &F.err) == 0, "%s", F.err.msg);
	ck_assert_ptr_null(c.etc_passwd);
	image_config_fini(&c);
}
END_TEST
/* ======================================================================= */

static Suite *
config_suite(void)
{
	Suite *s = suite_create("image-config");

	unit_tcase(s, "image", setup, teardown, 0,
	           UNIT_TESTS(test_image_load_pause, test_image_load_scratch_full,
	                      test_image_load_nulls, test_image_load_no_passwd,
	                      test_image_load_passwd_only, test_image_load_malformed_json,
	                      test_image_load_truncated_json, test_image_load_empty_json,
	                      test_image_load_trailing_data, test_image_load_no_config,
	                      test_image_load_config_not_object, test_image_load_top_not_object,
	                      test_image_load_entrypoint_not_array, test_image_load_field_types,
	                      test_image_load_missing_json, test_image_load_json_is_directory,
	                      test_image_load_json_symlink_refused, test_image_load_json_too_big,
	                      test_image_load_passwd_not_file, test_image_load_group_not_file,
	                      test_user_dbs_etc_symlink_to_host_etc,
	                      test_user_dbs_etc_climbing_symlink,
	                      test_user_dbs_passwd_symlink_to_shadow, test_user_dbs_hidden_etc));

	return s;
}

int
main(void)
{
	return unit_run(config_suite(), "test_image_config", 0);
}
