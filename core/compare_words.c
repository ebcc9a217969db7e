/* core/compare_words.c — see compare.h.  The word-level figures of a comparison: distinct-n
 * and the over-represented words and phrases (log-odds ratio with an informative Dirichlet
 * prior, Monroe, Colaresi & Quinn 2008). */
#include "core/compare.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/merge.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- words ---- */

typedef struct {
    size_t off, len;     /* into the normalized copy */
} word;

/* The words of s as every word-level figure cuts them (merge_normalize: one definition of
 * a word for merging, phrase attractors and these figures), normalized into *fold (caller
 * frees both). */
static size_t split_words(const char *s, char **fold, word **out)
{
    buf nb = {0};
    merge_normalize(s, strlen(s), &nb);
    size_t n = 0, cap = 0;
    word *w = NULL;
    for (size_t i = 0; i < nb.len;) {
        size_t j = i;
        while (j < nb.len && nb.data[j] != ' ')
            j++;
        xgrow(&w, &cap, n + 1, sizeof *w);
        w[n++] = (word){ i, j - i };
        i = j + 1;
    }
    *fold = nb.data;
    *out = w;
    return n;
}

/* ---- a set of byte strings (open addressing; keys copied into one arena) ----
 * Keys are numbered in the order they were first added. */

typedef struct {
    uint64_t *hash;      /* 0 = empty slot */
    size_t   *slot_key;  /* slot → key number */
    size_t   *off, *len; /* key number → bytes in keys */
    size_t    cap, n, cap_keys;
    buf       keys;
} strset;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = hash_fnv1a(p, n);
    return h ? h : 1;
}

static void strset_resize(strset *s, size_t cap)
{
    uint64_t *oh = s->hash;
    size_t *ok = s->slot_key, ocap = s->cap;
    s->hash = xcalloc(cap, sizeof *s->hash);
    s->slot_key = xmalloc(cap * sizeof *s->slot_key);
    s->cap = cap;
    for (size_t i = 0; i < ocap; i++) {
        if (!oh[i])
            continue;
        size_t j = oh[i] & (cap - 1);
        while (s->hash[j])
            j = (j + 1) & (cap - 1);
        s->hash[j] = oh[i];
        s->slot_key[j] = ok[i];
    }
    free(oh);
    free(ok);
}

/* Adds the key if new; returns its number.  *isnew (if not NULL) says whether it was. */
static size_t strset_add(strset *s, const char *p, size_t n, int *isnew)
{
    if ((s->n + 1) * 2 > s->cap)
        strset_resize(s, s->cap ? s->cap * 2 : 64);
    uint64_t h = hash_bytes(p, n);
    size_t j = h & (s->cap - 1);
    for (; s->hash[j]; j = (j + 1) & (s->cap - 1)) {
        size_t k = s->slot_key[j];
        if (s->hash[j] == h && s->len[k] == n && !memcmp(s->keys.data + s->off[k], p, n)) {
            if (isnew)
                *isnew = 0;
            return k;
        }
    }
    if (s->n + 1 > s->cap_keys) {
        s->cap_keys = s->cap_keys ? s->cap_keys * 2 : 64;
        s->off = xrealloc(s->off, s->cap_keys * sizeof *s->off);
        s->len = xrealloc(s->len, s->cap_keys * sizeof *s->len);
    }
    s->hash[j] = h;
    s->slot_key[j] = s->n;
    s->off[s->n] = s->keys.len;
    s->len[s->n] = n;
    buf_add(&s->keys, p, n);
    if (isnew)
        *isnew = 1;
    return s->n++;
}

static void strset_free(strset *s)
{
    free(s->hash);
    free(s->slot_key);
    free(s->off);
    free(s->len);
    buf_free(&s->keys);
}

/* Calls fn for every word n-gram of the texts (words joined by one space; n-grams do not
 * cross texts). */
static void each_ngram(const char *const *texts, size_t ntexts, int n,
                       void (*fn)(void *ud, const char *key, size_t len), void *ud)
{
    buf key = {0};
    for (size_t t = 0; n > 0 && t < ntexts; t++) {
        char *fold;
        word *w;
        size_t nw = split_words(texts[t] ? texts[t] : "", &fold, &w);
        for (size_t i = 0; i + (size_t)n <= nw; i++) {
            buf_clear(&key);
            for (int k = 0; k < n; k++) {
                if (k)
                    buf_addc(&key, ' ');   /* words never hold a space */
                buf_add(&key, fold + w[i + k].off, w[i + k].len);
            }
            fn(ud, key.data, key.len);
        }
        free(fold);
        free(w);
    }
    buf_free(&key);
}

/* ---- distinct-n ---- */

typedef struct {
    strset set;
    size_t total;
} distinct_acc;

static void distinct_add(void *ud, const char *key, size_t len)
{
    distinct_acc *d = ud;
    strset_add(&d->set, key, len, NULL);
    d->total++;
}

double compare_distinct_n(const char *const *texts, size_t ntexts, int n,
                          size_t *distinct, size_t *total)
{
    distinct_acc acc = { {0}, 0 };
    each_ngram(texts, ntexts, n, distinct_add, &acc);
    size_t d = acc.set.n, tot = acc.total;
    strset_free(&acc.set);
    if (distinct)
        *distinct = d;
    if (total)
        *total = tot;
    return tot ? (double)d / (double)tot : 0;
}

typedef struct {
    strset  set;
    size_t *keys;
    size_t  n, cap;
} keys_acc;

static void keys_add(void *ud, const char *key, size_t len)
{
    keys_acc *k = ud;
    xgrow(&k->keys, &k->cap, k->n + 1, sizeof *k->keys);
    k->keys[k->n++] = strset_add(&k->set, key, len, NULL);
}

size_t compare_ngram_keys(const char *const *texts, size_t ntexts, int n, size_t **keys,
                          size_t **off)
{
    keys_acc acc = { {0}, NULL, 0, 0 };
    size_t *o = xmalloc((ntexts + 1) * sizeof *o);
    for (size_t i = 0; i < ntexts; i++) {
        o[i] = acc.n;
        each_ngram(&texts[i], 1, n, keys_add, &acc);
    }
    o[ntexts] = acc.n;
    size_t d = acc.set.n;
    strset_free(&acc.set);
    *keys = acc.keys;
    *off = o;
    return d;
}

/* ---- over-represented words and phrases ---- */

double compare_logodds_z(double y, double n, double y_other, double n_other, double alpha_w,
                         double alpha0, double *delta)
{
    double d = log((y + alpha_w) / (n + alpha0 - y - alpha_w)) -
               log((y_other + alpha_w) / (n_other + alpha0 - y_other - alpha_w));
    double var = 1.0 / (y + alpha_w) + 1.0 / (y_other + alpha_w);
    if (delta)
        *delta = d;
    return d / sqrt(var);
}

typedef struct {
    strset  set;
    size_t *count[2];       /* key number → occurrences on side A, B */
    size_t  cap;
    size_t  total[2];
    int     side;
} term_acc;

static void term_add(void *ud, const char *key, size_t len)
{
    term_acc *a = ud;
    int isnew;
    size_t k = strset_add(&a->set, key, len, &isnew);
    if (isnew && k + 1 > a->cap) {
        size_t old = a->cap;
        a->cap = a->cap ? a->cap * 2 : 256;
        for (int s = 0; s < 2; s++) {
            a->count[s] = xrealloc(a->count[s], a->cap * sizeof *a->count[s]);
            memset(a->count[s] + old, 0, (a->cap - old) * sizeof *a->count[s]);
        }
    }
    a->count[a->side][k]++;
    a->total[a->side]++;
}

static int term_order(const void *x, const void *y)
{
    const compare_term *a = x, *b = y;
    if (a->z != b->z)
        return a->z > b->z ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->text, b->text);
}

void compare_overrepresented(const char *const *texts[2], const size_t ntexts[2], size_t max,
                             double zmin, compare_term *out[2], size_t nout[2])
{
    compare_term *cand[2] = { NULL, NULL };
    size_t ncand[2] = { 0, 0 }, cap[2] = { 0, 0 };
    for (int n = 1; n <= COMPARE_TERM_WORDS; n++) {
        term_acc acc;
        memset(&acc, 0, sizeof acc);
        for (acc.side = 0; acc.side < 2; acc.side++)
            each_ngram(texts[acc.side], ntexts[acc.side], n, term_add, &acc);
        double pooled = (double)(acc.total[0] + acc.total[1]);
        double alpha0 = pooled;          /* the prior weighs as much as both sides together */
        for (size_t k = 0; k < acc.set.n; k++) {
            double y0 = (double)acc.count[0][k], y1 = (double)acc.count[1][k];
            double alpha_w = alpha0 * (y0 + y1) / pooled;
            double delta, z = compare_logodds_z(y0, (double)acc.total[0], y1, (double)acc.total[1],
                                                alpha_w, alpha0, &delta);
            int s = z > 0 ? 0 : 1;       /* the other side's z is -z */
            if (!isfinite(z) || fabs(z) <= zmin)   /* not finite: the only n-gram of both sides */
                continue;
            xgrow(&cand[s], &cap[s], ncand[s] + 1, sizeof *cand[s]);
            cand[s][ncand[s]++] = (compare_term){
                xstrndup(acc.set.keys.data + acc.set.off[k], acc.set.len[k]), n, fabs(z),
                s ? -delta : delta, acc.count[s][k], acc.count[!s][k] };
        }
        strset_free(&acc.set);
        free(acc.count[0]);
        free(acc.count[1]);
    }
    for (int s = 0; s < 2; s++) {
        if (ncand[s] > 1)
            qsort(cand[s], ncand[s], sizeof *cand[s], term_order);
        size_t keep = ncand[s] < max ? ncand[s] : max;
        for (size_t i = keep; i < ncand[s]; i++)
            free(cand[s][i].text);
        nout[s] = keep;
        out[s] = cand[s];
        if (!keep) {
            free(cand[s]);
            out[s] = NULL;
        }
    }
}

void compare_terms_free(compare_term *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].text);
    free(t);
}
