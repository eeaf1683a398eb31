// Exchange: one request and its response, independent of the transport (an HTTP/1.1 connection
// or an HTTP/2 stream). It routes the request, asks S3 about the object, looks in the cache and
// chooses hit, miss (join or start a Download) or passthrough, then hands the transport a
// response head and a Body to pull the bytes from (ResponseSink::respond, exactly once).
//
// Lifetime: the transport owns the exchange through a shared_ptr and frees it on its ring (never
// from inside one of the exchange's own callbacks: dispose it late). Work that leaves the ring
// (blocking pool, downloads) comes back through a weak_ptr, so a late answer for an exchange that
// is gone is dropped. Upstream transfers still running are cancelled by the destructor.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "xs3/cache/key.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/http/range.hpp"
#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"
#include "xs3/proxy/body.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class Worker;
class StreamBody;

class ResponseSink {
  public:
    // The response: a head (without Server/Date/connection fields: the transport adds what its
    // protocol needs) and a body to pull from (nullptr: none, e.g. for HEAD). Called once.
    virtual void respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept = 0;

  protected:
    ~ResponseSink() = default;
};

// An S3-style XML error answer (Content-Type and Content-Length set) for `resource` ("/key").
std::pair<http::ResponseHead, std::string> s3_error_response(
    int status, std::string_view code, std::string_view message, std::string_view resource,
    std::initializer_list<std::pair<const char*, std::string>> extra = {});

class Exchange : public std::enable_shared_from_this<Exchange> {
  public:
    Exchange(Worker& worker, ResponseSink& sink, http::Request request);
    ~Exchange();
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;

    void start();

    const http::Request& request() const noexcept { return req_; }
    bool is_head() const noexcept { return is_head_; }
    const std::string& key() const noexcept { return key_; }
    // "HIT", "MISS", "PASS", or "" for answers that did not touch an object.
    const char* cache_status() const noexcept { return cache_status_; }
    bool responded() const noexcept { return responded_; }

  private:
    class OriginHead;

    void on_origin_head(const Status& status, const s3::HttpResponseHead& head,
                        const std::string& body);
    void on_lookup(Result<std::optional<cache::Entry>> result);
    void start_miss();
    void on_download_state();
    void start_passthrough();
    void on_passthrough_head(const s3::HttpResponseHead& head);
    void on_passthrough_failed(const Status& status, const s3::HttpResponseHead& head,
                               const std::string& body);

    void respond(http::ResponseHead head, std::unique_ptr<Body> body);
    void respond_error(int status, std::string_view code, std::string_view message,
                       std::initializer_list<std::pair<const char*, std::string>> extra = {});
    void respond_simple(int status, std::string_view content_type, std::string body);
    http::ResponseHead object_head(const char* cache_status) const;
    // A task for this exchange's ring that runs `fn` only if the exchange still exists and has
    // not answered yet.
    std::function<void()> if_alive(std::function<void(Exchange&)> fn);

    Worker& w_;
    ResponseSink& sink_;
    http::Request req_;
    bool is_head_ = false;
    bool responded_ = false;
    bool error_probed_ = false;
    const char* cache_status_ = "";
    std::string key_;
    http::RangeResult range_;
    uint64_t size_ = 0;
    uint64_t first_ = 0;         // first object byte of the response body
    uint64_t end_ = 0;           // one past its last
    s3::HttpResponseHead meta_;  // the origin's HEAD answer
    cache::CacheKey cache_key_;
    std::unique_ptr<OriginHead> origin_head_;
    std::unique_ptr<StreamBody> passthrough_;
    std::shared_ptr<fetch::Download> download_;
};

}  // namespace xs3::proxy
