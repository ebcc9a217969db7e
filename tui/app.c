/* tui/app.c — the interactive loom: start-up, the event loop, layout, saving.
 *
 * One thread.  Each turn: wait on the keyboard, a self-pipe (SIGWINCH and the quit
 * signals only write a byte to it) and the backend together (backend_wait; for HTTP
 * backends that is curl_multi_poll with our descriptors); drain every key; let the
 * backend make progress (its events land in the tree through core/grow); save if due;
 * draw if something changed and a frame (30 ms) has passed since the last one. */
#include "tui/app.h"
#include "tui/actions.h"
#include "tui/dialog.h"
#include "tui/view.h"
#include "tui/view_compare.h"
#include "core/formats.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_SECONDS 0.030
#define STREAM_SAVE_SECONDS 1.0
#define BACKGROUND_SAVE_NODES 5000      /* bigger trees are saved by a forked child */
#define DEFAULT_PROMPT "A writer who works with a language model"

static int self_pipe[2] = { -1, -1 };

double app_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void app_message(app *a, int error, const char *fmt, ...)
{
    va_list ap;
    buf b = {0};
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(a->msg);
    a->msg = buf_steal(&b);
    a->msg_error = error;
}

/* ---- tree helpers ------------------------------------------------------------------- */

size_t app_children(app *a, int32_t id, const int32_t **out, int32_t **owned)
{
    tree_node *n = tree_get(a->ses.t, id);
    *owned = NULL;
    *out = NULL;
    if (!n || !n->nchildren)
        return 0;
    if (!a->merge_view || !a->merge) {
        *out = n->children;
        return n->nchildren;
    }
    merge_group *g;
    size_t ng = merge_groups(a->merge, id, &g);
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
    if (a->merge_view && a->merge)
        id = merge_leader(a->merge, id);
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
    if (a->merge_view && a->merge) {
        /* A node folded into a group is not shown in merge view: show every branch. */
        for (int32_t p = id; tree_parent(t, p) != TREE_NONE; p = tree_parent(t, p))
            if (merge_leader(a->merge, p) != p) {
                a->merge_view = 0;
                app_message(a, 0, "merge view off, to show node #%d (M turns it on)", (int)id);
                break;
            }
    }
    for (int32_t p = tree_parent(t, id); p != TREE_NONE; p = tree_parent(t, p))
        tree_get(t, p)->flags &= (uint8_t)~TREE_FLAG_FOLDED;
    tree_visit(t, id);
    a->ses.cursor = id;
    a->tok_sel = 0;
    a->alt_sel = 0;
    a->tok_node = id;
    a->text_scroll = 0;
    a->tree_scrolled = 0;
    a->unsaved = 1;
    return APP_CH_DRAW | APP_CH_LAZY;
}

int app_text_matches(const char *needle, const char *s, size_t len)
{
    size_t m = strlen(needle);
    if (!m)
        return 0;
    for (size_t i = 0; i + m <= len; i++) {
        size_t k = 0;
        while (k < m) {
            char x = s[i + k], y = needle[k];
            if (x >= 'A' && x <= 'Z')
                x = (char)(x + 32);
            if (y >= 'A' && y <= 'Z')
                y = (char)(y + 32);
            if (x != y)
                break;
            k++;
        }
        if (k == m)
            return 1;
    }
    return 0;
}

void app_mark_changed(app *a, int32_t id)
{
    tree_node *n = tree_get(a->ses.t, id);
    size_t k = 0;
    while (k < a->nmarked && a->marked[k] != id)
        k++;
    if (n && (n->marks & TREE_MARK_ATTRACTOR)) {
        if (k == a->nmarked) {
            xgrow(&a->marked, &a->capmarked, a->nmarked + 1, sizeof *a->marked);
            a->marked[a->nmarked++] = id;
        }
    } else if (k < a->nmarked) {
        memmove(a->marked + k, a->marked + k + 1, (a->nmarked - k - 1) * sizeof *a->marked);
        a->nmarked--;
    }
}

int app_is_attractor(app *a, int32_t id)
{
    tree_node *n = tree_get(a->ses.t, id);
    if (!n)
        return 0;
    if (n->marks & TREE_MARK_ATTRACTOR)
        return 1;
    return id >= 0 && (size_t)id < a->attr_member_cap && a->attr_member[id] == 1;
}

size_t app_attractor_items(app *a, app_attractor_item *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nattr_items && n < max; i++)
        if (tree_get(a->ses.t, a->attr_items[i].id))
            out[n++] = a->attr_items[i];
    for (size_t i = 0; i < a->nmarked && n < max; i++) {
        tree_node *m = tree_get(a->ses.t, a->marked[i]);
        if (!m || !(m->marks & TREE_MARK_ATTRACTOR))
            continue;
        out[n].id = a->marked[i];
        snprintf(out[n].label, sizeof out[n].label, "marked ");
        out[n].text = NULL;
        n++;
    }
    return n;
}

/* Detected attractors are recomputed from the index when the tree has changed, at most
 * every ATTR_REFRESH seconds (longer when a refresh is slow) and only after the keyboard
 * has been quiet for a moment, so typing never waits for the analysis.  The UI draws from
 * this copy: a per-node membership map and the first ATTR_ITEMS of the list. */
#define ATTR_MAX_NODES 50000
#define ATTR_REFRESH 2.0
#define ATTR_ITEMS 64

static void attr_items_clear(app *a)
{
    for (size_t i = 0; i < a->nattr_items; i++)
        free((char *)a->attr_items[i].text);
    a->nattr_items = 0;
}

static void attr_refresh(app *a)
{
    double t0 = app_now();
    const attractor *list;
    size_t n = attractor_list(a->attr, &list);
    size_t cap = (size_t)tree_capacity(a->ses.t);
    if (cap > a->attr_member_cap) {
        a->attr_member = xrealloc(a->attr_member, cap ? cap : 1);
        a->attr_member_cap = cap;
    }
    memset(a->attr_member, 0, a->attr_member_cap);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < list[i].nmembers; k++) {
            int32_t id = list[i].members[k];
            if (id >= 0 && (size_t)id < a->attr_member_cap &&
                (list[i].kind == ATTRACTOR_CONTINUATION || !a->attr_member[id]))
                a->attr_member[id] = list[i].kind == ATTRACTOR_CONTINUATION ? 1 : 2;
        }
    attr_items_clear(a);
    if (!a->attr_items)
        a->attr_items = xcalloc(ATTR_ITEMS, sizeof *a->attr_items);
    for (size_t i = 0; i < n && i < ATTR_ITEMS; i++) {
        app_attractor_item *it = &a->attr_items[a->nattr_items++];
        it->id = list[i].example;
        snprintf(it->label, sizeof it->label, "%s%zu in %zu contexts ",
                 list[i].kind == ATTRACTOR_PHRASE ? "phrase, " : "", list[i].nmembers, list[i].support);
        it->text = xstrdup(list[i].text ? list[i].text : "");
    }
    a->attr_dirty = 0;
    a->attr_last = app_now();
    a->attr_cost = a->attr_last - t0;
    a->pending |= APP_CH_DRAW;
}

/* ---- generation --------------------------------------------------------------------- */

static void on_grow_event(void *ud, const backend_event *ev)
{
    app *a = ud;
    switch (ev->kind) {
    case BACKEND_EV_ERROR:
        if (ev->message && strcmp(ev->finish ? ev->finish : "", "cancelled"))
            app_message(a, 1, "%s", ev->message);
        break;
    case BACKEND_EV_STATUS:
        if (ev->message)
            app_message(a, 0, "%s", ev->message);
        break;
    case BACKEND_EV_REQUEST_END:
        a->save_soon = 1;
        if (a->g && grow_active(a->g) <= 1 && !a->msg_error) {
            free(a->msg);
            a->msg = NULL;
        }
        break;
    default:
        break;
    }
    a->pending |= APP_CH_DRAW;
}

unsigned app_generate(app *a, int32_t parent, int k)
{
    if (!a->b || !a->g) {
        app_message(a, 1, "no backend: %s", a->set_err ? a->set_err : "see the settings (S)");
        return APP_CH_DRAW;
    }
    gen_settings s = a->ses.settings;     /* shallow: the backend copies what it keeps */
    static long long nreq;
    if (s.has_seed)
        s.seed += nreq;                   /* reproducible, yet each request differs */
    nreq++;
    char err[256];
    if (grow_start(a->g, parent, &s, k, err, sizeof err) < 0) {
        app_message(a, 1, "%s", err);
        return APP_CH_DRAW;
    }
    tree_node *p = tree_get(a->ses.t, parent);
    if (p)
        p->flags &= (uint8_t)~TREE_FLAG_FOLDED;
    if (grow_active(a->g) == 1) {
        a->gen_started = app_now();
        a->rate_t = a->gen_started;
        a->rate_tokens = grow_tokens_total(a->g);
        a->rate = 0;
    }
    if (!a->msg_error) {
        free(a->msg);
        a->msg = NULL;
    }
    return APP_CH_DRAW;
}

unsigned app_branch_alt(app *a)
{
    tree *t = a->ses.t;
    int32_t src = a->ses.cursor;
    tree_node *n = tree_get(t, src);
    if (!n || !n->ntokens || a->tok_sel >= (int)n->ntokens) {
        app_message(a, 1, "no token to branch from here");
        return APP_CH_DRAW;
    }
    uint32_t i = (uint32_t)a->tok_sel, j = (uint32_t)a->alt_sel;
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
    a->focus = APP_PANEL_TREE;
    unsigned f = app_generate(a, id, a->ses.settings.branches);
    if (!a->msg_error)
        app_message(a, 0, "forced token %u of #%d: new node #%d, generating from it", i + 1, (int)src, (int)id);
    return f | APP_CH_DRAW | APP_CH_SAVE;
}

int app_is_streaming(app *a, int32_t id)
{
    int n = a->g ? grow_active(a->g) : 0;
    for (int i = 0; i < n; i++) {
        const grow_request *r = grow_request_at(a->g, i);
        for (int k = 0; k < r->k; k++)
            if (r->nodes[k] == id)
                return 1;
    }
    return 0;
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
    char *cmd = xasprintf("%s '%s'", ed, path);
    def_prog_mode();
    endwin();
    int rc = ok ? system(cmd) : -1;
    reset_prog_mode();
    clearok(curscr, TRUE);
    free(cmd);
    unsigned f = APP_CH_DRAW;
    FILE *in = rc == 0 ? fopen(path, "rb") : NULL;
    if (!in) {
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
            tree_set_text(t, a->ses.cursor, b.data ? b.data : "", b.len);
            tree_clear_tokens(t, a->ses.cursor);
            n = tree_get(t, a->ses.cursor);
            if (n->origin != TREE_ORIGIN_PROMPT)
                n->origin = TREE_ORIGIN_EDIT;
            a->tok_sel = 0;
            app_message(a, 0, "node #%d edited in %s (its token probabilities were dropped)", (int)a->ses.cursor, ed);
            f |= APP_CH_SAVE;
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
    if (session_write_file(text, data, n, err, sizeof err) < 0)
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
    const char *base = a->path ? a->path : "termloom-session.json";
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

void app_backend_reset(app *a)
{
    if (a->g) {
        grow_cancel_all(a->g);
        grow_free(a->g);
        a->g = NULL;
    }
    backend_free(a->b);
    a->b = NULL;
    char err[512];
    a->b = cli_backend_new(&a->ses.settings, a->opts.api_key, err, sizeof err);
    if (!a->b) {
        app_message(a, 1, "%s", err);
        free(a->set_err);
        a->set_err = xstrdup(err);
        return;
    }
    a->g = grow_new(a->ses.t, a->b, on_grow_event, a);
}

void app_theme_reset(app *a)
{
    theme_defaults(&a->th);
    const char *nc = getenv("NO_COLOR");
    int color = !(nc && *nc);
    const char *name = color ? (a->ses.settings.theme ? a->ses.settings.theme : "dark") : "mono";
    char err[512];
    if (theme_load(name, &a->th, err, sizeof err) < 0)
        app_message(a, 1, "%s", err);
    theme_apply(&a->th, color);
}

/* ---- saving ------------------------------------------------------------------------- */

static void save_reap(app *a, int block)
{
    if (!a->save_pid)
        return;
    int st;
    pid_t r = waitpid(a->save_pid, &st, block ? 0 : WNOHANG);
    if (r == 0)
        return;
    char err[512] = "";
    ssize_t n = read(a->save_fd, err, sizeof err - 1);
    err[n > 0 ? n : 0] = 0;
    close(a->save_fd);
    a->save_pid = 0;
    a->save_fd = -1;
    free(a->save_err);
    a->save_err = NULL;
    if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        a->save_err = xstrdup(*err ? err : "the background save failed");
        app_message(a, 1, "autosave failed: %s", a->save_err);
        a->unsaved = 1;
    }
    a->pending |= APP_CH_DRAW;
}

int app_save_now(app *a)
{
    if (!a->path)
        return -1;
    save_reap(a, 1);
    char err[512];
    a->last_save = app_now();
    a->save_soon = 0;
    a->unsaved = 0;
    free(a->save_err);
    a->save_err = NULL;
    if (session_save(&a->ses, a->path, err, sizeof err) < 0) {
        a->save_err = xstrdup(err);
        a->unsaved = 1;
        app_message(a, 1, "save failed: %s", err);
        return -1;
    }
    a->pending |= APP_CH_DRAW;
    return 0;
}

/* Big trees are written by a forked child (copy-on-write snapshot of the tree), so the
 * keyboard never waits for the disk. */
static void save_start(app *a)
{
    if (tree_count(a->ses.t) < BACKGROUND_SAVE_NODES) {
        app_save_now(a);
        return;
    }
    int fds[2];
    if (pipe(fds) < 0) {
        app_save_now(a);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        app_save_now(a);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        char err[512];
        int rc = session_save(&a->ses, a->path, err, sizeof err);
        if (rc < 0 && write(fds[1], err, strlen(err)) < 0)
            _exit(2);
        _exit(rc < 0 ? 1 : 0);
    }
    close(fds[1]);
    a->save_pid = pid;
    a->save_fd = fds[0];
    a->last_save = app_now();
    a->save_soon = 0;
    a->unsaved = 0;
}

static void autosave(app *a, double now)
{
    save_reap(a, 0);
    if (!a->path || a->save_pid)
        return;
    int streaming = a->g && grow_active(a->g);
    if (a->save_soon && (!streaming || now - a->last_save >= 0.2))
        save_start(a);
    else if ((a->unsaved || a->save_soon) && now - a->last_save >= STREAM_SAVE_SECONDS)
        save_start(a);
}

static void on_tree(void *ud, tree *t, int kind, int32_t id)
{
    app *a = ud;
    (void)t;
    (void)id;
    a->pending |= APP_CH_DRAW;
    a->unsaved = 1;
    a->attr_dirty = 1;
    if (kind != TREE_EV_TEXT)
        a->save_soon = 1;
}

/* ---- layout and drawing ------------------------------------------------------------- */

#define MIN_COLS 40
#define MIN_ROWS 10

void app_layout(app *a)
{
    int rows = a->rows, cols = a->cols, body = rows - 1;
    a->too_small = cols < MIN_COLS || rows < MIN_ROWS;
    if (a->too_small)
        return;
    app_rect none = { 0, 0, 0, 0 };
    a->r_stats = none;
    if (cols >= 90) {
        int tw = cols * 2 / 5;
        a->r_tree = (app_rect){ 0, 0, body, tw };
        int x = tw + 1, rw = cols - x;
        int tokh = body >= 26 ? 9 : body >= 18 ? 7 : 5;
        int sth = body >= 26 ? 8 : body >= 20 ? 6 : 0;
        if (rw >= 80) {
            a->r_tokens = (app_rect){ body - tokh, x, tokh, rw / 2 };
            a->r_stats = (app_rect){ body - tokh, x + rw / 2 + 1, tokh, rw - rw / 2 - 1 };
            sth = 0;
        } else {
            a->r_tokens = (app_rect){ body - tokh - sth, x, tokh, rw };
            if (sth)
                a->r_stats = (app_rect){ body - sth, x, sth, rw };
        }
        a->r_text = (app_rect){ 0, x, body - tokh - sth, rw };
    } else {
        int treeh = body * 2 / 5;
        int tokh = body >= 22 ? 7 : 5;
        int sth = body >= 30 ? 7 : 0;
        a->r_tree = (app_rect){ 0, 0, treeh, cols };
        a->r_text = (app_rect){ treeh, 0, body - treeh - tokh - sth, cols };
        a->r_tokens = (app_rect){ body - tokh - sth, 0, tokh, cols };
        if (sth)
            a->r_stats = (app_rect){ body - sth, 0, sth, cols };
    }
}

void app_draw(app *a)
{
    erase();
    if (a->too_small) {
        char msg[96];
        snprintf(msg, sizeof msg, "termloom needs at least %dx%d (now %dx%d)", MIN_COLS, MIN_ROWS, a->cols, a->rows);
        mvaddnstr(a->rows / 2, 0, msg, a->cols);
        if (a->rows / 2 + 1 < a->rows)
            mvaddnstr(a->rows / 2 + 1, 0, "enlarge the window, or q to quit", a->cols);
    } else if (a->mode == APP_MODE_HELP) {
        dialog_draw(a);
    } else if (a->mode == APP_MODE_COMPARE) {
        compare_view_draw(a);
    } else {
        view_tree(a, a->r_tree);
        if (a->r_text.x > 0) {
            for (int y = 0; y < a->rows - 1; y++)
                view_puts(a, y, a->r_tree.w, 1, view_glyph(a, "\xe2\x94\x82", "|"), theme_attr(THEME_tree_lines));
        }
        if (a->r_text.h > 0)
            view_text(a, a->r_text);
        if (a->r_tokens.h > 0)
            view_tokens(a, a->r_tokens);
        if (a->r_stats.h > 0) {
            if (a->r_stats.x > a->r_tokens.x && a->r_stats.y == a->r_tokens.y) {
                for (int y = a->r_stats.y; y < a->r_stats.y + a->r_stats.h; y++)
                    view_puts(a, y, a->r_stats.x - 1, 1, view_glyph(a, "\xe2\x94\x82", "|"), theme_attr(THEME_tree_lines));
            }
            view_stats(a, a->r_stats);
        }
        view_status(a, a->rows - 1, a->cols);
        dialog_draw(a);
    }
    static int cursor_shown = -1;
    int want = a->mode == APP_MODE_PROMPT && !a->too_small;
    if (want != cursor_shown) {
        curs_set(want);
        cursor_shown = want;
    }
    wnoutrefresh(stdscr);
    doupdate();
    a->last_draw = app_now();
}

/* ---- keys and the mouse ------------------------------------------------------------- */

static unsigned mouse(app *a)
{
    MEVENT me;
    if (getmouse(&me) != OK || a->too_small || a->mode != APP_MODE_NORMAL)
        return 0;
    app_rect *rs[] = { &a->r_tree, &a->r_text, &a->r_tokens };
    int panel = -1;
    for (int i = 0; i < 3; i++)
        if (me.y >= rs[i]->y && me.y < rs[i]->y + rs[i]->h && me.x >= rs[i]->x && me.x < rs[i]->x + rs[i]->w)
            panel = i;
    int dir = 0;
    if (me.bstate & BUTTON4_PRESSED)
        dir = -1;
#ifdef BUTTON5_PRESSED
    if (me.bstate & BUTTON5_PRESSED)
        dir = 1;
#endif
    if (dir) {
        if (panel == APP_PANEL_TEXT)
            a->text_scroll = a->text_scroll - 3 * dir < 0 ? 0 : a->text_scroll - 3 * dir;
        else if (panel == APP_PANEL_TREE)
            view_tree_scroll(a, 3 * dir);
        return APP_CH_DRAW;
    }
    if (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED)) {
        if (panel < 0)
            return 0;
        a->focus = (app_panel)panel;
        if (panel == APP_PANEL_TOKENS) {     /* a click on an alternative chooses it */
            tree_node *n = tree_get(a->ses.t, a->ses.cursor);
            int row = me.y - (a->r_tokens.y + 3);
            if (n && a->tok_sel < (int)n->ntokens && row >= 0 && row < (int)n->tokens[a->tok_sel].ntop)
                a->alt_sel = row;
        }
        if (panel == APP_PANEL_TREE) {
            int32_t id = view_tree_row_id(a, me.y);
            if (id != TREE_NONE && id != a->ses.cursor)
                return app_goto(a, id);
        }
        return APP_CH_DRAW;
    }
    return 0;
}

static void resize(app *a)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    a->rows = LINES;
    a->cols = COLS;
    app_layout(a);
}

unsigned app_key(app *a, int key)
{
    if (key == ACTIONS_FN(KEY_ENTER))
        key = 13;
    if (key == 127 || key == 8)
        key = ACTIONS_FN(KEY_BACKSPACE);
    if (key == ACTIONS_FN(KEY_RESIZE)) {
        a->rows = LINES;
        a->cols = COLS;
        app_layout(a);
        return APP_CH_DRAW;
    }
    if (key == ACTIONS_FN(KEY_MOUSE))
        return mouse(a);
    if (a->mode == APP_MODE_COMPARE)
        return compare_view_key(a, key);
    if (a->mode != APP_MODE_NORMAL)
        return dialog_key(a, key);
    return actions_dispatch(a, key);
}

/* ---- start-up ----------------------------------------------------------------------- */

static void on_signal(int sig)
{
    int e = errno;
    char c = sig == SIGWINCH ? 'w' : 'q';
    if (self_pipe[1] >= 0 && write(self_pipe[1], &c, 1) < 0) {
        /* a full pipe already holds a wake-up */
    }
    errno = e;
}

static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            *s = '/';
        }
    int rc = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static char *default_session_path(char *err, size_t errlen)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char *dir;
    if (xdg && *xdg)
        dir = xasprintf("%s/termloom/sessions", xdg);
    else if (home && *home)
        dir = xasprintf("%s/.local/share/termloom/sessions", home);
    else {
        snprintf(err, errlen, "no $XDG_DATA_HOME or $HOME for the session folder");
        return NULL;
    }
    if (mkdirs(dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    time_t now = (time_t)tree_now();
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    char *path = NULL;
    for (int i = 0; i < 1000; i++) {
        free(path);
        path = i ? xasprintf("%s/session-%s-%d.json", dir, stamp, i) : xasprintf("%s/session-%s.json", dir, stamp);
        if (access(path, F_OK) != 0)
            break;
    }
    free(dir);
    return path;
}

void app_init_view(app *a, tree *t, int32_t cursor)
{
    (void)t;
    a->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    a->tflags = a->utf8 ? 0 : TEXT_ASCII;
    a->rows = LINES;
    a->cols = COLS;
    a->save_fd = -1;
    a->tree_top = cursor;
    a->merge = merge_index_new(a->ses.t, a->ses.settings.merge_threshold);
    if (tree_count(a->ses.t) <= ATTR_MAX_NODES) {
        a->attr = attractor_index_new(a->ses.t, a->ses.settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
        a->attr_dirty = 1;
    }
    tree_observe(a->ses.t, on_tree, a);
    /* Hand-marked attractors, once; marks change only through app_mark_changed after. */
    tree_iter it;
    tree_iter_init(&it, a->ses.t, tree_root(a->ses.t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;)
        if (tree_get(a->ses.t, id)->marks & TREE_MARK_ATTRACTOR)
            app_mark_changed(a, id);
    tree_iter_done(&it);
    if (!tree_get(a->ses.t, cursor))
        cursor = tree_root(a->ses.t);
    app_goto(a, cursor);
    a->unsaved = 0;
    app_layout(a);
}

void app_free(app *a)
{
    compare_view_free(a);
    if (a->g)
        grow_free(a->g);
    backend_free(a->b);
    if (a->ses.t)
        tree_unobserve(a->ses.t, on_tree, a);
    merge_index_free(a->merge);
    attractor_index_free(a->attr);
    attr_items_clear(a);
    free(a->attr_items);
    free(a->attr_member);
    session_free(&a->ses);
    cli_opts_free(&a->opts);
    free(a->path);
    free(a->row_ids);
    free(a->msg);
    buf_free(&a->line);
    free(a->line_label);
    free(a->confirm_text);
    free(a->choice_title);
    free(a->set_err);
    free(a->search);
    free(a->undo);
    free(a->marked);
    free(a->save_err);
    memset(a, 0, sizeof *a);
}

/* Command-line settings given explicitly win over those stored in an opened session. */
static int apply_explicit_flags(app *a, int argc, char **argv)
{
    cli_opts tmp;
    memset(&tmp, 0, sizeof tmp);
    settings_copy(&tmp.s, &a->ses.settings);
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&tmp, argc, argv, &i);
        if (r < 0)
            rc = -1;
    }
    if (!tmp.s.theme && a->opts.s.theme)
        tmp.s.theme = xstrdup(a->opts.s.theme);
    settings_free(&a->ses.settings);
    a->ses.settings = tmp.s;
    free(tmp.prompt);
    return rc;
}

static int open_session(app *a, const char *file, int argc, char **argv)
{
    char err[1024];
    session_init(&a->ses);
    if (file && access(file, F_OK) == 0) {
        /* A termloom session, or another loom's file (imported; saved beside it, never
         * over it). */
        formats_kind kind = FORMATS_UNKNOWN;
        int rc = formats_import_file(file, NULL, &a->ses, &kind, err, sizeof err);
        if (rc != FORMATS_OK)
            return cli_fail(rc == FORMATS_ERR_USAGE ? CLI_USAGE : CLI_ERR, "%s", err);
        if (apply_explicit_flags(a, argc, argv) < 0)
            return CLI_USAGE;
        if (kind == FORMATS_SESSION) {
            a->path = xstrdup(file);
        } else {
            size_t fl = strlen(file);
            if (fl > 5 && !strcmp(file + fl - 5, ".json"))
                fl -= 5;
            for (int i = 0; i < 1000; i++) {
                free(a->path);
                a->path = i ? xasprintf("%.*s.termloom-%d.json", (int)fl, file, i)
                            : xasprintf("%.*s.termloom.json", (int)fl, file);
                if (access(a->path, F_OK) != 0)
                    break;
            }
            if (session_save(&a->ses, a->path, err, sizeof err) < 0)
                return cli_fail(CLI_ERR, "%s", err);
            app_message(a, 0, "imported %s (%s); the session is saved as %s", file, formats_kind_name(kind), a->path);
        }
        return CLI_OK;
    }
    session_free(&a->ses);
    session_init(&a->ses);
    session_new_prompt(&a->ses, a->opts.prompt ? a->opts.prompt : DEFAULT_PROMPT);
    settings_free(&a->ses.settings);
    settings_copy(&a->ses.settings, &a->opts.s);
    if (file) {
        a->path = xstrdup(file);
        if (session_save(&a->ses, a->path, err, sizeof err) < 0)
            return cli_fail(CLI_ERR, "%s", err);
    } else {
        a->path = default_session_path(err, sizeof err);
        if (!a->path)
            app_message(a, 1, "autosave is off: %s", err);
        else if (session_save(&a->ses, a->path, err, sizeof err) < 0) {
            app_message(a, 1, "autosave is off: %s", err);
            free(a->path);
            a->path = NULL;
        }
    }
    return CLI_OK;
}

static int run(app *a)
{
    int fds[2] = { STDIN_FILENO, self_pipe[0] };
    double last_spin = 0;
    a->pending = APP_CH_DRAW;
    while (!a->quit) {
        double now = app_now();
        int active = a->g && grow_active(a->g);
        int timeout = 1000;
        if (active)
            timeout = 100;
        if (a->pending & APP_CH_DRAW) {
            double left = FRAME_SECONDS - (now - a->last_draw);
            int ms = left > 0 ? (int)(left * 1000) + 1 : 0;
            if (ms < timeout)
                timeout = ms;
        }
        if (a->path && (a->unsaved || a->save_soon)) {
            int ms = (int)((a->last_save + STREAM_SAVE_SECONDS - now) * 1000) + 1;
            if (ms < timeout)
                timeout = ms < 0 ? 0 : ms;
        }
        if (a->save_pid && timeout > 50)
            timeout = 50;
        int ready = -1;
        if (compare_view_busy(a))
            compare_view_wait(a, fds, 2, timeout < 100 ? timeout : 100, &ready);
        else if (a->b)
            backend_wait(a->b, fds, 2, timeout, &ready);
        else
            backend_poll_fds(fds, 2, timeout, &ready);
        /* Signals: resize and quit requests. */
        char sig[64];
        ssize_t n;
        while ((n = read(self_pipe[0], sig, sizeof sig)) > 0)
            for (ssize_t i = 0; i < n; i++) {
                if (sig[i] == 'w') {
                    resize(a);
                    a->pending |= APP_CH_DRAW;
                } else if (sig[i] == 'q') {
                    a->quit = 1;
                }
            }
        /* Every key waiting, before drawing anything. */
        wint_t ch;
        int r;
        while (!a->quit && (r = get_wch(&ch)) != ERR) {
            int key = r == KEY_CODE_YES ? ACTIONS_FN((int)ch) : (int)ch;
            a->last_key = app_now();
            unsigned f = app_key(a, key);
            a->pending |= f & ~APP_CH_QUIT;
            if (f & APP_CH_SAVE)
                a->save_soon = 1;
            if (f & APP_CH_QUIT)
                a->quit = 1;
        }
        if (a->b)
            backend_pump(a->b);
        a->pending |= compare_view_pump(a);
        now = app_now();
        if (a->g && grow_active(a->g)) {
            if (now - last_spin >= 0.1) {
                a->spin++;
                last_spin = now;
                a->pending |= APP_CH_DRAW;
            }
            if (now - a->rate_t >= 0.5) {
                size_t tok = grow_tokens_total(a->g);
                double r1 = (double)(tok - a->rate_tokens) / (now - a->rate_t);
                a->rate = a->rate > 0 ? 0.5 * a->rate + 0.5 * r1 : r1;
                a->rate_t = now;
                a->rate_tokens = tok;
            }
        }
        autosave(a, now);
        if (a->attr && a->attr_dirty && a->last_draw > 0 && now - a->last_key >= 0.4 &&
            now - a->attr_last >= (ATTR_REFRESH > 20 * a->attr_cost ? ATTR_REFRESH : 20 * a->attr_cost))
            attr_refresh(a);
        if ((a->pending & APP_CH_DRAW) && now - a->last_draw >= FRAME_SECONDS) {
            a->pending &= ~(unsigned)APP_CH_DRAW;
            app_draw(a);
        }
    }
    return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
    return cli_fail(CLI_USAGE, fmt, arg);
}

int app_main(int argc, char **argv)
{
    static app A;
    app *a = &A;
    memset(a, 0, sizeof *a);
    int rc = cli_opts_init(&a->opts, argc, argv);
    if (rc != CLI_OK) {
        cli_opts_free(&a->opts);
        return rc;
    }
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&a->opts, argc, argv, &i);
        if (r < 0) {
            cli_opts_free(&a->opts);
            return CLI_USAGE;
        }
        if (r)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            cli_opts_free(&a->opts);
            return usage_error("unknown option '%s' (termloom --help lists them)", argv[i]);
        }
        if (file) {
            cli_opts_free(&a->opts);
            return usage_error("one session file at a time ('%s' is extra)", argv[i]);
        }
        file = argv[i];
    }
    const char *seed = getenv("TERMLOOM_SEED");
    char err[512];
    if (seed && *seed && !a->opts.s.has_seed && settings_set(&a->opts.s, "seed", seed, err, sizeof err) < 0) {
        cli_opts_free(&a->opts);
        return cli_fail(CLI_USAGE, "TERMLOOM_SEED: %s", err);
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        cli_opts_free(&a->opts);
        return cli_fail(CLI_USAGE, "the interactive loom needs a terminal (headless: termloom gen, stats, export)");
    }
    rc = open_session(a, file, argc, argv);
    if (rc != CLI_OK) {
        app_free(a);
        return rc;
    }
    if (seed && *seed && !a->ses.settings.has_seed)
        settings_set(&a->ses.settings, "seed", seed, err, sizeof err);
    actions_init();
    if (a->opts.keys && actions_rebind(a->opts.keys, err, sizeof err))
        app_message(a, 1, "%s", err);

    if (pipe(self_pipe) < 0) {
        app_free(a);
        return cli_fail(CLI_ERR, "pipe: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++) {
        fcntl(self_pipe[i], F_SETFL, fcntl(self_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(self_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    /* The model is built before the screen is taken, so a broken corpus is one clear line. */
    a->b = cli_backend_new(&a->ses.settings, a->opts.api_key, err, sizeof err);
    if (!a->b) {
        a->set_err = xstrdup(err);
        app_message(a, 1, "%s", err);
    }
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        app_free(a);
        return cli_fail(CLI_ERR, "cannot use the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
    }
    set_term(scr);
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
              | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    app_theme_reset(a);
    app_init_view(a, a->ses.t, a->ses.cursor);
    if (a->b)
        a->g = grow_new(a->ses.t, a->b, on_grow_event, a);
    if (!a->msg)
        app_message(a, 0, "Enter generates %d branches here, arrows move, ? shows every key", a->ses.settings.branches);

    run(a);

    if (a->g && grow_active(a->g))
        grow_cancel_all(a->g);
    compare_view_free(a);     /* a comparison still sampling is cancelled before the save */
    int final = a->path ? app_save_now(a) : 0;
    endwin();
    delscreen(scr);
    if (final < 0)
        cli_fail(CLI_ERR, "%s: the session could not be saved: %s", a->path, a->save_err ? a->save_err : "");
    else if (a->path && !file)
        fprintf(stderr, "termloom: session saved in %s\n", a->path);
    app_free(a);
    close(self_pipe[0]);
    close(self_pipe[1]);
    self_pipe[0] = self_pipe[1] = -1;
    return final < 0 ? CLI_ERR : CLI_OK;
}
