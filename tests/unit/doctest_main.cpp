// Shared doctest main for the unit test executables: exits 77 (SKIP) when a test skipped
// (skip.hpp) and none failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "skip.hpp"

namespace {
int g_skipped = 0;
}

void xs3::test::note_skip(const char* why) {
    ++g_skipped;
    std::fprintf(stderr, "SKIPPED: %s\n", why);
}

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    int rc = context.run();
    if (context.shouldExit()) return rc;
    if (rc == 0 && g_skipped > 0) return 77;
    return rc;
}
