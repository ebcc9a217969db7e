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

enum { I_OUTPUT = 1, I_NOTE };

static const cli_option import_options[] = {
    { "output", 'o', CLI_ARG, I_OUTPUT, "a file name (or - for standard output)" },
    { "note", 0, CLI_ARG, I_NOTE, "a note path" },
    { NULL, 0, 0, 0, NULL }
};

static void import_help(void)
{
    fputs(import_usage, stdout);
}

int cli_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *note = NULL, *v;
    int rc = CLI_OK;
    cli_args p;
    cli_args_begin(&p, argc, argv, "import", import_options, NULL);
    cli_args_usual(&p, import_help, &in, "input file");
    for (int id; rc == CLI_OK && (id = cli_args_next(&p, &v)) != CLI_ARGS_END;) {
        switch (id) {
        case CLI_ARGS_ERROR:
            rc = p.status;
            break;
        case I_OUTPUT:
            out = v;
            break;
        case I_NOTE:
            note = v;
            break;
        }
    }
    cli_args_end(&p);
    if (rc != CLI_OK || p.helped)
        return rc;
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
    rc = formats_import_file(in, &o, &s, NULL, err, sizeof err);
    if (rc != FORMATS_OK) {
        session_free(&s);
        return cli_fail(rc == FORMATS_ERR_USAGE ? CLI_USAGE : CLI_ERR, "%s", err);
    }
    if (summary[0])                          /* what was left out, one line (not an error) */
        cli_fail(CLI_OK, "%s: %s", in, summary);
    rc = CLI_OK;
    if (!strcmp(out, "-")) {
        cli_detect_attractors(&s);
        size_t len = 0;
        char *data = session_dump(&s, &len);
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = cli_fail(CLI_ERR, "standard output: %s", strerror(errno));
        free(data);
    } else if (cli_save_analysed(&s, out, err, sizeof err) < 0) {
        rc = cli_fail(CLI_ERR, "%s", err);
    }
    cli_session_done(&s);
    return rc;
}
