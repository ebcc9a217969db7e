/* tui/backends.c — backend names → constructors. */
#include "tui/cli.h"
#include "core/ngram.h"
#include <stdio.h>
#include <string.h>

backend *cli_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen)
{
    (void)api_key;
    if (!s->backend || !strcmp(s->backend, "builtin"))
        return ngram_backend_new(s->corpus, err, errlen);
    snprintf(err, errlen, "backend '%s' is not available", s->backend ? s->backend : "(none)");
    return NULL;
}
