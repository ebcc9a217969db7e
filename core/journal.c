/* core/journal.c — see journal.h.  The records are the session writer's own lines
 * (session_node_line, session_settings_line); replay rebuilds the document with them in
 * place (session_dump_patched) and loads it through the session loader, which checks the
 * result as it checks any file. */
#include "core/journal.h"
#include "core/mem.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_FORMAT "termloom-journal"
#define JOURNAL_JFLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

typedef struct {
    unsigned long long size, mtime, mtime_ns, inode;
} journal_base;

struct journal {
    session     *s;
    char        *path, *jpath;
    journal_base base;
    int          fd;            /* -1 until the first append */
    uint64_t     bytes;
    uint8_t     *listed;        /* per id: in ids */
    size_t       cap_listed;
    int32_t     *ids;           /* changed nodes, in the order they changed */
    size_t       nids, cap_ids;
    int32_t     *dead;          /* deleted nodes */
    size_t       ndead, cap_dead;
    buf          settings;      /* the settings object as the file has it */
    int32_t      cursor;        /* the cursor as the file has it */
    unsigned long long commits; /* appends so far */
};

char *journal_path(const char *session_path)
{
    return xasprintf("%s.journal", session_path);
}

static int base_of(const char *path, journal_base *b)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    b->size = (unsigned long long)st.st_size;
    b->mtime = (unsigned long long)st.st_mtim.tv_sec;
    b->mtime_ns = (unsigned long long)st.st_mtim.tv_nsec;
    b->inode = (unsigned long long)st.st_ino;
    return 0;
}

/* ---- recording ---------------------------------------------------------------------- */

static void changed(journal *j, int32_t id)
{
    if (id < 0)
        return;
    if ((size_t)id >= j->cap_listed) {
        size_t old = j->cap_listed;
        xgrow(&j->listed, &j->cap_listed, (size_t)id + 1, 1);
        memset(j->listed + old, 0, j->cap_listed - old);
    }
    if (j->listed[id])
        return;
    j->listed[id] = 1;
    xgrow(&j->ids, &j->cap_ids, j->nids + 1, sizeof *j->ids);
    j->ids[j->nids++] = id;
}

static void on_event(void *ud, tree *t, int kind, int32_t id)
{
    journal *j = ud;
    tree_iter it;
    switch (kind) {
    case TREE_EV_ADD:
        changed(j, id);
        changed(j, tree_parent(t, id));        /* its children list grew */
        break;
    case TREE_EV_DELETE:                        /* the subtree is still there to walk */
        changed(j, tree_parent(t, id));
        tree_iter_init(&it, t, id, TREE_DFS);
        for (int32_t d; (d = tree_iter_next(&it)) != TREE_NONE;) {
            xgrow(&j->dead, &j->cap_dead, j->ndead + 1, sizeof *j->dead);
            j->dead[j->ndead++] = d;
        }
        tree_iter_done(&it);
        break;
    case TREE_EV_UNDELETE:
        changed(j, tree_parent(t, id));
        tree_iter_init(&it, t, id, TREE_DFS);
        for (int32_t d; (d = tree_iter_next(&it)) != TREE_NONE;)
            changed(j, d);
        tree_iter_done(&it);
        break;
    default:                                    /* text, tokens, finish, marks, flags */
        changed(j, id);
    }
}

static void forget_changes(journal *j)
{
    for (size_t i = 0; i < j->nids; i++)
        j->listed[j->ids[i]] = 0;
    j->nids = 0;
    j->ndead = 0;
}

static void take_state(journal *j)
{
    buf_clear(&j->settings);
    session_settings_line(j->s, &j->settings);
    j->cursor = j->s->cursor;
}

journal *journal_new(session *s, const char *path, char *err, size_t errlen)
{
    journal_base b;
    if (base_of(path, &b) < 0) {
        snprintf(err, errlen, "%s: no journal: not a regular file", path);
        return NULL;
    }
    journal *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->path = xstrdup(path);
    j->jpath = journal_path(path);
    j->base = b;
    j->fd = -1;
    take_state(j);
    tree_observe(s->t, on_event, j);
    return j;
}

void journal_free(journal *j)
{
    if (!j)
        return;
    tree_unobserve(j->s->t, on_event, j);
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j->jpath);
    free(j->listed);
    free(j->ids);
    free(j->dead);
    buf_free(&j->settings);
    free(j);
}

const char *journal_session(const journal *j)
{
    return j->path;
}

int journal_dirty(const journal *j)
{
    if (j->nids || j->ndead)
        return 1;
    if (j->s->cursor != j->cursor && tree_get(j->s->t, j->s->cursor))
        return 1;
    buf now = {0};
    session_settings_line(j->s, &now);
    int differ = now.len != j->settings.len || memcmp(now.data, j->settings.data, now.len);
    buf_free(&now);
    return differ;
}

uint64_t journal_bytes(const journal *j) { return j->bytes; }
uint64_t journal_base_bytes(const journal *j) { return j->base.size; }

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The journal file with its header, at the first append. */
static int journal_create(journal *j, char *err, size_t errlen)
{
    int fd = open(j->jpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", j->jpath, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(j->path, &st) == 0)
        (void)fchmod(fd, st.st_mode & 0666);   /* as private as the session */
    char head[320];
    int n = snprintf(head, sizeof head,
                     "{\"journal\":\"" JOURNAL_FORMAT "\",\"version\":1,\"base\":{\"size\":%llu,"
                     "\"mtime\":%llu,\"mtime_ns\":%llu,\"inode\":%llu}}\n",
                     j->base.size, j->base.mtime, j->base.mtime_ns, j->base.inode);
    int e = write_all(fd, head, (size_t)n);
    if (e) {
        close(fd);
        unlink(j->jpath);
        snprintf(err, errlen, "%s: cannot write: %s", j->jpath, strerror(e));
        return -1;
    }
    char *slash = strrchr(j->jpath, '/');
    char *dir = slash ? xstrndup(j->jpath, slash == j->jpath ? 1 : (size_t)(slash - j->jpath)) : xstrdup(".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {                             /* the new name survives a power cut */
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    j->fd = fd;
    j->bytes = (uint64_t)n;
    return 0;
}

int journal_append(journal *j, size_t *written, char *err, size_t errlen)
{
    session *s = j->s;
    buf b = {0}, set = {0};
    if (written)
        *written = 0;
    /* The file replaced or gone, or the journal removed under us (its folder deleted):
     * appending would write where no reader looks.  A whole save says so, or fixes it. */
    journal_base now;
    struct stat st;
    if (base_of(j->path, &now) < 0 || memcmp(&now, &j->base, sizeof now) ||
        (j->fd >= 0 && fstat(j->fd, &st) == 0 && st.st_nlink == 0)) {
        int rc = journal_compact(j, err, errlen);
        if (rc == 0 && written)
            *written = (size_t)j->base.size;
        return rc;
    }
    if (j->ndead) {
        buf_adds(&b, "{\"deleted\":[");
        for (size_t i = 0; i < j->ndead; i++)
            buf_printf(&b, i ? ",%d" : "%d", (int)j->dead[i]);
        buf_adds(&b, "]}\n");
    }
    for (size_t i = 0; i < j->nids; i++)
        if (tree_get(s->t, j->ids[i])) {
            session_node_line(s->t, j->ids[i], &b);
            buf_addc(&b, '\n');
        }
    if (s->cursor != j->cursor && tree_get(s->t, s->cursor))
        buf_printf(&b, "{\"cursor\":%d}\n", (int)s->cursor);
    session_settings_line(s, &set);
    if (set.len != j->settings.len || memcmp(set.data, j->settings.data, set.len)) {
        buf_adds(&b, "{\"settings\":");
        buf_add(&b, set.data, set.len);
        buf_adds(&b, "}\n");
    }
    if (b.len)
        buf_printf(&b, "{\"commit\":%llu}\n", ++j->commits);   /* the append is whole */
    int rc = 0;
    if (b.len && j->fd < 0)
        rc = journal_create(j, err, errlen);
    if (b.len && rc == 0) {
        int e = write_all(j->fd, b.data, b.len);
        if (!e && fsync(j->fd) < 0)
            e = errno;
        if (e) {
            /* No half record before the next one: the file goes back to what it held. */
            if (ftruncate(j->fd, (off_t)j->bytes) < 0) {
                close(j->fd);
                j->fd = -1;
                unlink(j->jpath);            /* the session file alone is consistent */
            }
            snprintf(err, errlen, "%s: cannot write: %s", j->jpath, strerror(e));
            rc = -1;
        } else {
            j->bytes += b.len;
            if (written)
                *written = b.len;
        }
    }
    if (rc == 0) {
        forget_changes(j);
        j->cursor = s->cursor;
        buf_free(&j->settings);
        j->settings = set;
        set = (buf){0};
    }
    buf_free(&set);
    buf_free(&b);
    return rc;
}

int journal_compact(journal *j, char *err, size_t errlen)
{
    if (session_save(j->s, j->path, err, errlen) < 0)
        return -1;
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    unlink(j->jpath);
    j->bytes = 0;
    if (base_of(j->path, &j->base) < 0)
        memset(&j->base, 0, sizeof j->base);
    forget_changes(j);
    take_state(j);
    return 0;
}

/* ---- replay ------------------------------------------------------------------------- */

static char last_note[700];
static int  replaying;               /* the replayed document is loaded by the loader too */

const char *journal_note(void)
{
    return last_note[0] ? last_note : NULL;
}

typedef struct {
    const char **line;    /* per id: NULL untouched, else the node's line ("" : deleted) */
    uint32_t    *len;
    size_t       cap;
} replay;

static const char *patch_node(void *ud, int32_t id, size_t *len)
{
    const replay *r = ud;
    if ((size_t)id >= r->cap || !r->line[id])
        return NULL;
    *len = r->len[id];
    return r->line[id];
}

static void put(replay *r, int32_t id, const char *line, size_t len)
{
    if ((size_t)id >= r->cap) {
        size_t old = r->cap, c2 = r->cap;
        xgrow(&r->line, &r->cap, (size_t)id + 1, sizeof *r->line);
        xgrow(&r->len, &c2, r->cap, sizeof *r->len);
        memset(r->line + old, 0, (r->cap - old) * sizeof *r->line);
    }
    r->line[id] = line;
    r->len[id] = (uint32_t)len;
}

static unsigned long long base_field(json_t *b, const char *key)
{
    json_t *v = json_object_get(b, key);
    return json_is_integer(v) ? (unsigned long long)json_integer_value(v) : ~0ull;
}

/* 1 when the header line is a journal of the file with this base. */
static int header_matches(const char *line, size_t len, const journal_base *b)
{
    json_t *h = json_loadb(line, len, JOURNAL_JFLAGS, NULL);
    json_t *base = json_object_get(h, "base");
    int ok = h && json_is_string(json_object_get(h, "journal")) &&
             !strcmp(json_string_value(json_object_get(h, "journal")), JOURNAL_FORMAT) &&
             base_field(base, "size") == b->size && base_field(base, "mtime") == b->mtime &&
             base_field(base, "mtime_ns") == b->mtime_ns && base_field(base, "inode") == b->inode;
    json_decref(h);
    return ok;
}

static void note(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_note, sizeof last_note, fmt, ap);
    va_end(ap);
    if (out && outlen)
        snprintf(out, outlen, "%s", last_note);
}

int journal_replay(session *s, const char *path, char *out, size_t outlen)
{
    if (replaying)
        return 0;
    last_note[0] = 0;
    if (out && outlen)
        out[0] = 0;
    if (!path || !s->t)
        return 0;
    char *jp = journal_path(path);
    struct stat st;
    journal_base b;
    if (stat(jp, &st) < 0 || base_of(path, &b) < 0) {
        free(jp);
        return 0;
    }
    buf data = {0};
    char err[600];
    if (buf_read_file(&data, jp, 0, err, sizeof err) < 0) {
        note(out, outlen, "%s (the changes it holds are not in the session)", err);
        buf_free(&data);
        free(jp);
        return 0;
    }
    const char *p = data.data ? data.data : "", *end = p + data.len;
    const char *nl = memchr(p, '\n', data.len);
    if (!nl || !header_matches(p, (size_t)(nl - p), &b)) {
        /* No complete header: nothing was ever appended.  Another base: a compaction
         * finished (the file is newer than the journal) or the file was replaced. */
        if (nl)
            note(out, outlen, "%s belongs to an older version of the session file: ignored", jp);
        buf_free(&data);
        free(jp);
        return 0;
    }
    replay r = {0};
    /* Records wait for their append's closing {"commit":N} line: an append cut short by a
     * crash is left out whole (its node lines and its parent's line go together). */
    struct { int32_t id; const char *line; uint32_t len; } *pend = NULL;
    size_t npend = 0, cappend = 0;
    char **owned = NULL;                     /* settings re-encoded */
    size_t nowned = 0, capowned = 0, nrec = 0, lineno = 1;
    int32_t cursor = TREE_NONE, pcursor = TREE_NONE;
    const char *settings = NULL, *psettings = NULL;
    size_t settings_len = 0, psettings_len = 0;
    size_t limit = (size_t)tree_capacity(s->t) + 2 * data.len / 16 + 16;   /* ids a journal can hold */
    int bad = 0, torn = 0;
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            torn = 1;
            break;
        }
        lineno++;
        size_t len = (size_t)(nl - p);
        if (!len)
            continue;
        json_t *o = json_loadb(p, len, JOURNAL_JFLAGS, NULL), *v;
        if (!json_is_object(o)) {
            bad = 1;
        } else if ((v = json_object_get(o, "id"))) {
            json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
            bad = id < 0 || (size_t)id >= limit;
            if (!bad) {
                xgrow(&pend, &cappend, npend + 1, sizeof *pend);
                pend[npend].id = (int32_t)id;
                pend[npend].line = p;
                pend[npend++].len = (uint32_t)len;
            }
        } else if ((v = json_object_get(o, "deleted"))) {
            size_t i;
            json_t *e;
            bad = !json_is_array(v);
            json_array_foreach(v, i, e) {
                json_int_t id = json_is_integer(e) ? json_integer_value(e) : -1;
                if (id >= 0 && (size_t)id < limit) {
                    xgrow(&pend, &cappend, npend + 1, sizeof *pend);
                    pend[npend].id = (int32_t)id;
                    pend[npend].line = "";
                    pend[npend++].len = 0;
                }
            }
        } else if ((v = json_object_get(o, "cursor"))) {
            if (json_is_integer(v) && json_integer_value(v) >= 0 && (size_t)json_integer_value(v) < limit)
                pcursor = (int32_t)json_integer_value(v);
        } else if ((v = json_object_get(o, "settings")) && json_is_object(v)) {
            char *enc = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
            if (enc) {
                xgrow(&owned, &capowned, nowned + 1, sizeof *owned);
                owned[nowned++] = enc;
                psettings = enc;
                psettings_len = strlen(enc);
            }
        } else if (json_object_get(o, "commit")) {
            for (size_t i = 0; i < npend; i++)
                put(&r, pend[i].id, pend[i].line, pend[i].len);
            nrec += npend + (pcursor != TREE_NONE) + (psettings != NULL);
            npend = 0;
            if (pcursor != TREE_NONE)
                cursor = pcursor;
            if (psettings) {
                settings = psettings;
                settings_len = psettings_len;
            }
            pcursor = TREE_NONE;
            psettings = NULL;
        }                                     /* any other record: a newer termloom's */
        json_decref(o);
        if (bad) {
            note(out, outlen, "%s: line %zu is not a journal record; the changes before it are kept", jp, lineno);
            break;
        }
    }
    if (!bad && (torn || npend || pcursor != TREE_NONE || psettings))
        note(out, outlen, "%s: the last change was cut short (a crash while it was saved) and is left out", jp);
    free(pend);
    int applied = 0;
    if (nrec) {
        /* The cursor must be a node of the result. */
        int32_t c = cursor != TREE_NONE ? cursor : s->cursor;
        size_t cl = 0;
        const char *cline = c >= 0 ? patch_node(&r, c, &cl) : NULL;
        if (cline ? !cl : !tree_get(s->t, c))
            c = tree_root(s->t);
        session_patch patch = { .settings = settings, .settings_len = settings_len, .cursor = c,
                                .cap = (int32_t)r.cap, .node = patch_node, .ud = &r };
        size_t doclen;
        char *doc = session_dump_patched(s, &patch, &doclen);
        session m;
        session_init(&m);
        replaying = 1;
        int rc = session_load_mem(&m, doc, doclen, jp, err, sizeof err);
        replaying = 0;
        free(doc);
        if (rc < 0) {
            note(out, outlen, "%s does not fit the session file, left out: %s", jp, err);
            session_free(&m);
        } else {
            session_free(s);
            *s = m;
            applied = (int)nrec;
            if (!last_note[0])
                note(out, outlen, "%zu unsaved change%s recovered from %s", nrec, nrec == 1 ? "" : "s", jp);
        }
    }
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(r.line);
    free(r.len);
    buf_free(&data);
    free(jp);
    return applied;
}
