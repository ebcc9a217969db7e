#include "tests/test.h"
#include "core/journal.h"
#include "core/mem.h"
#include "core/session.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A saved session of n nodes (a root and a chain of fans), loaded back as the TUI has it. */
static void saved_session(session *s, const char *path, int n)
{
    char err[512];
    session_init(s);
    session_new_prompt(s, "The journal test");
    int32_t parent = tree_root(s->t);
    for (int i = 1; i < n; i++) {
        char text[64];
        int len = snprintf(text, sizeof text, " node %d of the tree", i);
        int32_t id = tree_add_child(s->t, parent, TREE_ORIGIN_MODEL, text, (size_t)len);
        if (i % 4 == 0)
            parent = id;
    }
    CHECKF(session_save(s, path, err, sizeof err) == 0, "%s", err);
}

/* The session at path (journal replayed by the loader) dumps as s does. */
static int same_on_disk(const session *s, const char *path)
{
    session back;
    session_init(&back);
    char err[512];
    if (session_load(&back, path, err, sizeof err) < 0) {
        test_fail_(__FILE__, __LINE__, "load: %s", err);
        return 0;
    }
    size_t la, lb;
    char *a = session_dump(s, &la), *b = session_dump(&back, &lb);
    int same = la == lb && !memcmp(a, b, la);
    if (!same)
        test_fail_(__FILE__, __LINE__, "on disk (%zu bytes) differs from memory (%zu bytes)", lb, la);
    free(a);
    free(b);
    session_free(&back);
    return same;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(journal_append_replays_on_load)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/s.json", test_tmpdir());
    session s;
    saved_session(&s, path, 40);
    journal *j = journal_new(&s, path, err, sizeof err);
    REQUIRE(j);
    char *jp = journal_path(path);
    CHECK(access(jp, F_OK) != 0);                      /* created at the first append */
    CHECK(!journal_dirty(j));
    /* Every kind of change: new nodes, text, tokens, a finish, marks, a deletion, the
     * cursor, a setting. */
    int32_t r = tree_root(s.t);
    int32_t a = tree_add_child(s.t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_append_token(s.t, a, " fresh", 6, -0.5, NULL, 0, 1);
    tree_set_finish(s.t, a, "stop");
    tree_set_text(s.t, 3, " edited", 7);
    tree_get(s.t, 5)->marks ^= TREE_MARK_BOOKMARK;
    tree_touch(s.t, 5);
    tree_delete(s.t, 8);                               /* a subtree of several nodes */
    s.cursor = a;
    CHECK(settings_set(&s.settings, "temperature", "0.25", err, sizeof err) == 0);
    CHECK(journal_dirty(j));
    size_t written = 0;
    CHECKF(journal_append(j, &written, err, sizeof err) == 0, "%s", err);
    CHECK(written > 0 && (uint64_t)written < journal_bytes(j));   /* header + records */
    CHECK(!journal_dirty(j));
    CHECK(access(jp, F_OK) == 0);
    CHECK(same_on_disk(&s, path));
    CHECK(journal_note() && strstr(journal_note(), "recovered"));
    /* A second append holds only the second change. */
    tree_get(s.t, 2)->marks ^= TREE_MARK_ATTRACTOR;
    tree_touch(s.t, 2);
    CHECKF(journal_append(j, &written, err, sizeof err) == 0, "%s", err);
    CHECK(written > 0 && written < 200);
    CHECK(same_on_disk(&s, path));
    /* Nothing changed: nothing written. */
    CHECKF(journal_append(j, &written, err, sizeof err) == 0, "%s", err);
    CHECK_INT(written, 0);
    journal_free(j);
    free(jp);
    session_free(&s);
}

/* A change costs bytes proportional to the change, not to the tree. */
TEST(journal_change_costs_the_change)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/big.json", test_tmpdir());
    session s;
    saved_session(&s, path, 5000);
    long whole = file_size(path);
    journal *j = journal_new(&s, path, err, sizeof err);
    REQUIRE(j);
    size_t written = 0;
    tree_get(s.t, 4321)->marks ^= TREE_MARK_BOOKMARK;
    tree_touch(s.t, 4321);
    CHECKF(journal_append(j, &written, err, sizeof err) == 0, "%s", err);
    CHECKF(written > 0 && written < 300, "a bookmark wrote %zu bytes (the file is %ld)", written, whole);
    int32_t b = tree_add_child(s.t, 4000, TREE_ORIGIN_MODEL, " a new branch", 13);
    CHECKF(journal_append(j, &written, err, sizeof err) == 0, "%s", err);
    CHECKF(written > 0 && written < 600, "a branch wrote %zu bytes", written);
    CHECK(same_on_disk(&s, path));
    CHECK(tree_get(s.t, b));
    journal_free(j);
    session_free(&s);
}

TEST(journal_compact_folds_in)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/c.json", test_tmpdir());
    session s;
    saved_session(&s, path, 20);
    journal *j = journal_new(&s, path, err, sizeof err);
    REQUIRE(j);
    char *jp = journal_path(path);
    tree_add_child(s.t, 4, TREE_ORIGIN_EDIT, " by hand", 8);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(access(jp, F_OK) == 0);
    CHECKF(journal_compact(j, err, sizeof err) == 0, "%s", err);
    CHECK(access(jp, F_OK) != 0);
    CHECK_INT(journal_bytes(j), 0);
    CHECK_INT(journal_base_bytes(j), file_size(path));
    CHECK(same_on_disk(&s, path));
    CHECK(!journal_note());                            /* no journal: nothing replayed */
    /* The journal starts again on the compacted file. */
    tree_delete(s.t, 4);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(same_on_disk(&s, path));
    /* Undo brings the subtree back. */
    tree_undelete(s.t, 4, 0);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(same_on_disk(&s, path));
    journal_free(j);
    free(jp);
    session_free(&s);
}

/* A crash in the middle of an append: the torn line is left out (and said), the appends
 * before it are kept. */
TEST(journal_torn_tail_ignored)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/t.json", test_tmpdir());
    session s;
    saved_session(&s, path, 20);
    journal *j = journal_new(&s, path, err, sizeof err);
    REQUIRE(j);
    char *jp = journal_path(path);
    int32_t kept = tree_add_child(s.t, 2, TREE_ORIGIN_EDIT, " kept", 5);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    long before = file_size(jp);
    int32_t lost = tree_add_child(s.t, 2, TREE_ORIGIN_EDIT, " lost", 5);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    journal_free(j);
    REQUIRE(truncate(jp, (off_t)(before + (file_size(jp) - before) / 2)) == 0);
    session back;
    session_init(&back);
    CHECKF(session_load(&back, path, err, sizeof err) == 0, "%s", err);
    CHECK(tree_get(back.t, kept) && !strcmp(tree_get(back.t, kept)->text, " kept"));
    CHECK(!tree_get(back.t, lost));
    CHECK_INT(tree_count(back.t), 21);
    CHECKF(journal_note() && strstr(journal_note(), "cut short"), "%s", journal_note() ? journal_note() : "no note");
    session_free(&back);
    /* A line that is not a record: what came before it is kept. */
    FILE *f = fopen(jp, "a");
    REQUIRE(f);
    fputs("\n{\"id\": oops}\n", f);
    fclose(f);
    session_init(&back);
    CHECKF(session_load(&back, path, err, sizeof err) == 0, "%s", err);
    CHECK(tree_get(back.t, kept));
    CHECK(journal_note() && strstr(journal_note(), "not a journal record"));
    session_free(&back);
    free(jp);
    session_free(&s);
}

/* The journal of an older file (a compaction finished but the journal was not removed yet;
 * or the file was replaced) is not applied. */
TEST(journal_stale_ignored)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/o.json", test_tmpdir());
    session s;
    saved_session(&s, path, 10);
    journal *j = journal_new(&s, path, err, sizeof err);
    REQUIRE(j);
    int32_t id = tree_add_child(s.t, 1, TREE_ORIGIN_EDIT, " journaled", 10);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    journal_free(j);
    tree_delete(s.t, id);
    tree_purge(s.t);
    CHECK(session_save(&s, path, err, sizeof err) == 0);   /* the file moves on without it */
    session back;
    session_init(&back);
    CHECKF(session_load(&back, path, err, sizeof err) == 0, "%s", err);
    CHECK_INT(tree_count(back.t), 10);
    CHECK(journal_note() && strstr(journal_note(), "older"));
    session_free(&back);
    session_free(&s);
}

/* A journal that does not fit the file (a node whose parent is missing) is refused whole:
 * the file loads as it is. */
TEST(journal_misfit_refused)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/m.json", test_tmpdir());
    session s;
    saved_session(&s, path, 10);
    journal *j = journal_new(&s, path, err, sizeof err);
    REQUIRE(j);
    tree_set_text(s.t, 3, " changed", 8);
    CHECKF(journal_append(j, NULL, err, sizeof err) == 0, "%s", err);
    journal_free(j);
    char *jp = journal_path(path);
    FILE *f = fopen(jp, "a");
    REQUIRE(f);
    fputs("{\"id\":50,\"parent\":40,\"origin\":\"edit\",\"text\":\"x\",\"children\":[]}\n{\"commit\":9}\n", f);
    fclose(f);
    session back;
    session_init(&back);
    CHECKF(session_load(&back, path, err, sizeof err) == 0, "%s", err);
    CHECK_INT(tree_count(back.t), 10);
    CHECK(strcmp(tree_get(back.t, 3)->text, " changed"));
    CHECK(journal_note() && strstr(journal_note(), "does not fit"));
    session_free(&back);
    free(jp);
    session_free(&s);
}
