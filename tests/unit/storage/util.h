/*
 * util.h - helpers shared by the storage unit tests: a scratch directory
 * under /tmp, opening a store, submitting a batch and waiting for its
 * commit, and storage_load() rendered as text so that a test can compare
 * everything a load reports, fields and order, with one string.
 */
#ifndef TEST_STORAGE_UTIL_H
#define TEST_STORAGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/* Makes a fresh directory (mkdtemp) and returns "<it>/db", where a store
 * can be created.  Free with test_dir_remove(). */
char *test_dir_new(void);
/* Removes the directory test_dir_new() made, with all inside, and frees
 * the path. */
void test_dir_remove(char *db);

/* A store in a fresh directory, opened with STORAGE_SYNC_NONE, as a
 * cmocka fixture: setup makes *state a struct test_store, teardown closes
 * fx->st (a test that reopens stores the new handle there) and removes
 * the directory. */
struct test_store {
	char *dir;
	struct storage *st;
};
int test_store_setup(void **state);
int test_store_teardown(void **state);
#define TEST_STORE(t)                                                         \
	cmocka_unit_test_setup_teardown(t, test_store_setup,                  \
	    test_store_teardown)

/* Asserts st's record counts, given as "sessions=N subs=N queued=N msgs=N
 * retained=N qos2=N". */
void test_assert_counts(struct storage *st, const char *want);

/* Opens (asserting success) a store in dir. */
struct storage *test_open(const char *dir, enum storage_sync sync,
    uint64_t initial_map, bool read_only);
/* storage_close(), then storage_open() again with the same settings. */
struct storage *test_reopen(struct storage *st, const char *dir,
    enum storage_sync sync);

/* Submits b and waits for its callback; returns the err it got. */
int test_commit(struct storage *st, struct storage_batch *b);

/* Loads the store and returns every callback as one line of text
 * (malloc'd; the caller frees).  Asserts storage_load() returned 0. */
char *test_load_text(struct storage *st, uint64_t now, uint64_t max_offline);

/* Record builders for the tests: a message with topic, payload and the
 * property bytes "P" (so props are exercised too). */
struct storage_msg test_msg(uint64_t id, const char *topic,
    const char *payload, uint8_t qos, uint64_t expiry_at);
struct storage_session test_session(const char *cid, uint32_t expiry,
    uint64_t disconnected_at);

/* Shorthands that add one op to b, asserting success. */
void test_put_msg(struct storage_batch *b, uint64_t id, const char *topic,
    const char *payload, uint64_t expiry_at);
void test_put_queue(struct storage_batch *b, const char *cid, uint64_t id,
    uint16_t pid, uint8_t state);
void test_put_session(struct storage_batch *b, const char *cid,
    uint32_t expiry, uint64_t disconnected_at);
void test_put_sub(struct storage_batch *b, const char *cid,
    const char *filter);

#endif
