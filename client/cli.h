/* cli.h - what the files of the `cradle` CLI share: time stamps and sizes
 * as crictl prints them (client/cli_text.c), and the option tables with
 * what is made of them (client/cli_doc.c: parsers, help, man page,
 * completion).  Not part of libcradle.
 */
#ifndef CRADLE_CLI_H
#define CRADLE_CLI_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "5 seconds ago", "About a minute ago", ... as crictl prints CREATED
 * (docker/go-units HumanDuration).  now_ns and ns are since the epoch. */
void cli_time_ago(int64_t ns, int64_t now_ns, char *buf, size_t size);

/* Wall clock in ns since the epoch. */
int64_t cli_now_ns(void);

/* Bytes as crictl's SIZE column (docker/go-units HumanSizeWithPrecision,
 * 3 digits, powers of 1000): "742B", "1.23MB", "315kB". */
void cli_human_size(int64_t bytes, char *buf, size_t size);

/* Bytes with one decimal, for progress: "512B", "12.3MB". */
void cli_progress_size(uint64_t bytes, char *buf, size_t size);

/* inspectp -v: append to the malloc'd *text, one line per step, the step
 * times of s's last start and stop (cradle_sandbox_status_verbose):
 * "start  launch                  1.234 ms".  0, or -ENOMEM (*text is
 * then as it was). */
struct cradle_sandbox;
int cli_append_steps(char **text, const struct cradle_sandbox *s);

/* --- the option tables (client/cli_doc.c) ---------------------------
 * One table per command drives its parser (getopt_long's optstring and
 * long options are built from it, so a parser takes exactly what the
 * table lists), `cradle help CMD` and `CMD --help`, the man page
 * (`cradle help --man`) and the completion scripts (`cradle completion
 * bash|zsh|fish`).  Every command also takes -h/--help. */

/* What a shell may offer for an option's value or an operand. */
enum cli_complete {
	CLI_C_NONE,    /* free text: nothing offered */
	CLI_C_FILE,    /* a file name */
	CLI_C_POD,     /* a sandbox id: `cradle pods -q` */
	CLI_C_IMAGE,   /* an image reference or id: `cradle images` */
	CLI_C_COMMAND, /* a command of the CLI */
	CLI_C_WORDS,   /* one of the words of .words */
};

/* Keys of long-only options: above every short letter */
enum { CLI_LONG_ONLY = 256 };

struct cli_opt {
	int key;          /* the short letter, or CLI_LONG_ONLY + n: long only */
	const char *name; /* long name, without "--" */
	const char *arg;  /* its value's name ("SECS"); NULL: takes no value */
	bool repeats;     /* may be given more than once, each counts */
	const char *help; /* one sentence or two, no newline */
	enum cli_complete complete;
	const char *words; /* CLI_C_WORDS: the values, space-separated */
};

struct cli;
struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *operands;       /* after the options in its usage: "ID..." */
	const char *summary;        /* one line, for the list of commands */
	const char *text;           /* what it does, for help and the man page */
	const struct cli_opt *opts; /* ends with a NULL name; NULL: none */
	enum cli_complete operand;
	const char *operand_words; /* CLI_C_WORDS */
};

/* The CLI's commands and global options (client/cli.c). */
extern const struct cli_cmd cli_commands[];
extern const size_t cli_n_commands;
extern const struct cli_opt cli_global_opts[];

#define CLI_MAX_OPTS 32

/* getopt_long over one command's table. */
struct cli_parser {
	const struct cli_cmd *cmd;
	struct option longopts[CLI_MAX_OPTS + 2];
	char optstring[3 * CLI_MAX_OPTS + 4];
	int status; /* when cli_next returned 0: the exit status */
};

/* Prepare p for cmd (optind reset: the command's argv starts over); cmd
 * NULL: the global options, up to the command. */
void cli_parser_init(struct cli_parser *p, const struct cli_cmd *cmd);

/* The next option's key; -1 when the options end (optind at the first
 * operand); 0 when the command is done: -h/--help printed its help
 * (p->status 0) or the option is not in the table or lacks its value
 * (usage error printed, p->status 2). */
int cli_next(struct cli_parser *p, int argc, char **argv);

/* A key the table has but its command does not handle: a bug, said so;
 * the exit status (70). */
int cli_unhandled(const struct cli_parser *p, int key);

/* "cradle: CMD: message" and CMD's usage on stderr; the exit status 2.
 * cmd NULL: the CLI's own usage line. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The whole help of the CLI (command list) and of one command. */
void cli_print_usage(FILE *f);
void cli_print_command_help(FILE *f, const struct cli_cmd *cmd);

/* The man page cradle(1) in roff; the option table, one option a line:
 * "COMMAND<TAB>-x<TAB>--name<TAB>ARG<TAB>repeats" ("-" for what is not
 * there; COMMAND "-" for a global option). */
void cli_print_man(FILE *f);
void cli_print_table(FILE *f);

/* The completion script for shell ("bash", "zsh", "fish"); -1 when the
 * shell is not one of them. */
int cli_print_completion(FILE *f, const char *shell);

#endif
