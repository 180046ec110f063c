/*
 * config.h - the broker's configuration: Mosquitto's file syntax and
 * semantics for the directives Starling supports, plus our own.
 *
 * A struct broker_config is built once by broker_config_load() (or
 * broker_config_default() when no file is given) and never modified after
 * broker_config_finish(): a reload builds a new one and workers pick it up
 * on their next loop turn.  It may therefore be read from any thread
 * without locks once published.  This file owns no threads.
 *
 * Errors are reported as "FILE:LINE: message" in a caller buffer; the
 * parser never prints and never exits.
 */
#ifndef BROKER_CONFIG_H
#define BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BROKER_DEFAULT_PORT 1883

/* log_dest bits */
#define BROKER_LOG_DEST_STDERR 0x01u
#define BROKER_LOG_DEST_STDOUT 0x02u
#define BROKER_LOG_DEST_FILE 0x04u
#define BROKER_LOG_DEST_SYSLOG 0x08u
#define BROKER_LOG_DEST_TOPIC 0x10u /* accepted; $SYS/broker/log/... */

/* log_type bits (Mosquitto's names) */
#define BROKER_LOG_ERR 0x01u
#define BROKER_LOG_WARNING 0x02u
#define BROKER_LOG_NOTICE 0x04u
#define BROKER_LOG_INFO 0x08u
#define BROKER_LOG_DEBUG 0x10u
#define BROKER_LOG_SUBSCRIBE 0x20u
#define BROKER_LOG_UNSUBSCRIBE 0x40u
#define BROKER_LOG_WEBSOCKETS 0x80u
#define BROKER_LOG_ALL 0xFFu

enum broker_listener_proto {
	BROKER_LISTENER_MQTT = 0,
};

/* One `listener PORT [ADDRESS]` block (or the default listener). */
struct broker_listener_conf {
	uint16_t port;
	char *bind_address;      /* NULL: every address */
	int protocol;            /* enum broker_listener_proto */
	int32_t max_connections; /* -1: unlimited */
	char *file;              /* where it was defined ("-p" or "default"
				    when it came from elsewhere) */
	int line;
};

struct broker_config {
	struct broker_listener_conf *listeners;
	size_t nlisteners;

	/* The default listener: what `port`, `bind_address` and the
	 * listener-scoped directives that come before any `listener` set.
	 * broker_config_finish() adds it to `listeners` if the file named
	 * `port` or `bind_address`, or if there is no listener at all (as
	 * Mosquitto does). */
	struct broker_listener_conf default_listener;
	bool default_listener_named;

	/* Security: false by default when a config file is read (as in
	 * Mosquitto 2); true for the built-in default configuration. */
	bool allow_anonymous;

	/* Limits; 0 means "no limit" wherever Mosquitto says so. */
	uint32_t max_packet_size;       /* 0: protocol maximum */
	uint32_t message_size_limit;    /* max payload bytes, 0: none */
	uint32_t max_inflight_messages; /* default 20, 0: none */
	uint64_t max_inflight_bytes;    /* 0: none */
	uint32_t max_queued_messages;   /* default 1000, 0: none */
	uint64_t max_queued_bytes;      /* 0: none */
	bool queue_qos0_messages;       /* default false */
	uint16_t max_keepalive;         /* default 65535 */
	bool retain_available;          /* default true */
	uint64_t persistent_client_expiration; /* seconds, 0: never */
	uint32_t sys_interval;          /* seconds, default 10, 0: off */
	bool upgrade_outgoing_qos;      /* default false */
	bool set_tcp_nodelay;           /* default false */

	/* Logging */
	uint32_t log_dest;   /* BROKER_LOG_DEST_* bits; default stderr */
	char *log_file;      /* with BROKER_LOG_DEST_FILE */
	uint32_t log_type;   /* BROKER_LOG_* bits; default err, warning,
				notice, information */
	bool log_timestamp;  /* default true */
	char *log_timestamp_format; /* strftime format, NULL: epoch secs */
	bool connection_messages;   /* default true */

	/* Process */
	char *pid_file;
	char *user;          /* drop to this user when started as root;
				NULL: stay (Mosquitto defaults to
				"mosquitto"; we only switch when asked) */
	int workers;         /* 0: one per core (default) */
	bool daemon;         /* -d */
	int verbose;         /* -v */

	/* Persistence (storage/ over LMDB). */
	bool persistence;            /* default false, as in Mosquitto */
	char *persistence_location;  /* directory; NULL: the current one */
	int persistence_sync;        /* BROKER_SYNC_* */
	uint32_t persistence_sync_interval; /* ms, for batch */

	/* Warnings gathered while parsing ("FILE:LINE: message"), for the
	 * caller to log once logging is up. */
	char **warnings;
	size_t nwarnings;
};

/* persistence_sync: when a commit is on disk (see storage/FORMAT.md). */
enum { BROKER_SYNC_ALWAYS, BROKER_SYNC_BATCH, BROKER_SYNC_NONE };

/* Fills c with the built-in defaults of a broker started without a config
 * file: no listeners yet (see broker_config_finish()), anonymous clients
 * allowed, every limit at Mosquitto's default.  c is caller memory. */
void broker_config_default(struct broker_config *c);

/* Reads the Mosquitto-syntax file at path into c, which must hold the
 * defaults (broker_config_default()).  Reading a file also sets
 * allow_anonymous to false unless the file says otherwise.  `include_dir`
 * reads the *.conf files of a directory in alphabetical order.  Returns 0,
 * or -1 with "FILE:LINE: message" in err[0..errlen) for an unknown
 * directive, a bad value, a missing argument, a file that cannot be read,
 * or a directive that is not supported yet and whose absence would weaken
 * security or lose data.  Strings in c are heap copies owned by c. */
int broker_config_load(struct broker_config *c, const char *path, char *err,
    size_t errlen);

/* Adds a listener on port for every address, as `mosquitto -p PORT` does
 * (in addition to the file's listeners).  Returns 0 or -1 (ENOMEM, port 0,
 * with a message in err). */
int broker_config_add_port(struct broker_config *c, int port, char *err,
    size_t errlen);

/* Completes c after everything is read: with no listener at all, adds the
 * default one (port 1883, or the `port` directive's, every address, or
 * `bind_address`); resolves workers 0 to the number of cores.  Returns 0,
 * or -1 with a message in err (e.g. two listeners on one port and
 * address). */
int broker_config_finish(struct broker_config *c, char *err, size_t errlen);

/* Frees everything c owns (not c itself).  Accepts a zeroed c. */
void broker_config_fini(struct broker_config *c);

#endif /* BROKER_CONFIG_H */
