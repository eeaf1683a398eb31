// Relaying read-only S3 operations (listings, HeadBucket, GetBucketLocation, the object
// sub-resources, ListParts): the proxy signs the operation for the bucket's origin, sends it, and
// hands S3's answer to the client uncached (x-cache: PASS).
//
// RelayBody is the transfer's handler and, for a successful answer S3 sent with a Content-Length,
// the response's Body: its bytes are streamed as they arrive (at most 256 KiB buffered, then the
// transfer pauses). An answer without a length (S3 sends listings chunked), a HEAD's and an error
// answer are collected whole instead — bounded: a listing page is at most 1000 entries, so more
// than `collect_limit` (16 MiB) fails the relay — and answered with their length.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "xs3/http/response.hpp"
#include "xs3/proxy/body.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class RelayBody final : public Body, public s3::TransferHandler {
  public:
    // Called once: the head of a streamed answer arrived (streaming() is true), or the transfer
    // ended (collected() holds the whole answer, or failure() says why there is none).
    using OnReady = std::function<void()>;

    static constexpr size_t kCollectLimit = 16 * 1024 * 1024;

    RelayBody(ring::Ring& ring, s3::CurlClient& curl, size_t collect_limit = kCollectLimit,
              size_t buffer_limit = 256 * 1024);
    ~RelayBody() override;
    RelayBody(const RelayBody&) = delete;
    RelayBody& operator=(const RelayBody&) = delete;

    void start(s3::HttpRequest request, OnReady on_ready);

    const s3::HttpResponseHead& head() const noexcept { return head_; }
    bool streaming() const noexcept { return streaming_; }
    // A transport failure, or a collected answer over the limit (head().status may be set).
    const Status& failure() const noexcept { return failure_; }
    // The whole body of a collected answer.
    std::string take_collected() noexcept { return std::move(collected_); }
    uint64_t length() const noexcept { return length_; }

    // Body (streaming answers)
    BodyChunk next(uint64_t max) noexcept override;
    void wait(std::function<void()> wake) noexcept override;
    uint64_t remaining() const noexcept override { return length_ - taken_; }

    // TransferHandler
    void on_head(const s3::HttpResponseHead& head) noexcept override;
    size_t on_body(const char* data, size_t len) noexcept override;
    void on_complete(const Status& status) noexcept override;

  private:
    void ready() noexcept;
    void wake_reader() noexcept;

    ring::Ring& ring_;
    s3::CurlClient& curl_;
    const size_t collect_limit_;
    const size_t buffer_limit_;
    s3::CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    bool head_request_ = false;
    bool streaming_ = false;
    bool paused_ = false;
    bool done_ = false;
    Status failure_;
    OnReady on_ready_;
    s3::HttpResponseHead head_;
    std::string collected_;
    std::string buffer_;
    uint64_t length_ = 0;
    uint64_t received_ = 0;
    uint64_t taken_ = 0;
    std::function<void()> wake_;
};

// The head of the client's answer to a successful relayed operation: S3's status and the fields
// that describe the answer (Content-Type, Last-Modified, ETag, and x-amz-* but S3's own request
// ids: the client gets the proxy's), with `content_length`.
http::ResponseHead relayed_head(const s3::HttpResponseHead& head, uint64_t content_length);

}  // namespace xs3::proxy
