/*
 * log.c - the broker's log: Mosquitto's log_dest and log_type, one line
 * per event.  Any thread may log; each line is written with one
 * write()/fputs under a mutex so lines never interleave.  The destination
 * set is fixed at broker_log_open() (a reload re-opens).
 */
#include "broker/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t log_dest = BROKER_LOG_DEST_STDERR;
static uint32_t log_types = BROKER_LOG_ERR | BROKER_LOG_WARNING |
    BROKER_LOG_NOTICE | BROKER_LOG_INFO;
static bool log_ts = true;
static char *log_ts_fmt;
static FILE *log_fp;

int
broker_log_open(const struct broker_config *cfg)
{
	pthread_mutex_lock(&log_mu);
	log_dest = cfg->log_dest;
	log_types = cfg->log_type;
	if (cfg->verbose) {
		log_types |= BROKER_LOG_DEBUG | BROKER_LOG_SUBSCRIBE |
		    BROKER_LOG_UNSUBSCRIBE;
	}
	log_ts = cfg->log_timestamp;
	free(log_ts_fmt);
	log_ts_fmt = cfg->log_timestamp_format
	    ? strdup(cfg->log_timestamp_format)
	    : NULL;
	if (log_fp != NULL) {
		fclose(log_fp);
		log_fp = NULL;
	}
	if ((log_dest & BROKER_LOG_DEST_FILE) && cfg->log_file != NULL) {
		log_fp = fopen(cfg->log_file, "a");
		if (log_fp == NULL) {
			pthread_mutex_unlock(&log_mu);
			fprintf(stderr, "starling: cannot open log file %s\n",
			    cfg->log_file);
			return -1;
		}
		setvbuf(log_fp, NULL, _IOLBF, 0);
	}
	if (log_dest & BROKER_LOG_DEST_SYSLOG) {
		openlog("starling", LOG_PID, LOG_DAEMON);
	}
	pthread_mutex_unlock(&log_mu);
	return 0;
}

void
broker_log_close(void)
{
	pthread_mutex_lock(&log_mu);
	if (log_fp != NULL) {
		fclose(log_fp);
		log_fp = NULL;
	}
	free(log_ts_fmt);
	log_ts_fmt = NULL;
	pthread_mutex_unlock(&log_mu);
}

static int
syslog_prio(uint32_t type)
{
	switch (type) {
	case BROKER_LOG_ERR:
		return LOG_ERR;
	case BROKER_LOG_WARNING:
		return LOG_WARNING;
	case BROKER_LOG_NOTICE:
		return LOG_NOTICE;
	case BROKER_LOG_DEBUG:
		return LOG_DEBUG;
	}
	return LOG_INFO;
}

void
broker_log(uint32_t type, const char *fmt, ...)
{
	char line[1024], ts[64] = "";
	va_list ap;
	int n;

	if ((log_types & type) == 0 || log_dest == 0) {
		return;
	}
	if (log_ts) {
		time_t now = time(NULL);
		if (log_ts_fmt != NULL) {
			struct tm tm;
			localtime_r(&now, &tm);
			strftime(ts, sizeof(ts) - 2, log_ts_fmt, &tm);
			strcat(ts, ": ");
		} else {
			snprintf(ts, sizeof(ts), "%lld: ", (long long)now);
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	pthread_mutex_lock(&log_mu);
	if (log_dest & BROKER_LOG_DEST_STDERR) {
		fprintf(stderr, "%s%s\n", ts, line);
	}
	if (log_dest & BROKER_LOG_DEST_STDOUT) {
		fprintf(stdout, "%s%s\n", ts, line);
		fflush(stdout);
	}
	if (log_fp != NULL) {
		fprintf(log_fp, "%s%s\n", ts, line);
	}
	if (log_dest & BROKER_LOG_DEST_SYSLOG) {
		syslog(syslog_prio(type), "%s", line);
	}
	pthread_mutex_unlock(&log_mu);
}

void
broker__assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "starling: assertion failed: %s (%s:%d)\n", what, file,
	    line);
	abort();
}
