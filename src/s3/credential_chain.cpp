// The default credential chain: which source applies, start-up fetches, provider construction.
#include "xs3/s3/credential_chain.hpp"

#include <cstdlib>
#include <thread>

#include "xs3/s3/imds.hpp"
#include "xs3/s3/retry.hpp"
#include "xs3/s3/sts.hpp"

namespace xs3::s3 {
namespace {

// Fetches once, and again after transient failures (unreachable, 5xx, throttled), up to
// `attempts` times with jittered exponential backoff.
Result<Credentials> fetch_at_startup(CredentialSource& source, unsigned attempts,
                                     const ChainSystem& sys) {
    RetryOptions ro;
    ro.max_attempts = attempts;
    ro.base_delay = std::chrono::milliseconds(500);
    ro.max_delay = std::chrono::milliseconds(4000);
    RetryPolicy policy(ro);
    RetryState state(policy, nullptr);
    for (;;) {
        Result<Credentials> r = source.fetch();
        if (r.ok()) return r;
        RetryDecision d = state.on_failure(AttemptOutcome::failed(r.status()));
        if (!d.retry) return r;
        if (sys.sleep) sys.sleep(d.delay);
    }
}

Result<ChainResult> refreshing(std::unique_ptr<CredentialSource> source, const ChainOptions& o,
                               const ChainSystem& sys, std::string detail) {
    auto first = fetch_at_startup(*source, o.startup_attempts, sys);
    if (!first.ok()) return first.status();
    ChainResult r;
    r.provider = std::make_shared<RefreshingCredentialsProvider>(
        std::move(source), std::move(first).value(), o.refresh);
    r.detail = std::move(detail);
    return r;
}

ChainResult fixed(Credentials c, std::string name, std::string detail) {
    ChainResult r;
    r.provider = make_static_provider(std::move(c), std::move(name));
    r.detail = std::move(detail);
    return r;
}

Result<ChainResult> web_identity(WebIdentityConfig cfg, const ChainOptions& o,
                                 const ChainSystem& sys, const std::string& via) {
    cfg.sts_url = sts_endpoint_url(o.region, sys.getenv);
    cfg.ca_bundle = o.ca_bundle;
    std::string detail = "role " + cfg.role_arn + " via " + cfg.sts_url + " (" + via + ")";
    auto source = std::make_unique<WebIdentitySource>(std::move(cfg), sys.read_file, sys.http);
    return refreshing(std::move(source), o, sys, std::move(detail));
}

// Step 4: the profile. nullopt: the profile has no credentials (go on).
Result<std::optional<ChainResult>> from_profile(const ChainOptions& o, const ChainSystem& sys) {
    auto loaded = load_aws_profile(sys.getenv, sys.read_file);
    if (!loaded.ok()) return loaded.status();
    const AwsProfile& p = *loaded;
    if (!p.found) return std::optional<ChainResult>();
    auto has = [&](const char* key) {
        const std::string* v = p.get(key);
        return v != nullptr && !v->empty();
    };
    auto unsupported = [&](const std::string& what) {
        return Status(Code::invalid_argument,
                      p.describe() + " uses " + what +
                          ", which xs3lerator does not support; use static keys, web identity "
                          "(role_arn + web_identity_token_file), or another credential source");
    };
    if (has("credential_process")) return unsupported("credential_process");
    if (has("sso_session") || has("sso_start_url")) return unsupported("IAM Identity Center (SSO)");
    if (has("role_arn")) {
        if (has("source_profile") || has("credential_source"))
            return unsupported("role_arn with source_profile/credential_source (AssumeRole)");
        if (!has("web_identity_token_file"))
            return Status(Code::invalid_argument,
                          p.describe() + " sets role_arn without web_identity_token_file");
        WebIdentityConfig cfg;
        cfg.role_arn = *p.get("role_arn");
        cfg.token_file = *p.get("web_identity_token_file");
        if (has("role_session_name")) cfg.session_name = *p.get("role_session_name");
        auto r = web_identity(std::move(cfg), o, sys, p.describe());
        if (!r.ok()) return r.status();
        return std::optional<ChainResult>(std::move(r).value());
    }
    const bool id = has("aws_access_key_id");
    const bool secret = has("aws_secret_access_key");
    if (!id && !secret) return std::optional<ChainResult>();
    if (!id || !secret)
        return Status(Code::invalid_argument,
                      p.describe() + " sets " +
                          (id ? "aws_access_key_id but not aws_secret_access_key"
                              : "aws_secret_access_key but not aws_access_key_id"));
    Credentials c;
    c.access_key_id = *p.get("aws_access_key_id");
    c.secret_access_key = *p.get("aws_secret_access_key");
    if (has("aws_session_token")) c.session_token = *p.get("aws_session_token");
    for (auto [name, value] : {std::pair{"aws_access_key_id", &c.access_key_id},
                               std::pair{"aws_secret_access_key", &c.secret_access_key},
                               std::pair{"aws_session_token", &c.session_token}})
        if (Status st = check_credential_text(p.describe() + " " + name, *value); !st.ok())
            return st;
    return std::optional<ChainResult>(fixed(std::move(c), "profile", p.describe()));
}

}  // namespace

ChainSystem real_chain_system() {
    ChainSystem s;
    s.getenv = [](const char* name) { return std::getenv(name); };
    s.read_file = &read_small_file;
    s.http = &curl_fetch;
    s.resolve = &resolve_host;
    s.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    return s;
}

Result<ChainResult> resolve_credentials(const ChainOptions& o, const ChainSystem& sys) {
    if (o.anonymous) return fixed(Credentials{}, "anonymous", "anonymous = true");

    // 1. The configuration file.
    if (o.static_credentials) return fixed(*o.static_credentials, "config", "configuration file");

    // 2. The environment.
    auto env = credentials_from_env(sys.getenv);
    if (!env.ok()) return env.status();
    if (env.value()) return fixed(std::move(*env.value()), "environment", "AWS_ACCESS_KEY_ID");

    // 3. Web identity from the environment.
    const char* token_file = getenv_nonempty(sys.getenv, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char* role_arn = getenv_nonempty(sys.getenv, "AWS_ROLE_ARN");
    if (token_file != nullptr || role_arn != nullptr) {
        if (token_file == nullptr || role_arn == nullptr)
            return Status(Code::invalid_argument,
                          std::string(token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE is set but "
                                                   "AWS_ROLE_ARN is missing"
                                                 : "AWS_ROLE_ARN is set but "
                                                   "AWS_WEB_IDENTITY_TOKEN_FILE is missing"));
        WebIdentityConfig cfg;
        cfg.role_arn = role_arn;
        cfg.token_file = token_file;
        if (const char* name = getenv_nonempty(sys.getenv, "AWS_ROLE_SESSION_NAME"))
            cfg.session_name = name;
        return web_identity(std::move(cfg), o, sys, "AWS_WEB_IDENTITY_TOKEN_FILE");
    }

    // 4. The shared files.
    auto profile = from_profile(o, sys);
    if (!profile.ok()) return profile.status();
    if (profile.value()) return std::move(*profile.value());

    // 5. Container credentials.
    auto container = container_endpoint_from_env(sys.getenv, sys.resolve);
    if (!container.ok()) return container.status();
    if (container.value()) {
        std::string detail = (*container.value()).url;
        if (size_t q = detail.find('?'); q != std::string::npos) detail.resize(q);
        auto source = std::make_unique<ContainerSource>(std::move(*container.value()),
                                                        sys.read_file, sys.http);
        return refreshing(std::move(source), o, sys, std::move(detail));
    }

    // 6. IMDS: falls through when it is off, unreachable or has no role.
    std::vector<std::string> notes;
    ImdsState imds = ImdsState::disabled;
    auto imds_options = imds_options_from_env(sys.getenv);
    if (!imds_options.ok()) return imds_options.status();
    if (imds_options.value()) {
        auto source = std::make_unique<ImdsSource>(*imds_options.value(), sys.http);
        auto first = source->fetch();  // the SDKs' single short attempt
        if (first.ok()) {
            ChainResult r;
            r.provider = std::make_shared<RefreshingCredentialsProvider>(
                std::move(source), std::move(first).value(), o.refresh);
            r.detail = imds_options.value()->endpoint;
            r.imds = ImdsState::reached;
            return r;
        }
        const Code c = first.status().code();
        imds = (c == Code::timeout || c == Code::unavailable) ? ImdsState::unreachable
                                                              : ImdsState::reached;
        notes.push_back(first.status().message());
    } else {
        notes.push_back("instance metadata (IMDS): off (AWS_EC2_METADATA_DISABLED)");
    }

    // 7. Nothing found.
    if (o.anonymous_fallback) {
        ChainResult r =
            fixed(Credentials{}, "anonymous", "no credentials found; anonymous_fallback = true");
        r.notes = std::move(notes);
        r.imds = imds;
        return r;
    }
    std::string msg =
        "no AWS credentials found: tried the configuration file, AWS_ACCESS_KEY_ID, web identity "
        "(AWS_WEB_IDENTITY_TOKEN_FILE), the shared files' profile, container credentials "
        "(AWS_CONTAINER_CREDENTIALS_*) and instance metadata";
    for (const std::string& n : notes)
        msg += "; " + n;
    msg +=
        ". For unsigned requests (public buckets) use --anonymous (anonymous = true in the "
        "--config file), or --anonymous-fallback (anonymous_fallback = true) to allow them when "
        "nothing is found";
    return Status(Code::not_found, msg);
}

}  // namespace xs3::s3
