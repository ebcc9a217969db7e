/* core/settings.h — generation settings: one table of options shared by the command line,
 * the config file, compare SPECs, the settings dialog and the session file.
 * The API key is deliberately not a setting: it can never reach a session file. */
#ifndef CORE_SETTINGS_H
#define CORE_SETTINGS_H
#include <stddef.h>

#define SETTINGS_MAX_STOP 4

typedef struct gen_settings {
    char  *backend;          /* builtin | ngram | openai | openai-chat | llamacpp */
    char  *base_url;
    char  *model;            /* builtin: base|tuned|rl|FILE.gguf (NULL: base); servers: name */
    int    branches;         /* k */
    int    max_tokens;
    double temperature;
    double top_p;
    int    top_k;            /* builtin: 0 = off */
    int    logprobs;         /* top-k alternatives requested; SETTINGS_LOGPROBS_ALL: the
                              * whole distribution (each backend sends its own maximum) */
    int    vocab_size;       /* V for entropy upper bounds; 0 = unknown (ask the server) */
    char  *stop[SETTINGS_MAX_STOP];
    int    nstop;
    long long seed;
    int    has_seed;
    int    concurrency;      /* transfers in flight */
    int    stream;
    char  *extra_json;       /* merged into every request body */
    double merge_threshold;
    int    chat_prefill;     /* openai-chat: path text as assistant prefill */
    char  *corpus;           /* ngram: training text; NULL = the shipped corpus */
    char  *theme;
    char  *reference_model;  /* TUI D tint: base|tuned|rl|FILE.gguf to compare tokens with */
} gen_settings;

typedef enum { SET_STR, SET_INT, SET_DBL, SET_BOOL, SET_STOP, SET_SEED } settings_type;

typedef struct {
    const char   *key;       /* config/SPEC/session key, e.g. "max_tokens" */
    const char   *flag;      /* long command-line flag without dashes, e.g. "max-tokens" */
    settings_type type;
    size_t        offset;
    double        min, max;  /* numeric range */
    int           saved;     /* stored in session files */
    const char   *help;
} settings_option;

extern const settings_option settings_options[];
extern const size_t settings_noptions;

void settings_init(gen_settings *s);              /* defaults */
void settings_free(gen_settings *s);
void settings_copy(gen_settings *dst, const gen_settings *src);
const settings_option *settings_find(const char *key_or_flag);
/* Sets one option from text.  0 ok; -1 with a one-line message in err ("temperature: 'hot'
 * is not a number"). */
int  settings_set(gen_settings *s, const char *key, const char *value, char *err, size_t errlen);
/* Adds a stop string as it is (settings_set("stop", …) first turns \n, \t, \r, \\ into the
 * characters, as a user typing a flag or a dialog means them).  Files use this. */
int  settings_add_stop(gen_settings *s, const char *stop, char *err, size_t errlen);
/* Applies "key=value,key=value" (compare SPECs). */
int  settings_apply_spec(gen_settings *s, const char *spec, char *err, size_t errlen);
/* The option's value as text (caller frees). */
char *settings_get(const gen_settings *s, const char *key);
/* Reads an INI-like config file: `key = value`, `#` comments, [section] lines ignored
 * except [keys] whose entries go to keys_cb.  api_key is returned in *api_key (caller
 * frees) only when the file is readable by its owner alone.  0 ok, -1 error in err. */
int  settings_load_config(gen_settings *s, const char *path, char **api_key,
                          void (*keys_cb)(void *ud, const char *action, const char *key), void *ud,
                          char *err, size_t errlen);
/* Same, from a string (tests, fuzzing). name is used in messages. */
int  settings_parse_config(gen_settings *s, const char *text, size_t len, const char *name,
                           int private_file, char **api_key,
                           void (*keys_cb)(void *ud, const char *action, const char *key), void *ud,
                           char *err, size_t errlen);
/* logprobs = all: the whole vocabulary where the backend can (builtin, llama.cpp), else the
 * API's maximum (OpenAI legacy completions 5, chat 20). */
#define SETTINGS_LOGPROBS_ALL 1000000
#endif
