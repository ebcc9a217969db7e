/* core/formats_int.h — what the importers of core/formats*.c share (not a public API).
 *
 * Every importer turns the foreign file into a list of records (one per node, each with the
 * foreign id, a parent given as a record index or as a foreign id, text, origin, marks and
 * the kept fields), then fmt_build checks the shape (duplicate ids, dangling parents,
 * cycles) and creates the tree in depth-first pre-order without recursion, so ids are
 * 0..n-1 and a parent's id is always smaller than its children's. */
#ifndef CORE_FORMATS_INT_H
#define CORE_FORMATS_INT_H
#include "core/formats.h"
#include "core/tree.h"
#include "core/jscan.h"
#include <jansson.h>

#define FMT_PARENT_KEY (-2)    /* parent given by pkey, resolved by fmt_build */

typedef struct {
    json_t  *obj;            /* the foreign node (borrowed), NULL for a synthetic root */
    char    *key;            /* foreign id as text (owned), or NULL when the file had none */
    int32_t  parent;         /* record index, -1 = a root, FMT_PARENT_KEY = look up pkey */
    char    *pkey;           /* foreign parent id (owned) */
    char    *text;           /* owned; NULL = "" */
    size_t   len;
    uint8_t  origin, marks, flags;
    json_t  *extra;          /* owned reference: becomes node->extra */
    int32_t  id;             /* tree id, set by fmt_build */
} fmt_rec;

typedef struct {
    fmt_rec    *r;
    size_t      n, cap;
    int32_t    *id2rec;      /* after fmt_build: tree id → record index */
    const char *name;        /* file name for messages */
    char       *err;
    size_t      errlen;
    /* key → record index, open addressing */
    int32_t    *slots;
    size_t      nslots;
    /* What was left out without refusing the file, per kind of problem (fmt_note). */
    struct { const char *what, *unit; size_t count; char first[96]; } probs[8];
    size_t      nprobs;
} fmt_recs;

fmt_rec *fmt_rec_add(fmt_recs *rs);
/* Record index of a foreign id, -1 when absent.  Duplicates are refused by fmt_index. */
int32_t  fmt_find(const fmt_recs *rs, const char *key);
/* Indexes every record's key (call once after all records are added). -1 on duplicates. */
int      fmt_index(fmt_recs *rs);
/* Resolves parents, checks the shape and creates the nodes in t.  A second root makes a
 * synthetic empty root above all of them (extra {fmtkey: {"synthetic_root": true}}). */
int      fmt_build(fmt_recs *rs, tree *t, const char *fmtkey);
void     fmt_recs_free(fmt_recs *rs);
/* Counts one problem that cost part of a node, not the file: `what` (a static string, one
 * per kind), counted in `unit`s ("node", "token"), and the first node it happened to.
 * formats_import_* report them in one line: "WHAT: N UNITs (first: node "X")". */
void     fmt_note(fmt_recs *rs, const char *what, const char *unit, const char *node);
/* Writes "NAME: message" into rs->err and returns FORMATS_ERR_INPUT. */
int      fmt_fail(fmt_recs *rs, const char *fmt, ...);

/* A foreign id (string or integer) as text; NULL when it is neither. Caller frees. */
char    *fmt_id_text(const json_t *v);
/* A copy of obj without the listed keys (NULL-terminated list). */
json_t  *fmt_copy_without(json_t *obj, const char *const *drop);
/* loom's timestamps "YYYY-MM-DD-HH.MM.SS" (UTC) ↔ unix seconds; -1 when unreadable. */
int64_t  fmt_loom_time_parse(const char *s);
void     fmt_loom_time_format(int64_t t, char *out, size_t n);
/* Code points in a UTF-8 string (Python's len()). */
size_t   fmt_codepoints(const char *s, size_t len);

/* A socketteer/loom document with its token lists cut out (core/formats_loom_fast.c).  The
 * tokens are nearly all of a loom file: jansson builds the rest, a strict parser (core/jscan)
 * reads each model_responses.*.completions[*].tokens value, or jansson when it will not
 * take one.  In the rest each such value is replaced by its index in s. */
typedef struct { double lp; size_t off, len, alt0, nalt; } fmt_ltok;
typedef struct { double lp; size_t off, len; } fmt_lalt;
typedef struct {
    const char *src;          /* the value's bytes in the original document */
    size_t      srclen;
    json_t     *json;         /* owned: jansson's parse, when the strict parser left it */
    int         fast;         /* the strict parser read it: its tokens are t[tok0, tok0 + ntok) */
    int         lazy;         /* 1: not read yet (fmt_loom_cut_responses), fmt_loom_span_read
                               * reads it; 2: read by the strict parser once */
    size_t      tok0, ntok;
    int         pos_form;     /* the first token's position: 0 none, 1 integer, 2 {start, end} */
    long long   pos;          /* that integer, or start */
} fmt_lspan;
typedef struct {
    fmt_lspan  *s;
    size_t      n, cap;
    fmt_ltok   *t;
    size_t      nt, capt;
    fmt_lalt   *a;
    size_t      na, capa;
    char       *pool;         /* token and alternative bytes */
    size_t      npool, cappool;
    struct fmt_loom_pre *pre; /* the helper reading the lazy lists ahead, or NULL */
} fmt_loom_spans;
/* The rest of the document (caller frees, *outlen its length) with *sp filled, or NULL when
 * there is nothing to cut or the document is not one it can cut exactly (invalid JSON, an
 * escaped key on the way to the tokens): then parse the whole document. */
char   *fmt_loom_split(const char *data, size_t len, size_t *outlen, fmt_loom_spans *sp);
void    fmt_loom_spans_free(fmt_loom_spans *sp);
/* Span i's value as JSON (a new reference; NULL when it cannot be parsed). */
json_t *fmt_loom_span_json(const fmt_loom_spans *sp, size_t i);
/* The model_responses value at c->p cut the same way (c->p moves past it; depth: the levels
 * open around it): its text with the lists replaced by span indexes (caller frees), *sp
 * filled with lazy spans (their bytes only, nothing checked yet: the importer reads each
 * list when a node takes it, and fmt_loom_spans_check the others); NULL when it cannot cut
 * it exactly (then *sp is empty). */
char   *fmt_loom_cut_responses(jscan_cur *c, int depth, size_t *outlen, fmt_loom_spans *sp);
/* Lazy span i read: by the strict parser into *one (emptied first; *out tells where its
 * tokens are, as a span that is not lazy does), 1; else by jansson into the span's json, 0;
 * -1 when it is not JSON (the document is not).  A span read before gives the same again. */
int     fmt_loom_span_read(fmt_loom_spans *sp, size_t i, fmt_loom_spans *one, fmt_lspan *out);
/* fmt_loom_span_read's strict parser alone: 1 when it takes the span's bytes (into *one and
 * *out as there), 0 when it leaves them to jansson.  Changes nothing shared (any thread). */
int     fmt_loom_span_parse(const fmt_lspan *span, fmt_loom_spans *one, fmt_lspan *out);
/* Every lazy span no node took read: 0, or -1 when one is not JSON. */
int     fmt_loom_spans_check(fmt_loom_spans *sp);
/* A list the strict parser read made into node token storage n (a tree's node or a staging
 * node, any thread), as tree_append_token makes them, alternatives sorted by logprob; *form
 * and *base as add_tokens gives them.  Returns how many tokens had a logprob above 0. */
size_t  fmt_loom_tokens_into(tree_node *n, const fmt_loom_spans *sp, const fmt_lspan *span,
                             int *form, long long *base);

/* The lazy lists of sp read and made into node token storage by a helper thread while the
 * scan and the conversion go on (core/formats_loom_pre.c); the work is shared, so every
 * list is read once, by whichever thread comes to it first.  sp->s must not change while it
 * runs (the cut is done).  fmt_loom_pre_start sets sp->pre (left NULL when there is no
 * thread: the conversion then reads every list itself); the helper runs first(ud) (when
 * given) before the lists, unless fmt_loom_pre_first comes to it before: that call returns
 * once first(ud) is done, by the helper or else by itself (also without a helper).
 * fmt_loom_pre_take: span i's made
 * tokens moved into *made (zeroed before; *form, *base, *positive as fmt_loom_tokens_into
 * gives them), 1; 0 when the caller is to read it (the helper did not, or its strict parser
 * left the list to jansson).  fmt_loom_pre_finish waits until the helper has come to every
 * list (a test hook: each list it takes is then made there).  fmt_loom_pre_stop stops and
 * joins the helper and frees what no node took (fmt_loom_spans_free calls it). */
typedef void (*fmt_loom_job)(void *ud);
void    fmt_loom_pre_start(fmt_loom_spans *sp, fmt_loom_job first, void *ud);
void    fmt_loom_pre_first(fmt_loom_spans *sp, fmt_loom_job first, void *ud);
int     fmt_loom_pre_take(fmt_loom_spans *sp, size_t i, tree_node *made, int *form,
                          long long *base, size_t *positive);
void    fmt_loom_pre_finish(fmt_loom_spans *sp);
void    fmt_loom_pre_stop(fmt_loom_spans *sp);

/* A socketteer/loom document {"root": {...}, ...} read straight from its bytes
 * (core/formats_loom_scan.c): every node's record added to rs in the order the walk of
 * fmt_import_loom adds them (fmt_loom_node on the node without "children" and "text", those
 * two read by the scanner), *rest the document without "root" (its model_responses' token
 * lists cut into *sp as fmt_loom_split cuts them), *hold the nodes' objects (records
 * borrow them).  1 when it read it all; 0 when it does not take the document (anything
 * unusual: invalid JSON, an escaped or repeated key on the way, nesting near jansson's
 * limit, a node field of the wrong type), with rs, *rest, *hold and *sp emptied: then the
 * whole-document parse gives the answer or the error. */
int     fmt_loom_scan(const char *data, size_t len, fmt_recs *rs, json_t **rest, json_t **hold,
                      fmt_loom_spans *sp);

/* The importers (core/formats_loom.c, core/formats_import.c). Each fills t, *cursor, and the
 * top-level kept fields (*extra, a new object) — or returns an error. */
typedef struct {
    tree        *t;
    int32_t      cursor;
    json_t      *extra;       /* top-level kept fields */
    gen_settings *settings;   /* settings the file names are applied here */
    fmt_loom_spans *loom_spans;   /* the cut-out tokens (fmt_loom_split, fmt_loom_scan), or NULL */
} fmt_out;
int fmt_import_loom(json_t *doc, fmt_recs *rs, fmt_out *out);
/* The two halves of fmt_import_loom.  fmt_loom_node: record idx (added, empty but for the
 * text the caller may have read) filled from the node object (its "children" are left to
 * the caller), parent as in fmt_rec; FORMATS_ERR_INPUT with the message when a field has
 * the wrong type.  fmt_loom_convert: the records made into out->t,
 * tokens joined from model_responses; rooted: doc is {"root": ..., the rest} (its
 * "root" need not be in doc: only the rest is read). */
int fmt_loom_node(fmt_recs *rs, size_t idx, json_t *node, int32_t parent);
int fmt_loom_convert(json_t *doc, int rooted, fmt_recs *rs, fmt_out *out);
int fmt_import_loomsidian(json_t *doc, fmt_recs *rs, fmt_out *out, const char *note);
int fmt_import_miniloom(json_t *doc, fmt_recs *rs, fmt_out *out);
int fmt_import_bonsai(json_t *doc, fmt_recs *rs, fmt_out *out);
#endif
