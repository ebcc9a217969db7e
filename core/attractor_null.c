/* core/attractor_null.c — the chance null of phrase attractors (see attractor.h
 * "Chance"): the counts of words, word pairs and triples it is fitted to, kept as texts
 * enter and leave the index, and the test of one phrase against it. */
#include "core/attractor_impl.h"
#include <math.h>

/* Keys of the null's counts: gram_hash of 1..3 words; the end of a text apart. */
#define NGC_END 0x6a09e667f3bcc909ull
static inline uint64_t ngc_key(const uint64_t *w, size_t n, int end)
{
    uint64_t h = gram_hash(w, n);
    return end ? hash_fmix64(h ^ NGC_END) : h;
}

static inline uint32_t ngc_get(const attractor_index *a, uint64_t key)
{
    const uint32_t *v = hash_map_get(&a->ngc, key);
    return v ? *v : 0;
}

/* ---- the counts ----
 * Every position of an indexed text adds its word, the bigram and the trigram ending there;
 * the text's last word and last bigram are counted apart (what follows a word or a bigram
 * is its count less its ends).  d: +1 when the text is indexed, -1 when it leaves. */
static void ngc_add(attractor_index *a, uint64_t key, int d)
{
    if (d > 0) {
        int isnew;
        uint32_t *v = hash_map_put(&a->ngc, key, &isnew);
        (*v)++;
        return;
    }
    uint32_t *v = hash_map_get(&a->ngc, key);
    if (v && --*v == 0)
        hash_map_del(&a->ngc, key);
}

void attractor_null_count(attractor_index *a, const uint64_t *w, size_t nw, int d)
{
    size_t nk = 3 * nw + 2, k = 0;
    xgrow(&a->gscratch, &a->gscratchcap, nk, sizeof *a->gscratch);
    uint64_t *key = a->gscratch;
    for (size_t i = 0; i < nw; i++)
        for (size_t n = 1; n <= 3 && n <= i + 1; n++)
            key[k++] = ngc_key(w + i + 1 - n, n, 0);
    key[k++] = ngc_key(w + nw - 1, 1, 1);
    if (nw >= 2)
        key[k++] = ngc_key(w + nw - 2, 2, 1);
    for (size_t i = 0; i < k; i++)
        hash_map_prefetch(&a->ngc, key[i]);
    for (size_t i = 0; i < k; i++)
        ngc_add(a, key[i], d);
    a->nwords = d > 0 ? a->nwords + nw : a->nwords - nw;
    a->ntexts = d > 0 ? a->ntexts + 1 : a->ntexts - 1;
    for (size_t n = ATTRACTOR_MIN_PHRASE; n <= ATTRACTOR_MAX_PHRASE && n <= nw; n++)
        a->nwin[n - ATTRACTOR_MIN_PHRASE] = d > 0 ? a->nwin[n - ATTRACTOR_MIN_PHRASE] + (nw - n + 1)
                                                  : a->nwin[n - ATTRACTOR_MIN_PHRASE] - (nw - n + 1);
}

/* ---- the test ---- */

/* ln P(X >= s) for X ~ Poisson(exp(lnlam)), s >= 1, without underflow. */
static double ln_poisson_tail(double lnlam, double s)
{
    double lam = exp(lnlam);
    if (lam < s) {      /* the series of the lower incomplete gamma: terms fall by lam/(s+k) */
        double sum = 1, t = 1;
        for (double k = 1; k < 1e7; k++) {
            t *= lam / (s + k);
            sum += t;
            if (t < sum * 1e-17)
                break;
        }
        return s * lnlam - lam - lgamma(s + 1) + log(sum);
    }
    /* lam >= s: 1 - P(X <= s-1), its terms falling from j = s-1 down by j/lam */
    double lt = (s - 1) * lnlam - lam - lgamma(s), sum = 1, t = 1;
    for (double j = s - 1; j > 0; j--) {
        t *= j / lam;
        sum += t;
        if (t < sum * 1e-17)
            break;
    }
    double cdf = exp(lt + log(sum));
    return cdf < 1 ? log1p(-cdf) : -INFINITY;
}

/* ln of the phrase's probability at one window under the null; w: its n words. */
static double ln_null_prob(const attractor_index *a, const uint64_t *w, uint32_t n)
{
    const double K = ATTRACTOR_NULL_K, N = (double)a->nwords;
    double lp = 0, p2 = 0;
    for (uint32_t i = 0; i < n; i++) {
        double p1 = ngc_get(a, ngc_key(w + i, 1, 0)) / N;
        if (i == 0) {
            lp = log(p1);
            continue;
        }
        double follow1 = (double)ngc_get(a, ngc_key(w + i - 1, 1, 0)) - ngc_get(a, ngc_key(w + i - 1, 1, 1));
        p2 = (ngc_get(a, ngc_key(w + i - 1, 2, 0)) + K * p1) / (follow1 + K);
        if (i == 1) {
            lp += log(p2);
            continue;
        }
        double follow2 = (double)ngc_get(a, ngc_key(w + i - 2, 2, 0)) - ngc_get(a, ngc_key(w + i - 2, 2, 1));
        lp += log((ngc_get(a, ngc_key(w + i - 2, 3, 0)) + K * p2) / (follow2 + K));
    }
    return lp;
}

int attractor_null_test(attractor_index *a, size_t ncand, attractor *at, int32_t id, uint32_t pos, uint32_t n)
{
    const uint64_t *w = a->ns[id].w + pos;
    double lnE = ln_null_prob(a, w, n) + log((double)a->nwin[n - ATTRACTOR_MIN_PHRASE]);
    double cap = log(ATTRACTOR_NULL_SHARE * (double)a->ntexts);   /* see attractor.h */
    if (lnE > cap)
        lnE = cap;
    double lnp = ln_poisson_tail(lnE, (double)at->support) + log((double)(ncand ? ncand : 1));
    if (lnp > 0)
        lnp = 0;
    at->expected = exp(lnE);
    at->log10_p = lnp / log(10.0);
    return a->alpha >= 1 || lnp <= log(a->alpha);
}
