/* cli/gen.c — `termloom gen`: grow a tree headless and save it as a session.
 *
 * Two ways to grow:
 *   breadth (default): every frontier node gets K children, level by level, down to
 *     --depth D (the root is depth 0), several requests in flight at once;
 *   --strategy entropy --budget N: repeatedly expand the frontier node (a leaf) whose
 *     mean token entropy is highest, until the tree holds N nodes ("autoloom").
 * The backend is whatever the options name; events reach the tree through core/grow.
 * A failed branch keeps what it had: the tree is still saved, the last error is printed
 * and the exit status is 1.  Interrupted (SIGINT/SIGTERM), gen cancels what is in flight
 * and saves the tree grown so far, then exits with 1.
 * stderr: on a terminal a progress line redrawn in place; always one summary line at the
 * end (nodes, tokens, time, failures), then the error line if there is one. */
#include "cli/backends.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/mono.h"
#include "core/entropy.h"
#include "core/grow.h"
#include "core/mem.h"
#include "core/merge.h"
#include "core/session.h"
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    tree      *t;
    grow      *g;
    backend   *b;
    int        depth;          /* breadth: deepest level to create */
    int32_t   *queue;          /* breadth: nodes waiting to be expanded */
    size_t     qhead, qlen, qcap;
    int        progress;       /* draw the progress line (stderr is a terminal) */
    size_t     target;         /* nodes expected when done */
    size_t     done;           /* branches of finished requests */
    int        drawn;          /* columns of the progress line on screen */
    double     t0, last_draw;
    /* Failed branches by message: how many, and under which nodes (the first few). */
    struct { char *msg; int count; int32_t under[4]; int nunder; } fails[4];
    int        nfails, fails_other;
    int        expand_groups;  /* breadth: one child per group of near-duplicates goes on */
    double     threshold;      /*   the merge similarity that makes them one group */
    int        k;              /* children per expansion */
    size_t     not_expanded;   /* children left as leaves: near-duplicates of a sibling */
} gen_run;

/* Nodes a breadth expansion of a node at depth d would still add below it (k + k^2 + ...
 * down to the run's depth): what the progress total drops when it is not expanded. */
static size_t below(const gen_run *r, size_t d)
{
    size_t sum = 0, level = 1;
    for (size_t i = d; i < (size_t)r->depth && sum < (size_t)1 << 40; i++)
        sum += level *= (size_t)r->k;
    return sum;
}

/* A branch failed (not cancelled): counted with its message and the node it grew under. */
static void note_failure(gen_run *r, const backend_event *ev)
{
    const char *m = ev->message && *ev->message ? ev->message : ev->finish ? ev->finish : "error";
    int32_t under = TREE_NONE;
    const grow_request *q;
    for (int i = 0; (q = grow_request_at(r->g, i)); i++)
        if (q->request == ev->request)
            under = q->parent;
    int f = 0;
    while (f < r->nfails && strcmp(r->fails[f].msg, m))
        f++;
    if (f == r->nfails) {
        if (r->nfails == (int)(sizeof r->fails / sizeof *r->fails)) {
            r->fails_other++;
            return;
        }
        r->fails[r->nfails].msg = xstrdup(m);
        r->fails[r->nfails].count = 0;
        r->fails[r->nfails++].nunder = 0;
    }
    r->fails[f].count++;
    int seen = 0;
    for (int i = 0; i < r->fails[f].nunder; i++)
        seen |= r->fails[f].under[i] == under;
    if (!seen && r->fails[f].nunder < 4 && under != TREE_NONE)
        r->fails[f].under[r->fails[f].nunder++] = under;
}

/* "3 under #0, #4: 500: server error; 1 under #2: the connection was lost …" */
static char *failures_text(const gen_run *r)
{
    buf b = {0};
    for (int f = 0; f < r->nfails; f++) {
        buf_printf(&b, "%s%d under", f ? "; " : "", r->fails[f].count);
        for (int i = 0; i < r->fails[f].nunder; i++)
            buf_printf(&b, "%s #%d", i ? "," : "", (int)r->fails[f].under[i]);
        if (r->fails[f].count > r->fails[f].nunder && r->fails[f].nunder == 4)
            buf_adds(&b, " …");
        buf_printf(&b, ": %s", r->fails[f].msg);
    }
    if (r->fails_other)
        buf_printf(&b, "; %d more with other errors", r->fails_other);
    return buf_steal(&b);
}

static volatile sig_atomic_t gen_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    gen_interrupted = 1;
}

static void queue_push(gen_run *r, int32_t id)
{
    xgrow(&r->queue, &r->qcap, r->qlen + 1, sizeof *r->queue);
    r->queue[r->qlen++] = id;
}

/* After every event: when a breadth request ends, its new children join the queue. */
static void after_event(void *ud, const backend_event *ev)
{
    gen_run *r = ud;
    if (ev->kind == BACKEND_EV_ERROR && ev->branch >= 0 && !(ev->finish && !strcmp(ev->finish, "cancelled")))
        note_failure(r, ev);
    if (ev->kind != BACKEND_EV_REQUEST_END)
        return;
    for (int i = 0; i < grow_active(r->g); i++) {
        const grow_request *q = grow_request_at(r->g, i);
        if (q->request != ev->request)
            continue;
        r->done += (size_t)q->k;
        for (int j = 0; j < q->k && r->depth > 0; j++) {
            tree_node *n = tree_get(r->t, q->nodes[j]);
            if (!n || (n->flags & TREE_FLAG_INCOMPLETE) || tree_depth(r->t, q->nodes[j]) >= (size_t)r->depth)
                continue;
            /* --expand groups: a near-duplicate of an earlier sibling of this request that
             * goes on stays a leaf (the same outcome, expanded once). */
            int dup = 0;
            for (int e = 0; r->expand_groups && e < j && !dup; e++) {
                tree_node *m = tree_get(r->t, q->nodes[e]);
                dup = m && !(m->flags & TREE_FLAG_INCOMPLETE) &&
                      merge_similarity(m->text, m->text_len, n->text, n->text_len) >= r->threshold;
            }
            if (dup) {
                r->not_expanded++;
                size_t drop = below(r, tree_depth(r->t, q->nodes[j]));
                r->target = r->target > drop ? r->target - drop : 0;
                continue;
            }
            queue_push(r, q->nodes[j]);
        }
    }
}

/* "1m05s": a duration for the progress line and the summary. */
static void fmt_secs(char *out, size_t n, double secs)
{
    if (!(secs >= 0) || secs > 359999)
        snprintf(out, n, "?");
    else if (secs < 10)
        snprintf(out, n, "%.1fs", secs);
    else if (secs < 60)
        snprintf(out, n, "%.0fs", secs);
    else if (secs < 3600)
        snprintf(out, n, "%dm%02ds", (int)secs / 60, (int)secs % 60);
    else
        snprintf(out, n, "%dh%02dm", (int)secs / 3600, (int)secs / 60 % 60);
}

/* Branches finished so far: those of ended requests and the ended ones in flight. */
static size_t branches_done(const gen_run *r)
{
    size_t d = r->done;
    for (int i = 0; i < grow_active(r->g); i++)
        d += (size_t)grow_request_at(r->g, i)->ended;
    return d;
}

/* The progress line on a terminal, redrawn in place (\r) at most ten times a second:
 * "gen  12/84 branches  230 tok/s  ETA 14s".  final: wipe it for the summary. */
static void draw_progress(gen_run *r, int final)
{
    if (!r->progress)
        return;
    double t = mono_now();
    if (final) {
        if (r->drawn)
            fprintf(stderr, "\r%*s\r", r->drawn, "");
        r->drawn = 0;
        fflush(stderr);
        return;
    }
    if (r->drawn && t - r->last_draw < 0.1)
        return;
    r->last_draw = t;
    size_t total = r->target > 1 ? r->target - 1 : 1, done = branches_done(r);
    if (done > total)
        done = total;
    double secs = t - r->t0;
    char eta[32] = "?";
    if (done)
        fmt_secs(eta, sizeof eta, secs * (double)(total - done) / (double)done);
    char line[160];
    int n = snprintf(line, sizeof line, "gen  %zu/%zu branches  %.0f tok/s  ETA %s", done, total,
                     secs > 0 ? grow_tokens_total(r->g) / secs : 0.0, eta);
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    /* Spaces over what a longer line before left. */
    fprintf(stderr, "\r%s%*s", line, r->drawn > n ? r->drawn - n : 0, "");
    r->drawn = n > r->drawn ? n : r->drawn;
    fflush(stderr);
}

/* Pumps until no request is in flight. */
static void drain(gen_run *r)
{
    while (grow_active(r->g)) {
        if (gen_interrupted) {
            grow_cancel_all(r->g);
            return;
        }
        backend_wait(r->b, NULL, 0, 100, NULL);
        backend_pump(r->b);
        draw_progress(r, 0);
    }
}

static int grow_breadth(gen_run *r, const gen_settings *s, char *err, size_t errlen)
{
    int inflight = s->concurrency / (s->branches > 0 ? s->branches : 1);
    if (inflight < 1)
        inflight = 1;
    queue_push(r, tree_root(r->t));
    while (r->qhead < r->qlen || grow_active(r->g)) {
        if (gen_interrupted) {
            grow_cancel_all(r->g);
            return 0;
        }
        while (r->qhead < r->qlen && grow_active(r->g) < inflight)
            if (grow_start(r->g, r->queue[r->qhead++], s, s->branches, err, errlen) < 0) {
                drain(r);
                return -1;
            }
        backend_wait(r->b, NULL, 0, 100, NULL);
        backend_pump(r->b);
        draw_progress(r, 0);
    }
    return 0;
}

/* The leaf to expand next: highest mean token entropy; the root first; ties → lowest id. */
static int32_t best_leaf(const gen_run *r, const unsigned char *tried)
{
    int32_t best = TREE_NONE;
    double best_h = -INFINITY;
    tree_iter it;
    tree_iter_init(&it, r->t, tree_root(r->t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;) {
        const tree_node *n = tree_get(r->t, id);
        if (n->nchildren || tried[id] || (n->flags & TREE_FLAG_INCOMPLETE))
            continue;
        entropy_node_t e;
        entropy_node(n, &e);
        double h = n->parent == TREE_NONE ? INFINITY : isnan(e.mean) ? -1.0 : e.mean;
        if (h > best_h || (h == best_h && id < best)) {
            best_h = h;
            best = id;
        }
    }
    tree_iter_done(&it);
    return best;
}

static void tried_fit(unsigned char **tried, size_t *n, size_t need)
{
    if (need <= *n)
        return;
    *tried = xrealloc(*tried, need);
    memset(*tried + *n, 0, need - *n);
    *n = need;
}

/* Nodes the requests in flight may still add (k each, less what already arrived). */
static size_t in_flight(const gen_run *r)
{
    size_t n = 0;
    const grow_request *q;
    for (int i = 0; (q = grow_request_at(r->g, i)); i++)
        for (int b = 0; b < q->k; b++)
            n += q->nodes[b] == TREE_NONE || !tree_get(r->t, q->nodes[b]);
    return n;
}

/* The most uncertain leaves are expanded concurrently, up to --concurrency / k requests in
 * flight, always the best leaf not yet expanded next.  An expansion always has its k
 * children: one is started only while the budget has room for all of them, so the tree
 * ends with at most --budget nodes (fewer by less than k when k does not divide it). */
static int grow_entropy(gen_run *r, const gen_settings *s, int budget, char *err, size_t errlen)
{
    unsigned char *tried = NULL;   /* leaves already expanded (some may have got no child) */
    size_t ntried = 0;
    int rc = 0, k = s->branches > 0 ? s->branches : 1;
    int inflight = s->concurrency / k;
    if (inflight < 1)
        inflight = 1;
    for (;;) {
        if (gen_interrupted) {
            grow_cancel_all(r->g);
            break;
        }
        int started = 0;
        while (grow_active(r->g) < inflight &&
               tree_count(r->t) + in_flight(r) + (size_t)k <= (size_t)budget) {
            tried_fit(&tried, &ntried, (size_t)tree_capacity(r->t));
            int32_t leaf = best_leaf(r, tried);
            if (leaf == TREE_NONE)
                break;
            tried[leaf] = 1;
            if (grow_start(r->g, leaf, s, k, err, errlen) < 0) {
                rc = -1;
                break;
            }
            started++;
        }
        if (rc < 0 || (!started && !grow_active(r->g)))
            break;
        /* until a request ends (its children are new leaves) */
        int active = grow_active(r->g);
        while (grow_active(r->g) == active && active && !gen_interrupted) {
            backend_wait(r->b, NULL, 0, 100, NULL);
            backend_pump(r->b);
            draw_progress(r, 0);
        }
    }
    drain(r);
    free(tried);
    return rc;
}

static void gen_usage(void)
{
    printf("Usage: termloom gen [OPTIONS] -o OUT.json\n"
           "Grows a tree from a prompt without the interface and saves it as a session.\n\n"
           "  -o, --output FILE          the session file to write (required)\n"
           "  --prompt TEXT | --prompt-file F   the root text (required)\n"
           "  -n, --branches K           children per expansion\n"
           "  --depth D                  breadth: every node gets K children down to depth D\n"
           "                             (default 1)\n"
           "  --strategy breadth|entropy entropy: expand the leaves with the highest mean token\n"
           "                             entropy first (--concurrency/k at once), while --budget\n"
           "                             N has room for all k children of the next expansion\n"
           "  --budget N                 node count for --strategy entropy (default 32)\n"
           "  --expand all|groups        breadth: expand every child (all), or one child per group\n"
           "                             of near-duplicate siblings (groups: the budget goes to\n"
           "                             distinct outcomes; the others stay leaves)\n\n"
           "On a terminal a progress line (branches done/total, tokens/s, ETA) is redrawn on\n"
           "stderr; at the end one summary line (nodes, tokens, time, failures) goes to stderr,\n"
           "terminal or not, before any error.  Ctrl-C stops and saves the tree grown so far.\n"
           "Exit status 1 when a branch failed or gen was interrupted (the tree is still\n"
           "written), 2 for a usage error.\n\n");
    cli_print_options();
}

static int parse_count(const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi)
        return cli_fail(CLI_USAGE, "%s: '%s' is not a whole number from %ld to %ld", flag, v, lo, hi), -1;
    *out = x;
    return 0;
}

enum { G_OUTPUT = 1, G_DEPTH, G_BUDGET, G_EXPAND, G_STRATEGY };

static const cli_option gen_options[] = {
    { "output", 'o', CLI_ARG, G_OUTPUT, "a file name" },
    { "depth", 0, CLI_ARG, G_DEPTH, "a value" },
    { "budget", 0, CLI_ARG, G_BUDGET, "a value" },
    { "expand", 0, CLI_ARG, G_EXPAND, "a value" },
    { "strategy", 0, CLI_ARG, G_STRATEGY, "a value" },
    { NULL, 0, 0, 0, NULL }
};

int cli_gen(int argc, char **argv)
{
    cli_opts o;
    cli_args p;
    if (cli_args_begin(&p, argc, argv, "gen", gen_options, &o) != CLI_OK) {
        cli_args_end(&p);
        cli_opts_free(&o);
        return CLI_USAGE;
    }
    const char *out = NULL, *strategy = "breadth", *expand = "all", *v;
    long depth = -1, budget = -1;
    int rc = CLI_OK;
    cli_args_usual(&p, gen_usage, NULL, NULL);
    for (int id; rc == CLI_OK && (id = cli_args_next(&p, &v)) != CLI_ARGS_END;) {
        switch (id) {
        case CLI_ARGS_ERROR:
            rc = p.status;
            break;
        case G_OUTPUT:
            out = v;
            break;
        case G_DEPTH:
            if (parse_count("--depth", v, 1, 64, &depth) < 0)
                rc = CLI_USAGE;
            break;
        case G_BUDGET:
            if (parse_count("--budget", v, 1, 10000000, &budget) < 0)
                rc = CLI_USAGE;
            break;
        case G_EXPAND:
            if (strcmp(v, "all") && strcmp(v, "groups"))
                rc = cli_fail(CLI_USAGE, "--expand: '%s' is not all or groups", v);
            expand = v;
            break;
        case G_STRATEGY:
            if (strcmp(v, "breadth") && strcmp(v, "entropy"))
                rc = cli_fail(CLI_USAGE, "--strategy: '%s' is not breadth or entropy", v);
            strategy = v;
            break;
        }
    }
    cli_args_end(&p);
    if (p.helped) {
        cli_opts_free(&o);
        return CLI_OK;
    }
    int entropy = !strcmp(strategy, "entropy");
    if (rc == CLI_OK && entropy && !strcmp(expand, "groups"))
        rc = cli_fail(CLI_USAGE, "gen: --expand groups is for --strategy breadth");
    if (rc == CLI_OK && !out)
        rc = cli_fail(CLI_USAGE, "gen: an output file is required (-o OUT.json)");
    else if (rc == CLI_OK && !o.prompt)
        rc = cli_fail(CLI_USAGE, "gen: a prompt is required (--prompt TEXT or --prompt-file F)");
    else if (rc == CLI_OK && entropy && depth > 0)
        rc = cli_fail(CLI_USAGE, "gen: --depth is for the breadth strategy; use --budget with --strategy entropy");
    else if (rc == CLI_OK && !entropy && budget > 0)
        rc = cli_fail(CLI_USAGE, "gen: --budget needs --strategy entropy");
    if (rc != CLI_OK) {
        cli_opts_free(&o);
        return rc;
    }
    if (depth < 0)
        depth = 1;
    if (budget < 0)
        budget = 32;

    char err[1024];
    backend *b = cli_backend_new(&o.s, o.api_key, err, sizeof err);
    if (!b) {
        cli_opts_free(&o);
        return cli_fail(CLI_ERR, "%s", err);
    }
    session sess;
    session_init(&sess);
    session_new_prompt(&sess, o.prompt);
    settings_free(&sess.settings);
    settings_copy(&sess.settings, &o.s);

    gen_run r = { .t = sess.t, .b = b, .depth = entropy ? 0 : (int)depth,
                  .progress = isatty(2), .t0 = mono_now(), .k = o.s.branches,
                  .expand_groups = !strcmp(expand, "groups"), .threshold = o.s.merge_threshold };
    if (entropy)
        r.target = (size_t)budget;
    else {
        size_t level = 1;
        r.target = 1;
        for (long d = 0; d < depth && r.target < (size_t)1 << 40; d++)
            r.target += level *= (size_t)o.s.branches;
    }
    r.g = grow_new(sess.t, b, after_event, &r);
    err[0] = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    gen_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    draw_progress(&r, 0);
    int grown = entropy ? grow_entropy(&r, &o.s, (int)budget, err, sizeof err)
                        : grow_breadth(&r, &o.s, err, sizeof err);
    draw_progress(&r, 1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    const char *last = grow_last_error(r.g);
    int failed = grow_failed_branches(r.g);
    char *last_copy = last ? xstrdup(last) : NULL;
    grow_free(r.g);
    free(r.queue);

    sess.cursor = tree_root(sess.t);
    char serr[1024];
    int saved = cli_save_analysed(&sess, out, serr, sizeof serr);
    /* The summary, terminal or not; an error, if any, follows on its own line. */
    char took[32];
    double secs = mono_now() - r.t0;
    size_t tokens = 0;
    tree_iter it;
    tree_iter_init(&it, sess.t, tree_root(sess.t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;)
        tokens += tree_get(sess.t, id)->ntokens;
    tree_iter_done(&it);
    fmt_secs(took, sizeof took, secs);
    char groups[96] = "";
    if (r.expand_groups)
        snprintf(groups, sizeof groups, ", %zu near-duplicate%s not expanded", r.not_expanded,
                 r.not_expanded == 1 ? "" : "s");
    fprintf(stderr, "termloom gen: %zu nodes, %zu tokens in %s (%.0f tok/s), %d branch%s failed%s%s%s\n",
            tree_count(sess.t), tokens, took, secs > 0 ? tokens / secs : 0.0, failed, failed == 1 ? "" : "es",
            groups, saved < 0 ? "" : ", saved to ", saved < 0 ? "" : out);
    if (saved < 0)
        rc = cli_fail(CLI_ERR, "%s", serr);
    else if (grown < 0)
        rc = cli_fail(CLI_ERR, "%s", err);
    else if (gen_interrupted)
        rc = cli_fail(CLI_ERR, "interrupted: the %zu nodes grown so far are saved in %s",
                      tree_count(sess.t), out);
    else if (failed) {                    /* which failed and why, in one line */
        char *why = failures_text(&r);
        rc = cli_fail(CLI_ERR, "%d branch%s failed: %s", failed, failed == 1 ? "" : "es",
                      *why ? why : last_copy ? last_copy : "unknown error");
        free(why);
    }
    for (int f = 0; f < r.nfails; f++)
        free(r.fails[f].msg);
    free(last_copy);
    session_free(&sess);
    backend_free(b);
    cli_opts_free(&o);
    return rc;
}
