/* tui/backends.c — backend names → constructors. */
#include "tui/cli.h"
#include "core/ngram.h"
#include "net/net.h"
#include <stdio.h>
#include <string.h>

backend *cli_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen)
{
    if (!s->backend || !strcmp(s->backend, "builtin"))
        return ngram_backend_new(s->corpus, err, errlen);
    const char *name = s->backend;
    if (!strcmp(name, "openai") || !strcmp(name, "openai-chat") || !strcmp(name, "llamacpp"))
        return net_backend_new(s, api_key, err, errlen);
    snprintf(err, errlen, "backend '%s' is not available", s->backend ? s->backend : "(none)");
    return NULL;
}
