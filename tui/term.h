/* tui/term.h — the terminal's last resort.  While the loom holds the terminal (raw mode,
 * the alternate screen), any way out that does not pass through endwin() must still give
 * the user a working shell: a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT — a
 * bug, or an allocation failure, which aborts), or a quit request the loop cannot answer.
 *
 * term_grab() records the terminal's modes before curses changes them and installs the
 * fatal-signal handlers; an allocation failure (core/mem) first restores the terminal so
 * its message lands on the normal screen.  term_restore() is async-signal-safe: it leaves
 * the alternate screen, shows the cursor, resets attributes and puts the modes back.  The
 * fatal handlers restore, then hand the signal on to whatever handled it before (so a
 * sanitizer still reports) or to the default action (a core dump stays possible).
 * term_release() undoes term_grab() once curses has ended normally. */
#ifndef TUI_TERM_H
#define TUI_TERM_H

void term_grab(void);
void term_restore(void);
void term_release(void);
#endif
