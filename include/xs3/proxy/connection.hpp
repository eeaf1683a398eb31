// H1Connection: one HTTP/1.1 client connection on a worker's ring. It reads with multishot recv
// into provided buffers, parses with http::H1Parser one request at a time (pipelined requests wait
// in the input buffer), answers each request (handler.cpp: routing, S3 HEAD, cache lookup, hit /
// miss / passthrough) and streams bodies (body.cpp: splice from a cache or temp file, or bytes from
// a passthrough transfer).
//
// Lifetime: ops in flight are counted; close() cancels them, and the object is freed only when the
// count is zero (Worker::forget, at the end of the turn). Work that leaves the ring (blocking pool,
// other rings, downloads) comes back through Worker::find(id) with the request generation, so a
// late answer for a closed connection or an old request is dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xs3/cache/key.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/http/h1_parser.hpp"
#include "xs3/http/range.hpp"
#include "xs3/http/response.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class Worker;

class H1Connection {
  public:
    H1Connection(Worker& worker, int fd, uint64_t id);
    ~H1Connection();
    H1Connection(const H1Connection&) = delete;
    H1Connection& operator=(const H1Connection&) = delete;

    void start();
    // Closes now: in-flight ops are cancelled, the response (if any) is cut off.
    void close(const char* why);
    // Stop after the current response (graceful shutdown).
    void finish_after_response();
    bool idle() const noexcept { return state_ == State::reading && !parser_.mid_request(); }
    uint64_t id() const noexcept { return id_; }

  private:
    enum class State { reading, handling, sending, closed };
    enum class BodyKind { none, file, download, stream };
    class OriginHead;
    class Passthrough;

    // --- I/O (connection.cpp) ---
    void arm_recv() noexcept;
    void on_recv(int res, uint32_t flags) noexcept;
    void process_input();
    void arm_timer();
    void on_timer();
    void send_out() noexcept;
    void on_send(int res, uint32_t flags) noexcept;
    void op_done() noexcept;
    void maybe_free() noexcept;
    void response_done();

    // --- request semantics (handler.cpp) ---
    void start_request(http::Request req);
    void on_origin_head(const Status& status, const s3::HttpResponseHead& head,
                        const std::string& body);
    void on_lookup(Result<std::optional<cache::Entry>> result);
    void start_miss();
    void on_download_state();
    void start_passthrough();
    void respond_error(int status, std::string_view code, std::string_view message,
                       std::initializer_list<std::pair<const char*, std::string>> extra = {});
    void respond_simple(int status, std::string_view content_type, std::string body);
    http::ResponseHead object_head(const char* cache_status) const;
    // Serializes `head` (+ `inline_body`, for small answers) and starts sending.
    void send_head(http::ResponseHead head, BodyKind body, std::string_view inline_body = {});
    // A task for this connection's ring that runs `fn` only if the connection is still open and
    // still on the request that made the task (a late answer for an old request is dropped).
    std::function<void()> for_this_request(std::function<void(H1Connection&)> fn);

    // --- bodies (body.cpp) ---
    void body_step() noexcept;
    void on_splice_in(int res, uint32_t flags) noexcept;
    void on_splice_out(int res, uint32_t flags) noexcept;
    void splice_settled() noexcept;
    void cut(const char* why);  // the body cannot be completed: close without padding
    void stream_send() noexcept;

    Worker& w_;
    int fd_;
    const uint64_t id_;
    State state_ = State::reading;
    unsigned inflight_ = 0;
    bool freeing_ = false;
    bool keep_alive_ = true;
    bool peer_eof_ = false;
    bool finish_after_ = false;
    uint64_t req_gen_ = 0;

    // Input.
    http::H1Parser parser_;
    std::string inbuf_;
    bool recv_armed_ = false;
    bool recv_multishot_ = false;
    std::unique_ptr<char[]> plain_recv_buf_;  // when the kernel has no buffer rings
    ring::Ring::TimerId timer_;

    // Current request.
    http::Request req_;
    std::string key_;
    bool is_head_ = false;
    bool error_probed_ = false;
    http::RangeResult range_;
    uint64_t size_ = 0;
    s3::HttpResponseHead meta_;  // the origin's HEAD answer
    cache::CacheKey cache_key_;
    std::unique_ptr<OriginHead> origin_head_;
    std::unique_ptr<Passthrough> passthrough_;

    // Output.
    std::string out_;
    size_t out_off_ = 0;
    bool send_in_flight_ = false;
    BodyKind body_ = BodyKind::none;
    uint64_t pos_ = 0;  // next object byte to send
    uint64_t end_ = 0;  // one past the last object byte to send
    int file_fd_ = -1;
    uint64_t file_base_ = 0;  // file offset of object byte 0
    std::shared_ptr<cache::Entry> entry_;
    std::shared_ptr<fetch::Download> download_;
    bool waiting_body_ = false;
    ring::Pipe pipe_;
    uint64_t pipe_bytes_ = 0;
    int splices_pending_ = 0;
    bool splice_failed_ = false;
    int splice_error_ = 0;

    ring::MemberOp<H1Connection, &H1Connection::on_recv> recv_op_{this};
    ring::MemberOp<H1Connection, &H1Connection::on_send> send_op_{this};
    ring::MemberOp<H1Connection, &H1Connection::on_splice_in> splice_in_op_{this};
    ring::MemberOp<H1Connection, &H1Connection::on_splice_out> splice_out_op_{this};
};

}  // namespace xs3::proxy
