/* tui/theme.c — see theme.h. */
#include "tui/theme.h"
#include "cli/backends.h"
#include "core/mem.h"
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef TERMLOOM_DATADIR
#define TERMLOOM_DATADIR "/usr/local/share/termloom"
#endif

const char *const theme_slot_names[THEME_COUNT] = {
#define X(name, help) #name,
    THEME_SLOTS(X)
#undef X
};
const char *const theme_slot_help[THEME_COUNT] = {
#define X(name, help) help,
    THEME_SLOTS(X)
#undef X
};

void theme_defaults(theme *th)
{
    for (int i = 0; i < THEME_COUNT; i++)
        th->slot[i] = (theme_style){ -1, -1, 0 };
    th->slot[THEME_title].attrs = THEME_BOLD;
    th->slot[THEME_title_focus].attrs = THEME_BOLD | THEME_REVERSE;
    th->slot[THEME_cursor].attrs = THEME_REVERSE;
    th->slot[THEME_visited].attrs = THEME_DIM;
    th->slot[THEME_tree_lines].attrs = THEME_DIM;
    th->slot[THEME_attractor].attrs = THEME_BOLD;
    th->slot[THEME_merged].attrs = THEME_BOLD;
    th->slot[THEME_incomplete].attrs = THEME_UNDERLINE;
    th->slot[THEME_prompt].attrs = THEME_BOLD;
    th->slot[THEME_heat1].attrs = THEME_UNDERLINE;
    th->slot[THEME_heat2].attrs = THEME_UNDERLINE;
    th->slot[THEME_heat5].attrs = THEME_BOLD;
    th->slot[THEME_token_sel].attrs = THEME_REVERSE;
    th->slot[THEME_placeholder].attrs = THEME_REVERSE | THEME_DIM;
    th->slot[THEME_status].attrs = THEME_REVERSE;
    th->slot[THEME_busy].attrs = THEME_REVERSE | THEME_BOLD;
    th->slot[THEME_error].attrs = THEME_REVERSE | THEME_BOLD;
    th->slot[THEME_ok].attrs = THEME_REVERSE;
    th->slot[THEME_dim].attrs = THEME_DIM;
    th->slot[THEME_key].attrs = THEME_BOLD;
    th->slot[THEME_search].attrs = THEME_UNDERLINE | THEME_BOLD;
}

static const char *const color_names[] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

static int parse_color(const char *w, short *out)
{
    if (!strcmp(w, "-") || !strcasecmp(w, "default")) {
        *out = -1;
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        if (!strcasecmp(w, color_names[i])) {
            *out = (short)i;
            return 0;
        }
        if (!strncasecmp(w, "bright-", 7) && !strcasecmp(w + 7, color_names[i])) {
            *out = (short)(i + 8);
            return 0;
        }
    }
    char *end;
    errno = 0;
    long v = strtol(w, &end, 10);
    if (*w && !*end && !errno && v >= 0 && v <= 255) {
        *out = (short)v;
        return 0;
    }
    return -1;
}

static const struct { const char *name; unsigned bit; } attr_names[] = {
    { "bold", THEME_BOLD }, { "dim", THEME_DIM }, { "underline", THEME_UNDERLINE },
    { "reverse", THEME_REVERSE }, { "italic", THEME_ITALIC }, { "standout", THEME_STANDOUT },
};

static int parse_line(char *line, theme *th, char *msg, size_t msglen)
{
    char *eq = strchr(line, '=');
    if (!eq) {
        snprintf(msg, msglen, "expected 'slot = colours', got '%.40s'", line);
        return -1;
    }
    *eq = 0;
    char *key = strtok(line, " \t");
    if (!key || strtok(NULL, " \t")) {
        snprintf(msg, msglen, "a slot name is one word");
        return -1;
    }
    int slot = -1;
    for (int i = 0; i < THEME_COUNT; i++)
        if (!strcmp(key, theme_slot_names[i]))
            slot = i;
    if (slot < 0) {
        snprintf(msg, msglen, "unknown slot '%.40s'", key);
        return -1;
    }
    theme_style st = { -1, -1, 0 };
    int ncolors = 0, want_bg = 0;
    for (char *w = strtok(eq + 1, " \t"); w; w = strtok(NULL, " \t")) {
        if (!strcasecmp(w, "on")) {
            if (want_bg || ncolors != 1) {
                snprintf(msg, msglen, "'on' goes between the foreground and background colours");
                return -1;
            }
            want_bg = 1;
            continue;
        }
        unsigned bit = 0;
        for (size_t a = 0; a < sizeof attr_names / sizeof *attr_names; a++)
            if (!strcasecmp(w, attr_names[a].name))
                bit = attr_names[a].bit;
        if (bit) {
            st.attrs |= bit;
            continue;
        }
        short c;
        if (parse_color(w, &c) < 0) {
            snprintf(msg, msglen, "'%.40s' is not a colour (a name, 0-255 or default) or attribute", w);
            return -1;
        }
        if (ncolors == 0 && !want_bg) {
            st.fg = c;
            ncolors = 1;
        } else if (want_bg && ncolors == 1) {
            st.bg = c;
            ncolors = 2;
        } else {
            snprintf(msg, msglen, "write the background as 'FG on BG'");
            return -1;
        }
    }
    if (want_bg && ncolors != 2) {
        snprintf(msg, msglen, "'on' needs a background colour");
        return -1;
    }
    th->slot[slot] = st;
    return 0;
}

int theme_parse(const char *text, size_t len, const char *name, theme *th, char *err, size_t errlen)
{
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        char line[512];
        if (n >= sizeof line) {
            snprintf(err, errlen, "%s:%zu: line too long", name, lineno);
            return -1;
        }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos += n + (nl ? 1 : 0);
        if (memchr(line, 0, n)) {
            snprintf(err, errlen, "%s:%zu: NUL byte", name, lineno);
            return -1;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        size_t l = strlen(p);
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r'))
            p[--l] = 0;
        if (!*p)
            continue;
        char msg[160];
        if (parse_line(p, th, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s:%zu: %s", name, lineno, msg);
            return -1;
        }
    }
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    buf b = {0};
    char err[256];
    if (buf_read_file(&b, path, 1u << 20, err, sizeof err) < 0) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return buf_steal(&b);
}

int theme_load(const char *name, theme *th, char *err, size_t errlen)
{
    char *cands[6] = {0};
    int nc = 0;
    if (strchr(name, '/')) {
        cands[nc++] = xstrdup(name);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            cands[nc++] = xasprintf("%s/termloom/themes/%s.theme", xdg, name);
        else if (home && *home)
            cands[nc++] = xasprintf("%s/.config/termloom/themes/%s.theme", home, name);
        const char *dd = getenv("TERMLOOM_DATADIR");
        if (dd && *dd)
            cands[nc++] = xasprintf("%s/themes/%s.theme", dd, name);
        char *ed = cli_exe_dir();
        if (ed) {
            cands[nc++] = xasprintf("%s/themes/%s.theme", ed, name);
            /* an install moved to another PREFIX: BIN/../share/termloom/themes */
            cands[nc++] = xasprintf("%s/../share/termloom/themes/%s.theme", ed, name);
            free(ed);
        }
        cands[nc++] = xasprintf("%s/themes/%s.theme", TERMLOOM_DATADIR, name);
    }
    int rc = -1;
    snprintf(err, errlen, "theme '%s' not found (looked in the user, data and install folders)", name);
    for (int i = 0; i < nc && rc < 0; i++) {
        size_t len;
        char *text = slurp(cands[i], &len);
        if (!text)
            continue;
        theme tmp = *th;
        rc = theme_parse(text, len, cands[i], &tmp, err, errlen);
        if (rc == 0)
            *th = tmp;
        free(text);
        break;     /* the first file found is the one used, even when it is broken */
    }
    for (int i = 0; i < nc; i++)
        free(cands[i]);
    return rc;
}

/* ---- curses ---------------------------------------------------------------- */

static unsigned long slot_attr[THEME_COUNT];

/* Nearest of the first `n` (8 or 16) terminal colours for an xterm-256 colour. */
static short downmap(short c, int n)
{
    if (c < 0 || c < n)
        return c;
    if (c < 16)
        return (short)(c - 8);
    int r, g, b;
    if (c < 232) {
        int v = c - 16;
        static const int lv[6] = { 0, 95, 135, 175, 215, 255 };
        r = lv[v / 36];
        g = lv[(v / 6) % 6];
        b = lv[v % 6];
    } else {
        r = g = b = 8 + (c - 232) * 10;
    }
    static const int base[16][3] = {
        { 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 }, { 0, 0, 238 }, { 205, 0, 205 },
        { 0, 205, 205 }, { 229, 229, 229 }, { 127, 127, 127 }, { 255, 0, 0 }, { 0, 255, 0 },
        { 255, 255, 0 }, { 92, 92, 255 }, { 255, 0, 255 }, { 0, 255, 255 }, { 255, 255, 255 },
    };
    int best = 0;
    long bestd = -1;
    for (int i = 0; i < n && i < 16; i++) {
        long dr = r - base[i][0], dg = g - base[i][1], db = b - base[i][2];
        long d = dr * dr + dg * dg + db * db;
        if (bestd < 0 || d < bestd) {
            bestd = d;
            best = i;
        }
    }
    return (short)best;
}

void theme_apply(const theme *th, int use_color)
{
    int ncol = use_color && has_colors() ? COLORS : 0;
    int pairs = use_color && has_colors() ? COLOR_PAIRS : 0;
    int palette = ncol >= 256 ? 256 : ncol >= 16 ? 16 : 8;
    for (int i = 0; i < THEME_COUNT; i++) {
        const theme_style *st = &th->slot[i];
        unsigned long a = A_NORMAL;
        if (st->attrs & THEME_BOLD) a |= A_BOLD;
        if (st->attrs & THEME_DIM) a |= A_DIM;
        if (st->attrs & THEME_UNDERLINE) a |= A_UNDERLINE;
        if (st->attrs & THEME_REVERSE) a |= A_REVERSE;
        if (st->attrs & THEME_STANDOUT) a |= A_STANDOUT;
#ifdef A_ITALIC
        if (st->attrs & THEME_ITALIC) a |= A_ITALIC;
#endif
        if (ncol && i + 1 < pairs && (st->fg >= 0 || st->bg >= 0)) {
            short fg = downmap(st->fg, palette), bg = downmap(st->bg, palette);
            if (palette == 8 && st->fg >= 8 && st->fg < 16)
                a |= A_BOLD;       /* bright colours on 8-colour terminals */
            init_pair((short)(i + 1), fg, bg);
            a |= COLOR_PAIR(i + 1);
        }
        slot_attr[i] = a;
    }
}

unsigned long theme_attr(theme_slot s)
{
    return (unsigned)s < THEME_COUNT ? slot_attr[s] : 0;
}
