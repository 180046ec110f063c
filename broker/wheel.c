/*
 * wheel.c - a tick-based timer wheel (units are the caller's; the broker
 * uses 100 ms ticks) for keepalive, connect and will
 * deadlines (struct broker_wheel, one per loop, touched only by its
 * thread).  Entries live in the slot of their due second modulo the wheel
 * size in a circular doubly-linked list; an entry due further out than
 * one turn simply waits for a later turn (its `due` is checked when its
 * slot comes round).  Set, move and delete are O(1); a tick walks only
 * the slots of the seconds that passed.
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

void
broker_wheel_init(struct broker_wheel *w, uint64_t now_s)
{
	for (size_t i = 0; i < BROKER_WHEEL_SLOTS; i++) {
		w->slots[i].next = w->slots[i].prev = &w->slots[i];
	}
	w->now = now_s;
}

void
broker_wheel_set(struct broker_wheel *w, struct broker_wheel_entry *e,
    uint64_t due)
{
	struct broker_wheel_entry *head;

	unlink_entry(e);
	if (due <= w->now) {
		due = w->now + 1; /* the next tick handles it */
	}
	e->due = due;
	head = &w->slots[due % BROKER_WHEEL_SLOTS];
	e->next = head;
	e->prev = head->prev;
	head->prev->next = e;
	head->prev = e;
}

void
broker_wheel_del(struct broker_wheel_entry *e)
{
	unlink_entry(e);
}

void
broker_wheel_advance(struct broker_wheel *w, uint64_t now_s,
    void (*fire)(struct broker_wheel_entry *e, void *arg), void *arg)
{
	/* After a long stall, one full turn visits every slot. */
	if (now_s > w->now + BROKER_WHEEL_SLOTS) {
		w->now = now_s - BROKER_WHEEL_SLOTS;
	}
	while (w->now < now_s) {
		struct broker_wheel_entry *head, *e;

		w->now++;
		head = &w->slots[w->now % BROKER_WHEEL_SLOTS];
		/* Detach the slot first: fire() may re-add entries, even to
		 * this very slot. */
		struct broker_wheel_entry list = *head;
		if (head->next == head) {
			continue;
		}
		list.next->prev = &list;
		list.prev->next = &list;
		head->next = head->prev = head;
		/* Pop one at a time: fire() may also delete other entries
		 * of this list, which unlink_entry() handles. */
		while (list.next != &list) {
			e = list.next;
			unlink_entry(e);
			if (e->due <= now_s) {
				fire(e, arg);
			} else {
				broker_wheel_set(w, e, e->due);
			}
		}
	}
}
