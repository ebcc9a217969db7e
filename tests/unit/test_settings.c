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
    settings_free(&s);
}
