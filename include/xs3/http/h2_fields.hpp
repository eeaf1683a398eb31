// HTTP/2 field lists <-> the shared request/response model: H2RequestBuilder turns the decoded
// fields of one request header block (pseudo-headers first) into an http::Request, and
// h2_response_fields turns a ResponseHead into the ":status + lowercase fields" list HTTP/2 sends,
// without the connection-specific fields HTTP/2 forbids.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"

namespace xs3::http {

class H2RequestBuilder {
  public:
    // `max_list_size` bounds the header list as RFC 9113 counts it (name + value + 32 per field,
    // pseudo-headers included); beyond it fields are counted but no longer stored.
    explicit H2RequestBuilder(size_t max_list_size) : max_list_size_(max_list_size) {}

    void add(std::string_view name, std::string_view value);

    size_t list_size() const noexcept { return list_size_; }
    bool oversized() const noexcept { return list_size_ > max_list_size_; }

    // The request, or invalid_argument naming what makes it malformed (RFC 9113 8.3): a missing,
    // repeated or unknown pseudo-header, a pseudo-header after a regular field, an empty or
    // fragment-carrying :path, or a Host that differs from :authority. Method GET/HEAD map to
    // Method::get/head (case-sensitive), anything else to Method::other; version is 2.0;
    // :authority becomes the `host` field; cookie crumbs are joined with "; " (RFC 9113 8.2.3).
    Result<Request> finish();

  private:
    size_t max_list_size_;
    size_t list_size_ = 0;
    Request request_;
    std::string authority_;
    std::string cookie_;
    std::string error_;
    bool have_method_ = false;
    bool have_path_ = false;
    bool have_scheme_ = false;
    bool have_authority_ = false;
    bool have_cookie_ = false;
    bool regular_seen_ = false;
};

// Removes the fields HTTP/2 forbids (RFC 9113 8.2.2): Connection, Keep-Alive, Proxy-Connection,
// Transfer-Encoding, Upgrade, TE, and every field Connection names. For an HTTP/1.1 request that
// continues as HTTP/2 (Upgrade: h2c).
void remove_connection_fields(Headers& headers);

struct H2Field {
    std::string name;
    std::string value;
};

// Fills `out` with ":status" and then the head's fields with lowercase names and values trimmed of
// OWS (HTTP/2 forbids leading/trailing whitespace). Dropped silently: what
// remove_connection_fields removes. Dropped and
// counted (the return value, for the caller to log): fields failing valid_field_name or
// valid_field_value. A status outside 200..999 is sent as 500: HTTP/2 has no 101, and an interim
// 1xx is not a response.
size_t h2_response_fields(const ResponseHead& head, std::vector<H2Field>& out);

}  // namespace xs3::http
