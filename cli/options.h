/* cli/options.h — what the headless commands and the interactive program share: the
 * command line (getopt_long over one set of tables), the config file, the API key and
 * one-line errors.  Depends on core/ only (no curses): tui/ uses it, never the reverse.
 *
 * The options a program takes come from three tables, never written twice:
 *   - every generation setting, as --FLAG VALUE (core/settings.c: settings_options);
 *   - the common ones here (-n, --no-stream, --chat-prefill, --prompt, --prompt-file,
 *     --config, -h/--help);
 *   - the command's own (a cli_option table in its file: gen's --depth, compare's --a …).
 * A command's own option wins over a common one of the same name or letter (compare's
 * -n is its sample count).  cli_args_begin merges them into one getopt_long table, and
 * cli_args_next walks argv in order (options and operands mixed, whatever POSIXLY_CORRECT
 * says):
 *   --name VALUE and --name=VALUE alike; -n VALUE, -nVALUE and -n=VALUE; `--` ends the
 *   options (what follows is an operand even when it starts with '-'); `-` is an operand.
 *   Long names are matched whole: getopt_long's unique-prefix abbreviations are refused
 *   (a new option would otherwise change what an old abbreviation means).
 * A bad option is one line on stderr naming it, and exit status 2: an unknown option
 * ("gen: unknown option '--frobnicate' (see termloom gen --help)"), a missing value
 * ("--depth needs a value"), a setting's bad value (settings_set's message).  An unreadable
 * --prompt-file is a runtime error (1).
 * One parser at a time: getopt_long keeps its place in globals (optind).
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
    /* The settings the command line gave, in order (key, value; values point into argv
     * or are literals): cli_opts_reapply lays them over settings read from a file. */
    struct { const char *key, *value; } *given;
    size_t ngiven, given_cap;
} cli_opts;

void cli_opts_free(cli_opts *o);
/* Sets the settings the command line gave (o->given) on s: an opened session's settings
 * yield to what was typed.  0, or -1 after printing the error (a fifth stop string). */
int  cli_opts_reapply(const cli_opts *o, gen_settings *s);

enum { CLI_NO_ARG, CLI_ARG, CLI_OPT_ARG };   /* CLI_OPT_ARG: a value only as --name=VALUE */

typedef struct {
    const char *name;      /* long name without the dashes, or NULL */
    int         letter;    /* short option, or 0 */
    int         arg;       /* CLI_NO_ARG, CLI_ARG or CLI_OPT_ARG */
    int         id;        /* what cli_args_next returns for it (> 0) */
    const char *needs;     /* CLI_ARG: the missing-value message, "--name needs <needs>" */
} cli_option;              /* a table ends with { NULL } (name and letter both 0) */

/* What cli_args_next returns besides a cli_option's id. */
enum { CLI_ARGS_END = 0, CLI_ARGS_OPERAND = -1, CLI_ARGS_HELP = -2, CLI_ARGS_ERROR = -3 };

struct option;
struct cli_entry;
typedef struct {
    int               status;   /* after CLI_ARGS_ERROR: the exit status (CLI_USAGE, CLI_ERR) */
    char              typed[64];/* the option just returned as typed ("-n", "--samples") */
    int               helped;   /* the walk ended after printing the help (cli_args_usual);
                                   still set after cli_args_end */
    /* private */
    int               argc;
    char            **argv;
    const char       *cmd;
    cli_opts         *o;
    struct cli_entry *entry;    /* the merged table: own, common, settings */
    struct option    *longs;
    char             *shorts;
    size_t            n;
    int               rest;     /* after `--`: the next operand's index */
    void            (*help)(void);
    const char      **operand;
    const char       *operand_what;
} cli_args;

/* Starts reading argv (argv[0] is the program's or the command's name) for cmd ("gen",
 * …; NULL for the interactive program: it names the command in messages).  own is the
 * command's table (may be NULL).  With o, the common options and every setting are
 * accepted and applied to o as they come, after o is set up: defaults, then the config
 * file (the last --config FILE in argv, else $XDG_CONFIG_HOME/termloom/config if present),
 * then the API key from the environment.  Without o, only own options and -h/--help.
 * Returns CLI_OK, or after printing the config file's error CLI_USAGE (a --config FILE)
 * or CLI_ERR (the default file).  Whatever it returns, call cli_args_end (and
 * cli_opts_free when o was given). */
int  cli_args_begin(cli_args *p, int argc, char **argv, const char *cmd, const cli_option *own, cli_opts *o);
/* The next thing on the command line: an own option's id with its value in *value (NULL
 * when it takes none), an operand (CLI_ARGS_OPERAND, *value), -h/--help (CLI_ARGS_HELP),
 * the end (CLI_ARGS_END), or CLI_ARGS_ERROR after printing one line (p->status says the
 * exit status).  Common options and settings are applied to o and not returned. */
int  cli_args_next(cli_args *p, const char **value);
void cli_args_end(cli_args *p);
/* The cases every command handles alike, done by cli_args_next from here on:
 *   -h/--help calls help() and ends the walk (CLI_ARGS_END with p->helped set: exit 0);
 *   the first operand goes to *operand and is not returned; a second one is the usage
 *   error "CMD: one WHAT at a time ('A' and 'B')" (CLI_ARGS_ERROR); with operand NULL
 *   every operand is "CMD: unknown argument 'X' (see termloom CMD --help)". */
void cli_args_usual(cli_args *p, void (*help)(void), const char **operand, const char *what);

/* Prints "termloom: <message>" to stderr as one line; returns code. */
int  cli_fail(int code, const char *fmt, ...);
/* Help text of the common options (from the settings table and the common table). */
void cli_print_options(void);
#endif
