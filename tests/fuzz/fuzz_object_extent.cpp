// What S3's answers say about an object: Content-Range and Content-Length of 200/206/416
// responses, and the <ActualObjectSize> of a 416 body (s3::parse_content_range,
// s3::object_extent). Input: status selector byte, then Content-Range '\n' Content-Length '\n'
// the 416 body. Checks: an extent's body never reaches past the object.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/s3/object_extent.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    static constexpr long kStatuses[] = {200, 206, 416, 304};
    const long status = kStatuses[data[0] % 4];
    auto f = fuzz::split_fields(fuzz::as_text(data + 1, size - 1), '\n', 3);
    f.resize(3);

    if (auto cr = s3::parse_content_range(f[0]); cr.ok() && cr->satisfied) {
        XS3_FUZZ_CHECK(cr->first <= cr->last);
        XS3_FUZZ_CHECK(cr->last < cr->total);
    }
    s3::HttpResponseHead head;
    head.status = status;
    if (!f[0].empty()) head.headers.emplace_back("content-range", std::string(f[0]));
    if (!f[1].empty()) head.headers.emplace_back("content-length", std::string(f[1]));
    auto e = s3::object_extent(head, f[2]);
    if (e.ok()) {
        XS3_FUZZ_CHECK(e->first <= e->size);
        XS3_FUZZ_CHECK(e->length <= e->size - e->first);
        if (e->unsatisfiable) XS3_FUZZ_CHECK(e->length == 0);
    }
    return 0;
}
