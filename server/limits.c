/* limits.c - start-up checks of the configured limits (see limits.h). */
#include "server/limits.h"

uint64_t
limits_nofile_margin(int workers, int contexts)
{
	return 256 + (uint64_t)(contexts > 0 ? contexts : 0) +
	       32 * (uint64_t)(workers > 0 ? workers : 0);
}

int
limits_check_nofile(uint64_t max_sandboxes, uint64_t margin, uint64_t limit, struct cradle_err *err)
{
	uint64_t need = max_sandboxes + margin;

	if (limit >= need)
		return 0;
	if (limit <= margin)
		return cradle_err_set(
			err, CRADLE_FAILED_PRECONDITION,
			"[cradled] max_sandboxes = %llu needs %llu open files (one pidfd per "
			"sandbox and %llu for sockets, the store and the workers), but the "
			"open-files limit (RLIMIT_NOFILE, hard) is %llu, too low for any "
			"sandbox: raise the hard limit (LimitNOFILE= of the service, or "
			"ulimit -Hn) to %llu or more",
			(unsigned long long)max_sandboxes, (unsigned long long)need,
			(unsigned long long)margin, (unsigned long long)limit,
			(unsigned long long)need);
	return cradle_err_set(
		err, CRADLE_FAILED_PRECONDITION,
		"[cradled] max_sandboxes = %llu needs %llu open files (one pidfd per sandbox "
		"and %llu for sockets, the store and the workers), but the open-files limit "
		"(RLIMIT_NOFILE, hard) is %llu: lower max_sandboxes to %llu or less, or raise "
		"the hard limit (LimitNOFILE= of the service, or ulimit -Hn) to %llu or more",
		(unsigned long long)max_sandboxes, (unsigned long long)need,
		(unsigned long long)margin, (unsigned long long)limit,
		(unsigned long long)(limit - margin), (unsigned long long)need);
}
