/* cli/backends.c — see backends.h. */
#include "cli/backends.h"
#include "core/llama_backend.h"
#include "core/mem.h"
#include "core/ngram.h"
#include "net/net.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TERMLOOM_DATADIR
#define TERMLOOM_DATADIR "/usr/local/share/termloom"
#endif

char *cli_exe_dir(void)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return NULL;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    return xstrdup(path);
}

const char *cli_model_name(const gen_settings *s)
{
    if (s->backend && strcmp(s->backend, "builtin"))
        return s->model;
    return s->model && *s->model ? s->model : CLI_DEFAULT_MODEL;
}

/* A model name is a file when it holds a '/' or ends in ".gguf". */
static int is_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".gguf"));
}

char *cli_model_path(const char *name, char *err, size_t errlen)
{
    if (is_path(name))
        return xstrdup(name);
    for (const char *p = name; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
            snprintf(err, errlen, "model '%s' is not a model name (base, tuned, rl) or a FILE.gguf", name);
            return NULL;
        }
    /* As themes are found: the data folder named by the environment, beside the program
     * (a build tree), an install moved to another prefix, then the install's own folder. */
    char *cands[4] = {0};
    int nc = 0;
    const char *dd = getenv("TERMLOOM_DATADIR");
    if (dd && *dd)
        cands[nc++] = xasprintf("%s/models/%s.gguf", dd, name);
    char *ed = cli_exe_dir();
    if (ed) {
        cands[nc++] = xasprintf("%s/models/%s.gguf", ed, name);
        cands[nc++] = xasprintf("%s/../share/termloom/models/%s.gguf", ed, name);
        free(ed);
    }
    cands[nc++] = xasprintf("%s/models/%s.gguf", TERMLOOM_DATADIR, name);
    char *found = NULL;
    for (int i = 0; i < nc; i++) {
        if (!found && access(cands[i], R_OK) == 0)
            found = cands[i];
        else
            free(cands[i]);
    }
    if (!found)
        snprintf(err, errlen, "model '%s' not found (looked for models/%s.gguf beside the program and in %s); "
                 "the shipped models are base, tuned and rl, or give a FILE.gguf", name, name, TERMLOOM_DATADIR);
    return found;
}

backend *cli_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen)
{
    const char *name = s->backend ? s->backend : "builtin";
    if (!strcmp(name, "builtin")) {
        if (s->corpus) {
            snprintf(err, errlen, "corpus: the builtin backend runs a GGUF model; --corpus is for --backend ngram");
            return NULL;
        }
        const char *model = cli_model_name(s);
        char *path = cli_model_path(model, err, errlen);
        if (!path)
            return NULL;
        backend *b = llama_backend_new(path, model, err, errlen);
        free(path);
        return b;
    }
    if (!strcmp(name, "ngram"))
        return ngram_backend_new(s->corpus, err, errlen);
    if (!strcmp(name, "openai") || !strcmp(name, "openai-chat") || !strcmp(name, "llamacpp"))
        return net_backend_new(s, api_key, err, errlen);
    snprintf(err, errlen, "backend '%s' is not available", name);
    return NULL;
}
