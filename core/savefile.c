/* core/savefile.c — see savefile.h. */
#include "core/savefile.h"
#include "core/mem.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *savefile_target(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (real)
            return real;
    }
    return xstrdup(path);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

int savefile_open(const char *target, char **tmp, char *err, size_t errlen)
{
    char *dir = dir_of(target);
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    static unsigned counter;
    struct stat st;
    if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot save: it is a directory", target);
        free(dir);
        return -1;
    }
    if (stat(target, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or a pipe (/dev/null, /dev/stdout, a FIFO): written to in place.  A
         * rename would replace the device node itself with a regular file. */
        free(dir);
        *tmp = NULL;
        int fd = open(target, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            snprintf(err, errlen, "%s: cannot write: %s", target, strerror(errno));
        return fd;
    }
    for (int tries = 0; tries < 100; tries++) {
        char *name = xasprintf("%s/.%s.tmp-%ld-%u", dir, base, (long)getpid(), counter++);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            if (stat(target, &st) == 0)          /* keep the old file's permissions */
                (void)fchmod(fd, st.st_mode & 07777);
            *tmp = name;
            free(dir);
            return fd;
        }
        int e = errno;
        free(name);
        if (e != EEXIST) {
            snprintf(err, errlen, "%s: cannot save: cannot create a file in %s: %s", target, dir, strerror(e));
            free(dir);
            return -1;
        }
    }
    snprintf(err, errlen, "%s: cannot save: no free temporary name in %s", target, dir);
    free(dir);
    return -1;
}

/* Removes the temporary files of target left by saves that were killed (kill -9, a power
 * cut): ".NAME.tmp-PID-N" whose process no longer exists.  A live writer's file is kept. */
static void sweep_stale(const char *dir, const char *target)
{
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    char *prefix = xasprintf(".%s.tmp-", base);
    size_t pl = strlen(prefix);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, pl))
            continue;
        char *end;
        errno = 0;
        long pid = strtol(e->d_name + pl, &end, 10);
        if (errno || end == e->d_name + pl || *end != '-' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;                               /* alive, or not ours to judge */
        char *path = xasprintf("%s/%s", dir, e->d_name);
        unlink(path);
        free(path);
    }
    if (d)
        closedir(d);
    free(prefix);
}

int savefile_commit(int fd, char *tmp, const char *target, int write_err, char *err, size_t errlen)
{
    int e = write_err;
    if (!tmp) {   /* not a regular file: written in place, nothing to rename */
        if (close(fd) < 0 && !e)
            e = errno;
        if (e)
            snprintf(err, errlen, "%s: cannot write: %s", target, strerror(e));
        return e ? -1 : 0;
    }
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, target) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        snprintf(err, errlen, "%s: cannot save: %s (the old file is unchanged)", target, strerror(e));
        return -1;
    }
    free(tmp);
    char *dir = dir_of(target);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    sweep_stale(dir, target);
    free(dir);
    return 0;
}

int savefile_write(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char *target = savefile_target(path), *tmp = NULL;
    int fd = savefile_open(target, &tmp, err, errlen);
    if (fd < 0) {
        free(target);
        return -1;
    }
    size_t done = 0;
    int e = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    int rc = savefile_commit(fd, tmp, target, e, err, errlen);
    free(target);
    return rc;
}
