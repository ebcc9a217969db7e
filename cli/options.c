/* cli/options.c — see options.h. */
#include "cli/options.h"
#include "core/mem.h"
#include "core/text.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    buf b = {0};
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < b.len; i++)       /* one line, always */
        if (b.data[i] == '\n' || b.data[i] == '\r')
            b.data[i] = ' ';
    size_t n = 0;      /* names and ids from the file may hold escape sequences */
    char *safe = text_sanitize(b.data ? b.data : "", b.len, 0, &n);
    fprintf(stderr, "termloom: %s\n", safe);
    free(safe);
    buf_free(&b);
    return code;
}

const char *cli_flag_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    *missing = 0;
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static void keys_collect(void *ud, const char *action, const char *key)
{
    cli_opts *o = ud;
    buf b = {0};
    if (o->keys)
        buf_adds(&b, o->keys);
    buf_printf(&b, "%s=%s\n", action, key);
    free(o->keys);
    o->keys = buf_steal(&b);
}

int cli_opts_init(cli_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    settings_init(&o->s);
    const char *path = NULL;
    int explicit = 0;
    for (int i = 1; i < argc; i++) {
        int missing;
        const char *v = cli_flag_value(argc, argv, &i, "--config", &missing);
        if (v) {
            path = v;
            explicit = 1;
        }
    }
    char *def = NULL;
    if (!path) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            def = xasprintf("%s/termloom/config", xdg);
        else if (home)
            def = xasprintf("%s/.config/termloom/config", home);
        if (def && access(def, F_OK) == 0)
            path = def;
    }
    int rc = CLI_OK;
    if (path) {
        char err[512];
        if (settings_load_config(&o->s, path, &o->api_key, keys_collect, o, err, sizeof err) < 0)
            rc = cli_fail(explicit ? CLI_USAGE : CLI_ERR, "%s", err);
        else
            o->config_path = xstrdup(path);
    }
    free(def);
    const char *env = getenv("TERMLOOM_API_KEY");
    if (!env || !*env)
        env = getenv("OPENAI_API_KEY");
    if (env && *env) {
        free(o->api_key);
        o->api_key = xstrdup(env);
    }
    return rc;
}

void cli_opts_free(cli_opts *o)
{
    settings_free(&o->s);
    free(o->prompt);
    if (o->api_key) {
        memset(o->api_key, 0, strlen(o->api_key));
        free(o->api_key);
    }
    free(o->config_path);
    free(o->keys);
    memset(o, 0, sizeof *o);
}

static char *read_text_file(const char *path, char *err, size_t errlen)
{
    buf b = {0};
    if (buf_read_file(&b, path, 0, err, errlen) < 0) {
        buf_free(&b);
        return NULL;
    }
    if (b.data && memchr(b.data, 0, b.len)) {
        snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

int cli_common_option(cli_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    int missing = 0;
    const char *v;
    char err[512];
    if (strncmp(a, "--", 2) && strcmp(a, "-n"))
        return 0;
    if ((v = cli_flag_value(argc, argv, i, "--config", &missing)))
        return 1;   /* read by cli_opts_init */
    if (missing)
        return cli_fail(CLI_USAGE, "--config needs a value"), -1;
    if ((v = cli_flag_value(argc, argv, i, "--prompt", &missing))) {
        free(o->prompt);
        o->prompt = xstrdup(v);
        return 1;
    }
    if (missing)
        return cli_fail(CLI_USAGE, "--prompt needs a value"), -1;
    if ((v = cli_flag_value(argc, argv, i, "--prompt-file", &missing))) {
        char *text = read_text_file(v, err, sizeof err);
        if (!text)                             /* a file that cannot be read: exit 1, not 2 */
            return cli_fail(CLI_ERR, "%s", err), -2;
        free(o->prompt);
        o->prompt = text;
        return 1;
    }
    if (missing)
        return cli_fail(CLI_USAGE, "--prompt-file needs a value"), -1;
    if (!strcmp(a, "--no-stream")) {
        o->s.stream = 0;
        return 1;
    }
    if (!strcmp(a, "--chat-prefill")) {
        o->s.chat_prefill = 1;
        return 1;
    }
    if (!strcmp(a, "-n") || !strncmp(a, "--n=", 4) || !strcmp(a, "--n")) {
        if (!strncmp(a, "--n=", 4))
            v = a + 4;
        else if (*i + 1 < argc)
            v = argv[++*i];
        else
            return cli_fail(CLI_USAGE, "%s needs a value", a), -1;
        if (settings_set(&o->s, "branches", v, err, sizeof err) < 0)
            return cli_fail(CLI_USAGE, "%s", err), -1;
        return 1;
    }
    for (size_t k = 0; k < settings_noptions; k++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", settings_options[k].flag);
        if ((v = cli_flag_value(argc, argv, i, flag, &missing))) {
            if (settings_set(&o->s, settings_options[k].key, v, err, sizeof err) < 0)
                return cli_fail(CLI_USAGE, "%s", err), -1;
            return 1;
        }
        if (missing)
            return cli_fail(CLI_USAGE, "%s needs a value", flag), -1;
    }
    return 0;
}

void cli_print_options(void)
{
    printf("Generation options (also in the config file as key = value):\n");
    for (size_t k = 0; k < settings_noptions; k++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s %s", settings_options[k].flag,
                 settings_options[k].type == SET_BOOL ? "BOOL" : "X");
        printf("  %-26s %s\n", flag, settings_options[k].help);
    }
    printf("  %-26s %s\n", "-n K", "same as --branches K");
    printf("  %-26s %s\n", "--no-stream", "wait for whole responses");
    printf("  %-26s %s\n", "--prompt TEXT", "the prompt of a new session");
    printf("  %-26s %s\n", "--prompt-file F", "the prompt, read from a file");
    printf("  %-26s %s\n", "--config FILE", "config file (default $XDG_CONFIG_HOME/termloom/config)");
    printf("Backends: builtin (the default) runs a Llama GGUF model: --model base, tuned or rl\n"
           "(shipped in models/) or --model FILE.gguf; ngram trains an n-gram model on --corpus;\n"
           "openai, openai-chat and llamacpp talk to a server at --base-url.\n");
    printf("The API key comes from TERMLOOM_API_KEY, else OPENAI_API_KEY, else api_key in a\n"
           "config file readable only by its owner.\n");
}

int cli_io_option(int argc, char **argv, int *i, const char *cmd, cli_io *io)
{
    int missing = 0;
    const char *v;
    if ((v = cli_flag_value(argc, argv, i, "-o", &missing)) ||
        (!missing && (v = cli_flag_value(argc, argv, i, "--output", &missing)))) {
        io->out = v;
        return 1;
    }
    if (missing)
        return cli_fail(CLI_USAGE, "%s needs a file name (or - for standard output)", argv[*i]), -1;
    if ((v = cli_flag_value(argc, argv, i, "--note", &missing))) {
        io->note = v;
        return 1;
    }
    if (missing)
        return cli_fail(CLI_USAGE, "--note needs a note path"), -1;
    if (argv[*i][0] == '-' && argv[*i][1])
        return cli_fail(CLI_USAGE, "%s: unknown option %s (see termloom %s --help)", cmd, argv[*i], cmd), -1;
    if (io->in)
        return cli_fail(CLI_USAGE, "%s: one input file only (got %s and %s)", cmd, io->in, argv[*i]), -1;
    io->in = argv[*i];
    return 1;
}
