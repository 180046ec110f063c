/*
 * batch.c - building write batches.  A batch belongs to the thread that
 * builds it until storage_submit() hands it to the writer; nothing here
 * touches the store.  Each operation is encoded in its final on-disk form
 * right away (struct storage__op, key, value), so the writer thread spends
 * its time in LMDB rather than in encoding, and the caller's buffers can be
 * reused as soon as the add returns.
 */
#include "storage/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct storage_batch *
storage_batch_new(void)
{
	return calloc(1, sizeof(struct storage_batch));
}

void
storage_batch_free(struct storage_batch *b)
{
	if (b != NULL) {
		free(b->buf);
		free(b);
	}
}

size_t
storage_batch_ops(const struct storage_batch *b)
{
	return b->nops;
}

/*
 * Appends an operation with a klen-byte key and a vlen-byte value and
 * returns where the key goes (the value follows it); the caller fills both.
 * Returns NULL with errno set (ENAMETOOLONG, EOVERFLOW, ENOMEM) and the
 * batch unchanged.
 */
static uint8_t *
op_add(struct storage_batch *b, uint8_t kind, uint8_t db, size_t klen,
    size_t vlen)
{
	struct storage__op op = { kind, db, (uint16_t)klen, (uint32_t)vlen };
	size_t need = sizeof(op) + klen + vlen;
	uint8_t *p;

	if (klen > STORAGE_MAX_KEY) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (vlen > UINT32_MAX) {
		errno = EOVERFLOW;
		return NULL;
	}
	if (b->cap - b->len < need) {
		size_t cap = b->cap != 0 ? b->cap * 2 : 256;

		while (cap - b->len < need) {
			cap *= 2;
		}
		if ((p = realloc(b->buf, cap)) == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		b->buf = p;
		b->cap = cap;
	}
	p = b->buf + b->len;
	memcpy(p, &op, sizeof(op));
	b->len += need;
	b->nops++;
	return p + sizeof(op);
}

/* op_add() for a key made of the owner prefix of client cid and then
 * tail_len bytes of tail; returns where the value goes. */
static uint8_t *
owned_op(struct storage_batch *b, uint8_t kind, uint8_t db, const char *cid,
    uint16_t cid_len, const void *tail, size_t tail_len, size_t vlen)
{
	uint8_t *k;

	/* One limit for every record of a client, so that a session that
	 * can be stored can also have queue entries. */
	if (cid_len > STORAGE_MAX_CID) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	k = op_add(b, kind, db, 2 + (size_t)cid_len + tail_len, vlen);
	if (k == NULL) {
		return NULL;
	}
	k = storage__cid_key(k, cid, cid_len);
	if (tail_len != 0) {
		memcpy(k, tail, tail_len);
	}
	return k + tail_len;
}

int
storage_batch_msg_put(struct storage_batch *b, const struct storage_msg *m)
{
	uint8_t *k = op_add(b, STORAGE_OP_PUT_NEW, STORAGE_DB_MSGS, 8,
	    storage__msg_size(m));

	if (k == NULL) {
		return -1;
	}
	storage__be64(k, m->id);
	storage__msg_encode(k + 8, m);
	return 0;
}

/* Queue keys end with the msg_id, QoS 2 keys with the packet id (BE). */
static uint8_t *
queue_op(struct storage_batch *b, uint8_t kind, const char *cid,
    uint16_t cid_len, uint64_t msg_id, size_t vlen)
{
	uint8_t id[8];

	storage__be64(id, msg_id);
	return owned_op(b, kind, STORAGE_DB_QUEUE, cid, cid_len, id,
	    sizeof(id), vlen);
}

static uint8_t *
qos2_op(struct storage_batch *b, uint8_t kind, const char *cid,
    uint16_t cid_len, uint16_t pid, size_t vlen)
{
	uint8_t id[2] = { (uint8_t)(pid >> 8), (uint8_t)pid };

	return owned_op(b, kind, STORAGE_DB_QOS2, cid, cid_len, id,
	    sizeof(id), vlen);
}

int
storage_batch_queue_put(struct storage_batch *b, const char *cid,
    uint16_t cid_len, const struct storage_qentry *q)
{
	uint8_t *v = queue_op(b, STORAGE_OP_QUEUE_PUT, cid, cid_len,
	    q->msg_id, STORAGE_QENTRY_SIZE);

	if (v == NULL) {
		return -1;
	}
	storage__qentry_encode(v, q);
	return 0;
}

int
storage_batch_queue_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len, uint64_t msg_id)
{
	return queue_op(b, STORAGE_OP_QUEUE_DEL, cid, cid_len, msg_id, 0) ?
	    0 : -1;
}

int
storage_batch_qos2_put(struct storage_batch *b, const char *cid,
    uint16_t cid_len, uint16_t pid)
{
	uint8_t *v = qos2_op(b, STORAGE_OP_PUT, cid, cid_len, pid,
	    STORAGE_QOS2_SIZE);

	if (v == NULL) {
		return -1;
	}
	storage__qos2_encode(v);
	return 0;
}

int
storage_batch_qos2_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len, uint16_t pid)
{
	return qos2_op(b, STORAGE_OP_DEL, cid, cid_len, pid, 0) ? 0 : -1;
}

int
storage_batch_session_put(struct storage_batch *b,
    const struct storage_session *s)
{
	uint8_t *v = owned_op(b, STORAGE_OP_PUT, STORAGE_DB_SESSIONS, s->id,
	    s->id_len, NULL, 0, storage__session_size(s));

	if (v == NULL) {
		return -1;
	}
	storage__session_encode(v, s);
	return 0;
}

int
storage_batch_session_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len)
{
	return owned_op(b, STORAGE_OP_SESSION_DEL, STORAGE_DB_SESSIONS, cid,
	    cid_len, NULL, 0, 0) ? 0 : -1;
}

/* Subscription keys end with the filter. */
int
storage_batch_sub_put(struct storage_batch *b, const char *cid,
    uint16_t cid_len, const struct storage_sub *sub)
{
	uint8_t *v = owned_op(b, STORAGE_OP_PUT, STORAGE_DB_SUBS, cid,
	    cid_len, sub->filter, sub->flen, STORAGE_SUB_SIZE);

	if (v == NULL) {
		return -1;
	}
	storage__sub_encode(v, sub);
	return 0;
}

int
storage_batch_sub_del(struct storage_batch *b, const char *cid,
    uint16_t cid_len, const uint8_t *filter, uint16_t flen)
{
	return owned_op(b, STORAGE_OP_DEL, STORAGE_DB_SUBS, cid, cid_len,
	    filter, flen, 0) ? 0 : -1;
}

/* Retained operations are keyed by the topic itself; LMDB has no empty
 * keys, and MQTT no empty topics.  Returns where the value goes. */
static uint8_t *
retain_op(struct storage_batch *b, uint8_t kind, const uint8_t *topic,
    uint16_t topic_len, size_t vlen)
{
	uint8_t *k;

	if (topic_len == 0) {
		errno = EINVAL;
		return NULL;
	}
	k = op_add(b, kind, STORAGE_DB_RETAIN, topic_len, vlen);
	if (k == NULL) {
		return NULL;
	}
	memcpy(k, topic, topic_len);
	return k + topic_len;
}

int
storage_batch_retain_put(struct storage_batch *b, const struct storage_msg *m)
{
	uint8_t *v = retain_op(b, STORAGE_OP_PUT, m->topic, m->topic_len,
	    storage__retain_size(m));

	if (v == NULL) {
		return -1;
	}
	storage__retain_encode(v, m);
	return 0;
}

int
storage_batch_retain_del(struct storage_batch *b, const uint8_t *topic,
    uint16_t topic_len)
{
	return retain_op(b, STORAGE_OP_DEL, topic, topic_len, 0) ? 0 : -1;
}

int
storage_batch_probe(struct storage_batch *b, uint64_t value)
{
	static const char key[] = "probe";
	uint8_t *k = op_add(b, STORAGE_OP_PUT, STORAGE_DB_META,
	    sizeof(key) - 1, 8);

	if (k == NULL) {
		return -1;
	}
	memcpy(k, key, sizeof(key) - 1);
	for (int i = 0; i < 8; i++) {
		k[sizeof(key) - 1 + (size_t)i] = (uint8_t)(value >> (8 * i));
	}
	return 0;
}
