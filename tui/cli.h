/* tui/cli.h — what the headless commands and the app share: option parsing over the one
 * settings table, the config file, the API key, choosing a backend, one-line errors.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error. */
#ifndef TUI_CLI_H
#define TUI_CLI_H
#include "core/backend.h"
#include "core/session.h"
#include "core/settings.h"

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
/* The backend named by s->backend.  NULL with err when it cannot be created.
 * builtin runs the GGUF model named by s->model (cli_model_path; default base); ngram
 * trains on s->corpus; the others talk to a server. */
backend *cli_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen);
#define CLI_DEFAULT_MODEL "base"
/* The model a backend uses as people call it: for builtin s->model or "base"; for the
 * servers s->model (NULL when not set). */
const char *cli_model_name(const gen_settings *s);
/* The file of a builtin model: a name with '/' or ending in .gguf is the file itself;
 * another name is NAME.gguf in a models/ folder found as themes are found
 * ($TERMLOOM_DATADIR, beside the program, BIN/../share/termloom, the install's share
 * folder).  Caller frees; NULL with one line in err. */
char *cli_model_path(const char *name, char *err, size_t errlen);
/* The folder of the running program (caller frees), or NULL. */
char *cli_exe_dir(void);
/* Prints "termloom: <message>" to stderr as one line; returns code. */
int  cli_fail(int code, const char *fmt, ...);
/* Runs attractor detection on s and puts the list into it (saved as "attractors"). */
void cli_detect_attractors(session *s);
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

/* Commands (tui/cli_*.c). */
int cli_gen(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_compare(int argc, char **argv);
/* The interactive program (tui/app.c). */
int app_main(int argc, char **argv);
#endif
