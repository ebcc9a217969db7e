/* core/backend.c — dispatch through the backend's operations. */
#include "core/backend.h"
#include "core/hash.h"
#include "core/mono.h"
#include "core/mem.h"
#include <stdlib.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int backend_start(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                  char *err, size_t errlen)
{
    return b->ops->start(b, context, len, s, k, err, errlen);
}

void backend_cancel(backend *b, int request) { b->ops->cancel(b, request); }

int backend_score(backend *b, const char *context, size_t clen, const char *text, size_t len,
                  const gen_settings *s, char *err, size_t errlen)
{
    if (!b->ops->score) {
        snprintf(err, errlen, "the %s backend cannot score given text for another backend", b->name ? b->name : "");
        return -1;
    }
    return b->ops->score(b, context, clen, text, len, s, err, errlen);
}
int  backend_pump(backend *b) { return b->ops->pump(b); }

int backend_wait_many(backend *const *bs, int n, const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    struct pollfd p[BACKEND_WAIT_FDS];
    if (nfds > BACKEND_WAIT_FDS / 4)
        nfds = BACKEND_WAIT_FDS / 4;
    int np = 0;
    for (int i = 0; i < nfds; i++)
        p[np++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    double t = mono_now();
    double due = timeout_ms < 0 ? -1 : t + timeout_ms / 1000.0;
    int caller_due = 1;                    /* the deadline is the caller's, not a backend's */
    for (int i = 0; i < n; i++) {
        backend *b = bs[i];
        int seen = !b;
        for (int j = 0; !seen && j < i; j++)
            seen = bs[j] == b;
        if (seen)
            continue;
        double d = -1;
        np += b->ops->pollfds(b, p + np, BACKEND_WAIT_FDS - np, &d);
        if (d >= 0 && (due < 0 || d <= due)) {
            due = d;
            caller_due = 0;
        }
    }
    if (fd_ready)
        *fd_ready = -1;
    int ms = -1;
    if (due >= 0) {
        double left = (due - t) * 1000.0;
        ms = left <= 0 ? 0 : left > 3600e3 ? 3600000 : (int)ceil(left);
    }
    int r = poll(p, (nfds_t)np, ms);
    if (r > 0) {
        for (int i = 0; i < nfds; i++)
            if (p[i].revents) {
                if (fd_ready)
                    *fd_ready = i;
                break;
            }
        return 1;
    }
    return !caller_due && r == 0;          /* a backend's deadline came */
}

int backend_wait(backend *b, const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    return backend_wait_many(&b, 1, fds, nfds, timeout_ms, fd_ready);
}

void backend_free(backend *b)
{
    if (b)
        b->ops->free(b);
}

void backend_emit(backend *b, const backend_event *ev)
{
    if (b->on_event)
        b->on_event(b->ud, ev);
}

int backend_poll_fds(const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    struct pollfd p[16];
    if (nfds > 16)
        nfds = 16;
    for (int i = 0; i < nfds; i++)
        p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    if (fd_ready)
        *fd_ready = -1;
    int r = poll(p, (nfds_t)nfds, timeout_ms);
    if (r <= 0)
        return 0;
    for (int i = 0; i < nfds; i++)
        if (p[i].revents) {
            if (fd_ready)
                *fd_ready = i;
            break;
        }
    return 1;
}

/* ---- random numbers: splitmix64 seeding, xoshiro256** ---- */

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t backend_rng_next(backend_rng *r)
{
    uint64_t *s = r->s, v = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return v;
}

double backend_rng_unit(backend_rng *r) { return (double)(backend_rng_next(r) >> 11) * 0x1.0p-53; }

void backend_rng_seed(backend_rng *r, uint64_t seed, int branch)
{
    uint64_t x = seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(branch + 1));
    for (int i = 0; i < 4; i++)
        r->s[i] = hash_splitmix64(&x);
}

uint64_t backend_request_seed(const gen_settings *s, const char *context, size_t len)
{
    if (s->has_seed) {
        /* The context is mixed in: shared streams make branches of different nodes fall
         * into step once their last tokens agree (false attractors). */
        uint64_t h = hash_fnv1a(context, len);
        return (uint64_t)s->seed ^ hash_splitmix64(&h);
    }
    static uint64_t entropy;      /* only ever read by the thread that starts requests */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    entropy ^= (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    return hash_splitmix64(&entropy);
}

/* ---- stop strings ---- */

size_t backend_stop_match(char *const *stop, int n, const char *text, size_t len)
{
    size_t best = (size_t)-1;
    for (int s = 0; s < n; s++) {
        size_t m = strlen(stop[s]);
        for (size_t i = 0; m && i + m <= len && i < best; i++)
            if (!memcmp(text + i, stop[s], m)) {
                best = i;
                break;
            }
    }
    return best;
}

size_t backend_stop_holdback(char *const *stop, int n, const char *text, size_t len)
{
    size_t longest = 0;
    for (int s = 0; s < n; s++)
        if (strlen(stop[s]) > longest)
            longest = strlen(stop[s]);
    for (size_t i = len > longest ? len - longest : 0; i < len; i++)
        for (int s = 0; s < n; s++) {
            size_t m = strlen(stop[s]), tail = len - i;
            if (tail < m && !memcmp(text + i, stop[s], tail))
                return i;
        }
    return len;
}

typedef struct { double s; uint32_t id; } scored_id;

static int by_score(const void *x, const void *y)
{
    const scored_id *a = x, *b = y;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

size_t backend_top_ids(const double *score, size_t from, size_t n, uint32_t *ids, size_t want)
{
    if (want > 64 && n > from) {           /* many (a whole distribution): sort them all */
        size_t m = n - from;
        scored_id *v = xmalloc(m * sizeof *v);
        for (size_t i = 0; i < m; i++)
            v[i] = (scored_id){ score[from + i], (uint32_t)(from + i) };
        qsort(v, m, sizeof *v, by_score);
        size_t k = want < m ? want : m;
        for (size_t i = 0; i < k; i++)
            ids[i] = v[i].id;
        free(v);
        return k;
    }
    size_t k = 0;
    for (size_t i = from; i < n; i++) {
        if (k == want && score[i] <= score[ids[k - 1]])
            continue;
        size_t j = k < want ? k++ : k - 1;
        while (j > 0 && score[ids[j - 1]] < score[i]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = (uint32_t)i;
    }
    return k;
}
