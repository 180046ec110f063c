/*
 * internal.h - types and helpers shared by the files of storage/, private
 * to it.
 *
 * Files: codec.c encodes and decodes keys and values (the layouts of
 * FORMAT.md live there and nowhere else); batch.c builds batches on the
 * caller's thread; writer.c owns the writer thread, the transaction runner
 * with map growth, and the operations that change references; storage.c
 * opens and closes the environment and hands out message ids; load.c is
 * the start-up cleanup and walk.
 */
#ifndef STORAGE_INTERNAL_H
#define STORAGE_INTERNAL_H

#include "storage/storage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

/* The named databases, in the order of storage__db_names. */
enum {
	STORAGE_DB_META,
	STORAGE_DB_MSGS,
	STORAGE_DB_QUEUE,
	STORAGE_DB_SESSIONS,
	STORAGE_DB_SUBS,
	STORAGE_DB_QOS2,
	STORAGE_DB_RETAIN,
	STORAGE_DB_COUNT
};
extern const char *const storage__db_names[STORAGE_DB_COUNT];

/* ------------------------------------------------------------------ */
/* Batches (batch.c)                                                    */

/*
 * What the writer does with one operation of a batch.  Keys and values are
 * encoded when the operation is added, on the submitting thread, so the
 * writer only copies bytes into LMDB.
 */
enum {
	STORAGE_OP_PUT,         /* insert or overwrite */
	STORAGE_OP_PUT_NEW,     /* insert; an existing key is left alone */
	STORAGE_OP_DEL,         /* delete; an absent key is no error */
	STORAGE_OP_QUEUE_PUT,   /* PUT, plus a reference if the key is new */
	STORAGE_OP_QUEUE_DEL,   /* DEL, minus a reference if it was there */
	STORAGE_OP_SESSION_DEL, /* DEL of a session and all it owns */
};

/* An operation in a batch buffer: this header, klen key bytes, vlen value
 * bytes, no padding (read with memcpy). */
struct storage__op {
	uint8_t kind; /* STORAGE_OP_* */
	uint8_t db;   /* STORAGE_DB_* */
	uint16_t klen;
	uint32_t vlen;
};

struct storage_batch {
	struct storage_batch *next; /* in the writer queue */
	uint8_t *buf;               /* the operations, back to back */
	size_t len, cap;
	size_t nops;
	storage_done_fn done;
	void *arg;
};

/* ------------------------------------------------------------------ */
/* The store                                                            */

/* A message's pending change of references within one transaction. */
struct storage__ref {
	uint64_t id;
	int64_t delta;
	bool used;
};

/*
 * Scratch state of one write transaction runner (the writer thread has one,
 * storage_load() another): the reference deltas of the current transaction,
 * an open-addressing table plus the list of its used slots, and a buffer
 * for rewriting message values.
 */
struct storage__wstate {
	struct storage__ref *slots;
	uint32_t cap; /* power of two, or 0 */
	uint32_t *used;
	uint32_t n;
	uint8_t *buf;
	size_t buf_cap;
};

/* One write transaction being run. */
struct storage__wtxn {
	struct storage *st;
	MDB_txn *txn;
	struct storage__wstate *ws;
};

/*
 * Design notes: the writer.
 *
 * Submitters append to a FIFO under `mu` and signal `cv`.  The writer
 * takes everything pending (up to STORAGE_GROUP_OPS operations or
 * STORAGE_GROUP_BYTES of batch data, so one transaction's dirty pages stay
 * bounded), applies it in one write transaction, commits, then runs the
 * callbacks without holding `mu`.  Reference counts changed by the group
 * are summed per message in storage__wstate and written once, just before
 * the commit.  A group that fails fails all its batches; the next group
 * tries again.
 *
 * LMDB lets the map be resized only while the process has no transaction
 * open, so every transaction, read or write and on any thread, holds
 * `map_lock` shared, and storage__grow() takes it exclusively between
 * transactions.
 *
 * Message ids come from an atomic counter; `id_ceiling` is the end of the
 * range reserved so far.  The thread that crosses it raises it and sets
 * `reserve_to` under `mu`, so the writer persists the new ceiling in the
 * meta database in the same transaction as, or before, any batch that can
 * hold an id from the new range.
 */
struct storage {
	MDB_env *env;
	MDB_dbi dbi[STORAGE_DB_COUNT];
	enum storage_sync sync;
	uint32_t sync_interval_ms;
	bool read_only;
	uint32_t format; /* as found on disk (after any upgrade) */
	size_t psize;    /* LMDB page size */

	pthread_rwlock_t map_lock;

	pthread_mutex_t mu; /* guards the fields down to reserve_to */
	pthread_cond_t cv;  /* work for the writer, on CLOCK_MONOTONIC */
	struct storage_batch *head, **tailp;
	bool closing;
	uint64_t reserve_to;

	/* Writer thread only. */
	pthread_t writer;
	bool writer_started;
	uint64_t reserved; /* id ceiling committed to meta */
	struct storage__wstate ws;
	bool dirty;        /* BATCH: committed since the last sync */
	uint64_t sync_due; /* BATCH: monotonic ms of the next sync */

	atomic_uint_fast64_t next_id, id_ceiling;
	atomic_uint_fast64_t commits, batches, ops, failed_commits, map_grows;
	atomic_bool commit_failed, sync_failed;
	atomic_bool broken; /* the map was lost by a failed resize */
	atomic_int test_fail;
};

#define STORAGE_GROUP_OPS 65536u
#define STORAGE_GROUP_BYTES (64u << 20)
#define STORAGE_ID_RANGE (1u << 16)
#define STORAGE_DEFAULT_MAP (64ull << 20)

/* Meta keys. */
#define STORAGE_META_FORMAT "format"
#define STORAGE_META_NEXT_ID "next_id"

/* ------------------------------------------------------------------ */
/* Writer and transactions (writer.c)                                   */

int storage__writer_start(struct storage *st);
void storage__writer_stop(struct storage *st);

/* Converts an LMDB result (MDB_* code or positive errno) to 0 or a negated
 * errno. */
int storage__err(int rc);

/* Runs fn in a write transaction on the calling thread, then writes the
 * reference changes it recorded in ws and commits.  On MDB_MAP_FULL the
 * transaction is aborted, the map doubled and fn run again from scratch.
 * Returns 0 or an LMDB result (the transaction is then aborted). */
typedef int (*storage__txn_fn)(struct storage__wtxn *w, void *arg);
int storage__write(struct storage *st, struct storage__wstate *ws,
    storage__txn_fn fn, void *arg);

/* Starts a read-only transaction (holding map_lock shared, released by
 * storage__read_end), adopting a map another process enlarged.  Returns 0
 * or an LMDB result. */
int storage__read_begin(struct storage *st, MDB_txn **txn);
void storage__read_end(struct storage *st, MDB_txn *txn);

/* Doubles the map now; then, while `used` is over 3/4 of it, again.
 * Takes map_lock exclusively: call with no transaction open. */
int storage__grow(struct storage *st, bool always);

/* Records a change of references to message id (applied at commit). */
int storage__ref_add(struct storage__wtxn *w, uint64_t id, int64_t delta);
/* Applies the recorded changes: a message at 0 or below is deleted. */
int storage__ref_flush(struct storage__wtxn *w);
void storage__wstate_fini(struct storage__wstate *ws);

/* Deletes what the session with key (u16 length + id) owns: its subs,
 * queue entries (dropping references) and QoS 2 ids.  Not the record. */
int storage__session_purge(struct storage__wtxn *w, const MDB_val *skey);

/* Deletes the queue entry under cursor c and drops its reference. */
int storage__queue_del_at(struct storage__wtxn *w, MDB_cursor *c,
    const MDB_val *key);

/* Positions c on the first key starting with prefix (MDB_SET_RANGE) or
 * the next one (MDB_NEXT).  Returns 0, MDB_NOTFOUND past the prefix, or an
 * LMDB error. */
int storage__prefix_get(MDB_cursor *c, const MDB_val *prefix, MDB_val *k,
    MDB_val *v, MDB_cursor_op op);

/* ------------------------------------------------------------------ */
/* Encoding (codec.c)                                                   */

static inline void
storage__le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
storage__le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static inline void
storage__le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static inline uint16_t
storage__get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
storage__get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
storage__get_le64(const uint8_t *p)
{
	return (uint64_t)storage__get_le32(p) |
	    (uint64_t)storage__get_le32(p + 4) << 32;
}

static inline void
storage__be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	}
}

static inline uint64_t
storage__get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

/* Writes the owner prefix of session keys (u16 BE length, then the id)
 * and returns the byte after it. */
uint8_t *storage__cid_key(uint8_t *p, const char *cid, uint16_t cid_len);

/* Value sizes and encoders; each encoder fills exactly the size bytes. */
size_t storage__msg_size(const struct storage_msg *m);
void storage__msg_encode(uint8_t *p, const struct storage_msg *m);
size_t storage__retain_size(const struct storage_msg *m);
void storage__retain_encode(uint8_t *p, const struct storage_msg *m);
size_t storage__session_size(const struct storage_session *s);
void storage__session_encode(uint8_t *p, const struct storage_session *s);
#define STORAGE_SUB_SIZE 8u
void storage__sub_encode(uint8_t *p, const struct storage_sub *sub);
#define STORAGE_QENTRY_SIZE 10u
void storage__qentry_encode(uint8_t *p, const struct storage_qentry *q);
#define STORAGE_QOS2_SIZE 1u
void storage__qos2_encode(uint8_t *p);

/* Decoders: fill the struct with views into k and v; return 0, or -1 for
 * a record that does not decode. */
int storage__msg_decode(const MDB_val *k, const MDB_val *v, uint32_t *refs,
    struct storage_msg *m);
int storage__retain_decode(const MDB_val *v, struct storage_msg *m);
int storage__session_decode(const MDB_val *k, const MDB_val *v,
    struct storage_session *s);
int storage__sub_decode(const MDB_val *k, const MDB_val *v,
    struct storage_sub *sub);
int storage__qentry_decode(const MDB_val *k, const MDB_val *v,
    struct storage_qentry *q);
int storage__qos2_decode(const MDB_val *k, uint16_t *pid);

/* The length of the owner prefix a subs, queue or qos2 key starts with,
 * or 0 if the key is too short to hold one. */
size_t storage__owner_len(const MDB_val *k);

#endif /* STORAGE_INTERNAL_H */
