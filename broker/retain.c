/*
 * retain.c - the retained-message store: a topic-level tree (levels.c)
 * whose nodes may hold one message, under one rwlock.  Publishing a
 * retained message takes the write lock for one walk down its topic;
 * a subscription reads every message its filter matches under the read
 * lock: '+' visits the children of a level, '#' the whole subtree, and
 * the first level's wildcards skip '$' topics, as in the trie.  Messages
 * are shared references; the store holds one per retained topic.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

struct rnode {
	struct broker__lnode ln;
	struct broker_msg *m;
};

struct broker_retain {
	pthread_rwlock_t lock;
	struct rnode root;
	size_t count;
};

#define RNODE(l) ((struct rnode *)(l))

struct broker_retain *
broker_retain_new(void)
{
	struct broker_retain *r = calloc(1, sizeof(*r));

	if (r != NULL) {
		pthread_rwlock_init(&r->lock, NULL);
	}
	return r;
}

static void
release_rnode(struct broker__lnode *ln)
{
	broker_msg_unref(RNODE(ln)->m);
	RNODE(ln)->m = NULL;
}

void
broker_retain_free(struct broker_retain *r)
{
	if (r == NULL) {
		return;
	}
	broker__lnode_free_below(&r->root.ln, release_rnode);
	release_rnode(&r->root.ln);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

int
broker_retain_put(struct broker_retain *r, struct broker_msg *m)
{
	const uint8_t *p = m->topic, *end = m->topic + m->topic_len;
	bool clear = m->payload_len == 0;
	struct rnode *n = &r->root;
	int rc = 0;

	pthread_rwlock_wrlock(&r->lock);
	for (;;) {
		const uint8_t *e = broker__level_end(p, end);
		struct broker__lnode *k = clear
		    ? broker__lnode_find(&n->ln, p, (size_t)(e - p))
		    : broker__lnode_child(&n->ln, p, (size_t)(e - p),
			  sizeof(struct rnode));
		if (k == NULL) {
			rc = clear ? 0 : -1;
			goto out;
		}
		n = RNODE(k);
		if (e == end) {
			break;
		}
		p = e + 1;
	}
	if (n->m != NULL) {
		broker_msg_unref(n->m);
		n->m = NULL;
		r->count--;
	}
	if (!clear) {
		n->m = broker_msg_ref(m);
		r->count++;
	} else {
		/* Prune the branch that held only this message. */
		while (n->ln.parent != NULL && n->m == NULL &&
		    n->ln.nkids == 0) {
			struct rnode *parent = RNODE(n->ln.parent);
			broker__lnode_free(&n->ln);
			n = parent;
		}
	}
out:
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

struct visit {
	void (*fn)(void *arg, struct broker_msg *m);
	void *arg;
};

/* Work items of the match walk, on an explicit stack: retained topics
 * may be tens of thousands of levels deep. */
struct rframe {
	const struct rnode *n;
	const uint8_t *p; /* NULL: emit n's whole subtree */
	bool root;
};

struct rstack {
	struct rframe *v;
	size_t n, cap;
};

static int
rpush(struct rstack *st, const struct rnode *n, const uint8_t *p, bool root)
{
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 64;
		struct rframe *nv = realloc(st->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			return -1;
		}
		st->v = nv;
		st->cap = ncap;
	}
	st->v[st->n++] = (struct rframe) { n, p, root };
	return 0;
}

static void
emit(const struct rnode *n, const struct visit *v)
{
	if (n->m != NULL) {
		v->fn(v->arg, broker_msg_ref(n->m));
	}
}

/* Pushes every child of n as a whole subtree; at the root, not the '$'
 * topics [MQTT-4.7.2-1]. */
static int
push_kids(struct rstack *st, const struct rnode *n, bool root)
{
	uint32_t cnt;
	struct broker__lnode *const *kids = broker__lnode_slots(&n->ln, &cnt);

	for (uint32_t i = 0; i < cnt; i++) {
		const struct broker__lnode *k = kids[i];
		if (k != NULL && !(root && k->len > 0 && k->level[0] == '$') &&
		    rpush(st, RNODE(k), NULL, false) != 0) {
			return -1;
		}
	}
	return 0;
}

static void
match(const struct rnode *root, const uint8_t *filter, const uint8_t *end,
    const struct visit *v)
{
	struct rstack st = { NULL, 0, 0 };

	if (rpush(&st, root, filter, true) != 0) {
		return;
	}
	while (st.n > 0) {
		struct rframe f = st.v[--st.n];
		int rc = 0;

		if (f.p == NULL) {
			emit(f.n, v);
			rc = push_kids(&st, f.n, false);
		} else {
			const uint8_t *e = broker__level_end(f.p, end);
			size_t len = (size_t)(e - f.p);
			bool last = e == end;

			if (len == 1 && *f.p == '#') {
				/* "a/#" matches "a" too. */
				if (!f.root) {
					emit(f.n, v);
				}
				rc = push_kids(&st, f.n, f.root);
			} else if (len == 1 && *f.p == '+') {
				uint32_t cnt;
				struct broker__lnode *const *kids =
				    broker__lnode_slots(&f.n->ln, &cnt);
				for (uint32_t i = 0; i < cnt && rc == 0; i++) {
					const struct broker__lnode *k = kids[i];
					if (k == NULL ||
					    (f.root && k->len > 0 &&
						k->level[0] == '$')) {
						continue;
					}
					if (last) {
						emit(RNODE(k), v);
					} else {
						rc = rpush(&st, RNODE(k), e + 1,
						    false);
					}
				}
			} else {
				const struct broker__lnode *k =
				    broker__lnode_find(&f.n->ln, f.p, len);
				if (k != NULL && last) {
					emit(RNODE(k), v);
				} else if (k != NULL) {
					rc = rpush(&st, RNODE(k), e + 1, false);
				}
			}
		}
		if (rc != 0) {
			LOG_WARN("Out of memory matching retained messages.");
			break;
		}
	}
	free(st.v);
}

void
broker_retain_match(struct broker_retain *r, const uint8_t *filter,
    size_t flen, void (*fn)(void *arg, struct broker_msg *m), void *arg)
{
	struct visit v = { fn, arg };

	pthread_rwlock_rdlock(&r->lock);
	match(&r->root, filter, filter + flen, &v);
	pthread_rwlock_unlock(&r->lock);
}

size_t
broker_retain_count(struct broker_retain *r)
{
	size_t n;

	pthread_rwlock_rdlock(&r->lock);
	n = r->count;
	pthread_rwlock_unlock(&r->lock);
	return n;
}
