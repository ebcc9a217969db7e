/* tests/bench.h — benchmarks print figures; they are never pass/fail.
 * A benchmark is `BENCH(name) { ... }` at the start of a line in a tests/bench file. */
#ifndef BENCH_H
#define BENCH_H
#include <stddef.h>
#define BENCH(name) void bench_##name(void); void bench_##name(void)
double bench_now(void);                 /* monotonic seconds */
size_t bench_peak_rss_kb(void);         /* peak resident set of this process so far */
const char *bench_build_dir(void);      /* where termloom's tools were built */
/* Runs argv[0] (a path) with stdout and stderr to /dev/null and waits: its wall time, or -1
 * when it could not run or did not exit 0.  Its peak memory (when peak_kb) is only its own
 * when this process is small: the kernel counts the forking process's pages too. */
double bench_command(char *const argv[], size_t *peak_kb);
/* Prints one aligned line "  label ............ value". */
void bench_report(const char *label, const char *fmt, ...);
#endif
