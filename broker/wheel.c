/*
 * wheel.c - a two-level timer wheel (units are the caller's; the broker
 * uses 100 ms ticks) for keepalive, connect, will and session-expiry
 * deadlines (struct broker_wheel, one per loop, touched only by its
 * thread).
 *
 * Level 0 has one slot per tick and covers the current span of
 * BROKER_WHEEL_SPAN ticks and the next one; level 1 has one slot per span.
 * While a span runs, the level-1 slot of the next span is moved down to
 * level 0 a share per tick (its count over the ticks left), so the move
 * is spread evenly instead of landing on one tick: a burst of a million
 * deadlines (every device reconnecting after a restart) costs each tick
 * a few thousand pointer moves, not a million.  An entry met in that slot
 * but due a whole level-1 turn later waits in `later` until the span
 * ends, then goes back to level 1.  A slot is a circular doubly-linked
 * list, so set, move and delete are O(1), and a tick walks only its own
 * level-0 slot and its share of the move.
 */
#include "broker/internal.h"

static void
unlink_entry(struct broker_wheel_entry *e)
{
	if (e->next != NULL) {
		e->next->prev = e->prev;
		e->prev->next = e->next;
		e->next = e->prev = NULL;
	}
}

static void
push(struct broker_wheel_entry *head, struct broker_wheel_entry *e)
{
	e->next = head;
	e->prev = head->prev;
	head->prev->next = e;
	head->prev = e;
}

static void
empty(struct broker_wheel_entry *head)
{
	head->next = head->prev = head;
}

static uint64_t
span(uint64_t t)
{
	return t >> BROKER_WHEEL_BITS;
}

void
broker_wheel_init(struct broker_wheel *w, uint64_t now_s)
{
	for (size_t i = 0; i < BROKER_WHEEL_SLOTS; i++) {
		empty(&w->l0[i]);
	}
	for (size_t i = 0; i < BROKER_WHEEL_L1; i++) {
		empty(&w->l1[i]);
		w->n1[i] = 0;
	}
	empty(&w->later);
	w->now = now_s;
	w->moved = 0;
}

/* Files e (unlinked, e->due > w->now): level 0 if it is due in this span
 * or the next (less than BROKER_WHEEL_SLOTS ticks away), else level 1. */
static void
place(struct broker_wheel *w, struct broker_wheel_entry *e)
{
	if (span(e->due) <= span(w->now) + 1) {
		push(&w->l0[e->due % BROKER_WHEEL_SLOTS], e);
	} else {
		size_t i = span(e->due) % BROKER_WHEEL_L1;
		push(&w->l1[i], e);
		w->n1[i]++;
	}
}

void
broker_wheel_set(struct broker_wheel *w, struct broker_wheel_entry *e,
    uint64_t due)
{
	unlink_entry(e);
	if (due <= w->now) {
		due = w->now + 1; /* the next tick handles it */
	}
	e->due = due;
	place(w, e);
}

void
broker_wheel_del(struct broker_wheel_entry *e)
{
	unlink_entry(e);
}

/* This tick's share of moving the next span's level-1 slot down: its
 * count over the ticks left in the span, and all that is left on the
 * span's last tick. */
static void
move_share(struct broker_wheel *w)
{
	uint64_t next = span(w->now) + 1;
	size_t i = next % BROKER_WHEEL_L1;
	struct broker_wheel_entry *head = &w->l1[i], *e;
	uint64_t left = BROKER_WHEEL_SPAN - (w->now & (BROKER_WHEEL_SPAN - 1));
	uint64_t quota = (w->n1[i] + left - 1) / left;

	for (uint64_t k = 0; head->next != head && (left == 1 || k < quota);
	    k++) {
		e = head->next;
		unlink_entry(e);
		w->n1[i] -= w->n1[i] > 0;
		w->moved++;
		push(span(e->due) == next ? &w->l0[e->due % BROKER_WHEEL_SLOTS]
					  : &w->later,
		    e);
	}
	if (head->next == head) {
		w->n1[i] = 0; /* deleted entries were still counted */
	}
}

/* Moves a list's entries to a local one headed by tmp: fire() and place()
 * may add to the slot while it is walked. */
static void
detach(struct broker_wheel_entry *head, struct broker_wheel_entry *tmp)
{
	if (head->next == head) {
		empty(tmp);
		return;
	}
	*tmp = *head;
	tmp->next->prev = tmp;
	tmp->prev->next = tmp;
	empty(head);
}

void
broker_wheel_advance(struct broker_wheel *w, uint64_t now_s,
    void (*fire)(struct broker_wheel_entry *e, void *arg), void *arg)
{
	struct broker_wheel_entry list, *e;

	while (w->now < now_s) {
		w->now++;
		if ((w->now & (BROKER_WHEEL_SPAN - 1)) == 0) {
			/* A new span: what waited a level-1 turn goes back
			 * to its slot. */
			detach(&w->later, &list);
			while (list.next != &list) {
				e = list.next;
				unlink_entry(e);
				place(w, e);
			}
		}
		move_share(w);
		detach(&w->l0[w->now % BROKER_WHEEL_SLOTS], &list);
		/* Pop one at a time: fire() may also delete other entries
		 * of this list, which unlink_entry() handles. */
		while (list.next != &list) {
			e = list.next;
			unlink_entry(e);
			if (e->due <= now_s) {
				fire(e, arg);
			} else {
				place(w, e);
			}
		}
	}
}
