/* core/entropy.c — see entropy.h. */
#include "core/entropy.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Alternatives beyond this many are ignored (servers send at most a few dozen). */
#define MAX_OUTCOMES 256

static double plog2p(double p)
{
    return p > 0 ? -p * log2(p) : 0.0;
}

static int same_text(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

double entropy_topk(const tree_alt *alts, size_t nalts, const char *tok, size_t tok_len,
                    double tok_lp, int full, double *leftover)
{
    /* kept outcomes: one per distinct text, with the largest probability seen for it */
    const char *text[MAX_OUTCOMES + 1];
    size_t len[MAX_OUTCOMES + 1];
    double p[MAX_OUTCOMES + 1];
    size_t np = 0;
    if (nalts > MAX_OUTCOMES)
        nalts = MAX_OUTCOMES;
    for (size_t i = 0; i <= nalts; i++) {
        const char *s;
        size_t sl;
        double lp;
        if (i < nalts) {
            s = alts[i].text, sl = alts[i].len, lp = alts[i].logprob;
        } else {          /* the sampled token last: counted only when no alternative is it */
            if (!tok)
                break;
            s = tok, sl = tok_len, lp = tok_lp;
        }
        if (isnan(lp))
            continue;
        double pi = exp(lp > 0 ? 0 : lp);
        size_t j = 0;
        while (j < np && !same_text(text[j], len[j], s, sl))
            j++;
        if (j < np) {
            if (i < nalts && pi > p[j])
                p[j] = pi;
            continue;
        }
        text[np] = s, len[np] = sl, p[np] = pi;
        np++;
    }
    if (!np) {
        if (leftover)
            *leftover = NAN;
        return NAN;
    }
    double sum = 0;
    for (size_t i = 0; i < np; i++)
        sum += p[i];
    double h = 0, r = 0;
    if (full && sum > 0) {
        for (size_t i = 0; i < np; i++)
            h += plog2p(p[i] / sum);
    } else {
        for (size_t i = 0; i < np; i++)
            h += plog2p(p[i]);
        r = 1.0 - sum;
        if (r < 0)
            r = 0;
        h += plog2p(r);
    }
    if (leftover)
        *leftover = r;
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
    tree_alt alts[MAX_OUTCOMES];
    size_t na = tk->ntop < MAX_OUTCOMES ? tk->ntop : MAX_OUTCOMES;
    for (size_t j = 0; j < na; j++) {
        const tree_piece *pc = &n->tops[tk->top + j];
        alts[j] = (tree_alt){ n->pool + pc->off, pc->len, pc->logprob };
    }
    return entropy_topk(alts, na, n->pool + tk->tok.off, tk->tok.len, tk->tok.logprob, 0, leftover);
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
int entropy_topk_interval(const tree_alt *alts, size_t nalts, const char *tok, size_t tok_len,
                          double tok_lp, int full, uint32_t vocab, entropy_interval *out)
{
    const char *text[MAX_OUTCOMES + 1];
    size_t len[MAX_OUTCOMES + 1];
    double p[MAX_OUTCOMES + 1];
    size_t np = 0;
    double pmin = INFINITY;   /* least likely token of the top-k list */
    if (nalts > MAX_OUTCOMES)
        nalts = MAX_OUTCOMES;
    for (size_t i = 0; i <= nalts; i++) {
        const char *s;
        size_t sl;
        double lp;
        if (i < nalts) {
            s = alts[i].text, sl = alts[i].len, lp = alts[i].logprob;
        } else {
            if (!tok)
                break;
            s = tok, sl = tok_len, lp = tok_lp;
        }
        if (isnan(lp))
            continue;
        double pi = exp(lp > 0 ? 0 : lp);
        size_t j = 0;
        while (j < np && !same_text(text[j], len[j], s, sl))
            j++;
        if (j < np) {
            if (i < nalts && pi > p[j])
                p[j] = pi;
        } else {
            text[np] = s, len[np] = sl, p[np] = pi;
            np++;
        }
        if (i < nalts && pi < pmin)
            pmin = pi;
    }
    out->lower = out->upper = NAN;
    out->exact = 0;
    if (!np)
        return -1;
    double sum = 0;
    for (size_t i = 0; i < np; i++)
        sum += p[i];
    double r = 1.0 - sum;
    if (full || (vocab && vocab <= np)) {
        double h = 0;
        for (size_t i = 0; i < np; i++)
            h += plog2p(p[i] / sum);
        out->lower = out->upper = h;
        out->exact = 1;
        return 0;
    }
    if (r < ENTROPY_EXACT_EPS)    /* the list covers the mass it reports: nothing unseen */
        r = 0;
    double hs = 0;
    for (size_t i = 0; i < np; i++)
        hs += plog2p(p[i]);
    double m = vocab ? (double)vocab - (double)np : 0;
    if (vocab && r > m * pmin * (1 + 1e-9)) {      /* contradicts V: uniform is all there is */
        out->lower = out->upper = hs + m * plog2p(r / m);
        return 0;
    }
    double n = isfinite(pmin) && pmin > 0 ? floor(r / pmin) : 0;
    double rem = r - n * pmin;
    if (rem < 0)
        rem = 0;
    if (rem > 0 && isfinite(pmin) && rem >= pmin * (1 - 1e-12)) {  /* rounding at a multiple */
        n += 1;
        rem = 0;
    }
    out->lower = hs + (n > 0 ? n * plog2p(pmin) : 0) + plog2p(rem);
    if (vocab)
        out->upper = hs + m * plog2p(r / m);
    if (out->upper < out->lower)     /* equal up to rounding */
        out->upper = out->lower;
    return 0;
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
    tree_alt alts[MAX_OUTCOMES];
    size_t na = tk->ntop < MAX_OUTCOMES ? tk->ntop : MAX_OUTCOMES;
    for (size_t j = 0; j < na; j++) {
        const tree_piece *pc = &n->tops[tk->top + j];
        alts[j] = (tree_alt){ n->pool + pc->off, pc->len, pc->logprob };
    }
    return entropy_topk_interval(alts, na, n->pool + tk->tok.off, tk->tok.len, tk->tok.logprob,
                                 0, vocab, out);
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

void entropy_format(char *buf, size_t len, double lower, double upper, int exact, int utf8)
{
    if (isnan(lower))
        snprintf(buf, len, "?");
    else if (exact || (!isnan(upper) && upper - lower < 0.005))
        snprintf(buf, len, "%.2f bits%s", lower, exact ? " (exact)" : "");
    else if (isnan(upper))
        snprintf(buf, len, "%s %.2f bits (V unknown)", utf8 ? "\xe2\x89\xa5" : ">=", lower);
    else
        snprintf(buf, len, "%.2f%s%.2f bits", lower, utf8 ? "\xe2\x80\x93" : "-", upper);
}
