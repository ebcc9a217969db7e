/* tui/app_save.c — the session on disk: opening (a session, another loom's file, or a
 * new one under $XDG_DATA_HOME), and saving without blocking the keys (small trees at
 * once, big ones by a forked child writing a copy-on-write snapshot). */
#include "tui/app.h"
#include "tui/term.h"
#include "core/formats.h"
#include "core/mem.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BACKGROUND_SAVE_NODES 5000      /* bigger trees are saved by a forked child */
#define DEFAULT_PROMPT "A writer who works with a language model"

/* ---- saving ------------------------------------------------------------------------- */

static void save_reap(app *a, int block)
{
    if (!a->save_pid)
        return;
    int st;
    pid_t r = waitpid(a->save_pid, &st, block ? 0 : WNOHANG);
    if (r == 0)
        return;
    char err[512] = "";
    ssize_t n = read(a->save_fd, err, sizeof err - 1);
    err[n > 0 ? n : 0] = 0;
    close(a->save_fd);
    a->save_pid = 0;
    a->save_fd = -1;
    free(a->save_err);
    a->save_err = NULL;
    if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        a->save_err = xstrdup(*err ? err : "the background save failed");
        app_message(a, 1, "autosave failed: %s", a->save_err);
        a->unsaved = 1;
    }
    a->pending |= APP_CH_DRAW;
}

/* The detected attractors as of the last refresh go into the file beside the tree (members
 * deleted since are left out); before the first refresh the file keeps what it had. */
static void put_attractors(app *a)
{
    if (!a->attr || a->attr_last <= 0)
        return;
    const attractor *l;
    size_t n = attractor_last(a->attr, &l);
    session_set_attractors(&a->ses, attractor_list_json(l, n, a->ses.t));
}

int app_save_now(app *a)
{
    if (!a->path)
        return -1;
    put_attractors(a);
    save_reap(a, 1);
    char err[512];
    a->last_save = app_now();
    a->save_soon = 0;
    a->unsaved = 0;
    free(a->save_err);
    a->save_err = NULL;
    if (session_save(&a->ses, a->path, err, sizeof err) < 0) {
        a->save_err = xstrdup(err);
        a->unsaved = 1;
        app_message(a, 1, "save failed: %s", err);
        return -1;
    }
    a->pending |= APP_CH_DRAW;
    return 0;
}

/* Big trees are written by a forked child (copy-on-write snapshot of the tree), so the
 * keyboard never waits for the disk. */
static void save_start(app *a)
{
    put_attractors(a);
    if (tree_count(a->ses.t) < BACKGROUND_SAVE_NODES) {
        app_save_now(a);
        return;
    }
    int fds[2];
    if (pipe(fds) < 0) {
        app_save_now(a);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        app_save_now(a);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        term_release();                    /* the terminal is the parent's to restore */
        char err[512];
        int rc = session_save(&a->ses, a->path, err, sizeof err);
        if (rc < 0 && write(fds[1], err, strlen(err)) < 0)
            _exit(2);
        _exit(rc < 0 ? 1 : 0);
    }
    close(fds[1]);
    a->save_pid = pid;
    a->save_fd = fds[0];
    a->last_save = app_now();
    a->save_soon = 0;
    a->unsaved = 0;
}

void app_autosave(app *a, double now)
{
    save_reap(a, 0);
    if (!a->path || a->save_pid)
        return;
    int streaming = a->g && grow_active(a->g);
    if (a->save_soon && (!streaming || now - a->last_save >= 0.2))
        save_start(a);
    else if ((a->unsaved || a->save_soon) && now - a->last_save >= APP_STREAM_SAVE_SECONDS)
        save_start(a);
}

static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            *s = '/';
        }
    int rc = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static char *default_session_path(char *err, size_t errlen)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char *dir;
    if (xdg && *xdg)
        dir = xasprintf("%s/termloom/sessions", xdg);
    else if (home && *home)
        dir = xasprintf("%s/.local/share/termloom/sessions", home);
    else {
        snprintf(err, errlen, "no $XDG_DATA_HOME or $HOME for the session folder");
        return NULL;
    }
    if (mkdirs(dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    time_t now = (time_t)tree_now();
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    char *path = NULL;
    for (int i = 0; i < 1000; i++) {
        free(path);
        path = i ? xasprintf("%s/session-%s-%d.json", dir, stamp, i) : xasprintf("%s/session-%s.json", dir, stamp);
        if (access(path, F_OK) != 0)
            break;
    }
    free(dir);
    return path;
}

/* Command-line settings given explicitly win over those stored in an opened session. */
static int apply_explicit_flags(app *a, int argc, char **argv)
{
    cli_opts tmp;
    memset(&tmp, 0, sizeof tmp);
    settings_copy(&tmp.s, &a->ses.settings);
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&tmp, argc, argv, &i);
        if (r < 0)
            rc = -1;
    }
    if (!tmp.s.theme && a->opts.s.theme)
        tmp.s.theme = xstrdup(a->opts.s.theme);
    settings_free(&a->ses.settings);
    a->ses.settings = tmp.s;
    free(tmp.prompt);
    return rc;
}

int app_open_session(app *a, const char *file, int argc, char **argv)
{
    char err[1024];
    session_init(&a->ses);
    if (file && access(file, F_OK) == 0) {
        /* A termloom session, or another loom's file (imported; saved beside it, never
         * over it). */
        formats_kind kind = FORMATS_UNKNOWN;
        char summary[512];
        formats_opts o = { .summary = summary, .summarylen = sizeof summary };
        int rc = formats_import_file(file, &o, &a->ses, &kind, err, sizeof err);
        if (rc != FORMATS_OK)
            return cli_fail(rc == FORMATS_ERR_USAGE ? CLI_USAGE : CLI_ERR, "%s", err);
        if (apply_explicit_flags(a, argc, argv) < 0)
            return CLI_USAGE;
        if (kind == FORMATS_SESSION) {
            a->path = xstrdup(file);
        } else {
            size_t fl = strlen(file);
            if (fl > 5 && !strcmp(file + fl - 5, ".json"))
                fl -= 5;
            for (int i = 0; i < 1000; i++) {
                free(a->path);
                a->path = i ? xasprintf("%.*s.termloom-%d.json", (int)fl, file, i)
                            : xasprintf("%.*s.termloom.json", (int)fl, file);
                if (access(a->path, F_OK) != 0)
                    break;
            }
            if (session_save(&a->ses, a->path, err, sizeof err) < 0)
                return cli_fail(CLI_ERR, "%s", err);
            app_message(a, 0, "imported %s (%s); the session is saved as %s%s%s", file, formats_kind_name(kind),
                        a->path, summary[0] ? "; " : "", summary);
        }
        return CLI_OK;
    }
    session_free(&a->ses);
    session_init(&a->ses);
    session_new_prompt(&a->ses, a->opts.prompt ? a->opts.prompt : DEFAULT_PROMPT);
    settings_free(&a->ses.settings);
    settings_copy(&a->ses.settings, &a->opts.s);
    if (file) {
        a->path = xstrdup(file);
        if (session_save(&a->ses, a->path, err, sizeof err) < 0)
            return cli_fail(CLI_ERR, "%s", err);
    } else {
        a->path = default_session_path(err, sizeof err);
        if (!a->path)
            app_message(a, 1, "autosave is off: %s", err);
        else if (session_save(&a->ses, a->path, err, sizeof err) < 0) {
            app_message(a, 1, "autosave is off: %s", err);
            free(a->path);
            a->path = NULL;
        }
    }
    return CLI_OK;
}
