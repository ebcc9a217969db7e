/* core/formats_export.c — loom, jsonl, md, dot and json out.  See formats.h.
 * Nothing here recurses on the C stack: nested loom JSON is written with an explicit
 * stack, one small jansson object per node. */
#include "core/formats.h"
#include "core/compare.h"
#include "core/formats_int.h"
#include "core/mem.h"
#include "core/text.h"
#include "core/jnul.h"
#include "core/attractor.h"
#include "core/calib.h"
#include "core/merge.h"
#include "core/entropy.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

int formats_out_parse(const char *name, formats_out *out)
{
    static const char *const names[] = { "json", "loom", "jsonl", "md", "dot" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i])) {
            *out = (formats_out)i;
            return 0;
        }
    return -1;
}

/* A logprob as JSON: the shortest decimal that gives the same float back; null for NaN. */
static json_t *lp_json(double lp)
{
    if (isnan(lp))
        return json_null();
    if (!isfinite(lp))
        return json_real(lp < 0 ? -1e30 : 1e30);
    float f = (float)lp;
    char s[32];
    for (int p = 6; p <= 9; p++) {
        snprintf(s, sizeof s, "%.*g", p, (double)f);
        if ((float)strtod(s, NULL) == f)
            break;
    }
    return json_real(strtod(s, NULL));
}

static void dump_into(buf *b, json_t *v)
{
    char *s = json_dumps(v, DUMP_FLAGS | JSON_ENCODE_ANY);
    buf_adds(b, s ? s : "null");
    free(s);
}

static json_t *node_kept(const tree_node *n, const char *key)
{
    return n->extra ? json_object_get((json_t *)n->extra, key) : NULL;
}

/* ---- loom ----------------------------------------------------------------------------- */

static json_t *loom_id(const tree *t, int32_t id)
{
    json_t *v = json_object_get(node_kept(tree_get(t, id), "loom"), "id");
    if (json_is_string(v) || json_is_integer(v))
        return json_incref(v);
    char s[40];
    snprintf(s, sizeof s, "termloom-%d", (int)id);
    return json_string(s);
}

/* Sets "text" and, when the text is not valid UTF-8, "bytes": its exact bytes. */
static void set_text_bytes(json_t *o, const char *s, size_t len)
{
    json_object_set_new(o, "text", jnul_string(s, len));
    if (text_valid(s, len))
        return;
    json_t *b = json_array();
    for (size_t i = 0; i < len; i++)
        json_array_append_new(b, json_integer((unsigned char)s[i]));
    json_object_set_new(o, "bytes", b);
}

static json_t *loom_tokens(const tree_node *n, int form, long long base)
{
    json_t *arr = json_array();
    long long off = base;
    for (uint32_t i = 0; i < n->ntokens; i++) {
        size_t len;
        const char *tx = tree_token_text(n, i, &len);
        long long cps = (long long)fmt_codepoints(tx, len);
        long long end = off > LLONG_MAX - cps ? LLONG_MAX : off + cps;   /* a file's huge base saturates */
        json_t *tok = json_object();
        json_object_set_new(tok, "generatedToken",
                            json_pack("{s:o,s:o}", "token", jnul_string(tx, len), "logprob", lp_json(n->tokens[i].tok.logprob)));
        if (form == 1)
            json_object_set_new(tok, "position", json_integer(end));
        else
            json_object_set_new(tok, "position", json_pack("{s:I,s:I}", "start", (json_int_t)off, "end", (json_int_t)end));
        off = end;
        if (n->tokens[i].ntop) {
            json_t *cf = json_object();
            for (uint32_t j = 0; j < n->tokens[i].ntop; j++) {
                size_t al;
                const char *at = tree_top_text(n, i, j, &al);
                size_t kl;
                char *key = text_valid_copy(at, al, &kl);   /* may hold NUL: set by length */
                if (!json_object_getn(cf, key, kl))
                    json_object_setn_new(cf, key, kl, lp_json(tree_top_logprob(n, i, j)));
                free(key);
            }
            json_object_set_new(tok, "counterfactuals", cf);
        } else {
            json_object_set_new(tok, "counterfactuals", json_null());
        }
        json_array_append_new(arr, tok);
    }
    return arr;
}

/* The fields of one loom node, without children. gen: its "generation" or NULL. */
static json_t *loom_node(const session *s, int32_t id, json_t *gen)
{
    const tree *t = s->t;
    const tree_node *n = tree_get(t, id);
    json_t *kept = node_kept(n, "loom");
    json_t *o = json_object();
    /* a fixed key order, so export → import → export gives the same bytes */
    json_object_set_new(o, "id", loom_id(t, id));
    int32_t p = tree_parent(t, id);
    if (p != TREE_NONE && json_object_get(kept, "parent_id"))
        json_object_set_new(o, "parent_id", loom_id(t, p));
    if (p != TREE_NONE && json_object_get(kept, "parentId"))
        json_object_set_new(o, "parentId", loom_id(t, p));
    json_object_set_new(o, "text", jnul_string(n->text, n->text_len));
    if (n->flags & TREE_FLAG_VISITED)
        json_object_set_new(o, "visited", json_true());
    static const char *const own[] = { "id", "parent_id", "parentId", "text", "visited", "tags",
                                       "meta", "generation", "children", NULL };
    const char *k;
    json_t *v;
    json_object_foreach(kept, k, v) {
        int skip = 0;
        for (const char *const *d = own; *d && !skip; d++)
            skip = !strcmp(k, *d);
        if (!skip)
            json_object_set(o, k, v);
    }
    json_t *tags = json_object_get(kept, "tags");
    json_t *nt = json_is_array(tags) ? json_copy(tags) : json_array();
    if (n->marks & TREE_MARK_BOOKMARK)
        json_array_append_new(nt, json_string("bookmark"));
    if (n->marks & TREE_MARK_ATTRACTOR)
        json_array_append_new(nt, json_string("attractor"));
    if (json_array_size(nt) || json_is_array(tags))
        json_object_set_new(o, "tags", nt);
    else
        json_decref(nt);
    json_t *meta = json_object_get(kept, "meta");
    json_t *m = json_is_object(meta) ? json_copy(meta) : json_object();
    json_t *src = json_object_get(m, "source");
    const char *sv = n->origin == TREE_ORIGIN_MODEL || n->origin == TREE_ORIGIN_FORCED ? "AI"
                   : n->origin == TREE_ORIGIN_PROMPT ? "prompt"
                   : json_is_string(src) && strcmp(json_string_value(src), "AI") &&
                     strcmp(json_string_value(src), "prompt") ? json_string_value(src) : "mixed";
    json_object_set_new(m, "source", json_string(sv));
    if (!json_object_get(m, "creation_timestamp") && n->created > 0) {
        char when[32];
        fmt_loom_time_format(n->created, when, sizeof when);
        json_object_set_new(m, "creation_timestamp", json_string(when));
    }
    json_object_set_new(o, "meta", m);
    if (!gen)
        gen = json_object_get(kept, "generation");
    if (gen)
        json_object_set(o, "generation", gen);
    return o;
}

/* Appends the object o without its closing brace, then ',"children":['. */
static void open_node(buf *b, json_t *o)
{
    char *s = json_dumps(o, DUMP_FLAGS);
    size_t l = strlen(s);
    buf_add(b, s, l - 1);
    buf_adds(b, l > 2 ? ",\"children\":[" : "\"children\":[");
    free(s);
}

static char *export_loom(const session *s, size_t *len)
{
    const tree *t = s->t;
    int32_t cap = tree_capacity(t), root = tree_root(t);
    json_t *top = json_object_get((json_t *)s->extra, "loom");
    json_t *resp = json_object_get(top, "model_responses");
    resp = json_is_object(resp) ? json_deep_copy(resp) : json_object();
    json_t **gens = xcalloc((size_t)(cap ? cap : 1), sizeof *gens);
    /* pass 1: tokens into model_responses */
    tree_iter it;
    tree_iter_init(&it, t, root, TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; ) {
        const tree_node *n = tree_get(t, id);
        if (!n->ntokens)
            continue;
        json_t *g = json_object_get(node_kept(n, "loom"), "generation");
        char *rid = fmt_id_text(json_object_get(g, "id"));
        json_t *ix = json_object_get(g, "index");
        json_t *comp = rid && json_is_integer(ix)
            ? json_array_get(json_object_get(json_object_get(resp, rid), "completions"), (size_t)json_integer_value(ix))
            : NULL;
        if (json_is_object(comp)) {
            json_t *mk = json_object_get(comp, "termloom_tokens");
            json_t *pf = json_object_get(mk, "position");
            int form = json_is_string(pf) && !strcmp(json_string_value(pf), "int") ? 1 : 2;
            long long base = json_is_integer(json_object_get(mk, "base"))
                           ? json_integer_value(json_object_get(mk, "base")) : 0;
            json_object_set_new(comp, "tokens", loom_tokens(n, form, base));
            json_object_del(comp, "termloom_tokens");
            gens[id] = json_incref(g);
        } else {
            char nid[40];
            snprintf(nid, sizeof nid, "termloom-%d", (int)id);
            json_t *c = json_pack("{s:o}", "text", jnul_string(n->text, n->text_len));
            const char *fin = tree_finish(t, id), *model = tree_model(t, id);
            if (fin)
                json_object_set_new(c, "finishReason", json_string(fin));
            json_object_set_new(c, "tokens", loom_tokens(n, 2, 0));   /* last, as on re-export */
            json_t *r = json_pack("{s:s,s:[o]}", "id", nid, "completions", c);
            if (model)
                json_object_set_new(r, "model", json_string(model));
            json_object_set_new(resp, nid, r);
            gens[id] = json_pack("{s:s,s:i}", "id", nid, "index", 0);
        }
        free(rid);
    }
    tree_iter_done(&it);
    /* completions whose node is gone keep no marker */
    const char *k;
    json_t *v;
    json_object_foreach(resp, k, v) {
        json_t *cs = json_object_get(v, "completions");
        for (size_t i = 0; i < json_array_size(cs); i++)
            json_object_del(json_array_get(cs, i), "termloom_tokens");
    }
    /* top level: kept fields, selected node, model_responses, then the root */
    static const char *const drop[] = { "root", "model_responses", "selected_node_id", NULL };
    json_t *head = json_is_object(top) ? fmt_copy_without(top, drop) : json_object();
    if (tree_get(t, s->cursor))
        json_object_set_new(head, "selected_node_id", loom_id(t, s->cursor));
    json_object_set_new(head, "model_responses", resp);
    buf b = {0};
    char *hs = json_dumps(head, DUMP_FLAGS);
    buf_add(&b, hs, strlen(hs) - 1);
    buf_adds(&b, ",\"root\":");
    free(hs);
    json_decref(head);
    /* pass 2: the nested tree, explicit stack of (node, next child) */
    typedef struct { int32_t id; uint32_t next; } frame;
    size_t fcap = 64, sp = 0;
    frame *st = xmalloc(fcap * sizeof *st);
    json_t *o = loom_node(s, root, gens[root]);
    open_node(&b, o);
    json_decref(o);
    st[sp++] = (frame){ root, 0 };
    while (sp) {
        frame *f = &st[sp - 1];
        const tree_node *n = tree_get(t, f->id);
        if (f->next < n->nchildren) {
            int32_t c = n->children[f->next++];
            if (f->next > 1)
                buf_addc(&b, ',');
            o = loom_node(s, c, gens[c]);
            open_node(&b, o);
            json_decref(o);
            xgrow(&st, &fcap, sp + 1, sizeof *st);
            st[sp++] = (frame){ c, 0 };
        } else {
            buf_adds(&b, "]}");
            sp--;
        }
    }
    free(st);
    buf_adds(&b, "}\n");
    for (int32_t i = 0; i < cap; i++)
        if (gens[i])
            json_decref(gens[i]);
    free(gens);
    *len = b.len;
    return buf_steal(&b);
}

/* ---- md ------------------------------------------------------------------------------- */

/* The end of the path md exports when no node is given (see formats.h); *why says which. */
static int32_t md_default_end(const session *s, const char **why)
{
    tree *t = s->t;
    int32_t root = tree_root(t);
    if (tree_get(t, s->cursor) && s->cursor != root) {
        *why = "the cursor";
        return s->cursor;
    }
    int32_t cap = tree_capacity(t), best = root, best_visited = TREE_NONE;
    size_t *depth = xcalloc((size_t)cap + 1, sizeof *depth), dmax = 0, dvis = 0;
    tree_iter it;
    tree_iter_init(&it, t, root, TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;) {
        const tree_node *n = tree_get(t, id);
        size_t d = n->parent == TREE_NONE ? 0 : depth[n->parent] + 1;
        depth[id] = d;
        if (d > dmax || (d == dmax && d && id > best)) {
            dmax = d;
            best = id;
        }
        if (d && (n->flags & TREE_FLAG_VISITED) &&
            (best_visited == TREE_NONE || d > dvis || (d == dvis && id > best_visited))) {
            dvis = d;
            best_visited = id;
        }
    }
    tree_iter_done(&it);
    free(depth);
    if (best_visited != TREE_NONE) {
        *why = "the deepest visited node (the cursor is at the root)";
        return best_visited;
    }
    *why = best == root ? "the cursor" : "the deepest node, the newest of the deepest (the cursor is at the root)";
    return best;
}

static char *export_md(const session *s, int32_t node, size_t *len, char *err, size_t errlen)
{
    if (node != TREE_NONE && !tree_get(s->t, node)) {
        snprintf(err, errlen, "node %d does not exist", (int)node);
        return NULL;
    }
    const char *why = node == s->cursor ? "the cursor" : NULL;
    int32_t id = node != TREE_NONE ? node : md_default_end(s, &why);
    size_t l = 0;
    char *text = tree_path_text(s->t, id, &l);
    buf b = {0};
    size_t depth = tree_depth(s->t, id);
    buf_printf(&b, "<!-- termloom: the path to node #%d (%sdepth %zu)%s%s -->\n", (int)id,
               depth ? "" : "the root, ", depth, why ? ", " : "", why ? why : "");
    buf_add(&b, text, l);
    if (l == 0 || text[l - 1] != '\n')
        buf_addc(&b, '\n');
    free(text);
    *len = b.len;
    return buf_steal(&b);
}

/* ---- jsonl ---------------------------------------------------------------------------- */

static json_t *marks_json(const tree_node *n)
{
    json_t *m = json_array();
    if (n->marks & TREE_MARK_ATTRACTOR)
        json_array_append_new(m, json_string("attractor"));
    if (n->marks & TREE_MARK_BOOKMARK)
        json_array_append_new(m, json_string("bookmark"));
    return m;
}

/* Detected attractors and, per node, the indices of those it belongs to (CSR arrays). */
typedef struct {
    attractor_index *ai;
    const attractor *list;
    size_t n;
    size_t *start;        /* node id → first entry in idx; start[id + 1] ends it */
    int32_t *idx;
} node_attractors;

static void node_attractors_init(node_attractors *na, tree *t, double threshold)
{
    int32_t cap = tree_capacity(t);
    na->ai = attractor_index_new(t, threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    na->n = attractor_list(na->ai, &na->list);
    na->start = xcalloc((size_t)cap + 2, sizeof *na->start);
    size_t total = 0;
    for (size_t k = 0; k < na->n; k++)
        for (size_t m = 0; m < na->list[k].nmembers; m++)
            if (na->list[k].members[m] >= 0 && na->list[k].members[m] < cap) {
                na->start[na->list[k].members[m] + 2]++;
                total++;
            }
    for (int32_t i = 0; i <= cap; i++)
        na->start[i + 1] += na->start[i];
    na->idx = xmalloc((total ? total : 1) * sizeof *na->idx);
    for (size_t k = 0; k < na->n; k++)   /* best first within each node, as listed */
        for (size_t m = 0; m < na->list[k].nmembers; m++)
            if (na->list[k].members[m] >= 0 && na->list[k].members[m] < cap)
                na->idx[na->start[na->list[k].members[m] + 1]++] = (int32_t)k;
}

static json_t *node_attractors_json(const node_attractors *na, int32_t id)
{
    json_t *a = json_array();
    for (size_t i = na->start[id]; i < na->start[id + 1]; i++)
        json_array_append_new(a, json_integer(na->idx[i]));
    return a;
}

static void node_attractors_free(node_attractors *na)
{
    attractor_index_free(na->ai);
    free(na->start);
    free(na->idx);
}

static double threshold_of(const session *s)
{
    return s->settings.merge_threshold > 0 ? s->settings.merge_threshold : MERGE_DEFAULT_THRESHOLD;
}

static char *export_jsonl(const session *s, size_t *len)
{
    tree *t = s->t;
    merge_index *mi = merge_index_new(t, threshold_of(s));
    node_attractors na;
    node_attractors_init(&na, t, threshold_of(s));
    buf b = {0};
    size_t *depths = xcalloc((size_t)tree_capacity(t) + 1, sizeof *depths);   /* parents come first */
    char *sides = xcalloc((size_t)tree_capacity(t) + 1, 1);   /* 'A'/'B' under a compare label */
    tree_iter it;
    tree_iter_init(&it, t, tree_root(t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; ) {
        const tree_node *n = tree_get(t, id);
        size_t depth = n->parent == TREE_NONE ? 0 : depths[n->parent] + 1;
        depths[id] = depth;
        int side = compare_label_side(t, id);
        sides[id] = side ? (char)side : n->parent == TREE_NONE ? 0 : sides[n->parent];
        double sum = 0;
        size_t known = 0;
        for (uint32_t i = 0; i < n->ntokens; i++)
            if (!isnan(n->tokens[i].tok.logprob)) {
                sum += n->tokens[i].tok.logprob;
                known++;
            }
        int32_t group = merge_leader(mi, id);
        json_t *o = json_pack("{s:s,s:i,s:o,s:I,s:s,s:o,s:I,s:o,s:i,s:I,s:o}",
                              "type", "node", "id", (int)id,
                              "parent", n->parent == TREE_NONE ? json_null() : json_integer(n->parent),
                              "depth", (json_int_t)depth, "origin", tree_origin_name((tree_origin)n->origin),
                              "text", jnul_string(n->text, n->text_len),
                              "ntokens", (json_int_t)n->ntokens,
                              "logprob", known ? lp_json(sum) : json_null(),
                              "group", (int)group, "group_size", (json_int_t)merge_count(mi, id),
                              "marks", marks_json(n));
        json_object_set_new(o, "model", tree_model(t, id) ? json_string(tree_model(t, id)) : json_null());
        json_object_set_new(o, "finish_reason", tree_finish(t, id) ? json_string(tree_finish(t, id)) : json_null());
        json_object_set_new(o, "children", json_integer(n->nchildren));
        entropy_node_interval_t ni;   /* mean token entropy as an interval (null: unknown) */
        entropy_node_interval(n, n->vocab, &ni);
        json_object_set_new(o, "entropy_lower", ni.ntokens ? lp_json(ni.lower) : json_null());
        json_object_set_new(o, "entropy_upper", ni.ntokens ? lp_json(ni.upper) : json_null());
        json_object_set_new(o, "vocab", n->vocab ? json_integer(n->vocab) : json_null());
        json_object_set_new(o, "attractors", node_attractors_json(&na, id));
        json_object_set_new(o, "side", sides[id] ? json_stringn(&sides[id], 1) : json_null());
        calib_result cr;        /* its children's first tokens against their prediction */
        if (calib_node(t, mi, id, &cr) == 0) {
            json_object_set_new(o, "calibration", calib_json(&cr, 1));
            calib_result_free(&cr);
        } else
            json_object_set_new(o, "calibration", json_null());
        dump_into(&b, o);
        buf_addc(&b, '\n');
        json_decref(o);
        for (uint32_t i = 0; i < n->ntokens; i++) {
            size_t tl;
            const char *tx = tree_token_text(n, i, &tl);
            json_t *top = json_array();
            for (uint32_t j = 0; j < n->tokens[i].ntop; j++) {
                size_t al;
                const char *at = tree_top_text(n, i, j, &al);
                json_t *alt = json_object();
                set_text_bytes(alt, at, al);
                json_object_set_new(alt, "logprob", lp_json(tree_top_logprob(n, i, j)));
                json_array_append_new(top, alt);
            }
            json_t *tk = json_pack("{s:s,s:i,s:I,s:I}", "type", "token", "node", (int)id,
                                   "index", (json_int_t)i, "depth", (json_int_t)depth);
            set_text_bytes(tk, tx, tl);
            json_object_set_new(tk, "logprob", lp_json(n->tokens[i].tok.logprob));
            json_object_set_new(tk, "top", top);
            json_object_set_new(tk, "group", json_integer(group));
            json_object_set_new(tk, "attractors", node_attractors_json(&na, id));
            entropy_interval iv;
            entropy_token_interval(n, i, n->vocab, &iv);
            json_object_set_new(tk, "entropy_lower", lp_json(iv.lower));
            json_object_set_new(tk, "entropy_upper", lp_json(iv.upper));
            /* log p(this side) - log p(other side) at this token, where compare scored it */
            json_t *lr = n->extra ? json_object_get(n->extra, "logratio") : NULL;
            if (json_array_size(lr) == n->ntokens && json_is_number(json_array_get(lr, i)))
                json_object_set_new(tk, "logratio", json_real(json_number_value(json_array_get(lr, i))));
            dump_into(&b, tk);
            buf_addc(&b, '\n');
            json_decref(tk);
        }
    }
    tree_iter_done(&it);
    /* one line per detected attractor, best first; "id" is what node lines refer to */
    for (size_t k = 0; k < na.n; k++) {
        const attractor *at = &na.list[k];
        json_t *mem = json_array();
        for (size_t m = 0; m < at->nmembers; m++)
            json_array_append_new(mem, json_integer(at->members[m]));
        json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:I,s:f,s:f,s:o}", "type", "attractor",
                              "id", (json_int_t)k,
                              "kind", at->kind == ATTRACTOR_PHRASE ? "phrase" : "continuation",
                              "text", at->text ? at->text : "", "support", (json_int_t)at->support,
                              "prob", at->prob, "score", at->score, "members", mem);
        if (at->kind == ATTRACTOR_PHRASE) {       /* the chance null's figures */
            json_object_set_new(o, "expected", json_real(at->expected));
            json_object_set_new(o, "p_value", json_real(at->log10_p < -300 ? 0 : pow(10, at->log10_p)));
        }
        dump_into(&b, o);
        buf_addc(&b, '\n');
        json_decref(o);
    }
    free(depths);
    free(sides);
    node_attractors_free(&na);
    merge_index_free(mi);
    if (!b.data)
        buf_adds(&b, "");
    *len = b.len;
    return buf_steal(&b);
}

/* ---- dot ------------------------------------------------------------------------------ */

/* A label: at most ~48 characters of text, escaped for a DOT quoted string. */
static void dot_label(buf *b, const char *s, size_t len)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80 && ++chars > 48) {
            buf_adds(b, "…");
            return;
        }
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c == '\n')
            buf_adds(b, "\\n");
        else if (c < 0x20 || c == 0x7F)
            buf_addc(b, ' ');
        else
            buf_addc(b, (char)c);
    }
}

static char *export_dot(const session *s, size_t *len)
{
    tree *t = s->t;
    static const char *const palette[] = { "#ffd966", "#b6d7a8", "#d5a6bd", "#f9cb9c", "#a2c4c9", "#b4a7d6" };
    merge_index *mi = merge_index_new(t, threshold_of(s));
    node_attractors na;
    node_attractors_init(&na, t, threshold_of(s));
    buf b = {0};
    buf_adds(&b, "digraph termloom {\n  graph [rankdir=LR];\n"
                 "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\"];\n");
    tree_iter it;
    tree_iter_init(&it, t, tree_root(t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; ) {
        const tree_node *n = tree_get(t, id);
        size_t cnt = merge_count(mi, id);
        int leader = merge_leader(mi, id) == id;
        buf_printf(&b, "  n%d [label=\"", (int)id);
        if (cnt > 1 && leader)
            buf_printf(&b, "×%zu  ", cnt);
        dot_label(&b, n->text, n->text_len);
        size_t na0 = na.start[id], na1 = na.start[id + 1];
        if (na1 > na0)    /* detected attractors: ◆ and the attractor's number */
            buf_printf(&b, "  ◆%d", (int)na.idx[na0] + 1);     /* numbered from 1, as the TUI does */
        buf_adds(&b, "\"");
        if (n->marks & TREE_MARK_ATTRACTOR)
            buf_adds(&b, ", fillcolor=\"#f4a6a6\", penwidth=2");
        else if (na1 > na0)
            buf_printf(&b, ", fillcolor=\"%s\"", palette[na.idx[na0] % (int32_t)(sizeof palette / sizeof *palette)]);
        else if (cnt > 1)
            buf_adds(&b, leader ? ", fillcolor=\"#cfe2f3\"" : ", fillcolor=\"#eef4fa\", style=\"rounded,filled,dashed\"");
        if (n->marks & TREE_MARK_BOOKMARK)
            buf_adds(&b, ", penwidth=2");
        buf_adds(&b, "];\n");
        if (n->parent != TREE_NONE)
            buf_printf(&b, "  n%d -> n%d;\n", (int)n->parent, (int)id);
    }
    tree_iter_done(&it);
    buf_adds(&b, "}\n");
    node_attractors_free(&na);
    merge_index_free(mi);
    *len = b.len;
    return buf_steal(&b);
}

char *formats_export(const session *s, formats_out f, int32_t node, size_t *len,
                     char *err, size_t errlen)
{
    size_t l = 0;
    if (!len)
        len = &l;
    if (!s->t || tree_root(s->t) == TREE_NONE) {
        snprintf(err, errlen, "the session has no nodes");
        return NULL;
    }
    switch (f) {
    case FORMATS_OUT_JSON:  return session_dump(s, len);
    case FORMATS_OUT_LOOM:  return export_loom(s, len);
    case FORMATS_OUT_JSONL: return export_jsonl(s, len);
    case FORMATS_OUT_MD:    return export_md(s, node, len, err, errlen);
    case FORMATS_OUT_DOT:   return export_dot(s, len);
    }
    snprintf(err, errlen, "unknown export format");
    return NULL;
}
