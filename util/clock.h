/* clock.h - the clocks cradle reads.
 *
 * Wall-clock time (records, events, replies) is nanoseconds since the
 * epoch; waits and timings use CLOCK_MONOTONIC, which a clock step cannot
 * stretch or cut short.  Condition variables that wait with
 * clock_deadline must be created with pthread_condattr_setclock
 * (CLOCK_MONOTONIC).
 */
#ifndef CRADLE_UTIL_CLOCK_H
#define CRADLE_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock nanoseconds since the epoch. */
int64_t clock_now_ns(void);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t clock_mono_ns(void);
/* The CLOCK_MONOTONIC time ms milliseconds from now, for timed waits. */
struct timespec clock_deadline(int64_t ms);
/* Sleep ms milliseconds (EINTR resumes the sleep). */
void clock_sleep_ms(long ms);

#endif
