/* Sessions with full distributions: thousands of alternatives per token survive a save and
 * a load byte for byte (texts with NUL, cut characters, escapes) and to the float the format
 * keeps, in every reader; and the size limits that such files meet. */
#include "tests/test.h"
#include "core/mem.h"
#include "core/session.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NALT 2048
#define NTOK 6

static const char *const parsers[] = { NULL, "jansson", "document" };

static void use_parser(const char *how)
{
    if (how)
        setenv("TERMLOOM_SESSION_PARSER", how, 1);
    else
        unsetenv("TERMLOOM_SESSION_PARSER");
}

/* Alternative a of token k: a text of 0-7 bytes drawn from every kind of byte (0, controls,
 * quotes and backslashes, ASCII, pieces of UTF-8 and whole characters), different for each
 * (k, a); and a logprob over the range a file can meet. */
static size_t alt_text(int k, int a, char *out)
{
    static const char pieces[][5] = { "\0", "\x01", "\"", "\\", "\n", "\x7f", "\xc3", "\xa9",
                                      "\xc3\xa9", "\xf0\x9d\x84\x9e", "\xe2\x80", "\xff", " " };
    unsigned h = (unsigned)(k * 7919 + a) * 2654435761u;
    size_t n = 0;
    /* a unique prefix (two bytes of the index, as letters) keeps the texts distinct */
    out[n++] = (char)('A' + a % 26);
    out[n++] = (char)('a' + (a / 26) % 26);
    int extra = (int)(h >> 29);                  /* 0..7 pieces */
    for (int i = 0; i < extra; i++) {
        h = h * 1103515245u + 12345u;
        unsigned pi = (h >> 16) % (unsigned)(sizeof pieces / sizeof *pieces);
        size_t pl = pi == 0 ? 1 : strlen(pieces[pi]);
        memcpy(out + n, pieces[pi], pl);
        n += pl;
    }
    return n;
}

static double alt_logprob(int k, int a)
{
    static const double special[] = { 0.0, -0.0, -1e-30, -3.4e38, -1e300, -INFINITY, 0.5, NAN };
    if (a < (int)(sizeof special / sizeof *special) && k == 1)
        return special[a];
    unsigned h = (unsigned)(k * 104729 + a) * 2246822519u;
    double scale = pow(10.0, (double)(h % 9) - 4.0);        /* 1e-4 .. 1e4 */
    return -scale * ((double)(h >> 8) / (double)(1u << 24)) - (double)a * 1e-7;
}

static void build(session *s)
{
    session_init(s);
    session_new_prompt(s, "full distributions");
    tree_alt *alts = xmalloc(NALT * sizeof *alts);
    char *texts = xmalloc((size_t)NALT * 40);
    for (int node = 0; node < 3; node++) {
        int32_t id = tree_add_child(s->t, tree_root(s->t), TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < NTOK; k++) {
            int kk = node * NTOK + k;
            for (int a = 0; a < NALT; a++) {
                char *p = texts + (size_t)a * 40;
                size_t l = alt_text(kk, a, p);
                alts[a] = (tree_alt){ p, l, alt_logprob(kk, a) };
            }
            int pick = kk % 5;
            tree_append_token(s->t, id, alts[pick].text, alts[pick].len, alts[pick].logprob, alts,
                              k == NTOK - 1 ? 1 : NALT, 1);   /* the last token: one alternative */
        }
        tree_set_finish(s->t, id, "length");
    }
    free(texts);
    free(alts);
}

/* Every alternative of every token of loaded node id is the one built, bytes and float. */
static void check_same(const session *want, const session *got, const char *how)
{
    int bad = 0;
    for (int32_t id = 1; id <= 3 && !bad; id++) {
        const tree_node *a = tree_get(want->t, id), *b = tree_get(got->t, id);
        if (!a || !b || a->ntokens != b->ntokens) {
            CHECKF(0, "%s: node %d missing or with %u tokens", how, id, b ? b->ntokens : 0);
            return;
        }
        for (uint32_t i = 0; i < a->ntokens && !bad; i++) {
            size_t la, lb;
            const char *ta = tree_token_text(a, i, &la), *tb = tree_token_text(b, i, &lb);
            if (la != lb || memcmp(ta, tb, la)) {
                CHECKF(0, "%s: node %d token %u text differs", how, id, i);
                bad = 1;
            }
            if (a->tokens[i].ntop != b->tokens[i].ntop) {
                CHECKF(0, "%s: node %d token %u has %u alternatives, not %u", how, id, i,
                       b->tokens[i].ntop, a->tokens[i].ntop);
                return;
            }
            for (uint32_t j = 0; j < a->tokens[i].ntop && !bad; j++) {
                const char *xa = tree_top_text(a, i, j, &la), *xb = tree_top_text(b, i, j, &lb);
                double pa = tree_top_logprob(a, i, j), pb = tree_top_logprob(b, i, j);
                if (la != lb || memcmp(xa, xb, la)) {
                    CHECKF(0, "%s: node %d token %u alternative %u: %zu bytes, not %zu or different",
                           how, id, i, j, lb, la);
                    bad = 1;
                } else if (!(isnan(pa) ? isnan(pb) : (float)pa == (float)pb)) {
                    CHECKF(0, "%s: node %d token %u alternative %u: logprob %.9g, not %.9g", how, id,
                           i, j, pb, pa);
                    bad = 1;
                }
            }
        }
    }
}

TEST(session_full_distribution_round_trip_is_exact)
{
    session s;
    build(&s);
    /* what the tree keeps of the special logprobs: 0 for above 0, the most negative float
     * for -inf and beyond, NAN as unknown */
    const tree_node *n = tree_get(s.t, 1);
    REQUIRE(n && n->ntokens == NTOK && n->tokens[1].ntop == NALT);
    CHECK(tree_top_logprob(n, 1, 2) == (double)(float)-1e-30);
    CHECK(tree_top_logprob(n, 1, 4) == TREE_LOGPROB_MIN && tree_top_logprob(n, 1, 5) == TREE_LOGPROB_MIN);
    CHECK(tree_top_logprob(n, 1, 6) == 0 && isnan(tree_top_logprob(n, 1, 7)));
    size_t al;
    const char *t0 = tree_top_text(n, 0, 0, &al);
    CHECK(al == alt_text(0, 0, (char[40]){0}) && t0[0] == 'A');

    char *path = xasprintf("%s/dist.json", test_tmpdir());
    char err[512];
    REQUIRE(session_save(&s, path, err, sizeof err) == 0);
    size_t n1;
    char *d1 = session_dump(&s, &n1);
    for (size_t m = 0; m < 3; m++) {
        const char *how = parsers[m] ? parsers[m] : "streaming";
        use_parser(parsers[m]);
        session l;
        session_init(&l);
        int rc = session_load(&l, path, err, sizeof err);
        CHECKF(rc == 0, "%s: %s", how, err);
        if (rc == 0) {
            check_same(&s, &l, how);
            size_t n2;
            char *d2 = session_dump(&l, &n2);    /* save -> load -> save: the same bytes */
            CHECKF(n2 == n1 && !memcmp(d1, d2, n1), "%s: the second save differs", how);
            free(d2);
        }
        session_free(&l);
        /* the document from memory (as the journal replay reads it) as well */
        session_init(&l);
        rc = session_load_mem(&l, d1, n1, "mem.json", err, sizeof err);
        CHECKF(rc == 0, "%s from memory: %s", how, err);
        if (rc == 0)
            check_same(&s, &l, how);
        session_free(&l);
    }
    use_parser(NULL);
    free(d1);
    unlink(path);
    free(path);
    session_free(&s);
}

TEST(session_over_the_whole_document_limit_is_refused_with_one_line)
{
    /* Above MEM_FILE_MAX a session is read only a node at a time: a sparse file of NUL bytes
     * (not JSON, so the streaming reader leaves it to the whole-document parse) is refused
     * by its size, in one line, instead of being read whole. */
    if (SESSION_MAX_BYTES <= MEM_FILE_MAX)
        return;
    char *path = xasprintf("%s/big.json", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    int ok = ftruncate(fileno(f), (off_t)MEM_FILE_MAX + 1) == 0;
    fclose(f);
    REQUIRE(ok);
    session s;
    char err[512];
    session_init(&s);
    CHECK(session_load(&s, path, err, sizeof err) == -1);
    char want[160];
    snprintf(want, sizeof want, "too large to parse whole (%zu bytes; the limit for that is %zu MiB)",
             MEM_FILE_MAX + 1, MEM_FILE_MAX >> 20);
    CHECKF(strstr(err, want) != NULL && !strchr(err, '\n') && !strncmp(err, path, strlen(path)), "%s", err);
    CHECK_INT(tree_count(s.t), 0);
    session_free(&s);
    unlink(path);
    free(path);
}

TEST(session_loaders_keep_repeated_texts_once)
{
    /* 4 tokens listing the same 300 alternatives: every reader keeps each text once */
    enum { NA = 300 };
    session s;
    session_init(&s);
    session_new_prompt(&s, "p");
    int32_t id = tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_MODEL, "", 0);
    tree_alt *alts = xmalloc(NA * sizeof *alts);
    char (*txt)[40] = xmalloc(NA * sizeof *txt);
    size_t distinct = 0;
    for (int a = 0; a < NA; a++) {
        size_t l = alt_text(0, a, txt[a]);
        alts[a] = (tree_alt){ txt[a], l, alt_logprob(0, a) };
        distinct += l + 1;
    }
    for (int k = 0; k < 4; k++)
        tree_append_token(s.t, id, alts[k].text, alts[k].len, alts[k].logprob, alts, NA, 1);
    size_t n1;
    char *d1 = session_dump(&s, &n1);
    char err[512];
    for (size_t m = 0; m < 3; m++) {
        const char *how = parsers[m] ? parsers[m] : "streaming";
        use_parser(parsers[m]);
        session l;
        session_init(&l);
        int rc = session_load_mem(&l, d1, n1, "shared.json", err, sizeof err);
        CHECKF(rc == 0, "%s: %s", how, err);
        const tree_node *n = rc == 0 ? tree_get(l.t, id) : NULL;
        if (n) {
            CHECKF(n->pool_len <= distinct, "%s: pool %u bytes for %zu of distinct texts", how,
                   n->pool_len, distinct);
            int bad = 0;
            for (uint32_t k = 0; k < n->ntokens; k++)
                for (uint32_t j = 0; j < NA; j++) {
                    size_t len;
                    const char *t = tree_top_text(n, k, j, &len);
                    bad += len != alts[j].len || memcmp(t, alts[j].text, len);
                }
            CHECKF(bad == 0, "%s: %d texts differ", how, bad);
            size_t n2;
            char *d2 = session_dump(&l, &n2);
            CHECKF(n2 == n1 && !memcmp(d1, d2, n1), "%s: saved again, the bytes differ", how);
            free(d2);
        }
        session_free(&l);
    }
    use_parser(NULL);
    free(d1);
    free(txt);
    free(alts);
    session_free(&s);
}
