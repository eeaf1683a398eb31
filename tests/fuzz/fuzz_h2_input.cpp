// The HTTP/2 input path: the connection preface, then client frames from the input, into the
// server codec (nghttp2 behind H2Codec), the way H2Connection drives it: feed, take events,
// answer each request (with a small body from memory), produce and consume output. Checks: no
// event for a stream twice, output accounting stays consistent, nothing grows without bound.
#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/http/h2_codec.hpp"

using namespace xs3;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class Body final : public http::H2BodySource {
  public:
    http::H2BodyChunk body_available(int32_t, uint64_t offset, size_t max) noexcept override {
        if (offset >= 3000) return http::H2BodyChunk::eof();
        const size_t n = std::min<size_t>(max, 3000 - offset);
        return http::H2BodyChunk::ready(n, offset + n >= 3000);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    http::H2Options o;
    o.max_concurrent_streams = 8;
    o.max_header_list_size = 4096;
    http::H2Codec codec(o);
    Body body;
    std::set<int32_t> answered;
    // A client's preface, unless the input starts with its own (so broken prefaces are fuzzed
    // too, from inputs that begin with 'P').
    std::string in;
    if (size == 0 || data[0] != 'P') in = std::string(kPreface);
    in.append(reinterpret_cast<const char*>(data), size);

    size_t off = 0;
    // Feed in pieces of up to 4 KiB, as a recv would deliver.
    while (off < in.size() && !codec.failed()) {
        const size_t len = std::min<size_t>(4096, in.size() - off);
        (void)codec.feed(in.data() + off, len);
        off += len;
        http::H2Event ev;
        while (codec.next_event(ev)) {
            if (ev.kind == http::H2Event::Kind::request) {
                XS3_FUZZ_CHECK(answered.insert(ev.stream_id).second);
                XS3_FUZZ_CHECK(ev.stream_id > 0);
                http::ResponseHead head;
                head.status = ev.request.method == http::Method::head ? 200 : 206;
                head.headers.add("content-type", "application/octet-stream");
                (void)codec.submit_response(ev.stream_id, head, &body, 3000);
            }
        }
        // Write everything out, 16 KiB at a time, as the socket would take it.
        for (int round = 0; round < 64; ++round) {
            const size_t queued = codec.produce(16 * 1024);
            if (queued == 0) break;
            XS3_FUZZ_CHECK(codec.output().queued() == queued);
            codec.consume(queued);
        }
        while (codec.next_event(ev)) {
        }
        if (codec.wants_close()) break;
    }
    return 0;
}
