/* net/info.c — what a server says about its model, asked once per backend: the vocabulary
 * size V, for entropy upper bounds (API.md "Where to find V").  llama.cpp's server answers
 * GET /v1/models with data[0].meta.n_vocab (and newer builds GET /props with n_vocab);
 * OpenAI's and vLLM's lists carry no vocabulary size, so V stays unknown there and the
 * vocab_size setting is the way to give it.  The question runs in the backend's own multi
 * handle beside the generations and never delays them; whatever goes wrong (404, not JSON,
 * a timeout) only leaves V unknown. */
#include "net/net_impl.h"
#include "core/mono.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFO_CAP     ((size_t)1 << 20)
#define INFO_TIMEOUT 10L            /* seconds: a server that never answers this is left */
#define INFO_V_MAX   100000000

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static void info_start(net_backend *nb, const char *path)
{
    char *base = xstrdup(nb->base_url);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        base[--n] = '\0';
    /* llama.cpp's base is the server's root; the OpenAI-style ones already end in /v1. */
    const char *v1 = nb->kind == WIRE_LLAMACPP && !ends_with(base, "/v1") && !strcmp(path, "/models") ? "/v1" : "";
    if (!strcmp(path, "/props") && ends_with(base, "/v1"))
        base[n - 3] = '\0';
    char *url = xasprintf("%s%s%s", base, v1, path);
    free(base);
    char err[128];
    memset(&nb->info, 0, sizeof nb->info);
    if (http_xfer_init(&nb->info, url, NULL, nb->key, 0, INFO_CAP, err, sizeof err) == 0) {
        curl_easy_setopt(nb->info.easy, CURLOPT_TIMEOUT, INFO_TIMEOUT);
        /* Its own connection, closed after: a generation never reuses it (a server that
         * resets a reused connection would be retried inside libcurl, unseen). */
        curl_easy_setopt(nb->info.easy, CURLOPT_FORBID_REUSE, 1L);
        nb->info.last_rx = mono_now();
        if (!nb->info_t0)
            nb->info_t0 = nb->info.last_rx;
        if (curl_multi_add_handle(nb->multi, nb->info.easy) == CURLM_OK)
            nb->info_state = strcmp(path, "/props") ? NET_INFO_MODELS : NET_INFO_PROPS;
        else
            http_xfer_free(&nb->info);
    }
    free(url);
    if (nb->info_state != NET_INFO_MODELS && nb->info_state != NET_INFO_PROPS)
        nb->info_state = NET_INFO_DONE;
}

double net_info_gate(const net_backend *nb)
{
    if (nb->info_state != NET_INFO_MODELS && nb->info_state != NET_INFO_PROPS)
        return 0;
    double until = nb->info_t0 + NET_INFO_GATE;
    return mono_now() < until ? until : 0;
}

void net_info_ask(net_backend *nb)
{
    if (nb->info_state == NET_INFO_NONE)
        info_start(nb, "/models");
}

/* n_vocab as an integer in range, else 0. */
static uint32_t vocab_of(json_t *o)
{
    json_t *v = json_object_get(o, "n_vocab");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INFO_V_MAX)
        return 0;
    return (uint32_t)json_integer_value(v);
}

int net_info_done(net_backend *nb, void *easy)
{
    if (!easy || easy != nb->info.easy ||
        (nb->info_state != NET_INFO_MODELS && nb->info_state != NET_INFO_PROPS))
        return 0;
    long status = 0;
    curl_easy_getinfo(nb->info.easy, CURLINFO_RESPONSE_CODE, &status);
    uint32_t v = 0;
    json_t *j = status == 200 ? json_loadb(nb->info.rx.data ? nb->info.rx.data : "", nb->info.rx.len, 0, NULL) : NULL;
    if (nb->info_state == NET_INFO_MODELS) {
        json_t *d = json_array_get(json_object_get(j, "data"), 0);
        v = vocab_of(json_object_get(d, "meta"));
    } else {
        v = vocab_of(j);
        if (!v)
            v = vocab_of(json_object_get(j, "model_meta"));
    }
    json_decref(j);
    int was = nb->info_state;
    curl_multi_remove_handle(nb->multi, nb->info.easy);
    http_xfer_free(&nb->info);
    nb->info_state = NET_INFO_DONE;
    if (v)
        nb->base.vocab = v;
    else if (was == NET_INFO_MODELS && nb->kind == WIRE_LLAMACPP)
        info_start(nb, "/props");
    return 1;
}

void net_info_free(net_backend *nb)
{
    if (nb->info_state == NET_INFO_MODELS || nb->info_state == NET_INFO_PROPS) {
        curl_multi_remove_handle(nb->multi, nb->info.easy);
        http_xfer_free(&nb->info);
    }
    nb->info_state = NET_INFO_DONE;
}
