/* tests/tools/session_info.c — loads a session with session_load (the real loader) and
 * prints what tests check: counts of nodes, tokens with logprobs and alternatives, finish
 * reasons; with --texts, each model node's text on one line (newlines as \n); with
 * --entropy-order, whether the tree was grown highest-entropy leaf first (gen --strategy
 * entropy): replaying the expansions in creation order, each expanded node must have had the
 * highest mean token entropy among the leaves of that moment (ties: lowest id); with
 * --side-texts, each comparison sample as "A TEXT" or "B TEXT" (its label's side).
 * Exit 1 with the loader's error when the file does not load. */
#include "core/compare.h"
#include "core/entropy.h"
#include "core/session.h"
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: session_info FILE [--texts]\n");
        return 2;
    }
    session s;
    session_init(&s);
    char err[1024];
    if (session_load(&s, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int texts = argc > 2 && !strcmp(argv[2], "--texts");
    if (argc > 2 && !strcmp(argv[2], "--side-texts")) {
        for (int32_t id = 0; id < tree_capacity(s.t); id++) {
            const tree_node *n = tree_get(s.t, id);
            int side = n && n->origin == TREE_ORIGIN_MODEL ? compare_label_side(s.t, n->parent) : 0;
            if (side)
                printf("%c %s\n", side, n->text);
        }
        session_free(&s);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[2], "--entropy-order")) {
        /* Expanded nodes in the order their first children were created. */
        int32_t cap = tree_capacity(s.t), *order = malloc((size_t)cap * sizeof *order), nexp = 0;
        unsigned char *leaf = calloc((size_t)cap, 1);
        for (int32_t id = 0; id < cap; id++) {
            const tree_node *n = tree_get(s.t, id);
            if (n && n->nchildren)
                order[nexp++] = id;
        }
        for (int32_t i = 1; i < nexp; i++)   /* insertion sort by first child id */
            for (int32_t j = i; j > 0 && tree_get(s.t, order[j])->children[0] <
                                          tree_get(s.t, order[j - 1])->children[0]; j--) {
                int32_t x = order[j];
                order[j] = order[j - 1];
                order[j - 1] = x;
            }
        int bad = 0;
        for (int32_t e = 0; e < nexp; e++) {
            int32_t pick = order[e];
            if (e > 0) {
                int32_t best = -1;
                double bh = -INFINITY;
                for (int32_t id = 0; id < cap; id++) {
                    if (!leaf[id])
                        continue;
                    entropy_node_t en;
                    entropy_node(tree_get(s.t, id), &en);
                    double h = isnan(en.mean) ? -1.0 : en.mean;
                    if (h > bh) {
                        bh = h;
                        best = id;
                    }
                }
                if (best != pick) {
                    printf("expansion %d: node %d was expanded, but node %d had higher entropy\n", (int)e, (int)pick, (int)best);
                    bad = 1;
                }
            }
            leaf[pick] = 0;
            const tree_node *n = tree_get(s.t, pick);
            for (uint32_t c = 0; c < n->nchildren; c++)
                leaf[n->children[c]] = 1;
        }
        printf("expansions %d\nentropy_order %s\n", (int)nexp, bad ? "wrong" : "ok");
        free(order);
        free(leaf);
        session_free(&s);
        return 0;
    }
    size_t model = 0, tokens = 0, with_lp = 0, with_alts = 0, stop = 0, length = 0, other = 0;
    for (int32_t id = 0; id < tree_capacity(s.t); id++) {
        const tree_node *n = tree_get(s.t, id);
        if (!n || n->origin != TREE_ORIGIN_MODEL)
            continue;
        model++;
        for (uint32_t i = 0; i < n->ntokens; i++) {
            tokens++;
            with_lp += isfinite(n->tokens[i].tok.logprob) && n->tokens[i].tok.logprob <= 0;
            with_alts += n->tokens[i].ntop > 0;
        }
        const char *f = tree_finish(s.t, id);
        if (f && !strcmp(f, "stop"))
            stop++;
        else if (f && !strcmp(f, "length"))
            length++;
        else
            other++;
        if (texts) {
            fputs("text ", stdout);
            for (const char *c = n->text; *c; c++)
                if (*c == '\n')
                    fputs("\\n", stdout);
                else
                    putchar(*c);
            putchar('\n');
        }
    }
    printf("nodes %zu\nmodel_nodes %zu\ndepth %zu\ntokens %zu\ntokens_with_logprob %zu\n"
           "tokens_with_alternatives %zu\nfinish_stop %zu\nfinish_length %zu\nfinish_other %zu\n",
           tree_count(s.t), model, tree_max_depth(s.t), tokens, with_lp, with_alts, stop, length, other);
    session_free(&s);
    return 0;
}
