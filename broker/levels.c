/*
 * levels.c - the topic-level tree node shared by the subscription trie
 * (trie.c) and the retained store (retain.c): one node per topic level,
 * children in an open-addressing hash table keyed by the level's bytes,
 * so a step down costs the same with ten or a million siblings.  Nodes
 * are embedded as the first member of each user's node type.  No locking
 * here: callers hold their own locks.
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

uint32_t
broker__level_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h = (h ^ p[i]) * 16777619u;
	}
	return h;
}

const uint8_t *
broker__level_end(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s = p < end ? memchr(p, '/', (size_t)(end - p)) : NULL;
	return s != NULL ? s : end;
}

struct broker__lnode *const *
broker__lnode_slots(const struct broker__lnode *n, uint32_t *count)
{
	if (n->kcap == 0) {
		*count = n->only != NULL ? 1 : 0;
		return &n->only;
	}
	*count = n->kcap;
	return n->kids;
}

static bool
is_level(const struct broker__lnode *k, const uint8_t *lv, size_t len)
{
	return k->len == len && memcmp(k->level, lv, len) == 0;
}

struct broker__lnode *
broker__lnode_find(const struct broker__lnode *n, const uint8_t *lv,
    size_t len)
{
	if (n->kcap == 0) {
		return n->only != NULL && is_level(n->only, lv, len) ? n->only
								     : NULL;
	}
	for (uint32_t i = broker__level_hash(lv, len) & (n->kcap - 1);;
	    i = (i + 1) & (n->kcap - 1)) {
		struct broker__lnode *k = n->kids[i];
		if (k == NULL) {
			return NULL;
		}
		if (is_level(k, lv, len)) {
			return k;
		}
	}
}

static void
place(struct broker__lnode **kids, uint32_t cap, struct broker__lnode *k)
{
	uint32_t i = broker__level_hash(k->level, k->len) & (cap - 1);

	while (kids[i] != NULL) {
		i = (i + 1) & (cap - 1);
	}
	kids[i] = k;
}

struct broker__lnode *
broker__lnode_child(struct broker__lnode *n, const uint8_t *lv, size_t len,
    size_t size)
{
	struct broker__lnode *k = broker__lnode_find(n, lv, len);

	if (k != NULL) {
		return k;
	}
	if (n->nkids > 0 && (n->nkids + 1) * 2 > n->kcap) {
		/* A second child turns the single pointer into a table. */
		uint32_t ncap = n->kcap ? n->kcap * 2 : 4, cnt;
		struct broker__lnode **nk = calloc(ncap, sizeof(*nk));
		struct broker__lnode *const *old = broker__lnode_slots(n, &cnt);
		if (nk == NULL) {
			return NULL;
		}
		for (uint32_t i = 0; i < cnt; i++) {
			if (old[i] != NULL) {
				place(nk, ncap, old[i]);
			}
		}
		if (n->kcap > 0) {
			free(n->kids);
		}
		n->kids = nk;
		n->kcap = ncap;
	}
	/* The level's bytes live right after the node, in one allocation:
	 * one malloc and one cache line fewer per node. */
	k = calloc(1, size + len);
	if (k == NULL) {
		return NULL;
	}
	k->level = (uint8_t *)k + size;
	memcpy(k->level, lv, len);
	if (len == 1 && (lv[0] == '+' || lv[0] == '#')) {
		n->wild |= lv[0] == '+' ? BROKER_LNODE_PLUS : BROKER_LNODE_HASH;
	}
	k->len = (uint32_t)len;
	k->parent = n;
	if (n->kcap == 0) {
		n->only = k;
	} else {
		place(n->kids, n->kcap, k);
	}
	n->nkids++;
	return k;
}

void
broker__lnode_free(struct broker__lnode *k)
{
	struct broker__lnode *n = k->parent;

	if (n != NULL && n->kcap == 0) {
		n->only = NULL;
		n->nkids = 0;
		if (k->len == 1 && (k->level[0] == '+' || k->level[0] == '#')) {
			n->wild = 0;
		}
	} else if (n != NULL) {
		uint32_t i = broker__level_hash(k->level, k->len) &
		    (n->kcap - 1);
		while (n->kids[i] != k) {
			i = (i + 1) & (n->kcap - 1);
		}
		n->kids[i] = NULL;
		n->nkids--;
		if (k->len == 1 && (k->level[0] == '+' || k->level[0] == '#')) {
			n->wild &= (uint8_t)~(k->level[0] == '+'
				? BROKER_LNODE_PLUS
				: BROKER_LNODE_HASH);
		}
		/* Re-place the run after the hole so probing still works. */
		for (i = (i + 1) & (n->kcap - 1); n->kids[i] != NULL;
		    i = (i + 1) & (n->kcap - 1)) {
			struct broker__lnode *m = n->kids[i];
			n->kids[i] = NULL;
			place(n->kids, n->kcap, m);
		}
	}
	if (k->kcap > 0) {
		free(k->kids);
	}
	free(k);
}

struct walk_frame {
	struct broker__lnode *n;
	uint32_t next; /* next child slot to visit */
};

int
broker__lnode_free_below(struct broker__lnode *root,
    void (*release)(struct broker__lnode *n))
{
	struct walk_frame *st;
	size_t n = 0, cap = 64;

	/* Depth-first with an explicit stack: a tree may be tens of
	 * thousands of levels deep. */
	st = malloc(cap * sizeof(*st));
	if (st == NULL) {
		return -1;
	}
	st[n++] = (struct walk_frame) { root, 0 };
	while (n > 0) {
		struct walk_frame *f = &st[n - 1];
		struct broker__lnode *k = NULL;

		uint32_t cnt;
		struct broker__lnode *const *kids =
		    broker__lnode_slots(f->n, &cnt);
		while (f->next < cnt && k == NULL) {
			k = kids[f->next++];
		}
		if (k != NULL) {
			if (n == cap) {
				struct walk_frame *ns =
				    realloc(st, cap * 2 * sizeof(*st));
				if (ns == NULL) {
					free(st);
					return -1;
				}
				st = ns;
				cap *= 2;
			}
			st[n++] = (struct walk_frame) { k, 0 };
			continue;
		}
		/* Every child of f->n is gone: free it (its parent's table
		 * still points at it, but is only scanned forward). */
		struct broker__lnode *done = st[--n].n;
		if (done != root) {
			release(done);
			if (done->kcap > 0) {
				free(done->kids);
			}
			free(done);
		}
	}
	free(st);
	if (root->kcap > 0) {
		free(root->kids);
	}
	root->kids = NULL;
	root->kcap = root->nkids = 0;
	root->wild = 0;
	return 0;
}
