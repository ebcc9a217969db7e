/* core/formats_open.c — opening any file without waiting (formats.h, formats_open_*): a
 * termloom session through session_open_* (a slice at a time, the tree so far in s), any
 * other file through formats_import_file on a thread of its own, which also writes the
 * imported session where the caller asked, so neither the import nor that first save holds
 * up the caller's loop.  The thread owns a session of its own; s receives it whole. */
#include "core/formats.h"
#include "core/mem.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct formats_opener {
    session_opener *sliced;         /* a termloom session, read in slices; else the thread's */
    /* the import on a thread */
    pthread_t       th;
    pthread_mutex_t mu;
    int             running, abandoned;   /* under mu */
    int             joinable;        /* th was started and is neither joined nor detached */
    atomic_int      done;
    char           *path, *save_to, *note;
    session         ses;
    formats_kind    kind;
    int             rc, saved;       /* formats_import_file's answer; 1 when save_to was written */
    char            err[1024], summary[512];
    double          delay;           /* test hook TERMLOOM_IMPORT_DELAY (formats.h) */
};

static void opener_free(formats_opener *op)
{
    session_free(&op->ses);
    free(op->path);
    free(op->save_to);
    free(op->note);
    pthread_mutex_destroy(&op->mu);
    free(op);
}

static void *import_main(void *ud)
{
    formats_opener *op = ud;
    if (op->delay > 0)
        nanosleep(&(struct timespec){ .tv_sec = (time_t)op->delay,
                                      .tv_nsec = (long)((op->delay - (double)(time_t)op->delay) * 1e9) }, NULL);
    formats_opts o = { .note = op->note, .summary = op->summary, .summarylen = sizeof op->summary };
    op->rc = formats_import_file(op->path, &o, &op->ses, &op->kind, op->err, sizeof op->err);
    pthread_mutex_lock(&op->mu);
    int abandoned = op->abandoned;
    pthread_mutex_unlock(&op->mu);
    if (op->rc == FORMATS_OK && op->kind != FORMATS_SESSION && op->save_to && !abandoned) {
        if (session_save(&op->ses, op->save_to, op->err, sizeof op->err) < 0)
            op->rc = FORMATS_ERR_INPUT;
        else
            op->saved = 1;
    }
    pthread_mutex_lock(&op->mu);
    op->running = 0;
    abandoned = op->abandoned;
    atomic_store(&op->done, 1);
    pthread_mutex_unlock(&op->mu);
    if (abandoned)                  /* formats_open_free left it to this thread */
        opener_free(op);
    return NULL;
}

formats_opener *formats_open_begin(session *s, const char *path, const formats_opts *o,
                                   const char *save_to, char *err, size_t errlen)
{
    formats_opener *op = xcalloc(1, sizeof *op);
    pthread_mutex_init(&op->mu, NULL);
    session_init(&op->ses);
    if (formats_file_is_session(path)) {
        op->sliced = session_open_begin(s, path, err, errlen);
        if (op->sliced)
            return op;              /* else formats_import_file decides, on the thread */
    }
    op->path = xstrdup(path);
    op->save_to = save_to ? xstrdup(save_to) : NULL;
    op->note = o && o->note ? xstrdup(o->note) : NULL;
    const char *d = getenv("TERMLOOM_IMPORT_DELAY");
    op->delay = d ? atof(d) : 0;
    op->running = 1;
    op->joinable = pthread_create(&op->th, NULL, import_main, op) == 0;
    if (!op->joinable)
        import_main(op);            /* no thread to be had: at once */
    return op;
}

int formats_open_step(formats_opener *op, session *s, double seconds, char *err, size_t errlen)
{
    if (op->sliced)
        return session_open_step(op->sliced, s, seconds, err, errlen);
    if (!atomic_load(&op->done))
        return 1;
    if (op->joinable)
        pthread_join(op->th, NULL);
    op->joinable = 0;
    if (op->rc != FORMATS_OK) {
        snprintf(err, errlen, "%s", op->err);
        return -1;
    }
    session_free(s);
    *s = op->ses;                   /* the thread's session, whole */
    session_init(&op->ses);
    return 0;
}

int formats_open_sliced(const formats_opener *op) { return op->sliced != NULL; }

double formats_open_progress(const formats_opener *op)
{
    return op->sliced ? session_open_progress(op->sliced) : atomic_load(&op->done) ? 1 : 0;
}

size_t formats_open_nodes(const formats_opener *op)
{
    return op->sliced ? session_open_nodes(op->sliced) : 0;
}

formats_kind formats_open_kind(const formats_opener *op, const char **summary, int *saved)
{
    if (summary)
        *summary = op->summary;
    if (saved)
        *saved = op->saved;
    return op->sliced ? FORMATS_SESSION : op->kind;
}

session_opener *formats_open_session(formats_opener *op) { return op->sliced; }

void formats_open_free(formats_opener *op)
{
    if (!op)
        return;
    if (op->sliced) {
        session_open_free(op->sliced);
        opener_free(op);
        return;
    }
    pthread_mutex_lock(&op->mu);
    int running = op->running;
    if (running)
        op->abandoned = 1;          /* the thread frees it when it ends; no save is begun */
    pthread_mutex_unlock(&op->mu);
    if (running) {
        pthread_detach(op->th);
        return;
    }
    if (op->joinable)
        pthread_join(op->th, NULL);
    opener_free(op);
}
