/*
 * topic.c - topic names, topic filters and shared subscriptions
 * (MQTT 5.0 4.7 and 4.8.2, 3.1.1 4.7): validation and matching of one
 * filter against one topic.  The broker's subscription trie does the
 * many-filter matching; this file is the reference it must agree with.
 * Pure functions over borrowed bytes.
 */
#include "proto/proto.h"

#include <string.h>

#define SHARE_PREFIX "$share/"
#define SHARE_PREFIX_LEN 7

int
proto_topic_check(const uint8_t *topic, size_t len)
{
	if (len == 0 || len > PROTO_MAX_STR) {
		return PROTO_ETOPIC;
	}
	if (memchr(topic, '+', len) != NULL || memchr(topic, '#', len) != NULL) {
		return PROTO_ETOPIC;
	}
	return proto_utf8_check(topic, len, NULL);
}

/* Filter syntax without the share prefix: '+' must fill a level, '#' must
 * fill the last level. */
static int
filter_syntax(const uint8_t *f, size_t len)
{
	if (len == 0 || len > PROTO_MAX_STR) {
		return PROTO_EFILTER;
	}
	for (size_t i = 0; i < len; i++) {
		bool starts_level = i == 0 || f[i - 1] == '/';
		bool ends_level = i + 1 == len || f[i + 1] == '/';

		if (f[i] == '+' && !(starts_level && ends_level)) {
			return PROTO_EFILTER;
		}
		if (f[i] == '#' && !(starts_level && i + 1 == len)) {
			return PROTO_EFILTER;
		}
	}
	return 0;
}

int
proto_filter_check(const uint8_t *filter, size_t len)
{
	int rc = filter_syntax(filter, len);

	if (rc != 0) {
		return rc;
	}
	return proto_utf8_check(filter, len, NULL);
}

int
proto_share_parse(const uint8_t *filter, size_t len, struct proto_str *name,
    struct proto_str *sub)
{
	const uint8_t *n, *slash;
	size_t nlen;

	if (len < SHARE_PREFIX_LEN ||
	    memcmp(filter, SHARE_PREFIX, SHARE_PREFIX_LEN) != 0) {
		return 0;
	}
	n = filter + SHARE_PREFIX_LEN;
	slash = memchr(n, '/', len - SHARE_PREFIX_LEN);
	if (slash == NULL) {
		return PROTO_EFILTER;
	}
	nlen = (size_t)(slash - n);
	if (nlen == 0 || memchr(n, '+', nlen) != NULL ||
	    memchr(n, '#', nlen) != NULL) {
		return PROTO_EFILTER;
	}
	size_t rest = len - SHARE_PREFIX_LEN - nlen - 1;
	if (filter_syntax(slash + 1, rest) != 0) {
		return PROTO_EFILTER;
	}
	name->ptr = n;
	name->len = (uint32_t)nlen;
	sub->ptr = slash + 1;
	sub->len = (uint32_t)rest;
	return 1;
}

bool
proto_topic_match(const uint8_t *filter, size_t flen, const uint8_t *topic,
    size_t tlen)
{
	size_t fi = 0, ti = 0;

	/* A leading wildcard never matches the reserved '$' topics. */
	if (tlen > 0 && topic[0] == '$' && flen > 0 &&
	    (filter[0] == '+' || filter[0] == '#')) {
		return false;
	}
	for (;;) {
		/* At the start of a level in both. */
		if (fi < flen && filter[fi] == '#') {
			return true; /* matches this level and all below */
		}
		if (fi < flen && filter[fi] == '+') {
			fi++;
			while (ti < tlen && topic[ti] != '/') {
				ti++;
			}
		} else {
			while (fi < flen && ti < tlen && filter[fi] != '/' &&
			    filter[fi] == topic[ti]) {
				fi++;
				ti++;
			}
			/* The level must end in both at the same place. */
			if ((fi < flen && filter[fi] != '/') ||
			    (ti < tlen && topic[ti] != '/')) {
				return false;
			}
		}
		/* Both at a '/' or an end. */
		if (fi == flen && ti == tlen) {
			return true;
		}
		if (ti == tlen) {
			/* "a/#" matches "a": the filter has "/#" left. */
			return fi + 2 == flen && filter[fi] == '/' &&
			    filter[fi + 1] == '#';
		}
		if (fi == flen) {
			return false;
		}
		fi++; /* skip '/' in both */
		ti++;
	}
}
