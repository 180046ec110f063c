/*
 * client.c - starling-bench's worker threads and MQTT clients on libuv.
 *
 * A worker owns one loop and a fixed set of clients (global index i with
 * i % nworkers == worker index).  Every client, its socket, reader and
 * buffers belong to that worker's thread alone.  Per loop turn a client
 * makes at most one write: packets are appended to its out buffer and the
 * worker's prepare handle flushes every dirty client just before the loop
 * polls again (double buffering: one buffer in the kernel's hands, one
 * filling).  A check handle would run only after the poll, which can sleep
 * until the next timer and add up to a millisecond of latency.
 *
 * Fixed-rate publishing (-r, -I) needs finer timing than libuv's
 * millisecond timers: a millisecond tick releases bursts whose own queueing
 * would swamp a broker's microsecond latencies.  So while such a run
 * publishes, an idle handle keeps the loop polling without sleeping and
 * releases each message at its own nanosecond due time.  Publishers are
 * spread evenly over one interval, so the due order is a fixed cycle over
 * the worker's publishers and each spin looks at the next one or few only.
 * The price is one busy core per worker thread during fixed-rate runs,
 * unless the next message is more than 2 ms away: then the spin stops and
 * the 1 ms tick starts it again, so slow rates sleep.  A 1 ms timer
 * paces connects and publishes (token bucket against the phase start) and,
 * once a second, sends keepalive pings.  Reads land in one per-worker
 * buffer; proto_reader keeps only a packet cut by the end of a read.
 */
#include "bench/loadgen.h"

#include "proto/proto.h"

#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

/* IP_BIND_ADDRESS_NO_PORT (Linux 4.2), from <linux/in.h>, which clashes
 * with <netinet/in.h>. */
#define BENCH_BIND_NO_PORT 24

#define TOPIC_MAX 256
#define ID_MAX 64
#define OUT_SOFT_LIMIT (64u * 1024u) /* stop producing above this backlog */
#define MAX_HANDSHAKES 256           /* concurrent connects per worker */
#define SPIN_AHEAD_NS 2000000ull     /* spin only this close to a due time */

enum client_state {
	CS_IDLE,
	CS_TCP,        /* TCP connect in progress */
	CS_CONNACK,    /* CONNECT sent */
	CS_SUBACK,     /* SUBSCRIBE sent */
	CS_READY,
	CS_CLOSING,
};

struct bench_client {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	struct bench_worker *w;
	struct bench_client *next_dirty;
	uint32_t index;    /* global client index */
	uint32_t seq;      /* 1-based sequence within its role, for %i */
	uint32_t pub_no;   /* publisher number in stamps */
	uint8_t role;
	uint8_t state;
	bool dirty;
	bool writing;
	bool counted_ready;
	bool done;         /* publisher reached its share of the limit */
	uint16_t next_pid;
	uint16_t recv_max; /* the broker's Receive Maximum (MQTT 5) */
	uint32_t inflight;
	uint64_t sent;     /* PUBLISH written */
	uint64_t quota;    /* messages this publisher may send, 0 = no limit */
	uint64_t last_tx_ns;
	char id[ID_MAX];
	char topic[TOPIC_MAX];
	bool topic_per_msg; /* a publisher whose topic draws %rand: drawn
			       again for every message */
	struct proto_reader rd;
	struct bench_track track;
	uint8_t *obuf;     /* filling */
	size_t olen, ocap;
	uint8_t *wbuf;     /* being written */
	size_t wlen, wcap;
};

static const char *const fail_names[FAIL_NREASONS] = {
	[FAIL_TCP] = "tcp_connect",
	[FAIL_CONNACK] = "connack_refused",
	[FAIL_SUBACK] = "suback_refused",
	[FAIL_CLOSED] = "closed_by_peer",
	[FAIL_PROTOCOL] = "protocol_error",
	[FAIL_TIMEOUT] = "not_ready_in_time",
	[FAIL_DISCONNECT] = "server_disconnect",
};

const char *
bench_fail_name(int reason)
{
	return reason >= 0 && reason < FAIL_NREASONS ? fail_names[reason] : "?";
}

uint32_t
bench_fanout_of(const struct bench_run *run, uint32_t p)
{
	(void)p;
	if (run->opts->mode != MODE_RUN) {
		return 0;
	}
	/* pairs: one subscriber per publisher; fan-in and fan-out: every
	 * subscriber hears every publisher. */
	return run->opts->scenario == SCEN_PAIRS ? 1 : run->nsubs;
}

static void
count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void
uncount(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static void
fail(struct bench_client *cl, int reason)
{
	count(&cl->w->c.fail[reason], 1);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static void on_write(uv_write_t *req, int status);

static void
mark_dirty(struct bench_client *cl)
{
	if (!cl->dirty) {
		cl->dirty = true;
		cl->next_dirty = cl->w->dirty;
		cl->w->dirty = cl;
	}
}

/* Makes room for n more bytes in the out buffer. */
static uint8_t *
out_reserve(struct bench_client *cl, size_t n)
{
	if (cl->olen + n > cl->ocap) {
		size_t ncap = cl->ocap ? cl->ocap * 2 : 1024;
		while (ncap < cl->olen + n) {
			ncap *= 2;
		}
		uint8_t *nb = realloc(cl->obuf, ncap);
		if (nb == NULL) {
			return NULL;
		}
		cl->obuf = nb;
		cl->ocap = ncap;
	}
	return cl->obuf + cl->olen;
}

/* Encodes pkt at the end of the out buffer; the flush comes later. */
static int
send_packet(struct bench_client *cl, const struct proto_packet *pkt)
{
	size_t need = proto_encode_size(pkt), len;
	uint8_t *p;

	if (need == 0 || (p = out_reserve(cl, need)) == NULL) {
		return -1;
	}
	if (proto_encode(pkt, p, need, &len) != 0) {
		return -1;
	}
	cl->olen += len;
	cl->last_tx_ns = bench_now_ns();
	count(&cl->w->c.bytes_out, len);
	mark_dirty(cl);
	return 0;
}

static void
flush(struct bench_client *cl)
{
	uv_buf_t b;
	uint8_t *t;
	size_t tc;

	if (cl->writing || cl->olen == 0 || cl->state == CS_CLOSING) {
		return;
	}
	/* Swap buffers: the filled one goes to the kernel. */
	t = cl->wbuf;
	tc = cl->wcap;
	cl->wbuf = cl->obuf;
	cl->wcap = cl->ocap;
	cl->wlen = cl->olen;
	cl->obuf = t;
	cl->ocap = tc;
	cl->olen = 0;
	b = uv_buf_init((char *)cl->wbuf, (unsigned)cl->wlen);
	if (uv_write(&cl->wreq, (uv_stream_t *)&cl->tcp, &b, 1, on_write) == 0) {
		cl->writing = true;
	}
}

static void
on_flush(uv_prepare_t *h)
{
	struct bench_worker *w = h->data;
	struct bench_client *cl = w->dirty;

	w->dirty = NULL;
	while (cl != NULL) {
		struct bench_client *next = cl->next_dirty;
		cl->dirty = false;
		cl->next_dirty = NULL;
		flush(cl);
		cl = next;
	}
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */

static void
on_close(uv_handle_t *h)
{
	struct bench_client *cl = h->data;
	struct bench_worker *w = cl->w;

	count(&w->c.closed, 1);
	bench_track_sum(&w->track, &cl->track);
	bench_track_fini(&cl->track);
	proto_reader_fini(&cl->rd);
	free(cl->obuf);
	free(cl->wbuf);
	cl->obuf = cl->wbuf = NULL;
	cl->olen = cl->ocap = cl->wlen = cl->wcap = 0;
	cl->state = CS_IDLE;
	cl->inflight = 0;
}

static void
close_client(struct bench_client *cl)
{
	if (cl->state == CS_CLOSING || cl->state == CS_IDLE) {
		return;
	}
	if (cl->state == CS_TCP || cl->state == CS_CONNACK ||
	    cl->state == CS_SUBACK) {
		cl->w->connecting_now--;
	}
	uncount(&cl->w->c.inflight, cl->inflight);
	cl->state = CS_CLOSING;
	uv_close((uv_handle_t *)&cl->tcp, on_close);
}

/* ------------------------------------------------------------------ */
/* Publishing                                                          */

static const struct bench_opts *
opts_of(const struct bench_client *cl)
{
	return cl->w->run->opts;
}

static int
publish_one(struct bench_client *cl)
{
	const struct bench_opts *o = opts_of(cl);
	struct proto_packet pkt;
	uint8_t *pl = cl->w->payload;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_PUBLISH;
	pkt.version = (uint8_t)o->version;
	pkt.publish.qos = (uint8_t)o->qos;
	pkt.publish.retain = o->retain;
	if (cl->topic_per_msg &&
	    bench_template_expand(o->topic, cl->seq, cl->id, &cl->w->rng,
		cl->topic, sizeof(cl->topic)) < 0) {
		return -1;
	}
	pkt.publish.topic.ptr = (const uint8_t *)cl->topic;
	pkt.publish.topic.len = (uint32_t)strlen(cl->topic);
	if (o->qos > 0) {
		if (++cl->next_pid == 0) {
			cl->next_pid = 1;
		}
		pkt.publish.packet_id = cl->next_pid;
	}
	bench_stamp_write(pl, (size_t)o->size, cl->pub_no, cl->sent,
	    bench_now_ns());
	pkt.publish.payload.ptr = pl;
	pkt.publish.payload.len = (uint32_t)o->size;
	if (send_packet(cl, &pkt) != 0) {
		return -1;
	}
	cl->sent++;
	count(&cl->w->c.sent, 1);
	if (o->qos > 0) {
		cl->inflight++;
		count(&cl->w->c.inflight, 1);
	}
	if (cl->quota != 0 && cl->sent >= cl->quota) {
		cl->done = true;
	}
	return 0;
}

/* Publishes what this publisher may now: up to `due` messages in total,
 * within the QoS 1/2 window and the output backlog limit. */
static void
publish_upto(struct bench_client *cl, uint64_t due)
{
	const struct bench_opts *o = opts_of(cl);

	while (!cl->done && cl->sent < due && cl->state == CS_READY) {
		if (o->qos > 0 && (cl->inflight >= (uint32_t)o->window ||
				      cl->inflight >= cl->recv_max)) {
			break;
		}
		if (cl->olen + cl->wlen >= OUT_SOFT_LIMIT) {
			break;
		}
		if (publish_one(cl) != 0) {
			break;
		}
	}
}

/* When message number cl->sent of a fixed-rate publisher is due. */
static uint64_t
next_due_ns(const struct bench_client *cl, double per_s)
{
	uint32_t npubs = cl->w->run->npubs ? cl->w->run->npubs : 1;
	double offset = (double)(cl->pub_no % npubs) / npubs;

	return cl->w->phase_start_ns +
	    (uint64_t)(((double)cl->sent + offset) * 1e9 / per_s);
}

static double
fixed_rate(const struct bench_opts *o)
{
	if (o->mode == MODE_RUN) {
		return o->rate;
	}
	return o->pub_interval_ms > 0 ? 1000.0 / o->pub_interval_ms : 0;
}

/* Messages a publisher should have sent by now in this phase. */
static uint64_t
due_now(const struct bench_client *cl, uint64_t now)
{
	double per_s = fixed_rate(opts_of(cl));

	if (per_s <= 0) {
		return UINT64_MAX; /* flat out: windows and backlog decide */
	}
	double elapsed = (double)(now - cl->w->phase_start_ns) / 1e9;
	/* Publishers are spread evenly over one interval, so that a fixed
	 * rate is a steady stream rather than synchronised bursts, which
	 * would measure queueing in our own burst instead of the broker. */
	uint32_t npubs = cl->w->run->npubs ? cl->w->run->npubs : 1;
	double offset = (double)(cl->pub_no % npubs) / npubs;
	return (uint64_t)(elapsed * per_s + 1.0 - offset);
}

static bool
publishing(const struct bench_client *cl)
{
	return (cl->role & ROLE_PUB) != 0 && cl->w->seen_phase == PHASE_GO;
}

/* ------------------------------------------------------------------ */
/* Incoming packets                                                    */

static void
became_ready(struct bench_client *cl)
{
	struct bench_worker *w = cl->w;

	cl->state = CS_READY;
	w->connecting_now--;
	if (!cl->counted_ready) {
		cl->counted_ready = true;
		count(&w->c.ready, 1);
		atomic_store_explicit(&w->c.last_ready_ns, bench_now_ns(),
		    memory_order_relaxed);
	}
	if (publishing(cl)) {
		publish_upto(cl, due_now(cl, bench_now_ns()));
	}
}

static void
send_subscribe(struct bench_client *cl)
{
	const struct bench_opts *o = opts_of(cl);
	struct proto_sub_entry e;
	struct proto_packet pkt;

	memset(&e, 0, sizeof(e));
	memset(&pkt, 0, sizeof(pkt));
	e.filter.ptr = (const uint8_t *)cl->topic;
	e.filter.len = (uint32_t)strlen(cl->topic);
	e.qos = (uint8_t)o->qos;
	pkt.type = PROTO_SUBSCRIBE;
	pkt.version = (uint8_t)o->version;
	pkt.subscribe.packet_id = 1;
	pkt.subscribe.count = 1;
	pkt.subscribe.entries = &e;
	send_packet(cl, &pkt);
	cl->state = CS_SUBACK;
}

static void
send_ack(struct bench_client *cl, uint8_t type, uint16_t pid)
{
	struct proto_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = type;
	pkt.version = (uint8_t)opts_of(cl)->version;
	pkt.ack.packet_id = pid;
	send_packet(cl, &pkt);
}

static void
on_publish(struct bench_client *cl, const struct proto_publish *p)
{
	struct bench_worker *w = cl->w;
	uint32_t pub;
	uint64_t seq, ts;

	count(&w->c.received, 1);
	if (bench_stamp_read(p->payload.ptr, p->payload.len, &pub, &seq, &ts)) {
		uint64_t now = bench_now_ns();
		int k = bench_track_add(&cl->track, pub, seq);

		if (k == BENCH_SEQ_DUP) {
			count(&w->c.dups, 1);
		} else if (k >= 0) {
			uint64_t lat = now > ts ? now - ts : 0;

			count(&w->c.unique, 1);
			bench_hist_add(&w->lat, lat);
			if (pub == 0 && seq < BENCH_PER_MSG) {
				w->msg_count[seq]++;
				if (lat > w->msg_max[seq]) {
					w->msg_max[seq] = lat;
				}
			}
		}
	} else {
		count(&w->c.unique, 1);
	}
	if (p->qos == 1) {
		send_ack(cl, PROTO_PUBACK, p->packet_id);
	} else if (p->qos == 2) {
		send_ack(cl, PROTO_PUBREC, p->packet_id);
	}
}

/* A QoS 1 or 2 publish completed. */
static void
on_completed(struct bench_client *cl)
{
	if (cl->inflight > 0) {
		cl->inflight--;
		uncount(&cl->w->c.inflight, 1);
	}
	count(&cl->w->c.acked, 1);
	if (publishing(cl)) {
		publish_upto(cl, due_now(cl, bench_now_ns()));
	}
}

static void
on_packet(struct bench_client *cl, const struct proto_packet *pkt)
{
	struct bench_worker *w = cl->w;

	switch (pkt->type) {
	case PROTO_CONNACK:
		if (cl->state != CS_CONNACK) {
			break;
		}
		if (pkt->connack.reason != 0) {
			fail(cl, FAIL_CONNACK);
			atomic_store_explicit(&w->c.last_rc, pkt->connack.reason,
			    memory_order_relaxed);
			close_client(cl);
			return;
		}
		count(&w->c.connected, 1);
		/* An MQTT 5 broker may allow fewer QoS 1/2 messages in
		 * flight than our window. */
		cl->recv_max = 65535;
		if (proto_props_has(&pkt->connack.props,
			PROTO_PROP_RECEIVE_MAX)) {
			cl->recv_max = pkt->connack.props.receive_max;
		}
		if (cl->role & ROLE_SUB) {
			send_subscribe(cl);
		} else {
			became_ready(cl);
		}
		break;
	case PROTO_SUBACK:
		if (cl->state != CS_SUBACK) {
			break;
		}
		if (pkt->suback.count < 1 || pkt->suback.reasons[0] >= 0x80) {
			fail(cl, FAIL_SUBACK);
			atomic_store_explicit(&w->c.last_rc,
			    pkt->suback.count ? pkt->suback.reasons[0] : 0,
			    memory_order_relaxed);
			close_client(cl);
			return;
		}
		became_ready(cl);
		break;
	case PROTO_PUBLISH:
		on_publish(cl, &pkt->publish);
		break;
	case PROTO_PUBREL:
		send_ack(cl, PROTO_PUBCOMP, pkt->ack.packet_id);
		break;
	case PROTO_PUBACK:
	case PROTO_PUBCOMP:
		on_completed(cl);
		break;
	case PROTO_PUBREC:
		if (pkt->ack.reason >= 0x80) {
			on_completed(cl); /* refused: the flow ends here */
		} else {
			send_ack(cl, PROTO_PUBREL, pkt->ack.packet_id);
		}
		break;
	case PROTO_DISCONNECT:
		fail(cl, FAIL_DISCONNECT);
		atomic_store_explicit(&w->c.last_rc, pkt->disconnect.reason,
		    memory_order_relaxed);
		close_client(cl);
		return;
	default:
		break;
	}
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct bench_client *cl = h->data;
	struct bench_worker *w = cl->w;

	(void)suggested;
	/* One read at a time per loop, so one buffer serves every client;
	 * the reader copies what it must keep. */
	if (w->rbuf_busy) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	w->rbuf_busy = true;
	*buf = uv_buf_init((char *)w->rbuf, sizeof(w->rbuf));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct bench_client *cl = s->data;
	struct bench_worker *w = cl->w;
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t left = n > 0 ? (size_t)n : 0;

	if (buf->base == (char *)w->rbuf) {
		w->rbuf_busy = false;
	}
	if (n < 0) {
		/* The broker closed on us: expected only at the end. */
		if (cl->state != CS_CLOSING &&
		    w->seen_phase < PHASE_DISCONNECT) {
			fail(cl, FAIL_CLOSED);
		}
		close_client(cl);
		return;
	}
	count(&w->c.bytes_in, left);
	while (cl->state != CS_CLOSING) {
		struct proto_packet pkt;
		size_t used;
		int rc = proto_reader_feed(&cl->rd, p, left, &used, &pkt);

		p += used;
		left -= used;
		if (rc == PROTO_MORE) {
			break;
		}
		if (rc < 0) {
			fail(cl, FAIL_PROTOCOL);
			close_client(cl);
			return;
		}
		on_packet(cl, &pkt);
	}
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

static void
send_connect(struct bench_client *cl)
{
	const struct bench_opts *o = opts_of(cl);
	struct proto_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_CONNECT;
	pkt.version = (uint8_t)o->version;
	pkt.connect.clean_start = o->clean;
	pkt.connect.keepalive = (uint16_t)o->keepalive;
	pkt.connect.client_id.ptr = (const uint8_t *)cl->id;
	pkt.connect.client_id.len = (uint32_t)strlen(cl->id);
	if (o->username != NULL) {
		pkt.connect.has_username = true;
		pkt.connect.username.ptr = (const uint8_t *)o->username;
		pkt.connect.username.len = (uint32_t)strlen(o->username);
	}
	if (o->password != NULL) {
		pkt.connect.has_password = true;
		pkt.connect.password.ptr = (const uint8_t *)o->password;
		pkt.connect.password.len = (uint32_t)strlen(o->password);
	}
	send_packet(cl, &pkt);
	cl->state = CS_CONNACK;
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct bench_client *cl = req->data;

	if (cl->state != CS_TCP) {
		return; /* closed meanwhile */
	}
	if (status < 0) {
		fail(cl, FAIL_TCP);
		close_client(cl);
		return;
	}
	uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_read);
	send_connect(cl);
}

static void
start_client(struct bench_client *cl)
{
	struct bench_worker *w = cl->w;
	const struct bench_opts *o = w->run->opts;
	int rc;

	const struct sockaddr *src = NULL;
	if (o->n_ifaddr > 0) {
		src = (const struct sockaddr *)&o->ifaddrs[cl->index %
		    (uint32_t)o->n_ifaddr];
	}
	uv_tcp_init_ex(&w->loop, &cl->tcp, src ? src->sa_family : AF_UNSPEC);
	cl->tcp.data = cl;
	cl->creq.data = cl;
	cl->state = CS_TCP;
	w->connecting_now++;
	proto_reader_init(&cl->rd, 0);
	/* We are the client: no CONNECT will tell the reader the level. */
	cl->rd.version = (uint8_t)o->version;
	bench_track_init(&cl->track);
	count(&w->c.connecting, 1);
	uint64_t zero = 0;
	atomic_compare_exchange_strong(&w->c.first_conn_ns, &zero,
	    bench_now_ns());
	uv_tcp_nodelay(&cl->tcp, 1);
	if (src != NULL) {
		/* Let connect() pick the port for the whole 4-tuple: a bind()
		 * to port 0 searches for a port free on every destination,
		 * which costs more with every connection already open. */
		uv_os_fd_t fd;
		int one = 1;
		if (uv_fileno((uv_handle_t *)&cl->tcp, &fd) == 0) {
			setsockopt(fd, IPPROTO_IP, BENCH_BIND_NO_PORT, &one,
			    sizeof(one));
		}
		if ((rc = uv_tcp_bind(&cl->tcp, src, 0)) != 0) {
			fail(cl, FAIL_TCP);
			close_client(cl);
			return;
		}
	}
	rc = uv_tcp_connect(&cl->creq, &cl->tcp,
	    (const struct sockaddr *)&o->addr, on_connect);
	if (rc != 0) {
		fail(cl, FAIL_TCP);
		close_client(cl);
	}
}

/* Whether client cl takes part in the connect phase ph. */
static bool
in_phase(const struct bench_client *cl, int ph)
{
	if (ph == PHASE_CONNECT_SUBS) {
		return (cl->role & ROLE_SUB) != 0;
	}
	return ph == PHASE_CONNECT_PUBS && (cl->role & ROLE_SUB) == 0;
}

/* Starts the connects that are due in a connect phase, paced by -i/-R
 * (shared out between workers) and capped in concurrency. */
static void
pace_connects(struct bench_worker *w, uint64_t now)
{
	const struct bench_opts *o = w->run->opts;
	double per_s = 0;
	uint64_t due = UINT64_MAX;

	if (o->conn_rate > 0) {
		per_s = o->conn_rate / w->run->nworkers;
	} else if (o->conn_interval_ms > 0) {
		per_s = 1000.0 / o->conn_interval_ms / w->run->nworkers;
	}
	if (per_s > 0) {
		due = (uint64_t)((double)(now - w->phase_start_ns) / 1e9 *
			  per_s) + 1;
	}
	while (w->next_connect < w->nclients && w->connects_started < due &&
	    w->connecting_now < MAX_HANDSHAKES) {
		struct bench_client *cl = w->clients[w->next_connect++];

		if (!in_phase(cl, w->seen_phase)) {
			continue;
		}
		w->connects_started++;
		start_client(cl);
	}
}

/* ------------------------------------------------------------------ */
/* Worker                                                              */

static void
send_ping(struct bench_client *cl)
{
	struct proto_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_PINGREQ;
	pkt.version = (uint8_t)opts_of(cl)->version;
	send_packet(cl, &pkt);
	count(&cl->w->c.pings, 1);
}

static void on_spin(uv_idle_t *h);

static void
on_tick(uv_timer_t *t)
{
	struct bench_worker *w = t->data;
	const struct bench_opts *o = w->run->opts;
	uint64_t now = bench_now_ns();

	w->ticks++;
	if (w->seen_phase == PHASE_CONNECT_SUBS ||
	    w->seen_phase == PHASE_CONNECT_PUBS) {
		pace_connects(w, now);
	}
	if (w->seen_phase == PHASE_GO && fixed_rate(o) > 0 && w->npubs > 0 &&
	    !uv_is_active((uv_handle_t *)&w->spin)) {
		uv_idle_start(&w->spin, on_spin); /* see on_spin */
	}
	if (w->seen_phase == PHASE_GO && fixed_rate(o) <= 0) {
		/* Flat out: acks and write completions refill; this only
		 * restarts a publisher that had nothing to wait for. */
		for (uint32_t i = 0; i < w->npubs; i++) {
			struct bench_client *cl = w->pubs[i];
			if (publishing(cl) && cl->state == CS_READY) {
				publish_upto(cl, due_now(cl, now));
			}
		}
	}
	/* Keepalive: ping whoever has been quiet for half the interval. */
	if (o->keepalive > 0 && w->ticks % 1000 == 0) {
		uint64_t quiet = (uint64_t)o->keepalive * 500000000ull;
		for (uint32_t i = 0; i < w->nclients; i++) {
			struct bench_client *cl = w->clients[i];
			if (cl->state == CS_READY &&
			    now - cl->last_tx_ns >= quiet) {
				send_ping(cl);
			}
		}
	}
}

/* Fixed-rate pacing, run on every loop turn while publishing: serves
 * publishers in due order until the next one is not yet due. */
static void
on_spin(uv_idle_t *h)
{
	struct bench_worker *w = h->data;
	double per_s = fixed_rate(w->run->opts);
	uint64_t now = bench_now_ns();

	for (uint32_t visited = 0; visited < w->npubs; visited++) {
		struct bench_client *cl = w->pubs[w->cursor];

		if (cl->state == CS_READY && !cl->done) {
			uint64_t due = next_due_ns(cl, per_s);

			if (due > now) {
				/* A slow rate: sleep until the 1 ms tick
				 * brings us close to the due time again. */
				if (due - now > SPIN_AHEAD_NS) {
					uv_idle_stop(h);
				}
				return;
			}
			publish_upto(cl, due_now(cl, now));
		}
		w->cursor = (w->cursor + 1) % w->npubs;
	}
}

static void
disconnect_all(struct bench_worker *w)
{
	struct proto_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_DISCONNECT;
	for (uint32_t i = 0; i < w->nclients; i++) {
		struct bench_client *cl = w->clients[i];

		if (cl->state == CS_READY) {
			pkt.version = (uint8_t)opts_of(cl)->version;
			send_packet(cl, &pkt);
			flush(cl);
		}
		/* A DISCONNECT already queued in the kernel still goes out:
		 * uv_close cancels only what libuv has not written. */
		close_client(cl);
	}
	uv_close((uv_handle_t *)&w->tick, NULL);
	uv_close((uv_handle_t *)&w->spin, NULL);
	uv_close((uv_handle_t *)&w->flush, NULL);
	uv_close((uv_handle_t *)&w->wake, NULL);
}

static void enter_phase(struct bench_worker *w, int ph);

static void
on_wake(uv_async_t *a)
{
	struct bench_worker *w = a->data;
	int target = atomic_load_explicit(&w->run->phase, memory_order_acquire);

	/* Wake-ups merge: step through every phase we missed, so that a
	 * publisher always stops (PHASE_STOP) before it disconnects. */
	while (w->seen_phase < target) {
		enter_phase(w, w->seen_phase + 1);
	}
}

static void
enter_phase(struct bench_worker *w, int ph)
{
	w->seen_phase = ph;
	w->phase_start_ns = bench_now_ns();
	w->connects_started = 0;
	switch (ph) {
	case PHASE_CONNECT_SUBS:
	case PHASE_CONNECT_PUBS:
		w->next_connect = 0;
		pace_connects(w, w->phase_start_ns);
		break;
	case PHASE_GO:
		for (uint32_t i = 0; i < w->nclients; i++) {
			struct bench_client *cl = w->clients[i];
			cl->sent = 0;
			if (publishing(cl) && cl->state == CS_READY) {
				publish_upto(cl, due_now(cl, w->phase_start_ns));
			}
		}
		w->cursor = 0;
		if (fixed_rate(w->run->opts) > 0 && w->npubs > 0) {
			uv_idle_start(&w->spin, on_spin);
		}
		break;
	case PHASE_STOP:
		uv_idle_stop(&w->spin);
		atomic_fetch_add_explicit(&w->run->stopped, 1,
		    memory_order_release);
		break;
	case PHASE_DISCONNECT:
		disconnect_all(w);
		break;
	default:
		break;
	}
}

static void
on_write(uv_write_t *req, int status)
{
	struct bench_client *cl = req->handle->data;

	cl->writing = false;
	cl->wlen = 0;
	if (status < 0) {
		return; /* the read side reports the closed connection */
	}
	if (cl->state == CS_CLOSING) {
		return;
	}
	/* Room again: flat-out QoS 0 publishers refill here. */
	if (publishing(cl) && cl->state == CS_READY) {
		publish_upto(cl, due_now(cl, bench_now_ns()));
	}
	flush(cl);
}

/* Sets a client's id, topic and role from its global index. */
static int
setup_client(struct bench_worker *w, struct bench_client *cl, uint32_t i)
{
	const struct bench_opts *o = w->run->opts;
	const struct bench_run *run = w->run;
	char kind;

	cl->w = w;
	cl->index = i;
	cl->next_pid = 0;
	if (o->mode == MODE_RUN) {
		bool sub = i < run->nsubs;
		cl->role = sub ? ROLE_SUB : ROLE_PUB;
		cl->seq = sub ? i + 1 : i - run->nsubs + 1;
	} else {
		cl->role = o->mode == MODE_SUB ? ROLE_SUB
		    : o->mode == MODE_PUB      ? ROLE_PUB
					       : 0;
		cl->seq = i + 1;
	}
	cl->pub_no = cl->seq - 1;
	kind = cl->role & ROLE_SUB ? 's' : cl->role & ROLE_PUB ? 'p' : 'c';
	if ((size_t)snprintf(cl->id, sizeof(cl->id), "%s-%c%u", o->prefix,
		kind, cl->seq) >= sizeof(cl->id)) {
		return -1;
	}
	if (o->topic != NULL && bench_template_expand(o->topic, cl->seq,
				    cl->id, &w->rng, cl->topic,
				    sizeof(cl->topic)) < 0) {
		return -1;
	}
	cl->topic_per_msg = o->topic != NULL && (cl->role & ROLE_PUB) &&
	    !(cl->role & ROLE_SUB) && strstr(o->topic, "%rand") != NULL;
	/* -L total limit, shared out between publishers. */
	if (o->limit != 0 && (cl->role & ROLE_PUB)) {
		uint64_t n = run->npubs;
		cl->quota = o->limit / n + (cl->pub_no < o->limit % n ? 1 : 0);
		cl->done = cl->quota == 0;
	}
	return 0;
}

int
bench_worker_init(struct bench_worker *w, struct bench_run *run, int idx)
{
	const struct bench_opts *o = run->opts;
	int rc;

	memset(w, 0, sizeof(*w));
	w->idx = idx;
	w->run = run;
	w->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)idx << 32 | 1);
	bench_hist_init(&w->lat);
	bench_track_init(&w->track);
	w->payload = calloc(1, o->size > 0 ? (size_t)o->size : 1);
	if (w->payload == NULL) {
		return UV_ENOMEM;
	}
	memset(w->payload, 'x', (size_t)o->size);
	for (uint32_t i = (uint32_t)idx; i < run->nconn;
	    i += (uint32_t)run->nworkers) {
		w->nclients++;
	}
	w->clients = calloc(w->nclients ? w->nclients : 1, sizeof(*w->clients));
	if (w->clients == NULL) {
		return UV_ENOMEM;
	}
	for (uint32_t k = 0, i = (uint32_t)idx; k < w->nclients;
	    k++, i += (uint32_t)run->nworkers) {
		w->clients[k] = calloc(1, sizeof(struct bench_client));
		if (w->clients[k] == NULL) {
			return UV_ENOMEM;
		}
		if (setup_client(w, w->clients[k], i) != 0) {
			return UV_EINVAL;
		}
		w->npubs += (w->clients[k]->role & ROLE_PUB) != 0;
	}
	/* Publishers in pub_no order: the due order of fixed-rate runs. */
	w->pubs = calloc(w->npubs ? w->npubs : 1, sizeof(*w->pubs));
	if (w->pubs == NULL) {
		return UV_ENOMEM;
	}
	for (uint32_t k = 0, n = 0; k < w->nclients; k++) {
		if (w->clients[k]->role & ROLE_PUB) {
			w->pubs[n++] = w->clients[k];
		}
	}
	if ((rc = uv_loop_init(&w->loop)) != 0) {
		return rc;
	}
	uv_async_init(&w->loop, &w->wake, on_wake);
	w->wake.data = w;
	uv_timer_init(&w->loop, &w->tick);
	w->tick.data = w;
	uv_prepare_init(&w->loop, &w->flush);
	w->flush.data = w;
	uv_prepare_start(&w->flush, on_flush);
	uv_idle_init(&w->loop, &w->spin);
	w->spin.data = w;
	uv_timer_start(&w->tick, on_tick, 1, 1);
	return 0;
}

void
bench_worker_main(void *arg)
{
	struct bench_worker *w = arg;

	/* Catch a phase set before the loop ran. */
	on_wake(&w->wake);
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

void
bench_worker_fini(struct bench_worker *w)
{
	if (w->clients != NULL) {
		for (uint32_t i = 0; i < w->nclients; i++) {
			free(w->clients[i]);
		}
	}
	free(w->clients);
	free(w->pubs);
	free(w->payload);
	bench_track_fini(&w->track);
	uv_loop_close(&w->loop);
}
