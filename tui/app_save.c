/* tui/app_save.c — the session on disk: opening (a session, another loom's file, or a
 * new one under $XDG_DATA_HOME), and autosave: when to append to the journal and when to
 * fold it into the file (core/journal.h does the writing). */
#include "tui/app.h"
#include "core/mono.h"
#include "tui/term.h"
#include "core/formats.h"
#include "core/journal.h"
#include "core/mem.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PROMPT "A writer who works with a language model"
#define IMPORT_WAIT    0.1            /* seconds an import may take before the screen opens */

/* ---- saving ------------------------------------------------------------------------- */

/* A change is an append to the journal (core/journal.h): the changed nodes' lines, an
 * fsync, nothing else.  The journal is folded into the session file by the atomic writer
 * when the loom has been idle a while and the journal is worth it (small sessions: always;
 * big ones: once it is an eighth of the file), when it outgrows the file by far even while
 * busy, on quit, and on the next open after a crash.  Nothing is forked. */
#define COMPACT_IDLE     5.0                  /* seconds without changes or keys */
#define COMPACT_SMALL    (4u << 20)           /* a session this small is cheap to rewrite */
#define COMPACT_FRACTION 8
#define COMPACT_EXCESS   ((uint64_t)64 << 20) /* journal bytes beyond the file's: fold now */

/* The detected attractors as of the last refresh go into the file beside the tree (members
 * deleted since are left out); before the first refresh the file keeps what it had. */
static void put_attractors(app *a)
{
    if (!a->an.attr || a->an.last <= 0)
        return;
    const attractor *l;
    size_t n = attractor_last(a->an.attr, &l);
    session_set_attractors(&a->ses, attractor_list_json(l, n, a->ses.t));
}

static void save_failed(app *a, const char *what, const char *err)
{
    free(a->save.err);
    a->save.err = xstrdup(err);
    a->save.unsaved = 1;
    app_message(a, 1, "%s: %s", what, err);
}

static void save_ok(app *a)
{
    a->save.unsaved = 0;
    if (a->save.err) {
        free(a->save.err);
        a->save.err = NULL;
        a->pending |= APP_CH_DRAW;
    }
}

int app_save_now(app *a)
{
    if (!a->save.path)
        return -1;
    if (a->save.loading) {              /* never a part of the file over the file */
        app_message(a, 1, "not saved: the file is still being read (%.0f%%)", 100 * app_load_progress(a, NULL));
        return -1;
    }
    put_attractors(a);
    char err[512];
    a->save.last = mono_now();
    a->save.soon = 0;
    if (a->save.jn && strcmp(journal_session(a->save.jn), a->save.path))
        app_save_stop(a);          /* saved elsewhere from now on (the quit rescue) */
    int rc = a->save.jn ? journal_compact(a->save.jn, err, sizeof err) : session_save(&a->ses, a->save.path, err, sizeof err);
    if (rc < 0) {
        save_failed(a, "save failed", err);
        return -1;
    }
    if (!a->save.jn)
        a->save.jn = journal_new(&a->ses, a->save.path, err, sizeof err);
    save_ok(a);
    a->pending |= APP_CH_DRAW;
    return 0;
}

static void journal_step(app *a, double now)
{
    char err[512];
    size_t written;
    a->save.last = now;
    a->save.soon = 0;
    if (journal_append(a->save.jn, &written, err, sizeof err) < 0) {
        save_failed(a, "autosave failed", err);
        return;
    }
    if (written)
        a->save.last_change = now;
    save_ok(a);
}

void app_autosave(app *a, double now)
{
    if (!a->save.path || a->save.loading)
        return;
    if (!a->save.jn) {                  /* no journal (not a regular file): whole saves */
        if (a->save.soon || (a->save.unsaved && now - a->save.last >= APP_STREAM_SAVE_SECONDS))
            app_save_now(a);
        return;
    }
    if (a->save.soon || (a->save.unsaved && now - a->save.last >= APP_STREAM_SAVE_SECONDS))
        journal_step(a, now);
    uint64_t jb = journal_bytes(a->save.jn), sb = journal_base_bytes(a->save.jn);
    if (!jb || a->save.err)
        return;
    int idle = !app_gen_active(a) && !a->save.unsaved && !a->save.soon &&
               now - a->save.last_change >= COMPACT_IDLE && now - a->last_key >= COMPACT_IDLE;
    if ((idle && (sb < COMPACT_SMALL || jb * COMPACT_FRACTION >= sb)) || jb > sb + COMPACT_EXCESS)
        app_save_now(a);
}

/* Journals from now on (the file holds the session as it is).  A journal left beside the
 * file (a crash: replayed by the loader already, or stale) is folded in first. */
static void save_start(app *a)
{
    char err[512];
    char *jp = journal_path(a->save.path);
    const char *note = journal_note();
    if (note)
        app_message(a, !strstr(note, "recovered"), "%s", note);
    if (access(jp, F_OK) == 0 && session_save(&a->ses, a->save.path, err, sizeof err) == 0)
        unlink(jp);
    free(jp);
    a->save.jn = journal_new(&a->ses, a->save.path, err, sizeof err);
    a->save.last = a->save.last_change = mono_now();
}

void app_save_stop(app *a)
{
    journal_free(a->save.jn);
    a->save.jn = NULL;
}

int app_save_as(app *a, const char *path, size_t len)
{
    char *old = a->save.path;
    a->save.path = xstrndup(path, len);
    if (app_save_now(a) == 0) {
        free(old);
        return 0;
    }
    free(a->save.path);
    a->save.path = old;
    return -1;
}

void app_save_free(app *a)
{
    app_save_stop(a);
    if (a->save.loading)                   /* the tree is the session's; the reader's is not */
        formats_open_free(a->save.loading);
    free(a->save.load_err);
    free(a->save.source);
    free(a->save.path);
    free(a->save.err);
    memset(&a->save, 0, sizeof a->save);
}

static int load_paced(void)
{
    static int paced = -1;
    if (paced < 0) {
        const char *p = getenv("TERMLOOM_LOAD_PACE");     /* test hook, app_save.h */
        paced = p && !strcmp(p, "frame");
    }
    return paced;
}

int app_load_due(app *a, double *seconds)
{
    if (!a->save.loading || a->last_draw <= 0 || (load_paced() && a->last_draw == a->save.load_frame))
        return 0;
    a->save.load_frame = a->last_draw;
    *seconds = load_paced() ? 0 : APP_LOAD_SLICE;
    return 1;
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

/* Settings typed on the command line win over those stored in the file. */
static int reapply_flags(app *a)
{
    if (cli_opts_reapply(&a->opts, &a->ses.settings) < 0)
        return -1;
    if (!a->ses.settings.theme && a->opts.s.theme)
        a->ses.settings.theme = xstrdup(a->opts.s.theme);
    return 0;
}

/* Where another loom's file is saved as a session: beside it, never over it. */
static char *import_target(const char *file)
{
    size_t fl = strlen(file);
    if (fl > 5 && !strcmp(file + fl - 5, ".json"))
        fl -= 5;
    char *path = NULL;
    for (int i = 0; i < 1000; i++) {
        free(path);
        path = i ? xasprintf("%.*s.termloom-%d.json", (int)fl, file, i)
                 : xasprintf("%.*s.termloom.json", (int)fl, file);
        if (access(path, F_OK) != 0)
            break;
    }
    return path;
}

/* A regular file opened without waiting (core/formats.h, formats_open_*): a session read a
 * slice at a time, another loom's file imported (and saved beside it) on a thread.  The
 * first slice is read here; *rc is CLI_OK, or the error of a file bad from its start. */
static int open_behind(app *a, const char *file, int *rc)
{
    struct stat st;
    if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;                  /* the usual path names why */
    char err[1024];
    char *target = formats_file_is_session(file) ? NULL : import_target(file);
    a->save.loading = formats_open_begin(&a->ses, file, NULL, target, err, sizeof err);
    a->save.path = target ? target : xstrdup(file);
    a->save.source = xstrdup(file);
    a->save.load_started = mono_now();
    int r;
    /* an import that ends soon (a small file, a bad one) ends before the screen opens */
    while ((r = app_load_step(a, APP_LOAD_SLICE)) == 1 && !app_load_sliced(a) &&
           mono_now() - a->save.load_started < IMPORT_WAIT)
        nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
    if (r < 0) {
        *rc = cli_fail(CLI_ERR, "%s", a->save.load_err);
        return 1;
    }
    *rc = r == 1 && reapply_flags(a) < 0 ? CLI_USAGE : CLI_OK;
    return 1;
}

int app_load_sliced(const app *a)
{
    return a->save.loading && formats_open_sliced(a->save.loading);
}

double app_load_progress(const app *a, size_t *nodes)
{
    if (nodes)
        *nodes = a->save.loading ? formats_open_nodes(a->save.loading) : tree_count(a->ses.t);
    return a->save.loading ? formats_open_progress(a->save.loading) : 1;
}

int app_load_step(app *a, double seconds)
{
    if (!a->save.loading)
        return 0;
    char err[1024];
    int r = formats_open_step(a->save.loading, &a->ses, seconds, err, sizeof err);
    if (r == 1)
        return 1;
    const char *summary;
    int saved;
    formats_kind kind = formats_open_kind(a->save.loading, &summary, &saved);
    if (r == 0 && kind != FORMATS_SESSION)
        app_message(a, 0, "imported %s (%s); the session is saved as %s%s%s", a->save.source,
                    formats_kind_name(kind), a->save.path, summary[0] ? "; " : "", summary);
    else if (r == 0 && strcmp(a->save.path, a->save.source)) {
        free(a->save.path);        /* a session after all (what the head did not show) */
        a->save.path = xstrdup(a->save.source);
    }
    formats_open_free(a->save.loading);
    a->save.loading = NULL;
    if (r < 0) {
        free(a->save.load_err);
        a->save.load_err = xstrdup(err);
        return -1;
    }
    reapply_flags(a);              /* the file's settings, then the flags (checked already) */
    save_start(a);
    return 0;
}

int app_open_session(app *a, const char *file)
{
    char err[1024];
    int rc;
    session_init(&a->ses);
    if (file && access(file, F_OK) == 0 && open_behind(a, file, &rc))
        return rc;
    if (file && access(file, F_OK) == 0) {
        /* Not a regular file: the importer's one line says what it is. */
        formats_kind kind = FORMATS_UNKNOWN;
        char summary[512];
        formats_opts o = { .summary = summary, .summarylen = sizeof summary };
        rc = formats_import_file(file, &o, &a->ses, &kind, err, sizeof err);
        if (rc != FORMATS_OK)
            return cli_fail(rc == FORMATS_ERR_USAGE ? CLI_USAGE : CLI_ERR, "%s", err);
        /* settings typed on the command line win over those stored in the file */
        if (cli_opts_reapply(&a->opts, &a->ses.settings) < 0)
            return CLI_USAGE;
        if (!a->ses.settings.theme && a->opts.s.theme)
            a->ses.settings.theme = xstrdup(a->opts.s.theme);
        if (kind == FORMATS_SESSION) {
            a->save.path = xstrdup(file);
        } else {
            a->save.path = import_target(file);
            if (session_save(&a->ses, a->save.path, err, sizeof err) < 0)
                return cli_fail(CLI_ERR, "%s", err);
            app_message(a, 0, "imported %s (%s); the session is saved as %s%s%s", file, formats_kind_name(kind),
                        a->save.path, summary[0] ? "; " : "", summary);
        }
        save_start(a);
        return CLI_OK;
    }
    session_free(&a->ses);
    session_init(&a->ses);
    session_new_prompt(&a->ses, a->opts.prompt ? a->opts.prompt : DEFAULT_PROMPT);
    settings_free(&a->ses.settings);
    settings_copy(&a->ses.settings, &a->opts.s);
    if (file) {
        a->save.path = xstrdup(file);
        if (session_save(&a->ses, a->save.path, err, sizeof err) < 0)
            return cli_fail(CLI_ERR, "%s", err);
    } else {
        a->save.path = default_session_path(err, sizeof err);
        if (!a->save.path)
            app_message(a, 1, "autosave is off: %s", err);
        else if (session_save(&a->ses, a->save.path, err, sizeof err) < 0) {
            app_message(a, 1, "autosave is off: %s", err);
            free(a->save.path);
            a->save.path = NULL;
        }
    }
    if (a->save.path)
        save_start(a);
    return CLI_OK;
}
