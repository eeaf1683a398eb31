// The S3 request classifier (s3::classify_request) on a client's method, raw path, raw query and
// Host, with the key-confinement check and the virtual-host suffix list the configuration gives.
// Input: a selector byte (method and addressing mode), then fields separated by '\n': raw path,
// raw query, Host, the virtual-host suffix list. Checks: a refusal and only a refusal carries a
// status and an S3 error code; what goes to the cache is GetObject/HeadObject of a valid bucket
// with a key of at most 1024 bytes; relayed queries never carry presign parameters; suffixes are
// lowercase host names.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/s3/confinement.hpp"
#include "xs3/s3/operation.hpp"
#include "xs3/s3/url.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t sel = data[0];
    auto f = fuzz::split_fields(fuzz::as_text(data + 1, size - 1), '\n', 5);
    f.resize(5);
    static constexpr std::string_view kMethods[] = {"GET", "HEAD", "PUT", "DELETE"};
    // Selector bit 2: the method is the fifth field as sent (fuzzed bytes) instead of a known one.
    const std::string_view method = (sel & 4) ? f[4] : kMethods[sel & 3];

    const auto suffixes = s3::parse_virtual_host_suffixes(f[3]);
    if (suffixes.error.empty()) {
        for (const auto& s : suffixes.suffixes) {
            XS3_FUZZ_CHECK(!s.empty());
            for (char c : s)
                XS3_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        }
    }
    s3::AddressingRules rules;
    if (sel & 8) rules.single_bucket = "bench";
    if (suffixes.error.empty()) rules.virtual_host_suffixes = suffixes.suffixes;

    const s3::S3Operation op = s3::classify_request(method, f[0], f[1], f[2], rules);
    const s3::Route route = s3::route_of(op.op);
    XS3_FUZZ_CHECK(!s3::operation_name(op.op).empty());
    if (route == s3::Route::refuse) {
        XS3_FUZZ_CHECK(op.status >= 400 && op.status <= 599);
        XS3_FUZZ_CHECK(!op.error_code.empty());
    } else {
        XS3_FUZZ_CHECK(op.status == 0 && op.error_code.empty());
        XS3_FUZZ_CHECK(method == "GET" || method == "HEAD");
        if (op.addressing != s3::Addressing::service)
            XS3_FUZZ_CHECK(s3::is_valid_bucket_name(op.bucket));
        XS3_FUZZ_CHECK(op.key.size() <= 1024);
    }
    if (route == s3::Route::cache) {
        XS3_FUZZ_CHECK(op.op == s3::Operation::get_object || op.op == s3::Operation::head_object);
        XS3_FUZZ_CHECK(op.addressing != s3::Addressing::service);
        (void)s3::check_key_confined(op.key);
    }
    for (const auto& [n, v] : op.relay_query)
        for (std::string_view presign :
             {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
              "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "x-id"})
            XS3_FUZZ_CHECK(n != presign);
    (void)s3::has_dot_segment(f[0]);
    return 0;
}
