/* core/hash.h — the program's one home for hashing: the 64-bit mixers, FNV-1a over bytes,
 * and a u64 → u32 open-addressing map.  Everything is inline and pure.
 *
 * The functions are fixed forever: seeds (grow_seed), minhash signatures and n-gram tables
 * are derived from them, so changing one changes what a seeded run samples.  Keys of
 * hash_map are whole 64-bit hashes; a caller whose keys can collide keeps its own check. */
#ifndef CORE_HASH_H
#define CORE_HASH_H
#include "core/mem.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HASH_GOLDEN 0x9e3779b97f4a7c15ull   /* 2^64 / phi: splitmix's increment */
/* FNV-1a's published offset basis is 14695981039346656037; termloom has always started from
 * 1469598103934665603 (that number with its last digit lost).  It hashes as well, and the
 * embedded models' per-branch random streams are derived from it, so it stays. */
#define HASH_FNV_OFFSET 1469598103934665603ull
#define HASH_FNV_PRIME 1099511628211ull

/* MurmurHash3's 64-bit finalizer; never 0 (0 marks an empty hash_map slot). */
static inline uint64_t hash_fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x ? x : 1;
}

/* splitmix64's output function (Stafford's mix 13), without the increment. */
static inline uint64_t hash_mix13(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* splitmix64 of one value: the output for state x, i.e. hash_mix13(x + HASH_GOLDEN). */
static inline uint64_t hash_mix64(uint64_t x)
{
    return hash_mix13(x + HASH_GOLDEN);
}

/* One splitmix64 step: advances *state and returns the next output. */
static inline uint64_t hash_splitmix64(uint64_t *state)
{
    *state += HASH_GOLDEN;
    return hash_mix13(*state);
}

/* FNV-1a (64-bit) of n bytes, continuing from h (start with HASH_FNV_OFFSET, or with the
 * published basis for interchange). */
static inline uint64_t hash_fnv1a_from(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * HASH_FNV_PRIME;
    return h;
}

static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
    return hash_fnv1a_from(HASH_FNV_OFFSET, p, n);
}

/* FNV-1a with a light finish (xor-shift, a multiply by the golden ratio, xor-shift), so
 * the low bits mix the whole string: the merge's word and text hashes. */
static inline uint64_t hash_fnv1a_mixed(const void *p, size_t n)
{
    uint64_t h = hash_fnv1a(p, n);
    h ^= h >> 31;
    h *= HASH_GOLDEN;
    return h ^ (h >> 29);
}

/* ---- a u64 → u32 map: linear probing, backward-shift deletion; key 0 is "empty" ----
 * Keys are already hashes (mix them with hash_fmix64 first).  A slot keeps its key and value together (12 bytes), so a lookup costs one cache miss. */

typedef struct {
    uint32_t lo, hi, v;
} hash_slot;

typedef struct {
    hash_slot  *s;
    size_t  cap, n;       /* cap is a power of two */
} hash_map;

static inline uint64_t hash_slot_key(const hash_slot *e) { return (uint64_t)e->hi << 32 | e->lo; }
static inline void hash_slot_set(hash_slot *e, uint64_t key) { e->lo = (uint32_t)key; e->hi = (uint32_t)(key >> 32); }
static inline int hash_slot_used(const hash_slot *e) { return (e->lo | e->hi) != 0; }

static inline void hash_map_free(hash_map *m)
{
    free(m->s);
    memset(m, 0, sizeof *m);
}

/* Empties the map, keeping its table. */
static inline void hash_map_clear(hash_map *m)
{
    if (m->cap)
        memset(m->s, 0, m->cap * sizeof *m->s);
    m->n = 0;
}

static inline uint32_t *hash_map_get(const hash_map *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = key & mask; hash_slot_used(&m->s[i]); i = (i + 1) & mask)
        if (hash_slot_key(&m->s[i]) == key)
            return &m->s[i].v;
    return NULL;
}

static inline void hash_map_grow(hash_map *m)
{
    hash_map o = *m;
    m->cap = o.cap ? o.cap * 2 : 64;
    m->s = xcalloc_table(m->cap, sizeof *m->s);   /* huge pages for a big table */
    size_t mask = m->cap - 1;
    for (size_t i = 0; i < o.cap; i++)
        if (hash_slot_used(&o.s[i])) {
            size_t j = hash_slot_key(&o.s[i]) & mask;
            while (hash_slot_used(&m->s[j]))
                j = (j + 1) & mask;
            m->s[j] = o.s[i];
        }
    free(o.s);
}

/* Starts loading key's home slot into the cache: a caller with several keys in hand
 * prefetches them all first, so their cache misses overlap. */
static inline void hash_map_prefetch(const hash_map *m, uint64_t key)
{
    if (m->cap)
        mem_prefetch(&m->s[key & (m->cap - 1)]);
}

/* Sizes a map for about n keys: an empty one gets its table at once (doubling up to it
 * would allocate and clear every size on the way), a full one grows as it always has (its
 * slots then land where the doublings put them). */
static inline void hash_map_reserve(hash_map *m, size_t n)
{
    size_t cap = 64;
    while (cap * 3 < n * 4)
        cap *= 2;
    if (cap <= m->cap)
        return;
    if (!m->n) {
        free(m->s);
        m->cap = cap;
        m->s = xcalloc_table(cap, sizeof *m->s);
        return;
    }
    while (m->cap < cap)
        hash_map_grow(m);
}

static inline uint32_t *hash_map_put(hash_map *m, uint64_t key, int *isnew)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        hash_map_grow(m);
    size_t mask = m->cap - 1, i = key & mask;
    for (; hash_slot_used(&m->s[i]); i = (i + 1) & mask)
        if (hash_slot_key(&m->s[i]) == key) {
            *isnew = 0;
            return &m->s[i].v;
        }
    hash_slot_set(&m->s[i], key);
    m->s[i].v = 0;
    m->n++;
    *isnew = 1;
    return &m->s[i].v;
}

static inline void hash_map_del(hash_map *m, uint64_t key)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = key & mask;
    while (hash_slot_used(&m->s[i]) && hash_slot_key(&m->s[i]) != key)
        i = (i + 1) & mask;
    if (!hash_slot_used(&m->s[i]))
        return;
    m->s[i] = (hash_slot){0};
    m->n--;
    for (size_t j = (i + 1) & mask; hash_slot_used(&m->s[j]); j = (j + 1) & mask) {
        size_t home = hash_slot_key(&m->s[j]) & mask;
        /* move j back into the hole at i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->s[i] = m->s[j];
            m->s[j] = (hash_slot){0};
            i = j;
        }
    }
}
#endif
