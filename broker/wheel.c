/*
 * wheel.c - a two-level timer wheel (units are the caller's; the broker
 * uses 100 ms ticks) for keepalive, connect, will and session-expiry
 * deadlines (struct broker_wheel, one per loop, touched only by its
 * thread).
 *
 * Level 0 holds the entries due within the next BROKER_WHEEL_SLOTS ticks,
 * one slot per tick; level 1 holds the rest, one slot per
 * BROKER_WHEEL_SLOTS ticks.  When level 0 starts a new turn, the level-1
 * slot of that turn is cascaded: its entries move to level 0 (or, if they
 * are due more than a level-1 turn away, back to level 1).  A slot is a
 * circular doubly-linked list, so set, move and delete are O(1), and a
 * tick walks only its own slot: with a million keepalive deadlines
 * minutes away, a tick touches none of them.
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

void
broker_wheel_init(struct broker_wheel *w, uint64_t now_s)
{
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < BROKER_WHEEL_SLOTS; i++) {
			w->slots[k][i].next = w->slots[k][i].prev =
			    &w->slots[k][i];
		}
	}
	w->now = now_s;
	w->cascaded = 0;
}

/* Files e (unlinked, e->due > w->now) in the slot its due tick needs. */
static void
place(struct broker_wheel *w, struct broker_wheel_entry *e)
{
	const uint64_t mask = BROKER_WHEEL_SLOTS - 1;

	if (e->due - w->now < BROKER_WHEEL_SLOTS) {
		push(&w->slots[0][e->due & mask], e);
	} else {
		push(&w->slots[1][(e->due >> BROKER_WHEEL_BITS) & mask], e);
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

/* Moves a slot's entries into a local list headed by tmp (fire() and
 * place() may add to the slot while it is being walked). */
static void
detach(struct broker_wheel_entry *head, struct broker_wheel_entry *tmp)
{
	*tmp = *head;
	if (head->next == head) {
		tmp->next = tmp->prev = tmp;
		return;
	}
	tmp->next->prev = tmp;
	tmp->prev->next = tmp;
	head->next = head->prev = head;
}

void
broker_wheel_advance(struct broker_wheel *w, uint64_t now_s,
    void (*fire)(struct broker_wheel_entry *e, void *arg), void *arg)
{
	const uint64_t mask = BROKER_WHEEL_SLOTS - 1;
	struct broker_wheel_entry list, *e;

	while (w->now < now_s) {
		w->now++;
		if ((w->now & mask) == 0) {
			/* A new level-0 turn: bring down the entries due in
			 * it.  Each entry is cascaded at most once per
			 * deadline (or once per level-1 turn if due later). */
			detach(&w->slots[1][(w->now >> BROKER_WHEEL_BITS) & mask],
			    &list);
			while (list.next != &list) {
				e = list.next;
				unlink_entry(e);
				w->cascaded++;
				if (e->due <= w->now) {
					push(&w->slots[0][w->now & mask], e);
				} else {
					place(w, e);
				}
			}
		}
		detach(&w->slots[0][w->now & mask], &list);
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
