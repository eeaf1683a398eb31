// Helpers shared by the libFuzzer targets: invariant checks that abort (so libFuzzer records a
// crash and keeps the input), and splitting one input into text fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace xs3::fuzz {

// An invariant of the code under test; a violation is a finding like a sanitizer report.
#define XS3_FUZZ_CHECK(cond)                                                              \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "fuzz invariant failed: %s at %s:%d\n", #cond, __FILE__, \
                         __LINE__);                                                       \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits on `sep` into at most max_fields fields (the last one keeps any further separators).
inline std::vector<std::string_view> split_fields(std::string_view text, char sep,
                                                  size_t max_fields) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < max_fields) {
        size_t at = text.find(sep);
        if (at == std::string_view::npos) break;
        out.push_back(text.substr(0, at));
        text.remove_prefix(at + 1);
    }
    out.push_back(text);
    return out;
}

}  // namespace xs3::fuzz
