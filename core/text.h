/* core/text.h — UTF-8 for display: decode, validate, cut untrusted text into cells that
 * are safe to send to a terminal, measure, truncate and wrap by display columns.
 *
 * Contract:
 *  - One width function for the whole program: text_cell_next() (utf8proc widths, no
 *    locale).  Everything else (text_width, text_fit, text_wrap) is built on it.
 *  - A cell is one character plus any combining marks that follow it, and holds the bytes
 *    to draw.  Those bytes never contain a control character: C0/C1 controls, DEL,
 *    escape sequences' ESC, and bidirectional overrides become visible placeholders
 *    (kind TEXT_CELL_PLACEHOLDER, e.g. "␛" or "^[" in ASCII mode); invalid bytes become
 *    U+FFFD (kind TEXT_CELL_INVALID).  Newline and tab are their own kinds so a caller
 *    can break lines or expand tabs, or (TEXT_NL_VISIBLE) show them as "↵" and "→".
 *  - TEXT_ASCII: output is pure ASCII (non-ASCII characters become '?' of their width),
 *    for terminals whose locale is not UTF-8.
 *  - Nothing allocates except text_sanitize. */
#ifndef CORE_TEXT_H
#define CORE_TEXT_H
#include <stddef.h>
#include <stdint.h>

#define TEXT_REPLACEMENT 0xFFFDu

enum {
    TEXT_ASCII      = 1u << 0,   /* ASCII-only output */
    TEXT_NL_VISIBLE = 1u << 1,   /* newline → "↵", tab → "→" placeholders (single-line views) */
    TEXT_HEX_BYTES  = 1u << 2,   /* an invalid byte (a token cut inside a character) is
                                  * shown as its value, "\xe2", not as U+FFFD */
};

typedef enum {
    TEXT_CELL_CHAR,          /* ordinary character (+ combining marks) */
    TEXT_CELL_PLACEHOLDER,   /* a control or format character shown as a visible stand-in */
    TEXT_CELL_INVALID,       /* an invalid byte, shown as U+FFFD */
    TEXT_CELL_NEWLINE,       /* "\n" (or "\r\n"); width 0; out is empty */
    TEXT_CELL_TAB,           /* "\t"; width 1 here, callers expand to their tab stop */
} text_cell_kind;

typedef struct {
    size_t  off, len;        /* source bytes covered */
    char    out[40];         /* bytes to draw, NUL-terminated, safe for a terminal */
    uint8_t outlen;
    uint8_t width;           /* display columns of out */
    uint8_t kind;            /* text_cell_kind */
} text_cell;

/* Decodes one code point at s (len > 0).  Invalid or overlong sequences, surrogates and
 * values above U+10FFFF give TEXT_REPLACEMENT with *adv = 1. */
uint32_t text_decode(const char *s, size_t len, size_t *adv);
/* Encodes cp as UTF-8 into out (4 bytes room); returns the byte count. */
size_t   text_encode(uint32_t cp, char *out);
int      text_valid(const char *s, size_t len);
/* Length of the valid UTF-8 sequence at s (n > 0 bytes available), 0 when invalid: the
 * rules jansson checks (no overlong forms, no surrogates, nothing above U+10FFFF). */
size_t   text_utf8_seq(const char *s, size_t n);
/* A copy of s with every invalid byte replaced by U+FFFD (everything else, NUL and
 * controls included, kept as it is): valid UTF-8 for JSON.  Caller frees. */
char    *text_valid_copy(const char *s, size_t len, size_t *outlen);
/* Length of the longest prefix that does not end in an incomplete multi-byte character
 * (streamed chunks: hold the rest back until more bytes arrive). */
size_t   text_complete_prefix(const char *s, size_t len);
/* Width of a single code point as this program draws it (controls count as their
 * placeholder's width). */
int      text_cp_width(uint32_t cp, unsigned flags);

/* The cell starting at off (< len).  Returns the offset after it. */
size_t text_cell_next(const char *s, size_t len, size_t off, unsigned flags, text_cell *c);

/* Display width of the whole text (newlines count 0, tabs 1). */
size_t text_width(const char *s, size_t len, unsigned flags);
/* Bytes of s that fit in cols columns, stopping before a newline; *used gets the columns. */
size_t text_fit(const char *s, size_t len, int cols, unsigned flags, int *used);
/* A safe copy: placeholders substituted, invalid bytes → U+FFFD; newlines kept unless
 * TEXT_NL_VISIBLE.  Caller frees. */
char  *text_sanitize(const char *s, size_t len, unsigned flags, size_t *outlen);

/* Word wrap into lines of at most cols columns (tabs expanded to multiples of `tab`).
 * Fills up to max line start offsets into starts[] (ends are the next start, trimmed of
 * the newline) and returns the total number of lines (may exceed max).  A line breaks
 * after the last space that fits, else inside the word. */
typedef struct {
    size_t start, end;       /* bytes [start, end) drawn on this line */
} text_line;
size_t text_wrap(const char *s, size_t len, int cols, int tab, unsigned flags,
                 text_line *lines, size_t max);
#endif
