/* net/sse.h — an incremental Server-Sent-Events parser, and UTF-8 hold-back.
 *
 * Bytes go in as they arrive (sse_feed, any split: mid-line, between CR and LF, mid-event).
 * Each complete event's data is handed to the callback: its `data:` lines joined with "\n".
 * Lines starting with ':' are comments and are skipped; CRLF, LF and lone CR all end a
 * line; a leading UTF-8 BOM is ignored; fields other than `data` are ignored; an event
 * without data lines is not dispatched.  "[DONE]" is passed on like any data: the caller
 * decides what ends a stream.  One event's data is capped at `max` bytes (overflow is an
 * error, never a crash).  The callback may return nonzero to stop parsing at once. */
#ifndef NET_SSE_H
#define NET_SSE_H
#include "core/mem.h"
#include <stddef.h>

typedef int (*sse_event_fn)(void *ud, const char *data, size_t len);

typedef struct {
    buf    line;        /* the current, not yet terminated line */
    buf    data;        /* data of the event being read */
    int    has_data;    /* a data: line was seen in this event */
    int    after_cr;    /* the previous byte was CR: a following LF belongs to it */
    int    started;     /* first bytes seen (BOM check done) */
    size_t max;
    int    overflow;
} sse_parser;

void sse_init(sse_parser *p, size_t max);
void sse_free(sse_parser *p);
/* 0: all consumed; 1: the callback asked to stop; -1: an event passed the cap. */
int  sse_feed(sse_parser *p, const char *bytes, size_t len, sse_event_fn fn, void *ud);
/* At end of stream: dispatches an event whose last line was terminated but not followed by
 * a blank line (servers that close right after the last data line).  Same return values. */
int  sse_finish(sse_parser *p, sse_event_fn fn, void *ud);

#endif
