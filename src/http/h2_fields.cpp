// H2RequestBuilder and h2_response_fields.
#include "xs3/http/h2_fields.hpp"

namespace xs3::http {

namespace {

// RFC 9113 4.3.1 / RFC 7541 4.1: the size of a field entry.
constexpr size_t field_overhead = 32;

bool is_connection_specific(std::string_view name) noexcept {
    return iequals(name, "connection") || iequals(name, "keep-alive") ||
           iequals(name, "proxy-connection") || iequals(name, "transfer-encoding") ||
           iequals(name, "upgrade") || iequals(name, "te");
}

bool named_by_connection(const Headers& headers, std::string_view name) {
    for (const auto& f : headers) {
        if (iequals(f.name, "connection") && list_has_token(f.value, name)) return true;
    }
    return false;
}

bool is_connection_field(const Headers& headers, std::string_view name) {
    return is_connection_specific(name) || named_by_connection(headers, name);
}

}  // namespace

void remove_connection_fields(Headers& headers) {
    Headers kept;
    for (const auto& f : headers) {
        if (!is_connection_field(headers, f.name)) kept.add(f.name, f.value);
    }
    headers = std::move(kept);
}

void H2RequestBuilder::add(std::string_view name, std::string_view value) {
    list_size_ += name.size() + value.size() + field_overhead;
    if (oversized() || !error_.empty()) return;

    if (!name.empty() && name.front() == ':') {
        if (regular_seen_) {
            error_ = "pseudo-header after a regular field";
            return;
        }
        auto once = [&](bool& seen) {
            if (seen) error_ = std::string("repeated ") + std::string(name);
            seen = true;
            return error_.empty();
        };
        if (name == ":method") {
            if (!once(have_method_)) return;
            request_.method_name = std::string(value);
        } else if (name == ":path") {
            if (!once(have_path_)) return;
            request_.target = std::string(value);
        } else if (name == ":scheme") {
            if (!once(have_scheme_)) return;
            if (value.empty()) error_ = "empty :scheme";
        } else if (name == ":authority") {
            if (!once(have_authority_)) return;
            authority_ = std::string(value);
        } else {
            // The name goes into log lines: keep it short.
            error_ = std::string("unknown pseudo-header ") + std::string(name.substr(0, 32));
        }
        return;
    }
    regular_seen_ = true;
    if (iequals(name, "cookie")) {
        if (have_cookie_) cookie_ += "; ";
        cookie_ += value;
        have_cookie_ = true;
        return;
    }
    if (iequals(name, "host") && have_authority_) {
        if (!iequals(value, authority_)) error_ = "host differs from :authority";
        return;  // the :authority value already stands for it
    }
    request_.headers.add(std::string(name), std::string(value));
}

Result<Request> H2RequestBuilder::finish() {
    if (oversized()) return Status(Code::out_of_range, "header list too large");
    if (!error_.empty()) return Status(Code::invalid_argument, error_);
    if (!have_method_ || request_.method_name.empty()) {
        return Status(Code::invalid_argument, "missing :method");
    }
    Request r = std::move(request_);
    const bool is_connect = r.method_name == "CONNECT";
    if (is_connect) {
        // RFC 9113 8.5: CONNECT carries only :method and :authority.
        if (have_path_ || have_scheme_) {
            return Status(Code::invalid_argument, ":path or :scheme in CONNECT");
        }
        if (authority_.empty()) return Status(Code::invalid_argument, "CONNECT without :authority");
        r.target = authority_;
    } else {
        if (!have_scheme_) return Status(Code::invalid_argument, "missing :scheme");
        if (!have_path_) return Status(Code::invalid_argument, "missing :path");
        const std::string& t = r.target;
        if (t.empty()) return Status(Code::invalid_argument, "empty :path");
        if (t.find('#') != std::string::npos) {
            return Status(Code::invalid_argument, "fragment in :path");
        }
        if (t == "*") {
            if (r.method_name != "OPTIONS") {
                return Status(Code::invalid_argument, ":path * without OPTIONS");
            }
            r.path = "*";
        } else if (t.front() != '/') {
            return Status(Code::invalid_argument, ":path not in origin-form");
        } else {
            size_t q = t.find('?');
            r.path = t.substr(0, q);
            if (q != std::string::npos) r.query = t.substr(q + 1);
        }
    }
    r.method = r.method_name == "GET"    ? Method::get
               : r.method_name == "HEAD" ? Method::head
                                         : Method::other;
    if (have_authority_) {
        // Host first, where HTTP/1.1 clients put it.
        Headers with_host;
        with_host.add("host", std::move(authority_));
        for (const auto& f : r.headers)
            with_host.add(f.name, f.value);
        r.headers = std::move(with_host);
    }
    if (have_cookie_) r.headers.add("cookie", std::move(cookie_));
    r.version_major = 2;
    r.version_minor = 0;
    r.keep_alive = true;
    r.upgrade_h2c = false;
    return r;
}

size_t h2_response_fields(const ResponseHead& head, std::vector<H2Field>& out) {
    out.clear();
    int status = head.status >= 200 && head.status <= 999 ? head.status : 500;
    out.push_back({":status", std::to_string(status)});
    size_t dropped = 0;
    for (const auto& f : head.headers) {
        if (is_connection_field(head.headers, f.name)) continue;
        std::string_view value = trim_ows(f.value);
        if (!valid_field_name(f.name) || !valid_field_value(value)) {
            ++dropped;
            continue;
        }
        out.push_back({ascii_lowercase(f.name), std::string(value)});
    }
    return dropped;
}

}  // namespace xs3::http
