/* core/formats_loom_pre.c — the lazy token lists of a socketteer/loom document read and made
 * into node token storage on a helper thread while the scan and the conversion go on: see
 * fmt_loom_pre_start in formats_int.h.
 *
 * Each list has a state, changed by compare-and-swap only: FREE → MINE (the helper reads
 * it) → MADE, or LEFT when its strict parser leaves the list to jansson; FREE → TAKEN when
 * the conversion comes to it first (it reads it itself, as without a helper), MADE → TAKEN
 * when the conversion takes what the helper made.  The first job goes the same way; while
 * the caller waits for it, it makes lists from the start as the helper does from the end.  The helper touches a span's fields only
 * while the span is MINE; the conversion only when it is not.  A conversion that finds a
 * list MINE yields until it is made: a list is microseconds of work. */
#include "core/formats_int.h"
#include "core/mem.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { FREE, MINE, MADE, LEFT, TAKEN };

#define PRE_MIN 2                /* fewer lists than this: not worth a thread */

typedef struct {
    tree_node   made;            /* its token arrays only */
    int         form;
    long long   base;
    size_t      positive;
} pre_item;

struct fmt_loom_pre {
    const fmt_lspan *s;          /* the spans: fixed while the helper runs */
    size_t          n;
    atomic_uchar   *state;
    pre_item       *item;
    fmt_loom_job    first;       /* done before the lists; first_state as a list's state */
    void           *first_ud;
    atomic_uchar    first_state;
    atomic_int      stop;
    pthread_t       th;
    int             joined;
};

/* List i made into its item when it is FREE (one: the caller's scratch); 0 when it was not. */
static int make_one(struct fmt_loom_pre *P, size_t i, fmt_loom_spans *one)
{
    unsigned char want = FREE;
    if (!atomic_compare_exchange_strong(&P->state[i], &want, MINE))
        return 0;
    const fmt_lspan *span = &P->s[i];
    fmt_lspan read;
    int ok = span->lazy == 1 && !span->json && fmt_loom_span_parse(span, one, &read);
    if (ok) {
        pre_item *it = &P->item[i];
        it->positive = fmt_loom_tokens_into(&it->made, one, &read, &it->form, &it->base);
    }
    atomic_store(&P->state[i], ok ? MADE : LEFT);
    return 1;
}

static void *pre_main(void *ud)
{
    struct fmt_loom_pre *P = ud;
    fmt_loom_spans one = {0};
    unsigned char first = FREE;
    if (!atomic_load(&P->stop) && atomic_compare_exchange_strong(&P->first_state, &first, MINE)) {
        P->first(P->first_ud);
        atomic_store(&P->first_state, MADE);
    }
    for (size_t i = P->n; i-- > 0 && !atomic_load(&P->stop);)   /* from the end: the */
        make_one(P, i, &one);            /* conversion comes from the start, they meet once */
    fmt_loom_spans_free(&one);
    return NULL;
}

void fmt_loom_pre_start(fmt_loom_spans *sp, fmt_loom_job first, void *ud)
{
    sp->pre = NULL;
    if (sp->n < PRE_MIN)
        return;
    struct fmt_loom_pre *P = xcalloc(1, sizeof *P);
    P->s = sp->s;
    P->n = sp->n;
    P->state = xmalloc(sp->n * sizeof *P->state);
    for (size_t i = 0; i < sp->n; i++)
        atomic_init(&P->state[i], FREE);
    P->item = xcalloc(sp->n, sizeof *P->item);
    P->first = first;
    P->first_ud = ud;
    atomic_init(&P->first_state, first ? FREE : TAKEN);
    atomic_init(&P->stop, 0);
    if (pthread_create(&P->th, NULL, pre_main, P)) {
        free(P->item);
        free(P->state);
        free(P);
        return;
    }
    sp->pre = P;
}

void fmt_loom_pre_first(fmt_loom_spans *sp, fmt_loom_job first, void *ud)
{
    struct fmt_loom_pre *P = sp->pre;
    unsigned char st = FREE;
    if (!P || atomic_compare_exchange_strong(&P->first_state, &st, TAKEN)) {
        first(ud);
        return;
    }
    fmt_loom_spans one = {0};            /* waiting, it makes lists from the start */
    for (size_t i = 0; st == MINE; st = atomic_load(&P->first_state)) {
        while (i < P->n && !make_one(P, i, &one))
            i++;
        if (i == P->n)
            sched_yield();
    }
    fmt_loom_spans_free(&one);
}

int fmt_loom_pre_take(fmt_loom_spans *sp, size_t i, tree_node *made, int *form,
                      long long *base, size_t *positive)
{
    struct fmt_loom_pre *P = sp->pre;
    if (!P || i >= P->n)
        return 0;
    unsigned char st = FREE;
    if (atomic_compare_exchange_strong(&P->state[i], &st, TAKEN))
        return 0;
    while (st == MINE) {
        sched_yield();
        st = atomic_load(&P->state[i]);
    }
    if (st != MADE)              /* left to jansson, or taken by a node before: read it again */
        return 0;
    pre_item *it = &P->item[i];
    *made = it->made;
    memset(&it->made, 0, sizeof it->made);
    *form = it->form;
    *base = it->base;
    *positive = it->positive;
    atomic_store(&P->state[i], TAKEN);
    sp->s[i].lazy = 2;           /* read: it is JSON (as fmt_loom_span_read marks it) */
    return 1;
}

void fmt_loom_pre_finish(fmt_loom_spans *sp)
{
    struct fmt_loom_pre *P = sp->pre;
    if (P && !P->joined) {
        pthread_join(P->th, NULL);
        P->joined = 1;
    }
}

void fmt_loom_pre_stop(fmt_loom_spans *sp)
{
    struct fmt_loom_pre *P = sp->pre;
    if (!P)
        return;
    atomic_store(&P->stop, 1);
    fmt_loom_pre_finish(sp);
    for (size_t i = 0; i < P->n; i++)
        tree_node_release(&P->item[i].made);
    free(P->item);
    free(P->state);
    free(P);
    sp->pre = NULL;
}
