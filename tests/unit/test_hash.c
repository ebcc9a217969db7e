/* tests/unit/test_hash.c — core/hash: the mixers match their published definitions (seeds
 * and minhash signatures depend on them never changing), and the u64 → u32 map keeps,
 * finds and deletes keys through collisions and growth. */
#include "tests/test.h"
#include "core/hash.h"
#include "core/grow.h"
#include <stdlib.h>

TEST(hash_functions_match_their_reference_values)
{
    /* FNV-1a 64 test vectors from the algorithm's authors, from the published basis... */
    const uint64_t basis = 14695981039346656037ull;
    CHECK(hash_fnv1a_from(basis, "a", 1) == 0xaf63dc4c8601ec8cull);
    CHECK(hash_fnv1a_from(basis, "foobar", 6) == 0x85944171f73967e8ull);
    /* ...and from termloom's own (see hash.h), on which recorded seeds depend. */
    CHECK(hash_fnv1a("", 0) == 0x14650fb0739d0383ull);
    CHECK(hash_fnv1a("foobar", 6) == 0x88fad7c0a8ff07f2ull);
    CHECK(hash_fnv1a_from(hash_fnv1a("foo", 3), "bar", 3) == 0x88fad7c0a8ff07f2ull);
    /* splitmix64 seeded with 0: its first output. */
    uint64_t st = 0;
    CHECK(hash_splitmix64(&st) == 0xe220a8397b1dcdafull);
    CHECK(hash_mix64(0) == 0xe220a8397b1dcdafull);
    CHECK(hash_fmix64(1) == 0xb456bcfc34c2cb2cull);
    CHECK(hash_fmix64(0) == 1);   /* never the empty key */
    /* A seed recorded in a session must regenerate the same branch in any later version. */
    CHECK(grow_seed(5, 3, 0) == 2129086440LL);
}

TEST(hash_map_survives_collisions_growth_and_deletion)
{
    hash_map m = {0};
    int isnew;
    /* keys sharing their low bits collide in every table size below 2^20 */
    for (uint32_t i = 1; i <= 5000; i++)
        *hash_map_put(&m, (uint64_t)i << 20, &isnew) = i;
    CHECK(m.n == 5000);
    CHECK(*hash_map_put(&m, (uint64_t)77 << 20, &isnew) == 77 && !isnew);
    for (uint32_t i = 1; i <= 5000; i += 2)
        hash_map_del(&m, (uint64_t)i << 20);
    int ok = 1;
    for (uint32_t i = 1; i <= 5000; i++) {
        uint32_t *v = hash_map_get(&m, (uint64_t)i << 20);
        ok &= i % 2 ? v == NULL : (v && *v == i);
    }
    CHECK(ok);
    CHECK(m.n == 2500);
    hash_map_clear(&m);
    CHECK(hash_map_get(&m, (uint64_t)2 << 20) == NULL);
    hash_map_free(&m);
}
