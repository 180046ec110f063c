/*
 * handle_subscribe.c - SUBSCRIBE and UNSUBSCRIBE: per-entry checks of the
 * topic filter (answered in SUBACK/UNSUBACK, not by disconnecting), the
 * trie and the session's own list of subscriptions, and retained
 * messages on subscribe with Retain Handling.  Runs on the connection's
 * loop.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 4096 /* per SUBSCRIBE; more is refused in the SUBACK */

struct retained_ctx {
	struct broker_loop *l;
	struct broker_session *s;
	struct broker_subopts o;
};

static void
send_retained(void *arg, struct broker_msg *m)
{
	struct retained_ctx *rc = arg;

	broker__session_deliver(rc->l, rc->s, m, &rc->o, true);
	broker_msg_unref(m);
}

/* Records sub in the session's list (o->share is set here for a shared
 * one); returns the record, NULL on ENOMEM. */
static struct broker_sub *
remember(struct broker_session *s, const struct proto_str *f,
    struct broker_subopts *o, bool shared, bool *is_new)
{
	struct broker_sub *x;

	for (x = s->subs; x != NULL; x = x->next) {
		if (x->flen == f->len && memcmp(x->filter, f->ptr, f->len) == 0) {
			break;
		}
	}
	*is_new = x == NULL;
	if (x == NULL) {
		x = calloc(1, sizeof(*x));
		if (x == NULL || (x->filter = malloc(f->len)) == NULL) {
			free(x);
			return NULL;
		}
		memcpy(x->filter, f->ptr, f->len);
		x->flen = (uint16_t)f->len;
		if (++s->sub_seq == 0) {
			s->sub_seq = 1;
		}
		x->seq = s->sub_seq;
		x->next = s->subs;
		s->subs = x;
	}
	o->share = shared ? x->seq : 0;
	x->o = *o;
	return x;
}

/* Drops sub f from the session's list; true if it was there, with its
 * trie entry in *tentry. */
static bool
forget(struct broker_session *s, const struct proto_str *f, void **tentry)
{
	for (struct broker_sub **pp = &s->subs; *pp != NULL; pp = &(*pp)->next) {
		struct broker_sub *x = *pp;
		if (x->flen == f->len && memcmp(x->filter, f->ptr, f->len) == 0) {
			*pp = x->next;
			/* What is in flight through it stays with s. */
			for (struct broker_delivery *d = s->out_head; d != NULL;
			    d = d->next) {
				if (d->share == x) {
					d->share = NULL;
				}
			}
			*tentry = x->tentry;
			free(x->filter);
			free(x);
			return true;
		}
	}
	return false;
}

void
broker__handle_subscribe(struct broker_conn *c, const struct proto_packet *p)
{
	const struct proto_subscribe *k = &p->subscribe;
	struct broker_loop *l = c->loop;
	struct broker_session *s = c->s;
	uint8_t codes[MAX_ENTRIES];
	struct proto_sub_entry e;
	struct proto_packet r;
	uint32_t pos = 0, n = 0, nwant = 0;
	uint32_t sub_id = proto_props_has(&k->props, PROTO_PROP_SUB_ID)
	    ? k->props.sub_id
	    : 0;
	struct {
		struct proto_str filter; /* borrows the packet */
		struct broker_subopts o;
	} *want = calloc(k->count < MAX_ENTRIES ? k->count : MAX_ENTRIES,
	    sizeof(*want));

	if (want == NULL) {
		broker__conn_close(c, PROTO_RC_UNSPECIFIED, "out of memory");
		return;
	}

	while (proto_sub_next(k, c->version, &pos, &e)) {
		struct proto_str group = { NULL, 0 }, filter = e.filter;
		struct broker_subopts o;
		bool is_new = true, ok;
		int shared;
		uint8_t code;

		if (n == MAX_ENTRIES) {
			break;
		}
		shared = proto_share_parse(e.filter.ptr, e.filter.len, &group,
		    &filter);
		if (shared < 0 ||
		    proto_filter_check(filter.ptr, filter.len) != 0) {
			/* 3.1 had no failure code: it gets 0x80 anyway. */
			codes[n++] = c->version == PROTO_V5
			    ? PROTO_RC_TOPIC_FILTER_INVALID
			    : 0x80;
			continue;
		}
		if (shared == 1 && e.no_local) {
			/* No Local on a shared subscription [MQTT-3.8.3-4]. */
			free(want);
			broker__conn_close(c, PROTO_RC_PROTOCOL_ERROR,
			    "No Local on a shared subscription");
			return;
		}
		memset(&o, 0, sizeof(o));
		o.qos = e.qos;
		o.no_local = e.no_local;
		o.retain_as_published = e.retain_as_published;
		o.retain_handling = e.retain_handling;
		o.sub_id = sub_id;
		struct broker_sub *x = remember(s, &e.filter, &o, shared == 1,
		    &is_new);
		ok = x != NULL;
		if (ok && (is_new ? broker_trie_add_new : broker_trie_add)(
			      l->b->trie, filter.ptr, filter.len,
			      shared == 1 ? group.ptr : NULL, group.len, s,
			      &o, &x->tentry) < 0) {
			if (is_new) {
				void *none;
				forget(s, &e.filter, &none);
			}
			ok = false;
		}
		if (!ok) {
			codes[n++] = c->version == PROTO_V5
			    ? PROTO_RC_UNSPECIFIED
			    : 0x80;
			continue;
		}
		broker__persist_sub(l, s, e.filter.ptr, (uint16_t)e.filter.len,
		    &o);
		code = e.qos;
		codes[n++] = code;
		broker_log(BROKER_LOG_SUBSCRIBE, "%s %u %.*s", s->id, e.qos,
		    (int)e.filter.len, (const char *)e.filter.ptr);
		/* Retained messages: not for shared subscriptions; Retain
		 * Handling 1 only for a new one, 2 never [MQTT-3.3.1-9..11].
		 * They follow the SUBACK, so note which entries want them. */
		if (shared != 1 && (o.retain_handling == 0 ||
				       (o.retain_handling == 1 && is_new))) {
			want[nwant].filter = filter;
			want[nwant].o = o;
			nwant++;
		}
	}
	if (s->stored) {
		broker__persist_hold(c); /* SUBACK once it is on disk */
	}
	memset(&r, 0, sizeof(r));
	r.type = PROTO_SUBACK;
	r.version = c->version;
	r.suback.packet_id = k->packet_id;
	r.suback.count = n;
	r.suback.reasons = codes;
	broker__conn_send(c, &r);
	for (uint32_t i = 0; i < nwant; i++) {
		struct retained_ctx rc = { l, s, want[i].o };
		broker_retain_match(l->b->retain, want[i].filter.ptr,
		    want[i].filter.len, send_retained, &rc);
	}
	free(want);
}

void
broker__handle_unsubscribe(struct broker_conn *c, const struct proto_packet *p)
{
	const struct proto_unsubscribe *k = &p->unsubscribe;
	struct broker_loop *l = c->loop;
	struct broker_session *s = c->s;
	uint8_t codes[MAX_ENTRIES];
	struct proto_str f;
	struct proto_packet r;
	uint32_t pos = 0, n = 0;

	while (proto_unsub_next(k, &pos, &f) && n < MAX_ENTRIES) {
		struct proto_str group = { NULL, 0 }, filter = f;
		int shared = proto_share_parse(f.ptr, f.len, &group, &filter);

		if (shared < 0 || proto_filter_check(filter.ptr, filter.len)) {
			codes[n++] = PROTO_RC_TOPIC_FILTER_INVALID;
			continue;
		}
		void *tentry = NULL;
		bool had = forget(s, &f, &tentry);
		if (had) {
			broker__persist_sub(l, s, f.ptr, (uint16_t)f.len, NULL);
			broker_trie_remove(l->b->trie, filter.ptr, filter.len,
			    shared == 1 ? group.ptr : NULL, group.len, s,
			    tentry);
		}
		codes[n++] = had ? PROTO_RC_SUCCESS
				 : PROTO_RC_NO_SUBSCRIPTION_EXISTED;
		broker_log(BROKER_LOG_UNSUBSCRIBE, "%s %.*s", s->id,
		    (int)f.len, (const char *)f.ptr);
	}
	if (s->stored) {
		broker__persist_hold(c);
	}
	memset(&r, 0, sizeof(r));
	r.type = PROTO_UNSUBACK;
	r.version = c->version;
	r.suback.packet_id = k->packet_id;
	r.suback.count = n;
	r.suback.reasons = codes;
	broker__conn_send(c, &r);
}
