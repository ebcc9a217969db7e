/* cli/export.c — `termloom export --format json|loom|jsonl|md|dot FILE -o OUT`.
 * FILE is a session or anything `termloom import` reads.  The output is built in memory
 * and written in one crash-safe step, so a failure never leaves a partial file. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/formats.h"
#include "core/savefile.h"
#include "core/mem.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char export_usage[] =
    "usage: termloom export --format json|loom|jsonl|md|dot FILE -o OUT [--node ID] [--note PATH]\n"
    "  json   the session file itself\n"
    "  loom   a tree socketteer/loom opens (tokens and logprobs in model_responses)\n"
    "  jsonl  one line per node and per token (ids, depth, text, logprob, top-k, group)\n"
    "  md     the text of one path, after a line saying which: --node ID's, else the cursor's,\n"
    "         else (the cursor at the root, as gen leaves it) the deepest visited node's, else the\n"
    "         deepest node's (the newest of the deepest)\n"
    "  dot    Graphviz: termloom export --format dot S.json -o - | dot -Tsvg > tree.svg\n"
    "  -o -   writes to standard output; FILE may be any file termloom import reads\n"
    "  (--note PATH chooses the note of a loomsidian data.json)\n";

enum { E_FORMAT = 1, E_NODE, E_OUTPUT, E_NOTE };

static const cli_option export_options[] = {
    { "format", 'f', CLI_ARG, E_FORMAT, "a value (json, loom, jsonl, md or dot)" },
    { "node", 0, CLI_ARG, E_NODE, "a node id" },
    { "output", 'o', CLI_ARG, E_OUTPUT, "a file name (or - for standard output)" },
    { "note", 0, CLI_ARG, E_NOTE, "a note path" },
    { NULL, 0, 0, 0, NULL }
};

static void export_help(void)
{
    fputs(export_usage, stdout);
}

int cli_export(int argc, char **argv)
{
    const char *fmt = NULL, *node_arg = NULL, *in = NULL, *out = NULL, *note = NULL, *v;
    int rc = CLI_OK;
    cli_args p;
    cli_args_begin(&p, argc, argv, "export", export_options, NULL);
    cli_args_usual(&p, export_help, &in, "input file");
    for (int id; rc == CLI_OK && (id = cli_args_next(&p, &v)) != CLI_ARGS_END;) {
        switch (id) {
        case CLI_ARGS_ERROR:
            rc = p.status;
            break;
        case E_FORMAT:
            fmt = v;
            break;
        case E_NODE:
            node_arg = v;
            break;
        case E_OUTPUT:
            out = v;
            break;
        case E_NOTE:
            note = v;
            break;
        }
    }
    cli_args_end(&p);
    if (rc != CLI_OK || p.helped)
        return rc;
    formats_out f;
    if (!fmt)
        return cli_fail(CLI_USAGE, "export: --format json|loom|jsonl|md|dot is required");
    if (formats_out_parse(fmt, &f) < 0)
        return cli_fail(CLI_USAGE, "export: unknown format '%s' (expected json, loom, jsonl, md or dot)", fmt);
    if (!in)
        return cli_fail(CLI_USAGE, "export: no input file (termloom export --format %s FILE -o OUT)", fmt);
    if (!out)
        return cli_fail(CLI_USAGE, "export: -o OUT is required (- for standard output)");
    int32_t node = TREE_NONE;
    if (node_arg) {
        char *end;
        errno = 0;
        long id = strtol(node_arg, &end, 10);
        if (!*node_arg || *end || errno || id < 0 || id > INT32_MAX)
            return cli_fail(CLI_USAGE, "--node: '%s' is not a node id", node_arg);
        if (f != FORMATS_OUT_MD)
            return cli_fail(CLI_USAGE, "--node applies to --format md only");
        node = (int32_t)id;
    }
    char err[1024];
    session s;
    session_init(&s);
    formats_opts o = { .note = note };
    rc = formats_import_file(in, &o, &s, NULL, err, sizeof err);
    if (rc != FORMATS_OK) {
        session_free(&s);
        return cli_fail(rc == FORMATS_ERR_USAGE ? CLI_USAGE : CLI_ERR, "%s", err);
    }
    size_t len = 0;
    char *data = formats_export(&s, f, node, &len, err, sizeof err);
    session_free(&s);
    if (!data)
        return cli_fail(CLI_ERR, "%s: %s", in, err);
    rc = CLI_OK;
    if (!strcmp(out, "-")) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = cli_fail(CLI_ERR, "standard output: %s", strerror(errno));
    } else if (savefile_write(out, data, len, err, sizeof err) < 0) {
        rc = cli_fail(CLI_ERR, "%s", err);
    }
    free(data);
    return rc;
}
