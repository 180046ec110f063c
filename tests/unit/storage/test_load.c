/*
 * test_load.c - unit tests for storage/load.c: what storage_load() removes
 * and skips.  Expired sessions (by their own expiry and by max_offline)
 * go with everything they own, queue entries and retained messages whose
 * message expired go, nothing expires when now is 0, unreferenced
 * messages and records without a session are removed, removals reach the
 * disk (a reload with now 0 still lacks them), a callback can stop the
 * load, and a read-only store skips the same records but keeps them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "unit/storage/util.h"

#define NOW 2000

/* Loads at NOW, checks the text, then reloads with now 0 after a reopen
 * and checks the same text: what the first load left out is gone. */
static void
load_twice(struct test_store *fx, uint64_t max_offline, const char *want)
{
	char *text = test_load_text(fx->st, NOW, max_offline);

	assert_string_equal(text, want);
	free(text);
	fx->st = test_reopen(fx->st, fx->dir, STORAGE_SYNC_NONE);
	text = test_load_text(fx->st, 0, 0);
	assert_string_equal(text, want);
	free(text);
}

static void
expired_sessions_go_with_all_they_own(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();

	test_put_session(b, "gone", 100, 1000);   /* expired at 1100 */
	test_put_session(b, "edge", 1000, 1000);  /* expires at NOW */
	test_put_session(b, "live", 5000, 1000);
	test_put_session(b, "conn", 10, 0);       /* connected at the crash */
	test_put_session(b, "never", STORAGE_EXPIRY_NEVER, 1);
	test_put_msg(b, 1, "t", "one", 0);
	test_put_msg(b, 2, "t", "two", 0);
	test_put_sub(b, "gone", "a");
	test_put_sub(b, "live", "b");
	test_put_queue(b, "gone", 1, 0, 0);
	test_put_queue(b, "edge", 2, 0, 0);
	test_put_queue(b, "live", 2, 0, 0);
	assert_int_equal(storage_batch_qos2_put(b, "gone", 4, 3), 0);
	assert_int_equal(test_commit(st, b), 0);

	/* Session keys sort by id length, then id. */
	load_twice(fx, 0,
	    "S conn v=5 exp=10 disc=0\n"
	    "S live v=5 exp=5000 disc=1000\n"
	    " sub live b qos=1 nl=0 rap=0 rh=0 sid=0\n"
	    " q live msg=2 pid=0 qos=1 state=0 retain=0 sid=0: id=2 topic=t "
	    "qos=1 retain=0 exp=0 props=P payload=two\n"
	    "S never v=5 exp=4294967295 disc=1\n");
	test_assert_counts(fx->st,
	    "sessions=3 subs=1 queued=1 msgs=1 retained=0 qos2=0");
}

static void
max_offline_expires_sessions_disconnected_too_long(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();

	test_put_session(b, "a", STORAGE_EXPIRY_NEVER, 1000);
	test_put_session(b, "b", STORAGE_EXPIRY_NEVER, 1001);
	test_put_session(b, "c", STORAGE_EXPIRY_NEVER, 0);
	test_put_sub(b, "a", "x");
	assert_int_equal(test_commit(st, b), 0);

	load_twice(fx, 1000,
	    "S b v=5 exp=4294967295 disc=1001\n"
	    "S c v=5 exp=4294967295 disc=0\n");
}

static void
expired_messages_leave_queues_and_retained(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	struct storage_msg r;

	test_put_session(b, "s", STORAGE_EXPIRY_NEVER, 0);
	test_put_session(b, "t", STORAGE_EXPIRY_NEVER, 0);
	test_put_msg(b, 1, "q", "old", NOW - 1);
	test_put_msg(b, 2, "q", "new", NOW + 1);
	test_put_msg(b, 3, "q", "inf", 0);
	test_put_msg(b, 4, "q", "now", NOW);
	for (uint64_t id = 1; id <= 4; id++) {
		test_put_queue(b, "s", id, 0, 0);
	}
	test_put_queue(b, "t", 1, 0, 0);
	r = test_msg(0, "r/old", "o", 0, NOW - 1);
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	r = test_msg(0, "r/new", "n", 0, NOW + 1);
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	r = test_msg(0, "r/inf", "i", 0, 0);
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	assert_int_equal(test_commit(st, b), 0);

	load_twice(fx, 0,
	    "R id=0 topic=r/inf qos=0 retain=0 exp=0 props=P payload=i\n"
	    "R id=0 topic=r/new qos=0 retain=0 exp=2001 props=P payload=n\n"
	    "S s v=5 exp=4294967295 disc=0\n"
	    " q s msg=2 pid=0 qos=1 state=0 retain=0 sid=0: id=2 topic=q "
	    "qos=1 retain=0 exp=2001 props=P payload=new\n"
	    " q s msg=3 pid=0 qos=1 state=0 retain=0 sid=0: id=3 topic=q "
	    "qos=1 retain=0 exp=0 props=P payload=inf\n"
	    "S t v=5 exp=4294967295 disc=0\n");
	test_assert_counts(fx->st,
	    "sessions=2 subs=0 queued=2 msgs=2 retained=2 qos2=0");
}

static void
now_zero_expires_nothing(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	struct storage_msg r = test_msg(0, "r", "x", 0, 1);
	char *text;

	test_put_session(b, "s", 0, 1);
	test_put_msg(b, 1, "q", "m", 1);
	test_put_queue(b, "s", 1, 0, 0);
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	assert_int_equal(test_commit(st, b), 0);

	text = test_load_text(st, 0, 1);
	assert_string_equal(text,
	    "R id=0 topic=r qos=0 retain=0 exp=1 props=P payload=x\n"
	    "S s v=5 exp=0 disc=1\n"
	    " q s msg=1 pid=0 qos=1 state=0 retain=0 sid=0: id=1 topic=q "
	    "qos=1 retain=0 exp=1 props=P payload=m\n");
	free(text);
}

static void
leftover_messages_and_records_without_session_are_removed(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();

	test_put_msg(b, 1, "t", "never queued", 0);
	test_put_msg(b, 2, "t", "queued to a ghost", 0);
	test_put_msg(b, 3, "t", "kept", 0);
	test_put_queue(b, "ghost", 2, 0, 0);
	test_put_sub(b, "ghost", "f");
	assert_int_equal(storage_batch_qos2_put(b, "ghost", 5, 1), 0);
	test_put_session(b, "real", 1, 0);
	test_put_queue(b, "real", 3, 0, 0);
	test_put_queue(b, "real", 9, 0, 0); /* its message was never put */
	assert_int_equal(test_commit(st, b), 0);
	test_assert_counts(st,
	    "sessions=1 subs=1 queued=3 msgs=3 retained=0 qos2=1");

	load_twice(fx, 0,
	    "S real v=5 exp=1 disc=0\n"
	    " q real msg=3 pid=0 qos=1 state=0 retain=0 sid=0: id=3 topic=t "
	    "qos=1 retain=0 exp=0 props=P payload=kept\n");
	test_assert_counts(fx->st,
	    "sessions=1 subs=0 queued=1 msgs=1 retained=0 qos2=0");
}

static int
stop_at_second(void *arg, const struct storage_msg *m)
{
	(void)m;
	return ++*(int *)arg == 2 ? 7 : 0;
}

static void
a_callback_stops_the_load_with_its_value(void **state)
{
	static const struct storage_load_cb cb = {
		.retained = stop_at_second,
	};
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	const char *topics[] = { "a", "b", "c" };
	int calls = 0;

	for (int i = 0; i < 3; i++) {
		struct storage_msg r = test_msg(0, topics[i], "x", 0, 0);

		assert_int_equal(storage_batch_retain_put(b, &r), 0);
	}
	assert_int_equal(test_commit(st, b), 0);
	assert_int_equal(storage_load(st, 0, 0, &cb, &calls), 7);
	assert_int_equal(calls, 2);
}

static void
read_only_load_skips_expired_records_but_keeps_them(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	char *text;

	test_put_session(b, "old", 10, 100);
	test_put_session(b, "new", 10, NOW);
	test_put_msg(b, 1, "t", "x", 0);
	test_put_queue(b, "old", 1, 0, 0);
	assert_int_equal(test_commit(st, b), 0);
	storage_close(st);

	fx->st = test_open(fx->dir, STORAGE_SYNC_NONE, 0, true);
	text = test_load_text(fx->st, NOW, 0);
	assert_string_equal(text, "S new v=5 exp=10 disc=2000\n");
	free(text);
	test_assert_counts(fx->st,
	    "sessions=2 subs=0 queued=1 msgs=1 retained=0 qos2=0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_STORE(expired_sessions_go_with_all_they_own),
		TEST_STORE(max_offline_expires_sessions_disconnected_too_long),
		TEST_STORE(expired_messages_leave_queues_and_retained),
		TEST_STORE(now_zero_expires_nothing),
		TEST_STORE(
		    leftover_messages_and_records_without_session_are_removed),
		TEST_STORE(a_callback_stops_the_load_with_its_value),
		TEST_STORE(
		    read_only_load_skips_expired_records_but_keeps_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
