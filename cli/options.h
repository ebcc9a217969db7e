/* cli/options.h — what the headless commands and the interactive program share: option
 * parsing over the one settings table, the config file, the API key, one-line errors.
 * Depends on core/ only (no curses): tui/ uses it, never the other way round.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error. */
#ifndef CLI_OPTIONS_H
#define CLI_OPTIONS_H
#include "core/settings.h"
#include <stddef.h>

enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

typedef struct {
    gen_settings s;
    char *prompt;          /* --prompt / --prompt-file */
    char *api_key;         /* environment or private config file; never saved */
    char *config_path;     /* the config file read, or NULL */
    char *keys;            /* [keys] section of the config as "action=key\n" lines */
} cli_opts;

/* Defaults, then the config file (--config FILE anywhere in argv, else
 * $XDG_CONFIG_HOME/termloom/config if present), then the API key from the environment.
 * Returns CLI_OK, or CLI_ERR after printing the error. */
int  cli_opts_init(cli_opts *o, int argc, char **argv);
void cli_opts_free(cli_opts *o);
/* Tries argv[*i] as a common option (every setting, --prompt, --prompt-file, --config,
 * -n).  Returns 1 if consumed (advancing *i past its value), 0 if not ours, -1 on a usage
 * error, -2 on a runtime error (a --prompt-file that cannot be read: exit 1); both printed. */
int  cli_common_option(cli_opts *o, int argc, char **argv, int *i);
/* Prints "termloom: <message>" to stderr as one line; returns code. */
int  cli_fail(int code, const char *fmt, ...);
/* Help text of the common options (from the settings table). */
void cli_print_options(void);
/* Returns the value of a flag "--name VALUE" or "--name=VALUE" when argv[*i] is that flag.
 * NULL otherwise; *missing is set when the value is absent. */
const char *cli_flag_value(int argc, char **argv, int *i, const char *name, int *missing);

/* What import and export share: -o/--output FILE (- is standard output), --note PATH (a
 * loomsidian note) and one input file.  Call after the command's own options: it takes the
 * argument (1), or prints a usage error for an unknown option or a second input (-1). */
typedef struct {
    const char *in, *out, *note;
} cli_io;
int  cli_io_option(int argc, char **argv, int *i, const char *cmd, cli_io *io);

#endif
