/* cli/compare.c — `termloom compare`: one prompt, two configs (SPECs), N samples each;
 * prints the figures side by side (or as JSON) and can save the samples as a session. */
#include "cli/backends.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/calib.h"
#include "core/compare.h"
#include "core/llama_backend.h"
#include "core/score.h"
#include "core/mem.h"
#include "core/ngram.h"
#include "core/session.h"
#include "core/text.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

static const char usage_line[] =
    "usage: termloom compare --a SPEC --b SPEC --prompt TEXT [-n N] [--json] [-o SESSION.json]";

static void print_help(void)
{
    printf("%s\n\n"
           "Samples the prompt N times (default %d) under two generation configs and compares\n"
           "them: near-duplicate groups, entropy over groups (bits, and normalized by log2 N),\n"
           "mean token entropy (exact for the builtin model, at temperature 1; else a lower\n"
           "bound from the top-k alternatives), distinct-1/2/3 over word n-grams, the top\n"
           "groups, and the outcomes and phrases both sides share.\n"
           "Intervals: 95%% percentile bootstrap over samples (1000 resamples, fixed seed) for\n"
           "groups, entropy, token entropy and distinct-n per side, and A - B with the interval\n"
           "of the difference (\"differs\": it excludes 0).  Calibration: do a side's first\n"
           "tokens follow the probabilities reported for them (chi-square or exact test,\n"
           "flagged at p < 0.01)?\n\n"
           "A SPEC is key=value,... over the generation options, e.g. the shipped base model\n"
           "against its tuned copy, offline:  --a model=base --b model=tuned\n"
           "or a server:  --a 'backend=openai,base_url=http://127.0.0.1:8080/v1,model=base,temperature=1'\n"
           "Options given outside the SPECs (--max-tokens, --seed, --temperature, ...) apply to\n"
           "both sides; a SPEC overrides them.  name=TEXT in a SPEC names the side (default:\n"
           "the model, else host:port of base_url, else the backend).\n"
           "Over-represented: per side, the words and 2-3 word phrases most over-represented\n"
           "against the other side (log-odds ratio with an informative Dirichlet prior from\n"
           "both sides' pooled counts, Monroe et al. 2008), z > 1.96, with counts on both sides.\n"
           "Repeated samples: groups of at least 2 near-duplicate samples (of the one prompt)\n"
           "with no counterpart on the other side; not the tree's attractors, which need\n"
           "several different parents.\n"
           "  -n, --samples N   samples per side (1..%d)\n"
           "  --json            print the figures as JSON\n"
           "  -o FILE           save the samples as a session: two subtrees under the prompt,\n"
           "                    labelled A and B with their configs\n\n",
           usage_line, COMPARE_DEFAULT_SAMPLES, COMPARE_MAX_SAMPLES);
    cli_print_options();
}

/* ---- text output ---- */

/* Appends s to b as one display line of at most `cols` columns: control characters shown
 * as visible escapes, invalid UTF-8 as U+FFFD, "…" when cut.  Returns the columns used. */
static int add_clipped(buf *b, const char *s, int cols)
{
    int used = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        char tmp[8];
        const char *show;
        size_t showlen;
        int w;
        if (n < 1) {
            show = "\xEF\xBF\xBD";
            showlen = 3;
            w = 1;
            n = 1;
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            show = cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : "\\t";
            showlen = 2;
            w = 2;
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)cp & 0xff);
            show = tmp;
            showlen = 4;
            w = 4;
        } else {
            show = s + i;
            showlen = (size_t)n;
            w = utf8proc_charwidth(cp);
            if (w < 0)
                w = 1;
        }
        if (used + w > cols - 1 && i + (size_t)n < len) {
            buf_adds(b, "\xE2\x80\xA6");
            return used + 1;
        }
        if (used + w > cols) {
            buf_adds(b, "\xE2\x80\xA6");
            return used + 1;
        }
        buf_add(b, show, showlen);
        used += w;
        i += (size_t)n;
    }
    return used;
}

static void pad(buf *b, int n)
{
    while (n-- > 0)
        buf_addc(b, ' ');
}

#define COLW 38

/* One row: label, then A and B cells each padded to COLW columns. */
static void row(const char *label, const char *a, const char *b)
{
    buf line = {0};
    buf_printf(&line, "%-14s", label);
    pad(&line, COLW - add_clipped(&line, a, COLW));
    buf_adds(&line, "  ");
    add_clipped(&line, b, COLW);
    printf("%s\n", line.data);
    buf_free(&line);
}

/* A row whose cells are shown whole: each cell word-wrapped to COLW columns (control
 * characters as placeholders), the label on the first line only. */
static void row_wrapped(const char *label, const char *a, const char *b)
{
    char *safe[2];
    size_t len[2], nl[2];
    text_line *lines[2];
    for (int k = 0; k < 2; k++) {
        safe[k] = text_sanitize(k ? b : a, strlen(k ? b : a), TEXT_NL_VISIBLE, &len[k]);
        nl[k] = text_wrap(safe[k], len[k], COLW, 8, TEXT_NL_VISIBLE, NULL, 0);
        lines[k] = xmalloc((nl[k] ? nl[k] : 1) * sizeof *lines[k]);
        text_wrap(safe[k], len[k], COLW, 8, TEXT_NL_VISIBLE, lines[k], nl[k]);
    }
    size_t rows = nl[0] > nl[1] ? nl[0] : nl[1];
    for (size_t i = 0; i < rows || i == 0; i++) {
        buf line = {0};
        buf_printf(&line, "%-14s", i ? "" : label);
        for (int k = 0; k < 2; k++) {
            size_t from = i < nl[k] ? lines[k][i].start : 0, to = i < nl[k] ? lines[k][i].end : 0;
            buf_add(&line, safe[k] + from, to - from);
            if (!k)
                pad(&line, COLW + 2 - (int)text_width(safe[k] + from, to - from, TEXT_NL_VISIBLE));
        }
        while (line.len && line.data[line.len - 1] == ' ')
            line.data[--line.len] = 0;
        printf("%s\n", line.data ? line.data : "");
        buf_free(&line);
    }
    for (int k = 0; k < 2; k++) {
        free(safe[k]);
        free(lines[k]);
    }
}

static char *config_text(json_t *cfg, json_t *other)
{
    static const char *const first[] = { "backend", "model" };
    buf b = {0};
    const char *key;
    json_t *v;
    for (size_t i = 0; i < sizeof first / sizeof *first; i++) {
        if (!(v = json_object_get(cfg, first[i])))
            continue;
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        buf_printf(&b, "%s%s=%s", b.len ? " " : "", first[i], json_is_string(v) ? json_string_value(v) : s);
        free(s);
    }
    json_object_foreach(cfg, key, v) {   /* then whatever differs from the other side */
        if (!strcmp(key, "branches"))
            continue;                     /* not used: the sample count is -n */
        int shown = 0;
        for (size_t i = 0; i < sizeof first / sizeof *first; i++)
            shown |= !strcmp(key, first[i]);
        if (shown || json_equal(v, json_object_get(other, key)))
            continue;
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        buf_printf(&b, "%s%s=%s", b.len ? " " : "", key, json_is_string(v) ? json_string_value(v) : s);
        free(s);
    }
    return buf_steal(&b);
}

static const char *sample_text(const tree *t, const compare_result *r, int side, size_t g)
{
    return tree_get(t, r->ids[side][r->side[side].groups[g].rep])->text;
}

/* "A: KL to the other side: ..." (issue 16): when the side was scored, else why not (when
 * scoring was tried). */
static void print_kl(const compare_result *r)
{
    for (int s = 0; s < 2; s++) {
        const compare_kl *k = &r->kl[s];
        if (!k->known) {
            if (k->note[0])
                printf("%c: no KL to the other side: %s\n", s ? 'B' : 'A', k->note);
            continue;
        }
        printf("%c: KL to the other side: %.2f nats/token (95%% %.2f–%.2f, Monte Carlo over %zu samples)",
               s ? 'B' : 'A', k->value, k->low, k->high, k->samples);
        if (k->exact_known)
            printf(", exact per-position %.2f\n", k->exact);
        else
            printf("; exact per-position KL not known (it needs both whole next-token distributions at the same tokens)\n");
        if (k->note[0])
            printf("   %s\n", k->note);
    }
}

/* "over-represented in B (rl): love (z 8.1, 37 vs 2), ..." wrapped at 78 columns. */
static void print_overrepresented(const compare_result *r)
{
    for (int s = 0; s < 2; s++) {
        buf l = {0};
        buf_printf(&l, "over-represented in %c (", s ? 'B' : 'A');
        add_clipped(&l, r->name[s], 1 << 20);
        buf_printf(&l, ")%s", r->nover[s] ? ":" : ": none with z > 1.96");
        for (size_t i = 0; i < r->nover[s]; i++)
            buf_printf(&l, " %s (z %.1f, %zu vs %zu)%s", r->over[s][i].text, r->over[s][i].z,
                       r->over[s][i].count, r->over[s][i].count_other, i + 1 < r->nover[s] ? "," : "");
        size_t len;
        char *safe = text_sanitize(l.data, l.len, TEXT_NL_VISIBLE, &len);
        size_t nl = text_wrap(safe, len, 78, 8, TEXT_NL_VISIBLE, NULL, 0);
        text_line *lines = xmalloc((nl ? nl : 1) * sizeof *lines);
        text_wrap(safe, len, 78, 8, TEXT_NL_VISIBLE, lines, nl);
        for (size_t i = 0; i < nl; i++)
            printf("%s%.*s\n", i ? "    " : "", (int)(lines[i].end - lines[i].start), safe + lines[i].start);
        free(lines);
        free(safe);
        buf_free(&l);
    }
}

/* " [lo–hi]": a figure's 95% bootstrap interval (empty when not computed). */
static const char *ci_text(const compare_intervals *ci, compare_ci c, const char *fmt)
{
    static char out[2][64];
    static int which;
    char *o = out[which ^= 1];
    o[0] = 0;
    if (ci->known && !isnan(c.low)) {
        char lo[24], hi[24];
        snprintf(lo, sizeof lo, fmt, c.low);
        snprintf(hi, sizeof hi, fmt, c.high);
        snprintf(o, sizeof out[0], " [%s\xe2\x80\x93%s]", lo, hi);
    }
    return o;
}

/* Each side's 95% intervals, one row per figure (own rows: the figures' rows keep their
 * columns for scripts). */
static void print_intervals(const compare_result *r)
{
    if (!r->ci[0].known)
        return;
    char a[128], b[128];
    struct { const char *name; compare_ci c[2]; const char *fmt; } f[] = {
        { "95% groups", { r->ci[0].groups, r->ci[1].groups }, "%.0f" },
        { "95% entropy", { r->ci[0].entropy, r->ci[1].entropy }, "%.3f" },
        { "95% tok.ent.", { r->ci[0].token_entropy, r->ci[1].token_entropy }, "%.3f" },
        { "95% dist-1", { r->ci[0].distinct[0], r->ci[1].distinct[0] }, "%.3f" },
        { "95% dist-2", { r->ci[0].distinct[1], r->ci[1].distinct[1] }, "%.3f" },
        { "95% dist-3", { r->ci[0].distinct[2], r->ci[1].distinct[2] }, "%.3f" },
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        snprintf(a, sizeof a, "%s", ci_text(&r->ci[0], f[i].c[0], f[i].fmt));
        snprintf(b, sizeof b, "%s", ci_text(&r->ci[1], f[i].c[1], f[i].fmt));
        row(f[i].name, a[0] ? a + 1 : "n/a", b[0] ? b + 1 : "n/a");
    }
}

/* A − B for each figure with the 95% bootstrap interval of the difference. */
static void print_differences(const compare_result *r)
{
    if (!r->diff.known)
        return;
    printf("\nA - B (95%% bootstrap interval of the difference; \"differs\": it excludes 0):\n");
    struct { const char *name; compare_ci c; const char *fmt; } f[] = {
        { "groups", r->diff.groups, "%+.1f" }, { "entropy", r->diff.entropy, "%+.3f" },
        { "token entropy", r->diff.token_entropy, "%+.3f" }, { "distinct-1", r->diff.distinct[0], "%+.3f" },
        { "distinct-2", r->diff.distinct[1], "%+.3f" }, { "distinct-3", r->diff.distinct[2], "%+.3f" },
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        if (isnan(f[i].c.value) || isnan(f[i].c.low))
            continue;
        char v[24], lo[24], hi[24];
        snprintf(v, sizeof v, f[i].fmt, f[i].c.value);
        snprintf(lo, sizeof lo, f[i].fmt, f[i].c.low);
        snprintf(hi, sizeof hi, f[i].fmt, f[i].c.high);
        printf("  %-14s%s [%s\xe2\x80\x93%s] %s\n", f[i].name, v, lo, hi,
               f[i].c.outside ? "differs" : "within the noise");
    }
}

static void print_text(const tree *t, const compare_result *r)
{
    char a[128], b[128];
    buf p = {0};
    buf_adds(&p, "prompt: ");
    add_clipped(&p, r->prompt, 70);
    printf("%s\n\n", p.data);
    buf_free(&p);
    char *na = xasprintf("A: %s", r->name[0]), *nb = xasprintf("B: %s", r->name[1]);
    row_wrapped("", na, nb);
    free(na);
    free(nb);
    char *ca = config_text(r->config[0], r->config[1]), *cb = config_text(r->config[1], r->config[0]);
    row_wrapped("config", ca, cb);
    free(ca);
    free(cb);
    const compare_stats *A = &r->side[0], *B = &r->side[1];
    snprintf(a, sizeof a, "%zu", A->n);
    snprintf(b, sizeof b, "%zu", B->n);
    row("samples", a, b);
    if (r->incomplete[0] || r->incomplete[1]) {
        snprintf(a, sizeof a, "%zu", r->incomplete[0]);
        snprintf(b, sizeof b, "%zu", r->incomplete[1]);
        row("cut short", a, b);
    }
    if (r->failed[0] || r->failed[1]) {
        snprintf(a, sizeof a, "%zu", r->failed[0] ? json_array_size(r->failed[0]) : 0);
        snprintf(b, sizeof b, "%zu", r->failed[1] ? json_array_size(r->failed[1]) : 0);
        row("failed", a, b);
    }
    snprintf(a, sizeof a, "%zu", A->ngroups);
    snprintf(b, sizeof b, "%zu", B->ngroups);
    row("groups", a, b);
    snprintf(a, sizeof a, "%.3f bits (%.3f of max)", A->entropy, A->entropy_norm);
    snprintf(b, sizeof b, "%.3f bits (%.3f of max)", B->entropy, B->entropy_norm);
    row("entropy", a, b);
    for (int s = 0; s < 2; s++) {
        const compare_stats *st = &r->side[s];
        char *o = s ? b : a;
        if (isnan(st->token_entropy))
            snprintf(o, 128, "n/a (no logprobs)");
        else if (st->token_entropy_exact || isnan(st->token_entropy_lower))
            snprintf(o, 128, "%.3f bits/token (%s)", st->token_entropy,
                     st->token_entropy_exact ? "exact" : "lower bound");
        else if (isnan(st->token_entropy_upper))
            snprintf(o, 128, ">= %.3f bits/token (lower bound; V unknown)", st->token_entropy_lower);
        else
            snprintf(o, 128, "%.3f-%.3f bits/token (bounds)", st->token_entropy_lower, st->token_entropy_upper);
    }
    row("token entropy", a, b);
    for (int k = 0; k < 3; k++) {
        char label[32];
        snprintf(label, sizeof label, "distinct-%d", k + 1);
        snprintf(a, sizeof a, "%.3f", A->distinct[k]);
        snprintf(b, sizeof b, "%.3f", B->distinct[k]);
        row(label, a, b);
    }
    print_intervals(r);
    for (int s = 0; s < 2; s++) {
        calib_result c;
        char *o = s ? b : a;
        if (calib_node(t, NULL, r->label[s], &c) == 0)
            calib_format(&c, o, 128);
        else
            snprintf(o, 128, "not tested (< %d samples with logprobs)", CALIB_MIN_SAMPLES);
    }
    row_wrapped("calibration", a, b);
    print_differences(r);
    printf("\n");
    size_t rows = A->ngroups > B->ngroups ? A->ngroups : B->ngroups;
    if (rows > 10)
        rows = 10;
    for (size_t g = 0; g < rows; g++) {
        buf ca2 = {0}, cb2 = {0};
        for (int s = 0; s < 2; s++) {
            buf *o = s ? &cb2 : &ca2;
            if (g < r->side[s].ngroups) {
                buf_printf(o, "%3zu× ", r->side[s].groups[g].count);
                add_clipped(o, sample_text(t, r, s, g), COLW - 5);
            }
        }
        row(g ? "" : "top groups", ca2.data ? ca2.data : "", cb2.data ? cb2.data : "");
        buf_free(&ca2);
        buf_free(&cb2);
    }
    printf("\nshared outcomes (near-duplicates on both sides): %zu\n", r->nshared);
    for (size_t i = 0; i < r->nshared && i < 10; i++) {
        buf l = {0};
        buf_printf(&l, "  A %3zu×  B %3zu×  ", r->side[0].groups[r->shared[i].a].count,
                   r->side[1].groups[r->shared[i].b].count);
        add_clipped(&l, sample_text(t, r, 0, r->shared[i].a), 60);
        printf("%s\n", l.data);
        buf_free(&l);
    }
    printf("shared phrases (4-8 words in samples of both sides): %zu\n", r->nphrases);
    for (size_t i = 0; i < r->nphrases && i < 5; i++) {
        buf l = {0};
        buf_printf(&l, "  A %3zu×  B %3zu×  ", r->phrases[i].count[0], r->phrases[i].count[1]);
        add_clipped(&l, r->phrases[i].text, 60);
        printf("%s\n", l.data);
        buf_free(&l);
    }
    for (int s = 0; s < 2; s++) {
        size_t own = 0;
        for (size_t g = 0; g < r->side[s].ngroups; g++)
            own += r->side[s].groups[g].count >= COMPARE_ATTRACTOR_MIN && compare_result_match_of(r, s, g) < 0;
        printf("repeated samples only in %c (groups of \xe2\x89\xa5%d near-duplicate samples, none on the other side): %zu\n",
               s ? 'B' : 'A', COMPARE_ATTRACTOR_MIN, own);
        for (size_t g = 0, shown = 0; g < r->side[s].ngroups && shown < 5; g++) {
            if (r->side[s].groups[g].count < COMPARE_ATTRACTOR_MIN || compare_result_match_of(r, s, g) >= 0)
                continue;
            buf l = {0};
            buf_printf(&l, "  %3zu×  ", r->side[s].groups[g].count);
            add_clipped(&l, sample_text(t, r, s, g), 66);
            printf("%s\n", l.data);
            buf_free(&l);
            shown++;
        }
    }
    print_kl(r);
    print_overrepresented(r);
}

/* ---- JSON output ---- */

static json_t *num_or_null(double x) { return isnan(x) ? json_null() : json_real(x); }

/* {"value", "low", "high"} (+ "outside" for a difference); NaN as null */
static json_t *ci_json(const compare_ci *c, int diff)
{
    json_t *o = json_object();
    json_object_set_new(o, "value", num_or_null(c->value));
    json_object_set_new(o, "low", num_or_null(c->low));
    json_object_set_new(o, "high", num_or_null(c->high));
    if (diff)
        json_object_set_new(o, "outside", json_boolean(c->outside));
    return o;
}

static json_t *side_json(const tree *t, const compare_result *r, int s)
{
    const compare_stats *st = &r->side[s];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(r->name[s]));
    if (r->config[s])
        json_object_set(o, "config", (json_t *)r->config[s]);
    else
        json_object_set_new(o, "config", json_object());
    json_object_set_new(o, "samples", json_integer((json_int_t)st->n));
    json_object_set_new(o, "incomplete", json_integer((json_int_t)r->incomplete[s]));
    if (r->failed[s])
        json_object_set(o, "failed", (json_t *)r->failed[s]);
    else
        json_object_set_new(o, "failed", json_array());
    json_object_set_new(o, "groups", json_integer((json_int_t)st->ngroups));
    json_object_set_new(o, "entropy", json_real(st->entropy));
    json_object_set_new(o, "entropy_norm", json_real(st->entropy_norm));
    json_object_set_new(o, "token_entropy", num_or_null(st->token_entropy));
    json_object_set_new(o, "token_entropy_exact", json_boolean(st->token_entropy_exact));
    json_object_set_new(o, "token_entropy_lower", num_or_null(st->token_entropy_lower));
    json_object_set_new(o, "token_entropy_upper", num_or_null(st->token_entropy_upper));
    json_object_set_new(o, "distinct_1", json_real(st->distinct[0]));
    json_object_set_new(o, "distinct_2", json_real(st->distinct[1]));
    json_object_set_new(o, "distinct_3", json_real(st->distinct[2]));
    if (r->ci[s].known) {
        json_object_set_new(o, "groups_ci", ci_json(&r->ci[s].groups, 0));
        json_object_set_new(o, "entropy_ci", ci_json(&r->ci[s].entropy, 0));
        json_object_set_new(o, "token_entropy_ci", ci_json(&r->ci[s].token_entropy, 0));
        json_object_set_new(o, "distinct_1_ci", ci_json(&r->ci[s].distinct[0], 0));
        json_object_set_new(o, "distinct_2_ci", ci_json(&r->ci[s].distinct[1], 0));
        json_object_set_new(o, "distinct_3_ci", ci_json(&r->ci[s].distinct[2], 0));
    }
    calib_result cr;
    if (calib_node(t, NULL, r->label[s], &cr) == 0)
        json_object_set_new(o, "calibration", calib_json(&cr, 0));
    else
        json_object_set_new(o, "calibration", json_null());
    json_t *top = json_array(), *own = json_array();
    for (size_t g = 0; g < st->ngroups; g++) {
        json_t *e = json_object();
        json_object_set_new(e, "text", json_string(sample_text(t, r, s, g)));
        json_object_set_new(e, "count", json_integer((json_int_t)st->groups[g].count));
        json_t *ids = json_array();
        for (size_t m = 0; m < st->groups[g].count; m++)
            json_array_append_new(ids, json_integer(r->ids[s][st->groups[g].members[m]]));
        json_object_set_new(e, "members", ids);
        if (st->groups[g].count >= COMPARE_ATTRACTOR_MIN && compare_result_match_of(r, s, g) < 0)
            json_array_append(own, e);
        json_array_append_new(top, e);
    }
    json_object_set_new(o, "top", top);
    if (r->kl[s].known)
        json_object_set_new(o, "kl_to_other", compare_kl_json(&r->kl[s]));
    else if (r->kl[s].note[0])
        json_object_set_new(o, "kl_to_other_note", json_string(r->kl[s].note));
    json_object_set_new(o, "repeated", own);    /* groups of >= 2 samples with no counterpart */
    json_t *over = json_array();
    for (size_t i = 0; i < r->nover[s]; i++)
        json_array_append_new(over, json_pack("{s:s,s:i,s:f,s:I,s:I}", "text", r->over[s][i].text,
                              "words", r->over[s][i].words, "z", r->over[s][i].z,
                              "count", (json_int_t)r->over[s][i].count,
                              "count_other", (json_int_t)r->over[s][i].count_other));
    json_object_set_new(o, "overrepresented", over);
    return o;
}

static void print_json(const tree *t, const compare_result *r, const char *saved)
{
    json_t *o = json_object();
    json_object_set_new(o, "prompt", json_string(r->prompt));
    json_object_set_new(o, "a", side_json(t, r, 0));
    json_object_set_new(o, "b", side_json(t, r, 1));
    json_t *sh = json_array();
    for (size_t i = 0; i < r->nshared; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "text", json_string(sample_text(t, r, 0, r->shared[i].a)));
        json_object_set_new(e, "a", json_integer((json_int_t)r->side[0].groups[r->shared[i].a].count));
        json_object_set_new(e, "b", json_integer((json_int_t)r->side[1].groups[r->shared[i].b].count));
        json_object_set_new(e, "similarity", json_real(r->shared[i].similarity));
        json_array_append_new(sh, e);
    }
    json_object_set_new(o, "shared_outcomes", sh);
    json_t *ph = json_array();
    for (size_t i = 0; i < r->nphrases; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "text", json_string(r->phrases[i].text));
        json_object_set_new(e, "a", json_integer((json_int_t)r->phrases[i].count[0]));
        json_object_set_new(e, "b", json_integer((json_int_t)r->phrases[i].count[1]));
        json_array_append_new(ph, e);
    }
    json_object_set_new(o, "shared_phrases", ph);
    if (r->diff.known) {        /* A − B with the bootstrap interval of the difference */
        json_t *d = json_object();
        json_object_set_new(d, "groups_ci", ci_json(&r->diff.groups, 1));
        json_object_set_new(d, "entropy_ci", ci_json(&r->diff.entropy, 1));
        json_object_set_new(d, "token_entropy_ci", ci_json(&r->diff.token_entropy, 1));
        json_object_set_new(d, "distinct_1_ci", ci_json(&r->diff.distinct[0], 1));
        json_object_set_new(d, "distinct_2_ci", ci_json(&r->diff.distinct[1], 1));
        json_object_set_new(d, "distinct_3_ci", ci_json(&r->diff.distinct[2], 1));
        json_object_set_new(o, "differences", d);
    }
    if (saved)
        json_object_set_new(o, "session", json_string(saved));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    printf("%s\n", s);
    free(s);
    json_decref(o);
}

/* ---- the command ---- */

static void progress(const compare_run *run, int n, int final)
{
    int ea, eb;
    size_t ta, tb;
    compare_run_progress(run, 0, &ea, NULL, &ta);
    compare_run_progress(run, 1, &eb, NULL, &tb);
    fprintf(stderr, "\rA %d/%d (%zu tok)  B %d/%d (%zu tok)%s", ea, n, ta, eb, n, tb, final ? "\n" : "");
}

enum { C_A = 1, C_B, C_OUTPUT, C_SAMPLES, C_JSON };

static const cli_option compare_options[] = {
    { "a", 0, CLI_ARG, C_A, "a SPEC (key=value,...)" },
    { "b", 0, CLI_ARG, C_B, "a SPEC (key=value,...)" },
    { "output", 'o', CLI_ARG, C_OUTPUT, "a file name" },
    { "samples", 'n', CLI_ARG, C_SAMPLES, "a whole number of samples" },
    { "json", 0, CLI_NO_ARG, C_JSON, NULL },
    { NULL, 0, 0, 0, NULL }
};

int cli_compare(int argc, char **argv)
{
    cli_opts o;
    cli_args p;
    int rc = cli_args_begin(&p, argc, argv, "compare", compare_options, &o);
    const char *spec[2] = { NULL, NULL }, *out = NULL, *v;
    int json = 0, nsamples = COMPARE_DEFAULT_SAMPLES;
    cli_args_usual(&p, print_help, NULL, NULL);
    for (int id; rc == CLI_OK && (id = cli_args_next(&p, &v)) != CLI_ARGS_END;) {
        char *end = NULL;
        long n;
        switch (id) {
        case CLI_ARGS_ERROR:
            rc = p.status;
            break;
        case C_A:
        case C_B:
            spec[id == C_B] = v;
            break;
        case C_OUTPUT:
            out = v;
            break;
        case C_SAMPLES:
            n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > COMPARE_MAX_SAMPLES)
                rc = cli_fail(CLI_USAGE, "%s: '%s' is not a whole number from 1 to %d", p.typed, v,
                              COMPARE_MAX_SAMPLES);
            nsamples = (int)n;
            break;
        case C_JSON:
            json = 1;
            break;
        }
    }
    cli_args_end(&p);
    if (rc != CLI_OK || p.helped)
        goto done;
    if (!spec[0] || !spec[1] || !o.prompt) {
        rc = cli_fail(CLI_USAGE, "compare needs %s; %s",
                      !spec[0] ? "--a SPEC" : !spec[1] ? "--b SPEC" : "--prompt TEXT", usage_line);
        goto done;
    }

    gen_settings s[2];
    backend *be[2] = { NULL, NULL };
    char err[512];
    char *name[2] = { NULL, NULL };
    int ns = 0;
    for (; ns < 2; ns++) {
        settings_copy(&s[ns], &o.s);
        char *rest = compare_spec_name(spec[ns], &name[ns]);   /* name= is not a generation option */
        int bad = settings_apply_spec(&s[ns], rest, err, sizeof err) < 0;
        free(rest);
        if (bad) {
            rc = cli_fail(CLI_USAGE, "--%c: %s", ns ? 'b' : 'a', err);
            ns++;
            goto free_sides;
        }
    }
    for (int k = 0; k < 2; k++)
        if (!(be[k] = cli_backend_new(&s[k], o.api_key, err, sizeof err))) {
            rc = cli_fail(CLI_USAGE, "--%c: %s", k ? 'b' : 'a', err);
            goto free_sides;
        }

    session ses;
    session_init(&ses);
    session_new_prompt(&ses, o.prompt);
    settings_free(&ses.settings);
    settings_copy(&ses.settings, &s[0]);
    int32_t root = tree_root(ses.t);
    const gen_settings *sp[2] = { &s[0], &s[1] };
    compare_run *run = compare_run_new(ses.t, root, be, sp, nsamples, NULL, NULL);
    for (int k = 0; k < 2; k++)
        compare_run_set_name(run, k, name[k]);
    int tty = isatty(2);
    if (compare_run_start(run, err, sizeof err) < 0) {
        rc = cli_fail(CLI_ERR, "%s", err);
        goto free_run;
    }
    for (int spins = 0; compare_run_pump(run) > 0; spins++) {
        compare_run_wait(run, NULL, 0, 100, NULL);
        if (tty && spins % 16 == 0)
            progress(run, nsamples, 0);
    }
    if (tty)
        progress(run, nsamples, 1);
    ses.cursor = root;

    compare_result res;
    if (compare_result_load(&res, ses.t, root, s[0].merge_threshold, err, sizeof err) < 0) {
        rc = cli_fail(CLI_ERR, "%s", err);
        goto free_run;
    }
    int empty = !res.side[0].n ? 0 : !res.side[1].n ? 1 : -1;
    compare_result_intervals(&res, ses.t);
    const llama_model *km[2] = { llama_backend_model(be[0]), llama_backend_model(be[1]) };
    if (empty < 0 && km[0] && km[1] && score_compare(ses.t, &res, km, err, sizeof err) < 0)
        cli_fail(CLI_OK, "warning: no KL to the other side: %s", err);
    else if (empty < 0 && !(km[0] && km[1]) && (be[0]->ops->score || be[1]->ops->score))
        score_compare_backends(ses.t, &res, be, sp);   /* each side's reason in its note */
    compare_kl_store(ses.t, &res);                     /* the saved comparison keeps it */
    if (out && cli_save_analysed(&ses, out, err, sizeof err) < 0)
        rc = cli_fail(CLI_ERR, "%s", err);
    else if (empty >= 0) {
        const char *why = compare_run_error(run, empty);
        rc = cli_fail(CLI_ERR, "%c: no sample was completed (%s)", empty ? 'B' : 'A',
                      why ? why : "the backend returned nothing");
    } else {
        for (int k = 0; k < 2; k++) {           /* one line per missing sample: which and why */
            json_t *f = res.failed[k];
            size_t i;
            json_t *fv;
            json_array_foreach(f, i, fv)
                cli_fail(CLI_OK, "warning: %c: sample %lld of %d failed twice and is left out: %s", k ? 'B' : 'A',
                         (long long)json_integer_value(json_object_get(fv, "index")) + 1, nsamples,
                         json_string_value(json_object_get(fv, "error")) ? json_string_value(json_object_get(fv, "error")) : "error");
        }
        if (json)
            print_json(ses.t, &res, out);
        else
            print_text(ses.t, &res);
    }
    compare_result_free(&res);
free_run:
    compare_run_free(run);
    session_free(&ses);
free_sides:
    for (int k = 0; k < 2; k++)
        backend_free(be[k]);
    for (int k = 0; k < ns; k++)
        settings_free(&s[k]);
    free(name[0]);
    free(name[1]);
done:
    cli_opts_free(&o);
    return rc;
}
