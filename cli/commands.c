/* cli/commands.c — see commands.h: the command table and what several commands do. */
#include "cli/commands.h"
#include "core/attractor.h"
#include <jansson.h>
#include <pthread.h>
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

static json_t *attractors_of(session *s)
{
    attractor_index *a = attractor_index_new(s->t, s->settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    json_t *list = attractor_list_json(l, n, NULL);
    attractor_index_free(a);
    return list;
}

void cli_detect_attractors(session *s)
{
    session_set_attractors(s, attractors_of(s));
}

/* The detection on a thread of its own while the writer writes the nodes and the fields
 * ahead of "attractors": both only read the tree (the index observes it, a list the writer
 * never reads); the list is set in s after the join, before the writer reaches its field. */
typedef struct {
    session  *s;
    json_t   *list;
    pthread_t th;
    int       started;
} detect_job;

static void *detect_main(void *ud)
{
    detect_job *j = ud;
    j->list = attractors_of(j->s);
    return NULL;
}

static void detect_join(void *ud)
{
    detect_job *j = ud;
    if (j->started)
        pthread_join(j->th, NULL);
    else
        j->list = attractors_of(j->s);
    session_set_attractors(j->s, j->list);
}

static session kept;
static int      keeping;

void cli_session_done(session *s)
{
    if (keeping)
        session_free(&kept);
    kept = *s;
    keeping = 1;
    memset(s, 0, sizeof *s);
}

int cli_save_analysed(session *s, const char *path, char *err, size_t errlen)
{
    detect_job j = { .s = s };
    j.started = pthread_create(&j.th, NULL, detect_main, &j) == 0;
    return session_save_then(s, path, "attractors", detect_join, &j, err, errlen);
}
