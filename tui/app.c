/* tui/app.c — the interactive loom: start-up, the event loop, layout and drawing, keys.
 * Tree operations are in app_ops.c, generation in app_gen.c, the analysis in
 * app_analysis.c, saving and opening sessions in app_save.c.
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
    if (a->status.nlog == APP_LOG_MAX) {
        free(a->status.log[0]);
        memmove(a->status.log, a->status.log + 1, (a->status.nlog - 1) * sizeof *a->status.log);
        a->status.nlog--;
    }
    time_t now = (time_t)tree_now();
    struct tm tmv;
    char when[16] = "";
    if (localtime_r(&now, &tmv))
        strftime(when, sizeof when, "%H:%M:%S", &tmv);
    xgrow(&a->status.log, &a->status.log_cap, a->status.nlog + 1, sizeof *a->status.log);
    a->status.log[a->status.nlog++] = xasprintf("%s  %s", when, line);
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
    free(a->status.msg);
    a->status.msg = buf_steal(&b);
    a->status.error = error;
    a->status.keep = 0;
    if (error)
        log_add(a, a->status.msg);
    a->status.time = mono_now();
}

void app_message_show(app *a, int error, int keep, const char *text)
{
    free(a->status.msg);
    a->status.msg = xstrdup(text);
    a->status.error = error;
    a->status.keep = keep;
    a->status.time = mono_now();   /* its own time on screen, not what is left of the last */
}

unsigned app_message_clear(app *a)
{
    if (!a->status.msg)
        return 0;
    free(a->status.msg);
    a->status.msg = NULL;
    a->status.error = a->status.keep = 0;
    return APP_CH_DRAW;
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
    a->save.unsaved = 1;
    if (kind == TREE_EV_MARK) {            /* saved at once; no analysis looks at marks */
        a->save.soon = 1;
        return;
    }
    a->an.dirty = 1;
    if (kind != TREE_EV_TEXT) {
        a->save.soon = 1;
        view_tree_shape_changed(a);
    }
}

/* The analysis of a whole tree, and the app's own ear on it. */
static void analysis_begin(app *a)
{
    app_init_analysis(a);
    tree_observe(a->ses.t, on_tree, a);
    view_tree_begin(a);
    view_stats_forget(a);
}

/* The panel that fills the screen instead of the layout (the compare view), or NULL. */
static const panel_ops *screen_panel(const app *a)
{
    return a->mode == APP_MODE_COMPARE ? &view_compare_ops : NULL;
}

/* ---- layout and drawing ------------------------------------------------------------- */

void app_draw(app *a)
{
    erase();
    if (a->too_small) {
        char msg[96];
        snprintf(msg, sizeof msg, "termloom needs at least %dx%d (now %dx%d)", APP_MIN_COLS, APP_MIN_ROWS, a->cols, a->rows);
        mvaddnstr(a->rows / 2, 0, msg, a->cols);
        if (a->rows / 2 + 1 < a->rows)
            mvaddnstr(a->rows / 2 + 1, 0, "enlarge the window, or q to quit", a->cols);
    } else if (a->mode == APP_MODE_HELP) {
        dialog_draw(a);
    } else if (screen_panel(a)) {
        screen_panel(a)->draw(a, (app_rect){ 0, 0, a->rows, a->cols });
    } else {
        for (int p = 0; p < APP_NPANELS; p++) {
            /* The rules between panels: right of the tree, and between tokens and stats
             * when they share a band. */
            if (p == APP_PANEL_TEXT && a->r_tree.h > 0 && a->r_text.x > 0) {
                for (int y = 0; y < a->rows - 1; y++)
                    view_puts(a, y, a->r_tree.w, 1, view_glyph(a, "\xe2\x94\x82", "|"), theme_attr(THEME_tree_lines));
            }
            if (p == APP_PANEL_STATS && a->r_stats.h > 0 && a->r_stats.x > a->r_tokens.x && a->r_stats.y == a->r_tokens.y) {
                for (int y = a->r_stats.y; y < a->r_stats.y + a->r_stats.h; y++)
                    view_puts(a, y, a->r_stats.x - 1, 1, view_glyph(a, "\xe2\x94\x82", "|"), theme_attr(THEME_tree_lines));
            }
            app_rect r = *view_rect(a, (app_panel)p);
            if (r.h > 0)
                view_panels[p]->draw(a, r);
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
    if (a->mode == APP_MODE_HELP && dir)    /* the help fills the screen: the wheel scrolls it */
        return dialog_help_scroll(a, dir);
    /* A release only ends a press already acted on (a drag must not select where it ends). */
    int press = (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON1_TRIPLE_CLICKED)) != 0;
    const panel_ops *sp = screen_panel(a);
    if (sp)
        return (dir || press) && sp->mouse ? sp->mouse(a, (app_rect){ 0, 0, a->rows, a->cols }, me.y, me.x, dir) : 0;
    /* Dialogs take no clicks: a click must not move the node a question is about. */
    if (a->mode != APP_MODE_NORMAL)
        return 0;
    int panel = -1;
    for (int i = 0; i < APP_NPANELS; i++) {
        app_rect r = *view_rect(a, (app_panel)i);
        if (me.y >= r.y && me.y < r.y + r.h && me.x >= r.x && me.x < r.x + r.w)
            panel = i;
    }
    const panel_ops *po = panel >= 0 ? view_panels[panel] : NULL;
    if (dir) {                             /* the wheel scrolls the panel under the pointer */
        if (po && po->mouse)
            po->mouse(a, *view_rect(a, (app_panel)panel), me.y, me.x, dir);
        return APP_CH_DRAW;
    }
    if (press) {                           /* a press focuses the panel, which acts on it */
        if (panel < 0)
            return 0;
        a->focus = (app_panel)panel;
        if (po->mouse)
            return po->mouse(a, *view_rect(a, (app_panel)panel), me.y, me.x, 0);
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
    const panel_ops *sp = screen_panel(a);
    unsigned f = a->mode == APP_MODE_NORMAL || sp ? app_message_clear(a) : 0;
    if (sp)
        return f | sp->key(a, key);
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
    app_analysis_none(a);
    app_ref_none(a);
    view_tree_set_top(a, cursor);
    if (!a->save.loading)
        analysis_begin(a);
    if (!tree_get(a->ses.t, cursor))
        cursor = tree_root(a->ses.t);
    if (cursor != TREE_NONE)
        app_goto(a, cursor);
    a->save.unsaved = 0;
    app_layout(a);
}

/* One slice of reading a big file (app_save.c); when it is whole, the analysis starts,
 * the backend is made for the file's settings, and the cursor goes where the file left it
 * (unless a key moved it meanwhile). */
static void load_slice(app *a, double seconds)
{
    tree *before = a->ses.t;
    int32_t shown = a->ses.cursor;         /* the file's own cursor comes with the last slice */
    double said = a->status.time;
    int r = app_load_step(a, seconds);
    view_tree_shape_changed(a);            /* the tree grew */
    a->pending |= APP_CH_DRAW;
    if (r == 1)
        return;
    if (r < 0) {
        a->quit = 1;                       /* app_main names the problem */
        return;
    }
    int32_t file_cursor = a->ses.cursor;
    if (a->ses.t != before) {              /* read again at once (core/session_open.c) */
        view_tree_forget(a);
        shown = TREE_NONE;
    }
    analysis_begin(a);
    app_backend_reset(a);
    int32_t c = a->last_key > 0 && tree_get(a->ses.t, shown) ? shown : file_cursor;
    if (!tree_get(a->ses.t, c))
        c = tree_root(a->ses.t);
    a->ses.cursor = shown;
    if (view_tree_top(a) == TREE_NONE || !tree_get(a->ses.t, view_tree_top(a)))
        view_tree_set_top(a, c);
    app_goto(a, c);
    a->save.unsaved = 0;
    app_layout(a);
    if (a->status.time == said)               /* (a crash's recovery note stays) */
        app_message(a, 0, "%zu nodes read in %.1f s", tree_count(a->ses.t), mono_now() - a->save.load_started);
}

void app_free(app *a)
{
    view_compare_ops.free(a);
    for (int p = 0; p < APP_NPANELS; p++)
        if (view_panels[p]->free)
            view_panels[p]->free(a);
    app_gen_free(a);
    if (a->ses.t)
        tree_unobserve(a->ses.t, on_tree, a);
    app_analysis_free(a);
    app_save_free(a);
    session_free(&a->ses);
    cli_opts_free(&a->opts);
    free(a->status.msg);
    replay_free(a->replay);
    a->replay = NULL;
    app_ref_free(a);
    for (size_t i = 0; i < a->status.nlog; i++)
        free(a->status.log[i]);
    free(a->status.log);
    dialog_free(a);
    app_search_free(a);
    undo_free(a->undo);
    memset(a, 0, sizeof *a);
}

static void on_key(app *a, int key)
{
    a->last_key = mono_now();
    unsigned f = app_key(a, key);
    a->pending |= f & ~APP_CH_QUIT;
    if (f & APP_CH_SAVE)
        a->save.soon = 1;
    if (f & APP_CH_QUIT)
        a->quit = 1;
}

static int run(app *a)
{
    a->pending = APP_CH_DRAW;
    while (!a->quit) {
        double now = mono_now();
        int timeout = 1000;
        if (app_gen_active(a))
            timeout = 100;
        if (a->pending & APP_CH_DRAW) {
            double left = FRAME_SECONDS - (now - a->last_draw);
            int ms = left > 0 ? (int)(left * 1000) + 1 : 0;
            if (ms < timeout)
                timeout = ms;
        }
        if (a->save.path && (a->save.unsaved || a->save.soon)) {
            int ms = (int)((a->save.last + APP_STREAM_SAVE_SECONDS - now) * 1000) + 1;
            if (ms < timeout)
                timeout = ms < 0 ? 0 : ms;
        }
        if (app_analysis_busy(a) || app_load_sliced(a))
            timeout = 0;                   /* the analysis and reading a file go on between keys */
        else if (a->save.loading && timeout > 40)
            timeout = 40;                  /* an import on its thread: looked in on, not spun on */
        /* One wait: the keyboard, the self-pipe, the loom's backend and a comparison's. */
        int ready = -1;
        backend *bs[3] = { a->gen.b, NULL, NULL };
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
        if (a->gen.b)
            backend_pump(a->gen.b);
        a->pending |= compare_view_pump(a);
        now = mono_now();
        a->pending |= app_gen_tick(a, now);
        double seconds;
        if (app_load_due(a, &seconds))
            load_slice(a, seconds);        /* the first frame shows the first slice */
        app_autosave(a, now);
        if (a->status.msg && now - a->status.time >= (a->status.error ? APP_ERR_SECONDS : APP_MSG_SECONDS))
            a->pending |= app_message_clear(a);
        app_analysis_step(a, now);
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
    if (app_gen_backend(a, err, sizeof err) < 0)
        app_message(a, 1, "%s", err);
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
    app_gen_start(a);
    if (!a->status.msg && app_load_sliced(a))
        app_message(a, 0, "reading %s: moving and ? work meanwhile; changes wait until it is read", a->save.path);
    else if (!a->status.msg && a->save.loading)
        app_message(a, 0, "opening %s (another loom's file): the tree appears when it is imported; ? and q work meanwhile", a->save.source);
    else if (!a->status.msg)
        app_message(a, 0, "Enter generates %d branches here, arrows move, ? shows every key", a->ses.settings.branches);

    run(a);
    alarm(0);                 /* the loop answered a SIGTERM/SIGHUP: the final save may finish */

    app_gen_cancel(a);
    compare_view_free(a);     /* a comparison still sampling is cancelled before the save */
    int final = a->save.path && !a->save.loading && !a->save.load_err ? app_save_now(a) : 0;   /* never a part of the file */
    endwin();
    delscreen(scr);
    term_release();
    int failed = a->replay_failed || a->save.load_err;
    if (a->save.load_err)
        cli_fail(CLI_ERR, "%s", a->save.load_err);
    else if (a->replay_failed)
        cli_fail(CLI_ERR, "%s", replay_error(a->replay));
    if (final < 0)
        cli_fail(CLI_ERR, "%s: the session could not be saved: %s", a->save.path, a->save.err ? a->save.err : "");
    else if (a->save.path && !file)
        fprintf(stderr, "termloom: session saved in %s\n", a->save.path);
    app_free(a);
    close(self_pipe[0]);
    close(self_pipe[1]);
    self_pipe[0] = self_pipe[1] = -1;
    return final < 0 || failed ? CLI_ERR : CLI_OK;
}
