/* core/ngram_backend.c — the builtin backend: samples branches from the n-gram model.
 * See ngram.h for the contract and backend.h for the event protocol.
 *
 * Every request and branch is plain state; pump() steps active branches one token at a
 * time, round-robin, for a few milliseconds.  Text that could be the start of a stop string
 * is held back until it is known not to be, so a branch that stops ends exactly before the
 * stop string.  Requests are heap objects so an event callback may start or cancel
 * requests while pump is iterating; finished ones are freed once pump unwinds. */
#include "core/ngram.h"
#include "core/mono.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PUMP_BUDGET_NS 4000000L   /* sampling time per pump call */
#define MAX_ALTS 100               /* alternatives per token at most (settings allow 100) */

typedef struct {
    uint32_t id;
    double   logprob;
    double   entropy;            /* of the whole distribution at this step, bits */
    uint32_t alt, nalt;          /* into branch.alts */
    size_t   off, len;           /* into branch.pend */
} pend_token;

typedef struct {
    backend_rng rng;
    uint32_t   ctx[NGRAM_MAX_ORDER - 1];
    size_t     nctx;
    int        ntok;
    int        done;
    buf        pend;             /* text of the held-back tokens */
    pend_token *toks;
    size_t     ntoks, cap_toks;
    struct { uint32_t id; double lp; } *alts;
    size_t     nalts, cap_alts;
} branch;

typedef struct {
    int     id;
    int     k;
    int     ended;
    int     cancelled;
    int     end_sent;
    double  temperature, top_p;
    int     max_tokens, logprobs;
    double *p1pow;               /* order-1 probabilities ^ (1/temperature), made once */
    char   *stop[SETTINGS_MAX_STOP];
    int     nstop;
    branch *br;
} request;

typedef struct {
    backend      base;
    ngram_model *m;
    double      *p;              /* the distribution, per step */
    double       mult;           /* its weight on the order-1 distribution */
    double       octave_mass[1024];
    double      *q;              /* sampling weights */
    uint32_t    *order;          /* ids sorted by weight (top_p) */
    request    **reqs;
    size_t       nreqs, cap;
    size_t       rr;             /* round-robin position */
    int          next_id;
    int          depth;          /* pump nesting (callbacks may pump) */
    tree_alt    *tops;
    size_t       cap_tops;
} ngram_backend;

/* ---- sampling ---- */

/* Total order for the nucleus: larger weight first, then smaller id. */
static int better(const double *q, uint32_t a, uint32_t b)
{
    return q[a] > q[b] || (q[a] == q[b] && a < b);
}

/* Reorders ids[0..n) so that ids[0..cut) are the smallest set of best tokens (by `better`)
 * whose weights reach `keep`, and returns cut.  A quickselect on mass: expected O(n). */
static size_t nucleus(uint32_t *ids, size_t n, const double *q, double keep)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        /* Median of three as the pivot, moved to the end. */
        uint32_t a = ids[lo], b = ids[mid], c = ids[last];
        size_t piv = better(q, a, b) ? (better(q, b, c) ? mid : better(q, a, c) ? last : lo)
                                     : (better(q, a, c) ? lo : better(q, b, c) ? last : mid);
        uint32_t t = ids[piv];
        ids[piv] = ids[last];
        ids[last] = t;
        size_t p = lo;
        double up = 0;
        for (size_t i = lo; i < last; i++)
            if (better(q, ids[i], t)) {
                up += q[ids[i]];
                uint32_t x = ids[i];
                ids[i] = ids[p];
                ids[p++] = x;
            }
        ids[last] = ids[p];
        ids[p] = t;
        if (up >= keep) {
            hi = p;          /* the nucleus ends inside the better part */
            continue;
        }
        keep -= up;
        if (q[t] >= keep)
            return p + 1;
        keep -= q[t];
        lo = p + 1;
    }
    return lo;
}

/* Weight octave of q >= 0 (its binary exponent), 0..1023 for q <= 1. */
static unsigned octave(double q)
{
    uint64_t bits;
    memcpy(&bits, &q, sizeof bits);
    unsigned e = (unsigned)(bits >> 52) & 0x7ff;
    return e > 1023 ? 1023 : e;
}

/* Puts the nucleus (the smallest set of best ids by `better` whose weights reach keep) in
 * nb->order[0..cut) and returns cut.  Octaves of weight above the one where the mass
 * reaches keep are wholly in; only that octave is ordered, by quickselect. */
static size_t nucleus_select(ngram_backend *nb, const double *q, size_t v, double keep)
{
    double *mass = nb->octave_mass, cum = 0;
    memset(mass, 0, 1024 * sizeof *mass);
    for (size_t i = 1; i < v; i++)
        mass[octave(q[i])] += q[i];
    int e = 1023;
    for (; e > 0 && cum + mass[e] < keep; e--)
        cum += mass[e];
    uint32_t *ids = nb->order;
    size_t above = 0, at = v;
    for (uint32_t i = 1; i < v; i++) {
        unsigned o = octave(q[i]);
        if (o > (unsigned)e)
            ids[above++] = i;
        else if (o == (unsigned)e)
            ids[--at] = i;
    }
    memmove(ids + above, ids + at, (v - at) * sizeof *ids);
    return above + nucleus(ids + above, v - at, q, keep - cum);
}

/* Picks the next token from nb->p (ids 1..V-1; the unknown token is never sampled);
 * best is the most probable one. */
static uint32_t sample(ngram_backend *nb, request *r, branch *br, uint32_t best)
{
    size_t v = ngram_vocab_size(nb->m);
    const double *p = nb->p;
    if (v < 2)
        return 0;
    if (r->temperature <= 0 || r->top_p <= 0)
        return best;
    const double *q = p;
    double total = 0;
    if (r->temperature == 1.0) {
        for (size_t i = 1; i < v; i++)
            total += p[i];
    } else {
        /* p^(1/T), scaled by the largest so small temperatures do not underflow.  Most
         * ids hold only the order-1 share, w * p1[id]: for those, (w/pmax)^(1/T) times
         * p1[id]^(1/T), made once per request, saves an exp() per id and step. */
        double lmax = log(p[best]), inv = 1.0 / r->temperature, *w = nb->q;
        const double *p1 = ngram_unigram(nb->m);
        if (!r->p1pow) {
            r->p1pow = xmalloc(v * sizeof *r->p1pow);
            for (size_t i = 0; i < v; i++)
                r->p1pow[i] = exp(log(p1[i]) * inv);
        }
        double scale = exp((log(nb->mult) - lmax) * inv);
        for (size_t i = 1; i < v; i++)
            total += w[i] = p[i] == nb->mult * p1[i] ? scale * r->p1pow[i]
                                                     : exp((log(p[i]) - lmax) * inv);
        q = w;
    }
    if (r->top_p < 1.0) {
        size_t cut = nucleus_select(nb, q, v, r->top_p * total);
        double mass = 0;
        for (size_t i = 0; i < cut; i++)
            mass += q[nb->order[i]];
        double x = backend_rng_unit(&br->rng) * mass;
        for (size_t i = 0; i < cut; i++) {
            x -= q[nb->order[i]];
            if (x < 0)
                return nb->order[i];
        }
        return nb->order[cut - 1];
    }
    double x = backend_rng_unit(&br->rng) * total;
    for (uint32_t i = 1; i < v; i++) {
        x -= q[i];
        if (x < 0)
            return i;
    }
    return (uint32_t)v - 1;   /* rounding left x a hair above 0 */
}

/* ---- events ---- */

static void emit_token(ngram_backend *nb, const request *r, int bi, const pend_token *pt,
                       size_t len)
{
    branch *br = &r->br[bi];
    xgrow(&nb->tops, &nb->cap_tops, pt->nalt + 1, sizeof *nb->tops);
    for (uint32_t i = 0; i < pt->nalt; i++) {
        size_t l;
        const char *s = ngram_token_text(nb->m, br->alts[pt->alt + i].id, &l);
        nb->tops[i] = (tree_alt){ s, l, br->alts[pt->alt + i].lp };
    }
    /* The text comes from the vocabulary, not from br->pend, which may move meanwhile. */
    size_t l;
    const char *text = ngram_token_text(nb->m, pt->id, &l);
    backend_event ev = {
        .kind = BACKEND_EV_TOKEN, .request = r->id, .branch = bi, .text = text,
        .len = len < l ? len : l, .logprob = pt->logprob, .top = nb->tops, .ntop = pt->nalt,
        .exact = 1, .entropy = pt->entropy,
    };
    backend_emit(&nb->base, &ev);
}

/* Emits the held-back tokens that end at or before byte `upto` of br->pend (a token that
 * straddles it is cut there when cut is set, else kept back) and drops them. */
static void flush_pending(ngram_backend *nb, request *r, int bi, size_t upto, int cut)
{
    branch *br = &r->br[bi];
    size_t done = 0;
    pend_token t;
    while (done < br->ntoks) {
        t = br->toks[done];
        if (t.off + t.len <= upto)
            emit_token(nb, r, bi, &t, t.len);
        else if (cut && t.off < upto)
            emit_token(nb, r, bi, &t, upto - t.off);
        else
            break;
        br = &r->br[bi];
        done++;
    }
    if (done == br->ntoks || cut) {
        br->ntoks = 0;
        br->nalts = 0;
        buf_clear(&br->pend);
        return;
    }
    size_t shift = br->toks[done].off;
    memmove(br->toks, br->toks + done, (br->ntoks - done) * sizeof *br->toks);
    br->ntoks -= done;
    for (size_t i = 0; i < br->ntoks; i++)
        br->toks[i].off -= shift;
    memmove(br->pend.data, br->pend.data + shift, br->pend.len - shift);
    br->pend.len -= shift;
    br->pend.data[br->pend.len] = 0;
}

static void end_branch(ngram_backend *nb, request *r, int bi, backend_event_kind kind,
                       const char *finish, const char *message)
{
    r->br[bi].done = 1;
    r->ended++;
    backend_event ev = { .kind = kind, .request = r->id, .branch = bi, .finish = finish,
                         .message = message };
    backend_emit(&nb->base, &ev);
}

/* Shannon entropy (bits) of the model's whole next-token distribution. */
static double distribution_entropy(const double *p, size_t v)
{
    double h = 0;
    for (size_t i = 0; i < v; i++)
        if (p[i] > 0)
            h -= p[i] * log2(p[i]);
    return h;
}

/* Samples one token of branch bi and emits what is certain. */
static void step(ngram_backend *nb, request *r, int bi)
{
    branch *br = &r->br[bi];
    nb->mult = ngram_distribution(nb->m, br->ctx, br->nctx, nb->p);
    uint32_t top[MAX_ALTS];
    size_t nalt = r->logprobs < 1 ? 1 : r->logprobs > MAX_ALTS ? MAX_ALTS : (size_t)r->logprobs;
    size_t ntop = backend_top_ids(nb->p, 1, ngram_vocab_size(nb->m), top, nalt);   /* id 0: unknown */
    uint32_t id = sample(nb, r, br, ntop ? top[0] : 0);
    size_t len;
    const char *text = ngram_token_text(nb->m, id, &len);
    xgrow(&br->toks, &br->cap_toks, br->ntoks + 1, sizeof *br->toks);
    pend_token *pt = &br->toks[br->ntoks++];
    pt->id = id;
    pt->logprob = log(nb->p[id]);
    pt->entropy = distribution_entropy(nb->p, ngram_vocab_size(nb->m));
    pt->off = br->pend.len;
    pt->len = len;
    pt->alt = (uint32_t)br->nalts;
    pt->nalt = r->logprobs > 0 ? (uint32_t)ntop : 0;
    xgrow(&br->alts, &br->cap_alts, br->nalts + pt->nalt, sizeof *br->alts);
    for (uint32_t i = 0; i < pt->nalt; i++) {
        br->alts[br->nalts].id = top[i];
        br->alts[br->nalts++].lp = log(nb->p[top[i]]);
    }
    buf_add(&br->pend, text, len);
    /* Slide the context window. */
    size_t want = (size_t)ngram_order(nb->m) - 1;
    if (want) {
        if (br->nctx == want) {
            memmove(br->ctx, br->ctx + 1, (want - 1) * sizeof *br->ctx);
            br->nctx--;
        }
        br->ctx[br->nctx++] = id;
    }
    br->ntok++;
    size_t at = backend_stop_match(r->stop, r->nstop, br->pend.data, br->pend.len);
    if (at != (size_t)-1) {
        flush_pending(nb, r, bi, at, 1);
        end_branch(nb, r, bi, BACKEND_EV_DONE, "stop", NULL);
        return;
    }
    if (br->ntok >= r->max_tokens) {
        flush_pending(nb, r, bi, r->br[bi].pend.len, 0);
        end_branch(nb, r, bi, BACKEND_EV_DONE, "length", NULL);
        return;
    }
    flush_pending(nb, r, bi, backend_stop_holdback(r->stop, r->nstop, br->pend.data, br->pend.len), 0);
}

/* ---- backend operations ---- */

static int ng_start(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                    char *err, size_t errlen)
{
    ngram_backend *nb = (ngram_backend *)b;
    if (k < 1 || k > 4096) {
        snprintf(err, errlen, "branches: %d is out of range", k);
        return -1;
    }
    request *r = xcalloc(1, sizeof *r);
    r->id = ++nb->next_id;
    r->k = k;
    r->temperature = s->temperature;
    r->top_p = s->top_p < 1.0 ? s->top_p : 1.0;   /* 0: only the most probable token */
    r->max_tokens = s->max_tokens > 0 ? s->max_tokens : 1;
    r->logprobs = s->logprobs;
    for (int i = 0; i < s->nstop && i < SETTINGS_MAX_STOP; i++)
        if (s->stop[i] && *s->stop[i])
            r->stop[r->nstop++] = xstrdup(s->stop[i]);
    uint64_t seed = backend_request_seed(s, context, len);
    uint32_t ctx[NGRAM_MAX_ORDER - 1];
    size_t nctx = ngram_context(nb->m, context, len, ctx);
    r->br = xcalloc((size_t)k, sizeof *r->br);
    for (int i = 0; i < k; i++) {
        backend_rng_seed(&r->br[i].rng, seed, i);
        memcpy(r->br[i].ctx, ctx, sizeof ctx);
        r->br[i].nctx = nctx;
    }
    xgrow(&nb->reqs, &nb->cap, nb->nreqs + 1, sizeof *nb->reqs);
    nb->reqs[nb->nreqs++] = r;
    return r->id;
}

static void ng_cancel(backend *b, int request_id)
{
    ngram_backend *nb = (ngram_backend *)b;
    for (size_t i = 0; i < nb->nreqs; i++)
        if (request_id == 0 || nb->reqs[i]->id == request_id)
            nb->reqs[i]->cancelled = 1;
}

static void request_free(request *r)
{
    for (int i = 0; i < r->k; i++) {
        buf_free(&r->br[i].pend);
        free(r->br[i].toks);
        free(r->br[i].alts);
    }
    for (int i = 0; i < r->nstop; i++)
        free(r->stop[i]);
    free(r->p1pow);
    free(r->br);
    free(r);
}

/* Advances one request by a token per open branch; returns 1 when it did something. */
static int advance(ngram_backend *nb, request *r)
{
    if (r->end_sent)
        return 0;
    int did = 0;
    for (int i = 0; i < r->k; i++) {
        if (r->br[i].done)
            continue;
        did = 1;
        if (r->cancelled) {
            flush_pending(nb, r, i, r->br[i].pend.len, 0);
            end_branch(nb, r, i, BACKEND_EV_ERROR, "cancelled", "generation cancelled");
        } else
            step(nb, r, i);
    }
    if (r->ended == r->k && !r->end_sent) {
        r->end_sent = 1;
        backend_event ev = { .kind = BACKEND_EV_REQUEST_END, .request = r->id, .branch = -1 };
        backend_emit(&nb->base, &ev);
        did = 1;
    }
    return did;
}

static size_t live_requests(const ngram_backend *nb)
{
    size_t n = 0;
    for (size_t i = 0; i < nb->nreqs; i++)
        n += !nb->reqs[i]->end_sent;
    return n;
}

static int ng_pump(backend *b)
{
    ngram_backend *nb = (ngram_backend *)b;
    double t0 = mono_now();
    nb->depth++;
    for (;;) {
        int did = 0;
        size_t n = nb->nreqs;   /* requests started by callbacks wait for the next round */
        for (size_t j = 0; j < n && j < nb->nreqs; j++) {
            size_t i = (nb->rr + j) % nb->nreqs;
            did |= advance(nb, nb->reqs[i]);
            if ((mono_now() - t0) * 1e9 > PUMP_BUDGET_NS) {
                nb->rr = i + 1;
                did = 0;
                break;
            }
        }
        if (!did)
            break;
    }
    if (--nb->depth == 0) {
        size_t w = 0;
        for (size_t i = 0; i < nb->nreqs; i++) {
            if (nb->reqs[i]->end_sent)
                request_free(nb->reqs[i]);
            else
                nb->reqs[w++] = nb->reqs[i];
        }
        nb->nreqs = w;
        if (nb->rr >= w)
            nb->rr = 0;
    }
    return (int)live_requests(nb);
}

/* No descriptors: the model computes in pump, so while it has work, at once. */
static int ng_pollfds(backend *b, struct pollfd *out, int max, double *due)
{
    (void)out;
    (void)max;
    *due = live_requests((ngram_backend *)b) ? 0 : -1;
    return 0;
}

static void ng_free(backend *b)
{
    ngram_backend *nb = (ngram_backend *)b;
    for (size_t i = 0; i < nb->nreqs; i++)
        request_free(nb->reqs[i]);
    free(nb->reqs);
    free(nb->p);
    free(nb->q);
    free(nb->order);
    free(nb->tops);
    ngram_free(nb->m);
    free(nb);
}

static const backend_ops ngram_ops = { ng_start, ng_cancel, ng_pump, ng_pollfds, ng_free, NULL };

backend *ngram_backend_new(const char *corpus_path, char *err, size_t errlen)
{
    ngram_model *m = ngram_load(corpus_path, NGRAM_MAX_ORDER, err, errlen);
    if (!m)
        return NULL;
    ngram_backend *nb = xcalloc(1, sizeof *nb);
    nb->base.ops = &ngram_ops;
    nb->base.name = "builtin";
    nb->base.exact = 1;
    nb->m = m;
    size_t v = ngram_vocab_size(m);
    nb->p = xmalloc(v * sizeof *nb->p);
    nb->q = xmalloc(v * sizeof *nb->q);
    nb->order = xmalloc((v + 1) * sizeof *nb->order);
    return &nb->base;
}

const ngram_model *ngram_backend_model(const backend *b)
{
    return b && b->ops == &ngram_ops ? ((const ngram_backend *)b)->m : NULL;
}
