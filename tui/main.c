/* tui/main.c — the entry point: a command name dispatches to a headless command,
 * anything else opens the interactive program. */
#include "tui/cli.h"
#include <locale.h>
#include <stdio.h>
#include <string.h>

#define TERMLOOM_VERSION "0.1.0"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} commands[] = {
#define CLI_COMMAND(name, fn, usage) { name, fn, usage },
#include "tui/commands.def"
#undef CLI_COMMAND
    { NULL, NULL, NULL }
};

static void usage(void)
{
    printf("termloom %s — a terminal loom for exploring trees of model continuations\n\n", TERMLOOM_VERSION);
    printf("Usage:\n  termloom [OPTIONS] [SESSION.json]   open the interactive loom\n");
    for (size_t i = 0; commands[i].name; i++)
        printf("  termloom %s\n", commands[i].usage);
    printf("  termloom --help | --version\n\n");
    cli_print_options();
    printf("\nExit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage();
        return CLI_OK;
    }
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("termloom %s\n", TERMLOOM_VERSION);
        return CLI_OK;
    }
    if (argc > 1)
        for (size_t i = 0; commands[i].name; i++)
            if (!strcmp(argv[1], commands[i].name))
                return commands[i].run(argc - 1, argv + 1);
    return app_main(argc, argv);
}
