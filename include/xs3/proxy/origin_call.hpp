// OriginCall: one small S3 request (a HEAD, or a GET of a few bytes) whose whole answer — head
// and up to 64 KiB of body — is handed to a callback when it completes. Destroying the call
// cancels the transfer (no callback then). Lives on the ring of the curl client it uses.
#pragma once

#include <functional>
#include <string>

#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class OriginCall final : public s3::TransferHandler {
  public:
    // status: the transfer's outcome (not ok: no usable answer; head.status may be 0).
    using Done = std::function<void(const Status& status, const s3::HttpResponseHead& head,
                                    const std::string& body)>;

    explicit OriginCall(s3::CurlClient& curl) : curl_(curl) {}
    ~OriginCall();
    OriginCall(const OriginCall&) = delete;
    OriginCall& operator=(const OriginCall&) = delete;

    void start(s3::HttpRequest request, Done done);

    void on_head(const s3::HttpResponseHead& head) noexcept override { head_ = head; }
    size_t on_body(const char* data, size_t len) noexcept override;
    void on_complete(const Status& status) noexcept override;

  private:
    s3::CurlClient& curl_;
    s3::CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    Done done_;
    s3::HttpResponseHead head_;
    std::string body_;
};

}  // namespace xs3::proxy
