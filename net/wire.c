/* net/wire.c — see wire.h. */
#include "net/wire.h"
#include "core/mem.h"
#include "net/sse.h"
#include "core/text.h"
#include "core/jnul.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wire_path(wire_kind kind)
{
    return kind == WIRE_CHAT ? "/chat/completions" : kind == WIRE_LLAMACPP ? "/completion"
                                                                          : "/completions";
}

int wire_kind_parse(const char *b, wire_kind *out)
{
    if (!b)
        return -1;
    if (!strcmp(b, "openai"))
        *out = WIRE_OPENAI;
    else if (!strcmp(b, "openai-chat"))
        *out = WIRE_CHAT;
    else if (!strcmp(b, "llamacpp"))
        *out = WIRE_LLAMACPP;
    else
        return -1;
    return 0;
}

/* ---- request bodies ---- */

char *wire_body(wire_kind kind, const gen_settings *s, const char *context, size_t len,
                int n, int seed_mode, long long seed, int stream, char *err, size_t errlen)
{
    json_t *extra = NULL;
    if (s->extra_json && *s->extra_json) {
        json_error_t je;
        extra = json_loads(s->extra_json, 0, &je);
        if (!extra || !json_is_object(extra)) {
            snprintf(err, errlen, "--extra-json: not a JSON object (%s)", extra ? "wrong type" : je.text);
            json_decref(extra);
            return NULL;
        }
    }
    json_t *o = json_object();
    if (s->model && *s->model)
        json_object_set_new(o, "model", json_string(s->model));
    if (kind == WIRE_CHAT) {
        json_t *msg = json_object();
        json_object_set_new(msg, "role", json_string(s->chat_prefill ? "assistant" : "user"));
        json_object_set_new(msg, "content", jnul_string(context, len));
        json_t *msgs = json_array();
        json_array_append_new(msgs, msg);
        json_object_set_new(o, "messages", msgs);
    } else {
        json_object_set_new(o, "prompt", jnul_string(context, len));
    }
    if (kind == WIRE_LLAMACPP) {
        json_object_set_new(o, "n_predict", json_integer(s->max_tokens));
        json_object_set_new(o, "n_probs", json_integer(s->logprobs));
        /* llama.cpp truncates by default (top_k 40, min_p 0.05): ask for honest samples. */
        json_object_set_new(o, "top_k", json_integer(0));
        json_object_set_new(o, "min_p", json_real(0));
    } else {
        json_object_set_new(o, "max_tokens", json_integer(s->max_tokens));
    }
    json_object_set_new(o, "temperature", json_real(s->temperature));
    json_object_set_new(o, "top_p", json_real(s->top_p));
    if (n > 1 && kind != WIRE_LLAMACPP)
        json_object_set_new(o, "n", json_integer(n));
    if (kind == WIRE_CHAT) {
        if (s->logprobs > 0) {
            json_object_set_new(o, "logprobs", json_true());
            json_object_set_new(o, "top_logprobs", json_integer(s->logprobs > 20 ? 20 : s->logprobs));
        }
    } else if (kind == WIRE_OPENAI && s->logprobs > 0) {
        json_object_set_new(o, "logprobs", json_integer(s->logprobs));
    }
    if (s->nstop > 0) {
        json_t *stop = json_array();
        for (int i = 0; i < s->nstop && i < SETTINGS_MAX_STOP; i++)
            json_array_append_new(stop, jnul_string(s->stop[i], strlen(s->stop[i])));
        json_object_set_new(o, "stop", stop);
    }
    if (seed_mode)
        json_object_set_new(o, "seed", json_integer((json_int_t)seed));
    json_object_set_new(o, "stream", json_boolean(stream));
    if (extra) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text) {
        snprintf(err, errlen, "could not encode the request body");
        return NULL;
    }
    char *out = xstrdup(text);
    free(text);
    return out;
}

/* ---- token texts and logprobs ---- */

static double norm_lp(double lp)
{
    if (isnan(lp))
        return lp;
    if (lp > 0)
        return 0;            /* a probability above 1 (700 was seen): at most certain */
    return lp <= WIRE_LOGPROB_ZERO || !isfinite(lp) ? WIRE_LOGPROB_ZERO : lp;
}

static double lp_of(json_t *obj)
{
    json_t *v = json_object_get(obj, "logprob");
    if (json_is_number(v))
        return norm_lp(json_number_value(v));
    v = json_object_get(obj, "prob");
    if (json_is_number(v)) {
        double p = json_number_value(v);
        return p > 0 ? norm_lp(log(p)) : WIRE_LOGPROB_ZERO;
    }
    return NAN;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Appends a token's text to out: the text, unless it is lossy and exact bytes exist. */
static void token_text(json_t *text, json_t *bytes, buf *out)
{
    const char *t = json_string_value(text);
    size_t tl = t ? json_string_length(text) : 0;
    /* Lossy: no text, an empty text (llama.cpp holding a piece of a character back), a
     * U+FFFD anywhere (the text may hold NUL bytes: searched by length), "bytes:...". */
    int lossy = !t || !tl || (tl >= 6 && !memcmp(t, "bytes:", 6));
    for (size_t i = 0; !lossy && i + 3 <= tl; i++)
        lossy = !memcmp(t + i, "\xef\xbf\xbd", 3);
    if (lossy && json_is_array(bytes) && json_array_size(bytes)) {
        size_t i;
        json_t *v;
        json_array_foreach(bytes, i, v) {
            json_int_t c = json_integer_value(v);
            buf_addc(out, (char)(unsigned char)(c & 0xff));
        }
        return;
    }
    if (t && tl >= 6 && !memcmp(t, "bytes:", 6)) {
        /* OpenAI legacy: "bytes:\xe2\x80" for a piece of a character. */
        size_t i = 6;
        while (i < tl) {
            if (i + 4 <= tl && t[i] == '\\' && t[i + 1] == 'x' && hexval(t[i + 2]) >= 0 && hexval(t[i + 3]) >= 0) {
                buf_addc(out, (char)(hexval(t[i + 2]) * 16 + hexval(t[i + 3])));
                i += 4;
            } else {
                buf_addc(out, t[i++]);
            }
        }
        return;
    }
    if (t)
        buf_add(out, t, tl);
}

typedef struct {
    buf      pool;
    size_t   off[WIRE_MAX_TOP], len[WIRE_MAX_TOP];
    double   lp[WIRE_MAX_TOP];
    size_t   n;
    tree_alt alts[WIRE_MAX_TOP];
} alt_list;

static void alts_add(alt_list *a, json_t *text, json_t *bytes, double lp)
{
    if (a->n >= WIRE_MAX_TOP)
        return;
    size_t before = a->pool.len;
    token_text(text, bytes, &a->pool);
    a->off[a->n] = before;
    a->len[a->n] = a->pool.len - before;
    a->lp[a->n] = isnan(lp) ? WIRE_LOGPROB_ZERO : lp;
    a->n++;
}

/* Most probable first (stable), pointers fixed up once the pool stopped moving. */
static const tree_alt *alts_finish(alt_list *a)
{
    for (size_t i = 0; i < a->n; i++)
        a->alts[i] = (tree_alt){ a->pool.data ? a->pool.data + a->off[i] : "", a->len[i], a->lp[i] };
    for (size_t i = 1; i < a->n; i++) {
        tree_alt x = a->alts[i];
        size_t j = i;
        while (j > 0 && a->alts[j - 1].logprob < x.logprob) {
            a->alts[j] = a->alts[j - 1];
            j--;
        }
        a->alts[j] = x;
    }
    return a->alts;
}

/* The content shape: [{token, logprob|prob, bytes, top_logprobs|top_probs: [...]}].
 */
static void emit_content(const wire_sink *k, int choice, json_t *content)
{
    size_t i;
    json_t *tok;
    buf text = { 0 };
    json_array_foreach(content, i, tok) {
        if (!json_is_object(tok))
            continue;
        buf_clear(&text);
        token_text(json_object_get(tok, "token"), json_object_get(tok, "bytes"), &text);
        alt_list a = { 0 };
        json_t *top = json_object_get(tok, "top_logprobs");
        if (!json_is_array(top))
            top = json_object_get(tok, "top_probs");
        size_t j;
        json_t *alt;
        json_array_foreach(top, j, alt)
            if (json_is_object(alt))
                alts_add(&a, json_object_get(alt, "token"), json_object_get(alt, "bytes"), lp_of(alt));
        const tree_alt *alts = alts_finish(&a);
        k->token(k->ud, choice, text.data ? text.data : "", text.len, lp_of(tok), alts, a.n);
        buf_free(&a.pool);
    }
    buf_free(&text);
}

/* The legacy shape: {tokens, token_logprobs, top_logprobs: [obj|null] or one obj}. */
static void emit_legacy(const wire_sink *k, int choice, json_t *lp, size_t max)
{
    json_t *tokens = json_object_get(lp, "tokens");
    json_t *lps = json_object_get(lp, "token_logprobs");
    json_t *tops = json_object_get(lp, "top_logprobs");
    size_t i;
    json_t *t;
    buf text = { 0 };
    json_array_foreach(tokens, i, t) {
        if (i >= max)
            break;
        buf_clear(&text);
        token_text(t, NULL, &text);
        json_t *v = json_array_get(lps, i);
        double logprob = json_is_number(v) ? norm_lp(json_number_value(v)) : NAN;
        json_t *top = json_is_array(tops) ? json_array_get(tops, i)
                    : json_is_object(tops) && i == 0 ? tops : NULL;   /* Together: one object */
        alt_list a = { 0 };
        const char *key;
        json_t *val;
        if (json_is_object(top))
            json_object_foreach(top, key, val) {
                size_t kl;
                char *kb = jnul_key(key, &kl);      /* the byte 0 is a token too */
                json_t *ks = json_stringn(kb, kl);
                alts_add(&a, ks, NULL, json_is_number(val) ? norm_lp(json_number_value(val)) : NAN);
                json_decref(ks);
                free(kb);
            }
        const tree_alt *alts = alts_finish(&a);
        k->token(k->ud, choice, text.data ? text.data : "", text.len, logprob, alts, a.n);
        buf_free(&a.pool);
    }
    buf_free(&text);
}

/* Tokens when there are logprobs (their texts make the completion text), else the text. */
static void emit_piece(const wire_sink *k, int choice, json_t *text, json_t *logprobs, json_t *native)
{
    json_t *content = native ? native : json_object_get(logprobs, "content");
    if (json_is_array(content) && json_array_size(content)) {
        emit_content(k, choice, content);
        return;
    }
    json_t *tokens = json_object_get(logprobs, "tokens");
    if (json_is_array(tokens) && json_array_size(tokens)) {
        emit_legacy(k, choice, logprobs, (size_t)-1);
        return;
    }
    const char *s = json_string_value(text);
    if (s && json_string_length(text))
        k->text(k->ud, choice, s, json_string_length(text));
}

static void report_error(const wire_sink *k, int choice, json_t *err)
{
    char *msg = NULL, *code = NULL;
    char *text = json_dumps(err, JSON_COMPACT | JSON_ENCODE_ANY);
    if (json_is_string(err)) {
        msg = wire_one_line(json_string_value(err), json_string_length(err), 300);
    } else if (text) {
        size_t tl = strlen(text);
        char *wrapped = xasprintf("{\"error\":%s}", text);
        wire_error_info(wrapped, tl + 10, &msg, &code);
        free(wrapped);
    }
    free(text);
    k->error(k->ud, choice, msg ? msg : "the server reported an error");
    free(msg);
    free(code);
}

static void report_model(const wire_sink *k, json_t *root)
{
    const char *m = json_string_value(json_object_get(root, "model"));
    if (m && k->model)
        k->model(k->ud, m);
}

static const char *native_finish(json_t *root)
{
    const char *t = json_string_value(json_object_get(root, "stop_type"));
    if (t && !strcmp(t, "limit"))
        return "length";
    return "stop";
}

/* One response object (a whole body or one streamed chunk). */
static int parse_object(wire_kind kind, json_t *root, int chunk, const wire_sink *k)
{
    if (!json_is_object(root))
        return WIRE_BAD;
    json_t *err = json_object_get(root, "error");
    if (err && !json_is_null(err)) {
        report_error(k, -1, err);
        return WIRE_ERROR;
    }
    report_model(k, root);
    if (kind == WIRE_LLAMACPP) {
        json_t *content = json_object_get(root, "content");
        json_t *probs = json_object_get(root, "completion_probabilities");
        if (!json_is_string(content) && !json_is_array(probs) && !json_object_get(root, "stop"))
            return WIRE_BAD;
        emit_piece(k, 0, content, NULL, json_is_array(probs) ? probs : NULL);
        if (json_is_true(json_object_get(root, "stop")) || !chunk) {
            k->finish(k->ud, 0, native_finish(root));
            return WIRE_END;
        }
        return WIRE_OK;
    }
    json_t *choices = json_object_get(root, "choices");
    if (!json_is_array(choices))
        return WIRE_BAD;
    size_t i;
    json_t *c;
    json_array_foreach(choices, i, c) {
        if (!json_is_object(c))
            continue;
        json_t *idx = json_object_get(c, "index");
        int choice = json_is_integer(idx) ? (int)json_integer_value(idx) : (int)i;
        json_t *text;
        if (kind == WIRE_CHAT) {
            json_t *m = json_object_get(c, chunk ? "delta" : "message");
            if (!m)
                m = json_object_get(c, chunk ? "message" : "delta");
            text = json_object_get(m, "content");
        } else {
            text = json_object_get(c, "text");
        }
        emit_piece(k, choice, text, json_object_get(c, "logprobs"), NULL);
        const char *fin = json_string_value(json_object_get(c, "finish_reason"));
        if (fin && !strcmp(fin, "error")) {
            json_t *e = json_object_get(c, "error");
            if (e)
                report_error(k, choice, e);
            else
                k->error(k->ud, choice, "the server ended this branch with an error");
        } else if (fin) {
            k->finish(k->ud, choice, fin);
        } else if (!chunk) {
            k->finish(k->ud, choice, "stop");
        }
    }
    return WIRE_OK;
}

int wire_parse_chunk(wire_kind kind, const char *data, size_t len, const wire_sink *k)
{
    while (len && (*data == ' ' || *data == '\t'))
        data++, len--;
    while (len && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\n'))
        len--;
    if (len == 6 && !memcmp(data, "[DONE]", 6))
        return WIRE_END;
    json_t *root = jnul_loadb(data, len, 0, NULL);
    if (!root)
        return WIRE_BAD;
    int r = parse_object(kind, root, 1, k);
    json_decref(root);
    return r;
}

int wire_parse_body(wire_kind kind, const char *body, size_t len, const wire_sink *k)
{
    json_t *root = jnul_loadb(body, len, 0, NULL);
    if (!root)
        return WIRE_BAD;
    int r;
    if (json_is_array(root)) {   /* llama.cpp answers a prompt array with an array */
        r = json_array_size(root) ? WIRE_OK : WIRE_BAD;
        size_t i;
        json_t *o;
        json_array_foreach(root, i, o) {
            int ri = parse_object(kind, o, 0, k);
            if (ri < 0) {
                r = ri;
                break;
            }
        }
    } else {
        r = parse_object(kind, root, 0, k);
    }
    json_decref(root);
    return r == WIRE_END ? WIRE_OK : r;
}

/* ---- errors ---- */

char *wire_one_line(const char *text, size_t len, size_t max)
{
    buf b = { 0 };
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    for (; i < len && b.len < max; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c == 0x7f) {
            if (b.len && b.data[b.len - 1] != ' ')
                buf_addc(&b, ' ');
        } else {
            buf_addc(&b, (char)c);
        }
    }
    while (b.len && b.data[b.len - 1] == ' ')
        b.len--;
    if (i < len && b.len) {
        b.len = text_complete_prefix(b.data, b.len);
        buf_adds(&b, "...");
    }
    buf_adds(&b, "");
    b.data[b.len] = '\0';
    return buf_steal(&b);
}

static char *code_text(json_t *code)
{
    if (json_is_string(code))
        return xstrdup(json_string_value(code));
    if (json_is_integer(code))
        return xasprintf("%lld", (long long)json_integer_value(code));
    return NULL;
}

static char *message_of(json_t *v)
{
    if (json_is_string(v) && json_string_length(v))
        return wire_one_line(json_string_value(v), json_string_length(v), 300);
    if (json_is_array(v)) {        /* FastAPI: "detail": [{"msg": ...}] */
        json_t *first = json_array_get(v, 0);
        return message_of(json_is_object(first) ? json_object_get(first, "msg") : first);
    }
    if (json_is_object(v)) {
        char *m = message_of(json_object_get(v, "message"));
        return m ? m : message_of(json_object_get(v, "msg"));
    }
    return NULL;
}

void wire_error_info(const char *body, size_t len, char **message, char **code)
{
    *message = NULL;
    *code = NULL;
    if (!body || !len)
        return;
    json_t *root = jnul_loadb(body, len, 0, NULL);
    if (json_is_array(root) && json_array_size(root)) {
        json_t *first = json_incref(json_array_get(root, 0));
        json_decref(root);
        root = first;
    }
    if (json_is_object(root)) {
        json_t *err = json_object_get(root, "error");
        if (json_is_object(err)) {
            *message = message_of(err);
            *code = code_text(json_object_get(err, "code"));
            if (!*code)
                *code = code_text(json_object_get(err, "type"));
            json_t *raw = json_object_get(json_object_get(err, "metadata"), "raw");
            if (!*message && raw)
                *message = message_of(raw);   /* OpenRouter: the provider's own words */
        } else if (err) {
            *message = message_of(err);
        }
        if (!*message)
            *message = message_of(json_object_get(root, "detail"));
        if (!*message)
            *message = message_of(json_object_get(root, "message"));
        json_decref(root);
        if (*message)
            return;
    } else {
        json_decref(root);
    }
    /* Plain text or HTML: tags dropped, the first non-empty line. */
    buf b = { 0 };
    int in_tag = 0;
    for (size_t i = 0; i < len && b.len < 4096; i++) {
        char c = body[i];
        if (c == '<')
            in_tag = 1;
        else if (c == '>' && in_tag)
            in_tag = 0, buf_addc(&b, '\n');
        else if (!in_tag)
            buf_addc(&b, c);
    }
    const char *p = b.data ? b.data : "";
    const char *end = p + b.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = wire_one_line(p, n, 300);
        if (*line) {
            *message = line;
            break;
        }
        free(line);
        p += n + 1;
    }
    buf_free(&b);
}

/* ---- scoring given text ---- */

char *wire_score_body(wire_score_mode mode, const gen_settings *s, const char *prompt, size_t len,
                      int k, char *err, size_t errlen)
{
    json_t *extra = NULL;
    if (s->extra_json && *s->extra_json) {
        json_error_t je;
        extra = json_loads(s->extra_json, 0, &je);
        if (!extra || !json_is_object(extra)) {
            snprintf(err, errlen, "--extra-json: not a JSON object (%s)", extra ? "wrong type" : je.text);
            json_decref(extra);
            return NULL;
        }
    }
    json_t *o = json_object();
    if (s->model && *s->model)
        json_object_set_new(o, "model", json_string(s->model));
    json_object_set_new(o, "prompt", jnul_string(prompt, len));
    if (mode == WIRE_SCORE_ECHO) {
        json_object_set_new(o, "echo", json_true());
        json_object_set_new(o, "logprobs", json_integer(k));
        json_object_set_new(o, "max_tokens", json_integer(0));
    } else {
        json_object_set_new(o, "prompt_logprobs", json_integer(k));
        json_object_set_new(o, "max_tokens", json_integer(1));
    }
    json_object_set_new(o, "temperature", json_real(1.0));
    json_object_set_new(o, "stream", json_false());
    if (extra) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text) {
        snprintf(err, errlen, "could not encode the request body");
        return NULL;
    }
    char *out = xstrdup(text);
    free(text);
    return out;
}

/* vLLM's prompt_logprobs: [null, {"<id>": {"logprob", "rank", "decoded_token"}, ...}, ...];
 * the prompt's own token is each object's first key, the others its top alternatives. */
static int emit_prompt_logprobs(const wire_sink *k, json_t *pl)
{
    size_t i;
    json_t *pos;
    buf text = { 0 };
    int n = 0;
    json_array_foreach(pl, i, pos) {
        if (json_is_null(pos) && i == 0) {      /* the first token: nothing to condition on */
            k->token(k->ud, 0, "", 0, NAN, NULL, 0);
            n++;
            continue;
        }
        if (!json_is_object(pos) || !json_object_size(pos)) {
            buf_free(&text);
            return -1;
        }
        alt_list a = { 0 };
        const char *key;
        json_t *val;
        double lp = NAN;
        int first = 1;
        buf_clear(&text);
        json_object_foreach(pos, key, val) {
            json_t *dt = json_object_get(val, "decoded_token");
            double v = json_is_number(json_object_get(val, "logprob"))
                     ? norm_lp(json_number_value(json_object_get(val, "logprob"))) : NAN;
            if (first) {
                token_text(dt, NULL, &text);
                lp = v;
                first = 0;
            }
            alts_add(&a, dt, NULL, v);
        }
        const tree_alt *alts = alts_finish(&a);
        k->token(k->ud, 0, text.data ? text.data : "", text.len, lp, alts, a.n);
        buf_free(&a.pool);
        n++;
    }
    buf_free(&text);
    return n > 0 ? 0 : -1;
}

int wire_parse_scored(const char *body, size_t len, size_t prompt_len, const wire_sink *k)
{
    json_t *root = jnul_loadb(body, len, 0, NULL);
    if (!root)
        return WIRE_BAD;
    json_t *err = json_object_get(root, "error");
    if (err && !json_is_null(err)) {
        report_error(k, -1, err);
        json_decref(root);
        return WIRE_ERROR;
    }
    json_t *c = json_array_get(json_object_get(root, "choices"), 0);
    json_t *pl = json_object_get(c, "prompt_logprobs");
    json_t *lp = json_object_get(c, "logprobs");
    json_t *tokens = json_object_get(lp, "tokens");
    int r = WIRE_BAD;
    if (json_is_array(pl) && json_array_size(pl))
        r = emit_prompt_logprobs(k, pl) < 0 ? WIRE_BAD : WIRE_OK;
    else if (json_is_array(tokens) && json_array_size(tokens)) {
        /* echo: the prompt's tokens, then any the server generated anyway (past the
         * prompt's length in text_offset) */
        json_t *offs = json_object_get(lp, "text_offset");
        size_t max = json_array_size(tokens);
        for (size_t i = 0; json_is_array(offs) && i < json_array_size(offs) && i < max; i++) {
            json_t *o = json_array_get(offs, i);
            if (json_is_integer(o) && json_integer_value(o) >= (json_int_t)prompt_len) {
                max = i;
                break;
            }
        }
        if (max) {
            emit_legacy(k, 0, lp, max);
            r = WIRE_OK;
        }
    }
    json_decref(root);
    return r;
}
