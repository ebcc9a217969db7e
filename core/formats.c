/* core/formats.c — format detection, the shared record builder, load-any.  See formats.h. */
#include "core/formats.h"
#include "core/hash.h"
#include "core/formats_int.h"
#include "core/jnul.h"
#include "core/mem.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *formats_kind_name(formats_kind k)
{
    switch (k) {
    case FORMATS_SESSION:    return "termloom session";
    case FORMATS_LOOM:       return "socketteer/loom";
    case FORMATS_LOOMSIDIAN: return "loomsidian";
    case FORMATS_MINILOOM:   return "miniloom";
    case FORMATS_BONSAI:     return "bonsai";
    default:                 return "unknown";
    }
}

/* ---- records ------------------------------------------------------------------------ */

void fmt_note(fmt_recs *rs, const char *what, const char *unit, const char *node)
{
    size_t i = 0;
    while (i < rs->nprobs && strcmp(rs->probs[i].what, what))
        i++;
    if (i == rs->nprobs) {
        if (rs->nprobs == sizeof rs->probs / sizeof *rs->probs)
            i--;                                   /* more kinds than room: the last absorbs */
        else {
            rs->nprobs++;
            rs->probs[i].what = what;
            rs->probs[i].unit = unit;
            rs->probs[i].count = 0;
            snprintf(rs->probs[i].first, sizeof rs->probs[i].first, "%s", node ? node : "?");
        }
    }
    rs->probs[i].count++;
}

static void summary_of(const fmt_recs *rs, char *out, size_t n)
{
    if (!out || !n)
        return;
    buf b = {0};
    for (size_t i = 0; i < rs->nprobs; i++)
        buf_printf(&b, "%s%s: %zu %s%s (first: node \"%s\")", i ? "; " : "", rs->probs[i].what,
                   rs->probs[i].count, rs->probs[i].unit, rs->probs[i].count == 1 ? "" : "s", rs->probs[i].first);
    snprintf(out, n, "%s", b.data ? b.data : "");
    buf_free(&b);
}

int fmt_fail(fmt_recs *rs, const char *fmt, ...)
{
    buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\n' || b.data[i] == '\r')
            b.data[i] = ' ';
    snprintf(rs->err, rs->errlen, "%s: %s", rs->name, b.data ? b.data : "");
    buf_free(&b);
    return FORMATS_ERR_INPUT;
}

fmt_rec *fmt_rec_add(fmt_recs *rs)
{
    xgrow(&rs->r, &rs->cap, rs->n + 1, sizeof *rs->r);
    fmt_rec *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    r->parent = -1;
    r->origin = TREE_ORIGIN_PROMPT;
    r->id = TREE_NONE;
    return r;
}

void fmt_recs_free(fmt_recs *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].key);
        free(rs->r[i].pkey);
        free(rs->r[i].text);
        if (rs->r[i].extra)
            json_decref(rs->r[i].extra);
    }
    free(rs->r);
    free(rs->id2rec);
    free(rs->slots);
    rs->r = NULL;
    rs->id2rec = NULL;
    rs->slots = NULL;
    rs->n = rs->cap = rs->nslots = 0;
}

static uint64_t key_hash(const char *s)
{
    return hash_fnv1a(s, strlen(s));
}

int fmt_index(fmt_recs *rs)
{
    size_t want = 16;
    while (want < rs->n * 2 + 2)
        want *= 2;
    free(rs->slots);
    rs->slots = xmalloc(want * sizeof *rs->slots);
    rs->nslots = want;
    for (size_t i = 0; i < want; i++)
        rs->slots[i] = -1;
    for (size_t i = 0; i < rs->n; i++) {
        const char *k = rs->r[i].key;
        if (!k)
            continue;
        size_t s = (size_t)key_hash(k) & (want - 1);
        for (; rs->slots[s] >= 0; s = (s + 1) & (want - 1))
            if (!strcmp(rs->r[rs->slots[s]].key, k))
                return fmt_fail(rs, "duplicate node id \"%s\"", k);
        rs->slots[s] = (int32_t)i;
    }
    return 0;
}

int32_t fmt_find(const fmt_recs *rs, const char *key)
{
    if (!rs->nslots || !key)
        return -1;
    size_t s = (size_t)key_hash(key) & (rs->nslots - 1);
    for (; rs->slots[s] >= 0; s = (s + 1) & (rs->nslots - 1))
        if (!strcmp(rs->r[rs->slots[s]].key, key))
            return rs->slots[s];
    return -1;
}

static const char *rec_name(const fmt_recs *rs, size_t i, char *tmp, size_t n)
{
    if (rs->r[i].key)
        return rs->r[i].key;
    snprintf(tmp, n, "#%zu", i + 1);
    return tmp;
}

int fmt_build(fmt_recs *rs, tree *t, const char *fmtkey)
{
    char tmp[32];
    if (rs->n == 0)
        return fmt_fail(rs, "the file holds no nodes");
    if (!rs->nslots && fmt_index(rs) < 0)
        return FORMATS_ERR_INPUT;
    size_t roots = 0;
    for (size_t i = 0; i < rs->n; i++) {
        fmt_rec *r = &rs->r[i];
        if (r->parent == FMT_PARENT_KEY) {
            if (!r->pkey) {
                r->parent = -1;
            } else {
                int32_t p = fmt_find(rs, r->pkey);
                if (p < 0)
                    return fmt_fail(rs, "node \"%s\": parent \"%s\" does not exist",
                                    rec_name(rs, i, tmp, sizeof tmp), r->pkey);
                if ((size_t)p == i)
                    return fmt_fail(rs, "node \"%s\" is its own parent", rec_name(rs, i, tmp, sizeof tmp));
                r->parent = p;
            }
        }
        roots += r->parent < 0;
    }
    if (roots == 0)
        return fmt_fail(rs, "no root node: the parent links form a cycle");
    if (roots > 1) {
        size_t n = rs->n;
        fmt_rec *syn = fmt_rec_add(rs);
        syn->extra = json_pack("{s:{s:b}}", fmtkey, "synthetic_root", 1);
        for (size_t i = 0; i < n; i++)
            if (rs->r[i].parent < 0)
                rs->r[i].parent = (int32_t)n;
    }
    size_t n = rs->n;
    /* children of each record, in record order (counting sort on the parent index) */
    size_t *start = xcalloc(n + 1, sizeof *start);
    int32_t *kids = xmalloc((n ? n : 1) * sizeof *kids);
    size_t *fill = xcalloc(n + 1, sizeof *fill);
    int32_t root = -1;
    for (size_t i = 0; i < n; i++) {
        if (rs->r[i].parent >= 0)
            start[rs->r[i].parent + 1]++;
        else
            root = (int32_t)i;
    }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < n; i++)
        if (rs->r[i].parent >= 0) {
            int32_t p = rs->r[i].parent;
            kids[start[p] + fill[p]++] = (int32_t)i;
        }
    free(fill);
    /* depth-first pre-order with an explicit stack */
    int32_t *stack = xmalloc((n + 1) * sizeof *stack);
    size_t sp = 0, made = 0;
    free(rs->id2rec);
    rs->id2rec = xmalloc(n * sizeof *rs->id2rec);
    stack[sp++] = root;
    while (sp) {
        int32_t ri = stack[--sp];
        fmt_rec *r = &rs->r[ri];
        int32_t pid = r->parent >= 0 ? rs->r[r->parent].id : TREE_NONE;
        int32_t id = tree_add_child(t, pid, (tree_origin)r->origin, r->text ? r->text : "",
                                    r->text ? r->len : 0);
        r->id = id;
        rs->id2rec[id] = ri;
        tree_node *nd = tree_get(t, id);
        nd->marks = r->marks;
        nd->flags |= r->flags;
        if (r->extra && json_object_size(r->extra)) {
            nd->extra = r->extra;
            r->extra = NULL;
        }
        made++;
        for (size_t k = start[ri + 1]; k > start[ri]; k--)
            stack[sp++] = kids[k - 1];
    }
    free(stack);
    free(kids);
    free(start);
    if (made < n) {
        for (size_t i = 0; i < n; i++)
            if (rs->r[i].id == TREE_NONE)
                return fmt_fail(rs, "node \"%s\" is not reachable from the root (its parent links form a cycle)",
                                rec_name(rs, i, tmp, sizeof tmp));
    }
    return 0;
}

char *fmt_id_text(const json_t *v)
{
    if (json_is_string(v))
        return xstrndup(json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return xasprintf("%lld", (long long)json_integer_value(v));
    return NULL;
}

json_t *fmt_copy_without(json_t *obj, const char *const *drop)
{
    json_t *c = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int skip = 0;
        for (const char *const *d = drop; *d && !skip; d++)
            skip = !strcmp(k, *d);
        if (!skip)
            json_object_set(c, k, v);
    }
    return c;
}

int64_t fmt_loom_time_parse(const char *s)
{
    struct tm tm = {0};
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2d-%2d.%2d.%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 6 ||
        tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

void fmt_loom_time_format(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%d-%H.%M.%S", &tm))
        snprintf(out, n, "1970-01-01-00.00.00");
}

size_t fmt_codepoints(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* ---- detection ---------------------------------------------------------------------- */

static int looks_like_loom_node(json_t *v)
{
    return json_is_object(v) && (json_object_get(v, "text") || json_object_get(v, "children") ||
                                 json_object_get(v, "parent_id") || json_object_get(v, "parentId"));
}

static json_t *bonsai_list(json_t *doc)
{
    json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "nodes");
    if (!json_is_array(list) || !json_array_size(list))
        return NULL;
    json_t *first = json_array_get(list, 0);
    return json_is_object(first) && json_object_get(first, "parentIds") ? list : NULL;
}

static formats_kind detect(json_t *doc)
{
    if (json_is_object(doc)) {
        json_t *f = json_object_get(doc, "format");
        if (json_is_string(f) && !strcmp(json_string_value(f), "termloom-session"))
            return FORMATS_SESSION;
        json_t *lt = json_object_get(doc, "loomTree");
        if (json_is_object(json_object_get(lt, "nodeStore")) ||
            json_is_object(json_object_get(doc, "nodeStore")))
            return FORMATS_MINILOOM;
        json_t *st = json_object_get(doc, "state");
        if (json_is_object(st)) {
            const char *k;
            json_t *v;
            json_object_foreach(st, k, v)
                if (json_is_object(json_object_get(v, "nodes")))
                    return FORMATS_LOOMSIDIAN;
        }
        if (bonsai_list(doc))
            return FORMATS_BONSAI;
        if (json_is_object(json_object_get(doc, "root")) || looks_like_loom_node(doc))
            return FORMATS_LOOM;
        return FORMATS_UNKNOWN;
    }
    if (json_is_array(doc)) {
        if (bonsai_list(doc))
            return FORMATS_BONSAI;
        if (json_array_size(doc) && looks_like_loom_node(json_array_get(doc, 0)))
            return FORMATS_LOOM;
    }
    return FORMATS_UNKNOWN;
}

static const char unknown_msg[] =
    "not a format termloom can import (expected a termloom session, a socketteer/loom tree "
    "with \"root\" and \"children\", a loomsidian data.json with \"state\", a miniloom file "
    "with \"loomTree.nodeStore\", or a bonsai node list with \"parentIds\")";

static int parse_doc(const char *data, size_t len, const char *name, json_t **doc,
                     char *err, size_t errlen)
{
    json_error_t je;
    *doc = jnul_loadb(data, len, 0, &je);   /* NUL in texts and in keys (token alternatives) */
    if (*doc)
        return 0;
    if (strstr(je.text, "depth"))
        snprintf(err, errlen, "%s: nested deeper than the JSON parser allows (%d levels) at line %d",
                 name, 2048, je.line);
    else if (len == 0)
        snprintf(err, errlen, "%s: the file is empty", name);
    else
        snprintf(err, errlen, "%s: not valid JSON: %s (line %d, column %d)", name, je.text,
                 je.line, je.column);
    return FORMATS_ERR_INPUT;
}

/* `"format": "termloom-session"` near the start, outside any string. */
static int sniff_session(const char *data, size_t len)
{
    static const char key[] = "\"format\"", val[] = "\"termloom-session\"";
    size_t head = len < 4096 ? len : 4096;
    for (size_t i = 0; i + sizeof key - 1 <= head; i++) {
        if (memcmp(data + i, key, sizeof key - 1) || (i && data[i - 1] == '\\'))
            continue;
        size_t j = i + sizeof key - 1;
        while (j < len && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r'))
            j++;
        if (j >= len || data[j++] != ':')
            continue;
        while (j < len && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r'))
            j++;
        if (len - j >= sizeof val - 1 && !memcmp(data + j, val, sizeof val - 1))
            return 1;
    }
    return 0;
}

int formats_is_session(const char *data, size_t len)
{
    return sniff_session(data, len);
}

int formats_file_is_session(const char *path)
{
    char head[4096];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return formats_is_session(head, n);
}

/* The imported tree, kept fields and settings into s (they replace what it had). */
static void install(session *s, fmt_out *out, gen_settings *set, formats_kind k)
{
    json_object_set_new(out->extra, "imported_from",
                        json_pack("{s:s}", "format", formats_kind_name(k)));
    if (s->t)
        tree_free(s->t);
    s->t = out->t;
    settings_free(&s->settings);
    s->settings = *set;
    if (s->extra)
        json_decref(s->extra);
    s->extra = out->extra;
    s->cursor = tree_get(out->t, out->cursor) ? out->cursor : tree_root(out->t);
}

/* A socketteer/loom tree read by the scanner (core/formats_loom_scan.c): FORMATS_OK with s
 * filled, or 1 when the scanner does not take the file or the tree has a problem (nothing
 * changed: the whole-document parse gives the answer and the message). */
static int import_scanned(const char *data, size_t len, const char *name, const formats_opts *o,
                          int helper_first, session *s, char *err, size_t errlen)
{
    fmt_recs rs = { .name = name, .err = err, .errlen = errlen };
    json_t *rest, *hold;
    fmt_loom_spans spans;
    if (!fmt_loom_scan(data, len, &rs, &rest, &hold, &spans))
        return 1;
    if (helper_first)
        fmt_loom_pre_finish(&spans);
    json_object_set_new(rest, "root", json_object());     /* detect() sees an object there */
    formats_kind k = detect(rest);
    json_object_del(rest, "root");
    int rc = 1;
    if (k == FORMATS_LOOM) {
        gen_settings set;
        settings_copy(&set, &s->settings);
        fmt_out out = { .t = tree_new(), .cursor = TREE_NONE, .extra = json_object(),
                        .settings = &set, .loom_spans = &spans };
        rc = fmt_loom_convert(rest, 1, &rs, &out);
        if (rc == 0 && o)
            summary_of(&rs, o->summary, o->summarylen);
        if (rc == 0)
            install(s, &out, &set, k);
        else {
            rc = 1;
            tree_free(out.t);
            json_decref(out.extra);
            settings_free(&set);
        }
    }
    fmt_recs_free(&rs);
    json_decref(rest);
    json_decref(hold);
    fmt_loom_spans_free(&spans);
    return rc;
}

int formats_import_mem(const char *data, size_t len, const char *name, const formats_opts *o,
                       session *s, formats_kind *kind, char *err, size_t errlen)
{
    json_t *doc;
    if (kind)
        *kind = FORMATS_UNKNOWN;
    if (o && o->summary && o->summarylen)
        o->summary[0] = 0;
    /* A termloom session goes straight to its own (streaming) loader: no DOM of big files. */
    if (sniff_session(data, len)) {
        if (kind)
            *kind = FORMATS_SESSION;
        return session_load_mem(s, data, len, name, err, errlen) < 0 ? FORMATS_ERR_INPUT : FORMATS_OK;
    }
    /* A loom tree {"root": ...} is read without a DOM of the whole document. */
    const char *how = getenv("TERMLOOM_IMPORT_PARSER");            /* test hook, formats.h */
    if (!how || !strcmp(how, "scan") || !strcmp(how, "helper")) {
        int rc = import_scanned(data, len, name, o, how && !strcmp(how, "helper"), s, err, errlen);
        if (rc == FORMATS_OK && kind)
            *kind = FORMATS_LOOM;
        if (rc == FORMATS_OK)
            return rc;
        if (how && !strcmp(how, "scan")) {
            snprintf(err, errlen, "%s: the scanner did not read it (TERMLOOM_IMPORT_PARSER=scan)", name);
            return FORMATS_ERR_INPUT;
        }
    }
    /* Otherwise a loom tree's token lists are nearly all of it: cut out, they skip the DOM. */
    fmt_loom_spans spans;
    size_t rlen;
    char *rest = how && !strcmp(how, "document") ? NULL : fmt_loom_split(data, len, &rlen, &spans);
    if (!rest)
        memset(&spans, 0, sizeof spans);
    doc = NULL;
    if (rest) {
        json_error_t je;
        doc = jnul_loadb(rest, rlen, 0, &je);
        free(rest);
        /* only a tree under "root" joins model_responses; anything else keeps them whole */
        if (doc && (detect(doc) != FORMATS_LOOM || !json_is_object(json_object_get(doc, "root")))) {
            json_decref(doc);
            doc = NULL;
        }
        if (!doc)
            fmt_loom_spans_free(&spans);
    }
    fmt_loom_spans *cut = doc ? &spans : NULL;
    if (!cut && how && !strcmp(how, "cut")) {                      /* test hook: must be cut */
        snprintf(err, errlen, "%s: the token lists were not cut out (TERMLOOM_IMPORT_PARSER=cut)", name);
        return FORMATS_ERR_INPUT;
    }
    if (!doc && parse_doc(data, len, name, &doc, err, errlen) < 0)
        return FORMATS_ERR_INPUT;
    formats_kind k = detect(doc);
    if (kind)
        *kind = k;
    if (k == FORMATS_SESSION) {
        json_decref(doc);
        return session_load_mem(s, data, len, name, err, errlen) < 0 ? FORMATS_ERR_INPUT : FORMATS_OK;
    }
    if (k == FORMATS_UNKNOWN) {
        json_decref(doc);
        snprintf(err, errlen, "%s: %s", name, unknown_msg);
        return FORMATS_ERR_INPUT;
    }
    fmt_recs rs = { .name = name, .err = err, .errlen = errlen };
    gen_settings set;
    settings_copy(&set, &s->settings);
    fmt_out out = { .t = tree_new(), .cursor = TREE_NONE, .extra = json_object(), .settings = &set,
                    .loom_spans = cut };
    int rc;
    switch (k) {
    case FORMATS_LOOM:       rc = fmt_import_loom(doc, &rs, &out); break;
    case FORMATS_LOOMSIDIAN: rc = fmt_import_loomsidian(doc, &rs, &out, o ? o->note : NULL); break;
    case FORMATS_MINILOOM:   rc = fmt_import_miniloom(doc, &rs, &out); break;
    default:                 rc = fmt_import_bonsai(doc, &rs, &out); break;
    }
    if (rc == 0 && o)
        summary_of(&rs, o->summary, o->summarylen);
    fmt_recs_free(&rs);
    json_decref(doc);
    if (cut)
        fmt_loom_spans_free(&spans);
    if (rc < 0) {
        tree_free(out.t);
        json_decref(out.extra);
        settings_free(&set);
        return rc;
    }
    install(s, &out, &set, k);
    return FORMATS_OK;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    buf b = {0};
    if (buf_read_file(&b, path, 0, err, errlen) < 0) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return buf_steal(&b);
}

int formats_import_file(const char *path, const formats_opts *o, session *s,
                        formats_kind *kind, char *err, size_t errlen)
{
    size_t len;
    char *data = slurp(path, &len, err, errlen);
    if (!data)
        return FORMATS_ERR_INPUT;
    int rc = formats_import_mem(data, len, path, o, s, kind, err, errlen);
    free(data);
    return rc;
}

int formats_load_any(const char *path, session *s, char *err, size_t errlen)
{
    return formats_import_file(path, NULL, s, NULL, err, errlen) == FORMATS_OK ? 0 : -1;
}
