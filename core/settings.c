/* core/settings.c — see settings.h. */
#include "core/settings.h"
#include "core/mem.h"
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define OFF(f) offsetof(gen_settings, f)

const settings_option settings_options[] = {
    { "backend",         "backend",         SET_STR,  OFF(backend),         0, 0, 1, "builtin|ngram|openai|openai-chat|llamacpp" },
    { "base_url",        "base-url",        SET_STR,  OFF(base_url),        0, 0, 1, "server base URL, e.g. http://127.0.0.1:8080/v1" },
    { "model",           "model",           SET_STR,  OFF(model),           0, 0, 1, "builtin: base|tuned|rl or FILE.gguf (default base); servers: the model name sent" },
    { "branches",        "branches",        SET_INT,  OFF(branches),        1, 128, 1, "k: branches generated at once" },
    { "max_tokens",      "max-tokens",      SET_INT,  OFF(max_tokens),      1, 100000, 1, "tokens per branch" },
    { "temperature",     "temperature",     SET_DBL,  OFF(temperature),     0, 10, 1, "sampling temperature" },
    { "top_p",           "top-p",           SET_DBL,  OFF(top_p),           0, 1, 1, "nucleus sampling mass" },
    { "top_k",           "top-k",           SET_INT,  OFF(top_k),           0, 100000, 1, "builtin: sample from the K most probable tokens only (0: all)" },
    { "logprobs",        "logprobs",        SET_INT,  OFF(logprobs),        0, SETTINGS_LOGPROBS_ALL, 1, "alternatives per token (all: the whole distribution, as far as the backend gives it)" },
    { "vocab_size",      "vocab-size",      SET_INT,  OFF(vocab_size),      0, 100000000, 1, "vocabulary size V for entropy upper bounds (0: unknown)" },
    { "stop",            "stop",            SET_STOP, OFF(stop),            0, 0, 1, "stop string (repeatable, at most 4)" },
    { "seed",            "seed",            SET_SEED, OFF(seed),            0, 0, 1, "random seed" },
    { "concurrency",     "concurrency",     SET_INT,  OFF(concurrency),     1, 256, 0, "transfers in flight" },
    { "stream",          "stream",          SET_BOOL, OFF(stream),          0, 1, 0, "stream tokens as they arrive" },
    { "extra_json",      "extra-json",      SET_STR,  OFF(extra_json),      0, 0, 1, "JSON object merged into request bodies" },
    { "merge_threshold", "merge-threshold", SET_DBL,  OFF(merge_threshold), 0, 1, 1, "near-duplicate similarity threshold" },
    { "chat_prefill",    "chat-prefill",    SET_BOOL, OFF(chat_prefill),    0, 1, 1, "openai-chat: send the text as assistant prefill" },
    { "corpus",          "corpus",          SET_STR,  OFF(corpus),          0, 0, 1, "ngram: training corpus file (default: the shipped text)" },
    { "reference_model", "reference-model", SET_STR,  OFF(reference_model), 0, 0, 0, "D tint: tokens against this builtin model (base|tuned|rl|FILE.gguf)" },
    { "theme",           "theme",           SET_STR,  OFF(theme),           0, 0, 0, "colour theme name" },
};
const size_t settings_noptions = sizeof settings_options / sizeof *settings_options;

static const char *const backends[] = { "builtin", "ngram", "openai", "openai-chat", "llamacpp" };

void settings_init(gen_settings *s)
{
    memset(s, 0, sizeof *s);
    s->backend = xstrdup("builtin");
    s->branches = 4;
    s->max_tokens = 48;
    s->temperature = 1.0;
    s->top_p = 1.0;
    s->logprobs = 5;
    s->concurrency = 16;
    s->stream = 1;
    s->merge_threshold = 0.8;
}

void settings_free(gen_settings *s)
{
    free(s->backend);
    free(s->base_url);
    free(s->model);
    for (int i = 0; i < s->nstop; i++)
        free(s->stop[i]);
    free(s->extra_json);
    free(s->corpus);
    free(s->theme);
    free(s->reference_model);
    memset(s, 0, sizeof *s);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

void settings_copy(gen_settings *d, const gen_settings *s)
{
    *d = *s;
    d->backend = dup_or_null(s->backend);
    d->base_url = dup_or_null(s->base_url);
    d->model = dup_or_null(s->model);
    for (int i = 0; i < s->nstop; i++)
        d->stop[i] = xstrdup(s->stop[i]);
    d->extra_json = dup_or_null(s->extra_json);
    d->corpus = dup_or_null(s->corpus);
    d->theme = dup_or_null(s->theme);
    d->reference_model = dup_or_null(s->reference_model);
}

const settings_option *settings_find(const char *key)
{
    for (size_t i = 0; i < settings_noptions; i++)
        if (!strcmp(key, settings_options[i].key) || !strcmp(key, settings_options[i].flag))
            return &settings_options[i];
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) { *out = 1; return 0; }
        if (!strcasecmp(v, no[i]))  { *out = 0; return 0; }
    }
    return -1;
}

/* Stop strings are mostly "\n" or "\n\n": on the command line `--stop '\n'` means a
 * newline.  \n, \t, \r and \\ are understood; any other backslash stays as it is. */
static char *stop_unescape(const char *v)
{
    char *out = xmalloc(strlen(v) + 1), *o = out;
    for (; *v; v++) {
        if (*v == '\\' && (v[1] == 'n' || v[1] == 't' || v[1] == 'r' || v[1] == '\\')) {
            v++;
            *o++ = *v == 'n' ? '\n' : *v == 't' ? '\t' : *v == 'r' ? '\r' : '\\';
        } else
            *o++ = *v;
    }
    *o = 0;
    return out;
}

int settings_add_stop(gen_settings *s, const char *stop, char *err, size_t errlen)
{
    if (s->nstop >= SETTINGS_MAX_STOP) {
        snprintf(err, errlen, "stop: at most %d stop strings", SETTINGS_MAX_STOP);
        return -1;
    }
    s->stop[s->nstop++] = xstrdup(stop);
    return 0;
}

int settings_set(gen_settings *s, const char *key, const char *value, char *err, size_t errlen)
{
    const settings_option *o = settings_find(key);
    if (!o) {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return -1;
    }
    char *field = (char *)s + o->offset;
    char *end;
    switch (o->type) {
    case SET_STR: {
        if (!strcmp(o->key, "backend")) {
            int found = 0;
            for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
                found |= !strcmp(value, backends[i]);
            if (!found) {
                snprintf(err, errlen, "backend: '%s' is not one of builtin, ngram, openai, openai-chat, llamacpp", value);
                return -1;
            }
        }
        if (!strcmp(o->key, "extra_json") && *value) {
            json_error_t je;
            json_t *j = json_loads(value, 0, &je);
            int obj = json_is_object(j);
            json_decref(j);
            if (!obj) {
                snprintf(err, errlen, "extra_json: not a JSON object (%s)", j ? "another JSON type" : je.text);
                return -1;
            }
        }
        char **p = (char **)field;
        free(*p);
        *p = *value ? xstrdup(value) : NULL;
        return 0;
    }
    case SET_INT: {
        if (field == (void *)&s->logprobs && !strcmp(value, "all")) {
            s->logprobs = SETTINGS_LOGPROBS_ALL;
            return 0;
        }
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < o->min || v > o->max) {
            snprintf(err, errlen, "%s: '%s' is not a whole number from %.15g to %.15g%s", o->key, value, o->min, o->max,
                     field == (void *)&s->logprobs ? ", or all" : "");
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case SET_DBL: {
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v) || v < o->min || v > o->max) {
            snprintf(err, errlen, "%s: '%s' is not a number from %g to %g", o->key, value, o->min, o->max);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    case SET_BOOL:
        if (parse_bool(value, (int *)field) < 0) {
            snprintf(err, errlen, "%s: '%s' is not true or false", o->key, value);
            return -1;
        }
        return 0;
    case SET_STOP:
        if (!*value) {   /* an empty value clears the list */
            for (int i = 0; i < s->nstop; i++)
                free(s->stop[i]);
            s->nstop = 0;
            return 0;
        }
        {
            char *raw = stop_unescape(value);
            int rc = settings_add_stop(s, raw, err, errlen);
            free(raw);
            return rc;
        }
    case SET_SEED: {
        if (!*value || !strcmp(value, "none")) {
            s->has_seed = 0;
            return 0;
        }
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (*end || errno) {
            snprintf(err, errlen, "seed: '%s' is not a whole number", value);
            return -1;
        }
        s->seed = v;
        s->has_seed = 1;
        return 0;
    }
    }
    return -1;
}

int settings_apply_spec(gen_settings *s, const char *spec, char *err, size_t errlen)
{
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, errlen, "'%s' is not key=value", item);
            rc = -1;
            break;
        }
        *eq = 0;
        if (settings_set(s, item, eq + 1, err, errlen) < 0) {
            rc = -1;
            break;
        }
    }
    free(copy);
    return rc;
}

char *settings_get(const gen_settings *s, const char *key)
{
    const settings_option *o = settings_find(key);
    if (!o)
        return NULL;
    const char *field = (const char *)s + o->offset;
    switch (o->type) {
    case SET_STR:  return xstrdup(*(char *const *)field ? *(char *const *)field : "");
    case SET_INT:
        if (field == (const void *)&s->logprobs && s->logprobs == SETTINGS_LOGPROBS_ALL)
            return xstrdup("all");
        return xasprintf("%d", *(const int *)field);
    case SET_DBL:  return xasprintf("%g", *(const double *)field);
    case SET_BOOL: return xstrdup(*(const int *)field ? "true" : "false");
    case SET_SEED: return s->has_seed ? xasprintf("%lld", s->seed) : xstrdup("none");
    case SET_STOP: {
        buf b = {0};
        for (int i = 0; i < s->nstop; i++)
            buf_printf(&b, "%s%s", i ? "," : "", s->stop[i]);
        return buf_steal(&b);
    }
    }
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = 0;
    return s;
}

/* Values may be quoted "like this" with \n, \t, \\ and \" escapes (stop strings need them).
 * Returns -1 when a quote is opened and not closed at the end of the value. */
static int unquote(char *v)
{
    if (v[0] != '"')
        return 0;
    char *o = v;
    size_t i = 1;
    for (; v[i] && v[i] != '"'; i++) {
        if (v[i] == '\\' && v[i + 1]) {
            i++;
            *o++ = v[i] == 'n' ? '\n' : v[i] == 't' ? '\t' : v[i];
        } else
            *o++ = v[i];
    }
    if (v[i] != '"' || v[i + 1])
        return -1;
    *o = 0;
    return 0;
}

int settings_parse_config(gen_settings *s, const char *text, size_t len, const char *name,
                          int private_file, char **api_key,
                          void (*keys_cb)(void *ud, const char *action, const char *key), void *ud,
                          char *err, size_t errlen)
{
    char *copy = xstrndup(text, len);
    int rc = 0, lineno = 0, in_keys = 0;
    if (memchr(text, 0, len)) {
        snprintf(err, errlen, "%s: not a text file (NUL byte)", name);
        free(copy);
        return -1;
    }
    char *line = copy, *next;
    if (len >= 3 && !memcmp(copy, "\xef\xbb\xbf", 3))
        line += 3;                                 /* a byte-order mark (Windows editors) */
    for (; line; line = next) {                    /* every line counts, blank ones too */
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            in_keys = !strncmp(l, "[keys]", 6);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", name, lineno);
            rc = -1;
            break;
        }
        *eq = 0;
        char *k = trim(l), *v = trim(eq + 1);
        if (unquote(v) < 0) {
            snprintf(err, errlen, "%s:%d: %s: the quoted value is not closed (a \" missing at its end)", name,
                     lineno, k);
            rc = -1;
            break;
        }
        if (in_keys) {
            if (keys_cb)
                keys_cb(ud, k, v);
            continue;
        }
        if (!strcmp(k, "api_key")) {
            if (!private_file) {
                snprintf(err, errlen, "%s: holds api_key but is readable by others (chmod 600 it)", name);
                rc = -1;
                break;
            }
            if (api_key) {
                free(*api_key);
                *api_key = xstrdup(v);
            }
            continue;
        }
        char e2[200];
        if (settings_set(s, k, v, e2, sizeof e2) < 0) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, e2);
            rc = -1;
            break;
        }
    }
    free(copy);
    return rc;
}

int settings_load_config(gen_settings *s, const char *path, char **api_key,
                         void (*keys_cb)(void *ud, const char *action, const char *key), void *ud,
                         char *err, size_t errlen)
{
    struct stat st;
    buf b = {0};
    if (buf_read_file(&b, path, 1u << 20, err, errlen) < 0) {
        buf_free(&b);
        return -1;
    }
    int private_file = stat(path, &st) == 0 && !(st.st_mode & 077);
    int rc = settings_parse_config(s, b.data ? b.data : "", b.len, path, private_file, api_key,
                                   keys_cb, ud, err, errlen);
    buf_free(&b);
    return rc;
}
