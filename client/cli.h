/* cli.h - what the files of the `cradle` CLI share: turning sandboxes,
 * images and events into JSON, time stamps and sizes into text.  Not part
 * of libcradle.
 */
#ifndef CRADLE_CLI_H
#define CRADLE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "client/cradle.h"

/* Longest output of cli_time_rfc3339, NUL included. */
#define CLI_TIME_MAX 48

/* ns since the epoch as RFC 3339 in UTC ("2024-05-14T09:21:07Z"); with
 * nano, Go's RFC3339Nano form (fraction without trailing zeros). */
void cli_time_rfc3339(int64_t ns, bool nano, char buf[CLI_TIME_MAX]);

/* "5 seconds ago", "About a minute ago", ... as crictl prints CREATED
 * (docker/go-units HumanDuration).  now_ns and ns are since the epoch. */
void cli_time_ago(int64_t ns, int64_t now_ns, char *buf, size_t size);

/* Wall clock in ns since the epoch. */
int64_t cli_now_ns(void);

/* "POD", "CONTAINER", "NODE", "TARGET"; "UNKNOWN(n)" otherwise
 * (buf holds that, 32 bytes). */
const char *cli_ns_mode_name(int mode, char buf[32]);

/* The `inspectp` object of one sandbox; NULL on OOM.  Caller puts it. */
json_object *cli_sandbox_json(const struct proto_sandbox *s);

/* The `inspecti` object of one image; NULL on OOM. */
json_object *cli_image_json(const struct proto_image *img);

/* Bytes as crictl's SIZE column (docker/go-units HumanSizeWithPrecision,
 * 3 digits, powers of 1000): "742B", "1.23MB", "315kB". */
void cli_human_size(int64_t bytes, char *buf, size_t size);

/* Bytes with one decimal, for progress: "512B", "12.3MB". */
void cli_progress_size(uint64_t bytes, char *buf, size_t size);

/* One event as `events --json` prints it; NULL on OOM. */
json_object *cli_event_json(const struct proto_event *ev);

/* Print o as "{}" or "[]" if it is an empty object or array (json-c's
 * pretty printer would spread it over two lines).  Call when complete. */
void cli_json_compact_empty(json_object *o);

/* Flags for printing: pretty for inspectp/pods, plain for event lines;
 * neither escapes '/' (paths and label keys stay readable). */
#define CLI_JSON_PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
                         JSON_C_TO_STRING_NOSLASHESCAPE)
#define CLI_JSON_PLAIN (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#endif
