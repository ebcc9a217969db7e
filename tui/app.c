/* tui/app.c — the interactive loom: start-up, the event loop, layout and drawing, keys.
 * Tree operations are in app_ops.c, saving and opening sessions in app_save.c.
 *
 * One thread.  Each turn: wait on the keyboard, a self-pipe (SIGWINCH and the quit
 * signals only write a byte to it) and every backend — the loom's and a comparison's — in
 * one poll (backend_wait_many over each backend's pollfds: libcurl's sockets and timer,
 * the builtin model's pipe); drain every key; let the backends make progress (its events land in the tree through core/grow); read
 * the next slice of a big file still being opened (app_save.c); save if due; draw if
 * something changed and a frame (30 ms) has passed since the last one. */
#include "tui/app.h"
#include "core/mono.h"
#include "tui/actions.h"
#include "tui/dialog.h"
#include "tui/undo.h"
#include "tui/view.h"
#include "tui/replay.h"
#include "tui/term.h"
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

static int self_pipe[2] = { -1, -1 };

static void log_add(app *a, const char *line)
{
    if (a->nlog == APP_LOG_MAX) {
        free(a->log[0]);
        memmove(a->log, a->log + 1, (a->nlog - 1) * sizeof *a->log);
        a->nlog--;
    }
    time_t now = (time_t)tree_now();
    struct tm tmv;
    char when[16] = "";
    if (localtime_r(&now, &tmv))
        strftime(when, sizeof when, "%H:%M:%S", &tmv);
    xgrow(&a->log, &a->log_cap, a->nlog + 1, sizeof *a->log);
    a->log[a->nlog++] = xasprintf("%s  %s", when, line);
}

void app_log(app *a, const char *fmt, ...)
{
    va_list ap;
    buf b = {0};
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    log_add(a, b.data ? b.data : "");
    buf_free(&b);
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
    a->msg_keep = 0;
    if (error)
        log_add(a, a->msg);
    a->msg_time = mono_now();
}

/* Clears the message (the next key, or its time is up). */
static unsigned msg_expire(app *a)
{
    if (!a->msg)
        return 0;
    free(a->msg);
    a->msg = NULL;
    a->msg_error = a->msg_keep = 0;
    return APP_CH_DRAW;
}

/* ---- generation --------------------------------------------------------------------- */

static const grow_request *find_request(app *a, int request)
{
    int n = a->g ? grow_active(a->g) : 0;
    for (int i = 0; i < n; i++)
        if (grow_request_at(a->g, i)->request == request)
            return grow_request_at(a->g, i);
    return NULL;
}

/* A failed branch: into the log with its place (parent, branch, node) and why; on the
 * status line too, until its request ends and report_failures sums them up. */
static void log_failure(app *a, const backend_event *ev)
{
    const grow_request *r = find_request(a, ev->request);
    if (!r || ev->branch < 0 || ev->branch >= r->k) {
        app_message(a, 1, "%s", ev->message);
        return;
    }
    char node[32] = "no text";
    if (r->nodes[ev->branch] != TREE_NONE)
        snprintf(node, sizeof node, "node #%d", (int)r->nodes[ev->branch]);
    app_log(a, "under #%d, branch %d of %d (%s) failed: %s", (int)r->parent, ev->branch + 1, r->k, node, ev->message);
    free(a->msg);
    a->msg = xstrdup(ev->message);
    a->msg_error = 1;
    a->msg_keep = 0;
}

static void report_failures(app *a, int request)
{
    const grow_request *r = find_request(a, request);
    if (r && r->failed)
        app_message(a, 1, "%s (%d of %d branches under #%d failed; L lists each and why)",
                    a->msg && a->msg_error ? a->msg : "error", r->failed, r->k, (int)r->parent);
}

static void on_grow_event(void *ud, const backend_event *ev)
{
    app *a = ud;
    switch (ev->kind) {
    case BACKEND_EV_ERROR:
        if (ev->message && strcmp(ev->finish ? ev->finish : "", "cancelled"))
            log_failure(a, ev);
        break;
    case BACKEND_EV_STATUS:
        if (ev->message) {
            app_message(a, 0, "%s", ev->message);
            a->msg_keep = ev->keep;
        }
        break;
    case BACKEND_EV_REQUEST_END: {
        int n = a->g ? grow_active(a->g) : 0;
        for (int i = 0; i < n; i++) {
            const grow_request *r = grow_request_at(a->g, i);
            if (r->request == ev->request)
                undo_generation_end(a, r->request, r->nodes, r->k);
        }
        a->save_soon = 1;
        report_failures(a, ev->request);
        if (a->g && grow_active(a->g) <= 1 && !a->msg_error && !a->msg_keep) {
            free(a->msg);
            a->msg = NULL;
        }
        break;
    }
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
    int req = grow_start(a->g, parent, &s, k, err, sizeof err);
    if (req < 0) {
        app_message(a, 1, "%s", err);
        return APP_CH_DRAW;
    }
    tree_node *p = tree_get(a->ses.t, parent);
    int was_folded = p && (p->flags & TREE_FLAG_FOLDED);
    tree_set_flag(a->ses.t, parent, TREE_FLAG_FOLDED, 0);
    undo_generation(a, req, parent, was_folded);
    if (grow_active(a->g) == 1) {
        a->gen_started = mono_now();
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

void app_backend_reset(app *a)
{
    if (a->g) {
        grow_cancel_all(a->g);
        for (int i = 0; i < grow_active(a->g); i++) {   /* requests that never said they ended */
            const grow_request *r = grow_request_at(a->g, i);
            undo_generation_end(a, r->request, r->nodes, r->k);
        }
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

static void on_tree(void *ud, tree *t, int kind, int32_t id)
{
    app *a = ud;
    (void)t;
    (void)id;
    a->tree_gen++;
    a->pending |= APP_CH_DRAW;
    a->unsaved = 1;
    if (kind == TREE_EV_MARK) {            /* saved at once; no analysis looks at marks */
        a->save_soon = 1;
        return;
    }
    a->attr_dirty = 1;
    if (kind != TREE_EV_TEXT) {
        a->save_soon = 1;
        a->end_valid = 0;
    }
}

/* ---- layout and drawing ------------------------------------------------------------- */

void app_draw(app *a)
{
    erase();
    a->hwork = 0;
    if (a->too_small) {
        char msg[96];
        snprintf(msg, sizeof msg, "termloom needs at least %dx%d (now %dx%d)", APP_MIN_COLS, APP_MIN_ROWS, a->cols, a->rows);
        mvaddnstr(a->rows / 2, 0, msg, a->cols);
        if (a->rows / 2 + 1 < a->rows)
            mvaddnstr(a->rows / 2 + 1, 0, "enlarge the window, or q to quit", a->cols);
    } else if (a->mode == APP_MODE_HELP) {
        dialog_draw(a);
    } else if (a->mode == APP_MODE_COMPARE) {
        compare_view_draw(a);
    } else {
        if (a->r_tree.h > 0)
            view_tree(a, a->r_tree);
        else
            a->nrow_ids = 0;
        if (a->r_tree.h > 0 && a->r_text.x > 0) {
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
    int want = (a->mode == APP_MODE_PROMPT || a->mode == APP_MODE_SETTINGS) && !a->too_small;
    if (want != cursor_shown) {
        curs_set(want);
        cursor_shown = want;
    }
    wnoutrefresh(stdscr);
    doupdate();
    a->last_draw = mono_now();
}

/* ---- keys and the mouse ------------------------------------------------------------- */

static unsigned mouse(app *a)
{
    MEVENT me;
    if (getmouse(&me) != OK || a->too_small)
        return 0;
    int dir = 0;
    if (me.bstate & BUTTON4_PRESSED)
        dir = -1;
#ifdef BUTTON5_PRESSED
    if (me.bstate & BUTTON5_PRESSED)
        dir = 1;
#endif
    if (a->mode == APP_MODE_HELP && dir) {  /* the help fills the screen: the wheel scrolls it */
        int s = a->help_scroll + 3 * dir;
        a->help_scroll = s < 0 ? 0 : s;     /* drawing clamps the end */
        return APP_CH_DRAW;
    }
    /* A release only ends a press already acted on (a drag must not select where it ends). */
    int press = (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON1_TRIPLE_CLICKED)) != 0;
    if (a->mode == APP_MODE_COMPARE)
        return dir || press ? compare_view_mouse(a, me.y, me.x, dir) : 0;
    /* Dialogs take no clicks: a click must not move the node a question is about. */
    if (a->mode != APP_MODE_NORMAL)
        return 0;
    app_rect *rs[APP_NPANELS] = { &a->r_tree, &a->r_text, &a->r_tokens, &a->r_stats };
    int panel = -1;
    for (int i = 0; i < APP_NPANELS; i++)
        if (me.y >= rs[i]->y && me.y < rs[i]->y + rs[i]->h && me.x >= rs[i]->x && me.x < rs[i]->x + rs[i]->w)
            panel = i;
    if (dir) {
        if (panel == APP_PANEL_TEXT)
            a->text_scroll = a->text_scroll - 3 * dir < 0 ? 0 : a->text_scroll - 3 * dir;
        else if (panel == APP_PANEL_TREE)
            view_tree_scroll(a, 3 * dir);
        else if (panel == APP_PANEL_STATS)   /* the view clamps the end */
            a->stats_scroll = a->stats_scroll + 3 * dir < 0 ? 0 : a->stats_scroll + 3 * dir;
        return APP_CH_DRAW;
    }
    if (press) {
        if (panel < 0)
            return 0;
        a->focus = (app_panel)panel;
        if (panel == APP_PANEL_STATS) {      /* a row naming an attractor or a node goes there */
            int k = me.y - a->r_stats.y;
            app_link l = k >= 0 && k < APP_STATS_ROWS ? a->stats_link[k] : (app_link){ APP_LINK_NONE, 0 };
            if (l.kind == APP_LINK_ATTRACTOR)
                return app_attractor_pick(a, (size_t)l.v) | APP_CH_DRAW;
            if (l.kind == APP_LINK_NODE && tree_get(a->ses.t, l.v))
                return app_goto(a, l.v) | APP_CH_DRAW;
        }
        if (panel == APP_PANEL_TOKENS) {     /* a click on an alternative chooses it */
            tree_node *n = tree_get(a->ses.t, a->ses.cursor);
            int row = me.y - (a->r_tokens.y + 3);
            if (row >= 0)
                row += a->alt_top;          /* the list may be scrolled (view_tokens) */
            if (n && a->tok_sel < (int)n->ntokens && row >= 0 && row < (int)n->tokens[a->tok_sel].ntop)
                a->alt_sel = row;
        }
        if (panel == APP_PANEL_TREE) {
            int32_t id = view_tree_row_id(a, me.y);
            if (id != TREE_NONE && id != a->ses.cursor) {
                unsigned f = app_goto(a, id);
                /* The clicked row is on screen: the panel stays still, so the node stays
                 * under the pointer (the cursor's scroll margin would shift the rows near
                 * the edges, and a second click would land on a neighbour). */
                a->tree_scrolled = 1;
                return f;
            }
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
    /* The message has been seen: the key's own message, if any, replaces it. */
    unsigned f = a->mode == APP_MODE_NORMAL || a->mode == APP_MODE_COMPARE ? msg_expire(a) : 0;
    if (a->mode == APP_MODE_COMPARE)
        return f | compare_view_key(a, key);
    if (a->mode != APP_MODE_NORMAL)
        return f | dialog_key(a, key);
    return f | actions_dispatch(a, key);
}

/* ---- start-up ----------------------------------------------------------------------- */

#define APP_QUIT_GRACE 3   /* seconds a SIGTERM/SIGHUP waits for the loop */

/* A quit request the loop did not get to within APP_QUIT_GRACE seconds (it was busy: a huge
 * grouping, say): the terminal is put back and the program ends.  Everything saved so far
 * stays (saves are atomic); only signal-safe calls here. */
static void on_alarm(int sig)
{
    (void)sig;
    term_restore();
    _exit(1);
}

static void on_signal(int sig)
{
    int e = errno;
    char c = sig == SIGWINCH ? 'w' : 'q';
    if (self_pipe[1] >= 0 && write(self_pipe[1], &c, 1) < 0) {
        /* a full pipe already holds a wake-up */
    }
    if (sig == SIGTERM || sig == SIGHUP)
        alarm(APP_QUIT_GRACE);             /* on_alarm if the loop cannot answer */
    errno = e;
}

void app_init_view(app *a, tree *t, int32_t cursor)
{
    (void)t;
    a->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    a->tflags = a->utf8 ? 0 : TEXT_ASCII;
    a->rows = LINES;
    a->cols = COLS;
    a->attr_nav_id = TREE_NONE;
    a->ref_id = a->ref_asked = TREE_NONE;
    a->group_pending = TREE_NONE;
    a->tree_top = cursor;
    if (!a->loading)
        app_init_analysis(a);
    if (!tree_get(a->ses.t, cursor))
        cursor = tree_root(a->ses.t);
    if (cursor != TREE_NONE)
        app_goto(a, cursor);
    a->unsaved = 0;
    app_layout(a);
}

void app_init_analysis(app *a)
{
    a->merge = merge_index_new(a->ses.t, a->ses.settings.merge_threshold);
    if (tree_count(a->ses.t) <= APP_ATTR_MAX_NODES) {
        a->attr = attractor_index_new(a->ses.t, a->ses.settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
        a->attr_dirty = 1;
        a->attr_slice = 256;
    }
    tree_observe(a->ses.t, on_tree, a);
    a->hcache = entropy_cache_new(a->ses.t);
    a->calib_id = TREE_NONE;
    /* Hand-marked attractors, once; marks change only through app_mark_changed after. */
    tree_iter it;
    tree_iter_init(&it, a->ses.t, tree_root(a->ses.t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;) {
        if (tree_get(a->ses.t, id)->marks & TREE_MARK_ATTRACTOR)
            app_mark_changed(a, id);
        if (tree_get(a->ses.t, id)->flags & TREE_FLAG_FOLDED)
            a->ever_folded = 1;            /* folds saved with the session */
    }
    tree_iter_done(&it);
}

/* One slice of reading a big file (app_save.c); when it is whole, the analysis starts,
 * the backend is made for the file's settings, and the cursor goes where the file left it
 * (unless a key moved it meanwhile). */
static int load_paced(void)
{
    static int paced = -1;
    if (paced < 0) {
        const char *p = getenv("TERMLOOM_LOAD_PACE");     /* test hook, app.h */
        paced = p && !strcmp(p, "frame");
    }
    return paced;
}

static void load_slice(app *a)
{
    tree *before = a->ses.t;
    int32_t shown = a->ses.cursor;         /* the file's own cursor comes with the last slice */
    double said = a->msg_time;
    int r = app_load_step(a, load_paced() ? 0 : APP_LOAD_SLICE);
    a->end_valid = 0;                      /* the tree grew */
    a->pending |= APP_CH_DRAW;
    if (r == 1)
        return;
    if (r < 0) {
        a->quit = 1;                       /* app_main names the problem */
        return;
    }
    int32_t file_cursor = a->ses.cursor;
    if (a->ses.t != before) {              /* read again at once (core/session_open.c) */
        a->nrow_ids = 0;
        a->tree_top = TREE_NONE;
        shown = TREE_NONE;
    }
    app_init_analysis(a);
    app_backend_reset(a);
    int32_t c = a->last_key > 0 && tree_get(a->ses.t, shown) ? shown : file_cursor;
    if (!tree_get(a->ses.t, c))
        c = tree_root(a->ses.t);
    a->ses.cursor = shown;
    if (a->tree_top == TREE_NONE || !tree_get(a->ses.t, a->tree_top))
        a->tree_top = c;
    app_goto(a, c);
    a->unsaved = 0;
    app_layout(a);
    if (a->msg_time == said)               /* (a crash's recovery note stays) */
        app_message(a, 0, "%zu nodes read in %.1f s", tree_count(a->ses.t), mono_now() - a->load_started);
}

void app_free(app *a)
{
    compare_view_free(a);
    if (a->g)
        grow_free(a->g);
    backend_free(a->b);
    if (a->ses.t)
        tree_unobserve(a->ses.t, on_tree, a);
    entropy_cache_free(a->hcache);
    a->hcache = NULL;
    merge_index_free(a->merge);
    app_attr_cancel(a);
    attractor_index_free(a->attr);
    app_attr_clear(a);
    free(a->attr_items);
    free(a->attr_member);
    app_save_stop(a);
    if (a->loading) {                      /* the tree is the session's; the reader's is not */
        session_open_free(a->loading);
        a->loading = NULL;
    }
    free(a->load_err);
    session_free(&a->ses);
    cli_opts_free(&a->opts);
    free(a->path);
    free(a->row_ids);
    free(a->msg);
    replay_free(a->replay);
    a->replay = NULL;
    app_ref_free(a);
    for (size_t i = 0; i < a->nlog; i++)
        free(a->log[i]);
    free(a->log);
    buf_free(&a->line);
    free(a->line_label);
    free(a->confirm_text);
    free(a->choice_title);
    free(a->set_err);
    app_search_free(a);
    free(a->line_draft);
    undo_free(a->undo);
    dialog_settings_free(a);
    free(a->marked);
    free(a->save_err);
    memset(a, 0, sizeof *a);
}

/* One slice of attractor indexing: a big tree (or a burst of changes) is indexed a few
 * milliseconds at a time, so keys are never kept waiting for the analysis. */
static void attr_slice(app *a)
{
    double t0 = mono_now();
    size_t left = attractor_work(a->attr, a->attr_slice);
    double dt = mono_now() - t0;
    if (dt > 2 * APP_ATTR_SLICE && a->attr_slice > 16)
        a->attr_slice /= 2;
    else if (dt < APP_ATTR_SLICE / 2 && a->attr_slice < 65536)
        a->attr_slice *= 2;
    if (!left || t0 - a->last_draw >= 0.25)
        a->pending |= APP_CH_DRAW;      /* the stats panel shows the progress */
}

static void on_key(app *a, int key)
{
    a->last_key = mono_now();
    unsigned f = app_key(a, key);
    a->pending |= f & ~APP_CH_QUIT;
    if (f & APP_CH_SAVE)
        a->save_soon = 1;
    if (f & APP_CH_QUIT)
        a->quit = 1;
}

static int run(app *a)
{
    double last_spin = 0;
    a->pending = APP_CH_DRAW;
    while (!a->quit) {
        double now = mono_now();
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
            int ms = (int)((a->last_save + APP_STREAM_SAVE_SECONDS - now) * 1000) + 1;
            if (ms < timeout)
                timeout = ms < 0 ? 0 : ms;
        }
        if (a->attr && (attractor_pending(a->attr) || attractor_list_busy(a->attr)))
            timeout = 0;                   /* indexing and listing go on between keys */
        if (a->group_pending != TREE_NONE || a->loading)
            timeout = 0;                   /* so do grouping a huge fan-out and reading a file */
        /* One wait: the keyboard, the self-pipe, the loom's backend and a comparison's. */
        int ready = -1;
        backend *bs[3] = { a->b, NULL, NULL };
        int nbs = 1 + compare_view_backends(a, bs + 1);
        if (a->replay && timeout > 10)
            timeout = 10;                  /* a script's next step is looked at often */
        app_ref_sync(a);
        int fds[3], nfds = 0;
        if (!a->replay)
            fds[nfds++] = STDIN_FILENO;    /* a script's keys need no keyboard */
        fds[nfds++] = self_pipe[0];
        if (app_ref_fd(a) >= 0)
            fds[nfds++] = app_ref_fd(a);   /* the reference model's answers (D) */
        backend_wait_many(bs, nbs, fds, nfds, timeout, &ready);
        a->pending |= app_ref_take(a);
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
        /* Every key waiting, before drawing anything (or a script's next step). */
        wint_t ch;
        int r, key;
        if (a->replay && !a->quit) {
            int st = replay_next(a->replay, a, &key);
            if (st == REPLAY_KEY)
                on_key(a, key);
            else if (st == REPLAY_END || st == REPLAY_FAIL) {
                a->replay_failed = st == REPLAY_FAIL;
                a->quit = 1;
            }
        }
        while (!a->replay && !a->quit && (r = get_wch(&ch)) != ERR)
            on_key(a, r == KEY_CODE_YES ? ACTIONS_FN((int)ch) : (int)ch);
        if (a->b)
            backend_pump(a->b);
        a->pending |= compare_view_pump(a);
        now = mono_now();
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
        if (a->loading && a->last_draw > 0 && (!load_paced() || a->last_draw != a->load_frame)) {
            a->load_frame = a->last_draw;
            load_slice(a);                 /* the first frame shows the first slice */
        }
        app_autosave(a, now);
        if (a->msg && now - a->msg_time >= (a->msg_error ? APP_ERR_SECONDS : APP_MSG_SECONDS))
            a->pending |= msg_expire(a);
        if (a->group_pending != TREE_NONE && a->merge &&
            merge_group_step(a->merge, a->group_pending, VIEW_GROUP_AT_ONCE)) {
            a->group_pending = TREE_NONE;
            a->pending |= APP_CH_DRAW;
        }
        if (a->attr && attractor_pending(a->attr) && !attractor_list_busy(a->attr) && a->last_draw > 0)
            attr_slice(a);                 /* (a listing under way reads the index as it was) */
        app_attr_poll(a);
        if (a->attr && a->attr_dirty && !attractor_list_busy(a->attr) && !attractor_pending(a->attr) && a->last_draw > 0 &&
            now - a->last_key >= 0.4 &&
            now - a->attr_last >= (APP_ATTR_REFRESH > 20 * a->attr_cost ? APP_ATTR_REFRESH : 20 * a->attr_cost))
            app_attr_refresh(a);
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
    cli_args p;
    int rc = cli_args_begin(&p, argc, argv, NULL, NULL, &a->opts);
    const char *file = NULL, *v;
    for (int id; rc == CLI_OK && (id = cli_args_next(&p, &v)) != CLI_ARGS_END;) {
        if (id == CLI_ARGS_ERROR)
            rc = p.status;
        else if (file)
            rc = usage_error("one session file at a time ('%s' is extra)", v);
        else
            file = v;
    }
    cli_args_end(&p);
    if (rc != CLI_OK) {
        cli_opts_free(&a->opts);
        return rc;
    }
    const char *seed = getenv("TERMLOOM_SEED");
    char err[512];
    if (seed && *seed && !a->opts.s.has_seed && settings_set(&a->opts.s, "seed", seed, err, sizeof err) < 0) {
        cli_opts_free(&a->opts);
        return cli_fail(CLI_USAGE, "TERMLOOM_SEED: %s", err);
    }
    a->replay = replay_open(err, sizeof err);
    if (!a->replay && err[0]) {
        cli_opts_free(&a->opts);
        return cli_fail(CLI_USAGE, "%s", err);
    }
    if (!a->replay && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        cli_opts_free(&a->opts);
        return cli_fail(CLI_USAGE, "the interactive loom needs a terminal (headless: termloom gen, stats, export)");
    }
    rc = app_open_session(a, file);
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
    /* The model is loaded before the screen is taken, so a broken model or corpus is one clear line. */
    a->b = cli_backend_new(&a->ses.settings, a->opts.api_key, err, sizeof err);
    if (!a->b) {
        a->set_err = xstrdup(err);
        app_message(a, 1, "%s", err);
    }
    term_grab();
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        term_release();
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
    /* Every button event, though only presses and clicks of button 1 and the wheel are
     * used: a gesture none of whose events is in the mask makes ncurses read on in a
     * blocking read(), and the whole loop would stall (no stream, no redraw) until the next
     * key — a right-click, or a release arriving in the same read as its press, did that. */
    mousemask(ALL_MOUSE_EVENTS, NULL);     /* ALL_MOUSE_EVENTS leaves out motion reports */
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
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    app_theme_reset(a);
    app_init_view(a, a->ses.t, a->ses.cursor);
    if (a->b)
        a->g = grow_new(a->ses.t, a->b, on_grow_event, a);
    if (!a->msg && a->loading)
        app_message(a, 0, "reading %s: moving and ? work meanwhile; changes wait until it is read", a->path);
    else if (!a->msg)
        app_message(a, 0, "Enter generates %d branches here, arrows move, ? shows every key", a->ses.settings.branches);

    run(a);
    alarm(0);                 /* the loop answered a SIGTERM/SIGHUP: the final save may finish */

    if (a->g && grow_active(a->g))
        grow_cancel_all(a->g);
    compare_view_free(a);     /* a comparison still sampling is cancelled before the save */
    int final = a->path && !a->loading && !a->load_err ? app_save_now(a) : 0;   /* never a part of the file */
    endwin();
    delscreen(scr);
    term_release();
    int failed = a->replay_failed || a->load_err;
    if (a->load_err)
        cli_fail(CLI_ERR, "%s", a->load_err);
    else if (a->replay_failed)
        cli_fail(CLI_ERR, "%s", replay_error(a->replay));
    if (final < 0)
        cli_fail(CLI_ERR, "%s: the session could not be saved: %s", a->path, a->save_err ? a->save_err : "");
    else if (a->path && !file)
        fprintf(stderr, "termloom: session saved in %s\n", a->path);
    app_free(a);
    close(self_pipe[0]);
    close(self_pipe[1]);
    self_pipe[0] = self_pipe[1] = -1;
    return final < 0 || failed ? CLI_ERR : CLI_OK;
}
