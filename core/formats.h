/* core/formats.h — other looms' files in, analysis formats out.
 *
 * Import (format detected from the content, never from the file name):
 *   - socketteer/loom tree JSON: {"root": node} with nested "children", a bare root node, a
 *     list of children, or a flat list linked by "parent_id"/"parentId"; tokens and logprobs
 *     from "model_responses" (joined through node "generation": {id, index}) or from the
 *     older per-node "meta.generation.logprobs" (OpenAI legacy shape);
 *   - loomsidian data.json: state[notePath].nodes{id: {text, parentId, ...}} (one note);
 *   - miniloom: loomTree.nodeStore{id: {parent, children, type, patch|text, ...}}, text
 *     rebuilt by applying each node's diff-match-patch patches to its parent's text;
 *   - bonsai-style flat lists of nodes with "parentIds" (first parent is the tree parent).
 * Fields termloom does not use are kept in node->extra / session extra under one key named
 * after the format ("loom", "loomsidian", "miniloom", "bonsai"), so a loom export gives them
 * back.  Nothing recurses on the C stack; nesting is bounded by the JSON parser (2048).
 * A loom tree's token lists (nearly all of the file) are cut out before jansson builds the
 * rest and read by a strict parser; the result is what the whole-document parse gives
 * (test hooks: TERMLOOM_IMPORT_PARSER=document parses the whole document instead, =cut
 * fails an import whose token lists were not cut out, =helper has the scanner's helper
 * thread read every token list it can before the conversion starts).
 * On any error the session is untouched and err holds one line "FILE: problem".
 *
 * Export: json (the session file), loom (a tree socketteer/loom opens, tokens in
 * model_responses), jsonl (one line per node and per token), md (a path's text), dot
 * (Graphviz).  Exporters build the whole output in memory; callers write it with
 * savefile_write so a failure never leaves a partial file. */
#ifndef CORE_FORMATS_H
#define CORE_FORMATS_H
#include <stddef.h>
#include <stdint.h>
#include "core/session.h"

typedef enum {
    FORMATS_UNKNOWN, FORMATS_SESSION, FORMATS_LOOM, FORMATS_LOOMSIDIAN, FORMATS_MINILOOM,
    FORMATS_BONSAI
} formats_kind;

enum {                       /* return values of the import functions */
    FORMATS_OK = 0,
    FORMATS_ERR_INPUT = -1,  /* bad or unknown input: exit 1 */
    FORMATS_ERR_USAGE = -2,  /* the caller must choose (loomsidian note): exit 2 */
};

typedef struct {
    const char *note;        /* loomsidian: the note path to import; NULL = the only one */
    /* When set: one line of what was kept out ("the tokens of 3 nodes: counterfactuals is
     * not an object of token: logprob (first: node "a1")"; "; " between kinds), or "". */
    char       *summary;
    size_t      summarylen;
} formats_opts;

const char *formats_kind_name(formats_kind k);

/* The first bytes of a file (up to 4 KB) name a termloom session (`"format":
 * "termloom-session"` outside strings): formats_import_* would load it with session_load. */
int formats_is_session(const char *data, size_t len);
/* The same of a file's first 4 KB (0 when it cannot be read). */
int formats_file_is_session(const char *path);
/* Imports a foreign file already in memory into s (which session_init prepared; its tree,
 * cursor, extra and the settings the file names are replaced).  name is used in messages.
 * *kind (may be NULL) receives the detected format.  Returns FORMATS_OK or an error. */
int formats_import_mem(const char *data, size_t len, const char *name, const formats_opts *o,
                       session *s, formats_kind *kind, char *err, size_t errlen);
int formats_import_file(const char *path, const formats_opts *o, session *s,
                        formats_kind *kind, char *err, size_t errlen);
/* Opens a termloom session or any importable file (the TUI's `termloom FILE`). */
int formats_load_any(const char *path, session *s, char *err, size_t errlen);

/* Opening any file formats_load_any opens, without waiting (the TUI's `termloom FILE`): a
 * termloom session is read a slice at a time (session_open_*: after each step s holds the
 * tree so far); any other file is imported by formats_import_file on a thread of its own,
 * which then writes the imported session to save_to (when given, and only for a file that
 * is not a session), while s stays as session_init left it.  begin never fails (an error
 * comes from a step).  step: 1 while there is more, 0 when s is whole (the imported session
 * moved into it), -1 with err (one line; s as it was).  progress 0..1; nodes: read so far
 * (0 while a thread imports).  kind: the file's format (known when whole), *summary what
 * the import left out ("" when nothing), *saved 1 when save_to was written.  free while a
 * thread still imports lets it finish alone, writing nothing.  Test hook:
 * TERMLOOM_IMPORT_DELAY=SECONDS makes the thread wait that long before it begins. */
typedef struct formats_opener formats_opener;
formats_opener *formats_open_begin(session *s, const char *path, const formats_opts *o,
                                   const char *save_to, char *err, size_t errlen);
int    formats_open_step(formats_opener *op, session *s, double seconds, char *err, size_t errlen);
int    formats_open_sliced(const formats_opener *op);      /* 1: a session read in slices */
double formats_open_progress(const formats_opener *op);
size_t formats_open_nodes(const formats_opener *op);
formats_kind formats_open_kind(const formats_opener *op, const char **summary, int *saved);
session_opener *formats_open_session(formats_opener *op);  /* the slices' opener, or NULL */
void   formats_open_free(formats_opener *op);

typedef enum { FORMATS_OUT_JSON, FORMATS_OUT_LOOM, FORMATS_OUT_JSONL, FORMATS_OUT_MD,
               FORMATS_OUT_DOT } formats_out;
/* "json", "loom", "jsonl", "md", "dot" → 0; -1 when unknown. */
int formats_out_parse(const char *name, formats_out *out);
/* The export as bytes (caller frees), or NULL with err.
 * md: the text of one path, after a first line saying which (an HTML comment,
 * "<!-- termloom: ... -->").  The path ends at node; with TREE_NONE at the session's cursor
 * when that is not the root, else (a tree grown by `gen`, or the cursor moved back to the
 * root) at the deepest visited node, else at the deepest node; among equally deep ones the
 * newest (the highest id: ids are given in creation order). */
char *formats_export(const session *s, formats_out f, int32_t node, size_t *len,
                     char *err, size_t errlen);

/* Applies diff-match-patch patches (the JSON array of patch objects, or the patch_toText
 * form "@@ -a,b +c,d @@" with %-encoded lines) to text.  Returns the new text (caller
 * frees, *outlen its length) or NULL with a reason in err.  Exposed for tests. */
char *formats_patch_apply(const void *patch_json, const char *text, size_t len, size_t *outlen,
                          char *err, size_t errlen);
#endif
