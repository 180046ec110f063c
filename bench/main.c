/*
 * main.c - starling-bench's command line, the run's phases and its report.
 *
 * The main thread parses options, checks that the run is safe (loopback
 * target unless --allow-remote, enough file descriptors), starts one worker
 * thread per --threads, then steps the workers through the phases of
 * loadgen.h: connect subscribers, connect the rest, go, stop, drain,
 * disconnect.  It samples the workers' counters once a second for the
 * progress line and, after joining them, merges their histograms and
 * trackers into the summary (human text, or one JSON object with --json).
 * Every run ends by itself: each phase has a deadline.
 */
#include "bench/loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 1
#define EXIT_LOSS 2
#define EXIT_CONNECT 3

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: starling-bench conn|sub|pub [options]\n"
	    "       starling-bench run fanin|fanout|pairs [options]\n"
	    "\n"
	    "modes:\n"
	    "  conn   open -c connections (-i ms apart or -R per second) and\n"
	    "         hold them with keepalive pings for -d seconds\n"
	    "  sub    -c subscribers on -t topic at -q qos, for -d seconds\n"
	    "  pub    -c publishers to -t topic, -s bytes, every -I ms each\n"
	    "         (or flat out), until -d seconds or -L messages in all\n"
	    "  run    publishers and subscribers in one process, measuring\n"
	    "         end-to-end latency, loss and duplicates:\n"
	    "           fanin   -P publishers -> 1 topic -> -c subscribers\n"
	    "                   (default 8 -> 1)\n"
	    "           fanout  -P publishers -> 1 topic -> -c subscribers\n"
	    "                   (default 1 -> 1000)\n"
	    "           pairs   -c publisher/subscriber pairs, one topic each\n"
	    "                   (default 1000)\n"
	    "\n"
	    "options:\n"
	    "  -h HOST        broker host (127.0.0.1)\n"
	    "  -p PORT        broker port (1883)\n"
	    "  -V 3|4|5       MQTT 3.1, 3.1.1 or 5.0 (4)\n"
	    "  -c N           connections / subscribers / pairs\n"
	    "  -P N           run: publishers; conn/sub/pub: password\n"
	    "  -u USER        user name (--username); --password PASS\n"
	    "  -k SECONDS     keepalive (300)\n"
	    "  -C true|false  clean session / clean start (true)\n"
	    "  -d SECONDS     duration of the measured phase (10)\n"
	    "  -i MS          interval between connects, all threads (0)\n"
	    "  -R N           connects per second, all threads (0: as fast as\n"
	    "                 256 concurrent handshakes per thread allow)\n"
	    "  -t TOPIC       topic template: %%i client number, %%c client id,\n"
	    "                 %%rand, %%rand_N (drawn per message when\n"
	    "                 publishing, per client when subscribing;\n"
	    "                 run: bench/PREFIX/fanin,\n"
	    "                 bench/PREFIX/fanout, bench/PREFIX/pairs/%%i)\n"
	    "  -q 0|1|2       QoS (0)\n"
	    "  -s BYTES       payload size (64; the first 24 carry sequence\n"
	    "                 number and timestamp)\n"
	    "  -I MS          pub: interval between messages per publisher\n"
	    "  -L N           pub: total messages, shared by the publishers\n"
	    "  -r N           run: messages per second per publisher (0: as\n"
	    "                 fast as the window allows)\n"
	    "  -w N           QoS 1/2 messages in flight per publisher (20)\n"
	    "  --retain       publish with the retain flag\n"
	    "  --prefix S     client id prefix (sbench-PID)\n"
	    "  --ifaddr A,B   local source addresses, used in turn\n"
	    "  --threads N    worker threads (1)\n"
	    "  --drain S      seconds to wait for in-flight messages (5)\n"
	    "  --connect-timeout S  seconds to wait for all clients (30)\n"
	    "  --ready-file F once every client is ready (or the connect\n"
	    "                 timeout passed), write the connect results to F\n"
	    "                 as one JSON line (atomically: F.tmp, renamed)\n"
	    "  --json         print the summary as one JSON object\n"
	    "  --quiet        no progress line\n"
	    "  --allow-remote allow a target outside 127.0.0.0/8 and ::1\n"
	    "\n"
	    "SIGINT or SIGTERM ends the run early: the clients disconnect and\n"
	    "the summary is printed as usual (\"interrupted\" in --json); a\n"
	    "second signal kills.  Subscribers record, for each of the first\n"
	    "%d messages of publisher 0, how many received it and when the\n"
	    "last did (\"per_message\" in --json).\n"
	    "\n"
	    "exit status: 0 ok, 1 bad usage or setup, 2 QoS 1/2 messages\n"
	    "lost, duplicated at QoS 2 or never acknowledged, 3 clients that\n"
	    "failed to connect or subscribe.\n", BENCH_PER_MSG);
}

static int
parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		return -1;
	}
	*out = v;
	return 0;
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		static const uint8_t lo6[16] = { [15] = 1 };
		static const uint8_t v4map[12] = { [10] = 0xFF, [11] = 0xFF };
		return memcmp(b, lo6, 16) == 0 ||
		    (memcmp(b, v4map, 12) == 0 && b[12] == 127);
	}
	return false;
}

static int
resolve(const char *host, int port, struct sockaddr_storage *out)
{
	struct addrinfo hints, *res;
	char ps[16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%d", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0) {
		fprintf(stderr, "starling-bench: %s: %s\n", host,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int
parse_ifaddrs(char *list, struct bench_opts *o)
{
	for (char *tok = strtok(list, ","); tok != NULL;
	    tok = strtok(NULL, ",")) {
		if (o->n_ifaddr == (int)(sizeof(o->ifaddrs) /
				       sizeof(o->ifaddrs[0]))) {
			fprintf(stderr, "starling-bench: too many --ifaddr\n");
			return -1;
		}
		if (resolve(tok, 0, &o->ifaddrs[o->n_ifaddr]) != 0) {
			return -1;
		}
		o->n_ifaddr++;
	}
	return 0;
}

enum {
	OPT_RETAIN = 256,
	OPT_PREFIX,
	OPT_IFADDR,
	OPT_THREADS,
	OPT_JSON,
	OPT_ALLOW_REMOTE,
	OPT_USERNAME,
	OPT_PASSWORD,
	OPT_DRAIN,
	OPT_CONNECT_TIMEOUT,
	OPT_READY_FILE,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "retain", no_argument, NULL, OPT_RETAIN },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "ifaddr", required_argument, NULL, OPT_IFADDR },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE },
	{ "username", required_argument, NULL, OPT_USERNAME },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "ready-file", required_argument, NULL, OPT_READY_FILE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Parses argv into o.  Returns 0, or -1 after printing why. */
static int
parse_args(int argc, char **argv, struct bench_opts *o)
{
	static char prefix[32];
	double v;
	int ch, first;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 1883;
	o->version = 4;
	o->keepalive = 300;
	o->threads = 1;
	o->count = -1;
	o->pubs = -1;
	o->duration = 10;
	o->size = 64;
	o->window = 20;
	o->drain = 5;
	o->connect_timeout = 30;
	o->clean = true;
	snprintf(prefix, sizeof(prefix), "sbench-%ld", (long)getpid());
	o->prefix = prefix;

	if (argc < 2) {
		usage(stderr);
		return -1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		exit(0);
	}
	first = 2;
	if (strcmp(argv[1], "conn") == 0) {
		o->mode = MODE_CONN;
	} else if (strcmp(argv[1], "sub") == 0) {
		o->mode = MODE_SUB;
	} else if (strcmp(argv[1], "pub") == 0) {
		o->mode = MODE_PUB;
	} else if (strcmp(argv[1], "run") == 0) {
		o->mode = MODE_RUN;
		first = 3;
		const char *s = argc > 2 ? argv[2] : "";
		if (strcmp(s, "fanin") == 0) {
			o->scenario = SCEN_FANIN;
		} else if (strcmp(s, "fanout") == 0) {
			o->scenario = SCEN_FANOUT;
		} else if (strcmp(s, "pairs") == 0) {
			o->scenario = SCEN_PAIRS;
		} else {
			fprintf(stderr, "starling-bench: run needs fanin, "
					"fanout or pairs\n");
			return -1;
		}
	} else {
		fprintf(stderr, "starling-bench: unknown mode '%s'\n", argv[1]);
		usage(stderr);
		return -1;
	}

	optind = first;
	while ((ch = getopt_long(argc, argv,
		    "h:p:V:c:P:u:k:C:d:i:R:t:q:s:I:L:r:w:", long_opts,
		    NULL)) != -1) {
		switch (ch) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 1, 65535, &v)) {
				goto bad;
			}
			o->port = (int)v;
			break;
		case 'V':
			if (parse_num(optarg, 3, 5, &v)) {
				goto bad;
			}
			o->version = (int)v;
			break;
		case 'c':
			if (parse_num(optarg, 1, 1e7, &v)) {
				goto bad;
			}
			o->count = (int)v;
			break;
		case 'P':
			if (o->mode == MODE_RUN) {
				if (parse_num(optarg, 1, 1e6, &v)) {
					goto bad;
				}
				o->pubs = (int)v;
			} else {
				o->password = optarg;
			}
			break;
		case 'u':
		case OPT_USERNAME:
			o->username = optarg;
			break;
		case OPT_PASSWORD:
			o->password = optarg;
			break;
		case 'k':
			if (parse_num(optarg, 0, 65535, &v)) {
				goto bad;
			}
			o->keepalive = (int)v;
			break;
		case 'C':
			o->clean = strcmp(optarg, "false") != 0 &&
			    strcmp(optarg, "0") != 0;
			break;
		case 'd':
			if (parse_num(optarg, 0.1, 86400, &o->duration)) {
				goto bad;
			}
			break;
		case 'i':
			if (parse_num(optarg, 0, 3.6e6, &o->conn_interval_ms)) {
				goto bad;
			}
			break;
		case 'R':
			if (parse_num(optarg, 0, 1e7, &o->conn_rate)) {
				goto bad;
			}
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'q':
			if (parse_num(optarg, 0, 2, &v)) {
				goto bad;
			}
			o->qos = (int)v;
			break;
		case 's':
			if (parse_num(optarg, 0, 256 * 1024 * 1024, &v)) {
				goto bad;
			}
			o->size = (int)v;
			break;
		case 'I':
			if (parse_num(optarg, 0, 3.6e6, &o->pub_interval_ms)) {
				goto bad;
			}
			break;
		case 'L':
			if (parse_num(optarg, 0, 1e15, &v)) {
				goto bad;
			}
			o->limit = (uint64_t)v;
			break;
		case 'r':
			if (parse_num(optarg, 0, 1e9, &o->rate)) {
				goto bad;
			}
			break;
		case 'w':
			if (parse_num(optarg, 1, 1024, &v)) {
				goto bad;
			}
			o->window = (int)v;
			break;
		case OPT_RETAIN:
			o->retain = true;
			break;
		case OPT_PREFIX:
			o->prefix = optarg;
			break;
		case OPT_IFADDR:
			if (parse_ifaddrs(optarg, o) != 0) {
				return -1;
			}
			break;
		case OPT_THREADS:
			if (parse_num(optarg, 1, 256, &v)) {
				goto bad;
			}
			o->threads = (int)v;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_ALLOW_REMOTE:
			o->allow_remote = true;
			break;
		case OPT_DRAIN:
			if (parse_num(optarg, 0, 3600, &o->drain)) {
				goto bad;
			}
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_num(optarg, 0.1, 3600,
				&o->connect_timeout)) {
				goto bad;
			}
			break;
		case OPT_READY_FILE:
			o->ready_file = optarg;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		continue;
	bad:
		fprintf(stderr, "starling-bench: bad value '%s' for -%c\n",
		    optarg, ch < 256 ? ch : '-');
		return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "starling-bench: unexpected '%s'\n",
		    argv[optind]);
		return -1;
	}

	/* Defaults that depend on the mode.  Default topics carry the
	 * client id prefix (unique per process), so that messages a slow
	 * broker still holds from an earlier run never reach this one. */
	static char topic[96];
	const char *scen = o->scenario == SCEN_FANIN ? "fanin"
	    : o->scenario == SCEN_FANOUT            ? "fanout"
						    : "pairs/%i";
	snprintf(topic, sizeof(topic), "bench/%s/%s", o->prefix, scen);
	if (o->mode == MODE_RUN) {
		if (o->scenario == SCEN_FANIN) {
			o->pubs = o->pubs < 0 ? 8 : o->pubs;
			o->count = o->count < 0 ? 1 : o->count;
		} else if (o->scenario == SCEN_FANOUT) {
			o->pubs = o->pubs < 0 ? 1 : o->pubs;
			o->count = o->count < 0 ? 1000 : o->count;
		} else {
			o->count = o->count < 0 ? 1000 : o->count;
			o->pubs = o->count;
		}
		o->topic = o->topic ? o->topic : topic;
	} else {
		o->count = o->count < 0 ? 1 : o->count;
		if (o->mode != MODE_CONN && o->topic == NULL) {
			fprintf(stderr, "starling-bench: %s needs -t TOPIC\n",
			    argv[1]);
			return -1;
		}
	}
	if (o->mode == MODE_RUN && o->size < BENCH_STAMP_LEN) {
		fprintf(stderr,
		    "starling-bench: run needs -s >= %d to stamp payloads\n",
		    BENCH_STAMP_LEN);
		return -1;
	}
	if (o->mode == MODE_RUN && o->scenario == SCEN_PAIRS &&
	    o->topic != NULL && strstr(o->topic, "%i") == NULL) {
		fprintf(stderr, "starling-bench: pairs needs %%i in -t so "
				"each pair has its own topic\n");
		return -1;
	}
	if (resolve(o->host, o->port, &o->addr) != 0) {
		return -1;
	}
	if (!o->allow_remote) {
		if (!is_loopback((struct sockaddr *)&o->addr)) {
			fprintf(stderr,
			    "starling-bench: %s is not a loopback address; "
			    "pass --allow-remote to load a remote broker\n",
			    o->host);
			return -1;
		}
		for (int i = 0; i < o->n_ifaddr; i++) {
			if (!is_loopback((struct sockaddr *)&o->ifaddrs[i])) {
				fprintf(stderr,
				    "starling-bench: --ifaddr %d is not a "
				    "loopback address (--allow-remote)\n",
				    i + 1);
				return -1;
			}
		}
	}
	return 0;
}

/* Checks that the run fits under RLIMIT_NOFILE, raising the soft limit
 * to the hard one if needed.  Says clearly when it cannot. */
static int
check_nofile(uint64_t conns, int threads)
{
	struct rlimit rl;
	uint64_t need = conns + (uint64_t)threads * 8 + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 0;
	}
	if (need <= rl.rlim_cur) {
		return 0;
	}
	if (rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max) {
		fprintf(stderr,
		    "starling-bench: %llu connections need about %llu open "
		    "files, but this process may open at most %llu (hard "
		    "RLIMIT_NOFILE); use fewer connections per process\n",
		    (unsigned long long)conns, (unsigned long long)need,
		    (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		perror("starling-bench: setrlimit");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */

struct totals {
	uint64_t connecting, connected, ready, closed, sent, acked, received;
	uint64_t unique, dups, bytes_in, bytes_out, inflight, pings;
	uint64_t fail[FAIL_NREASONS];
	uint64_t first_conn_ns, last_ready_ns, last_rc;
};

static uint64_t
ld(_Atomic uint64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static void
sample(struct bench_run *run, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < run->nworkers; i++) {
		struct bench_counters *c = &run->workers[i].c;
		uint64_t f = ld(&c->first_conn_ns), l = ld(&c->last_ready_ns);

		t->connecting += ld(&c->connecting);
		t->connected += ld(&c->connected);
		t->ready += ld(&c->ready);
		t->closed += ld(&c->closed);
		t->sent += ld(&c->sent);
		t->acked += ld(&c->acked);
		t->received += ld(&c->received);
		t->unique += ld(&c->unique);
		t->dups += ld(&c->dups);
		t->bytes_in += ld(&c->bytes_in);
		t->bytes_out += ld(&c->bytes_out);
		t->inflight += ld(&c->inflight);
		t->pings += ld(&c->pings);
		for (int k = 0; k < FAIL_NREASONS; k++) {
			t->fail[k] += ld(&c->fail[k]);
		}
		if (f != 0 && (t->first_conn_ns == 0 || f < t->first_conn_ns)) {
			t->first_conn_ns = f;
		}
		if (l > t->last_ready_ns) {
			t->last_ready_ns = l;
		}
		if (ld(&c->last_rc) != 0) {
			t->last_rc = ld(&c->last_rc);
		}
	}
}

static uint64_t
failures(const struct totals *t)
{
	uint64_t n = 0;
	for (int k = 0; k < FAIL_NREASONS; k++) {
		n += t->fail[k];
	}
	return n;
}

static void
set_phase(struct bench_run *run, int ph)
{
	atomic_store_explicit(&run->phase, ph, memory_order_release);
	for (int i = 0; i < run->nworkers; i++) {
		uv_async_send(&run->workers[i].wake);
	}
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Progress line, once a second, on stderr. */
static void
progress(const struct bench_run *run, const char *what, double t,
    const struct totals *now, const struct totals *prev)
{
	if (run->opts->quiet) {
		return;
	}
	fprintf(stderr,
	    "[%6.1fs] %-8s conn %llu/%u  sent %llu/s  recv %llu/s  "
	    "inflight %llu  fail %llu\n",
	    t, what, (unsigned long long)now->ready, run->nconn,
	    (unsigned long long)(now->sent - prev->sent),
	    (unsigned long long)(now->received - prev->received),
	    (unsigned long long)now->inflight,
	    (unsigned long long)failures(now));
}

/* Set by SIGINT/SIGTERM: every remaining phase ends at once. */
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second signal kills */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Waits until `until` says done, the deadline passes or a signal asks us
 * to stop, printing progress.  Returns true if done. */
typedef bool (*done_fn)(struct bench_run *run, const struct totals *t);

static bool
wait_phase(struct bench_run *run, const char *what, double seconds,
    done_fn done, uint64_t t_start)
{
	struct totals prev, now;
	uint64_t start = bench_now_ns(), last = start;

	sample(run, &prev);
	for (;;) {
		uint64_t n;

		sample(run, &now);
		if (done != NULL && done(run, &now)) {
			return true;
		}
		if (interrupted) {
			return false;
		}
		n = bench_now_ns();
		if ((double)(n - start) / 1e9 >= seconds) {
			return false;
		}
		if (n - last >= 1000000000ull) {
			progress(run, what, (double)(n - t_start) / 1e9, &now,
			    &prev);
			prev = now;
			last = n;
		}
		nap_ms(10);
	}
}

static bool
subs_ready(struct bench_run *run, const struct totals *t)
{
	return t->ready + failures(t) >= run->nsubs;
}

static bool
all_ready(struct bench_run *run, const struct totals *t)
{
	return t->ready + failures(t) >= run->nconn;
}

static uint64_t
expected_of(const struct bench_run *run, const struct totals *t)
{
	/* Every publisher's messages reach the same number of subscribers
	 * in these scenarios. */
	return run->opts->mode == MODE_RUN ? t->sent * bench_fanout_of(run, 0)
					   : 0;
}

static bool
drained(struct bench_run *run, const struct totals *t)
{
	if (t->inflight != 0) {
		return false;
	}
	return run->opts->mode != MODE_RUN ||
	    t->unique >= expected_of(run, t);
}

static bool
limit_reached(struct bench_run *run, const struct totals *t)
{
	return run->opts->limit != 0 && t->sent >= run->opts->limit &&
	    t->inflight == 0;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */

static const char *
mode_name(const struct bench_opts *o)
{
	static const char *const modes[] = { "conn", "sub", "pub", "run" };
	static const char *const scen[] = { "", "fanin", "fanout", "pairs" };
	return o->mode == MODE_RUN ? scen[o->scenario] : modes[o->mode];
}

struct result {
	struct totals t;
	double conn_secs, go_secs;
	uint64_t sent_go, recv_go; /* during the measured phase */
	uint64_t expected, lost, extra, unacked, not_ready;
	struct bench_hist lat;
	struct bench_track track;
	uint64_t msg_count[BENCH_PER_MSG], msg_max[BENCH_PER_MSG];
	int nmsg; /* messages of publisher 0 tracked: last one seen + 1 */
	double cpu_user, cpu_sys; /* this process, whole run */
};

/* Writes the connect results to o->ready_file, as F.tmp renamed to F so
 * that a reader never sees half a line.  Failing to is reported, not
 * fatal. */
static void
write_ready_file(const struct bench_run *run, const struct result *r,
    const struct totals *t)
{
	const char *path = run->opts->ready_file;
	char tmp[4096];
	FILE *f;

	if (path == NULL) {
		return;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp) || (f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "starling-bench: cannot write %s\n", path);
		return;
	}
	fprintf(f, "{\"ready\":%llu,\"not_ready\":%llu,\"failed\":%llu,"
		   "\"seconds\":%.3f,\"per_s\":%.1f,\"first_conn_ns\":%llu,"
		   "\"last_ready_ns\":%llu}\n",
	    (unsigned long long)t->ready, (unsigned long long)r->not_ready,
	    (unsigned long long)failures(t), r->conn_secs,
	    r->conn_secs > 0 ? (double)t->ready / r->conn_secs : 0.0,
	    (unsigned long long)t->first_conn_ns,
	    (unsigned long long)t->last_ready_ns);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "starling-bench: cannot write %s\n", path);
	}
}

static void
print_json(const struct bench_run *run, const struct result *r)
{
	const struct bench_opts *o = run->opts;
	const struct bench_hist *h = &r->lat;
	double go = r->go_secs > 0 ? r->go_secs : 1;

	printf("{\"mode\":\"%s\",\"host\":\"%s\",\"port\":%d,\"version\":%d,"
	       "\"qos\":%d,\"size\":%d,\"publishers\":%u,\"subscribers\":%u,"
	       "\"connections\":%u,\"threads\":%d,\"duration_s\":%.3f,"
	       "\"rate_per_pub\":%.3f,\"window\":%d,",
	    mode_name(o), o->host, o->port, o->version, o->qos, o->size,
	    run->npubs, run->nsubs, run->nconn, o->threads, r->go_secs,
	    o->rate, o->window);
	printf("\"connect\":{\"ready\":%llu,\"not_ready\":%llu,"
	       "\"seconds\":%.3f,\"per_s\":%.1f},",
	    (unsigned long long)r->t.ready, (unsigned long long)r->not_ready,
	    r->conn_secs,
	    r->conn_secs > 0 ? (double)r->t.ready / r->conn_secs : 0.0);
	printf("\"sent\":%llu,\"acked\":%llu,\"received\":%llu,"
	       "\"unique\":%llu,\"expected\":%llu,\"lost\":%llu,"
	       "\"extra\":%llu,\"duplicates\":%llu,\"unacked\":%llu,"
	       "\"gaps\":%llu,",
	    (unsigned long long)r->t.sent, (unsigned long long)r->t.acked,
	    (unsigned long long)r->t.received,
	    (unsigned long long)r->t.unique,
	    (unsigned long long)r->expected, (unsigned long long)r->lost,
	    (unsigned long long)r->extra, (unsigned long long)r->t.dups,
	    (unsigned long long)r->unacked,
	    (unsigned long long)r->track.gaps);
	printf("\"sent_per_s\":%.1f,\"recv_per_s\":%.1f,",
	    (double)r->sent_go / go, (double)r->recv_go / go);
	printf("\"latency_us\":{\"count\":%llu,\"mean\":%.1f,\"p50\":%.1f,"
	       "\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},",
	    (unsigned long long)h->count, bench_hist_mean(h) / 1e3,
	    (double)bench_hist_quantile(h, 0.5) / 1e3,
	    (double)bench_hist_quantile(h, 0.9) / 1e3,
	    (double)bench_hist_quantile(h, 0.99) / 1e3,
	    (double)bench_hist_quantile(h, 0.999) / 1e3,
	    (double)bench_hist_quantile(h, 1.0) / 1e3);
	printf("\"failures\":{");
	for (int k = 0; k < FAIL_NREASONS; k++) {
		printf("%s\"%s\":%llu", k ? "," : "", bench_fail_name(k),
		    (unsigned long long)r->t.fail[k]);
	}
	printf("},\"per_message\":{\"publisher\":0,\"delivered\":[");
	for (int i = 0; i < r->nmsg; i++) {
		printf("%s%llu", i ? "," : "",
		    (unsigned long long)r->msg_count[i]);
	}
	printf("],\"last_us\":[");
	for (int i = 0; i < r->nmsg; i++) {
		printf("%s%.1f", i ? "," : "", (double)r->msg_max[i] / 1e3);
	}
	printf("]},\"interrupted\":%s,", interrupted ? "true" : "false");
	printf("\"last_reason_code\":%llu,\"pings\":%llu,"
	       "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
	    (unsigned long long)r->t.last_rc, (unsigned long long)r->t.pings,
	    r->cpu_user, r->cpu_sys);
}

static void
print_human(FILE *f, const struct bench_run *run, const struct result *r)
{
	const struct bench_opts *o = run->opts;
	const struct bench_hist *h = &r->lat;
	double go = r->go_secs > 0 ? r->go_secs : 1;

	fprintf(f, "starling-bench %s: %s:%d MQTT %s, QoS %d, %d B payload, "
		   "%u publishers, %u subscribers, %u connections, %d "
		   "thread(s)\n",
	    mode_name(o), o->host, o->port,
	    o->version == 3 ? "3.1" : o->version == 4 ? "3.1.1" : "5.0",
	    o->qos, o->size, run->npubs, run->nsubs, run->nconn, o->threads);
	fprintf(f, "  connect:   %llu ready, %llu not, in %.2f s (%.0f/s)\n",
	    (unsigned long long)r->t.ready, (unsigned long long)r->not_ready,
	    r->conn_secs,
	    r->conn_secs > 0 ? (double)r->t.ready / r->conn_secs : 0.0);
	if (run->npubs > 0 || run->nsubs > 0) {
		fprintf(f, "  messages:  sent %llu (%.0f/s), received %llu "
			   "(%.0f/s) over %.2f s\n",
		    (unsigned long long)r->t.sent, (double)r->sent_go / go,
		    (unsigned long long)r->t.received,
		    (double)r->recv_go / go, r->go_secs);
	}
	if (o->mode == MODE_RUN) {
		fprintf(f, "  delivery:  expected %llu, unique %llu, lost "
			   "%llu, extra %llu, duplicates %llu, unacked "
			   "%llu\n",
		    (unsigned long long)r->expected,
		    (unsigned long long)r->t.unique,
		    (unsigned long long)r->lost, (unsigned long long)r->extra,
		    (unsigned long long)r->t.dups,
		    (unsigned long long)r->unacked);
	} else if (o->mode == MODE_SUB) {
		fprintf(f, "  sequence:  gaps %llu, duplicates %llu\n",
		    (unsigned long long)r->track.gaps,
		    (unsigned long long)r->t.dups);
	}
	if (h->count > 0) {
		fprintf(f, "  latency:   p50 %.1f us, p90 %.1f us, p99 %.1f "
			   "us, p99.9 %.1f us, max %.1f us (n=%llu)\n",
		    (double)bench_hist_quantile(h, 0.5) / 1e3,
		    (double)bench_hist_quantile(h, 0.9) / 1e3,
		    (double)bench_hist_quantile(h, 0.99) / 1e3,
		    (double)bench_hist_quantile(h, 0.999) / 1e3,
		    (double)bench_hist_quantile(h, 1.0) / 1e3,
		    (unsigned long long)h->count);
	}
	if (r->nmsg > 0) {
		fprintf(f, "  per msg:   publisher 0, last delivery (receivers):");
		for (int i = 0; i < r->nmsg && i < 8; i++) {
			fprintf(f, " %.1f ms (%llu)",
			    (double)r->msg_max[i] / 1e6,
			    (unsigned long long)r->msg_count[i]);
		}
		fprintf(f, "%s\n", r->nmsg > 8 ? " ..." : "");
	}
	if (interrupted) {
		fprintf(f, "  interrupted by a signal\n");
	}
	fprintf(f, "  cpu:       %.2f s user, %.2f s system (this process)\n",
	    r->cpu_user, r->cpu_sys);
	if (failures(&r->t) > 0) {
		fprintf(f, "  failures: ");
		for (int k = 0; k < FAIL_NREASONS; k++) {
			if (r->t.fail[k] != 0) {
				fprintf(f, " %s=%llu", bench_fail_name(k),
				    (unsigned long long)r->t.fail[k]);
			}
		}
		if (r->t.last_rc != 0) {
			fprintf(f, " (last reason code 0x%02llx)",
			    (unsigned long long)r->t.last_rc);
		}
		fprintf(f, "\n");
	}
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_run run;
	struct result r;
	struct totals at_go, at_stop;
	uint64_t t0, go_start;
	int status = 0;

	if (parse_args(argc, argv, &o) != 0) {
		return EXIT_USAGE;
	}
	memset(&run, 0, sizeof(run));
	run.opts = &o;
	if (o.mode == MODE_RUN) {
		run.nsubs = (uint32_t)o.count;
		run.npubs = (uint32_t)o.pubs;
	} else {
		run.nsubs = o.mode == MODE_SUB ? (uint32_t)o.count : 0;
		run.npubs = o.mode == MODE_PUB ? (uint32_t)o.count : 0;
	}
	run.nconn = o.mode == MODE_RUN ? run.nsubs + run.npubs
				       : (uint32_t)o.count;
	run.nworkers = o.threads;
	if (check_nofile(run.nconn, o.threads) != 0) {
		return EXIT_USAGE;
	}
	catch_signals();
	run.workers = calloc((size_t)run.nworkers, sizeof(*run.workers));
	if (run.workers == NULL) {
		perror("starling-bench");
		return EXIT_USAGE;
	}
	atomic_init(&run.phase, PHASE_IDLE);
	atomic_init(&run.stopped, 0);
	for (int i = 0; i < run.nworkers; i++) {
		if (bench_worker_init(&run.workers[i], &run, i) != 0) {
			fprintf(stderr, "starling-bench: cannot set up worker "
					"(topic or id too long?)\n");
			return EXIT_USAGE;
		}
	}
	for (int i = 0; i < run.nworkers; i++) {
		uv_thread_create(&run.workers[i].thread, bench_worker_main,
		    &run.workers[i]);
	}

	/* Connect: subscribers first, so no message is published before
	 * every subscription is in place. */
	t0 = bench_now_ns();
	memset(&r, 0, sizeof(r));
	if (run.nsubs > 0) {
		set_phase(&run, PHASE_CONNECT_SUBS);
		wait_phase(&run, "connect", o.connect_timeout, subs_ready, t0);
	}
	if (run.nconn > run.nsubs) {
		set_phase(&run, PHASE_CONNECT_PUBS);
		wait_phase(&run, "connect", o.connect_timeout, all_ready, t0);
	}
	sample(&run, &at_go);
	if (at_go.last_ready_ns > at_go.first_conn_ns) {
		r.conn_secs =
		    (double)(at_go.last_ready_ns - at_go.first_conn_ns) / 1e9;
	}
	r.not_ready = run.nconn - at_go.ready;
	write_ready_file(&run, &r, &at_go);

	/* The measured phase. */
	go_start = bench_now_ns();
	set_phase(&run, PHASE_GO);
	sample(&run, &at_go);
	wait_phase(&run,
	    o.mode == MODE_CONN ? "hold" : o.mode == MODE_SUB ? "receive"
							      : "publish",
	    o.duration, limit_reached, t0);
	set_phase(&run, PHASE_STOP);
	/* Count what was sent only once every worker has stopped sending:
	 * otherwise a message published after the sample could be cut off
	 * by the disconnect and show up as lost. */
	for (int waited = 0; atomic_load_explicit(&run.stopped,
				 memory_order_acquire) < run.nworkers &&
	    waited < 5000;
	    waited += 10) {
		nap_ms(10);
	}
	sample(&run, &at_stop);
	r.go_secs = (double)(bench_now_ns() - go_start) / 1e9;
	r.sent_go = at_stop.sent - at_go.sent;
	r.recv_go = at_stop.received - at_go.received;

	/* Let in-flight messages land. */
	if (run.npubs > 0 && o.drain > 0) {
		wait_phase(&run, "drain", o.drain, drained, t0);
	}
	set_phase(&run, PHASE_DISCONNECT);
	for (int i = 0; i < run.nworkers; i++) {
		uv_thread_join(&run.workers[i].thread);
	}

	sample(&run, &r.t);
	bench_hist_init(&r.lat);
	bench_track_init(&r.track);
	for (int i = 0; i < run.nworkers; i++) {
		struct bench_worker *w = &run.workers[i];

		bench_hist_merge(&r.lat, &w->lat);
		bench_track_sum(&r.track, &w->track);
		for (int k = 0; k < BENCH_PER_MSG; k++) {
			r.msg_count[k] += w->msg_count[k];
			if (w->msg_max[k] > r.msg_max[k]) {
				r.msg_max[k] = w->msg_max[k];
			}
			if (r.msg_count[k] > 0 && k >= r.nmsg) {
				r.nmsg = k + 1;
			}
		}
	}
	r.expected = expected_of(&run, &r.t);
	r.lost = bench_loss(r.expected, r.t.unique, &r.extra);
	r.unacked = o.qos > 0 && r.t.sent > r.t.acked ? r.t.sent - r.t.acked
						      : 0;
	r.t.fail[FAIL_TIMEOUT] += r.not_ready > failures(&at_go)
	    ? r.not_ready - failures(&at_go)
	    : 0;

	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		r.cpu_user = (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6;
		r.cpu_sys = (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6;
	}
	if (o.json) {
		print_json(&run, &r);
		print_human(stderr, &run, &r);
	} else {
		print_human(stdout, &run, &r);
	}

	if (o.qos > 0 && o.mode == MODE_RUN &&
	    (r.lost > 0 || r.unacked > 0 || (o.qos == 2 && r.t.dups > 0))) {
		fprintf(stderr, "starling-bench: QoS %d delivery failed: "
				"%llu lost, %llu unacked, %llu duplicates\n",
		    o.qos, (unsigned long long)r.lost,
		    (unsigned long long)r.unacked,
		    (unsigned long long)r.t.dups);
		status = EXIT_LOSS;
	} else if (o.mode == MODE_PUB && o.qos > 0 && r.unacked > 0) {
		status = EXIT_LOSS;
	} else if (r.not_ready > 0) {
		status = EXIT_CONNECT;
	}
	for (int i = 0; i < run.nworkers; i++) {
		bench_worker_fini(&run.workers[i]);
	}
	bench_track_fini(&r.track);
	free(run.workers);
	return status;
}
