/* cli/commands.c — see commands.h: the command table and what several commands do. */
#include "cli/commands.h"
#include "core/attractor.h"
#include <string.h>

const cli_command cli_commands[] = {
#define CLI_COMMAND(name, fn, usage) { name, fn, usage },
#include "cli/commands.def"
#undef CLI_COMMAND
    { NULL, NULL, NULL }
};

const cli_command *cli_command_find(const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

void cli_detect_attractors(session *s)
{
    attractor_index *a = attractor_index_new(s->t, s->settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    session_set_attractors(s, attractor_list_json(l, n, NULL));
    attractor_index_free(a);
}
