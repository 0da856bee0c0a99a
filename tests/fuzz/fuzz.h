/* fuzz.h - what the libFuzzer targets of tests/fuzz/ share.
 *
 * Each fuzz_<name>.c is one target: LLVMFuzzerTestOneInput feeds the bytes
 * to one parser of untrusted input and checks what must hold whatever the
 * input (the error contract, round trips, no path outside a directory).
 * A broken property aborts, which libFuzzer reports as a crash and saves
 * the input.  `make fuzz` builds them with clang and ASan+UBSan and runs
 * each on a copy of tests/fuzz/corpus/<name>/.
 */
#ifndef CRADLE_TESTS_FUZZ_H
#define CRADLE_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with the failed condition and a message when cond is false. */
#define FUZZ_CHECK(cond, ...)                                                                    \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                            \
			fputc('\n', stderr);                                                     \
			abort();                                                                 \
		}                                                                                \
	} while (0)

/* The error contract (proto/err.h): a failure carries a wire code and a
 * non-empty message that fits its buffer. */
static inline void
fuzz_check_err(const struct cradle_err *e, const char *what)
{
	FUZZ_CHECK(e->code > CRADLE_OK && e->code <= CRADLE_CODE_MAX, "%s: code %d", what, e->code);
	FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL, "%s: message not terminated",
	           what);
	FUZZ_CHECK(e->msg[0] != '\0', "%s: empty message (code %d)", what, e->code);
}

#endif
