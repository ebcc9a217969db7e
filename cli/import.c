/* cli/import.c — `termloom import OTHER.json -o SESSION.json [--note PATH]`.
 * The format (socketteer/loom, loomsidian, miniloom, bonsai) is detected from the content;
 * the session is saved crash-safely, and nothing is written when the input is bad. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/formats.h"
#include "core/mem.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char import_usage[] =
    "usage: termloom import OTHER.json -o SESSION.json [--note PATH]\n"
    "  reads socketteer/loom trees, loomsidian data.json (--note chooses the note when it\n"
    "  holds several), miniloom files and bonsai node lists; -o - writes to standard output\n";

int cli_import(int argc, char **argv)
{
    cli_io io = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(import_usage, stdout);
            return CLI_OK;
        }
        if (cli_io_option(argc, argv, &i, "import", &io) < 0)
            return CLI_USAGE;
    }
    const char *in = io.in, *out = io.out, *note = io.note;
    if (!in)
        return cli_fail(CLI_USAGE, "import: no input file (termloom import OTHER.json -o SESSION.json)");
    if (!out)
        return cli_fail(CLI_USAGE, "import: -o SESSION.json is required (- for standard output)");
    struct stat si, so;   /* the README promises another loom's file is never replaced */
    if (strcmp(out, "-") && strcmp(in, "-") && stat(in, &si) == 0 && stat(out, &so) == 0 &&
        si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return cli_fail(CLI_USAGE, "import: %s and %s are the same file; choose another -o "
                        "(the original is never replaced)", in, out);
    char err[1024];
    session s;
    session_init(&s);
    char summary[1024];
    formats_opts o = { .note = note, .summary = summary, .summarylen = sizeof summary };
    int rc = formats_import_file(in, &o, &s, NULL, err, sizeof err);
    if (rc != FORMATS_OK) {
        session_free(&s);
        return cli_fail(rc == FORMATS_ERR_USAGE ? CLI_USAGE : CLI_ERR, "%s", err);
    }
    if (summary[0])                          /* what was left out, one line (not an error) */
        cli_fail(CLI_OK, "%s: %s", in, summary);
    rc = CLI_OK;
    cli_detect_attractors(&s);
    if (!strcmp(out, "-")) {
        size_t len = 0;
        char *data = session_dump(&s, &len);
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = cli_fail(CLI_ERR, "standard output: %s", strerror(errno));
        free(data);
    } else if (session_save(&s, out, err, sizeof err) < 0) {
        rc = cli_fail(CLI_ERR, "%s", err);
    }
    session_free(&s);
    return rc;
}
