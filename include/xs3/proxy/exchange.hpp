// Exchange: one request and its response, independent of the transport (an HTTP/1.1 connection
// or an HTTP/2 stream). It routes the request, works out where the bytes come from and hands
// the transport a response head and a Body to pull them from (ResponseSink::respond, once).
//
// The paths, by what the cache index knows of the name:
//  - known (cached), confirmed by S3 within --metadata-ttl (or --immutable): the cached file, no
//    upstream call at all;
//  - known, older: one conditional HEAD (If-None-Match) — 304 serves the cached file, 200 means
//    it changed: the old copy stops resolving at once and the new version is fetched (a
//    Download with the HEAD's size and metadata); if S3 cannot be asked, a copy confirmed within
//    --metadata-ttl + --stale-if-error is served marked x-cache: STALE;
//  - unknown: join or start the name's Download, whose first GET (the chunk holding the
//    client's first byte) tells size and metadata, so a cold miss costs one round trip to the
//    first byte; a download that finds the bytes already cached redirects here to the cache;
//  - the cache cannot take the object (unwritable, too large, no space): passthrough, an origin
//    GET of exactly the client's bytes relayed as they arrive;
//  - client HEAD requests: an S3 HEAD.
// Before any of that, the S3 request classifier (s3/operation.hpp) says which operation the
// request is: only GetObject and HeadObject take the paths above; read-only listings and
// sub-resources are relayed (proxy/relay.hpp), ListBuckets is answered from the configuration,
// and everything else gets S3's own error at once.
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

#include "xs3/cache/header.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/fetch/fill.hpp"
#include "xs3/fetch/object_info.hpp"
#include "xs3/http/multipart.hpp"
#include "xs3/http/range.hpp"
#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"
#include "xs3/proxy/body.hpp"
#include "xs3/s3/bucket_client.hpp"
#include "xs3/s3/curl_client.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/operation.hpp"
#include "xs3/s3/retry.hpp"
#include "xs3/s3/sigv4_verify.hpp"

namespace xs3::s3 {
class SmallCall;
}

namespace xs3::proxy {

class Worker;
class StreamBody;
class RelayBody;

class ResponseSink {
  public:
    // The response: a head (without Server/Date/connection fields: the transport adds what its
    // protocol needs) and a body to pull from (nullptr: none, e.g. for HEAD). Called once.
    virtual void respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept = 0;
    // The client's IP address (canonical text, "" when unknown), for the fleet's check of a
    // peer fill without a token.
    virtual const std::string& client_ip() noexcept = 0;

  protected:
    ~ResponseSink() = default;
};

// An S3-style XML error answer (Content-Type, Content-Length and x-amz-request-id set) for
// `resource` (the path asked for), with extra header fields and extra elements in the body.
std::pair<http::ResponseHead, std::string> s3_error_response(
    int status, std::string_view code, std::string_view message, std::string_view resource,
    std::string_view request_id,
    std::initializer_list<std::pair<const char*, std::string>> extra = {},
    std::span<const s3::ErrorDetail> details = {});

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
    const std::string& request_id() const noexcept { return request_id_; }
    // "HIT", "MISS", "PASS", or "" for answers that did not touch an object.
    const char* cache_status() const noexcept { return cache_status_; }
    bool responded() const noexcept { return responded_; }

    // The request is a trusted peer fill (fleet): served here, never forwarded to a peer.
    bool peer_request() const noexcept { return peer_request_; }

  private:
    // A request carrying the fleet's hop header: honoured (a trusted peer fill) or refused with
    // 403 (false: answered). A request without it is a client's, and goes on.
    bool admit_hop();
    // With [[clients]]: the request's signature (proxy/client_auth.hpp); false when a refusal
    // was sent instead. Sets client_.
    bool check_client();
    // The operations that are not GetObject/HeadObject.
    void respond_refusal();
    void respond_list_buckets();
    void start_relay();
    void on_relay_ready();

    // Paths.
    void start_head_request();
    // The name's cached copy may be served without asking S3 (--immutable, --metadata-ttl).
    bool fresh(const cache::NameInfo& known) const;
    void revalidate(const cache::NameInfo& known);
    // A cached copy may be served stale (S3 could not be asked): true if it answered.
    bool serve_stale(const Status& why);
    // A cold object: join (or start) its Fill; with what a HEAD said, when one was asked.
    void start_cold();
    void join_fill(std::optional<fetch::ObjectInfo> known);
    // The Fill's one answer: read its download, serve from the cache, pass through, or fail.
    void on_fill_answer(fetch::FillAnswer answer);
    void on_fill_failed(const fetch::FillAnswer& answer);
    void serve_from_cache(const cache::CacheKey& key, std::string etag);
    bool entry_usable(const cache::Entry& entry, const cache::CacheKey& key,
                      const std::string& etag) const;
    // keep_open: a file just opened on the pool, to be kept in OpenFiles if it is served.
    void on_lookup(Result<std::shared_ptr<const cache::Entry>> result, const cache::CacheKey& key,
                   const std::string& etag, bool keep_open);
    void start_passthrough();
    void on_passthrough_head(const s3::HttpResponseHead& head);
    void on_passthrough_failed(const Status& status, const s3::HttpResponseHead& head,
                               const std::string& body);

    // Asks S3 (a HEAD, or the 1-byte GET for a 403's code); the answer goes to on_origin_head.
    void call_origin(s3::HttpRequest request);
    // After a failed attempt (transport error or an error status): schedules `again` after the
    // retry policy's backoff and returns true, or returns false when no retry is due (not
    // retryable, attempts or budget spent). A success is recorded and returns false too.
    bool retry_later(s3::RetryState& state, const Status& status, const s3::HttpResponseHead& head,
                     const std::string& body, std::function<void(Exchange&)> again);
    // The origin's HEAD answer (client HEAD, or revalidation).
    void on_origin_head(const Status& status, const s3::HttpResponseHead& head,
                        const std::string& body);
    // Size and metadata are known (meta_, size_): evaluate the client's conditional fields
    // (304, 412) and work out the response's byte range (416). False when one of those answers
    // was sent instead. Several ranges make multipart_ (a 206 multipart/byteranges answer) when
    // multipart_ok; else they are answered with the whole object.
    bool settle_range(bool multipart_ok = true);
    std::unique_ptr<Body> download_body(std::shared_ptr<fetch::Download> dl);

    void respond(http::ResponseHead head, std::unique_ptr<Body> body);
    void respond_error(int status, std::string_view code, std::string_view message,
                       std::initializer_list<std::pair<const char*, std::string>> extra = {},
                       std::vector<s3::ErrorDetail> details = {});
    // Answers like S3 did (404 NoSuchKey, 403 ..., 416, 412 as 503) or, for transport failures
    // (http_status 0), 502/504.
    void respond_origin_error(int http_status, std::string s3_code, const Status& transport);
    void respond_simple(int status, std::string_view content_type, std::string body);
    http::ResponseHead object_head(const char* cache_status) const;
    // A task for this exchange's ring that runs `fn` only if the exchange still exists and has
    // not answered yet.
    std::function<void()> if_alive(std::function<void(Exchange&)> fn);

    Worker& w_;
    ResponseSink& sink_;
    http::Request req_;
    std::string request_id_;
    s3::S3Operation op_;  // what the classifier made of the request
    bool is_head_ = false;
    bool responded_ = false;
    bool peer_request_ = false;
    bool error_probed_ = false;
    bool retried_ = false;
    const char* cache_status_ = "";
    std::string key_;
    const s3::ClientKey* client_ = nullptr;     // the signer, with [[clients]]
    const s3::BucketClient* origin_ = nullptr;  // the bucket's
    s3::ObjectId object_;                       // key_, and the version or part asked for
    std::vector<std::pair<std::string, std::string>> overrides_;  // response-* fields
    const std::string* range_header_ = nullptr;                   // the client's Range, if any
    cache::ObjectName name_;
    std::optional<cache::NameInfo> known_;        // what the index knew of the name at the start
    bool stale_ = false;                          // serving a copy S3 did not confirm
    std::optional<fetch::ObjectInfo> head_info_;  // what a HEAD's 200 said, when one was asked
    // The object, once known.
    cache::ObjectMeta meta_;
    bool info_known_ = false;
    uint64_t size_ = 0;
    http::RangeResult range_;
    std::optional<http::MultipartLayout> multipart_;  // several ranges, one answer
    uint64_t first_ = 0;                              // first object byte of the response body
    uint64_t end_ = 0;                                // one past its last
    std::unique_ptr<s3::SmallCall> origin_call_;
    std::function<void(Exchange&)> origin_again_;  // how to ask the origin again (retries)
    s3::RetryState origin_retry_;
    s3::RetryState pass_retry_;
    s3::RetryState relay_retry_;
    std::unique_ptr<StreamBody> passthrough_;
    std::unique_ptr<RelayBody> relay_;
    std::shared_ptr<fetch::FillHandle> fill_;  // until the Fill answers
};

}  // namespace xs3::proxy
