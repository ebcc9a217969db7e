/* tests/fuzz/fuzz_theme.c — libFuzzer target: the theme parser never crashes, and a theme
 * it accepts keeps every colour in range. */
#include "tui/theme.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    theme th;
    char err[256];
    theme_defaults(&th);
    if (theme_parse((const char *)data, size, "fuzz", &th, err, sizeof err) == 0)
        for (int i = 0; i < THEME_COUNT; i++)
            if (th.slot[i].fg < -1 || th.slot[i].fg > 255 || th.slot[i].bg < -1 || th.slot[i].bg > 255)
                abort();
    return 0;
}
