/*
 * trie.c - the sharded subscription trie.
 *
 * Design notes.  Filters are split at '/' into levels; each trie node is
 * one level and keeps its children in an open-addressing hash table, so a
 * lookup costs the same with ten or a million siblings.  The trie is cut
 * into BROKER_TRIE_SHARDS shards by a hash of the filter's first level,
 * plus one shard for filters whose first level is '+' or '#'.  A topic
 * can match only filters of the shard of its own first level and of the
 * wildcard shard, so a match takes two read locks, and publishes from all
 * loops run concurrently; subscribe and unsubscribe take one write lock.
 *
 * Each node holds its plain subscriptions (one per session) and its
 * shared-subscription groups ($share/name/filter), whose members are
 * served round robin by an atomic cursor.  Every subscription holds a
 * session reference; every target a match returns holds one more.
 *
 * Invariants: a node with no subscriptions, groups or children is freed
 * (pruned upward); `count` is the number of subscriptions in the trie.
 */
/* pthread_rwlockattr_setkind_np */
#define _GNU_SOURCE
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

#define BROKER_TRIE_SHARDS 64

/* A subscription.  The list is doubly linked (pprev: the pointer that
 * points to it) so that the owner, which keeps the entry's address
 * (broker_sub.tentry), removes it in O(1) however many sessions share
 * the filter. */
struct subentry {
	struct subentry *next, **pprev;
	struct broker_session *s;
	struct broker_subopts o;
};

struct group {
	struct group *next;
	uint8_t *name;
	size_t nlen;
	struct subentry *members;
	uint32_t n;
	/* Round robin: the member the next pick takes (NULL: the first).
	 * Readers advance it with compare-and-swap under the read lock;
	 * removal (write lock) moves it off an entry being freed. */
	_Atomic(struct subentry *) rr;
};

struct node {
	struct broker__lnode ln; /* first: the level table's view */
	struct subentry *subs;
	struct group *groups;
};

struct shard {
	pthread_rwlock_t lock;
	struct node root;
	/* Subscriptions in the shard, changed under the write lock and read
	 * without it: a publish skips an empty shard (most topics never meet
	 * a wildcard filter) without touching its lock. */
	_Atomic size_t count;
};

struct broker_trie {
	struct shard shards[BROKER_TRIE_SHARDS + 1];
	_Atomic size_t count;
};

#define LNODE(n) (&(n)->ln)
#define NODE(l) ((struct node *)(l))

/* Frees n and its now-empty ancestors (not the shard root). */
static void
prune(struct node *n)
{
	while (n->ln.parent != NULL && n->subs == NULL && n->groups == NULL &&
	    n->ln.nkids == 0) {
		struct node *p = NODE(n->ln.parent);
		broker__lnode_free(LNODE(n));
		n = p;
	}
}

static struct node *
kid(const struct node *n, const uint8_t *lv, size_t len)
{
	return NODE(broker__lnode_find(&n->ln, lv, len));
}

/* n's '+' or '#' child (BROKER_LNODE_PLUS / _HASH), without a table
 * lookup when it has none, the common case below the first levels. */
static struct node *
wild_kid(const struct node *n, unsigned which)
{
	static const uint8_t plus = '+', hash = '#';

	if ((n->ln.wild & which) == 0) {
		return NULL;
	}
	return kid(n, which == BROKER_LNODE_PLUS ? &plus : &hash, 1);
}

/* The shard comes from the hash's top bits: the level tables inside a
 * shard index by its low bits, which would otherwise be alike for every
 * first level of one shard and crowd a few slots. */
static uint32_t
shard_index(uint32_t h)
{
	return (h >> 26) % BROKER_TRIE_SHARDS;
}

static struct shard *
shard_of_filter(struct broker_trie *t, const uint8_t *f, size_t flen)
{
	const uint8_t *e = broker__level_end(f, f + flen);
	size_t n = (size_t)(e - f);

	if (n == 1 && (f[0] == '+' || f[0] == '#')) {
		return &t->shards[BROKER_TRIE_SHARDS];
	}
	return &t->shards[shard_index(broker__level_hash(f, n))];
}

struct broker_trie *
broker_trie_new(void)
{
	struct broker_trie *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return NULL;
	}
	/* Publishes only read; prefer writers so that a steady stream of
	 * matches never starves SUBSCRIBE and UNSUBSCRIBE. */
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (int i = 0; i <= BROKER_TRIE_SHARDS; i++) {
		pthread_rwlock_init(&t->shards[i].lock, &attr);
	}
	pthread_rwlockattr_destroy(&attr);
	return t;
}

/* Drops what one node holds: subscriptions and groups (session
 * references). */
static void
release_node(struct broker__lnode *ln)
{
	struct node *n = NODE(ln);

	for (struct subentry *e = n->subs, *nx; e != NULL; e = nx) {
		nx = e->next;
		broker_session_unref(e->s);
		free(e);
	}
	for (struct group *g = n->groups, *gn; g != NULL; g = gn) {
		gn = g->next;
		for (struct subentry *e = g->members, *nx; e != NULL; e = nx) {
			nx = e->next;
			broker_session_unref(e->s);
			free(e);
		}
		free(g->name);
		free(g);
	}
	n->subs = NULL;
	n->groups = NULL;
}

void
broker_trie_free(struct broker_trie *t)
{
	if (t == NULL) {
		return;
	}
	for (int i = 0; i <= BROKER_TRIE_SHARDS; i++) {
		broker__lnode_free_below(LNODE(&t->shards[i].root),
		    release_node);
		release_node(LNODE(&t->shards[i].root));
		pthread_rwlock_destroy(&t->shards[i].lock);
	}
	free(t);
}

/* Finds the node of filter in shard root, creating it if `create`. */
static struct node *
walk(struct node *root, const uint8_t *f, size_t flen, bool create)
{
	const uint8_t *p = f, *end = f + flen;
	struct node *n = root;

	for (;;) {
		const uint8_t *e = broker__level_end(p, end);
		size_t len = (size_t)(e - p);

		n = create ? NODE(broker__lnode_child(LNODE(n), p, len,
				 sizeof(struct node)))
			   : kid(n, p, len);
		if (n == NULL || e == end) {
			return n;
		}
		p = e + 1;
	}
}

static struct group *
group_find(struct node *n, const uint8_t *g, size_t glen)
{
	for (struct group *gr = n->groups; gr != NULL; gr = gr->next) {
		if (gr->nlen == glen && memcmp(gr->name, g, glen) == 0) {
			return gr;
		}
	}
	return NULL;
}

static int
add(struct broker_trie *t, const uint8_t *filter, size_t flen,
    const uint8_t *group, size_t glen, struct broker_session *s,
    const struct broker_subopts *o, bool check, void **entry)
{
	struct shard *sh = shard_of_filter(t, filter, flen);
	struct subentry **list, *e;
	struct group *g = NULL;
	struct node *n;
	int rc = -1;

	pthread_rwlock_wrlock(&sh->lock);
	n = walk(&sh->root, filter, flen, true);
	if (n == NULL) {
		goto out;
	}
	if (group != NULL) {
		g = group_find(n, group, glen);
		if (g == NULL) {
			g = calloc(1, sizeof(*g));
			if (g == NULL || (g->name = malloc(glen + 1)) == NULL) {
				free(g);
				prune(n);
				goto out;
			}
			memcpy(g->name, group, glen);
			g->nlen = glen;
			g->next = n->groups;
			n->groups = g;
		}
		list = &g->members;
	} else {
		list = &n->subs;
	}
	/* A repeated SUBSCRIBE replaces.  The scan is O(subscribers of the
	 * filter); callers that know s is not among them skip it. */
	for (e = check ? *list : NULL; e != NULL; e = e->next) {
		if (e->s == s) {
			e->o = *o;
			if (entry != NULL) {
				*entry = e;
			}
			rc = 1;
			goto out;
		}
	}
	e = malloc(sizeof(*e));
	if (e == NULL) {
		prune(n);
		goto out;
	}
	e->s = broker_session_ref(s);
	e->o = *o;
	e->next = *list;
	e->pprev = list;
	if (e->next != NULL) {
		e->next->pprev = &e->next;
	}
	*list = e;
	if (entry != NULL) {
		*entry = e;
	}
	if (g != NULL) {
		g->n++;
	}
	atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sh->count, 1, memory_order_relaxed);
	rc = 0;
out:
	pthread_rwlock_unlock(&sh->lock);
	return rc;
}

int
broker_trie_add(struct broker_trie *t, const uint8_t *filter, size_t flen,
    const uint8_t *group, size_t glen, struct broker_session *s,
    const struct broker_subopts *o, void **entry)
{
	return add(t, filter, flen, group, glen, s, o, true, entry);
}

int
broker_trie_add_new(struct broker_trie *t, const uint8_t *filter,
    size_t flen, const uint8_t *group, size_t glen, struct broker_session *s,
    const struct broker_subopts *o, void **entry)
{
	return add(t, filter, flen, group, glen, s, o, false, entry);
}

int
broker_trie_remove(struct broker_trie *t, const uint8_t *filter, size_t flen,
    const uint8_t *group, size_t glen, struct broker_session *s, void *entry)
{
	struct shard *sh = shard_of_filter(t, filter, flen);
	struct subentry *e = entry;
	struct group *g = NULL;
	struct node *n;
	int rc = -1;

	pthread_rwlock_wrlock(&sh->lock);
	n = walk(&sh->root, filter, flen, false);
	if (n == NULL) {
		goto out;
	}
	if (group != NULL && (g = group_find(n, group, glen)) == NULL) {
		goto out;
	}
	if (e == NULL) {
		/* No address kept: look for it, O(subscribers). */
		e = g != NULL ? g->members : n->subs;
		while (e != NULL && e->s != s) {
			e = e->next;
		}
		if (e == NULL) {
			goto out;
		}
	}
	BROKER_ASSERT(e->s == s);
	if (g != NULL && atomic_load_explicit(&g->rr,
			     memory_order_relaxed) == e) {
		atomic_store_explicit(&g->rr, e->next, memory_order_relaxed);
	}
	*e->pprev = e->next;
	if (e->next != NULL) {
		e->next->pprev = e->pprev;
	}
	broker_session_unref(e->s);
	free(e);
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&sh->count, 1, memory_order_relaxed);
	rc = 0;
	if (g != NULL && --g->n == 0) {
		struct group **gp = &n->groups;
		while (*gp != g) {
			gp = &(*gp)->next;
		}
		*gp = g->next;
		free(g->name);
		free(g);
	}
	prune(n);
out:
	pthread_rwlock_unlock(&sh->lock);
	return rc;
}

static int
push(struct broker_targets *out, struct broker_session *s,
    const struct broker_subopts *o)
{
	if (out->n == out->cap) {
		size_t ncap = out->cap ? out->cap * 2 : 16;
		struct broker_target *nv = realloc(out->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			return -1;
		}
		out->v = nv;
		out->cap = ncap;
	}
	out->v[out->n].s = broker_session_ref(s);
	out->v[out->n].o = *o;
	out->n++;
	return 0;
}

/* The next member of g, round robin, in O(1).  g->n > 0; read lock held
 * (members are neither added nor freed meanwhile). */
static const struct subentry *
rr_member(struct group *g)
{
	struct subentry *cur = atomic_load_explicit(&g->rr,
	    memory_order_relaxed);
	struct subentry *e, *nx;

	do {
		e = cur != NULL ? cur : g->members;
		nx = e->next;
	} while (!atomic_compare_exchange_weak_explicit(&g->rr, &cur, nx,
	    memory_order_relaxed, memory_order_relaxed));
	return e;
}

int
broker_trie_pick(struct broker_trie *t, const uint8_t *filter, size_t flen,
    const uint8_t *group, size_t glen, struct broker_target *out)
{
	struct shard *sh = shard_of_filter(t, filter, flen);
	struct group *g;
	struct node *n;
	int rc = -1;

	pthread_rwlock_rdlock(&sh->lock);
	n = walk(&sh->root, filter, flen, false);
	if (n != NULL && (g = group_find(n, group, glen)) != NULL &&
	    g->n > 0) {
		const struct subentry *e = rr_member(g);
		out->s = broker_session_ref(e->s);
		out->o = e->o;
		rc = 0;
	}
	pthread_rwlock_unlock(&sh->lock);
	return rc;
}

/* Every subscription of node n: plain ones, and one member per group. */
static int
collect(const struct node *n, struct broker_targets *out)
{
	for (const struct subentry *e = n->subs; e != NULL; e = e->next) {
		if (push(out, e->s, &e->o) != 0) {
			return -1;
		}
	}
	for (struct group *g = n->groups; g != NULL; g = g->next) {
		if (g->n == 0) {
			continue; /* left empty by a failed add */
		}
		const struct subentry *e = rr_member(g);
		if (push(out, e->s, &e->o) != 0) {
			return -1;
		}
	}
	return 0;
}

/* An explicit stack of (node, position) for the match walk: topics may
 * have tens of thousands of levels, too deep to recurse on a loop
 * thread's stack. */
struct frame {
	const struct node *n;
	const uint8_t *p;
	bool first;
};

struct fstack {
	struct frame *v;
	size_t n, cap;
	struct frame inline_v[32];
};

static int
fpush(struct fstack *st, const struct node *n, const uint8_t *p, bool first)
{
	if (st->n == st->cap) {
		size_t ncap = st->cap * 2;
		struct frame *nv = malloc(ncap * sizeof(*nv));
		if (nv == NULL) {
			return -1;
		}
		memcpy(nv, st->v, st->n * sizeof(*nv));
		if (st->v != st->inline_v) {
			free(st->v);
		}
		st->v = nv;
		st->cap = ncap;
	}
	st->v[st->n++] = (struct frame) { n, p, first };
	return 0;
}

/* The subscriptions of k when the topic ends at k's level: k's own and
 * those of its '#' child ("a/#" matches "a"). */
static int
collect_end(const struct node *k, struct broker_targets *out)
{
	const struct node *h = wild_kid(k, BROKER_LNODE_HASH);

	if (collect(k, out) != 0) {
		return -1;
	}
	return h != NULL ? collect(h, out) : 0;
}

/* Matches topic p..end below root.  At the first level, wildcards do not
 * match '$' topics [MQTT-4.7.2-1]. */
static int
match(const struct node *root, const uint8_t *topic, const uint8_t *end,
    struct broker_targets *out)
{
	struct fstack st; /* not zeroed: 768 bytes per call for nothing */
	int rc = 0;

	st.n = 0;
	st.cap = sizeof(st.inline_v) / sizeof(st.inline_v[0]);
	st.v = st.inline_v;
	fpush(&st, root, topic, true);
	while (rc == 0 && st.n > 0) {
		struct frame f = st.v[--st.n];
		bool dollar = f.first && f.p < end && *f.p == '$';
		const struct node *k;

		/* '#' here matches this level and everything below. */
		if (!dollar && (k = wild_kid(f.n, BROKER_LNODE_HASH)) != NULL &&
		    collect(k, out) != 0) {
			rc = -1;
			break;
		}
		const uint8_t *e = broker__level_end(f.p, end);
		bool last = e == end;
		const struct node *next[2] = {
			kid(f.n, f.p, (size_t)(e - f.p)),
			dollar ? NULL : wild_kid(f.n, BROKER_LNODE_PLUS),
		};
		for (int i = 0; i < 2 && rc == 0; i++) {
			if (next[i] == NULL) {
				continue;
			}
			rc = last ? collect_end(next[i], out)
				  : fpush(&st, next[i], e + 1, false);
		}
	}
	if (st.v != st.inline_v) {
		free(st.v);
	}
	return rc;
}

int
broker_trie_match(struct broker_trie *t, const uint8_t *topic, size_t tlen,
    struct broker_targets *out)
{
	const uint8_t *e = broker__level_end(topic, topic + tlen);
	struct shard *sh[2] = {
		&t->shards[shard_index(
		    broker__level_hash(topic, (size_t)(e - topic)))],
		&t->shards[BROKER_TRIE_SHARDS],
	};
	int rc = 0;

	for (int i = 0; i < 2 && rc == 0; i++) {
		if (atomic_load_explicit(&sh[i]->count,
			memory_order_relaxed) == 0) {
			continue;
		}
		pthread_rwlock_rdlock(&sh[i]->lock);
		rc = match(&sh[i]->root, topic, topic + tlen, out);
		pthread_rwlock_unlock(&sh[i]->lock);
	}
	return rc;
}

size_t
broker_trie_count(struct broker_trie *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}

void
broker_targets_fini(struct broker_targets *ts)
{
	free(ts->v);
	ts->v = NULL;
	ts->n = ts->cap = 0;
}
