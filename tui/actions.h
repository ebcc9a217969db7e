/* tui/actions.h — the one action table: name, scope, default keys, help text, handler.
 * The key dispatcher, the `?` help screen and rebinding (the config file's [keys]
 * section: `action = key key …`) are all generated from it.
 *
 * Keys are ints: a Unicode code point for characters (Ctrl-X is 24, Enter 13, Tab 9,
 * Esc 27), ACTIONS_FN(KEY_xxx) for curses function keys.  Key names: a character as is,
 * C-x, Up Down Left Right Enter Tab S-Tab Esc Space Backspace Delete Home End PgUp PgDn
 * F1…F12. */
#ifndef TUI_ACTIONS_H
#define TUI_ACTIONS_H
#include "tui/app.h"
#include <stddef.h>

#define ACTIONS_FN(k) (0x200000 + (k))
#define ACTIONS_MAX_KEYS 4

typedef enum {
    SCOPE_ANY,      /* everywhere (after the focused panel's own actions) */
    SCOPE_TREE,     /* tree panel focused */
    SCOPE_TEXT,     /* text panel focused */
    SCOPE_TOKENS,   /* tokens panel focused */
} action_scope;

typedef unsigned (*action_fn)(app *a);

typedef struct {
    const char  *name;
    action_scope scope;
    const char  *keys;      /* default keys, space-separated names */
    const char  *help;
    action_fn    fn;
} action_def;

extern const action_def actions_table[];
extern const size_t actions_count;

/* Binds the defaults. */
void actions_init(void);
/* Applies "action=key key\n" lines (cli_opts.keys).  Bad lines are skipped; the first
 * problem goes to err (one line).  Returns the number of problems. */
int  actions_rebind(const char *lines, char *err, size_t errlen);
/* Key name ↔ code.  Returns -1 for an unknown name. */
int  actions_parse_key(const char *name);
void actions_key_name(int key, char *out, size_t n);
/* The bound keys of action i as text ("k Up"). */
void actions_keys_text(size_t i, char *out, size_t n);
/* The action for key in the given focus, or NULL. */
const action_def *actions_lookup(app_panel focus, int key);
/* Runs the action for key; returns its flags (0 when unbound). */
unsigned actions_dispatch(app *a, int key);
#endif
