/* core/entropy.c — see entropy.h. */
#include "core/entropy.h"
#include <math.h>
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
        if (r >= ENTROPY_EXACT_EPS)
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
