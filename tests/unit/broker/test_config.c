/*
 * test_config.c - unit tests for broker/config.c: defaults, every
 * directive's parsing and range checks, log_dest/log_type accumulation,
 * listener scoping and the default listener, include_dir, refusals and
 * warnings for directives that are not supported yet, add_port, finish and
 * fini.
 *
 * Each test runs in a fresh mkdtemp() directory that is its working
 * directory, so files are named relatively ("t.conf", "inc/a.conf") and
 * error messages can be compared exactly.  The directory and everything
 * in it is removed after the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/config.h"

#define MAIN "t.conf"

/* ------------------------------------------------------------------ */
/* Fixture and helpers                                                  */

struct tmp {
	char dir[64];
	char old[PATH_MAX];
};

/* Removes path and, if it is a directory, everything below it. */
static void
rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) != 0) {
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char sub[PATH_MAX];

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0) {
				continue;
			}
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Per-test setup: a fresh temporary directory becomes the working
 * directory. */
static int
enter_tmpdir(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL || getcwd(t->old, sizeof(t->old)) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->dir, sizeof(t->dir), "/tmp/starling-config-XXXXXX");
	if (mkdtemp(t->dir) == NULL || chdir(t->dir) != 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
leave_tmpdir(void **state)
{
	struct tmp *t = *state;
	int rc = chdir(t->old);

	rm_tree(t->dir);
	free(t);
	return rc;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
make_dir(const char *path)
{
	assert_int_equal(mkdir(path, 0700), 0);
}

/* Fills c with the defaults and loads text as t.conf. */
static int
load(struct broker_config *c, const char *text, char *err, size_t errlen)
{
	broker_config_default(c);
	write_file(MAIN, text);
	return broker_config_load(c, MAIN, err, errlen);
}

/* Loads text and fails the test, showing the message, if it is refused. */
static void
loads(struct broker_config *c, const char *text)
{
	char err[512] = "";

	if (load(c, text, err, sizeof(err)) != 0) {
		fail_msg("unexpected error: %s", err);
	}
	assert_string_equal(err, "");
}

/* Loads text, expects it to be refused with exactly `expected`, and frees
 * whatever the partial load kept. */
static void
refused(const char *text, const char *expected)
{
	struct broker_config c;
	char err[512] = "";

	assert_int_equal(load(&c, text, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
	broker_config_fini(&c);
}

/* Same as refused() with a printf-built expectation. */
static void
refusedf(const char *text, const char *fmt, ...)
{
	char expected[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(expected, sizeof(expected), fmt, ap);
	va_end(ap);
	refused(text, expected);
}

static void
finish_ok(struct broker_config *c)
{
	char err[512] = "";

	if (broker_config_finish(c, err, sizeof(err)) != 0) {
		fail_msg("unexpected finish error: %s", err);
	}
}

static long long
expected_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : n;
}

/* Reads an unsigned field of 1, 2, 4 or 8 bytes at off in c. */
static unsigned long long
field_u(const struct broker_config *c, size_t off, size_t size)
{
	const char *p = (const char *)c + off;

	switch (size) {
	case 1: {
		uint8_t v;
		memcpy(&v, p, 1);
		return v;
	}
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

#define F(m)                                   \
	offsetof(struct broker_config, m), \
	    sizeof(((struct broker_config *)0)->m)

/* ------------------------------------------------------------------ */
/* Defaults                                                             */

static void
defaults_are_mosquittos(void **state)
{
	struct broker_config c;

	(void)state;
	memset(&c, 0xA5, sizeof(c));
	broker_config_default(&c);
	assert_null(c.listeners);
	assert_int_equal(c.nlisteners, 0);
	assert_int_equal(c.default_listener.port, 1883);
	assert_null(c.default_listener.bind_address);
	assert_int_equal(c.default_listener.protocol, BROKER_LISTENER_MQTT);
	assert_int_equal(c.default_listener.max_connections, -1);
	assert_null(c.default_listener.file);
	assert_int_equal(c.default_listener.line, 0);
	assert_false(c.default_listener_named);
	assert_true(c.allow_anonymous);
	assert_int_equal(c.max_packet_size, 0);
	assert_int_equal(c.message_size_limit, 0);
	assert_int_equal(c.max_inflight_messages, 20);
	assert_int_equal(c.max_inflight_bytes, 0);
	assert_int_equal(c.max_queued_messages, 1000);
	assert_int_equal(c.max_queued_bytes, 0);
	assert_false(c.queue_qos0_messages);
	assert_int_equal(c.max_keepalive, 65535);
	assert_true(c.retain_available);
	assert_int_equal(c.persistent_client_expiration, 0);
	assert_int_equal(c.sys_interval, 10);
	assert_false(c.upgrade_outgoing_qos);
	assert_false(c.set_tcp_nodelay);
	assert_int_equal(c.log_dest, BROKER_LOG_DEST_STDERR);
	assert_null(c.log_file);
	assert_int_equal(c.log_type, BROKER_LOG_ERR | BROKER_LOG_WARNING |
	        BROKER_LOG_NOTICE | BROKER_LOG_INFO);
	assert_true(c.log_timestamp);
	assert_null(c.log_timestamp_format);
	assert_true(c.connection_messages);
	assert_null(c.pid_file);
	assert_null(c.user);
	assert_int_equal(c.workers, 0);
	assert_false(c.daemon);
	assert_int_equal(c.verbose, 0);
	assert_false(c.persistence);
	assert_null(c.persistence_location);
	assert_null(c.warnings);
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
}

static void
finish_without_listeners_adds_default_on_1883(void **state)
{
	struct broker_config c;

	(void)state;
	broker_config_default(&c);
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].port, 1883);
	assert_null(c.listeners[0].bind_address);
	assert_int_equal(c.listeners[0].protocol, BROKER_LISTENER_MQTT);
	assert_int_equal(c.listeners[0].max_connections, -1);
	assert_string_equal(c.listeners[0].file, "default");
	assert_int_equal(c.listeners[0].line, 0);
	assert_int_equal(c.workers, expected_workers());
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
}

static void
loading_a_file_disallows_anonymous_unless_it_allows_it(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "");
	assert_false(c.allow_anonymous);
	/* Everything else keeps its default. */
	assert_int_equal(c.max_inflight_messages, 20);
	assert_int_equal(c.log_dest, BROKER_LOG_DEST_STDERR);
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].port, 1883);
	broker_config_fini(&c);

	loads(&c, "allow_anonymous true\n");
	assert_true(c.allow_anonymous);
	broker_config_fini(&c);
}

/* ------------------------------------------------------------------ */
/* Booleans                                                             */

static const struct {
	const char *name;
	size_t off;
	size_t size;
} bools[] = {
	{ "allow_anonymous", F(allow_anonymous) },
	{ "queue_qos0_messages", F(queue_qos0_messages) },
	{ "retain_available", F(retain_available) },
	{ "upgrade_outgoing_qos", F(upgrade_outgoing_qos) },
	{ "set_tcp_nodelay", F(set_tcp_nodelay) },
	{ "log_timestamp", F(log_timestamp) },
	{ "connection_messages", F(connection_messages) },
};

static bool
field_bool(const struct broker_config *c, size_t off)
{
	bool v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void
booleans_take_true_and_false(void **state)
{
	struct broker_config c;
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "%s true\n", bools[i].name);
		loads(&c, text);
		assert_true(field_bool(&c, bools[i].off));
		broker_config_fini(&c);

		snprintf(text, sizeof(text), "%s false\n", bools[i].name);
		loads(&c, text);
		assert_false(field_bool(&c, bools[i].off));
		broker_config_fini(&c);

		/* The last one wins. */
		snprintf(text, sizeof(text), "%s false\n%s true\n",
		    bools[i].name, bools[i].name);
		loads(&c, text);
		assert_true(field_bool(&c, bools[i].off));
		broker_config_fini(&c);
	}
}

static void
booleans_refuse_other_spellings(void **state)
{
	static const char *const bad[] = { "1", "0", "True", "FALSE", "yes",
		"on", "truex" };
	char text[128];

	(void)state;
	refused("allow_anonymous 1\n",
	    "t.conf:1: allow_anonymous must be true or false, not '1'");
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			snprintf(text, sizeof(text), "\n%s %s\n",
			    bools[i].name, bad[j]);
			refusedf(text,
			    "t.conf:2: %s must be true or false, not '%s'",
			    bools[i].name, bad[j]);
		}
		snprintf(text, sizeof(text), "%s\n", bools[i].name);
		refusedf(text, "t.conf:1: %s needs a value", bools[i].name);
		snprintf(text, sizeof(text), "%s true false\n", bools[i].name);
		refusedf(text,
		    "t.conf:1: unexpected argument 'false' after %s",
		    bools[i].name);
	}
}

/* ------------------------------------------------------------------ */
/* Numbers                                                              */

static const struct {
	const char *name;
	size_t off;
	size_t size;
	const char *min;
	const char *max;
	unsigned long long maxv;
	const char *above;
} numbers[] = {
	{ "message_size_limit", F(message_size_limit), "0", "268435455",
	    268435455ull, "268435456" },
	{ "max_inflight_messages", F(max_inflight_messages), "0", "65535",
	    65535ull, "65536" },
	{ "max_inflight_bytes", F(max_inflight_bytes), "0",
	    "9223372036854775807", 9223372036854775807ull,
	    "9223372036854775808" },
	{ "max_queued_messages", F(max_queued_messages), "0", "4294967295",
	    4294967295ull, "4294967296" },
	{ "max_queued_bytes", F(max_queued_bytes), "0", "9223372036854775807",
	    9223372036854775807ull, "18446744073709551616" },
	{ "max_keepalive", F(max_keepalive), "0", "65535", 65535ull,
	    "65536" },
	{ "sys_interval", F(sys_interval), "0", "65535", 65535ull,
	    "65536" },
	{ "workers", F(workers), "0", "1024", 1024ull, "1025" },
};

static void
numbers_take_their_whole_range(void **state)
{
	struct broker_config c;
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		snprintf(text, sizeof(text), "%s %s\n", numbers[i].name,
		    numbers[i].min);
		loads(&c, text);
		assert_int_equal(field_u(&c, numbers[i].off, numbers[i].size),
		    0);
		broker_config_fini(&c);

		snprintf(text, sizeof(text), "%s %s\n", numbers[i].name,
		    numbers[i].max);
		loads(&c, text);
		assert_true(field_u(&c, numbers[i].off, numbers[i].size) ==
		    numbers[i].maxv);
		broker_config_fini(&c);

		/* Leading zeros are still decimal. */
		snprintf(text, sizeof(text), "%s 010\n", numbers[i].name);
		loads(&c, text);
		assert_int_equal(field_u(&c, numbers[i].off, numbers[i].size),
		    10);
		broker_config_fini(&c);
	}
}

static void
numbers_outside_their_range_are_refused(void **state)
{
	char text[128];

	(void)state;
	refused("max_keepalive 65536\n",
	    "t.conf:1: max_keepalive must be a number from 0 to 65535, not "
	    "'65536'");
	refused("\n\nmax_inflight_messages -1\n",
	    "t.conf:3: max_inflight_messages must be a number from 0 to "
	    "65535, not '-1'");
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		snprintf(text, sizeof(text), "%s %s\n", numbers[i].name,
		    numbers[i].above);
		refusedf(text,
		    "t.conf:1: %s must be a number from %s to %s, not '%s'",
		    numbers[i].name, numbers[i].min, numbers[i].max,
		    numbers[i].above);
		snprintf(text, sizeof(text), "%s -1\n", numbers[i].name);
		refusedf(text,
		    "t.conf:1: %s must be a number from %s to %s, not '-1'",
		    numbers[i].name, numbers[i].min, numbers[i].max);
	}
}

static void
numbers_must_be_plain_decimal(void **state)
{
	static const char *const bad[] = { "12a", "+5", "0x10", "1e3", "1.5",
		"-", "--1", "99999999999999999999999", "ten" };
	char text[128];

	(void)state;
	for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		snprintf(text, sizeof(text), "sys_interval %s\n", bad[j]);
		refusedf(text,
		    "t.conf:1: sys_interval must be a number from 0 to 65535, "
		    "not '%s'",
		    bad[j]);
	}
	refused("sys_interval\n", "t.conf:1: sys_interval needs a value");
	refused("sys_interval 5 6\n",
	    "t.conf:1: unexpected argument '6' after sys_interval");
}

static void
max_packet_size_is_zero_or_at_least_20(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "max_packet_size 0\n");
	assert_int_equal(c.max_packet_size, 0);
	broker_config_fini(&c);
	loads(&c, "max_packet_size 20\n");
	assert_int_equal(c.max_packet_size, 20);
	broker_config_fini(&c);
	loads(&c, "max_packet_size 4294967295\n");
	assert_int_equal(c.max_packet_size, 4294967295u);
	broker_config_fini(&c);
	refused("max_packet_size 19\n",
	    "t.conf:1: max_packet_size must be 0 (no limit) or a number from "
	    "20 to 4294967295, not '19'");
	refused("max_packet_size 1\n",
	    "t.conf:1: max_packet_size must be 0 (no limit) or a number from "
	    "20 to 4294967295, not '1'");
	refused("max_packet_size 4294967296\n",
	    "t.conf:1: max_packet_size must be 0 (no limit) or a number from "
	    "20 to 4294967295, not '4294967296'");
	refused("max_packet_size -20\n",
	    "t.conf:1: max_packet_size must be 0 (no limit) or a number from "
	    "20 to 4294967295, not '-20'");
	refused("max_packet_size\n",
	    "t.conf:1: max_packet_size needs a value");
}

static void
workers_zero_means_one_per_core(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "workers 0\n");
	finish_ok(&c);
	assert_int_equal(c.workers, expected_workers());
	broker_config_fini(&c);

	loads(&c, "workers 3\n");
	finish_ok(&c);
	assert_int_equal(c.workers, 3);
	broker_config_fini(&c);

	loads(&c, "workers 1024\n");
	finish_ok(&c);
	assert_int_equal(c.workers, 1024);
	broker_config_fini(&c);
}

/* ------------------------------------------------------------------ */
/* Durations                                                            */

static void
expiration_units_are_mosquittos(void **state)
{
	static const struct {
		const char *text;
		uint64_t seconds;
	} cases[] = {
		{ "90s", 90 },
		{ "2h", 7200 },
		{ "2d", 172800 },
		{ "14d", 1209600 },
		{ "1w", 604800 },
		{ "1m", 2592000 },   /* a month is 30 days */
		{ "2m", 5184000 },
		{ "1y", 31536000 },  /* a year is 365 days */
		{ "10y", 315360000 },
	};
	struct broker_config c;
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
		    "persistent_client_expiration %s\n", cases[i].text);
		loads(&c, text);
		assert_true(c.persistent_client_expiration ==
		    cases[i].seconds);
		broker_config_fini(&c);
	}
}

static void
expiration_needs_a_positive_count_and_a_unit(void **state)
{
	static const char *const bad[] = { "0d", "5", "5x", "d", "-1d",
		"1.5d", "+1d", "1dd", "1D", "99999999999999999y" };
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "persistent_client_expiration %s\n", bad[i]);
		refusedf(text,
		    "t.conf:1: persistent_client_expiration must be a "
		    "positive number followed by s, h, d, w, m (30 days) or "
		    "y (365 days), e.g. 14d; not '%s'",
		    bad[i]);
	}
	refused("persistent_client_expiration\n",
	    "t.conf:1: persistent_client_expiration needs a value");
	refused("persistent_client_expiration 1d 2d\n",
	    "t.conf:1: unexpected argument '2d' after "
	    "persistent_client_expiration");
}

/* ------------------------------------------------------------------ */
/* Logging                                                              */

static void
first_log_dest_replaces_the_default(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "log_dest stdout\n");
	assert_int_equal(c.log_dest, BROKER_LOG_DEST_STDOUT);
	broker_config_fini(&c);

	loads(&c, "log_dest file /var/log/starling.log\n");
	assert_int_equal(c.log_dest, BROKER_LOG_DEST_FILE);
	assert_string_equal(c.log_file, "/var/log/starling.log");
	broker_config_fini(&c);
}

static void
log_dest_accumulates(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "log_dest stdout\n"
	          "log_dest syslog\n"
	          "log_dest topic\n"
	          "log_dest stderr\n"
	          "log_dest file /var/log/my broker.log\n");
	assert_int_equal(c.log_dest,
	    BROKER_LOG_DEST_STDOUT | BROKER_LOG_DEST_SYSLOG |
	        BROKER_LOG_DEST_TOPIC | BROKER_LOG_DEST_STDERR |
	        BROKER_LOG_DEST_FILE);
	/* The path is the rest of the line, spaces included. */
	assert_string_equal(c.log_file, "/var/log/my broker.log");
	broker_config_fini(&c);
}

static void
log_dest_none_clears_everything_before_it(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "log_dest file /tmp/a.log\nlog_dest stdout\n"
	          "log_dest none\n");
	assert_int_equal(c.log_dest, 0);
	assert_null(c.log_file);
	broker_config_fini(&c);

	/* After none, a new file may be named. */
	loads(&c, "log_dest file /tmp/a.log\nlog_dest none\n"
	          "log_dest file /tmp/b.log\nlog_dest syslog\n");
	assert_int_equal(c.log_dest,
	    BROKER_LOG_DEST_FILE | BROKER_LOG_DEST_SYSLOG);
	assert_string_equal(c.log_file, "/tmp/b.log");
	broker_config_fini(&c);
}

static void
log_dest_errors(void **state)
{
	(void)state;
	refused("log_dest file /a\nlog_dest file /b\n",
	    "t.conf:2: duplicate log_dest file");
	refused("log_dest file\n", "t.conf:1: log_dest file needs a value");
	refused("log_dest file   \n", "t.conf:1: log_dest file needs a value");
	refused("log_dest\n", "t.conf:1: log_dest needs a value");
	refused("log_dest dlt\n",
	    "t.conf:1: log_dest must be stderr, stdout, file PATH, syslog, "
	    "topic or none, not 'dlt'");
	refused("log_dest stdout stderr\n",
	    "t.conf:1: unexpected argument 'stderr' after log_dest");
	refused("log_dest none now\n",
	    "t.conf:1: unexpected argument 'now' after log_dest");
}

static void
first_log_type_replaces_the_default_and_later_ones_add(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "log_type error\n");
	assert_int_equal(c.log_type, BROKER_LOG_ERR);
	broker_config_fini(&c);

	loads(&c, "log_type debug\nlog_type subscribe\nlog_type unsubscribe\n"
	          "log_type websockets\nlog_type warning\nlog_type notice\n"
	          "log_type information\n");
	assert_int_equal(c.log_type,
	    BROKER_LOG_DEBUG | BROKER_LOG_SUBSCRIBE | BROKER_LOG_UNSUBSCRIBE |
	        BROKER_LOG_WEBSOCKETS | BROKER_LOG_WARNING |
	        BROKER_LOG_NOTICE | BROKER_LOG_INFO);
	broker_config_fini(&c);

	loads(&c, "log_type all\n");
	assert_int_equal(c.log_type, BROKER_LOG_ALL);
	broker_config_fini(&c);

	loads(&c, "log_type all\nlog_type none\n");
	assert_int_equal(c.log_type, 0);
	broker_config_fini(&c);

	loads(&c, "log_type none\nlog_type error\n");
	assert_int_equal(c.log_type, BROKER_LOG_ERR);
	broker_config_fini(&c);
}

static void
log_type_errors(void **state)
{
	(void)state;
	refused("log_type errors\n",
	    "t.conf:1: log_type must be debug, error, warning, notice, "
	    "information, subscribe, unsubscribe, websockets, none or all, "
	    "not 'errors'");
	refused("log_type error warning\n",
	    "t.conf:1: unexpected argument 'warning' after log_type");
	refused("log_type\n", "t.conf:1: log_type needs a value");
}

static void
log_strings_keep_the_rest_of_the_line(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "log_timestamp_format   %Y-%m-%d %H:%M:%S  \n");
	assert_string_equal(c.log_timestamp_format, "%Y-%m-%d %H:%M:%S");
	broker_config_fini(&c);
	refused("log_timestamp_format %s\nlog_timestamp_format %F\n",
	    "t.conf:2: duplicate log_timestamp_format");
	refused("log_timestamp_format\n",
	    "t.conf:1: log_timestamp_format needs a value");
}

/* ------------------------------------------------------------------ */
/* Process directives                                                   */

static void
pid_file_and_user(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "pid_file /run/star ling.pid\nuser starling\n");
	assert_string_equal(c.pid_file, "/run/star ling.pid");
	assert_string_equal(c.user, "starling");
	broker_config_fini(&c);

	refused("pid_file /a\npid_file /b\n", "t.conf:2: duplicate pid_file");
	refused("user a\nuser a\n", "t.conf:2: duplicate user");
	refused("user two words\n",
	    "t.conf:1: unexpected argument 'words' after user");
	refused("pid_file\n", "t.conf:1: pid_file needs a value");
	refused("user\n", "t.conf:1: user needs a value");
}

/* ------------------------------------------------------------------ */
/* Listeners                                                            */

static void
listener_scoped_directives_apply_to_their_block(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "max_connections 5\n"   /* 1: the default listener */
	          "port 1883\n"           /* 2 */
	          "listener 1884\n"       /* 3 */
	          "max_connections 10\n"  /* 4 */
	          "protocol mqtt\n"       /* 5 */
	          "listener 1885 127.0.0.1\n" /* 6 */
	          "listener 1886 ::1\n"   /* 7 */
	          "max_connections -1\n"  /* 8 */
	          "max_connections 2147483647\n");
	assert_int_equal(c.nlisteners, 3);
	assert_int_equal(c.default_listener.max_connections, 5);
	assert_true(c.default_listener_named);
	assert_int_equal(c.listeners[0].port, 1884);
	assert_null(c.listeners[0].bind_address);
	assert_int_equal(c.listeners[0].max_connections, 10);
	assert_string_equal(c.listeners[0].file, "t.conf");
	assert_int_equal(c.listeners[0].line, 3);
	assert_int_equal(c.listeners[1].port, 1885);
	assert_string_equal(c.listeners[1].bind_address, "127.0.0.1");
	assert_int_equal(c.listeners[1].max_connections, -1);
	assert_int_equal(c.listeners[1].line, 6);
	assert_int_equal(c.listeners[2].port, 1886);
	assert_string_equal(c.listeners[2].bind_address, "::1");
	assert_int_equal(c.listeners[2].max_connections, 2147483647);
	assert_int_equal(c.listeners[2].line, 7);

	/* `port` asked for the default listener: finish adds it last, with
	 * the settings made before the first block and the location of the
	 * first line that configured it. */
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 4);
	assert_int_equal(c.listeners[3].port, 1883);
	assert_null(c.listeners[3].bind_address);
	assert_int_equal(c.listeners[3].max_connections, 5);
	assert_string_equal(c.listeners[3].file, "t.conf");
	assert_int_equal(c.listeners[3].line, 1);
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
}

static void
listener_blocks_replace_the_default_listener(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "listener 8883\n");
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].port, 8883);
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
}

static void
port_alone_moves_the_default_listener(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "# main\nport 1999\n");
	assert_true(c.default_listener_named);
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].port, 1999);
	assert_null(c.listeners[0].bind_address);
	assert_string_equal(c.listeners[0].file, "t.conf");
	assert_int_equal(c.listeners[0].line, 2);
	broker_config_fini(&c);

	/* `port` after a listener block still sets the default listener. */
	loads(&c, "listener 1884\nport 1885\nmax_connections 3\n");
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 2);
	assert_int_equal(c.listeners[0].port, 1884);
	assert_int_equal(c.listeners[0].max_connections, 3);
	assert_int_equal(c.listeners[1].port, 1885);
	assert_int_equal(c.listeners[1].max_connections, -1);
	assert_int_equal(c.listeners[1].line, 2);
	broker_config_fini(&c);
}

static void
bind_address_binds_the_default_listener(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "bind_address 127.0.0.1\nlistener 1884\n");
	assert_true(c.default_listener_named);
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 2);
	assert_int_equal(c.listeners[0].port, 1884);
	assert_null(c.listeners[0].bind_address);
	assert_int_equal(c.listeners[1].port, 1883);
	assert_string_equal(c.listeners[1].bind_address, "127.0.0.1");
	assert_int_equal(c.listeners[1].line, 1);
	broker_config_fini(&c);

	refused("bind_address a\nbind_address b\n",
	    "t.conf:2: duplicate bind_address");
	refused("bind_address a b\n",
	    "t.conf:1: unexpected argument 'b' after bind_address");
	refused("bind_address\n", "t.conf:1: bind_address needs a value");
}

static void
bind_address_inside_a_listener_block_is_refused(void **state)
{
	(void)state;
	refused("listener 1884\nbind_address 127.0.0.1\n",
	    "t.conf:2: bind_address applies only to the default listener; "
	    "give the address on the listener line instead ('listener 1884 "
	    "127.0.0.1')");
}

static void
default_listener_settings_unused_by_blocks_are_warned(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "\nmax_connections 5\nlistener 1884\n");
	assert_int_equal(c.nwarnings, 0);
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].port, 1884);
	assert_int_equal(c.listeners[0].max_connections, -1);
	assert_int_equal(c.nwarnings, 1);
	assert_string_equal(c.warnings[0],
	    "t.conf:2: settings before the first listener apply to the "
	    "default listener, which is not started because the "
	    "configuration has listener blocks; they are ignored");
	broker_config_fini(&c);

	/* With no listener block they configure the default listener. */
	loads(&c, "max_connections 5\n");
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].port, 1883);
	assert_int_equal(c.listeners[0].max_connections, 5);
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
}

static void
listener_and_port_errors(void **state)
{
	(void)state;
	refused("listener\n", "t.conf:1: listener needs a port");
	refused("listener 0\n", "t.conf:1: listener port must be a number "
	                        "from 1 to 65535, not '0'");
	refused("listener 65536\n", "t.conf:1: listener port must be a "
	                            "number from 1 to 65535, not '65536'");
	refused("listener mqtt\n", "t.conf:1: listener port must be a number "
	                           "from 1 to 65535, not 'mqtt'");
	refused("listener 1884 ::1 extra\n",
	    "t.conf:1: unexpected argument 'extra' after listener");
	refused("port 0\n",
	    "t.conf:1: port must be a number from 1 to 65535, not '0'");
	refused("port 65536\n",
	    "t.conf:1: port must be a number from 1 to 65535, not '65536'");
	refused("port\n", "t.conf:1: port needs a value");
	refused("max_connections -2\n",
	    "t.conf:1: max_connections must be a number from -1 to "
	    "2147483647, not '-2'");
	refused("listener 1\nmax_connections 2147483648\n",
	    "t.conf:2: max_connections must be a number from -1 to "
	    "2147483647, not '2147483648'");
	refused("protocol\n", "t.conf:1: protocol needs a value");
	refused("listener 9001\nprotocol websockets\n",
	    "t.conf:2: protocol websockets is not supported yet");
	refused("protocol mqtts\n",
	    "t.conf:1: protocol must be mqtt or websockets, not 'mqtts'");
}

/* ------------------------------------------------------------------ */
/* add_port and finish                                                  */

static void
add_port_listens_on_every_address(void **state)
{
	struct broker_config c;
	char err[128] = "";

	(void)state;
	broker_config_default(&c);
	assert_int_equal(broker_config_add_port(&c, 1884, err, sizeof(err)),
	    0);
	assert_int_equal(broker_config_add_port(&c, 65535, err, sizeof(err)),
	    0);
	finish_ok(&c);
	/* -p replaces the default listener, as in Mosquitto. */
	assert_int_equal(c.nlisteners, 2);
	assert_int_equal(c.listeners[0].port, 1884);
	assert_null(c.listeners[0].bind_address);
	assert_int_equal(c.listeners[0].max_connections, -1);
	assert_int_equal(c.listeners[0].protocol, BROKER_LISTENER_MQTT);
	assert_string_equal(c.listeners[0].file, "-p");
	assert_int_equal(c.listeners[0].line, 0);
	assert_int_equal(c.listeners[1].port, 65535);
	broker_config_fini(&c);
}

static void
add_port_refuses_ports_out_of_range(void **state)
{
	struct broker_config c;
	char err[128];

	(void)state;
	broker_config_default(&c);
	assert_int_equal(broker_config_add_port(&c, 0, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "-p: port must be a number from 1 to 65535, not 0");
	assert_int_equal(broker_config_add_port(&c, 65536, err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "-p: port must be a number from 1 to 65535, not 65536");
	assert_int_equal(broker_config_add_port(&c, -1, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "-p: port must be a number from 1 to 65535, not -1");
	assert_int_equal(c.nlisteners, 0);
	broker_config_fini(&c);
}

static void
finish_refuses_duplicate_listeners(void **state)
{
	struct broker_config c;
	char err[256];

	(void)state;
	loads(&c, "listener 1884\nlistener 1884\n");
	assert_int_equal(broker_config_finish(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: duplicate listener on port 1884 "
	                         "(first defined at t.conf:1)");
	broker_config_fini(&c);

	loads(&c, "listener 1884 ::1\nlistener 1884\nlistener 1884 ::1\n");
	assert_int_equal(broker_config_finish(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:3: duplicate listener on port 1884 "
	                         "address ::1 (first defined at t.conf:1)");
	broker_config_fini(&c);

	/* The default listener is compared too. */
	loads(&c, "port 1884\nlistener 1884\n");
	assert_int_equal(broker_config_finish(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1: duplicate listener on port 1884 "
	                         "(first defined at t.conf:2)");
	broker_config_fini(&c);

	/* And -p listeners. */
	loads(&c, "listener 1884\n");
	assert_int_equal(broker_config_add_port(&c, 1884, err, sizeof(err)),
	    0);
	assert_int_equal(broker_config_finish(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "-p: duplicate listener on port 1884 (first "
	                         "defined at t.conf:1)");
	broker_config_fini(&c);
}

static void
finish_accepts_one_port_on_different_addresses(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "listener 1884 127.0.0.1\nlistener 1884 ::1\n"
	          "listener 1884\nlistener 1885 127.0.0.1\n");
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 4);
	broker_config_fini(&c);
}

/* ------------------------------------------------------------------ */
/* include_dir                                                          */

static void
include_dir_reads_conf_files_in_mosquittos_order(void **state)
{
	static const struct {
		const char *name;
		int port;
	} files[] = {
		{ "b.conf", 6 }, { "A.conf", 3 }, { "01.conf", 2 },
		{ "a.conf", 4 }, { "B.conf", 5 }, { "00.conf", 1 },
	};
	struct broker_config c;
	char path[64], text[64];

	(void)state;
	make_dir("inc");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "inc/%s", files[i].name);
		snprintf(text, sizeof(text), "# %s\nlistener %d\n",
		    files[i].name, 2000 + files[i].port);
		write_file(path, text);
	}
	/* Not loaded: other suffixes, and a name that is only ".conf". */
	write_file("inc/notes.txt", "bogus\n");
	write_file("inc/x.conf.bak", "bogus\n");
	write_file("inc/.conf", "bogus\n");
	loads(&c, "listener 2000\ninclude_dir inc\nlistener 2007\n");
	assert_int_equal(c.nlisteners, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(c.listeners[i].port, 2000 + i);
	}
	assert_string_equal(c.listeners[1].file, "inc/00.conf");
	assert_int_equal(c.listeners[1].line, 2);
	assert_string_equal(c.listeners[3].file, "inc/A.conf");
	assert_string_equal(c.listeners[7].file, "t.conf");
	assert_int_equal(c.listeners[7].line, 3);
	broker_config_fini(&c);
}

static void
include_dir_errors_name_the_included_file_and_line(void **state)
{
	(void)state;
	make_dir("inc");
	write_file("inc/a.conf", "listener 1884\n");
	write_file("inc/b.conf", "# b\n\nbogus 1\n");
	refused("include_dir inc\n",
	    "inc/b.conf:3: unknown directive 'bogus'");
	/* A trailing slash is not doubled. */
	refused("include_dir inc/\n",
	    "inc/b.conf:3: unknown directive 'bogus'");
	/* Later errors name the main file again, at its own line. */
	write_file("inc/b.conf", "# b\n");
	refused("include_dir inc\nport 0\n",
	    "t.conf:2: port must be a number from 1 to 65535, not '0'");
}

static void
include_dir_files_continue_the_listener_block(void **state)
{
	struct broker_config c;

	(void)state;
	make_dir("conf.d");
	write_file("conf.d/limits.conf", "max_connections 7\n");
	write_file("conf.d/log.conf", "log_type error\nlog_dest stdout\n");
	loads(&c, "log_type debug\nlog_dest syslog\n"
	          "listener 1884\ninclude_dir conf.d\n");
	assert_int_equal(c.listeners[0].max_connections, 7);
	/* The included log_* lines add to the main file's. */
	assert_int_equal(c.log_type, BROKER_LOG_DEBUG | BROKER_LOG_ERR);
	assert_int_equal(c.log_dest,
	    BROKER_LOG_DEST_SYSLOG | BROKER_LOG_DEST_STDOUT);
	broker_config_fini(&c);
}

static void
include_dir_is_for_the_main_file_only(void **state)
{
	(void)state;
	make_dir("inc");
	write_file("inc/a.conf", "\ninclude_dir inc\n");
	refused("include_dir inc\n", "inc/a.conf:2: include_dir is only "
	                             "allowed in the main configuration file");
}

static void
include_dir_that_cannot_be_read_is_an_error(void **state)
{
	struct broker_config c;

	(void)state;
	refused("\ninclude_dir missing\n", "t.conf:2: cannot open include_dir "
	                                   "'missing': No such file or "
	                                   "directory");
	refused("include_dir\n", "t.conf:1: include_dir needs a value");
	/* An empty directory is fine. */
	make_dir("empty");
	loads(&c, "include_dir empty\n");
	assert_int_equal(c.nlisteners, 0);
	broker_config_fini(&c);
	/* A .conf entry that is a directory is reported by name. */
	make_dir("inc");
	make_dir("inc/sub.conf");
	refused("include_dir inc\n", "inc/sub.conf: is a directory");
}

static void
unreadable_main_file_is_an_error(void **state)
{
	struct broker_config c;
	char err[256];

	(void)state;
	broker_config_default(&c);
	assert_int_equal(broker_config_load(&c, "missing.conf", err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "missing.conf: cannot open: No such file or directory");
	broker_config_fini(&c);

	make_dir("dir.conf");
	broker_config_default(&c);
	assert_int_equal(broker_config_load(&c, "dir.conf", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "dir.conf: is a directory");
	broker_config_fini(&c);
}

/* ------------------------------------------------------------------ */
/* Directives that are not supported yet                                */

static void
security_and_data_directives_are_refused(void **state)
{
	static const char *const names[] = { "password_file", "acl_file",
		"psk_file", "psk_hint", "certfile", "keyfile", "cafile",
		"capath", "crlfile", "dhparamfile", "require_certificate",
		"use_identity_as_username", "use_subject_as_username",
		"use_username_as_clientid", "tls_version", "tls_engine",
		"tls_engine_kpass_sha1", "tls_keyform", "ciphers",
		"ciphers_tls1.3", "auth_plugin",
		"auth_plugin_deny_special_chars", "plugin",
		"clientid_prefixes",
		"mount_point", "bind_interface", "socket_domain",
		"memory_limit", "http_dir", "connection", "address",
		"addresses", "topic",
		/* families */
		"plugin_opt_db", "auth_opt_host", "bridge_cafile",
		"bridge_protocol_version" };
	char text[128];

	(void)state;
	refused("# secure\npassword_file /etc/starling/passwd\n",
	    "t.conf:2: password_file is not supported yet");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text), "%s some value\n", names[i]);
		refusedf(text, "t.conf:1: %s is not supported yet", names[i]);
		snprintf(text, sizeof(text), "listener 1884\n%s\n", names[i]);
		refusedf(text, "t.conf:2: %s is not supported yet", names[i]);
	}
}

static void
refused_values_name_the_value(void **state)
{
	(void)state;
	refused("per_listener_settings true\n",
	    "t.conf:1: per_listener_settings true is not supported yet");
	refused("max_qos 0\n", "t.conf:1: max_qos 0 is not supported yet");
	refused("max_qos 1\n", "t.conf:1: max_qos 1 is not supported yet");
	refused("allow_zero_length_clientid false\n",
	    "t.conf:1: allow_zero_length_clientid false is not supported "
	    "yet");
	/* The value is still checked first. */
	refused("persistence yes\n",
	    "t.conf:1: persistence must be true or false, not 'yes'");
	refused("max_qos 3\n",
	    "t.conf:1: max_qos must be a number from 0 to 2, not '3'");
}

static void
values_starling_already_honours_are_accepted_silently(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "persistence false\n"
	          "retained_persistence false\n"
	          "per_listener_settings false\n"
	          "max_qos 2\n"
	          "allow_zero_length_clientid true\n"
	          "check_retain_source true\n"
	          "check_retain_source false\n");
	assert_false(c.persistence);
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
}

static void
persistence_directives(void **state)
{
	struct broker_config c;

	(void)state;
	broker_config_default(&c);
	assert_false(c.persistence);
	assert_int_equal(c.persistence_sync, BROKER_SYNC_ALWAYS);
	assert_int_equal(c.persistence_sync_interval, 100);
	broker_config_fini(&c);
	loads(&c, "persistence true\n"
	          "persistence_location /var/lib/starling/\n"
	          "persistence_sync batch\n"
	          "persistence_sync_interval 250\n");
	assert_true(c.persistence);
	assert_string_equal(c.persistence_location, "/var/lib/starling/");
	assert_int_equal(c.persistence_sync, BROKER_SYNC_BATCH);
	assert_int_equal(c.persistence_sync_interval, 250);
	assert_int_equal(c.nwarnings, 0);
	broker_config_fini(&c);
	loads(&c, "retained_persistence true\npersistence_sync none\n");
	assert_true(c.persistence);
	assert_int_equal(c.persistence_sync, BROKER_SYNC_NONE);
	broker_config_fini(&c);
	refused("persistence_sync sometimes\n",
	    "t.conf:1: persistence_sync must be always, batch or none, not "
	    "'sometimes'");
	refused("persistence_sync_interval 0\n",
	    "t.conf:1: persistence_sync_interval must be a number from 1 to "
	    "60000, not '0'");
}

static void
feature_only_directives_are_accepted_with_a_warning(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "persistence_location /var/lib/star ling/\n"
	          "persistence_file starling.db\n"
	          "autosave_interval 300\n"
	          "autosave_on_changes false\n"
	          "# ignored features\n"
	          "auto_id_prefix auto-\n"
	          "allow_duplicate_messages true\n"
	          "log_facility 5\n"
	          "max_topic_alias 10\n"
	          "websockets_log_level 255\n"
	          "websockets_headers_size 4096\n");
	assert_string_equal(c.persistence_location, "/var/lib/star ling/");
	assert_int_equal(c.nwarnings, 9);
	assert_string_equal(c.warnings[0], "t.conf:2: persistence_file is "
	                                   "ignored: Starling keeps its store "
	                                   "(data.mdb) in "
	                                   "persistence_location");
	assert_string_equal(c.warnings[1], "t.conf:3: autosave_interval is "
	                                   "ignored: Starling commits each "
	                                   "change before acknowledging it");
	assert_string_equal(c.warnings[2], "t.conf:4: autosave_on_changes is "
	                                   "ignored: Starling commits each "
	                                   "change before acknowledging it");
	assert_string_equal(c.warnings[3],
	    "t.conf:6: auto_id_prefix is ignored: not supported yet");
	assert_string_equal(c.warnings[8],
	    "t.conf:11: websockets_headers_size is ignored: not supported "
	    "yet");
	broker_config_fini(&c);

	/* Their values are still checked. */
	refused("autosave_interval soon\n",
	    "t.conf:1: autosave_interval must be a number from 0 to "
	    "2147483647, not 'soon'");
	refused("autosave_on_changes 1\n",
	    "t.conf:1: autosave_on_changes must be true or false, not '1'");
	refused("persistence_location /a\npersistence_location /b\n",
	    "t.conf:2: duplicate persistence_location");
	refused("persistence_file\n",
	    "t.conf:1: persistence_file needs a value");
	refused("auto_id_prefix\n", "t.conf:1: auto_id_prefix needs a value");
}

/* ------------------------------------------------------------------ */
/* Syntax                                                               */

static void
unknown_directives_are_refused(void **state)
{
	(void)state;
	refused("bogus 1\n", "t.conf:1: unknown directive 'bogus'");
	refused("\n\nlistener 1884\nfrobnicate\n",
	    "t.conf:4: unknown directive 'frobnicate'");
	/* Names are case sensitive, as in Mosquitto. */
	refused("Port 1883\n", "t.conf:1: unknown directive 'Port'");
	/* A refused family needs its full prefix. */
	refused("plugin_optx 1\n",
	    "t.conf:1: unknown directive 'plugin_optx'");
}

static void
comments_blank_lines_and_blanks_are_ignored(void **state)
{
	struct broker_config c;

	(void)state;
	loads(&c, "# a comment\n"
	          "\n"
	          "   \t \n"
	          "    # an indented comment\n"
	          "#port 1\n"
	          "  port\t 1999  \r\n"
	          "\tmax_inflight_messages    7\t\r\n"
	          "user  nobody");          /* no final newline */
	assert_int_equal(c.default_listener.port, 1999);
	assert_int_equal(c.default_listener.line, 6);
	assert_int_equal(c.max_inflight_messages, 7);
	assert_string_equal(c.user, "nobody");
	broker_config_fini(&c);

	/* Lines are counted across comments and blank lines. */
	refused("# one\n\n# three\n\nbogus\n",
	    "t.conf:5: unknown directive 'bogus'");
}

static void
trailing_arguments_are_refused(void **state)
{
	(void)state;
	refused("port 1883 1884\n",
	    "t.conf:1: unexpected argument '1884' after port");
	/* There are no end-of-line comments. */
	refused("port 1883 # default\n",
	    "t.conf:1: unexpected argument '#' after port");
	refused("allow_anonymous true false\n",
	    "t.conf:1: unexpected argument 'false' after allow_anonymous");
	refused("protocol mqtt websockets\n",
	    "t.conf:1: unexpected argument 'websockets' after protocol");
	refused("workers 4 8\n", "t.conf:1: unexpected argument '8' after "
	                         "workers");
}

static void
long_lines_are_read_whole(void **state)
{
	struct broker_config c;
	size_t n = 10000;
	char *text = malloc(n + 32);
	char *want = malloc(n + 1);

	(void)state;
	assert_non_null(text);
	assert_non_null(want);
	memset(want, 'x', n);
	want[0] = '/';
	want[n] = '\0';
	snprintf(text, n + 32, "pid_file %s\nport 1999\n", want);
	loads(&c, text);
	assert_string_equal(c.pid_file, want);
	assert_int_equal(c.default_listener.port, 1999);
	broker_config_fini(&c);
	free(text);
	free(want);
}

static void
small_error_buffers_are_truncated_safely(void **state)
{
	struct broker_config c;
	char err[12];

	(void)state;
	memset(err, 'z', sizeof(err));
	assert_int_equal(load(&c, "bogus\n", err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1: u");
	broker_config_fini(&c);
	memset(err, 'z', sizeof(err));
	assert_int_equal(load(&c, "bogus\n", err, 5), -1);
	assert_string_equal(err, "t.co");
	broker_config_fini(&c);
	assert_int_equal(load(&c, "bogus\n", NULL, 0), -1);
	broker_config_fini(&c);
	broker_config_default(&c);
	assert_int_equal(broker_config_add_port(&c, 0, NULL, 0), -1);
	broker_config_fini(&c);
}

/* ------------------------------------------------------------------ */
/* fini                                                                 */

static void
fini_frees_everything_and_zeroes(void **state)
{
	struct broker_config c;
	char err[128];

	(void)state;
	make_dir("inc");
	write_file("inc/a.conf", "persistence_location /var/lib/s\n");
	loads(&c, "bind_address 127.0.0.1\n"
	          "listener 1884 ::1\n"
	          "listener 1885\n"
	          "log_dest file /tmp/x.log\n"
	          "log_timestamp_format %F %T\n"
	          "pid_file /run/s.pid\n"
	          "user s\n"
	          "autosave_interval 1\n"
	          "include_dir inc\n");
	assert_int_equal(broker_config_add_port(&c, 1886, err, sizeof(err)),
	    0);
	finish_ok(&c);
	assert_int_equal(c.nlisteners, 4);
	assert_int_equal(c.nwarnings, 1);
	broker_config_fini(&c);
	assert_null(c.listeners);
	assert_int_equal(c.nlisteners, 0);
	assert_null(c.default_listener.bind_address);
	assert_null(c.default_listener.file);
	assert_null(c.log_file);
	assert_null(c.log_timestamp_format);
	assert_null(c.pid_file);
	assert_null(c.user);
	assert_null(c.persistence_location);
	assert_null(c.warnings);
	assert_int_equal(c.nwarnings, 0);
	/* A zeroed config, and a second fini, are fine. */
	broker_config_fini(&c);
}

static void
fini_frees_a_partly_loaded_config(void **state)
{
	struct broker_config c;
	char err[128];

	(void)state;
	assert_int_equal(load(&c, "listener 1884 ::1\npid_file /p\n"
	                          "log_dest file /l\n"
	                          "persistence_file x\nbogus\n",
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "t.conf:5: unknown directive 'bogus'");
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.nwarnings, 1);
	broker_config_fini(&c);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, enter_tmpdir, leave_tmpdir)
	const struct CMUnitTest tests[] = {
		T(defaults_are_mosquittos),
		T(finish_without_listeners_adds_default_on_1883),
		T(loading_a_file_disallows_anonymous_unless_it_allows_it),
		T(booleans_take_true_and_false),
		T(booleans_refuse_other_spellings),
		T(numbers_take_their_whole_range),
		T(numbers_outside_their_range_are_refused),
		T(numbers_must_be_plain_decimal),
		T(max_packet_size_is_zero_or_at_least_20),
		T(workers_zero_means_one_per_core),
		T(expiration_units_are_mosquittos),
		T(expiration_needs_a_positive_count_and_a_unit),
		T(first_log_dest_replaces_the_default),
		T(log_dest_accumulates),
		T(log_dest_none_clears_everything_before_it),
		T(log_dest_errors),
		T(first_log_type_replaces_the_default_and_later_ones_add),
		T(log_type_errors),
		T(log_strings_keep_the_rest_of_the_line),
		T(pid_file_and_user),
		T(listener_scoped_directives_apply_to_their_block),
		T(listener_blocks_replace_the_default_listener),
		T(port_alone_moves_the_default_listener),
		T(bind_address_binds_the_default_listener),
		T(bind_address_inside_a_listener_block_is_refused),
		T(default_listener_settings_unused_by_blocks_are_warned),
		T(listener_and_port_errors),
		T(add_port_listens_on_every_address),
		T(add_port_refuses_ports_out_of_range),
		T(finish_refuses_duplicate_listeners),
		T(finish_accepts_one_port_on_different_addresses),
		T(include_dir_reads_conf_files_in_mosquittos_order),
		T(include_dir_errors_name_the_included_file_and_line),
		T(include_dir_files_continue_the_listener_block),
		T(include_dir_is_for_the_main_file_only),
		T(include_dir_that_cannot_be_read_is_an_error),
		T(unreadable_main_file_is_an_error),
		T(security_and_data_directives_are_refused),
		T(refused_values_name_the_value),
		T(values_starling_already_honours_are_accepted_silently),
		T(persistence_directives),
		T(feature_only_directives_are_accepted_with_a_warning),
		T(unknown_directives_are_refused),
		T(comments_blank_lines_and_blanks_are_ignored),
		T(trailing_arguments_are_refused),
		T(long_lines_are_read_whole),
		T(small_error_buffers_are_truncated_safely),
		T(fini_frees_everything_and_zeroes),
		T(fini_frees_a_partly_loaded_config),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
