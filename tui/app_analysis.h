/* tui/app_analysis.h — the analysis of the tree, owned by tui/app_analysis.c: the merge
 * index (merge view, groups), the attractor index with its detected list, and the nodes
 * marked as attractors by hand.
 *
 * Contract:
 *  - app_analysis (a->an) is written only by app_analysis.c, except `dirty` (raised by the
 *    tree observer), the navigation place (`nav`, `nav_id`, kept by app_find.c's jumps) and
 *    `group_pending` (a panel asks for a huge fan-out to be grouped); the panels read it.
 *  - The analysis never blocks a key: indexing a big tree, listing the attractors and
 *    grouping a huge fan-out all run in main-loop slices (app_analysis_step, every turn).
 *  - While the session is still being read (a->save.loading) there is no analysis;
 *    app_init_analysis starts it when the tree is whole. */
#ifndef TUI_APP_ANALYSIS_H
#define TUI_APP_ANALYSIS_H
#include <stddef.h>
#include <stdint.h>

typedef struct app app;

/* One row of the attractor list: a node to jump to (its first member), a label ("5 in 4
 * contexts ", "phrase, 5 in 4 contexts "), a phrase's chance-null figures shown after the
 * label where the row has room ("(0.01 expected, p 3e-09) "; else empty), the text to show
 * (NULL: the node's text) and its members (ascending ids). */
typedef struct {
    int32_t id;
    char label[48];
    char note[48];
    const char *text;
    const int32_t *members;
    size_t nmembers;
} app_attractor_item;

typedef struct app_analysis {
    struct merge_index *merge;
    struct attractor_index *attr;     /* detected attractors (NULL: tree too big) */
    uint8_t     *member;        /* per node id: 1 member of a continuation attractor, 2 of a phrase */
    size_t       member_cap;
    app_attractor_item *items;  /* the detected list as of the last refresh, best first */
    size_t       nitems;
    size_t       total;         /* detected attractors in that list (it may hold fewer) */
    int          dirty;         /* the tree changed since the last refresh */
    double       last, cost;    /* when the list was last refreshed, and what that took */
    size_t       slice;         /* nodes indexed per turn (adapted to APP_ATTR_SLICE) */
    int32_t      group_pending; /* a node whose many children are being grouped in slices */
    size_t       list_slice;    /* listing units per turn (adapted to APP_ATTR_SLICE) */
    double       list_spent;    /* seconds the listing in progress has taken */
    size_t       nav;           /* the attractor A / ] last went to (index in the list) */
    int32_t      nav_id;        /*   and its first member, to know it again (TREE_NONE: none) */
    /* nodes marked as attractors by hand (kept in step with the marks) */
    int32_t     *marked;
    size_t       nmarked, capmarked;
} app_analysis;

/* The empty state, before there is a whole tree to analyse (app_init_view). */
void     app_analysis_none(app *a);
/* Starts the merge and attractor indexes, the tree observer and the hand marks for the
 * tree in a->ses (when it is whole). */
void     app_init_analysis(app *a);
/* One turn's share of the work: grouping, indexing, listing, refreshing when due. */
void     app_analysis_step(app *a, double now);
/* The loop must not sleep: some analysis is under way. */
int      app_analysis_busy(const app *a);
void     app_analysis_free(app *a);
/* The merge threshold setting changed: the indexes follow it. */
void     app_analysis_threshold(app *a);
/* Attractor: marked by hand or detected. */
int      app_is_attractor(app *a, int32_t id);
/* The attractor list, best first (detected, then marked by hand).  Returns the count. */
size_t   app_attractor_items(app *a, app_attractor_item *out, size_t max);
/* Keeps the list of hand-marked attractors in step after id's mark changed. */
void     app_mark_changed(app *a, int32_t id);
/* The detected attractor list (refresh when the tree changed; clear frees it).  The list
 * is made in main-loop slices: app_attr_refresh begins it, app_attr_poll goes on (it
 * installs the list when done), app_attr_cancel gives it up. */
void     app_attr_refresh(app *a);
void     app_attr_poll(app *a);
void     app_attr_cancel(app *a);
void     app_attr_clear(app *a);
#endif
