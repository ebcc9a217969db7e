/* core/calib.c — see calib.h. */
#include "core/calib.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/stat.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the test ---- */

typedef struct { double p; size_t c, order; } cell;

static int by_p(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

double calib_tv(const size_t *c, const double *p, size_t k, double other)
{
    size_t N = 0;
    for (size_t i = 0; i < k; i++)
        N += c[i];
    if (!N)
        return NAN;
    double s = other > 0 ? other : 0;
    for (size_t i = 0; i < k; i++)
        s += fabs((double)c[i] / (double)N - p[i]);
    return s / 2;
}

/* Pools cells[from..n) into one at `from` (with the unseen mass); returns the new count. */
static size_t pool_rest(cell *cl, size_t n, size_t from, double other)
{
    cell rest = { other > 0 ? other : 0, 0, n };
    for (size_t i = from; i < n; i++)
        rest.p += cl[i].p, rest.c += cl[i].c;
    cl[from] = rest;
    return from + 1;
}

double calib_test(const size_t *c, const double *p, size_t k, double other, int *exact,
                  size_t *cells, double *stat)
{
    size_t N = 0;
    for (size_t i = 0; i < k; i++)
        N += c[i];
    cell *cl = xmalloc((k + 1) * sizeof *cl);
    for (size_t i = 0; i < k; i++)
        cl[i] = (cell){ p[i] > 0 ? p[i] : 0, c[i], i };
    if (k > 1)
        qsort(cl, k, sizeof *cl, by_p);
    double pv = NAN, x2 = NAN;
    int ex = 0;
    /* χ²: cells of N·p ≥ 5, the rest pooled */
    size_t keep = 0;
    while (keep < k && (double)N * cl[keep].p >= 5)
        keep++;
    size_t n = pool_rest(cl, k, keep, other);
    if ((double)N * cl[n - 1].p < 5 && n >= 2) {   /* a small pooled cell joins the last */
        cl[n - 2].p += cl[n - 1].p, cl[n - 2].c += cl[n - 1].c;
        n--;
    }
    if (n >= 2 && (double)N * cl[n - 1].p >= 5) {
        x2 = 0;
        for (size_t i = 0; i < n; i++) {
            double e = (double)N * cl[i].p;
            x2 += ((double)cl[i].c - e) * ((double)cl[i].c - e) / e;
        }
        pv = stat_chi2_sf(x2, (int)n - 1);
    } else {
        ex = 1;
        for (size_t i = 0; i < k; i++)   /* back to the sorted shown texts */
            cl[i] = (cell){ p[i] > 0 ? p[i] : 0, c[i], i };
        if (k > 1)
            qsort(cl, k, sizeof *cl, by_p);
        keep = 0;
        while (keep < k && keep < CALIB_EXACT_CELLS && (double)N * cl[keep].p >= 1)
            keep++;
        n = pool_rest(cl, k, keep, other);
        if (cl[n - 1].p <= 0 && cl[n - 1].c == 0)   /* nothing there, nothing seen */
            n--;
        while (n > 2 && stat_multinomial_outcomes(N, n) > STAT_EXACT_MAX) {
            cl[n - 2].p += cl[n - 1].p, cl[n - 2].c += cl[n - 1].c;
            n--;
        }
        if (n <= 1)
            pv = n == 1 && cl[0].c == N ? 1 : 0;
        else {
            double *pp = xmalloc(n * sizeof *pp), tot = 0;
            size_t *cc = xmalloc(n * sizeof *cc);
            for (size_t i = 0; i < n; i++)
                tot += cl[i].p;
            for (size_t i = 0; i < n; i++)
                pp[i] = cl[i].p / tot, cc[i] = cl[i].c;
            pv = stat_multinomial_p(cc, pp, n);
            free(pp);
            free(cc);
        }
    }
    free(cl);
    if (exact)
        *exact = ex;
    if (cells)
        *cells = n;
    if (stat)
        *stat = x2;
    return pv;
}

/* ---- reading a node ---- */

char *calib_settings_key(const tree_node *n)
{
    json_t *r = n ? json_object_get(n->extra, "request") : NULL;
    if (!json_is_object(r))
        return NULL;
    json_t *c = json_copy(r);
    json_object_del(c, "seed");
    json_object_del(c, "choice");
    json_object_del(c, "time");
    char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(c);
    return s;
}

typedef struct {
    const char *text;
    size_t      len;
    double      p;
    size_t      child;       /* sample index */
    int         sampled;     /* the child's own first token */
} entry;

static int by_text(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, m);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    if (x->child != y->child)
        return x->child < y->child ? -1 : 1;
    return y->sampled - x->sampled;
}

static int usable(const tree_node *c)
{
    return c && c->origin == TREE_ORIGIN_MODEL && !(c->flags & TREE_FLAG_INCOMPLETE) &&
           c->ntokens && isfinite(c->tokens[0].tok.logprob);
}

static double lp_prob(double lp)
{
    return isfinite(lp) ? exp(lp) : 0;
}

/* What in the settings explains a flag. */
static void explain(const tree_node *c, char *msg, size_t len)
{
    json_t *r = json_object_get(c->extra, "request");
    double temp = json_number_value(json_object_get(r, "temperature"));
    double top_p = json_number_value(json_object_get(r, "top_p"));
    double min_p = json_number_value(json_object_get(r, "min_p"));
    json_int_t top_k = json_integer_value(json_object_get(r, "top_k"));
    if (json_is_number(json_object_get(r, "temperature")) && fabs(temp - 1) > 1e-9)
        snprintf(msg, len, "sampled at temperature %g", temp);
    else if (json_is_number(json_object_get(r, "top_p")) && top_p < 1)
        snprintf(msg, len, "truncated sampling: top_p %g", top_p);
    else if (top_k > 0)
        snprintf(msg, len, "truncated sampling: top_k %lld", (long long)top_k);
    else if (min_p > 0)
        snprintf(msg, len, "truncated sampling: min_p %g", min_p);
    else if (!json_is_object(r))
        snprintf(msg, len, "settings not recorded: truncated sampling, a temperature, or the server");
    else
        snprintf(msg, len, "the server samples otherwise than it reports");
}

typedef struct { int32_t leader; const char *text; size_t len; double prob; } member;

static int by_member(const void *a, const void *b)
{
    const member *x = a, *y = b;
    if (x->leader != y->leader)
        return x->leader < y->leader ? -1 : 1;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, m);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int by_count(const void *a, const void *b)
{
    const calib_group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->leader < y->leader ? -1 : x->leader > y->leader;
}

static void groups(const tree *t, merge_index *m, const int32_t *ids, size_t n, calib_result *out)
{
    member *mb = xmalloc(n * sizeof *mb);
    for (size_t i = 0; i < n; i++) {
        const tree_node *c = tree_get(t, ids[i]);
        double lp, ppl;
        size_t k = entropy_sequence(c, &lp, &ppl);
        mb[i] = (member){ merge_leader(m, ids[i]), c->text, c->text_len,
                          k == c->ntokens ? exp(lp) : NAN };
    }
    qsort(mb, n, sizeof *mb, by_member);
    calib_group *g = xmalloc(n * sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (!i || mb[i].leader != mb[i - 1].leader)
            g[ng++] = (calib_group){ mb[i].leader, 0, 0, 0 };
        calib_group *cur = &g[ng - 1];
        cur->count++;
        if (i && mb[i].leader == mb[i - 1].leader && !by_member(&mb[i], &mb[i - 1]))
            continue;                            /* the same text again: counted once */
        cur->probability += mb[i].prob;
    }
    for (size_t i = 0; i < ng; i++)
        g[i].share = (double)g[i].count / (double)n;
    qsort(g, ng, sizeof *g, by_count);
    out->ngroups = ng < CALIB_GROUPS ? ng : CALIB_GROUPS;
    out->groups = g;
    free(mb);
}

int calib_node(const tree *t, merge_index *m, int32_t id, calib_result *out)
{
    memset(out, 0, sizeof *out);
    out->node = id;
    out->tv = out->p_value = out->statistic = out->other = NAN;
    const tree_node *nd = tree_get(t, id);
    if (!nd || nd->nchildren < CALIB_MIN_SAMPLES)
        return -1;
    /* the settings classes; the largest one is tested */
    size_t nc = nd->nchildren, usable_n = 0;
    char **key = xcalloc(nc, sizeof *key);
    int *ok = xcalloc(nc, sizeof *ok);
    for (size_t i = 0; i < nc; i++) {
        const tree_node *c = tree_get(t, nd->children[i]);
        if ((ok[i] = usable(c)))
            key[i] = calib_settings_key(c), usable_n++;
    }
    size_t best = nc, best_n = 0;
    for (size_t i = 0; i < nc; i++) {
        if (!ok[i])
            continue;
        size_t same = 0;
        for (size_t j = i; j < nc; j++)
            same += ok[j] && ((!key[i] && !key[j]) || (key[i] && key[j] && !strcmp(key[i], key[j])));
        if (same > best_n)
            best = i, best_n = same;
        if (best_n * 2 >= usable_n)
            break;                               /* a majority: no other class is larger */
    }
    int32_t *ids = xmalloc(nc * sizeof *ids);
    size_t N = 0;
    for (size_t i = 0; best < nc && i < nc; i++)
        if (ok[i] && ((!key[best] && !key[i]) || (key[best] && key[i] && !strcmp(key[best], key[i]))))
            ids[N++] = nd->children[i];
    for (size_t i = 0; i < nc; i++)
        free(key[i]);
    free(key);
    free(ok);
    out->samples = N;
    out->excluded = usable_n - N;
    if (N < CALIB_MIN_SAMPLES) {
        free(ids);
        return -1;
    }
    /* every (text, probability) any child reports for the first position */
    entry *e = NULL;
    size_t ne = 0, cap = 0;
    for (size_t i = 0; i < N; i++) {
        const tree_node *c = tree_get(t, ids[i]);
        const tree_token *tk = &c->tokens[0];
        size_t len;
        const char *s = tree_token_text(c, 0, &len);
        xgrow(&e, &cap, ne + tk->ntop + 1, sizeof *e);
        e[ne++] = (entry){ s, len, lp_prob(tk->tok.logprob), i, 1 };
        for (uint32_t j = 0; j < tk->ntop; j++) {
            double lp = tree_top_logprob(c, 0, j);
            if (isnan(lp))
                continue;
            s = tree_top_text(c, 0, j, &len);
            e[ne++] = (entry){ s, len, lp_prob(lp), i, 0 };
        }
    }
    qsort(e, ne, sizeof *e, by_text);
    size_t *cnt = xmalloc(ne * sizeof *cnt), k = 0;
    double *p = xmalloc(ne * sizeof *p), shown = 0;
    for (size_t i = 0; i < ne;) {
        size_t j = i, reports = 0, seen = 0;
        double sum = 0;
        while (j < ne && e[j].len == e[i].len && !memcmp(e[j].text, e[i].text, e[i].len)) {
            size_t c0 = j;
            double mx = 0;                    /* one child: its most probable copy */
            int sampled = 0;
            for (; j < ne && e[j].child == e[c0].child && e[j].len == e[i].len &&
                   !memcmp(e[j].text, e[i].text, e[i].len); j++) {
                mx = e[j].p > mx ? e[j].p : mx;
                sampled |= e[j].sampled;
            }
            sum += mx;
            reports++;
            seen += (size_t)sampled;
        }
        p[k] = sum / (double)reports;
        cnt[k++] = seen;
        shown += sum / (double)reports;
        i = j;
    }
    if (shown > 1)
        for (size_t i = 0; i < k; i++)
            p[i] /= shown;
    out->shown = k;
    out->other = shown < 1 ? 1 - shown : 0;
    out->tv = calib_tv(cnt, p, k, out->other);
    out->p_value = calib_test(cnt, p, k, out->other, &out->exact, &out->cells, &out->statistic);
    out->flag = out->p_value < CALIB_ALPHA;
    if (out->flag)
        explain(tree_get(t, ids[0]), out->reason, sizeof out->reason);
    if (m)
        groups(t, m, ids, N, out);
    free(cnt);
    free(p);
    free(e);
    free(ids);
    return 0;
}

void calib_result_free(calib_result *r)
{
    free(r->groups);
    r->groups = NULL;
    r->ngroups = 0;
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

void *calib_json(const calib_result *r, int with_groups)
{
    json_t *o = json_object();
    json_object_set_new(o, "node", json_integer(r->node));
    json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
    json_object_set_new(o, "tv", num_or_null(r->tv));
    json_object_set_new(o, "p_value", num_or_null(r->p_value));
    json_object_set_new(o, "flag", json_boolean(r->flag));
    json_object_set_new(o, "test", json_string(r->exact ? "exact" : "chi2"));
    json_object_set_new(o, "cells", json_integer((json_int_t)r->cells));
    json_object_set_new(o, "excluded", json_integer((json_int_t)r->excluded));
    json_object_set_new(o, "other", num_or_null(r->other));
    json_object_set_new(o, "reason", r->flag ? json_string(r->reason) : json_null());
    if (with_groups) {
        json_t *g = json_array();
        for (size_t i = 0; i < r->ngroups; i++)
            json_array_append_new(g, json_pack("{s:i,s:I,s:f,s:o}", "leader", (int)r->groups[i].leader,
                                  "samples", (json_int_t)r->groups[i].count, "share", r->groups[i].share,
                                  "probability", num_or_null(r->groups[i].probability)));
        json_object_set_new(o, "groups", g);
    }
    return o;
}

void calib_format(const calib_result *r, char *line, size_t len)
{
    int n = snprintf(line, len, "%zu samples, TV %.2f, p %.3g (%s)", r->samples, r->tv,
                     r->p_value, r->exact ? "exact" : "chi2");
    if (n >= 0 && (size_t)n < len && r->excluded)
        n += snprintf(line + n, len - (size_t)n, ", %zu with other settings left out", r->excluded);
    if (n >= 0 && (size_t)n < len && r->flag)
        snprintf(line + n, len - (size_t)n, " - FLAGGED: not as reported (%s)", r->reason);
}
