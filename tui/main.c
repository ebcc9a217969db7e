/* tui/main.c — the entry point: a command name dispatches to a headless command (cli/),
 * anything else opens the interactive program (tui/app.c). */
#include "cli/commands.h"
#include "cli/options.h"
#include "tui/app.h"
#include <locale.h>
#include <stdio.h>
#include <string.h>

#define TERMLOOM_VERSION "0.1.0"

static void usage(void)
{
    printf("termloom %s — a terminal loom for exploring trees of model continuations\n\n", TERMLOOM_VERSION);
    printf("Usage:\n  termloom [OPTIONS] [SESSION.json]   open the interactive loom\n");
    for (const cli_command *c = cli_commands; c->name; c++)
        printf("  termloom %s\n", c->usage);
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
    const cli_command *c = argc > 1 ? cli_command_find(argv[1]) : NULL;
    return c ? c->run(argc - 1, argv + 1) : app_main(argc, argv);
}
