/*
 * storage.c - opening and closing the store: the LMDB environment and its
 * named databases, the format version check, the map size on open, message
 * ids, and the statistics.  storage_open() and storage_close() run on one
 * thread (the broker's main thread); the rest on any thread.
 */
#include "storage/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const storage__db_names[STORAGE_DB_COUNT] = {
	"meta", "msgs", "queue", "sessions", "subs", "qos2", "retain",
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen != 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Frees st and what it holds; the writer must not be running. */
static void
destroy(struct storage *st)
{
	if (st->env != NULL) {
		mdb_env_close(st->env);
	}
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	pthread_rwlock_destroy(&st->map_lock);
	free(st);
}

static struct storage *
alloc(const struct storage_config *cfg)
{
	struct storage *st = calloc(1, sizeof(*st));
	pthread_condattr_t ca;

	if (st == NULL) {
		return NULL;
	}
	st->sync = cfg->sync;
	st->sync_interval_ms = cfg->sync_interval_ms ? cfg->sync_interval_ms :
	    100;
	st->read_only = cfg->read_only;
	st->tailp = &st->head;
	pthread_rwlock_init(&st->map_lock, NULL);
	pthread_mutex_init(&st->mu, NULL);
	/* The writer's sync deadline is on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
	return st;
}

/*
 * Opens the environment.  The map size becomes the largest of the
 * configured size, the size recorded in the environment (a map grown in an
 * earlier run) and what the data needs, with a quarter of it free.
 */
static int
env_open(struct storage *st, const struct storage_config *cfg, char *err,
    size_t errlen)
{
	unsigned flags = MDB_NOTLS;
	MDB_envinfo info;
	MDB_stat ms;
	size_t conf;
	int rc;

	if (cfg->read_only) {
		flags |= MDB_RDONLY;
	} else if (cfg->sync != STORAGE_SYNC_ALWAYS) {
		flags |= MDB_NOSYNC;
	}
	if ((rc = mdb_env_create(&st->env)) != 0) {
		st->env = NULL;
		return fail(err, errlen, "storage: %s", mdb_strerror(rc));
	}
	mdb_env_set_maxdbs(st->env, STORAGE_DB_COUNT);
	conf = cfg->initial_map ? cfg->initial_map : STORAGE_DEFAULT_MAP;
	if (!cfg->read_only) {
		mdb_env_set_mapsize(st->env, conf);
	}
	if ((rc = mdb_env_open(st->env, cfg->dir, flags, 0600)) != 0) {
		return fail(err, errlen, "storage %s: %s", cfg->dir,
		    mdb_strerror(rc));
	}
	if (mdb_env_get_maxkeysize(st->env) < (int)STORAGE_MAX_KEY) {
		return fail(err, errlen, "storage: LMDB keys limited to %d "
		    "bytes, need %u", mdb_env_get_maxkeysize(st->env),
		    STORAGE_MAX_KEY);
	}
	mdb_env_stat(st->env, &ms);
	st->psize = ms.ms_psize;
	if (cfg->read_only) {
		return 0;
	}
	/* Size 0 adopts the size recorded in the environment. */
	if ((rc = mdb_env_set_mapsize(st->env, 0)) == 0 &&
	    mdb_env_info(st->env, &info) == 0 && info.me_mapsize < conf) {
		rc = mdb_env_set_mapsize(st->env, conf);
	}
	if (rc == 0) {
		rc = storage__grow(st, false);
	}
	if (rc != 0) {
		return fail(err, errlen, "storage %s: map size: %s", cfg->dir,
		    mdb_strerror(rc));
	}
	return 0;
}

/* Reads a little-endian meta value of exactly n bytes (4 or 8) into *out.
 * Returns 0, MDB_NOTFOUND, MDB_CORRUPTED (wrong size) or an LMDB error. */
static int
meta_get(struct storage *st, MDB_txn *txn, const char *key, size_t n,
    uint64_t *out)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = mdb_get(txn, st->dbi[STORAGE_DB_META], &k, &v);

	if (rc == 0 && v.mv_size != n) {
		rc = MDB_CORRUPTED;
	}
	if (rc == 0) {
		*out = n == 4 ? storage__get_le32(v.mv_data) :
		    storage__get_le64(v.mv_data);
	}
	return rc;
}

/*
 * Opens the named databases (creating them unless read-only), checks the
 * format version (writing it into a new store) and reads the message id
 * reserved so far.  A store from a newer Starling is refused; older format
 * versions would be upgraded here, in this same transaction (there are
 * none yet).
 */
static int
open_dbs(struct storage *st, const char *dir, char *err, size_t errlen)
{
	unsigned create = st->read_only ? 0 : MDB_CREATE;
	MDB_txn *txn;
	MDB_dbi main_db;
	MDB_stat ms;
	uint64_t v;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, st->read_only ? MDB_RDONLY : 0,
	    &txn);
	if (rc != 0) {
		return fail(err, errlen, "storage %s: %s", dir,
		    mdb_strerror(rc));
	}
	/* The main database lists the named ones: empty means new. */
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_db)) != 0 ||
	    (rc = mdb_stat(txn, main_db, &ms)) != 0) {
		goto lmdb_error;
	}
	for (int i = 0; i < STORAGE_DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, storage__db_names[i], create,
		    &st->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			fail(err, errlen, "storage %s: not a starling store "
			    "(no %s database)", dir, storage__db_names[i]);
			goto out;
		} else if (rc != 0) {
			goto lmdb_error;
		}
	}
	rc = meta_get(st, txn, STORAGE_META_FORMAT, 4, &v);
	if (rc == MDB_NOTFOUND && ms.ms_entries == 0) {
		uint8_t b[4];
		MDB_val k = { strlen(STORAGE_META_FORMAT),
			STORAGE_META_FORMAT };
		MDB_val d = { sizeof(b), b };

		storage__le32(b, STORAGE_FORMAT);
		v = STORAGE_FORMAT;
		rc = mdb_put(txn, st->dbi[STORAGE_DB_META], &k, &d, 0);
	} else if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED) {
		fail(err, errlen, "storage %s: not a starling store (no valid "
		    "format version)", dir);
		goto out;
	}
	if (rc != 0) {
		goto lmdb_error;
	}
	if (v == 0) {
		fail(err, errlen, "storage %s: not a starling store (format "
		    "version 0)", dir);
		goto out;
	} else if (v > STORAGE_FORMAT) {
		fail(err, errlen, "storage format version %llu is newer than "
		    "this starling supports (%u)", (unsigned long long)v,
		    STORAGE_FORMAT);
		goto out;
	}
	st->format = (uint32_t)v;
	/* Ids start at 1, so 0 can mean "no message" (a will's id). */
	rc = meta_get(st, txn, STORAGE_META_NEXT_ID, 8, &v);
	if (rc == MDB_NOTFOUND) {
		v = 1;
	} else if (rc != 0) {
		goto lmdb_error;
	}
	atomic_init(&st->next_id, v);
	atomic_init(&st->id_ceiling, v);
	st->reserved = st->reserve_to = v;
	/* Committed even when read-only: an aborted transaction would close
	 * the database handles it opened. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return fail(err, errlen, "storage %s: %s", dir,
		    mdb_strerror(rc));
	}
	return 0;

lmdb_error:
	fail(err, errlen, "storage %s: %s", dir, mdb_strerror(rc));
out:
	mdb_txn_abort(txn);
	return -1;
}

int
storage_open(struct storage **out, const struct storage_config *cfg,
    char *err, size_t errlen)
{
	struct storage *st;

	*out = NULL;
	if (cfg->dir == NULL || cfg->dir[0] == '\0') {
		return fail(err, errlen, "storage: no directory given");
	}
	if (!cfg->read_only && mkdir(cfg->dir, 0700) != 0 &&
	    errno != EEXIST) {
		return fail(err, errlen, "storage %s: %s", cfg->dir,
		    strerror(errno));
	}
	if ((st = alloc(cfg)) == NULL) {
		return fail(err, errlen, "storage: out of memory");
	}
	if (env_open(st, cfg, err, errlen) != 0 ||
	    open_dbs(st, cfg->dir, err, errlen) != 0) {
		destroy(st);
		return -1;
	}
	if (!st->read_only && storage__writer_start(st) != 0) {
		destroy(st);
		return fail(err, errlen, "storage: cannot start the writer");
	}
	*out = st;
	return 0;
}

void
storage_close(struct storage *st)
{
	if (st == NULL) {
		return;
	}
	if (!st->read_only) {
		storage__writer_stop(st);
		/* The NOSYNC modes flush what the page cache holds. */
		if (st->sync != STORAGE_SYNC_ALWAYS &&
		    !atomic_load(&st->broken)) {
			mdb_env_sync(st->env, 1);
		}
	}
	destroy(st);
}

uint64_t
storage_next_msg_id(struct storage *st)
{
	uint64_t id = atomic_fetch_add(&st->next_id, 1);

	if (id >= atomic_load(&st->id_ceiling)) {
		/* Crossing the reserved range: raise it and have the writer
		 * persist the new end before any batch submitted from now on
		 * (see the design notes in internal.h). */
		pthread_mutex_lock(&st->mu);
		if (id >= atomic_load(&st->id_ceiling)) {
			st->reserve_to = id + STORAGE_ID_RANGE;
			atomic_store(&st->id_ceiling, st->reserve_to);
			pthread_cond_signal(&st->cv);
		}
		pthread_mutex_unlock(&st->mu);
	}
	return id;
}

void
storage_stats(struct storage *st, struct storage_stats *out)
{
	/* Where each database's entry count goes, in STORAGE_DB_* order. */
	uint64_t *counts[STORAGE_DB_COUNT] = {
		NULL, &out->msgs, &out->queued, &out->sessions, &out->subs,
		&out->qos2, &out->retained,
	};
	MDB_envinfo info;
	MDB_stat ms;
	MDB_txn *txn;

	memset(out, 0, sizeof(*out));
	if (storage__read_begin(st, &txn) == 0) {
		for (int i = STORAGE_DB_MSGS; i < STORAGE_DB_COUNT; i++) {
			if (mdb_stat(txn, st->dbi[i], &ms) == 0) {
				*counts[i] = ms.ms_entries;
			}
		}
		mdb_env_info(st->env, &info);
		out->map_size = info.me_mapsize;
		out->used_bytes = (info.me_last_pgno + 1) * st->psize;
		storage__read_end(st, txn);
	}
	out->commits = atomic_load(&st->commits);
	out->batches = atomic_load(&st->batches);
	out->ops = atomic_load(&st->ops);
	out->failed_commits = atomic_load(&st->failed_commits);
	out->map_grows = atomic_load(&st->map_grows);
	out->format = st->format;
}

bool
storage_degraded(struct storage *st)
{
	return atomic_load(&st->commit_failed) ||
	    atomic_load(&st->sync_failed);
}
