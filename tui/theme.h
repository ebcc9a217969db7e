/* tui/theme.h — colour themes: one table of semantic slots, a small text format, and the
 * mapping onto curses colour pairs.
 *
 * Theme file format (themes/NAME.theme), one slot per line, '#' starts a comment:
 *     slot = FOREGROUND [on BACKGROUND] [ATTRIBUTE ...]
 *     cursor = black on cyan bold
 *     heat1  = 196
 *     dim    = - dim            # '-' or 'default': the terminal's own colour
 * Colours: default, black, red, green, yellow, blue, magenta, cyan, white, bright-black …
 * bright-white, or a number 0-255.  On 16- and 8-colour terminals numbers are mapped to the
 * nearest basic colour, so every theme stays readable.  Attributes: bold dim underline
 * reverse italic standout.  Slots a file does not name keep the built-in (monochrome)
 * style, so a theme can be short.
 * Lookup of NAME: a path if it holds '/', else $XDG_CONFIG_HOME/termloom/themes/NAME.theme,
 * then $TERMLOOM_DATADIR/themes, then themes/ next to the binary, then the install folder.
 * NO_COLOR (non-empty) means attributes only. */
#ifndef TUI_THEME_H
#define TUI_THEME_H
#include <stddef.h>

#define THEME_SLOTS(X) \
    X(normal,      "ordinary text") \
    X(title,       "panel titles") \
    X(title_focus, "title of the panel with the keyboard focus") \
    X(tree,        "tree rows") \
    X(tree_lines,  "tree outline characters") \
    X(cursor,      "the selected row") \
    X(visited,     "nodes already visited (dimmed)") \
    X(bookmark,    "bookmark glyph") \
    X(attractor,   "attractor glyph and rows") \
    X(merged,      "xcount of merged near-duplicate groups") \
    X(incomplete,  "branches that failed or were cancelled") \
    X(prompt,      "the prompt in the text panel") \
    X(text,        "path text in the text panel") \
    X(current,     "current node text without probabilities") \
    X(heat1,       "token probability below 10%") \
    X(heat2,       "token probability 10-35%") \
    X(heat3,       "token probability 35-65%") \
    X(heat4,       "token probability 65-90%") \
    X(heat5,       "token probability above 90%") \
    X(token_sel,   "the selected token") \
    X(placeholder, "stand-ins for control characters and invalid bytes") \
    X(entropy,     "entropy bars") \
    X(bar,         "probability bars") \
    X(status,      "status line") \
    X(busy,        "generation progress") \
    X(error,       "errors") \
    X(ok,          "saved state") \
    X(dim,         "secondary text") \
    X(dialog,      "dialogs and help") \
    X(key,         "key names in help and dialogs") \
    X(search,      "search hits")

typedef enum {
#define X(name, help) THEME_##name,
    THEME_SLOTS(X)
#undef X
    THEME_COUNT
} theme_slot;

enum { THEME_BOLD = 1, THEME_DIM = 2, THEME_UNDERLINE = 4, THEME_REVERSE = 8,
       THEME_ITALIC = 16, THEME_STANDOUT = 32 };

typedef struct {
    short    fg, bg;        /* -1 terminal default, 0-255 */
    unsigned attrs;         /* THEME_BOLD ... */
} theme_style;

typedef struct {
    theme_style slot[THEME_COUNT];
} theme;

extern const char *const theme_slot_names[THEME_COUNT];
extern const char *const theme_slot_help[THEME_COUNT];

/* The built-in monochrome styles (what unnamed slots keep). */
void theme_defaults(theme *th);
/* Parses a theme text over th (which should hold defaults).  0 ok; -1 with
 * "NAME:LINE: problem" in err.  No curses; safe to fuzz. */
int  theme_parse(const char *text, size_t len, const char *name, theme *th, char *err, size_t errlen);
/* Finds and parses theme NAME (see lookup above).  0 ok; -1 with err (th keeps defaults). */
int  theme_load(const char *name, theme *th, char *err, size_t errlen);

/* Curses side: after start_color.  use_color 0 → attributes only. */
void theme_apply(const theme *th, int use_color);
/* The curses attribute (colour pair | attributes) of a slot. */
unsigned long theme_attr(theme_slot s);
#endif
