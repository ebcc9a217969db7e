/* tui/replay.c — see replay.h. */
#include "tui/replay.h"
#include "tui/actions.h"
#include "tui/view_compare.h"
#include "core/attractor.h"
#include "core/mem.h"
#include "core/mono.h"
#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define REPLAY_IDLE_LIMIT 60.0    /* seconds a step may wait for the loom to settle */

struct replay {
    char  **lines;
    size_t  n, cap, at;          /* script lines; the next one */
    int     keys[256];           /* the current line's keys, still to send */
    int     nkeys, ki;
    char   *dir;                 /* where screens go */
    char    err[512];
    double  waiting_since;       /* when the current step started waiting (0: not) */
    int     busy;                /* the current line is a "busy" one */
};

replay *replay_open(char *err, size_t errlen)
{
    err[0] = '\0';
    const char *path = getenv("TERMLOOM_KEYS");
    if (!path || !*path)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "TERMLOOM_KEYS: %s: %s", path, strerror(errno));
        return NULL;
    }
    replay *r = xcalloc(1, sizeof *r);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        xgrow(&r->lines, &r->cap, r->n + 1, sizeof *r->lines);
        r->lines[r->n++] = xstrdup(line);
    }
    fclose(f);
    const char *dir = getenv("TERMLOOM_SCREENS");
    r->dir = xstrdup(dir && *dir ? dir : ".");
    return r;
}

void replay_free(replay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->lines[i]);
    free(r->lines);
    free(r->dir);
    free(r);
}

const char *replay_error(const replay *r) { return r->err; }

static int fail(replay *r, const char *fmt, const char *arg)
{
    char what[400];
    snprintf(what, sizeof what, fmt, arg);
    snprintf(r->err, sizeof r->err, "TERMLOOM_KEYS line %zu: %s", r->at, what);
    return REPLAY_FAIL;
}

/* Nothing in flight and nothing due that could change the screen. */
static int idle(app *a)
{
    if (app_gen_active(a))
        return 0;
    if (compare_view_busy(a))
        return 0;
    if (a->an.attr && (attractor_pending(a->an.attr) || a->an.dirty || attractor_list_busy(a->an.attr)))
        return 0;
    if (a->an.group_pending != TREE_NONE || a->save.loading)
        return 0;
    if (app_ref_waiting(a))
        return 0;                          /* the D tint's reference model is still scoring */
    if (a->save.path && (a->save.unsaved || a->save.soon))
        return 0;
    return !(a->pending & APP_CH_DRAW) && a->last_draw > 0;
}

/* A line-drawing character drawn through the alternate character set (ACS_VLINE...), as
 * the terminal would show it. */
static wchar_t acs_char(wchar_t c)
{
    static const char from[] = "xqlkmjtuvwn";
    static const wchar_t to[] = { 0x2502, 0x2500, 0x250C, 0x2510, 0x2514, 0x2518, 0x251C, 0x2524, 0x2534, 0x252C, 0x253C };
    const char *p = c > 0 && c < 128 ? strchr(from, (int)c) : NULL;
    return p ? to[p - from] : c;
}

/* The screen as text: each row's characters (wide ones once), trailing blanks cut. */
static int write_screen(replay *r, const char *name)
{
    if (!*name || strchr(name, '/'))
        return fail(r, "screen: '%s' is not a plain file name", name);
    char *path = xasprintf("%s/%s", r->dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(r->err, sizeof r->err, "TERMLOOM_KEYS line %zu: screen: %s: %s", r->at, path, strerror(errno));
        free(path);
        return REPLAY_FAIL;
    }
    for (int y = 0; y < LINES; y++) {
        buf row = {0};
        size_t keep = 0;
        for (int x = 0; x < COLS; x++) {
            cchar_t c;
            if (mvwin_wch(stdscr, y, x, &c) == ERR)
                break;
            wchar_t wc[CCHARW_MAX + 1];
            attr_t at;
            short pair;
            if (getcchar(&c, wc, &at, &pair, NULL) == ERR || !wc[0])
                continue;                  /* the right half of a wide character */
            if ((at & A_ALTCHARSET) && !wc[1])
                wc[0] = acs_char(wc[0]);
            for (int i = 0; wc[i]; i++) {
                char mb[MB_LEN_MAX];
                mbstate_t st;
                memset(&st, 0, sizeof st);
                size_t m = wcrtomb(mb, wc[i], &st);
                if (m != (size_t)-1)
                    buf_add(&row, mb, m);
            }
            if (wc[0] != L' ')
                keep = row.len;
        }
        fprintf(f, "%.*s\n", (int)keep, row.data ? row.data : "");
        buf_free(&row);
    }
    int bad = fclose(f) != 0;
    free(path);
    if (bad)
        return fail(r, "screen: '%s' could not be written", name);
    return REPLAY_BUSY;                    /* written; the next step follows next turn */
}

/* Parses the keys of one line into r->keys. */
static int parse_keys(replay *r, char *line)
{
    r->nkeys = r->ki = 0;
    if (!strncmp(line, "type ", 5)) {
        const unsigned char *s = (const unsigned char *)line + 5;
        while (*s && r->nkeys < (int)(sizeof r->keys / sizeof *r->keys)) {
            char one[5] = { 0 };
            size_t n = *s >= 0xF0 ? 4 : *s >= 0xE0 ? 3 : *s >= 0xC0 ? 2 : 1;
            memcpy(one, s, n);
            int k = *s < 0x80 ? *s : actions_parse_key(one);
            if (k < 0)
                return fail(r, "type: '%s' is not UTF-8", line + 5);
            r->keys[r->nkeys++] = k;
            s += strnlen((const char *)s, n);
        }
        return REPLAY_KEY;
    }
    for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t")) {
        int k = actions_parse_key(tok);
        if (k < 0)
            return fail(r, "'%s' is not a key name", tok);
        if (r->nkeys < (int)(sizeof r->keys / sizeof *r->keys))
            r->keys[r->nkeys++] = k;
    }
    return REPLAY_KEY;
}

/* A "busy" step waits only for the last key's frame, not for the loom to settle. */
static int drawn(app *a)
{
    return !(a->pending & APP_CH_DRAW) && a->last_draw > 0;
}

static int busy_line(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return !strncmp(s, "busy ", 5);
}

int replay_next(replay *r, app *a, int *key)
{
    int busy = r->ki < r->nkeys ? r->busy : r->at < r->n && busy_line(r->lines[r->at]);
    if (busy ? !drawn(a) : !idle(a)) {
        double now = mono_now();
        if (!r->waiting_since)
            r->waiting_since = now;
        if (now - r->waiting_since > REPLAY_IDLE_LIMIT)
            return fail(r, "%s", "the loom was still busy after 60 s");
        return REPLAY_BUSY;
    }
    r->waiting_since = 0;
    if (r->ki < r->nkeys) {
        *key = r->keys[r->ki++];
        return REPLAY_KEY;
    }
    while (r->at < r->n) {
        char *line = xstrdup(r->lines[r->at++]);
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        r->busy = !strncmp(s, "busy ", 5);
        if (r->busy)
            s += 5;
        int st = REPLAY_BUSY;
        if (!*s || *s == '#') {
            free(line);
            continue;
        }
        if (!strncmp(s, "screen ", 7)) {
            st = write_screen(r, s + 7);
        } else if (!strncmp(s, "resize ", 7)) {
            int c = 0, rows = 0;
            if (sscanf(s + 7, "%d %d", &c, &rows) != 2 || c < 10 || rows < 5 || c > 1000 || rows > 1000)
                st = fail(r, "resize: '%s' is not COLUMNS ROWS", s + 7);
            else {
                resizeterm(rows, c);
                a->rows = LINES;
                a->cols = COLS;
                app_layout(a);
                a->pending |= APP_CH_DRAW;
            }
        } else {
            st = parse_keys(r, s);
            if (st == REPLAY_KEY && r->ki < r->nkeys)
                *key = r->keys[r->ki++];
            else if (st == REPLAY_KEY)
                st = REPLAY_BUSY;
        }
        free(line);
        return st;
    }
    return REPLAY_END;
}
