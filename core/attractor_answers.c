/* core/attractor_answers.c — the attractor module's answers from the last list: per node
 * (attractor_of, attractor_spans), the list as bytes (attractor_list_dump / _load) and the
 * list's labels (attractor_cuts).  See attractor.h; attractor_list.c makes the list. */
#include "core/attractor_impl.h"
#include "core/text.h"

void attractor_list_clear(attractor_index *a)
{
    for (size_t i = 0; i < a->nlist; i++) {
        free(a->list[i].members);
        free(a->list[i].text);
    }
    free(a->list);
    free(a->lphr);
    a->list = NULL;
    a->lphr = NULL;
    a->nlist = 0;
    hash_map_free(&a->bynode);
    a->nchain = 0;
}

void attractor_index_members(attractor_index *a)
{
    for (size_t i = a->nlist; i-- > 0; )
        for (size_t j = 0; j < a->list[i].nmembers; j++) {
            int isnew;
            uint32_t *head = hash_map_put(&a->bynode, (uint64_t)a->list[i].members[j] + 1, &isnew);
            if (isnew)
                *head = 0;
            xgrow(&a->chain_attr, &a->chaincap, a->nchain + 1, sizeof *a->chain_attr);
            xgrow(&a->chain_next, &a->chaincap2, a->nchain + 1, sizeof *a->chain_next);
            a->chain_attr[a->nchain] = (uint32_t)i;
            a->chain_next[a->nchain] = *head;
            *head = (uint32_t)++a->nchain;
        }
}

size_t attractor_last(attractor_index *a, const attractor **out)
{
    *out = a->list;
    return a->nlist;
}

int attractor_of(attractor_index *a, int32_t id)
{
    uint32_t *head = hash_map_get(&a->bynode, (uint64_t)id + 1);
    int best = -1;
    for (uint32_t e = head ? *head : 0; e; e = a->chain_next[e - 1]) {
        int i = (int)a->chain_attr[e - 1];
        if (a->list[i].kind == ATTRACTOR_CONTINUATION)
            return i;
        if (best < 0)
            best = i;
    }
    return best;
}

static int cmp_span(const void *x, const void *y)
{
    const attractor_span *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->attractor - b->attractor;
}

size_t attractor_spans(attractor_index *a, int32_t id, attractor_span **out)
{
    *out = NULL;
    uint32_t *head = hash_map_get(&a->bynode, (uint64_t)id + 1);
    tree_node *nd = tree_get(a->t, id);
    if (!head || !nd)
        return 0;
    merge_word *mw;
    size_t nw = merge_words(nd->text, nd->text_len, &mw, NULL);
    uint64_t *w = xmalloc((nw ? nw : 1) * sizeof *w);
    for (size_t i = 0; i < nw; i++)
        w[i] = mw[i].hash;
    attractor_span *s = NULL;
    size_t ns = 0, cap = 0;
    for (uint32_t e = *head; e; e = a->chain_next[e - 1]) {
        int ai = (int)a->chain_attr[e - 1];
        if (a->list[ai].kind != ATTRACTOR_PHRASE)
            continue;
        uint32_t n = a->lphr[ai].n;
        for (size_t i = 0; i + n <= nw; i++)
            if (gram_hash(w + i, n) == a->lphr[ai].h) {
                xgrow(&s, &cap, ns + 1, sizeof *s);
                s[ns++] = (attractor_span){ mw[i].start, mw[i + n - 1].end, ai };
            }
    }
    free(w);
    free(mw);
    if (ns)
        qsort(s, ns, sizeof *s, cmp_span);
    *out = s;
    return ns;
}

/* ---- the list as bytes (made in a child process, installed in the parent) ---- */

typedef struct {
    uint32_t kind, phr_n, textlen;
    int32_t  example;
    uint64_t support, nmembers, phr_h;
    double   prob, score, expected, log10_p;
} rec;

#define DUMP_MAGIC "termloom-attractors-2"

char *attractor_list_dump(attractor_index *a, size_t *len)
{
    buf b = {0};
    uint64_t n = a->nlist;
    buf_add(&b, DUMP_MAGIC, sizeof DUMP_MAGIC);
    buf_add(&b, &n, sizeof n);
    for (size_t i = 0; i < a->nlist; i++) {
        const attractor *at = &a->list[i];
        size_t tl = at->text ? strlen(at->text) : 0;
        rec r = { (uint32_t)at->kind, a->lphr[i].n, (uint32_t)tl, at->example, at->support,
                  at->nmembers, a->lphr[i].h, at->prob, at->score, at->expected, at->log10_p };
        buf_add(&b, &r, sizeof r);
        buf_add(&b, at->text ? at->text : "", tl);
        buf_add(&b, at->members, at->nmembers * sizeof *at->members);
    }
    *len = b.len;
    if (!b.data)
        buf_add(&b, "", 0);
    return buf_steal(&b);
}

int attractor_list_load(attractor_index *a, const char *data, size_t len, uint64_t version)
{
    attractor_list_abort(a);
    uint64_t n;
    size_t at = sizeof DUMP_MAGIC + sizeof n;
    if (len < at || memcmp(data, DUMP_MAGIC, sizeof DUMP_MAGIC))
        return -1;
    memcpy(&n, data + sizeof DUMP_MAGIC, sizeof n);
    if (n > (len - at) / sizeof(rec))
        return -1;
    attractor *list = xcalloc(n ? n : 1, sizeof *list);
    phr *lphr = xcalloc(n ? n : 1, sizeof *lphr);
    size_t k = 0;
    for (; k < n; k++) {
        rec r;
        if (len - at < sizeof r)
            break;
        memcpy(&r, data + at, sizeof r);
        at += sizeof r;
        if (r.kind > ATTRACTOR_PHRASE || r.textlen > len - at ||
            r.nmembers > (len - at - r.textlen) / sizeof(int32_t))
            break;
        attractor *x = &list[k];
        x->kind = (attractor_kind)r.kind;
        x->text = xstrndup(data + at, r.textlen);
        at += r.textlen;
        x->nmembers = (size_t)r.nmembers;
        x->members = xmalloc((x->nmembers ? x->nmembers : 1) * sizeof *x->members);
        memcpy(x->members, data + at, x->nmembers * sizeof *x->members);
        at += x->nmembers * sizeof *x->members;
        x->support = (size_t)r.support;
        x->prob = r.prob;
        x->score = r.score;
        x->expected = r.expected;
        x->log10_p = r.log10_p;
        x->example = r.example;
        lphr[k] = (phr){ r.phr_h, r.phr_n };
    }
    if (k < n || at != len) {
        for (size_t i = 0; i < k; i++) {
            free(list[i].members);
            free(list[i].text);
        }
        free(list);
        free(lphr);
        return -1;
    }
    attractor_list_clear(a);
    a->list = list;
    a->lphr = lphr;
    a->nlist = (size_t)n;
    attractor_index_members(a);
    a->listed_version = version;
    return 0;
}

/* ---- labels ---- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

/* The end of the first word at or after byte d (spaces skipped), or len. */
static size_t word_end_after(const char *s, size_t len, size_t d)
{
    while (d < len && is_space(s[d]))
        d++;
    while (d < len && !is_space(s[d]))
        d++;
    return d;
}

/* The start of the word holding byte d (or of the word after, when d is a space). */
static size_t word_start_at(const char *s, size_t len, size_t d)
{
    while (d < len && is_space(s[d]))
        d++;
    while (d > 0 && !is_space(s[d - 1]))
        d--;
    return d;
}

/* The longest prefix of s[0..len) within cols columns that ends before a space (trailing
 * spaces dropped); the plain column cut when no word fits whole. */
static size_t cut_at_word(const char *s, size_t len, int cols, unsigned flags)
{
    int used;
    size_t fit = cols > 0 ? text_fit(s, len, cols, flags, &used) : 0;
    if (fit >= len)
        return len;
    size_t k = fit;
    while (k > 0 && !is_space(s[k]))
        k--;
    while (k > 0 && is_space(s[k - 1]))
        k--;
    return k ? k : fit;
}

void attractor_cuts(const char *const *texts, const size_t *lens, const int *cols, size_t n,
                    unsigned flags, attractor_cut *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = texts[i];
        size_t len = lens[i];
        int w = cols[i];
        attractor_cut *c = &out[i];
        c->tail = c->tail_end = 0;
        if ((int)text_width(s, len, flags) <= w) {
            c->head = len;
            continue;
        }
        /* How far the label must reach: past the first difference with each other text. */
        size_t need = 0, diff = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i || (lens[j] == len && !memcmp(texts[j], s, len)))
                continue;
            size_t l = 0, m = lens[j] < len ? lens[j] : len;
            while (l < m && texts[j][l] == s[l])
                l++;
            while (l > 0 && l < len && ((unsigned char)s[l] & 0xC0) == 0x80)   /* whole characters */
                l--;
            size_t e = l < len ? word_end_after(s, len, l) : len;
            if (e > need) {
                need = e;
                diff = l;
            }
        }
        size_t head = cut_at_word(s, len, w - 1, flags);
        if (need <= head) {
            c->head = head;
            continue;
        }
        /* The distinguishing word lies beyond the width: show it after the head. */
        size_t ts = word_start_at(s, len, diff), te = need;
        int tw = (int)text_width(s + ts, te - ts, flags) + (te < len);
        int room = w - 1 - tw;
        if (room < 1) {    /* the word alone is too wide: "…" and as much of it as fits */
            int used;
            c->head = 0;
            c->tail = ts;
            c->tail_end = ts + text_fit(s + ts, te - ts, w - 2 > 0 ? w - 2 : 0, flags, &used);
            continue;
        }
        c->head = cut_at_word(s, ts, room, flags);
        c->tail = ts;
        c->tail_end = te;
    }
}
