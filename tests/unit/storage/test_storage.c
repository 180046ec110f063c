/*
 * test_storage.c - unit tests for storage/storage.c: opening creates the
 * directory and records the format version on disk, a newer format and a
 * file that is not LMDB are refused with a message, read-only opening
 * reads but refuses writes, message ids only increase (across threads and
 * reopens), and every sync mode commits and reopens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "storage/storage.h"
#include "unit/storage/util.h"

/* Opens dir's meta database with LMDB itself, as a tool would. */
static void
raw_open(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *meta)
{
	assert_int_equal(mdb_env_create(env), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env, 16), 0);
	assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, "meta", 0, meta), 0);
}

static void
open_creates_the_directory_and_records_the_format(void **state)
{
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	struct storage_stats s;
	struct stat sb;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_val k = { 6, "format" }, v;

	(void)state;
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	storage_stats(st, &s);
	assert_int_equal(s.format, STORAGE_FORMAT);
	assert_int_equal(s.sessions + s.subs + s.queued + s.msgs + s.retained +
	    s.qos2 + s.commits + s.batches + s.failed_commits, 0);
	assert_true(s.map_size >= 64u << 20);
	assert_true(s.used_bytes > 0 && s.used_bytes < s.map_size);
	storage_close(st);

	/* On disk: u32 little-endian. */
	raw_open(dir, &env, &txn, &meta);
	assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
	assert_int_equal(v.mv_size, 4);
	assert_memory_equal(v.mv_data, "\x01\x00\x00\x00", 4);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	test_dir_remove(dir);
}

static void
a_newer_format_is_refused_with_a_clear_message(void **state)
{
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	struct storage_config cfg = { .dir = dir };
	uint8_t newer[4] = { STORAGE_FORMAT + 1, 0, 0, 0 };
	MDB_val k = { 6, "format" }, v = { 4, newer };
	char err[256], want[128];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;

	(void)state;
	storage_close(st);
	raw_open(dir, &env, &txn, &meta);
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	snprintf(want, sizeof(want), "storage format version %u is newer "
	    "than this starling supports (%u)", STORAGE_FORMAT + 1,
	    STORAGE_FORMAT);
	st = (struct storage *)1;
	assert_int_equal(storage_open(&st, &cfg, err, sizeof(err)), -1);
	assert_null(st);
	assert_string_equal(err, want);
	cfg.read_only = true;
	assert_int_equal(storage_open(&st, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	test_dir_remove(dir);
}

static void
a_file_that_is_not_lmdb_is_refused(void **state)
{
	char *dir = test_dir_new();
	struct storage_config cfg = { .dir = dir };
	struct storage *st;
	char path[256], junk[8192], err[256] = "";
	int fd;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);

	assert_int_equal(storage_open(&st, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "not an LMDB file"));
	test_dir_remove(dir);
}

static void
done_never_called(void *arg, int err)
{
	(void)arg;
	(void)err;
	fail_msg("a refused submit ran its callback");
}

static void
read_only_open_reads_and_refuses_writes(void **state)
{
	char *dir = test_dir_new();
	struct storage_config cfg = { .dir = dir, .read_only = true };
	struct storage *st;
	struct storage_batch *b;
	struct storage_stats s;
	char err[256] = "", *text;

	(void)state;
	/* Read-only never creates. */
	assert_int_equal(storage_open(&st, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));

	st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	b = storage_batch_new();
	test_put_session(b, "c", 7, 0);
	assert_int_equal(test_commit(st, b), 0);
	storage_close(st);

	st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, true);
	text = test_load_text(st, 0, 0);
	assert_string_equal(text, "S c v=5 exp=7 disc=0\n");
	free(text);
	b = storage_batch_new();
	test_put_session(b, "d", 7, 0);
	assert_int_equal(storage_submit(st, b, done_never_called, NULL), -1);
	storage_stats(st, &s);
	assert_int_equal(s.sessions, 1);
	assert_int_equal(s.format, STORAGE_FORMAT);
	storage_close(st);
	test_dir_remove(dir);
}

#define ID_THREADS 2
#define IDS_EACH 50000 /* together they cross the 1 << 16 range */

struct ids {
	struct storage *st;
	uint64_t got[IDS_EACH];
};

static void *
take_ids(void *arg)
{
	struct ids *ids = arg;

	for (int i = 0; i < IDS_EACH; i++) {
		ids->got[i] = storage_next_msg_id(ids->st);
	}
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
msg_ids_increase_and_are_never_reused_after_reopen(void **state)
{
	char *dir = test_dir_new();
	struct storage *st = test_open(dir, STORAGE_SYNC_ALWAYS, 0, false);
	struct ids *ids = calloc(ID_THREADS, sizeof(*ids));
	uint64_t *all = calloc(ID_THREADS * IDS_EACH, sizeof(*all));
	pthread_t th[ID_THREADS];
	uint64_t max = 0, id;

	(void)state;
	assert_non_null(ids);
	assert_non_null(all);
	for (int t = 0; t < ID_THREADS; t++) {
		ids[t].st = st;
		assert_int_equal(pthread_create(&th[t], NULL, take_ids,
		    &ids[t]), 0);
	}
	for (int t = 0; t < ID_THREADS; t++) {
		pthread_join(th[t], NULL);
		/* Increasing within each thread. */
		for (int i = 0; i < IDS_EACH; i++) {
			assert_true(ids[t].got[i] > 0);
			assert_true(i == 0 ||
			    ids[t].got[i] > ids[t].got[i - 1]);
			all[t * IDS_EACH + i] = ids[t].got[i];
		}
	}
	/* Unique across threads. */
	qsort(all, ID_THREADS * IDS_EACH, sizeof(*all), cmp_u64);
	for (int i = 1; i < ID_THREADS * IDS_EACH; i++) {
		assert_true(all[i] > all[i - 1]);
	}
	max = all[ID_THREADS * IDS_EACH - 1];

	/* No batch was submitted: close alone persists the reservation. */
	st = test_reopen(st, dir, STORAGE_SYNC_ALWAYS);
	id = storage_next_msg_id(st);
	assert_true(id > max);
	st = test_reopen(st, dir, STORAGE_SYNC_ALWAYS);
	assert_true(storage_next_msg_id(st) > id);
	storage_close(st);
	free(all);
	free(ids);
	test_dir_remove(dir);
}

static void
every_sync_mode_commits_and_reopens(void **state)
{
	static const enum storage_sync modes[] = { STORAGE_SYNC_ALWAYS,
		STORAGE_SYNC_BATCH, STORAGE_SYNC_NONE };

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *dir = test_dir_new();
		struct storage *st = test_open(dir, modes[i], 0, false);
		struct timespec pause = { 0, 60 * 1000000 };
		char *text;

		for (int n = 0; n < 3; n++) {
			struct storage_batch *b = storage_batch_new();

			test_put_session(b, "c", (uint32_t)n, 0);
			test_put_msg(b, (uint64_t)n + 1, "t", "x", 0);
			test_put_queue(b, "c", (uint64_t)n + 1, 0, 0);
			assert_int_equal(test_commit(st, b), 0);
			/* Lets BATCH's 20 ms periodic sync run. */
			nanosleep(&pause, NULL);
		}
		assert_false(storage_degraded(st));
		storage_close(st);

		st = test_open(dir, modes[i], 0, false);
		text = test_load_text(st, 0, 0);
		assert_string_equal(text,
		    "S c v=5 exp=2 disc=0\n"
		    " q c msg=1 pid=0 qos=1 state=0 retain=0 sid=0: id=1 "
		    "topic=t qos=1 retain=0 exp=0 props=P payload=x\n"
		    " q c msg=2 pid=0 qos=1 state=0 retain=0 sid=0: id=2 "
		    "topic=t qos=1 retain=0 exp=0 props=P payload=x\n"
		    " q c msg=3 pid=0 qos=1 state=0 retain=0 sid=0: id=3 "
		    "topic=t qos=1 retain=0 exp=0 props=P payload=x\n");
		free(text);
		storage_close(st);
		test_dir_remove(dir);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    open_creates_the_directory_and_records_the_format),
		cmocka_unit_test(
		    a_newer_format_is_refused_with_a_clear_message),
		cmocka_unit_test(a_file_that_is_not_lmdb_is_refused),
		cmocka_unit_test(read_only_open_reads_and_refuses_writes),
		cmocka_unit_test(
		    msg_ids_increase_and_are_never_reused_after_reopen),
		cmocka_unit_test(every_sync_mode_commits_and_reopens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
