/* tui/replay.h — deterministic runs of the interactive loom, for tests (tig-style): with
 * TERMLOOM_KEYS=SCRIPT set, keys come from the script instead of the keyboard, and the
 * screen is written to files at the points it marks (TERMLOOM_SCREENS=DIR).  Nothing else
 * changes: the same loop, panels, backends and saving run.  The terminal need not be one:
 * curses draws to stdout (say /dev/null) at the size LINES and COLUMNS give.
 *
 * Script lines (blank lines and lines starting with '#' are skipped):
 *   KEY...         keys by name, as in the config's [keys] (j  Enter  C-a  Esc  Space  F1  ?)
 *   type TEXT      the characters of TEXT, one key each (UTF-8)
 *   screen NAME    the screen as text, one line per row, trailing blanks cut, into DIR/NAME
 *   resize C R     the terminal becomes C columns by R rows
 *   busy STEP      any of the above without waiting for the loom to be idle: only for the
 *                  last key's frame (keys while a big file is read, say)
 * Every other step waits until the loom is idle — no generation or comparison running, no
 * file being read, no analysis or grouping pending, nothing unsaved, a frame drawn — so a
 * script gives the same screens on any machine, however loaded.  A step still waiting after 60 s, an
 * unknown key name or an unwritable screen file ends the run with one line and exit 1.
 * When the script ends the loom quits as on q. */
#ifndef TUI_REPLAY_H
#define TUI_REPLAY_H
#include "tui/app.h"

typedef struct replay replay;

/* NULL with err empty when TERMLOOM_KEYS is not set; NULL with err on a bad script. */
replay *replay_open(char *err, size_t errlen);
void    replay_free(replay *r);

enum { REPLAY_KEY, REPLAY_BUSY, REPLAY_END, REPLAY_FAIL };
/* The next key to act on (REPLAY_KEY, *key set), REPLAY_BUSY while the loom is not idle
 * (call again next turn), REPLAY_END, or REPLAY_FAIL with replay_error. */
int         replay_next(replay *r, app *a, int *key);
const char *replay_error(const replay *r);
#endif
