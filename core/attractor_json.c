/* core/attractor_json.c — the detected attractors as JSON (see attractor.h). */
#include "core/attractor.h"
#include <jansson.h>

json_t *attractor_list_json(const attractor *l, size_t n, tree *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *mem = json_array();
        for (size_t k = 0; k < l[i].nmembers; k++)
            if (!t || tree_get(t, l[i].members[k]))
                json_array_append_new(mem, json_integer(l[i].members[k]));
        if (!json_array_size(mem)) {
            json_decref(mem);
            continue;
        }
        json_array_append_new(arr, json_pack("{s:s,s:o,s:I,s:f,s:s}",
            "kind", l[i].kind == ATTRACTOR_PHRASE ? "phrase" : "continuation", "members", mem,
            "support", (json_int_t)l[i].support, "score", l[i].score, "text", l[i].text ? l[i].text : ""));
    }
    return arr;
}
