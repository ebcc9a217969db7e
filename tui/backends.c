/* tui/backends.c — backend names → constructors. */
#include "tui/cli.h"
#include <stdio.h>
#include <string.h>

backend *cli_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen)
{
    (void)api_key;
    snprintf(err, errlen, "backend '%s' is not available", s->backend ? s->backend : "(none)");
    return NULL;
}
