/*
 * storage_test.h - hooks for tests only.  They are compiled into every
 * build (no #ifdef in product code, see shared/STYLE.md) but nothing
 * outside tests/ may call them.
 */
#ifndef STORAGE_STORAGE_TEST_H
#define STORAGE_STORAGE_TEST_H

struct storage;

/* Makes the next n group commits of the writer fail as a failing disk
 * would: the transaction is aborted and every batch of the group gets
 * -EIO.  Replaces any count set before.  Any thread. */
void storage_test_fail_next_commits(struct storage *st, int n);

#endif /* STORAGE_STORAGE_TEST_H */
