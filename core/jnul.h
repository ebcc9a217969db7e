/* core/jnul.h — JSON from servers and files with untrusted bytes: NUL included everywhere,
 * and bytes that are not UTF-8 written out as a string that always exists.
 *
 * jansson reads "\u0000" inside string values with JSON_ALLOW_NUL but refuses it inside an
 * object key, and real data has such keys: OpenAI's legacy top_logprobs and socketteer/loom's
 * counterfactuals are objects keyed by token text, and a token can be the byte 0.
 * jnul_loadb parses with JSON_ALLOW_NUL and, only when that fails on a document holding
 * "\u0000", parses it again with each such escape inside a key replaced by U+10FFFF (a
 * noncharacter, never a real token).  jnul_key gives a key's true bytes back (U+10FFFF → NUL);
 * callers that read keys as text use it.  Nothing else changes: values keep their NULs. */
#ifndef CORE_JNUL_H
#define CORE_JNUL_H
#include <jansson.h>
#include <stddef.h>

json_t *jnul_loadb(const char *data, size_t len, size_t flags, json_error_t *err);
/* A key's bytes (NUL-terminated copy, caller frees; *len without the terminator). */
char   *jnul_key(const char *key, size_t *len);
/* The other way: bytes that may not be valid UTF-8 (a token cut inside a character) as a
 * JSON string, invalid bytes as U+FFFD, NUL kept; never NULL (json_stringn would fail). */
json_t *jnul_string(const char *s, size_t len);
#endif
