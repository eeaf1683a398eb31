// IMDSv2: configuration from the environment, the token dance, credentials and region.
#include "xs3/s3/imds.hpp"

#include "xs3/base/ascii.hpp"
#include "xs3/s3/credential_document.hpp"
#include "xs3/s3/strings.hpp"
#include "xs3/s3/url.hpp"

namespace xs3::s3 {
namespace {

constexpr std::string_view kSource = "instance metadata (IMDS)";

Status imds_error(Code code, const std::string& what) {
    return Status(code, std::string(kSource) + ": " + what);
}

}  // namespace

Result<std::optional<ImdsOptions>> imds_options_from_env(const GetenvFn& getenv_fn) {
    if (const char* off = getenv_nonempty(getenv_fn, "AWS_EC2_METADATA_DISABLED");
        off != nullptr && ascii_lowercase(off) == "true")
        return std::optional<ImdsOptions>();
    ImdsOptions o;
    if (const char* ep = getenv_nonempty(getenv_fn, "AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        std::string url = ep;
        while (!url.empty() && url.back() == '/')
            url.pop_back();
        auto parsed = parse_endpoint_url(url);
        if (!parsed.ok())
            return Status(Code::invalid_argument,
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT: " + parsed.status().message());
        o.endpoint = url;
    } else if (const char* mode =
                   getenv_nonempty(getenv_fn, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")) {
        const std::string m = ascii_lowercase(mode);
        if (m == "ipv6")
            o.endpoint = "http://[fd00:ec2::254]";
        else if (m != "ipv4")
            return Status(Code::invalid_argument,
                          std::string("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: '") + mode +
                              "' is neither IPv4 nor IPv6");
    }
    auto whole = [&](const char* var, unsigned max, unsigned& out) -> Status {
        const char* v = getenv_nonempty(getenv_fn, var);
        if (v == nullptr) return {};
        unsigned n = 0;
        for (const char* p = v; *p != '\0'; ++p) {
            if (*p < '0' || *p > '9' || n > max) {
                n = max + 1;
                break;
            }
            n = n * 10 + static_cast<unsigned>(*p - '0');
        }
        if (n < 1 || n > max)
            return Status(Code::invalid_argument, std::string(var) + ": '" + v +
                                                      "' is not a whole number in 1.." +
                                                      std::to_string(max));
        out = n;
        return {};
    };
    unsigned seconds = 1;
    if (Status st = whole("AWS_METADATA_SERVICE_TIMEOUT", 60, seconds); !st.ok()) return st;
    o.timeout = std::chrono::seconds(seconds);
    if (Status st = whole("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 10, o.attempts); !st.ok()) return st;
    return std::optional<ImdsOptions>(std::move(o));
}

ImdsClient::ImdsClient(ImdsOptions options, HttpFetcher http)
    : options_(std::move(options)), http_(std::move(http)) {}

Result<FetchResponse> ImdsClient::call(const FetchRequest& request) {
    for (unsigned attempt = 1;; ++attempt) {
        auto answer = http_(request);
        const bool transport = !answer.ok() && (answer.status().code() == Code::timeout ||
                                                answer.status().code() == Code::unavailable);
        if (!transport || attempt >= options_.attempts) return answer;
    }
}

Status ImdsClient::fetch_token() {
    FetchRequest r;
    r.method = "PUT";
    r.url = options_.endpoint + "/latest/api/token";
    r.connect_timeout = options_.timeout;
    r.timeout = options_.timeout;
    r.use_proxy_env = false;
    r.max_response_bytes = 4096;
    r.headers = {
        {"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(options_.token_ttl.count())}};
    const auto asked_at = std::chrono::steady_clock::now();
    auto answer = call(r);
    if (!answer.ok()) return imds_error(answer.status().code(), answer.status().message());
    if (answer->status != 200)
        return imds_error(answer->status == 403 ? Code::access_denied : Code::unavailable,
                          "the IMDSv2 token request was answered " +
                              std::to_string(answer->status) +
                              (answer->status == 403 ? " (IMDS is disabled for this instance)"
                                                     : " (IMDSv1 is never used)"));
    const std::string_view token = trim_space(answer->body);
    if (token.empty()) return imds_error(Code::unavailable, "the IMDSv2 token is empty");
    token_ = std::string(token);
    // Renew a minute early so a request never carries a token that expires on the way.
    auto ttl = std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.token_ttl);
    token_expires_ =
        asked_at + (ttl > std::chrono::minutes(2) ? ttl - std::chrono::minutes(1) : ttl / 2);
    return {};
}

Result<std::string> ImdsClient::get(const std::string& path) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (token_.empty() || std::chrono::steady_clock::now() >= token_expires_) {
            Status st = fetch_token();
            if (!st.ok()) return st;
        }
        FetchRequest r;
        r.url = options_.endpoint + path;
        r.connect_timeout = options_.timeout;
        r.timeout = options_.timeout;
        r.use_proxy_env = false;
        r.max_response_bytes = 64 * 1024;
        r.headers = {{"X-aws-ec2-metadata-token", token_}};
        auto answer = call(r);
        if (!answer.ok()) return imds_error(answer.status().code(), answer.status().message());
        if (answer->status == 401 && attempt == 0) {
            token_.clear();  // IMDS no longer knows the token: get a new one, once
            continue;
        }
        if (answer->status == 404) return imds_error(Code::not_found, path + " does not exist");
        if (answer->status != 200)
            return imds_error(Code::unavailable,
                              "GET " + path + " was answered " + std::to_string(answer->status));
        return std::move(answer->body);
    }
    return imds_error(Code::unavailable, "GET " + path + " was refused with a fresh token");
}

Result<std::string> ImdsClient::role_name() {
    auto list = get("/latest/meta-data/iam/security-credentials/");
    if (!list.ok()) {
        if (list.status().code() == Code::not_found)
            return imds_error(Code::not_found, "the instance has no IAM role (instance profile)");
        return list.status();
    }
    std::string_view rest = *list;
    while (!rest.empty()) {
        const size_t eol = rest.find('\n');
        const std::string_view line = trim_space(rest.substr(0, eol));
        if (!line.empty()) return std::string(line);
        if (eol == std::string_view::npos) break;
        rest.remove_prefix(eol + 1);
    }
    return imds_error(Code::not_found, "the instance has no IAM role (instance profile)");
}

Result<Credentials> ImdsClient::credentials() {
    auto role = role_name();
    if (!role.ok()) return role.status();
    if (role->find('/') != std::string::npos || role->find("..") != std::string::npos)
        return imds_error(Code::invalid_argument, "the role name is not a path segment");
    auto doc = get("/latest/meta-data/iam/security-credentials/" + *role);
    if (!doc.ok()) return doc.status();
    CredentialDocumentRules rules;
    rules.require_token = true;
    rules.require_expiration = true;
    return parse_credential_document(*doc, kSource, std::chrono::system_clock::now(), rules);
}

Result<std::string> ImdsClient::region() {
    auto r = get("/latest/meta-data/placement/region");
    if (!r.ok()) return r.status();
    return std::string(trim_space(*r));
}

ImdsSource::ImdsSource(ImdsOptions options, HttpFetcher http)
    : client_(std::move(options), std::move(http)) {}

}  // namespace xs3::s3
