/* core/compare_ci.c — bootstrap intervals of a comparison's figures (see compare.h).  The
 * resampling is core/stat's; here only what one sample contributes to each figure. */
#include "core/compare.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/stat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t  n;
    double *ent_sum;       /* Σ token entropy over the sample's tokens with logprobs */
    size_t *ent_n;         /* those tokens */
    size_t *group;         /* the sample's group index */
    size_t  ngroups;
    size_t *keys[3], *off[3], nkeys[3];
    size_t *stamp, cap_stamp, *count;
    size_t  gen;
    int     k;             /* the distinct-n of the current statistic, 0-based */
} side_data;

static double f_token_entropy(const size_t *idx, size_t n, void *ud)
{
    side_data *d = ud;
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        s += d->ent_sum[idx[i]], c += d->ent_n[idx[i]];
    return c ? s / (double)c : NAN;
}

/* group counts of a resample into d->count (the groups drawn at least once first) */
static size_t resample_counts(side_data *d, const size_t *idx, size_t n)
{
    memset(d->count, 0, d->ngroups * sizeof *d->count);
    for (size_t i = 0; i < n; i++)
        d->count[d->group[idx[i]]]++;
    size_t m = 0;
    for (size_t g = 0; g < d->ngroups; g++)
        if (d->count[g])
            d->count[m++] = d->count[g];
    return m;
}

static double f_entropy(const size_t *idx, size_t n, void *ud)
{
    side_data *d = ud;
    size_t m = resample_counts(d, idx, n);
    return entropy_counts(d->count, m, NULL);
}

static double f_groups(const size_t *idx, size_t n, void *ud)
{
    return (double)resample_counts(ud, idx, n);
}

static double f_distinct(const size_t *idx, size_t n, void *ud)
{
    side_data *d = ud;
    int k = d->k;
    size_t tot = 0, dist = 0;
    d->gen++;
    for (size_t i = 0; i < n; i++)
        for (size_t j = d->off[k][idx[i]]; j < d->off[k][idx[i] + 1]; j++) {
            size_t key = d->keys[k][j];
            tot++;
            if (d->stamp[key] != d->gen)
                d->stamp[key] = d->gen, dist++;
        }
    return tot ? (double)dist / (double)tot : 0;
}

static void side_init(side_data *d, const compare_result *r, const tree *t, int s)
{
    const compare_stats *st = &r->side[s];
    memset(d, 0, sizeof *d);
    d->n = st->n;
    size_t n1 = st->n ? st->n : 1;
    d->ent_sum = xcalloc(n1, sizeof *d->ent_sum);
    d->ent_n = xcalloc(n1, sizeof *d->ent_n);
    d->group = xcalloc(n1, sizeof *d->group);
    d->ngroups = st->ngroups;
    d->count = xcalloc(st->ngroups ? st->ngroups : 1, sizeof *d->count);
    const char **texts = xmalloc(n1 * sizeof *texts);
    for (size_t i = 0; i < st->n; i++) {
        const tree_node *nd = tree_get(t, r->ids[s][i]);
        texts[i] = nd ? nd->text : "";
        entropy_node_t e;
        if (nd) {
            entropy_node(nd, &e);
            if (e.ntokens)
                d->ent_sum[i] = e.mean * e.ntokens, d->ent_n[i] = e.ntokens;
        }
    }
    for (size_t g = 0; g < st->ngroups; g++)
        for (size_t j = 0; j < st->groups[g].count; j++)
            d->group[st->groups[g].members[j]] = g;
    size_t most = 1;
    for (int k = 0; k < 3; k++) {
        d->nkeys[k] = compare_ngram_keys(texts, st->n, k + 1, &d->keys[k], &d->off[k]);
        most = d->nkeys[k] > most ? d->nkeys[k] : most;
    }
    d->stamp = xcalloc(most, sizeof *d->stamp);
    free(texts);
}

static void side_free(side_data *d)
{
    free(d->ent_sum);
    free(d->ent_n);
    free(d->group);
    free(d->count);
    free(d->stamp);
    for (int k = 0; k < 3; k++)
        free(d->keys[k]), free(d->off[k]);
}

/* The percentile interval moved by the resamples' bias (value − their mean), clipped to
 * [lo, hi]: resampling with replacement repeats samples, and a repeat is never a new group
 * or a new n-gram, so groups, branch entropy and distinct-n of resamples sit below the
 * figure (32 groups of 32 samples resample to about 20). */
static void centred(compare_ci *c, double value, double mean, double lo, double hi)
{
    c->value = value;
    if (isnan(c->low) || isnan(mean) || isnan(value))
        return;
    double shift = value - mean;
    c->low = fmax(lo, fmin(hi, c->low + shift));
    c->high = fmax(lo, fmin(hi, c->high + shift));
}

/* range: the figure's largest value; NaN: the samples; < 0: log2 of the samples. */
static void one(compare_ci *ci, compare_ci *diff, side_data d[2], stat_fn fn, double va, double vb,
                double range)
{
    double m;
    for (int s = 0; s < 2; s++) {
        stat_bootstrap_diff(d[s].n, fn, &d[s], 0, NULL, NULL, &ci[s].low, &ci[s].high, &m);
        centred(&ci[s], s ? vb : va, m, 0, isnan(range) ? (double)d[s].n : range < 0 ? log2((double)(d[s].n ? d[s].n : 1)) : range);
    }
    stat_bootstrap_diff(d[0].n, fn, &d[0], d[1].n, fn, &d[1], &diff->low, &diff->high, &m);
    size_t most = d[0].n > d[1].n ? d[0].n : d[1].n;
    double span = isnan(range) ? (double)most : range < 0 ? log2((double)(most ? most : 1)) : range;
    centred(diff, va - vb, m, -span, span);
    diff->outside = !isnan(diff->low) && (diff->low > 0 || diff->high < 0);
}

void compare_result_intervals(compare_result *r, const tree *t)
{
    side_data d[2];
    side_init(&d[0], r, t, 0);
    side_init(&d[1], r, t, 1);
    const compare_stats *A = &r->side[0], *B = &r->side[1];
    compare_ci ci[2], diff;
    memset(ci, 0, sizeof ci);
#define FIGURE(field, fn, va, vb, range) do { \
        memset(&diff, 0, sizeof diff); \
        one(ci, &diff, d, fn, va, vb, range); \
        r->ci[0].field = ci[0]; r->ci[1].field = ci[1]; r->diff.field = diff; \
    } while (0)
    FIGURE(token_entropy, f_token_entropy, A->token_entropy, B->token_entropy, INFINITY);
    FIGURE(entropy, f_entropy, A->entropy, B->entropy, -1);
    FIGURE(groups, f_groups, (double)A->ngroups, (double)B->ngroups, NAN);
    for (int k = 0; k < 3; k++) {
        d[0].k = d[1].k = k;
        FIGURE(distinct[k], f_distinct, A->distinct[k], B->distinct[k], 1);
    }
#undef FIGURE
    r->ci[0].known = r->ci[1].known = r->diff.known = 1;
    side_free(&d[0]);
    side_free(&d[1]);
}
