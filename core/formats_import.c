/* core/formats_import.c — loomsidian, miniloom and bonsai in; the diff-match-patch applier.
 * See formats.h. */
#include "core/formats_int.h"
#include "core/mem.h"
#include "core/text.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- diff-match-patch patches ------------------------------------------------------- */

typedef struct {
    int         op;          /* -1 delete, 0 equal, 1 insert */
    const char *text;
    size_t      len;
    char       *owned;       /* decoded text of the patch_toText form */
} dmp_diff;

typedef struct {
    long long start2;        /* UTF-16 units, as JavaScript counts */
    dmp_diff *d;
    size_t    n, cap;
} dmp_patch;

static void patches_free(dmp_patch *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p[i].n; j++)
            free(p[i].d[j].owned);
        free(p[i].d);
    }
    free(p);
}

static void diff_add(dmp_patch *p, int op, const char *text, size_t len, char *owned)
{
    xgrow(&p->d, &p->cap, p->n + 1, sizeof *p->d);
    p->d[p->n++] = (dmp_diff){ op, text, len, owned };
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The patch_toText form: "@@ -1,3 +1,4 @@\n the\n+ new\n" with %-escapes (decodeURI). */
static dmp_patch *parse_text_form(const char *s, size_t len, size_t *np, char *err, size_t errlen)
{
    dmp_patch *ps = NULL;
    size_t n = 0, cap = 0;
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        if (ll == 0) {
            p = le + 1;
            continue;
        }
        if (*p == '@') {
            long long a, b, c, d;
            char tail[8];
            char hdr[128];
            if (ll >= sizeof hdr)
                goto bad_header;
            memcpy(hdr, p, ll);
            hdr[ll] = 0;
            /* "@@ -a[,b] +c[,d] @@" */
            const char *q = hdr + 4;
            if (strncmp(hdr, "@@ -", 4))
                goto bad_header;
            a = strtoll(q, (char **)&q, 10);
            b = -1;
            if (*q == ',')
                b = strtoll(q + 1, (char **)&q, 10);
            if (strncmp(q, " +", 2))
                goto bad_header;
            c = strtoll(q + 2, (char **)&q, 10);
            d = -1;
            if (*q == ',')
                d = strtoll(q + 1, (char **)&q, 10);
            if (sscanf(q, " @@%7s", tail) == 1 || strncmp(q, " @@", 3) || a < 0 || c < 0)
                goto bad_header;
            (void)b;
            xgrow(&ps, &cap, n + 1, sizeof *ps);
            memset(&ps[n], 0, sizeof ps[n]);
            ps[n].start2 = d == 0 ? c : c - 1;   /* one-based unless the length is 0 */
            if (ps[n].start2 < 0)
                ps[n].start2 = 0;
            n++;
        } else {
            int op = *p == '+' ? 1 : *p == '-' ? -1 : *p == ' ' ? 0 : 2;
            if (op == 2 || n == 0) {
                snprintf(err, errlen, "patch line \"%.20s\" is not a +, - or space line under an @@ header", p);
                patches_free(ps, n);
                return NULL;
            }
            char *dec = xmalloc(ll);
            size_t k = 0;
            for (const char *c = p + 1; c < le; c++) {
                if (*c == '%') {
                    int h = c + 2 < le ? hexval(c[1]) : -1, l = h >= 0 ? hexval(c[2]) : -1;
                    if (h < 0 || l < 0) {
                        free(dec);
                        snprintf(err, errlen, "bad %%-escape in patch line \"%.20s\"", p);
                        patches_free(ps, n);
                        return NULL;
                    }
                    dec[k++] = (char)(h * 16 + l);
                    c += 2;
                } else {
                    dec[k++] = *c;
                }
            }
            diff_add(&ps[n - 1], op, dec, k, dec);
        }
        p = le + 1;
    }
    *np = n;
    return ps;
bad_header:
    snprintf(err, errlen, "bad patch header \"%.40s\"", p);
    patches_free(ps, n);
    return NULL;
}

/* The JSON array of patch objects: {diffs: [[op, text]...] or [{"0": op, "1": text}...],
 * start1, start2, length1, length2}. */
static dmp_patch *parse_json_form(const json_t *arr, size_t *np, char *err, size_t errlen)
{
    size_t n = json_array_size(arr);
    dmp_patch *ps = xcalloc(n ? n : 1, sizeof *ps);
    for (size_t i = 0; i < n; i++) {
        json_t *po = json_array_get(arr, i), *diffs = json_object_get(po, "diffs");
        json_t *s2 = json_object_get(po, "start2");
        if (!json_is_object(po) || !json_is_array(diffs) || !json_is_integer(s2) || json_integer_value(s2) < 0) {
            snprintf(err, errlen, "patch %zu needs diffs and a start2", i + 1);
            patches_free(ps, n);
            return NULL;
        }
        ps[i].start2 = json_integer_value(s2);
        for (size_t j = 0; j < json_array_size(diffs); j++) {
            json_t *df = json_array_get(diffs, j), *op, *tx;
            if (json_is_array(df)) {
                op = json_array_get(df, 0);
                tx = json_array_get(df, 1);
            } else {
                op = json_object_get(df, "0");
                tx = json_object_get(df, "1");
            }
            if (!json_is_integer(op) || json_integer_value(op) < -1 || json_integer_value(op) > 1 ||
                !json_is_string(tx)) {
                snprintf(err, errlen, "patch %zu: diff %zu is not [op (-1, 0 or 1), text]", i + 1, j + 1);
                patches_free(ps, n);
                return NULL;
            }
            diff_add(&ps[i], (int)json_integer_value(op), json_string_value(tx), json_string_length(tx), NULL);
        }
    }
    *np = n;
    return ps;
}

/* Byte offset of UTF-16 unit u in s (clamped to len). */
static size_t u16_to_byte(const char *s, size_t len, long long u)
{
    size_t i = 0;
    long long units = 0;
    while (i < len && units < u) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        units += n == 4 ? 2 : 1;
        i += n;
    }
    return i < len ? i : len;
}

static long long byte_to_u16(const char *s, size_t b)
{
    long long units = 0;
    for (size_t i = 0; i < b; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80)
            units += c >= 0xF0 ? 2 : 1;
    }
    return units;
}

char *formats_patch_apply(const void *patch_json, const char *text, size_t len, size_t *outlen,
                          char *err, size_t errlen)
{
    const json_t *pj = patch_json;
    dmp_patch *ps;
    size_t np = 0;
    if (json_is_string(pj))
        ps = parse_text_form(json_string_value(pj), json_string_length(pj), &np, err, errlen);
    else if (json_is_array(pj))
        ps = parse_json_form(pj, &np, err, errlen);
    else {
        snprintf(err, errlen, "patch is neither a list of patch objects nor patch text");
        return NULL;
    }
    if (!ps)
        return NULL;
    buf cur = {0};
    buf_add(&cur, text, len);
    buf_addc(&cur, 0);
    cur.len--;
    long long delta = 0;
    for (size_t i = 0; i < np; i++) {
        buf t1 = {0}, t2 = {0};
        for (size_t j = 0; j < ps[i].n; j++) {
            if (ps[i].d[j].op <= 0)
                buf_add(&t1, ps[i].d[j].text, ps[i].d[j].len);
            if (ps[i].d[j].op >= 0)
                buf_add(&t2, ps[i].d[j].text, ps[i].d[j].len);
        }
        long long expected = ps[i].start2 + delta;
        size_t want = u16_to_byte(cur.data, cur.len, expected), loc = (size_t)-1;
        if (want + t1.len <= cur.len && (t1.len == 0 || !memcmp(cur.data + want, t1.data, t1.len))) {
            loc = want;
        } else if (t1.len) {   /* the nearest exact occurrence */
            size_t best = (size_t)-1;
            for (size_t k = 0; k + t1.len <= cur.len; k++)
                if (cur.data[k] == t1.data[0] && !memcmp(cur.data + k, t1.data, t1.len)) {
                    size_t dist = k > want ? k - want : want - k;
                    if (dist < best) {
                        best = dist;
                        loc = k;
                    }
                }
        }
        if (loc == (size_t)-1) {
            snprintf(err, errlen, "patch %zu does not apply to its parent's text", i + 1);
            buf_free(&t1);
            buf_free(&t2);
            buf_free(&cur);
            patches_free(ps, np);
            return NULL;
        }
        delta = byte_to_u16(cur.data, loc) - expected;
        buf nb = {0};
        buf_add(&nb, cur.data, loc);
        buf_add(&nb, t2.data ? t2.data : "", t2.len);
        buf_add(&nb, cur.data + loc + t1.len, cur.len - loc - t1.len);
        buf_free(&cur);
        cur = nb;
        buf_free(&t1);
        buf_free(&t2);
    }
    patches_free(ps, np);
    if (!cur.data)
        buf_adds(&cur, "");
    *outlen = cur.len;
    return buf_steal(&cur);
}

/* ---- loomsidian ----------------------------------------------------------------------- */

int fmt_import_loomsidian(json_t *doc, fmt_recs *rs, fmt_out *out, const char *note)
{
    json_t *state = json_object_get(doc, "state"), *entry = NULL, *v;
    const char *k, *chosen = NULL;
    size_t count = 0;
    buf names = {0};
    json_object_foreach(state, k, v)
        if (json_is_object(json_object_get(v, "nodes"))) {
            count++;
            if (names.len < 400)
                buf_printf(&names, "%s\"%s\"", names.len ? ", " : "", k);
            if (!chosen || (note && !strcmp(k, note))) {
                chosen = k;
                entry = v;
            }
        }
    if (note && (!chosen || strcmp(chosen, note))) {
        fmt_fail(rs, "no note \"%s\" in state (notes: %s)", note, names.data);
        buf_free(&names);
        return FORMATS_ERR_USAGE;
    }
    if (!note && count > 1) {
        fmt_fail(rs, "%zu notes; choose one with --note PATH: %s", count, names.data);
        buf_free(&names);
        return FORMATS_ERR_USAGE;
    }
    buf_free(&names);
    json_t *nodes = json_object_get(entry, "nodes");
    json_object_foreach(nodes, k, v) {
        if (!json_is_object(v))
            return fmt_fail(rs, "note \"%s\": node \"%s\" is not an object", chosen, k);
        json_t *tx = json_object_get(v, "text"), *pid = json_object_get(v, "parentId");
        if (tx && !json_is_null(tx) && !json_is_string(tx))
            return fmt_fail(rs, "note \"%s\": node \"%s\": text is not a string", chosen, k);
        if (pid && !json_is_null(pid) && !json_is_string(pid) && !json_is_integer(pid))
            return fmt_fail(rs, "note \"%s\": node \"%s\": parentId is not an id", chosen, k);
        fmt_rec *r = fmt_rec_add(rs);
        r->obj = v;
        r->key = xstrdup(k);
        r->parent = FMT_PARENT_KEY;
        r->pkey = fmt_id_text(pid);
        if (json_is_string(tx)) {
            r->len = json_string_length(tx);
            r->text = xstrndup(json_string_value(tx), r->len);
        }
        r->origin = r->pkey ? TREE_ORIGIN_MODEL : TREE_ORIGIN_PROMPT;
        if (json_is_true(json_object_get(v, "bookmarked")))
            r->marks |= TREE_MARK_BOOKMARK;
        if (json_is_false(json_object_get(v, "unread")))
            r->flags |= TREE_FLAG_VISITED;
        static const char *const drop[] = { "text", "parentId", NULL };
        r->extra = json_pack("{s:o}", "loomsidian", fmt_copy_without(v, drop));
    }
    int rc = fmt_index(rs);
    if (rc == 0)
        rc = fmt_build(rs, out->t, "loomsidian");
    if (rc < 0)
        return rc;
    static const char *const drop_nodes[] = { "nodes", NULL }, *const drop_state[] = { "state", NULL };
    json_object_set_new(out->extra, "loomsidian",
                        json_pack("{s:s,s:o,s:o}", "note", chosen,
                                  "note_state", fmt_copy_without(entry, drop_nodes),
                                  "data", fmt_copy_without(doc, drop_state)));
    char *cur = fmt_id_text(json_object_get(entry, "current"));
    int32_t ri = fmt_find(rs, cur);
    if (ri >= 0)
        out->cursor = rs->r[ri].id;
    free(cur);
    return 0;
}

/* ---- miniloom ------------------------------------------------------------------------- */

static void set_model_finish(tree *t, int32_t id, json_t *obj)
{
    json_t *m = json_object_get(obj, "model"), *f = json_object_get(obj, "finishReason");
    if (json_is_string(m) && json_string_length(m))
        tree_set_model(t, id, json_string_value(m));
    if (json_is_string(f) && json_string_length(f))
        tree_set_finish(t, id, json_string_value(f));
}

int fmt_import_miniloom(json_t *doc, fmt_recs *rs, fmt_out *out)
{
    json_t *lt = json_object_get(doc, "loomTree");
    json_t *store = json_object_get(json_is_object(lt) ? lt : doc, "nodeStore"), *v;
    const char *k;
    json_object_foreach(store, k, v) {
        if (!json_is_object(v))
            return fmt_fail(rs, "nodeStore[\"%s\"] is not an object", k);
        json_t *pid = json_object_get(v, "parent"), *type = json_object_get(v, "type");
        json_t *patch = json_object_get(v, "patch"), *tx = json_object_get(v, "text");
        if (pid && !json_is_null(pid) && !json_is_string(pid) && !json_is_integer(pid))
            return fmt_fail(rs, "nodeStore[\"%s\"]: parent is not an id", k);
        if ((!patch || json_is_null(patch) || (json_is_string(patch) && !json_string_length(patch))) &&
            tx && !json_is_string(tx))
            return fmt_fail(rs, "nodeStore[\"%s\"]: text is not a string", k);
        fmt_rec *r = fmt_rec_add(rs);
        r->obj = v;
        r->key = xstrdup(k);
        r->parent = FMT_PARENT_KEY;
        r->pkey = fmt_id_text(pid);
        const char *ty = json_is_string(type) ? json_string_value(type) : "";
        r->origin = !strcmp(ty, "gen") ? TREE_ORIGIN_MODEL
                  : !strcmp(ty, "rewrite") ? TREE_ORIGIN_EDIT : TREE_ORIGIN_PROMPT;
        if (json_is_true(json_object_get(v, "read")))
            r->flags |= TREE_FLAG_VISITED;
        static const char *const drop[] = { "patch", "text", "parent", "children", NULL };
        r->extra = json_pack("{s:o}", "miniloom", fmt_copy_without(v, drop));
    }
    int rc = fmt_index(rs);
    if (rc == 0)
        rc = fmt_build(rs, out->t, "miniloom");
    if (rc < 0)
        return rc;
    /* Full texts, parents first (ids are pre-order); each node keeps what it adds.  A full
     * text is freed once its last child has used it, so a deep chain of patches holds two
     * texts at a time, not all of them (10k nodes took 249 MB, 40k 3.3 GB). */
    int32_t n = tree_capacity(out->t);
    char **full = xcalloc((size_t)n, sizeof *full);
    size_t *flen = xcalloc((size_t)n, sizeof *flen);
    uint32_t *waiting = xcalloc((size_t)n, sizeof *waiting);   /* children still to patch */
    for (int32_t id = 0; id < n; id++)
        waiting[id] = tree_get(out->t, id) ? tree_get(out->t, id)->nchildren : 0;
    for (int32_t id = 0; id < n && rc == 0; id++) {
        fmt_rec *r = &rs->r[rs->id2rec[id]];
        int32_t p = tree_parent(out->t, id);
        const char *ptext = p >= 0 && full[p] ? full[p] : "";
        size_t plen = p >= 0 ? flen[p] : 0;
        json_t *patch = r->obj ? json_object_get(r->obj, "patch") : NULL;
        json_t *tx = r->obj ? json_object_get(r->obj, "text") : NULL;
        char perr[200];
        if (patch && !json_is_null(patch) && !(json_is_string(patch) && !json_string_length(patch))) {
            full[id] = formats_patch_apply(patch, ptext, plen, &flen[id], perr, sizeof perr);
            if (!full[id])
                rc = fmt_fail(rs, "nodeStore[\"%s\"]: %s", r->key, perr);
        } else if (json_is_string(tx)) {
            flen[id] = json_string_length(tx);
            full[id] = xstrndup(json_string_value(tx), flen[id]);
        } else {
            flen[id] = plen;
            full[id] = xstrndup(ptext, plen);
        }
        if (rc == 0 && !text_valid(full[id], flen[id]))
            rc = fmt_fail(rs, "nodeStore[\"%s\"]: the patched text is not valid UTF-8", r->key);
        if (rc < 0)
            break;
        size_t common = 0;
        while (common < plen && common < flen[id] && ptext[common] == full[id][common])
            common++;
        while (common > 0 && common < flen[id] && ((unsigned char)full[id][common] & 0xC0) == 0x80)
            common--;
        tree_set_text(out->t, id, full[id] + common, flen[id] - common);
        if (common < plen && r->obj) {   /* a rewrite: the path text cannot show it; keep it */
            json_t *mx = json_object_get(tree_get(out->t, id)->extra, "miniloom");
            json_object_set_new(mx, "full_text", json_stringn(full[id], flen[id]));
        }
        if (r->obj) {
            set_model_finish(out->t, id, r->obj);
            json_t *ts = json_object_get(r->obj, "timestamp");   /* JavaScript milliseconds */
            if (json_is_number(ts) && json_number_value(ts) > 1e11 && json_number_value(ts) < 1e14)
                tree_get(out->t, id)->created = (int64_t)(json_number_value(ts) / 1000);
        }
        if (p >= 0 && waiting[p] && --waiting[p] == 0) {
            free(full[p]);
            full[p] = NULL;
        }
        if (!waiting[id]) {
            free(full[id]);
            full[id] = NULL;
        }
    }
    free(waiting);
    for (int32_t id = 0; id < n; id++)
        free(full[id]);
    free(full);
    free(flen);
    if (rc < 0)
        return rc;
    static const char *const drop_tree[] = { "loomTree", NULL }, *const drop_store[] = { "nodeStore", NULL };
    json_t *top = fmt_copy_without(doc, drop_tree);
    if (json_is_object(lt))
        json_object_set_new(top, "loomTree", fmt_copy_without(lt, drop_store));
    json_object_set_new(out->extra, "miniloom", top);
    char *focus = fmt_id_text(json_object_get(doc, "focus"));
    if (!focus && json_is_object(json_object_get(doc, "focus")))
        focus = fmt_id_text(json_object_get(json_object_get(doc, "focus"), "id"));
    int32_t ri = fmt_find(rs, focus);
    if (ri >= 0)
        out->cursor = rs->r[ri].id;
    free(focus);
    return 0;
}

/* ---- bonsai --------------------------------------------------------------------------- */

int fmt_import_bonsai(json_t *doc, fmt_recs *rs, fmt_out *out)
{
    json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "nodes");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_object(v))
            return fmt_fail(rs, "node %zu is not an object", i + 1);
        json_t *id = json_object_get(v, "id"), *tx = json_object_get(v, "text");
        json_t *pids = json_object_get(v, "parentIds");
        if (!tx)
            tx = json_object_get(v, "content");
        fmt_rec *r = fmt_rec_add(rs);
        r->obj = v;
        r->key = fmt_id_text(id);
        if (!r->key)
            return fmt_fail(rs, "node %zu has no id (a string or an integer)", i + 1);
        if (tx && !json_is_null(tx) && !json_is_string(tx))
            return fmt_fail(rs, "node \"%s\": text is not a string", r->key);
        if (pids && !json_is_null(pids) && !json_is_array(pids))
            return fmt_fail(rs, "node \"%s\": parentIds is not a list", r->key);
        r->parent = FMT_PARENT_KEY;
        if (json_array_size(pids)) {
            r->pkey = fmt_id_text(json_array_get(pids, 0));
            if (!r->pkey)
                return fmt_fail(rs, "node \"%s\": parentIds[0] is not an id", r->key);
        }
        if (json_is_string(tx)) {
            r->len = json_string_length(tx);
            r->text = xstrndup(json_string_value(tx), r->len);
        }
        r->origin = r->pkey ? TREE_ORIGIN_MODEL : TREE_ORIGIN_PROMPT;
        static const char *const drop[] = { "text", "content", NULL };
        json_t *kept = fmt_copy_without(v, drop);
        if (json_array_size(pids) > 1) {   /* the parents the tree cannot show */
            json_t *others = json_array();
            for (size_t j = 1; j < json_array_size(pids); j++)
                json_array_append(others, json_array_get(pids, j));
            json_object_set_new(kept, "other_parents", others);
        }
        r->extra = json_pack("{s:o}", "bonsai", kept);
    }
    int rc = fmt_index(rs);
    if (rc == 0)
        rc = fmt_build(rs, out->t, "bonsai");
    if (rc < 0)
        return rc;
    for (int32_t id = 0; id < tree_capacity(out->t); id++) {
        fmt_rec *r = &rs->r[rs->id2rec[id]];
        if (r->obj)
            set_model_finish(out->t, id, r->obj);
    }
    if (json_is_object(doc)) {
        static const char *const drop[] = { "nodes", NULL };
        json_object_set_new(out->extra, "bonsai", fmt_copy_without(doc, drop));
    }
    return 0;
}
