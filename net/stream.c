/* net/stream.c — received bytes → backend events (see net_impl.h). */
#include "net/net_impl.h"
#include "core/mem.h"
#include "core/text.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- events ---- */

/* The key must never reach the user, a log or a file: cut it out of every message. */
char *net_scrub(net_backend *nb, const char *msg)
{
    char *out = xstrdup(msg ? msg : "");
    size_t kl = nb->key ? strlen(nb->key) : 0;
    if (kl < 4)
        return out;
    char *p;
    while ((p = strstr(out, nb->key))) {
        char *n = xasprintf("%.*s[api key]%s", (int)(p - out), out, p + kl);
        free(out);
        out = n;
    }
    return out;
}

void net_emit_status(net_backend *nb, const char *msg)
{
    char *m = net_scrub(nb, msg);
    backend_event ev = { .kind = BACKEND_EV_STATUS, .request = 0, .branch = -1, .message = m,
                         .logprob = NAN };
    backend_emit(&nb->base, &ev);
    free(m);
}

/* One server token is one TOKEN event with exactly its bytes, even when they are a piece of
 * a character (llama.cpp sends those; the next token completes it): its probability and
 * alternatives stay its own and the node's text still concatenates to whole characters.
 * Plain text (no logprobs) is held back at a cut character until the rest arrives. */
static void emit_piece(net_backend *nb, net_xfer *x, int b, const char *text, size_t len,
                       int token, double lp, const tree_alt *top, size_t ntop)
{
    net_req *r = x->req;
    net_branch *br = &r->br[b];
    const char *model = x->model[0] ? x->model : NULL;
    buf joined = { 0 };
    if (br->npend) {
        buf_add(&joined, br->pend, (size_t)br->npend);
        br->npend = 0;
        if (token) {                  /* text held back before a token: it goes first */
            backend_event t = { .kind = BACKEND_EV_TEXT, .request = r->id, .branch = b,
                                .text = joined.data, .len = joined.len, .logprob = NAN, .model = model };
            backend_emit(&nb->base, &t);
            joined.len = 0;
        }
        buf_add(&joined, text, len);
        text = joined.data;
        len = joined.len;
    }
    size_t keep = len;
    if (!token) {
        keep = text_complete_prefix(text, len);
        br->npend = (int)(len - keep);
        memcpy(br->pend, text + keep, (size_t)br->npend);
    }
    /* The server decides nothing here: past max_tokens tokens, or the byte cap, the branch
     * ends as "length" (a server that never stops streaming once grew one without end). */
    size_t max_tok = r->s.max_tokens > 0 ? (size_t)r->s.max_tokens : 0;
    size_t max_bytes = NET_BRANCH_BYTES_BASE + NET_BRANCH_BYTES_PER_TOKEN * (max_tok ? max_tok : 4096);
    if ((token && max_tok && br->ntok >= max_tok) || br->nbytes + keep > max_bytes) {
        char *m = xasprintf("the server sent more than %s; branch %d was cut there",
                            token && max_tok && br->ntok >= max_tok ? "max_tokens tokens" : "the byte cap", b + 1);
        net_emit_status(nb, m);
        free(m);
        net_end_branch(nb, r, b, 0, "length", NULL, 0, model);
        x->cut = net_all_ended(x);
        buf_free(&joined);
        return;
    }
    if (token || keep) {
        backend_event ev = { .kind = token ? BACKEND_EV_TOKEN : BACKEND_EV_TEXT,
                             .request = r->id, .branch = b, .text = text, .len = keep,
                             .logprob = token ? lp : NAN, .top = top, .ntop = ntop, .model = model };
        br->got = 1;
        br->ntok += token != 0;
        br->nbytes += keep;
        x->delivered = 1;
        backend_emit(&nb->base, &ev);
    }
    buf_free(&joined);
}

/* Ends a branch: DONE with finish, or ERROR (finish "error"/"cancelled") with message. */
void net_end_branch(net_backend *nb, net_req *r, int b, int error, const char *finish,
                       const char *message, long status, const char *model)
{
    net_branch *br = &r->br[b];
    if (br->ended)
        return;
    br->ended = 1;
    if (br->npend && !r->cancelled) {   /* never completed: pass the bytes on as they are */
        backend_event t = { .kind = BACKEND_EV_TEXT, .request = r->id, .branch = b,
                            .text = (const char *)br->pend, .len = (size_t)br->npend, .logprob = NAN };
        br->npend = 0;
        backend_emit(&nb->base, &t);
    }
    char *m = message ? net_scrub(nb, message) : NULL;
    backend_event ev = { .kind = error ? BACKEND_EV_ERROR : BACKEND_EV_DONE, .request = r->id,
                         .branch = b, .finish = finish, .message = m, .http_status = (int)status,
                         .logprob = NAN, .model = model && *model ? model : NULL };
    backend_emit(&nb->base, &ev);
    free(m);
}

/* Every unfinished branch of x fails with message. */
void net_fail_xfer(net_backend *nb, net_xfer *x, const char *message, long status)
{
    for (int i = 0; i < x->count; i++)
        net_end_branch(nb, x->req, x->first + i, 1, x->req->cancelled ? "cancelled" : "error",
                   message, status, x->model);
}

/* ---- parsing (called from pump only) ---- */

static int branch_of(sink_ctx *c, int choice)
{
    if (choice < 0 || choice >= c->x->count || c->x->req->cancelled)
        return -1;
    int b = c->x->first + choice;
    return c->x->req->br[b].ended ? -1 : b;
}

static void on_token(void *ud, int choice, const char *t, size_t n, double lp, const tree_alt *top, size_t ntop)
{
    sink_ctx *c = ud;
    int b = branch_of(c, choice);
    if (b >= 0)
        emit_piece(c->nb, c->x, b, t, n, 1, lp, top, ntop);
}

static void on_text(void *ud, int choice, const char *t, size_t n)
{
    sink_ctx *c = ud;
    int b = branch_of(c, choice);
    if (b >= 0 && n)
        emit_piece(c->nb, c->x, b, t, n, 0, NAN, NULL, 0);
}

static void on_finish(void *ud, int choice, const char *reason)
{
    sink_ctx *c = ud;
    int b = branch_of(c, choice);
    if (b >= 0) {
        c->x->delivered = 1;
        net_end_branch(c->nb, c->x->req, b, 0, reason, NULL, 0, c->x->model);
    }
}

static void on_error(void *ud, int choice, const char *message)
{
    sink_ctx *c = ud;
    char *line = xasprintf(c->x->sse_mode == 1 ? "the server reported an error mid-stream (%s)"
                                               : "the server reported an error (%s)", message);
    c->x->delivered = 1;
    if (choice < 0) {
        net_fail_xfer(c->nb, c->x, line, c->x->h.status);
    } else {
        int b = branch_of(c, choice);
        if (b >= 0)
            net_end_branch(c->nb, c->x->req, b, 1, "error", line, c->x->h.status, c->x->model);
    }
    free(line);
}

static void on_model(void *ud, const char *model)
{
    sink_ctx *c = ud;
    snprintf(c->x->model, sizeof c->x->model, "%s", model);
}

wire_sink net_sink_of(sink_ctx *c)
{
    return (wire_sink){ on_token, on_text, on_finish, on_error, on_model, c };
}

int net_all_ended(net_xfer *x)
{
    for (int i = 0; i < x->count; i++)
        if (!x->req->br[x->first + i].ended)
            return 0;
    return 1;
}

int net_on_sse_event(void *ud, const char *data, size_t len)
{
    sink_ctx *c = ud;
    wire_sink k = net_sink_of(c);
    int r = wire_parse_chunk(c->nb->kind, data, len, &k);
    if (r == WIRE_END) {
        c->x->saw_end = 1;
    } else if (r == WIRE_BAD && !c->x->dead && !c->x->req->cancelled) {
        /* Which branch it belonged to is unknown: the whole transfer is unreliable now. */
        c->x->bad_chunks++;
        char *first = wire_one_line(data, len, 60);
        char *m = xasprintf("the stream held malformed JSON (%s)", first);
        c->x->delivered = 1;
        net_fail_xfer(c->nb, c->x, m, c->x->h.status);
        free(m);
        free(first);
        return 1;
    }
    return c->x->dead || c->x->req->cancelled || r == WIRE_END || r == WIRE_ERROR;
}

/* Parses what arrived so far when it is an event stream of a successful response. */
void net_parse_stream(net_backend *nb, net_xfer *x)
{
    if (x->sse_mode < 0 && x->h.status) {
        x->sse_mode = net_is_2xx(x->h.status) && strstr(x->h.content_type, "event-stream") ? 1 : 0;
        if (!x->sse_mode && net_is_2xx(x->h.status))
            x->h.cap = NET_BODY_CAP;
    }
    if (x->saw_end) {   /* after [DONE]: nothing more matters */
        http_xfer_consume(&x->h, x->h.rx.len);
        return;
    }
    if (x->sse_mode != 1 || !x->h.rx.len)
        return;
    sink_ctx c = { nb, x };
    size_t n = x->h.rx.len;
    int r = sse_feed(&x->sse, x->h.rx.data, n, net_on_sse_event, &c);
    http_xfer_consume(&x->h, n);
    if (r < 0 && !x->dead) {
        x->delivered = 1;
        net_fail_xfer(nb, x, "a streamed event was larger than 8 MiB; the response was dropped", x->h.status);
    }
}
