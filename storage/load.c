/*
 * load.c - storage_load(): the start-up pass that removes expired records
 * and crash leftovers, then walks the store and hands every record to the
 * broker's callbacks.
 *
 * It runs in two transactions on the caller's thread.  The cleanup is one
 * write transaction through storage__write(), so it may be redone from
 * scratch when the map has to grow; the walk is a read transaction, so no
 * callback ever runs while a write transaction is open or twice for the
 * same record.  A read-only store skips the cleanup, and the walk applies
 * the same expiry rules by skipping, so a dump shows what a start would
 * load.
 */
#include "storage/internal.h"

#include <errno.h>
#include <string.h>

struct load {
	uint64_t now, max_offline;
	const struct storage_load_cb *cb;
	void *arg;
	/* The owner prefix last looked up by owner_alive(), and the result:
	 * a session's records are contiguous, so one lookup serves them. */
	uint8_t owner[2 + STORAGE_MAX_CID];
	size_t owner_len;
	bool owner_ok;
};

/* What the cleanup does with a record. */
enum { KEEP, DROP, DROP_REF };

static bool
session_expired(const struct load *l, const struct storage_session *s)
{
	uint64_t d = s->disconnected_at;

	/* A session connected when the store was last written has no
	 * disconnection time yet: it expires from this start on. */
	if (l->now == 0 || d == 0) {
		return false;
	}
	if (s->expiry != STORAGE_EXPIRY_NEVER && d + s->expiry <= l->now) {
		return true;
	}
	return l->max_offline != 0 && d + l->max_offline <= l->now;
}

static bool
msg_expired(const struct load *l, const struct storage_msg *m)
{
	return l->now != 0 && m->expiry_at != 0 && m->expiry_at <= l->now;
}

/* Looks up the message a queue key refers to.  Returns 0, MDB_NOTFOUND,
 * or an LMDB error; -1 if the message does not decode. */
static int
queued_msg(struct storage *st, MDB_txn *txn, const MDB_val *qkey,
    struct storage_msg *m)
{
	MDB_val k = { 8, (uint8_t *)qkey->mv_data + qkey->mv_size - 8 }, v;
	uint32_t refs;
	int rc = mdb_get(txn, st->dbi[STORAGE_DB_MSGS], &k, &v);

	if (rc == 0 && storage__msg_decode(&k, &v, &refs, m) != 0) {
		rc = -1;
	}
	return rc;
}

/* Sets *alive to whether the session owning subs/queue/qos2 key k still
 * has its record. */
static int
owner_alive(struct storage__wtxn *w, struct load *l, const MDB_val *k,
    bool *alive)
{
	size_t plen = storage__owner_len(k);
	MDB_val pk = { plen, k->mv_data }, v;
	int rc;

	if (plen == 0 || plen > sizeof(l->owner)) {
		*alive = false; /* a key no session can own */
		return 0;
	}
	if (plen != l->owner_len || memcmp(l->owner, k->mv_data, plen) != 0) {
		rc = mdb_get(w->txn, w->st->dbi[STORAGE_DB_SESSIONS], &pk, &v);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			return rc;
		}
		memcpy(l->owner, k->mv_data, plen);
		l->owner_len = plen;
		l->owner_ok = rc == 0;
	}
	*alive = l->owner_ok;
	return 0;
}

/*
 * Decides the fate of one record of database db during the cleanup
 * (*act = KEEP, DROP or DROP_REF).  An expired session's owned records are
 * purged here, before the caller deletes the session record.  Records
 * that do not decode are kept: the walk reports them.
 */
static int
judge(struct storage__wtxn *w, struct load *l, int db, const MDB_val *k,
    const MDB_val *v, int *act)
{
	struct storage_session s;
	struct storage_msg m;
	uint8_t kb[2 + STORAGE_MAX_CID];
	MDB_val pk = { k->mv_size, kb };
	bool alive;
	int rc;

	*act = KEEP;
	switch (db) {
	case STORAGE_DB_RETAIN:
		if (storage__retain_decode(v, &m) == 0 && msg_expired(l, &m)) {
			*act = DROP;
		}
		return 0;
	case STORAGE_DB_SESSIONS:
		if (storage__session_decode(k, v, &s) != 0 ||
		    !session_expired(l, &s) || k->mv_size > sizeof(kb)) {
			return 0;
		}
		/* k points into a page; keep the key safe from the purge. */
		memcpy(kb, k->mv_data, k->mv_size);
		*act = DROP;
		return storage__session_purge(w, &pk);
	case STORAGE_DB_QUEUE:
		if ((rc = owner_alive(w, l, k, &alive)) != 0) {
			return rc;
		}
		rc = alive ? queued_msg(w->st, w->txn, k, &m) : MDB_NOTFOUND;
		if (rc == MDB_NOTFOUND || (rc == 0 && msg_expired(l, &m))) {
			*act = DROP_REF;
			rc = 0;
		}
		return rc == -1 ? 0 : rc;
	case STORAGE_DB_SUBS:
	case STORAGE_DB_QOS2:
		if ((rc = owner_alive(w, l, k, &alive)) == 0 && !alive) {
			*act = DROP;
		}
		return rc;
	case STORAGE_DB_MSGS:
		if (v->mv_size >= 4 && storage__get_le32(v->mv_data) == 0) {
			*act = DROP;
		}
		return 0;
	}
	return 0;
}

/* Runs judge() over every record of db, deleting as it says. */
static int
sweep(struct storage__wtxn *w, struct load *l, int db)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, act;

	if ((rc = mdb_cursor_open(w->txn, w->st->dbi[db], &c)) != 0) {
		return rc;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = judge(w, l, db, &k, &v, &act)) != 0) {
			break;
		}
		if (act == DROP_REF) {
			rc = storage__queue_del_at(w, c, &k);
		} else if (act == DROP) {
			rc = mdb_cursor_del(c, 0);
		}
		if (rc != 0) {
			break;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The cleanup transaction.  Messages are swept last, after the
 * references dropped by the other sweeps have been applied. */
static int
cleanup(struct storage__wtxn *w, void *arg)
{
	static const int order[] = { STORAGE_DB_RETAIN, STORAGE_DB_SESSIONS,
		STORAGE_DB_QUEUE, STORAGE_DB_SUBS, STORAGE_DB_QOS2 };
	struct load *l = arg;
	int rc = 0;

	l->owner_len = 0; /* the cache is per attempt */
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && rc == 0;
	    i++) {
		rc = sweep(w, l, order[i]);
	}
	if (rc == 0) {
		rc = storage__ref_flush(w);
	}
	return rc != 0 ? rc : sweep(w, l, STORAGE_DB_MSGS);
}

/* Reports one record a session owns; returns 0 or what stops the walk. */
static int
report_owned(struct storage *st, struct load *l, MDB_txn *txn, int db,
    const struct storage_session *s, const MDB_val *k, const MDB_val *v)
{
	const struct storage_load_cb *cb = l->cb;
	struct storage_qentry q;
	struct storage_sub sub;
	struct storage_msg m;
	uint16_t pid;
	int rc;

	switch (db) {
	case STORAGE_DB_SUBS:
		if (storage__sub_decode(k, v, &sub) != 0) {
			return -EBADMSG;
		}
		return cb->sub != NULL ? cb->sub(l->arg, s, &sub) : 0;
	case STORAGE_DB_QUEUE:
		if (storage__qentry_decode(k, v, &q) != 0) {
			return -EBADMSG;
		}
		if ((rc = queued_msg(st, txn, k, &m)) == MDB_NOTFOUND ||
		    (rc == 0 && msg_expired(l, &m))) {
			return 0; /* what the cleanup would have removed */
		} else if (rc != 0) {
			return rc == -1 ? -EBADMSG : storage__err(rc);
		}
		return cb->queued != NULL ? cb->queued(l->arg, s, &q, &m) : 0;
	default:
		if (storage__qos2_decode(k, &pid) != 0) {
			return -EBADMSG;
		}
		return cb->qos2 != NULL ? cb->qos2(l->arg, s, pid) : 0;
	}
}

/* Reports a session and then what it owns, database by database. */
static int
report_session(struct storage *st, struct load *l, MDB_txn *txn,
    MDB_cursor **c, const MDB_val *skey, const MDB_val *sval)
{
	static const int owned[] = { STORAGE_DB_SUBS, STORAGE_DB_QUEUE,
		STORAGE_DB_QOS2 };
	struct storage_session s;
	MDB_val k, v;
	int rc;

	if (storage__session_decode(skey, sval, &s) != 0) {
		return -EBADMSG;
	}
	if (session_expired(l, &s)) {
		return 0;
	}
	if (l->cb->session != NULL && (rc = l->cb->session(l->arg, &s))) {
		return rc;
	}
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		MDB_cursor *oc = c[owned[i]];

		for (rc = storage__prefix_get(oc, skey, &k, &v, MDB_SET_RANGE);
		    rc == 0;
		    rc = storage__prefix_get(oc, skey, &k, &v, MDB_NEXT)) {
			int r = report_owned(st, l, txn, owned[i], &s, &k, &v);

			if (r != 0) {
				return r;
			}
		}
		if (rc != MDB_NOTFOUND) {
			return storage__err(rc);
		}
	}
	return 0;
}

static int
report_retained(struct load *l, const MDB_val *v)
{
	struct storage_msg m;

	if (storage__retain_decode(v, &m) != 0) {
		return -EBADMSG;
	}
	if (msg_expired(l, &m) || l->cb->retained == NULL) {
		return 0;
	}
	return l->cb->retained(l->arg, &m);
}

/* Reports every record of db (retained messages or sessions). */
static int
walk(struct storage *st, struct load *l, MDB_txn *txn, MDB_cursor **c,
    int db)
{
	MDB_val k, v;
	int rc, r = 0;

	for (rc = mdb_cursor_get(c[db], &k, &v, MDB_FIRST); rc == 0 && r == 0;
	    rc = mdb_cursor_get(c[db], &k, &v, MDB_NEXT)) {
		r = db == STORAGE_DB_RETAIN ? report_retained(l, &v) :
		    report_session(st, l, txn, c, &k, &v);
	}
	if (r != 0) {
		return r;
	}
	return rc == MDB_NOTFOUND ? 0 : storage__err(rc);
}

/* The walk: retained messages, then session by session. */
static int
report(struct storage *st, struct load *l, MDB_txn *txn)
{
	MDB_cursor *c[STORAGE_DB_COUNT] = { NULL };
	int rc = 0;

	/* Messages are looked up by key; every other database is walked. */
	for (int i = STORAGE_DB_QUEUE; i < STORAGE_DB_COUNT && rc == 0; i++) {
		rc = mdb_cursor_open(txn, st->dbi[i], &c[i]);
	}
	if (rc != 0) {
		rc = storage__err(rc);
	} else if ((rc = walk(st, l, txn, c, STORAGE_DB_RETAIN)) == 0) {
		rc = walk(st, l, txn, c, STORAGE_DB_SESSIONS);
	}
	for (int i = 0; i < STORAGE_DB_COUNT; i++) {
		if (c[i] != NULL) {
			mdb_cursor_close(c[i]);
		}
	}
	return rc;
}

int
storage_load(struct storage *st, uint64_t now_unix, uint64_t max_offline,
    const struct storage_load_cb *cb, void *arg)
{
	struct load l = { .now = now_unix, .max_offline = max_offline,
		.cb = cb, .arg = arg };
	struct storage__wstate ws = { 0 };
	MDB_txn *txn;
	int rc;

	if (!st->read_only) {
		rc = storage__write(st, &ws, cleanup, &l);
		storage__wstate_fini(&ws);
		if (rc != 0) {
			return storage__err(rc);
		}
	}
	if ((rc = storage__read_begin(st, &txn)) != 0) {
		return storage__err(rc);
	}
	rc = report(st, &l, txn);
	storage__read_end(st, txn);
	return rc;
}
