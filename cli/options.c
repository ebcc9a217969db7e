/* cli/options.c — see options.h. */
#include "cli/options.h"
#include "core/mem.h"
#include "core/text.h"
#include <getopt.h>
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

/* The common options, with the lines termloom --help prints for them (the settings print
 * theirs from core/settings.c; --chat-prefill is one of them, here only because it may
 * also be given bare). */
enum { C_N = 1, C_NO_STREAM, C_CHAT_PREFILL, C_PROMPT, C_PROMPT_FILE, C_CONFIG, C_HELP };

static const struct {
    cli_option  opt;
    const char *usage, *help;
} common[] = {
    { { "n", 'n', CLI_ARG, C_N, "a value" }, "-n K", "same as --branches K" },
    { { "no-stream", 0, CLI_NO_ARG, C_NO_STREAM, NULL }, "--no-stream", "wait for whole responses" },
    { { "chat-prefill", 0, CLI_OPT_ARG, C_CHAT_PREFILL, NULL }, NULL, NULL },
    { { "prompt", 0, CLI_ARG, C_PROMPT, "a value" }, "--prompt TEXT", "the prompt of a new session" },
    { { "prompt-file", 0, CLI_ARG, C_PROMPT_FILE, "a value" }, "--prompt-file F", "the prompt, read from a file" },
    { { "config", 0, CLI_ARG, C_CONFIG, "a value" }, "--config FILE",
      "config file (default $XDG_CONFIG_HOME/termloom/config)" },
};

static const cli_option help_option = { "help", 'h', CLI_NO_ARG, C_HELP, NULL };

/* One entry of a parser's merged table: where it comes from, and for a setting which. */
enum { FROM_OWN, FROM_COMMON, FROM_SETTING };

struct cli_entry {
    cli_option opt;          /* name or letter cleared when an earlier table took it */
    int        from;
    size_t     setting;      /* FROM_SETTING: index in settings_options */
};

/* Adds opt unless an earlier entry has both its name and its letter. */
static void entry_add(cli_args *p, const cli_option *opt, int from, size_t setting)
{
    cli_option o = *opt;
    for (size_t i = 0; i < p->n; i++) {
        const cli_option *e = &p->entry[i].opt;
        if (o.name && e->name && !strcmp(o.name, e->name))
            o.name = NULL;
        if (o.letter && e->letter == o.letter)
            o.letter = 0;
    }
    if (!o.name && !o.letter)
        return;
    p->entry = xrealloc(p->entry, (p->n + 1) * sizeof *p->entry);
    p->entry[p->n++] = (struct cli_entry){ o, from, setting };
}

/* The getopt_long tables for the merged entries.  Long options return 256 + their index
 * (never a character); "-" first: operands come back in order as 1, whatever
 * POSIXLY_CORRECT says; ":" next: a missing value is ':' rather than '?'. */
static void build_tables(cli_args *p)
{
    p->longs = xcalloc(p->n + 1, sizeof *p->longs);
    p->shorts = xmalloc(3 + 3 * p->n + 1);
    size_t nl = 0, ns = 0;
    p->shorts[ns++] = '-';
    p->shorts[ns++] = ':';
    for (size_t i = 0; i < p->n; i++) {
        const cli_option *o = &p->entry[i].opt;
        int has = o->arg == CLI_ARG ? required_argument : o->arg == CLI_OPT_ARG ? optional_argument : no_argument;
        if (o->name)
            p->longs[nl++] = (struct option){ o->name, has, NULL, 256 + (int)i };
        if (o->letter) {
            p->shorts[ns++] = (char)o->letter;
            if (o->arg != CLI_NO_ARG)
                p->shorts[ns++] = ':';
            if (o->arg == CLI_OPT_ARG)
                p->shorts[ns++] = ':';
        }
    }
    p->shorts[ns] = 0;
}

/* The entry getopt_long's answer (or optopt) c stands for, or NULL. */
static const struct cli_entry *entry_of(const cli_args *p, int c)
{
    if (c >= 256 && (size_t)(c - 256) < p->n)
        return &p->entry[c - 256];
    for (size_t i = 0; c > 0 && c < 256 && i < p->n; i++)
        if (p->entry[i].opt.letter == c)
            return &p->entry[i];
    return NULL;
}

/* The option as typed, for messages: "--name" (without any =VALUE) or "-x". */
static void typed(char *out, size_t len, const char *arg, int letter)
{
    if (!strncmp(arg, "--", 2))
        snprintf(out, len, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(out, len, "-%c", letter > 0 && letter < 256 ? letter : '?');
}

enum { STEP_END, STEP_OPTION, STEP_OPERAND, STEP_ERROR };

/* One getopt_long step: an option (*e, *value), an operand (*value), the end, or an error
 * (printed unless quiet; p->status set). */
static int step(cli_args *p, int quiet, const struct cli_entry **e, const char **value)
{
    *e = NULL;
    *value = NULL;
    if (p->rest) {                       /* after `--` everything is an operand */
        if (p->rest >= p->argc)
            return STEP_END;
        *value = p->argv[p->rest++];
        return STEP_OPERAND;
    }
    int at = optind ? optind : 1;        /* the element getopt_long reads from */
    int c = getopt_long(p->argc, p->argv, p->shorts, p->longs, NULL);
    const char *arg = at < p->argc ? p->argv[at] : "";
    char name[80];
    if (c == -1) {
        if (optind >= p->argc)
            return STEP_END;
        p->rest = optind;                /* `--` ended the options */
        return step(p, quiet, e, value);
    }
    if (c == 1) {
        *value = optarg;
        return STEP_OPERAND;
    }
    p->status = CLI_USAGE;
    if (c == ':' || c == '?') {
        const struct cli_entry *x = entry_of(p, optopt);
        typed(name, sizeof name, arg, x && x->opt.letter ? x->opt.letter : optopt);
        if (quiet)
            return STEP_ERROR;
        if (c == ':')
            cli_fail(CLI_USAGE, "%s needs %s", name, x && x->opt.needs ? x->opt.needs : "a value");
        else if (x)                      /* --json=1: a value for an option that takes none */
            cli_fail(CLI_USAGE, "%s takes no value ('%s')", name, arg);
        else
            cli_fail(CLI_USAGE, "%s%sunknown option '%s' (see termloom%s%s --help)", p->cmd ? p->cmd : "",
                     p->cmd ? ": " : "", name, p->cmd ? " " : "", p->cmd ? p->cmd : "");
        return STEP_ERROR;
    }
    *e = entry_of(p, c);
    if (!*e)
        return STEP_ERROR;
    if (!strncmp(arg, "--", 2) && strcspn(arg + 2, "=") != strlen((*e)->opt.name)) {
        /* getopt_long took an abbreviation: names are matched whole here */
        typed(name, sizeof name, arg, 0);
        if (!quiet)
            cli_fail(CLI_USAGE, "%s%sunknown option '%s' (see termloom%s%s --help)", p->cmd ? p->cmd : "",
                     p->cmd ? ": " : "", name, p->cmd ? " " : "", p->cmd ? p->cmd : "");
        return STEP_ERROR;
    }
    typed(p->typed, sizeof p->typed, arg, (*e)->opt.letter);
    *value = optarg;
    /* -o=FILE as --output=FILE (it always meant that here); -o =FILE keeps its '='. */
    if (optarg && strncmp(arg, "--", 2) && optind == at + 1 && *optarg == '=')
        (*value)++;
    return STEP_OPTION;
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

/* Defaults, the config file (the last --config in argv, else the default file if it
 * exists), the API key from the environment. */
static int opts_setup(cli_args *p, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    settings_init(&o->s);
    const char *path = NULL;
    int explicit = 0;
    optind = 0;
    opterr = 0;
    const struct cli_entry *e;
    const char *v;
    for (int r; (r = step(p, 1, &e, &v)) != STEP_END;)
        if (r == STEP_OPTION && e->from == FROM_COMMON && e->opt.id == C_CONFIG) {
            path = v;
            explicit = 1;
        }
    p->rest = 0;                         /* the real scan starts afresh */
    p->status = CLI_OK;
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

int cli_args_begin(cli_args *p, int argc, char **argv, const char *cmd, const cli_option *own, cli_opts *o)
{
    memset(p, 0, sizeof *p);
    p->argc = argc;
    p->argv = argv;
    p->cmd = cmd;
    p->o = o;
    for (const cli_option *x = own; x && (x->name || x->letter); x++)
        entry_add(p, x, FROM_OWN, 0);
    if (cmd)
        entry_add(p, &help_option, FROM_COMMON, 0);
    if (o) {
        for (size_t i = 0; i < sizeof common / sizeof *common; i++)
            entry_add(p, &common[i].opt, FROM_COMMON, 0);
        for (size_t i = 0; i < settings_noptions; i++) {
            cli_option s = { settings_options[i].flag, 0, CLI_ARG, 0, "a value" };
            entry_add(p, &s, FROM_SETTING, i);
        }
    }
    build_tables(p);
    int rc = o ? opts_setup(p, o) : CLI_OK;
    optind = 0;                          /* a fresh scan (glibc and musl alike) */
    opterr = 0;                          /* the messages are ours, one line each */
    return rc;
}

void cli_args_end(cli_args *p)
{
    free(p->entry);
    free(p->longs);
    free(p->shorts);
    int helped = p->helped;   /* read after the walk's end */
    memset(p, 0, sizeof *p);
    p->helped = helped;
}

static void given_add(cli_opts *o, const char *key, const char *value)
{
    xgrow(&o->given, &o->given_cap, o->ngiven + 1, sizeof *o->given);
    o->given[o->ngiven].key = key;
    o->given[o->ngiven++].value = value;
}

/* A common option or a setting: applied to p->o.  CLI_OK, or the exit status after
 * printing the error. */
static int apply(cli_args *p, const struct cli_entry *e, const char *v)
{
    cli_opts *o = p->o;
    char err[512];
    const char *key = NULL;
    if (e->from == FROM_SETTING)
        key = settings_options[e->setting].key;
    else
        switch (e->opt.id) {
        case C_CONFIG:                   /* read by cli_args_begin */
            return CLI_OK;
        case C_PROMPT:
            free(o->prompt);
            o->prompt = xstrdup(v);
            return CLI_OK;
        case C_PROMPT_FILE: {
            char *text = read_text_file(v, err, sizeof err);
            if (!text)                   /* a file that cannot be read: exit 1, not 2 */
                return cli_fail(CLI_ERR, "%s", err);
            free(o->prompt);
            o->prompt = text;
            return CLI_OK;
        }
        case C_N:
            key = "branches";
            break;
        case C_NO_STREAM:
            key = "stream", v = "false";
            break;
        case C_CHAT_PREFILL:
            key = "chat_prefill", v = v ? v : "true";
            break;
        }
    if (!key)
        return CLI_OK;
    if (settings_set(&o->s, key, v, err, sizeof err) < 0)
        return cli_fail(CLI_USAGE, "%s", err);
    given_add(o, key, v);
    return CLI_OK;
}

void cli_args_usual(cli_args *p, void (*help)(void), const char **operand, const char *what)
{
    p->help = help;
    p->operand = operand;
    p->operand_what = what;
}

static int take_operand(cli_args *p, const char *v)
{
    if (!p->operand)
        return cli_fail(CLI_USAGE, "%s: unknown argument '%s' (see termloom %s --help)", p->cmd, v, p->cmd);
    if (*p->operand)
        return cli_fail(CLI_USAGE, "%s: one %s at a time ('%s' and '%s')", p->cmd, p->operand_what,
                        *p->operand, v);
    *p->operand = v;
    return CLI_OK;
}

int cli_args_next(cli_args *p, const char **value)
{
    const struct cli_entry *e;
    for (;;) {
        int r = step(p, 0, &e, value);
        if (r == STEP_END)
            return CLI_ARGS_END;
        if (r == STEP_OPERAND && !p->help)
            return CLI_ARGS_OPERAND;
        if (r == STEP_OPERAND) {
            if ((p->status = take_operand(p, *value)) != CLI_OK)
                return CLI_ARGS_ERROR;
            continue;
        }
        if (r == STEP_ERROR)
            return CLI_ARGS_ERROR;
        if (e->from == FROM_OWN)
            return e->opt.id;
        if (e->opt.id == C_HELP && e->from == FROM_COMMON && !p->help)
            return CLI_ARGS_HELP;
        if (e->opt.id == C_HELP && e->from == FROM_COMMON) {
            p->help();
            p->helped = 1;
            return CLI_ARGS_END;
        }
        if ((p->status = apply(p, e, *value)) != CLI_OK)
            return CLI_ARGS_ERROR;
    }
}

int cli_opts_reapply(const cli_opts *o, gen_settings *s)
{
    char err[512];
    for (size_t i = 0; i < o->ngiven; i++)
        if (settings_set(s, o->given[i].key, o->given[i].value, err, sizeof err) < 0)
            return cli_fail(CLI_USAGE, "%s", err), -1;
    return 0;
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
    free(o->given);
    memset(o, 0, sizeof *o);
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
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        if (common[i].usage)
            printf("  %-26s %s\n", common[i].usage, common[i].help);
    printf("Backends: builtin (the default) runs a Llama GGUF model: --model base, tuned or rl\n"
           "(shipped in models/) or --model FILE.gguf; ngram trains an n-gram model on --corpus;\n"
           "openai, openai-chat and llamacpp talk to a server at --base-url.\n");
    printf("The API key comes from TERMLOOM_API_KEY, else OPENAI_API_KEY, else api_key in a\n"
           "config file readable only by its owner.\n");
}
