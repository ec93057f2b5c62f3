/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ev.h - the core thread's event loop: fds, timers, deferred calls, posts.
 *
 * One loop runs on fedflowd's core thread and owns all scheduler and store
 * state (STYLE rule 23). Other threads (HTTP workers) never touch that
 * state: they ev_post() a message, which is the only thread-safe entry
 * point; posts are coalesced into one eventfd wakeup.
 *
 * Timers use CLOCK_MONOTONIC milliseconds and a binary min-heap keyed by
 * (deadline, seq), so equal deadlines fire in start order. ev_now() is
 * cached once per loop iteration. Deferred calls (ev_defer) run before the
 * loop next blocks: they break call chains that would otherwise recurse
 * (a local command completing inside the call that issued it).
 *
 * Watchers and timers are intrusive: the caller owns the memory and must
 * stop/delete them before freeing it. Not thread-safe except ev_post and
 * ev_stop.
 */
#ifndef FF_EV_H
#define FF_EV_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct ev_loop;

struct ev_io;
typedef void (*ev_io_cb)(struct ev_io *io, uint32_t revents);
struct ev_io {
	int fd;
	uint32_t events;      /* EPOLLIN | EPOLLOUT ... */
	ev_io_cb cb;
	bool active;
};

struct ev_timer;
typedef void (*ev_timer_cb)(struct ev_timer *t);
struct ev_timer {
	int64_t deadline;     /* monotonic ms */
	uint64_t seq;
	size_t heap_idx;      /* SIZE_MAX when not armed */
	ev_timer_cb cb;
};
#define EV_TIMER_INIT(callback) { .deadline = 0, .seq = 0, .heap_idx = SIZE_MAX, .cb = (callback) }

struct ev_defer;
typedef void (*ev_defer_cb)(struct ev_defer *d);
struct ev_defer {
	struct ev_defer *next;
	ev_defer_cb cb;
	bool queued;
};

struct ev_msg;
typedef void (*ev_msg_cb)(struct ev_msg *m);
struct ev_msg {
	struct ev_msg *next;
	ev_msg_cb cb;
};

int ev_loop_new(struct ev_loop **out);
void ev_loop_free(struct ev_loop *l);

/* Cached monotonic milliseconds of this iteration. */
int64_t ev_now(struct ev_loop *l);
void ev_update_now(struct ev_loop *l);

int ev_io_start(struct ev_loop *l, struct ev_io *io);
int ev_io_modify(struct ev_loop *l, struct ev_io *io, uint32_t events);
void ev_io_stop(struct ev_loop *l, struct ev_io *io);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb);
/* (Re)arms t to fire once after delay_ms (clamped to [0, 1 year]). */
void ev_timer_start(struct ev_loop *l, struct ev_timer *t, int64_t delay_ms);
void ev_timer_stop(struct ev_loop *l, struct ev_timer *t);
static inline bool ev_timer_active(const struct ev_timer *t)
{
	return t->heap_idx != SIZE_MAX;
}

/* Queues d to run before the loop blocks again; no-op if already queued. */
void ev_defer(struct ev_loop *l, struct ev_defer *d, ev_defer_cb cb);
/* Thread-safe: queues m and wakes the loop. The loop calls m->cb(m). */
void ev_post(struct ev_loop *l, struct ev_msg *m, ev_msg_cb cb);

/* Runs until ev_stop. Returns FF_OK or an error from epoll. */
int ev_run(struct ev_loop *l);
/* Thread-safe request to leave ev_run after the current iteration. */
void ev_stop(struct ev_loop *l);

#endif
