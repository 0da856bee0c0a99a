/* cli_doc.c - what the `cradle` CLI makes of its option tables (cli.h):
 * each command's parser (getopt_long's arguments built from its table),
 * its help, the man page cradle(1) and the completion scripts for bash,
 * zsh and fish.  One table, so none of them can list an option another
 * does not take.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cradle.h"

#define EXIT_USAGE 2
#define EXIT_SOFTWARE 70

/* the column option help starts in, and the width it wraps at */
#define HELP_COL 26
#define WIDTH 79

static const struct cli_opt help_opt = {
	'h', "help", NULL, false, "show this help and exit", CLI_C_NONE, NULL,
};

/* The table's options, then -h/--help (every command's), through fn. */
static size_t
n_opts(const struct cli_cmd *cmd)
{
	size_t n = 0;

	while (cmd->opts && cmd->opts[n].name)
		n++;
	return n;
}

static const struct cli_opt *
opt_at(const struct cli_cmd *cmd, size_t i)
{
	return i < n_opts(cmd) ? &cmd->opts[i] : i == n_opts(cmd) ? &help_opt : NULL;
}

/* cmd's options, or with cmd NULL the global ones */
static const struct cli_opt *
parser_opt_at(const struct cli_cmd *cmd, size_t i)
{
	if (cmd)
		return opt_at(cmd, i);
	return cli_global_opts[i].name ? &cli_global_opts[i] : NULL;
}

static bool
is_short(int key)
{
	return key > 0 && key < CLI_LONG_ONLY && isalnum(key);
}

/* --- parsing ------------------------------------------------------- */

void
cli_parser_init(struct cli_parser *p, const struct cli_cmd *cmd)
{
	const struct cli_opt *o;
	size_t i, k = 0, n = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	/* global options: '+' stops at the command, whose options are its
	 * own; ':' tells a missing value apart from an unknown option */
	if (!cmd)
		p->optstring[k++] = '+';
	p->optstring[k++] = ':';
	for (i = 0; (o = parser_opt_at(cmd, i)) != NULL && n < CLI_MAX_OPTS + 1; i++) {
		p->longopts[n++] =
			(struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
			                 o->key };
		if (is_short(o->key)) {
			p->optstring[k++] = (char)o->key;
			if (o->arg)
				p->optstring[k++] = ':';
		}
	}
	p->optstring[k] = '\0';
	optind = 0; /* glibc's getopt starts over */
	opterr = 0;
}

static int usage_errorf(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
usage_errorf(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cli_usage_error(cmd, fmt, ap);
	va_end(ap);
	return rc;
}

/* The command whose name differs from cmd's in its last letter alone
 * (inspectp and inspecti) when it takes the option cmd refused (short
 * letter key, or long name); NULL otherwise. */
static const char *
sibling_with(const struct cli_cmd *cmd, int key, const char *name)
{
	size_t len;

	if (cmd == NULL || (len = strlen(cmd->name)) < 2)
		return NULL;
	for (size_t c = 0; c < cli_n_commands; c++) {
		const struct cli_cmd *s = &cli_commands[c];
		const struct cli_opt *o;

		if (s == cmd || strlen(s->name) != len || strncmp(s->name, cmd->name, len - 1) != 0)
			continue;
		for (size_t i = 0; (o = opt_at(s, i)) != NULL; i++)
			if ((key && is_short(o->key) && o->key == key) ||
			    (name && strcmp(o->name, name) == 0))
				return s->name;
	}
	return NULL;
}

int
cli_next(struct cli_parser *p, int argc, char **argv)
{
	int li = -1, c = getopt_long(argc, argv, p->optstring, p->longopts, &li);
	const char *arg;

	if (c == -1)
		return -1;
	if (li >= 0 && c != '?' && c != ':') {
		/* getopt_long takes an abbreviation of a long name; the table
		 * names whole options only (as crictl takes them): "--nam" is
		 * not "--name".  The option is the element before its
		 * separate value, if it has one. */
		const char *name = p->longopts[li].name;
		size_t len = strlen(name);

		arg = argv[optind - 1];
		if (optarg && optarg == arg && optind >= 2)
			arg = argv[optind - 2];
		if (strncmp(arg, "--", 2) == 0 && (strncmp(arg + 2, name, len) != 0 ||
		                                   (arg[2 + len] != '\0' && arg[2 + len] != '='))) {
			p->status = usage_errorf(p->cmd, "unknown option %.*s (did you mean --%s?)",
			                         (int)strcspn(arg, "="), arg, name);
			return 0;
		}
	}
	if (c == 'h' && p->cmd) {
		cli_print_command_help(stdout, p->cmd);
		p->status = 0;
		return 0;
	}
	if (c != '?' && c != ':')
		return c;
	arg = argv[optind - 1];
	if (c == ':') {
		p->status = usage_errorf(p->cmd, "option %s needs a value", arg);
	} else if (optopt && !(arg[0] == '-' && arg[1] == '-')) {
		const char *sib = sibling_with(p->cmd, optopt, NULL);
		if (sib)
			p->status =
				usage_errorf(p->cmd, "-%c is an option of %s only", optopt, sib);
		else
			p->status = usage_errorf(p->cmd, "unknown option -%c", optopt);
	} else {
		size_t len = strcspn(arg, "=");
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(len > 2 ? len - 2 : 0), arg + 2);
		const char *sib = sibling_with(p->cmd, 0, name);
		if (sib)
			p->status = usage_errorf(p->cmd, "--%s is an option of %s only", name, sib);
		else
			p->status = usage_errorf(p->cmd, "unknown option %.*s", (int)len, arg);
	}
	return 0;
}

int
cli_unhandled(const struct cli_parser *p, int key)
{
	const struct cli_opt *o;

	for (size_t i = 0; (o = parser_opt_at(p->cmd, i)) != NULL; i++)
		if (o->key == key)
			break;
	fprintf(stderr, "cradle: %s: internal error: option --%s is in its table but not handled\n",
	        p->cmd ? p->cmd->name : "cradle", o ? o->name : "?");
	return EXIT_SOFTWARE;
}

/* --- help ---------------------------------------------------------- */

/* "-s, --state STATE" or "    --label KEY=VALUE" */
static void
opt_label(const struct cli_opt *o, char *buf, size_t size)
{
	if (is_short(o->key))
		snprintf(buf, size, "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
	else
		snprintf(buf, size, "    --%s%s%s", o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
}

/* text from column col, wrapped at WIDTH, continued lines at indent */
static void
wrap(FILE *f, const char *text, int col, int indent)
{
	const char *w = text;

	while (*w) {
		const char *e = w;
		int len;

		while (*e && *e != ' ')
			e++;
		len = (int)(e - w);
		if (col > indent && col + 1 + len > WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(w, 1, (size_t)len, f);
		col += len;
		while (*e == ' ')
			e++;
		w = e;
	}
	fputc('\n', f);
}

static void
print_opt_help(FILE *f, const struct cli_opt *o)
{
	char label[128], help[512];
	int col;

	opt_label(o, label, sizeof(label));
	col = fprintf(f, "  %s", label);
	snprintf(help, sizeof(help), "%s%s", o->help, o->repeats ? " (may be repeated)" : "");
	if (col + 2 > HELP_COL) {
		fprintf(f, "\n%*s", HELP_COL, "");
	} else {
		fprintf(f, "%*s", HELP_COL - col, "");
	}
	wrap(f, help, HELP_COL, HELP_COL);
}

/* The synopsis of cmd: "[-s STATE] [--label KEY=VALUE]... ID..." */
static void
synopsis(FILE *f, const struct cli_cmd *cmd, int col, int indent)
{
	char word[160];
	const struct cli_opt *o;

	for (size_t i = 0; i < n_opts(cmd); i++) {
		o = &cmd->opts[i];
		if (is_short(o->key))
			snprintf(word, sizeof(word), "[-%c%s%s]%s", o->key, o->arg ? " " : "",
			         o->arg ? o->arg : "", o->repeats ? "..." : "");
		else
			snprintf(word, sizeof(word), "[--%s%s%s]%s", o->name, o->arg ? " " : "",
			         o->arg ? o->arg : "", o->repeats ? "..." : "");
		/* an option's words stay on one line */
		for (char *s = word; *s; s++)
			if (*s == ' ')
				*s = '\x01';
		if (col + 1 + (int)strlen(word) > WIDTH && col > indent) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else {
			fputc(' ', f);
			col++;
		}
		for (char *s = word; *s; s++)
			fputc(*s == '\x01' ? ' ' : *s, f);
		col += (int)strlen(word);
	}
	if (cmd->operands[0]) {
		if (col + 1 + (int)strlen(cmd->operands) > WIDTH && col > indent)
			fprintf(f, "\n%*s", indent, "");
		else
			fputc(' ', f);
		fputs(cmd->operands, f);
	}
	fputc('\n', f);
}

static void
print_global_opts(FILE *f)
{
	for (size_t i = 0; cli_global_opts[i].name; i++)
		print_opt_help(f, &cli_global_opts[i]);
}

void
cli_print_command_help(FILE *f, const struct cli_cmd *cmd)
{
	int col = fprintf(f, "usage: cradle [GLOBAL OPTIONS] %s", cmd->name);

	synopsis(f, cmd, col, 10);
	fputc('\n', f);
	wrap(f, cmd->text, 0, 0);
	fputs("\nOptions:\n", f);
	for (size_t i = 0; opt_at(cmd, i); i++)
		print_opt_help(f, opt_at(cmd, i));
	fputs("\nRun 'cradle --help' for the global options.\n", f);
}

void
cli_print_usage(FILE *f)
{
	fprintf(f, "usage: cradle [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
	           "\n"
	           "Client of cradled, the pod sandbox daemon.  Sandbox ids may be\n"
	           "abbreviated to any unambiguous prefix.\n"
	           "\n"
	           "Global options:\n");
	print_global_opts(f);
	fputs("\nCommands:\n", f);
	for (size_t i = 0; i < cli_n_commands; i++) {
		int col = fprintf(f, "  %-11s", cli_commands[i].name);
		wrap(f, cli_commands[i].summary, col, 13);
	}
	fputs("\nRun 'cradle help COMMAND' or 'cradle COMMAND --help' for a command's\n"
	      "options, 'man cradle' for all of them.\n",
	      f);
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, va_list ap)
{
	fputs("cradle: ", stderr);
	if (cmd)
		fprintf(stderr, "%s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (cmd) {
		int col = fprintf(stderr, "usage: cradle [GLOBAL OPTIONS] %s", cmd->name);
		synopsis(stderr, cmd, col, 10);
		fprintf(stderr, "Run 'cradle help %s' for its options.\n", cmd->name);
	} else {
		fprintf(stderr, "usage: cradle [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
		                "Run 'cradle --help' for the commands.\n");
	}
	return EXIT_USAGE;
}

/* --- the option table, for scripts and tests ------------------------ */

static void
table_row(FILE *f, const char *cmd, const struct cli_opt *o)
{
	fprintf(f, "%s\t", cmd);
	if (is_short(o->key))
		fprintf(f, "-%c\t", o->key);
	else
		fputs("-\t", f);
	fprintf(f, "--%s\t%s\t%s\n", o->name, o->arg ? o->arg : "-", o->repeats ? "repeats" : "-");
}

void
cli_print_table(FILE *f)
{
	for (size_t i = 0; cli_global_opts[i].name; i++)
		table_row(f, "-", &cli_global_opts[i]);
	for (size_t c = 0; c < cli_n_commands; c++)
		for (size_t i = 0; opt_at(&cli_commands[c], i); i++)
			table_row(f, cli_commands[c].name, opt_at(&cli_commands[c], i));
}

/* --- the man page -------------------------------------------------- */

/* s as roff text: backslashes and hyphens escaped, a leading '.' or '\''
 * kept from being a request */
static void
roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n')
			fputs("\n.br\n", f);
		else
			fputc(*s, f);
	}
}

static void
man_opt(FILE *f, const struct cli_opt *o)
{
	fputs(".TP\n", f);
	if (is_short(o->key))
		fprintf(f, "\\fB\\-%c\\fR, ", o->key);
	fputs("\\fB\\-\\-", f);
	roff(f, o->name);
	fputs("\\fR", f);
	if (o->arg) {
		fputs(" \\fI", f);
		roff(f, o->arg);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	roff(f, o->help);
	if (o->repeats)
		fputs(" May be given more than once.", f);
	if (o->complete == CLI_C_WORDS && o->words) {
		fputs(" One of: ", f);
		roff(f, o->words);
		fputc('.', f);
	}
	fputc('\n', f);
}

void
cli_print_man(FILE *f)
{
	fprintf(f,
	        ".\\\" cradle(1), generated by `cradle help --man` from the CLI's option tables\n"
	        ".TH CRADLE 1 \"\" \"cradle %s\" \"User Commands\"\n"
	        ".SH NAME\n"
	        "cradle \\- client of cradled, the pod sandbox daemon\n"
	        ".SH SYNOPSIS\n"
	        ".B cradle\n"
	        "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR...]\n"
	        ".SH DESCRIPTION\n"
	        "\\fBcradle\\fR talks to \\fBcradled\\fR(8) over its socket, in the words of\n"
	        "\\fBcrictl\\fR(1): \\fBrunp\\fR, \\fBstopp\\fR, \\fBrmp\\fR, \\fBpods\\fR, "
	        "\\fBinspectp\\fR,\n"
	        "\\fBpull\\fR, \\fBimages\\fR, \\fBrmi\\fR ...\n"
	        "Sandbox ids may be abbreviated to any unambiguous prefix.\n"
	        "Commands over several ids carry on past a failed one.\n"
	        ".SH GLOBAL OPTIONS\n"
	        "They come before the command.\n",
	        CRADLE_VERSION);
	for (size_t i = 0; cli_global_opts[i].name; i++)
		man_opt(f, &cli_global_opts[i]);
	fputs(".SH COMMANDS\n", f);
	for (size_t c = 0; c < cli_n_commands; c++) {
		const struct cli_cmd *cmd = &cli_commands[c];

		fputs(".SS \"", f);
		roff(f, cmd->name);
		if (cmd->operands[0]) {
			fputs(n_opts(cmd) ? " [OPTIONS] " : " ", f);
			roff(f, cmd->operands);
		} else if (n_opts(cmd)) {
			fputs(" [OPTIONS]", f);
		}
		fputs("\"\n", f);
		roff(f, cmd->text);
		fputc('\n', f);
		for (size_t i = 0; opt_at(cmd, i); i++)
			man_opt(f, opt_at(cmd, i));
	}
	fprintf(f,
	        ".SH ENVIRONMENT\n"
	        ".TP\n"
	        ".B CRADLE_SOCKET\n"
	        "cradled's socket when \\fB\\-\\-socket\\fR is not given (default\n"
	        "\\fI%s\\fR).\n"
	        ".TP\n"
	        ".B CRADLE_EVENTS\n"
	        "cradled's events socket (default: \\fIevents.sock\\fR beside the socket).\n"
	        ".SH EXIT STATUS\n"
	        "0 when everything was done; 1 when an operation failed (\\fBcradle:\n"
	        "CODE: message\\fR on standard error); 2 when the command line was wrong\n"
	        "(with its usage).\n"
	        ".SH FILES\n"
	        "Shell completion: \\fBcradle completion bash|zsh|fish\\fR prints the script\n"
	        "that \\fBmake install\\fR installs.\n"
	        ".SH SEE ALSO\n"
	        "\\fBcradled\\fR(8), \\fBcradled.conf\\fR(5), \\fBcrictl\\fR(1)\n",
	        CRADLE_DEFAULT_SOCKET);
}

/* --- completion scripts -------------------------------------------- */

/* The long and short spellings of cmd's options, space-separated. */
static void
opt_words(FILE *f, const struct cli_cmd *cmd, const struct cli_opt *table)
{
	const struct cli_opt *o;
	bool first = true;

	for (size_t i = 0; cmd ? (o = opt_at(cmd, i)) != NULL : (o = &table[i])->name != NULL;
	     i++) {
		if (is_short(o->key))
			fprintf(f, "%s-%c", first ? "" : " ", o->key);
		fprintf(f, "%s--%s", is_short(o->key) || !first ? " " : "", o->name);
		first = false;
	}
}

/* bash: the words offered for a value or operand of kind k. */
static void
bash_values(FILE *f, enum cli_complete k, const char *words)
{
	switch (k) {
	case CLI_C_FILE:
		fputs("COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null", f);
		break;
	case CLI_C_POD:
		fputs("COMPREPLY=($(compgen -W \"$(_cradle_pods)\" -- \"$cur\"))", f);
		break;
	case CLI_C_IMAGE:
		fputs("COMPREPLY=($(compgen -W \"$(_cradle_images)\" -- \"$cur\")); "
		      "_cradle_colons",
		      f);
		break;
	case CLI_C_COMMAND:
		fputs("COMPREPLY=($(compgen -W \"$_cradle_commands\" -- \"$cur\"))", f);
		break;
	case CLI_C_WORDS:
		fprintf(f, "COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))", words ? words : "");
		break;
	default:
		fputs("COMPREPLY=()", f);
	}
}

/* case arms for the options of a table that take a value */
static void
bash_value_cases(FILE *f, const struct cli_cmd *cmd, const struct cli_opt *table,
                 const char *indent)
{
	const struct cli_opt *o;

	for (size_t i = 0; cmd ? (o = opt_at(cmd, i)) != NULL : (o = &table[i])->name != NULL;
	     i++) {
		if (!o->arg)
			continue;
		fputs(indent, f);
		if (is_short(o->key))
			fprintf(f, "-%c|", o->key);
		fprintf(f, "--%s) ", o->name);
		bash_values(f, o->complete, o->words);
		fputs("; return ;;\n", f);
	}
}

static void
print_bash(FILE *f)
{
	fputs("# bash completion for cradle, made by `cradle completion bash` from its\n"
	      "# option tables.  Sandbox ids come from `cradle pods -q`, images from\n"
	      "# `cradle images`, asked on the socket the command line names.\n",
	      f);
	fputs("_cradle_commands=\"", f);
	for (size_t c = 0; c < cli_n_commands; c++)
		fprintf(f, "%s%s", c ? " " : "", cli_commands[c].name);
	fputs("\"\n\n", f);
	fputs("_cradle_pods() {\n"
	      "\tcradle \"${_cradle_global[@]}\" --timeout 2 pods -q 2>/dev/null\n"
	      "}\n\n"
	      "_cradle_images() {\n"
	      "\tcradle \"${_cradle_global[@]}\" --timeout 2 images 2>/dev/null |\n"
	      "\t\tawk 'NR > 1 { if ($2 != \"<none>\") print $1 \":\" $2; print $3 }'\n"
	      "}\n\n"
	      "# references hold ':', a word break of bash's: complete them whole\n"
	      "_cradle_colons() {\n"
	      "\tdeclare -F __ltrim_colon_completions >/dev/null 2>&1 &&\n"
	      "\t\t__ltrim_colon_completions \"$cur\"\n"
	      "}\n\n"
	      "_cradle() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tif declare -F _get_comp_words_by_ref >/dev/null 2>&1; then\n"
	      "\t\t_get_comp_words_by_ref -n : cur prev\n"
	      "\tfi\n"
	      "\tlocal i cmd=\n"
	      "\t_cradle_global=()\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n"
	      "\t\t-s | --socket)\n"
	      "\t\t\t_cradle_global=(--socket \"${COMP_WORDS[i + 1]}\")\n"
	      "\t\t\t((i++)) ;;\n"
	      "\t\t-t | --timeout) ((i++)) ;;\n"
	      "\t\t-*) ;;\n"
	      "\t\t*)\n"
	      "\t\t\tcmd=${COMP_WORDS[i]}\n"
	      "\t\t\tbreak ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tif [[ -z $cmd ]]; then\n"
	      "\t\tcase $prev in\n",
	      f);
	bash_value_cases(f, NULL, cli_global_opts, "\t\t");
	fputs("\t\tesac\n"
	      "\t\tif [[ $cur == -* ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"",
	      f);
	opt_words(f, NULL, cli_global_opts);
	fputs("\" -- \"$cur\"))\n"
	      "\t\telse\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"$_cradle_commands\" -- \"$cur\"))\n"
	      "\t\tfi\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tcase $cmd in\n",
	      f);
	for (size_t c = 0; c < cli_n_commands; c++) {
		const struct cli_cmd *cmd = &cli_commands[c];

		fprintf(f, "\t%s)\n\t\tcase $prev in\n", cmd->name);
		bash_value_cases(f, cmd, NULL, "\t\t");
		fputs("\t\tesac\n\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W \"",
		      f);
		opt_words(f, cmd, NULL);
		fputs("\" -- \"$cur\"))\n\t\telse\n\t\t\t", f);
		bash_values(f, cmd->operand, cmd->operand_words);
		fputs("\n\t\tfi\n\t\t;;\n", f);
	}
	fputs("\tesac\n"
	      "}\n\n"
	      "complete -F _cradle cradle\n",
	      f);
}

/* s inside a zsh _arguments spec (single-quoted, in [...]); spec false:
 * a _describe description (single-quoted, nothing else special) */
static void
zsh_quoted(FILE *f, const char *s, bool spec)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else if (spec && (*s == '[' || *s == ']' || *s == ':' || *s == '\\'))
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

static void
zsh_text(FILE *f, const char *s)
{
	zsh_quoted(f, s, true);
}

static const char *
zsh_action(enum cli_complete k)
{
	switch (k) {
	case CLI_C_FILE:
		return "_files";
	case CLI_C_POD:
		return "_cradle_pods";
	case CLI_C_IMAGE:
		return "_cradle_images";
	case CLI_C_COMMAND:
		return "_cradle_commands";
	default:
		return " ";
	}
}

static void
zsh_spec(FILE *f, const struct cli_opt *o)
{
	char act[256];

	if (o->complete == CLI_C_WORDS)
		snprintf(act, sizeof(act), "(%s)", o->words ? o->words : "");
	else
		snprintf(act, sizeof(act), "%s", zsh_action(o->complete));
	fputs("\t\t", f);
	if (o->repeats) {
		fputs("'*", f);
	} else if (is_short(o->key)) {
		fprintf(f, "'(-%c --%s)'{-%c,--%s}'", o->key, o->name, o->key, o->name);
	} else {
		fputs("'", f);
	}
	if (o->repeats || !is_short(o->key)) {
		if (o->repeats && is_short(o->key))
			fprintf(f, "'{-%c,--%s}'", o->key, o->name);
		else
			fprintf(f, "--%s", o->name);
	}
	fputc('[', f);
	zsh_text(f, o->help);
	fputc(']', f);
	if (o->arg) {
		fputc(':', f);
		zsh_text(f, o->arg);
		fputc(':', f);
		zsh_text(f, act);
	}
	fputs("' \\\n", f);
}

static void
print_zsh(FILE *f)
{
	fputs("#compdef cradle\n"
	      "# zsh completion for cradle, made by `cradle completion zsh` from its\n"
	      "# option tables.\n\n"
	      "_cradle_global=()\n\n"
	      "_cradle_pods() {\n"
	      "\tlocal -a ids\n"
	      "\tids=(${(f)\"$(cradle $_cradle_global --timeout 2 pods -q 2>/dev/null)\"})\n"
	      "\tcompadd -a ids\n"
	      "}\n\n"
	      "_cradle_images() {\n"
	      "\tlocal -a refs\n"
	      "\trefs=(${(f)\"$(cradle $_cradle_global --timeout 2 images 2>/dev/null |\n"
	      "\t\tawk 'NR > 1 { if ($2 != \"<none>\") print $1 \":\" $2; print $3 }')\"})\n"
	      "\tcompadd -a refs\n"
	      "}\n\n"
	      "_cradle_commands() {\n"
	      "\tlocal -a cmds\n"
	      "\tcmds=(\n",
	      f);
	for (size_t c = 0; c < cli_n_commands; c++) {
		fprintf(f, "\t\t'%s:", cli_commands[c].name);
		zsh_quoted(f, cli_commands[c].summary, false);
		fputs("'\n", f);
	}
	fputs("\t)\n"
	      "\t_describe -t commands 'cradle command' cmds\n"
	      "}\n\n"
	      "_cradle() {\n"
	      "\tlocal curcontext=$curcontext state line ret=1\n"
	      "\ttypeset -A opt_args\n"
	      "\t_arguments -C \\\n",
	      f);
	for (size_t i = 0; cli_global_opts[i].name; i++)
		zsh_spec(f, &cli_global_opts[i]);
	fputs("\t\t'1:command:_cradle_commands' \\\n"
	      "\t\t'*::argument:->args' && ret=0\n"
	      "\t[[ $state == args ]] || return ret\n"
	      "\t_cradle_global=()\n"
	      "\t[[ -n ${opt_args[--socket]:-${opt_args[-s]}} ]] &&\n"
	      "\t\t_cradle_global=(--socket ${opt_args[--socket]:-${opt_args[-s]}})\n"
	      "\tcurcontext=${curcontext%:*:*}:cradle-$words[1]:\n"
	      "\tcase $words[1] in\n",
	      f);
	for (size_t c = 0; c < cli_n_commands; c++) {
		const struct cli_cmd *cmd = &cli_commands[c];
		const char *act = zsh_action(cmd->operand);

		fprintf(f, "\t%s)\n\t\t_arguments \\\n", cmd->name);
		for (size_t i = 0; opt_at(cmd, i); i++)
			zsh_spec(f, opt_at(cmd, i));
		if (cmd->operand == CLI_C_WORDS)
			fprintf(f, "\t\t'*:argument:(%s)' && ret=0 ;;\n",
			        cmd->operand_words ? cmd->operand_words : "");
		else if (cmd->operand == CLI_C_NONE)
			fputs("\t\t&& ret=0 ;;\n", f);
		else
			fprintf(f, "\t\t'*:argument:%s' && ret=0 ;;\n", act);
	}
	fputs("\tesac\n"
	      "\treturn ret\n"
	      "}\n\n"
	      "_cradle \"$@\"\n",
	      f);
}

/* s in fish's single quotes */
static void
fish_text(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static void
fish_values(FILE *f, enum cli_complete k, const char *words)
{
	switch (k) {
	case CLI_C_FILE:
		fputs(" -F", f);
		break;
	case CLI_C_POD:
		fputs(" -a '(__cradle_pods)'", f);
		break;
	case CLI_C_IMAGE:
		fputs(" -a '(__cradle_images)'", f);
		break;
	case CLI_C_COMMAND:
		fputs(" -a '(__cradle_commands)'", f);
		break;
	case CLI_C_WORDS:
		fputs(" -a ", f);
		fish_text(f, words ? words : "");
		break;
	default:
		break;
	}
}

static void
fish_opt(FILE *f, const char *cond, const struct cli_opt *o)
{
	fprintf(f, "complete -c cradle -n %s", cond);
	if (is_short(o->key))
		fprintf(f, " -s %c", o->key);
	fprintf(f, " -l %s", o->name);
	/* a value: -r (required); -x (-r -f) unless it is a file name */
	if (o->arg && o->complete == CLI_C_FILE) {
		fputs(" -r -F", f);
	} else if (o->arg) {
		fputs(" -x", f);
		fish_values(f, o->complete, o->words);
	}
	fputs(" -d ", f);
	fish_text(f, o->help);
	fputc('\n', f);
}

static void
print_fish(FILE *f)
{
	char cond[128];

	fputs("# fish completion for cradle, made by `cradle completion fish` from its\n"
	      "# option tables.\n\n"
	      "function __cradle_global\n"
	      "\tset -l words (commandline -opc)\n"
	      "\tfor i in (seq 2 (count $words))\n"
	      "\t\tswitch $words[$i]\n"
	      "\t\t\tcase -s --socket\n"
	      "\t\t\t\tset -l j (math $i + 1)\n"
	      "\t\t\t\tif test $j -le (count $words)\n"
	      "\t\t\t\t\techo --socket\n"
	      "\t\t\t\t\techo $words[$j]\n"
	      "\t\t\t\tend\n"
	      "\t\tend\n"
	      "\tend\n"
	      "end\n\n"
	      "function __cradle_pods\n"
	      "\tcradle (__cradle_global) --timeout 2 pods -q 2>/dev/null\n"
	      "end\n\n"
	      "function __cradle_images\n"
	      "\tcradle (__cradle_global) --timeout 2 images 2>/dev/null |\n"
	      "\t\tawk 'NR > 1 { if ($2 != \"<none>\") print $1 \":\" $2; print $3 }'\n"
	      "end\n\n"
	      "function __cradle_commands\n",
	      f);
	for (size_t c = 0; c < cli_n_commands; c++) {
		fprintf(f, "\techo %s\\t", cli_commands[c].name);
		fish_text(f, cli_commands[c].summary);
		fputc('\n', f);
	}
	fputs("end\n\n"
	      "complete -c cradle -f\n",
	      f);
	for (size_t i = 0; cli_global_opts[i].name; i++)
		fish_opt(f, "__fish_use_subcommand", &cli_global_opts[i]);
	for (size_t c = 0; c < cli_n_commands; c++) {
		fputs("complete -c cradle -n __fish_use_subcommand -a ", f);
		fish_text(f, cli_commands[c].name);
		fputs(" -d ", f);
		fish_text(f, cli_commands[c].summary);
		fputc('\n', f);
	}
	for (size_t c = 0; c < cli_n_commands; c++) {
		const struct cli_cmd *cmd = &cli_commands[c];

		snprintf(cond, sizeof(cond), "'__fish_seen_subcommand_from %s'", cmd->name);
		for (size_t i = 0; opt_at(cmd, i); i++)
			fish_opt(f, cond, opt_at(cmd, i));
		if (cmd->operand != CLI_C_NONE) {
			fprintf(f, "complete -c cradle -n %s", cond);
			fish_values(f, cmd->operand, cmd->operand_words);
			fputc('\n', f);
		}
	}
}

int
cli_print_completion(FILE *f, const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		print_bash(f);
	else if (strcmp(shell, "zsh") == 0)
		print_zsh(f);
	else if (strcmp(shell, "fish") == 0)
		print_fish(f);
	else
		return -1;
	return 0;
}
