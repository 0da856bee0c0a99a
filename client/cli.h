/* cli.h - what the files of the `cradle` CLI share: time stamps and sizes
 * as crictl prints them (client/cli_text.c).  Not part of libcradle.
 */
#ifndef CRADLE_CLI_H
#define CRADLE_CLI_H

#include <stddef.h>
#include <stdint.h>

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

#endif
