/*
 * config.c - reads Mosquitto-syntax configuration files into a struct
 * broker_config (see config.h for the contract).
 *
 * This file owns the parser and the heap strings it stores in the config:
 * listener addresses and locations, log file, pid file, user, timestamp
 * format, persistence location and the warnings list.  It runs on whatever
 * thread builds the config (main at start-up, the reload path later) and
 * keeps no state outside the config and the parse context on that thread's
 * stack.  Opening sockets, logging and dropping privileges are left to the
 * files that use the config.
 *
 * Syntax, as in Mosquitto: one directive per line; lines whose first
 * non-blank character is '#' and blank lines are skipped; surrounding
 * blanks are ignored; arguments are separated by blanks.  Values that name
 * a file or directory, and log_timestamp_format, take the rest of the line
 * so they may contain spaces (Mosquitto does the same); every other
 * directive takes a fixed number of words and refuses anything after them.
 *
 * Every error and warning starts with "FILE:LINE: " where FILE is the file
 * being read (an included file names itself, not the main file).
 */
#include "broker/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WORKERS 1024
#define MQTT_MAX_PAYLOAD 268435455LL /* largest remaining length */
#define MIN_PACKET_SIZE 20           /* Mosquitto refuses less */

/* The state of one broker_config_load() call, shared by the main file and
 * the files include_dir pulls in, because those are parsed as if their
 * lines stood where the include_dir line is. */
struct parse {
	struct broker_config *c;
	char *err;
	size_t errlen;
	const char *file;  /* the file being read; borrowed */
	int line;
	int depth;         /* 0: main file, 1: a file of include_dir */
	long cur;          /* index of the current listener block, -1: none */
	bool log_dest_set; /* the first log_dest replaces the default */
	bool log_type_set; /* the first log_type replaces the default */
};

static int parse_file(struct parse *p, const char *path);

/* ------------------------------------------------------------------ */
/* Messages                                                             */

/* Writes "FILE:LINE: message" to the caller's buffer and returns -1, so
 * handlers can `return fail(p, ...)`. */
static int
fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0) {
		return -1;
	}
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, p->line);
	if (n < 0 || (size_t)n >= p->errlen) {
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Formats a message into err for the functions that have no parse
 * context (add_port, finish).  Always returns -1. */
static int
fail_plain(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends a formatted warning to c->warnings.  The caller passes the full
 * text, location included.  Returns 0 or -1 when out of memory. */
static int
add_warning(struct broker_config *c, const char *fmt, ...)
{
	va_list ap;
	char **w;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w = realloc(c->warnings, (c->nwarnings + 1) * sizeof(*w));
	if (w == NULL) {
		free(s);
		return -1;
	}
	w[c->nwarnings++] = s;
	c->warnings = w;
	return 0;
}

/* Records "FILE:LINE: NAME is ignored: WHY" for a directive that is
 * accepted but has no effect yet. */
static int
warn_ignored(struct parse *p, const char *name, const char *why)
{
	if (add_warning(p->c, "%s:%d: %s is ignored: %s", p->file, p->line,
	        name, why) != 0) {
		return fail(p, "out of memory");
	}
	return 0;
}

static int
not_supported(struct parse *p, const char *what)
{
	return fail(p, "%s is not supported yet", what);
}

/* ------------------------------------------------------------------ */
/* Words and values                                                     */

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	    ch == '\v' || ch == '\f';
}

static char *
skip_blanks(char *s)
{
	while (is_blank(*s)) {
		s++;
	}
	return s;
}

/* Cuts the next blank-separated word out of *s, advancing *s past it.
 * Returns the word (inside the caller's buffer) or NULL at the end. */
static char *
next_word(char **s)
{
	char *w = skip_blanks(*s);
	char *e = w;

	if (*w == '\0') {
		*s = w;
		return NULL;
	}
	while (*e != '\0' && !is_blank(*e)) {
		e++;
	}
	if (*e != '\0') {
		*e++ = '\0';
	}
	*s = e;
	return w;
}

/* Takes the one value of directive `name` from args and checks nothing
 * follows it.  Returns the value or NULL with the error set. */
static char *
one_word(struct parse *p, const char *name, char *args)
{
	char *v = next_word(&args);
	char *extra;

	if (v == NULL) {
		fail(p, "%s needs a value", name);
		return NULL;
	}
	if ((extra = next_word(&args)) != NULL) {
		fail(p, "unexpected argument '%s' after %s", extra, name);
		return NULL;
	}
	return v;
}

/* Checks that nothing but blanks is left in args. */
static int
no_more(struct parse *p, const char *name, char *args)
{
	char *extra = next_word(&args);

	if (extra != NULL) {
		return fail(p, "unexpected argument '%s' after %s", extra,
		    name);
	}
	return 0;
}

/* Parses s as a whole decimal integer in [min, max]: an optional '-' (only
 * when min is negative) and digits, nothing else, no overflow.  Returns
 * true with *out set, or false. */
static bool
parse_int(const char *s, long long min, long long max, long long *out)
{
	bool neg = false;
	unsigned long long v = 0;
	unsigned long long limit;

	if (*s == '-' && min < 0) {
		neg = true;
		s++;
	}
	if (*s == '\0') {
		return false;
	}
	/* The largest magnitude the sign allows; min is at least
	 * -LLONG_MAX in every caller, so the negation cannot overflow. */
	limit = neg ? (unsigned long long)(-min) : (unsigned long long)max;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9') {
			return false;
		}
		d = (unsigned)(*s - '0');
		if (v > (limit - d) / 10) {
			return false;
		}
		v = v * 10 + d;
	}
	if (neg) {
		*out = -(long long)v;
	} else {
		*out = (long long)v;
	}
	return *out >= min && *out <= max;
}

/* Reads the single number argument of `name` into *out, refusing anything
 * outside [min, max] with a message that names the directive and the
 * range. */
static int
number_arg(struct parse *p, const char *name, char *args, long long min,
    long long max, long long *out)
{
	char *v = one_word(p, name, args);

	if (v == NULL) {
		return -1;
	}
	if (!parse_int(v, min, max, out)) {
		return fail(p,
		    "%s must be a number from %lld to %lld, not '%s'", name,
		    min, max, v);
	}
	return 0;
}

/* Reads the single boolean argument of `name`: exactly "true" or
 * "false". */
static int
bool_arg(struct parse *p, const char *name, char *args, bool *out)
{
	char *v = one_word(p, name, args);

	if (v == NULL) {
		return -1;
	}
	if (strcmp(v, "true") == 0) {
		*out = true;
	} else if (strcmp(v, "false") == 0) {
		*out = false;
	} else {
		return fail(p, "%s must be true or false, not '%s'", name, v);
	}
	return 0;
}

/* Returns the rest of the line as the value of `name` (the line is already
 * trimmed at both ends), or NULL with the error set when it is empty. */
static char *
rest_arg(struct parse *p, const char *name, char *args)
{
	char *v = skip_blanks(args);

	if (*v == '\0') {
		fail(p, "%s needs a value", name);
		return NULL;
	}
	return v;
}

/* Stores a heap copy of v in *slot, which must be empty: Mosquitto refuses
 * a second pid_file, user and the like rather than picking one. */
static int
set_string(struct parse *p, const char *name, char **slot, const char *v)
{
	if (*slot != NULL) {
		return fail(p, "duplicate %s", name);
	}
	if ((*slot = strdup(v)) == NULL) {
		return fail(p, "out of memory");
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Listeners                                                            */

/* The listener that listener-scoped directives apply to: the current
 * `listener` block, or the default listener before the first one. */
static struct broker_listener_conf *
current_listener(struct parse *p)
{
	if (p->cur < 0) {
		return &p->c->default_listener;
	}
	return &p->c->listeners[p->cur];
}

/* Records where the default listener was first configured, so finish()
 * can point at it. */
static int
touch_default(struct parse *p)
{
	struct broker_listener_conf *d = &p->c->default_listener;

	if (d->file == NULL) {
		if ((d->file = strdup(p->file)) == NULL) {
			return fail(p, "out of memory");
		}
		d->line = p->line;
	}
	return 0;
}

/* Appends a listener on port (every address when addr is NULL) defined at
 * file:line.  Copies addr and file.  Returns the new listener or NULL when
 * out of memory, leaving c unchanged. */
static struct broker_listener_conf *
append_listener(struct broker_config *c, int port, const char *addr,
    const char *file, int line)
{
	struct broker_listener_conf *ls;
	struct broker_listener_conf l = {
		.port = (uint16_t)port,
		.protocol = BROKER_LISTENER_MQTT,
		.max_connections = -1,
		.line = line,
	};

	if ((l.file = strdup(file)) == NULL) {
		return NULL;
	}
	if (addr != NULL && (l.bind_address = strdup(addr)) == NULL) {
		free(l.file);
		return NULL;
	}
	ls = realloc(c->listeners, (c->nlisteners + 1) * sizeof(*ls));
	if (ls == NULL) {
		free(l.bind_address);
		free(l.file);
		return NULL;
	}
	c->listeners = ls;
	ls[c->nlisteners] = l;
	return &ls[c->nlisteners++];
}

/* `listener PORT [ADDRESS]` opens a listener block. */
static int
d_listener(struct parse *p, const char *name, char *args)
{
	char *port_s = next_word(&args);
	char *addr = next_word(&args);
	long long port;

	if (port_s == NULL) {
		return fail(p, "listener needs a port");
	}
	if (no_more(p, name, args) != 0) {
		return -1;
	}
	if (!parse_int(port_s, 1, 65535, &port)) {
		return fail(p, "listener port must be a number from 1 to "
		               "65535, not '%s'",
		    port_s);
	}
	if (append_listener(p->c, (int)port, addr, p->file, p->line) ==
	    NULL) {
		return fail(p, "out of memory");
	}
	p->cur = (long)p->c->nlisteners - 1;
	return 0;
}

/* `port N` sets the default listener's port wherever it appears, as in
 * Mosquitto, and asks for the default listener to be started. */
static int
d_port(struct parse *p, const char *name, char *args)
{
	long long v = 0;

	if (number_arg(p, name, args, 1, 65535, &v) != 0 ||
	    touch_default(p) != 0) {
		return -1;
	}
	p->c->default_listener.port = (uint16_t)v;
	p->c->default_listener_named = true;
	return 0;
}

/* `bind_address ADDR` binds the default listener.  Inside a listener
 * block it is refused: Mosquitto would silently start a second listener
 * on 1883 bound to ADDR while the block's own listener stays open on every
 * address, the opposite of what the line seems to ask for. */
static int
d_bind_address(struct parse *p, const char *name, char *args)
{
	char *v = one_word(p, name, args);

	if (v == NULL) {
		return -1;
	}
	if (p->cur >= 0) {
		return fail(p, "bind_address applies only to the default "
		               "listener; give the address on the listener "
		               "line instead ('listener %u %s')",
		    (unsigned)p->c->listeners[p->cur].port, v);
	}
	if (set_string(p, name, &p->c->default_listener.bind_address, v) !=
	        0 ||
	    touch_default(p) != 0) {
		return -1;
	}
	p->c->default_listener_named = true;
	return 0;
}

static int
d_protocol(struct parse *p, const char *name, char *args)
{
	char *v = one_word(p, name, args);

	if (v == NULL) {
		return -1;
	}
	if (strcmp(v, "websockets") == 0) {
		return not_supported(p, "protocol websockets");
	}
	if (strcmp(v, "mqtt") != 0) {
		return fail(p, "protocol must be mqtt or websockets, not '%s'",
		    v);
	}
	if (p->cur < 0 && touch_default(p) != 0) {
		return -1;
	}
	current_listener(p)->protocol = BROKER_LISTENER_MQTT;
	return 0;
}

static int
d_max_connections(struct parse *p, const char *name, char *args)
{
	long long v = 0;

	if (number_arg(p, name, args, -1, INT32_MAX, &v) != 0) {
		return -1;
	}
	if (p->cur < 0 && touch_default(p) != 0) {
		return -1;
	}
	current_listener(p)->max_connections = (int32_t)v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Global directives with special values                                */

/* max_packet_size: 0 (no limit) or at least 20 bytes, which Mosquitto
 * requires because smaller limits break ordinary clients. */
static int
d_max_packet_size(struct parse *p, const char *name, char *args)
{
	char *v = one_word(p, name, args);
	long long n = 0;

	if (v == NULL) {
		return -1;
	}
	if (!parse_int(v, 0, UINT32_MAX, &n) ||
	    (n != 0 && n < MIN_PACKET_SIZE)) {
		return fail(p, "%s must be 0 (no limit) or a number from %d "
		               "to %lu, not '%s'",
		    name, MIN_PACKET_SIZE, (unsigned long)UINT32_MAX, v);
	}
	p->c->max_packet_size = (uint32_t)n;
	return 0;
}

/* persistent_client_expiration: a positive number followed by one unit,
 * h, d, w, m (30 days) or y (365 days) as in Mosquitto, plus s (seconds)
 * as newer Mosquitto releases allow. */
static int
d_expiration(struct parse *p, const char *name, char *args)
{
	char *v = one_word(p, name, args);
	uint64_t mult;
	long long n = 0;
	size_t len;
	char unit;

	if (v == NULL) {
		return -1;
	}
	len = strlen(v);
	unit = v[len - 1];
	switch (unit) {
	case 's': mult = 1; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 86400 * 7; break;
	case 'm': mult = 86400 * 30; break;
	case 'y': mult = 86400 * 365; break;
	default: mult = 0; break;
	}
	v[len - 1] = '\0';
	if (mult == 0 || !parse_int(v, 1, (long long)(INT64_MAX / mult), &n)) {
		v[len - 1] = unit;
		return fail(p,
		    "%s must be a positive number followed by s, h, d, w, "
		    "m (30 days) or y (365 days), e.g. 14d; not '%s'",
		    name, v);
	}
	p->c->persistent_client_expiration = (uint64_t)n * mult;
	return 0;
}

/* `log_dest stderr|stdout|syslog|topic|none|file PATH`.  The first
 * log_dest of a configuration replaces the default (stderr); later ones
 * add to it; none clears everything so far.  Only one file may be named
 * between two `none`s, as Mosquitto allows a single log file. */
static int
d_log_dest(struct parse *p, const char *name, char *args)
{
	struct broker_config *c = p->c;
	char *v = next_word(&args);
	char *path = NULL;
	uint32_t bit;

	if (v == NULL) {
		return fail(p, "log_dest needs a value");
	}
	if (strcmp(v, "file") == 0) {
		if ((path = rest_arg(p, "log_dest file", args)) == NULL) {
			return -1;
		}
		bit = BROKER_LOG_DEST_FILE;
	} else if (no_more(p, name, args) != 0) {
		return -1;
	} else if (strcmp(v, "stderr") == 0) {
		bit = BROKER_LOG_DEST_STDERR;
	} else if (strcmp(v, "stdout") == 0) {
		bit = BROKER_LOG_DEST_STDOUT;
	} else if (strcmp(v, "syslog") == 0) {
		bit = BROKER_LOG_DEST_SYSLOG;
	} else if (strcmp(v, "topic") == 0) {
		bit = BROKER_LOG_DEST_TOPIC;
	} else if (strcmp(v, "none") == 0) {
		bit = 0;
	} else {
		return fail(p, "log_dest must be stderr, stdout, file PATH, "
		               "syslog, topic or none, not '%s'",
		    v);
	}
	if (!p->log_dest_set || bit == 0) {
		p->log_dest_set = true;
		c->log_dest = 0;
		free(c->log_file);
		c->log_file = NULL;
	}
	if (path != NULL &&
	    set_string(p, "log_dest file", &c->log_file, path) != 0) {
		return -1;
	}
	c->log_dest |= bit;
	return 0;
}

/* `log_type TYPE`, one type per line.  The first log_type of a
 * configuration replaces the default set; later ones add to it; none
 * clears it and all sets every type. */
static int
d_log_type(struct parse *p, const char *name, char *args)
{
	static const struct {
		const char *name;
		uint32_t bits;
	} types[] = {
		{ "debug", BROKER_LOG_DEBUG },
		{ "error", BROKER_LOG_ERR },
		{ "warning", BROKER_LOG_WARNING },
		{ "notice", BROKER_LOG_NOTICE },
		{ "information", BROKER_LOG_INFO },
		{ "subscribe", BROKER_LOG_SUBSCRIBE },
		{ "unsubscribe", BROKER_LOG_UNSUBSCRIBE },
		{ "websockets", BROKER_LOG_WEBSOCKETS },
		{ "none", 0 },
		{ "all", BROKER_LOG_ALL },
	};
	char *v = one_word(p, name, args);

	if (v == NULL) {
		return -1;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(v, types[i].name) != 0) {
			continue;
		}
		if (!p->log_type_set || types[i].bits == 0) {
			p->c->log_type = 0;
			p->log_type_set = true;
		}
		p->c->log_type |= types[i].bits;
		return 0;
	}
	return fail(p, "log_type must be debug, error, warning, notice, "
	               "information, subscribe, unsubscribe, websockets, "
	               "none or all, not '%s'",
	    v);
}

/* Orders include_dir file names as Mosquitto documents: alphabetically
 * ignoring case, and where two names differ only in the case of a letter,
 * upper case first (A.conf, a.conf, B.conf, b.conf). */
static int
include_order(const void *a, const void *b)
{
	const unsigned char *s = (const unsigned char *)*(char *const *)a;
	const unsigned char *t = (const unsigned char *)*(char *const *)b;

	for (; *s != '\0' && *t != '\0'; s++, t++) {
		int d = toupper(*s) - toupper(*t);

		if (d == 0) {
			d = (int)*s - (int)*t;
		}
		if (d != 0) {
			return d;
		}
	}
	return (int)*s - (int)*t;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
}

/* `include_dir DIR` parses every file of DIR whose name ends in ".conf",
 * in include_order(), as if its lines stood here.  Only the main file may
 * use it (as in Mosquitto), which also keeps a directory from including
 * itself forever. */
static int
d_include_dir(struct parse *p, const char *name, char *args)
{
	char *dir = rest_arg(p, name, args);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (dir == NULL) {
		return -1;
	}
	if (p->depth > 0) {
		return fail(p, "include_dir is only allowed in the main "
		               "configuration file");
	}
	if ((d = opendir(dir)) == NULL) {
		return fail(p, "cannot open include_dir '%s': %s", dir,
		    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char **more;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0) {
			continue;
		}
		more = realloc(names, (n + 1) * sizeof(*names));
		if (more == NULL) {
			rc = fail(p, "out of memory");
			goto out;
		}
		names = more;
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = fail(p, "out of memory");
			goto out;
		}
		n++;
	}
	if (n > 1) {
		qsort(names, n, sizeof(*names), include_order);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t dlen = strlen(dir);
		bool slash = dlen > 0 && dir[dlen - 1] == '/';
		size_t plen = dlen + 1 + strlen(names[i]) + 1;
		char *path = malloc(plen);
		struct parse sub = *p;

		if (path == NULL) {
			rc = fail(p, "out of memory");
			break;
		}
		snprintf(path, plen, "%s%s%s", dir, slash ? "" : "/",
		    names[i]);
		sub.depth = p->depth + 1;
		rc = parse_file(&sub, path);
		/* The listener block and log_* state carry over, as they
		 * would for lines of one file. */
		p->cur = sub.cur;
		p->log_dest_set = sub.log_dest_set;
		p->log_type_set = sub.log_type_set;
		free(path);
	}
out:
	free_names(names, n);
	closedir(d);
	return rc;
}

/* `persistence` and its Mosquitto alias `retained_persistence`. */
static int
d_persistence(struct parse *p, const char *name, char *args)
{
	bool v = false;

	if (bool_arg(p, name, args, &v) != 0) {
		return -1;
	}
	p->c->persistence = v;
	return 0;
}

static int
d_persistence_location(struct parse *p, const char *name, char *args)
{
	char *v = rest_arg(p, name, args);

	if (v == NULL) {
		return -1;
	}
	return set_string(p, name, &p->c->persistence_location, v);
}

/* persistence_sync always|batch|none (ours). */
static int
d_persistence_sync(struct parse *p, const char *name, char *args)
{
	char *v = one_word(p, name, args);

	if (v == NULL) {
		return -1;
	}
	if (strcmp(v, "always") == 0) {
		p->c->persistence_sync = BROKER_SYNC_ALWAYS;
	} else if (strcmp(v, "batch") == 0) {
		p->c->persistence_sync = BROKER_SYNC_BATCH;
	} else if (strcmp(v, "none") == 0) {
		p->c->persistence_sync = BROKER_SYNC_NONE;
	} else {
		return fail(p, "%s must be always, batch or none, not '%s'",
		    name, v);
	}
	return 0;
}

/* persistence_file: Mosquitto's one-file snapshot name; Starling keeps an
 * LMDB environment in persistence_location instead. */
static int
d_persistence_file(struct parse *p, const char *name, char *args)
{
	if (rest_arg(p, name, args) == NULL) {
		return -1;
	}
	return warn_ignored(p, name,
	    "Starling keeps its store (data.mdb) in persistence_location");
}

/* autosave_*: Starling commits every change before acknowledging it, so
 * there is nothing to save on a schedule. */
static int
d_autosave_interval(struct parse *p, const char *name, char *args)
{
	long long v = 0;

	if (number_arg(p, name, args, 0, INT32_MAX, &v) != 0) {
		return -1;
	}
	return warn_ignored(p, name,
	    "Starling commits each change before acknowledging it");
}

static int
d_autosave_on_changes(struct parse *p, const char *name, char *args)
{
	bool v = false;

	if (bool_arg(p, name, args, &v) != 0) {
		return -1;
	}
	return warn_ignored(p, name,
	    "Starling commits each change before acknowledging it");
}

/* per_listener_settings: false is Starling's only mode; true would let
 * a listener carry its own security settings, which we cannot honour. */
static int
d_per_listener_settings(struct parse *p, const char *name, char *args)
{
	bool v = false;

	if (bool_arg(p, name, args, &v) != 0) {
		return -1;
	}
	return v ? not_supported(p, "per_listener_settings true") : 0;
}

/* max_qos: 2 is what Starling grants; a lower cap is refused. */
static int
d_max_qos(struct parse *p, const char *name, char *args)
{
	long long v = 0;

	if (number_arg(p, name, args, 0, 2, &v) != 0) {
		return -1;
	}
	return v == 2 ? 0 : fail(p, "max_qos %lld is not supported yet", v);
}

/* allow_zero_length_clientid: true is the MQTT default Starling follows;
 * false would be a restriction we do not enforce yet. */
static int
d_allow_zero_length_clientid(struct parse *p, const char *name, char *args)
{
	bool v = false;

	if (bool_arg(p, name, args, &v) != 0) {
		return -1;
	}
	return v ? 0 : not_supported(p, "allow_zero_length_clientid false");
}

/* check_retain_source only matters with access control lists, which are
 * refused for now, so either value describes what Starling does. */
static int
d_check_retain_source(struct parse *p, const char *name, char *args)
{
	bool v = false;

	return bool_arg(p, name, args, &v);
}

/* Mosquitto directives with no effect on security or data that Starling
 * does not implement: the value is required but otherwise ignored. */
static int
d_ignored(struct parse *p, const char *name, char *args)
{
	if (rest_arg(p, name, args) == NULL) {
		return -1;
	}
	return warn_ignored(p, name, "not supported yet");
}

/* ------------------------------------------------------------------ */
/* The directive table                                                  */

enum kind {
	K_FUNC,   /* fn does everything */
	K_BOOL,   /* true/false into a bool field */
	K_NUMBER, /* integer in [min, max] into an unsigned/int field */
	K_STRING, /* rest of the line into a char * field, once */
	K_WORD,   /* one word into a char * field, once */
	K_REFUSE, /* "NAME is not supported yet" */
};

struct directive {
	const char *name;
	enum kind kind;
	size_t off;  /* field offset in struct broker_config */
	size_t size; /* field size, for K_NUMBER */
	long long min, max;
	int (*fn)(struct parse *p, const char *name, char *args);
};

#define FIELD(m)                                      \
	offsetof(struct broker_config, m),                \
	    sizeof(((struct broker_config *)0)->m)
#define BOOL(n, m) { n, K_BOOL, FIELD(m), 0, 0, NULL }
#define NUMBER(n, m, lo, hi) { n, K_NUMBER, FIELD(m), lo, hi, NULL }
#define STRING(n, m) { n, K_STRING, FIELD(m), 0, 0, NULL }
#define WORD(n, m) { n, K_WORD, FIELD(m), 0, 0, NULL }
#define FUNC(n, f) { n, K_FUNC, 0, 0, 0, 0, f }
#define REFUSE(n) { n, K_REFUSE, 0, 0, 0, 0, NULL }

static const struct directive directives[] = {
	/* Listeners */
	FUNC("listener", d_listener),
	FUNC("port", d_port),
	FUNC("bind_address", d_bind_address),
	FUNC("protocol", d_protocol),
	FUNC("max_connections", d_max_connections),

	/* Security and limits */
	BOOL("allow_anonymous", allow_anonymous),
	FUNC("max_packet_size", d_max_packet_size),
	NUMBER("message_size_limit", message_size_limit, 0, MQTT_MAX_PAYLOAD),
	NUMBER("max_inflight_messages", max_inflight_messages, 0, 65535),
	NUMBER("max_inflight_bytes", max_inflight_bytes, 0, INT64_MAX),
	NUMBER("max_queued_messages", max_queued_messages, 0, UINT32_MAX),
	NUMBER("max_queued_bytes", max_queued_bytes, 0, INT64_MAX),
	BOOL("queue_qos0_messages", queue_qos0_messages),
	NUMBER("max_keepalive", max_keepalive, 0, 65535),
	BOOL("retain_available", retain_available),
	FUNC("persistent_client_expiration", d_expiration),
	NUMBER("sys_interval", sys_interval, 0, 65535),
	BOOL("upgrade_outgoing_qos", upgrade_outgoing_qos),
	BOOL("set_tcp_nodelay", set_tcp_nodelay),

	/* Logging */
	FUNC("log_dest", d_log_dest),
	FUNC("log_type", d_log_type),
	BOOL("log_timestamp", log_timestamp),
	STRING("log_timestamp_format", log_timestamp_format),
	BOOL("connection_messages", connection_messages),

	/* Process */
	FUNC("include_dir", d_include_dir),
	STRING("pid_file", pid_file),
	WORD("user", user),
	NUMBER("workers", workers, 0, MAX_WORKERS),

	/* Accepted because Starling already behaves as asked, or accepted
	 * with a warning because they only add a feature. */
	FUNC("persistence", d_persistence),
	FUNC("retained_persistence", d_persistence),
	FUNC("persistence_location", d_persistence_location),
	FUNC("persistence_sync", d_persistence_sync),
	NUMBER("persistence_sync_interval", persistence_sync_interval, 1,
	    60000),
	FUNC("persistence_file", d_persistence_file),
	FUNC("autosave_interval", d_autosave_interval),
	FUNC("autosave_on_changes", d_autosave_on_changes),
	FUNC("check_retain_source", d_check_retain_source),
	FUNC("per_listener_settings", d_per_listener_settings),
	FUNC("max_qos", d_max_qos),
	FUNC("allow_zero_length_clientid", d_allow_zero_length_clientid),
	FUNC("allow_duplicate_messages", d_ignored),
	FUNC("auto_id_prefix", d_ignored),
	FUNC("log_facility", d_ignored),
	FUNC("max_topic_alias", d_ignored),
	FUNC("websockets_log_level", d_ignored),
	FUNC("websockets_headers_size", d_ignored),

	/* Refused: without them a client would get in, or see, what the
	 * file meant to forbid, or data would be lost. */
	REFUSE("password_file"),
	REFUSE("acl_file"),
	REFUSE("psk_file"),
	REFUSE("psk_hint"),
	REFUSE("certfile"),
	REFUSE("keyfile"),
	REFUSE("cafile"),
	REFUSE("capath"),
	REFUSE("crlfile"),
	REFUSE("dhparamfile"),
	REFUSE("require_certificate"),
	REFUSE("use_identity_as_username"),
	REFUSE("use_subject_as_username"),
	REFUSE("use_username_as_clientid"),
	REFUSE("tls_version"),
	REFUSE("tls_engine"),
	REFUSE("tls_engine_kpass_sha1"),
	REFUSE("tls_keyform"),
	REFUSE("ciphers"),
	REFUSE("ciphers_tls1.3"),
	REFUSE("auth_plugin"),
	REFUSE("auth_plugin_deny_special_chars"),
	REFUSE("plugin"),
	REFUSE("clientid_prefixes"),
	REFUSE("mount_point"),
	REFUSE("bind_interface"),
	REFUSE("socket_domain"),
	REFUSE("memory_limit"),
	REFUSE("http_dir"),
	REFUSE("connection"),
	REFUSE("address"),
	REFUSE("addresses"),
	REFUSE("topic"),
};

/* Prefixes of directive families that are refused as a whole. */
static const char *const refused_prefixes[] = {
	"plugin_opt_",
	"auth_opt_",
	"bridge_",
};

/* Applies a table entry of a simple kind to its field. */
static int
apply_simple(struct parse *p, const struct directive *d, char *args)
{
	char *field = (char *)p->c + d->off;
	long long n = 0;
	char *v;

	switch (d->kind) {
	case K_BOOL:
		return bool_arg(p, d->name, args, (bool *)(void *)field);
	case K_NUMBER:
		if (number_arg(p, d->name, args, d->min, d->max, &n) != 0) {
			return -1;
		}
		/* Every number field is an unsigned or a non-negative int of
		 * 2, 4 or 8 bytes, and min is 0, so the value fits. */
		if (d->size == sizeof(uint16_t)) {
			uint16_t x = (uint16_t)n;
			memcpy(field, &x, sizeof(x));
		} else if (d->size == sizeof(uint32_t)) {
			uint32_t x = (uint32_t)n;
			memcpy(field, &x, sizeof(x));
		} else {
			uint64_t x = (uint64_t)n;
			memcpy(field, &x, sizeof(x));
		}
		return 0;
	case K_STRING:
	case K_WORD:
		if (d->kind == K_STRING) {
			v = rest_arg(p, d->name, args);
		} else {
			v = one_word(p, d->name, args);
		}
		if (v == NULL) {
			return -1;
		}
		return set_string(p, d->name, (char **)(void *)field, v);
	case K_REFUSE:
		return not_supported(p, d->name);
	case K_FUNC:
		break;
	}
	return d->fn(p, d->name, args);
}

/* Parses one line, already cut of its newline.  Skips blank and comment
 * lines, looks the directive up and applies it. */
static int
parse_line(struct parse *p, char *line)
{
	char *s = skip_blanks(line);
	size_t len = strlen(s);
	char *name;

	while (len > 0 && is_blank(s[len - 1])) {
		s[--len] = '\0';
	}
	if (*s == '\0' || *s == '#') {
		return 0;
	}
	name = next_word(&s);
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]);
	     i++) {
		if (strcmp(name, directives[i].name) == 0) {
			return apply_simple(p, &directives[i], s);
		}
	}
	for (size_t i = 0;
	     i < sizeof(refused_prefixes) / sizeof(refused_prefixes[0]); i++) {
		const char *pre = refused_prefixes[i];

		if (strncmp(name, pre, strlen(pre)) == 0) {
			return not_supported(p, name);
		}
	}
	return fail(p, "unknown directive '%s'", name);
}

/* Reads the file at path line by line into p->c.  path is borrowed for
 * the length of the call (it becomes p->file).  Returns 0 or -1 with the
 * error set; the caller's p->file and p->line are restored either way so
 * an include_dir error names the included file while a later one names
 * the main file again. */
static int
parse_file(struct parse *p, const char *path)
{
	const char *saved_file = p->file;
	int saved_line = p->line;
	char *buf = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f;
	int rc = 0;

	p->file = path;
	p->line = 0;
	if ((f = fopen(path, "r")) == NULL) {
		rc = fail_plain(p->err, p->errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = fail_plain(p->err, p->errlen, "%s: is a directory", path);
		goto close;
	}
	errno = 0;
	while (getline(&buf, &cap, f) != -1) {
		p->line++;
		if ((rc = parse_line(p, buf)) != 0) {
			goto close;
		}
		errno = 0;
	}
	if (ferror(f)) {
		rc = fail_plain(p->err, p->errlen, "%s: read error: %s", path,
		    strerror(errno != 0 ? errno : EIO));
	}
close:
	fclose(f);
out:
	free(buf);
	p->file = saved_file;
	p->line = saved_line;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */

void
broker_config_default(struct broker_config *c)
{
	memset(c, 0, sizeof(*c));
	c->default_listener.port = BROKER_DEFAULT_PORT;
	c->default_listener.protocol = BROKER_LISTENER_MQTT;
	c->default_listener.max_connections = -1;
	c->allow_anonymous = true;
	c->max_inflight_messages = 20;
	c->max_queued_messages = 1000;
	c->max_keepalive = 65535;
	c->retain_available = true;
	c->sys_interval = 10;
	c->persistence_sync = BROKER_SYNC_ALWAYS;
	c->persistence_sync_interval = 100;
	c->log_dest = BROKER_LOG_DEST_STDERR;
	c->log_type = BROKER_LOG_ERR | BROKER_LOG_WARNING | BROKER_LOG_NOTICE |
	    BROKER_LOG_INFO;
	c->log_timestamp = true;
	c->connection_messages = true;
}

int
broker_config_load(struct broker_config *c, const char *path, char *err,
    size_t errlen)
{
	struct parse p = {
		.c = c,
		.err = err,
		.errlen = errlen,
		.file = path,
		.cur = -1,
	};

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	/* Mosquitto 2: a configuration file must allow anonymous clients
	 * explicitly. */
	c->allow_anonymous = false;
	return parse_file(&p, path);
}

int
broker_config_add_port(struct broker_config *c, int port, char *err,
    size_t errlen)
{
	if (port < 1 || port > 65535) {
		return fail_plain(err, errlen,
		    "-p: port must be a number from 1 to 65535, not %d", port);
	}
	if (append_listener(c, port, NULL, "-p", 0) == NULL) {
		return fail_plain(err, errlen, "-p: out of memory");
	}
	return 0;
}

/* Writes "FILE:LINE" for l into buf, or just FILE when l did not come
 * from a file line ("-p", "default"). */
static const char *
where(const struct broker_listener_conf *l, char *buf, size_t len)
{
	const char *file = l->file != NULL ? l->file : "default";

	if (l->line > 0) {
		snprintf(buf, len, "%s:%d", file, l->line);
	} else {
		snprintf(buf, len, "%s", file);
	}
	return buf;
}

static bool
same_address(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a, b) == 0;
}

int
broker_config_finish(struct broker_config *c, char *err, size_t errlen)
{
	struct broker_listener_conf *d = &c->default_listener;
	char w1[512], w2[512];

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (c->nlisteners == 0 || c->default_listener_named) {
		struct broker_listener_conf *l = append_listener(c, d->port,
		    d->bind_address, d->file != NULL ? d->file : "default",
		    d->line);

		if (l == NULL) {
			return fail_plain(err, errlen, "out of memory");
		}
		l->protocol = d->protocol;
		l->max_connections = d->max_connections;
	} else if (d->file != NULL) {
		/* Only max_connections or protocol touched the default
		 * listener, which the file's listener blocks replace.
		 * Mosquitto would open 1883 for them; we say they are
		 * unused instead. */
		if (add_warning(c,
		        "%s: settings before the first listener apply to "
		        "the default listener, which is not started because "
		        "the configuration has listener blocks; they are "
		        "ignored",
		        where(d, w1, sizeof(w1))) != 0) {
			return fail_plain(err, errlen, "out of memory");
		}
	}
	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct broker_listener_conf *b = &c->listeners[i];

		for (size_t j = 0; j < i; j++) {
			const struct broker_listener_conf *a;

			a = &c->listeners[j];
			if (a->port != b->port ||
			    !same_address(a->bind_address, b->bind_address)) {
				continue;
			}
			return fail_plain(err, errlen,
			    "%s: duplicate listener on port %u%s%s (first "
			    "defined at %s)",
			    where(b, w1, sizeof(w1)), (unsigned)b->port,
			    b->bind_address != NULL ? " address " : "",
			    b->bind_address != NULL ? b->bind_address : "",
			    where(a, w2, sizeof(w2)));
		}
	}
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		if (n < 1) {
			n = 1;
		}
		c->workers = n > MAX_WORKERS ? MAX_WORKERS : (int)n;
	}
	return 0;
}

static void
listener_fini(struct broker_listener_conf *l)
{
	free(l->bind_address);
	free(l->file);
}

void
broker_config_fini(struct broker_config *c)
{
	for (size_t i = 0; i < c->nlisteners; i++) {
		listener_fini(&c->listeners[i]);
	}
	free(c->listeners);
	listener_fini(&c->default_listener);
	free(c->log_file);
	free(c->log_timestamp_format);
	free(c->pid_file);
	free(c->user);
	free(c->persistence_location);
	for (size_t i = 0; i < c->nwarnings; i++) {
		free(c->warnings[i]);
	}
	free(c->warnings);
	memset(c, 0, sizeof(*c));
}
