/*
 * handle_connect.c - CONNECT: authentication policy, client identifier
 * rules, keepalive limits, the will, and attaching the session - found in
 * the registry, created, or taken over from the loop that owns it - then
 * CONNACK.  Runs on the connection's loop.
 */
#include "broker/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_ALIAS_MAX 10  /* client->server aliases we accept */
#define V31_MAX_ID 23       /* MQTT 3.1 client identifier limit */

/* Properties of a will that must not reach its PUBLISH. */
#define WILL_ONLY PROTO_PROP_BIT(PROTO_PROP_WILL_DELAY)

/* Refuses the CONNECT with an MQTT 5 reason code (mapped to the 3.1.1
 * return code for older clients) and closes. */
static void
refuse(struct broker_conn *c, uint8_t reason, const char *why)
{
	struct proto_packet r;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_CONNACK;
	r.version = c->version;
	r.connack.reason = c->version == PROTO_V5 ? reason
						  : proto_connack_v3_code(reason);
	c->state = CONN_ACTIVE; /* allow the send; close flushes it */
	broker__conn_send(c, &r);
	c->version = 0;         /* no DISCONNECT after a CONNACK refusal */
	char peer[BROKER_PEER_LEN];
	LOG_NOTICE("Refused connection from %s: %s.",
	    broker__conn_peer(c, peer, sizeof(peer)), why);
	broker__conn_close(c, -1, NULL);
}

static struct broker_msg *
make_will(struct broker_conn *c, const struct proto_connect *k)
{
	struct proto_publish p;

	memset(&p, 0, sizeof(p));
	p.qos = k->will.qos;
	p.retain = k->will.retain;
	p.topic = k->will.topic;
	p.payload = k->will.payload;
	p.props = k->will.props;
	return broker_msg_from_publish(&p, k->will.topic.ptr, k->will.topic.len,
	    uv_now(&c->loop->loop), WILL_ONLY);
}

/* Session parameters asked for in CONNECT, kept until attach. */
static void
setup_session(struct broker_conn *c, struct broker_session *s,
    const struct proto_connect *k)
{
	const struct broker_config *cfg = c->loop->b->cfg;

	s->version = c->version;
	s->clean = k->clean_start;
	if (c->version == PROTO_V5) {
		s->expiry = proto_props_has(&k->props, PROTO_PROP_SESSION_EXPIRY)
		    ? k->props.session_expiry
		    : 0;
		s->recv_max = proto_props_has(&k->props, PROTO_PROP_RECEIVE_MAX)
		    ? k->props.receive_max
		    : 65535;
		s->max_packet =
		    proto_props_has(&k->props, PROTO_PROP_MAX_PACKET_SIZE)
		    ? k->props.max_packet_size
		    : 0;
	} else {
		s->expiry = k->clean_start ? 0 : UINT32_MAX;
		s->recv_max = 65535;
		s->max_packet = 0;
	}
	/* persistent_client_expiration bounds sessions that would live for
	 * ever. */
	if (cfg->persistent_client_expiration != 0 && s->expiry != 0 &&
	    s->expiry > cfg->persistent_client_expiration) {
		s->expiry = (uint32_t)cfg->persistent_client_expiration;
	}
}

/* Attaches s to c, sends CONNACK, resends what was in flight. */
static void
attach(struct broker_conn *c, struct broker_session *s, bool present,
    const struct proto_connect *k, struct broker_msg *will,
    uint32_t will_delay, const char *assigned, uint16_t server_ka)
{
	struct broker_loop *l = c->loop;
	struct broker *b = l->b;
	const struct broker_config *cfg = b->cfg;
	struct proto_packet r;

	/* A resumed session cancels a delayed will of its last
	 * connection [MQTT-3.1.3-9]. */
	broker_wheel_del(&s->expiry_timer);
	if (broker__session_set_will(s, will, will_delay) != 0) {
		LOG_WARN("Out of memory: the will of %s is dropped.", s->id);
	}
	setup_session(c, s, k);
	s->conn = c;
	c->s = broker_session_ref(s);
	broker__persist_session(l, s);
	c->state = CONN_ACTIVE;
	c->keepalive = server_ka;
	c->last_rx = broker__now_t(l);
	if (c->keepalive != 0) {
		broker_wheel_set(&l->wheel, &c->ka,
		    c->last_rx +
			(uint64_t)c->keepalive * BROKER_TICKS_PER_S * 3 / 2 + 1);
	} else {
		broker_wheel_del(&c->ka);
	}
	atomic_fetch_add_explicit(&l->clients, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->clients_total, 1, memory_order_relaxed);

	memset(&r, 0, sizeof(r));
	r.type = PROTO_CONNACK;
	r.version = c->version;
	r.connack.session_present = present;
	if (c->version == PROTO_V5) {
		struct proto_props *pr = &r.connack.props;
		if (assigned != NULL) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_ASSIGNED_CLIENT_ID);
			pr->assigned_client_id.ptr = (const uint8_t *)assigned;
			pr->assigned_client_id.len = (uint32_t)strlen(assigned);
		}
		if (server_ka != k->keepalive) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_SERVER_KEEP_ALIVE);
			pr->server_keep_alive = server_ka;
		}
		if (cfg->max_inflight_messages != 0 &&
		    cfg->max_inflight_messages < 65535) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_RECEIVE_MAX);
			pr->receive_max = (uint16_t)cfg->max_inflight_messages;
		}
		if (cfg->max_packet_size != 0) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_MAX_PACKET_SIZE);
			pr->max_packet_size = cfg->max_packet_size;
		}
		if (!cfg->retain_available) {
			pr->present |= PROTO_PROP_BIT(PROTO_PROP_RETAIN_AVAILABLE);
			pr->retain_available = 0;
		}
		pr->present |= PROTO_PROP_BIT(PROTO_PROP_TOPIC_ALIAS_MAX);
		pr->topic_alias_max = TOPIC_ALIAS_MAX;
		c->alias_max = TOPIC_ALIAS_MAX;
		if (proto_props_has(&k->props, PROTO_PROP_TOPIC_ALIAS_MAX)) {
			c->oalias_max =
			    k->props.topic_alias_max < BROKER_OUT_ALIASES
			    ? k->props.topic_alias_max
			    : BROKER_OUT_ALIASES;
		}
	}
	broker__conn_send(c, &r);
	if (cfg->connection_messages) {
		char peer[BROKER_PEER_LEN];
		LOG_NOTICE("New client connected from %s as %s (p%u, c%u, k%u).",
		    broker__conn_peer(c, peer, sizeof(peer)), s->id, c->version, k->clean_start ? 1 : 0,
		    c->keepalive);
	}
	if (present) {
		broker__session_resume(l, s);
	}
}

/* What a connection waiting for its session remembers of its CONNECT:
 * the decoded packet borrows the read buffer, which is gone by then. */
struct pending_connect {
	struct proto_connect k;
	struct broker_msg *will;
	uint32_t will_delay;
	uint16_t server_ka;
	char assigned[40];
	bool has_assigned;
};

void
broker__connect_pending_free(void *pending)
{
	struct pending_connect *pc = pending;

	if (pc != NULL) {
		broker_msg_unref(pc->will);
		free(pc);
	}
}

void
broker__connect_adopted(struct broker_conn *c, struct broker_session *s,
    bool clean)
{
	struct broker_loop *l = c->loop;
	struct broker *b = l->b;
	struct pending_connect *pc = c->x->pending;
	bool present = !clean;

	c->x->pending = NULL;
	/* The session may have ended on its way here: register it again
	 * unless a new one took its id meanwhile. */
	if (!s->registered) {
		pthread_mutex_lock(&b->sessions_mu);
		if (broker__registry_find(b, s->id, s->id_len) == NULL) {
			broker__registry_add(b, s);
		}
		pthread_mutex_unlock(&b->sessions_mu);
		present = false;
	}
	if (clean) {
		broker__session_clear(l, s);
	}
	attach(c, s, present, &pc->k,
	    pc->will, pc->will_delay, pc->has_assigned ? pc->assigned : NULL,
	    pc->server_ka);
	free(pc);
	broker__conn_read_start(c);
	broker__conn_resume(c);
}

void
broker__handle_connect(struct broker_conn *c, const struct proto_packet *p)
{
	const struct proto_connect *k = &p->connect;
	struct broker_loop *l = c->loop;
	struct broker *b = l->b;
	const struct broker_config *cfg = b->cfg;
	char assigned[40];
	const char *id = (const char *)k->client_id.ptr;
	size_t id_len = k->client_id.len;
	bool has_assigned = false;
	uint16_t server_ka = k->keepalive;
	struct broker_msg *will = NULL;
	uint32_t will_delay = 0;
	struct broker_session *s;

	c->version = p->version;
	if (!cfg->allow_anonymous) {
		/* No authentication backend exists yet (password_file is
		 * refused at start-up), so nobody may connect. */
		refuse(c, PROTO_RC_NOT_AUTHORIZED,
		    "allow_anonymous is false");
		return;
	}
	if (id_len == 0) {
		/* MQTT 3.1 needs an id; 3.1.1 only for a persistent session
		 * [MQTT-3.1.3-8]; otherwise we assign one. */
		if (c->version == PROTO_V31 ||
		    (c->version == PROTO_V311 && !k->clean_start)) {
			refuse(c, PROTO_RC_CLIENT_ID_NOT_VALID,
			    "empty client id");
			return;
		}
		snprintf(assigned, sizeof(assigned), "auto-%08x%08x",
		    (unsigned)((uintptr_t)c >> 4) ^ (unsigned)uv_hrtime(),
		    (unsigned)(uv_hrtime() >> 20) ^ (unsigned)rand());
		id = assigned;
		id_len = strlen(assigned);
		has_assigned = c->version == PROTO_V5;
	} else if (c->version == PROTO_V31 && id_len > V31_MAX_ID) {
		refuse(c, PROTO_RC_CLIENT_ID_NOT_VALID, "client id too long");
		return;
	}
	/* max_keepalive: MQTT 5 clients are told the server's value; older
	 * ones that ask for more are refused, as Mosquitto does. */
	if (cfg->max_keepalive != 65535 &&
	    (k->keepalive > cfg->max_keepalive || k->keepalive == 0)) {
		if (c->version == PROTO_V5) {
			server_ka = cfg->max_keepalive;
		} else if (k->keepalive > cfg->max_keepalive) {
			refuse(c, PROTO_RC_CLIENT_ID_NOT_VALID,
			    "keepalive above max_keepalive");
			return;
		}
	}
	if (k->will_flag) {
		if (k->will.retain && !cfg->retain_available) {
			refuse(c, PROTO_RC_RETAIN_NOT_SUPPORTED,
			    "will retain with retain_available false");
			return;
		}
		will = make_will(c, k);
		if (will == NULL) {
			refuse(c, PROTO_RC_SERVER_UNAVAILABLE, "out of memory");
			return;
		}
		if (proto_props_has(&k->will.props, PROTO_PROP_WILL_DELAY)) {
			will_delay = k->will.props.will_delay;
		}
	}

	pthread_mutex_lock(&b->sessions_mu);
	s = broker__registry_find(b, id, id_len);
	if (s == NULL) {
		s = broker__session_new(b, id, id_len, l->idx);
		if (s == NULL || broker__registry_add(b, s) != 0) {
			pthread_mutex_unlock(&b->sessions_mu);
			broker_session_unref(s);
			broker_msg_unref(will);
			refuse(c, PROTO_RC_SERVER_UNAVAILABLE, "out of memory");
			return;
		}
		pthread_mutex_unlock(&b->sessions_mu);
		attach(c, s, false, k, will, will_delay,
		    has_assigned ? assigned : NULL, server_ka);
		broker_session_unref(s); /* the registry keeps its own */
		return;
	}
	int owner = atomic_load(&s->owner);
	if (owner == l->idx) {
		/* A session that was to end with its connection (expiry 0)
		 * does not outlive a takeover: the new client starts afresh
		 * [MQTT-3.1.2-4]. */
		bool ended = s->expiry == 0;

		pthread_mutex_unlock(&b->sessions_mu);
		if (s->conn != NULL) {
			s->conn->takeover = true;
			broker__conn_close(s->conn,
			    PROTO_RC_SESSION_TAKEN_OVER, "session taken over");
		}
		if (k->clean_start || ended) {
			broker__session_clear(l, s);
		}
		attach(c, s, !k->clean_start && !ended, k, will, will_delay,
		    has_assigned ? assigned : NULL, server_ka);
		return;
	}
	/* Owned by another loop: ask it to hand the session over, and wait
	 * (reading paused) until it arrives. */
	broker_session_ref(s);
	pthread_mutex_unlock(&b->sessions_mu);

	struct pending_connect *pc = calloc(1, sizeof(*pc));
	struct broker_inbox_item *it = calloc(1, sizeof(*it));
	if (pc == NULL || it == NULL || broker__conn_x(c) == NULL) {
		free(pc);
		free(it);
		broker_session_unref(s);
		broker_msg_unref(will);
		refuse(c, PROTO_RC_SERVER_UNAVAILABLE, "out of memory");
		return;
	}
	pc->k = *k; /* only scalars and props flags are used later */
	pc->will = will;
	pc->will_delay = will_delay;
	pc->server_ka = server_ka;
	pc->has_assigned = has_assigned;
	if (has_assigned) {
		memcpy(pc->assigned, assigned, sizeof(pc->assigned));
	}
	c->x->pending = pc;
	c->paused = true;
	c->adopt_pending = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	it->kind = INBOX_TAKEOVER;
	it->s = s;
	it->target = l->idx;
	it->ptr = c;
	it->clean = k->clean_start;
	broker__loop_post(&b->loops[owner], it);
}
