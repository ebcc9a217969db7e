/* tui/app.c — the interactive program (in progress). */
#include "tui/cli.h"

int app_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail(CLI_ERR, "the interactive loom is not built yet");
}
