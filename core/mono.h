/* core/mono.h — the program's one clock for durations: monotonic seconds (never jumps
 * with the wall clock).  Wall time for records (a node's `created`) is tree_now(). */
#ifndef CORE_MONO_H
#define CORE_MONO_H

double mono_now(void);
#endif
