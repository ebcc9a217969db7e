/* cli/commands.h — the headless commands (termloom gen, stats, compare, export, import).
 * Each takes the arguments after the program name (argv[0] is the command's name) and
 * returns the exit status: CLI_OK, CLI_ERR (a runtime error, one line on stderr) or
 * CLI_USAGE.  They use core/, net/ and cli/ only: nothing here needs a terminal. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H
#include "core/session.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;    /* one line for termloom --help */
} cli_command;

/* Every command, from cli/commands.def, ended by { NULL }. */
extern const cli_command cli_commands[];
/* The command called name, or NULL. */
const cli_command *cli_command_find(const char *name);

int cli_gen(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_compare(int argc, char **argv);

/* Runs attractor detection on s and puts the list into it (saved as "attractors"). */
void cli_detect_attractors(session *s);
/* cli_detect_attractors then session_save, the same bytes, with the detection beside the
 * writing of the nodes (on a second thread): what gen, import and compare -o save with. */
int  cli_save_analysed(session *s, const char *path, char *err, size_t errlen);
/* The last use of a big session by a command that returns to exit(): it is not taken apart
 * (the hundreds of thousands of frees cost a tenth of an import), the process's end gives
 * the memory back.  It stays reachable from a static, so a leak checker does not report it
 * (git's UNLEAK); a second call frees the one kept before.  s is left zeroed: done with. */
void cli_session_done(session *s);
#endif
