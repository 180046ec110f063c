/*
 * persist.c - durability: what the broker writes to storage/, when it may
 * acknowledge, and recovery at start-up.
 *
 * The rule is "commit before acknowledging".  Each loop keeps one open
 * storage batch; handlers add operations to it as they go (a queue entry
 * per durable target of a QoS 1/2 message, retained messages, sessions,
 * subscriptions, inbound QoS 2 ids, outbound QoS 2 state).  Once per loop
 * turn, just before the connections are flushed, the batch is sealed and
 * handed to the storage writer, which commits the batches of every loop
 * together (group commit) and reports back through the loop's inbox.
 *
 * Acknowledgements wait without any per-packet bookkeeping: a connection
 * whose output must not leave before batch N commits gets a "hold" at the
 * current end of its out buffer, tagged N.  Bytes before the first hold
 * may be written; bytes after it wait until N has committed.  Everything a
 * connection is sent after the hold (further PUBACKs, deliveries) stays
 * behind it, so order is kept.  If N fails, the held bytes are cut off and
 * the connection is closed: the client never hears of success and resends
 * after reconnecting.
 *
 * A QoS 1/2 message for a durable session (one that outlives its
 * connection) is routed to that session only after the batch holding its
 * queue entry has committed.  The delivery to the subscriber therefore
 * never precedes the disk, so a crash cannot make a QoS 2 message appear
 * twice, and the entry's later deletion (on PUBACK/PUBCOMP) can never
 * overtake its insertion.  Outgoing QoS 2 PUBLISH and PUBREL packets wait
 * for the commit of the state that remembers them (packet id, PUBREC
 * seen); outgoing QoS 1 packet ids are not stored: after a crash those
 * messages go again as new ones, which QoS 1 allows.
 */
#include "broker/internal.h"
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Batches of one loop submitted and not yet committed; beyond this the
 * loop keeps adding to its open batch, which bounds the holds per
 * connection (see BROKER_HOLDS). */
#define MAX_OUTSTANDING 4

/* A QoS 1/2 message waiting for its batch before it goes to the durable
 * sessions among its targets. */
struct persist_route {
	struct persist_route *next;
	uint64_t seq;
	struct broker_msg *m;
	uint32_t n, cap;
	struct broker_target t[];
};

/* ------------------------------------------------------------------ */
/* Clocks                                                               */

/* Messages keep their expiry on the loops' monotonic clock (uv_now(),
 * milliseconds); storage keeps Unix seconds, which survive a restart. */
static uint64_t
mono_ms(void)
{
	return uv_hrtime() / 1000000u;
}

static uint64_t
unix_of_mono(uint64_t ms)
{
	uint64_t now = mono_ms();
	int64_t t = (int64_t)time(NULL) + ((int64_t)ms - (int64_t)now) / 1000;

	return t > 0 ? (uint64_t)t : 1;
}

static uint64_t
mono_of_unix(uint64_t t)
{
	int64_t d = (int64_t)t - (int64_t)time(NULL);
	int64_t ms = (int64_t)mono_ms() + d * 1000;

	return ms > 0 ? (uint64_t)ms : 0;
}

static void
to_smsg(const struct broker_msg *m, struct storage_msg *sm)
{
	memset(sm, 0, sizeof(*sm));
	sm->id = m->store_id;
	sm->qos = m->qos;
	sm->retain = m->retain;
	sm->expiry_at = m->has_expiry ? unix_of_mono(m->expiry_at) : 0;
	sm->topic = m->topic;
	sm->topic_len = m->topic_len;
	sm->props = m->props;
	sm->props_len = m->props_len;
	sm->payload = m->payload;
	sm->payload_len = m->payload_len;
}

static struct broker_msg *
from_smsg(const struct storage_msg *sm)
{
	struct broker_msg *m = broker_msg_new(sm->topic, sm->topic_len,
	    sm->payload, sm->payload_len, sm->qos, sm->retain, sm->props,
	    sm->props_len);

	if (m != NULL && sm->expiry_at != 0) {
		m->has_expiry = true;
		m->expiry_at = mono_of_unix(sm->expiry_at);
	}
	if (m != NULL) {
		m->store_id = sm->id;
	}
	return m;
}

/* ------------------------------------------------------------------ */
/* The open batch and holds                                             */

static struct storage_batch *
batch(struct broker_loop *l)
{
	if (l->batch == NULL) {
		l->batch = storage_batch_new();
	}
	return l->batch;
}

/* A failed storage operation (out of memory) is treated like a failed
 * commit of the open batch: whatever waits on it is refused. */
static void
op_failed(struct broker_loop *l, int rc)
{
	if (rc != 0) {
		l->batch_broken = true;
	}
}

void
broker__persist_hold(struct broker_conn *c)
{
	struct broker_loop *l = c->loop;
	struct broker_holds *h = c->holds;

	if (l->b->store == NULL) {
		return;
	}
	l->batch_needed = true;
	if (h == NULL) {
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			l->batch_broken = true;
			return;
		}
		c->holds = h;
	}
	if (h->n > 0 && h->v[h->n - 1].seq == l->open_seq) {
		return; /* already held on this batch, from an earlier point */
	}
	BROKER_ASSERT(h->n < BROKER_HOLDS);
	h->v[h->n].seq = l->open_seq;
	h->v[h->n].off = (uint32_t)c->olen;
	h->n++;
	if (!h->listed) {
		h->listed = true;
		h->next = l->held;
		l->held = c;
	}
}

size_t
broker__persist_writable(const struct broker_conn *c)
{
	return c->holds != NULL && c->holds->n > 0 ? c->holds->v[0].off
						   : c->olen;
}

void
broker__persist_wrote(struct broker_conn *c, size_t n)
{
	for (uint32_t i = 0; c->holds != NULL && i < c->holds->n; i++) {
		c->holds->v[i].off -= (uint32_t)n;
	}
}

/* Takes c off its loop's list of held connections. */
static void
unhold(struct broker_conn *c)
{
	struct broker_conn **pp = &c->loop->held;

	if (c->holds == NULL || !c->holds->listed) {
		return;
	}
	while (*pp != c) {
		pp = &(*pp)->holds->next;
	}
	*pp = c->holds->next;
	c->holds->next = NULL;
	c->holds->listed = false;
}

void
broker__persist_conn_gone(struct broker_conn *c)
{
	unhold(c);
	free(c->holds);
	c->holds = NULL;
}

static void
on_done(void *arg, int err)
{
	/* Writer thread: report to the loop that submitted the batch.  A
	 * batch that lost an operation (out of memory) fails in its turn, so
	 * that reports stay in order. */
	struct broker_inbox_item *it = arg;

	if (err != 0) {
		it->target = err;
	}
	broker__loop_post(it->ptr, it);
}

void
broker__persist_flush(struct broker_loop *l)
{
	struct broker_inbox_item *it;

	if (l->b->store == NULL || l->outstanding >= MAX_OUTSTANDING ||
	    (!l->batch_needed &&
		(l->batch == NULL || storage_batch_ops(l->batch) == 0))) {
		return;
	}
	/* Without memory for these, try again next turn. */
	if (batch(l) == NULL || (it = calloc(1, sizeof(*it))) == NULL) {
		return;
	}
	it->kind = INBOX_COMMIT;
	it->seq = l->open_seq;
	it->ptr = l;
	it->target = l->batch_broken ? -ENOMEM : 0;
	l->outstanding++;
	l->open_seq++;
	l->batch_needed = l->batch_broken = false;
	struct storage_batch *b = l->batch;
	l->batch = NULL; /* submitted, or gone if the store is closing */
	if (storage_submit(l->b->store, b, on_done, it) != 0) {
		free(it);
		broker__persist_committed(l, l->open_seq - 1, -ESHUTDOWN);
	}
}

void
broker__persist_tick(struct broker_loop *l)
{
	struct storage_batch *b;

	if (l->b->store == NULL || !storage_degraded(l->b->store) ||
	    l->now_t % BROKER_TICKS_PER_S != 0 || (b = batch(l)) == NULL) {
		return;
	}
	if (storage_batch_probe(b, l->now_t) == 0) {
		l->batch_needed = true;
	}
}

static void
routes_done(struct broker_loop *l, uint64_t seq, bool ok)
{
	while (l->routes != NULL && l->routes->seq <= seq) {
		struct persist_route *r = l->routes;
		l->routes = r->next;
		if (l->routes == NULL) {
			l->routes_tail = NULL;
		}
		for (uint32_t i = 0; i < r->n; i++) {
			if (ok) {
				broker__session_deliver(l, r->t[i].s, r->m,
				    &r->t[i].o, false);
			}
			broker_session_unref(r->t[i].s);
		}
		broker_msg_unref(r->m);
		free(r);
	}
}

void
broker__persist_committed(struct broker_loop *l, uint64_t seq, int err)
{
	struct broker_conn *c, *next;

	BROKER_ASSERT(l->outstanding > 0);
	l->outstanding--;
	l->committed_seq = seq;
	/* One line when the store starts failing and one when it works
	 * again, not one per batch. */
	if (err != 0) {
		atomic_fetch_add_explicit(&l->b->store_failures, 1,
		    memory_order_relaxed);
		if (!atomic_exchange(&l->b->store_down, true)) {
			LOG_ERR("Error: storage commit failed (%s); QoS 1/2 "
				"messages that need the store are refused until "
				"it works again.", strerror(-err));
		}
	} else if (atomic_load_explicit(&l->b->store_down,
		       memory_order_relaxed) &&
	    atomic_exchange(&l->b->store_down, false)) {
		LOG_NOTICE("Storage commits succeed again.");
	}
	routes_done(l, seq, err == 0);
	for (c = l->held; c != NULL; c = next) {
		struct broker_holds *h = c->holds;
		uint32_t k = 0;

		next = h->next;
		while (k < h->n && h->v[k].seq <= seq) {
			k++;
		}
		if (k == 0) {
			continue;
		}
		if (err != 0 && h->v[k - 1].seq == seq) {
			/* What waited on the failed batch never leaves: the
			 * client hears nothing and resends later. */
			c->olen = h->v[k - 1].off;
			h->n = 0;
			unhold(c);
			broker__conn_close(c, PROTO_RC_UNSPECIFIED,
			    "storage failure");
			continue;
		}
		memmove(h->v, h->v + k, (h->n - k) * sizeof(h->v[0]));
		h->n -= k;
		if (h->n == 0) {
			unhold(c);
		}
		broker__conn_mark_dirty(c);
	}
	/* Room for another batch: what accumulated goes now. */
	broker__persist_flush(l);
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */

void
broker__persist_msg_id(struct broker_loop *l, struct broker_msg *m)
{
	if (l->b->store != NULL && m->qos > 0 && m->store_id == 0) {
		m->store_id = storage_next_msg_id(l->b->store);
	}
}

bool
broker__persist_refuse(struct broker_loop *l)
{
	return l->b->store != NULL && storage_degraded(l->b->store);
}

bool
broker__persist_route(struct broker_loop *l, struct broker_msg *m,
    struct broker_session *s, const struct broker_subopts *o)
{
	const struct broker_config *cfg = l->b->cfg;
	struct storage_batch *b;
	struct storage_qentry q;
	struct storage_msg sm;
	uint8_t qos;
	int rc;

	if (l->b->store == NULL || m->store_id == 0 ||
	    !atomic_load_explicit(&s->durable, memory_order_acquire)) {
		return false;
	}
	qos = cfg->upgrade_outgoing_qos ? o->qos
	    : m->qos < o->qos           ? m->qos
					: o->qos;
	if (qos == 0) {
		return false;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return false;
	}
	if (l->route_msg != m) {
		/* The message itself: once per batch and message. */
		to_smsg(m, &sm);
		op_failed(l, storage_batch_msg_put(b, &sm));
		l->route_msg = m;
	}
	memset(&q, 0, sizeof(q));
	q.msg_id = m->store_id;
	q.qos = qos;
	q.state = STORAGE_Q_QUEUED;
	q.retain = o->retain_as_published && m->retain;
	q.sub_id = o->sub_id;
	rc = storage_batch_queue_put(b, s->id, (uint16_t)s->id_len, &q);
	op_failed(l, rc);

	/* Delivered once the batch has committed: one record per message
	 * and batch, growing by doubling; it is always the list's tail. */
	struct persist_route *r = l->routes_tail;
	if (r == NULL || r->seq != l->open_seq || r->m != m || r->n == r->cap) {
		uint32_t cap = r != NULL && r->seq == l->open_seq && r->m == m
		    ? 2 * r->cap
		    : 8;
		struct persist_route *nr;
		if (cap > 8) {
			/* Grow the tail in place of itself. */
			struct persist_route **pp = &l->routes;
			while (*pp != r) {
				pp = &(*pp)->next;
			}
			nr = realloc(r, sizeof(*r) + cap * sizeof(r->t[0]));
			if (nr == NULL) {
				l->batch_broken = true;
				return true;
			}
			*pp = nr;
		} else {
			nr = malloc(sizeof(*nr) + cap * sizeof(nr->t[0]));
			if (nr == NULL) {
				l->batch_broken = true;
				return true;
			}
			nr->next = NULL;
			nr->seq = l->open_seq;
			nr->m = broker_msg_ref(m);
			nr->n = 0;
			if (l->routes_tail != NULL) {
				l->routes_tail->next = nr;
			} else {
				l->routes = nr;
			}
		}
		nr->cap = cap;
		l->routes_tail = r = nr;
	}
	r->t[r->n].s = broker_session_ref(s);
	r->t[r->n].o = *o;
	r->t[r->n].o.stored = true;
	r->n++;
	l->batch_needed = true;
	return true;
}

void
broker__persist_route_end(struct broker_loop *l)
{
	l->route_msg = NULL;
}

void
broker__persist_retain(struct broker_loop *l, const struct broker_msg *m)
{
	struct storage_batch *b;
	struct storage_msg sm;

	if (l->b->store == NULL) {
		return;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return;
	}
	if (m->payload_len == 0) {
		op_failed(l, storage_batch_retain_del(b, m->topic,
				 m->topic_len));
	} else {
		to_smsg(m, &sm);
		op_failed(l, storage_batch_retain_put(b, &sm));
	}
}

/* ------------------------------------------------------------------ */
/* Sessions                                                             */

void
broker__persist_durable(struct broker_loop *l, struct broker_session *s)
{
	atomic_store_explicit(&s->durable,
	    l->b->store != NULL && s->expiry != 0, memory_order_release);
}

void
broker__persist_session(struct broker_loop *l, struct broker_session *s)
{
	struct storage_session ss;
	struct storage_batch *b;

	broker__persist_durable(l, s);
	if (l->b->store == NULL) {
		return;
	}
	if (s->expiry == 0) {
		broker__persist_session_del(l, s);
		return;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return;
	}
	memset(&ss, 0, sizeof(ss));
	ss.id = s->id;
	ss.id_len = (uint16_t)s->id_len;
	ss.version = s->version;
	ss.expiry = s->expiry;
	ss.disconnected_at = s->conn != NULL ? 0 : (uint64_t)time(NULL);
	if (s->will != NULL) {
		ss.has_will = true;
		to_smsg(s->will->m, &ss.will);
		ss.will.id = 0;
		ss.will_delay = s->will->delay;
	}
	op_failed(l, storage_batch_session_put(b, &ss));
	s->stored = true;
}

void
broker__persist_session_del(struct broker_loop *l, struct broker_session *s)
{
	struct storage_batch *b;

	if (l->b->store == NULL || !s->stored) {
		return;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return;
	}
	op_failed(l, storage_batch_session_del(b, s->id, (uint16_t)s->id_len));
	s->stored = false;
}

void
broker__persist_sub(struct broker_loop *l, struct broker_session *s,
    const uint8_t *filter, uint16_t flen, const struct broker_subopts *o)
{
	struct storage_batch *b;

	if (l->b->store == NULL || !s->stored) {
		return;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return;
	}
	if (o == NULL) {
		op_failed(l, storage_batch_sub_del(b, s->id, (uint16_t)s->id_len,
				 filter, flen));
		return;
	}
	struct storage_sub ss = {
		.filter = filter,
		.flen = flen,
		.qos = o->qos,
		.no_local = o->no_local,
		.retain_as_published = o->retain_as_published,
		.retain_handling = o->retain_handling,
		.sub_id = o->sub_id,
	};
	op_failed(l, storage_batch_sub_put(b, s->id, (uint16_t)s->id_len, &ss));
}

void
broker__persist_qos2(struct broker_loop *l, struct broker_session *s,
    uint16_t pid, bool on)
{
	struct storage_batch *b;

	if (l->b->store == NULL || !s->stored) {
		return;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return;
	}
	op_failed(l, on ? storage_batch_qos2_put(b, s->id, (uint16_t)s->id_len,
			      pid)
			: storage_batch_qos2_del(b, s->id, (uint16_t)s->id_len,
			      pid));
}

void
broker__persist_delivery(struct broker_loop *l, struct broker_session *s,
    const struct broker_delivery *d, bool gone)
{
	struct storage_batch *b;

	if (l->b->store == NULL || !d->stored || !s->stored) {
		return;
	}
	if ((b = batch(l)) == NULL) {
		l->batch_broken = true;
		return;
	}
	if (gone) {
		op_failed(l, storage_batch_queue_del(b, s->id,
				 (uint16_t)s->id_len, d->m->store_id));
		return;
	}
	struct storage_qentry q = {
		.msg_id = d->m->store_id,
		.pid = d->pid,
		.qos = d->qos,
		.state = d->state == DLV_WAIT_REC  ? STORAGE_Q_WAIT_REC
		    : d->state == DLV_WAIT_COMP    ? STORAGE_Q_WAIT_COMP
		    : d->state == DLV_WAIT_ACK     ? STORAGE_Q_WAIT_ACK
						   : STORAGE_Q_QUEUED,
		.retain = d->retain,
		.sub_id = d->sub_id,
	};
	op_failed(l, storage_batch_queue_put(b, s->id, (uint16_t)s->id_len, &q));
}

/* ------------------------------------------------------------------ */
/* Open, recover, close                                                 */

int
broker__persist_open(struct broker *b)
{
	const struct broker_config *cfg = b->cfg;
	struct storage_config sc;
	char err[256];

	if (!cfg->persistence) {
		return 0;
	}
	memset(&sc, 0, sizeof(sc));
	sc.dir = cfg->persistence_location != NULL ? cfg->persistence_location
						   : ".";
	sc.sync = cfg->persistence_sync == BROKER_SYNC_BATCH ? STORAGE_SYNC_BATCH
	    : cfg->persistence_sync == BROKER_SYNC_NONE      ? STORAGE_SYNC_NONE
							     : STORAGE_SYNC_ALWAYS;
	sc.sync_interval_ms = cfg->persistence_sync_interval;
	if (storage_open(&b->store, &sc, err, sizeof(err)) != 0) {
		LOG_ERR("Error: cannot open the store in %s: %s", sc.dir, err);
		return -1;
	}
	return 0;
}

/* Recovery state: messages shared by id while the queues are rebuilt. */
struct recover {
	struct broker *b;
	struct broker_loop *l;
	struct broker_session *s;     /* the session being loaded */
	struct broker_msg **msgs;     /* open addressing by store id */
	size_t cap, n;
	uint64_t sessions, subs, queued, retained, qos2, wills, failed;
};

static struct broker_msg *
recover_msg(struct recover *r, const struct storage_msg *sm)
{
	size_t i;

	if (r->n * 2 >= r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		struct broker_msg **nv = calloc(ncap, sizeof(*nv));
		if (nv == NULL) {
			return NULL;
		}
		for (size_t k = 0; k < r->cap; k++) {
			if (r->msgs[k] == NULL) {
				continue;
			}
			for (i = r->msgs[k]->store_id & (ncap - 1); nv[i];
			    i = (i + 1) & (ncap - 1)) {
			}
			nv[i] = r->msgs[k];
		}
		free(r->msgs);
		r->msgs = nv;
		r->cap = ncap;
	}
	for (i = sm->id & (r->cap - 1); r->msgs[i] != NULL;
	    i = (i + 1) & (r->cap - 1)) {
		if (r->msgs[i]->store_id == sm->id) {
			return r->msgs[i];
		}
	}
	if ((r->msgs[i] = from_smsg(sm)) != NULL) {
		r->n++;
	}
	return r->msgs[i];
}

static int
rec_retained(void *arg, const struct storage_msg *sm)
{
	struct recover *r = arg;
	struct broker_msg *m = from_smsg(sm);

	if (m == NULL) {
		return -1;
	}
	m->store_id = 0;
	broker_retain_put(r->b->retain, m);
	broker_msg_unref(m);
	r->retained++;
	return 0;
}

static int
rec_session(void *arg, const struct storage_session *ss)
{
	struct recover *r = arg;
	struct broker_session *s;

	s = broker__session_new(r->b, ss->id, ss->id_len, r->l->idx);
	if (s == NULL || broker__registry_add(r->b, s) != 0) {
		broker_session_unref(s);
		return -1;
	}
	broker_session_unref(s); /* the registry's reference remains */
	s->version = ss->version;
	s->expiry = ss->expiry;
	s->stored = true;
	if (ss->has_will) {
		/* Its connection ended with the broker: the will is due
		 * ([MQTT-3.1.2-8]), published once everything is back. */
		if (broker__session_set_will(s, from_smsg(&ss->will), 0) !=
		    0) {
			return -1;
		}
	}
	broker__persist_durable(r->l, s);
	r->s = s;
	r->sessions++;
	return 0;
}

static int
rec_sub(void *arg, const struct storage_session *ss,
    const struct storage_sub *sub)
{
	struct recover *r = arg;
	struct broker_session *s = r->s;
	struct broker_subopts o = {
		.qos = sub->qos,
		.no_local = sub->no_local,
		.retain_as_published = sub->retain_as_published,
		.retain_handling = sub->retain_handling,
		.sub_id = sub->sub_id,
	};
	struct proto_str g = { NULL, 0 }, f = { sub->filter, sub->flen };
	int shared = proto_share_parse(sub->filter, sub->flen, &g, &f);
	struct broker_sub *x;

	(void)ss;
	if (shared < 0 || (x = calloc(1, sizeof(*x))) == NULL) {
		return shared < 0 ? 0 : -1;
	}
	if ((x->filter = malloc(sub->flen)) == NULL) {
		free(x);
		return -1;
	}
	memcpy(x->filter, sub->filter, sub->flen);
	x->flen = sub->flen;
	x->seq = ++s->sub_seq;
	o.share = shared == 1 ? x->seq : 0;
	x->o = o;
	x->next = s->subs;
	s->subs = x;
	if (broker_trie_add_new(r->b->trie, f.ptr, f.len,
		shared == 1 ? g.ptr : NULL, g.len, s, &o, &x->tentry) < 0) {
		return -1;
	}
	r->subs++;
	return 0;
}

static int
rec_queued(void *arg, const struct storage_session *ss,
    const struct storage_qentry *q, const struct storage_msg *sm)
{
	struct recover *r = arg;
	struct broker_session *s = r->s;
	struct broker_msg *m = recover_msg(r, sm);
	struct broker_delivery *d;

	(void)ss;
	if (m == NULL || (d = calloc(1, sizeof(*d))) == NULL) {
		return -1;
	}
	d->m = broker_msg_ref(m);
	d->qos = q->qos;
	d->retain = q->retain;
	d->sub_id = q->sub_id;
	d->stored = true;
	/* QoS 2 past PUBLISH keeps its packet id and state; everything
	 * else (QoS 1 ids are not kept) goes again from the queue. */
	if (q->qos == 2 && (q->state == STORAGE_Q_WAIT_REC ||
			       q->state == STORAGE_Q_WAIT_COMP)) {
		d->pid = q->pid;
		d->state = q->state == STORAGE_Q_WAIT_REC ? DLV_WAIT_REC
							  : DLV_WAIT_COMP;
	} else {
		d->state = DLV_QUEUED;
	}
	broker__session_restore(s, d);
	r->queued++;
	return 0;
}

static int
rec_qos2(void *arg, const struct storage_session *ss, uint16_t pid)
{
	struct recover *r = arg;

	(void)ss;
	if (broker__session_qos2_mark(r->s, pid, true) != 0) {
		return -1;
	}
	r->qos2++;
	return 0;
}

int
broker__persist_recover(struct broker *b)
{
	static const struct storage_load_cb cb = {
		.retained = rec_retained,
		.session = rec_session,
		.sub = rec_sub,
		.queued = rec_queued,
		.qos2 = rec_qos2,
	};
	struct recover r;
	uint64_t t0 = uv_hrtime();
	int rc;

	if (b->store == NULL) {
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.b = b;
	r.l = &b->loops[0];
	rc = storage_load(b->store, (uint64_t)time(NULL),
	    b->cfg->persistent_client_expiration, &cb, &r);
	for (size_t i = 0; i < r.cap; i++) {
		broker_msg_unref(r.msgs[i]);
	}
	free(r.msgs);
	if (rc != 0) {
		LOG_ERR("Error: recovery from the store failed (%d).", rc);
		return -1;
	}
	/* Every recovered session is offline now: expiry runs from the
	 * restart, and pending wills go out. */
	for (size_t i = 0; i < b->sessions_cap; i++) {
		struct broker_session *s = b->sessions[i];
		if (s == NULL) {
			continue;
		}
		if (s->will != NULL) {
			r.wills++;
			broker__publish_will(r.l, s);
		}
		broker__session_offline(r.l, s);
		broker__persist_session(r.l, s);
	}
	LOG_NOTICE("Recovered %" PRIu64 " sessions, %" PRIu64
		   " subscriptions, %" PRIu64 " queued messages, %" PRIu64
		   " retained messages, %" PRIu64 " QoS 2 ids and %" PRIu64
		   " wills in %.3f s.",
	    r.sessions, r.subs, r.queued, r.retained, r.qos2, r.wills,
	    (double)(uv_hrtime() - t0) / 1e9);
	return 0;
}

void
broker__persist_close(struct broker *b)
{
	for (int i = 0; i < b->nloops; i++) {
		struct broker_loop *l = &b->loops[i];
		/* The loops have stopped: what they stored last still goes
		 * (acknowledgements, deletions), with nobody to tell. */
		if (l->batch != NULL && b->store != NULL &&
		    storage_submit(b->store, l->batch, NULL, NULL) == 0) {
			l->batch = NULL;
		}
		storage_batch_free(l->batch);
		l->batch = NULL;
		while (l->routes != NULL) {
			struct persist_route *r = l->routes;
			l->routes = r->next;
			for (uint32_t k = 0; k < r->n; k++) {
				broker_session_unref(r->t[k].s);
			}
			broker_msg_unref(r->m);
			free(r);
		}
		l->routes_tail = NULL;
	}
	if (b->store != NULL) {
		storage_close(b->store);
		b->store = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* starling --dump-storage DIR                                          */

static void
dump_str(const char *what, const uint8_t *p, size_t n)
{
	printf("%s", what);
	for (size_t i = 0; i < n; i++) {
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	}
}

static int
dump_retained(void *arg, const struct storage_msg *m)
{
	(void)arg;
	dump_str("retained  ", m->topic, m->topic_len);
	printf("  qos %u, %u bytes%s\n", m->qos, m->payload_len,
	    m->expiry_at ? ", expires" : "");
	return 0;
}

static int
dump_session(void *arg, const struct storage_session *s)
{
	(void)arg;
	dump_str("session   ", (const uint8_t *)s->id, s->id_len);
	printf("  v%u, expiry %" PRIu32 " s, %s%s\n", s->version, s->expiry,
	    s->disconnected_at ? "offline" : "online at last write",
	    s->has_will ? ", will" : "");
	return 0;
}

static int
dump_sub(void *arg, const struct storage_session *s,
    const struct storage_sub *sub)
{
	(void)arg;
	(void)s;
	dump_str("  sub     ", sub->filter, sub->flen);
	printf("  qos %u\n", sub->qos);
	return 0;
}

static int
dump_queued(void *arg, const struct storage_session *s,
    const struct storage_qentry *q, const struct storage_msg *m)
{
	static const char *const states[] = { "queued", "wait PUBACK",
		"wait PUBREC", "wait PUBCOMP" };

	(void)arg;
	(void)s;
	printf("  msg %-8" PRIu64 " qos %u %-12s ", q->msg_id, q->qos,
	    q->state < 4 ? states[q->state] : "?");
	dump_str("", m->topic, m->topic_len);
	printf("  %u bytes\n", m->payload_len);
	return 0;
}

int
broker__persist_dump(const char *dir)
{
	static const struct storage_load_cb cb = {
		.retained = dump_retained,
		.session = dump_session,
		.sub = dump_sub,
		.queued = dump_queued,
	};
	struct storage_config sc = { .dir = dir, .read_only = true };
	struct storage_stats st;
	struct storage *store;
	char err[256];
	int rc;

	if (storage_open(&store, &sc, err, sizeof(err)) != 0) {
		fprintf(stderr, "Error: cannot open the store in %s: %s\n", dir,
		    err);
		return -1;
	}
	storage_stats(store, &st);
	printf("store %s: format %u, %" PRIu64 " sessions, %" PRIu64
	       " subscriptions, %" PRIu64 " queued entries, %" PRIu64
	       " messages, %" PRIu64 " retained, %" PRIu64
	       " QoS 2 ids; map %" PRIu64 " bytes, %" PRIu64 " used\n",
	    dir, st.format, st.sessions, st.subs, st.queued, st.msgs,
	    st.retained, st.qos2, st.map_size, st.used_bytes);
	rc = storage_load(store, 0, 0, &cb, NULL);
	storage_close(store);
	return rc;
}
