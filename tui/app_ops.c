/* tui/app_ops.c — what the actions do to the tree and the views' state: moves in shown
 * order, branching from an alternative, editing a node's text (here and in $EDITOR),
 * export.  Handlers return APP_CH_* flags; nothing here draws. */
#include "tui/app.h"
#include "tui/view.h"
#include "core/mono.h"
#include "core/savefile.h"
#include "tui/term.h"
#include "tui/dialog.h"
#include "tui/undo.h"
#include "core/formats.h"
#include "core/mem.h"
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- tree helpers ------------------------------------------------------------------- */

size_t app_children(app *a, int32_t id, const int32_t **out, int32_t **owned)
{
    tree_node *n = tree_get(a->ses.t, id);
    *owned = NULL;
    *out = NULL;
    if (!n || !n->nchildren)
        return 0;
    if (!a->merge_view || !a->an.merge) {
        *out = n->children;
        return n->nchildren;
    }
    merge_group *g;
    size_t ng = merge_groups(a->an.merge, id, &g);
    int32_t *ids = xmalloc((ng ? ng : 1) * sizeof *ids);
    for (size_t i = 0; i < ng; i++)
        ids[i] = g[i].leader;
    free(g);
    *out = *owned = ids;
    return ng;
}

int32_t app_sibling(app *a, int32_t id, int dir)
{
    int32_t p = tree_parent(a->ses.t, id);
    if (p == TREE_NONE)
        return TREE_NONE;
    if (a->merge_view && a->an.merge)
        id = merge_leader(a->an.merge, id);
    const int32_t *kids;
    int32_t *owned;
    size_t n = app_children(a, p, &kids, &owned);
    int32_t r = TREE_NONE;
    for (size_t i = 0; i < n; i++)
        if (kids[i] == id) {
            if ((dir < 0 && i > 0) || (dir > 0 && i + 1 < n))
                r = kids[(size_t)((ptrdiff_t)i + dir)];
            break;
        }
    free(owned);
    return r;
}

unsigned app_goto(app *a, int32_t id)
{
    tree *t = a->ses.t;
    if (!tree_get(t, id))
        return 0;
    if (a->merge_view && a->an.merge) {
        /* A node folded into a group is not shown in merge view: show every branch. */
        for (int32_t p = id; tree_parent(t, p) != TREE_NONE; p = tree_parent(t, p))
            if (merge_leader(a->an.merge, p) != p) {
                a->merge_view = 0;
                app_message(a, 0, "merge view off, to show node #%d (M turns it on)", (int)id);
                break;
            }
    }
    view_tree_goto(a, id);                 /* unfolds its ancestors, keeps its depth */
    tree_visit(t, id);
    a->ses.cursor = id;
    view_tokens_goto(a, id);
    view_text_scroll_end(a);
    a->save.unsaved = 1;
    return APP_CH_DRAW | APP_CH_LAZY;
}

unsigned app_branch_alt(app *a)
{
    tree *t = a->ses.t;
    int32_t src = a->ses.cursor;
    tree_node *n = tree_get(t, src);
    int tok_sel, alt_sel;
    view_tokens_selection(a, &tok_sel, &alt_sel);
    if (!n || !n->ntokens || tok_sel >= (int)n->ntokens) {
        app_message(a, 1, "no token to branch from here");
        return APP_CH_DRAW;
    }
    uint32_t i = (uint32_t)tok_sel, j = (uint32_t)alt_sel;
    if (j >= n->tokens[i].ntop) {
        app_message(a, 1, "this token has no alternatives");
        return APP_CH_DRAW;
    }
    int32_t parent = n->parent;
    if (parent == TREE_NONE)
        return 0;
    int32_t id = tree_add_child(t, parent, TREE_ORIGIN_FORCED, "", 0);
    n = tree_get(t, src);                 /* the arena may have moved */
    tree_alt alts[128];
    for (uint32_t k = 0; k <= i; k++) {
        n = tree_get(t, src);
        uint32_t na = n->tokens[k].ntop < 128 ? n->tokens[k].ntop : 128;
        for (uint32_t m = 0; m < na; m++) {
            size_t len;
            const char *s = tree_top_text(n, k, m, &len);
            alts[m] = (tree_alt){ s, len, tree_top_logprob(n, k, m) };
        }
        size_t tl;
        const char *ts;
        double lp;
        if (k < i) {
            ts = tree_token_text(n, k, &tl);
            lp = n->tokens[k].tok.logprob;
        } else {
            ts = alts[j].text;
            tl = alts[j].len;
            lp = alts[j].logprob;
        }
        /* Copies first: appending to another node does not move n's pool, but be safe. */
        char *tcopy = xstrndup(ts, tl);
        char **acopy = xmalloc((na ? na : 1) * sizeof *acopy);
        for (uint32_t m = 0; m < na; m++) {
            acopy[m] = xstrndup(alts[m].text, alts[m].len);
            alts[m].text = acopy[m];
        }
        tree_append_token(t, id, tcopy, tl, lp, alts, na, 1);
        for (uint32_t m = 0; m < na; m++)
            free(acopy[m]);
        free(acopy);
        free(tcopy);
    }
    const char *model = tree_model(t, src);
    if (model)
        tree_set_model(t, id, model);
    app_goto(a, id);
    undo_added(a, id, src);
    a->focus = APP_PANEL_TREE;
    unsigned f = app_generate(a, id, a->ses.settings.branches);
    if (!a->status.error)
        app_message(a, 0, "forced token %u of #%d: new node #%d, generating from it", i + 1, (int)src, (int)id);
    return f | APP_CH_DRAW | APP_CH_SAVE;
}

unsigned app_set_text(app *a, int32_t id, const char *text, size_t len, const char *how)
{
    tree *t = a->ses.t;
    tree_node *n = tree_get(t, id);
    if (!n)
        return 0;
    if (len == n->text_len && !memcmp(text, n->text, len))
        return APP_CH_DRAW;
    tree_content *old = tree_content_save(t, id);
    int prompt = n->origin == TREE_ORIGIN_PROMPT;
    tree_set_text(t, id, text, len);
    tree_clear_tokens(t, id);
    if (!prompt)
        tree_set_origin(t, id, TREE_ORIGIN_EDIT);
    undo_content(a, id, old);
    view_tokens_first(a);
    app_message(a, 0, "node #%d edited%s%s (its token probabilities were dropped; u undoes)", (int)id,
                how ? " in " : "", how ? how : "");
    return APP_CH_DRAW | APP_CH_SAVE;
}

/* Runs the editor on path with no shell in between: the editor setting is split at blanks
 * into the program and its arguments ("code --wait", "emacs -nw"), the path is one more
 * argument however it is spelled.  While it runs, Ctrl-C and Ctrl-\ belong to the editor
 * (the loom ignores them, as system() did).  Returns its exit status, or -1. */
static int run_editor(const char *ed, const char *path)
{
    char *words = xstrdup(ed);
    size_t n = 0, cap = 4;
    char **argv = xmalloc(cap * sizeof *argv);
    for (char *p = strtok(words, " \t"); p; p = strtok(NULL, " \t")) {
        xgrow(&argv, &cap, n + 3, sizeof *argv);
        argv[n++] = p;
    }
    int rc = -1;
    if (n) {
        argv[n++] = (char *)path;
        argv[n] = NULL;
        struct sigaction ign, old_int, old_quit;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGINT, &ign, &old_int);
        sigaction(SIGQUIT, &ign, &old_quit);
        posix_spawnattr_t at;
        posix_spawnattr_init(&at);
        sigset_t dfl;
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGINT);
        sigaddset(&dfl, SIGQUIT);
        posix_spawnattr_setsigdefault(&at, &dfl);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
        extern char **environ;
        pid_t pid;
        int e = posix_spawnp(&pid, argv[0], NULL, &at, argv, environ);
        if (e == 0) {
            int st = 0;
            pid_t w;
            while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
                ;
            if (w == pid)
                rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        } else
            errno = e;
        posix_spawnattr_destroy(&at);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
    }
    free(argv);
    free(words);
    return rc;
}

/* The node's text in $VISUAL / $EDITOR (vi by default).  The terminal is handed over
 * while the editor runs; streams go on when it returns. */
unsigned app_edit_external(app *a)
{
    tree *t = a->ses.t;
    tree_node *n = tree_get(t, a->ses.cursor);
    if (!n)
        return 0;
    const char *dir = getenv("TMPDIR");
    char *path = xasprintf("%s/termloom-edit-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        app_message(a, 1, "edit: %s: %s", path, strerror(errno));
        free(path);
        return APP_CH_DRAW;
    }
    int ok = write(fd, n->text, n->text_len) == (ssize_t)n->text_len;
    close(fd);
    int ends_nl = n->text_len && n->text[n->text_len - 1] == '\n';
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    def_prog_mode();
    endwin();
    int rc = ok ? run_editor(ed, path) : -1;
    reset_prog_mode();
    clearok(curscr, TRUE);
    unsigned f = APP_CH_DRAW;
    int spawn_errno = errno;
    FILE *in = rc == 0 ? fopen(path, "rb") : NULL;
    if (!in && rc < 0 && ok) {
        app_message(a, 1, "edit: the editor '%s' could not be started: %s; the node is unchanged", ed, strerror(spawn_errno));
    } else if (!in) {
        app_message(a, 1, "edit: the editor '%s' failed (status %d); the node is unchanged", ed, rc);
    } else {
        buf b = {0};
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, in)) > 0)
            buf_add(&b, chunk, got);
        fclose(in);
        if (!ends_nl && b.len && b.data[b.len - 1] == '\n')   /* the editor's final newline */
            b.len--;
        n = tree_get(t, a->ses.cursor);
        if (n && (b.len != n->text_len || (b.len && memcmp(b.data, n->text, b.len)))) {
            f |= app_set_text(a, a->ses.cursor, b.data ? b.data : "", b.len, ed);
        } else {
            app_message(a, 0, "node #%d unchanged", (int)a->ses.cursor);
        }
        buf_free(&b);
    }
    unlink(path);
    free(path);
    return f;
}

/* Export: choose a format, then the output file (a default next to the session). */
static const char *const export_names[] = {
    "json   the session file (termloom's own format)",
    "loom   socketteer/loom tree JSON",
    "jsonl  one line per node and per token",
    "md     Markdown of the path to the cursor",
    "dot    Graphviz graph, attractors coloured",
};
static const char *const export_keys[] = { "json", "loom", "jsonl", "md", "dot" };
static const char *const export_ext[] = { "json", "loom.json", "jsonl", "md", "dot" };
static int export_choice;

static unsigned on_export_path(app *a, const char *text, size_t len)
{
    if (!len)
        return APP_CH_DRAW;
    formats_out f;
    formats_out_parse(export_keys[export_choice], &f);
    char err[512];
    size_t n;
    char *data = formats_export(&a->ses, f, a->ses.cursor, &n, err, sizeof err);
    if (!data) {
        app_message(a, 1, "export failed: %s", err);
        return APP_CH_DRAW;
    }
    if (savefile_write(text, data, n, err, sizeof err) < 0)
        app_message(a, 1, "export failed: %s", err);
    else
        app_message(a, 0, "exported %s to %s (%zu bytes)", export_keys[export_choice], text, n);
    free(data);
    return APP_CH_DRAW;
}

static unsigned on_export_choice(app *a, int choice)
{
    export_choice = choice;
    char *def;
    const char *base = a->save.path ? a->save.path : "termloom-session.json";
    size_t bl = strlen(base);
    if (bl > 5 && !strcmp(base + bl - 5, ".json"))
        bl -= 5;
    def = xasprintf("%.*s.export.%s", (int)bl, base, export_ext[choice]);
    dialog_prompt(a, "export to: ", def, strlen(def), on_export_path);
    free(def);
    return APP_CH_DRAW;
}

unsigned app_export(app *a)
{
    dialog_chooser(a, " Export ", export_names, (int)(sizeof export_names / sizeof *export_names), on_export_choice);
    return APP_CH_DRAW;
}
