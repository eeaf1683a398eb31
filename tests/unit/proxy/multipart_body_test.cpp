// Tests of MultipartBody: the exact bytes of a multipart/byteranges answer whatever the size of
// each pull, part bodies made only when their part is reached (with the right ranges), waits
// passed to the part that asked for them, and a part that fails or ends short failing the whole.
#include "xs3/proxy/multipart_body.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

using namespace xs3;
using namespace xs3::proxy;

namespace {

const std::string kObject = "0123456789abcdefghijklmnopqrstuvwxyz";

// Bytes [first, end) of kObject, `step` at a time, saying wait once before its first bytes if
// asked to.
class PartBody final : public Body {
  public:
    PartBody(uint64_t first, uint64_t end, bool wait_first, std::vector<int>* woken)
        : pos_(first), end_(end), waiting_(wait_first), woken_(woken) {}
    BodyChunk next(uint64_t max) noexcept override {
        if (waiting_) return BodyChunk::wait();
        if (pos_ >= end_) return BodyChunk::end();
        BodyChunk c(BodyChunk::Kind::data);
        uint64_t n = std::min<uint64_t>({max, end_ - pos_, 3});
        c.data = kObject.substr(pos_, n);
        pos_ += n;
        return c;
    }
    void wait(std::function<void()> wake) noexcept override {
        waiting_ = false;  // the bytes "arrive"
        woken_->push_back(static_cast<int>(pos_));
        wake();
    }
    uint64_t remaining() const noexcept override { return end_ - pos_; }

  private:
    uint64_t pos_, end_;
    bool waiting_;
    std::vector<int>* woken_;
};

// Pulls everything `max` bytes at a time; waits are answered at once.
std::string drain(Body& b, uint64_t max, bool& failed) {
    std::string out;
    failed = false;
    for (int guard = 0; guard < 10000; ++guard) {
        uint64_t before = b.remaining();
        BodyChunk c = b.next(max);
        switch (c.kind) {
            case BodyChunk::Kind::data:
                CHECK(c.data.size() <= max);
                CHECK(b.remaining() == before - c.data.size());
                out += c.data;
                break;
            case BodyChunk::Kind::wait: {
                bool woke = false;
                b.wait([&woke] { woke = true; });
                CHECK(woke);
                break;
            }
            case BodyChunk::Kind::end:
                CHECK(b.remaining() == 0);
                return out;
            case BodyChunk::Kind::error:
                failed = true;
                return out;
            case BodyChunk::Kind::file:
                FAIL("no file chunks here");
                return out;
        }
    }
    FAIL("the body never ended");
    return out;
}

}  // namespace

TEST_CASE("MultipartBody: exact bytes for every pull size; parts made in order, when reached") {
    std::vector<http::ByteRange> ranges{{20, 24}, {0, 3}, {35, 35}};
    for (uint64_t max : {1, 2, 7, 64, 100000}) {
        CAPTURE(max);
        auto layout = http::layout_multipart(ranges, kObject.size(), "text/plain", "B");
        uint64_t length = layout.content_length;
        std::vector<std::pair<uint64_t, uint64_t>> made;
        std::vector<int> woken;
        MultipartBody body(layout, [&](uint64_t first, uint64_t end) -> std::unique_ptr<Body> {
            made.emplace_back(first, end);
            return std::make_unique<PartBody>(first, end, /*wait_first=*/made.size() == 2, &woken);
        });
        CHECK(body.remaining() == length);
        CHECK(made.empty());  // nothing is made before it is needed
        bool failed = false;
        std::string got = drain(body, max, failed);
        CHECK_FALSE(failed);
        CHECK(got ==
              "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 20-24/36\r\n\r\nkl"
              "mno\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-3/36\r\n\r\n0123"
              "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 35-35/36\r\n\r\nz"
              "\r\n--B--\r\n");
        CHECK(got.size() == length);
        CHECK(made == std::vector<std::pair<uint64_t, uint64_t>>{{20, 25}, {0, 4}, {35, 36}});
        CHECK(woken == std::vector<int>{0});  // the second part's wait reached it
    }
}

TEST_CASE("MultipartBody: a part that fails or ends short fails the answer") {
    auto layout = http::layout_multipart({{0, 3}, {10, 12}}, kObject.size(), "", "B");
    MultipartBody none(layout, [](uint64_t, uint64_t) { return std::unique_ptr<Body>(); });
    bool failed = false;
    std::string got = drain(none, 1000, failed);
    CHECK(failed);
    CHECK(got == "--B\r\nContent-Range: bytes 0-3/36\r\n\r\n");

    // A part body that says end before its bytes are all there.
    class Short final : public Body {
      public:
        BodyChunk next(uint64_t) noexcept override { return BodyChunk::end(); }
        void wait(std::function<void()>) noexcept override {}
        uint64_t remaining() const noexcept override { return 1; }
    };
    MultipartBody short_part(layout, [](uint64_t, uint64_t) -> std::unique_ptr<Body> {
        return std::make_unique<Short>();
    });
    drain(short_part, 1000, failed);
    CHECK(failed);
}
