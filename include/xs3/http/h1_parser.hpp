// H1Parser: an HTTP/1.x request parser on top of llhttp. Bytes in, one Request out at a time; it
// stops after each complete request so pipelined requests are handled in order, reads and discards
// request bodies, and turns every protocol error into the status code to answer with. A request
// other than GET or HEAD that announces a body is handed over at the end of its head instead
// (Request::body_unread): the proxy refuses it whatever the body holds, and the answer must not
// wait for the body (nor for a client that sent "Expect: 100-continue" and waits for us). So is a
// GET or HEAD with a body and "Expect: 100-continue" (its body would change nothing). After such a
// request the parser only discards what it is fed.
//
//   size_t off = 0;
//   while (off < len) {
//       auto r = parser.feed(data + off, len - off);
//       off += r.consumed;
//       if (r.state == H1Parser::FeedResult::request_ready) handle(parser.take_request());
//       else if (r.state == H1Parser::FeedResult::error) { answer(parser.error_status()); close; }
//       else break;  // need_more: everything was consumed
//   }
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "xs3/http/request.hpp"

namespace xs3::http {

struct H1Limits {
    size_t max_header_bytes = 16 * 1024;  // request line + fields + the empty line
    size_t max_headers = 100;
    size_t max_body_bytes = 1024 * 1024;  // bodies are read and discarded
};

class H1Parser {
  public:
    struct FeedResult {
        enum State { need_more, request_ready, error };
        size_t consumed = 0;
        State state = need_more;
    };

    explicit H1Parser(H1Limits limits = {});
    // llhttp keeps a pointer back to this object.
    H1Parser(const H1Parser&) = delete;
    H1Parser& operator=(const H1Parser&) = delete;

    // Parses up to len bytes. need_more: all consumed, the request is not complete yet.
    // request_ready: `consumed` bytes ended a request (head and body); call take_request(), then
    // feed the rest. error: stays in error until reset(); error_status() says what to answer.
    // Feeding while a request waits to be taken consumes nothing and returns request_ready again.
    FeedResult feed(const char* data, size_t len) noexcept;

    Request take_request();

    // True once any byte of the next request has arrived (for telling an idle keep-alive connection
    // from a slow request).
    bool mid_request() const noexcept { return mid_request_; }
    bool failed() const noexcept { return failed_; }
    int error_status() const noexcept { return error_status_; }  // 400, 413, 414, 431 or 505
    std::string_view error_reason() const noexcept { return error_reason_; }
    // The method and raw target of the request being parsed (empty if not read yet), to say
    // which request an error answer is for.
    std::string_view current_method() const noexcept { return current_method_; }
    std::string_view current_target() const noexcept { return request_.target; }

    void reset() noexcept;

  private:
    enum class Phase { head, body, ready };

    static int on_message_begin(llhttp_t* p) noexcept;
    static int on_url(llhttp_t* p, const char* at, size_t len) noexcept;
    static int on_url_complete(llhttp_t* p) noexcept;
    static int on_header_field(llhttp_t* p, const char* at, size_t len) noexcept;
    static int on_header_value(llhttp_t* p, const char* at, size_t len) noexcept;
    static int on_header_value_complete(llhttp_t* p) noexcept;
    static int on_headers_complete(llhttp_t* p) noexcept;
    static int on_body(llhttp_t* p, const char* at, size_t len) noexcept;
    static int on_message_complete(llhttp_t* p) noexcept;

    // Records the first error; returns the value a callback hands back to llhttp to stop.
    int fail(int status, const char* reason) noexcept;
    int finish_head() noexcept;
    FeedResult fail_result(size_t consumed) noexcept;

    H1Limits limits_;
    llhttp_t parser_;
    Phase phase_ = Phase::head;
    size_t head_bytes_ = 0;
    uint64_t body_bytes_ = 0;
    bool url_done_ = false;
    bool mid_request_ = false;
    // Bytes of the current llhttp_execute call, and the byte before them, so a value piece that
    // starts right after a line break (obs-fold) can be recognised even across feed() calls.
    const char* exec_begin_ = nullptr;
    char prev_byte_ = '\0';
    Request request_;
    std::string field_name_;
    std::string field_value_;
    bool failed_ = false;
    bool discarding_ = false;  // a body_unread request was handed over: everything else is dropped
    std::string current_method_;
    int error_status_ = 0;
    const char* error_reason_ = "";
};

}  // namespace xs3::http
