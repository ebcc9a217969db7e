/* libFuzzer target: the config file parser. */
#include "core/settings.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gen_settings s;
    char err[256], *key = NULL;
    settings_init(&s);
    settings_parse_config(&s, (const char *)data, size, "fuzz", 1, &key, NULL, NULL, err, sizeof err);
    free(key);
    settings_free(&s);
    return 0;
}
