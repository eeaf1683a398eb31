// StreamBody: an origin GET relayed to a client as its bytes arrive (passthrough). It is the
// curl transfer's handler and the response's Body at once. Until the exchange accepts it (on a
// 2xx head) it reports the head and, for error answers, the collected error body; after that the
// transport pulls the bytes with next(). At most `buffer_limit` bytes (plus one curl chunk) are
// held: beyond that the transfer is paused until the transport has taken them.
#pragma once

#include <functional>
#include <string>

#include "xs3/proxy/body.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class StreamBody final : public Body, public s3::TransferHandler {
  public:
    // A 2xx head arrived. The callee either accept()s (and owns the body from then on) or lets
    // the StreamBody be destroyed, which cancels the transfer.
    using OnHead = std::function<void(const s3::HttpResponseHead& head)>;
    // The transfer ended before it was accepted: a non-2xx answer (head.status set, error_body the
    // first 64 KiB of its body) or a transport failure (status not ok, head.status 0 if no head).
    using OnFailed = std::function<void(const Status& status, const s3::HttpResponseHead& head,
                                        const std::string& error_body)>;

    StreamBody(ring::Ring& ring, s3::CurlClient& curl, size_t buffer_limit = 256 * 1024);
    ~StreamBody() override;

    void start(s3::HttpRequest request, OnHead on_head, OnFailed on_failed);
    // The body is the response's now; it must deliver exactly `length` bytes, else it fails.
    // With `whole` the origin answered a ranged GET with the whole object (a store that ignores
    // Range): the body is the `length` bytes after the first `skip`, and the rest is cut off.
    void accept(uint64_t length, bool whole = false, uint64_t skip = 0);

    // Body
    BodyChunk next(uint64_t max) noexcept override;
    void wait(std::function<void()> wake) noexcept override;
    uint64_t remaining() const noexcept override { return length_ - taken_; }

    // TransferHandler
    void on_head(const s3::HttpResponseHead& head) noexcept override;
    size_t on_body(const char* data, size_t len) noexcept override;
    void on_complete(const Status& status) noexcept override;

  private:
    void wake_reader() noexcept;

    ring::Ring& ring_;
    s3::CurlClient& curl_;
    const size_t buffer_limit_;
    s3::CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    bool accepted_ = false;
    bool ok_ = false;
    bool paused_ = false;
    bool done_ = false;
    Status failure_;
    OnHead on_head_;
    OnFailed on_failed_;
    s3::HttpResponseHead head_;
    std::string error_body_;
    std::string buffer_;
    uint64_t length_ = 0;
    uint64_t received_ = 0;
    uint64_t taken_ = 0;
    bool whole_ = false;
    uint64_t skip_ = 0;
    std::function<void()> wake_;
};

}  // namespace xs3::proxy
