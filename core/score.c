/* core/score.c — teacher forcing on the embedded runtime and the divergence of a
 * comparison's two models.  See score.h for the contract. */
#include "core/score.h"
#include <jansson.h>
#include "core/backend.h"
#include "core/mem.h"
#include "core/stat.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCORE_GROUP     32       /* continuations decoded as one batch */

/* ---- teacher forcing ---- */

typedef struct {
    const llama_model *m;
    llama_ctx *c;
    float     *logits;
} runner;

/* Fills out at flat index k from the two rows (b may be NULL). */
static void position(const float *a, const float *b, int nv, int32_t tok, double *lpa, double *lpb,
                     score_out *out, size_t k)
{
    llama_log_softmax(a, nv, lpa);
    if (out->lp0)
        out->lp0[k] = lpa[tok];
    if (!b)
        return;
    llama_log_softmax(b, nv, lpb);
    if (out->lp1)
        out->lp1[k] = lpb[tok];
    double k01 = 0, k10 = 0;
    for (int v = 0; v < nv; v++) {
        double d = lpa[v] - lpb[v];
        k01 += exp(lpa[v]) * d;
        k10 -= exp(lpb[v]) * d;
    }
    if (out->kl01)
        out->kl01[k] = k01 > 0 ? k01 : 0;   /* rounding can leave a hair below 0 */
    if (out->kl10)
        out->kl10[k] = k10 > 0 ? k10 : 0;
}

int score_tokens(const llama_model *m0, const llama_model *m1, const int32_t *ctx, int nctx,
                 const int32_t *const *ids, const int *len, int n, score_out *out,
                 char *err, size_t errlen)
{
    const llama_model *ms[2] = { m0, m1 };
    int nm = m1 ? 2 : 1, nv = llama_n_vocab(m0), room = llama_n_ctx(m0);
    if (m1 && llama_n_vocab(m1) != nv) {
        snprintf(err, errlen, "the two models have different vocabularies (%d and %d tokens)", nv,
                 llama_n_vocab(m1));
        return -1;
    }
    if (m1 && llama_n_ctx(m1) < room)
        room = llama_n_ctx(m1);
    int gen = 0;
    for (int i = 0; i < n; i++)
        if (len[i] > gen)
            gen = len[i];
    if (n <= 0 || gen == 0)
        return 0;
    if (nctx < 1) {
        snprintf(err, errlen, "scoring needs a context of at least one token");
        return -1;
    }
    if (gen >= room) {
        snprintf(err, errlen, "a text of %d tokens does not fit the model's context (%d)", gen, room);
        return -1;
    }
    /* Cut from the left keeping BOS, as the backend does (llama_backend_run.c). */
    int32_t *cx = xmalloc((size_t)nctx * sizeof *cx);
    memcpy(cx, ctx, (size_t)nctx * sizeof *cx);
    int limit = room - gen;
    if (nctx > limit) {
        const bpe *tk = llama_tokenizer(m0);
        int bos = bpe_adds_bos(tk) && cx[0] == bpe_bos(tk);
        memmove(cx + bos, cx + nctx - (limit - bos), (size_t)(limit - bos) * sizeof *cx);
        nctx = limit;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (int)ncpu;
    int group = n < SCORE_GROUP ? n : SCORE_GROUP;
    runner rn[2] = {{0}};
    for (int k = 0; k < nm; k++) {
        rn[k].m = ms[k];
        rn[k].c = llama_ctx_new(ms[k], group, gen, threads);
        rn[k].logits = xmalloc((size_t)group * (size_t)nv * sizeof *rn[k].logits);
    }
    double *lpa = xmalloc((size_t)nv * sizeof *lpa), *lpb = xmalloc((size_t)nv * sizeof *lpb);
    size_t *base = xmalloc((size_t)n * sizeof *base);
    for (int i = 0, at = 0; i < n; at += len[i], i++)
        base[i] = (size_t)at;
    int32_t *feed = xmalloc((size_t)group * sizeof *feed);
    int *slot = xmalloc((size_t)group * sizeof *slot), *who = xmalloc((size_t)group * sizeof *who);
    int rc = 0;
    for (int g0 = 0; g0 < n && !rc; g0 += group) {
        int g1 = g0 + group < n ? g0 + group : n;
        for (int k = 0; k < nm; k++)
            if (llama_prefill(rn[k].c, cx, nctx, rn[k].logits) < 0) {
                snprintf(err, errlen, "the context could not be computed");
                rc = -1;
            }
        if (rc)
            break;
        /* Position 0 of every continuation: the context's last logits. */
        for (int i = g0; i < g1; i++)
            if (len[i] > 0)
                position(rn[0].logits, m1 ? rn[1].logits : NULL, nv, ids[i][0], lpa, lpb, out, base[i]);
        for (int t = 1;; t++) {
            int na = 0;
            for (int i = g0; i < g1; i++)
                if (len[i] > t) {
                    feed[na] = ids[i][t - 1];
                    slot[na] = i - g0;
                    who[na++] = i;
                }
            if (!na)
                break;
            for (int k = 0; k < nm; k++)
                llama_decode(rn[k].c, feed, slot, na, rn[k].logits);
            for (int j = 0; j < na; j++) {
                int i = who[j];
                position(rn[0].logits + (size_t)j * nv, m1 ? rn[1].logits + (size_t)j * nv : NULL, nv,
                         ids[i][t], lpa, lpb, out, base[i] + (size_t)t);
            }
        }
    }
    for (int k = 0; k < nm; k++) {
        llama_ctx_free(rn[k].c);
        free(rn[k].logits);
    }
    free(lpa);
    free(lpb);
    free(base);
    free(feed);
    free(slot);
    free(who);
    free(cx);
    return rc;
}

void score_split(const bpe *t, const char *context, size_t clen, const char *text, size_t len,
                 int32_t **ctx, int *nctx, int32_t **ids, int *n)
{
    int bos = bpe_adds_bos(t);
    int32_t *c = NULL, *all = NULL;
    size_t nc = bpe_encode(t, context, clen, bos, &c);
    if (nc == 0) {                       /* as the backend: start from BOS anyway */
        c = xrealloc(c, sizeof *c);
        c[0] = bpe_bos(t);
        nc = 1;
    }
    char *joined = xmalloc(clen + len + 1);
    memcpy(joined, context, clen);
    memcpy(joined + clen, text, len);
    size_t na = bpe_encode(t, joined, clen + len, bos, &all);
    free(joined);
    if (clen == 0 && !bos) {             /* the BOS put in front of an empty context */
        all = xrealloc(all, (na + 1) * sizeof *all);
        memmove(all + 1, all, na * sizeof *all);
        all[0] = c[0];
        na++;
    }
    size_t k = 0;
    while (k < nc && k < na && c[k] == all[k])
        k++;
    if (k == 0) {                        /* nothing in common: keep the context whole */
        *ctx = c;
        *nctx = (int)nc;
        *ids = xmalloc((na ? na : 1) * sizeof **ids);
        memcpy(*ids, all, na * sizeof **ids);
        *n = (int)na;
        free(all);
        return;
    }
    *ctx = c;
    *nctx = (int)k;
    *ids = xmalloc((na - k + 1) * sizeof **ids);
    memcpy(*ids, all + k, (na - k) * sizeof **ids);
    *n = (int)(na - k);
    free(all);
}

/* ---- recorded tokens to ids ---- */

static _Thread_local const bpe *sort_tok;   /* qsort has no user pointer */

static int piece_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : la < lb ? -1 : la > lb;
}

static int by_piece(const void *x, const void *y)
{
    size_t la, lb;
    const char *a = bpe_piece(sort_tok, *(const int32_t *)x, &la);
    const char *b = bpe_piece(sort_tok, *(const int32_t *)y, &lb);
    int c = piece_cmp(a, la, b, lb);
    return c ? c : *(const int32_t *)x < *(const int32_t *)y ? -1 : 1;
}

/* Ordinary (not special) ids sorted by their bytes; *n of them. */
static int32_t *piece_index(const bpe *t, size_t *n)
{
    size_t nv = bpe_vocab_size(t), k = 0;
    int32_t *ix = xmalloc((nv ? nv : 1) * sizeof *ix);
    for (size_t i = 0; i < nv; i++)
        if (!bpe_is_special(t, (int32_t)i))
            ix[k++] = (int32_t)i;
    sort_tok = t;
    qsort(ix, k, sizeof *ix, by_piece);
    *n = k;
    return ix;
}

static int32_t piece_find(const bpe *t, const int32_t *ix, size_t n, const char *s, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, l;
        const char *p = bpe_piece(t, ix[mid], &l);
        int c = piece_cmp(p, l, s, len);
        if (c == 0)
            return ix[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int node_ids(const bpe *t, const int32_t *ix, size_t nix, const tree_node *nd, int32_t **ids)
{
    if (!nd->ntokens)
        return -1;
    int32_t *v = xmalloc(nd->ntokens * sizeof *v);
    size_t at = 0;
    for (uint32_t i = 0; i < nd->ntokens; i++) {
        size_t l;
        const char *s = tree_token_text(nd, i, &l);
        if (at + l > nd->text_len || memcmp(nd->text + at, s, l) ||
            (v[i] = piece_find(t, ix, nix, s, l)) < 0) {
            free(v);
            return -1;
        }
        at += l;
    }
    if (at != nd->text_len) {
        free(v);
        return -1;
    }
    *ids = v;
    return (int)nd->ntokens;
}

int score_node_ids(const bpe *t, const tree_node *nd, int32_t **ids)
{
    size_t nix;
    int32_t *ix = piece_index(t, &nix);
    int n = node_ids(t, ix, nix, nd, ids);
    free(ix);
    return n;
}

/* ---- a comparison's divergence ---- */

/* value, 95% bootstrap interval of the mean of v[0..n) (core/stat) */
void score_bootstrap(const double *v, size_t n, double *mean, double *lo, double *hi)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    *mean = s / (double)n;
    stat_bootstrap(n, stat_mean_fn, (void *)v, lo, hi);
}

static int side_kl(tree *t, const compare_result *r, int s, const llama_model *own,
                   const llama_model *other, compare_kl *kl, char *err, size_t errlen)
{
    const bpe *tk = llama_tokenizer(own);
    size_t nix, n = r->side[s].n;
    int32_t *ix = piece_index(tk, &nix);
    int32_t *cx, *cont;
    int ncx, ncont;
    /* The context the samples continued: the compared node's path text. */
    score_split(tk, r->prompt, strlen(r->prompt), "", 0, &cx, &ncx, &cont, &ncont);
    free(cont);
    int32_t **ids = xcalloc(n ? n : 1, sizeof *ids), **own_cx = xcalloc(n ? n : 1, sizeof *own_cx);
    int *len = xcalloc(n ? n : 1, sizeof *len), *recorded = xcalloc(n ? n : 1, sizeof *recorded);
    int *run = xcalloc(n ? n : 1, sizeof *run), *own_ncx = xcalloc(n ? n : 1, sizeof *own_ncx);
    size_t total = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const tree_node *nd = tree_get(t, r->ids[s][i]);
        int k = node_ids(tk, ix, nix, nd, &ids[i]);
        if (k >= 0)
            recorded[i] = 1;
        else {
            score_split(tk, r->prompt, strlen(r->prompt), nd->text, nd->text_len, &own_cx[i],
                        &own_ncx[i], &ids[i], &k);
            /* The usual case keeps the shared context; a text that merges with the
             * context's last token is scored after its own shorter one. */
            if (own_ncx[i] == ncx) {
                free(own_cx[i]);
                own_cx[i] = NULL;
            }
            kl->retokenized++;
        }
        len[i] = k;
        run[i] = own_cx[i] ? 0 : k;
        total += (size_t)k;
    }
    double *lp_own = xmalloc((total ? total : 1) * sizeof *lp_own);
    double *lp_oth = xmalloc((total ? total : 1) * sizeof *lp_oth);
    double *ex = xmalloc((total ? total : 1) * sizeof *ex);
    /* One batch for the samples after the shared context: its flat layout leaves out the
     * others, which are scored one by one and moved into place. */
    score_out out = { lp_own, lp_oth, ex, NULL };
    if (score_tokens(own, other, cx, ncx, (const int32_t *const *)ids, run, (int)n, &out, err, errlen) < 0)
        rc = -1;
    size_t packed = 0;
    for (size_t i = 0; i < n; i++)
        packed += (size_t)run[i];
    for (size_t i = n, at = total, from = packed; !rc && i-- > 0;) {
        at -= (size_t)len[i];
        if (!own_cx[i]) {
            from -= (size_t)len[i];
            memmove(lp_own + at, lp_own + from, (size_t)len[i] * sizeof *lp_own);
            memmove(lp_oth + at, lp_oth + from, (size_t)len[i] * sizeof *lp_oth);
            memmove(ex + at, ex + from, (size_t)len[i] * sizeof *ex);
        }
    }
    for (size_t i = 0, at = 0; !rc && i < n; at += (size_t)len[i], i++)
        if (own_cx[i]) {
            score_out one = { lp_own + at, lp_oth + at, ex + at, NULL };
            const int32_t *const one_ids[1] = { ids[i] };
            rc = score_tokens(own, other, own_cx[i], own_ncx[i], one_ids, &len[i], 1, &one, err, errlen);
        }
    double *mc = xmalloc((n ? n : 1) * sizeof *mc), *exs = xmalloc((n ? n : 1) * sizeof *exs);
    size_t used = 0, at = 0;
    for (size_t i = 0; !rc && i < n; at += (size_t)len[i], i++) {
        if (!len[i])
            continue;
        tree_node *nd = tree_get(t, r->ids[s][i]);
        double sm = 0, se = 0;
        /* Per token, where the sample's own tokens were scored: its "logratio" list. */
        json_t *lr = recorded[i] && (uint32_t)len[i] == nd->ntokens ? json_array() : NULL;
        for (int j = 0; j < len[i]; j++) {
            double p = lp_own[at + (size_t)j];
            if (recorded[i] && !isnan(nd->tokens[j].tok.logprob))
                p = nd->tokens[j].tok.logprob;
            sm += p - lp_oth[at + (size_t)j];
            se += ex[at + (size_t)j];
            if (lr)
                json_array_append_new(lr, json_real(round((p - lp_oth[at + (size_t)j]) * 1e4) / 1e4));
        }
        if (nd->extra)
            json_object_del(nd->extra, "logratio");
        if (lr) {
            if (!nd->extra)
                nd->extra = json_object();
            json_object_set_new(nd->extra, "logratio", lr);
        }
        mc[used] = sm / len[i];
        exs[used++] = se / len[i];
        kl->tokens += (size_t)len[i];
    }
    if (!rc && used) {
        score_bootstrap(mc, used, &kl->value, &kl->low, &kl->high);
        double se = 0;
        for (size_t i = 0; i < used; i++)
            se += exs[i];
        kl->exact = se / (double)used;
        kl->exact_known = 1;
        kl->samples = used;
        kl->known = 1;
    }
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(own_cx[i]);
    }
    free(ids);
    free(own_cx);
    free(own_ncx);
    free(run);
    free(len);
    free(recorded);
    free(lp_own);
    free(lp_oth);
    free(ex);
    free(mc);
    free(exs);
    free(cx);
    free(ix);
    return rc;
}

int score_compare(tree *t, compare_result *r, const llama_model *m[2], char *err, size_t errlen)
{
    memset(r->kl, 0, sizeof r->kl);
    if (!m[0] || !m[1]) {
        snprintf(err, errlen, "scoring needs the embedded runtime on both sides");
        return -1;
    }
    for (int s = 0; s < 2; s++)
        if (side_kl(t, r, s, m[s], m[1 - s], &r->kl[s], err, errlen) < 0) {
            memset(r->kl, 0, sizeof r->kl);
            return -1;
        }
    return 0;
}
