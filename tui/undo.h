/* tui/undo.h — undo and redo of every change the TUI makes to the tree.
 *
 * Contract:
 *  - A step is what one key did (add, edit, delete, mark, bookmark, fold) or one generation
 *    (every branch one request streamed, recorded when the request starts and completed when
 *    it ends).  Each op keeps the state before and after, so undo then redo gives back the
 *    very tree it took: nodes are taken away with tree_delete, which keeps their slot and
 *    their subtree, and put back where they were with tree_undelete.
 *  - Everything goes through core/tree.c, so the observers (analysis, autosave) hear of it.
 *  - A new change drops the steps that could be redone.  Undoing a generation still
 *    streaming cancels the generations in flight first (their branches are kept, then taken
 *    back as the step).
 *  - Handlers return APP_CH_* flags and never draw. */
#ifndef TUI_UNDO_H
#define TUI_UNDO_H
#include "tui/app.h"

typedef struct undo_log undo_log;

void undo_free(undo_log *u);
/* Records a change just made.  before: the cursor before it (the cursor now is the one after). */
void undo_added(app *a, int32_t id, int32_t before);             /* a node added (with what it holds) */
void undo_deleted(app *a, int32_t id, int index, int32_t before); /* tree_delete gave index */
void undo_content(app *a, int32_t id, tree_content *old);        /* takes old; the new one is read now */
void undo_marks(app *a, int32_t id, unsigned old);
void undo_fold(app *a, int32_t id, int was_folded);
/* A generation under parent started as request (grow_start's id); was_folded: parent was
 * folded before.  undo_generation_end: the request ended, its branches are nodes[0..k). */
void undo_generation(app *a, int request, int32_t parent, int was_folded);
void undo_generation_end(app *a, int request, const int32_t *nodes, int k);
unsigned undo_undo(app *a);
unsigned undo_redo(app *a);
#endif
