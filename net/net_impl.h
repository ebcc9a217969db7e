/* net/net_impl.h — what the two halves of the HTTP backends share (not for other modules):
 * net/net.c runs requests and transfers (start, retries, fallback, sweep, the backend
 * operations); net/stream.c turns what a transfer received into events (parsing, UTF-8
 * hold-back, branch endings, key scrubbing). */
#ifndef NET_NET_IMPL_H
#define NET_NET_IMPL_H
#include "net/net.h"
#include "net/http.h"
#include "net/sse.h"
#include "net/wire.h"

#define NET_ATTEMPTS   4                    /* first try + 3 retries */
#define NET_BODY_CAP   ((size_t)32 << 20)   /* a buffered (non-streamed) body */
#define NET_EVENT_CAP  ((size_t)8 << 20)    /* one SSE event */

typedef struct {
    int  ended;
    int  got;              /* any text or token arrived */
    unsigned char pend[4]; /* a UTF-8 character not yet complete */
    int  npend;
    size_t ntok, nbytes;   /* what it received: the client's own cap (net_branch_cap) */
} net_branch;

/* A branch's bytes are capped whatever the server does: NET_BRANCH_BYTES_BASE plus
 * NET_BRANCH_BYTES_PER_TOKEN for each token asked for; its tokens at max_tokens. */
#define NET_BRANCH_BYTES_BASE      (64u << 10)
#define NET_BRANCH_BYTES_PER_TOKEN 1024u

typedef struct {
    int          id;
    int          k;
    gen_settings s;
    char        *context;
    size_t       len;
    char        *base;     /* base URL without trailing '/' */
    net_branch  *br;
    int          cancelled;
    int          end_sent;  /* REQUEST_END delivered; kept while transfers still drain */
    int          nx;        /* transfers pointing here */
} net_req;

typedef enum { X_QUEUED, X_RUNNING, X_WAITING } xstate;

typedef struct {
    net_req   *req;
    int        first, count;   /* choice i is branch first + i */
    http_xfer  h;
    xstate     state;
    int        in_multi;
    int        dead;
    double     due;            /* X_WAITING: when to try again */
    int        attempt;        /* attempts made */
    int        delivered;      /* events were delivered: never retry after that */
    int        sse_mode;       /* -1 undecided, 0 buffered body, 1 event stream */
    sse_parser sse;
    int        saw_end;        /* [DONE] or a llama.cpp stop chunk */
    int        bad_chunks;
    char       model[128];
    int        cut;            /* every branch ended early by the client's cap: stop reading */
} net_xfer;

typedef struct net_score_req net_score_req;   /* net/net_score.c */

typedef struct {
    backend    base;
    wire_kind  kind;
    char      *base_url;
    char      *key;
    CURLM     *multi;
    net_req  **reqs;
    size_t     nreqs, capreqs;
    net_xfer **xs;
    size_t     nx, capx;
    char     **no_n;           /* base URLs that refused n > 1 */
    size_t     nno_n, capno_n;
    int        next_id;
    int        running;
    int        concurrency;
    long       idle_s;
    int        said_dns;
    int        said_all;       /* logprobs all: the status line said what it means here */
    char       say[200];       /* a status line for the next pump */
    net_score_req **sreqs;     /* scoring requests (net/net_score.c) */
    size_t     nsreqs, capsreqs;
    int        score_prompt_logprobs;   /* echo was refused here: vLLM's prompt_logprobs */
    unsigned   rng;
    http_xfer  info;           /* the one question about the server's model (net/info.c) */
    int        info_state;     /* NET_INFO_* */
    double     info_t0;        /* when it was asked */
} net_backend;

/* net/info.c: the server's vocabulary size, asked once (at the first request) in the
 * backend's multi handle; when known it is base.vocab.  net_info_done takes the finished
 * transfer if it is the question's (returns 1) and may ask a second one. */
enum { NET_INFO_NONE, NET_INFO_MODELS, NET_INFO_PROPS, NET_INFO_DONE };
/* The first generation waits for the answer up to NET_INFO_GATE seconds, so that its nodes
 * record V too; net_info_gate gives the time new transfers wait until, or 0. */
#define NET_INFO_GATE 1.0
double net_info_gate(const net_backend *nb);
void net_info_ask(net_backend *nb);
int  net_info_done(net_backend *nb, void *easy);
void net_info_free(net_backend *nb);

typedef struct { net_backend *nb; net_xfer *x; } sink_ctx;

static inline int net_is_2xx(long s) { return s >= 200 && s < 300; }

/* Scoring given text (net/net_score.c): echo (OpenAI legacy completions, vLLM), and vLLM's
 * prompt_logprobs when a server refuses echo with a 400/422 (remembered for the backend's
 * life); llama.cpp's server and the chat endpoint cannot (one line).  The server is known to
 * be llama.cpp by backend=llamacpp, or, behind backend=openai, by its answer to echo (a 500
 * "Unsupported param: echo", with "Server: llama.cpp").  Dropped connections, 429 and 5xx
 * are retried as for generation (not llama.cpp refusing echo); a failure is one line.
 * Transfers run on the backend's multi handle within its concurrency cap; events come from
 * pump. */
int  net_score_start(backend *b, const char *context, size_t clen, const char *text, size_t len,
                     const gen_settings *s, char *err, size_t errlen);
/* A finished curl handle: 1 when it was a scoring transfer (handled), else 0. */
int  net_score_finished(net_backend *nb, CURL *easy, CURLcode rc);
/* Starts queued scoring transfers, fails idle ones, delivers results, frees what ended. */
void net_score_pump(net_backend *nb);
int  net_score_active(const net_backend *nb);    /* scoring requests not yet ended */
int  net_score_busy(const net_backend *nb);      /* something to deliver or start now */
void net_score_cancel(net_backend *nb, int request);
void net_score_free_all(net_backend *nb);

/* The message with the API key cut out (caller frees). */
char *net_scrub(net_backend *nb, const char *msg);

/* Events (net/stream.c).  Every message goes out with the API key cut out. */
void net_emit_status(net_backend *nb, const char *msg);
/* Ends branch b: DONE with finish, or ERROR (finish "error"/"cancelled") with message. */
void net_end_branch(net_backend *nb, net_req *r, int b, int error, const char *finish,
                    const char *message, long status, const char *model);
/* Every unfinished branch of x fails with message. */
void net_fail_xfer(net_backend *nb, net_xfer *x, const char *message, long status);
int  net_all_ended(net_xfer *x);
wire_sink net_sink_of(sink_ctx *c);
/* An SSE event's data → events; nonzero when the stream is over for this transfer. */
int  net_on_sse_event(void *ud, const char *data, size_t len);
/* Parses what arrived so far when it is the event stream of a successful response. */
void net_parse_stream(net_backend *nb, net_xfer *x);
#endif
