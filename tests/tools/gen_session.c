/* tests/tools/gen_session.c — writes a big session for the load tests and benches:
 *   gen_session NODES FILE [line|oneline|pretty] [TOKENS]
 * NODES nodes (a root prompt, then eight children a node, breadth first), each model node
 * with TOKENS tokens (default 0: text only) of five alternatives; written by session_save
 * (termloom's node-a-line layout), or re-laid out all on one line (every newline between
 * tokens dropped) or pretty-printed (a newline and two spaces a level after every "{", "["
 * and ","), so the loader meets every layout.  Exit 1 with one line on a failure. */
#include "core/mem.h"
#include "core/session.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[] = { " the", " loom", " of", " a", " tree", " branch", " and", " text" };

static void build(session *s, long nodes, int tokens)
{
    session_new_prompt(s, "Once upon a time");
    for (long i = 1; i < nodes; i++) {
        int32_t parent = (int32_t)((i - 1) / 8);
        char text[48];
        int len = snprintf(text, sizeof text, " branch %ld of the loom", i);
        int32_t id = tree_add_child(s->t, parent, TREE_ORIGIN_MODEL, tokens ? "" : text, tokens ? 0 : (size_t)len);
        for (int k = 0; k < tokens; k++) {
            tree_alt alts[5];
            for (int j = 0; j < 5; j++) {
                const char *w = words[(i + k + j) % 8];
                alts[j] = (tree_alt){ w, strlen(w), -0.5 - j };
            }
            tree_append_token(s->t, id, alts[0].text, alts[0].len, alts[0].logprob, alts, 5, 1);
        }
        if (tokens)
            tree_set_finish(s->t, id, "length");
    }
}

/* Copies d to f with the layout changed outside strings (d is valid JSON). */
static int relayout(FILE *f, const char *d, size_t len, int pretty)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (in_str) {
            putc(c, f);
            if (c == '\\')
                putc(d[++i], f);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '\n' || c == ' ')
            continue;
        putc(c, f);
        if (c == '"')
            in_str = 1;
        if (!pretty)
            continue;
        if (c == '{' || c == '[')
            depth++;
        if (c == '}' || c == ']')
            depth--;
        if (c == '{' || c == '[' || c == ',') {
            putc('\n', f);
            for (int k = 0; k < 2 * depth; k++)
                putc(' ', f);
        }
    }
    putc('\n', f);
    return ferror(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
    long nodes = argc > 2 ? strtol(argv[1], NULL, 10) : 0;
    const char *layout = argc > 3 ? argv[3] : "line";
    int tokens = argc > 4 ? atoi(argv[4]) : 0;
    int pretty = !strcmp(layout, "pretty");
    if (nodes < 1 || nodes > 20000000 || tokens < 0 || tokens > 64 ||
        (!pretty && strcmp(layout, "line") && strcmp(layout, "oneline"))) {
        fprintf(stderr, "usage: gen_session NODES FILE [line|oneline|pretty] [TOKENS]\n");
        return 2;
    }
    session s;
    session_init(&s);
    build(&s, nodes, tokens);
    char err[512];
    if (!strcmp(layout, "line")) {
        if (session_save(&s, argv[2], err, sizeof err) < 0) {
            fprintf(stderr, "gen_session: %s\n", err);
            return 1;
        }
        session_free(&s);
        return 0;
    }
    size_t len;
    char *d = session_dump(&s, &len);
    session_free(&s);
    FILE *f = fopen(argv[2], "w");
    if (!f || relayout(f, d, len, pretty) < 0 || fclose(f) != 0) {
        fprintf(stderr, "gen_session: cannot write %s\n", argv[2]);
        return 1;
    }
    free(d);
    return 0;
}
