// H1Parser: llhttp callbacks collect one request head at a time. The parser pauses twice per
// request: at the end of the head (so the head's exact size is known and limited) and at the end of
// the message (so pipelined requests come out one by one).
#include "xs3/http/h1_parser.hpp"

#include <algorithm>

namespace xs3::http {

namespace {

H1Parser* self(llhttp_t* p) noexcept {
    return static_cast<H1Parser*>(p->data);
}

// Splits a request-target into path and query. Accepts origin-form, absolute-form (http/https;
// the authority is dropped, Host still says where the client meant to go), asterisk-form, and
// authority-form for CONNECT. A fragment never belongs in a request-target; '#' is rejected.
bool split_target(std::string_view target, bool is_connect, Request& r) {
    if (target.empty() || target.find('#') != std::string_view::npos) return false;
    if (is_connect) return true;
    if (target == "*") {
        r.path = "*";
        return true;
    }
    std::string_view rest = target;
    if (rest.front() != '/') {
        size_t scheme_len = 0;
        if (istarts_with(rest, "http://")) {
            scheme_len = 7;
        } else if (istarts_with(rest, "https://")) {
            scheme_len = 8;
        } else {
            return false;
        }
        rest.remove_prefix(scheme_len);
        size_t end = rest.find_first_of("/?");
        if (end == 0) return false;  // no authority
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    size_t q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    r.path = path.empty() ? std::string("/") : std::string(path);
    if (q != std::string_view::npos) r.query = std::string(rest.substr(q + 1));
    return true;
}

// A version llhttp refuses is 505 when it is a well-formed HTTP/d.d it does not speak, and 400
// when the request line is simply broken after the version ("HTTP/1.1 junk").
int status_for(llhttp_errno_t err, const char* pos, const char* end) noexcept {
    if (err != HPE_INVALID_VERSION) return 400;
    if (pos == nullptr || pos >= end) return 505;
    char c = *pos;
    return (c == '\r' || c == '\n' || (c >= '0' && c <= '9') || c == '.') ? 505 : 400;
}

}  // namespace

H1Parser::H1Parser(H1Limits limits) : limits_(limits) {
    reset();
}

void H1Parser::reset() noexcept {
    static const llhttp_settings_t settings = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_begin = &H1Parser::on_message_begin;
        s.on_url = &H1Parser::on_url;
        s.on_url_complete = &H1Parser::on_url_complete;
        s.on_header_field = &H1Parser::on_header_field;
        s.on_header_value = &H1Parser::on_header_value;
        s.on_header_value_complete = &H1Parser::on_header_value_complete;
        s.on_headers_complete = &H1Parser::on_headers_complete;
        s.on_body = &H1Parser::on_body;
        // Chunk extensions have no size limit of their own in llhttp; count them as body.
        s.on_chunk_extension_name = &H1Parser::on_body;
        s.on_chunk_extension_value = &H1Parser::on_body;
        s.on_message_complete = &H1Parser::on_message_complete;
        return s;
    }();
    llhttp_init(&parser_, HTTP_REQUEST, &settings);
    parser_.data = this;
    phase_ = Phase::head;
    head_bytes_ = 0;
    body_bytes_ = 0;
    url_done_ = false;
    mid_request_ = false;
    exec_begin_ = nullptr;
    prev_byte_ = '\0';
    request_ = Request{};
    field_name_.clear();
    field_value_.clear();
    failed_ = false;
    discarding_ = false;
    current_method_.clear();
    error_status_ = 0;
    error_reason_ = "";
}

int H1Parser::fail(int status, const char* reason) noexcept {
    if (!failed_) {
        failed_ = true;
        error_status_ = status;
        error_reason_ = reason;
    }
    return -1;
}

H1Parser::FeedResult H1Parser::fail_result(size_t consumed) noexcept {
    return {consumed, FeedResult::error};
}

H1Parser::FeedResult H1Parser::feed(const char* data, size_t len) noexcept {
    if (failed_) return fail_result(0);
    if (phase_ == Phase::ready) return {0, FeedResult::request_ready};
    if (discarding_) return {len, FeedResult::need_more};
    size_t off = 0;
    for (;;) {
        const char* p = data + off;
        size_t n = len - off;
        const bool in_head = phase_ == Phase::head;
        bool limited = false;
        if (in_head && n > limits_.max_header_bytes - head_bytes_) {
            n = limits_.max_header_bytes - head_bytes_;
            limited = true;
        }
        exec_begin_ = p;
        llhttp_errno_t err = llhttp_execute(&parser_, p, n);
        size_t used = n;
        if (err != HPE_OK) {
            const char* pos = llhttp_get_error_pos(&parser_);
            used = pos != nullptr && pos >= p && pos <= p + n ? size_t(pos - p) : 0;
        }
        if (used > 0) prev_byte_ = p[used - 1];
        if (in_head) head_bytes_ += used;
        off += used;

        if (err == HPE_OK) {
            if (in_head && limited) {
                // 414 only when the target itself is what overflowed.
                const bool in_target = !url_done_ && !request_.target.empty();
                fail(in_target ? 414 : 431,
                     in_target ? "request target too long" : "request head too large");
                return fail_result(off);
            }
            return {off, FeedResult::need_more};
        }
        if (err == HPE_PAUSED && !failed_) {
            llhttp_resume(&parser_);
            if (phase_ == Phase::ready) return {off, FeedResult::request_ready};
            // The head just ended; go on with the body (an empty tail still lets llhttp finish a
            // body-less message).
            continue;
        }
        if (!failed_)
            fail(status_for(err, llhttp_get_error_pos(&parser_), data + len),
                 llhttp_get_error_reason(&parser_));
        return fail_result(off);
    }
}

Request H1Parser::take_request() {
    Request r = std::move(request_);
    request_ = Request{};
    phase_ = Phase::head;
    return r;
}

int H1Parser::on_message_begin(llhttp_t* p) noexcept {
    H1Parser* h = self(p);
    h->request_ = Request{};
    h->current_method_.clear();
    h->field_name_.clear();
    h->field_value_.clear();
    h->url_done_ = false;
    h->body_bytes_ = 0;
    h->mid_request_ = true;
    return 0;
}

int H1Parser::on_url(llhttp_t* p, const char* at, size_t len) noexcept {
    H1Parser* h = self(p);
    if (h->request_.target.empty())
        h->current_method_ = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
    h->request_.target.append(at, len);
    return 0;
}

int H1Parser::on_url_complete(llhttp_t* p) noexcept {
    self(p)->url_done_ = true;
    return 0;
}

int H1Parser::on_header_field(llhttp_t* p, const char* at, size_t len) noexcept {
    H1Parser* h = self(p);
    if (h->phase_ != Phase::head) return on_body(p, at, len);  // chunked trailers: discarded
    h->field_name_.append(at, len);
    return 0;
}

int H1Parser::on_header_value(llhttp_t* p, const char* at, size_t len) noexcept {
    H1Parser* h = self(p);
    if (h->phase_ != Phase::head) return on_body(p, at, len);
    if (len > 0) {
        // llhttp hands an obs-fold continuation line over as a value piece starting right after
        // the line break. RFC 9112 5.2 lets a server reject it; accepting it invites smuggling.
        char before = at > h->exec_begin_ ? at[-1] : h->prev_byte_;
        if (before == '\n') return h->fail(400, "obsolete line folding");
    }
    h->field_value_.append(at, len);
    return 0;
}

int H1Parser::on_header_value_complete(llhttp_t* p) noexcept {
    H1Parser* h = self(p);
    if (h->phase_ != Phase::head) return 0;
    // llhttp lets whitespace before the colon into the name; RFC 9112 5.1 says reject.
    if (!is_token(h->field_name_)) return h->fail(400, "invalid header name");
    if (h->request_.headers.size() >= h->limits_.max_headers) {
        return h->fail(431, "too many headers");
    }
    h->request_.headers.add(std::move(h->field_name_), std::string(trim_ows(h->field_value_)));
    h->field_name_.clear();
    h->field_value_.clear();
    return 0;
}

int H1Parser::finish_head() noexcept {
    Request& r = request_;
    r.version_major = llhttp_get_http_major(&parser_);
    r.version_minor = llhttp_get_http_minor(&parser_);
    if (r.version_major != 1 || (r.version_minor != 0 && r.version_minor != 1)) {
        return fail(505, "unsupported HTTP version");
    }
    auto method = static_cast<llhttp_method_t>(llhttp_get_method(&parser_));
    r.method_name = llhttp_method_name(method);
    r.method = method == HTTP_GET    ? Method::get
               : method == HTTP_HEAD ? Method::head
                                     : Method::other;
    const bool is_connect = method == HTTP_CONNECT;
    current_method_ = r.method_name;
    if (!split_target(r.target, is_connect, r)) return fail(400, "invalid request target");

    // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
    size_t hosts = r.headers.count("Host");
    if (hosts > 1 || (r.version_minor == 1 && hosts == 0)) return fail(400, "bad Host header");
    // RFC 9112 6.1: HTTP/1.0 framing with Transfer-Encoding cannot be trusted.
    if (r.version_minor == 0 && r.headers.has("Transfer-Encoding")) {
        return fail(400, "Transfer-Encoding in HTTP/1.0");
    }
    // RFC 9112 6.1/7: the only transfer coding understood is chunked, alone, in one field.
    // Anything else ("identity, chunked", "gzip, chunked", two fields) frames the body in a way
    // another hop may read differently (request smuggling). 400, as llhttp answers "gzip".
    if (size_t tes = r.headers.count("Transfer-Encoding"); tes > 0) {
        const std::string* te = r.headers.get("Transfer-Encoding");
        if (tes > 1 || !iequals(*te, "chunked"))
            return fail(400, "only Transfer-Encoding: chunked is supported");
    }
    const bool has_body = (parser_.flags & (F_CHUNKED | F_TRANSFER_ENCODING)) != 0 ||
                          ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > 0);
    // RFC 9110 10.1.1: a client that sent "Expect: 100-continue" holds its body back until it
    // hears a 100 or a final answer, and this proxy sends no 100. A GET or HEAD body changes no
    // answer, so such a request is answered at its head too (else both sides wait: curl for a
    // second, other clients until the header timeout's 408).
    const bool expects_continue =
        has_body && r.version_minor == 1 && r.headers.has_token("Expect", "100-continue");
    if ((r.method == Method::other && has_body) || expects_continue) {
        // Refused (or answered) whatever its body holds: hand it over now; nothing after it can
        // be parsed.
        r.body_unread = true;
        r.keep_alive = false;
        r.upgrade_h2c = false;
        parser_.upgrade = 0;
        discarding_ = true;
        phase_ = Phase::ready;
        mid_request_ = false;
        head_bytes_ = 0;
        return HPE_PAUSED;
    }
    if ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > limits_.max_body_bytes) {
        return fail(413, "request body too large");
    }

    if (r.version_minor == 1) {
        r.keep_alive = !r.headers.has_token("Connection", "close");
    } else {
        r.keep_alive = r.headers.has_token("Connection", "keep-alive") &&
                       !r.headers.has_token("Connection", "close");
    }
    // After CONNECT the client would speak a tunnel, not HTTP; nothing more can be parsed.
    if (is_connect) r.keep_alive = false;
    r.upgrade_h2c = r.version_minor == 1 && r.headers.has_token("Upgrade", "h2c") &&
                    r.headers.has_token("Connection", "upgrade") &&
                    r.headers.count("HTTP2-Settings") == 1;
    // The protocol switch (if any) is the caller's decision; llhttp must keep parsing HTTP/1.
    parser_.upgrade = 0;
    phase_ = Phase::body;
    return HPE_PAUSED;
}

int H1Parser::on_headers_complete(llhttp_t* p) noexcept {
    return self(p)->finish_head();
}

int H1Parser::on_body(llhttp_t* p, const char*, size_t len) noexcept {
    H1Parser* h = self(p);
    h->body_bytes_ += len;
    if (h->body_bytes_ > h->limits_.max_body_bytes) return h->fail(413, "request body too large");
    return 0;
}

int H1Parser::on_message_complete(llhttp_t* p) noexcept {
    H1Parser* h = self(p);
    h->phase_ = Phase::ready;
    h->mid_request_ = false;
    h->head_bytes_ = 0;
    return HPE_PAUSED;
}

}  // namespace xs3::http
