/* test_cli_doc.c - the CLI's option tables and what is made of them:
 * every command's --help and `help CMD` explain every option of its
 * table, the parser takes exactly what the table lists, the man page and
 * the completion scripts name every option, the hand-written cradled(8)
 * and cradled.conf(5) name every option and key of the daemon, and the
 * bash completion offers a running daemon's sandbox ids and images.
 * The last test starts cradled: needs root. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	if (D.pid > 0)
		it_cleanup(&D);
}

/* sh -c cmd (stdin /dev/null, stderr with stdout) into out; the exit
 * status (128: killed) */
__attribute__((format(printf, 3, 4))) static int
sh(char *out, size_t len, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " </dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	ck_assert_msg(n < len - 1, "output of \"%s\" cut at %zu bytes", cmd, n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* One row of `cradle help --list-options`. */
struct row {
	char cmd[32], shrt[8], name[64], arg[64], rep[16];
};

#define MAX_ROWS 160

static size_t
table(struct row *rows)
{
	static char out[65536];
	size_t n = 0;
	char *line, *save = NULL;

	ck_assert_int_eq(sh(out, sizeof(out), "%s help --list-options", it_bin("cradle")), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_int_lt(n, MAX_ROWS);
		struct row *r = &rows[n++];
		ck_assert_msg(sscanf(line, "%31[^\t]\t%7[^\t]\t%63[^\t]\t%63[^\t]\t%15s", r->cmd,
		                     r->shrt, r->name, r->arg, r->rep) == 5,
		              "bad row \"%s\"", line);
		ck_assert_msg(strncmp(r->name, "--", 2) == 0, "%s", line);
	}
	ck_assert_int_gt(n, 30);
	return n;
}

/* the commands listed by `cradle --help` */
static size_t
commands(char names[][32], size_t max)
{
	static char out[16384];
	char *p;
	size_t n = 0;

	ck_assert_int_eq(sh(out, sizeof(out), "%s --help", it_bin("cradle")), 0);
	p = strstr(out, "\nCommands:\n");
	ck_assert_ptr_nonnull(p);
	p += strlen("\nCommands:\n");
	while (strncmp(p, "  ", 2) == 0 && p[2] != ' ') {
		ck_assert_int_lt(n, max);
		ck_assert_int_eq(sscanf(p, " %31s", names[n]), 1);
		n++;
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
		while (strncmp(p, "    ", 4) == 0) { /* a wrapped summary */
			p = strchr(p, '\n');
			ck_assert_ptr_nonnull(p);
			p++;
		}
	}
	ck_assert_int_gt(n, 15);
	return n;
}

static bool
has_option(const char *text, const struct row *r)
{
	char want[160];

	if (strcmp(r->shrt, "-") != 0)
		snprintf(want, sizeof(want), "%s, %s%s%s", r->shrt, r->name,
		         strcmp(r->arg, "-") ? " " : "", strcmp(r->arg, "-") ? r->arg : "");
	else
		snprintf(want, sizeof(want), "    %s%s%s", r->name, strcmp(r->arg, "-") ? " " : "",
		         strcmp(r->arg, "-") ? r->arg : "");
	return strstr(text, want) != NULL;
}

START_TEST(test_help_explains_every_option)
{
	static struct row rows[MAX_ROWS];
	static char help[16384], help2[16384], global[16384];
	char names[64][32];
	size_t n = table(rows), nc = commands(names, 64);

	ck_assert_int_eq(sh(global, sizeof(global), "%s --help", it_bin("cradle")), 0);
	for (size_t c = 0; c < nc; c++) {
		size_t seen = 0;

		ck_assert_int_eq(sh(help, sizeof(help), "%s %s --help", it_bin("cradle"), names[c]),
		                 0);
		ck_assert_int_eq(sh(help2, sizeof(help2), "%s help %s", it_bin("cradle"), names[c]),
		                 0);
		ck_assert_str_eq(help, help2);
		ck_assert_int_eq(sh(help2, sizeof(help2), "%s %s -h", it_bin("cradle"), names[c]),
		                 0);
		ck_assert_str_eq(help, help2);
		ck_assert_msg(strstr(help, "usage: cradle [GLOBAL OPTIONS] ") &&
		                      strstr(help, names[c]) && strstr(help, "\nOptions:\n"),
		              "%s", help);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(rows[i].cmd, names[c]) != 0)
				continue;
			seen++;
			ck_assert_msg(has_option(help, &rows[i]),
			              "%s --help does not explain %s:\n%s", names[c], rows[i].name,
			              help);
		}
		/* every command has its table, -h/--help at least */
		ck_assert_msg(seen >= 1, "%s has no row in the option table", names[c]);
	}
	for (size_t i = 0; i < n; i++) {
		bool listed = strcmp(rows[i].cmd, "-") == 0;

		for (size_t c = 0; c < nc && !listed; c++)
			listed = strcmp(rows[i].cmd, names[c]) == 0;
		ck_assert_msg(listed, "%s of the table is not a command of --help", rows[i].cmd);
		if (strcmp(rows[i].cmd, "-") == 0)
			ck_assert_msg(has_option(global, &rows[i]), "--help lacks %s",
			              rows[i].name);
	}
}
END_TEST

START_TEST(test_help_unknown_command)
{
	char out[8192];

	ck_assert_int_eq(sh(out, sizeof(out), "%s help nosuch", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "unknown command \"nosuch\""), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s nosuch", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "unknown command \"nosuch\""), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s help pods rmp", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "at most one command"), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s help", it_bin("cradle")), 0);
	ck_assert_msg(strstr(out, "Commands:"), "%s", out);
}
END_TEST

/* A command line with the option key (and a value if it takes one),
 * against a socket where no daemon is: it must get past the parser. */
static void
assert_taken(const char *cmd, const char *opt, bool value)
{
	char out[16384];
	int rc;

	rc = sh(out, sizeof(out), "%s --socket %s/none.sock --timeout 1 %s %s%s", it_bin("cradle"),
	        D.dir, cmd, opt, value ? " 1" : "");
	ck_assert_msg(rc != 70 && rc != 128 && !strstr(out, "unknown option") &&
	                      !strstr(out, "internal error") && !strstr(out, "needs a value"),
	              "%s %s refused (%d): %s", cmd, opt, rc, out);
}

static void
assert_refused(const char *cmd, const char *opt)
{
	char out[16384], want[128];
	int rc;

	rc = sh(out, sizeof(out), "%s --socket %s/none.sock --timeout 1 %s %s", it_bin("cradle"),
	        D.dir, cmd, opt);
	char sibling[128];

	snprintf(want, sizeof(want), "cradle: %s: unknown option %s", cmd, opt);
	/* or, refused by inspecti, the hint that it is inspectp's */
	snprintf(sibling, sizeof(sibling), "cradle: %s: %s is an option of ", cmd, opt);
	ck_assert_msg(rc == 2 && (strstr(out, want) || strstr(out, sibling)),
	              "%s %s not refused (%d): %s", cmd, opt, rc, out);
}

START_TEST(test_parser_agrees_with_table)
{
	static struct row rows[MAX_ROWS];
	char names[64][32];
	size_t n = table(rows), nc = commands(names, 64);
	char tmpl[] = IT_TMP_PREFIX "XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(D.dir, sizeof(D.dir), "%s", tmpl);
	/* every option of a table is taken, long and short, and as
	 * --name=VALUE; the sanitizer builds, where each exec costs a
	 * tenth of a second, check the long form of each (getopt_long
	 * handles the other two the same for all) */
	bool all_forms = it_ms(1) == 1;
	for (size_t i = 0; i < n; i++) {
		bool value = strcmp(rows[i].arg, "-") != 0;

		if (strcmp(rows[i].cmd, "-") == 0 || strcmp(rows[i].name, "--help") == 0)
			continue;
		assert_taken(rows[i].cmd, rows[i].name, value);
		if (all_forms && strcmp(rows[i].shrt, "-") != 0)
			assert_taken(rows[i].cmd, rows[i].shrt, value);
		if (all_forms && value) { /* --name=VALUE too */
			char eq[96];
			snprintf(eq, sizeof(eq), "%s=1", rows[i].name);
			assert_taken(rows[i].cmd, eq, false);
		}
	}
	/* and what another command's table has, this one's does not: refused
	 * (the first such long and short option of the others' tables: the
	 * parser is built from the table, so one of each shows it; each is
	 * an exec, and every pair of command and option took 100 s under
	 * ASan), as are abbreviations and what no table has */
	for (size_t c = 0; c < nc; c++) {
		bool done[2] = { false, false };
		for (size_t i = 0; i < n && !(done[0] && done[1]); i++) {
			bool mine = false;
			const char *spell[2] = { rows[i].name, rows[i].shrt };

			for (int s = 0; s < 2; s++) {
				if (done[s] || strcmp(spell[s], "-") == 0)
					continue;
				mine = false;
				for (size_t j = 0; j < n && !mine; j++)
					mine = strcmp(rows[j].cmd, names[c]) == 0 &&
					       (strcmp(rows[j].name, spell[s]) == 0 ||
					        strcmp(rows[j].shrt, spell[s]) == 0);
				if (!mine) {
					assert_refused(names[c], spell[s]);
					done[s] = true;
				}
			}
		}
		assert_refused(names[c], "--no-such-option");
		assert_refused(names[c], "-Z");
	}
	char out[8192];
	ck_assert_int_eq(sh(out, sizeof(out), "%s pods --nam x", it_bin("cradle")), 2);
	ck_assert_int_eq(sh(out, sizeof(out), "%s images --no", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "unknown option --no (did you mean --no-trunc?)"), "%s", out);
	/* pull's credentials: one form or the other; a user alone reads the
	 * password (here: standard input, empty) before anything is sent */
	ck_assert_int_eq(
		sh(out, sizeof(out), "%s pull --creds u:p --auth dTpw busybox", it_bin("cradle")),
		2);
	ck_assert_msg(strstr(out, "--creds and --auth are one or the other"), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s --socket %s/none.sock pull --creds u busybox",
	                    it_bin("cradle"), D.dir),
	                 1);
	ck_assert_msg(strstr(out, "--creds u: no password"), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s inspecti -v x", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "-v is an option of inspectp only"), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s inspecti --verbose=1 x", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "--verbose is an option of inspectp only"), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s stopp --timeout", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "option --timeout needs a value"), "%s", out);
	ck_assert_int_eq(rmdir(D.dir), 0);
	D.dir[0] = '\0';
}
END_TEST

enum spelling { PLAIN, ROFF, FISH };

/* every "--name" of the table in text: as it is, in roff (which escapes
 * '-' as "\-") or as fish's "-l name" */
static void
assert_names_all(const char *what, const char *text, const struct row *rows, size_t n,
                 enum spelling sp)
{
	bool roff = sp == ROFF;

	for (size_t i = 0; i < n; i++) {
		char want[160];

		if (roff)
			snprintf(want, sizeof(want), "\\-\\-%s", rows[i].name + 2);
		else if (sp == FISH)
			snprintf(want, sizeof(want), " -l %s ", rows[i].name + 2);
		else
			snprintf(want, sizeof(want), "%s", rows[i].name);
		/* roff escapes the hyphens inside a name too */
		if (roff)
			for (char *p = want + 4; (p = strchr(p, '-')) != NULL; p += 2) {
				memmove(p + 1, p, strlen(p) + 1);
				*p = '\\';
			}
		ck_assert_msg(strstr(text, want), "%s lacks %s (of %s)", what, want, rows[i].cmd);
	}
}

START_TEST(test_man_page)
{
	static struct row rows[MAX_ROWS];
	static char man[262144];
	char names[64][32], want[64];
	size_t n = table(rows), nc = commands(names, 64);

	ck_assert_int_eq(sh(man, sizeof(man), "%s help --man", it_bin("cradle")), 0);
	ck_assert_msg(strstr(man, "\n.TH CRADLE 1 "), "no .TH: %.200s", man);
	ck_assert_msg(strstr(man, "\n.SH SYNOPSIS\n") && strstr(man, "\n.SH COMMANDS\n"), "%s",
	              man);
	assert_names_all("cradle.1", man, rows, n, ROFF);
	for (size_t c = 0; c < nc; c++) {
		snprintf(want, sizeof(want), "\n.SS \"%s", names[c]);
		ck_assert_msg(strstr(man, want), "cradle.1 has no section for %s", names[c]);
	}
	/* roff that groff reads without a warning, when groff is there */
	if (access("/usr/bin/groff", X_OK) == 0) {
		char out[8192];
		ck_assert_int_eq(sh(out, sizeof(out), "%s help --man | groff -man -Tutf8 -ww -z",
		                    it_bin("cradle")),
		                 0);
		ck_assert_str_eq(out, "");
	}
	ck_assert_int_eq(sh(man, sizeof(man), "%s help --man pods", it_bin("cradle")), 2);
}
END_TEST

/* The daemon's pages are written by hand: they name every option of
 * `cradled --help` and every key of `cradled --print-config`. */
START_TEST(test_daemon_pages)
{
	static char out[65536], page[131072];
	char word[128], section[64] = "", want[160];
	const char *p;

	it_read_text(it_src("docs/cradled.8"), page, sizeof(page));
	ck_assert_msg(strstr(page, "\n.TH CRADLED 8 "), "no .TH");
	ck_assert_int_eq(sh(out, sizeof(out), "%s --help", it_bin("cradled")), 0);
	int options = 0;
	for (p = out; (p = strstr(p, "--")) != NULL; p += 2) {
		if (sscanf(p + 2, "%127[a-z-]", word) != 1)
			continue;
		snprintf(want, sizeof(want), "\\fB\\-\\-");
		for (char *w = word; *w; w++) {
			size_t l = strlen(want);
			snprintf(want + l, sizeof(want) - l, "%s",
			         *w == '-' ? "\\-" : (char[]){ *w, 0 });
		}
		strncat(want, "\\fR", sizeof(want) - strlen(want) - 1);
		ck_assert_msg(strstr(page, want), "cradled.8 lacks --%s (%s)", word, want);
		options++;
	}
	ck_assert_int_ge(options, 10);

	it_read_text(it_src("docs/cradled.conf.5"), page, sizeof(page));
	ck_assert_msg(strstr(page, "\n.TH CRADLED.CONF 5 "), "no .TH");
	char tmpl[] = IT_TMP_PREFIX "XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_int_eq(sh(out, sizeof(out),
	                    "cd %s && : > empty.conf && %s --config empty.conf "
	                    "--print-config; rm -f empty.conf",
	                    tmpl, it_bin("cradled")),
	                 0);
	ck_assert_int_eq(rmdir(tmpl), 0);
	int keys = 0;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "[%63[^]]]", section) == 1) {
			/* [runtime.runc]: the page's [runtime.NAME] */
			if (strncmp(section, "runtime.", 8) == 0)
				snprintf(section, sizeof(section), "runtime.NAME");
			snprintf(want, sizeof(want), "\n.SH \"[%s]\"\n", section);
			ck_assert_msg(strstr(page, want), "cradled.conf.5 lacks [%s]", section);
			continue;
		}
		if (sscanf(line, "%127[a-z_] =", word) != 1)
			continue;
		/* the key in its section's part of the page */
		const char *sec = strstr(page, want), *end = strstr(sec + 1, "\n.SH ");
		char key[160];
		snprintf(key, sizeof(key), "\n.B %s\n", word);
		const char *hit = strstr(sec, key);
		ck_assert_msg(hit && (!end || hit < end), "cradled.conf.5 lacks [%s] %s", section,
		              word);
		keys++;
	}
	ck_assert_int_ge(keys, 30);
}
END_TEST

START_TEST(test_completion_scripts)
{
	static struct row rows[MAX_ROWS];
	static char script[262144];
	char out[8192];
	size_t n = table(rows);

	/* bash: accepted by bash -n, registers with complete */
	ck_assert_int_eq(sh(script, sizeof(script), "%s completion bash", it_bin("cradle")), 0);
	assert_names_all("the bash completion", script, rows, n, PLAIN);
	ck_assert_int_eq(sh(out, sizeof(out), "%s completion bash | bash -n", it_bin("cradle")), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(sh(out, sizeof(out),
	                    "bash -c 'source <(%s completion bash) && complete -p cradle'",
	                    it_bin("cradle")),
	                 0);
	ck_assert_str_eq(out, "complete -F _cradle cradle\n");
	/* and completes: commands, options, values */
	ck_assert_int_eq(sh(out, sizeof(out),
	                    "bash -c 'source <(%s completion bash); COMP_WORDS=(cradle pods --st); "
	                    "COMP_CWORD=2; _cradle; echo \"${COMPREPLY[*]}\"; "
	                    "COMP_WORDS=(cradle pods --state \"\"); COMP_CWORD=3; _cradle; "
	                    "echo \"${COMPREPLY[*]}\"; COMP_WORDS=(cradle comp); COMP_CWORD=1; "
	                    "_cradle; echo \"${COMPREPLY[*]}\"'",
	                    it_bin("cradle")),
	                 0);
	ck_assert_str_eq(out, "--state\nready notready\ncompletion\n");

	ck_assert_int_eq(sh(script, sizeof(script), "%s completion zsh", it_bin("cradle")), 0);
	ck_assert_msg(strncmp(script, "#compdef cradle\n", 16) == 0, "%.100s", script);
	assert_names_all("the zsh completion", script, rows, n, PLAIN);
	if (access("/usr/bin/zsh", X_OK) == 0 || access("/bin/zsh", X_OK) == 0)
		ck_assert_int_eq(
			sh(out, sizeof(out), "%s completion zsh | zsh -n", it_bin("cradle")), 0);
	ck_assert_int_eq(sh(script, sizeof(script), "%s completion fish", it_bin("cradle")), 0);
	ck_assert_msg(strstr(script, "\ncomplete -c cradle -n __fish_use_subcommand -a 'pods'"),
	              "%.300s", script);
	assert_names_all("the fish completion", script, rows, n, FISH);
	if (access("/usr/bin/fish", X_OK) == 0)
		ck_assert_int_eq(
			sh(out, sizeof(out), "%s completion fish | fish -n", it_bin("cradle")), 0);

	ck_assert_int_eq(sh(out, sizeof(out), "%s completion tcsh", it_bin("cradle")), 2);
	ck_assert_msg(strstr(out, "unknown shell \"tcsh\""), "%s", out);
	ck_assert_int_eq(sh(out, sizeof(out), "%s completion", it_bin("cradle")), 2);
}
END_TEST

/* The bash completion asks the daemon the command line names for sandbox
 * ids and images. */
START_TEST(test_completion_asks_the_daemon)
{
	char out[16384], id[CRADLE_SANDBOX_ID_LEN + 1], q[600];

	it_start(&D, NULL);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "runp %s", it_src("examples/pod.json")), 0);
	ck_assert_int_eq(sscanf(out, "%64s", id), 1);
	/* PATH: the scripts run `cradle` */
	snprintf(q, sizeof(q), "PATH=%.*s:$PATH",
	         (int)(strrchr(it_bin("cradle"), '/') - it_bin("cradle")), it_bin("cradle"));
	ck_assert_int_eq(sh(out, sizeof(out),
	                    "%s bash -c 'source <(cradle completion bash); "
	                    "COMP_WORDS=(cradle --socket %s stopp %.3s); COMP_CWORD=4; _cradle; "
	                    "echo \"${COMPREPLY[*]}\"; "
	                    "COMP_WORDS=(cradle --socket %s inspecti cradle.local/); "
	                    "COMP_CWORD=4; _cradle; echo \"${COMPREPLY[*]}\"'",
	                    q, D.sock, id, D.sock),
	                 0);
	char want[200];
	snprintf(want, sizeof(want), "%s\ncradle.local/pause:built-in\n", id);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmp -f %s", id), 0);
}
END_TEST

static Suite *
cli_doc_suite(void)
{
	Suite *s = suite_create("cli_doc");
	TCase *tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_help_explains_every_option);
	tcase_add_test(tc, test_help_unknown_command);
	tcase_add_test(tc, test_parser_agrees_with_table);
	tcase_add_test(tc, test_man_page);
	tcase_add_test(tc, test_daemon_pages);
	tcase_add_test(tc, test_completion_scripts);
	tcase_add_test(tc, test_completion_asks_the_daemon);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_cli_doc: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(cli_doc_suite());
}
