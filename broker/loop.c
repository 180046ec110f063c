/*
 * loop.c - worker loops: threads, listeners, the inbox, the tick, and the
 * byte side of connections (accept, read, gathered write, close).
 *
 * Each worker owns a libuv loop with its own listening socket per
 * configured listener, opened with SO_REUSEPORT so the kernel spreads
 * incoming connections over the workers with no hand-off.  Reads land in
 * one per-loop buffer and go through the connection's proto_reader, which
 * keeps only the bytes of an unfinished packet.  Writes are appended to
 * the connection's out buffer and flushed once per loop turn by a prepare
 * handle (one write per socket per turn; double buffering).  The inbox is
 * a mutex-protected list with a uv_async_t; the async callback drains it
 * whole, because wake-ups merge.  A one-second timer drives the timer
 * wheel (keepalive, connect timeout, will delay, session expiry).
 */
#include "broker/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 10 /* a CONNECT must arrive within this */
#define LINGER_S 5           /* a closing connection's last writes */
#define TICK_MS (1000 / BROKER_TICKS_PER_S)

uint64_t
broker__now_t(struct broker_loop *l)
{
	l->now_t = uv_now(&l->loop) / TICK_MS;
	return l->now_t;
}

/* ------------------------------------------------------------------ */
/* Inbox                                                               */

void
broker__loop_post(struct broker_loop *l, struct broker_inbox_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&l->inbox_mu);
	if (l->inbox_closed) {
		/* The loop is shutting down: nobody will read this. */
		pthread_mutex_unlock(&l->inbox_mu);
		broker_msg_unref(it->m);
		broker_session_unref(it->s);
		free(it);
		return;
	}
	if (l->inbox_tail != NULL) {
		l->inbox_tail->next = it;
	} else {
		l->inbox_head = it;
	}
	l->inbox_tail = it;
	pthread_mutex_unlock(&l->inbox_mu);
	uv_async_send(&l->wake);
}

static void
on_wake(uv_async_t *a)
{
	struct broker_loop *l = a->data;
	struct broker_inbox_item *it;

	pthread_mutex_lock(&l->inbox_mu);
	it = l->inbox_head;
	l->inbox_head = l->inbox_tail = NULL;
	pthread_mutex_unlock(&l->inbox_mu);
	while (it != NULL) {
		struct broker_inbox_item *next = it->next;
		broker__inbox_handle(l, it);
		it = next;
	}
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static void on_write(uv_write_t *req, int status);

uint8_t *
broker__conn_reserve(struct broker_conn *c, size_t n)
{
	if (c->olen + n > c->ocap) {
		/* A busy connection's buffer starts at the size its last
		 * write had, so it is not regrown from 512 bytes every turn. */
		size_t ncap = c->ocap ? (size_t)c->ocap * 2
				      : 512 * (size_t)(c->ohint ? c->ohint : 1);
		while (ncap < c->olen + n) {
			ncap *= 2;
		}
		uint8_t *nb = realloc(c->obuf, ncap);
		if (nb == NULL) {
			return NULL;
		}
		c->obuf = nb;
		c->ocap = ncap;
	}
	return c->obuf + c->olen;
}

void
broker__conn_mark_dirty(struct broker_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = c->loop->dirty;
		c->loop->dirty = c;
	}
}

void
broker__conn_commit(struct broker_conn *c, size_t n)
{
	c->olen += n;
	atomic_fetch_add_explicit(&c->loop->bytes_out, n, memory_order_relaxed);
	broker__conn_mark_dirty(c);
}

int
broker__conn_send(struct broker_conn *c, const struct proto_packet *pkt)
{
	size_t need, len;
	uint8_t *p;

	if (c->state == CONN_CLOSING) {
		return -1;
	}
	need = proto_encode_size(pkt);
	if (need == 0 || (p = broker__conn_reserve(c, need)) == NULL) {
		return -1;
	}
	if (proto_encode(pkt, p, need, &len) != 0) {
		return -1;
	}
	broker__conn_commit(c, len);
	return 0;
}

size_t
broker__conn_backlog(const struct broker_conn *c)
{
	return c->olen + c->wlen;
}

static void finish_close(struct broker_conn *c);

/* Hands the filled buffer to the kernel (one write per turn): all of it,
 * or the part before output that waits for a storage commit. */
static void
start_write(struct broker_conn *c)
{
	size_t n = broker__persist_writable(c);
	uv_buf_t b;

	if (c->writing || n == 0) {
		return;
	}
	/* The write request lives only while a write is in flight: an idle
	 * connection keeps neither it nor any buffer. */
	uv_write_t *req = malloc(sizeof(*req));
	if (req == NULL) {
		return; /* next turn */
	}
	if (n == c->olen) {
		/* wbuf is free (released when the last write ended). */
		c->wbuf = c->obuf;
		c->wcap = c->ocap;
		c->wlen = c->olen;
		c->obuf = NULL;
		c->ocap = 0;
		c->olen = 0;
	} else {
		if ((c->wbuf = malloc(n)) == NULL) {
			free(req);
			return; /* next turn */
		}
		c->wcap = n;
		memcpy(c->wbuf, c->obuf, n);
		memmove(c->obuf, c->obuf + n, c->olen - n);
		c->wlen = n;
		c->olen -= n;
	}
	broker__persist_wrote(c, n);
	b = uv_buf_init((char *)c->wbuf, (unsigned)c->wlen);
	if (c->loop->sink != NULL) {
		/* Transport stub: the bytes are "written" at once. */
		c->writing = true;
		req->handle = (uv_stream_t *)&c->tcp;
		c->loop->sink(c, c->wbuf, c->wlen);
		on_write(req, 0);
		return;
	}
	if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_write) == 0) {
		c->writing = true;
		return;
	}
	free(req);
	if (c->linger) {
		finish_close(c);
	} else {
		broker__conn_close(c, -1, "write failed");
	}
}

static void
flush(struct broker_conn *c)
{
	if (c->state != CONN_CLOSING) {
		start_write(c);
	}
}

const char *
broker__conn_peer(struct broker_conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	snprintf(buf, len, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0) {
		return buf;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		uv_ip4_name(in, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		uv_ip6_name(in6, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
	return buf;
}

void
broker__conn_release(struct broker_conn *c)
{
	if (c->dead && !c->dirty && !c->throttled && !c->adopt_pending) {
		free(c);
	}
}

static void
on_flush(uv_prepare_t *h)
{
	struct broker_loop *l = h->data;
	struct broker_conn *c;

	/* What this turn stored goes to the writer first: the commit then
	 * runs while these connections' other output is written. */
	broker__persist_flush(l);
	c = l->dirty;
	l->dirty = NULL;
	while (c != NULL) {
		struct broker_conn *next = c->next_dirty;
		c->dirty = false;
		c->next_dirty = NULL;
		if (c->dead) {
			broker__conn_release(c);
		} else {
			flush(c);
		}
		c = next;
	}
}

static void
on_write(uv_write_t *req, int status)
{
	struct broker_conn *c = req->handle->data;

	free(req);
	c->writing = false;
	c->ohint = (uint16_t)(c->wcap / 512 < 128 ? c->wcap / 512 : 128);
	c->wlen = 0;
	free(c->wbuf);
	c->wbuf = NULL;
	c->wcap = 0;
	if (c->linger) {
		/* Closing: send what is left, then close. */
		if (status == 0 && c->olen > 0) {
			start_write(c);
		}
		if (!c->writing) {
			finish_close(c);
		}
		return;
	}
	if (status < 0) {
		broker__conn_close(c, -1, uv_strerror(status));
		return;
	}
	/* Room again: a session whose window was limited by our backlog
	 * can send more. */
	if (c->s != NULL && c->state == CONN_ACTIVE) {
		broker__session_pump(c->loop, c->s);
	}
	flush(c);
}

/* ------------------------------------------------------------------ */
/* Back-pressure                                                       */

static void
on_unthrottle(uv_timer_t *t)
{
	struct broker_loop *l = t->data;
	struct broker_conn *c = l->throttled;

	l->throttled = NULL;
	while (c != NULL) {
		struct broker_conn *next = c->next_throttled;
		c->throttled = false;
		c->next_throttled = NULL;
		if (c->dead) {
			broker__conn_release(c); /* closed meanwhile */
		} else if (c->state == CONN_ACTIVE && !c->paused) {
			/* The rest of the last read first; it may throttle the
			 * connection again, and then reading waits. */
			if (c->x != NULL && c->x->stash_len > 0) {
				broker__conn_resume(c);
			}
			if (c->state == CONN_ACTIVE && !c->throttled &&
			    !c->paused) {
				broker__conn_read_start(c);
			}
		}
		c = next;
	}
}

void
broker__conn_throttle(struct broker_conn *c)
{
	struct broker_loop *l = c->loop;

	if (c->throttled || c->state != CONN_ACTIVE) {
		return;
	}
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->throttled = true;
	c->next_throttled = l->throttled;
	l->throttled = c;
	if (!uv_is_active((uv_handle_t *)&l->throttle_timer)) {
		uv_timer_start(&l->throttle_timer, on_unthrottle, 1, 0);
	}
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */

static void
on_close(uv_handle_t *h)
{
	struct broker_conn *c = h->data;
	struct broker_loop *l = c->loop;

	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		l->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	proto_reader_fini(&c->rd);
	broker__conn_free_x(c);
	broker__persist_conn_gone(c);
	free(c->obuf);
	free(c->wbuf);
	/* c may still sit in the dirty or throttled list, or wait for a
	 * session: the last holder frees it. */
	c->dead = true;
	broker__conn_release(c);
}

void
broker__conn_close(struct broker_conn *c, int reason, const char *why)
{
	struct broker_loop *l = c->loop;

	if (c->state == CONN_CLOSING) {
		return;
	}
	/* MQTT 5: tell the client why, when the reason is ours to give and
	 * the connection got as far as CONNACK. */
	if (reason >= 0x80 && c->version == PROTO_V5 &&
	    c->state == CONN_ACTIVE) {
		struct proto_packet pkt;

		memset(&pkt, 0, sizeof(pkt));
		pkt.type = PROTO_DISCONNECT;
		pkt.version = PROTO_V5;
		pkt.disconnect.reason = (uint8_t)reason;
		broker__conn_send(c, &pkt);
	}
	/* What is queued (a CONNACK refusal, a DISCONNECT) goes out now:
	 * libuv writes at once when the socket has room, before the close
	 * cancels what it could not. */
	flush(c);
	if (why != NULL && c->s != NULL && l->b->cfg->connection_messages) {
		LOG_NOTICE("Client %s disconnected: %s.", c->s->id, why);
	} else if (why != NULL && c->s == NULL) {
		char peer[BROKER_PEER_LEN];
		LOG_INFO("Connection from %s closed: %s.",
		    broker__conn_peer(c, peer, sizeof(peer)), why);
	}
	broker_wheel_del(&c->ka);
	if (c->s != NULL) {
		broker__session_detach(l, c);
	}
	if (c->counted) {
		atomic_fetch_sub_explicit(&l->b->listener_conns[c->listener], 1,
		    memory_order_relaxed);
		c->counted = false;
	}
	c->state = CONN_CLOSING;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->writing || c->olen > 0) {
		/* Let the last packets (a DISCONNECT with its reason, a
		 * CONNACK refusal) reach the client, within a deadline. */
		c->linger = true;
		start_write(c);
		broker_wheel_set(&l->wheel, &c->ka,
		    broker__now_t(l) + LINGER_S * BROKER_TICKS_PER_S + 1);
		return;
	}
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void
finish_close(struct broker_conn *c)
{
	c->linger = false;
	broker_wheel_del(&c->ka);
	if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
	}
}

void
broker__conn_linger_expired(struct broker_conn *c)
{
	if (c->linger) {
		finish_close(c);
	}
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

void
broker__conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct broker_conn *c = h->data;
	struct broker_loop *l = c->loop;

	(void)suggested;
	/* One read at a time per loop: one buffer serves them all. */
	if (l->rbuf_busy) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	l->rbuf_busy = true;
	*buf = uv_buf_init((char *)l->rbuf, sizeof(l->rbuf));
}

void
broker__conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct broker_conn *c = s->data;
	struct broker_loop *l = c->loop;
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t left = n > 0 ? (size_t)n : 0;

	if (buf->base == (char *)l->rbuf) {
		l->rbuf_busy = false;
	}
	if (n < 0) {
		broker__conn_close(c, -1,
		    n == UV_EOF ? "connection closed by client"
				: uv_strerror((int)n));
		return;
	}
	atomic_fetch_add_explicit(&l->bytes_in, left, memory_order_relaxed);
	broker__now_t(l);
	broker__conn_feed(c, p, left);
}

/* ------------------------------------------------------------------ */
/* Accepting                                                           */

int
broker__conn_read_start(struct broker_conn *c)
{
	if (c->loop->sink != NULL) {
		return 0; /* transport stub: input comes from the caller */
	}
	return uv_read_start((uv_stream_t *)&c->tcp, broker__conn_alloc,
	    broker__conn_read);
}

struct broker_conn *
broker__conn_new(struct broker_loop *l, uint16_t listener)
{
	struct broker_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	uv_tcp_init(&l->loop, &c->tcp);
	c->tcp.data = c;
	c->loop = l;
	c->listener = listener;
	return c;
}

int
broker__conn_open(struct broker_conn *c)
{
	struct broker_loop *l = c->loop;
	struct broker *b = l->b;
	uint16_t li = c->listener;
	int32_t max;

	/* max_connections: refuse at once when the listener is full. */
	max = b->cfg->listeners[li].max_connections;
	if (max >= 0 &&
	    atomic_fetch_add_explicit(&b->listener_conns[li], 1,
		memory_order_relaxed) >= max) {
		atomic_fetch_sub_explicit(&b->listener_conns[li], 1,
		    memory_order_relaxed);
		LOG_NOTICE("Refusing connection on listener %u: "
			   "max_connections (%d) reached.",
		    b->cfg->listeners[li].port, max);
		uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
		return -1;
	}
	c->counted = max >= 0;
	if (max < 0) {
		atomic_fetch_add_explicit(&b->listener_conns[li], 1,
		    memory_order_relaxed);
		c->counted = true;
	}
	if (b->cfg->set_tcp_nodelay && l->sink == NULL) {
		uv_tcp_nodelay(&c->tcp, 1);
	}
	proto_reader_init(&c->rd, b->cfg->max_packet_size);
	c->state = CONN_NEW;
	c->ka.kind = WHEEL_CONN;
	c->last_rx = broker__now_t(l);
	c->next = l->conns;
	if (l->conns != NULL) {
		l->conns->prev = c;
	}
	l->conns = c;
	broker_wheel_set(&l->wheel, &c->ka,
	    c->last_rx + CONNECT_TIMEOUT_S * BROKER_TICKS_PER_S + 1);
	if (broker__conn_read_start(c) != 0) {
		broker__conn_close(c, -1, "read failed");
		return -1;
	}
	return 0;
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct broker_loop *l = server->data;
	uint16_t li = (uint16_t)((uv_tcp_t *)server - l->listeners);
	struct broker_conn *c;

	if (status < 0) {
		LOG_WARN("accept on listener %u: %s", li, uv_strerror(status));
		return;
	}
	if ((c = broker__conn_new(l, li)) == NULL) {
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
		return;
	}
	broker__conn_open(c);
}

/* Opens a listening socket for listener lc with SO_REUSEPORT, so every
 * loop can have its own. */
static int
open_listener(struct broker_loop *l, size_t i,
    const struct broker_listener_conf *lc)
{
	struct sockaddr_storage ss;
	int fd, one = 1, rc;
	const char *addr = lc->bind_address;

	memset(&ss, 0, sizeof(ss));
	if (addr == NULL) {
		/* Every address: IPv6 any with dual stack when available. */
		rc = uv_ip6_addr("::", lc->port, (struct sockaddr_in6 *)&ss);
	} else if (strchr(addr, ':') != NULL) {
		rc = uv_ip6_addr(addr, lc->port, (struct sockaddr_in6 *)&ss);
	} else {
		rc = uv_ip4_addr(addr, lc->port, (struct sockaddr_in *)&ss);
	}
	if (rc != 0) {
		return rc;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && addr == NULL) {
		/* No IPv6 here: fall back to IPv4 any. */
		uv_ip4_addr("0.0.0.0", lc->port, (struct sockaddr_in *)&ss);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		int zero = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	socklen_t alen = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	if (bind(fd, (struct sockaddr *)&ss, alen) != 0 ||
	    listen(fd, 4096) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	uv_tcp_init(&l->loop, &l->listeners[i]);
	l->listeners[i].data = l;
	if ((rc = uv_tcp_open(&l->listeners[i], fd)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&l->listeners[i], 4096,
		 on_connection)) != 0) {
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tick                                                                */

static void
on_tick(uv_timer_t *t)
{
	struct broker_loop *l = t->data;

	broker_wheel_advance(&l->wheel, broker__now_t(l), broker__wheel_fire,
	    l);
	if (l->stopping) {
		/* Shutting down: once every connection is gone, or the
		 * deadline for their last writes has passed, close what is
		 * left so the loop can end. */
		if (l->conns == NULL || l->now_t >= l->stop_deadline) {
			for (struct broker_conn *c = l->conns; c != NULL;
			    c = c->next) {
				broker__conn_linger_expired(c);
			}
			uv_close((uv_handle_t *)&l->tick, NULL);
		}
		return;
	}
	if (l->idx == 0) {
		broker__sys_tick(l);
		broker__persist_tick(l);
	}
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */

static void
thread_main(void *arg)
{
	struct broker_loop *l = arg;

	uv_run(&l->loop, UV_RUN_DEFAULT);
}

int
broker__loop_init(struct broker_loop *l, struct broker *b, int idx)
{
	const struct broker_config *cfg = b->cfg;
	int rc;

	memset(l, 0, sizeof(*l));
	l->idx = idx;
	l->b = b;
	l->open_seq = 1;
	pthread_mutex_init(&l->inbox_mu, NULL);
	if ((rc = uv_loop_init(&l->loop)) != 0) {
		return rc;
	}
	broker_wheel_init(&l->wheel, broker__now_t(l));
	uv_async_init(&l->loop, &l->wake, on_wake);
	l->wake.data = l;
	uv_timer_init(&l->loop, &l->tick);
	l->tick.data = l;
	uv_timer_start(&l->tick, on_tick, TICK_MS, TICK_MS);
	uv_prepare_init(&l->loop, &l->flush);
	l->flush.data = l;
	uv_prepare_start(&l->flush, on_flush);
	uv_timer_init(&l->loop, &l->throttle_timer);
	l->throttle_timer.data = l;
	l->listeners = calloc(cfg->nlisteners, sizeof(*l->listeners));
	if (l->listeners == NULL) {
		return UV_ENOMEM;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		rc = open_listener(l, i, &cfg->listeners[i]);
		if (rc != 0) {
			LOG_ERR("Error: cannot listen on %s port %u: %s.",
			    cfg->listeners[i].bind_address
				? cfg->listeners[i].bind_address
				: "every address",
			    cfg->listeners[i].port, uv_strerror(rc));
			return rc;
		}
		l->nlisteners++;
	}
	return 0;
}

int
broker__loop_start(struct broker_loop *l)
{
	return uv_thread_create(&l->thread, thread_main, l);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h)) {
		uv_close(h, NULL);
	}
}

/* Runs on the loop's thread (INBOX_STOP): stop accepting, tell MQTT 5
 * clients the server is shutting down, close everything. */
void
broker__loop_stop_here(struct broker_loop *l)
{
	l->stopping = true;
	for (size_t i = 0; i < l->nlisteners; i++) {
		uv_close((uv_handle_t *)&l->listeners[i], NULL);
	}
	for (struct broker_conn *c = l->conns; c != NULL; c = c->next) {
		if (c->state != CONN_CLOSING) {
			broker__conn_close(c, PROTO_RC_SERVER_SHUTTING_DOWN,
			    "server shutting down");
		}
	}
	/* The tick stays until the last writes are out (see on_tick). */
	l->stop_deadline = broker__now_t(l) + 2 * BROKER_TICKS_PER_S;
	uv_close((uv_handle_t *)&l->flush, NULL);
	uv_timer_stop(&l->throttle_timer);
	on_unthrottle(&l->throttle_timer); /* frees the dead, resumes none */
	uv_close((uv_handle_t *)&l->throttle_timer, NULL);
	pthread_mutex_lock(&l->inbox_mu);
	l->inbox_closed = true;
	pthread_mutex_unlock(&l->inbox_mu);
	uv_close((uv_handle_t *)&l->wake, NULL);
}

void
broker__loop_join(struct broker_loop *l)
{
	uv_thread_join(&l->thread);
	/* Anything still open (e.g. a write in flight) closes now. */
	uv_walk(&l->loop, close_walk, NULL);
	uv_run(&l->loop, UV_RUN_DEFAULT);
	/* The prepare handle is gone: release what its list still holds. */
	for (struct broker_conn *c = l->dirty, *n; c != NULL; c = n) {
		n = c->next_dirty;
		c->dirty = false;
		broker__conn_release(c);
	}
	l->dirty = NULL;
	uv_loop_close(&l->loop);
	free(l->listeners);
	broker_targets_fini(&l->targets);
	/* inbox_mu outlives the thread: the storage writer may still report
	 * to this loop until it is closed (free_broker destroys it). */
}
