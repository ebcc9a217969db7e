/* tests/spawn.h — starting tests/tools/testserver from the unit tests and the benchmarks. */
#ifndef TESTS_SPAWN_H
#define TESTS_SPAWN_H
#include <sys/types.h>

/* Runs the server at path with space-separated args; it prints its port first.  Returns the
 * pid and sets *port, or -1 when it did not start (within 5 s). */
pid_t spawn_testserver(const char *path, const char *args, int *port);
/* Stops it (SIGTERM) and reaps it. */
void  spawn_stop(pid_t pid);
#endif
