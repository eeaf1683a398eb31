// curl_fetch: one blocking libcurl easy transfer.
#include "xs3/s3/http_fetch.hpp"

#include <curl/curl.h>

#include <memory>

#include "xs3/base/ascii.hpp"
#include "xs3/s3/curl_client.hpp"
#include "xs3/s3/strings.hpp"

namespace xs3::s3 {
namespace {

struct Sink {
    FetchResponse* response;
    size_t limit;
    bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* userp) {
    auto* sink = static_cast<Sink*>(userp);
    const size_t len = size * n;
    if (sink->response->body.size() + len > sink->limit) {
        sink->too_large = true;
        return 0;  // aborts the transfer
    }
    sink->response->body.append(data, len);
    return len;
}

size_t on_header(char* data, size_t size, size_t n, void* userp) {
    auto* response = static_cast<FetchResponse*>(userp);
    const size_t len = size * n;
    std::string_view line(data, len);
    if (line.substr(0, 5) == "HTTP/") {
        response->headers.clear();  // a 1xx head before the real one
        return len;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    response->headers.emplace_back(ascii_lowercase(trim_space(line.substr(0, colon))),
                                   std::string(trim_space(line.substr(colon + 1))));
    return len;
}

std::string_view without_query(std::string_view url) {
    const size_t q = url.find('?');
    return q == std::string_view::npos ? url : url.substr(0, q);
}

struct EasyDeleter {
    void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct ListDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

const std::string* FetchResponse::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
        if (name == lower_name) return &value;
    return nullptr;
}

Result<FetchResponse> curl_fetch(const FetchRequest& request) {
    curl_global_setup();
    const std::string what = request.method + " " + std::string(without_query(request.url));
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) return Status(Code::internal, what + ": curl_easy_init failed");
    CURL* e = easy.get();
    FetchResponse response;
    Sink sink{&response, request.max_response_bytes};
    char error[CURL_ERROR_SIZE] = {};

    curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    if (!request.use_proxy_env) curl_easy_setopt(e, CURLOPT_PROXY, "");
    if (!request.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, request.ca_bundle.c_str());
    if (request.method == "GET") {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "POST" || request.method == "PUT") {
        // POSTFIELDS with an explicit size sends exactly these bytes (also none) and sets
        // Content-Length; CUSTOMREQUEST turns the POST into a PUT without curl's upload path.
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.c_str());
        if (request.method == "PUT") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    } else {
        return Status(Code::invalid_argument, what + ": unsupported method");
    }
    std::unique_ptr<curl_slist, ListDeleter> list;
    // curl_slist_append returns the list's head (a new one for an empty list), or null.
    auto append = [&list](const std::string& line) {
        curl_slist* head = curl_slist_append(list.get(), line.c_str());
        if (head == nullptr) return false;
        (void)list.release();
        list.reset(head);
        return true;
    };
    bool has_content_type = false;
    for (const auto& [name, value] : request.headers) {
        if (ascii_lowercase(name) == "content-type") has_content_type = true;
        if (!append(name + (value.empty() ? ";" : ": " + value)))
            return Status(Code::internal, what + ": curl_slist_append failed");
    }
    // curl would label a PUT's body application/x-www-form-urlencoded, and "Expect:
    // 100-continue" costs a round trip.
    if ((!has_content_type && request.method == "PUT" && !append("Content-Type:")) ||
        !append("Expect:"))
        return Status(Code::internal, what + ": curl_slist_append failed");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list.get());
    using DataFn = size_t (*)(char*, size_t, size_t, void*);
    DataFn body_fn = &on_body;
    DataFn header_fn = &on_header;
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_fn);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_fn);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &response);

    const CURLcode rc = curl_easy_perform(e);
    if (sink.too_large)
        return Status(Code::unavailable, what + ": response larger than " +
                                             std::to_string(request.max_response_bytes) + " bytes");
    if (rc != CURLE_OK) {
        const Code code = rc == CURLE_OPERATION_TIMEDOUT ? Code::timeout : Code::unavailable;
        std::string msg = what + ": ";
        msg += error[0] != '\0' ? error : curl_easy_strerror(rc);
        return Status(code, msg);
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

}  // namespace xs3::s3
