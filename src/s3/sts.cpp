// STS AssumeRoleWithWebIdentity: request building, response parsing and the credential source.
#include "xs3/s3/sts.hpp"

#include "xs3/s3/retry.hpp"
#include "xs3/s3/sigv4.hpp"
#include "xs3/s3/strings.hpp"
#include "xs3/s3/url.hpp"
#include "xs3/s3/xml.hpp"

namespace xs3::s3 {
namespace {

Status sts_error(const std::string& what) {
    return Status(Code::unavailable, "STS AssumeRoleWithWebIdentity: " + what);
}

}  // namespace

std::string sts_endpoint_url(std::string_view region, const GetenvFn& getenv_fn) {
    std::string url;
    if (auto configured = endpoint_url_from_env(getenv_fn, "STS")) {
        url = *configured;
    } else if (region.empty()) {
        url = "https://sts.amazonaws.com";
    } else {
        url = "https://sts." + std::string(region) + "." + std::string(aws_dns_suffix(region));
    }
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    return url;
}

std::string default_session_name(std::chrono::system_clock::time_point now) {
    return "xs3lerator-" +
           std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

FetchRequest build_web_identity_request(const WebIdentityConfig& config, std::string_view token) {
    FetchRequest r;
    r.method = "POST";
    r.url = config.sts_url + "/";
    r.connect_timeout = config.connect_timeout;
    r.timeout = config.timeout;
    r.ca_bundle = config.ca_bundle;
    r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"Accept", "application/xml"}};
    const std::pair<std::string_view, std::string_view> fields[] = {
        {"Action", "AssumeRoleWithWebIdentity"},
        {"Version", "2011-06-15"},
        {"RoleArn", config.role_arn},
        {"RoleSessionName", config.session_name},
        {"WebIdentityToken", token},
    };
    for (const auto& [name, value] : fields) {
        if (!r.body.empty()) r.body += '&';
        r.body += name;
        r.body += '=';
        r.body += sigv4_uri_encode(value);
    }
    return r;
}

Result<Credentials> parse_web_identity_response(const FetchResponse& response,
                                                std::chrono::system_clock::time_point now) {
    const std::string_view body = response.body;
    if (response.status < 200 || response.status > 299) {
        const std::optional<std::string_view> error = xml_element(body, "Error");
        const std::string code = error ? xml_child_text(*error, "Code") : std::string();
        std::string message = error ? xml_child_text(*error, "Message") : std::string();
        if (message.size() > 300) message.resize(300);
        std::string what = "HTTP " + std::to_string(response.status);
        if (!code.empty()) what += " " + code;
        if (!message.empty()) what += ": " + message;
        const RetryKind kind = RetryPolicy::classify(AttemptOutcome::http(response.status, code));
        Status st = sts_error(what);
        return kind == RetryKind::none ? Status(Code::access_denied, st.message()) : st;
    }
    const std::optional<std::string_view> result =
        xml_element(body, "AssumeRoleWithWebIdentityResult");
    if (!result) return sts_error("the answer has no AssumeRoleWithWebIdentityResult");
    const std::optional<std::string_view> creds = xml_element(*result, "Credentials");
    if (!creds) return sts_error("the answer has no Credentials");
    Credentials c;
    struct Field {
        const char* name;
        std::string* into;
    };
    std::string expiration;
    for (const Field& f :
         {Field{"AccessKeyId", &c.access_key_id}, Field{"SecretAccessKey", &c.secret_access_key},
          Field{"SessionToken", &c.session_token}, Field{"Expiration", &expiration}}) {
        *f.into = std::string(trim_space(xml_child_text(*creds, f.name)));
        if (f.into->empty()) return sts_error(std::string("the answer has no ") + f.name);
    }
    auto t = parse_iso8601(expiration);
    if (!t.ok()) return sts_error("Expiration: " + t.status().message());
    if (*t <= now)
        return sts_error("the credentials expired at " + format_iso8601(*t) +
                         " (the clock here says " + format_iso8601(now) + ")");
    c.expiration = *t;
    return c;
}

WebIdentitySource::WebIdentitySource(WebIdentityConfig config, ReadFileFn read_file,
                                     HttpFetcher http)
    : config_(std::move(config)), read_file_(std::move(read_file)), http_(std::move(http)) {}

Result<Credentials> WebIdentitySource::fetch() {
    auto text = read_file_(config_.token_file);
    if (!text.ok())
        return Status(Code::unavailable, "web identity token file " + config_.token_file + ": " +
                                             text.status().message());
    if (!text.value())
        return Status(Code::unavailable,
                      "web identity token file " + config_.token_file + " does not exist");
    const std::string_view token = trim_space(**text);
    if (token.empty())
        return Status(Code::unavailable,
                      "web identity token file " + config_.token_file + " is empty");
    const auto now = std::chrono::system_clock::now();
    WebIdentityConfig cfg = config_;
    if (cfg.session_name.empty()) cfg.session_name = default_session_name(now);
    auto answer = http_(build_web_identity_request(cfg, token));
    if (!answer.ok())
        return Status(answer.status().code(),
                      "STS AssumeRoleWithWebIdentity: " + answer.status().message());
    return parse_web_identity_response(*answer, std::chrono::system_clock::now());
}

}  // namespace xs3::s3
