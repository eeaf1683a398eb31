// Transfer handlers owned by an H1Connection: the S3 HEAD that starts every object request, and
// the passthrough GET used when the cache cannot be written.
#pragma once

#include <string>

#include "xs3/proxy/connection.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class H1Connection::OriginHead final : public s3::TransferHandler {
  public:
    explicit OriginHead(H1Connection& c) : c_(c) {}
    ~OriginHead();
    void start(s3::HttpRequest req);

    void on_head(const s3::HttpResponseHead& head) noexcept override { head_ = head; }
    size_t on_body(const char* data, size_t len) noexcept override {
        if (body_.size() < 64 * 1024) body_.append(data, std::min(len, 64 * 1024 - body_.size()));
        return len;
    }
    void on_complete(const Status& status) noexcept override;

  private:
    H1Connection& c_;
    s3::CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    s3::HttpResponseHead head_;
    std::string body_;
};

// Streams an origin GET straight to the client: bytes are queued in the connection's output
// buffer and sent at once; the transfer is paused while a send is in flight, so at most one curl
// chunk (CurlClient::Options::buffer_size) is held per connection.
class H1Connection::Passthrough final : public s3::TransferHandler {
  public:
    explicit Passthrough(H1Connection& c) : c_(c) {}
    ~Passthrough();
    void start(s3::HttpRequest req);
    void resume_if_paused();
    bool done() const noexcept { return done_; }

    void on_head(const s3::HttpResponseHead& head) noexcept override;
    size_t on_body(const char* data, size_t len) noexcept override;
    void on_complete(const Status& status) noexcept override;

  private:
    H1Connection& c_;
    s3::CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    bool paused_ = false;
    bool ok_ = false;
    bool done_ = false;
};

}  // namespace xs3::proxy
