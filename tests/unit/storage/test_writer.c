/*
 * test_writer.c - unit tests for storage/writer.c: overwrite and delete of
 * every record type, message reference counting (across groups and within
 * one), the session cascade, queue order by msg_id, group commit from
 * several threads (all callbacks, few commits, per-thread order kept),
 * map growth from a tiny map, commit failure and recovery, and close
 * committing what was submitted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "storage/storage_test.h"
#include "unit/storage/util.h"

static uint64_t
count_msgs(struct storage *st)
{
	struct storage_stats s;

	storage_stats(st, &s);
	return s.msgs;
}

/* Deletes one queue entry in a batch of its own. */
static void
del_queued(struct storage *st, const char *cid, uint64_t msg_id)
{
	struct storage_batch *b = storage_batch_new();

	assert_int_equal(storage_batch_queue_del(b, cid, (uint16_t)strlen(cid),
	    msg_id), 0);
	assert_int_equal(test_commit(st, b), 0);
}

static void
overwrite_keeps_the_last_version_of_each_record(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	struct storage_sub sub = { (const uint8_t *)"f", 1, 2, true, false, 1,
		9 };
	struct storage_qentry q = { 1, 5, 1, STORAGE_Q_WAIT_ACK, true, 3 };
	struct storage_msg r = test_msg(0, "r", "new", 0, 0);
	char *text;

	test_put_session(b, "c", 10, 0);
	test_put_sub(b, "c", "f");
	test_put_msg(b, 1, "t", "x", 0);
	test_put_queue(b, "c", 1, 0, STORAGE_Q_QUEUED);
	assert_int_equal(storage_batch_retain_put(b, &(struct storage_msg){
	    .topic = (const uint8_t *)"r", .topic_len = 1,
	    .payload = (const uint8_t *)"old", .payload_len = 3 }), 0);
	assert_int_equal(storage_batch_qos2_put(b, "c", 1, 7), 0);
	assert_int_equal(test_commit(st, b), 0);

	/* Second versions, in a later group. */
	b = storage_batch_new();
	test_put_session(b, "c", 20, 555);
	assert_int_equal(storage_batch_sub_put(b, "c", 1, &sub), 0);
	assert_int_equal(storage_batch_queue_put(b, "c", 1, &q), 0);
	assert_int_equal(storage_batch_retain_put(b, &r), 0);
	assert_int_equal(storage_batch_qos2_put(b, "c", 1, 7), 0);
	assert_int_equal(test_commit(st, b), 0);

	text = test_load_text(st, 0, 0);
	assert_string_equal(text,
	    "R id=0 topic=r qos=0 retain=0 exp=0 props=P payload=new\n"
	    "S c v=5 exp=20 disc=555\n"
	    " sub c f qos=2 nl=1 rap=0 rh=1 sid=9\n"
	    " q c msg=1 pid=5 qos=1 state=1 retain=1 sid=3: id=1 topic=t "
	    "qos=1 retain=0 exp=0 props=P payload=x\n"
	    " qos2 c 7\n");
	free(text);

	/* The overwritten queue entry still holds one reference, not two:
	 * one delete frees the message. */
	assert_int_equal(count_msgs(st), 1);
	del_queued(st, "c", 1);
	assert_int_equal(count_msgs(st), 0);
}

static void
delete_removes_each_record_and_absent_keys_are_no_error(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	char *text;

	test_put_session(b, "c", 10, 0);
	test_put_sub(b, "c", "f1");
	test_put_sub(b, "c", "f2");
	test_put_msg(b, 1, "t", "x", 0);
	test_put_queue(b, "c", 1, 0, STORAGE_Q_QUEUED);
	assert_int_equal(storage_batch_qos2_put(b, "c", 1, 7), 0);
	assert_int_equal(storage_batch_qos2_put(b, "c", 1, 8), 0);
	assert_int_equal(storage_batch_retain_put(b,
	    &(struct storage_msg){ .topic = (const uint8_t *)"r1",
	    .topic_len = 2 }), 0);
	assert_int_equal(storage_batch_retain_put(b,
	    &(struct storage_msg){ .topic = (const uint8_t *)"r2",
	    .topic_len = 2 }), 0);
	assert_int_equal(test_commit(st, b), 0);

	b = storage_batch_new();
	assert_int_equal(storage_batch_sub_del(b, "c", 1,
	    (const uint8_t *)"f1", 2), 0);
	assert_int_equal(storage_batch_qos2_del(b, "c", 1, 8), 0);
	assert_int_equal(storage_batch_retain_del(b, (const uint8_t *)"r2",
	    2), 0);
	assert_int_equal(storage_batch_queue_del(b, "c", 1, 1), 0);
	/* Absent keys. */
	assert_int_equal(storage_batch_sub_del(b, "c", 1,
	    (const uint8_t *)"zz", 2), 0);
	assert_int_equal(storage_batch_qos2_del(b, "c", 1, 99), 0);
	assert_int_equal(storage_batch_retain_del(b, (const uint8_t *)"no",
	    2), 0);
	assert_int_equal(storage_batch_queue_del(b, "c", 1, 1), 0);
	assert_int_equal(storage_batch_queue_del(b, "x", 1, 1), 0);
	assert_int_equal(storage_batch_session_del(b, "nobody", 6), 0);
	assert_int_equal(test_commit(st, b), 0);

	text = test_load_text(st, 0, 0);
	assert_string_equal(text,
	    "R id=0 topic=r1 qos=0 retain=0 exp=0 props= payload=\n"
	    "S c v=5 exp=10 disc=0\n"
	    " sub c f2 qos=1 nl=0 rap=0 rh=0 sid=0\n"
	    " qos2 c 7\n");
	free(text);

	b = storage_batch_new();
	assert_int_equal(storage_batch_session_del(b, "c", 1), 0);
	assert_int_equal(storage_batch_retain_del(b, (const uint8_t *)"r1",
	    2), 0);
	assert_int_equal(test_commit(st, b), 0);
	test_assert_counts(st,
	    "sessions=0 subs=0 queued=0 msgs=0 retained=0 qos2=0");
}

static void
queue_del_drops_references_and_deletes_msg_at_zero(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	const char *cids[] = { "a", "b", "c" };

	test_put_msg(b, 1, "t", "x", 0);
	test_put_msg(b, 2, "t", "y", 0);
	for (int i = 0; i < 3; i++) {
		test_put_session(b, cids[i], 100, 0);
		test_put_queue(b, cids[i], 1, 0, STORAGE_Q_QUEUED);
	}
	test_put_queue(b, "a", 2, 0, STORAGE_Q_QUEUED);
	assert_int_equal(test_commit(st, b), 0);
	assert_int_equal(count_msgs(st), 2);

	/* Each delete in its own group: the count goes 3, 2, 1, 0; deleting
	 * an entry twice drops one reference only. */
	for (int i = 0; i < 3; i++) {
		del_queued(st, cids[i], 1);
		del_queued(st, cids[i], 1);
		assert_int_equal(count_msgs(st), i < 2 ? 2 : 1);
	}
	/* Message 2 is untouched by all that. */
	del_queued(st, "a", 2);
	assert_int_equal(count_msgs(st), 0);
}

static void
references_within_one_group_are_counted_once_each(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	char cid[16];

	/* One message to 1000 subscribers in one batch. */
	test_put_msg(b, 42, "fan/out", "x", 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(cid, sizeof(cid), "c%04d", i);
		test_put_session(b, cid, 100, 0);
		test_put_queue(b, cid, 42, 0, STORAGE_Q_QUEUED);
	}
	assert_int_equal(test_commit(st, b), 0);
	test_assert_counts(st,
	    "sessions=1000 subs=0 queued=1000 msgs=1 retained=0 qos2=0");

	/* 999 deliveries in one batch leave one reference. */
	b = storage_batch_new();
	for (int i = 0; i < 999; i++) {
		snprintf(cid, sizeof(cid), "c%04d", i);
		assert_int_equal(storage_batch_queue_del(b, cid, 5, 42), 0);
	}
	assert_int_equal(test_commit(st, b), 0);
	test_assert_counts(st,
	    "sessions=1000 subs=0 queued=1 msgs=1 retained=0 qos2=0");

	/* Put, queue and deliver in one batch: nothing is left. */
	b = storage_batch_new();
	test_put_msg(b, 43, "t", "y", 0);
	test_put_queue(b, "c0001", 43, 0, STORAGE_Q_QUEUED);
	assert_int_equal(storage_batch_queue_del(b, "c0001", 5, 43), 0);
	assert_int_equal(storage_batch_queue_del(b, "c0999", 5, 42), 0);
	assert_int_equal(test_commit(st, b), 0);
	test_assert_counts(st,
	    "sessions=1000 subs=0 queued=0 msgs=0 retained=0 qos2=0");
}

static void
msg_put_of_an_existing_id_changes_nothing(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	char *text;

	test_put_session(b, "c", 100, 0);
	test_put_msg(b, 5, "t", "first", 0);
	test_put_queue(b, "c", 5, 0, STORAGE_Q_QUEUED);
	assert_int_equal(test_commit(st, b), 0);
	b = storage_batch_new();
	test_put_msg(b, 5, "t", "second", 0);
	assert_int_equal(test_commit(st, b), 0);

	text = test_load_text(st, 0, 0);
	assert_string_equal(text,
	    "S c v=5 exp=100 disc=0\n"
	    " q c msg=5 pid=0 qos=1 state=0 retain=0 sid=0: id=5 topic=t "
	    "qos=1 retain=0 exp=0 props=P payload=first\n");
	free(text);
	/* The put did not reset the reference count either. */
	del_queued(st, "c", 5);
	assert_int_equal(count_msgs(st), 0);
}

static void
session_del_removes_all_the_session_owns_and_nothing_else(void **state)
{
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	/* "c" and "c10" sort next to "c1" as strings. */
	const char *cids[] = { "c", "c1", "c10" };
	char *text;

	for (uint64_t id = 1; id <= 4; id++) {
		test_put_msg(b, id, "t", "p", 0);
	}
	for (int i = 0; i < 3; i++) {
		test_put_session(b, cids[i], 100, 0);
		test_put_sub(b, cids[i], "a/#");
		test_put_sub(b, cids[i], "b");
		assert_int_equal(storage_batch_qos2_put(b, cids[i],
		    (uint16_t)strlen(cids[i]), 1), 0);
	}
	/* c1 holds the only references of 1 and 2 and shares 3 with c10. */
	test_put_queue(b, "c1", 1, 0, STORAGE_Q_QUEUED);
	test_put_queue(b, "c1", 2, 0, STORAGE_Q_QUEUED);
	test_put_queue(b, "c1", 3, 9, STORAGE_Q_WAIT_ACK);
	test_put_queue(b, "c10", 3, 0, STORAGE_Q_QUEUED);
	test_put_queue(b, "c", 4, 0, STORAGE_Q_QUEUED);
	assert_int_equal(storage_batch_qos2_put(b, "c1", 2, 2), 0);
	assert_int_equal(test_commit(st, b), 0);
	assert_int_equal(count_msgs(st), 4);

	b = storage_batch_new();
	assert_int_equal(storage_batch_session_del(b, "c1", 2), 0);
	assert_int_equal(test_commit(st, b), 0);
	assert_int_equal(count_msgs(st), 2);

	text = test_load_text(st, 0, 0);
	assert_string_equal(text,
	    "S c v=5 exp=100 disc=0\n"
	    " sub c a/# qos=1 nl=0 rap=0 rh=0 sid=0\n"
	    " sub c b qos=1 nl=0 rap=0 rh=0 sid=0\n"
	    " q c msg=4 pid=0 qos=1 state=0 retain=0 sid=0: id=4 topic=t "
	    "qos=1 retain=0 exp=0 props=P payload=p\n"
	    " qos2 c 1\n"
	    "S c10 v=5 exp=100 disc=0\n"
	    " sub c10 a/# qos=1 nl=0 rap=0 rh=0 sid=0\n"
	    " sub c10 b qos=1 nl=0 rap=0 rh=0 sid=0\n"
	    " q c10 msg=3 pid=0 qos=1 state=0 retain=0 sid=0: id=3 topic=t "
	    "qos=1 retain=0 exp=0 props=P payload=p\n"
	    " qos2 c10 1\n");
	free(text);
}

static void
queue_entries_load_in_msg_id_order_per_session(void **state)
{
	/* 256 before 300 and 70000 needs big-endian keys. */
	static const uint64_t ids[] = { 300, 5, 70000, 256, 1, 1ull << 40 };
	struct test_store *fx = *state;
	struct storage *st = fx->st;
	struct storage_batch *b = storage_batch_new();
	char *text, *p, line[64];
	uint64_t last;

	test_put_session(b, "x", 1, 0);
	test_put_session(b, "y", 1, 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		test_put_msg(b, ids[i], "t", "p", 0);
		test_put_queue(b, i % 2 ? "y" : "x", ids[i], 0, 0);
		test_put_queue(b, i % 2 ? "x" : "y", ids[i], 0, 0);
	}
	assert_int_equal(test_commit(st, b), 0);

	text = test_load_text(st, 0, 0);
	for (const char *cid = "x"; cid != NULL;
	    cid = cid[0] == 'x' ? "y" : NULL) {
		int n = 0;

		snprintf(line, sizeof(line), "S %s ", cid);
		p = strstr(text, line);
		assert_non_null(p);
		last = 0;
		snprintf(line, sizeof(line), "\n q %s msg=", cid);
		while ((p = strstr(p, line)) != NULL) {
			uint64_t id = strtoull(p + strlen(line), NULL, 10);

			assert_true(id > last);
			last = id;
			n++;
			p++;
		}
		assert_int_equal(n, 6);
		assert_int_equal(last, 1ull << 40);
	}
	free(text);
}

/* ------------------------------------------------------------------ */
/* Group commit                                                         */

#define THREADS 4
#define PER_THREAD 2500

struct shared {
	struct storage *st;
	atomic_int ok, failed;
	int index;
	pthread_mutex_t mu;
};

static void
count_done(void *arg, int err)
{
	struct shared *sh = arg;

	if (err == 0) {
		atomic_fetch_add(&sh->ok, 1);
	} else {
		atomic_fetch_add(&sh->failed, 1);
	}
}

/* Submits PER_THREAD batches as fast as it can: a message, a queue entry
 * for it, and the thread's session rewritten with expiry = sequence, so
 * the last one on disk shows the thread's batches kept their order. */
static void *
submitter(void *arg)
{
	struct shared *sh = arg;
	char cid[8];
	int t;

	pthread_mutex_lock(&sh->mu);
	t = sh->index++;
	pthread_mutex_unlock(&sh->mu);
	snprintf(cid, sizeof(cid), "t%d", t);
	for (int i = 0; i < PER_THREAD; i++) {
		struct storage_batch *b = storage_batch_new();
		uint64_t id = storage_next_msg_id(sh->st);

		assert_non_null(b);
		test_put_session(b, cid, (uint32_t)i, 0);
		test_put_msg(b, id, "g/c", "payload", 0);
		test_put_queue(b, cid, id, 0, STORAGE_Q_QUEUED);
		assert_int_equal(storage_submit(sh->st, b, count_done, sh), 0);
	}
	return NULL;
}

static void
group_commit_from_four_threads_runs_every_callback(void **state)
{
	char *dir = test_dir_new();
	struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[THREADS];
	struct storage_stats s;
	char *text, line[32];

	(void)state;
	sh.st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, submitter, &sh),
		    0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
	}
	/* Close waits for everything submitted. */
	storage_close(sh.st);
	assert_int_equal(atomic_load(&sh.ok), THREADS * PER_THREAD);
	assert_int_equal(atomic_load(&sh.failed), 0);

	sh.st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	text = test_load_text(sh.st, 0, 0);
	for (int t = 0; t < THREADS; t++) {
		snprintf(line, sizeof(line), "S t%d v=5 exp=%d ", t,
		    PER_THREAD - 1);
		assert_non_null(strstr(text, line));
	}
	free(text);
	storage_stats(sh.st, &s);
	assert_int_equal(s.queued, THREADS * PER_THREAD);
	assert_int_equal(s.msgs, THREADS * PER_THREAD);
	storage_close(sh.st);
	test_dir_remove(dir);
}

static void
group_commit_counts_batches_and_commits(void **state)
{
	char *dir = test_dir_new();
	struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[THREADS];
	struct storage_stats s;

	(void)state;
	sh.st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, submitter, &sh),
		    0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
	}
	/* A last batch behind all others: its callback means all ran. */
	assert_int_equal(test_commit(sh.st, storage_batch_new()), 0);
	assert_int_equal(atomic_load(&sh.ok), THREADS * PER_THREAD);
	storage_stats(sh.st, &s);
	assert_int_equal(s.batches, THREADS * PER_THREAD + 1);
	assert_int_equal(s.ops, THREADS * PER_THREAD * 3);
	assert_int_equal(s.failed_commits, 0);
	/* Far fewer fsyncs than batches; an fsync costs more than building
	 * thousands of batches, so in practice this is a few hundred. */
	assert_true(s.commits >= 1);
	assert_true(s.commits <= s.batches / 4);
	print_message("%llu batches in %llu commits\n",
	    (unsigned long long)s.batches, (unsigned long long)s.commits);
	storage_close(sh.st);
	test_dir_remove(dir);
}

/* ------------------------------------------------------------------ */
/* Map growth                                                           */

#define GROW_MSGS 640
#define GROW_PAYLOAD 8192

static void
fill(uint8_t *p, uint64_t id)
{
	for (size_t i = 0; i < GROW_PAYLOAD; i++) {
		p[i] = (uint8_t)(id * 31 + i);
	}
}

static int
check_grown(void *arg, const struct storage_session *s,
    const struct storage_qentry *q, const struct storage_msg *m)
{
	uint8_t want[GROW_PAYLOAD];

	(void)s;
	assert_int_equal(m->id, q->msg_id);
	assert_int_equal(m->payload_len, GROW_PAYLOAD);
	fill(want, m->id);
	assert_memory_equal(m->payload, want, GROW_PAYLOAD);
	(*(int *)arg)++;
	return 0;
}

static void
map_grows_from_256k_and_reopens(void **state)
{
	static const struct storage_load_cb cb = { .queued = check_grown };
	static uint8_t payload[GROW_PAYLOAD];
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_NONE, 256 << 10,
	    false);
	struct storage_batch *b;
	struct storage_stats s;
	int seen = 0;

	(void)state;
	b = storage_batch_new();
	test_put_session(b, "c", STORAGE_EXPIRY_NEVER, 0);
	assert_int_equal(test_commit(st, b), 0);
	b = NULL;
	/* 5 MiB of payload (7.5 MiB in pages): a quarter in small batches,
	 * which pre-emptive growth keeps ahead of, then the rest in one
	 * batch that cannot fit, so its transaction fails with MDB_MAP_FULL
	 * and is retried in a larger map. */
	for (uint64_t id = 1; id <= GROW_MSGS; id++) {
		struct storage_msg m = test_msg(id, "big", "", 1, 0);
		struct storage_qentry q = { id, 0, 1, 0, false, 0 };

		if (b == NULL) {
			b = storage_batch_new();
		}
		fill(payload, id);
		m.payload = payload;
		m.payload_len = GROW_PAYLOAD;
		assert_int_equal(storage_batch_msg_put(b, &m), 0);
		assert_int_equal(storage_batch_queue_put(b, "c", 1, &q), 0);
		if (id < GROW_MSGS / 4 ? id % 8 == 0 : id == GROW_MSGS) {
			assert_int_equal(test_commit(st, b), 0);
			b = NULL;
		}
	}
	storage_stats(st, &s);
	assert_int_equal(s.msgs, GROW_MSGS);
	assert_int_equal(s.failed_commits, 0);
	assert_true(s.map_grows > 0);
	assert_true(s.map_size >= s.used_bytes);
	assert_true(s.used_bytes > GROW_MSGS * GROW_PAYLOAD);
	storage_close(st);

	/* Reopen with the same tiny configured map. */
	st = test_open(dir, STORAGE_SYNC_NONE, 256 << 10, false);
	assert_int_equal(storage_load(st, 0, 0, &cb, &seen), 0);
	assert_int_equal(seen, GROW_MSGS);
	b = storage_batch_new();
	test_put_msg(b, GROW_MSGS + 1, "t", "x", 0);
	test_put_queue(b, "c", GROW_MSGS + 1, 0, 0);
	assert_int_equal(test_commit(st, b), 0);
	storage_stats(st, &s);
	assert_int_equal(s.msgs, GROW_MSGS + 1);
	storage_close(st);
	test_dir_remove(dir);
}

/* ------------------------------------------------------------------ */
/* Failure                                                              */

static void
failed_commits_fail_their_group_and_the_next_recovers(void **state)
{
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	struct storage_batch *b;
	struct storage_stats s;
	char *text;

	(void)state;
	assert_false(storage_degraded(st));
	storage_test_fail_next_commits(st, 2);
	for (int i = 0; i < 2; i++) {
		b = storage_batch_new();
		test_put_session(b, i == 0 ? "lost1" : "lost2", 1, 0);
		assert_int_equal(test_commit(st, b), -EIO);
		assert_true(storage_degraded(st));
	}
	storage_stats(st, &s);
	assert_int_equal(s.failed_commits, 2);
	assert_int_equal(s.commits, 0);
	assert_int_equal(s.batches, 0);

	b = storage_batch_new();
	test_put_session(b, "kept", 1, 0);
	assert_int_equal(test_commit(st, b), 0);
	assert_false(storage_degraded(st));
	storage_stats(st, &s);
	assert_int_equal(s.failed_commits, 2);
	assert_int_equal(s.commits, 1);

	text = test_load_text(st, 0, 0);
	assert_string_equal(text, "S kept v=5 exp=1 disc=0\n");
	free(text);
	storage_close(st);
	test_dir_remove(dir);
}

static void
close_commits_everything_submitted_before(void **state)
{
	char *dir = test_dir_new();
	struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct storage_stats s;
	char cid[16];

	(void)state;
	sh.st = test_open(dir, STORAGE_SYNC_BATCH, 0, false);
	for (int i = 0; i < 300; i++) {
		struct storage_batch *b = storage_batch_new();

		snprintf(cid, sizeof(cid), "c%d", i);
		test_put_session(b, cid, 1, 0);
		assert_int_equal(storage_submit(sh.st, b, count_done, &sh), 0);
	}
	storage_close(sh.st);
	assert_int_equal(atomic_load(&sh.ok), 300);

	sh.st = test_open(dir, STORAGE_SYNC_BATCH, 0, false);
	storage_stats(sh.st, &s);
	assert_int_equal(s.sessions, 300);
	storage_close(sh.st);
	test_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_STORE(overwrite_keeps_the_last_version_of_each_record),
		TEST_STORE(
		    delete_removes_each_record_and_absent_keys_are_no_error),
		TEST_STORE(queue_del_drops_references_and_deletes_msg_at_zero),
		TEST_STORE(references_within_one_group_are_counted_once_each),
		TEST_STORE(msg_put_of_an_existing_id_changes_nothing),
		TEST_STORE(
		    session_del_removes_all_the_session_owns_and_nothing_else),
		TEST_STORE(queue_entries_load_in_msg_id_order_per_session),
		cmocka_unit_test(
		    group_commit_from_four_threads_runs_every_callback),
		cmocka_unit_test(group_commit_counts_batches_and_commits),
		cmocka_unit_test(map_grows_from_256k_and_reopens),
		cmocka_unit_test(
		    failed_commits_fail_their_group_and_the_next_recovers),
		cmocka_unit_test(close_commits_everything_submitted_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
