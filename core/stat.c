/* core/stat.c — see stat.h. */
#include "core/stat.h"
#include "core/backend.h"
#include "core/mem.h"
#include <math.h>
#include <stdlib.h>

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void draw(backend_rng *rng, size_t n, size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(backend_rng_unit(rng) * (double)n);
        idx[i] = j < n ? j : n - 1;
    }
}

/* The percentiles of the finite figures m[0..STAT_BOOTSTRAP). */
static void percentiles(double *m, double *lo, double *hi, double *mean)
{
    size_t k = 0;
    double s = 0;
    for (size_t b = 0; b < STAT_BOOTSTRAP; b++)
        if (!isnan(m[b]))
            s += m[b], m[k++] = m[b];
    if (mean)
        *mean = k ? s / (double)k : NAN;
    if (k < STAT_BOOTSTRAP / 2) {
        *lo = *hi = NAN;
        return;
    }
    qsort(m, k, sizeof *m, by_double);
    *lo = m[(size_t)(0.025 * (double)k)];
    *hi = m[(size_t)(0.975 * (double)k) - 1];
}

void stat_bootstrap_diff(size_t na, stat_fn fa, void *ua, size_t nb, stat_fn fb, void *ub,
                         double *lo, double *hi, double *mean)
{
    *lo = *hi = NAN;
    if (mean)
        *mean = NAN;
    if (!na || (fb && !nb))
        return;
    double *m = xmalloc(STAT_BOOTSTRAP * sizeof *m);
    size_t *ia = xmalloc(na * sizeof *ia), *ib = xmalloc((nb ? nb : 1) * sizeof *ib);
    backend_rng rng;
    backend_rng_seed(&rng, STAT_SEED, 0);
    for (int b = 0; b < STAT_BOOTSTRAP; b++) {
        draw(&rng, na, ia);
        m[b] = fa(ia, na, ua);
        if (fb) {
            draw(&rng, nb, ib);
            m[b] -= fb(ib, nb, ub);
        }
    }
    percentiles(m, lo, hi, mean);
    free(ia);
    free(ib);
    free(m);
}

void stat_bootstrap(size_t n, stat_fn fn, void *ud, double *lo, double *hi)
{
    stat_bootstrap_diff(n, fn, ud, 0, NULL, NULL, lo, hi, NULL);
}

double stat_mean_fn(const size_t *idx, size_t n, void *ud)
{
    const double *v = ud;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[idx[i]];
    return s / (double)n;
}

/* ---- χ² ---- */

/* Regularized lower incomplete gamma P(a, x) by its series (x < a + 1). */
static double gamma_p_series(double a, double x)
{
    double sum = 1.0 / a, term = sum;
    for (int n = 1; n < 10000; n++) {
        term *= x / (a + n);
        sum += term;
        if (fabs(term) < fabs(sum) * 1e-15)
            break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Regularized upper incomplete gamma Q(a, x) by its continued fraction (x ≥ a + 1; Lentz). */
static double gamma_q_cf(double a, double x)
{
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny)
            d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double stat_chi2_sf(double x, int df)
{
    if (df < 1)
        return NAN;
    if (!(x > 0))
        return 1;
    double a = df / 2.0, h = x / 2.0;
    return h < a + 1 ? 1 - gamma_p_series(a, h) : gamma_q_cf(a, h);
}

/* ---- exact multinomial ---- */

double stat_multinomial_outcomes(size_t N, size_t k)
{
    if (!k)
        return 0;
    /* C(N + k - 1, k - 1) */
    return exp(lgamma((double)(N + k)) - lgamma((double)k) - lgamma((double)N + 1));
}

typedef struct {
    const double *lp;     /* log p_i (−inf for 0) */
    const double *lf;     /* log i! */
    size_t k;
    double lobs, sum;
} multi;

/* Every way of putting `left` samples into cells i..k−1 (depth ≤ k, small). */
static void multi_walk(multi *m, size_t i, size_t left, double acc)
{
    if (i == m->k - 1) {
        double l = acc - m->lf[left] + (left ? (double)left * m->lp[i] : 0);
        if (l <= m->lobs + 1e-9 * fabs(m->lobs) + 1e-12)
            m->sum += exp(l);
        return;
    }
    for (size_t c = 0; c <= left; c++) {
        double a = acc - m->lf[c] + (c ? (double)c * m->lp[i] : 0);
        if (isinf(a) && a < 0)      /* this cell cannot hold c: no more can it hold more */
            break;
        multi_walk(m, i + 1, left - c, a);
    }
}

double stat_multinomial_p(const size_t *counts, const double *p, size_t k)
{
    size_t N = 0;
    for (size_t i = 0; i < k; i++)
        N += counts[i];
    if (!k || stat_multinomial_outcomes(N, k) > STAT_EXACT_MAX)
        return NAN;
    double *lp = xmalloc(k * sizeof *lp), *lf = xmalloc((N + 1) * sizeof *lf);
    lf[0] = 0;
    for (size_t i = 1; i <= N; i++)
        lf[i] = lf[i - 1] + log((double)i);
    double lobs = lf[N];
    for (size_t i = 0; i < k; i++) {
        lp[i] = p[i] > 0 ? log(p[i]) : -INFINITY;
        lobs += -lf[counts[i]] + (counts[i] ? (double)counts[i] * lp[i] : 0);
    }
    double r;
    if (isinf(lobs))
        r = 0;                                   /* an impossible outcome was observed */
    else {
        multi m = { lp, lf, k, lobs, 0 };
        multi_walk(&m, 0, N, lf[N]);
        r = m.sum > 1 ? 1 : m.sum;
    }
    free(lp);
    free(lf);
    return r;
}
