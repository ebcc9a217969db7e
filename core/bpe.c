/* core/bpe.c — GPT-2 byte-level BPE.  See bpe.h.
 *
 * Two open-addressing hash tables over byte strings: token text -> id, and merge pair
 * ("left right", the GGUF form) -> rank.  A piece is merged by repeatedly joining the
 * adjacent pair of lowest rank; pieces are short, so the quadratic scan is cheap. */
#include "core/bpe.h"
#include "core/hash.h"
#include "core/mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct {
    const char *s;
    size_t      len;
    int32_t     val;            /* -1: empty slot */
} slot;

typedef struct {
    slot  *slots;
    size_t mask;
} table;

struct bpe {
    size_t    ntok;
    gguf_str *tok;              /* token text (GPT-2 mapped form), copied */
    char    **raw;              /* decoded bytes per token */
    size_t   *rawlen;
    unsigned char *special;
    int32_t  *specials;         /* ids of special tokens, longest text first */
    size_t    nspecials;
    table     vocab, merges;
    char     *store;            /* copies of token and merge strings */
    int32_t   bos, eos;
    int       add_bos;
    char      byte_char[256][3];   /* GPT-2 byte -> UTF-8 of its printable stand-in */
    unsigned char byte_len[256];
};

static uint64_t hash(const char *s, size_t n)
{
    return hash_fnv1a(s, n);
}

static void table_init(table *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    t->slots = xmalloc(cap * sizeof *t->slots);
    for (size_t i = 0; i < cap; i++)
        t->slots[i].val = -1;
    t->mask = cap - 1;
}

static int32_t table_get(const table *t, const char *s, size_t n)
{
    for (size_t i = hash(s, n) & t->mask;; i = (i + 1) & t->mask) {
        const slot *e = &t->slots[i];
        if (e->val < 0)
            return -1;
        if (e->len == n && !memcmp(e->s, s, n))
            return e->val;
    }
}

/* Keeps the first value for a key (lower id / rank wins). */
static void table_put(table *t, const char *s, size_t n, int32_t v)
{
    for (size_t i = hash(s, n) & t->mask;; i = (i + 1) & t->mask) {
        slot *e = &t->slots[i];
        if (e->val < 0) {
            *e = (slot){ s, n, v };
            return;
        }
        if (e->len == n && !memcmp(e->s, s, n))
            return;
    }
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest are
 * numbered from U+0100 up in byte order. */
static void byte_map(bpe *t)
{
    int next = 256;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        int cp = keep ? b : next++;
        t->byte_len[b] = (unsigned char)utf8proc_encode_char(cp, (utf8proc_uint8_t *)t->byte_char[b]);
    }
}

/* The byte a mapped character stands for, or -1. */
static int unmap_char(int32_t cp)
{
    if ((cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return cp;
    int next = 256;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (!keep && next++ == cp)
            return b;
    }
    return -1;
}


typedef struct { size_t len, pos; int32_t id; } special_order;

static int cmp_special(const void *a, const void *b)
{
    const special_order *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

bpe *bpe_from_gguf(const gguf *g, char *err, size_t errlen)
{
    gguf_str model;
    if (gguf_get_str(g, "tokenizer.ggml.model", &model)) {
        snprintf(err, errlen, "no tokenizer in the model (tokenizer.ggml.model missing)");
        return NULL;
    }
    if (model.len != 4 || memcmp(model.s, "gpt2", 4)) {
        snprintf(err, errlen, "tokenizer '%.*s' is not supported (only gpt2 byte-level BPE is)",
                 (int)(model.len > 40 ? 40 : model.len), model.s);
        return NULL;
    }
    const gguf_str *toks, *merges;
    size_t ntok, nmerge;
    if (gguf_get_str_array(g, "tokenizer.ggml.tokens", &toks, &ntok) || ntok == 0 || ntok > (1u << 24)) {
        snprintf(err, errlen, "tokenizer.ggml.tokens is missing or empty");
        return NULL;
    }
    if (gguf_get_str_array(g, "tokenizer.ggml.merges", &merges, &nmerge)) {
        snprintf(err, errlen, "tokenizer.ggml.merges is missing");
        return NULL;
    }
    gguf_type tt = GGUF_I32;
    const void *types = NULL;
    size_t ntypes = 0;
    if (gguf_get_array(g, "tokenizer.ggml.token_type", &tt, &types, &ntypes) == 0 &&
        (tt != GGUF_I32 || ntypes != ntok)) {
        snprintf(err, errlen, "tokenizer.ggml.token_type does not match the tokens");
        return NULL;
    }
    bpe *t = xcalloc(1, sizeof *t);
    byte_map(t);
    t->ntok = ntok;
    size_t total = 0;
    for (size_t i = 0; i < ntok; i++)
        total += toks[i].len + 1;
    for (size_t i = 0; i < nmerge; i++)
        total += merges[i].len + 1;
    t->store = xmalloc(total + 1);
    char *w = t->store;
    t->tok = xcalloc(ntok, sizeof *t->tok);
    t->raw = xcalloc(ntok, sizeof *t->raw);
    t->rawlen = xcalloc(ntok, sizeof *t->rawlen);
    t->special = xcalloc(ntok, 1);
    t->specials = xcalloc(ntok, sizeof *t->specials);
    table_init(&t->vocab, ntok);
    table_init(&t->merges, nmerge);
    for (size_t i = 0; i < ntok; i++) {
        memcpy(w, toks[i].s, toks[i].len);
        t->tok[i] = (gguf_str){ w, toks[i].len };
        w += toks[i].len + 1;
        table_put(&t->vocab, t->tok[i].s, t->tok[i].len, (int32_t)i);
        int32_t ty = 1;
        if (types)
            memcpy(&ty, (const char *)types + 4 * i, 4);
        /* 3 control, 4 user-defined: matched literally, shown as their text */
        if ((ty == 3 || ty == 4) && toks[i].len) {
            t->special[i] = 1;
            t->specials[t->nspecials++] = (int32_t)i;
        }
        /* Decode: each mapped character back to its byte. */
        char *r = xmalloc(toks[i].len + 1);
        size_t rl = 0;
        const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)toks[i].s;
        utf8proc_ssize_t left = (utf8proc_ssize_t)toks[i].len;
        int ok = !t->special[i];
        while (ok && left > 0) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
            int b = n > 0 ? unmap_char(cp) : -1;
            if (b < 0)
                ok = 0;
            else {
                r[rl++] = (char)b;
                p += n;
                left -= n;
            }
        }
        if (!ok) {
            memcpy(r, toks[i].s, toks[i].len);
            rl = toks[i].len;
        }
        t->raw[i] = r;
        t->rawlen[i] = rl;
    }
    for (size_t i = 0; i < nmerge; i++) {
        memcpy(w, merges[i].s, merges[i].len);
        table_put(&t->merges, w, merges[i].len, (int32_t)i);
        w += merges[i].len + 1;
    }
    /* Longest special text first, so one that starts another is not matched short; equal
     * lengths keep the file's order.  (An insertion sort took 73 s on 100k control tokens.) */
    special_order *so = xmalloc((t->nspecials ? t->nspecials : 1) * sizeof *so);
    for (size_t i = 0; i < t->nspecials; i++)
        so[i] = (special_order){ t->tok[t->specials[i]].len, i, t->specials[i] };
    qsort(so, t->nspecials, sizeof *so, cmp_special);
    for (size_t i = 0; i < t->nspecials; i++)
        t->specials[i] = so[i].id;
    free(so);
    uint64_t v;
    t->bos = gguf_get_uint(g, "tokenizer.ggml.bos_token_id", &v) == 0 && v < ntok ? (int32_t)v : -1;
    t->eos = gguf_get_uint(g, "tokenizer.ggml.eos_token_id", &v) == 0 && v < ntok ? (int32_t)v : -1;
    int ab = 0;
    t->add_bos = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &ab) == 0 ? ab : 0;
    if (t->add_bos && t->bos < 0)
        t->add_bos = 0;
    return t;
}

void bpe_free(bpe *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ntok; i++)
        free(t->raw[i]);
    free(t->raw);
    free(t->rawlen);
    free(t->tok);
    free(t->special);
    free(t->specials);
    free(t->vocab.slots);
    free(t->merges.slots);
    free(t->store);
    free(t);
}

/* ---- pre-tokenizer ---- */

typedef struct {
    int32_t cp;
    size_t  off, len;       /* bytes in the text */
} uchar;

static int is_letter(int32_t cp)
{
    if (cp < 0)
        return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

static int is_number(int32_t cp)
{
    if (cp < 0)
        return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

/* Unicode White_Space. */
static int is_space(int32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* Length in characters of the GPT-2 pre-token starting at u[i]:
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t pretoken(const uchar *u, size_t n, size_t i)
{
    if (u[i].cp == '\'' && i + 1 < n) {
        int32_t a = u[i + 1].cp, b = i + 2 < n ? u[i + 2].cp : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return 3;
    }
    size_t j = i + (u[i].cp == ' ' && i + 1 < n);
    if (is_letter(u[j].cp)) {
        while (j < n && is_letter(u[j].cp))
            j++;
        return j - i;
    }
    if (is_number(u[j].cp)) {
        while (j < n && is_number(u[j].cp))
            j++;
        return j - i;
    }
    if (!is_space(u[j].cp)) {
        while (j < n && !is_space(u[j].cp) && !is_letter(u[j].cp) && !is_number(u[j].cp))
            j++;
        return j - i;
    }
    size_t k = i;
    while (k < n && is_space(u[k].cp))
        k++;
    if (k == n || k - i == 1)
        return k - i;
    return k - 1 - i;     /* leave the last space to start the next word */
}

/* ---- merges ---- */

typedef struct {
    size_t off, len;        /* into the mapped string */
} sym;

static void push_ids(int32_t **ids, size_t *n, size_t *cap, int32_t id)
{
    xgrow(ids, cap, *n + 1, sizeof **ids);
    (*ids)[(*n)++] = id;
}

static void encode_piece(const bpe *t, const char *text, size_t len, int32_t **ids, size_t *n,
                         size_t *cap)
{
    buf m = { 0 };
    sym *s = xmalloc((len + 1) * sizeof *s);
    size_t ns = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)text[i];
        s[ns++] = (sym){ m.len, t->byte_len[b] };
        buf_add(&m, t->byte_char[b], t->byte_len[b]);
    }
    buf key = { 0 };
    for (;;) {
        int32_t best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            buf_clear(&key);
            buf_add(&key, m.data + s[i].off, s[i].len);
            buf_addc(&key, ' ');
            buf_add(&key, m.data + s[i + 1].off, s[i + 1].len);
            int32_t r = table_get(&t->merges, key.data, key.len);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                at = i;
            }
        }
        if (best < 0)
            break;
        s[at].len += s[at + 1].len;   /* neighbours are contiguous in m */
        memmove(s + at + 1, s + at + 2, (ns - at - 2) * sizeof *s);
        ns--;
    }
    for (size_t i = 0; i < ns; i++) {
        int32_t id = table_get(&t->vocab, m.data + s[i].off, s[i].len);
        if (id >= 0) {
            push_ids(ids, n, cap, id);
            continue;
        }
        /* Not in the vocabulary: fall back to its single bytes (or unknown). */
        for (size_t o = s[i].off; o < s[i].off + s[i].len;) {
            size_t bl = 1;
            while (o + bl < s[i].off + s[i].len && ((unsigned char)m.data[o + bl] & 0xC0) == 0x80)
                bl++;
            int32_t b = table_get(&t->vocab, m.data + o, bl);
            push_ids(ids, n, cap, b >= 0 ? b : t->eos >= 0 ? t->eos : 0);
            o += bl;
        }
    }
    buf_free(&key);
    buf_free(&m);
    free(s);
}

static void encode_plain(const bpe *t, const char *text, size_t len, int32_t **ids, size_t *n,
                         size_t *cap)
{
    uchar *u = xmalloc((len + 1) * sizeof *u);
    size_t nu = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        if (l <= 0) {
            cp = -1;       /* an invalid byte: a symbol of its own kind */
            l = 1;
        }
        u[nu++] = (uchar){ cp, i, (size_t)l };
        i += (size_t)l;
    }
    u[nu] = (uchar){ 0, len, 0 };
    for (size_t i = 0; i < nu;) {
        size_t k = pretoken(u, nu, i);
        if (k == 0)
            k = 1;
        size_t off = u[i].off, end = u[i + k - 1].off + u[i + k - 1].len;
        encode_piece(t, text + off, end - off, ids, n, cap);
        i += k;
    }
    free(u);
}

size_t bpe_encode(const bpe *t, const char *text, size_t len, int add_bos, int32_t **ids)
{
    size_t n = 0, cap = 0;
    *ids = NULL;
    push_ids(ids, &n, &cap, 0);
    n = 0;
    if (add_bos && t->bos >= 0)
        push_ids(ids, &n, &cap, t->bos);
    size_t from = 0;
    for (size_t i = 0; i < len;) {
        int32_t hit = -1;
        for (size_t s = 0; s < t->nspecials && hit < 0; s++) {
            const gguf_str *w = &t->tok[t->specials[s]];
            if (w->len <= len - i && !memcmp(text + i, w->s, w->len))
                hit = t->specials[s];
        }
        if (hit < 0) {
            i++;
            continue;
        }
        if (i > from)
            encode_plain(t, text + from, i - from, ids, &n, &cap);
        push_ids(ids, &n, &cap, hit);
        i += t->tok[hit].len;
        from = i;
    }
    if (len > from)
        encode_plain(t, text + from, len - from, ids, &n, &cap);
    return n;
}

const char *bpe_piece(const bpe *t, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= t->ntok) {
        *len = 0;
        return "";
    }
    *len = t->rawlen[id];
    return t->raw[id];
}

size_t  bpe_vocab_size(const bpe *t) { return t->ntok; }
int32_t bpe_bos(const bpe *t) { return t->bos; }
int32_t bpe_eos(const bpe *t) { return t->eos; }
int     bpe_adds_bos(const bpe *t) { return t->add_bos; }
int     bpe_is_special(const bpe *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->ntok && t->special[id];
}
