/* tui/actions.c — the action table and its handlers.  A handler changes the app's state
 * and returns APP_CH_* flags; it never draws. */
#include "tui/actions.h"
#include "tui/dialog.h"
#include "tui/undo.h"
#include "tui/view.h"
#include "tui/view_compare.h"
#include "core/mem.h"
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- moves -------------------------------------------------------------------- */

static unsigned go(app *a, int32_t id)
{
    if (id == TREE_NONE || id == a->ses.cursor)
        return 0;
    return app_goto(a, id);
}

static unsigned act_up(app *a) { return go(a, app_sibling(a, a->ses.cursor, -1)); }
static unsigned act_down(app *a) { return go(a, app_sibling(a, a->ses.cursor, +1)); }
static unsigned act_parent(app *a) { return go(a, tree_parent(a->ses.t, a->ses.cursor)); }

static unsigned act_child(app *a)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    if (n && (n->flags & TREE_FLAG_FOLDED)) {
        tree_set_flag(a->ses.t, a->ses.cursor, TREE_FLAG_FOLDED, 0);
        undo_fold(a, a->ses.cursor, 1);
        return APP_CH_DRAW | APP_CH_SAVE;
    }
    int32_t c = tree_child(a->ses.t, a->ses.cursor);
    if (c != TREE_NONE && a->merge_view && a->an.merge)
        c = merge_leader(a->an.merge, c);
    return go(a, c);
}

static unsigned act_page_up(app *a) { return go(a, view_tree_step(a, a->ses.cursor, -(a->r_tree.h > 3 ? a->r_tree.h - 2 : 1))); }
static unsigned act_page_down(app *a) { return go(a, view_tree_step(a, a->ses.cursor, a->r_tree.h > 3 ? a->r_tree.h - 2 : 1)); }
static unsigned act_row_up(app *a) { return go(a, view_tree_step(a, a->ses.cursor, -1)); }
static unsigned act_row_down(app *a) { return go(a, view_tree_step(a, a->ses.cursor, 1)); }
static unsigned act_root(app *a) { return go(a, tree_root(a->ses.t)); }

static unsigned act_leaf(app *a)
{
    int32_t id = a->ses.cursor, c;
    while ((c = tree_child(a->ses.t, id)) != TREE_NONE) {
        if (a->merge_view && a->an.merge)
            c = merge_leader(a->an.merge, c);
        id = c;
    }
    return go(a, id);
}

static unsigned act_fold(app *a)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    if (!n || !n->nchildren)
        return 0;
    int was = (n->flags & TREE_FLAG_FOLDED) != 0;
    tree_set_flag(a->ses.t, a->ses.cursor, TREE_FLAG_FOLDED, !was);
    undo_fold(a, a->ses.cursor, was);
    view_tree_folded(a);
    return APP_CH_DRAW | APP_CH_SAVE;      /* saved with the session ("folded") */
}

/* ---- generation ----------------------------------------------------------------- */

static unsigned act_generate(app *a)
{
    return app_generate(a, a->ses.cursor, a->ses.settings.branches);
}

static unsigned act_more(app *a)
{
    int32_t p = tree_parent(a->ses.t, a->ses.cursor);
    return app_generate(a, p == TREE_NONE ? a->ses.cursor : p, a->ses.settings.branches);
}

static unsigned act_cancel(app *a)
{
    if (app_gen_active(a)) {
        app_gen_cancel(a);
        app_message(a, 0, "generation cancelled (partial branches kept, marked incomplete)");
        return APP_CH_DRAW | APP_CH_SAVE;
    }
    if (a->search.query)
        return app_search_clear(a);
    return app_message_clear(a);
}

/* ---- editing -------------------------------------------------------------------- */

static unsigned on_edit(app *a, const char *text, size_t len)
{
    return app_set_text(a, a->ses.cursor, text, len, NULL);
}

static unsigned act_edit(app *a)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    if (!n)
        return 0;
    dialog_prompt(a, "edit (Enter keeps, C-j newline, Esc cancels): ", n->text, n->text_len, on_edit);
    return APP_CH_DRAW;
}

static unsigned act_edit_external(app *a) { return app_edit_external(a); }

static unsigned on_add(app *a, const char *text, size_t len)
{
    if (!len)
        return APP_CH_DRAW;
    int32_t before = a->ses.cursor;
    int32_t id = tree_add_child(a->ses.t, a->ses.cursor, TREE_ORIGIN_EDIT, text, len);
    app_goto(a, id);
    undo_added(a, id, before);
    return APP_CH_DRAW | APP_CH_SAVE;
}

static unsigned act_add(app *a)
{
    dialog_prompt(a, "new child text: ", "", 0, on_add);
    return APP_CH_DRAW;
}

static unsigned on_delete(app *a, int yes)
{
    if (!yes)
        return APP_CH_DRAW;
    int32_t id = a->ses.cursor, parent = tree_parent(a->ses.t, id);
    app_stop_streams_in(a, id);
    int index = tree_delete(a->ses.t, id);
    if (index < 0) {
        app_message(a, 1, "cannot delete node #%d", (int)id);
        return APP_CH_DRAW;
    }
    /* Land on a neighbour when there is one, else the parent. */
    tree_node *p = tree_get(a->ses.t, parent);
    int32_t next = parent;
    if (p && p->nchildren)
        next = p->children[(uint32_t)index < p->nchildren ? (uint32_t)index : p->nchildren - 1];
    if (a->merge_view && a->an.merge && next != parent)
        next = merge_leader(a->an.merge, next);
    app_goto(a, next);
    undo_deleted(a, id, index, id);
    app_message(a, 0, "deleted node #%d and its subtree (u undoes)", (int)id);
    return APP_CH_DRAW | APP_CH_SAVE;
}

static unsigned act_delete(app *a)
{
    int32_t id = a->ses.cursor;
    if (tree_parent(a->ses.t, id) == TREE_NONE) {
        app_message(a, 1, "the prompt (root) cannot be deleted");
        return APP_CH_DRAW;
    }
    size_t count = 0;
    tree_iter it;
    tree_iter_init(&it, a->ses.t, id, TREE_DFS);
    while (tree_iter_next(&it) != TREE_NONE)
        count++;
    tree_iter_done(&it);
    char q[128];
    snprintf(q, sizeof q, "Delete node #%d and its %zu descendant%s? (y/n)", (int)id, count - 1, count == 2 ? "" : "s");
    dialog_confirm(a, q, on_delete);
    return APP_CH_DRAW;
}

static unsigned act_undo(app *a) { return undo_undo(a); }
static unsigned act_redo(app *a) { return undo_redo(a); }

/* ---- marks ---------------------------------------------------------------------- */

static unsigned act_bookmark(app *a)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    if (!n)
        return 0;
    unsigned old = n->marks;
    tree_set_marks(a->ses.t, a->ses.cursor, old ^ TREE_MARK_BOOKMARK);
    undo_marks(a, a->ses.cursor, old);
    n = tree_get(a->ses.t, a->ses.cursor);
    app_message(a, 0, n->marks & TREE_MARK_BOOKMARK ? "bookmarked (B jumps between bookmarks)" : "bookmark removed");
    return APP_CH_DRAW | APP_CH_SAVE;
}

static unsigned act_mark(app *a)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    if (!n)
        return 0;
    unsigned old = n->marks;
    tree_set_marks(a->ses.t, a->ses.cursor, old ^ TREE_MARK_ATTRACTOR);
    app_mark_changed(a, a->ses.cursor);
    undo_marks(a, a->ses.cursor, old);
    n = tree_get(a->ses.t, a->ses.cursor);
    app_message(a, 0, n->marks & TREE_MARK_ATTRACTOR ? "marked as an attractor" : "attractor mark removed");
    return APP_CH_DRAW | APP_CH_SAVE;
}

static int is_bookmark(app *a, int32_t id, const void *ud)
{
    (void)ud;
    return (tree_get(a->ses.t, id)->marks & TREE_MARK_BOOKMARK) != 0;
}

static unsigned act_next_bookmark(app *a)
{
    int32_t id = app_find_next(a, 1, is_bookmark, NULL);
    if (id == TREE_NONE) {
        app_message(a, 0, "no bookmarks (b sets one)");
        return APP_CH_DRAW;
    }
    return app_goto(a, id);
}

static unsigned act_next_attractor(app *a) { return app_attractor_jump(a, 1); }
static unsigned act_prev_attractor(app *a) { return app_attractor_jump(a, -1); }
static unsigned act_next_member(app *a) { return app_attractor_member(a, 1); }
static unsigned act_prev_member(app *a) { return app_attractor_member(a, -1); }

/* ---- search (tui/app_find.c) ---------------------------------------------------- */

static unsigned act_search(app *a) { return app_search_open(a); }
static unsigned act_search_next(app *a) { return app_search_step(a, 1); }
static unsigned act_search_prev(app *a) { return app_search_step(a, -1); }

/* ---- views and dialogs ---------------------------------------------------------- */

static unsigned act_merge_view(app *a)
{
    a->merge_view = !a->merge_view;
    if (a->merge_view) {
        int32_t l = merge_leader(a->an.merge, a->ses.cursor);
        if (l != TREE_NONE && l != a->ses.cursor)
            app_goto(a, l);
        app_message(a, 0, "merge view: near-duplicate siblings shown once with a count (M shows all)");
    } else {
        app_message(a, 0, "merge view off: every branch shown");
    }
    view_tree_set_top(a, a->ses.cursor);
    return APP_CH_DRAW;
}

static unsigned act_focus_next(app *a)
{
    return app_focus_step(a, 1);
}

static unsigned act_focus_prev(app *a)
{
    return app_focus_step(a, -1);
}

static unsigned act_settings(app *a)
{
    dialog_settings(a);
    return APP_CH_DRAW;
}

static unsigned act_save(app *a)
{
    if (!a->save.path) {
        app_message(a, 1, "no session file (start termloom with a FILE)");
        return APP_CH_DRAW;
    }
    if (app_save_now(a) == 0)
        app_message(a, 0, "saved %s", a->save.path);
    return APP_CH_DRAW;
}

static unsigned act_export(app *a)
{
    return app_export(a);
}

static unsigned act_compare(app *a)
{
    return compare_view_open(a);
}

static unsigned act_help(app *a)
{
    return dialog_help(a, 0);
}

/* D: the tokens' tint, by probability or by log-ratio to the other side of a comparison. */
static unsigned act_tint(app *a)
{
    int logratio = view_text_tint_toggle(a);
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    const char *ref = a->ses.settings.reference_model;
    if (!logratio)
        app_message(a, 0, "tokens tinted by probability");
    else if (ref && *ref)
        app_message(a, 0, "tokens tinted by log p(the node's model) - log p(%s): hot = likelier under the node's model", ref);
    else if (n && n->ntokens && !isnan(view_logratio(a, a->ses.cursor, n, 0)))
        app_message(a, 0, "tokens tinted by log p(this side) - log p(the other side): hot = likelier here");
    else
        app_message(a, 0, "tint by log-ratio: this node has none (samples of a comparison scored by "
                          "termloom compare carry one; or set reference_model, S)");
    return APP_CH_DRAW;
}

/* The message log on the help screen, scrolled to its newest lines. */
static unsigned act_log(app *a)
{
    return dialog_help(a, 1);
}

/* Quitting after a failed save would lose everything since the last good one (a folder
 * gone, a full or read-only disk): the save is tried again, and when it fails the user
 * names another file; an empty answer asks before quitting without saving. */
static unsigned ask_save_elsewhere(app *a);

static unsigned on_quit_unsaved(app *a, int yes)
{
    return yes ? APP_CH_QUIT : APP_CH_DRAW;
}

static unsigned on_quit_path(app *a, const char *text, size_t len)
{
    if (!len) {
        dialog_confirm(a, "quit WITHOUT saving (the unsaved branches are lost)? y/n", on_quit_unsaved);
        return APP_CH_DRAW;
    }
    if (app_save_as(a, text, len) == 0)
        return APP_CH_QUIT;                       /* the exit message names the new file */
    return ask_save_elsewhere(a);
}

static unsigned ask_save_elsewhere(app *a)
{
    /* the reason stays on the message line above (app_save_now put it there) */
    const char *home = getenv("HOME");
    char *def = xasprintf("%s/termloom-rescue.json", home && *home ? home : "/tmp");
    dialog_prompt(a, "NOT SAVED: save to (Esc back, empty quits unsaved): ", def, strlen(def), on_quit_path);
    free(def);
    return APP_CH_DRAW;
}

static unsigned act_quit(app *a)
{
    if (a->save.path && (a->save.err || a->save.unsaved || a->save.soon) && app_save_now(a) < 0)
        return ask_save_elsewhere(a);
    return APP_CH_QUIT;
}

static unsigned act_redraw(app *a)
{
    (void)a;
    clearok(curscr, TRUE);
    return APP_CH_DRAW;
}

/* ---- tokens panel --------------------------------------------------------------- */

static unsigned act_tok_prev(app *a) { return view_tokens_move(a, -1); }
static unsigned act_tok_next(app *a) { return view_tokens_move(a, 1); }
static unsigned act_alt_up(app *a) { return view_tokens_move_alt(a, -1); }
static unsigned act_alt_down(app *a) { return view_tokens_move_alt(a, 1); }
static unsigned act_branch_alt(app *a) { return app_branch_alt(a); }

/* ---- text panel ----------------------------------------------------------------- */

static unsigned act_text_up(app *a) { return view_text_scroll(a, 1); }
static unsigned act_text_down(app *a) { return view_text_scroll(a, -1); }
static unsigned act_text_pgup(app *a) { return view_text_scroll(a, a->r_text.h > 3 ? a->r_text.h - 2 : 1); }
static unsigned act_text_pgdn(app *a) { return view_text_scroll(a, -(a->r_text.h > 3 ? a->r_text.h - 2 : 1)); }
static unsigned act_text_end(app *a) { view_text_scroll_end(a); return APP_CH_DRAW; }

/* ---- the table ------------------------------------------------------------------ */

const action_def actions_table[] = {
    { "prev_sibling",   SCOPE_ANY,    "Up k",        "previous sibling", act_up },
    { "next_sibling",   SCOPE_ANY,    "Down j",      "next sibling", act_down },
    { "parent",         SCOPE_ANY,    "Left h",      "parent", act_parent },
    { "child",          SCOPE_ANY,    "Right l",     "child (the one last visited; opens a folded node)", act_child },
    { "row_up",         SCOPE_ANY,    "K",           "row above in the outline", act_row_up },
    { "row_down",       SCOPE_ANY,    "J",           "row below in the outline", act_row_down },
    { "page_up",        SCOPE_ANY,    "PgUp",        "a page of rows up", act_page_up },
    { "page_down",      SCOPE_ANY,    "PgDn",        "a page of rows down", act_page_down },
    { "root",           SCOPE_ANY,    "Home",        "the prompt (root)", act_root },
    { "leaf",           SCOPE_ANY,    "End",         "follow last-visited children to a leaf", act_leaf },
    { "fold",           SCOPE_ANY,    "z Space",     "fold/unfold the node's children", act_fold },
    { "generate",       SCOPE_ANY,    "Enter g",     "generate k branches here", act_generate },
    { "more",           SCOPE_ANY,    "r",           "generate k more siblings (children of the parent)", act_more },
    { "cancel",         SCOPE_ANY,    "Esc",         "cancel generation (partial branches kept)", act_cancel },
    { "focus_next",     SCOPE_ANY,    "Tab",         "focus the next panel (tree, text, tokens, stats)", act_focus_next },
    { "focus_prev",     SCOPE_ANY,    "S-Tab",       "focus the previous panel", act_focus_prev },
    { "zoom",           SCOPE_ANY,    "Z",           "zoom: the focused panel fills the screen (again: back)", app_zoom },
    { "side_panels",    SCOPE_ANY,    "v",           "side panels shown: tokens and stats, stats, tokens, neither", app_sides_cycle },
    { "edit",           SCOPE_ANY,    "e",           "edit the node's text (its token data is dropped)", act_edit },
    { "edit_external",  SCOPE_ANY,    "E",           "edit the node's text in $VISUAL / $EDITOR", act_edit_external },
    { "add",            SCOPE_ANY,    "a",           "add a child written by hand", act_add },
    { "delete",         SCOPE_ANY,    "d",           "delete the subtree (asks first)", act_delete },
    { "undo",           SCOPE_ANY,    "u",           "undo the last change (add, edit, delete, mark, bookmark, fold, a generation)", act_undo },
    { "redo",           SCOPE_ANY,    "C-r",         "redo what u undid (exactly as it was)", act_redo },
    { "bookmark",       SCOPE_ANY,    "b",           "bookmark / unbookmark", act_bookmark },
    { "next_bookmark",  SCOPE_ANY,    "B",           "jump to the next bookmark", act_next_bookmark },
    { "mark",           SCOPE_ANY,    "m",           "mark / unmark as an attractor", act_mark },
    { "next_attractor", SCOPE_ANY,    "A",           "jump to the next attractor of the list (1/3, 2/3, 3/3)", act_next_attractor },
    { "prev_attractor", SCOPE_ANY,    "C-a",         "jump to the previous attractor (both wrap around the list)", act_prev_attractor },
    { "next_member",    SCOPE_ANY,    "]",           "next member (node) of the current attractor", act_next_member },
    { "prev_member",    SCOPE_ANY,    "[",           "previous member of the current attractor", act_prev_member },
    { "search",         SCOPE_ANY,    "/",           "search node texts (a new query; Up recalls earlier ones, Enter alone repeats)", act_search },
    { "search_next",    SCOPE_ANY,    "n",           "next search hit (the status shows its place: 3/17)", act_search_next },
    { "search_prev",    SCOPE_ANY,    "N",           "previous search hit", act_search_prev },
    { "merge_view",     SCOPE_ANY,    "M",           "merge view: near-duplicate siblings once, with xcount", act_merge_view },
    { "settings",       SCOPE_ANY,    "S",           "settings form (backend, model, k, sampling, theme; checked as typed)", act_settings },
    { "save",           SCOPE_ANY,    "s",           "save now (it also saves after every change)", act_save },
    { "export",         SCOPE_ANY,    "x",           "export the session", act_export },
    { "compare",        SCOPE_ANY,    "c",           "compare two models or settings", act_compare },
    { "help",           SCOPE_ANY,    "? F1",        "this help", act_help },
    { "tint",           SCOPE_ANY,    "D",           "tint tokens by log-ratio to the other side of a comparison / by probability", act_tint },
    { "log",            SCOPE_ANY,    "L",           "messages: every error so far, each failed branch and why", act_log },
    { "redraw",         SCOPE_ANY,    "C-l",         "redraw the screen", act_redraw },
    { "quit",           SCOPE_ANY,    "q",           "quit (saves first)", act_quit },
    { "token_prev",     SCOPE_TOKENS, "Left h",      "previous token", act_tok_prev },
    { "token_next",     SCOPE_TOKENS, "Right l",     "next token", act_tok_next },
    { "alt_up",         SCOPE_TOKENS, "Up k",        "previous alternative", act_alt_up },
    { "alt_down",       SCOPE_TOKENS, "Down j",      "next alternative", act_alt_down },
    { "branch_alt",     SCOPE_TOKENS, "Enter",       "branch: force the chosen alternative here, then generate", act_branch_alt },
    { "text_up",        SCOPE_TEXT,   "Up k",        "scroll the text up", act_text_up },
    { "text_down",      SCOPE_TEXT,   "Down j",      "scroll the text down", act_text_down },
    { "text_page_up",   SCOPE_TEXT,   "PgUp",        "scroll the text a page up", act_text_pgup },
    { "text_page_down", SCOPE_TEXT,   "PgDn",        "scroll the text a page down", act_text_pgdn },
    { "text_end",       SCOPE_TEXT,   "End",         "back to the end of the text", act_text_end },
};
const size_t actions_count = sizeof actions_table / sizeof *actions_table;

#define NACTIONS (sizeof actions_table / sizeof *actions_table)
static int bound[NACTIONS][ACTIONS_MAX_KEYS];

static const struct { const char *name; int key; } key_names[] = {
    { "Up", ACTIONS_FN(KEY_UP) }, { "Down", ACTIONS_FN(KEY_DOWN) }, { "Left", ACTIONS_FN(KEY_LEFT) },
    { "Right", ACTIONS_FN(KEY_RIGHT) }, { "Enter", 13 }, { "Tab", 9 }, { "S-Tab", ACTIONS_FN(KEY_BTAB) },
    { "Esc", 27 }, { "Space", ' ' }, { "Backspace", ACTIONS_FN(KEY_BACKSPACE) },
    { "Delete", ACTIONS_FN(KEY_DC) }, { "Home", ACTIONS_FN(KEY_HOME) }, { "End", ACTIONS_FN(KEY_END) },
    { "PgUp", ACTIONS_FN(KEY_PPAGE) }, { "PgDn", ACTIONS_FN(KEY_NPAGE) },
};

int actions_parse_key(const char *s)
{
    for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++)
        if (!strcasecmp(s, key_names[i].name))
            return key_names[i].key;
    if ((s[0] == 'F' || s[0] == 'f') && s[1] >= '1' && s[1] <= '9') {
        int n = atoi(s + 1);
        if (n >= 1 && n <= 12)
            return ACTIONS_FN(KEY_F(n));
    }
    if ((s[0] == 'C' || s[0] == 'c') && s[1] == '-' && s[2] && !s[3]) {
        char c = s[2];
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 1;
        if (c >= 'A' && c <= 'Z')
            return c - 'A' + 1;
        return -1;
    }
    /* One character (UTF-8). */
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] && !u[1] && u[0] > ' ' && u[0] < 0x7F)
        return u[0];
    if (u[0] >= 0xC2) {
        int n = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : 2;
        if ((int)strlen(s) != n)
            return -1;
        int cp = u[0] & (0x7F >> n);
        for (int i = 1; i < n; i++)
            cp = (cp << 6) | (u[i] & 0x3F);
        return cp;
    }
    return -1;
}

void actions_key_name(int key, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++)
        if (key_names[i].key == key) {
            snprintf(out, n, "%s", key_names[i].name);
            return;
        }
    if (key >= ACTIONS_FN(KEY_F(1)) && key <= ACTIONS_FN(KEY_F(12))) {
        snprintf(out, n, "F%d", key - ACTIONS_FN(KEY_F(0)));
        return;
    }
    if (key >= 1 && key < 27) {
        snprintf(out, n, "C-%c", 'a' + key - 1);
        return;
    }
    if (key > ' ' && key < 0x110000) {
        char tmp[8] = {0};
        if (key < 0x80) {
            tmp[0] = (char)key;
        } else {
            /* encode */
            unsigned cp = (unsigned)key;
            if (cp < 0x800) {
                tmp[0] = (char)(0xC0 | (cp >> 6));
                tmp[1] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                tmp[0] = (char)(0xE0 | (cp >> 12));
                tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                tmp[2] = (char)(0x80 | (cp & 0x3F));
            } else {
                tmp[0] = (char)(0xF0 | (cp >> 18));
                tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                tmp[3] = (char)(0x80 | (cp & 0x3F));
            }
        }
        snprintf(out, n, "%s", tmp);
        return;
    }
    snprintf(out, n, "key-%d", key);
}

/* Parses "k Up" into keys[]; returns the count, -1 on an unknown name (in *bad). */
static int parse_keys(const char *list, int keys[ACTIONS_MAX_KEYS], char *bad, size_t badlen)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", list);
    int n = 0;
    for (char *w = strtok(tmp, " \t,"); w; w = strtok(NULL, " \t,")) {
        int k = actions_parse_key(w);
        if (k < 0) {
            snprintf(bad, badlen, "%s", w);
            return -1;
        }
        if (n < ACTIONS_MAX_KEYS)
            keys[n++] = k;
    }
    return n;
}

void actions_init(void)
{
    char bad[64];
    for (size_t i = 0; i < NACTIONS; i++) {
        for (int k = 0; k < ACTIONS_MAX_KEYS; k++)
            bound[i][k] = -1;
        parse_keys(actions_table[i].keys, bound[i], bad, sizeof bad);
    }
}

int actions_rebind(const char *lines, char *err, size_t errlen)
{
    int problems = 0;
    if (!lines)
        return 0;
    char *copy = xstrdup(lines), *save = NULL;
    for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(ln, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *name = ln;
        while (*name == ' ')
            name++;
        size_t nl = strlen(name);
        while (nl && name[nl - 1] == ' ')
            name[--nl] = 0;
        size_t i = 0;
        while (i < NACTIONS && strcmp(actions_table[i].name, name))
            i++;
        char bad[64];
        int keys[ACTIONS_MAX_KEYS];
        int n = i < NACTIONS ? parse_keys(eq + 1, keys, bad, sizeof bad) : -1;
        if (i == NACTIONS || n <= 0) {
            if (!problems++)
                snprintf(err, errlen, i == NACTIONS ? "[keys]: unknown action '%s'" : n == 0 ? "[keys]: no key for '%s'"
                                                    : "[keys]: unknown key name for '%s'", name);
            continue;
        }
        /* The new keys leave any other action of the same scope. */
        for (size_t j = 0; j < NACTIONS; j++)
            if (j != i && actions_table[j].scope == actions_table[i].scope)
                for (int k = 0; k < ACTIONS_MAX_KEYS; k++)
                    for (int m = 0; m < n; m++)
                        if (bound[j][k] == keys[m])
                            bound[j][k] = -1;
        for (int k = 0; k < ACTIONS_MAX_KEYS; k++)
            bound[i][k] = k < n ? keys[k] : -1;
    }
    free(copy);
    return problems;
}

void actions_keys_text(size_t i, char *out, size_t n)
{
    out[0] = 0;
    size_t len = 0;
    for (int k = 0; k < ACTIONS_MAX_KEYS; k++) {
        if (bound[i][k] < 0)
            continue;
        char name[32];
        actions_key_name(bound[i][k], name, sizeof name);
        len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? " " : "", name);
        if (len >= n)
            break;
    }
}

static const action_def *find_in(action_scope scope, int key)
{
    for (size_t i = 0; i < NACTIONS; i++)
        if (actions_table[i].scope == scope)
            for (int k = 0; k < ACTIONS_MAX_KEYS; k++)
                if (bound[i][k] == key)
                    return &actions_table[i];
    return NULL;
}

const action_def *actions_lookup(app_panel focus, int key)
{
    action_scope s = focus == APP_PANEL_TOKENS ? SCOPE_TOKENS : focus == APP_PANEL_TEXT ? SCOPE_TEXT : SCOPE_TREE;
    const action_def *d = find_in(s, key);
    return d ? d : find_in(SCOPE_ANY, key);
}

/* While a big file is being read (a->save.loading) only what changes nothing runs: moving,
 * scrolling, the panels, search, help and quit.  Everything else would change a tree that
 * is not whole yet, save a part of it, or read analysis not made yet. */
static int runs_while_loading(const action_def *d)
{
    static const char *const ok[] = {
        "prev_sibling", "next_sibling", "parent", "child", "row_up", "row_down", "page_up",
        "page_down", "root", "leaf", "focus_next", "focus_prev", "zoom", "side_panels",
        "next_bookmark", "search", "search_next", "search_prev", "help", "log", "redraw", "quit",
        "token_prev", "token_next", "alt_up", "alt_down", "text_up", "text_down", "text_page_up",
        "text_page_down", "text_end",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(d->name, ok[i]))
            return 1;
    return 0;
}

unsigned actions_dispatch(app *a, int key)
{
    const action_def *d = actions_lookup(a->focus, key);
    if (d && a->save.loading && !runs_while_loading(d)) {
        size_t n;
        double p = app_load_progress(a, &n);
        if (app_load_sliced(a))
            app_message(a, 1, "%s waits until the file is read (%.0f%%, %zu nodes so far)", d->name, 100 * p, n);
        else
            app_message(a, 1, "%s waits until the import is done", d->name);
        return APP_CH_DRAW;
    }
    return d ? d->fn(a) : 0;
}
