/*
 * packets.h - a catalogue of sample MQTT packets for the proto/ unit tests,
 * and a field-by-field comparison of packets.
 *
 * The samples are static, immutable and shared by every test that links
 * packets.c; all their strings, payloads, entry and property arrays are
 * static too.  Each version's list starts with a CONNECT of that version, so
 * a stream made of the whole list in order is a plausible session.  Nothing
 * here allocates; everything is single-threaded test code.
 */
#ifndef TESTS_UNIT_PROTO_PACKETS_H
#define TESTS_UNIT_PROTO_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Returns the samples for protocol level version (3, 4 or 5) and stores
 * their number in *count; returns NULL and stores 0 for any other level.
 * Together the samples of one version cover every packet type that version
 * has.  The array is static and borrowed. */
const struct proto_packet *test_pkt_samples(uint8_t version, size_t *count);

/* Returns a short static description of sample i of version, for messages
 * ("?" if there is no such sample). */
const char *test_pkt_sample_name(uint8_t version, size_t i);

/* Returns the flags nibble that pkt must carry on the wire: DUP, QoS and
 * RETAIN for PUBLISH, 0x2 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, else 0. */
uint8_t test_pkt_wire_flags(const struct proto_packet *pkt);

/*
 * Compares want with got field by field and returns true if they describe
 * the same packet.  want is either a sample (entries, filters, user and
 * sub_ids arrays, plus pre-encoded properties in `extra`) or a decoded
 * packet (lists and property blocks walked with the iterators); got must be
 * a decoded packet.  Only meaningful fields are compared: the will only when
 * will_flag is set, username and password only when their flags are, the
 * packet identifier of a PUBLISH only when QoS > 0, properties only in MQTT
 * 5 and each single-valued property only when its present bit is set.  The
 * decoded flags nibble is checked against the wire flags of want; `size` is
 * not compared.  On a mismatch it prints which field differs (cmocka's
 * print_error) and returns false.  Both packets are borrowed.
 */
bool test_pkt_equal(const struct proto_packet *want,
    const struct proto_packet *got);

#endif /* TESTS_UNIT_PROTO_PACKETS_H */
