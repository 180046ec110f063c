/*
 * loadgen.h - the event-loop half of starling-bench, private to the
 * starling-bench executable: options, the per-thread worker, and the
 * counters the main thread reads while workers run.
 *
 * Threads.  main.c parses options and runs the show from the main thread;
 * each worker thread (client.c) owns one libuv loop and every client on it.
 * The main thread talks to workers only by storing a new phase in
 * bench_run.phase and waking each loop with uv_async_send(); workers talk
 * back only through their relaxed atomic counters.  After the workers are
 * joined, main.c reads their histograms and trackers directly.
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include "bench/bench.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

enum bench_mode { MODE_CONN, MODE_SUB, MODE_PUB, MODE_RUN };
enum bench_scenario { SCEN_NONE, SCEN_FANIN, SCEN_FANOUT, SCEN_PAIRS };

/* Per-message delivery is tracked for the first BENCH_PER_MSG messages of
 * publisher 0 (a broadcast's time from publish to its last delivery). */
#define BENCH_PER_MSG 64

/* Roles of a client (bits). */
#define ROLE_SUB 1u
#define ROLE_PUB 2u

struct bench_opts {
	enum bench_mode mode;
	enum bench_scenario scenario;
	const char *host;
	int port;
	int version;      /* 3, 4 or 5 */
	int keepalive;    /* seconds */
	const char *username;
	const char *password;
	const char *prefix;
	struct sockaddr_storage ifaddrs[16];
	int n_ifaddr;
	int threads;
	int count;        /* -c: connections / subscribers / publishers */
	int pubs;         /* run: -P publishers */
	double duration;  /* -d seconds */
	double conn_interval_ms; /* -i: between connects, all threads */
	double conn_rate;        /* -R: connects per second, all threads */
	const char *topic;       /* -t, a template */
	int qos;
	int size;                /* -s payload bytes */
	double pub_interval_ms;  /* pub -I: per publisher */
	uint64_t limit;          /* pub -L: total messages, 0 = none */
	bool retain;
	double rate;             /* run -r: per publisher, 0 = flat out */
	int window;              /* -w: QoS 1/2 in flight per publisher */
	double drain;            /* seconds to wait for stragglers */
	double connect_timeout;  /* seconds to wait for all to be ready */
	bool clean;
	bool json;
	bool allow_remote;
	bool quiet;
	const char *ready_file;  /* --ready-file: written once connected */
	struct sockaddr_storage addr; /* resolved target */
};

/* Phases, set by the main thread, read by workers on wake-up. */
enum bench_phase {
	PHASE_IDLE,
	PHASE_CONNECT_SUBS, /* connect (and subscribe) the ROLE_SUB clients */
	PHASE_CONNECT_PUBS, /* connect the others */
	PHASE_GO,           /* publishers publish */
	PHASE_STOP,         /* publishers stop; in-flight ones complete */
	PHASE_DISCONNECT,   /* DISCONNECT, close, leave the loop */
};

/* Failure reasons, counted per worker. */
enum bench_fail {
	FAIL_TCP,        /* connect() failed */
	FAIL_CONNACK,    /* CONNACK refused */
	FAIL_SUBACK,     /* SUBACK refused a filter */
	FAIL_CLOSED,     /* closed by the broker before we were done */
	FAIL_PROTOCOL,   /* the broker sent something we could not decode */
	FAIL_TIMEOUT,    /* not ready within the connect timeout */
	FAIL_DISCONNECT, /* the broker sent DISCONNECT */
	FAIL_NREASONS
};

/* Counters a worker updates and the main thread samples (relaxed). */
struct bench_counters {
	_Atomic uint64_t connecting;  /* TCP connects started */
	_Atomic uint64_t connected;   /* CONNACK accepted */
	_Atomic uint64_t ready;       /* connected and, if a subscriber, subscribed */
	_Atomic uint64_t closed;
	_Atomic uint64_t sent;        /* PUBLISH written */
	_Atomic uint64_t acked;       /* PUBACK / PUBCOMP received */
	_Atomic uint64_t received;    /* PUBLISH received */
	_Atomic uint64_t unique;      /* received for the first time */
	_Atomic uint64_t dups;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t inflight;    /* QoS 1/2 PUBLISH not yet completed */
	_Atomic uint64_t pings;
	_Atomic uint64_t fail[FAIL_NREASONS];
	_Atomic uint64_t first_conn_ns; /* first TCP connect started */
	_Atomic uint64_t last_ready_ns; /* last client became ready */
	_Atomic uint64_t last_rc;       /* last refusal reason code seen */
};

struct bench_run;
struct bench_client;

struct bench_worker {
	int idx;
	struct bench_run *run;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t wake;
	uv_timer_t tick;
	uv_prepare_t flush;
	uv_idle_t spin;             /* fixed-rate pacing, see client.c */
	struct bench_client **pubs; /* this worker's publishers, by pub_no */
	uint32_t npubs;
	uint32_t cursor;            /* next publisher in due order */
	int seen_phase;
	struct bench_client **clients;
	uint32_t nclients;
	uint32_t next_connect;      /* index of the next client to connect */
	uint32_t connecting_now;    /* TCP/MQTT handshakes in progress */
	uint64_t phase_start_ns;    /* when the current phase began here */
	uint64_t connects_started;  /* in this phase */
	uint64_t ticks;
	struct bench_client *dirty; /* clients with bytes to flush */
	struct bench_counters c;
	struct bench_hist lat;      /* end-to-end latency, ns */
	struct bench_track track;   /* sums of closed subscribers' trackers */
	uint64_t msg_count[BENCH_PER_MSG]; /* deliveries of publisher 0's
					     message n (first arrivals) */
	uint64_t msg_max[BENCH_PER_MSG];   /* its latest one's latency, ns */
	uint64_t rng;
	uint8_t *payload;           /* scratch payload of opts.size bytes */
	uint8_t rbuf[65536];        /* read buffer shared by this loop's clients */
	bool rbuf_busy;
};

struct bench_run {
	struct bench_opts *opts;
	_Atomic int phase;
	_Atomic int stopped; /* workers that have stopped publishing */
	int nworkers;
	struct bench_worker *workers;
	uint32_t nsubs;  /* clients with ROLE_SUB */
	uint32_t npubs;  /* clients with ROLE_PUB */
	uint32_t nconn;  /* all clients */
};

/* client.c: builds worker w's clients (every client whose global index i
 * has i % nworkers == w->idx), prepares its loop and handles.  Returns 0 or
 * a negative libuv error. */
int bench_worker_init(struct bench_worker *w, struct bench_run *run, int idx);

/* client.c: the worker thread's body: runs the loop until PHASE_DISCONNECT
 * has closed every client. */
void bench_worker_main(void *arg);

/* client.c: frees what bench_worker_init made, after the thread ended. */
void bench_worker_fini(struct bench_worker *w);

/* client.c: static name of a failure reason. */
const char *bench_fail_name(int reason);

/* client.c: how many subscribers a message of publisher p reaches. */
uint32_t bench_fanout_of(const struct bench_run *run, uint32_t p);

#endif /* BENCH_LOADGEN_H */
