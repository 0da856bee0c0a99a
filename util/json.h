/* json.h - one JSON document, read strictly.
 *
 * The documents cradle reads (OCI indexes and manifests, image configs,
 * seccomp profiles) must each be exactly one JSON value: json-c's strict
 * mode, nothing after the value but white space, no NUL byte (json-c would
 * stop there and call the text before it complete), at most JSON_DOC_MAX
 * bytes and JSON_DOC_DEPTH levels.  A top-level number or literal ends
 * with the text; the text need not be NUL-terminated.
 *
 * Errors are INVALID_ARGUMENT and name the document (what) and, for a
 * syntax error, where it is, counted in bytes from 1:
 *   manifest: invalid JSON at line 3, column 16: unexpected character
 *   /etc/p.json: invalid JSON: contains a NUL byte
 * Out of memory is cradle_err_nomem.
 */
#ifndef CRADLE_UTIL_JSON_H
#define CRADLE_UTIL_JSON_H

#include <limits.h>
#include <stddef.h>

#include "proto/err.h"

#define JSON_DOC_MAX ((size_t)INT_MAX) /* json-c counts in an int */
#define JSON_DOC_DEPTH 64

struct json_object;

/* The value of text[0..len), for json_object_put; NULL with err filled
 * when it is not one JSON document (a top-level null is not one either). */
struct json_object *json_doc_parse(const char *text, size_t len, const char *what,
                                   struct cradle_err *err);

#endif
