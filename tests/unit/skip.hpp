// A test whose subject this kernel lacks (an optional io_uring feature the product can do
// without) is reported as skipped instead of passing untested: the run exits 77, meson's SKIP,
// when a test skipped and none failed. Features the product requires are not skipped: their
// tests fail (a ring that cannot be created fails every ring test).
#pragma once

namespace xs3::test {
void note_skip(const char* why);
}

#define XS3_SKIP_UNLESS(cond, why)       \
    do {                                 \
        if (!(cond)) {                   \
            ::xs3::test::note_skip(why); \
            return;                      \
        }                                \
    } while (0)
