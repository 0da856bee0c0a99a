/* json.c - one JSON document, read strictly (see json.h). */
#include "util/json.h"

#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* INVALID_ARGUMENT naming the line and column of text[at]. */
static void
syntax_error(const char *text, size_t at, const char *what, const char *why, struct cradle_err *err)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: invalid JSON at line %zu, column %zu: %s",
	               what, line, col, why);
}

struct json_object *
json_doc_parse(const char *text, size_t len, const char *what, struct cradle_err *err)
{
	struct json_tokener *tok;
	json_object *o;
	enum json_tokener_error jerr;
	size_t end;

	if (len > JSON_DOC_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: %zu bytes is too large to parse",
		               what, len);
		return NULL;
	}
	if (len > 0 && memchr(text, '\0', len) != NULL) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "%s: invalid JSON: contains a NUL byte", what);
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_DOC_DEPTH);
	if (tok == NULL) {
		cradle_err_nomem(err);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* The text ends here: say so with the NUL json-c takes as its
		 * end, which completes "123" or "true" and nothing else. */
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		syntax_error(text, end, what, json_tokener_error_desc(jerr), err);
		return NULL;
	}
	/* json-c's strict mode refuses what follows the value itself; this
	 * does not depend on it. */
	while (end < len && is_ws(text[end]))
		end++;
	if (end < len) {
		json_object_put(o);
		syntax_error(text, end, what, "text after the JSON value", err);
		return NULL;
	}
	if (o == NULL) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: the document is null", what);
		return NULL;
	}
	return o;
}
