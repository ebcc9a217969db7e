#include "tui/term.h"
#include "core/mem.h"
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios before;
static volatile sig_atomic_t saved, grabbed;

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (sizeof fatal_signals / sizeof *fatal_signals)
static struct sigaction previous[NFATAL];

void term_restore(void)
{
    if (!grabbed)
        return;
    static const char reset[] = "\033[?1049l\033[?25h\033[0m\r\n";
    if (write(STDOUT_FILENO, reset, sizeof reset - 1) < 0) {
        /* nothing more to do */
    }
    if (saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &before);
    grabbed = 0;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    term_restore();
    size_t i = 0;
    while (i < NFATAL && fatal_signals[i] != sig)
        i++;
    if (i < NFATAL)
        sigaction(sig, &previous[i], NULL);
    else
        signal(sig, SIG_DFL);
    /* A fault returns to the faulting instruction, which faults again into the previous
     * handler; a signal that was sent (kill, abort) is raised again, and arrives when this
     * handler returns. */
    if (si->si_code <= 0 || sig == SIGABRT)
        raise(sig);
}

void term_grab(void)
{
    saved = tcgetattr(STDIN_FILENO, &before) == 0;
    grabbed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NFATAL; i++)
        sigaction(fatal_signals[i], &sa, &previous[i]);
    mem_on_die(term_restore);
}

void term_release(void)
{
    mem_on_die(NULL);
    for (size_t i = 0; i < NFATAL; i++)
        sigaction(fatal_signals[i], &previous[i], NULL);
    grabbed = 0;
}
