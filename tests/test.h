/* tests/test.h — the unit-test harness.
 * A test is `TEST(name) { ... }` at the start of a line in tests/unit/ files; the Makefile
 * collects those lines into the runner's registry.  CHECK fails the test and carries on;
 * REQUIRE fails it and returns.  Every test prints one "ok NAME" or "FAIL NAME: why" line. */
#ifndef TEST_H
#define TEST_H
#include <stdio.h>
#include <string.h>
#include <math.h>

extern int test_failed_;
void test_fail_(const char *file, int line, const char *fmt, ...);
/* A fresh empty directory for this test (removed at exit); path valid until the next call. */
const char *test_tmpdir(void);
/* Path of a file in the shared fixtures folder (../shared/fixtures), or NULL when absent. */
const char *test_fixture(const char *name);
/* Reads a whole file; caller frees. NULL when unreadable. */
char *test_slurp(const char *path, size_t *len);
/* Writes len bytes to a file `name` in a fresh test_tmpdir(); its path, caller frees. */
char *test_write_tmp(const char *name, const void *data, size_t len);

#define TEST(name) void test_##name(void); void test_##name(void)
#define CHECK(c) do { if (!(c)) test_fail_(__FILE__, __LINE__, "%s", #c); } while (0)
#define CHECKF(c, ...) do { if (!(c)) test_fail_(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define REQUIRE(c) do { if (!(c)) { test_fail_(__FILE__, __LINE__, "%s", #c); return; } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_)) test_fail_(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) test_fail_(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_); } while (0)
#define CHECK_NEAR(a, b, eps) do { double a_ = (a), b_ = (b); \
    if (!(fabs(a_ - b_) <= (eps))) test_fail_(__FILE__, __LINE__, "%s == %.12g, expected %.12g", #a, a_, b_); } while (0)
#endif
