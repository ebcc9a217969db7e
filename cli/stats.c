/* cli/stats.c — `termloom stats [--json] SESSION.json`: the shape of the tree and its
 * entropy figures.
 *
 * The report is built once as a JSON object, section by section (the table `sections`
 * below); --json prints that object, the text form is printed from the same object.  A new
 * analysis is one more function in the table, and both outputs show it. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/attractor.h"
#include "core/calib.h"
#include "core/compare.h"
#include "core/entropy.h"
#include "core/merge.h"
#include "core/mem.h"
#include "core/session.h"
#include "core/stat.h"
#include "core/text.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] = "usage: termloom stats [--json] SESSION.json [--merge-threshold X]";

/* A real, or null when the figure does not exist (NaN). */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* {"value", "low", "high"}: a figure and its 95% bootstrap interval (core/stat). */
static json_t *ci_json(double value, double lo, double hi)
{
    return json_pack("{s:o,s:o,s:o}", "value", num_or_null(value), "low", num_or_null(lo),
                     "high", num_or_null(hi));
}

/* per node: Σ token entropy and tokens, resampled over nodes (a token-weighted mean) */
typedef struct { double *sum; size_t *n; } tok_samples;

static double f_token_mean(const size_t *idx, size_t n, void *ud)
{
    const tok_samples *d = ud;
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        s += d->sum[idx[i]], c += d->n[idx[i]];
    return c ? s / (double)c : NAN;
}

/* Depth of every live node (BFS from the root; no recursion). */
static size_t *node_depths(const tree *t, int32_t root)
{
    size_t *depth = xcalloc((size_t)tree_capacity(t) + 1, sizeof *depth);
    tree_iter it;
    tree_iter_init(&it, t, root, TREE_BFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; ) {
        int32_t p = tree_get(t, id)->parent;
        depth[id] = p == TREE_NONE ? 0 : depth[p] + 1;
    }
    tree_iter_done(&it);
    return depth;
}

/* ---- sections ---- */

static void section_shape(json_t *rep, const session *s, merge_index *m)
{
    const tree *t = s->t;
    int32_t root = tree_root(t);
    size_t ntok = 0;
    for (int32_t id = 0; id < tree_capacity(t); id++)
        if (tree_get(t, id))
            ntok += tree_get(t, id)->ntokens;
    json_object_set_new(rep, "nodes", json_integer((json_int_t)tree_count(t)));
    json_object_set_new(rep, "depth", json_integer((json_int_t)tree_max_depth(t)));
    json_object_set_new(rep, "leaves", json_integer((json_int_t)tree_leaves(t)));
    json_object_set_new(rep, "tokens", json_integer((json_int_t)ntok));
    /* branching per level: mean children of the non-leaf nodes at each depth */
    json_t *levels = json_array();
    if (root != TREE_NONE) {
        size_t maxd = tree_max_depth(t);
        size_t *depth = node_depths(t, root);
        size_t *internal = xcalloc(maxd + 1, sizeof *internal), *children = xcalloc(maxd + 1, sizeof *children);
        for (int32_t id = 0; id < tree_capacity(t); id++) {
            const tree_node *n = tree_get(t, id);
            if (n && n->nchildren) {
                internal[depth[id]]++;
                children[depth[id]] += n->nchildren;
            }
        }
        for (size_t d = 0; d <= maxd; d++) {
            if (!internal[d])
                continue;
            json_array_append_new(levels, json_pack("{s:I,s:I,s:f}", "depth", (json_int_t)d,
                                  "internal_nodes", (json_int_t)internal[d],
                                  "mean_children", (double)children[d] / (double)internal[d]));
        }
        free(depth), free(internal), free(children);
    }
    json_object_set_new(rep, "branching", levels);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* How many different generation settings made the generated nodes (each node's "request"
 * without its seed, choice and time): the figures below pool them, and say so. */
static void section_settings(json_t *rep, const session *s, merge_index *m)
{
    char **sig = NULL;
    size_t n = 0, cap = 0, without = 0;
    for (int32_t id = 0; id < tree_capacity(s->t); id++) {
        const tree_node *nd = tree_get(s->t, id);
        if (!nd || nd->origin != TREE_ORIGIN_MODEL)
            continue;
        char *key = calib_settings_key(nd);
        if (!key) {
            without++;
            continue;
        }
        xgrow(&sig, &cap, n + 1, sizeof *sig);
        sig[n++] = key;
    }
    size_t distinct = 0;
    if (n)
        qsort(sig, n, sizeof *sig, cmp_str);
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(sig[i], sig[i - 1]) != 0;
    for (size_t i = 0; i < n; i++)
        free(sig[i]);
    free(sig);
    json_t *o = json_object();
    json_object_set_new(o, "distinct", json_integer((json_int_t)distinct));
    json_object_set_new(o, "nodes_recorded", json_integer((json_int_t)n));
    json_object_set_new(o, "nodes_unrecorded", json_integer((json_int_t)without));
    json_object_set_new(o, "note", json_string(
        distinct > 1 ? "the figures below pool nodes made with different settings (each node's request says which)"
        : without && n ? "some generated nodes do not say how they were made (older files): they may differ"
        : "generation settings as recorded on each generated node (request)"));
    json_object_set_new(rep, "settings", o);
}

static void section_token_entropy(json_t *rep, const session *s, merge_index *m)
{
    const tree *t = s->t;
    double sum_node = 0, sum_tok = 0, sum_r = 0, mx = NAN, sum_ppl = 0;
    size_t nodes = 0, toks = 0, nppl = 0;
    int exact = 1;
    /* the interval: per-token bounds averaged over tokens (upper unknown if any V is) */
    double iv_lo = 0, iv_hi = 0;
    size_t iv_n = 0;
    int iv_hi_known = 1, iv_exact = 1;
    uint32_t vset = s->settings.vocab_size > 0 ? (uint32_t)s->settings.vocab_size : 0;
    tok_samples ts = { xmalloc(((size_t)tree_capacity(t) + 1) * sizeof *ts.sum),
                       xmalloc(((size_t)tree_capacity(t) + 1) * sizeof *ts.n) };
    for (int32_t id = 0; id < tree_capacity(t); id++) {
        const tree_node *n = tree_get(t, id);
        if (!n || !n->ntokens)
            continue;
        entropy_node_interval_t ni;
        entropy_node_interval(n, n->vocab ? n->vocab : vset, &ni);
        if (ni.ntokens) {
            iv_lo += ni.lower * ni.ntokens;
            if (isnan(ni.upper))
                iv_hi_known = 0;
            else
                iv_hi += ni.upper * ni.ntokens;
            iv_n += ni.ntokens;
            iv_exact &= ni.exact;
        }
        entropy_node_t en;
        entropy_node(n, &en);
        if (en.ntokens) {
            nodes++;
            sum_node += en.mean;
            sum_tok += en.mean * en.ntokens;
            sum_r += en.mean_leftover * en.ntokens;
            toks += en.ntokens;
            if (isnan(mx) || en.max > mx)
                mx = en.max;
            ts.sum[nodes - 1] = en.mean * en.ntokens;
            ts.n[nodes - 1] = en.ntokens;
            exact &= en.exact;
        }
        double lp, ppl;
        if (entropy_sequence(n, &lp, &ppl)) {
            sum_ppl += ppl;
            nppl++;
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "nodes_with_logprobs", json_integer((json_int_t)nodes));
    json_object_set_new(o, "mean_node_entropy_bits", num_or_null(nodes ? sum_node / nodes : NAN));
    json_object_set_new(o, "mean_token_entropy_bits", num_or_null(toks ? sum_tok / toks : NAN));
    json_object_set_new(o, "max_token_entropy_bits", num_or_null(mx));
    json_object_set_new(o, "mean_leftover_mass", num_or_null(toks ? sum_r / toks : NAN));
    json_object_set_new(o, "mean_perplexity", num_or_null(nppl ? sum_ppl / nppl : NAN));
    json_object_set_new(o, "exact", json_boolean(toks && exact));
    double clo, chi;          /* over nodes: each node with logprobs is one sample */
    stat_bootstrap(nodes, f_token_mean, &ts, &clo, &chi);
    json_object_set_new(o, "mean_token_entropy_ci", ci_json(toks ? sum_tok / toks : NAN, clo, chi));
    free(ts.sum);
    free(ts.n);
    double lo = iv_n ? iv_lo / iv_n : NAN, hi = iv_n && iv_hi_known ? iv_hi / iv_n : NAN;
    json_object_set_new(o, "mean_token_entropy_lower", num_or_null(lo));
    json_object_set_new(o, "mean_token_entropy_upper", num_or_null(hi));
    char iv[96];
    entropy_format(iv, sizeof iv, lo, hi, iv_n && iv_exact, 1);
    json_object_set_new(o, "mean_token_entropy", json_string(iv));
    json_object_set_new(o, "note", json_string(
        !toks ? "no token logprobs in this session"
        : exact ? "exact: the model reported its whole distribution, or the alternatives covered it"
                : "a lower bound: mean_token_entropy_bits counts the unseen mass as one outcome; the interval's lower end "
                  "spreads the unseen mass over as few tokens as possible, none likelier than the least "
                  "likely alternative, its upper end uniformly over the V - k unseen tokens (unknown "
                  "without --vocab-size or a server that reports V)"));
    json_object_set_new(rep, "token_entropy", o);
}

static void section_branch_entropy(json_t *rep, const session *s, merge_index *m)
{
    const tree *t = s->t;
    int32_t root = tree_root(t);
    double root_h = NAN, root_nz = NAN, sum_h = 0, sum_nz = 0;
    size_t internal = 0;
    double *hs = xmalloc(((size_t)tree_capacity(t) + 1) * sizeof *hs);
    for (int32_t id = 0; id < tree_capacity(t); id++) {
        const tree_node *n = tree_get(t, id);
        if (!n || !n->nchildren)
            continue;
        double nz, h = merge_branch_entropy(m, id, &nz);
        if (id == root)
            root_h = h, root_nz = nz;
        sum_h += h;
        sum_nz += nz;
        hs[internal++] = h;
    }
    json_t *o = json_object();
    char grouping[96];
    snprintf(grouping, sizeof grouping, "near-duplicates (merge threshold %g)", s->settings.merge_threshold);
    json_object_set_new(o, "grouping", json_string(grouping));
    json_object_set_new(o, "root_bits", num_or_null(root_h));
    json_object_set_new(o, "root_normalized", num_or_null(root_nz));
    json_object_set_new(o, "internal_nodes", json_integer((json_int_t)internal));
    json_object_set_new(o, "mean_bits", num_or_null(internal ? sum_h / internal : NAN));
    json_object_set_new(o, "mean_normalized", num_or_null(internal ? sum_nz / internal : NAN));
    double clo, chi;          /* over internal nodes */
    stat_bootstrap(internal, stat_mean_fn, hs, &clo, &chi);
    json_object_set_new(o, "mean_bits_ci", ci_json(internal ? sum_h / internal : NAN, clo, chi));
    free(hs);
    json_object_set_new(o, "note", json_string(
        "Shannon entropy over a node's children grouped as near-duplicates (core/merge); normalized: divided by log2 of the number of children"));
    json_object_set_new(rep, "branch_entropy", o);
}

typedef struct { int32_t leader, child; uint32_t pos; } member_of;

static int cmp_member(const void *a, const void *b)
{
    const member_of *x = a, *y = b;
    if (x->leader != y->leader)
        return x->leader < y->leader ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Near-duplicate sibling groups of two or more, parents in id order, members in sibling
 * order.  The members of all a parent's groups are found in one sorted pass (asking for
 * each group's members scanned every sibling: 300k siblings took minutes). */
static void section_groups(json_t *rep, const session *s, merge_index *m)
{
    json_t *groups = json_array();
    member_of *mem = NULL;
    size_t cap = 0;
    for (int32_t id = 0; id < tree_capacity(s->t); id++) {
        merge_group *g;
        size_t ng = merge_groups(m, id, &g);
        const tree_node *pn = tree_get(s->t, id);
        size_t nm = 0;
        for (uint32_t i = 0; ng && i < pn->nchildren; i++)
            if (merge_count(m, pn->children[i]) >= 2) {
                xgrow(&mem, &cap, nm + 1, sizeof *mem);
                mem[nm++] = (member_of){ merge_leader(m, pn->children[i]), pn->children[i], i };
            }
        if (nm)
            qsort(mem, nm, sizeof *mem, cmp_member);
        for (size_t i = 0; i < ng; i++) {
            if (g[i].count < 2)
                continue;
            size_t lo = 0, hi = nm;                  /* the leader's run */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (mem[mid].leader < g[i].leader)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            json_t *ids = json_array();
            for (size_t j = lo; j < nm && mem[j].leader == g[i].leader; j++)
                json_array_append_new(ids, json_integer(mem[j].child));
            json_array_append_new(groups, json_pack("{s:i,s:o}", "parent", (int)id, "members", ids));
        }
        free(g);
    }
    free(mem);
    json_object_set_new(rep, "groups", groups);
}

/* Detected attractors, best first (hand marks are a separate thing and stay in the file). */
static void section_attractors(json_t *rep, const session *s, merge_index *m)
{
    attractor_index *a = attractor_index_new(s->t, s->settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    json_object_set_new(rep, "attractors", attractor_list_json(l, n, NULL));
    attractor_index_free(a);
}

/* A session holding comparisons: each side's own figures (the sections below pool both
 * sides of every comparison, and the settings note says so). */
static void section_compare(json_t *rep, const session *s, merge_index *m)
{
    json_t *rows = json_array();
    for (int32_t id = 0; id < tree_capacity(s->t); id++) {
        const tree_node *n = tree_get(s->t, id);
        int has = 0;
        for (uint32_t i = 0; n && i < n->nchildren && !has; i++)
            has = compare_label_side(s->t, n->children[i]) != 0;
        compare_result r;
        char err[128];
        if (!has || compare_result_load(&r, s->t, id, s->settings.merge_threshold, err, sizeof err) < 0)
            continue;
        compare_result_intervals(&r, s->t);
        for (int k = 0; k < 2; k++) {
            const compare_stats *st = &r.side[k];
            json_t *o = json_object();
            json_object_set_new(o, "node", json_integer(id));
            json_object_set_new(o, "side", json_string(k ? "B" : "A"));
            json_object_set_new(o, "samples", json_integer((json_int_t)st->n));
            json_object_set_new(o, "groups", json_integer((json_int_t)st->ngroups));
            json_object_set_new(o, "entropy_bits", json_real(st->entropy));
            json_object_set_new(o, "token_entropy", num_or_null(st->token_entropy));   /* bits */
            json_object_set_new(o, "distinct_2", json_real(st->distinct[1]));
            const compare_intervals *ci = &r.ci[k];
            json_object_set_new(o, "groups_ci", ci_json(ci->groups.value, ci->groups.low, ci->groups.high));
            json_object_set_new(o, "entropy_ci", ci_json(ci->entropy.value, ci->entropy.low, ci->entropy.high));
            json_object_set_new(o, "token_entropy_ci", ci_json(ci->token_entropy.value, ci->token_entropy.low,
                                                               ci->token_entropy.high));
            json_object_set_new(o, "distinct_2_ci", ci_json(ci->distinct[1].value, ci->distinct[1].low,
                                                            ci->distinct[1].high));
            json_object_set_new(o, "name", json_string(r.name[k]));
            json_t *over = json_array();
            for (size_t i = 0; i < r.nover[k]; i++)
                json_array_append_new(over, json_pack("{s:s,s:f,s:I,s:I}", "text", r.over[k][i].text,
                                      "z", r.over[k][i].z, "count", (json_int_t)r.over[k][i].count,
                                      "count_other", (json_int_t)r.over[k][i].count_other));
            json_object_set_new(o, "overrepresented", over);
            if (r.kl[k].known)                      /* stored by termloom compare */
                json_object_set_new(o, "kl_to_other", compare_kl_json(&r.kl[k]));
            else
                json_object_set_new(o, "kl_to_other", r.kl[k].note[0] ? json_string(r.kl[k].note)
                                    : json_string("not computed (termloom compare scores each side's samples)"));
            json_array_append_new(rows, o);
        }
        compare_result_free(&r);
    }
    if (json_array_size(rows)) {
        json_t *set = json_object_get(rep, "settings");
        json_object_set_new(set, "note", json_string(
            "this session holds a comparison: the figures below pool both of its sides (and the rest of "
            "the tree); \"compare\" gives each side's own"));
        json_object_set_new(set, "comparisons", json_integer((json_int_t)json_array_size(rows) / 2));
    }
    json_object_set_new(rep, "compare", rows);
}

/* Calibration of every node with enough same-settings children (core/calib). */
static void section_calibration(json_t *rep, const session *s, merge_index *m)
{
    json_t *rows = json_array();
    for (int32_t id = 0; id < tree_capacity(s->t); id++) {
        calib_result c;
        if (calib_node(s->t, m, id, &c) < 0)
            continue;
        json_array_append_new(rows, calib_json(&c, 1));
        calib_result_free(&c);
    }
    json_object_set_new(rep, "calibration", rows);
}

static const struct {
    void (*build)(json_t *report, const session *s, merge_index *m);   /* m: one grouping for all */
} sections[] = {
    { section_shape },
    { section_settings },
    { section_compare },
    { section_token_entropy },
    { section_branch_entropy },
    { section_groups },
    { section_attractors },
    { section_calibration },
};

/* ---- text output, from the report ---- */

static void print_label(const char *key, int indent, int width)
{
    char label[64];
    snprintf(label, sizeof label, "%s", key);
    for (char *p = label; *p; p++)
        if (*p == '_')
            *p = ' ';
    printf("%*s%-*s", indent, "", width, label);
}

/* A text from the session: control bytes and escape sequences as visible placeholders. */
static void print_str(json_t *v)
{
    size_t n = 0;
    char *safe = text_sanitize(json_string_value(v), json_string_length(v), TEXT_NL_VISIBLE, &n);
    fwrite(safe, 1, n, stdout);
    free(safe);
}

/* "[lo–hi]" of a {"value", "low", "high"} object; 0 when v is not one. */
static int ci_cell(json_t *v, char *cell, size_t len)
{
    json_t *lo = json_object_get(v, "low"), *hi = json_object_get(v, "high");
    if (!json_is_object(v) || !json_object_get(v, "value") || json_object_get(v, "exact_known"))
        return 0;                              /* the KL prints its value and exact figure */
    if (json_is_number(lo) && json_is_number(hi))
        snprintf(cell, len, "[%.2f\xe2\x80\x93%.2f]", json_number_value(lo), json_number_value(hi));
    else
        snprintf(cell, len, "-");
    return 1;
}

static void print_scalar(json_t *v)
{
    char cell[64];
    if (ci_cell(v, cell, sizeof cell))
        printf("%s", cell);
    else if (json_is_integer(v))
        printf("%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        printf("%.3f", json_real_value(v));
    else if (json_is_string(v))
        print_str(v);
    else if (json_is_boolean(v))
        printf("%s", json_is_true(v) ? "yes" : "no");
    else
        printf("-");
}

/* An array of objects as a table with the first object's keys as columns. */
static void print_table(const char *key, json_t *arr)
{
    print_label(key, 0, 0);
    printf("\n");
    json_t *first = json_array_get(arr, 0), *v;
    const char *k;
    if (!first) {
        printf("  (none)\n");
        return;
    }
    printf(" ");
    json_object_foreach(first, k, v) {
        printf(" ");
        print_label(k, 0, 16);
    }
    printf("\n");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        printf(" ");
        json_object_foreach(json_array_get(arr, i), k, v) {
            char cell[64];
            if (json_is_integer(v))
                snprintf(cell, sizeof cell, "%lld", (long long)json_integer_value(v));
            else if (ci_cell(v, cell, sizeof cell)) {
                printf(" %-18s", cell);        /* the dash is one column in three bytes */
                continue;
            } else if (json_is_string(v)) {      /* long texts whole: they are what one reads */
                printf(" ");
                print_str(v);
                if (json_string_length(v) < 16)
                    printf("%*s", (int)(16 - text_width(json_string_value(v), json_string_length(v), TEXT_NL_VISIBLE)), "");
                continue;
            } else if (json_is_array(v) && json_object_get(json_array_get(v, 0), "share")) {
                printf(" ");                   /* calibration groups: leader share/probability */
                for (size_t j = 0; j < json_array_size(v) && j < 5; j++) {
                    json_t *e = json_array_get(v, j);
                    printf("%s%lld:%.2f/", j ? ", " : "", (long long)json_integer_value(json_object_get(e, "leader")),
                           json_number_value(json_object_get(e, "share")));
                    json_t *pr = json_object_get(e, "probability");
                    json_is_number(pr) ? printf("%.2g", json_number_value(pr)) : printf("?");
                }
                continue;
            } else if (json_is_array(v) && json_is_object(json_array_get(v, 0))) {
                printf(" ");                   /* over-represented terms: whole, last column */
                for (size_t j = 0; j < json_array_size(v); j++) {
                    json_t *e = json_array_get(v, j);
                    printf("%s", j ? ", " : "");
                    print_str(json_object_get(e, "text"));
                    printf(" (z %.1f, %lld vs %lld)", json_number_value(json_object_get(e, "z")),
                           (long long)json_integer_value(json_object_get(e, "count")),
                           (long long)json_integer_value(json_object_get(e, "count_other")));
                }
                continue;
            } else if (json_is_object(v) && json_is_number(json_object_get(v, "value"))) {
                /* an estimate with its interval (the KL to the other side) */
                json_t *ex = json_object_get(v, "exact");
                printf(" %.2f nats/token (95%% %.2f-%.2f)", json_number_value(json_object_get(v, "value")),
                       json_number_value(json_object_get(v, "low")), json_number_value(json_object_get(v, "high")));
                if (json_is_number(ex))
                    printf(", exact %.2f", json_number_value(ex));
                continue;
            } else if (json_is_array(v)) {     /* node ids: as many as fit the column, "+N" more */
                size_t o = 0, nids = json_array_size(v), j = 0;
                cell[0] = 0;
                for (; j < nids; j++) {
                    char id[32], more[24];
                    int il = snprintf(id, sizeof id, "%s%lld", j ? "," : "", (long long)json_integer_value(json_array_get(v, j)));
                    int ml = j + 1 < nids ? snprintf(more, sizeof more, "+%zu", nids - j - 1) : 0;
                    if (j && o + (size_t)il + (size_t)ml > 16)
                        break;
                    memcpy(cell + o, id, (size_t)il + 1);
                    o += (size_t)il;
                }
                if (j < nids)
                    snprintf(cell + o, sizeof cell - o, "+%zu", nids - j);
            } else if (json_is_boolean(v))
                snprintf(cell, sizeof cell, "%s", json_is_true(v) ? "yes" : "no");
            else if (json_is_null(v))
                snprintf(cell, sizeof cell, "-");
            else {
                double x = json_number_value(v);   /* small p-values stay readable */
                snprintf(cell, sizeof cell, x != 0 && fabs(x) < 0.01 ? "%.1e" : "%.2f", x);
            }
            printf(" %-16s", cell);
        }
        printf("\n");
    }
}

static void print_text(json_t *rep)
{
    const char *k;
    json_t *v;
    json_object_foreach(rep, k, v) {
        if (json_is_array(v))
            print_table(k, v);
        else if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            print_label(k, 0, 0);
            printf("\n");
            json_object_foreach(v, k2, v2) {
                if (!strcmp(k2, "note"))
                    continue;
                print_label(k2, 2, 26);
                print_scalar(v2);
                printf("\n");
            }
            json_t *note = json_object_get(v, "note");
            if (json_is_string(note))
                printf("  ("), print_str(note), printf(")\n");
        } else {
            print_label(k, 0, 28);
            print_scalar(v);
            printf("\n");
        }
    }
}

enum { S_JSON = 1, S_THRESHOLD };

static const cli_option stats_options[] = {
    { "json", 0, CLI_NO_ARG, S_JSON, NULL },
    { "merge-threshold", 0, CLI_ARG, S_THRESHOLD, "a number from 0 to 1" },
    { NULL, 0, 0, 0, NULL }
};

static void stats_help(void)
{
    printf("%s\n\nPrints the shape of the session tree (nodes, depth, leaves, branching per\n"
           "level) and its entropy figures: token entropy from the saved top-k logprobs (a\n"
           "lower bound unless the model gave its exact figure or the alternatives covered it) and branch\n"
           "entropy over each node's children grouped as near-duplicates, the groups of\n"
           "near-duplicate siblings and the detected attractors (continuations or phrases\n"
           "recurring from at least 3 different contexts; a phrase only when its support is\n"
           "unlikely under a trigram model of the tree's own words: expected count and\n"
           "Bonferroni-corrected p shown), best first, and the calibration of\n"
           "every node with at least 8 children made with the same settings (do their first\n"
           "tokens follow the reported probabilities? TV, p-value, flagged at p < 0.01).\n"
           "Means carry 95%% bootstrap intervals (_ci).  --merge-threshold X\n"
           "(0..1, default the session's, 0.8) sets the similarity that counts as a\n"
           "near-duplicate.  --json prints the same report as JSON.\n",
           usage_line);
}

int cli_stats(int argc, char **argv)
{
    int json = 0, rc = CLI_OK;
    const char *path = NULL, *v;
    double threshold = NAN;       /* --merge-threshold; else the session's own setting */
    cli_args p;
    cli_args_begin(&p, argc, argv, "stats", stats_options, NULL);
    cli_args_usual(&p, stats_help, &path, "session file");
    for (int id; rc == CLI_OK && (id = cli_args_next(&p, &v)) != CLI_ARGS_END;) {
        gen_settings tmp;
        char e[200];
        switch (id) {
        case CLI_ARGS_ERROR:
            rc = p.status;
            break;
        case S_JSON:
            json = 1;
            break;
        case S_THRESHOLD:
            settings_init(&tmp);
            if (settings_set(&tmp, "merge_threshold", v, e, sizeof e) < 0)
                rc = cli_fail(CLI_USAGE, "stats: --merge-threshold needs a number from 0 to 1 ('%s')", v);
            threshold = tmp.merge_threshold;
            settings_free(&tmp);
            break;
        }
    }
    cli_args_end(&p);
    if (rc != CLI_OK || p.helped)
        return rc;
    if (!path)
        return cli_fail(CLI_USAGE, "stats needs a SESSION.json; %s", usage_line);
    session s;
    char err[600];
    session_init(&s);
    if (session_load(&s, path, err, sizeof err) < 0) {
        session_free(&s);
        return cli_fail(CLI_ERR, "%s", err);
    }
    if (!isnan(threshold))
        s.settings.merge_threshold = threshold;
    json_t *rep = json_object();
    json_object_set_new(rep, "file", json_string(path));
    merge_index *groups = merge_index_new(s.t, s.settings.merge_threshold);
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
        sections[i].build(rep, &s, groups);
    merge_index_free(groups);
    if (json) {
        char *d = json_dumps(rep, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        printf("%s\n", d ? d : "{}");
        free(d);
    } else
        print_text(rep);
    json_decref(rep);
    cli_session_done(&s);
    return fflush(stdout) == 0 ? CLI_OK : cli_fail(CLI_ERR, "cannot write the report");
}
