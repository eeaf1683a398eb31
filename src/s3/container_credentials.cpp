// ECS / EKS Pod Identity credential endpoints: configuration from the environment, the host
// allow-list, and the credential source.
#include "xs3/s3/container_credentials.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

#include "xs3/s3/credential_document.hpp"
#include "xs3/s3/strings.hpp"
#include "xs3/s3/url.hpp"

namespace xs3::s3 {
namespace {

constexpr const char* kEcsHost = "http://169.254.170.2";
constexpr std::string_view kSource = "container credentials";

Status config_error(const std::string& what) {
    return Status(Code::invalid_argument, "AWS_CONTAINER_CREDENTIALS_FULL_URI: " + what);
}

}  // namespace

Result<std::vector<std::string>> resolve_host(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0)
        return Status(Code::unavailable, "cannot resolve " + host + ": " + gai_strerror(rc));
    std::vector<std::string> out;
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {};
        const void* addr =
            a->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (inet_ntop(a->ai_family, addr, buf, sizeof buf) != nullptr) out.emplace_back(buf);
    }
    freeaddrinfo(res);
    return out;
}

bool is_allowed_container_address(const std::string& address) {
    std::string a = address;
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
    in_addr v4{};
    if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
        const uint32_t ip = ntohl(v4.s_addr);
        if ((ip >> 24) == 127) return true;  // 127.0.0.0/8
        return ip == 0xA9FEAA02 /* 169.254.170.2 */ || ip == 0xA9FEAA17 /* 169.254.170.23 */;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, a.c_str(), &v6) != 1) return false;
    static const in6_addr eks = [] {
        in6_addr x{};
        inet_pton(AF_INET6, "fd00:ec2::23", &x);
        return x;
    }();
    if (IN6_IS_ADDR_LOOPBACK(&v6) || std::memcmp(&v6, &eks, sizeof v6) == 0) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        char buf[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &v6.s6_addr[12], buf, sizeof buf);
        return is_allowed_container_address(buf);
    }
    return false;
}

Result<std::optional<ContainerEndpoint>> container_endpoint_from_env(const GetenvFn& getenv_fn,
                                                                     const ResolveFn& resolve) {
    ContainerEndpoint ep;
    if (const char* t = getenv_nonempty(getenv_fn, "AWS_CONTAINER_AUTHORIZATION_TOKEN"))
        ep.auth_token = t;
    if (const char* f = getenv_nonempty(getenv_fn, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
        ep.auth_token_file = f;
    if (const char* rel = getenv_nonempty(getenv_fn, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        std::string_view r = rel;
        ep.url = std::string(kEcsHost) + (r.front() == '/' ? "" : "/") + std::string(r);
        return std::optional<ContainerEndpoint>(std::move(ep));
    }
    const char* full = getenv_nonempty(getenv_fn, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (full == nullptr) return std::optional<ContainerEndpoint>();
    const std::string_view url = full;
    const size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return config_error("not an http(s) URL");
    const size_t auth_end = url.find_first_of("/?#", scheme_end + 3);
    auto origin = parse_endpoint_url(url.substr(0, auth_end));
    if (!origin.ok()) return config_error(origin.status().message());
    if (origin->scheme == "http") {
        std::vector<std::string> addresses;
        if (is_ip_literal(origin->host)) {
            addresses.push_back(origin->host);
        } else {
            auto resolved = resolve(origin->host);
            if (!resolved.ok()) return config_error(resolved.status().message());
            addresses = std::move(resolved).value();
        }
        if (addresses.empty()) return config_error(origin->host + " resolves to no address");
        for (const std::string& a : addresses)
            if (!is_allowed_container_address(a))
                return config_error(
                    "plain http is only allowed to loopback addresses and the "
                    "ECS/EKS agents (169.254.170.2, 169.254.170.23, "
                    "fd00:ec2::23); " +
                    origin->host + " is " + a + "; use https");
    }
    ep.url = std::string(url);
    return std::optional<ContainerEndpoint>(std::move(ep));
}

ContainerSource::ContainerSource(ContainerEndpoint endpoint, ReadFileFn read_file, HttpFetcher http)
    : endpoint_(std::move(endpoint)), read_file_(std::move(read_file)), http_(std::move(http)) {}

Result<Credentials> ContainerSource::fetch() {
    FetchRequest r;
    r.url = endpoint_.url;
    r.connect_timeout = endpoint_.connect_timeout;
    r.timeout = endpoint_.timeout;
    r.use_proxy_env = false;
    r.max_response_bytes = 64 * 1024;
    std::string token = endpoint_.auth_token;
    if (!endpoint_.auth_token_file.empty()) {
        auto text = read_file_(endpoint_.auth_token_file);
        if (!text.ok())
            return Status(Code::unavailable, std::string(kSource) + ": token file " +
                                                 endpoint_.auth_token_file + ": " +
                                                 text.status().message());
        if (!text.value())
            return Status(Code::unavailable, std::string(kSource) + ": token file " +
                                                 endpoint_.auth_token_file + " does not exist");
        token = std::string(trim_space(**text));
    }
    if (token.find_first_of("\r\n") != std::string::npos)
        return Status(Code::invalid_argument,
                      std::string(kSource) + ": the authorization token contains a line break");
    if (!token.empty()) r.headers.emplace_back("Authorization", token);
    auto answer = http_(r);
    if (!answer.ok())
        return Status(answer.status().code(),
                      std::string(kSource) + ": " + answer.status().message());
    if (answer->status != 200) {
        std::string what = std::string(kSource) + ": HTTP " + std::to_string(answer->status);
        std::string summary = credential_error_summary(answer->body);
        if (!summary.empty()) what += " (" + summary + ")";
        const bool retryable = answer->status >= 500 || answer->status == 429;
        return Status(retryable ? Code::unavailable : Code::access_denied, what);
    }
    return parse_credential_document(answer->body, kSource, std::chrono::system_clock::now());
}

}  // namespace xs3::s3
