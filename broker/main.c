/*
 * main.c - the starling executable: command line (as mosquitto's),
 * configuration, the worker loops, signals, and an orderly shutdown.
 *
 * The main thread only starts and stops things: after the workers run it
 * sits in a small libuv loop of its own that waits for SIGINT/SIGTERM
 * (stop: listeners close, MQTT 5 clients get DISCONNECT 0x8B, exit 0) and
 * SIGHUP (reload what can be reloaded - logging - and log what cannot).
 */
#include "broker/internal.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PORTS 16

struct options {
	const char *conf;
	int ports[MAX_PORTS];
	int nports;
	bool daemon;
	int verbose;
	bool test_config;
	const char *dump_storage;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "starling %s - a multi-threaded MQTT 3.1, 3.1.1 and 5.0 broker\n"
	    "\n"
	    "usage: starling [-c FILE] [-p PORT] [-d] [-v] [--test-config]\n"
	    "                [--dump-storage DIR] [--version] [--help]\n"
	    "\n"
	    "  -c FILE         configuration file (mosquitto.conf syntax)\n"
	    "  -p PORT         listen on PORT on every address, in addition to\n"
	    "                  the file's listeners (may be repeated)\n"
	    "  -d              run in the background\n"
	    "  -v              verbose logging (all log types)\n"
	    "  --test-config   check the configuration file and exit\n"
	    "  --dump-storage DIR  list what the store in DIR holds and exit\n"
	    "  --version       print the version and exit\n"
	    "  --help          this text\n"
	    "\n"
	    "Without -c, Starling listens on port 1883 on every address and\n"
	    "allows anonymous clients.\n",
	    BROKER_VERSION);
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config-file") == 0) {
			if (++i == argc) {
				fprintf(stderr, "starling: -c needs a file\n");
				return -1;
			}
			o->conf = argv[i];
		} else if (strcmp(a, "-p") == 0 || strcmp(a, "--port") == 0) {
			char *end;
			long p;
			if (++i == argc || o->nports == MAX_PORTS) {
				fprintf(stderr, "starling: -p needs a port\n");
				return -1;
			}
			p = strtol(argv[i], &end, 10);
			if (*end != '\0' || p < 1 || p > 65535) {
				fprintf(stderr, "starling: bad port '%s'\n",
				    argv[i]);
				return -1;
			}
			o->ports[o->nports++] = (int)p;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--daemon") == 0) {
			o->daemon = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose++;
		} else if (strcmp(a, "--test-config") == 0) {
			o->test_config = true;
		} else if (strcmp(a, "--dump-storage") == 0) {
			if (++i == argc) {
				fprintf(stderr,
				    "starling: --dump-storage needs a directory\n");
				return -1;
			}
			o->dump_storage = argv[i];
		} else if (strcmp(a, "--version") == 0) {
			printf("starling version %s\n", BROKER_VERSION);
			exit(0);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "starling: unknown option '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* Builds the configuration from the file and the command line. */
static int
load_config(const struct options *o, struct broker_config *cfg)
{
	char err[512];

	broker_config_default(cfg);
	if (o->conf != NULL && broker_config_load(cfg, o->conf, err,
				   sizeof(err)) != 0) {
		fprintf(stderr, "Error: %s\n", err);
		return -1;
	}
	for (int i = 0; i < o->nports; i++) {
		if (broker_config_add_port(cfg, o->ports[i], err,
			sizeof(err)) != 0) {
			fprintf(stderr, "Error: %s\n", err);
			return -1;
		}
	}
	if (broker_config_finish(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "Error: %s\n", err);
		return -1;
	}
	cfg->daemon = o->daemon;
	cfg->verbose = o->verbose;
	return 0;
}

static int
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0) {
		return 0;
	}
	pw = getpwnam(user);
	if (pw == NULL) {
		LOG_ERR("Error: user '%s' does not exist.", user);
		return -1;
	}
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		LOG_ERR("Error: cannot become user '%s': %s.", user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct main_ctx {
	struct broker *b;
	const struct options *o;
	uv_signal_t sigint, sigterm, sighup;
};

static void
stop_all(struct broker *b)
{
	for (int i = 0; i < b->nloops; i++) {
		struct broker_inbox_item *it = calloc(1, sizeof(*it));
		if (it == NULL) {
			abort(); /* cannot even stop: nothing better to do */
		}
		it->kind = INBOX_STOP;
		broker__loop_post(&b->loops[i], it);
	}
}

static void
on_signal(uv_signal_t *h, int sig)
{
	struct main_ctx *m = h->data;

	if (sig == SIGHUP) {
		struct broker_config nc;
		if (load_config(m->o, &nc) == 0) {
			broker_log_open(&nc);
			LOG_NOTICE("Reloaded logging settings; listeners, limits "
				   "and workers change only on restart.");
			broker_config_fini(&nc);
		} else {
			LOG_ERR("Reload failed; keeping the running "
				"configuration.");
		}
		return;
	}
	LOG_NOTICE("starling version %s terminating", BROKER_VERSION);
	atomic_store(&m->b->stopping, true);
	stop_all(m->b);
	uv_close((uv_handle_t *)&m->sigint, NULL);
	uv_close((uv_handle_t *)&m->sigterm, NULL);
	uv_close((uv_handle_t *)&m->sighup, NULL);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct broker_config cfg;
	struct broker b;
	struct main_ctx m;
	uv_loop_t main_loop;
	int rc = 1;

	if (parse_args(argc, argv, &o) != 0) {
		return 1;
	}
	if (o.dump_storage != NULL) {
		return broker__persist_dump(o.dump_storage) == 0 ? 0 : 1;
	}
	if (load_config(&o, &cfg) != 0) {
		broker_config_fini(&cfg);
		return 3;
	}
	if (o.test_config) {
		for (size_t i = 0; i < cfg.nwarnings; i++) {
			fprintf(stderr, "Warning: %s\n", cfg.warnings[i]);
		}
		printf("Configuration OK\n");
		broker_config_fini(&cfg);
		return 0;
	}
	if (broker_log_open(&cfg) != 0) {
		broker_config_fini(&cfg);
		return 1;
	}
	for (size_t i = 0; i < cfg.nwarnings; i++) {
		LOG_WARN("Warning: %s", cfg.warnings[i]);
	}
	if (o.conf == NULL) {
		LOG_NOTICE("No configuration file: listening on port %u on every "
			   "address with anonymous clients allowed.",
		    cfg.listeners[0].port);
	}
	if (cfg.daemon && daemon(0, 0) != 0) {
		LOG_ERR("Error: cannot daemonise: %s.", strerror(errno));
		broker_config_fini(&cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Stop signals wait until their handlers are in place (recovery may
	 * take a while with the port already open); the worker threads
	 * inherit the mask, so they arrive at the main thread. */
	sigset_t stopsigs;
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stopsigs, NULL);

	if (broker__node_init(&b, &cfg) != 0) {
		LOG_ERR("Error: out of memory.");
		goto out;
	}
	LOG_NOTICE("starling version %s starting with %d worker(s)",
	    BROKER_VERSION, b.nloops);
	int started = 0;
	for (int i = 0; i < b.nloops; i++) {
		b.nloops_inited = i + 1; /* its inbox mutex exists from here */
		if (broker__loop_init(&b.loops[i], &b, i) != 0) {
			goto stop;
		}
		started++;
	}
	b.started_at = b.loops[0].now_t;
	for (size_t i = 0; i < cfg.nlisteners; i++) {
		LOG_NOTICE("Opening listen socket on %s port %u.",
		    cfg.listeners[i].bind_address
			? cfg.listeners[i].bind_address
			: "every address",
		    cfg.listeners[i].port);
	}
	if (drop_privileges(cfg.user) != 0) {
		goto stop;
	}
	if (cfg.pid_file != NULL) {
		FILE *f = fopen(cfg.pid_file, "w");
		if (f == NULL) {
			LOG_ERR("Error: cannot write pid_file %s.", cfg.pid_file);
			goto stop;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	if (broker__persist_open(&b) != 0 || broker__persist_recover(&b) != 0) {
		goto stop;
	}
	for (int i = 0; i < b.nloops; i++) {
		broker__loop_start(&b.loops[i]);
	}
	LOG_NOTICE("starling version %s running", BROKER_VERSION);

	uv_loop_init(&main_loop);
	m.b = &b;
	m.o = &o;
	uv_signal_init(&main_loop, &m.sigint);
	uv_signal_init(&main_loop, &m.sigterm);
	uv_signal_init(&main_loop, &m.sighup);
	m.sigint.data = m.sigterm.data = m.sighup.data = &m;
	uv_signal_start(&m.sigint, on_signal, SIGINT);
	uv_signal_start(&m.sigterm, on_signal, SIGTERM);
	uv_signal_start(&m.sighup, on_signal, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &stopsigs, NULL);
	uv_run(&main_loop, UV_RUN_DEFAULT);
	uv_loop_close(&main_loop);
	for (int i = 0; i < b.nloops; i++) {
		broker__loop_join(&b.loops[i]);
	}
	broker__persist_close(&b);
	rc = 0;
	if (cfg.pid_file != NULL) {
		unlink(cfg.pid_file);
	}
	goto out;
stop:
	/* Start-up failed after some loops were made: they never ran, so
	 * their handles close in broker__loop_join's own run. */
	for (int i = 0; i < started; i++) {
		struct broker_loop *l = &b.loops[i];
		broker__loop_stop_here(l);
		uv_run(&l->loop, UV_RUN_DEFAULT);
		uv_loop_close(&l->loop);
		free(l->listeners);
	}
	broker__persist_close(&b);
out:
	broker__node_free(&b);
	broker_log_close();
	broker_config_fini(&cfg);
	return rc;
}
