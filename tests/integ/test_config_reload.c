/* test_config_reload.c - the configuration file through a real cradled:
 * SIGHUP applies the keys that may change at run time (the registry
 * settings, seen through pulls from Debian's docker-registry on 127.0.0.1;
 * the log level, seen through what the daemon's log holds), names the
 * ones that need a restart, and keeps the configuration in effect when
 * the files are broken; drop-ins; --print-config's output read back by
 * --config.  Needs root, docker-registry and skopeo (make deps). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;
static struct it_registry R = { .pid = -1 };
static int port; /* R.port */

static void
teardown(void)
{
	/* the registry first: it_cleanup fails on a child left running */
	it_registry_stop(&R);
	it_cleanup(&D);
}

/* <config>.d/NAME holds text (NULL: removed). */
static void
dropin(const char *name, const char *text)
{
	char path[600];

	snprintf(path, sizeof(path), "%s.d", D.config);
	ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s.d/%s", D.config, name);
	if (text == NULL) {
		ck_assert_int_eq(unlink(path), 0);
		return;
	}
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Lines of the daemon's log holding text. */
static int
log_count(const char *text)
{
	char path[400], line[8192];
	int n = 0;

	snprintf(path, sizeof(path), "%s/cradled.log", D.dir);
	FILE *f = fopen(path, "re");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, text) != NULL)
			n++;
	if (f != NULL)
		fclose(f);
	return n;
}

/* SIGHUP, then wait until the log holds one more line with text (the
 * last line a reload logs). */
static void
reload_until(const char *text)
{
	int before = log_count(text);

	ck_assert_int_eq(kill(D.pid, SIGHUP), 0);
	for (int i = 0; i < it_ms(10000) / 10; i++) {
		if (log_count(text) > before)
			return;
		it_sleep_ms(10);
	}
	ck_abort_msg("no log line \"%s\" after SIGHUP, see %s/cradled.log", text, D.dir);
}

static int
pull(const char *tag, struct cradle_error *err)
{
	char ref[128];
	struct cradle_image *img = NULL;

	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:%s", port, tag);
	int rc = cradle_image_pull(D.conn, ref, &img, err);
	if (rc == 0) {
		ck_assert_str_eq(cradle_image_ref(img), ref);
		cradle_image_free(img);
	}
	return rc;
}

START_TEST(test_reload_registry)
{
	struct cradle_error err;
	char want[1024];
	struct cradle_version v;

	it_registry_start(&R);
	port = R.port;
	it_registry_push_pause(&R, "t1");
	it_registry_push_pause(&R, "t2");
	it_registry_push_pause(&R, "t3");
	it_start_with(&D, NULL, "[registry]\ntimeout = 30\n");

	/* not listed as insecure: HTTPS, which the plain registry cannot speak */
	ck_assert_int_lt(pull("t1", &err), 0);

	/* a drop-in lists it; SIGHUP applies it, and says so */
	snprintf(want, sizeof(want),
	         "[registry]\ninsecure = 127.0.0.1:%d\ntimeout = 20\n[sandbox]\nshm_size = 32m\n",
	         port);
	dropin("50-registry.conf", want);
	reload_until("config reload: changed, but not applied until cradled restarts: "
	             "[sandbox] shm_size");
	snprintf(want, sizeof(want), "config reload: [registry] insecure \"\" -> 127.0.0.1:%d",
	         port);
	ck_assert_int_eq(log_count(want), 1);
	ck_assert_int_eq(log_count("config reload: [registry] timeout 30 -> 20"), 1);
	ck_assert_msg(pull("t1", &err) == 0, "%s", err.message);
	/* daemon.info shows the configuration now in effect */
	static char info[65536];
	ck_assert_int_eq(it_cli(&D, info, sizeof(info), "info"), 0);
	ck_assert_msg(strstr(info, "\"timeout\": \"20\"") != NULL, "%s", info);

	/* a broken drop-in: refused by file and line, the daemon keeps
	 * running with what it had */
	dropin("60-broken.conf", "[registry]\n\ninsecure = \"127.0.0.1\n");
	snprintf(want, sizeof(want),
	         "config reload: %s.d/60-broken.conf:3: the quoted value has no closing '\"'; "
	         "the configuration in effect is kept",
	         D.config);
	reload_until(want);
	ck_assert_int_eq(cradle_version(D.conn, &v, &err), 0);
	ck_assert_msg(pull("t2", &err) == 0, "%s", err.message);

	/* fixed, and the registry dropped again: pulls use HTTPS again */
	dropin("60-broken.conf", NULL);
	dropin("50-registry.conf", "[registry]\ntimeout = 20\n[sandbox]\nshm_size = 32m\n");
	snprintf(want, sizeof(want), "config reload: [registry] insecure 127.0.0.1:%d -> \"\"",
	         port);
	reload_until(want);
	ck_assert_int_lt(pull("t3", &err), 0);
	/* still pending, named again */
	ck_assert_int_eq(log_count("not applied until cradled restarts: [sandbox] shm_size"), 2);
}
END_TEST

/* [cradled] log_level through what the log holds: at warn, a reload's
 * info lines are gone while its warning comes; back at info, they come
 * again.  The change of level itself is logged either way. */
START_TEST(test_reload_log_level)
{
	it_start_with(&D, NULL, "[registry]\ntimeout = 30\n");
	dropin("10-level.conf", "[cradled]\nlog_level = warn\n");
	reload_until("config reload: [cradled] log_level info -> warn");

	/* an info line (timeout) and a warning (images: needs a restart) */
	dropin("20-more.conf", "[registry]\ntimeout = 40\n[images]\nmax_expansion = 10\n");
	reload_until("not applied until cradled restarts: [images] max_expansion");
	ck_assert_int_eq(log_count("config reload: [registry] timeout"), 0);

	dropin("10-level.conf", "[cradled]\nlog_level = info\n");
	reload_until("config reload: [cradled] log_level warn -> info");
	dropin("20-more.conf", "[registry]\ntimeout = 50\n[images]\nmax_expansion = 10\n");
	reload_until("config reload: [registry] timeout 40 -> 50");

	/* nothing differs from what runs (the pending [images] key gone
	 * again): said so */
	dropin("20-more.conf", "[registry]\ntimeout = 50\n");
	reload_until("config reload: no change");
}
END_TEST

/* --print-config prints what --config reads back as the same: the files
 * with drop-ins and odd values, printed, read again, printed the same. */
START_TEST(test_print_config_round_trip)
{
	char dir[256], cmd[2048], a[300], b[300];
	char *sa = NULL, *sb = NULL;
	size_t la = 0, lb = 0;

	snprintf(dir, sizeof(dir), IT_TMP_PREFIX "print-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/cradled.conf", dir);
	FILE *f = fopen(a, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[sandbox]\nhost_resolv_conf = \"/etc/r ;c \"\n"
	      "[registry]\ninsecure =;h:5000\n[runtime.runc]\ntype =;x\npod_annotations = ",
	      f);
	for (int i = 0; i < 300; i++)
		fprintf(f, "%sio.example/k%d*", i ? "," : "", i);
	fputs("\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "mkdir %s.d && printf '[registry]\\ntimeout = 7\\n' > %s.d/1.conf", a, a);
	ck_assert_int_eq(it_sh("%s", cmd), 0);
	snprintf(b, sizeof(b), "%s/printed.conf", dir);
	ck_assert_int_eq(
		it_sh("%s --config %s --print-config > %s 2>%s/err1", it_bin("cradled"), a, b, dir),
		0);
	ck_assert_int_eq(it_sh("%s --config %s --print-config > %s.again 2>%s/err2",
	                       it_bin("cradled"), b, b, dir),
	                 0);
	snprintf(cmd, sizeof(cmd), "%s.again", b);
	f = fopen(b, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(getdelim(&sa, &la, '\0', f), 0);
	fclose(f);
	f = fopen(cmd, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(getdelim(&sb, &lb, '\0', f), 0);
	fclose(f);
	ck_assert_str_eq(sa, sb);
	ck_assert_msg(strstr(sa, "\ntype = \";x\"\n") != NULL, "%s", sa);
	ck_assert_msg(strstr(sa, "\ninsecure = \";h:5000\"\n") != NULL, "%s", sa);
	ck_assert_msg(strstr(sa, "\nhost_resolv_conf = \"/etc/r ;c \"\n") != NULL, "%s", sa);
	ck_assert_msg(strstr(sa, "\ntimeout = 7\n") != NULL, "%s", sa);
	ck_assert_msg(strstr(sa, ", io.example/k299*\n") != NULL, "%s", sa);
	free(sa);
	free(sb);
	ck_assert_int_eq(it_sh("rm -rf '%s'", dir), 0);
}
END_TEST

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr,
		        "test_config_reload: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	Suite *s = suite_create("config_reload");
	TCase *tc = tcase_create("reload");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_reload_registry);
	tcase_add_test(tc, test_reload_log_level);
	tcase_add_test(tc, test_print_config_round_trip);
	suite_add_tcase(s, tc);
	return it_run_suite(s);
}
