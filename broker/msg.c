/*
 * msg.c - the immutable, reference-counted application message.
 *
 * Design notes.  A PUBLISH is decoded once on the publisher's loop and
 * copied once into a broker_msg: one allocation for the struct, topic,
 * forwardable properties and payload.  Every delivery, queue entry and
 * retained slot holds a reference; nobody writes to a message after
 * broker_msg_from_publish() returns, so any thread may read it.  The last
 * unref frees it, on whichever thread that happens.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

/* Properties that are per delivery and so not kept in the shared block. */
#define PER_DELIVERY                                                          \
	(PROTO_PROP_BIT(PROTO_PROP_TOPIC_ALIAS) |                             \
	    PROTO_PROP_BIT(PROTO_PROP_SUB_ID) |                               \
	    PROTO_PROP_BIT(PROTO_PROP_MESSAGE_EXPIRY))

static struct broker_msg *
alloc(size_t topic_len, size_t props_len, size_t payload_len)
{
	struct broker_msg *m;

	if (topic_len > UINT16_MAX || payload_len > UINT32_MAX) {
		return NULL;
	}
	m = malloc(sizeof(*m) + topic_len + props_len + payload_len + 1);
	if (m == NULL) {
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	atomic_init(&m->refs, 1);
	m->topic = (uint8_t *)(m + 1);
	m->props = m->topic + topic_len + 1;
	m->payload = m->props + props_len;
	m->topic_len = (uint16_t)topic_len;
	m->props_len = (uint32_t)props_len;
	m->payload_len = (uint32_t)payload_len;
	return m;
}

struct broker_msg *
broker_msg_new(const uint8_t *topic, size_t topic_len, const uint8_t *payload,
    size_t payload_len, uint8_t qos, bool retain, const uint8_t *props,
    size_t props_len)
{
	struct broker_msg *m = alloc(topic_len, props ? props_len : 0,
	    payload_len);

	if (m == NULL) {
		return NULL;
	}
	memcpy(m->topic, topic, topic_len);
	m->topic[topic_len] = '\0';
	if (props != NULL && props_len != 0) {
		memcpy(m->props, props, props_len);
	}
	if (payload_len != 0) {
		memcpy(m->payload, payload, payload_len);
	}
	m->qos = qos;
	m->retain = retain;
	return m;
}

struct broker_msg *
broker_msg_from_publish(const struct proto_publish *p, const uint8_t *topic,
    size_t topic_len, uint64_t now_ms, uint64_t drop)
{
	size_t plen;

	drop |= PER_DELIVERY;
	plen = proto_props_filter(p->props.block, drop, NULL, 0);
	struct broker_msg *m = alloc(topic_len, plen, p->payload.len);

	if (m == NULL) {
		return NULL;
	}
	memcpy(m->topic, topic, topic_len);
	m->topic[topic_len] = '\0';
	proto_props_filter(p->props.block, drop, m->props, plen);
	if (p->payload.len != 0) {
		memcpy(m->payload, p->payload.ptr, p->payload.len);
	}
	m->qos = p->qos;
	m->retain = p->retain;
	if (proto_props_has(&p->props, PROTO_PROP_MESSAGE_EXPIRY)) {
		m->has_expiry = true;
		m->expiry_at = now_ms + (uint64_t)p->props.message_expiry * 1000;
	}
	return m;
}

struct broker_msg *
broker_msg_ref(struct broker_msg *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void
broker_msg_unref(struct broker_msg *m)
{
	if (m != NULL &&
	    atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		free(m);
	}
}
