/*
 * handle_publish.c - PUBLISH from a client (topic aliases, limits, QoS 2
 * duplicate suppression, retain), the acknowledgements of both flows, and
 * routing a message to its subscribers.
 *
 * Routing runs on the publisher's loop: one trie match (read locks only),
 * targets merged per session (the highest QoS of its matching
 * subscriptions, one copy [MQTT-3.3.4-2]), No Local applied, then each
 * delivery goes straight to a session of this loop or through the inbox
 * of the loop that owns it.  Messages are shared by reference, never
 * copied per subscriber.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

/* Queue length of a target past which its publishers are slowed: well
 * before max_queued_messages would drop anything. */
#define THROTTLE_QUEUE 1000u

static uint32_t
throttle_at(const struct broker_config *cfg)
{
	uint32_t q = cfg->max_queued_messages;

	if (q == 0 || q / 2 >= THROTTLE_QUEUE) {
		return THROTTLE_QUEUE;
	}
	return q / 2 > 16 ? q / 2 : 16;
}

static void
send_ack(struct broker_conn *c, uint8_t type, uint16_t pid, uint8_t reason)
{
	struct proto_packet r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.version = c->version;
	r.ack.packet_id = pid;
	r.ack.reason = c->version == PROTO_V5 ? reason : 0;
	broker__conn_send(c, &r);
}

/* The larger of worst and s's backlog: what waits in its queue plus what
 * is on its way there through an inbox.  Read from any loop. */
static uint32_t
max_backlog(uint32_t worst, struct broker_session *s)
{
	uint32_t q = atomic_load_explicit(&s->queued_hint,
	    memory_order_relaxed) +
	    atomic_load_explicit(&s->in_transit, memory_order_relaxed);

	return q > worst ? q : worst;
}

static int
by_session(const void *a, const void *b)
{
	const struct broker_target *x = a, *y = b;
	return x->s < y->s ? -1 : x->s > y->s;
}

/* One delivery of the route: after the commit for a durable session,
 * at once otherwise. */
static void
deliver(struct broker_loop *l, struct broker_session *s, struct broker_msg *m,
    const struct broker_subopts *o, bool *durable)
{
	if (broker__persist_route(l, m, s, o)) {
		if (durable != NULL) {
			*durable = true;
		}
	} else {
		broker__session_deliver(l, s, m, o, false);
	}
}

uint32_t
broker__route(struct broker_loop *l, struct broker_msg *m,
    struct broker_session *from, bool *durable)
{
	struct broker_targets *ts = &l->targets;
	uint32_t worst = 0;
	size_t i, j;

	ts->n = 0;
	if (broker_trie_match(l->b->trie, m->topic, m->topic_len, ts) != 0) {
		LOG_WARN("Out of memory routing a message on %s.", m->topic);
	}
	if (ts->n > 1) {
		qsort(ts->v, ts->n, sizeof(ts->v[0]), by_session);
	}
	for (i = 0; i < ts->n; i = j) {
		struct broker_subopts o = ts->v[i].o;
		bool skip = o.no_local && ts->v[i].s == from;
		bool ids = false;

		for (j = i; j < ts->n && ts->v[j].s == ts->v[i].s; j++) {
			ids = ids || ts->v[j].o.sub_id != 0;
		}
		if (ids && j - i > 1) {
			/* Overlapping subscriptions with identifiers: one copy
			 * each, with its own identifier, as 3.3.4 allows. */
			for (size_t k = i; k < j; k++) {
				if (ts->v[k].o.no_local && ts->v[k].s == from) {
					continue;
				}
				worst = max_backlog(worst, ts->v[k].s);
				deliver(l, ts->v[k].s, m, &ts->v[k].o, durable);
			}
			for (size_t k = i; k < j; k++) {
				broker_session_unref(ts->v[k].s);
			}
			continue;
		}
		/* Merge this session's matches into one delivery with the
		 * highest QoS [MQTT-3.3.4-2]. */
		for (j = i + 1; j < ts->n && ts->v[j].s == ts->v[i].s; j++) {
			const struct broker_subopts *p = &ts->v[j].o;
			bool nl = p->no_local && ts->v[j].s == from;
			if (skip && !nl) {
				o = *p;
				skip = false;
			} else if (!nl && p->qos > o.qos) {
				o.qos = p->qos;
			}
			if (!nl && p->retain_as_published) {
				o.retain_as_published = true;
			}
			if (!nl && o.sub_id == 0) {
				o.sub_id = p->sub_id;
			}
		}
		if (!skip) {
			worst = max_backlog(worst, ts->v[i].s);
			deliver(l, ts->v[i].s, m, &o, durable);
		}
		for (size_t k = i; k < j; k++) {
			broker_session_unref(ts->v[k].s);
		}
	}
	ts->n = 0;
	broker__persist_route_end(l);
	return worst;
}

/* While the store fails: would m need it?  Retained messages do, and
 * QoS 1/2 messages with a durable subscriber.  Only asked then, so the
 * extra match costs nothing in normal operation. */
static bool
needs_storage(struct broker_loop *l, const struct broker_msg *m)
{
	struct broker_targets *ts = &l->targets;
	bool need = m->retain;

	ts->n = 0;
	broker_trie_match(l->b->trie, m->topic, m->topic_len, ts);
	for (size_t i = 0; i < ts->n; i++) {
		need = need ||
		    (ts->v[i].o.qos > 0 &&
			atomic_load_explicit(&ts->v[i].s->durable,
			    memory_order_acquire));
		broker_session_unref(ts->v[i].s);
	}
	ts->n = 0;
	return need;
}

static bool
qos2_seen(struct broker_session *s, uint16_t pid)
{
	return s->qos2_in != NULL &&
	    (s->qos2_in[pid >> 6] & (UINT64_C(1) << (pid & 63))) != 0;
}

int
broker__session_qos2_mark(struct broker_session *s, uint16_t pid, bool on)
{
	if (s->qos2_in == NULL) {
		if (!on) {
			return 0;
		}
		s->qos2_in = calloc(1024, sizeof(uint64_t));
		if (s->qos2_in == NULL) {
			return -1;
		}
	}
	uint64_t bit = UINT64_C(1) << (pid & 63);
	bool was = (s->qos2_in[pid >> 6] & bit) != 0;
	if (on && !was) {
		s->qos2_in[pid >> 6] |= bit;
		s->qos2_count++;
	} else if (!on && was) {
		s->qos2_in[pid >> 6] &= ~bit;
		s->qos2_count--;
	}
	return 0;
}

/* Resolves the topic of a PUBLISH, learning or using a Topic Alias.
 * Returns 0 with *t, *tl set; or a reason code to disconnect with. */
static int
resolve_topic(struct broker_conn *c, const struct proto_publish *p,
    const uint8_t **t, size_t *tl)
{
	*t = p->topic.ptr;
	*tl = p->topic.len;
	if (!proto_props_has(&p->props, PROTO_PROP_TOPIC_ALIAS)) {
		return 0;
	}
	uint16_t a = p->props.topic_alias;
	if (a == 0 || a > c->alias_max) {
		return PROTO_RC_TOPIC_ALIAS_INVALID;
	}
	struct broker_conn_x *x = broker__conn_x(c);
	if (x == NULL) {
		return PROTO_RC_UNSPECIFIED;
	}
	if (x->aliases == NULL) {
		x->aliases = calloc((size_t)c->alias_max + 1, sizeof(*x->aliases));
		x->alias_len = calloc((size_t)c->alias_max + 1,
		    sizeof(*x->alias_len));
		if (x->aliases == NULL || x->alias_len == NULL) {
			return PROTO_RC_UNSPECIFIED;
		}
	}
	if (p->topic.len > 0) {
		uint8_t *copy = malloc(p->topic.len);
		if (copy == NULL) {
			return PROTO_RC_UNSPECIFIED;
		}
		memcpy(copy, p->topic.ptr, p->topic.len);
		free(x->aliases[a]);
		x->aliases[a] = copy;
		x->alias_len[a] = (uint16_t)p->topic.len;
		return 0;
	}
	if (x->aliases[a] == NULL) {
		/* An alias nobody set [MQTT-3.3.4-?]: protocol error. */
		return PROTO_RC_PROTOCOL_ERROR;
	}
	*t = x->aliases[a];
	*tl = x->alias_len[a];
	return 0;
}

void
broker__handle_publish(struct broker_conn *c, const struct proto_packet *pkt)
{
	const struct proto_publish *p = &pkt->publish;
	struct broker_loop *l = c->loop;
	const struct broker_config *cfg = l->b->cfg;
	struct broker_session *s = c->s;
	uint8_t ack = p->qos == 1 ? PROTO_PUBACK : PROTO_PUBREC;
	const uint8_t *topic;
	size_t tlen;
	struct broker_msg *m;
	int rc;

	atomic_fetch_add_explicit(&l->msgs_in, 1, memory_order_relaxed);
	/* Only servers send Subscription Identifiers [MQTT-3.3.4-6]. */
	if (proto_props_has(&p->props, PROTO_PROP_SUB_ID)) {
		atomic_fetch_add_explicit(&l->bad_input, 1, memory_order_relaxed);
		broker__conn_close(c, PROTO_RC_PROTOCOL_ERROR,
		    "Subscription Identifier from a client");
		return;
	}
	if ((rc = resolve_topic(c, p, &topic, &tlen)) != 0) {
		broker__conn_close(c, rc, "bad topic alias");
		return;
	}
	if (p->retain && !cfg->retain_available) {
		broker__conn_close(c, PROTO_RC_RETAIN_NOT_SUPPORTED,
		    "retain not available");
		return;
	}
	/* Payload Format Indicator 1 promises UTF-8 [MQTT-3.3.2-4]. */
	if (proto_props_has(&p->props, PROTO_PROP_PAYLOAD_FORMAT) &&
	    p->props.payload_format == 1 &&
	    proto_utf8_check(p->payload.ptr, p->payload.len, NULL) != 0) {
		if (p->qos == 0) {
			broker__conn_close(c, PROTO_RC_PAYLOAD_FORMAT_INVALID,
			    "payload is not UTF-8");
		} else {
			send_ack(c, ack, p->packet_id,
			    PROTO_RC_PAYLOAD_FORMAT_INVALID);
		}
		return;
	}
	if (cfg->message_size_limit != 0 &&
	    p->payload.len > cfg->message_size_limit) {
		/* Dropped, but acknowledged so the client moves on, as
		 * Mosquitto does; MQTT 5 is told why. */
		if (p->qos > 0) {
			send_ack(c, ack, p->packet_id,
			    PROTO_RC_IMPLEMENTATION_SPECIFIC);
		}
		return;
	}
	if (p->qos == 2 && qos2_seen(s, p->packet_id)) {
		/* A resend of a QoS 2 message we have: acknowledge again,
		 * deliver nothing twice [MQTT-4.3.3-10]. */
		send_ack(c, PROTO_PUBREC, p->packet_id, 0);
		return;
	}
	/* More unfinished QoS 2 flows than our Receive Maximum
	 * [MQTT-3.3.4-9]: QoS 1 is acknowledged at once, so only QoS 2
	 * counts. */
	if (p->qos == 2 && c->version == PROTO_V5 &&
	    cfg->max_inflight_messages != 0 &&
	    s->qos2_count >= cfg->max_inflight_messages) {
		broker__conn_close(c, PROTO_RC_RECEIVE_MAX_EXCEEDED,
		    "receive maximum exceeded");
		return;
	}
	m = broker_msg_from_publish(p, topic, tlen, uv_now(&l->loop), 0);
	if (m == NULL) {
		broker__conn_close(c, PROTO_RC_UNSPECIFIED, "out of memory");
		return;
	}
	m->origin = s;
	broker__persist_msg_id(l, m);
	if (p->qos > 0 && broker__persist_refuse(l) && needs_storage(l, m)) {
		/* The disk is failing: refuse what we could not keep
		 * (3.1.1 has no way to say so but closing). */
		broker_msg_unref(m);
		if (c->version == PROTO_V5) {
			send_ack(c, ack, p->packet_id, PROTO_RC_QUOTA_EXCEEDED);
		} else {
			broker__conn_close(c, -1, "storage unavailable");
		}
		return;
	}
	bool durable = false;
	if (p->retain) {
		broker_retain_put(l->b->retain, m);
		broker__persist_retain(l, m);
		durable = l->b->store != NULL;
	}
	uint32_t worst = broker__route(l, m, s, &durable);
	broker_msg_unref(m);
	/* Back-pressure: a QoS 1/2 publisher feeding a subscriber that is
	 * already far behind waits a moment before we read more from it, so
	 * queues stay short and the subscriber's acknowledgements get their
	 * turn.  QoS 0 is never slowed: it is dropped for slow subscribers. */
	if (p->qos > 0 && worst > throttle_at(cfg)) {
		broker__conn_throttle(c);
	}
	if (p->qos == 2) {
		if (broker__session_qos2_mark(s, p->packet_id, true) != 0) {
			broker__conn_close(c, PROTO_RC_UNSPECIFIED,
			    "out of memory");
			return;
		}
		if (s->stored) {
			broker__persist_qos2(l, s, p->packet_id, true);
			durable = true;
		}
	}
	if (p->qos > 0) {
		/* Acknowledged once what it changed is on disk. */
		if (durable) {
			broker__persist_hold(c);
		}
		send_ack(c, ack, p->packet_id, 0);
	}
}

void
broker__handle_ack(struct broker_conn *c, const struct proto_packet *p)
{
	struct broker_session *s = c->s;

	switch (p->type) {
	case PROTO_PUBREL:
		/* Our side of an incoming QoS 2 flow: forget the id, answer
		 * PUBCOMP (also for an id we do not know, as 4.3.3 allows
		 * with reason 0x92 in MQTT 5). */
		if (qos2_seen(s, p->ack.packet_id) && s->stored) {
			/* PUBCOMP once the id is gone from disk too, or a
			 * restart would take the id's next use for a resend. */
			broker__persist_qos2(c->loop, s, p->ack.packet_id, false);
			broker__persist_hold(c);
		}
		send_ack(c, PROTO_PUBCOMP, p->ack.packet_id,
		    qos2_seen(s, p->ack.packet_id)
			? 0
			: PROTO_RC_PACKET_ID_NOT_FOUND);
		broker__session_qos2_mark(s, p->ack.packet_id, false);
		break;
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBCOMP:
		if (p->type == PROTO_PUBREC && p->ack.reason >= 0x80) {
			/* Refused by the client: the flow ends here. */
			broker__session_complete(c->loop, s, p->ack.packet_id,
			    0);
			break;
		}
		broker__session_complete(c->loop, s, p->ack.packet_id, p->type);
		break;
	}
}
