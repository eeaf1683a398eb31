// Request fields the proxy interprets: Range (against several object sizes), the conditional
// fields (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range), HTTP dates
// and entity tags. Input: fields separated by '\n' — Range, If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since, If-Range, the object's ETag, its Last-Modified.
// Checks: a single range lies inside the object; a date that parses formats and parses back to
// the same instant; tags point into their input.
#include <cstdint>
#include <limits>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/http/conditional.hpp"
#include "xs3/http/date.hpp"
#include "xs3/http/etag.hpp"
#include "xs3/http/headers.hpp"
#include "xs3/http/range.hpp"
#include "xs3/s3/object_extent.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = fuzz::split_fields(fuzz::as_text(data, size), '\n', 8);
    f.resize(8);

    static constexpr uint64_t kSizes[] = {
        0, 1, 2, 1000, uint64_t{1} << 40, std::numeric_limits<uint64_t>::max()};
    for (uint64_t object_size : kSizes) {
        auto r = http::parse_range(f[0], object_size);
        if (r.kind == http::RangeKind::single) {
            XS3_FUZZ_CHECK(object_size > 0);
            XS3_FUZZ_CHECK(r.first <= r.last);
            XS3_FUZZ_CHECK(r.last < object_size);
            // The Content-Range the proxy answers with reads back as the same range.
            auto cr =
                s3::parse_content_range(http::content_range_value(r.first, r.last, object_size));
            XS3_FUZZ_CHECK(cr.ok() && cr->satisfied && cr->first == r.first && cr->last == r.last &&
                           cr->total == object_size);
        }
        if (r.kind == http::RangeKind::unsatisfiable) {
            auto cr = s3::parse_content_range(http::unsatisfied_content_range(object_size));
            XS3_FUZZ_CHECK(cr.ok() && !cr->satisfied && cr->total == object_size);
        }
    }

    for (size_t i = 0; i < f.size(); ++i) {
        if (auto t = http::parse_http_date(f[i])) {
            const std::string again = http::format_http_date(*t);
            auto back = http::parse_http_date(again);
            XS3_FUZZ_CHECK(back.has_value());
            // format clamps to years 1900..9999; inside that span the instant survives.
            if (*t >= -2208988800LL && *t <= 253402300799LL) XS3_FUZZ_CHECK(*back == *t);
        }
        if (auto tag = http::parse_entity_tag(f[i])) {
            const char* b = f[i].data();
            XS3_FUZZ_CHECK(tag->opaque.empty() ||
                           (tag->opaque.data() >= b &&
                            tag->opaque.data() + tag->opaque.size() <= b + f[i].size()));
            XS3_FUZZ_CHECK(weak_match(*tag, *tag));
            XS3_FUZZ_CHECK(strong_match(*tag, *tag) == !tag->weak);
        }
        http::EntityTagList list;
        http::parse_entity_tag_list(f[i], list);
    }

    static constexpr const char* kNames[] = {"If-Match", "If-None-Match", "If-Modified-Since",
                                             "If-Unmodified-Since", "If-Range"};
    http::Headers headers;
    headers.add("Range", std::string(f[0]));
    for (size_t i = 0; i < 5; ++i)
        if (!f[i + 1].empty()) headers.add(kNames[i], std::string(f[i + 1]));
    http::Validators v{f[6], http::parse_http_date(f[7])};
    for (auto m : {http::Method::get, http::Method::head, http::Method::other}) {
        auto c = http::evaluate_conditionals(m, headers, v);
        // Ranges are for GET and HEAD only.
        if (m == http::Method::other) XS3_FUZZ_CHECK(!c.range_applies);
    }
    return 0;
}
