// The metadata header at the start of every cache file (cache::decode_header): a file on disk
// can be truncated or corrupted by anything. Checks: a decoded header's data offset is aligned
// and within bounds, and re-encoding what was decoded decodes to the same metadata.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/cache/header.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto h = cache::decode_header(fuzz::as_text(data, size));
    if (!h.ok()) return 0;
    XS3_FUZZ_CHECK(h->data_offset % cache::kHeaderAlignment == 0);
    XS3_FUZZ_CHECK(h->data_offset <= cache::kMaxHeaderLength);
    if (h->incomplete) {
        XS3_FUZZ_CHECK(h->data_offset > size);
        return 0;
    }
    // Complete once the metadata is there; data_offset (the header length) may lie past the
    // bytes given, since the padding need not be read.
    XS3_FUZZ_CHECK(h->data_offset >= cache::kHeaderAlignment);
    const std::string again = cache::encode_header(h->meta);
    auto back = cache::decode_header(again);
    XS3_FUZZ_CHECK(back.ok() && !back->incomplete);
    XS3_FUZZ_CHECK(back->meta == h->meta);
    return 0;
}
