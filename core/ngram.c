/* core/ngram.c — the n-gram model: tokenizer, training, exact distributions.
 * The backend that samples from it is in core/ngram_backend.c.  See ngram.h.
 *
 * Storage: the k-grams of each order live in a dense array with an open-addressing index.
 * A k-gram (k >= 2) is keyed by (index of its (k-1)-token prefix in the order k-1 table,
 * last token), so every key is one 64-bit integer and training never compares strings.
 * Order 1 entries are the vocabulary itself (entry index == token id).  For order k, the
 * contexts are the entries of order k-1 (one empty context for order 1); the successors
 * of each context are stored contiguously with their discounted share (c - D(c)) / total,
 * so a distribution is a handful of sparse additions over one precomputed unigram vector. */
#include "core/ngram.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/text.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char ngram_corpus_data[];
extern const size_t ngram_corpus_size;

typedef struct {
    uint64_t key;     /* (prefix entry << 32) | last token; order 1: the token */
    uint32_t count;   /* raw occurrences */
    uint32_t cont;    /* distinct tokens seen before it (continuation count) */
} gram;

typedef struct {
    gram     *e;
    size_t    n, cap;
    hash_map  map;    /* table_key(key) → entry index */
} gram_table;

typedef struct {
    size_t    nctx;
    double   *gamma;   /* per context: mass passed to the lower order (1 when unseen) */
    uint32_t *start;   /* nctx + 1 offsets into succ_w / succ_a */
    uint32_t *succ_w;
    double   *succ_a;  /* max(c - D(c), 0) / total of the context */
    double    d[3];
} order_stats;

struct ngram_model {
    int         order;
    char       *pool;          /* token texts */
    size_t      pool_len, pool_cap;
    uint32_t   *voff, *vlen;
    size_t      nvocab, vcap;
    uint32_t   *vslot;         /* vocabulary hash index: id + 1 */
    size_t      vmask;
    gram_table  tab[NGRAM_MAX_ORDER];
    order_stats st[NGRAM_MAX_ORDER];
    double     *p1;            /* the full order-1 distribution, uniform base included */
    size_t      ntokens;
};

/* ---- tokenizer ---- */

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

size_t ngram_next_token(const char *s, size_t len, size_t pos)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = pos;
    /* Newlines are leading white space like any other: "\n\nThe" is one token, so a word
     * never appears without its white space just because it began a line (the model would
     * otherwise learn "the" and glue it to any word: "eatthe"). */
    while (i < len && (is_blank(u[i]) || u[i] == '\n'))
        i++;
    if (i == len)
        return i;
    if (!is_word_byte(u[i]))
        return i + 1;   /* one punctuation character */
    i++;
    while (i < len) {
        if (is_word_byte(u[i]))
            i++;
        else if (u[i] == '\'' && i + 1 < len && is_word_byte(u[i + 1]))
            i += 2;
        else
            break;
    }
    return i;
}

/* ---- hashing ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    return hash_mix13(hash_fnv1a(s, n));
}

/* A gram key (a lower gram's entry << 32 | a token id) as a hash_map key: mix13 is a
 * bijection, so distinct keys stay distinct, and key + 1 is never 0 (the empty slot). */
static uint64_t table_key(uint64_t key)
{
    return hash_mix13(key + 1);
}

/* Index of key's entry, adding it (zero counts) when absent; *added tells which. */
static uint32_t table_put(gram_table *t, uint64_t key, int *added)
{
    uint32_t *v = hash_map_put(&t->map, table_key(key), added);
    if (*added) {
        xgrow(&t->e, &t->cap, t->n + 1, sizeof *t->e);
        t->e[t->n] = (gram){ key, 0, 0 };
        *v = (uint32_t)t->n++;
    }
    return *v;
}

static int64_t table_find(const gram_table *t, uint64_t key)
{
    const uint32_t *v = hash_map_get(&t->map, table_key(key));
    return v ? (int64_t)*v : -1;
}

static void table_free(gram_table *t)
{
    free(t->e);
    hash_map_free(&t->map);
}

/* ---- vocabulary ---- */

static void vocab_rehash(ngram_model *m, size_t nslots)
{
    free(m->vslot);
    m->vslot = xcalloc(nslots, sizeof *m->vslot);
    m->vmask = nslots - 1;
    for (size_t id = 1; id < m->nvocab; id++) {
        size_t h = (size_t)hash_bytes(m->pool + m->voff[id], m->vlen[id]) & m->vmask;
        while (m->vslot[h])
            h = (h + 1) & m->vmask;
        m->vslot[h] = (uint32_t)id + 1;
    }
}

static uint32_t vocab_lookup(const ngram_model *m, const char *s, size_t n, size_t *slot)
{
    size_t h = (size_t)hash_bytes(s, n) & m->vmask;
    for (uint32_t v; (v = m->vslot[h]); h = (h + 1) & m->vmask)
        if (m->vlen[v - 1] == n && !memcmp(m->pool + m->voff[v - 1], s, n))
            return v - 1;
    if (slot)
        *slot = h;
    return 0;
}

static uint32_t vocab_intern(ngram_model *m, const char *s, size_t n)
{
    if (2 * (m->nvocab + 1) > m->vmask + 1)
        vocab_rehash(m, 2 * (m->vmask + 1));
    size_t slot;
    uint32_t id = vocab_lookup(m, s, n, &slot);
    if (id)
        return id;
    xgrow(&m->pool, &m->pool_cap, m->pool_len + n + 1, 1);
    memcpy(m->pool + m->pool_len, s, n);
    m->pool[m->pool_len + n] = 0;
    xgrow(&m->voff, &m->vcap, m->nvocab + 1, sizeof *m->voff);
    m->vlen = xrealloc(m->vlen, m->vcap * sizeof *m->vlen);
    m->voff[m->nvocab] = (uint32_t)m->pool_len;
    m->vlen[m->nvocab] = (uint32_t)n;
    m->pool_len += n + 1;
    id = (uint32_t)m->nvocab++;
    m->vslot[slot] = id + 1;
    return id;
}

/* ---- corpus checks ---- */

/* Checks the corpus and returns a copy with invalid UTF-8 replaced by U+FFFD. */
static char *corpus_clean(const char *text, size_t len, const char *name, size_t *out_len,
                          char *err, size_t errlen)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t bad = 0, words = 0;
    if (len == 0) {
        snprintf(err, errlen, "%s: the corpus is empty", name);
        return NULL;
    }
    if (memchr(text, 0, len)) {
        snprintf(err, errlen, "%s: not a text file (it holds NUL bytes)", name);
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) {   /* the common case, byte by byte without a call */
            words += !is_blank(u[i]) && u[i] != '\n';
            i++;
            continue;
        }
        size_t n = text_utf8_seq(text + i, len - i);
        bad += !n;
        words++;
        i += n ? n : 1;
    }
    if (2 * bad > len) {
        snprintf(err, errlen, "%s: not a text file (mostly invalid UTF-8)", name);
        return NULL;
    }
    if (!words) {
        snprintf(err, errlen, "%s: the corpus is empty (only white space)", name);
        return NULL;
    }
    char *out = xmalloc(len + 2 * bad + 1), *o = out;
    if (!bad)
        memcpy(out, text, len), o += len;
    else
        for (size_t i = 0; i < len;) {
            size_t n = u[i] < 0x80 ? 1 : text_utf8_seq(text + i, len - i);
            if (n) {
                memcpy(o, text + i, n);
                o += n;
                i += n;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
            }
        }
    *o = 0;
    *out_len = (size_t)(o - out);
    return out;
}

/* ---- training ---- */

static void compute_discounts(const uint64_t n[5], double d[3])
{
    static const double fallback[3] = { 0.5, 1.0, 1.5 };
    double y = n[1] + 2.0 * n[2] > 0 ? n[1] / (n[1] + 2.0 * n[2]) : 0;
    double v[3] = {
        n[1] ? 1.0 - 2.0 * y * n[2] / n[1] : NAN,
        n[2] ? 2.0 - 3.0 * y * n[3] / n[2] : NAN,
        n[3] ? 3.0 - 4.0 * y * n[4] / n[3] : NAN,
    };
    for (int i = 0; i < 3; i++) {
        /* A discount outside (0, i+1) would make a probability negative or leave no mass
         * for unseen tokens: tiny or odd corpora get the usual textbook values instead. */
        if (!(v[i] > 0.0 && v[i] < i + 1.0))
            v[i] = fallback[i];
        d[i] = v[i];
    }
}

static double discount(const double d[3], uint32_t c)
{
    return c >= 3 ? d[2] : c == 2 ? d[1] : d[0];
}

/* Builds the successor lists and smoothing weights of order k from its counts. */
static void build_order(ngram_model *m, int k)
{
    const gram_table *t = &m->tab[k - 1];
    order_stats *st = &m->st[k - 1];
    int top = k == m->order;
    uint64_t n[5] = {0};
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = top ? t->e[i].count : t->e[i].cont;
        if (c >= 1 && c <= 4)
            n[c]++;
    }
    compute_discounts(n, st->d);
    st->nctx = k == 1 ? 1 : m->tab[k - 2].n;
    st->start = xcalloc(st->nctx + 1, sizeof *st->start);
    double *tot = xcalloc(st->nctx, sizeof *tot), *num = xcalloc(st->nctx, sizeof *num);
    size_t nsucc = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = top ? t->e[i].count : t->e[i].cont;
        if (!c)
            continue;
        size_t ctx = k == 1 ? 0 : (size_t)(t->e[i].key >> 32);
        st->start[ctx + 1]++;
        tot[ctx] += c;
        num[ctx] += discount(st->d, c);
        nsucc++;
    }
    for (size_t c = 0; c < st->nctx; c++)
        st->start[c + 1] += st->start[c];
    st->succ_w = xmalloc((nsucc ? nsucc : 1) * sizeof *st->succ_w);
    st->succ_a = xmalloc((nsucc ? nsucc : 1) * sizeof *st->succ_a);
    uint32_t *fill = xmalloc(st->nctx * sizeof *fill);
    memcpy(fill, st->start, st->nctx * sizeof *fill);
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = top ? t->e[i].count : t->e[i].cont;
        if (!c)
            continue;
        size_t ctx = k == 1 ? 0 : (size_t)(t->e[i].key >> 32);
        uint32_t at = fill[ctx]++;
        st->succ_w[at] = (uint32_t)(t->e[i].key & 0xffffffffu);
        st->succ_a[at] = (c - discount(st->d, c)) / tot[ctx];
    }
    st->gamma = xmalloc(st->nctx * sizeof *st->gamma);
    for (size_t c = 0; c < st->nctx; c++)
        st->gamma[c] = tot[c] > 0 ? num[c] / tot[c] : 1.0;
    free(fill);
    free(tot);
    free(num);
}

ngram_model *ngram_train(const char *text, size_t len, int order, const char *name,
                         char *err, size_t errlen)
{
    size_t clen;
    char *clean = corpus_clean(text, len, name, &clen, err, errlen);
    if (!clean)
        return NULL;
    if (order < 1)
        order = 1;
    if (order > NGRAM_MAX_ORDER)
        order = NGRAM_MAX_ORDER;
    ngram_model *m = xcalloc(1, sizeof *m);
    m->order = order;
    vocab_rehash(m, 1024);
    vocab_intern(m, "", 0);   /* id 0: the unknown token (the lookup never finds it) */
    m->vslot[(size_t)hash_bytes("", 0) & m->vmask] = 0;

    size_t cap = clen / 3 + 16, ntok = 0;
    uint32_t *ids = xmalloc(cap * sizeof *ids);
    for (size_t pos = 0; pos < clen;) {
        size_t end = ngram_next_token(clean, clen, pos);
        xgrow(&ids, &cap, ntok + 1, sizeof *ids);
        ids[ntok++] = vocab_intern(m, clean + pos, end - pos);
        pos = end;
    }
    free(clean);
    m->ntokens = ntok;

    /* Order 1: entry index == token id. */
    gram_table *t1 = &m->tab[0];
    t1->cap = t1->n = m->nvocab;
    t1->e = xcalloc(t1->n, sizeof *t1->e);
    for (size_t i = 0; i < t1->n; i++)
        t1->e[i].key = i;
    for (size_t i = 0; i < ntok; i++)
        t1->e[ids[i]].count++;
    /* Order k from order k-1: pos[i] is the entry of the (k-1)-gram starting at i. */
    uint32_t *pos = ids, *next = NULL;
    for (int k = 2; k <= order && ntok >= (size_t)k; k++) {
        gram_table *t = &m->tab[k - 1], *lower = &m->tab[k - 2];
        size_t n = ntok - (size_t)k + 1;
        next = xmalloc(n * sizeof *next);
        for (size_t i = 0; i < n; i++) {
            int added;
            uint32_t e = table_put(t, ((uint64_t)pos[i] << 32) | ids[i + (size_t)k - 1], &added);
            if (added)
                lower->e[pos[i + 1]].cont++;   /* its suffix gained a distinct predecessor */
            t->e[e].count++;
            next[i] = e;
        }
        if (pos != ids)
            free(pos);
        pos = next;
    }
    if (pos != ids)
        free(pos);
    free(ids);

    for (int k = 1; k <= order; k++)
        build_order(m, k);
    /* The unigram distribution, with the uniform base over every id (unknown included). */
    const order_stats *s1 = &m->st[0];
    m->p1 = xmalloc(m->nvocab * sizeof *m->p1);
    double base = s1->gamma[0] / (double)m->nvocab;
    for (size_t i = 0; i < m->nvocab; i++)
        m->p1[i] = base;
    for (uint32_t j = s1->start[0]; j < s1->start[1]; j++)
        m->p1[s1->succ_w[j]] += s1->succ_a[j];
    return m;
}

const char *ngram_default_corpus(size_t *len)
{
    *len = ngram_corpus_size;
    return (const char *)ngram_corpus_data;
}

ngram_model *ngram_load(const char *path, int order, char *err, size_t errlen)
{
    if (!path) {
        size_t len;
        const char *text = ngram_default_corpus(&len);
        return ngram_train(text, len, order, "built-in corpus", err, errlen);
    }
    buf b = {0};
    if (buf_read_file(&b, path, 0, err, errlen) < 0) {
        buf_free(&b);
        return NULL;
    }
    ngram_model *m = ngram_train(b.data ? b.data : "", b.len, order, path, err, errlen);
    buf_free(&b);
    return m;
}

void ngram_free(ngram_model *m)
{
    if (!m)
        return;
    for (int k = 0; k < NGRAM_MAX_ORDER; k++) {
        table_free(&m->tab[k]);
        free(m->st[k].gamma);
        free(m->st[k].start);
        free(m->st[k].succ_w);
        free(m->st[k].succ_a);
    }
    free(m->pool);
    free(m->voff);
    free(m->vlen);
    free(m->vslot);
    free(m->p1);
    free(m);
}

int    ngram_order(const ngram_model *m) { return m->order; }
size_t ngram_vocab_size(const ngram_model *m) { return m->nvocab; }
size_t ngram_corpus_tokens(const ngram_model *m) { return m->ntokens; }

const char *ngram_token_text(const ngram_model *m, uint32_t id, size_t *len)
{
    if (id >= m->nvocab)
        id = 0;
    if (len)
        *len = m->vlen[id];
    return m->pool + m->voff[id];
}

uint32_t ngram_token_id(const ngram_model *m, const char *tok, size_t len)
{
    return len ? vocab_lookup(m, tok, len, NULL) : 0;
}

void ngram_discounts(const ngram_model *m, int order, double d[3])
{
    if (order < 1 || order > m->order)
        order = m->order;
    memcpy(d, m->st[order - 1].d, sizeof m->st[0].d);
}

size_t ngram_context(const ngram_model *m, const char *text, size_t len, uint32_t *ids)
{
    size_t want = (size_t)m->order - 1, n = 0;
    if (!want || !len)
        return 0;
    /* Tokenize only the tail: start at a token boundary (after white space) some way back. */
    size_t from = len > 512 ? len - 512 : 0;
    while (from > 0 && from < len && !is_blank((unsigned char)text[from]) && text[from] != '\n')
        from++;
    uint32_t ring[NGRAM_MAX_ORDER];
    size_t total = 0;
    for (size_t pos = from; pos < len;) {
        size_t end = ngram_next_token(text, len, pos);
        ring[total++ % want] = ngram_token_id(m, text + pos, end - pos);
        pos = end;
    }
    n = total < want ? total : want;
    for (size_t i = 0; i < n; i++)
        ids[i] = ring[(total - n + i) % want];
    return n;
}

/* Entry of the (k)-gram made of ids[0..k) in order k's table, or -1. */
static int64_t gram_entry(const ngram_model *m, const uint32_t *ids, size_t k)
{
    if (!ids[0] || ids[0] >= m->nvocab)
        return -1;
    int64_t e = ids[0];
    for (size_t j = 1; j < k && e >= 0; j++)
        e = table_find(&m->tab[j], ((uint64_t)e << 32) | ids[j]);
    return e;
}

const double *ngram_unigram(const ngram_model *m) { return m->p1; }

double ngram_distribution(const ngram_model *m, const uint32_t *ctx, size_t nctx, double *p)
{
    size_t use = nctx < (size_t)m->order - 1 ? nctx : (size_t)m->order - 1;
    const uint32_t *h = ctx + (nctx - use);
    int64_t c[NGRAM_MAX_ORDER + 1];
    double w[NGRAM_MAX_ORDER + 1];
    double mult = 1.0;
    /* Order k conditions on the last k-1 tokens; mult is what reaches the orders below. */
    for (size_t k = use + 1; k >= 2; k--) {
        c[k] = gram_entry(m, h + (use - (k - 1)), k - 1);
        w[k] = mult;
        if (c[k] >= 0)
            mult *= m->st[k - 1].gamma[c[k]];
    }
    for (size_t i = 0; i < m->nvocab; i++)
        p[i] = mult * m->p1[i];
    for (size_t k = use + 1; k >= 2; k--) {
        if (c[k] < 0)
            continue;
        const order_stats *st = &m->st[k - 1];
        for (uint32_t j = st->start[c[k]]; j < st->start[c[k] + 1]; j++)
            p[st->succ_w[j]] += w[k] * st->succ_a[j];
    }
    return mult;
}
