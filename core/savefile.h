/* core/savefile.h — crash-safe writing, the one home of it: a temporary file in the target's
 * folder, written, fsynced and renamed over the target, then the folder fsynced, so a reader
 * sees the old file or the new one, never a part.  A symlink's target is what gets replaced,
 * a device or a pipe (/dev/null, a FIFO) is written in place, the old file's permissions
 * are kept, and temporary files left by a killed writer (kill -9, a power cut) are swept at
 * the next save of the same file.  Errors are one line naming the file. */
#ifndef CORE_SAVEFILE_H
#define CORE_SAVEFILE_H
#include <stddef.h>

/* The whole of data saved as path. 0, or -1 with err set (the old file unchanged). */
int   savefile_write(const char *path, const char *data, size_t len, char *err, size_t errlen);

/* The same in steps, for a writer that streams: the file to replace (a symlink followed;
 * caller frees), then a temporary file opened next to it (its name in *tmp, NULL when the
 * target is not a regular file and is opened itself), then the commit: fsync, close, rename
 * over target, fsync the folder.  write_err is the errno of the first failed write (0: none);
 * the commit frees tmp and removes the file on any failure. */
char *savefile_target(const char *path);
int   savefile_open(const char *target, char **tmp, char *err, size_t errlen);
int   savefile_commit(int fd, char *tmp, const char *target, int write_err, char *err, size_t errlen);
#endif
