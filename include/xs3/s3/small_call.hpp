// SmallCall: one small S3 request (a HEAD, or a GET of a few bytes) whose whole answer — head
// and up to 64 KiB of body — is handed to a callback when it completes. Destroying the call
// cancels the transfer (no callback then). Lives on the ring of the curl client it uses.
#pragma once

#include <functional>
#include <string>

#include "xs3/s3/curl_client.hpp"

namespace xs3::s3 {

class SmallCall final : public TransferHandler {
  public:
    // status: the transfer's outcome (not ok: no usable answer; head.status may be 0).
    using Done = std::function<void(const Status& status, const HttpResponseHead& head,
                                    const std::string& body)>;

    explicit SmallCall(CurlClient& curl) : curl_(curl) {}
    ~SmallCall();
    SmallCall(const SmallCall&) = delete;
    SmallCall& operator=(const SmallCall&) = delete;

    void start(HttpRequest request, Done done);

    void on_head(const HttpResponseHead& head) noexcept override { head_ = head; }
    size_t on_body(const char* data, size_t len) noexcept override;
    void on_complete(const Status& status) noexcept override;

  private:
    CurlClient& curl_;
    CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    Done done_;
    HttpResponseHead head_;
    std::string body_;
};

}  // namespace xs3::s3
