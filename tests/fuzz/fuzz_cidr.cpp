// --allow-clients lists (net::CidrSet::parse). Checks: a parsed set describes itself in a form
// that parses back to the same blocks, and every block contains its own address.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/net/cidr.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto set = net::CidrSet::parse(fuzz::as_text(data, size));
    if (!set.ok()) return 0;
    XS3_FUZZ_CHECK(!set->empty());
    auto again = net::CidrSet::parse(set->describe());
    XS3_FUZZ_CHECK(again.ok());
    XS3_FUZZ_CHECK(again->blocks().size() == set->blocks().size());
    for (size_t i = 0; i < set->blocks().size(); ++i) {
        const auto& a = set->blocks()[i];
        const auto& b = again->blocks()[i];
        XS3_FUZZ_CHECK(a.address == b.address && a.prefix == b.prefix && a.v4 == b.v4);
        XS3_FUZZ_CHECK(a.contains(a.address));
        XS3_FUZZ_CHECK(set->contains(a.address));
    }
    (void)net::is_loopback_literal(fuzz::as_text(data, size));
    return 0;
}
