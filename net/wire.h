/* net/wire.h — what goes over the wire for the HTTP backends (see ../shared/API.md):
 * request bodies for OpenAI completions, OpenAI chat and llama.cpp's native /completion,
 * and parsers for their responses, streamed chunks and error bodies.
 *
 * Parsers never fail hard: anything unexpected becomes WIRE_BAD or is skipped.  They report
 * through a sink, per choice index (0 for llama.cpp native).  Token texts are the text the
 * server released at that step (llama.cpp may release "" and carry the text later); when a
 * token's text is lossy (U+FFFD, OpenAI's "bytes:\xNN" form) its exact `bytes` are used.
 * Logprobs at or below -9999 (llama.cpp sends -FLT_MAX) mean probability 0 and are
 * reported as -9999; probabilities (llama.cpp post_sampling_probs) become natural logs.
 * Alternatives come most probable first. */
#ifndef NET_WIRE_H
#define NET_WIRE_H
#include "core/settings.h"
#include "core/tree.h"
#include <stddef.h>

typedef enum { WIRE_OPENAI, WIRE_CHAT, WIRE_LLAMACPP } wire_kind;

typedef struct {
    void (*token)(void *ud, int choice, const char *text, size_t len, double logprob,
                  const tree_alt *top, size_t ntop);
    void (*text)(void *ud, int choice, const char *text, size_t len);
    void (*finish)(void *ud, int choice, const char *reason);   /* stop, length, ... */
    /* choice -1: the whole response failed.  message: the server's own words. */
    void (*error)(void *ud, int choice, const char *message);
    void (*model)(void *ud, const char *model);
    void *ud;
} wire_sink;

enum { WIRE_OK = 0, WIRE_END = 1, WIRE_BAD = -1, WIRE_ERROR = -2 };

#define WIRE_LOGPROB_ZERO (-9999.0)
#define WIRE_MAX_TOP 64

/* The endpoint path appended to the base URL ("/completions", ...). */
const char *wire_path(wire_kind kind);
int  wire_kind_parse(const char *backend, wire_kind *out);   /* 0 ok, -1 unknown */
/* The JSON body.  n > 1 asks for n choices; seed_mode 0: no seed, 1: send `seed`.
 * s->extra_json is merged last.  NULL with err when extra_json is not a JSON object. */
char *wire_body(wire_kind kind, const gen_settings *s, const char *context, size_t len,
                int n, int seed_mode, long long seed, int stream, char *err, size_t errlen);
/* One streamed event's data.  WIRE_END for "[DONE]" or a llama.cpp chunk with stop:true
 * (after reporting its contents); WIRE_ERROR after sink.error for {"error": ...}. */
int  wire_parse_chunk(wire_kind kind, const char *data, size_t len, const wire_sink *sink);
/* A whole non-streamed body (also what a server sends when it ignores "stream"). */
int  wire_parse_body(wire_kind kind, const char *body, size_t len, const wire_sink *sink);
/* Scoring given text (API.md "Scoring given text"): the prompt (context + text) sent with
 * WIRE_SCORE_ECHO {"echo": true, "logprobs": k, "max_tokens": 0} (OpenAI legacy
 * completions; vLLM too) or WIRE_SCORE_PROMPT_LOGPROBS {"prompt_logprobs": k,
 * "max_tokens": 1} (vLLM's own).  Not streamed; extra_json merged last. */
typedef enum { WIRE_SCORE_ECHO, WIRE_SCORE_PROMPT_LOGPROBS } wire_score_mode;
char *wire_score_body(wire_score_mode mode, const gen_settings *s, const char *prompt, size_t len,
                      int k, char *err, size_t errlen);
/* A scoring answer: each prompt token through sink.token (choice 0) in order, the first
 * with a NAN logprob when the server gives none; vLLM's choices[0].prompt_logprobs when
 * present, else the echoed choices[0].logprobs (tokens at text_offset >= prompt_len, which
 * the server generated, are left out).  WIRE_BAD when neither is usable; WIRE_ERROR after
 * sink.error for {"error": ...}. */
int  wire_parse_scored(const char *body, size_t len, size_t prompt_len, const wire_sink *sink);
/* The server's own message and code from an error body ({"error": {"message", "code"}},
 * {"error": "..."}, {"detail": ...}, or the first line of plain text).  Either may be
 * NULL on return; caller frees both.  The message is one line, at most ~300 bytes. */
void wire_error_info(const char *body, size_t len, char **message, char **code);
/* Copies text to one printable line (control characters → spaces, cut at max bytes on a
 * character boundary). Caller frees. */
char *wire_one_line(const char *text, size_t len, size_t max);
#endif
