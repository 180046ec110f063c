/*
 * util.c - helpers of the storage unit tests (see util.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit/storage/util.h"

char *
test_dir_new(void)
{
	char tmpl[] = "/tmp/starling-storage-XXXXXX";
	char *db;

	assert_non_null(mkdtemp(tmpl));
	db = malloc(strlen(tmpl) + 4);
	assert_non_null(db);
	sprintf(db, "%s/db", tmpl);
	return db;
}

/* Removes dir and the files in it (a store has no subdirectories). */
static void
rm_dir(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL) {
		return; /* never created */
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(unlink(path), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

void
test_dir_remove(char *db)
{
	rm_dir(db);
	/* The mkdtemp directory is the parent of db. */
	*strrchr(db, '/') = '\0';
	assert_int_equal(rmdir(db), 0);
	free(db);
}

struct storage *
test_open(const char *dir, enum storage_sync sync, uint64_t initial_map,
    bool read_only)
{
	struct storage_config cfg = { dir, sync, 20, initial_map, read_only };
	struct storage *st;
	char err[256] = "";

	if (storage_open(&st, &cfg, err, sizeof(err)) != 0) {
		fail_msg("storage_open: %s", err);
	}
	assert_non_null(st);
	return st;
}

struct storage *
test_reopen(struct storage *st, const char *dir, enum storage_sync sync)
{
	storage_close(st);
	return test_open(dir, sync, 0, false);
}

int
test_store_setup(void **state)
{
	struct test_store *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = test_dir_new();
	fx->st = test_open(fx->dir, STORAGE_SYNC_NONE, 0, false);
	*state = fx;
	return 0;
}

int
test_store_teardown(void **state)
{
	struct test_store *fx = *state;

	storage_close(fx->st);
	test_dir_remove(fx->dir);
	free(fx);
	return 0;
}

void
test_assert_counts(struct storage *st, const char *want)
{
	struct storage_stats s;
	char got[256];

	storage_stats(st, &s);
	snprintf(got, sizeof(got), "sessions=%llu subs=%llu queued=%llu "
	    "msgs=%llu retained=%llu qos2=%llu",
	    (unsigned long long)s.sessions, (unsigned long long)s.subs,
	    (unsigned long long)s.queued, (unsigned long long)s.msgs,
	    (unsigned long long)s.retained, (unsigned long long)s.qos2);
	assert_string_equal(got, want);
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int err;
};

static void
on_done(void *arg, int err)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->done = true;
	w->err = err;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
test_commit(struct storage *st, struct storage_batch *b)
{
	struct waiter w = { .mu = PTHREAD_MUTEX_INITIALIZER,
		.cv = PTHREAD_COND_INITIALIZER };

	assert_int_equal(storage_submit(st, b, on_done, &w), 0);
	pthread_mutex_lock(&w.mu);
	while (!w.done) {
		pthread_cond_wait(&w.cv, &w.mu);
	}
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return w.err;
}

/* ------------------------------------------------------------------ */
/* storage_load() as text                                               */

static void
put_msg(FILE *f, const struct storage_msg *m)
{
	fprintf(f, "id=%llu topic=%.*s qos=%u retain=%d exp=%llu props=%.*s "
	    "payload=%.*s", (unsigned long long)m->id, (int)m->topic_len,
	    (const char *)m->topic, m->qos, m->retain,
	    (unsigned long long)m->expiry_at, (int)m->props_len,
	    (const char *)m->props, (int)m->payload_len,
	    (const char *)m->payload);
}

static int
on_retained(void *arg, const struct storage_msg *m)
{
	fprintf(arg, "R ");
	put_msg(arg, m);
	fprintf(arg, "\n");
	return 0;
}

static int
on_session(void *arg, const struct storage_session *s)
{
	fprintf(arg, "S %.*s v=%u exp=%u disc=%llu", (int)s->id_len, s->id,
	    s->version, s->expiry, (unsigned long long)s->disconnected_at);
	if (s->has_will) {
		fprintf(arg, " delay=%u will: ", s->will_delay);
		put_msg(arg, &s->will);
	}
	fprintf(arg, "\n");
	return 0;
}

static int
on_sub(void *arg, const struct storage_session *s,
    const struct storage_sub *sub)
{
	fprintf(arg, " sub %.*s %.*s qos=%u nl=%d rap=%d rh=%u sid=%u\n",
	    (int)s->id_len, s->id, (int)sub->flen, (const char *)sub->filter,
	    sub->qos, sub->no_local, sub->retain_as_published,
	    sub->retain_handling, sub->sub_id);
	return 0;
}

static int
on_queued(void *arg, const struct storage_session *s,
    const struct storage_qentry *q, const struct storage_msg *m)
{
	fprintf(arg, " q %.*s msg=%llu pid=%u qos=%u state=%u retain=%d "
	    "sid=%u: ", (int)s->id_len, s->id, (unsigned long long)q->msg_id,
	    q->pid, q->qos, q->state, q->retain, q->sub_id);
	put_msg(arg, m);
	fprintf(arg, "\n");
	return 0;
}

static int
on_qos2(void *arg, const struct storage_session *s, uint16_t pid)
{
	fprintf(arg, " qos2 %.*s %u\n", (int)s->id_len, s->id, pid);
	return 0;
}

char *
test_load_text(struct storage *st, uint64_t now, uint64_t max_offline)
{
	static const struct storage_load_cb cb = { on_retained, on_session,
		on_sub, on_queued, on_qos2 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	assert_non_null(f);
	rc = storage_load(st, now, max_offline, &cb, f);
	fclose(f);
	assert_int_equal(rc, 0);
	return text;
}

/* ------------------------------------------------------------------ */
/* Records                                                              */

struct storage_msg
test_msg(uint64_t id, const char *topic, const char *payload, uint8_t qos,
    uint64_t expiry_at)
{
	struct storage_msg m = { 0 };

	m.id = id;
	m.qos = qos;
	m.expiry_at = expiry_at;
	m.topic = (const uint8_t *)topic;
	m.topic_len = (uint16_t)strlen(topic);
	m.props = (const uint8_t *)"P";
	m.props_len = 1;
	m.payload = (const uint8_t *)payload;
	m.payload_len = (uint32_t)strlen(payload);
	return m;
}

struct storage_session
test_session(const char *cid, uint32_t expiry, uint64_t disconnected_at)
{
	struct storage_session s = { 0 };

	s.id = cid;
	s.id_len = (uint16_t)strlen(cid);
	s.version = 5;
	s.expiry = expiry;
	s.disconnected_at = disconnected_at;
	return s;
}

void
test_put_msg(struct storage_batch *b, uint64_t id, const char *topic,
    const char *payload, uint64_t expiry_at)
{
	struct storage_msg m = test_msg(id, topic, payload, 1, expiry_at);

	assert_int_equal(storage_batch_msg_put(b, &m), 0);
}

void
test_put_queue(struct storage_batch *b, const char *cid, uint64_t id,
    uint16_t pid, uint8_t state)
{
	struct storage_qentry q = { id, pid, 1, state, false, 0 };

	assert_int_equal(storage_batch_queue_put(b, cid,
	    (uint16_t)strlen(cid), &q), 0);
}

void
test_put_session(struct storage_batch *b, const char *cid, uint32_t expiry,
    uint64_t disconnected_at)
{
	struct storage_session s = test_session(cid, expiry, disconnected_at);

	assert_int_equal(storage_batch_session_put(b, &s), 0);
}

void
test_put_sub(struct storage_batch *b, const char *cid, const char *filter)
{
	struct storage_sub sub = { (const uint8_t *)filter,
		(uint16_t)strlen(filter), 1, false, false, 0, 0 };

	assert_int_equal(storage_batch_sub_put(b, cid, (uint16_t)strlen(cid),
	    &sub), 0);
}
