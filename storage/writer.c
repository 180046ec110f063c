/*
 * writer.c - the single writer thread and everything that changes LMDB:
 * the submit queue, group commit, the transaction runner that enlarges the
 * map when it fills, reference counting of messages, the session cascade,
 * and the periodic fsync of STORAGE_SYNC_BATCH.
 *
 * Threads: storage_submit() runs on any thread and only touches the queue
 * under st->mu.  The writer thread owns st->ws, st->reserved and the sync
 * timer.  storage__write() may also run on the thread of storage_load(),
 * with its own storage__wstate; LMDB serialises the two write
 * transactions, and map_lock keeps resizes away from both (design notes in
 * internal.h).
 */
#include "storage/internal.h"
#include "storage/storage_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Enough doublings for any group the caps allow, from any map size. */
#define GROW_TRIES 16

int
storage__err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_MAP_FULL:
		return -ENOSPC;
	case MDB_BAD_VALSIZE:
		return -EINVAL;
	default:
		/* Positive results are errno values; the other MDB_*
		 * codes mean a damaged store or a bug: an I/O error to the
		 * broker. */
		return rc > 0 ? -rc : -EIO;
	}
}

/* ------------------------------------------------------------------ */
/* Reference deltas                                                     */

static uint32_t
slot_of(uint64_t id, uint32_t cap)
{
	/* Ids are mostly consecutive: multiply to spread them. */
	return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* Doubles the table (starting at 256 slots), keeping the entries. */
static int
refs_resize(struct storage__wstate *ws)
{
	uint32_t cap = ws->cap != 0 ? ws->cap * 2 : 256;
	struct storage__ref *slots = calloc(cap, sizeof(*slots));
	uint32_t *used = malloc(cap / 2 * sizeof(*used));

	if (slots == NULL || used == NULL) {
		free(slots);
		free(used);
		return ENOMEM;
	}
	for (uint32_t i = 0; i < ws->n; i++) {
		struct storage__ref *r = &ws->slots[ws->used[i]];
		uint32_t j = slot_of(r->id, cap);

		while (slots[j].used) {
			j = (j + 1) & (cap - 1);
		}
		slots[j] = *r;
		used[i] = j;
	}
	free(ws->slots);
	free(ws->used);
	ws->slots = slots;
	ws->used = used;
	ws->cap = cap;
	return 0;
}

static void
refs_clear(struct storage__wstate *ws)
{
	for (uint32_t i = 0; i < ws->n; i++) {
		ws->slots[ws->used[i]].used = false;
	}
	ws->n = 0;
}

void
storage__wstate_fini(struct storage__wstate *ws)
{
	free(ws->slots);
	free(ws->used);
	free(ws->buf);
	memset(ws, 0, sizeof(*ws));
}

int
storage__ref_add(struct storage__wtxn *w, uint64_t id, int64_t delta)
{
	struct storage__wstate *ws = w->ws;
	uint32_t j;

	/* At most half full, so probes stay short. */
	if (ws->n + 1 > ws->cap / 2 && refs_resize(ws) != 0) {
		return ENOMEM;
	}
	j = slot_of(id, ws->cap);
	while (ws->slots[j].used && ws->slots[j].id != id) {
		j = (j + 1) & (ws->cap - 1);
	}
	if (!ws->slots[j].used) {
		ws->slots[j] = (struct storage__ref){ id, 0, true };
		ws->used[ws->n++] = j;
	}
	ws->slots[j].delta += delta;
	return 0;
}

/*
 * Adds delta to the reference count of message id, deleting the message
 * when the count reaches 0.  A delta of 0 still deletes a message stored
 * with no references, which happens when one group puts a message, queues
 * it and delivers it.  A message that is not there (never stored, or a
 * crash leftover already removed) has nothing to count.
 */
static int
ref_apply(struct storage__wtxn *w, uint64_t id, int64_t delta)
{
	MDB_dbi dbi = w->st->dbi[STORAGE_DB_MSGS];
	struct storage__wstate *ws = w->ws;
	uint8_t kb[8];
	MDB_val k = { sizeof(kb), kb }, v;
	int64_t refs;
	int rc;

	storage__be64(kb, id);
	rc = mdb_get(w->txn, dbi, &k, &v);
	if (rc != 0) {
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	if (v.mv_size < 4) {
		return MDB_CORRUPTED;
	}
	refs = (int64_t)storage__get_le32(v.mv_data) + delta;
	if (refs <= 0) {
		return mdb_del(w->txn, dbi, &k, NULL);
	}
	if (delta == 0) {
		return 0;
	}
	if (refs > UINT32_MAX) {
		return EOVERFLOW;
	}
	/* v points into a page that the put may rewrite or reuse, so the
	 * value is copied out first. */
	if (ws->buf_cap < v.mv_size) {
		uint8_t *nb = realloc(ws->buf, v.mv_size);

		if (nb == NULL) {
			return ENOMEM;
		}
		ws->buf = nb;
		ws->buf_cap = v.mv_size;
	}
	memcpy(ws->buf, v.mv_data, v.mv_size);
	storage__le32(ws->buf, (uint32_t)refs);
	v.mv_data = ws->buf;
	return mdb_put(w->txn, dbi, &k, &v, 0);
}

int
storage__ref_flush(struct storage__wtxn *w)
{
	struct storage__wstate *ws = w->ws;
	int rc = 0;

	for (uint32_t i = 0; i < ws->n && rc == 0; i++) {
		struct storage__ref *r = &ws->slots[ws->used[i]];

		rc = ref_apply(w, r->id, r->delta);
	}
	refs_clear(ws);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */

int
storage__prefix_get(MDB_cursor *c, const MDB_val *prefix, MDB_val *k,
    MDB_val *v, MDB_cursor_op op)
{
	int rc;

	if (op == MDB_SET_RANGE) {
		*k = *prefix;
	}
	rc = mdb_cursor_get(c, k, v, op);
	if (rc == 0 && (k->mv_size < prefix->mv_size ||
	    memcmp(k->mv_data, prefix->mv_data, prefix->mv_size) != 0)) {
		rc = MDB_NOTFOUND;
	}
	return rc;
}

int
storage__queue_del_at(struct storage__wtxn *w, MDB_cursor *c,
    const MDB_val *key)
{
	uint64_t id;
	int rc;

	if (key->mv_size < 10) {
		return MDB_CORRUPTED;
	}
	/* Read the id before the delete can change the page under key. */
	id = storage__get_be64((const uint8_t *)key->mv_data + key->mv_size -
	    8);
	if ((rc = mdb_cursor_del(c, 0)) != 0) {
		return rc;
	}
	return storage__ref_add(w, id, -1);
}

int
storage__session_purge(struct storage__wtxn *w, const MDB_val *skey)
{
	static const int owned[] = { STORAGE_DB_SUBS, STORAGE_DB_QUEUE,
		STORAGE_DB_QOS2 };
	MDB_cursor *c;
	MDB_val k, v;
	int rc = 0;

	/* Every record a session owns starts with its key, so each is one
	 * contiguous range.  LMDB's cursor stays valid across its own
	 * delete, and MDB_NEXT then yields the record after it. */
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		if ((rc = mdb_cursor_open(w->txn, w->st->dbi[owned[i]], &c))) {
			return rc;
		}
		rc = storage__prefix_get(c, skey, &k, &v, MDB_SET_RANGE);
		while (rc == 0) {
			rc = owned[i] == STORAGE_DB_QUEUE ?
			    storage__queue_del_at(w, c, &k) :
			    mdb_cursor_del(c, 0);
			if (rc == 0) {
				rc = storage__prefix_get(c, skey, &k, &v,
				    MDB_NEXT);
			}
		}
		mdb_cursor_close(c);
		if (rc != MDB_NOTFOUND) {
			return rc;
		}
	}
	return 0;
}

/* Applies one batch operation; key and val point into the batch. */
static int
apply_op(struct storage__wtxn *w, const struct storage__op *op, uint8_t *key,
    uint8_t *val)
{
	MDB_dbi dbi = w->st->dbi[op->db];
	MDB_val k = { op->klen, key }, v = { op->vlen, val };
	uint64_t msg_id = 0; /* for queue keys, which end with it */
	int rc;

	if (op->db == STORAGE_DB_QUEUE && op->klen >= 8) {
		msg_id = storage__get_be64(key + op->klen - 8);
	}
	switch (op->kind) {
	case STORAGE_OP_PUT:
		return mdb_put(w->txn, dbi, &k, &v, 0);
	case STORAGE_OP_PUT_NEW:
		rc = mdb_put(w->txn, dbi, &k, &v, MDB_NOOVERWRITE);
		return rc == MDB_KEYEXIST ? 0 : rc;
	case STORAGE_OP_DEL:
		rc = mdb_del(w->txn, dbi, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	case STORAGE_OP_QUEUE_PUT:
		rc = mdb_put(w->txn, dbi, &k, &v, MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST) {
			/* A state change; the entry already holds its
			 * reference.  MDB_KEYEXIST pointed v at the old
			 * value, so set it again. */
			v = (MDB_val){ op->vlen, val };
			return mdb_put(w->txn, dbi, &k, &v, 0);
		}
		return rc != 0 ? rc : storage__ref_add(w, msg_id, 1);
	case STORAGE_OP_QUEUE_DEL:
		rc = mdb_del(w->txn, dbi, &k, NULL);
		if (rc != 0) {
			return rc == MDB_NOTFOUND ? 0 : rc;
		}
		return storage__ref_add(w, msg_id, -1);
	case STORAGE_OP_SESSION_DEL:
		rc = mdb_del(w->txn, dbi, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			return rc;
		}
		return storage__session_purge(w, &k);
	}
	return EINVAL;
}

/* ------------------------------------------------------------------ */
/* Transactions and map growth                                          */

/* Whether the used pages are over 3/4 of the map.  Under map_lock. */
static bool
map_tight(struct storage *st, size_t *used, size_t *size)
{
	MDB_envinfo info;

	mdb_env_info(st->env, &info);
	*used = (info.me_last_pgno + 1) * st->psize;
	*size = info.me_mapsize;
	return *used > *size / 4 * 3;
}

int
storage__grow(struct storage *st, bool always)
{
	MDB_envinfo info;
	size_t used, size;
	int rc = 0;

	pthread_rwlock_wrlock(&st->map_lock);
	if (map_tight(st, &used, &size) || always) {
		do {
			if (size > SIZE_MAX / 2) {
				rc = ENOMEM;
				break;
			}
			size *= 2;
		} while (used > size / 4 * 3);
		if (rc == 0) {
			rc = mdb_env_set_mapsize(st->env, size);
		}
		if (rc == 0) {
			atomic_fetch_add(&st->map_grows, 1);
		} else if (mdb_env_info(st->env, &info) == 0 &&
		    info.me_mapaddr == NULL) {
			/* LMDB unmaps before it maps anew; if the new map
			 * failed there is none left, and no transaction may
			 * start again. */
			atomic_store(&st->broken, true);
		}
	}
	pthread_rwlock_unlock(&st->map_lock);
	return rc;
}

int
storage__write(struct storage *st, struct storage__wstate *ws,
    storage__txn_fn fn, void *arg)
{
	struct storage__wtxn w = { st, NULL, ws };
	size_t used, size;
	bool tight;
	int rc;

	for (int tries = 0;; tries++) {
		if (atomic_load(&st->broken)) {
			return EIO;
		}
		pthread_rwlock_rdlock(&st->map_lock);
		rc = mdb_txn_begin(st->env, NULL, 0, &w.txn);
		if (rc == 0) {
			rc = fn(&w, arg);
			if (rc == 0) {
				rc = storage__ref_flush(&w);
			}
			if (rc == 0) {
				/* Frees the transaction even when it fails. */
				rc = mdb_txn_commit(w.txn);
			} else {
				mdb_txn_abort(w.txn);
			}
		}
		refs_clear(ws);
		tight = rc == 0 && map_tight(st, &used, &size);
		pthread_rwlock_unlock(&st->map_lock);

		if (rc == MDB_MAP_FULL && tries < GROW_TRIES &&
		    storage__grow(st, true) == 0) {
			continue; /* everything again, in a larger map */
		}
		if (tight) {
			/* Grow before the next transaction fills it; a
			 * failure here shows up as MDB_MAP_FULL later. */
			(void)storage__grow(st, false);
		}
		return rc;
	}
}

int
storage__read_begin(struct storage *st, MDB_txn **txn)
{
	int rc;

	if (atomic_load(&st->broken)) {
		return EIO;
	}
	pthread_rwlock_rdlock(&st->map_lock);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process (a broker, while we dump) grew the map:
		 * adopt its size, which needs the lock exclusively. */
		pthread_rwlock_unlock(&st->map_lock);
		pthread_rwlock_wrlock(&st->map_lock);
		rc = mdb_env_set_mapsize(st->env, 0);
		pthread_rwlock_unlock(&st->map_lock);
		pthread_rwlock_rdlock(&st->map_lock);
		if (rc == 0) {
			rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
		}
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&st->map_lock);
	}
	return rc;
}

void
storage__read_end(struct storage *st, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->map_lock);
}

/* ------------------------------------------------------------------ */
/* The writer thread                                                    */

struct group {
	struct storage_batch *list;
	uint64_t reserve; /* message id ceiling to persist */
};

/* The body of a group's transaction: every operation of every batch in
 * order, then the id reservation. */
static int
group_apply(struct storage__wtxn *w, void *arg)
{
	struct group *g = arg;
	int rc, fail;

	for (struct storage_batch *b = g->list; b != NULL; b = b->next) {
		/* Offsets, not pointers: an empty batch has no buffer. */
		for (size_t off = 0; off < b->len;) {
			struct storage__op op;
			uint8_t *key = b->buf + off + sizeof(op);

			memcpy(&op, b->buf + off, sizeof(op));
			if ((rc = apply_op(w, &op, key, key + op.klen)) != 0) {
				return rc;
			}
			off += sizeof(op) + op.klen + op.vlen;
		}
	}
	if (g->reserve > w->st->reserved) {
		uint8_t vb[8];
		MDB_val k = { sizeof(STORAGE_META_NEXT_ID) - 1,
			STORAGE_META_NEXT_ID };
		MDB_val v = { sizeof(vb), vb };

		storage__le64(vb, g->reserve);
		rc = mdb_put(w->txn, w->st->dbi[STORAGE_DB_META], &k, &v, 0);
		if (rc != 0) {
			return rc;
		}
	}
	/* The test hook of storage_test.h fails the commit like a disk. */
	fail = atomic_load(&w->st->test_fail);
	while (fail > 0 && !atomic_compare_exchange_weak(&w->st->test_fail,
	    &fail, fail - 1)) {
	}
	return fail > 0 ? EIO : 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Detaches the oldest batches from the queue: at least one, then more
 * while the group stays under both caps.  Under st->mu. */
static struct storage_batch *
take_group(struct storage *st)
{
	struct storage_batch *first = st->head, *b = first, *last;
	size_t ops = 0, bytes = 0;

	if (first == NULL) {
		return NULL;
	}
	do {
		ops += b->nops;
		bytes += b->len;
		last = b;
		b = b->next;
	} while (b != NULL && ops + b->nops <= STORAGE_GROUP_OPS &&
	    bytes + b->len <= STORAGE_GROUP_BYTES);
	last->next = NULL;
	st->head = b;
	if (b == NULL) {
		st->tailp = &st->head;
	}
	return first;
}

/* Commits one group, then reports to and frees each of its batches.
 * Returns the result every callback got. */
static int
run_group(struct storage *st, struct storage_batch *list, uint64_t reserve)
{
	struct group g = { list, reserve };
	struct storage_batch *b, *next;
	uint64_t n = 0, ops = 0;
	int err = storage__err(storage__write(st, &st->ws, group_apply, &g));

	for (b = list; b != NULL; b = b->next) {
		n++;
		ops += b->nops;
	}
	if (err == 0) {
		if (reserve > st->reserved) {
			st->reserved = reserve;
		}
		atomic_fetch_add(&st->commits, 1);
		atomic_fetch_add(&st->batches, n);
		atomic_fetch_add(&st->ops, ops);
		atomic_store(&st->commit_failed, false);
		if (st->sync == STORAGE_SYNC_BATCH && !st->dirty) {
			st->dirty = true;
			st->sync_due = now_ms() + st->sync_interval_ms;
		}
	} else {
		atomic_fetch_add(&st->failed_commits, 1);
		atomic_store(&st->commit_failed, true);
	}
	for (b = list; b != NULL; b = next) {
		next = b->next;
		if (b->done != NULL) {
			b->done(b->arg, err);
		}
		storage_batch_free(b);
	}
	return err;
}

/* STORAGE_SYNC_BATCH: fsyncs once the oldest unsynced commit is
 * sync_interval_ms old. */
static void
periodic_sync(struct storage *st)
{
	int rc;

	if (!st->dirty || now_ms() < st->sync_due) {
		return;
	}
	st->dirty = false;
	pthread_rwlock_rdlock(&st->map_lock);
	rc = mdb_env_sync(st->env, 1);
	pthread_rwlock_unlock(&st->map_lock);
	atomic_store(&st->sync_failed, rc != 0);
}

static void *
writer_main(void *arg)
{
	struct storage *st = arg;
	bool reserve_failed = false;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		/* An id reservation alone is work too, so that close
		 * persists it; but not again right after it failed, which
		 * would spin while the disk is full. */
		bool work = st->head != NULL ||
		    (st->reserve_to > st->reserved && !reserve_failed);

		if (work) {
			struct storage_batch *list = take_group(st);
			uint64_t reserve = st->reserve_to;

			pthread_mutex_unlock(&st->mu);
			reserve_failed = run_group(st, list, reserve) != 0;
			periodic_sync(st);
			pthread_mutex_lock(&st->mu);
		} else if (st->closing) {
			break;
		} else if (st->dirty) {
			struct timespec ts = {
				(time_t)(st->sync_due / 1000),
				(long)(st->sync_due % 1000) * 1000000,
			};

			pthread_cond_timedwait(&st->cv, &st->mu, &ts);
			pthread_mutex_unlock(&st->mu);
			periodic_sync(st);
			pthread_mutex_lock(&st->mu);
		} else {
			pthread_cond_wait(&st->cv, &st->mu);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

int
storage__writer_start(struct storage *st)
{
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
		return -1;
	}
	st->writer_started = true;
	return 0;
}

void
storage__writer_stop(struct storage *st)
{
	pthread_mutex_lock(&st->mu);
	st->closing = true;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->writer_started) {
		pthread_join(st->writer, NULL);
		st->writer_started = false;
	}
	storage__wstate_fini(&st->ws);
}

int
storage_submit(struct storage *st, struct storage_batch *b,
    storage_done_fn done, void *arg)
{
	b->done = done;
	b->arg = arg;
	b->next = NULL;
	pthread_mutex_lock(&st->mu);
	if (st->closing || st->read_only) {
		pthread_mutex_unlock(&st->mu);
		storage_batch_free(b);
		return -1;
	}
	*st->tailp = b;
	st->tailp = &b->next;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

void
storage_test_fail_next_commits(struct storage *st, int n)
{
	atomic_store(&st->test_fail, n);
}
