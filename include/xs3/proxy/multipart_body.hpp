// MultipartBody: a multipart/byteranges answer (several ranges of one object, http/multipart.hpp
// lays it out) as one Body. Part headers are bytes in memory; each part's bytes come from a Body
// the caller's source makes when the part is reached (a FileBody for a cached object, a
// DownloadBody for one still downloading, so a part streams as its bytes arrive). A part body
// that fails fails the whole answer (it is cut, never padded).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "xs3/http/multipart.hpp"
#include "xs3/proxy/body.hpp"

namespace xs3::proxy {

class MultipartBody final : public Body {
  public:
    // Object bytes [first, end) of one part.
    using PartSource = std::function<std::unique_ptr<Body>(uint64_t first, uint64_t end)>;
    MultipartBody(http::MultipartLayout layout, PartSource source);
    BodyChunk next(uint64_t max) noexcept override;
    void wait(std::function<void()> wake) noexcept override;
    uint64_t remaining() const noexcept override { return layout_.content_length - sent_; }

  private:
    enum class Step { head, bytes, tail, done };
    BodyChunk bytes_of(const std::string& s, uint64_t max);

    http::MultipartLayout layout_;
    PartSource source_;
    size_t part_ = 0;
    Step step_ = Step::head;
    size_t offset_ = 0;  // into the head or tail being sent
    std::unique_ptr<Body> current_;
    uint64_t sent_ = 0;
};

// A boundary no object is likely to hold: "xs3-" and 24 random hex digits.
std::string random_boundary();

}  // namespace xs3::proxy
