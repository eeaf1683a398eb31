// Client access control from the configuration.
#include "xs3/app/client_access.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/base/unique_fd.hpp"

namespace xs3::app {

std::shared_ptr<const s3::SigV4Verifier> client_verifier(const config::Config& cfg,
                                                         std::vector<std::string> regions) {
    if (cfg.clients.empty()) return nullptr;
    std::vector<s3::ClientKey> keys;
    keys.reserve(cfg.clients.size());
    for (const auto& c : cfg.clients)
        keys.push_back({c.access_key_id, c.secret_access_key, c.buckets});
    s3::VerifyOptions o;
    for (auto& r : regions)
        if (std::find(o.regions.begin(), o.regions.end(), r) == o.regions.end())
            o.regions.push_back(std::move(r));
    return std::make_shared<const s3::SigV4Verifier>(std::move(keys), std::move(o));
}

net::CidrSet allowed_clients(const config::Config& cfg) {
    if (!cfg.allow_clients) return {};
    auto set = net::CidrSet::parse(*cfg.allow_clients);
    return set.ok() ? std::move(set).value() : net::CidrSet{};  // validated by the loader
}

Result<std::string> admin_token(const config::Config& cfg) {
    if (cfg.admin_token) return *cfg.admin_token;
    if (!cfg.admin_token_file) return std::string();
    const std::string& path = *cfg.admin_token_file;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return Status(Code::invalid_argument,
                      "--admin-token-file " + path + ": cannot open: " + std::strerror(errno));
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && text.size() < 65536)
        text.append(buf, static_cast<size_t>(n));
    std::string token = text.substr(0, text.find('\n'));
    if (!token.empty() && token.back() == '\r') token.pop_back();
    bool clean = std::all_of(token.begin(), token.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
    });
    if (!clean || token.size() < 16)
        return Status(Code::invalid_argument,
                      "--admin-token-file " + path +
                          ": the first line must be a token of at least 16 characters without "
                          "spaces or control characters");
    return token;
}

bool log_client_access(const config::Config& cfg) {
    if (!cfg.clients.empty() || cfg.allow_clients) {
        XS3_LOG_INFO("client access control", kv("clients", cfg.clients.size()),
                     kv("allow_clients", cfg.allow_clients.value_or("any")));
        return false;
    }
    if (net::is_loopback_literal(cfg.bind_ip)) return false;
    XS3_LOG_WARN(
        "listening beyond loopback with no client access control: anyone who can reach this "
        "port reads the buckets the proxy's credentials can read; add [[clients]] to the config "
        "file or set --allow-clients",
        kv("address", cfg.bind_ip), kv("port", cfg.port));
    return true;
}

}  // namespace xs3::app
