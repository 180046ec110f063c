/*
 * node.c - the process-wide state of one broker (struct broker): made
 * before the worker loops start and freed after they have stopped, by
 * main.c and by the in-process scale benchmark (tests/scale/).
 */
#include "broker/internal.h"

#include <stdlib.h>
#include <string.h>

int
broker__node_init(struct broker *b, struct broker_config *cfg)
{
	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->nloops = cfg->workers;
	pthread_mutex_init(&b->sessions_mu, NULL);
	b->trie = broker_trie_new();
	b->retain = broker_retain_new();
	b->loops = calloc((size_t)b->nloops, sizeof(*b->loops));
	b->listener_conns = calloc(cfg->nlisteners ? cfg->nlisteners : 1,
	    sizeof(*b->listener_conns));
	if (b->trie == NULL || b->retain == NULL || b->loops == NULL ||
	    b->listener_conns == NULL) {
		return -1;
	}
	return 0;
}

/* Frees what shutdown left: inbox items posted to loops that had already
 * stopped, and every session. */
void
broker__node_free(struct broker *b)
{
	for (int i = 0; b->loops != NULL && i < b->nloops; i++) {
		struct broker_inbox_item *it = b->loops[i].inbox_head, *n;
		for (; it != NULL; it = n) {
			n = it->next;
			broker_msg_unref(it->m);
			broker_session_unref(it->s);
			free(it);
		}
		if (i < b->nloops_inited) {
			pthread_mutex_destroy(&b->loops[i].inbox_mu);
		}
	}
	broker_trie_free(b->trie);
	for (size_t i = 0; i < b->sessions_cap; i++) {
		struct broker_session *s = b->sessions[i];
		if (s != NULL) {
			s->registered = false;
			broker_session_unref(s);
		}
	}
	free(b->sessions);
	broker_retain_free(b->retain);
	free(b->loops);
	free((void *)b->listener_conns);
	pthread_mutex_destroy(&b->sessions_mu);
}

