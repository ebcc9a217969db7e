#include "tests/test.h"
#include "core/settings.h"
#include <stdlib.h>

TEST(settings_defaults_and_set)
{
    gen_settings s;
    char err[256];
    settings_init(&s);
    CHECK_STR(s.backend, "builtin");
    CHECK_INT(s.branches, 4);
    CHECK_NEAR(s.merge_threshold, 0.8, 1e-12);
    CHECK_INT(settings_set(&s, "temperature", "0.7", err, sizeof err), 0);
    CHECK_NEAR(s.temperature, 0.7, 1e-12);
    CHECK_INT(settings_set(&s, "max-tokens", "12", err, sizeof err), 0);   /* flag spelling */
    CHECK_INT(s.max_tokens, 12);
    CHECK_INT(settings_set(&s, "temperature", "hot", err, sizeof err), -1);
    CHECK(strstr(err, "temperature") && strstr(err, "hot"));
    CHECK_INT(settings_set(&s, "branches", "0", err, sizeof err), -1);
    CHECK_INT(settings_set(&s, "backend", "gpt", err, sizeof err), -1);
    CHECK(strstr(err, "builtin"));
    CHECK_INT(settings_set(&s, "nonsense", "1", err, sizeof err), -1);
    CHECK(strstr(err, "nonsense"));
    settings_free(&s);
}

TEST(settings_stops_and_seed)
{
    gen_settings s, c;
    char err[256];
    settings_init(&s);
    for (int i = 0; i < 4; i++)
        CHECK_INT(settings_set(&s, "stop", "\n", err, sizeof err), 0);
    CHECK_INT(settings_set(&s, "stop", "x", err, sizeof err), -1);   /* at most 4 */
    CHECK_INT(s.nstop, 4);
    settings_set(&s, "stop", "", err, sizeof err);              /* empty clears the list */
    CHECK_INT(s.nstop, 0);
    CHECK_INT(settings_set(&s, "stop", "\\n\\n", err, sizeof err), 0);   /* --stop '\n\n' */
    CHECK_STR(s.stop[0], "\n\n");
    CHECK_INT(settings_set(&s, "stop", "a\\\\n\\x", err, sizeof err), 0);   /* a\\n\x: a backslash, n, \x */
    CHECK_STR(s.stop[1], "a\\n\\x");
    settings_set(&s, "stop", "", err, sizeof err);
    for (int i = 0; i < 4; i++)
        settings_set(&s, "stop", "\n", err, sizeof err);
    CHECK_INT(settings_set(&s, "seed", "42", err, sizeof err), 0);
    CHECK(s.has_seed && s.seed == 42);
    settings_copy(&c, &s);
    settings_free(&s);
    CHECK_INT(c.nstop, 4);
    CHECK_STR(c.stop[3], "\n");
    char *v = settings_get(&c, "seed");
    CHECK_STR(v, "42");
    free(v);
    settings_free(&c);
}

TEST(settings_spec)
{
    gen_settings s;
    char err[256];
    settings_init(&s);
    CHECK_INT(settings_apply_spec(&s, "backend=openai,model=m-1,temperature=0.2", err, sizeof err), 0);
    CHECK_STR(s.backend, "openai");
    CHECK_STR(s.model, "m-1");
    CHECK_NEAR(s.temperature, 0.2, 1e-12);
    CHECK_INT(settings_apply_spec(&s, "temperature=hot", err, sizeof err), -1);
    CHECK(strstr(err, "hot") != NULL);
    CHECK_INT(settings_apply_spec(&s, "model", err, sizeof err), -1);
    CHECK(strstr(err, "key=value") != NULL);
    settings_free(&s);
}

TEST(settings_config_file)
{
    gen_settings s;
    char err[256], *key = NULL;
    settings_init(&s);
    const char *cfg = "# comment\nmodel = tiny\n[generation]\ntemperature=0.5\nstop = \"\\n\\n\"\n"
                      "api_key = sk-secret\n[keys]\nquit = Q\n";
    CHECK_INT(settings_parse_config(&s, cfg, strlen(cfg), "cfg", 1, &key, NULL, NULL, err, sizeof err), 0);
    CHECK_STR(s.model, "tiny");
    CHECK_NEAR(s.temperature, 0.5, 1e-12);
    CHECK_STR(s.stop[0], "\n\n");
    CHECK_STR(key, "sk-secret");
    free(key);
    key = NULL;
    /* A key in a file others can read is refused, and the message does not repeat it. */
    CHECK_INT(settings_parse_config(&s, cfg, strlen(cfg), "cfg", 0, &key, NULL, NULL, err, sizeof err), -1);
    CHECK(key == NULL && strstr(err, "chmod") && !strstr(err, "sk-secret"));
    const char *bad = "model tiny\n";
    CHECK_INT(settings_parse_config(&s, bad, strlen(bad), "cfg", 1, NULL, NULL, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "cfg:1") != NULL);
    /* A byte-order mark is not part of the first setting's name. */
    const char *bom = "\xef\xbb\xbfmodel = bom\n";
    CHECK_INT(settings_parse_config(&s, bom, strlen(bom), "cfg", 1, NULL, NULL, NULL, err, sizeof err), 0);
    CHECK_STR(s.model, "bom");
    /* An unterminated quote is refused, naming the line and the setting. */
    const char *open_q = "model = x\nstop = \"abc\n";
    CHECK_INT(settings_parse_config(&s, open_q, strlen(open_q), "cfg", 1, NULL, NULL, NULL, err, sizeof err), -1);
    CHECKF(strstr(err, "cfg:2: stop: the quoted value is not closed") != NULL, "%s", err);
    const char *esc_q = "stop = \"abc\\\"\n";                  /* the last quote is escaped */
    CHECK_INT(settings_parse_config(&s, esc_q, strlen(esc_q), "cfg", 1, NULL, NULL, NULL, err, sizeof err), -1);
    /* A bad extra_json is the config's error, with its line, not a later "--extra-json". */
    const char *xj = "\n\nextra_json = {\"a\": \n";
    CHECK_INT(settings_parse_config(&s, xj, strlen(xj), "cfg", 1, NULL, NULL, NULL, err, sizeof err), -1);
    CHECKF(strstr(err, "cfg:3: extra_json: not a JSON object") != NULL, "%s", err);
    const char *xj2 = "extra_json = [1]\n";
    CHECK_INT(settings_parse_config(&s, xj2, strlen(xj2), "cfg", 1, NULL, NULL, NULL, err, sizeof err), -1);
    const char *xj3 = "extra_json = {\"min_p\": 0.1}\n";
    CHECK_INT(settings_parse_config(&s, xj3, strlen(xj3), "cfg", 1, NULL, NULL, NULL, err, sizeof err), 0);
    settings_free(&s);
}
