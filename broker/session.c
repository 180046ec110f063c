/*
 * session.c - sessions: the client-id registry, delivery with QoS state,
 * the bounded offline/overflow queue, resend after reconnect, wills and
 * expiry.
 *
 * Design notes.  The registry maps client id to session under one mutex
 * (taken on connect and on session end only, never per message).  A
 * session is owned by one loop (`owner`); everything but its refcount and
 * owner is touched only there.  Outgoing QoS 1/2 deliveries form one list
 * in order: first those in flight (WAIT_*), then those queued.  The
 * in-flight window is the smaller of the client's Receive Maximum and
 * max_inflight_messages; the queue is bounded by max_queued_messages and
 * max_queued_bytes, and what overflows is dropped and counted.  QoS 0
 * messages are never queued for an online client: if its socket backlog
 * is over the high-water mark they are dropped (a slow subscriber only
 * hurts itself); offline, they are queued only with queue_qos0_messages.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* References and registry                                              */

struct broker_session *
broker_session_ref(struct broker_session *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

static void
free_deliveries(struct broker_session *s)
{
	struct broker_delivery *d = s->out_head, *n;

	for (; d != NULL; d = n) {
		n = d->next;
		broker_msg_unref(d->m);
		free(d);
	}
	s->out_head = s->out_tail = NULL;
	s->inflight = s->queued = 0;
	s->queued_bytes = s->inflight_bytes = 0;
	atomic_store_explicit(&s->queued_hint, 0, memory_order_relaxed);
}

/* Publishers slow down for a session whose queue grows (handle_publish.c)
 * only while it is online: an offline one cannot catch up, and its queue
 * is bounded by max_queued_messages instead. */
static void
hint(struct broker_session *s)
{
	atomic_store_explicit(&s->queued_hint, s->conn != NULL ? s->queued : 0,
	    memory_order_relaxed);
}

void
broker_session_unref(struct broker_session *s)
{
	if (s == NULL ||
	    atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) {
		return;
	}
	free_deliveries(s);
	for (struct broker_sub *sub = s->subs, *n; sub != NULL; sub = n) {
		n = sub->next;
		free(sub->filter);
		free(sub);
	}
	if (s->will != NULL) {
		/* Not through broker__session_set_will(): at shutdown the
		 * wheel its timer may sit in is no longer walked, and its
		 * neighbours may be gone already. */
		broker_msg_unref(s->will->m);
		free(s->will);
	}
	free(s->qos2_in);
	free(s);
}

struct broker_session *
broker__session_new(struct broker *b, const char *id, size_t id_len, int owner)
{
	/* The id lives in the same allocation: one block per session. */
	struct broker_session *s = calloc(1, sizeof(*s) + id_len + 1);

	(void)b;
	if (s == NULL) {
		return NULL;
	}
	memcpy(s->id, id, id_len);
	s->id[id_len] = '\0';
	s->id_len = id_len;
	atomic_init(&s->refs, 1);
	atomic_init(&s->owner, owner);
	s->recv_max = 65535;
	s->expiry_timer.kind = WHEEL_EXPIRY;
	return s;
}

static size_t
slot_of(const struct broker *b, const char *id, size_t len)
{
	return broker__level_hash((const uint8_t *)id, len) &
	    (b->sessions_cap - 1);
}

struct broker_session *
broker__registry_find(struct broker *b, const char *id, size_t len)
{
	if (b->sessions_cap == 0) {
		return NULL;
	}
	for (size_t i = slot_of(b, id, len);; i = (i + 1) & (b->sessions_cap - 1)) {
		struct broker_session *s = b->sessions[i];
		if (s == NULL) {
			return NULL;
		}
		if (s->id_len == len && memcmp(s->id, id, len) == 0) {
			return s;
		}
	}
}

static void
place(struct broker *b, struct broker_session *s)
{
	size_t i = slot_of(b, s->id, s->id_len);

	while (b->sessions[i] != NULL) {
		i = (i + 1) & (b->sessions_cap - 1);
	}
	b->sessions[i] = s;
}

/* Rehashes the registry into ncap slots; -1 on ENOMEM (unchanged). */
static int
resize(struct broker *b, size_t ncap)
{
	struct broker_session **old = b->sessions;
	size_t ocap = b->sessions_cap;

	b->sessions = calloc(ncap, sizeof(*b->sessions));
	if (b->sessions == NULL) {
		b->sessions = old;
		return -1;
	}
	b->sessions_cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i] != NULL) {
			place(b, old[i]);
		}
	}
	free(old);
	return 0;
}

int
broker__registry_add(struct broker *b, struct broker_session *s)
{
	if ((b->nsessions + 1) * 2 > b->sessions_cap &&
	    resize(b, b->sessions_cap ? b->sessions_cap * 2 : 1024) != 0) {
		return -1;
	}
	place(b, broker_session_ref(s));
	s->registered = true;
	b->nsessions++;
	return 0;
}

void
broker__registry_remove(struct broker *b, struct broker_session *s)
{
	size_t i;

	if (!s->registered) {
		return;
	}
	i = slot_of(b, s->id, s->id_len);
	while (b->sessions[i] != s) {
		i = (i + 1) & (b->sessions_cap - 1);
	}
	b->sessions[i] = NULL;
	b->nsessions--;
	s->registered = false;
	/* Re-place the probe run after the hole. */
	for (i = (i + 1) & (b->sessions_cap - 1); b->sessions[i] != NULL;
	    i = (i + 1) & (b->sessions_cap - 1)) {
		struct broker_session *m = b->sessions[i];
		b->sessions[i] = NULL;
		place(b, m);
	}
	/* A million devices that leave give their table back: halve it
	 * at 1/8 full (growth doubles at 1/2, so each rehash is paid for
	 * by as many adds or removes as it moves). */
	if (b->sessions_cap > 1024 && b->nsessions * 8 < b->sessions_cap) {
		(void)resize(b, b->sessions_cap / 2);
	}
	broker_session_unref(s);
}

/* ------------------------------------------------------------------ */
/* Sending                                                              */

/* The server->client Topic Alias for topic t on c: *alias is set (0 when
 * none).  Returns OA_KNOWN if the client already knows the alias (the
 * topic may be left out), OA_NEW if it was assigned now (*slot says
 * where, for out_alias_undo() if the packet is not sent after all).
 * Aliases go to the first topics sent, up to the smaller of the client's
 * Topic Alias Maximum and BROKER_OUT_ALIASES, and are never reassigned: a
 * reassignment could race with PUBLISH packets the client has not read
 * yet. */
enum { OA_NONE, OA_KNOWN, OA_NEW };

static int
out_alias(struct broker_conn *c, const uint8_t *t, uint16_t len,
    uint16_t *alias, uint32_t *slot)
{
	const uint32_t cap = 2 * BROKER_OUT_ALIASES;
	uint32_t i;

	*alias = 0;
	if (c->oalias_max == 0 || len == 0) {
		return OA_NONE;
	}
	struct broker_conn_x *x = broker__conn_x(c);
	if (x == NULL || (x->oalias == NULL &&
			     (x->oalias = calloc(cap, sizeof(*x->oalias))) ==
				 NULL)) {
		return OA_NONE;
	}
	struct broker_oalias *oa = x->oalias;
	for (i = broker__level_hash(t, len) & (cap - 1); oa[i].topic;
	    i = (i + 1) & (cap - 1)) {
		if (oa[i].len == len &&
		    memcmp(oa[i].topic, t, len) == 0) {
			*alias = oa[i].alias;
			return OA_KNOWN;
		}
	}
	if (c->oalias_n >= c->oalias_max ||
	    (oa[i].topic = malloc(len)) == NULL) {
		return OA_NONE;
	}
	memcpy(oa[i].topic, t, len);
	oa[i].len = len;
	oa[i].alias = ++c->oalias_n;
	*alias = oa[i].alias;
	*slot = i;
	return OA_NEW;
}

/* Takes back the alias just assigned in slot i.  It is the newest entry
 * of the table, so no later insertion probed past it and clearing the
 * slot keeps every probe chain intact. */
static void
out_alias_undo(struct broker_conn *c, uint32_t i)
{
	free(c->x->oalias[i].topic);
	c->x->oalias[i].topic = NULL;
	c->oalias_n--;
}

/* Encodes one PUBLISH of m to c: topic, packet id, the per-delivery
 * properties (remaining Message Expiry, Subscription Identifier) and the
 * message's shared property block.  Returns 0, or -1 if it was dropped
 * (too large for the client, or out of memory). */
static int
send_publish(struct broker_loop *l, struct broker_conn *c,
    const struct broker_msg *m, uint8_t qos, uint16_t pid, bool dup,
    bool retain, uint32_t sub_id)
{
	struct proto_packet pkt;
	uint64_t now_ms = uv_now(&l->loop);
	size_t need, len;
	uint8_t *p;
	int oa = OA_NONE;
	uint32_t slot = 0;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_PUBLISH;
	pkt.version = c->version;
	pkt.publish.qos = qos;
	pkt.publish.dup = dup;
	pkt.publish.retain = retain;
	pkt.publish.packet_id = pid;
	pkt.publish.topic.ptr = m->topic;
	pkt.publish.topic.len = m->topic_len;
	pkt.publish.payload.ptr = m->payload;
	pkt.publish.payload.len = m->payload_len;
	if (c->version == PROTO_V5) {
		struct proto_props *pr = &pkt.publish.props;
		if (m->has_expiry) {
			/* Forwarded with the time it has left [MQTT-3.3.2-6]. */
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_MESSAGE_EXPIRY);
			pr->message_expiry = m->expiry_at > now_ms
			    ? (uint32_t)((m->expiry_at - now_ms + 999) / 1000)
			    : 0;
		}
		if (sub_id != 0) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_SUB_ID);
			pr->sub_id = sub_id;
		}
		pr->extra.ptr = m->props;
		pr->extra.len = m->props_len;
		oa = out_alias(c, m->topic, m->topic_len, &pr->topic_alias,
		    &slot);
		if (oa == OA_KNOWN) {
			pkt.publish.topic.len = 0;
		}
		if (pr->topic_alias != 0) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_TOPIC_ALIAS);
		}
	}
	need = proto_encode_size(&pkt);
	if (need != 0 && c->s != NULL && c->s->max_packet != 0 &&
	    need > c->s->max_packet) {
		/* Too large for this client [MQTT-3.1.2-24]: dropped for it
		 * alone, and counted. */
		c->s->dropped++;
		atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
		need = 0;
	}
	if (need == 0 || (p = broker__conn_reserve(c, need)) == NULL ||
	    proto_encode(&pkt, p, need, &len) != 0) {
		if (oa == OA_NEW) {
			out_alias_undo(c, slot);
		}
		return -1;
	}
	broker__conn_commit(c, len);
	atomic_fetch_add_explicit(&l->msgs_out, 1, memory_order_relaxed);
	return 0;
}

static bool
expired(struct broker_loop *l, const struct broker_msg *m)
{
	return m->has_expiry && uv_now(&l->loop) >= m->expiry_at;
}

static uint32_t
window(const struct broker_loop *l, const struct broker_session *s)
{
	uint32_t w = s->recv_max;
	uint32_t cfg = l->b->cfg->max_inflight_messages;

	if (cfg != 0 && cfg < w) {
		w = cfg;
	}
	return w;
}

/* max_inflight_bytes: d may start unless it would take the payload bytes
 * in flight past the limit; one message always may, however large. */
static bool
bytes_fit(const struct broker_loop *l, const struct broker_session *s,
    const struct broker_delivery *d)
{
	uint64_t max = l->b->cfg->max_inflight_bytes;

	return max == 0 || s->inflight == 0 || d->qos == 0 ||
	    s->inflight_bytes + d->m->payload_len <= max;
}

static uint16_t
next_pid(struct broker_session *s)
{
	/* Skip identifiers still in flight: with a window below 65535 the
	 * search always ends. */
	for (;;) {
		bool used = false;
		if (++s->next_pid == 0) {
			s->next_pid = 1;
		}
		for (struct broker_delivery *d = s->out_head; d != NULL;
		    d = d->next) {
			if (d->state == DLV_QUEUED) {
				break;
			}
			if (d->pid == s->next_pid) {
				used = true;
				break;
			}
		}
		if (!used) {
			return s->next_pid;
		}
	}
}

/* Starts sending the first queued delivery d. */
static void
start_delivery(struct broker_loop *l, struct broker_session *s,
    struct broker_delivery *d)
{
	d->pid = next_pid(s);
	d->state = d->qos == 1 ? DLV_WAIT_ACK : DLV_WAIT_REC;
	s->queued--;
	s->queued_bytes -= d->m->payload_len;
	s->inflight++;
	s->inflight_bytes += d->m->payload_len;
	if (d->qos == 2 && d->stored) {
		/* Its packet id is on disk before the client sees it, so a
		 * restart resends it with the same id (exactly once). */
		broker__persist_delivery(l, s, d, false);
		broker__persist_hold(s->conn);
	}
	if (send_publish(l, s->conn, d->m, d->qos, d->pid, false, d->retain,
		d->sub_id) != 0) {
		/* Dropped (too large): complete it at once. */
		broker__session_complete(l, s, d->pid, 0);
	}
}

void
broker__session_pump(struct broker_loop *l, struct broker_session *s)
{
	struct broker_delivery *d;

	if (s->conn == NULL || s->conn->state != CONN_ACTIVE) {
		return;
	}
	for (d = s->out_head; d != NULL && d->state != DLV_QUEUED; d = d->next) {
	}
	while (d != NULL && s->inflight < window(l, s) &&
	    bytes_fit(l, s, d) &&
	    broker__conn_backlog(s->conn) < BROKER_OUT_HIGH_WATER) {
		struct broker_delivery *next = d->next;
		if (expired(l, d->m)) {
			/* Expired while queued [MQTT-3.3.2-5]. */
			broker__persist_delivery(l, s, d, true);
			broker__session_unlink(s, d);
			s->queued--;
			s->queued_bytes -= d->m->payload_len;
			broker_msg_unref(d->m);
			free(d);
		} else if (d->qos == 0) {
			/* QoS 0 queued while offline. */
			send_publish(l, s->conn, d->m, 0, 0, false, d->retain,
			    d->sub_id);
			broker__session_unlink(s, d);
			s->queued--;
			s->queued_bytes -= d->m->payload_len;
			broker_msg_unref(d->m);
			free(d);
		} else {
			start_delivery(l, s, d);
		}
		d = next;
	}
	hint(s);
}

void
broker__session_unlink(struct broker_session *s, struct broker_delivery *d)
{
	struct broker_delivery **pp = &s->out_head, *prev = NULL;

	while (*pp != d) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = d->next;
	if (s->out_tail == d) {
		s->out_tail = prev;
	}
	d->next = NULL;
}

void
broker__session_complete(struct broker_loop *l, struct broker_session *s,
    uint16_t pid, uint8_t ack)
{
	struct broker_delivery *d;

	for (d = s->out_head; d != NULL && d->state != DLV_QUEUED; d = d->next) {
		if (d->pid != pid) {
			continue;
		}
		if (ack == PROTO_PUBREC && d->state == DLV_WAIT_REC) {
			struct proto_packet r;
			memset(&r, 0, sizeof(r));
			r.type = PROTO_PUBREL;
			r.version = s->conn ? s->conn->version : s->version;
			r.ack.packet_id = pid;
			d->state = DLV_WAIT_COMP;
			if (s->conn != NULL) {
				if (d->stored) {
					/* PUBREL only once the disk knows the
					 * client has the message. */
					broker__persist_delivery(l, s, d, false);
					broker__persist_hold(s->conn);
				}
				broker__conn_send(s->conn, &r);
			}
			return;
		}
		/* ack 0: the flow ends early (a refusing PUBREC, or a
		 * message we could not send). */
		if (ack == 0 || (ack == PROTO_PUBACK && d->state == DLV_WAIT_ACK) ||
		    (ack == PROTO_PUBCOMP && d->state == DLV_WAIT_COMP)) {
			broker__persist_delivery(l, s, d, true);
			broker__session_unlink(s, d);
			s->inflight--;
			s->inflight_bytes -= d->m->payload_len;
			broker_msg_unref(d->m);
			free(d);
			broker__session_pump(l, s);
		}
		return;
	}
}

/* The subscription of s that o->share names, if it is still there (the
 * message may have travelled while s unsubscribed). */
static struct broker_sub *
share_of(struct broker_session *s, const struct broker_subopts *o)
{
	if (o->share == 0) {
		return NULL;
	}
	for (struct broker_sub *x = s->subs; x != NULL; x = x->next) {
		if (x->seq == o->share) {
			return x;
		}
	}
	return NULL;
}

/* Puts queued delivery d at the end of s's list. */
static void
append_queued(struct broker_session *s, struct broker_delivery *d)
{
	if (s->out_tail != NULL) {
		s->out_tail->next = d;
	} else {
		s->out_head = d;
	}
	s->out_tail = d;
	s->queued++;
	s->queued_bytes += d->m->payload_len;
	hint(s);
}

static void
enqueue(struct broker_loop *l, struct broker_session *s,
    struct broker_msg *m, uint8_t qos, bool retain,
    const struct broker_subopts *o)
{
	const struct broker_config *cfg = l->b->cfg;
	struct broker_delivery *d;

	if ((cfg->max_queued_messages != 0 &&
		s->queued >= cfg->max_queued_messages) ||
	    (cfg->max_queued_bytes != 0 &&
		s->queued_bytes + m->payload_len > cfg->max_queued_bytes)) {
		struct broker_delivery gone = { .m = m, .stored = o->stored };
		broker__persist_delivery(l, s, &gone, true);
		s->dropped++;
		atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		s->dropped++;
		return;
	}
	d->m = broker_msg_ref(m);
	d->qos = qos;
	d->retain = retain;
	d->sub_id = o->sub_id;
	d->share = share_of(s, o);
	d->stored = o->stored;
	d->state = DLV_QUEUED;
	append_queued(s, d);
}

void
broker__session_deliver(struct broker_loop *l, struct broker_session *s,
    struct broker_msg *m, const struct broker_subopts *o, bool retained)
{
	const struct broker_config *cfg = l->b->cfg;
	int owner = atomic_load_explicit(&s->owner, memory_order_acquire);
	uint8_t qos;
	bool retain;

	if (owner != l->idx) {
		struct broker_inbox_item *it = calloc(1, sizeof(*it));
		if (it == NULL) {
			return;
		}
		it->kind = INBOX_DELIVER;
		it->s = broker_session_ref(s);
		it->m = broker_msg_ref(m);
		it->o = *o;
		it->retained = retained;
		atomic_fetch_add_explicit(&s->in_transit, 1,
		    memory_order_relaxed);
		broker__loop_post(&l->b->loops[owner], it);
		return;
	}
	if (!s->registered && s->conn == NULL) {
		return; /* ended while the message travelled */
	}
	if (expired(l, m)) {
		return;
	}
	qos = cfg->upgrade_outgoing_qos ? o->qos
	    : m->qos < o->qos           ? m->qos
					: o->qos;
	/* Retained on subscribe: flag set.  Live: only with Retain As
	 * Published [MQTT-3.3.1-12, 3.3.1-13]. */
	retain = retained || (o->retain_as_published && m->retain);
	if (s->conn != NULL && s->conn->state == CONN_ACTIVE) {
		if (qos == 0) {
			if (broker__conn_backlog(s->conn) >= BROKER_OUT_HIGH_WATER) {
				s->dropped++;
				atomic_fetch_add_explicit(&l->dropped, 1,
				    memory_order_relaxed);
				return;
			}
			send_publish(l, s->conn, m, 0, 0, false, retain,
			    o->sub_id);
			return;
		}
		enqueue(l, s, m, qos, retain, o);
		broker__session_pump(l, s);
		return;
	}
	/* Offline (a persistent session): QoS 1/2, and QoS 0 if asked. */
	if (qos > 0 || cfg->queue_qos0_messages) {
		enqueue(l, s, m, qos, retain, o);
	}
}

void
broker__session_resume(struct broker_loop *l, struct broker_session *s)
{
	/* Unacknowledged messages go again, with DUP, in order
	 * [MQTT-4.4.0-1]; PUBREL for those past PUBREC. */
	for (struct broker_delivery *d = s->out_head;
	    d != NULL && d->state != DLV_QUEUED; d = d->next) {
		if (d->state == DLV_WAIT_COMP) {
			struct proto_packet r;
			memset(&r, 0, sizeof(r));
			r.type = PROTO_PUBREL;
			r.version = s->conn->version;
			r.ack.packet_id = d->pid;
			broker__conn_send(s->conn, &r);
		} else {
			send_publish(l, s->conn, d->m, d->qos, d->pid, true,
			    d->retain, d->sub_id);
		}
	}
	broker__session_pump(l, s);
}

void
broker__session_restore(struct broker_session *s, struct broker_delivery *d)
{
	if (d->state == DLV_QUEUED) {
		append_queued(s, d);
		return;
	}
	/* In flight: after the others in flight, before the queued. */
	struct broker_delivery **pp = &s->out_head;
	while (*pp != NULL && (*pp)->state != DLV_QUEUED) {
		pp = &(*pp)->next;
	}
	d->next = *pp;
	*pp = d;
	if (d->next == NULL) {
		s->out_tail = d;
	}
	s->inflight++;
	s->inflight_bytes += d->m->payload_len;
}

/* ------------------------------------------------------------------ */
/* Subscriptions and teardown                                           */

/* Messages s got through a shared subscription and had not finished go
 * to another member of the group, as its session is ending [MQTT-4.8.2]:
 * queued ones, and those in flight whose receipt the client has not
 * acknowledged (PUBREC ends a QoS 2 delivery's doubt).  s's
 * subscriptions are out of the trie by now, so s is not picked again. */
static void
hand_off(struct broker_loop *l, struct broker_session *s)
{
	for (struct broker_delivery *d = s->out_head; d != NULL; d = d->next) {
		struct proto_str g, f;
		struct broker_target t;

		if (d->share == NULL || d->state == DLV_WAIT_COMP ||
		    proto_share_parse(d->share->filter, d->share->flen, &g,
			&f) != 1 ||
		    broker_trie_pick(l->b->trie, f.ptr, f.len, g.ptr, g.len,
			&t) != 0) {
			continue;
		}
		broker__session_deliver(l, t.s, d->m, &t.o, false);
		broker_session_unref(t.s);
	}
}

void
broker__session_clear(struct broker_loop *l, struct broker_session *s)
{
	struct broker_trie *t = l->b->trie;

	for (struct broker_sub *sub = s->subs; sub != NULL; sub = sub->next) {
		struct proto_str g, f;
		if (proto_share_parse(sub->filter, sub->flen, &g, &f) == 1) {
			broker_trie_remove(t, f.ptr, f.len, g.ptr, g.len, s,
			    sub->tentry);
		} else {
			broker_trie_remove(t, sub->filter, sub->flen, NULL, 0,
			    s, sub->tentry);
		}
	}
	hand_off(l, s);
	broker__persist_session_del(l, s);
	for (struct broker_sub *sub = s->subs, *n; sub != NULL; sub = n) {
		n = sub->next;
		free(sub->filter);
		free(sub);
	}
	s->subs = NULL;
	free_deliveries(s);
	free(s->qos2_in);
	s->qos2_in = NULL;
	s->qos2_count = 0;
}

void
broker__session_end(struct broker_loop *l, struct broker_session *s)
{
	struct broker *b = l->b;

	broker_wheel_del(&s->expiry_timer);
	if (s->will != NULL) {
		/* A session that ends publishes its pending will
		 * [MQTT-3.1.3-9]. */
		broker__publish_will(l, s);
	}
	broker__session_clear(l, s);
	pthread_mutex_lock(&b->sessions_mu);
	broker__registry_remove(b, s);
	pthread_mutex_unlock(&b->sessions_mu);
}

int
broker__session_set_will(struct broker_session *s, struct broker_msg *m,
    uint32_t delay)
{
	struct broker_will *w = s->will;

	if (w != NULL) {
		broker_wheel_del(&w->timer);
		broker_msg_unref(w->m);
		if (m == NULL) {
			free(w);
			s->will = NULL;
			return 0;
		}
	} else if (m == NULL) {
		return 0;
	} else if ((w = calloc(1, sizeof(*w))) == NULL) {
		broker_msg_unref(m);
		return -1;
	}
	w->timer.kind = WHEEL_WILL;
	w->s = s;
	w->m = m;
	w->delay = delay;
	s->will = w;
	return 0;
}

void
broker__publish_will(struct broker_loop *l, struct broker_session *s)
{
	struct broker_msg *w;

	if (s->will == NULL) {
		return;
	}
	w = broker_msg_ref(s->will->m);
	broker__session_set_will(s, NULL, 0);
	broker__persist_msg_id(l, w);
	if (w->retain && l->b->cfg->retain_available) {
		broker_retain_put(l->b->retain, w);
		broker__persist_retain(l, w);
	}
	broker__route(l, w, s, NULL);
	broker_msg_unref(w);
	if (s->stored && s->conn == NULL) {
		broker__persist_session(l, s); /* without the will now */
	}
}

void
broker__session_offline(struct broker_loop *l, struct broker_session *s)
{
	s->offline_since = broker__now_t(l);
	if (s->expiry == 0) {
		broker__session_end(l, s);
	} else if (s->expiry != UINT32_MAX) {
		broker_wheel_set(&l->wheel, &s->expiry_timer,
		    s->offline_since +
			(uint64_t)s->expiry * BROKER_TICKS_PER_S + 1);
	}
}

void
broker__session_detach(struct broker_loop *l, struct broker_conn *c)
{
	struct broker_session *s = c->s;

	c->s = NULL;
	s->conn = NULL;
	hint(s);
	s->offline_since = broker__now_t(l);
	atomic_fetch_sub_explicit(&l->clients, 1, memory_order_relaxed);
	if (c->will_suppressed) {
		broker__session_set_will(s, NULL, 0);
	}
	/* The will goes now, or after its delay unless the session resumes
	 * first; never later than the session's end [MQTT-3.1.3-9]. */
	if (s->will != NULL) {
		uint32_t delay = s->will->delay;
		if (s->expiry < delay) {
			delay = s->expiry;
		}
		if (delay == 0) {
			broker__publish_will(l, s);
		} else if (!c->takeover) {
			broker_wheel_set(&l->wheel, &s->will->timer,
			    s->offline_since +
				(uint64_t)delay * BROKER_TICKS_PER_S + 1);
		}
		/* Taken over with a delay: the session resumes at once,
		 * which cancels a delayed will [MQTT-3.1.3-9]. */
	}
	/* A session taken over lives on elsewhere; otherwise it ends now or
	 * when its expiry interval has passed. */
	if (!c->takeover) {
		broker__session_offline(l, s);
		if (s->registered && s->expiry != 0) {
			broker__persist_session(l, s);
		}
	}
	broker_session_unref(s); /* the connection's reference */
}
