/* cli/backends.h — backend names → constructors, and where the builtin models are.
 * The one place that knows every backend (core's builtin and ngram, net's servers), so it
 * sits above core/ and net/; the headless commands and the interactive program both use it.
 * No curses here. */
#ifndef CLI_BACKENDS_H
#define CLI_BACKENDS_H
#include "core/backend.h"
#include "core/settings.h"
#include <stddef.h>

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
#endif
