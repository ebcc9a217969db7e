/* core/compare.c — see compare.h.  The figures of a side (entropy over groups, distinct-n
 * over word n-grams, groups by size, token entropy) and a comparison read back from the
 * tree (labels, shared groups and phrases).  Sampling is in compare_run.c. */
#include "core/compare.h"
#include "core/jnul.h"
#include "core/attractor.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/merge.h"
#include "core/ngram.h"
#include <jansson.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- groups ---- */

static int group_order(const void *x, const void *y)
{
    const compare_group *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->rep < b->rep ? -1 : a->rep > b->rep;
}

void compare_stats_from_groups(compare_stats *st, const char *const *texts, size_t n,
                               const int *group_of)
{
    memset(st, 0, sizeof *st);
    st->n = n;
    st->token_entropy = NAN;
    st->token_entropy_lower = st->token_entropy_upper = NAN;
    /* Groups in order of first appearance, then sorted by size. */
    size_t *first_of = xcalloc(n ? n : 1, sizeof *first_of);   /* group of sample i */
    for (size_t i = 0; i < n; i++) {
        size_t g = st->ngroups;
        for (size_t j = 0; j < i; j++)
            if (group_of[j] == group_of[i]) {
                g = first_of[j];
                break;
            }
        if (g == st->ngroups) {
            st->groups = xrealloc(st->groups, (st->ngroups + 1) * sizeof *st->groups);
            st->groups[g] = (compare_group){ 0, i, NULL };
            st->ngroups++;
        }
        first_of[i] = g;
        compare_group *gr = &st->groups[g];
        gr->members = xrealloc(gr->members, (gr->count + 1) * sizeof *gr->members);
        gr->members[gr->count++] = i;
    }
    free(first_of);
    if (st->ngroups > 1)
        qsort(st->groups, st->ngroups, sizeof *st->groups, group_order);
    size_t *counts = xcalloc(st->ngroups ? st->ngroups : 1, sizeof *counts);
    for (size_t g = 0; g < st->ngroups; g++)
        counts[g] = st->groups[g].count;
    st->entropy = entropy_counts(counts, st->ngroups, &st->entropy_norm);
    free(counts);
    for (int k = 0; k < 3; k++)
        st->distinct[k] = compare_distinct_n(texts, n, k + 1, NULL, NULL);
}

void compare_stats_free(compare_stats *st)
{
    for (size_t g = 0; g < st->ngroups; g++)
        free(st->groups[g].members);
    free(st->groups);
    memset(st, 0, sizeof *st);
}

/* ---- configs and labels ---- */

void *compare_config_json(const gen_settings *s)
{
    json_t *o = json_object();
    for (size_t i = 0; i < settings_noptions; i++) {
        const settings_option *opt = &settings_options[i];
        if (!opt->saved || !strcmp(opt->key, "branches"))   /* N samples, not k branches */
            continue;
        const char *field = (const char *)s + opt->offset;
        switch (opt->type) {
        case SET_STR: {
            const char *v = *(char *const *)field;
            if (v && *v)
                json_object_set_new(o, opt->key, json_string(v));
            break;
        }
        case SET_INT:
            json_object_set_new(o, opt->key, json_integer(*(const int *)field));
            break;
        case SET_DBL:
            json_object_set_new(o, opt->key, json_real(*(const double *)field));
            break;
        case SET_BOOL:
            json_object_set_new(o, opt->key, json_boolean(*(const int *)field));
            break;
        case SET_SEED:
            if (s->has_seed)
                json_object_set_new(o, opt->key, json_integer((json_int_t)s->seed));
            break;
        case SET_STOP:
            if (s->nstop) {
                json_t *a = json_array();
                for (int k = 0; k < s->nstop; k++)
                    json_array_append_new(a, json_string(s->stop[k]));
                json_object_set_new(o, opt->key, a);
            }
            break;
        }
    }
    return o;
}

int compare_label_side(const tree *t, int32_t id)
{
    const tree_node *n = tree_get(t, id);
    if (!n || !n->extra || n->text_len)
        return 0;
    const char *v = json_string_value(json_object_get(n->extra, "compare"));
    if (v && !strcmp(v, "A"))
        return 'A';
    if (v && !strcmp(v, "B"))
        return 'B';
    return 0;
}

/* ---- names ---- */

static char *trim_copy(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return xstrndup(s, n);
}

char *compare_spec_name(const char *spec, char **name)
{
    *name = NULL;
    buf rest = {0};
    buf_adds(&rest, "");
    for (const char *p = spec ? spec : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *item = trim_copy(p, n);
        if (!strncmp(item, "name", 4) && (item[4] == '=' || item[4] == ' ' || item[4] == '\t')) {
            char *eq = strchr(item, '=');
            char *key = eq ? trim_copy(item, (size_t)(eq - item)) : NULL;
            if (key && !strcmp(key, "name")) {
                free(*name);
                *name = trim_copy(eq + 1, strlen(eq + 1));
                if (!**name) {
                    free(*name);
                    *name = NULL;
                }
                free(key);
                free(item);
                p = end ? end + 1 : p + n;
                continue;
            }
            free(key);
        }
        free(item);
        if (rest.len)
            buf_addc(&rest, ',');
        buf_add(&rest, p, n);
        p = end ? end + 1 : p + n;
    }
    return buf_steal(&rest);
}

char *compare_config_name(const void *config)
{
    json_t *cfg = (json_t *)config;
    const char *model = json_string_value(json_object_get(cfg, "model"));
    if (model && *model)
        return xstrdup(model);
    const char *url = json_string_value(json_object_get(cfg, "base_url"));
    if (url && *url) {
        const char *h = strstr(url, "://");
        h = h ? h + 3 : url;
        const char *at = strchr(h, '@'), *slash = strchr(h, '/');
        if (at && (!slash || at < slash))   /* user:password@ never shown */
            h = at + 1;
        size_t n = strcspn(h, "/?#");
        if (n)
            return xstrndup(h, n);
    }
    const char *be = json_string_value(json_object_get(cfg, "backend"));
    return xstrdup(be ? be : "");
}

char *compare_label_name(const tree *t, int32_t id)
{
    if (!compare_label_side(t, id))
        return NULL;
    const tree_node *lab = tree_get(t, id);
    json_t *x = lab->extra, *cfg = json_object_get(x, "config");
    const char *name = json_string_value(json_object_get(x, "name"));
    if (name && *name)
        return xstrdup(name);
    const char *model = json_string_value(json_object_get(cfg, "model"));
    if (!(model && *model))              /* the backend's default model: as its samples say */
        for (uint32_t i = 0; i < lab->nchildren && !(model && *model); i++)
            model = tree_model(t, lab->children[i]);
    return model && *model ? xstrdup(model) : compare_config_name(cfg);
}

char *compare_label_text(const tree *t, int32_t id)
{
    int side = compare_label_side(t, id);
    if (!side)
        return NULL;
    static const char *const keys[] = { "backend", "temperature", "top_p" };
    json_t *cfg = json_object_get(tree_get(t, id)->extra, "config");
    char *name = compare_label_name(t, id);
    buf c = {0};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(cfg, keys[i]);
        if (json_is_string(v) && !strcmp(json_string_value(v), name))
            continue;                     /* named after its backend: once is enough */
        if (json_is_string(v))
            buf_printf(&c, " %s", json_string_value(v));
        else if (json_is_number(v))
            buf_printf(&c, " %s=%g", keys[i], json_number_value(v));
    }
    char *conf = buf_steal(&c);
    char *out = xasprintf("compare %c:%s%s%s%s", side, *name ? " " : "", name,
                          *name && *conf ? " \xc2\xb7" : "", conf);
    free(name);
    free(conf);
    return out;
}

/* ---- grouping (core/merge) ---- */

/* The rule of core/merge (a text joins the first earlier group whose leader is similar
 * enough), on cached features so each text is prepared once. */
static void group_texts(const char *const *texts, size_t n, double threshold, int *group_of)
{
    merge_text **f = xmalloc((n ? n : 1) * sizeof *f);
    size_t *leaders = xmalloc((n ? n : 1) * sizeof *leaders), nleaders = 0;
    for (size_t i = 0; i < n; i++) {
        f[i] = merge_text_new(texts[i], strlen(texts[i]));
        size_t g = 0;
        for (; g < nleaders; g++)
            if (merge_text_similarity(f[leaders[g]], f[i], threshold) >= threshold)
                break;
        if (g == nleaders)
            leaders[nleaders++] = i;
        group_of[i] = (int)g;
    }
    for (size_t i = 0; i < n; i++)
        merge_text_free(f[i]);
    free(f);
    free(leaders);
}

void compare_stats_from_texts(compare_stats *st, const char *const *texts, size_t n,
                              double threshold)
{
    int *group_of = xmalloc((n ? n : 1) * sizeof *group_of);
    group_texts(texts, n, threshold, group_of);
    compare_stats_from_groups(st, texts, n, group_of);
    free(group_of);
}

/* ---- reading a comparison back ---- */

int compare_result_match_of(const compare_result *r, int side, size_t g)
{
    for (size_t i = 0; i < r->nshared; i++)
        if ((side ? r->shared[i].b : r->shared[i].a) == g)
            return (int)i;
    return -1;
}

static int match_order(const void *x, const void *y)
{
    const compare_match *a = x, *b = y;
    if (a->similarity != b->similarity)
        return a->similarity > b->similarity ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

/* Mean token entropy of a side's samples (bits): every token with logprobs weighs the same. */
static void side_token_entropy(compare_stats *st, const tree *t, const int32_t *ids, size_t n)
{
    double sum = 0, lo = 0, hi = 0;
    size_t count = 0, icount = 0;
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        const tree_node *nd = tree_get(t, ids[i]);
        entropy_node_t e;
        if (!nd)
            continue;
        entropy_node(nd, &e);
        if (!e.ntokens)
            continue;
        sum += e.mean * e.ntokens;
        count += e.ntokens;
        exact &= e.exact;
        entropy_node_interval_t ni;
        entropy_node_interval(nd, nd->vocab, &ni);
        if (ni.ntokens && !isnan(ni.lower)) {
            lo += ni.lower * ni.ntokens;
            hi += ni.upper * ni.ntokens;       /* NAN once any upper is unknown */
            icount += ni.ntokens;
        }
    }
    st->ntokens = count;
    st->token_entropy = count ? sum / (double)count : NAN;
    st->token_entropy_exact = count && exact;
    st->token_entropy_lower = icount ? lo / (double)icount : NAN;
    st->token_entropy_upper = icount ? hi / (double)icount : NAN;
}

static void shared_phrases(compare_result *r, const tree *t);

void *compare_kl_json(const compare_kl *k)
{
    json_t *o = json_pack("{s:f, s:f, s:f, s:o, s:b, s:I, s:I}", "value", k->value, "low", k->low, "high", k->high,
                          "exact", k->exact_known ? json_real(k->exact) : json_null(), "exact_known", k->exact_known,
                          "samples", (json_int_t)k->samples, "tokens", (json_int_t)k->tokens);
    if (k->skipped)
        json_object_set_new(o, "skipped", json_integer((json_int_t)k->skipped));
    if (k->note[0])
        json_object_set_new(o, "note", jnul_string(k->note, strlen(k->note)));
    return o;
}

/* A stored "kl_to_other" (as compare_kl_json wrote it) back into k; anything malformed
 * leaves it unknown. */
static void kl_from_json(compare_kl *k, json_t *o, json_t *note)
{
    memset(k, 0, sizeof *k);
    if (json_is_string(note))
        snprintf(k->note, sizeof k->note, "%s", json_string_value(note));
    if (!json_is_object(o))
        return;
    json_t *v = json_object_get(o, "value"), *lo = json_object_get(o, "low"), *hi = json_object_get(o, "high");
    if (!json_is_number(v) || !json_is_number(lo) || !json_is_number(hi))
        return;
    k->known = 1;
    k->value = json_number_value(v);
    k->low = json_number_value(lo);
    k->high = json_number_value(hi);
    json_t *ex = json_object_get(o, "exact");
    k->exact_known = json_is_number(ex);
    k->exact = k->exact_known ? json_number_value(ex) : 0;
    json_t *n = json_object_get(o, "samples"), *tk = json_object_get(o, "tokens"), *sk = json_object_get(o, "skipped");
    k->samples = json_is_integer(n) && json_integer_value(n) > 0 ? (size_t)json_integer_value(n) : 0;
    k->tokens = json_is_integer(tk) && json_integer_value(tk) > 0 ? (size_t)json_integer_value(tk) : 0;
    k->skipped = json_is_integer(sk) && json_integer_value(sk) > 0 ? (size_t)json_integer_value(sk) : 0;
    json_t *nt = json_object_get(o, "note");
    if (json_is_string(nt))
        snprintf(k->note, sizeof k->note, "%s", json_string_value(nt));
}

void compare_kl_store(tree *t, const compare_result *r)
{
    for (int s = 0; s < 2; s++) {
        tree_node *lab = tree_get(t, r->label[s]);
        if (!lab)
            continue;
        if (!lab->extra)
            lab->extra = json_object();
        json_object_del(lab->extra, "kl_to_other");
        json_object_del(lab->extra, "kl_to_other_note");
        if (r->kl[s].known)
            json_object_set_new(lab->extra, "kl_to_other", compare_kl_json(&r->kl[s]));
        else if (r->kl[s].note[0])
            json_object_set_new(lab->extra, "kl_to_other_note", jnul_string(r->kl[s].note, strlen(r->kl[s].note)));
    }
}

int compare_result_load(compare_result *r, const tree *t, int32_t at, double threshold,
                        char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->label[0] = r->label[1] = TREE_NONE;
    const tree_node *n = tree_get(t, at);
    if (!n) {
        snprintf(err, errlen, "node %d does not exist", (int)at);
        return -1;
    }
    for (uint32_t i = 0; i < n->nchildren; i++) {
        int side = compare_label_side(t, n->children[i]);
        if (side)
            r->label[side == 'B'] = n->children[i];
    }
    if (r->label[0] == TREE_NONE || r->label[1] == TREE_NONE) {
        snprintf(err, errlen, "node %d holds no comparison", (int)at);
        return -1;
    }
    r->prompt = tree_path_text(t, at, NULL);
    const char **stexts[2];
    for (int s = 0; s < 2; s++) {
        const tree_node *lab = tree_get(t, r->label[s]);
        r->config[s] = json_object_get(lab->extra, "config");
        json_t *f = json_object_get(lab->extra, "failed");
        r->failed[s] = json_is_array(f) && json_array_size(f) ? f : NULL;
        kl_from_json(&r->kl[s], json_object_get(lab->extra, "kl_to_other"),
                     json_object_get(lab->extra, "kl_to_other_note"));
        size_t cnt = 0;
        r->ids[s] = xmalloc((lab->nchildren ? lab->nchildren : 1) * sizeof *r->ids[s]);
        const char **texts = xmalloc((lab->nchildren ? lab->nchildren : 1) * sizeof *texts);
        for (uint32_t i = 0; i < lab->nchildren; i++) {
            const tree_node *c = tree_get(t, lab->children[i]);
            if (!c)
                continue;
            if (c->flags & TREE_FLAG_INCOMPLETE) {   /* cut short: not a sample of the model */
                r->incomplete[s]++;
                continue;
            }
            r->ids[s][cnt] = lab->children[i];
            texts[cnt++] = c->text;
        }
        compare_stats_from_texts(&r->side[s], texts, cnt, threshold);
        side_token_entropy(&r->side[s], t, r->ids[s], cnt);
        stexts[s] = texts;
        r->name[s] = compare_label_name(t, r->label[s]);
    }
    const char *const *tx[2] = { stexts[0], stexts[1] };
    compare_overrepresented(tx, (const size_t[2]){ r->side[0].n, r->side[1].n }, COMPARE_TERM_MAX,
                            COMPARE_TERM_Z, r->over, r->nover);
    free(stexts[0]);
    free(stexts[1]);
    /* Groups of A and B whose representatives are near-duplicates. */
    const compare_stats *A = &r->side[0], *B = &r->side[1];
    compare_match *cand = NULL;
    size_t ncand = 0, cap = 0;
    merge_text **fb = xmalloc((B->ngroups ? B->ngroups : 1) * sizeof *fb);
    for (size_t b = 0; b < B->ngroups; b++) {
        const tree_node *nb = tree_get(t, r->ids[1][B->groups[b].rep]);
        fb[b] = merge_text_new(nb->text, nb->text_len);
    }
    for (size_t a = 0; a < A->ngroups; a++) {
        const tree_node *na = tree_get(t, r->ids[0][A->groups[a].rep]);
        merge_text *fa = merge_text_new(na->text, na->text_len);
        for (size_t b = 0; b < B->ngroups; b++) {
            double sim = merge_text_similarity(fa, fb[b], threshold);
            if (sim >= threshold) {
                xgrow(&cand, &cap, ncand + 1, sizeof *cand);
                cand[ncand++] = (compare_match){ a, b, sim };
            }
        }
        merge_text_free(fa);
    }
    for (size_t b = 0; b < B->ngroups; b++)
        merge_text_free(fb[b]);
    free(fb);
    if (ncand > 1)              /* qsort(NULL, 0) is undefined */
        qsort(cand, ncand, sizeof *cand, match_order);
    for (size_t i = 0; i < ncand; i++)     /* greedy one-to-one, most similar first */
        if (compare_result_match_of(r, 0, cand[i].a) < 0 && compare_result_match_of(r, 1, cand[i].b) < 0) {
            r->shared = xrealloc(r->shared, (r->nshared + 1) * sizeof *r->shared);
            r->shared[r->nshared++] = cand[i];
        }
    free(cand);
    /* Best first: the outcome both sides fall into most often leads. */
    for (size_t i = 1; i < r->nshared; i++) {
        compare_match m = r->shared[i];
        size_t key = A->groups[m.a].count + B->groups[m.b].count, j = i;
        for (; j > 0; j--) {
            const compare_match *p = &r->shared[j - 1];
            if (A->groups[p->a].count + B->groups[p->b].count >= key)
                break;
            r->shared[j] = *p;
        }
        r->shared[j] = m;
    }
    shared_phrases(r, t);
    return 0;
}

static int phrase_order(const void *x, const void *y)
{
    const compare_phrase *a = x, *b = y;
    size_t ta = a->count[0] + a->count[1], tb = b->count[0] + b->count[1];
    if (ta != tb)
        return ta > tb ? -1 : 1;
    return strcmp(a->text, b->text);
}

/* Phrases on both sides: the samples copied into a scratch tree under two parents, so a
 * phrase attractor reached from two contexts is one that both sides produced. */
static void shared_phrases(compare_result *r, const tree *t)
{
    tree *s = tree_new();
    int32_t root = tree_add_child(s, TREE_NONE, TREE_ORIGIN_PROMPT, "compare", 7);
    int32_t side_node[2];
    size_t base[2];
    for (int k = 0; k < 2; k++) {
        side_node[k] = tree_add_child(s, root, TREE_ORIGIN_EDIT, k ? "B" : "A", 1);
        base[k] = (size_t)tree_capacity(s);
        for (size_t i = 0; i < r->side[k].n; i++) {
            const tree_node *n = tree_get(t, r->ids[k][i]);
            tree_add_child(s, side_node[k], TREE_ORIGIN_MODEL, n->text, n->text_len);
        }
    }
    attractor_index *ai = attractor_index_new(s, MERGE_DEFAULT_THRESHOLD, 2);
    attractor_set_alpha(ai, 1);        /* shared phrases, chance or not: the sides' counts tell */
    const attractor *list;
    size_t n = attractor_list(ai, &list);
    for (size_t i = 0; i < n; i++) {
        if (list[i].kind != ATTRACTOR_PHRASE || list[i].support < 2)
            continue;
        compare_phrase ph = { xstrdup(list[i].text ? list[i].text : ""), { 0, 0 } };
        for (size_t m = 0; m < list[i].nmembers; m++) {
            size_t id = (size_t)list[i].members[m];
            ph.count[id >= base[1]]++;
        }
        if (!ph.count[0] || !ph.count[1]) {
            free(ph.text);
            continue;
        }
        r->phrases = xrealloc(r->phrases, (r->nphrases + 1) * sizeof *r->phrases);
        r->phrases[r->nphrases++] = ph;
    }
    attractor_index_free(ai);
    tree_free(s);
    if (r->nphrases > 1)
        qsort(r->phrases, r->nphrases, sizeof *r->phrases, phrase_order);
}

void compare_result_free(compare_result *r)
{
    for (size_t i = 0; i < r->nphrases; i++)
        free(r->phrases[i].text);
    free(r->phrases);
    for (int s = 0; s < 2; s++) {
        compare_stats_free(&r->side[s]);
        free(r->ids[s]);
        free(r->name[s]);
        compare_terms_free(r->over[s], r->nover[s]);
    }
    free(r->shared);
    free(r->prompt);
    memset(r, 0, sizeof *r);
}
