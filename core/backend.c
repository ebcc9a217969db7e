/* core/backend.c — dispatch through the backend's operations. */
#include "core/backend.h"
#include <poll.h>

int backend_start(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                  char *err, size_t errlen)
{
    return b->ops->start(b, context, len, s, k, err, errlen);
}

void backend_cancel(backend *b, int request) { b->ops->cancel(b, request); }
int  backend_pump(backend *b) { return b->ops->pump(b); }

int backend_wait(backend *b, const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    return b->ops->wait(b, fds, nfds, timeout_ms, fd_ready);
}

void backend_free(backend *b)
{
    if (b)
        b->ops->free(b);
}

void backend_emit(backend *b, const backend_event *ev)
{
    if (b->on_event)
        b->on_event(b->ud, ev);
}

int backend_poll_fds(const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    struct pollfd p[16];
    if (nfds > 16)
        nfds = 16;
    for (int i = 0; i < nfds; i++)
        p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    if (fd_ready)
        *fd_ready = -1;
    int r = poll(p, (nfds_t)nfds, timeout_ms);
    if (r <= 0)
        return 0;
    for (int i = 0; i < nfds; i++)
        if (p[i].revents) {
            if (fd_ready)
                *fd_ready = i;
            break;
        }
    return 1;
}
