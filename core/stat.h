/* core/stat.h — statistical primitives shared by the analyses: the percentile bootstrap
 * (one home: score's KL interval, compare's and stats' intervals use it), the χ² upper tail
 * and an exact multinomial test (core/calib).  Pure functions; deterministic.
 *
 * Bootstrap: STAT_BOOTSTRAP (1000) resamples of n items drawn with replacement by a
 * backend_rng seeded with STAT_SEED; item j = floor(u · n) for u uniform in [0, 1).  The
 * statistic of each resample is fn(idx, n, ud), idx the n drawn item indices; the interval is
 * the 2.5th and 97.5th percentiles of the sorted resample figures (entries 25 and 974).
 * Resamples whose figure is NaN (e.g. no token with logprobs drawn) are dropped; with fewer
 * than half left the interval is NaN.  The same items give the same interval, run after run. */
#ifndef CORE_STAT_H
#define CORE_STAT_H
#include <stddef.h>
#include <stdint.h>

#define STAT_BOOTSTRAP 1000
#define STAT_SEED      1

typedef double (*stat_fn)(const size_t *idx, size_t n, void *ud);

/* 95% percentile interval of fn over resamples of n items; lo/hi NaN when n = 0. */
void stat_bootstrap(size_t n, stat_fn fn, void *ud, double *lo, double *hi);
/* 95% interval of fa(resample of A) − fb(resample of B), A and B resampled independently
 * (the second stream follows the first: one seed); fb NULL: of fa alone.  *mean (may be
 * NULL) gets the mean of the resample figures, for a bias correction. */
void stat_bootstrap_diff(size_t na, stat_fn fa, void *ua, size_t nb, stat_fn fb, void *ub,
                         double *lo, double *hi, double *mean);
/* The statistic for the mean of v[0..n) (ud = v). */
double stat_mean_fn(const size_t *idx, size_t n, void *ud);

/* P(X ≥ x) for X ~ χ² with df degrees of freedom (regularized upper incomplete gamma
 * Q(df/2, x/2)); 1 for x ≤ 0. */
double stat_chi2_sf(double x, int df);

/* Exact multinomial test of counts[0..k) (total N) against probabilities p[0..k) (summing
 * to 1): the probability, under p, of every outcome no more probable than the observed one
 * (a 1e-9 relative tolerance counts ties in).  Enumerates all C(N+k−1, k−1) outcomes:
 * returns NaN when there are more than STAT_EXACT_MAX. */
#define STAT_EXACT_MAX 2000000.0
double stat_multinomial_p(const size_t *counts, const double *p, size_t k);
/* The number of outcomes stat_multinomial_p would enumerate. */
double stat_multinomial_outcomes(size_t N, size_t k);
#endif
