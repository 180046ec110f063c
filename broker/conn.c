/*
 * conn.c - what a connection does with a decoded packet: the one
 * dispatch switch, answers to bad input, the pause/resume of a connection
 * whose session is moving between loops, the wheel's deadlines, and the
 * inbox messages loops send each other.  Runs on the connection's loop.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

void
broker__conn_packet(struct broker_conn *c, const struct proto_packet *p)
{
	/* Keepalive counts whole control packets, not bytes [MQTT-3.1.2-22]:
	 * trickling one packet's bytes does not keep a connection alive. */
	c->last_rx = c->loop->now_t;
	if (c->state == CONN_NEW) {
		if (p->type != PROTO_CONNECT) {
			atomic_fetch_add_explicit(&c->loop->bad_input, 1,
			    memory_order_relaxed);
			broker__conn_close(c, -1,
			    "first packet was not CONNECT");
			return;
		}
		broker__handle_connect(c, p);
		return;
	}
	switch (p->type) {
	case PROTO_PUBLISH:
		broker__handle_publish(c, p);
		break;
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBREL:
	case PROTO_PUBCOMP:
		broker__handle_ack(c, p);
		break;
	case PROTO_SUBSCRIBE:
		broker__handle_subscribe(c, p);
		break;
	case PROTO_UNSUBSCRIBE:
		broker__handle_unsubscribe(c, p);
		break;
	case PROTO_PINGREQ: {
		struct proto_packet r;
		memset(&r, 0, sizeof(r));
		r.type = PROTO_PINGRESP;
		r.version = c->version;
		broker__conn_send(c, &r);
		break;
	}
	case PROTO_DISCONNECT:
		if (c->version == PROTO_V5) {
			const struct proto_disconnect *d = &p->disconnect;
			/* A session that was to end at disconnect cannot be
			 * given an expiry now [MQTT-3.14.2-2]. */
			if (proto_props_has(&d->props,
				PROTO_PROP_SESSION_EXPIRY)) {
				if (c->s->expiry == 0 &&
				    d->props.session_expiry != 0) {
					broker__conn_close(c,
					    PROTO_RC_PROTOCOL_ERROR,
					    "session expiry set at DISCONNECT");
					return;
				}
				c->s->expiry = d->props.session_expiry;
			}
			c->will_suppressed =
			    d->reason != PROTO_RC_DISCONNECT_WITH_WILL;
		} else {
			c->will_suppressed = true;
		}
		broker__conn_close(c, -1, "disconnected");
		break;
	case PROTO_CONNECT:
		broker__conn_close(c, PROTO_RC_PROTOCOL_ERROR,
		    "second CONNECT");
		break;
	default:
		/* CONNACK, SUBACK, UNSUBACK, PINGRESP, AUTH: a client never
		 * sends these to a server (AUTH without an authentication
		 * method is a protocol error too). */
		atomic_fetch_add_explicit(&c->loop->bad_input, 1,
		    memory_order_relaxed);
		broker__conn_close(c, PROTO_RC_PROTOCOL_ERROR,
		    "unexpected packet");
		break;
	}
}

void
broker__conn_reject(struct broker_conn *c, int err)
{
	uint8_t rc = proto_error_reason(err);

	if (c->state == CONN_NEW) {
		/* Before CONNACK.  An unknown protocol level gets CONNACK
		 * return code 1 in the 3.1.1 format, which every client
		 * understands [MQTT-3.1.2-2]; any other broken CONNECT is
		 * simply closed, since its level cannot be trusted. */
		if (err == PROTO_EVERSION) {
			struct proto_packet r;

			memset(&r, 0, sizeof(r));
			r.type = PROTO_CONNACK;
			r.version = PROTO_V311;
			r.connack.reason = PROTO_CONNACK_BAD_VERSION;
			c->state = CONN_ACTIVE; /* so the send is allowed */
			broker__conn_send(c, &r);
			c->state = CONN_NEW;
		}
		broker__conn_close(c, -1, proto_strerror(err));
		return;
	}
	broker__conn_close(c, rc, proto_strerror(err));
}

void
broker__conn_feed(struct broker_conn *c, const uint8_t *p, size_t left)
{
	static const uint8_t none[1];
	struct broker_loop *l = c->loop;

	if (p == NULL) {
		p = none; /* no arithmetic on NULL, even + 0 */
	}

	while (c->state != CONN_CLOSING && !c->paused && !c->throttled) {
		struct proto_packet pkt;
		size_t used;
		int rc = proto_reader_feed(&c->rd, p, left, &used, &pkt);

		p += used;
		left -= used;
		if (rc == PROTO_MORE) {
			return;
		}
		if (rc < 0) {
			atomic_fetch_add_explicit(&l->bad_input, 1,
			    memory_order_relaxed);
			char peer[BROKER_PEER_LEN];
			LOG_NOTICE("Bad packet from %s (%s): %s.",
			    c->s ? c->s->id : "new client",
			    broker__conn_peer(c, peer, sizeof(peer)),
			    proto_strerror(rc));
			broker__conn_reject(c, rc);
			return;
		}
		broker__conn_packet(c, &pkt);
	}
	/* A connection paused while its session moves here from another
	 * loop keeps what the client pipelined after CONNECT, to replay it
	 * once the session has arrived; a throttled one keeps the rest of
	 * its read until the pressure eases. */
	if (left > 0 && c->state != CONN_CLOSING &&
	    broker__conn_stash(c, p, left) != 0) {
		broker__conn_close(c, -1, "out of memory");
	}
}

int
broker__conn_stash(struct broker_conn *c, const uint8_t *p, size_t n)
{
	struct broker_conn_x *x = broker__conn_x(c);
	uint8_t *ns;

	if (x == NULL || (ns = realloc(x->stash, x->stash_len + n)) == NULL) {
		return -1;
	}
	memcpy(ns + x->stash_len, p, n);
	x->stash = ns;
	x->stash_len += n;
	return 0;
}

void
broker__conn_resume(struct broker_conn *c)
{
	uint8_t *st = c->x != NULL ? c->x->stash : NULL;
	size_t left = c->x != NULL ? c->x->stash_len : 0;
	const uint8_t *p = st;

	if (c->x != NULL) {
		c->x->stash = NULL;
		c->x->stash_len = 0;
	}
	c->paused = false;
	/* Feeding the stash may stash its own rest again (throttled). */
	broker__conn_feed(c, p, left);
	free(st);
}

struct broker_conn_x *
broker__conn_x(struct broker_conn *c)
{
	if (c->x == NULL) {
		c->x = calloc(1, sizeof(*c->x));
	}
	return c->x;
}

void
broker__conn_free_x(struct broker_conn *c)
{
	struct broker_conn_x *x = c->x;

	if (x == NULL) {
		return;
	}
	if (x->aliases != NULL) {
		for (uint32_t i = 0; i <= c->alias_max; i++) {
			free(x->aliases[i]);
		}
	}
	free(x->aliases);
	free(x->alias_len);
	if (x->oalias != NULL) {
		for (uint32_t i = 0; i < 2 * BROKER_OUT_ALIASES; i++) {
			free(x->oalias[i].topic);
		}
		free(x->oalias);
	}
	free(x->stash);
	broker__connect_pending_free(x->pending);
	free(x);
	c->x = NULL;
}

#define CONTAINER(p, type, field) \
	((type *)(void *)((char *)(p) - offsetof(type, field)))

/* A wheel deadline came due: keepalive or connect timeout of a
 * connection, the will delay or the expiry of a session. */
void
broker__wheel_fire(struct broker_wheel_entry *e, void *arg)
{
	struct broker_loop *l = arg;

	/* The entry is one of three fields; tell them apart by a tag kept
	 * beside them. */
	switch (e->kind) {
	case WHEEL_CONN: {
		struct broker_conn *c = CONTAINER(e, struct broker_conn, ka);
		uint64_t limit;

		if (c->state == CONN_CLOSING) {
			broker__conn_linger_expired(c);
			return;
		}
		if (c->state == CONN_NEW) {
			broker__conn_close(c, -1, "no CONNECT in time");
			return;
		}
		/* 1.5 times the keepalive without a packet [MQTT-3.1.2-24],
		 * never early (see broker__now_t()). */
		limit = c->last_rx +
		    (uint64_t)c->keepalive * BROKER_TICKS_PER_S * 3 / 2 + 1;
		if (c->keepalive == 0) {
			return;
		}
		if (l->now_t >= limit) {
			broker__conn_close(c, PROTO_RC_KEEP_ALIVE_TIMEOUT,
			    "keepalive timeout");
		} else {
			broker_wheel_set(&l->wheel, e, limit);
		}
		return;
	}
	case WHEEL_WILL: {
		struct broker_will *w = CONTAINER(e, struct broker_will, timer);
		broker__publish_will(l, w->s);
		return;
	}
	case WHEEL_EXPIRY: {
		struct broker_session *s =
		    CONTAINER(e, struct broker_session, expiry_timer);
		if (s->conn == NULL) {
			broker__session_end(l, s);
		}
		return;
	}
	}
}

void
broker__inbox_handle(struct broker_loop *l, struct broker_inbox_item *it)
{
	switch (it->kind) {
	case INBOX_DELIVER:
		atomic_fetch_sub_explicit(&it->s->in_transit, 1,
		    memory_order_relaxed);
		broker__session_deliver(l, it->s, it->m, &it->o, it->retained);
		broker_msg_unref(it->m);
		broker_session_unref(it->s);
		break;
	case INBOX_TAKEOVER: {
		/* s moves to loop `it->loop`, for connection it->ptr there.
		 * Close its connection here, if any, then send it on. */
		struct broker_session *s = it->s;
		struct broker_loop *to = &l->b->loops[it->target];

		if (atomic_load(&s->owner) != l->idx) {
			/* It moved on meanwhile: follow it. */
			broker__loop_post(&l->b->loops[atomic_load(&s->owner)],
			    it);
			return;
		}
		if (s->conn != NULL) {
			/* A session that was to end with its connection
			 * starts afresh for the new one [MQTT-3.1.2-4]. */
			if (s->expiry == 0) {
				it->clean = true;
			}
			s->conn->takeover = true;
			broker__conn_close(s->conn,
			    PROTO_RC_SESSION_TAKEN_OVER, "session taken over");
		}
		broker_wheel_del(&s->expiry_timer);
		if (s->will != NULL) {
			broker_wheel_del(&s->will->timer);
		}
		/* What this loop stored for s goes to the writer before
		 * anything the next owner stores. */
		broker__persist_flush(l);
		atomic_store(&s->owner, to->idx);
		it->kind = INBOX_ADOPT;
		broker__loop_post(to, it);
		return;
	}
	case INBOX_ADOPT: {
		struct broker_conn *c = it->ptr;
		struct broker_session *s = it->s;

		c->adopt_pending = false;
		if (c->dead) {
			/* The client left while its session travelled: the
			 * session stays here, offline. */
			broker__conn_release(c);
			broker__session_offline(l, s);
		} else {
			broker__connect_adopted(c, s, it->clean);
		}
		broker_session_unref(s);
		break;
	}
	case INBOX_STOP:
		broker__loop_stop_here(l);
		break;
	case INBOX_COMMIT:
		broker__persist_committed(l, it->seq, it->target);
		break;
	}
	free(it);
}
