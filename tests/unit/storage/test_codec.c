/*
 * test_codec.c - unit tests for storage/codec.c through the public API:
 * every record type, with every field set to a value that tells it apart,
 * goes to disk, the store is closed and opened again, and storage_load()
 * must report exactly those records, fields and order; binary and empty
 * fields and a large payload survive byte for byte.
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

static void
every_record_type_round_trips_through_reopen(void **state)
{
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	struct storage_batch *b = storage_batch_new();
	struct storage_msg r = test_msg(0, "a/b", "hello", 1, 12345);
	struct storage_msg m = test_msg(7, "m/1", "data", 2, 0);
	struct storage_session s = test_session("c1", 3600, 1000);
	struct storage_sub sub = { (const uint8_t *)"$share/g/x/#", 12, 2,
		true, true, 2, 268435455 };
	struct storage_qentry q = { 7, 65535, 1, STORAGE_Q_WAIT_REC, true,
		42 };
	struct storage_stats stats;
	char *text;

	(void)state;
	r.retain = true;
	s.version = 4;
	s.has_will = true;
	s.will = test_msg(0, "w/t", "bye", 2, 99);
	s.will.retain = true;
	s.will_delay = 30;
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	assert_int_equal(storage_batch_session_put(b, &s), 0);
	assert_int_equal(storage_batch_sub_put(b, "c1", 2, &sub), 0);
	assert_int_equal(storage_batch_msg_put(b, &m), 0);
	assert_int_equal(storage_batch_queue_put(b, "c1", 2, &q), 0);
	assert_int_equal(storage_batch_qos2_put(b, "c1", 2, 513), 0);
	assert_int_equal(storage_batch_ops(b), 6);
	assert_int_equal(test_commit(st, b), 0);

	st = test_reopen(st, dir, STORAGE_SYNC_ALWAYS);
	text = test_load_text(st, 0, 0);
	assert_string_equal(text,
	    "R id=0 topic=a/b qos=1 retain=1 exp=12345 props=P payload=hello\n"
	    "S c1 v=4 exp=3600 disc=1000 delay=30 will: id=0 topic=w/t qos=2 "
	    "retain=1 exp=99 props=P payload=bye\n"
	    " sub c1 $share/g/x/# qos=2 nl=1 rap=1 rh=2 sid=268435455\n"
	    " q c1 msg=7 pid=65535 qos=1 state=2 retain=1 sid=42: id=7 "
	    "topic=m/1 qos=2 retain=0 exp=0 props=P payload=data\n"
	    " qos2 c1 513\n");
	free(text);

	storage_stats(st, &stats);
	assert_int_equal(stats.retained, 1);
	assert_int_equal(stats.sessions, 1);
	assert_int_equal(stats.subs, 1);
	assert_int_equal(stats.msgs, 1);
	assert_int_equal(stats.queued, 1);
	assert_int_equal(stats.qos2, 1);
	assert_int_equal(stats.format, STORAGE_FORMAT);
	storage_close(st);
	test_dir_remove(dir);
}

/* What the binary test's callbacks saw. */
struct seen {
	int retained, queued, sessions;
	uint8_t big[100000];
};

static int
check_retained(void *arg, const struct storage_msg *m)
{
	struct seen *s = arg;

	/* Stored with NULL props and an empty payload: both come back
	 * empty. */
	assert_int_equal(m->topic_len, 3);
	assert_memory_equal(m->topic, "e/t", 3);
	assert_int_equal(m->props_len, 0);
	assert_int_equal(m->payload_len, 0);
	s->retained++;
	return 0;
}

static int
check_session(void *arg, const struct storage_session *ss)
{
	struct seen *s = arg;

	/* An id with a NUL byte in it, and a will with no payload. */
	assert_int_equal(ss->id_len, 3);
	assert_memory_equal(ss->id, "a\0b", 3);
	assert_true(ss->has_will);
	assert_int_equal(ss->will.payload_len, 0);
	assert_int_equal(ss->expiry, STORAGE_EXPIRY_NEVER);
	s->sessions++;
	return 0;
}

static int
check_queued(void *arg, const struct storage_session *ss,
    const struct storage_qentry *q, const struct storage_msg *m)
{
	struct seen *s = arg;
	static const uint8_t props[] = { 0x26, 0, 1, 'k', 0, 0 };

	(void)ss;
	assert_int_equal(q->msg_id, UINT64_MAX - 1);
	assert_int_equal(m->id, UINT64_MAX - 1);
	assert_int_equal(m->expiry_at, UINT64_MAX);
	assert_int_equal(m->props_len, sizeof(props));
	assert_memory_equal(m->props, props, sizeof(props));
	assert_int_equal(m->payload_len, sizeof(s->big));
	assert_memory_equal(m->payload, s->big, sizeof(s->big));
	s->queued++;
	return 0;
}

static void
binary_empty_and_large_fields_round_trip(void **state)
{
	static const uint8_t props[] = { 0x26, 0, 1, 'k', 0, 0 };
	static const struct storage_load_cb cb = { check_retained,
		check_session, NULL, check_queued, NULL };
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_NONE, 0, false);
	struct storage_batch *b = storage_batch_new();
	struct seen *seen = calloc(1, sizeof(*seen));
	struct storage_msg r = { 0 }, m = { 0 };
	struct storage_session s = { 0 };
	struct storage_qentry q = { UINT64_MAX - 1, 1, 2, STORAGE_Q_QUEUED,
		false, 0 };

	(void)state;
	assert_non_null(seen);
	for (size_t i = 0; i < sizeof(seen->big); i++) {
		seen->big[i] = (uint8_t)(i * 7 + (i >> 8));
	}
	r.topic = (const uint8_t *)"e/t";
	r.topic_len = 3;
	m.id = UINT64_MAX - 1;
	m.expiry_at = UINT64_MAX;
	m.topic = (const uint8_t *)"big";
	m.topic_len = 3;
	m.props = props;
	m.props_len = sizeof(props);
	m.payload = seen->big;
	m.payload_len = sizeof(seen->big);
	s.id = "a\0b";
	s.id_len = 3;
	s.expiry = STORAGE_EXPIRY_NEVER;
	s.has_will = true;
	s.will.topic = (const uint8_t *)"w";
	s.will.topic_len = 1;
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	assert_int_equal(storage_batch_session_put(b, &s), 0);
	assert_int_equal(storage_batch_msg_put(b, &m), 0);
	assert_int_equal(storage_batch_queue_put(b, "a\0b", 3, &q), 0);
	assert_int_equal(test_commit(st, b), 0);

	st = test_reopen(st, dir, STORAGE_SYNC_NONE);
	assert_int_equal(storage_load(st, 0, 0, &cb, seen), 0);
	assert_int_equal(seen->retained, 1);
	assert_int_equal(seen->sessions, 1);
	assert_int_equal(seen->queued, 1);
	free(seen);
	storage_close(st);
	test_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_record_type_round_trips_through_reopen),
		cmocka_unit_test(binary_empty_and_large_fields_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
