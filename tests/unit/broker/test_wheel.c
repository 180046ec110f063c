/*
 * test_wheel.c - unit tests for broker/wheel.c, the two-level timer
 * wheel (units are ticks; "seconds" below means ticks): an entry fires in the advance that reaches its due second and
 * never before, re-setting moves it, deleting stops it, entries due more
 * than one turn (BROKER_WHEEL_SLOTS seconds) ahead wait for their turn,
 * the fire callback may delete another entry of the same slot or re-add
 * itself, and a long stall fires everything that came due.
 *
 * Each test entry embeds a broker_wheel_entry and records how often and
 * at which wheel second it fired; the callback finds it from the entry.
 * The wheel and its entries live on the stack: nothing is allocated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "broker/internal.h"

#define T0 1000u /* the wheel's start second in every test */

struct tentry {
	struct broker_wheel_entry e;
	unsigned fired;       /* times fire() ran for it */
	uint64_t fired_at;    /* w->now when it last fired */
	/* What fire() does besides counting. */
	struct tentry *kill;  /* deletes this other entry */
	uint64_t readd;       /* re-sets itself to this due second, once */
};

struct ctx {
	struct broker_wheel *w;
	unsigned calls;
};

#define TENTRY(p) \
	((struct tentry *)((char *)(p) - offsetof(struct tentry, e)))

static void
on_fire(struct broker_wheel_entry *e, void *arg)
{
	struct ctx *c = arg;
	struct tentry *t = TENTRY(e);

	/* The entry is out of the wheel when it fires. */
	assert_null(e->next);
	assert_null(e->prev);
	c->calls++;
	t->fired++;
	t->fired_at = c->w->now;
	if (t->kill != NULL) {
		broker_wheel_del(&t->kill->e);
	}
	if (t->readd != 0) {
		uint64_t due = t->readd;

		t->readd = 0;
		broker_wheel_set(c->w, e, due);
	}
}

static void
advance(struct ctx *c, uint64_t now_s)
{
	broker_wheel_advance(c->w, now_s, on_fire, c);
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */

static void
wheel_entry_fires_at_its_due_second_and_not_before(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 5);
	assert_int_equal(a.e.due, T0 + 5);
	advance(&c, T0 + 4);
	assert_int_equal(a.fired, 0);
	assert_int_equal(w.now, T0 + 4);
	advance(&c, T0 + 5);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, T0 + 5);
	advance(&c, T0 + 6);
	advance(&c, T0 + 5000);
	assert_int_equal(a.fired, 1);
	assert_int_equal(c.calls, 1);
}

static void
wheel_entry_fires_in_an_advance_that_passes_its_due_second(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 3);
	broker_wheel_set(&w, &b.e, T0 + 8);
	advance(&c, T0 + 7);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, T0 + 3);
	assert_int_equal(b.fired, 0);
	advance(&c, T0 + 8);
	assert_int_equal(b.fired, 1);
	assert_int_equal(c.calls, 2);
}

static void
wheel_due_now_or_in_the_past_fires_at_the_next_second(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0);
	broker_wheel_set(&w, &b.e, 3);
	assert_int_equal(a.e.due, T0 + 1);
	assert_int_equal(b.e.due, T0 + 1);
	advance(&c, T0); /* no time passed: nothing runs */
	assert_int_equal(c.calls, 0);
	advance(&c, T0 + 1);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(c.calls, 2);
}

static void
wheel_reset_moves_entry_earlier(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 10);
	broker_wheel_set(&w, &a.e, T0 + 3);
	assert_int_equal(a.e.due, T0 + 3);
	advance(&c, T0 + 2);
	assert_int_equal(a.fired, 0);
	advance(&c, T0 + 3);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, T0 + 3);
	advance(&c, T0 + 20); /* its old second passes: nothing */
	assert_int_equal(a.fired, 1);
	assert_int_equal(c.calls, 1);
}

static void
wheel_reset_moves_entry_later(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 3);
	advance(&c, T0 + 1);
	broker_wheel_set(&w, &a.e, T0 + 10); /* a keepalive refresh */
	advance(&c, T0 + 9);
	assert_int_equal(a.fired, 0);
	advance(&c, T0 + 10);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, T0 + 10);
	advance(&c, T0 + 30);
	assert_int_equal(c.calls, 1);
}

static void
wheel_reset_keeps_other_entries_of_both_slots(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b, d;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&d, 0, sizeof(d));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 4);
	broker_wheel_set(&w, &b.e, T0 + 4);
	broker_wheel_set(&w, &d.e, T0 + 6);
	broker_wheel_set(&w, &a.e, T0 + 6); /* from b's slot to d's */
	advance(&c, T0 + 4);
	assert_int_equal(a.fired, 0);
	assert_int_equal(b.fired, 1);
	assert_int_equal(d.fired, 0);
	advance(&c, T0 + 6);
	assert_int_equal(a.fired, 1);
	assert_int_equal(d.fired, 1);
	assert_int_equal(c.calls, 3);
}

static void
wheel_deleted_entry_does_not_fire(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 2);
	broker_wheel_set(&w, &b.e, T0 + 2);
	broker_wheel_del(&a.e);
	assert_null(a.e.next);
	broker_wheel_del(&a.e); /* twice is harmless */
	advance(&c, T0 + 2 + 3 * BROKER_WHEEL_SLOTS);
	assert_int_equal(a.fired, 0);
	assert_int_equal(b.fired, 1);
	assert_int_equal(c.calls, 1);
}

static void
wheel_delete_of_never_set_entry_is_harmless(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &b.e, T0 + 1);
	broker_wheel_del(&a.e);
	assert_null(a.e.next);
	assert_null(a.e.prev);
	advance(&c, T0 + 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(c.calls, 1);
}

static void
wheel_deleted_entry_can_be_set_again(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 2);
	broker_wheel_del(&a.e);
	broker_wheel_set(&w, &a.e, T0 + 5);
	advance(&c, T0 + 4);
	assert_int_equal(a.fired, 0);
	advance(&c, T0 + 5);
	assert_int_equal(a.fired, 1);
	assert_int_equal(c.calls, 1);
}

static void
wheel_entry_beyond_one_turn_fires_at_its_due_second(void **state)
{
	/* Three entries share slot (T0 + 88) % SLOTS: one this turn, one
	 * next turn, one three turns on.  Stepping one second at a time,
	 * each must fire exactly at its own second. */
	static const uint64_t dues[] = {
		T0 + 88,
		T0 + 88 + BROKER_WHEEL_SLOTS,
		T0 + 88 + 3 * BROKER_WHEEL_SLOTS,
		T0 + BROKER_WHEEL_SLOTS + 1, /* just over one turn */
		T0 + BROKER_WHEEL_SLOTS,     /* exactly one turn */
	};
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry t[5];
	uint64_t s;

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	for (size_t i = 0; i < 5; i++) {
		broker_wheel_set(&w, &t[i].e, dues[i]);
	}
	for (s = T0 + 1; s <= T0 + 4 * BROKER_WHEEL_SLOTS; s++) {
		advance(&c, s);
		for (size_t i = 0; i < 5; i++) {
			assert_int_equal(t[i].fired, s >= dues[i] ? 1 : 0);
		}
	}
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(t[i].fired_at, dues[i]);
	}
	assert_int_equal(c.calls, 5);
}

static void
wheel_fire_may_delete_another_entry_of_the_same_slot(void **state)
{
	/* a and b (same slot) each delete the other when they fire:
	 * whichever runs first, the other must not run.  d, also in the
	 * slot, is untouched. */
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b, d;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&d, 0, sizeof(d));
	a.kill = &b;
	b.kill = &a;
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &d.e, T0 + 5);
	broker_wheel_set(&w, &a.e, T0 + 5);
	broker_wheel_set(&w, &b.e, T0 + 5 + BROKER_WHEEL_SLOTS);
	broker_wheel_set(&w, &b.e, T0 + 5);
	advance(&c, T0 + 5);
	assert_int_equal(a.fired + b.fired, 1);
	assert_int_equal(d.fired, 1);
	assert_int_equal(c.calls, 2);
	advance(&c, T0 + 5 + 2 * BROKER_WHEEL_SLOTS);
	assert_int_equal(c.calls, 2);
}

static void
wheel_fire_may_delete_a_later_entry_of_the_same_slot(void **state)
{
	/* b shares a's slot but is due a turn later; a deletes it. */
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.kill = &b;
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &b.e, T0 + 7 + BROKER_WHEEL_SLOTS);
	broker_wheel_set(&w, &a.e, T0 + 7);
	advance(&c, T0 + 7);
	assert_int_equal(a.fired, 1);
	assert_null(b.e.next);
	advance(&c, T0 + 7 + 3 * BROKER_WHEEL_SLOTS);
	assert_int_equal(b.fired, 0);
	assert_int_equal(c.calls, 1);
}

static void
wheel_fire_may_readd_itself_later(void **state)
{
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.readd = T0 + 15;
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 5);
	advance(&c, T0 + 14);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, T0 + 5);
	assert_int_equal(a.e.due, T0 + 15);
	advance(&c, T0 + 15);
	assert_int_equal(a.fired, 2);
	assert_int_equal(a.fired_at, T0 + 15);
	advance(&c, T0 + 2000);
	assert_int_equal(c.calls, 2);
}

static void
wheel_fire_may_readd_itself_to_its_own_slot_next_turn(void **state)
{
	/* Re-added to the very slot being processed: it must wait a full
	 * turn, not fire again in the same advance. */
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.readd = T0 + 5 + BROKER_WHEEL_SLOTS;
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 5);
	advance(&c, T0 + 4 + BROKER_WHEEL_SLOTS);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, T0 + 5);
	advance(&c, T0 + 5 + BROKER_WHEEL_SLOTS);
	assert_int_equal(a.fired, 2);
	assert_int_equal(a.fired_at, T0 + 5 + BROKER_WHEEL_SLOTS);
	assert_int_equal(c.calls, 2);
}

static void
wheel_fire_readding_itself_as_due_runs_at_the_next_second(void **state)
{
	/* Re-set to a second already passed: the next second runs it, in
	 * the same advance when that advance goes further. */
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.readd = T0; /* the past */
	broker_wheel_init(&w, T0);
	broker_wheel_set(&w, &a.e, T0 + 5);
	advance(&c, T0 + 5);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.e.due, T0 + 6);
	advance(&c, T0 + 9);
	assert_int_equal(a.fired, 2);
	assert_int_equal(a.fired_at, T0 + 6);
	assert_int_equal(c.calls, 2);
}

static void
wheel_entries_beyond_both_levels_fire_at_their_due_tick(void **state)
{
	/* Due further out than a level-1 turn (SLOTS * SLOTS ticks): they
	 * wait in level 1, are cascaded once per level-1 turn and still
	 * fire exactly at their tick. */
	enum { TURN1 = BROKER_WHEEL_L1 * BROKER_WHEEL_SPAN };
	static const uint64_t dues[] = {
		T0 + TURN1 - 1, T0 + TURN1, T0 + TURN1 + 1,
		T0 + 3 * TURN1 + 77, T0 + 5 * TURN1 / 2,
	};
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry t[5];

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	for (size_t i = 0; i < 5; i++) {
		broker_wheel_set(&w, &t[i].e, dues[i]);
	}
	for (uint64_t s = T0 + 1; s <= T0 + 3 * TURN1 + 100; s++) {
		advance(&c, s);
	}
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(t[i].fired, 1);
		assert_int_equal(t[i].fired_at, dues[i]);
	}
	assert_int_equal(c.calls, 5);
	/* Each was moved down at most once per level-1 turn it waited. */
	uint64_t bound = 0;
	for (size_t i = 0; i < 5; i++) {
		bound += (dues[i] - T0) /
		    (BROKER_WHEEL_L1 * BROKER_WHEEL_SPAN) + 2;
	}
	assert_true(w.moved <= bound);
}

static void
wheel_ticks_do_not_touch_entries_not_due(void **state)
{
	/* 20000 deadlines spread over 450..900 s of 100 ms ticks (the
	 * keepalive case): stepping tick by tick until all have fired,
	 * each entry is fired once and cascaded at most once, so the work
	 * per tick is what comes due, not the number of entries. */
	enum { N = 20000 };
	static struct tentry t[N];
	struct broker_wheel w;
	struct ctx c = { &w, 0 };

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	for (size_t i = 0; i < N; i++) {
		broker_wheel_set(&w, &t[i].e, T0 + 4500 + (i * 7919) % 4500);
	}
	for (uint64_t s = T0 + 1; s <= T0 + 9000; s++) {
		advance(&c, s);
	}
	assert_int_equal(c.calls, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(t[i].fired, 1);
		assert_int_equal(t[i].fired_at, t[i].e.due);
	}
	assert_true(w.moved <= N);
}

static void
wheel_a_burst_of_deadlines_is_moved_down_a_share_per_tick(void **state)
{
	/* 100000 deadlines set in one tick, all due in the same tick a
	 * few spans ahead (a reconnect storm): no tick moves more than its
	 * share (the count over the span's ticks, rounded up) plus those
	 * that fire. */
	enum { N = 100000 };
	static struct tentry t[N];
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	uint64_t due = T0 + 3 * BROKER_WHEEL_SPAN + 17, worst = 0;

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	for (size_t i = 0; i < N; i++) {
		broker_wheel_set(&w, &t[i].e, due);
	}
	for (uint64_t s = T0 + 1; s <= due; s++) {
		uint64_t before = w.moved;
		advance(&c, s);
		if (w.moved - before > worst) {
			worst = w.moved - before;
		}
		assert_int_equal(c.calls, s == due ? N : 0);
	}
	assert_int_equal(w.moved, N);
	assert_true(worst <= N / BROKER_WHEEL_SPAN + 1);
}

static void
wheel_long_stall_fires_everything_due_once(void **state)
{
	/* One entry in every slot, due over the 10000 s of the stall
	 * (19 is prime to the wheel size, so i * 19 visits every slot),
	 * and 40 entries due after it, the first at the very next second.
	 * One advance of 10000 s fires exactly the first set, each once;
	 * the rest fire later at their own second. */
	enum { EARLY = BROKER_WHEEL_SLOTS, N = BROKER_WHEEL_SLOTS + 40 };
	static struct tentry t[N];
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	uint64_t dues[N];

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	for (size_t i = 0; i < N; i++) {
		dues[i] = i < EARLY ? T0 + 1 + i * 19
				    : T0 + 10001 + (i - EARLY) * 53;
		broker_wheel_set(&w, &t[i].e, dues[i]);
	}
	assert_true(dues[EARLY - 1] <= T0 + 10000);
	assert_true(dues[N - 1] <= T0 + 12100);
	advance(&c, T0 + 10000);
	assert_int_equal(w.now, T0 + 10000);
	assert_int_equal(c.calls, EARLY);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(t[i].fired, i < EARLY ? 1 : 0);
	}
	for (uint64_t s = T0 + 10001; s <= T0 + 12100; s++) {
		advance(&c, s);
		for (size_t i = EARLY; i < N; i++) {
			assert_int_equal(t[i].fired, s >= dues[i] ? 1 : 0);
		}
	}
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(t[i].fired, 1);
		if (i >= EARLY) {
			assert_int_equal(t[i].fired_at, dues[i]);
		}
	}
	assert_int_equal(c.calls, N);
}

static void
wheel_long_stall_after_running_fires_everything_due_once(void **state)
{
	/* The same from a wheel that has been running: the stall starts
	 * at an arbitrary slot. */
	enum { N = BROKER_WHEEL_SLOTS };
	static struct tentry t[N];
	struct broker_wheel w;
	struct ctx c = { &w, 0 };

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	advance(&c, T0 + 333);
	for (size_t i = 0; i < N; i++) {
		broker_wheel_set(&w, &t[i].e, T0 + 334 + i * 7);
	}
	advance(&c, T0 + 333 + 10000);
	assert_int_equal(c.calls, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(t[i].fired, 1);
	}
	advance(&c, T0 + 333 + 20000);
	assert_int_equal(c.calls, N);
}

static void
wheel_stall_of_exactly_one_turn_fires_every_slot(void **state)
{
	/* One entry in every slot; an advance of exactly one turn. */
	struct broker_wheel w;
	struct ctx c = { &w, 0 };
	struct tentry t[BROKER_WHEEL_SLOTS];

	(void)state;
	memset(t, 0, sizeof(t));
	broker_wheel_init(&w, T0);
	for (size_t i = 0; i < BROKER_WHEEL_SLOTS; i++) {
		broker_wheel_set(&w, &t[i].e, T0 + 1 + i);
	}
	advance(&c, T0 + BROKER_WHEEL_SLOTS - 1);
	assert_int_equal(c.calls, BROKER_WHEEL_SLOTS - 1);
	assert_int_equal(t[BROKER_WHEEL_SLOTS - 1].fired, 0);
	advance(&c, T0 + BROKER_WHEEL_SLOTS);
	assert_int_equal(c.calls, BROKER_WHEEL_SLOTS);
	for (size_t i = 0; i < BROKER_WHEEL_SLOTS; i++) {
		assert_int_equal(t[i].fired, 1);
		assert_int_equal(t[i].fired_at, T0 + 1 + i);
	}
}

#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(wheel_entry_fires_at_its_due_second_and_not_before),
		T(wheel_entry_fires_in_an_advance_that_passes_its_due_second),
		T(wheel_due_now_or_in_the_past_fires_at_the_next_second),
		T(wheel_reset_moves_entry_earlier),
		T(wheel_reset_moves_entry_later),
		T(wheel_reset_keeps_other_entries_of_both_slots),
		T(wheel_deleted_entry_does_not_fire),
		T(wheel_delete_of_never_set_entry_is_harmless),
		T(wheel_deleted_entry_can_be_set_again),
		T(wheel_entry_beyond_one_turn_fires_at_its_due_second),
		T(wheel_fire_may_delete_another_entry_of_the_same_slot),
		T(wheel_fire_may_delete_a_later_entry_of_the_same_slot),
		T(wheel_fire_may_readd_itself_later),
		T(wheel_fire_may_readd_itself_to_its_own_slot_next_turn),
		T(wheel_fire_readding_itself_as_due_runs_at_the_next_second),
		T(wheel_entries_beyond_both_levels_fire_at_their_due_tick),
		T(wheel_ticks_do_not_touch_entries_not_due),
		T(wheel_a_burst_of_deadlines_is_moved_down_a_share_per_tick),
		T(wheel_long_stall_fires_everything_due_once),
		T(wheel_long_stall_after_running_fires_everything_due_once),
		T(wheel_stall_of_exactly_one_turn_fires_every_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
