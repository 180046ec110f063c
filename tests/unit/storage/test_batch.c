/*
 * test_batch.c - unit tests for storage/batch.c: operations are counted,
 * keys past LMDB's limit are refused with ENAMETOOLONG (an empty retained
 * topic with EINVAL) and leave the batch as it was, keys exactly at the
 * limits do reach the disk, and an unsubmitted batch frees cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "unit/storage/util.h"

static void
ops_are_counted_and_an_unsubmitted_batch_frees(void **state)
{
	struct storage_batch *b = storage_batch_new();

	(void)state;
	assert_non_null(b);
	assert_int_equal(storage_batch_ops(b), 0);
	test_put_session(b, "c", 1, 0);
	test_put_msg(b, 1, "t", "p", 0);
	test_put_queue(b, "c", 1, 0, 0);
	assert_int_equal(storage_batch_queue_del(b, "c", 1, 1), 0);
	assert_int_equal(storage_batch_session_del(b, "c", 1), 0);
	assert_int_equal(storage_batch_ops(b), 5);
	storage_batch_free(b);
	storage_batch_free(NULL);
}

static void
keys_past_the_limit_are_refused_and_change_nothing(void **state)
{
	static char cid[STORAGE_MAX_CID + 1];
	static uint8_t topic[STORAGE_MAX_KEY + 1];
	struct storage_batch *b = storage_batch_new();
	struct storage_session s = test_session("", 1, 0);
	struct storage_qentry q = { 1, 0, 1, 0, false, 0 };
	struct storage_sub sub = { topic, 0, 1, false, false, 0, 0 };
	struct storage_msg r = test_msg(0, "", "x", 0, 0);

	(void)state;
	memset(cid, 'c', sizeof(cid));
	memset(topic, 't', sizeof(topic));
	test_put_msg(b, 1, "t", "p", 0);

	s.id = cid;
	s.id_len = STORAGE_MAX_CID + 1;
	errno = 0;
	assert_int_equal(storage_batch_session_put(b, &s), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(storage_batch_queue_put(b, cid, sizeof(cid), &q), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(storage_batch_qos2_put(b, cid, sizeof(cid), 1), -1);
	assert_int_equal(storage_batch_session_del(b, cid, sizeof(cid)), -1);
	/* Subscriptions: 2 + cid_len + flen may not pass 511. */
	sub.flen = STORAGE_MAX_KEY - 2 - 10 + 1;
	errno = 0;
	assert_int_equal(storage_batch_sub_put(b, cid, 10, &sub), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(storage_batch_sub_del(b, cid, 10, topic, sub.flen),
	    -1);
	/* Retained topics: 1 to 511 bytes. */
	r.topic = topic;
	r.topic_len = STORAGE_MAX_KEY + 1;
	errno = 0;
	assert_int_equal(storage_batch_retain_put(b, &r), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	r.topic_len = 0;
	assert_int_equal(storage_batch_retain_put(b, &r), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(storage_batch_retain_del(b, topic, 0), -1);

	/* Only the first op is there, and the batch still commits. */
	assert_int_equal(storage_batch_ops(b), 1);
	{
		char *dir = test_dir_new();
		struct storage *st = test_open(dir, STORAGE_SYNC_NONE, 0,
		    false);
		struct storage_stats stats;

		assert_int_equal(test_commit(st, b), 0);
		storage_stats(st, &stats);
		assert_int_equal(stats.msgs, 1);
		assert_int_equal(stats.sessions + stats.retained, 0);
		storage_close(st);
		test_dir_remove(dir);
	}
}

struct longest {
	int sessions, subs, queued, qos2, retained;
};

static int
l_retained(void *arg, const struct storage_msg *m)
{
	assert_int_equal(m->topic_len, STORAGE_MAX_KEY);
	((struct longest *)arg)->retained++;
	return 0;
}

static int
l_session(void *arg, const struct storage_session *s)
{
	assert_int_equal(s->id_len, STORAGE_MAX_CID);
	((struct longest *)arg)->sessions++;
	return 0;
}

static int
l_sub(void *arg, const struct storage_session *s,
    const struct storage_sub *sub)
{
	assert_int_equal(s->id_len + sub->flen, STORAGE_MAX_KEY - 2);
	((struct longest *)arg)->subs++;
	return 0;
}

static int
l_queued(void *arg, const struct storage_session *s,
    const struct storage_qentry *q, const struct storage_msg *m)
{
	(void)s;
	assert_int_equal(q->msg_id, m->id);
	((struct longest *)arg)->queued++;
	return 0;
}

static int
l_qos2(void *arg, const struct storage_session *s, uint16_t pid)
{
	(void)s;
	assert_int_equal(pid, 0xBEEF);
	((struct longest *)arg)->qos2++;
	return 0;
}

static void
keys_at_the_limits_are_stored(void **state)
{
	static const struct storage_load_cb cb = { l_retained, l_session,
		l_sub, l_queued, l_qos2 };
	static char cid[STORAGE_MAX_CID];
	static uint8_t topic[STORAGE_MAX_KEY];
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_NONE, 0, false);
	struct storage_batch *b = storage_batch_new();
	struct storage_session s = test_session("", 1, 0);
	struct storage_qentry q = { 1, 0, 1, 0, false, 0 };
	struct storage_sub sub = { topic, STORAGE_MAX_KEY - 2 -
		STORAGE_MAX_CID, 1, false, false, 0, 0 };
	struct storage_msg r = test_msg(0, "", "x", 0, 0);
	struct longest n = { 0 };

	(void)state;
	memset(cid, 'c', sizeof(cid));
	memset(topic, 't', sizeof(topic));
	s.id = cid;
	s.id_len = sizeof(cid);
	r.topic = topic;
	r.topic_len = sizeof(topic);
	assert_int_equal(storage_batch_session_put(b, &s), 0);
	assert_int_equal(storage_batch_sub_put(b, cid, sizeof(cid), &sub), 0);
	test_put_msg(b, 1, "t", "p", 0);
	assert_int_equal(storage_batch_queue_put(b, cid, sizeof(cid), &q), 0);
	assert_int_equal(storage_batch_qos2_put(b, cid, sizeof(cid), 0xBEEF),
	    0);
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	assert_int_equal(test_commit(st, b), 0);

	assert_int_equal(storage_load(st, 0, 0, &cb, &n), 0);
	assert_int_equal(n.sessions, 1);
	assert_int_equal(n.subs, 1);
	assert_int_equal(n.queued, 1);
	assert_int_equal(n.qos2, 1);
	assert_int_equal(n.retained, 1);
	storage_close(st);
	test_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    ops_are_counted_and_an_unsubmitted_batch_frees),
		cmocka_unit_test(
		    keys_past_the_limit_are_refused_and_change_nothing),
		cmocka_unit_test(keys_at_the_limits_are_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
