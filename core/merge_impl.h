/* core/merge_impl.h — what merge.c and merge_words.c share, not for other modules. */
#ifndef CORE_MERGE_IMPL_H
#define CORE_MERGE_IMPL_H
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[i] into *cp and returns its length in bytes; an invalid byte
 * is returned as its negated value (length 1), so it still counts as a (non-space)
 * character and two different bad bytes stay different. */
size_t merge_next_cp(const char *s, size_t len, size_t i, int32_t *cp);
#endif
