/* tests/unit/test_score_remote.c — a comparison over HTTP whose two sides share one backend
 * (one server, one libcurl multi handle), sampled and then scored through it: the run ends,
 * and the KL comes out as computed here from the test server's two known distributions
 * (tests/tools/testserver_dist.h: p = .4 .3 .2 .1, q = .7 .1 .1 .1 over " a" " b" " c" " d"). */
#include "tests/test.h"
#include "tests/spawn.h"
#include "core/compare.h"
#include "core/mem.h"
#include "core/score.h"
#include "core/session.h"
#include "net/net.h"
#include <stdlib.h>

static const double P[4] = { 0.4, 0.3, 0.2, 0.1 }, Q[4] = { 0.7, 0.1, 0.1, 0.1 };

static double kl(const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += a[i] * log(a[i] / b[i]);
    return s;
}

/* A sample's mean log-ratio, log a(w) - log b(w) over its words " a" .. " d". */
static double sample_ratio(const char *text, const double *a, const double *b)
{
    double s = 0;
    int n = 0;
    for (const char *c = text; *c; c++)
        if (*c >= 'a' && *c <= 'd') {
            s += log(a[*c - 'a'] / b[*c - 'a']);
            n++;
        }
    return n ? s / n : NAN;
}

TEST(score_remote_shared_backend)
{
    const char *tools = getenv("TERMLOOM_TOOLS");
    char path[512];
    snprintf(path, sizeof path, "%s/testserver", tools ? tools : "build/tools");
    int port;
    pid_t pid = spawn_testserver(path, "--lifetime 30 --idle 10", &port);
    REQUIRE(pid > 0);
    gen_settings s[2];
    char err[300];
    for (int i = 0; i < 2; i++) {
        settings_init(&s[i]);
        free(s[i].backend);
        s[i].backend = xstrdup("openai");
        s[i].base_url = xasprintf("http://127.0.0.1:%d/v1", port);
        s[i].model = xstrdup(i ? "m;dist=q" : "m;dist=p");
        s[i].max_tokens = 5;
        s[i].logprobs = 5;
        s[i].seed = 11;
        s[i].has_seed = 1;
    }
    backend *one = net_backend_new(&s[0], NULL, err, sizeof err);
    REQUIRE(one);
    backend *be[2] = { one, one };
    session ses;
    session_init(&ses);
    session_new_prompt(&ses, "Hello");
    int32_t root = tree_root(ses.t);
    const gen_settings *sp[2] = { &s[0], &s[1] };
    compare_run *run = compare_run_new(ses.t, root, be, sp, 12, NULL, NULL);
    REQUIRE(compare_run_start(run, err, sizeof err) == 0);
    int spins = 0;
    while (compare_run_pump(run) > 0 && spins++ < 400)
        compare_run_wait(run, NULL, 0, 50, NULL);
    CHECK_INT(compare_run_active(run), 0);
    compare_run_free(run);
    compare_result r;
    REQUIRE(compare_result_load(&r, ses.t, root, 0.9, err, sizeof err) == 0);
    CHECK_INT(r.side[0].n, 12);
    CHECK_INT(r.side[1].n, 12);
    CHECK_INT(score_compare_backends(ses.t, &r, be, sp), 2);
    for (int k = 0; k < 2; k++) {
        const double *own = k ? Q : P, *other = k ? P : Q;
        CHECK(r.kl[k].known);
        CHECK(r.kl[k].exact_known);
        CHECK_NEAR(r.kl[k].exact, kl(own, other), 1e-9);
        double mc = 0;
        for (size_t i = 0; i < r.side[k].n; i++)
            mc += sample_ratio(tree_get(ses.t, r.ids[k][i])->text, own, other);
        CHECK_NEAR(r.kl[k].value, mc / (double)r.side[k].n, 1e-9);
        CHECK_INT(r.kl[k].tokens, 12 * 5);
        CHECK(r.kl[k].low <= r.kl[k].value && r.kl[k].value <= r.kl[k].high);
    }
    CHECK(one->on_event == NULL);          /* the sink is given back */
    compare_result_free(&r);
    session_free(&ses);
    backend_free(one);
    for (int i = 0; i < 2; i++)
        settings_free(&s[i]);
    spawn_stop(pid);
}
