/* tests/spawn.c — see spawn.h. */
#include "tests/spawn.h"
#include "core/mem.h"
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t spawn_testserver(const char *path, const char *args, int *port)
{
    char *argv[48];
    int argc = 0;
    argv[argc++] = (char *)path;
    char *copy = xstrdup(args ? args : "");
    for (char *tok = strtok(copy, " "); tok && argc < 46; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    int p[2];
    if (pipe(p) < 0) {
        free(copy);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(path, argv);
        _exit(127);
    }
    free(copy);
    close(p[1]);
    char line[32] = "";
    size_t n = 0;
    struct pollfd pf = { p[0], POLLIN, 0 };
    while (n < sizeof line - 1 && poll(&pf, 1, 5000) > 0) {
        ssize_t r = read(p[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(p[0]);
    *port = atoi(line);
    if (pid < 0 || *port <= 0) {
        spawn_stop(pid);
        return -1;
    }
    return pid;
}

void spawn_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}
