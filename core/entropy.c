/* core/entropy.c — see entropy.h. */
#include "core/entropy.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double plog2p(double p)
{
    return p > 0 ? -p * log2(p) : 0.0;
}

/* Where a list of alternatives comes from: an array of tree_alt, or a node's token (its
 * pieces in the node's pool), so a full distribution is never copied. */
typedef struct {
    const tree_alt   *alts;
    const tree_node  *n;
    const tree_piece *pc;
    size_t            nalts;
} alt_src;

static inline const char *src_get(const alt_src *S, size_t i, size_t *len, double *lp)
{
    if (S->alts) {
        *len = S->alts[i].len;
        *lp = S->alts[i].logprob;
        return S->alts[i].text;
    }
    *len = S->pc[i].len;
    *lp = S->pc[i].logprob;
    return S->n->pool + S->pc[i].off;
}

/* The outcomes of a list: one per distinct text with the largest probability seen for it,
 * then the sampled token when no alternative is it.  Up to SMALL outcomes live in the
 * struct; a longer list (a full distribution) takes one allocation, and its duplicates are
 * found through a hash of the texts, so the work is linear in the list. */
#define SMALL 64
typedef struct {
    double  *p, *lp;          /* probability and its log (at most 0), kept outcome k */
    size_t   np;
    double   pmin;            /* least likely alternative (the sampled token not counted) */
    double   pbuf[SMALL + 1], lpbuf[SMALL + 1];
    void    *heap;
} outcomes;

/* -p log2 p of kept outcome k, from its log: no log2 per outcome. */
static inline double term(const outcomes *o, size_t k)
{
    return o->p[k] > 0 ? -o->p[k] * o->lp[k] * 1.4426950408889634 : 0.0;
}

static uint32_t bytes_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (uint32_t)n;
}

static int same_text(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

static void collect(const alt_src *S, const char *tok, size_t tok_len, double tok_lp, outcomes *o)
{
    size_t n = S->nalts;
    o->np = 0;
    o->pmin = INFINITY;
    o->heap = NULL;
    o->p = o->pbuf;
    o->lp = o->lpbuf;
    /* kept outcome k: its text (an index into the list, or n for the sampled token) */
    size_t ibuf[SMALL + 1], *idx = ibuf;
    uint32_t *slot = NULL;    /* hash table of kept outcomes + 1, 0 empty */
    size_t mask = 0;
    if (n > SMALL) {
        for (mask = 64; mask < 2 * (n + 1); mask *= 2)
            ;
        char *m = xmalloc((n + 1) * (2 * sizeof *o->p + sizeof *idx) + mask * sizeof *slot);
        o->heap = m;
        o->p = (double *)(void *)m;
        o->lp = o->p + n + 1;
        idx = (size_t *)(void *)(m + (n + 1) * 2 * sizeof *o->p);
        slot = (uint32_t *)(void *)(m + (n + 1) * (2 * sizeof *o->p + sizeof *idx));
        memset(slot, 0, mask * sizeof *slot);
        mask--;
    }
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t sl;
        double lp;
        if (i < n)
            s = src_get(S, i, &sl, &lp);
        else {            /* the sampled token last: counted only when no alternative is it */
            if (!tok)
                break;
            s = tok, sl = tok_len, lp = tok_lp;
        }
        if (isnan(lp))
            continue;
        if (lp > 0)
            lp = 0;
        double pi = exp(lp);
        if (i < n && pi < o->pmin)
            o->pmin = pi;
        size_t j = o->np, h = 0;
        if (slot) {
            for (h = bytes_hash(s, sl) & mask; slot[h]; h = (h + 1) & mask) {
                size_t k = slot[h] - 1, kl;
                double unused;
                const char *ks = idx[k] < n ? src_get(S, idx[k], &kl, &unused) : (kl = tok_len, tok);
                if (same_text(ks, kl, s, sl)) {
                    j = k;
                    break;
                }
            }
        } else {
            for (j = 0; j < o->np; j++) {
                size_t kl;
                double unused;
                const char *ks = src_get(S, idx[j], &kl, &unused);
                if (same_text(ks, kl, s, sl))
                    break;
            }
        }
        if (j < o->np) {
            if (i < n && pi > o->p[j]) {
                o->p[j] = pi;
                o->lp[j] = lp;
            }
            continue;
        }
        if (slot)
            slot[h] = (uint32_t)o->np + 1;
        idx[o->np] = i;
        o->lp[o->np] = lp;
        o->p[o->np++] = pi;
    }
}

static void outcomes_free(outcomes *o)
{
    free(o->heap);
}

/* H of the collected outcomes (see entropy_topk). */
static double topk_h(outcomes *o, int full, double *leftover)
{
    if (!o->np) {
        if (leftover)
            *leftover = NAN;
        return NAN;
    }
    double sum = 0;
    for (size_t i = 0; i < o->np; i++)
        sum += o->p[i];
    double h = 0, r = 0;
    if (full && sum > 0) {
        double l2s = log2(sum);
        for (size_t i = 0; i < o->np; i++)
            h += o->p[i] > 0 ? -(o->p[i] / sum) * (o->lp[i] * 1.4426950408889634 - l2s) : 0.0;
    } else {
        for (size_t i = 0; i < o->np; i++)
            h += term(o, i);
        r = 1.0 - sum;
        if (r < 0)
            r = 0;
        h += plog2p(r);
    }
    if (leftover)
        *leftover = r;
    return h;
}

double entropy_topk(const tree_alt *alts, size_t nalts, const char *tok, size_t tok_len,
                    double tok_lp, int full, double *leftover)
{
    alt_src S = { .alts = alts, .nalts = alts ? nalts : 0 };
    outcomes o;
    collect(&S, tok, tok_len, tok_lp, &o);
    double h = topk_h(&o, full, leftover);
    outcomes_free(&o);
    return h;
}

double entropy_token(const tree_node *n, uint32_t i, double *leftover)
{
    if (i >= n->ntokens) {
        if (leftover)
            *leftover = NAN;
        return NAN;
    }
    const tree_token *tk = &n->tokens[i];
    if (isfinite(tk->entropy)) {   /* the model gave its exact figure */
        if (leftover)
            *leftover = 0;
        return tk->entropy;
    }
    alt_src S = { .n = n, .pc = n->tops ? n->tops + tk->top : NULL, .nalts = tk->ntop };   /* no alternatives: no array */
    outcomes o;
    collect(&S, n->pool + tk->tok.off, tk->tok.len, tk->tok.logprob, &o);
    double h = topk_h(&o, 0, leftover);
    outcomes_free(&o);
    return h;
}

void entropy_node(const tree_node *n, entropy_node_t *out)
{
    double sum = 0, sum_r = 0, mx = 0;
    uint32_t cnt = 0;
    int exact = 1;
    for (uint32_t i = 0; i < n->ntokens; i++) {
        double r, h = entropy_token(n, i, &r);
        if (isnan(h))
            continue;
        sum += h;
        sum_r += r;
        if (h > mx)
            mx = h;
        if (!isfinite(n->tokens[i].entropy))   /* a top-k list, however complete it looks */
            exact = 0;
        cnt++;
    }
    out->ntokens = cnt;
    out->mean = cnt ? sum / cnt : NAN;
    out->max = cnt ? mx : NAN;
    out->mean_leftover = cnt ? sum_r / cnt : NAN;
    out->exact = cnt ? exact : 0;
}

double entropy_counts(const size_t *counts, size_t n, double *normalized)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)counts[i];
    double h = 0;
    if (total > 0)
        for (size_t i = 0; i < n; i++)
            h += plog2p((double)counts[i] / total);
    if (normalized)
        *normalized = total >= 2 ? h / log2(total) : 0.0;
    return h;
}

size_t entropy_sequence(const tree_node *n, double *logprob, double *perplexity)
{
    double sum = 0;
    size_t cnt = 0;
    for (uint32_t i = 0; i < n->ntokens; i++) {
        double lp = n->tokens[i].tok.logprob;
        if (isnan(lp))
            continue;
        sum += lp;
        cnt++;
    }
    if (logprob)
        *logprob = cnt ? sum : NAN;
    if (perplexity)
        *perplexity = cnt ? exp(-sum / (double)cnt) : NAN;
    return cnt;
}

/* ---- intervals (see entropy.h for the derivation) ---- */
/* The bounds of the collected outcomes (see entropy.h). */
static int topk_interval(const outcomes *o, int full, uint32_t vocab, entropy_interval *out)
{
    out->lower = out->upper = NAN;
    out->exact = 0;
    if (!o->np)
        return -1;
    double sum = 0;
    for (size_t i = 0; i < o->np; i++)
        sum += o->p[i];
    double r = 1.0 - sum;
    if (full || (vocab && vocab <= o->np)) {
        double h = 0;
        double l2s = log2(sum);
        for (size_t i = 0; i < o->np; i++)
            h += o->p[i] > 0 ? -(o->p[i] / sum) * (o->lp[i] * 1.4426950408889634 - l2s) : 0.0;
        out->lower = out->upper = h;
        out->exact = 1;
        return 0;
    }
    if (r < ENTROPY_EXACT_EPS)    /* the list covers the mass it reports: nothing unseen */
        r = 0;
    double hs = 0;
    for (size_t i = 0; i < o->np; i++)
        hs += term(o, i);
    double m = vocab ? (double)vocab - (double)o->np : 0;
    if (vocab && r > m * o->pmin * (1 + 1e-9)) {      /* contradicts V: uniform is all there is */
        out->lower = out->upper = hs + m * plog2p(r / m);
        return 0;
    }
    double n = isfinite(o->pmin) && o->pmin > 0 ? floor(r / o->pmin) : 0;
    double rem = r - n * o->pmin;
    if (rem < 0)
        rem = 0;
    if (rem > 0 && isfinite(o->pmin) && rem >= o->pmin * (1 - 1e-12)) {  /* rounding at a multiple */
        n += 1;
        rem = 0;
    }
    out->lower = hs + (n > 0 ? n * plog2p(o->pmin) : 0) + plog2p(rem);
    if (vocab)
        out->upper = hs + m * plog2p(r / m);
    if (out->upper < out->lower)     /* equal up to rounding */
        out->upper = out->lower;
    return 0;
}

int entropy_topk_interval(const tree_alt *alts, size_t nalts, const char *tok, size_t tok_len,
                          double tok_lp, int full, uint32_t vocab, entropy_interval *out)
{
    alt_src S = { .alts = alts, .nalts = alts ? nalts : 0 };
    outcomes o;
    collect(&S, tok, tok_len, tok_lp, &o);
    int rc = topk_interval(&o, full, vocab, out);
    outcomes_free(&o);
    return rc;
}

int entropy_token_interval(const tree_node *n, uint32_t i, uint32_t vocab, entropy_interval *out)
{
    out->lower = out->upper = NAN;
    out->exact = 0;
    if (i >= n->ntokens)
        return -1;
    const tree_token *tk = &n->tokens[i];
    if (isfinite(tk->entropy)) {
        out->lower = out->upper = tk->entropy;
        out->exact = 1;
        return 0;
    }
    alt_src S = { .n = n, .pc = n->tops ? n->tops + tk->top : NULL, .nalts = tk->ntop };   /* no alternatives: no array */
    outcomes o;
    collect(&S, n->pool + tk->tok.off, tk->tok.len, tk->tok.logprob, &o);
    int rc = topk_interval(&o, 0, vocab, out);
    outcomes_free(&o);
    return rc;
}

void entropy_node_interval(const tree_node *n, uint32_t vocab, entropy_node_interval_t *out)
{
    double lo = 0, hi = 0;
    uint32_t cnt = 0;
    int exact = 1, hi_known = 1;
    for (uint32_t i = 0; i < n->ntokens; i++) {
        entropy_interval iv;
        if (entropy_token_interval(n, i, vocab, &iv) < 0)
            continue;
        lo += iv.lower;
        if (isnan(iv.upper))
            hi_known = 0;
        else
            hi += iv.upper;
        exact &= iv.exact;
        cnt++;
    }
    out->ntokens = cnt;
    out->lower = cnt ? lo / cnt : NAN;
    out->upper = cnt && hi_known ? hi / cnt : NAN;
    out->exact = cnt ? exact : 0;
}

void entropy_format(char *dst, size_t len, double lower, double upper, int exact, int utf8)
{
    if (isnan(lower))
        snprintf(dst, len, "?");
    else if (exact || (!isnan(upper) && upper - lower < 0.005))
        snprintf(dst, len, "%.2f bits%s", lower, exact ? " (exact)" : "");
    else if (isnan(upper))
        snprintf(dst, len, "%s %.2f bits (V unknown)", utf8 ? "\xe2\x89\xa5" : ">=", lower);
    else
        snprintf(dst, len, "%.2f%s%.2f bits", lower, utf8 ? "\xe2\x80\x93" : "-", upper);
}
