/*
 * internal.h - the broker's shared types, private to broker/.
 *
 * Threads and ownership (see ../shared/ARCHITECTURE.md):
 * - One `struct broker` per process, built by main.c, read by every
 *   worker.  Its mutable parts are the session registry (a mutex), the
 *   subscription trie (one rwlock per shard), the retained store (one
 *   rwlock) and atomic counters.
 * - One `struct broker_loop` per worker thread.  A connection, and the
 *   session attached to it, belong to exactly one loop; only that loop's
 *   thread touches them.  Other threads reach a loop only through its
 *   inbox (mutex-protected list + uv_async_t; the callback drains it all,
 *   since wake-ups merge).
 * - A published message is one immutable, reference-counted `struct
 *   broker_msg` shared by every delivery on every loop.
 * - A session is reference counted (atomic): the registry, each
 *   subscription in the trie and each message in flight to its loop hold
 *   a reference, so a loop reading the trie never sees a freed session.
 *   Its fields other than the refcount and `owner` are touched only by
 *   the owning loop.
 */
#ifndef BROKER_INTERNAL_H
#define BROKER_INTERNAL_H

#include "broker/config.h"
#include "proto/proto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct storage;
struct storage_batch;

#define BROKER_VERSION "0.1.0"

struct broker;
struct broker_loop;
struct broker_conn;
struct broker_session;

/* ------------------------------------------------------------------ */
/* Logging (log.c)                                                      */

/* Opens the log destinations of cfg.  Returns 0 or -1 (file error,
 * printed to stderr). */
int broker_log_open(const struct broker_config *cfg);
void broker_log_close(void);

/* Logs one line if `type` (BROKER_LOG_*) is enabled.  Any thread. */
void broker_log(uint32_t type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_ERR(...) broker_log(BROKER_LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) broker_log(BROKER_LOG_WARNING, __VA_ARGS__)
#define LOG_NOTICE(...) broker_log(BROKER_LOG_NOTICE, __VA_ARGS__)
#define LOG_INFO(...) broker_log(BROKER_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) broker_log(BROKER_LOG_DEBUG, __VA_ARGS__)

/* Aborts with file and line: for our own bugs only. */
#define BROKER_ASSERT(c)                                                      \
	do {                                                                  \
		if (!(c)) {                                                   \
			broker__assert_fail(#c, __FILE__, __LINE__);          \
		}                                                             \
	} while (0)
_Noreturn void broker__assert_fail(const char *what, const char *file,
    int line);

/* ------------------------------------------------------------------ */
/* Messages (msg.c)                                                     */

/*
 * An application message, immutable once made and shared by reference.
 * One allocation holds the struct, the topic, the forwardable property
 * block (every MQTT 5 property of the PUBLISH except Topic Alias,
 * Subscription Identifier and Message Expiry, which are per delivery) and
 * the payload.
 */
struct broker_msg {
	_Atomic uint32_t refs;
	uint8_t qos;
	bool retain;
	bool has_expiry;
	uint16_t topic_len;
	uint32_t payload_len;
	uint32_t props_len;
	uint64_t expiry_at;      /* uv_now() ms when it expires */
	uint64_t store_id;       /* id in storage/, 0 if never stored; set
				    before the message is shared */
	struct broker_session *origin; /* not a reference: identity only,
					  for No Local */
	uint8_t *topic;
	uint8_t *props;
	uint8_t *payload;
};

/* Makes a message from a decoded PUBLISH (copies what it needs; p is
 * borrowed).  topic is passed apart because a Topic Alias may stand for
 * it.  now_ms is the loop's clock, for Message Expiry; properties whose
 * bits are set in drop are left out of the shared block (besides the
 * per-delivery ones).  NULL on ENOMEM. */
struct broker_msg *broker_msg_from_publish(const struct proto_publish *p,
    const uint8_t *topic, size_t topic_len, uint64_t now_ms, uint64_t drop);

/* Makes a message from parts (wills, $SYS).  props may be NULL. */
struct broker_msg *broker_msg_new(const uint8_t *topic, size_t topic_len,
    const uint8_t *payload, size_t payload_len, uint8_t qos, bool retain,
    const uint8_t *props, size_t props_len);

struct broker_msg *broker_msg_ref(struct broker_msg *m);
void broker_msg_unref(struct broker_msg *m);

/* ------------------------------------------------------------------ */
/* Topic-level tree nodes (levels.c)                                    */

struct broker__lnode {
	struct broker__lnode *parent;
	uint8_t *level;  /* its bytes, stored right after the user's node */
	uint32_t len;
	uint32_t kcap;  /* power of two, or 0 */
	uint32_t nkids;
	uint8_t wild;   /* BROKER_LNODE_*: has a '+' / '#' child, so a
			   match skips looking them up when it has none */
	union {
		/* kcap > 0: hash table of kcap slots, NULL ones empty */
		struct broker__lnode **kids;
		/* kcap == 0: the only child (nkids 1) or NULL: most nodes
		 * of a device fleet's topics have one child, and keep no
		 * table for it */
		struct broker__lnode *only;
	};
};

#define BROKER_LNODE_PLUS 0x01u
#define BROKER_LNODE_HASH 0x02u

uint32_t broker__level_hash(const uint8_t *p, size_t n);
/* End of the level starting at p: the next '/' or end. */
const uint8_t *broker__level_end(const uint8_t *p, const uint8_t *end);
struct broker__lnode *broker__lnode_find(const struct broker__lnode *n,
    const uint8_t *lv, size_t len);
/* n's children as an array of *count slots, NULL slots empty. */
struct broker__lnode *const *broker__lnode_slots(
    const struct broker__lnode *n, uint32_t *count);
/* Finds or adds child lv of n; a new child is a zeroed allocation of
 * `size` bytes (the user's node type).  NULL on ENOMEM. */
struct broker__lnode *broker__lnode_child(struct broker__lnode *n,
    const uint8_t *lv, size_t len, size_t size);
/* Unlinks k from its parent (if any) and frees it (not its children). */
void broker__lnode_free(struct broker__lnode *k);
/* Frees every node below root, calling release() on each first; root's
 * own payload is the caller's.  Iterative.  0, or -1 on ENOMEM (nothing
 * freed). */
int broker__lnode_free_below(struct broker__lnode *root,
    void (*release)(struct broker__lnode *n));

/* ------------------------------------------------------------------ */
/* Subscriptions (trie.c)                                               */

/* What a subscription asked for (MQTT 5 options). */
struct broker_subopts {
	uint8_t qos;
	bool no_local;
	bool retain_as_published;
	uint8_t retain_handling;
	uint32_t sub_id; /* 0: none */
	uint32_t share;  /* a shared subscription: its broker_sub's seq in
			    the session (0: not shared), so that what is
			    in flight through it can go to another member
			    when the session ends */
	bool stored;     /* a delivery whose queue entry is on disk */
};

/* A match: one target of a PUBLISH.  The session reference is the
 * caller's after broker_trie_match() (one per target). */
struct broker_target {
	struct broker_session *s;
	struct broker_subopts o;
};

struct broker_targets {
	struct broker_target *v;
	size_t n, cap;
};

struct broker_trie;

struct broker_trie *broker_trie_new(void);
void broker_trie_free(struct broker_trie *t);

/* Adds or replaces session s's subscription to filter (group: shared
 * subscription name or NULL).  Takes a session reference when it adds.
 * Returns 1 if it replaced an existing subscription, 0 if new, -1 ENOMEM.
 * *entry (if entry is not NULL) gets the subscription's address, which
 * makes its removal O(1) (broker_trie_remove()). */
int broker_trie_add(struct broker_trie *t, const uint8_t *filter,
    size_t flen, const uint8_t *group, size_t glen, struct broker_session *s,
    const struct broker_subopts *o, void **entry);

/* broker_trie_add() for a subscription s is known not to have (its own
 * list says so): no scan of the filter's other subscribers, which matters
 * when thousands of sessions share one filter.  0 or -1 ENOMEM. */
int broker_trie_add_new(struct broker_trie *t, const uint8_t *filter,
    size_t flen, const uint8_t *group, size_t glen, struct broker_session *s,
    const struct broker_subopts *o, void **entry);

/* Removes s's subscription; returns 0, or -1 if there was none.  Drops
 * the reference the subscription held.  entry: the address the add gave
 * (O(1)), or NULL to search the filter's subscribers. */
int broker_trie_remove(struct broker_trie *t, const uint8_t *filter,
    size_t flen, const uint8_t *group, size_t glen, struct broker_session *s,
    void *entry);

/* Appends every subscription matching topic to out (one target per
 * matching subscription; one member per shared group, round robin), each
 * with a session reference.  Any thread.  Returns 0 or -1 ENOMEM. */
int broker_trie_match(struct broker_trie *t, const uint8_t *topic,
    size_t tlen, struct broker_targets *out);

/* One member of shared group `group` on filter, round robin, with a
 * session reference, into *out.  0, or -1 if the group has no member. */
int broker_trie_pick(struct broker_trie *t, const uint8_t *filter,
    size_t flen, const uint8_t *group, size_t glen, struct broker_target *out);

/* Number of subscriptions (for $SYS). */
size_t broker_trie_count(struct broker_trie *t);

void broker_targets_fini(struct broker_targets *ts);

/* ------------------------------------------------------------------ */
/* Retained messages (retain.c)                                         */

struct broker_retain;

struct broker_retain *broker_retain_new(void);
void broker_retain_free(struct broker_retain *r);

/* Stores m (takes a reference) as the retained message of its topic, or
 * clears it when m has an empty payload. */
int broker_retain_put(struct broker_retain *r, struct broker_msg *m);

/* Calls fn for every retained message matching filter, with a reference
 * fn must drop.  Any thread. */
void broker_retain_match(struct broker_retain *r, const uint8_t *filter,
    size_t flen, void (*fn)(void *arg, struct broker_msg *m), void *arg);

size_t broker_retain_count(struct broker_retain *r);

/* ------------------------------------------------------------------ */
/* Timer wheel (wheel.c)                                                */

/*
 * A two-level timer wheel in loop ticks (100 ms) for keepalive, connect,
 * will and session-expiry deadlines.  Level 0 has one slot per tick for
 * the next BROKER_WHEEL_SLOTS ticks; level 1 has one slot per
 * BROKER_WHEEL_SPAN ticks (a "span").  The level-1 slot of the next span
 * is moved down a share at a time during the current span, so that even
 * a million deadlines set in the same few seconds (a reconnect storm)
 * never make one tick move them all.  Setting, moving and removing an
 * entry is O(1); a tick costs the entries that come due plus its share
 * of one span's move (entries further out than both levels, such as
 * day-long session expiries, are moved once per level-1 turn, about
 * every two hours).  Never O(connections) per tick.
 */
#define BROKER_WHEEL_BITS 8
#define BROKER_WHEEL_SPAN (1u << BROKER_WHEEL_BITS)   /* ticks per L1 slot */
#define BROKER_WHEEL_SLOTS (2u * BROKER_WHEEL_SPAN)   /* level-0 slots */
#define BROKER_WHEEL_L1 256u                          /* level-1 slots */

enum { WHEEL_CONN, WHEEL_WILL, WHEEL_EXPIRY };

struct broker_wheel_entry {
	struct broker_wheel_entry *next, *prev;
	uint64_t due; /* ticks (loop clock) */
	uint8_t kind; /* WHEEL_*: which struct and field holds the entry */
};

struct broker_wheel {
	struct broker_wheel_entry l0[BROKER_WHEEL_SLOTS];
	struct broker_wheel_entry l1[BROKER_WHEEL_L1];
	uint32_t n1[BROKER_WHEEL_L1]; /* entries added to each level-1 slot
					 (an upper bound: deletions do not
					 count down), sizing each tick's
					 share of the move */
	struct broker_wheel_entry later; /* met while moving a slot but due
					    a level-1 turn later */
	uint64_t now; /* last tick processed */
	uint64_t moved; /* entries moved from level 1 down (statistics) */
};

void broker_wheel_init(struct broker_wheel *w, uint64_t now_s);
/* (Re)schedules e at due (seconds). */
void broker_wheel_set(struct broker_wheel *w, struct broker_wheel_entry *e,
    uint64_t due);
void broker_wheel_del(struct broker_wheel_entry *e);
/* Advances to now_s, calling fire(e) for every entry whose due <= now_s.
 * fire may re-set or delete the entry. */
void broker_wheel_advance(struct broker_wheel *w, uint64_t now_s,
    void (*fire)(struct broker_wheel_entry *e, void *arg), void *arg);

/* ------------------------------------------------------------------ */
/* Sessions (session.c)                                                 */

/* One outgoing QoS 1/2 message in flight or queued. */
struct broker_delivery {
	struct broker_delivery *next;
	struct broker_msg *m;
	uint16_t pid;
	uint8_t qos;
	uint8_t state; /* DLV_QUEUED, DLV_WAIT_ACK, DLV_WAIT_REC, DLV_WAIT_COMP */
	bool retain;
	uint32_t sub_id;
	struct broker_sub *share; /* came through this shared subscription
				     of the session (NULL: not shared) */
	bool stored;              /* its queue entry is on disk */
};

enum {
	DLV_QUEUED,
	DLV_WAIT_ACK,  /* QoS 1: PUBLISH sent, PUBACK awaited */
	DLV_WAIT_REC,  /* QoS 2: PUBLISH sent, PUBREC awaited */
	DLV_WAIT_COMP, /* QoS 2: PUBREL sent, PUBCOMP awaited */
};

struct broker_sub {
	struct broker_sub *next;
	uint8_t *filter; /* full filter, including $share/g/ */
	uint16_t flen;
	uint32_t seq;    /* unique in the session, for subopts.share */
	struct broker_subopts o;
	void *tentry;    /* its entry in the trie (O(1) removal) */
};

struct broker_session {
	/* Fields ordered to leave no padding: one of these per session. */
	_Atomic uint32_t refs;
	_Atomic int owner;        /* index of the owning loop */
	struct broker_conn *conn; /* NULL while offline */
	uint8_t version;
	bool clean;               /* clean session / clean start */
	bool registered;          /* in the registry */
	bool stored;              /* has a record on disk (owner loop) */
	uint32_t expiry;          /* Session Expiry Interval, s */
	uint64_t offline_since;   /* loop clock, ticks */
	struct broker_wheel_entry expiry_timer;
	struct broker_sub *subs;
	/* Outgoing: in-flight first, then queued, in order. */
	struct broker_delivery *out_head, *out_tail;
	uint64_t inflight_bytes;  /* payload bytes in flight
				     (max_inflight_bytes) */
	uint64_t queued_bytes;
	uint32_t inflight;        /* deliveries in a WAIT_* state */
	uint32_t queued;          /* deliveries in DLV_QUEUED */
	_Atomic uint32_t queued_hint; /* copy of queued that other loops may
					 read, for publisher back-pressure */
	_Atomic uint32_t in_transit;  /* deliveries in an inbox towards it */
	uint32_t sub_seq;         /* last broker_sub.seq given */
	uint32_t max_packet;      /* the client's Maximum Packet Size */
	uint16_t next_pid;
	uint16_t recv_max;        /* the client's Receive Maximum */
	uint16_t id_len;          /* client ids are at most 65535 bytes */
	_Atomic bool durable;     /* persistence on and expiry > 0: QoS 1/2
				     messages to it are stored first; read
				     by publishers' loops */
	/* Incoming QoS 2 packet identifiers awaiting PUBREL (bitmap). */
	uint32_t qos2_count;
	uint32_t dropped;         /* messages dropped for this session */
	uint64_t *qos2_in;
	struct broker_will *will; /* NULL: none (most sessions) */
	char id[];                /* the client id, NUL-terminated, in the
				     session's own allocation */
};

/* A session's will, kept apart because most sessions have none. */
struct broker_will {
	struct broker_wheel_entry timer; /* Will Delay Interval */
	struct broker_session *s;        /* its session (not a reference) */
	struct broker_msg *m;
	uint32_t delay;                  /* seconds */
};

/* Finds or creates the session for client id on loop l, taking it over
 * from its current owner if needed; see session.c. */
struct broker_session *broker_session_ref(struct broker_session *s);
void broker_session_unref(struct broker_session *s);

/* ------------------------------------------------------------------ */
/* Connections and loops (loop.c, conn.c)                               */

enum conn_state { CONN_NEW, CONN_ACTIVE, CONN_CLOSING };

/* A topic we gave a server->client Topic Alias on this connection. */
struct broker_oalias {
	uint8_t *topic; /* NULL: empty slot */
	uint16_t len;
	uint16_t alias;
};

/* At most this many server->client aliases per connection (fewer if the
 * client's Topic Alias Maximum is lower): they bound the memory a client
 * can make us keep, and the first topics sent are the ones that repeat. */
#define BROKER_OUT_ALIASES 64

struct broker_conn {
	/* Ordered to leave no padding, flags as bits: one of these per
	 * connection. */
	uv_tcp_t tcp;
	struct broker_loop *loop;
	struct broker_conn *next_dirty;
	struct broker_conn *prev, *next; /* loop's connection list */
	struct proto_reader rd;
	struct broker_session *s;
	struct broker_wheel_entry ka; /* keepalive / connect deadline */
	struct broker_conn *next_throttled;
	struct broker_conn_x *x; /* what only some connections need, or
				    NULL (broker__conn_x()) */
	uint64_t last_rx;      /* loop clock, ticks */
	uint8_t *obuf;         /* filling (NULL when empty) */
	uint8_t *wbuf;         /* being written (NULL when not writing) */
	uint32_t olen, ocap;
	uint32_t wlen, wcap;
	struct broker_holds *holds; /* persist.c: output waiting for a
				       commit (NULL: none yet) */
	uint16_t keepalive;
	uint16_t listener;
	uint16_t alias_max;    /* Topic Alias Maximum we granted */
	uint16_t oalias_max;   /* server->client: aliases we may use */
	uint16_t oalias_n;     /* ... and have assigned */
	uint16_t ohint;        /* size of the last write in 512-byte units:
				  where the next fill buffer starts */
	uint8_t state;
	uint8_t version;
	bool dirty : 1;
	bool writing : 1;
	bool counted : 1;          /* in listener_conns */
	bool paused : 1;           /* waiting for its session (INBOX_ADOPT) */
	bool adopt_pending : 1;    /* a session is on its way to this conn */
	bool dead : 1;             /* closed while adopt_pending or throttled */
	bool throttled : 1;        /* reading paused by back-pressure */
	bool linger : 1;           /* closing once queued bytes are written */
	bool will_suppressed : 1;  /* normal DISCONNECT received */
	bool takeover : 1;         /* closed because the session moved */
};

/* The parts of a connection that only some connections use, allocated
 * on first use so that an idle device costs less. */
struct broker_conn_x {
	uint8_t **aliases;     /* client->server topic aliases */
	uint16_t *alias_len;
	struct broker_oalias *oalias; /* hash table, 2 * BROKER_OUT_ALIASES */
	void *pending;         /* handle_connect.c: CONNECT awaiting session */
	uint8_t *stash;        /* bytes read while paused or throttled */
	size_t stash_len;
};

/* Output of a connection that waits for storage commits: bytes from
 * v[i].off on may not be written before batch v[i].seq has committed. */
#define BROKER_HOLDS 8
struct broker_holds {
	struct broker_conn *next;   /* the loop's list of held connections */
	bool listed;                /* in that list */
	uint32_t n;
	struct {
		uint64_t seq;
		uint32_t off;
	} v[BROKER_HOLDS];
};

/* A message for another loop's inbox. */
struct broker_inbox_item {
	struct broker_inbox_item *next;
	int kind;
	struct broker_session *s; /* reference */
	struct broker_msg *m;     /* reference */
	struct broker_subopts o;
	bool retained;            /* DELIVER: a retained message on subscribe */
	bool clean;               /* TAKEOVER/ADOPT: clean start asked */
	int target;               /* TAKEOVER: the loop the session goes to;
				     COMMIT: the error (0 or -errno) */
	uint64_t seq;             /* COMMIT: the batch */
	void *ptr;                /* TAKEOVER/ADOPT: the waiting connection */
};

enum {
	INBOX_DELIVER,  /* deliver m to s with options o */
	INBOX_TAKEOVER, /* s moves to this loop: close its old connection
			   here first (ptr: the requesting connection's
			   loop) */
	INBOX_ADOPT,    /* s arrives here for the waiting connection ptr */
	INBOX_STOP,     /* shut down */
	INBOX_COMMIT,   /* storage batch `seq` of this loop is done */
};

struct broker_loop {
	int idx;
	struct broker *b;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t wake;
	uv_timer_t tick;
	uv_prepare_t flush;
	uv_timer_t throttle_timer;
	struct broker_conn *throttled; /* publishers paused for a moment */
	pthread_mutex_t inbox_mu;
	struct broker_inbox_item *inbox_head, *inbox_tail;
	uv_tcp_t *listeners;
	size_t nlisteners;
	struct broker_conn *conns;  /* every connection of this loop */
	struct broker_conn *dirty;
	struct broker_wheel wheel;
	uint64_t now_t;   /* loop clock in BROKER_TICKS_PER_S ticks */
	bool stopping;
	bool inbox_closed;          /* under inbox_mu: wake is closed */
	uint64_t stop_deadline;     /* ticks: lingering writes end here */
	struct broker_targets targets; /* scratch for routing */
	uint8_t rbuf[65536];
	bool rbuf_busy;
	/* Durability (persist.c). */
	struct storage_batch *batch; /* open batch, or NULL */
	uint64_t open_seq;           /* its sequence number */
	uint64_t committed_seq;      /* the last batch reported done */
	uint32_t outstanding;        /* submitted, not reported yet */
	bool batch_needed;           /* something waits on the open batch */
	bool batch_broken;           /* an operation could not be added */
	struct persist_route *routes, *routes_tail; /* waiting for commits */
	const struct broker_msg *route_msg; /* stored in the open batch by
					      the route in progress */
	struct broker_conn *held;    /* connections with holds */
	/* Transport stub (tests/scale): when set, a connection's output is
	 * handed to sink() instead of a socket, and connections read
	 * nothing (their input comes through broker__conn_feed()). */
	void (*sink)(struct broker_conn *c, const uint8_t *p, size_t n);
	/* Counters, summed by $SYS. */
	_Atomic uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
	_Atomic uint64_t clients, bad_input, dropped;
};

/* Counters with $SYS/broker/load/... averages (sys.c). */
#define BROKER_SYS_LOADS 5

/* Process-wide state. */
struct broker {
	struct broker_config *cfg;
	int nloops;
	int nloops_inited;        /* loops whose broker__loop_init() ran */
	struct broker_loop *loops;
	pthread_mutex_t sessions_mu;
	struct broker_session **sessions; /* open-addressing table by id */
	size_t sessions_cap, nsessions;
	struct broker_trie *trie;
	struct broker_retain *retain;
	_Atomic uint64_t clients_total;
	_Atomic uint64_t clients_max;
	_Atomic int32_t *listener_conns; /* per listener, for max_connections */
	uint64_t started_at;      /* loop 0's clock, ticks */
	uint64_t sys_last;        /* uptime (s) of the last $SYS update;
				     loop 0 only */
	/* $SYS load averages (loop 0 only): per counter, its value at the
	 * last update and its 1/5/15-minute moving averages per minute. */
	uint64_t sys_prev[BROKER_SYS_LOADS];
	double sys_load[BROKER_SYS_LOADS][3];
	uint64_t heap_max;
	_Atomic bool stopping;
	struct storage *store;    /* NULL: persistence off */
	_Atomic uint64_t store_failures;
	_Atomic bool store_down;  /* the last commit failed */
};

/* ------------------------------------------------------------------ */
/* Functions shared between the files of broker/                        */

/* node.c: makes b's registry, trie, retained store and (not yet
 * initialised) loops for cfg; 0, or -1 on ENOMEM (broker__node_free()
 * still cleans up).  Frees what the loops left after they stopped. */
int broker__node_init(struct broker *b, struct broker_config *cfg);
void broker__node_free(struct broker *b);

/* loop.c */
/* The loop's clock in ticks of 1/BROKER_TICKS_PER_S s, refreshed from
 * uv_now().  The timer wheel runs in these ticks; deadlines are set as
 * broker__now_t() + interval + 1 so that they never fire early (and at
 * most about two ticks late). */
#define BROKER_TICKS_PER_S 10
uint64_t broker__now_t(struct broker_loop *l);
int broker__loop_init(struct broker_loop *l, struct broker *b, int idx);
int broker__loop_start(struct broker_loop *l);
void broker__loop_stop_here(struct broker_loop *l);
void broker__loop_join(struct broker_loop *l);
/* Posts it (ownership passes) to loop l's inbox; any thread. */
void broker__loop_post(struct broker_loop *l, struct broker_inbox_item *it);
/* Room for n bytes at the end of c's out buffer, NULL on ENOMEM. */
uint8_t *broker__conn_reserve(struct broker_conn *c, size_t n);
/* Commits n bytes written at broker__conn_reserve(); flushed later. */
void broker__conn_commit(struct broker_conn *c, size_t n);
/* A connection on listener li of loop l, before it has a socket. */
struct broker_conn *broker__conn_new(struct broker_loop *l, uint16_t li);
/* Admits c (max_connections), arms its CONNECT deadline and starts
 * reading.  0, or -1 when c was refused or closed. */
int broker__conn_open(struct broker_conn *c);
/* Starts (or resumes) reading c's socket; nothing with a transport
 * stub.  0 or a libuv error. */
int broker__conn_read_start(struct broker_conn *c);
/* libuv callbacks of a connection, to restart reading. */
void broker__conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
void broker__conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
/* A closing connection's last writes did not finish in time. */
void broker__conn_linger_expired(struct broker_conn *c);
/* Frees c once it is closed and no list or message still holds it. */
void broker__conn_release(struct broker_conn *c);
/* Pauses reading from c for about a millisecond (back-pressure). */
void broker__conn_throttle(struct broker_conn *c);
/* Encodes pkt into c's out buffer.  0 or -1. */
int broker__conn_send(struct broker_conn *c, const struct proto_packet *pkt);
size_t broker__conn_backlog(const struct broker_conn *c);
/* Bytes waiting for a client's socket past which QoS 0 messages to it
 * are dropped and QoS 1/2 wait in its queue: a slow subscriber hurts
 * only itself. */
#define BROKER_OUT_HIGH_WATER (4u * 1024u * 1024u)
/* Closes c: MQTT 5 clients get DISCONNECT `reason` first when it is
 * >= 0x80 and they got CONNACK; `why` is logged.  Idempotent. */
void broker__conn_close(struct broker_conn *c, int reason, const char *why);

/* conn.c */
void broker__conn_packet(struct broker_conn *c, const struct proto_packet *p);
/* Answers a decode error (CONNACK or DISCONNECT with its reason code,
 * or a plain close) and closes. */
void broker__conn_reject(struct broker_conn *c, int err);
int broker__conn_stash(struct broker_conn *c, const uint8_t *p, size_t n);
/* Decodes and handles the packets in p[0..left) (borrowed), answering bad
 * input, stashing what arrives while c is paused. */
void broker__conn_feed(struct broker_conn *c, const uint8_t *p, size_t left);
/* Replays stashed bytes and resumes reading (after INBOX_ADOPT). */
void broker__conn_resume(struct broker_conn *c);
/* c's broker_conn_x, made on first use; NULL on ENOMEM. */
struct broker_conn_x *broker__conn_x(struct broker_conn *c);
/* Frees c->x and what it holds. */
void broker__conn_free_x(struct broker_conn *c);
void broker__wheel_fire(struct broker_wheel_entry *e, void *arg);
void broker__inbox_handle(struct broker_loop *l, struct broker_inbox_item *it);

/* handle_connect.c */
void broker__handle_connect(struct broker_conn *c, const struct proto_packet *p);
/* Sends CONNACK and starts the session on c (session attached). */
void broker__connect_finish(struct broker_conn *c, bool present);
/* The session s arrived from another loop for the paused connection c. */
void broker__connect_adopted(struct broker_conn *c, struct broker_session *s,
    bool clean);
/* Frees a CONNECT that waited for its session (the connection closed). */
void broker__connect_pending_free(void *pending);

/* handle_publish.c */
void broker__handle_publish(struct broker_conn *c, const struct proto_packet *p);
void broker__handle_ack(struct broker_conn *c, const struct proto_packet *p);
/* Routes message m (published by session `from`, may be NULL) to every
 * matching subscription.  Runs on loop l.  Returns the longest queue
 * (messages waiting beyond the in-flight window) among the targets, for
 * back-pressure. */
uint32_t broker__route(struct broker_loop *l, struct broker_msg *m,
    struct broker_session *from, bool *durable);

/* handle_subscribe.c */
void broker__handle_subscribe(struct broker_conn *c, const struct proto_packet *p);
void broker__handle_unsubscribe(struct broker_conn *c,
    const struct proto_packet *p);

/* session.c */
struct broker_session *broker__session_new(struct broker *b, const char *id,
    size_t id_len, int owner);
/* Delivers m to s with options o, on loop l (forwards to the owner if it
 * is another loop).  Borrows m and s. */
void broker__session_deliver(struct broker_loop *l, struct broker_session *s,
    struct broker_msg *m, const struct broker_subopts *o, bool retained);
/* Sends what the window allows from s's queue. */
void broker__session_pump(struct broker_loop *l, struct broker_session *s);
/* An acknowledgement (PUBACK, PUBREC or PUBCOMP) for packet id pid;
 * ack 0 ends the flow whatever its state. */
void broker__session_complete(struct broker_loop *l, struct broker_session *s,
    uint16_t pid, uint8_t ack);
void broker__session_unlink(struct broker_session *s,
    struct broker_delivery *d);
/* Resends in-flight messages (DUP) after a reconnect, then pumps. */
void broker__session_resume(struct broker_loop *l, struct broker_session *s);
/* s has no connection now: it ends at once (expiry 0) or when its
 * Session Expiry Interval has passed. */
void broker__session_offline(struct broker_loop *l, struct broker_session *s);
/* The connection of s is closing: wills, expiry, or removal. */
void broker__session_detach(struct broker_loop *l, struct broker_conn *c);
/* Removes s for good: registry, subscriptions, queues.  Owner loop. */
void broker__session_end(struct broker_loop *l, struct broker_session *s);
/* Drops every subscription and queued message of s (clean start). */
void broker__session_clear(struct broker_loop *l, struct broker_session *s);
void broker__publish_will(struct broker_loop *l, struct broker_session *s);
/* Replaces s's will with m (NULL: none; m's reference passes), delayed by
 * delay seconds.  0, or -1 on ENOMEM (m is dropped). */
int broker__session_set_will(struct broker_session *s, struct broker_msg *m,
    uint32_t delay);
/* Registry, under b->sessions_mu. */
struct broker_session *broker__registry_find(struct broker *b, const char *id,
    size_t len);
int broker__registry_add(struct broker *b, struct broker_session *s);
void broker__registry_remove(struct broker *b, struct broker_session *s);

/* Incoming QoS 2 ids awaiting PUBREL (handle_publish.c).  0 or -1. */
int broker__session_qos2_mark(struct broker_session *s, uint16_t pid,
    bool on);
/* Recovery: appends a delivery read from disk (in flight ones before the
 * queued ones). */
void broker__session_restore(struct broker_session *s,
    struct broker_delivery *d);

/* persist.c: see there for the design. */
int broker__persist_open(struct broker *b);
int broker__persist_recover(struct broker *b);
void broker__persist_close(struct broker *b);
/* The rest: on loop l's thread. */
void broker__persist_flush(struct broker_loop *l);
/* Loop 0, every tick: while the store is failing, a probe commit each
 * second finds out when it works again. */
void broker__persist_tick(struct broker_loop *l);
void broker__persist_committed(struct broker_loop *l, uint64_t seq, int err);
/* c's output from here on waits for the open batch. */
void broker__persist_hold(struct broker_conn *c);
size_t broker__persist_writable(const struct broker_conn *c);
void broker__persist_wrote(struct broker_conn *c, size_t n);
void broker__persist_conn_gone(struct broker_conn *c);
void broker__persist_msg_id(struct broker_loop *l, struct broker_msg *m);
/* True while the store is failing: QoS 1/2 that needs it is refused. */
bool broker__persist_refuse(struct broker_loop *l);
/* Stores the queue entry of m for durable session s and delivers it
 * after the commit; false if s is not durable (deliver now). */
bool broker__persist_route(struct broker_loop *l, struct broker_msg *m,
    struct broker_session *s, const struct broker_subopts *o);
void broker__persist_route_end(struct broker_loop *l);
void broker__persist_retain(struct broker_loop *l, const struct broker_msg *m);
void broker__persist_durable(struct broker_loop *l, struct broker_session *s);
/* Writes s's record (or deletes it when expiry is 0). */
void broker__persist_session(struct broker_loop *l, struct broker_session *s);
void broker__persist_session_del(struct broker_loop *l,
    struct broker_session *s);
/* Adds (o != NULL) or removes s's subscription to filter. */
void broker__persist_sub(struct broker_loop *l, struct broker_session *s,
    const uint8_t *filter, uint16_t flen, const struct broker_subopts *o);
void broker__persist_qos2(struct broker_loop *l, struct broker_session *s,
    uint16_t pid, bool on);
/* Writes d's state, or deletes its entry when gone. */
void broker__persist_delivery(struct broker_loop *l, struct broker_session *s,
    const struct broker_delivery *d, bool gone);
int broker__persist_dump(const char *dir);

/* loop.c */
void broker__conn_mark_dirty(struct broker_conn *c);
/* The client's address and port, for log lines ("?" if unknown). */
#define BROKER_PEER_LEN 64
const char *broker__conn_peer(struct broker_conn *c, char *buf, size_t len);

/* sys.c */
void broker__sys_tick(struct broker_loop *l);

#endif /* BROKER_INTERNAL_H */
