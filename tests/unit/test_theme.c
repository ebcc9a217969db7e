/* Unit tests for the theme parser (tui/theme.c, no terminal needed). */
#include "tests/test.h"
#include "tui/theme.h"
#include <stdlib.h>
#include <sys/stat.h>

TEST(theme_parse_slots_colours_attributes)
{
    theme th;
    theme_defaults(&th);
    char err[256] = "";
    const char *text = "# comment\n\ncursor = black on cyan bold\nheat1 = 196   # red\n"
                       "dim = - dim\r\nerror = bright-white on 124 bold underline\n";
    CHECK_INT(theme_parse(text, strlen(text), "t", &th, err, sizeof err), 0);
    CHECK_INT(th.slot[THEME_cursor].fg, 0);
    CHECK_INT(th.slot[THEME_cursor].bg, 6);
    CHECK_INT(th.slot[THEME_cursor].attrs, THEME_BOLD);
    CHECK_INT(th.slot[THEME_heat1].fg, 196);
    CHECK_INT(th.slot[THEME_heat1].bg, -1);
    CHECK_INT(th.slot[THEME_dim].fg, -1);
    CHECK_INT(th.slot[THEME_dim].attrs, THEME_DIM);
    CHECK_INT(th.slot[THEME_error].fg, 15);
    CHECK_INT(th.slot[THEME_error].attrs, THEME_BOLD | THEME_UNDERLINE);
    /* Unnamed slots keep the built-in style. */
    CHECK_INT(th.slot[THEME_status].attrs, THEME_REVERSE);
}

TEST(theme_parse_errors_name_the_line)
{
    static const struct { const char *text, *want; } bad[] = {
        { "cursor = black\nnosuchslot = red\n", "t:2: unknown slot 'nosuchslot'" },
        { "cursor black\n", "t:1: expected" },
        { "cursor = 256\n", "t:1: '256' is not a colour" },
        { "cursor = red on\n", "t:1: 'on' needs a background" },
        { "cursor = on red\n", "t:1: 'on' goes between" },
        { "cursor = red blue\n", "t:1: write the background as 'FG on BG'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        theme th;
        theme_defaults(&th);
        char err[256] = "";
        CHECK_INT(theme_parse(bad[i].text, strlen(bad[i].text), "t", &th, err, sizeof err), -1);
        CHECKF(!strncmp(err, bad[i].want, strlen(bad[i].want)), "'%s' gave '%s'", bad[i].text, err);
    }
    theme th;
    theme_defaults(&th);
    char err[256];
    CHECK_INT(theme_parse("cursor = red\0x", 14, "t", &th, err, sizeof err), -1);   /* NUL byte */
}

TEST(theme_shipped_themes_parse)
{
    static const char *names[] = { "themes/dark.theme", "themes/light.theme", "themes/mono.theme" };
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        char *text = test_slurp(names[i], &len);
        REQUIRE(text != NULL);
        theme th;
        theme_defaults(&th);
        char err[256] = "";
        CHECKF(theme_parse(text, len, names[i], &th, err, sizeof err) == 0, "%s", err);
        free(text);
    }
}

TEST(theme_load_finds_user_theme_first)
{
    const char *dir = test_tmpdir();
    REQUIRE(dir != NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/termloom", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/termloom/themes", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/termloom/themes/dark.theme", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("cursor = 201 on 17\n", f);
    fclose(f);
    char *old = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    setenv("XDG_CONFIG_HOME", dir, 1);
    theme th;
    theme_defaults(&th);
    char err[256] = "";
    CHECK_INT(theme_load("dark", &th, err, sizeof err), 0);
    CHECK_INT(th.slot[THEME_cursor].fg, 201);
    CHECK_INT(th.slot[THEME_cursor].bg, 17);
    CHECK_INT(theme_load("no-such-theme", &th, err, sizeof err), -1);
    CHECK(strstr(err, "no-such-theme") != NULL);
    if (old) {
        setenv("XDG_CONFIG_HOME", old, 1);
        free(old);
    } else {
        unsetenv("XDG_CONFIG_HOME");
    }
}
