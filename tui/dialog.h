/* tui/dialog.h — modal interactions: the prompt line (a UTF-8 line editor), yes/no
 * confirmation, the settings form, a list chooser, and the help screen.  While one is
 * open (a->mode != APP_MODE_NORMAL) it receives every key through dialog_key; like the
 * action handlers it changes state and returns APP_CH_* flags, and dialog_draw paints it
 * over the panels during the frame. */
#ifndef TUI_DIALOG_H
#define TUI_DIALOG_H
#include "core/mem.h"
#include <stddef.h>

typedef struct app app;
typedef unsigned (*app_text_fn)(app *a, const char *text, size_t len);
typedef unsigned (*app_confirm_fn)(app *a, int yes);
typedef unsigned (*app_choice_fn)(app *a, int choice);

/* What the open dialog holds (a->dlg): written only by dialog.c and dialog_settings.c. */
typedef struct dialog_state {
    /* the prompt line: a UTF-8 line editor */
    buf          line;          /* the prompt line's text */
    size_t       line_cur;      /* cursor byte offset in line */
    size_t       line_scroll;
    char        *line_label;
    app_text_fn  on_line;
    char *const *line_hist;     /* the prompt's history (Up/Down), oldest first, or NULL */
    size_t       line_nhist;
    size_t       line_hist_at;  /* the entry shown; line_nhist: the line being typed */
    char        *line_draft;    /* that line, kept while Up shows older ones */
    /* yes/no */
    app_confirm_fn on_confirm;
    char        *confirm_text;
    /* the chooser */
    int          choice_sel, nchoices;
    const char  *const *choices;
    char        *choice_title;
    app_choice_fn on_choice;
    /* the settings form */
    int          set_sel;       /* settings form row */
    struct settings_form *form; /* the open settings form (tui/dialog_settings.c) */
    /* help */
    int          help_scroll;
    int          help_log;      /* the help screen shows the message log instead */
} dialog_state;

/* Opens the prompt line with label and initial text; fn gets the text on Enter. */
void dialog_prompt(app *a, const char *label, const char *init, size_t len, app_text_fn fn);
/* Gives the open prompt a history (oldest first): Up shows older entries, Down newer ones
 * and then the line being typed.  hist must stay valid while the prompt is open. */
void dialog_prompt_history(app *a, char *const *hist, size_t n);
/* Asks a yes/no question on the bottom line. */
void dialog_confirm(app *a, const char *question, app_confirm_fn fn);
/* The settings form (tui/dialog_settings.c): every option, one field a line, checked as
 * typed; Enter on [Apply] applies, Esc leaves the settings as they were. */
void dialog_settings(app *a);
unsigned dialog_settings_key(app *a, int key);
/* draw_frame draws the frame (dialog.c's). */
void dialog_settings_draw(app *a, void (*draw_frame)(app *, int, int, int, int, const char *));
void dialog_settings_free(app *a);
/* A list of choices; fn gets the index chosen. */
void dialog_chooser(app *a, const char *title, const char *const *choices, int n, app_choice_fn fn);
unsigned dialog_key(app *a, int key);
void dialog_draw(app *a);
/* The help screen's lines (generated from the action table); caller frees each and the array. */
size_t dialog_help_lines(app *a, char ***out);
/* Opens the help screen: the keys (log 0), or the message log at its newest lines (log 1). */
unsigned dialog_help(app *a, int log);
/* The wheel over the help screen (dir ±1). */
unsigned dialog_help_scroll(app *a, int dir);
void dialog_free(app *a);
#endif
