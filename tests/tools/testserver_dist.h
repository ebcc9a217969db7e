/* tests/tools/testserver_dist.h — part of testserver.c (included once, after its helpers):
 * models with a known distribution, and scoring given text, so tests can check a KL
 * against a value they compute themselves.
 *
 * A model name holding ";dist=p" (or q) generates over four tokens " a" " b" " c" " d",
 * each position drawn independently of the context from
 *   p = 0.4 0.3 0.2 0.1      q = 0.7 0.1 0.1 0.1
 * (deterministic from seed and choice), legacy logprobs listing all four alternatives
 * (the whole distribution) when logprobs >= 4.
 * Scoring (POST .../completions): "echo": true (OpenAI legacy: logprobs.tokens,
 * token_logprobs, top_logprobs, text_offset over the prompt, the first null) or
 * "prompt_logprobs": K (vLLM: choices[0].prompt_logprobs, [null, {"<id>": {logprob, rank,
 * decoded_token}}], the prompt's token first).  The prompt is tokenized greedily: one of
 * the four tokens where it matches, else one byte (logprob -9; the alternatives are still
 * the four).  Model options: ";noecho=1" refuses echo with a 400 (as a server that only
 * knows prompt_logprobs); ";noecho=llamacpp" as llama.cpp's /v1/completions does (its
 * captured answer, fixtures/llamacpp/error_echo_unsupported.http: a 500
 * "Unsupported param: echo" from "Server: llama.cpp"); ";scorebad=1" answers scoring with a 200 holding no logprobs,
 * ";scorebad=2" with JSON cut in half, ";scorebad=503" the first scoring request (of the
 * server's life) with a 503. */

static const char *const dist_tok[4] = { " a", " b", " c", " d" };
static const double dist_p[2][4] = { { 0.4, 0.3, 0.2, 0.1 }, { 0.7, 0.1, 0.1, 0.1 } };

/* The value of option `key` in the model name ("m;dist=q"), or "" */
static void model_opt(const char *model, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    size_t kl = strlen(key);
    for (const char *p = model ? strchr(model, ';') : NULL; p; p = strchr(p + 1, ';'))
        if (!strncmp(p + 1, key, kl) && p[1 + kl] == '=') {
            size_t n = strcspn(p + 2 + kl, ";");
            snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p + 2 + kl);
        }
}

static int dist_of(const char *model)
{
    char v[8];
    model_opt(model, "dist", v, sizeof v);
    return !strcmp(v, "q") ? 1 : !strcmp(v, "p") ? 0 : -1;
}

/* {"<tok>": logprob, ...} of the four, the token's own first */
static json_t *dist_top(int d, int ntop)
{
    json_t *o = json_object();
    for (int v = 0; v < 4 && v < ntop; v++)
        json_object_set_new(o, dist_tok[v], json_real(log(dist_p[d][v])));
    return o;
}

static json_t *dist_choice(int d, int index, const int *toks, int n, int ntop, const char *finish)
{
    buf text = { 0 };
    json_t *tk = json_array(), *tl = json_array(), *tp = json_array();
    for (int i = 0; i < n; i++) {
        buf_adds(&text, dist_tok[toks[i]]);
        json_array_append_new(tk, json_string(dist_tok[toks[i]]));
        json_array_append_new(tl, json_real(log(dist_p[d][toks[i]])));
        json_array_append_new(tp, dist_top(d, ntop));
    }
    buf_adds(&text, "");
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(index));
    json_object_set_new(c, "text", json_string(text.data));
    if (ntop > 0)
        json_object_set_new(c, "logprobs", json_pack("{s:o,s:o,s:o}", "tokens", tk, "token_logprobs", tl,
                                                     "top_logprobs", tp));
    else {
        json_decref(tk), json_decref(tl), json_decref(tp);
        json_object_set_new(c, "logprobs", json_null());
    }
    json_object_set_new(c, "finish_reason", finish ? json_string(finish) : json_null());
    buf_free(&text);
    return c;
}

static json_t *dist_object(json_t *choices, const char *model)
{
    return json_pack("{s:o,s:s,s:s}", "choices", choices, "model", model, "object", "text_completion");
}

static int dist_draw(int d, long long seed, int choice, int i)
{
    double u = (double)(mix(mix((unsigned)seed, (unsigned)choice + 101), (unsigned)i + 13) % 1000000) / 1e6;
    for (int v = 0; v < 3; v++) {
        if (u < dist_p[d][v])
            return v;
        u -= dist_p[d][v];
    }
    return 3;
}

static void dist_generate(conn *c, int d, const char *model, long long seed, int n, int max, int ntop,
                          int stream, double latency)
{
    if (!stream) {
        json_t *choices = json_array();
        for (int ch = 0; ch < n; ch++) {
            int *toks = xmalloc((size_t)max * sizeof *toks);
            for (int i = 0; i < max; i++)
                toks[i] = dist_draw(d, seed, ch, i);
            json_array_append_new(choices, dist_choice(d, ch, toks, max, ntop, "length"));
            free(toks);
        }
        json_t *o = dist_object(choices, model);
        char *s = json_dumps(o, JSON_COMPACT);
        add_response(c, latency, 200, "OK", "application/json", NULL, s, strlen(s));
        free(s);
        json_decref(o);
        return;
    }
    const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
    add_seg(c, latency, SEG_DATA, h, strlen(h));
    for (int i = 0; i < max; i++)
        for (int ch = 0; ch < n; ch++) {
            int t = dist_draw(d, seed, ch, i);
            json_t *choices = json_array();
            json_array_append_new(choices, dist_choice(d, ch, &t, 1, ntop, i == max - 1 ? "length" : NULL));
            add_event(c, 0, dist_object(choices, model));
        }
    add_chunk(c, 0, "data: [DONE]\n\n", 14);
    add_seg(c, 0, SEG_DATA, "0\r\n\r\n", 5);
}

/* Scoring given text: the prompt tokenized greedily, each token's logprob under d. */
static void dist_score(conn *c, int d, const char *model, const char *prompt, int echo, int k, double latency)
{
    char bad[8];
    model_opt(model, "scorebad", bad, sizeof bad);
    if (!strcmp(bad, "1")) {
        const char *b = "{\"choices\":[{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"length\"}]}";
        add_response(c, latency, 200, "OK", "application/json", NULL, b, strlen(b));
        return;
    }
    static int said_503;
    if (!strcmp(bad, "503") && !said_503++) {
        error_response(c, latency, 503, "Service Unavailable", "overloaded, try again", "503", NULL);
        return;
    }
    if (!strcmp(bad, "2")) {
        const char *b = "{\"choices\":[{\"index\":0,\"logprobs\":{\"tokens\":[\"He";
        add_response(c, latency, 200, "OK", "application/json", NULL, b, strlen(b));
        return;
    }
    json_t *tk = json_array(), *tl = json_array(), *tp = json_array(), *off = json_array(), *pl = json_array();
    size_t len = strlen(prompt);
    for (size_t at = 0, i = 0; at < len; i++) {
        int v = -1;
        for (int w = 0; w < 4 && v < 0; w++)
            if (!strncmp(prompt + at, dist_tok[w], strlen(dist_tok[w])))
                v = w;
        size_t n = v >= 0 ? strlen(dist_tok[v]) : 1;
        char piece[16];
        if (v < 0 && (unsigned char)prompt[at] >= 0x80)
            snprintf(piece, sizeof piece, "bytes:\\x%02x", (unsigned char)prompt[at]);   /* as OpenAI */
        else
            snprintf(piece, sizeof piece, "%.*s", (int)n, prompt + at);
        double lp = v >= 0 ? log(dist_p[d][v]) : -9.0;
        json_array_append_new(tk, json_string(piece));
        json_array_append_new(tl, i ? json_real(lp) : json_null());
        json_array_append_new(tp, i ? dist_top(d, k) : json_null());
        json_array_append_new(off, json_integer((json_int_t)at));
        if (!i)
            json_array_append_new(pl, json_null());
        else {
            json_t *pos = json_object();
            char id[16];
            snprintf(id, sizeof id, "%d", v >= 0 ? v : 1000 + (unsigned char)prompt[at]);
            json_object_set_new(pos, id, json_pack("{s:f,s:i,s:s}", "logprob", lp, "rank", v >= 0 ? v + 1 : 5,
                                                   "decoded_token", piece));
            for (int w = 0; w < 4 && w < k; w++)
                if (w != v) {
                    snprintf(id, sizeof id, "%d", w);
                    json_object_set_new(pos, id, json_pack("{s:f,s:i,s:s}", "logprob", log(dist_p[d][w]),
                                                           "rank", w + 1, "decoded_token", dist_tok[w]));
                }
            json_array_append_new(pl, pos);
        }
        at += n;
    }
    json_t *ch = json_object();
    json_object_set_new(ch, "index", json_integer(0));
    json_object_set_new(ch, "finish_reason", json_string("length"));
    if (echo) {
        json_object_set_new(ch, "text", json_string(prompt));
        json_object_set_new(ch, "logprobs", json_pack("{s:o,s:o,s:o,s:o}", "tokens", tk, "token_logprobs", tl,
                                                      "top_logprobs", tp, "text_offset", off));
        json_decref(pl);
    } else {
        json_object_set_new(ch, "text", json_string(dist_tok[0]));   /* the one generated token */
        json_object_set_new(ch, "logprobs", json_null());
        json_object_set_new(ch, "prompt_logprobs", pl);
        json_decref(tk), json_decref(tl), json_decref(tp), json_decref(off);
    }
    json_t *choices = json_array();
    json_array_append_new(choices, ch);
    json_t *o = dist_object(choices, model);
    char *s = json_dumps(o, JSON_COMPACT);
    add_response(c, latency, 200, "OK", "application/json", NULL, s, strlen(s));
    free(s);
    json_decref(o);
}

/* Handles a request for a dist= model or a scoring request; 0 when it is neither. */
static int dist_handle(conn *c, int ep, json_t *req, const char *model, double latency)
{
    if (ep != EP_COMPLETIONS)
        return 0;
    int echo = json_is_true(json_object_get(req, "echo"));
    json_t *plj = json_object_get(req, "prompt_logprobs");
    int d = dist_of(model);
    if (!echo && !json_is_integer(plj) && d < 0)
        return 0;
    if (d < 0)
        d = 0;
    const char *mname = model ? model : "test-model";
    const char *prompt = json_string_value(json_object_get(req, "prompt"));
    if (echo || json_is_integer(plj)) {
        char no[16];
        model_opt(model, "noecho", no, sizeof no);
        if (echo && !strcmp(no, "llamacpp")) {
            const char *b = "{\"error\":{\"code\":500,\"message\":\"Unsupported param: echo\",\"type\":\"server_error\"}}";
            add_response(c, latency, 500, "Internal Server Error", "application/json; charset=utf-8",
                         "Server: llama.cpp\r\n", b, strlen(b));
            return 1;
        }
        if (echo && !strcmp(no, "1")) {
            error_response(c, latency, 400, "Bad Request", "echo is not supported by this server",
                           "invalid_request_error", NULL);
            return 1;
        }
        int k = (int)json_integer_value(echo ? json_object_get(req, "logprobs") : plj);
        dist_score(c, d, mname, prompt ? prompt : "", echo, k, latency);
        return 1;
    }
    json_t *nj = json_object_get(req, "n"), *mt = json_object_get(req, "max_tokens"), *sj = json_object_get(req, "seed");
    int n = json_is_integer(nj) && json_integer_value(nj) >= 1 && json_integer_value(nj) <= 128
          ? (int)json_integer_value(nj) : 1;
    int max = json_is_integer(mt) && json_integer_value(mt) >= 1 && json_integer_value(mt) <= 5000
            ? (int)json_integer_value(mt) : 16;
    static long long counter;
    long long seed = json_is_integer(sj) ? json_integer_value(sj) : 5000 + counter++;
    dist_generate(c, d, mname, seed, n, max, (int)json_integer_value(json_object_get(req, "logprobs")),
                  json_is_true(json_object_get(req, "stream")), latency);
    return 1;
}
