// The AWS shared config and credentials files (~/.aws/config, ~/.aws/credentials), as the SDKs
// read them; the first byte picks which kind. Checks: profile names and keys are never empty,
// keys are lowercase, and merging a set with itself changes nothing.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/s3/profile_file.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    auto kind = (data[0] & 1) ? s3::ProfileFileKind::credentials : s3::ProfileFileKind::config;
    auto set = s3::parse_profile_file(fuzz::as_text(data + 1, size - 1), kind, "fuzz");
    if (!set.ok()) return 0;
    for (const auto& [name, props] : *set) {
        XS3_FUZZ_CHECK(!name.empty());
        for (const auto& [k, v] : props) {
            XS3_FUZZ_CHECK(!k.empty());
            for (char c : k)
                XS3_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        }
    }
    XS3_FUZZ_CHECK(s3::merge_profile_files(*set, *set) == *set);
    return 0;
}
