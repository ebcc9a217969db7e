/* core/formats_loom.c — socketteer/loom tree JSON in.  See formats.h.
 *
 * What is kept where, so that the loom export gives it back:
 *   node->extra {"loom": {every node field but children/text/visited/legacy bookmark,
 *                         "tags" without "bookmark"/"attractor" (those are the marks)}}
 *   session extra {"loom": {every top-level field but "root"; model_responses whose
 *                  completions were joined to a node lose "tokens" (the node holds them)
 *                  and get "termloom_tokens": {"position": "int"|"range", "base": N}}}. */
#include "core/formats_int.h"
#include "core/jnul.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    json_t *node;
    int32_t parent;          /* record index, or FMT_PARENT_KEY for top-level list items */
} walk_item;

typedef struct {
    json_t   *comp;            /* a completion a node took its tokens from */
    int       form;
    long long base;
} joined;

static int cmp_alt(const void *a, const void *b)
{
    double x = ((const tree_alt *)a)->logprob, y = ((const tree_alt *)b)->logprob;
    return (x < y) - (x > y);
}

static int num_or_null(json_t *v, double *out)
{
    if (json_is_null(v) || !v) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

/* counterfactuals: {token: logprob}, a list of such objects, or null. */
static int collect_alts(json_t *cf, tree_alt **alts, size_t *n, size_t *cap, buf *pool)
{
    *n = 0;
    buf_clear(pool);
    if (!cf || json_is_null(cf))
        return 0;
    json_t *one = cf;
    size_t parts = json_is_array(cf) ? json_array_size(cf) : 1;
    if (!json_is_array(cf) && !json_is_object(cf))
        return -1;
    for (size_t p = 0; p < parts; p++) {
        if (json_is_array(cf))
            one = json_array_get(cf, p);
        if (json_is_null(one))
            continue;
        if (!json_is_object(one))
            return -1;
        const char *k;
        json_t *v;
        json_object_foreach(one, k, v) {
            double lp;
            if (num_or_null(v, &lp) < 0)
                return -1;
            size_t kl;
            char *key = jnul_key(k, &kl);          /* a NUL token is a key too */
            xgrow(alts, cap, *n + 1, sizeof **alts);
            /* the text is an offset into pool until every key is in (pool may move) */
            (*alts)[(*n)++] = (tree_alt){ (const char *)(uintptr_t)pool->len, kl, lp };
            buf_add(pool, key, kl);
            free(key);
        }
    }
    for (size_t i = 0; i < *n; i++)
        (*alts)[i].text = pool->data ? pool->data + (uintptr_t)(*alts)[i].text : "";
    qsort(*alts, *n, sizeof **alts, cmp_alt);
    return 0;
}

/* model_responses[..].completions[i].tokens → node tokens.  *form 1 = integer positions,
 * 2 = {start,end}; *base the offset before the first token. */
/* Logprobs above 0 (a probability over 1) are read as 0 by the tree: counted for the
 * summary line, once per token that had one. */
#define POSITIVE_NOTE "a logprob above 0 (a probability over 1) read as 0"
static void note_positive(fmt_recs *rs, double lp, const tree_alt *alts, size_t nalts, const char *node)
{
    int pos = lp > 0;
    for (size_t i = 0; i < nalts && !pos; i++)
        pos = alts[i].logprob > 0;
    if (pos)
        fmt_note(rs, POSITIVE_NOTE, "token", node);
}

/* A node whose tokens are malformed keeps its text and loses its tokens only; the problem
 * is counted for the import's summary line.  Returns 0: the file goes on. */
static int drop_tokens(fmt_recs *rs, tree *t, int32_t id, const char *what, const char *node)
{
    tree_clear_tokens(t, id);
    fmt_note(rs, what, "node", node);
    return 0;
}

static int add_tokens(fmt_recs *rs, tree *t, int32_t id, json_t *tokens, const char *node,
                      int *form, long long *base)
{
    tree_alt *alts = NULL;
    size_t nalts, cap = 0;
    buf pool = {0};
    *form = 0;
    *base = 0;
    if (!json_is_array(tokens))
        return drop_tokens(rs, t, id, "tokens left out, they are not a list", node);
    for (size_t i = 0; i < json_array_size(tokens); i++) {
        json_t *tk = json_array_get(tokens, i);
        json_t *gt = json_object_get(tk, "generatedToken");
        json_t *text = json_object_get(gt, "token");
        double lp;
        if (!json_is_object(tk) || !json_is_object(gt) || !json_is_string(text)) {
            free(alts);
            buf_free(&pool);
            return drop_tokens(rs, t, id, "tokens left out, a generatedToken.token is missing or not a string", node);
        }
        if (num_or_null(json_object_get(gt, "logprob"), &lp) < 0) {
            free(alts);
            buf_free(&pool);
            return drop_tokens(rs, t, id, "tokens left out, a generatedToken.logprob is not a number", node);
        }
        if (collect_alts(json_object_get(tk, "counterfactuals"), &alts, &nalts, &cap, &pool) < 0) {
            free(alts);
            buf_free(&pool);
            return drop_tokens(rs, t, id, "tokens left out, counterfactuals are not an object of token: logprob", node);
        }
        json_t *pos = json_object_get(tk, "position");
        if (i == 0) {
            if (json_is_integer(pos)) {
                *form = 1;
                *base = json_integer_value(pos) -
                        (long long)fmt_codepoints(json_string_value(text), json_string_length(text));
            } else if (json_is_integer(json_object_get(pos, "start"))) {
                *form = 2;
                *base = json_integer_value(json_object_get(pos, "start"));
            }
        }
        if (pos && !json_is_null(pos) && !json_is_integer(pos) &&
            !(json_is_object(pos) && json_is_integer(json_object_get(pos, "start")) &&
              json_is_integer(json_object_get(pos, "end")))) {
            free(alts);
            buf_free(&pool);
            return drop_tokens(rs, t, id, "tokens left out, a position is neither an integer nor {start, end}", node);
        }
        note_positive(rs, lp, alts, nalts, node);
        tree_append_token(t, id, json_string_value(text), json_string_length(text), lp, alts, nalts, 0);
    }
    free(alts);
    buf_free(&pool);
    return 0;
}

size_t fmt_loom_tokens_into(tree_node *n, const fmt_loom_spans *sp, const fmt_lspan *span,
                            int *form, long long *base)
{
    tree_alt *alts = NULL;
    size_t cap = 0, positive = 0;
    *form = span->ntok ? span->pos_form : 0;
    *base = 0;
    size_t ntops = 0, pool = 0;
    for (size_t i = 0; i < span->ntok; i++) {
        const fmt_ltok *tk = &sp->t[span->tok0 + i];
        ntops += tk->nalt;
        pool += tk->len + 1;
        for (size_t j = 0; j < tk->nalt; j++)
            pool += sp->a[tk->alt0 + j].len + 1;
    }
    tree_node_reserve_tokens(n, span->ntok, ntops, pool);
    for (size_t i = 0; i < span->ntok; i++) {
        const fmt_ltok *tk = &sp->t[span->tok0 + i];
        if (i == 0 && *form == 1)
            *base = span->pos - (long long)fmt_codepoints(sp->pool + tk->off, tk->len);
        else if (i == 0 && *form == 2)
            *base = span->pos;
        xgrow(&alts, &cap, tk->nalt ? tk->nalt : 1, sizeof *alts);
        int pos = tk->lp > 0;
        for (size_t j = 0; j < tk->nalt; j++) {
            const fmt_lalt *a = &sp->a[tk->alt0 + j];
            alts[j] = (tree_alt){ sp->pool + a->off, a->len, a->lp };
            pos |= a->lp > 0;
        }
        positive += pos;
        size_t desc = 1;                 /* strictly falling already (as loom writes them) */
        while (desc < tk->nalt && alts[desc - 1].logprob > alts[desc].logprob)
            desc++;
        if (desc < tk->nalt)
            qsort(alts, tk->nalt, sizeof *alts, cmp_alt);
        tree_node_append_token(n, sp->pool + tk->off, tk->len, tk->lp, alts, tk->nalt);
    }
    free(alts);
    return positive;
}

/* Tokens made by fmt_loom_tokens_into (here or on the helper thread) given to node id, with
 * the summary's count of logprobs above 0 (see note_positive). */
static void give_tokens(fmt_recs *rs, tree *t, int32_t id, tree_node *made, size_t positive,
                        const char *node)
{
    tree_take_tokens(t, id, made);
    for (size_t i = 0; i < positive; i++)
        fmt_note(rs, POSITIVE_NOTE, "token", node);
}

/* add_tokens for a list the strict parser read (core/formats_loom_fast.c): the same tokens,
 * alternatives in the same order, the same notes. */
static void add_cut_tokens(fmt_recs *rs, tree *t, int32_t id, const fmt_loom_spans *sp,
                           const fmt_lspan *span, const char *node, int *form, long long *base)
{
    tree_node made = {0};
    size_t positive = fmt_loom_tokens_into(&made, sp, span, form, base);
    give_tokens(rs, t, id, &made, positive, node);
}

/* The kept model_responses get back the token lists no node took (cut out by the split). */
static void restore_cut_tokens(json_t *kept_resp, const fmt_loom_spans *sp)
{
    const char *k;
    json_t *resp;
    json_object_foreach(kept_resp, k, resp) {
        json_t *comps = json_object_get(resp, "completions"), *comp;
        size_t i;
        json_array_foreach(comps, i, comp) {
            json_t *tk = json_object_get(comp, "tokens");
            if (json_is_integer(tk) && json_integer_value(tk) >= 0 && (size_t)json_integer_value(tk) < sp->n) {
                json_t *v = fmt_loom_span_json(sp, (size_t)json_integer_value(tk));
                if (v)
                    json_object_set_new(comp, "tokens", v);
            }
        }
    }
}

/* meta.generation.logprobs in OpenAI's legacy shape. */
static int add_legacy(fmt_recs *rs, tree *t, int32_t id, json_t *lps, const char *node)
{
    json_t *toks = json_object_get(lps, "tokens"), *lp = json_object_get(lps, "token_logprobs");
    json_t *top = json_object_get(lps, "top_logprobs");
    /* top_logprobs may be [], null or shorter than tokens (about one in six of loom's own
     * trees): the tokens and their logprobs are kept, with whatever alternatives exist. */
    if (!json_is_array(toks) || !json_is_array(lp) || json_array_size(toks) != json_array_size(lp))
        return drop_tokens(rs, t, id, "tokens left out, meta.generation.logprobs needs lists tokens and "
                           "token_logprobs of the same length", node);
    if (!json_is_array(top))
        top = NULL;
    tree_alt *alts = NULL;
    size_t nalts, cap = 0;
    buf pool = {0};
    for (size_t i = 0; i < json_array_size(toks); i++) {
        json_t *tx = json_array_get(toks, i);
        double l;
        if (!json_is_string(tx) || num_or_null(json_array_get(lp, i), &l) < 0 ||
            collect_alts(top ? json_array_get(top, i) : NULL, &alts, &nalts, &cap, &pool) < 0) {
            free(alts);
            buf_free(&pool);
            return drop_tokens(rs, t, id, "tokens left out, a token in meta.generation.logprobs is malformed", node);
        }
        note_positive(rs, l, alts, nalts, node);
        tree_append_token(t, id, json_string_value(tx), json_string_length(tx), l, alts, nalts, 0);
    }
    free(alts);
    buf_free(&pool);
    return 0;
}

static void apply_settings(json_t *doc, gen_settings *s)
{
    json_t *gs = json_object_get(json_object_get(doc, "frame"), "generation_settings");
    static const char *const map[][2] = {
        { "model", "model" }, { "temperature", "temperature" }, { "top_p", "top_p" },
        { "num_continuations", "branches" }, { "response_length", "max_tokens" },
        { "logprobs", "logprobs" },
    };
    if (!json_is_object(gs))
        return;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        json_t *v = json_object_get(gs, map[i][0]);
        char val[64], err[128];
        if (json_is_string(v))
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(val, sizeof val, "%.17g", json_real_value(v));
        else
            continue;
        /* The loom's model is a server's: the builtin backend runs models of its own (the
         * nodes still record which model wrote them). */
        if (!strcmp(map[i][1], "model") && (!s->backend || !strcmp(s->backend, "builtin")))
            continue;
        (void)settings_set(s, map[i][1], val, err, sizeof err);   /* a hint only */
    }
}

static json_t *kept_node_fields(json_t *node)
{
    static const char *const drop[] = { "children", "text", "visited", "bookmark", NULL };
    json_t *kept = fmt_copy_without(node, drop);
    json_t *tags = json_object_get(node, "tags");
    if (json_is_array(tags)) {
        json_t *rest = json_array();
        for (size_t i = 0; i < json_array_size(tags); i++) {
            json_t *g = json_array_get(tags, i);
            if (!(json_is_string(g) && (!strcmp(json_string_value(g), "bookmark") ||
                                        !strcmp(json_string_value(g), "attractor"))))
                json_array_append(rest, g);
        }
        json_object_set_new(kept, "tags", rest);
    }
    return kept;
}

int fmt_loom_node(fmt_recs *rs, size_t idx, json_t *node, int32_t parent)
{
    json_t *id = json_object_get(node, "id"), *text = json_object_get(node, "text");
    json_t *kids = json_object_get(node, "children");
    fmt_rec *r = &rs->r[idx];
    r->obj = node;
    r->key = fmt_id_text(id);
    const char *nm = r->key ? r->key : "(no id)";
    if (id && !json_is_null(id) && !r->key)
        return fmt_fail(rs, "node %zu: id is neither a string nor an integer", idx + 1);
    if (text && !json_is_null(text) && !json_is_string(text))
        return fmt_fail(rs, "node \"%s\": text is not a string", nm);
    if (kids && !json_is_null(kids) && !json_is_array(kids))
        return fmt_fail(rs, "node \"%s\": children is not a list", nm);
    if (json_is_string(text)) {
        r->text = xstrndup(json_string_value(text), json_string_length(text));
        r->len = json_string_length(text);
    }
    r->parent = parent;
    if (parent == FMT_PARENT_KEY) {
        json_t *p = json_object_get(node, "parent_id");
        if (!p || json_is_null(p))
            p = json_object_get(node, "parentId");
        r->pkey = fmt_id_text(p);
    }
    json_t *tags = json_object_get(node, "tags");
    for (size_t i = 0; json_is_array(tags) && i < json_array_size(tags); i++) {
        json_t *g = json_array_get(tags, i);
        if (json_is_string(g) && !strcmp(json_string_value(g), "bookmark"))
            r->marks |= TREE_MARK_BOOKMARK;
        if (json_is_string(g) && !strcmp(json_string_value(g), "attractor"))
            r->marks |= TREE_MARK_ATTRACTOR;
    }
    if (json_is_true(json_object_get(node, "bookmark")))
        r->marks |= TREE_MARK_BOOKMARK;
    if (json_is_true(json_object_get(node, "visited")))
        r->flags |= TREE_FLAG_VISITED;
    json_t *meta = json_object_get(node, "meta");
    json_t *src = json_object_get(meta, "source");
    const char *sv = json_is_string(src) ? json_string_value(src) : "";
    if (!strcmp(sv, "AI"))
        r->origin = TREE_ORIGIN_MODEL;
    else if (!strcmp(sv, "prompt"))
        r->origin = TREE_ORIGIN_PROMPT;
    else if (*sv)
        r->origin = TREE_ORIGIN_EDIT;
    else
        r->origin = json_is_object(json_object_get(node, "generation")) ? TREE_ORIGIN_MODEL
                                                                       : TREE_ORIGIN_PROMPT;
    /* legacy logprobs become node tokens; drop them from the kept copy */
    json_t *gen = json_object_get(meta, "generation");
    int legacy = json_is_object(json_object_get(gen, "logprobs"));
    /* a node with nothing to leave out (as the scanner gives them) is kept as it is */
    json_t *kept = !legacy && !text && !kids && !tags && !json_object_get(node, "visited") &&
                   !json_object_get(node, "bookmark") ? json_incref(node) : kept_node_fields(node);
    if (legacy) {
        json_t *m2 = json_copy(meta), *g2 = json_copy(gen);
        json_object_del(g2, "logprobs");
        json_object_set_new(m2, "generation", g2);
        json_object_set_new(kept, "meta", m2);
    }
    r->extra = json_object();
    json_object_set_new(r->extra, "loom", kept);
    return 0;
}

static int parse_nodes(json_t *start, fmt_recs *rs)
{
    size_t cap = 64, sp = 0;
    walk_item *st = xmalloc(cap * sizeof *st);
    if (json_is_array(start)) {
        for (size_t i = json_array_size(start); i > 0; i--) {
            xgrow(&st, &cap, sp + 1, sizeof *st);
            st[sp++] = (walk_item){ json_array_get(start, i - 1), FMT_PARENT_KEY };
        }
    } else {
        st[sp++] = (walk_item){ start, -1 };
    }
    while (sp) {
        walk_item w = st[--sp];
        size_t idx = rs->n;
        if (!json_is_object(w.node)) {
            free(st);
            return fmt_fail(rs, "node %zu is not a JSON object", idx + 1);
        }
        fmt_rec_add(rs);
        if (fmt_loom_node(rs, idx, w.node, w.parent) < 0) {
            free(st);
            return FORMATS_ERR_INPUT;
        }
        json_t *kids = json_object_get(w.node, "children");
        for (size_t i = json_array_size(kids); i > 0; i--) {
            xgrow(&st, &cap, sp + 1, sizeof *st);
            st[sp++] = (walk_item){ json_array_get(kids, i - 1), (int32_t)idx };
        }
    }
    free(st);
    return 0;
}

int fmt_import_loom(json_t *doc, fmt_recs *rs, fmt_out *out)
{
    json_t *root = json_is_object(doc) ? json_object_get(doc, "root") : NULL;
    int rc = parse_nodes(json_is_object(root) ? root : doc, rs);
    return rc < 0 ? rc : fmt_loom_convert(doc, json_is_object(root), rs, out);
}

int fmt_loom_convert(json_t *doc, int rooted, fmt_recs *rs, fmt_out *out)
{
    json_t *responses = rooted ? json_object_get(doc, "model_responses") : NULL;
    /* The kept model_responses are the document's own: what changes in them (a joined
     * completion's "tokens" become "termloom_tokens") is changed after the join has read
     * them all, in the order the nodes joined them. */
    json_t *kept_resp = json_is_object(responses) ? json_incref(responses) : NULL;
    joined *jn = NULL;
    size_t njn = 0, capjn = 0;
    fmt_loom_spans one = {0};                  /* the lazy list being read */
    int rc = fmt_index(rs);
    if (rc == 0)
        rc = fmt_build(rs, out->t, "loom");
    for (int32_t id = 0; rc == 0 && id < tree_capacity(out->t); id++) {
        fmt_rec *r = &rs->r[rs->id2rec[id]];
        if (!r->obj)
            continue;
        json_t *ct = json_object_get(json_object_get(r->obj, "meta"), "creation_timestamp");
        int64_t when = json_is_string(ct) ? fmt_loom_time_parse(json_string_value(ct)) : -1;
        if (when >= 0)
            tree_get(out->t, id)->created = when;
        const char *nm = r->key ? r->key : "(no id)";
        json_t *gen = json_object_get(r->obj, "generation");
        char *rid = fmt_id_text(json_object_get(gen, "id"));
        json_t *ix = json_object_get(gen, "index");
        json_t *resp = rid ? json_object_get(responses, rid) : NULL;
        json_t *comp = json_is_integer(ix) ? json_array_get(json_object_get(resp, "completions"),
                                                            (size_t)json_integer_value(ix)) : NULL;
        if (json_is_object(comp) && json_object_get(comp, "tokens")) {
            int form;
            long long base;
            json_t *toks = json_object_get(comp, "tokens");
            fmt_loom_spans *sp = out->loom_spans;
            const fmt_lspan *span = sp && json_is_integer(toks) && json_integer_value(toks) >= 0 &&
                                    (size_t)json_integer_value(toks) < sp->n
                                  ? &sp->s[json_integer_value(toks)] : NULL;
            fmt_lspan read;
            tree_node made = {0};
            size_t positive;
            int how = !span || !span->lazy ? -2
                    : fmt_loom_pre_take(sp, (size_t)json_integer_value(toks), &made, &form, &base, &positive) ? 2
                    : fmt_loom_span_read(sp, (size_t)json_integer_value(toks), &one, &read);
            if (how == -1) {                             /* not JSON: the whole document's error */
                free(rid);
                rc = fmt_fail(rs, "a token list is not valid JSON");
                break;
            }
            if (how == 2) {                              /* made on the helper thread */
                give_tokens(rs, out->t, id, &made, positive, nm);
                rc = 0;
            } else if (how == 1) {
                add_cut_tokens(rs, out->t, id, &one, &read, nm, &form, &base);
                rc = 0;
            } else if (span && span->fast) {
                add_cut_tokens(rs, out->t, id, sp, span, nm, &form, &base);
                rc = 0;
            } else
                rc = add_tokens(rs, out->t, id, span ? span->json : toks, nm, &form, &base);
            if (rc == 0) {
                xgrow(&jn, &capjn, njn + 1, sizeof *jn);
                jn[njn++] = (joined){ comp, form, base };
            }
            json_t *fr = json_object_get(comp, "finishReason");
            if (json_is_object(fr))
                fr = json_object_get(fr, "reason");
            if (json_is_string(fr))
                tree_set_finish(out->t, id, json_string_value(fr));
            if (json_is_string(json_object_get(resp, "model")))
                tree_set_model(out->t, id, json_string_value(json_object_get(resp, "model")));
        } else {
            json_t *mg = json_object_get(json_object_get(r->obj, "meta"), "generation");
            json_t *lps = json_object_get(mg, "logprobs");
            if (json_is_object(lps))
                rc = add_legacy(rs, out->t, id, lps, nm);
            if (json_is_string(json_object_get(mg, "model")))
                tree_set_model(out->t, id, json_string_value(json_object_get(mg, "model")));
            if (json_is_string(json_object_get(mg, "finish_reason")))
                tree_set_finish(out->t, id, json_string_value(json_object_get(mg, "finish_reason")));
        }
        free(rid);
        tree_node *nd = tree_get(out->t, id);
        if (rc == 0 && nd->ntokens && !nd->finish)   /* a finish reason trimmed it already */
            tree_node_trim(nd);
    }
    fmt_loom_spans_free(&one);
    if (out->loom_spans)
        fmt_loom_pre_stop(out->loom_spans);
    if (rc == 0 && out->loom_spans && fmt_loom_spans_check(out->loom_spans) < 0)
        rc = fmt_fail(rs, "a token list is not valid JSON");
    for (size_t i = 0; rc == 0 && i < njn; i++)
        if (json_object_get(jn[i].comp, "tokens")) {     /* the first node to join it */
            json_object_del(jn[i].comp, "tokens");
            json_t *tt = json_object();                  /* (json_pack costs more here) */
            json_object_set_new(tt, "position", json_string(jn[i].form == 1 ? "int" : "range"));
            json_object_set_new(tt, "base", json_integer((json_int_t)jn[i].base));
            json_object_set_new(jn[i].comp, "termloom_tokens", tt);
        }
    free(jn);
    if (rc == 0 && rooted) {
        static const char *const drop[] = { "root", NULL };
        json_t *top = fmt_copy_without(doc, drop);
        if (kept_resp && out->loom_spans)
            restore_cut_tokens(kept_resp, out->loom_spans);
        if (kept_resp)
            json_object_set(top, "model_responses", kept_resp);
        json_object_set_new(out->extra, "loom", top);
        apply_settings(doc, out->settings);
        char *sel = fmt_id_text(json_object_get(doc, "selected_node_id"));
        int32_t ri = fmt_find(rs, sel);
        if (ri >= 0)
            out->cursor = rs->r[ri].id;
        free(sel);
    }
    if (kept_resp)
        json_decref(kept_resp);
    return rc;
}
