/* core/attractor_json.c — the detected attractors as JSON (see attractor.h). */
#include "core/attractor.h"
#include <jansson.h>
#include <math.h>

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
        int ph = l[i].kind == ATTRACTOR_PHRASE;
        json_array_append_new(arr, json_pack("{s:s,s:o,s:I,s:f,s:o,s:o,s:s}",
            "kind", ph ? "phrase" : "continuation", "members", mem,
            "support", (json_int_t)l[i].support, "score", l[i].score,
            "expected", ph ? json_real(l[i].expected) : json_null(),
            "p_value", ph ? json_real(l[i].log10_p < -300 ? 0 : pow(10, l[i].log10_p)) : json_null(),
            "text", l[i].text ? l[i].text : ""));
    }
    return arr;
}
