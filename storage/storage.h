/*
 * storage.h - the durable store: retained messages, sessions and their
 * subscriptions, offline and in-flight QoS 1/2 queues, and inbound QoS 2
 * packet ids, in one LMDB environment (storage/FORMAT.md has the layout).
 *
 * This is the only header other modules include from storage/.
 *
 * Threads.  One writer thread, owned by the store, does every write after
 * storage_open(): worker threads build a storage_batch each, hand it over
 * with storage_submit(), and the writer applies everything that is pending
 * in one LMDB write transaction and one commit (group commit), then calls
 * each batch's completion callback on the writer thread.  So N acknowledged
 * messages cost one fsync.  storage_submit(), storage_next_msg_id(),
 * storage_stats() and storage_degraded() may be called from any thread.
 * storage_load() is meant for start-up (before the workers submit) and for
 * the read-only dump; it is safe, but not useful, while batches flow.
 *
 * Errors.  Functions return 0 or -1 as documented; completion callbacks
 * receive 0 or a negated errno (-ENOSPC when the disk or the map is full,
 * -EIO for an I/O error or a damaged store, -ENOMEM), and storage_load()
 * returns a negated errno or the value a callback stopped it with.  Use
 * strerror(-err) to describe one.
 */
#ifndef STORAGE_STORAGE_H
#define STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The on-disk format this code writes and the newest it reads. */
#define STORAGE_FORMAT 1u

/*
 * LMDB keys are at most 511 bytes (its default build; storage_open()
 * refuses a library built with less).  Keys are laid out in FORMAT.md, so
 * the limits on what can be stored are: a client id of at most 501 bytes
 * (queue keys add 10 bytes to it); a subscription whose cid_len + flen is
 * at most 509; a retained topic of at most 511 bytes.  The batch functions
 * fail with errno ENAMETOOLONG past these, and the caller decides (keep it
 * in memory only, or refuse the client).
 */
#define STORAGE_MAX_KEY 511u
#define STORAGE_MAX_CID (STORAGE_MAX_KEY - 10u)

struct storage;
struct storage_batch;

/*
 * How commits reach the disk (FORMAT.md, "Transactions, sync modes"):
 * ALWAYS - every group commit is fsynced before its callbacks run.
 * BATCH  - commits are acknowledged once written to the page cache, which
 *          survives a crash of the process (kill -9); the writer fsyncs
 *          every sync_interval_ms, which bounds what a power loss takes.
 * NONE   - like BATCH without the periodic fsync; only close syncs.
 */
enum storage_sync {
	STORAGE_SYNC_ALWAYS,
	STORAGE_SYNC_BATCH,
	STORAGE_SYNC_NONE
};

struct storage_config {
	const char *dir;            /* created if missing (one level, 0700) */
	enum storage_sync sync;
	uint32_t sync_interval_ms;  /* BATCH: fsync period (100 if 0) */
	uint64_t initial_map;       /* bytes; 0 = 64 MiB */
	bool read_only;             /* dump tool: MDB_RDONLY, no writer */
};

/*
 * Opens the store in cfg->dir, creating it if needed, and starts the writer
 * thread (not when read_only).  Refuses a store whose format version is
 * newer than STORAGE_FORMAT with "storage format version N is newer than
 * this starling supports (M)" in err; any other failure (not an LMDB file,
 * no permission, ...) also leaves a one-line message in err (errlen bytes,
 * always NUL-terminated).  cfg is borrowed.  Returns 0 and sets *out, or -1.
 */
int storage_open(struct storage **out, const struct storage_config *cfg,
    char *err, size_t errlen);

/* Refuses further submits, lets the writer commit everything submitted
 * before (running its callbacks), syncs to disk, and frees st.  Accepts
 * NULL.  Call it once, when no other thread uses st any more. */
void storage_close(struct storage *st);

/* A message as stored.  All pointers are borrowed on input; on load they
 * point into LMDB memory valid only during the callback. */
struct storage_msg {
	uint64_t id;        /* caller-assigned, unique (storage_next_msg_id) */
	uint8_t qos;
	bool retain;
	uint64_t expiry_at; /* unix seconds when it expires, 0 = never */
	const uint8_t *topic;
	uint16_t topic_len;
	const uint8_t *props; /* opaque MQTT 5 property bytes */
	uint32_t props_len;
	const uint8_t *payload;
	uint32_t payload_len;
};

struct storage_session {
	const char *id;           /* client identifier, the key */
	uint16_t id_len;
	uint8_t version;          /* MQTT protocol level 3/4/5 */
	uint32_t expiry;          /* Session Expiry Interval, s (or NEVER) */
	uint64_t disconnected_at; /* unix s; 0 = connected when written */
	bool has_will;
	struct storage_msg will;  /* will.id unused (0) */
	uint32_t will_delay;
};

/* Session expiry value that never expires. */
#define STORAGE_EXPIRY_NEVER UINT32_MAX

struct storage_sub {
	const uint8_t *filter; /* full filter including $share/group/ */
	uint16_t flen;
	uint8_t qos;
	bool no_local;
	bool retain_as_published;
	uint8_t retain_handling;
	uint32_t sub_id;
};

/* Queue entry states: waiting to be sent, or in flight at a QoS 1/2 step. */
enum {
	STORAGE_Q_QUEUED,
	STORAGE_Q_WAIT_ACK,
	STORAGE_Q_WAIT_REC,
	STORAGE_Q_WAIT_COMP
};

struct storage_qentry {
	uint64_t msg_id; /* also the ordering key within a session's queue */
	uint16_t pid;    /* packet id when in flight, 0 when queued */
	uint8_t qos;     /* delivery QoS (may be lower than the message's) */
	uint8_t state;   /* STORAGE_Q_* */
	bool retain;     /* retain flag as delivered */
	uint32_t sub_id;
};

/*
 * Write batches.  One thread builds a batch, then submits it and ownership
 * passes to the store.  Each add function copies what it is given and
 * returns 0, or -1 with errno ENOMEM, or ENAMETOOLONG for a key over the
 * limits above (EINVAL for an empty retained topic, EOVERFLOW for a value
 * over 4 GiB); a failed add leaves the batch as it was.
 */
struct storage_batch *storage_batch_new(void); /* NULL on ENOMEM */
/* Frees a batch that was never submitted.  Accepts NULL. */
void storage_batch_free(struct storage_batch *b);

/* Stores message m->id; a no-op if that id exists.  Put it in the same
 * batch as (or a batch before) its first queue_put: a message nothing
 * references is removed by the next storage_load(). */
int storage_batch_msg_put(struct storage_batch *b,
    const struct storage_msg *m);
/* Inserts or overwrites (a state change) entry q->msg_id of a session's
 * queue; a new entry adds one reference to message q->msg_id. */
int storage_batch_queue_put(struct storage_batch *b, const char *cid,
    uint16_t cid_len, const struct storage_qentry *q);
/* Removes an entry and drops its reference; the message record goes when
 * its references reach 0.  An absent entry is not an error. */
int storage_batch_queue_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len, uint64_t msg_id);
/* Inserts or overwrites a session record. */
int storage_batch_session_put(struct storage_batch *b,
    const struct storage_session *s);
/* Deletes a session and all its subscriptions, queue entries (dropping
 * their message references) and QoS 2 ids. */
int storage_batch_session_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len);
/* Inserts or overwrites the subscription (cid, sub->filter). */
int storage_batch_sub_put(struct storage_batch *b, const char *cid,
    uint16_t cid_len, const struct storage_sub *sub);
int storage_batch_sub_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len, const uint8_t *filter, uint16_t flen);
/* An inbound QoS 2 packet id awaiting PUBREL. */
int storage_batch_qos2_put(struct storage_batch *b, const char *cid,
    uint16_t cid_len, uint16_t pid);
int storage_batch_qos2_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len, uint16_t pid);
/* Sets the retained message of m->topic (stored whole, not refcounted;
 * m->id is not kept). */
int storage_batch_retain_put(struct storage_batch *b,
    const struct storage_msg *m);
int storage_batch_retain_del(struct storage_batch *b, const uint8_t *topic,
    uint16_t topic_len);
/* Number of operations added so far. */
/* Writes meta key "probe" (value little-endian): a write with no other
 * effect, for a caller that wants to learn whether commits succeed again
 * after a failure (storage_degraded()). */
int storage_batch_probe(struct storage_batch *b, uint64_t value);
size_t storage_batch_ops(const struct storage_batch *b);

/* Completion: err is 0, or a negated errno (-ENOSPC, -EIO, -ENOMEM). */
typedef void (*storage_done_fn)(void *arg, int err);

/*
 * Takes b and queues it for the writer.  done (may be NULL) runs exactly
 * once, on the writer thread, after the transaction holding b committed
 * (and with STORAGE_SYNC_ALWAYS reached the disk) or failed; it must not
 * block, and should post the result to its own loop.  Batches are applied
 * in submission order (one FIFO for all threads).  Returns 0, or -1 if the
 * store is closing or read-only, in which case b is freed and done never
 * runs.  Any thread.
 */
int storage_submit(struct storage *st, struct storage_batch *b,
    storage_done_fn done, void *arg);

/* Returns the next message id: unique, increasing, never reused after a
 * restart (ranges are reserved in the meta database, committed no later
 * than the first batch submitted after this call).  Any thread. */
uint64_t storage_next_msg_id(struct storage *st);

/*
 * Start-up load callbacks.  Pointers in the arguments point into LMDB
 * memory and are valid only during the call.  A non-zero return stops the
 * load, and storage_load() returns that value.
 */
struct storage_load_cb {
	int (*retained)(void *arg, const struct storage_msg *m);
	int (*session)(void *arg, const struct storage_session *s);
	int (*sub)(void *arg, const struct storage_session *s,
	    const struct storage_sub *sub);
	int (*queued)(void *arg, const struct storage_session *s,
	    const struct storage_qentry *q, const struct storage_msg *m);
	int (*qos2)(void *arg, const struct storage_session *s, uint16_t pid);
};

/*
 * Calls each non-NULL callback of cb for every record: first every
 * retained message, then session by session: the session, its
 * subscriptions, its queue entries in msg_id order (each with its message),
 * its QoS 2 ids.  Before that, in one write transaction, it removes:
 * - when now_unix != 0, expired content: sessions with disconnected_at != 0
 *   and disconnected_at + expiry <= now_unix (expiry STORAGE_EXPIRY_NEVER
 *   never expires), or disconnected_at + max_offline <= now_unix when
 *   max_offline != 0 (Mosquitto's persistent_client_expiration), each with
 *   everything it owns; queue entries and retained messages whose expiry_at
 *   is not 0 and <= now_unix;
 * - always, crash leftovers: messages nothing references, and
 *   subscriptions, queue entries and QoS 2 ids whose session record is
 *   missing (or, for queue entries, whose message is).
 * Removed records are not reported.  A read-only store removes nothing
 * but skips the same records.  Returns 0, a callback's non-zero value, or a
 * negated errno (-EBADMSG for a record that does not decode).
 */
int storage_load(struct storage *st, uint64_t now_unix, uint64_t max_offline,
    const struct storage_load_cb *cb, void *arg);

struct storage_stats {
	uint64_t sessions, subs, queued, msgs, retained, qos2; /* records */
	uint64_t map_size, used_bytes;  /* map and its high-water mark */
	uint64_t commits;               /* successful group commits */
	uint64_t batches, ops;          /* committed batches and operations */
	uint64_t failed_commits;        /* groups whose commit failed */
	uint64_t map_grows;             /* times the map was enlarged */
	uint32_t format;                /* format version of the store */
};

/* Fills out: record counts from LMDB, writer counters since open.  Any
 * thread. */
void storage_stats(struct storage *st, struct storage_stats *out);

/* True after a commit (or a periodic sync) failed, until a later one
 * succeeds: the broker should refuse QoS 1/2 work meanwhile.  Any thread. */
bool storage_degraded(struct storage *st);

#endif /* STORAGE_STORAGE_H */
