/* Unit tests for core/text: what reaches the terminal and how wide it is. */
#include "tests/test.h"
#include "core/text.h"
#include <stdlib.h>

static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
            return 1;
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] < 0xA0)   /* C1 */
            return 1;
    }
    return 0;
}

TEST(text_decode_valid_and_invalid)
{
    size_t adv;
    CHECK_INT(text_decode("A", 1, &adv), 'A');
    CHECK_INT(adv, 1);
    CHECK_INT(text_decode("\xc3\xa9", 2, &adv), 0xE9);
    CHECK_INT(adv, 2);
    CHECK_INT(text_decode("\xe4\xb8\xad", 3, &adv), 0x4E2D);
    CHECK_INT(text_decode("\xf0\x9f\x98\x80", 4, &adv), 0x1F600);
    CHECK_INT(adv, 4);
    CHECK_INT(text_decode("\xc0\xaf", 2, &adv), TEXT_REPLACEMENT);   /* overlong */
    CHECK_INT(adv, 1);
    CHECK_INT(text_decode("\xed\xa0\x80", 3, &adv), TEXT_REPLACEMENT); /* surrogate */
    CHECK_INT(text_decode("\xe4\xb8", 2, &adv), TEXT_REPLACEMENT);    /* truncated */
    CHECK_INT(text_decode("\xf4\x90\x80\x80", 4, &adv), TEXT_REPLACEMENT); /* > U+10FFFF */
    CHECK(text_valid("h\xc3\xa9llo \xef\xbf\xbd", 10));
    CHECK(!text_valid("a\xffz", 3));
    char out[4];
    CHECK_INT(text_encode(0x1F600, out), 4);
    CHECK(!memcmp(out, "\xf0\x9f\x98\x80", 4));
}

TEST(text_complete_prefix_holds_back_partial_char)
{
    CHECK_INT(text_complete_prefix("ab\xe4\xb8", 4), 2);
    CHECK_INT(text_complete_prefix("ab\xe4\xb8\xad", 5), 5);
    CHECK_INT(text_complete_prefix("ab\xf0", 3), 2);
    CHECK_INT(text_complete_prefix("abc", 3), 3);
    CHECK_INT(text_complete_prefix("", 0), 0);
    const char *arrow = "\xe2\x86\x92";               /* → is 3 bytes */
    CHECK_INT(text_complete_prefix(arrow, 1), 0);
    CHECK_INT(text_complete_prefix(arrow, 2), 0);
    CHECK_INT(text_complete_prefix(arrow, 3), 3);
    const char *emoji = "a\xf0\x9f\x98\x80";          /* 😀 is 4 bytes */
    for (size_t n = 2; n < 5; n++)
        CHECK_INT(text_complete_prefix(emoji, n), 1);
    CHECK_INT(text_complete_prefix(emoji, 5), 5);
    CHECK_INT(text_complete_prefix("\x80\x80", 2), 2);   /* stray continuation: never completes */
    /* Bytes that never start a character are not waited for (0xF5-0xFF, 0xC0, 0xC1). */
    CHECK_INT(text_complete_prefix("ab\xf5", 3), 3);
    CHECK_INT(text_complete_prefix("ab\xff\x80", 4), 4);
    CHECK_INT(text_complete_prefix("ab\xc0", 3), 3);
}

TEST(text_escape_sequences_become_placeholders)
{
    const char *in = "red\x1b[31mX\x1b]0;title\x07 bell\r del\x7f c1\xc2\x9b end";
    size_t n;
    char *s = text_sanitize(in, strlen(in), 0, &n);
    CHECK(!has_control(s, n));
    CHECK(strstr(s, "\xe2\x90\x9b[31mX") != NULL);      /* ␛ then the visible rest */
    CHECK(strstr(s, "\xe2\x90\x87") != NULL);            /* ␇ */
    CHECK(strstr(s, "\xe2\x90\x8d") != NULL);            /* ␍ */
    CHECK(strstr(s, "<9b>") != NULL);
    free(s);
    s = text_sanitize(in, strlen(in), TEXT_ASCII, &n);
    CHECK(!has_control(s, n));
    CHECK(strstr(s, "^[[31m") != NULL);
    CHECK(strstr(s, "^?") != NULL);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] < 0x80);
    free(s);
}

TEST(text_invalid_bytes_become_replacement)
{
    size_t n;
    char *s = text_sanitize("a\xff\xfe" "b", 4, 0, &n);
    CHECK_STR(s, "a\xef\xbf\xbd\xef\xbf\xbd" "b");
    CHECK(text_valid(s, n));
    free(s);
}

TEST(text_bidi_override_is_shown_not_obeyed)
{
    const char *in = "abc\xe2\x80\xae" "def";    /* U+202E RIGHT-TO-LEFT OVERRIDE */
    char *s = text_sanitize(in, strlen(in), 0, NULL);
    CHECK(strstr(s, "\xe2\x80\xae") == NULL);
    CHECK(strstr(s, "<202e>") != NULL);
    free(s);
}

TEST(text_width_of_wide_and_combining)
{
    CHECK_INT(text_width("abc", 3, 0), 3);
    CHECK_INT(text_width("\xe4\xb8\xad\xe6\x96\x87", 6, 0), 4);          /* 中文 */
    CHECK_INT(text_width("\xf0\x9f\x98\x80", 4, 0), 2);                  /* 😀 */
    CHECK_INT(text_width("e\xcc\x81", 3, 0), 1);                         /* e + combining acute */
    CHECK_INT(text_width("\x1b", 1, 0), 1);                              /* ␛ */
    CHECK_INT(text_width("\x1b", 1, TEXT_ASCII), 2);                     /* ^[ */
    CHECK_INT(text_width("\xe4\xb8\xad", 3, TEXT_ASCII), 2);             /* ?? */
    text_cell c;
    size_t next = text_cell_next("e\xcc\x81x", 4, 0, 0, &c);
    CHECK_INT(next, 3);
    CHECK_INT(c.width, 1);
    CHECK_STR(c.out, "e\xcc\x81");
}

TEST(text_zalgo_stays_one_cell)
{
    char in[1 + 2 * 200];
    in[0] = 'z';
    for (int i = 0; i < 200; i++) {
        in[1 + 2 * i] = (char)0xcc;
        in[2 + 2 * i] = (char)0x81;
    }
    text_cell c;
    size_t next = text_cell_next(in, sizeof in, 0, 0, &c);
    CHECK_INT(next, sizeof in);
    CHECK_INT(c.width, 1);
    CHECK(c.outlen < sizeof c.out);
}

TEST(text_fit_truncates_by_columns)
{
    int used;
    /* "ab中文" in 3 columns: the wide char does not fit half. */
    CHECK_INT(text_fit("ab\xe4\xb8\xad\xe6\x96\x87", 8, 3, 0, &used), 2);
    CHECK_INT(used, 2);
    CHECK_INT(text_fit("ab\xe4\xb8\xad\xe6\x96\x87", 8, 4, 0, &used), 5);
    CHECK_INT(used, 4);
    CHECK_INT(text_fit("ab\ncd", 5, 10, 0, &used), 2);
    CHECK_INT(text_fit("ab\ncd", 5, 10, TEXT_NL_VISIBLE, &used), 5);
    CHECK_INT(used, 5);
}

TEST(text_wrap_by_words_and_columns)
{
    text_line l[16];
    const char *s = "the quick brown fox";
    size_t n = text_wrap(s, strlen(s), 10, 4, 0, l, 16);
    CHECK_INT(n, 2);
    CHECK_INT(l[0].start, 0);
    CHECK_INT(l[0].end, 10);            /* "the quick " */
    CHECK_INT(l[1].start, 10);
    CHECK_INT(l[1].end, strlen(s));
    /* A long word is cut inside. */
    n = text_wrap("abcdefghij", 10, 4, 4, 0, l, 16);
    CHECK_INT(n, 3);
    CHECK_INT(l[1].start, 4);
    /* Wide characters never split across lines: 5 CJK chars (10 cols) in 3 columns. */
    const char *cjk = "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad";
    n = text_wrap(cjk, strlen(cjk), 3, 4, 0, l, 16);
    CHECK_INT(n, 5);
    for (size_t i = 0; i < n && i < 16; i++)
        CHECK_INT(text_width(cjk + l[i].start, l[i].end - l[i].start, 0), 2);
    /* Newlines break; the count goes on past max. */
    n = text_wrap("a\nb\nc\n", 6, 10, 4, 0, l, 2);
    CHECK_INT(n, 4);
    CHECK_INT(l[1].start, 2);
    CHECK_INT(l[1].end, 3);
}

TEST(text_utf8_seq_and_valid_copy)
{
    CHECK_INT(text_utf8_seq("a", 1), 1);
    CHECK_INT(text_utf8_seq("\xc3\xa9", 2), 2);
    CHECK_INT(text_utf8_seq("\xc3", 1), 0);
    CHECK_INT(text_utf8_seq("\xed\xa0\x80", 3), 0);       /* a surrogate */
    CHECK_INT(text_utf8_seq("\xc0\xaf", 2), 0);            /* overlong */
    CHECK_INT(text_utf8_seq("\xf4\x90\x80\x80", 4), 0);   /* above U+10FFFF */
    CHECK_INT(text_utf8_seq("\xef\xbf\xbd", 3), 3);       /* a real U+FFFD is valid */
    size_t n;
    char *v = text_valid_copy("a\0b\xe2\x86" "c", 6, &n);    /* NUL kept, a cut arrow replaced */
    CHECK_INT(n, 3 + 3 + 3 + 1);
    CHECK(!memcmp(v, "a\0b\xef\xbf\xbd\xef\xbf\xbd" "c", n));
    free(v);
}

TEST(text_hex_bytes_shows_cut_characters)
{
    char *s = text_sanitize("\xe2\x86", 2, TEXT_HEX_BYTES, NULL);
    CHECK_STR(s, "\\xe2\\x86");
    free(s);
    s = text_sanitize("\xe2\x86\x92", 3, TEXT_HEX_BYTES, NULL);   /* a whole arrow stays one */
    CHECK_STR(s, "\xe2\x86\x92");
    free(s);
    CHECK_INT(text_width("\xe2\x86", 2, TEXT_HEX_BYTES), 8);
}
