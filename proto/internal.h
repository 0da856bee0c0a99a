/* internal.h - helpers shared by the proto/ sources, not part of the API.
 *
 * Errors name the field they are about by its path from the top of the
 * message ("args.config.labels[\"app\"]"), built on the fly in a struct
 * ppath as decoders and validators descend.  These symbols are hidden so
 * libcradle.so does not export them.
 */
#ifndef CRADLE_PROTO_INTERNAL_H
#define CRADLE_PROTO_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "proto/err.h"

#define PROTO_HIDDEN __attribute__((visibility("hidden")))

/* The anonymous structs of struct pod_config have no type name to point
 * at; these name them from a config pointer. */
#define NSO(c) ((c)->linux.security_context.namespace_options)
#define SECCTX(c) ((c)->linux.security_context)
#define USERNS(c) ((c)->linux.security_context.namespace_options.userns_options)

/* A path longer than this is cut (and marked with "..."): it only feeds
 * messages, which are bounded by CRADLE_ERR_MSG_MAX anyway. */
#define PPATH_MAX 200

struct ppath {
	char s[PPATH_MAX];
	size_t len;
};

/* Longest output of proto_quote(), NUL included. */
#define QUOTE_MAX 208

PROTO_HIDDEN void ppath_init(struct ppath *p, const char *prefix);
/* Append ".key" (or "key" at the top); returns the length to pop back to. */
PROTO_HIDDEN size_t ppath_push(struct ppath *p, const char *key);
/* Append "[i]". */
PROTO_HIDDEN size_t ppath_push_index(struct ppath *p, size_t i);
/* Append a key chosen by the peer (len bytes, any content): ".key" when it
 * is a short plain word, else "[\"key\"]" quoted and escaped. */
PROTO_HIDDEN size_t ppath_push_key(struct ppath *p, const char *key, size_t len);
PROTO_HIDDEN void ppath_pop(struct ppath *p, size_t len);

/* Fill err with INVALID_ARGUMENT "<path>: <fmt...>" (or just the text when
 * the path is empty) and return -EINVAL. */
PROTO_HIDDEN int proto_fail(struct cradle_err *err, const struct ppath *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
PROTO_HIDDEN int proto_vfail(struct cradle_err *err, const struct ppath *p, const char *fmt,
                             va_list ap) __attribute__((format(printf, 3, 0)));

/* Write s (len bytes, any content) as a double-quoted, escaped, shortened
 * ASCII string into out[QUOTE_MAX], for quoting peer input in messages. */
PROTO_HIDDEN void proto_quote(char out[QUOTE_MAX], const char *s, size_t len);

/* How many of the first n bytes of s are ASCII letters, digits or bytes of
 * extra, up to the first that is not: names that may select files or end
 * up in labels are kept to such plain words. */
PROTO_HIDDEN size_t proto_word_span(const char *s, size_t n, const char *extra);

/* Check bytes that are about to become a C string: no NUL, valid UTF-8. */
PROTO_HIDDEN int proto_check_text(const char *s, size_t len, const struct ppath *p,
                                  struct cradle_err *err);

/* Check a key of labels, annotations or sysctls (p names the map): not
 * empty, no NUL, valid UTF-8. */
PROTO_HIDDEN int proto_check_key(const char *s, size_t len, const struct ppath *p,
                                 struct cradle_err *err);

/* At most max entries in a list or map (p names it). */
PROTO_HIDDEN int proto_check_count(size_t n, size_t max, const struct ppath *p,
                                   struct cradle_err *err);

/* Namespace mode range check shared by the decoder and the validator. */
PROTO_HIDDEN int proto_check_ns_mode(long long v, const struct ppath *p, struct cradle_err *err);

/* The optional strings at the end of a sandbox record (netns_path ...
 * image_ref), in wire order: owned by the sandbox, written only when set,
 * read with "" as NULL.  One table serves the codec, copy and fini, so a
 * new one is added in one place. */
struct proto_field {
	const char *key;
	size_t off; /* offsetof(struct proto_sandbox, <key>) */
};
#define PROTO_SANDBOX_STRS 12
PROTO_HIDDEN extern const struct proto_field proto_sandbox_strs[PROTO_SANDBOX_STRS];

/* The char * member at byte offset off of the struct that obj points at. */
#define PROTO_STR_AT(obj, off) (*(char **)((char *)(obj) + (off)))
#define PROTO_CSTR_AT(obj, off) (*(const char *const *)((const char *)(obj) + (off)))

/* Bounds walk with explicit limits: messages of up to max_msg bytes, and
 * when list_reply is set, "result.sandboxes" and "result.images" may hold
 * up to PROTO_MAX_LIST_REPLY entries. */
PROTO_HIDDEN int proto_bounds(const void *buf, size_t len, size_t max_msg, int list_reply,
                              struct cradle_err *err);

#endif
