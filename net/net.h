/* net/net.h — the HTTP backends: openai (POST {base}/completions), openai-chat
 * (POST {base}/chat/completions) and llamacpp (native POST {base}/completion), all on one
 * libcurl multi handle behind the backend interface (core/backend.h).
 *
 * - start() never blocks: it queues transfers; --concurrency caps those in flight.
 * - k branches: n=k in one request, chunks routed by choice index; when the server refuses
 *   n (HTTP 500 "Only one completion choice is allowed", a 400 naming n/n_cmpl) or answers
 *   fewer choices than asked, the missing branches go as separate requests with seeds
 *   seed+branch (or none), and that base URL is remembered for the backend's life (STATUS).
 * - Retries (408/409/429/5xx/529, dropped connections) with backoff, honouring
 *   Retry-After; only before a transfer delivered anything.  Idle timeout, no total one
 *   (TERMLOOM_IDLE_TIMEOUT seconds, default 120).
 * - Every failure is one line with the status and the server's own words; the API key is
 *   scrubbed from every message.  A failing branch keeps what it had (ERROR after tokens).
 * - Events only from pump(); cancel() stops a request's transfers at once and its branches
 *   end with ERROR "cancelled" on the next pump.
 * - Scoring given text (backend_score, core/backend.h): openai only — `echo` with
 *   max_tokens 0 (OpenAI legacy completions, vLLM), vLLM's `prompt_logprobs` when echo is
 *   refused with a 400/422; llama.cpp (backend=llamacpp, or its 500 "Unsupported param:
 *   echo") and openai-chat cannot, in one line.  See net_impl.h. */
#ifndef NET_NET_H
#define NET_NET_H
#include "core/backend.h"

backend *net_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen);
#endif
