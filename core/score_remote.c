/* core/score_remote.c — a comparison's divergence through backends that score given text
 * (see score_compare_backends in score.h). */
#include "core/score.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FULL_EPS 1e-3          /* a list of alternatives holds the whole distribution */

typedef struct {
    backend *be;
    int      request;          /* 0: not started; -1: could not start */
    int      done, failed;
    char    *error;
    /* the tokens covering the text, in order */
    size_t   n;
    double  *lp;
    size_t  *end;              /* byte offset of each token's end, from the text's start */
    int      aligned;          /* the first token starts exactly at the text */
    int      full;             /* every position's alternatives hold the whole distribution */
    tree_alt **alts;           /* per token, copies (texts owned below) */
    size_t  *nalts;
    buf      pool;
} job;

typedef struct {
    const tree *t;
    const compare_result *r;
    job  *jobs[2][2];          /* [side][0 own, 1 other] per sample */
    size_t n[2];
    int   pending;
} scorer;

typedef struct { scorer *sc; backend *be; } sink;

static job *find_job(scorer *sc, backend *be, int request)
{
    for (int s = 0; s < 2; s++)
        for (int w = 0; w < 2; w++)
            for (size_t i = 0; sc->jobs[s][w] && i < sc->n[s]; i++) {
                job *j = &sc->jobs[s][w][i];
                if (j->be == be && j->request == request && !j->done)
                    return j;
            }
    return NULL;
}

static const char *text_of(const scorer *sc, int s, size_t i, size_t *len)
{
    const tree_node *nd = tree_get(sc->t, sc->r->ids[s][i]);
    *len = nd->text_len;
    return nd->text;
}

/* Keeps the tokens covering the last tlen bytes of the scored prompt. */
static void take(job *j, const backend_scored *tok, size_t n, const char *text, size_t tlen)
{
    size_t from = n, acc = 0;
    while (from > 0 && acc < tlen)
        acc += tok[--from].len;
    if (acc < tlen || !tlen) {
        j->failed = 1;
        j->error = xstrdup("the scored tokens do not cover the text");
        return;
    }
    /* their bytes must spell the text (lossy token texts would misplace the span) */
    size_t over = acc - tlen, at = 0;
    int ok = 1;
    for (size_t k = from; k < n && ok; k++) {
        size_t skip = k == from ? over : 0;
        if (tok[k].len < skip || memcmp(tok[k].text + skip, text + at, tok[k].len - skip))
            ok = 0;
        at += tok[k].len - skip;
    }
    if (!ok) {
        j->failed = 1;
        j->error = xstrdup("the scored tokens do not spell the text");
        return;
    }
    j->n = n - from;
    j->lp = xmalloc(j->n * sizeof *j->lp);
    j->end = xmalloc(j->n * sizeof *j->end);
    j->alts = xcalloc(j->n, sizeof *j->alts);
    j->nalts = xcalloc(j->n, sizeof *j->nalts);
    j->aligned = over == 0;
    j->full = 1;
    size_t *offs = NULL, nal = 0, cap = 0;
    long long e = -(long long)over;
    for (size_t k = 0; k < j->n; k++) {
        const backend_scored *b = &tok[from + k];
        j->lp[k] = b->logprob;
        e += (long long)b->len;
        j->end[k] = (size_t)e;
        if (isnan(b->logprob)) {
            j->failed = 1;
            j->error = xstrdup("the server gave no logprob for a token of the text");
        }
        double mass = 0;
        j->nalts[k] = b->ntop;
        j->alts[k] = xmalloc((b->ntop ? b->ntop : 1) * sizeof **j->alts);
        for (size_t a = 0; a < b->ntop; a++) {
            xgrow(&offs, &cap, nal + 1, sizeof *offs);
            offs[nal++] = j->pool.len;
            buf_add(&j->pool, b->top[a].text, b->top[a].len);
            j->alts[k][a] = (tree_alt){ NULL, b->top[a].len, b->top[a].logprob };
            mass += exp(b->top[a].logprob);
        }
        if (fabs(mass - 1) > FULL_EPS)
            j->full = 0;
    }
    buf_adds(&j->pool, "");
    for (size_t k = 0, q = 0; k < j->n; k++)
        for (size_t a = 0; a < j->nalts[k]; a++)
            j->alts[k][a].text = j->pool.data + offs[q++];
    free(offs);
}

static void on_event(void *ud, const backend_event *ev)
{
    sink *sk = ud;
    scorer *sc = sk->sc;
    job *j = find_job(sc, sk->be, ev->request);
    if (!j)
        return;
    if (ev->kind == BACKEND_EV_SCORED || ev->kind == BACKEND_EV_ERROR) {
        if (ev->kind == BACKEND_EV_ERROR) {
            j->failed = 1;
            free(j->error);
            j->error = xstrdup(ev->message && *ev->message ? ev->message : "scoring failed");
        } else {
            /* which sample is this?  the job's place in its array */
            for (int s = 0; s < 2; s++)
                for (int w = 0; w < 2; w++)
                    if (sc->jobs[s][w] && j >= sc->jobs[s][w] && j < sc->jobs[s][w] + sc->n[s]) {
                        size_t len;
                        const char *text = text_of(sc, s, (size_t)(j - sc->jobs[s][w]), &len);
                        take(j, ev->scored, ev->nscored, text, len);
                    }
        }
        j->done = 1;
        sc->pending--;
    }
}

/* KL(p || q) at one position, both whole: p's tokens found in q by text; -1 when one is
 * missing there. */
static double position_kl(const tree_alt *p, size_t np, const tree_alt *q, size_t nq)
{
    double kl = 0;
    for (size_t a = 0; a < np; a++) {
        size_t b = 0;
        while (b < nq && (q[b].len != p[a].len || memcmp(q[b].text, p[a].text, p[a].len)))
            b++;
        double pa = exp(p[a].logprob);
        if (b == nq) {
            if (pa > FULL_EPS)
                return -1;
            continue;
        }
        kl += pa * (p[a].logprob - q[b].logprob);
    }
    return kl > 0 ? kl : 0;
}

static void job_free(job *j)
{
    free(j->error);
    free(j->lp);
    free(j->end);
    for (size_t k = 0; j->alts && k < j->n; k++)
        free(j->alts[k]);
    free(j->alts);
    free(j->nalts);
    buf_free(&j->pool);
}

/* Side s's figures from its jobs. */
static void side_figures(scorer *sc, int s, int own_scored, compare_kl *kl)
{
    size_t n = sc->n[s], used = 0;
    double *mc = xmalloc((n ? n : 1) * sizeof *mc), se = 0;
    int exact = own_scored;
    const char *first_error = NULL;
    for (size_t i = 0; i < n; i++) {
        job *own = own_scored ? &sc->jobs[s][0][i] : NULL, *oth = &sc->jobs[s][1][i];
        const tree_node *nd = tree_get(sc->t, sc->r->ids[s][i]);
        if (oth->failed) {
            if (!first_error)
                first_error = oth->error;
            kl->skipped++;
            continue;
        }
        const char *own_error = NULL;
        if (own && own->failed) {          /* the recorded logprobs, if they are all there */
            own_error = own->error;
            own = NULL;
            exact = 0;
        }
        double so = 0, sx = 0;
        size_t ntok;
        if (own) {
            for (size_t k = 0; k < own->n; k++)
                so += own->lp[k];
            ntok = own->n;
        } else {
            int known = nd->ntokens > 0;
            for (uint32_t k = 0; k < nd->ntokens; k++) {
                known &= !isnan(nd->tokens[k].tok.logprob);
                so += nd->tokens[k].tok.logprob;
            }
            if (!known) {
                if (!first_error)
                    first_error = own_error ? own_error : "its samples carry no logprobs and its backend cannot score them";
                kl->skipped++;
                continue;
            }
            ntok = nd->ntokens;
        }
        for (size_t k = 0; k < oth->n; k++)
            sx += oth->lp[k];
        mc[used++] = (so - sx) / (double)ntok;
        kl->tokens += ntok;
        /* exact: the same tokens on both sides, both distributions whole */
        if (exact && own->aligned && oth->aligned && own->full && oth->full && own->n == oth->n &&
            !memcmp(own->end, oth->end, own->n * sizeof *own->end)) {
            double m = 0;
            for (size_t k = 0; k < own->n && exact; k++) {
                double p = position_kl(own->alts[k], own->nalts[k], oth->alts[k], oth->nalts[k]);
                if (p < 0)
                    exact = 0;
                m += p;
            }
            se += m / (double)own->n;
        } else
            exact = 0;
    }
    if (used) {
        score_bootstrap(mc, used, &kl->value, &kl->low, &kl->high);
        kl->known = 1;
        kl->samples = used;
        kl->exact_known = exact;
        kl->exact = exact ? se / (double)used : NAN;
        if (kl->skipped)
            snprintf(kl->note, sizeof kl->note, "%zu of %zu samples left out (%s)", kl->skipped, n,
                     first_error ? first_error : "error");
    } else {
        snprintf(kl->note, sizeof kl->note, "%s", first_error ? first_error : "no complete sample");
    }
    free(mc);
}

int score_compare_backends(const tree *t, compare_result *r, backend *be[2], const gen_settings *s[2])
{
    memset(r->kl, 0, sizeof r->kl);
    scorer sc = { t, r, {{0}}, {r->side[0].n, r->side[1].n}, 0 };
    sink sk[2] = { { &sc, be[0] }, { &sc, be[1] } };
    int nb = be[0] == be[1] ? 1 : 2;
    for (int k = 0; k < nb; k++) {
        be[k]->on_event = on_event;
        be[k]->ud = &sk[k];
    }
    int own_scored[2] = { 1, 1 }, can[2] = { 1, 1 };
    char why[2][240] = { "", "" };
    size_t clen = strlen(r->prompt);
    for (int side = 0; side < 2; side++) {
        for (int w = 0; w < 2; w++)
            sc.jobs[side][w] = xcalloc(sc.n[side] ? sc.n[side] : 1, sizeof (job));
        for (int w = 1; w >= 0; w--) {         /* the other side's backend first */
            int k = w ? 1 - side : side;
            for (size_t i = 0; i < sc.n[side] && (w ? can[side] : own_scored[side]); i++) {
                job *j = &sc.jobs[side][w][i];
                size_t len;
                const char *text = text_of(&sc, side, i, &len);
                char err[200];
                j->be = be[k];
                j->request = backend_score(be[k], r->prompt, clen, text, len, s[k], err, sizeof err);
                if (j->request < 0) {
                    j->done = j->failed = 1;
                    j->error = xstrdup(err);
                    if (i == 0) {       /* the backend cannot score at all */
                        if (w) {
                            can[side] = 0;
                            snprintf(why[side], sizeof why[side], "%s: %s", k ? "B" : "A", err);
                        } else
                            own_scored[side] = 0;
                    }
                    continue;
                }
                sc.pending++;
            }
        }
    }
    while (sc.pending > 0) {
        int busy[2] = { 0, 0 };
        for (int k = 0; k < nb; k++)
            busy[k] = backend_pump(be[k]) > 0;
        if (sc.pending <= 0)
            break;
        if (!busy[0] && !busy[1])
            break;                             /* nothing left that could answer */
        backend_wait_many(be, nb, NULL, 0, 100, NULL);
    }
    for (int side = 0; side < 2; side++)    /* what never answered */
        for (int w = 0; w < 2; w++)
            for (size_t i = 0; i < sc.n[side]; i++)
                if (!sc.jobs[side][w][i].done && !sc.jobs[side][w][i].failed && sc.jobs[side][w][i].request > 0) {
                    sc.jobs[side][w][i].failed = 1;
                    sc.jobs[side][w][i].error = xstrdup("the backend never answered");
                }
    int known = 0;
    for (int side = 0; side < 2; side++) {
        if (!sc.n[side])
            continue;
        if (!can[side])
            snprintf(r->kl[side].note, sizeof r->kl[side].note, "%.230s", why[side]);
        else
            side_figures(&sc, side, own_scored[side], &r->kl[side]);
        known += r->kl[side].known;
    }
    for (int side = 0; side < 2; side++)
        for (int w = 0; w < 2; w++) {
            for (size_t i = 0; i < sc.n[side]; i++)
                job_free(&sc.jobs[side][w][i]);
            free(sc.jobs[side][w]);
        }
    for (int k = 0; k < nb; k++) {
        be[k]->on_event = NULL;
        be[k]->ud = NULL;
    }
    return known;
}
