/* core/refscore.c — see refscore.h. */
#include "core/refscore.h"
#include "core/llama_backend.h"
#include "core/mem.h"
#include "core/score.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int32_t id;
    char   *context;           /* the path text before the node */
    size_t  clen;
    int32_t *ids;              /* the node's recorded tokens as vocabulary ids */
    double *own;               /* their recorded logprobs */
    int     n;
    char    err[200];          /* why it cannot be scored ("" when it can) */
} job;

struct refscore {
    const llama_model *m;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int    quit;
    job   *next;               /* asked, not started */
    job   *done;               /* answered, not taken */
    double *lr;                /* the answer's values */
    char   derr[200];
    int    pipefd[2];
};

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->context);
    free(j->ids);
    free(j->own);
    free(j);
}

static void *worker(void *arg)
{
    refscore *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->quit) {
        if (!r->next) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        job *j = r->next;
        r->next = NULL;
        pthread_mutex_unlock(&r->mu);
        double *lr = NULL;
        char err[200] = "";
        if (j->err[0]) {
            snprintf(err, sizeof err, "%s", j->err);
        } else {
            int32_t *cx, *cont;
            int ncx, ncont;
            score_split(llama_tokenizer(r->m), j->context, j->clen, "", 0, &cx, &ncx, &cont, &ncont);
            free(cont);
            double *ref = xmalloc((size_t)(j->n ? j->n : 1) * sizeof *ref);
            score_out out = { ref, NULL, NULL, NULL };
            const int32_t *const one[1] = { j->ids };
            if (score_tokens(r->m, NULL, cx, ncx, one, &j->n, 1, &out, err, sizeof err) == 0) {
                lr = xmalloc((size_t)(j->n ? j->n : 1) * sizeof *lr);
                for (int i = 0; i < j->n; i++)
                    lr[i] = j->own[i] - ref[i];
            }
            free(ref);
            free(cx);
        }
        pthread_mutex_lock(&r->mu);
        job_free(r->done);
        free(r->lr);
        r->done = j;
        r->lr = lr;
        snprintf(r->derr, sizeof r->derr, "%s", err);
        if (write(r->pipefd[1], "x", 1) < 0) {
            /* a full pipe already holds a wake-up */
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

refscore *refscore_new(const char *path, char *err, size_t errlen)
{
    const llama_model *m = llama_backend_model_acquire(path, err, errlen);
    if (!m)
        return NULL;
    refscore *r = xcalloc(1, sizeof *r);
    r->m = m;
    if (pipe(r->pipefd) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        llama_backend_model_release(m);
        free(r);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(r->pipefd[i], F_SETFL, fcntl(r->pipefd[i], F_GETFL) | O_NONBLOCK);
        fcntl(r->pipefd[i], F_SETFD, FD_CLOEXEC);
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->th, NULL, worker, r) != 0) {
        snprintf(err, errlen, "the reference model's thread could not start");
        close(r->pipefd[0]);
        close(r->pipefd[1]);
        llama_backend_model_release(m);
        free(r);
        return NULL;
    }
    return r;
}

void refscore_free(refscore *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->quit = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    job_free(r->next);
    job_free(r->done);
    free(r->lr);
    close(r->pipefd[0]);
    close(r->pipefd[1]);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    llama_backend_model_release(r->m);
    free(r);
}

int refscore_fd(const refscore *r) { return r->pipefd[0]; }

void refscore_ask(refscore *r, const tree *t, int32_t id)
{
    const tree_node *nd = tree_get(t, id);
    if (!nd)
        return;
    job *j = xcalloc(1, sizeof *j);
    j->id = id;
    int32_t p = tree_parent(t, id);
    j->context = p == TREE_NONE ? xstrdup("") : tree_path_text(t, p, &j->clen);
    j->n = score_node_ids(llama_tokenizer(r->m), nd, &j->ids);
    if (j->n < 0) {
        j->n = 0;
        snprintf(j->err, sizeof j->err, "its tokens are not the reference model's (another tokenizer, or none recorded)");
    } else {
        j->own = xmalloc((size_t)(j->n ? j->n : 1) * sizeof *j->own);
        for (int i = 0; i < j->n; i++) {
            j->own[i] = nd->tokens[i].tok.logprob;
            if (isnan(j->own[i]))
                snprintf(j->err, sizeof j->err, "its token probabilities are unknown");
        }
    }
    pthread_mutex_lock(&r->mu);
    job_free(r->next);
    r->next = j;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int refscore_take(refscore *r, int32_t *id, double **lr, size_t *n, char *err, size_t errlen)
{
    char tmp[64];
    while (read(r->pipefd[0], tmp, sizeof tmp) > 0)
        ;
    pthread_mutex_lock(&r->mu);
    job *j = r->done;
    int got = j != NULL;
    if (j) {
        *id = j->id;
        *lr = r->lr;
        *n = (size_t)j->n;
        snprintf(err, errlen, "%s", r->derr);
        r->lr = NULL;
        r->done = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    job_free(j);
    return got;
}
