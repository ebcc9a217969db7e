/* The command line of cli/options.h: getopt_long over the settings, the common options and
 * a command's own table. */
#include "tests/test.h"
#include "cli/options.h"
#include "core/mem.h"
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

enum { OWN_OUT = 1, OWN_COUNT, OWN_FLAG };

static const cli_option own[] = {
    { "output", 'o', CLI_ARG, OWN_OUT, "a file name" },
    { "count", 'n', CLI_ARG, OWN_COUNT, "a count" },   /* takes -n from the common table */
    { "flag", 0, CLI_NO_ARG, OWN_FLAG, NULL },
    { NULL, 0, 0, 0, NULL }
};

/* No config file from the machine running the tests. */
static void no_config(void)
{
    setenv("XDG_CONFIG_HOME", test_tmpdir(), 1);
    unsetenv("TERMLOOM_API_KEY");
    unsetenv("OPENAI_API_KEY");
}

TEST(cli_args_settings_both_spellings_and_operands_in_order)
{
    no_config();
    char *argv[] = { "termloom", "--temperature=0.25", "first", "--max-tokens", "7", "--no-stream",
                     "--chat-prefill", "-n", "5", "--stop=\\n", "second", NULL };
    int argc = (int)(sizeof argv / sizeof *argv) - 1;
    cli_opts o;
    cli_args p;
    const char *v;
    REQUIRE(cli_args_begin(&p, argc, argv, NULL, NULL, &o) == CLI_OK);
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_OPERAND);
    CHECK_STR(v, "first");
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_OPERAND);
    CHECK_STR(v, "second");
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_END);
    cli_args_end(&p);
    CHECK_NEAR(o.s.temperature, 0.25, 1e-12);
    CHECK_INT(o.s.max_tokens, 7);
    CHECK_INT(o.s.stream, 0);
    CHECK_INT(o.s.chat_prefill, 1);
    CHECK_INT(o.s.branches, 5);
    CHECK_INT(o.s.nstop, 1);
    CHECK(o.s.nstop == 1 && !strcmp(o.s.stop[0], "\n"));
    /* what was typed is laid over other settings (an opened session's) as it was */
    gen_settings s;
    settings_init(&s);
    s.temperature = 2;
    s.top_p = 0.5;
    CHECK_INT(cli_opts_reapply(&o, &s), 0);
    CHECK_NEAR(s.temperature, 0.25, 1e-12);
    CHECK_NEAR(s.top_p, 0.5, 1e-12);           /* not typed: the session's stays */
    CHECK_INT(s.max_tokens, 7);
    CHECK_INT(s.stream, 0);
    CHECK_INT(s.chat_prefill, 1);
    CHECK_INT(s.branches, 5);
    CHECK(s.nstop == 1 && !strcmp(s.stop[0], "\n"));
    settings_free(&s);
    cli_opts_free(&o);
}

TEST(cli_args_own_table_wins_and_double_dash_ends_options)
{
    no_config();
    char *argv[] = { "termloom", "-n", "3", "-ofile", "--flag", "--", "-x", "--flag", NULL };
    cli_opts o;
    cli_args p;
    const char *v;
    REQUIRE(cli_args_begin(&p, 8, argv, "test", own, &o) == CLI_OK);
    CHECK_INT(cli_args_next(&p, &v), OWN_COUNT);      /* the command's -n, not --branches */
    CHECK_STR(v, "3");
    CHECK_INT(cli_args_next(&p, &v), OWN_OUT);        /* -oVALUE */
    CHECK_STR(v, "file");
    CHECK_INT(cli_args_next(&p, &v), OWN_FLAG);
    CHECK(v == NULL);
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_OPERAND);
    CHECK_STR(v, "-x");
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_OPERAND);
    CHECK_STR(v, "--flag");
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_END);
    cli_args_end(&p);
    CHECK_INT(o.s.branches, 4);                       /* the default: -n was the command's */
    cli_opts_free(&o);
    /* --n (the common long name) still means --branches; -o=FILE is FILE */
    char *argv2[] = { "termloom", "--n=6", "-o=out.json", "-h", NULL };
    REQUIRE(cli_args_begin(&p, 4, argv2, "test", own, &o) == CLI_OK);
    CHECK_INT(cli_args_next(&p, &v), OWN_OUT);
    CHECK_STR(v, "out.json");
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_HELP);
    cli_args_end(&p);
    CHECK_INT(o.s.branches, 6);
    cli_opts_free(&o);
}

/* stderr into a file while a parser reports (the messages are checked, not shown). */
static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

TEST(cli_args_errors_are_usage_errors)
{
    no_config();
    struct { char *argv[4]; int argc, status; const char *says; } cases[] = {
        { { "termloom", "--output", NULL }, 2, CLI_USAGE, "--output needs a file name" },
        { { "termloom", "-o", NULL }, 2, CLI_USAGE, "-o needs a file name" },
        { { "termloom", "--frobnicate=1", NULL }, 2, CLI_USAGE, "test: unknown option '--frobnicate' " },
        { { "termloom", "-q", NULL }, 2, CLI_USAGE, "test: unknown option '-q' " },
        { { "termloom", "--outp", "x", NULL }, 3, CLI_USAGE, "unknown option '--outp'" },  /* abbreviated */
        { { "termloom", "--flag=1", NULL }, 2, CLI_USAGE, "--flag takes no value" },
        { { "termloom", "--temperature", "hot", NULL }, 3, CLI_USAGE, "temperature: 'hot' is not a number" },
        { { "termloom", "--prompt-file", "/nonexistent/p.txt", NULL }, 3, CLI_ERR, "/nonexistent/p.txt" },
    };
    char *log = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_opts o;
        cli_args p;
        const char *v;
        free(log);
        log = xasprintf("%s/err", test_tmpdir());
        int saved = stderr_to(log);
        int rc = cli_args_begin(&p, cases[i].argc, cases[i].argv, "test", own, &o);
        int next = cli_args_next(&p, &v);
        stderr_back(saved);
        size_t n = 0;
        char *said = test_slurp(log, &n);
        CHECK_INT(rc, CLI_OK);
        CHECKF(next == CLI_ARGS_ERROR, "case %zu (%s) is not an error", i, cases[i].argv[1]);
        CHECKF(p.status == cases[i].status, "case %zu: status %d", i, p.status);
        /* one line, naming what was wrong */
        CHECKF(said && !strncmp(said, "termloom: ", 10) && strstr(said, cases[i].says) &&
               strchr(said, '\n') == said + n - 1, "case %zu said: %s", i, said ? said : "(nothing)");
        free(said);
        cli_args_end(&p);
        cli_opts_free(&o);
    }
    free(log);
    /* without cli_opts the settings are not options at all */
    char *argv[] = { "termloom", "--temperature", "1", NULL };
    cli_args p;
    const char *v;
    cli_args_begin(&p, 3, argv, "test", own, NULL);
    int saved = stderr_to("/dev/null");
    CHECK_INT(cli_args_next(&p, &v), CLI_ARGS_ERROR);
    stderr_back(saved);
    cli_args_end(&p);
}
