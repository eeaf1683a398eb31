// The default chain picks the right source, in the SDKs' order, with fake environment, files and
// HTTP; and region resolution.
#include "xs3/s3/credential_chain.hpp"

#include <doctest/doctest.h>

#include "fakes.hpp"
#include "xs3/s3/region.hpp"

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

constexpr const char* kImds = "http://169.254.169.254";

std::string expires_in(std::chrono::seconds s) {
    return format_iso8601(system_clock::now() + s);
}

std::string sts_ok(const std::string& id) {
    return "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
           "<AccessKeyId>" +
           id +
           "</AccessKeyId><SecretAccessKey>STS-SECRET</SecretAccessKey>"
           "<SessionToken>STS-TOKEN</SessionToken><Expiration>" +
           expires_in(3600s) +
           "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
           "</AssumeRoleWithWebIdentityResponse>";
}

std::string json_doc(const std::string& id) {
    return R"({"Code":"Success","AccessKeyId":")" + id +
           R"(","SecretAccessKey":"JSON-SECRET","Token":"JSON-TOKEN","Expiration":")" +
           expires_in(3600s) + "\"}";
}

// One fake "network": STS on sts.*, container endpoints on 127.0.0.1:9999, IMDS on 169.254.169.254.
struct World {
    Vars env;
    FakeFiles files;
    FakeHttp http;
    int sleeps = 0;
    long container_status = 200;
    int container_failures = 0;  // the first N container calls answer 503
    bool imds_up = false;

    World() {
        http = FakeHttp([this](const FetchRequest& r) -> Result<FetchResponse> {
            if (r.url.find("sts") != std::string::npos || r.url.find(":7777") != std::string::npos)
                return answer(200, sts_ok("ASIASTS"));
            if (r.url.find("127.0.0.1:9999") != std::string::npos) {
                if (container_failures > 0) {
                    --container_failures;
                    return answer(503, "");
                }
                return answer(container_status, container_status == 200 ? json_doc("ASIACONT")
                                                                        : R"({"code":"Denied"})");
            }
            if (r.url.rfind(kImds, 0) == 0 && imds_up) {
                if (r.method == "PUT") return answer(200, "imds-token");
                if (r.url.find("/security-credentials/role") != std::string::npos)
                    return answer(200, json_doc("ASIAIMDS"));
                if (r.url.find("/security-credentials/") != std::string::npos)
                    return answer(200, "role");
            }
            return Status(Code::timeout, r.method + " " + r.url + ": Connection timed out");
        });
    }

    ChainSystem system() {
        ChainSystem s;
        s.getenv = fake_env(env);
        s.read_file = files.fn();
        s.http = http.fn();
        s.resolve = fake_resolver({{"localhost", {"127.0.0.1"}}});
        s.sleep = [this](std::chrono::milliseconds) { ++sleeps; };
        return s;
    }

    Result<ChainResult> resolve(ChainOptions o = {}) { return resolve_credentials(o, system()); }
    std::vector<std::string> urls() const {
        std::vector<std::string> out;
        for (const auto& r : http.requests())
            out.push_back(r.url);
        return out;
    }
};

std::string error_of(World& w, ChainOptions o = {}) {
    auto r = w.resolve(o);
    REQUIRE_FALSE(r.ok());
    for (const char* secret : {"STS-SECRET", "JSON-SECRET", "ENV-SECRET", "FILE-SECRET"})
        CHECK(r.status().message().find(secret) == std::string::npos);
    return r.status().message();
}

}  // namespace

TEST_CASE("chain: anonymous = true consults nothing") {
    World w;
    w.env = {{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "ENV-SECRET"}};
    ChainOptions o;
    o.anonymous = true;
    auto r = w.resolve(o);
    REQUIRE(r.ok());
    CHECK(r->provider->name() == "anonymous");
    CHECK(r->provider->current()->anonymous());
    CHECK(w.http.count() == 0);
    CHECK(w.files.reads->empty());
}

TEST_CASE("chain: configuration-file keys, then the environment") {
    World w;
    w.env = {{"AWS_ACCESS_KEY_ID", "ENVKEY"},
             {"AWS_SECRET_ACCESS_KEY", "ENV-SECRET"},
             {"AWS_SESSION_TOKEN", "ENV-TOKEN"}};
    ChainOptions o;
    Credentials cfg;
    cfg.access_key_id = "CFGKEY";
    cfg.secret_access_key = "CFG-SECRET";
    o.static_credentials = cfg;
    auto a = w.resolve(o);
    REQUIRE(a.ok());
    CHECK(a->provider->name() == "config");
    CHECK(a->provider->current()->access_key_id == "CFGKEY");

    auto b = w.resolve();
    REQUIRE(b.ok());
    CHECK(b->provider->name() == "environment");
    CHECK(b->provider->current()->session_token == "ENV-TOKEN");
    CHECK(w.http.count() == 0);
    CHECK(w.files.reads->empty());

    w.env = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}};
    CHECK(error_of(w) == "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing");
}

TEST_CASE("chain: web identity from the environment, regional STS, refreshing provider") {
    World w;
    w.files.set("/token", "jwt-token");
    w.env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/token"},
             {"AWS_ROLE_ARN", "arn:aws:iam::1:role/cache"},
             {"AWS_ROLE_SESSION_NAME", "node-7"},
             // A later source that must not be reached.
             {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9999/creds"}};
    ChainOptions o;
    o.region = "eu-west-1";
    auto r = w.resolve(o);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->provider->name() == "web-identity");
    auto c = r->provider->current();
    CHECK(c->access_key_id == "ASIASTS");
    CHECK(c->session_token == "STS-TOKEN");
    CHECK(c->expiration.has_value());
    CHECK(w.urls() == std::vector<std::string>{"https://sts.eu-west-1.amazonaws.com/"});
    auto req = w.http.requests()[0];
    CHECK(req.body.find("RoleSessionName=node-7") != std::string::npos);
    CHECK(req.body.find("WebIdentityToken=jwt-token") != std::string::npos);
    CHECK(r->detail ==
          "role arn:aws:iam::1:role/cache via https://sts.eu-west-1.amazonaws.com "
          "(AWS_WEB_IDENTITY_TOKEN_FILE)");
    CHECK(r->detail.find("jwt-token") == std::string::npos);

    w.env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:7777";
    auto local = w.resolve(o);
    REQUIRE(local.ok());
    CHECK(w.urls().back() == "http://127.0.0.1:7777/");

    w.env = {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/cache"}};
    CHECK(error_of(w) == "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is missing");
    w.env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/token"}};
    CHECK(error_of(w) == "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is missing");
}

TEST_CASE("chain: a configured source that fails stops the chain") {
    World w;
    w.env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/missing-token"}, {"AWS_ROLE_ARN", "arn:r"}};
    w.imds_up = true;  // must not be used instead
    std::string msg = error_of(w);
    CHECK(msg == "web identity token file /missing-token does not exist");
    CHECK(w.http.count() == 0);

    World denied;
    denied.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9999/creds"}};
    denied.container_status = 403;
    denied.imds_up = true;
    CHECK(error_of(denied) == "container credentials: HTTP 403 (Denied)");
    CHECK(denied.http.count() == 1);  // a 403 is not retried, and IMDS is not asked
}

TEST_CASE("chain: the profile's static keys and its web identity") {
    World w;
    w.env = {
        {"AWS_SHARED_CREDENTIALS_FILE", "/c"}, {"AWS_CONFIG_FILE", "/f"}, {"AWS_PROFILE", "p"}};
    w.files.set("/c",
                "[p]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILE-SECRET\n"
                "aws_session_token = FILE-TOKEN\n");
    w.files.set("/f", "[profile p]\nregion = eu-north-1\n");
    auto r = w.resolve();
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->provider->name() == "profile");
    CHECK(r->provider->current()->access_key_id == "FILEKEY");
    CHECK(r->provider->current()->session_token == "FILE-TOKEN");
    CHECK(r->detail == "profile 'p' (/c, /f)");

    w.files.set("/c", "[p]\naws_access_key_id = FILEKEY\n");
    CHECK(error_of(w) ==
          "profile 'p' (/c, /f) sets aws_access_key_id but not aws_secret_access_key");
    w.files.set("/c", "[p]\naws_secret_access_key = FILE-SECRET\n");
    CHECK(error_of(w) ==
          "profile 'p' (/c, /f) sets aws_secret_access_key but not aws_access_key_id");

    w.files.set("/c", "");
    w.files.set("/f",
                "[profile p]\nrole_arn = arn:aws:iam::1:role/x\nweb_identity_token_file = "
                "/jwt\nrole_session_name = from-profile\n");
    w.files.set("/jwt", "profile-jwt");
    auto wi = w.resolve();
    REQUIRE_MESSAGE(wi.ok(), wi.status().to_string());
    CHECK(wi->provider->name() == "web-identity");
    CHECK(w.http.requests().back().body.find("RoleSessionName=from-profile") != std::string::npos);
    CHECK(w.urls().back() == "https://sts.amazonaws.com/");  // no region: the global endpoint

    for (const char* cfg :
         {"[profile p]\ncredential_process = /bin/creds\n", "[profile p]\nsso_session = corp\n",
          "[profile p]\nrole_arn = arn:r\nsource_profile = base\n"}) {
        CAPTURE(cfg);
        w.files.set("/f", cfg);
        CHECK(error_of(w).find("which xs3lerator does not support") != std::string::npos);
    }
    w.files.set("/f", "[profile p]\nrole_arn = arn:r\n");
    CHECK(error_of(w) == "profile 'p' (/c, /f) sets role_arn without web_identity_token_file");

    w.env["AWS_PROFILE"] = "missing";
    CHECK(error_of(w).find("AWS_PROFILE names profile 'missing'") == 0);
    // A profile without credentials (only a region) is passed over.
    w.env.erase("AWS_PROFILE");
    w.files.set("/f", "[default]\nregion = eu-west-3\n");
    w.env["AWS_EC2_METADATA_DISABLED"] = "true";
    CHECK(error_of(w).find("no AWS credentials found") == 0);
}

TEST_CASE("chain: container credentials, with start-up retries") {
    World w;
    w.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9999/creds?id=7"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer x"}};
    w.container_failures = 2;
    auto r = w.resolve();
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->provider->name() == "container");
    CHECK(r->provider->current()->access_key_id == "ASIACONT");
    CHECK(r->detail == "http://127.0.0.1:9999/creds");
    CHECK(w.http.count() == 3);
    CHECK(w.sleeps == 2);

    World gone;
    gone.env = w.env;
    gone.container_failures = 100;
    std::string msg = error_of(gone);
    CHECK(msg == "container credentials: HTTP 503");
    CHECK(gone.http.count() == 3);  // startup_attempts

    World bad;
    bad.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds"}};
    CHECK(error_of(bad).find("use https") != std::string::npos);
    CHECK(bad.http.count() == 0);
}

TEST_CASE("chain: IMDS last, and what happens when nothing is found") {
    World w;
    w.imds_up = true;
    auto r = w.resolve();
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->provider->name() == "imds");
    CHECK(r->provider->current()->access_key_id == "ASIAIMDS");
    CHECK(r->imds == ImdsState::reached);
    CHECK(w.urls().front() == std::string(kImds) + "/latest/api/token");

    World down;  // IMDS times out: not found, with the reason in the message
    std::string msg = error_of(down);
    CHECK(msg.find("no AWS credentials found: tried the configuration file") == 0);
    CHECK(msg.find("instance metadata (IMDS): PUT http://169.254.169.254/latest/api/token: "
                   "Connection timed out") != std::string::npos);
    // The way out, as a flag (what a command-line user types) and as the file's key.
    CHECK(msg.find("use --anonymous (anonymous = true in the --config file), or "
                   "--anonymous-fallback (anonymous_fallback = true)") != std::string::npos);
    CHECK(down.http.count() == 1);  // one short attempt

    ChainOptions fallback;
    fallback.anonymous_fallback = true;
    auto anon = down.resolve(fallback);
    REQUIRE(anon.ok());
    CHECK(anon->provider->name() == "anonymous");
    CHECK(anon->provider->current()->anonymous());
    CHECK(anon->imds == ImdsState::unreachable);
    REQUIRE(anon->notes.size() == 1);

    World off;
    off.env = {{"AWS_EC2_METADATA_DISABLED", "true"}};
    auto none = off.resolve(fallback);
    REQUIRE(none.ok());
    CHECK(none->imds == ImdsState::disabled);
    CHECK(off.http.count() == 0);

    World custom;
    custom.env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8111"}};
    (void)custom.resolve(fallback);
    CHECK(custom.urls().front() == "http://127.0.0.1:8111/latest/api/token");
}

TEST_CASE("region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile, IMDS, default") {
    auto files = fake_files({{"/home/u/.aws/config",
                              "[default]\nregion = ap-south-1\n"
                              "[profile bad]\nregion = Not A Region\n"}});
    auto pick = [&](std::optional<std::string> cli, Vars env) {
        auto r = configured_region(cli, fake_env(std::move(env)), files);
        REQUIRE_MESSAGE(r.ok(), r.status().to_string());
        return *r;
    };
    Vars all = {
        {"HOME", "/home/u"}, {"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "eu-west-2"}};
    CHECK(pick("us-west-2", all)->region == "us-west-2");
    CHECK(pick("us-west-2", all)->source == "--region");
    CHECK(pick(std::nullopt, all)->region == "eu-west-1");
    CHECK(pick(std::nullopt, all)->source == "AWS_REGION");
    all.erase("AWS_REGION");
    CHECK(pick(std::nullopt, all)->source == "AWS_DEFAULT_REGION");
    all.erase("AWS_DEFAULT_REGION");
    auto prof = pick(std::nullopt, all);
    CHECK(prof->region == "ap-south-1");
    CHECK(prof->source.find("profile 'default'") == 0);
    CHECK_FALSE(pick(std::nullopt, {{"HOME", "/nowhere"}}).has_value());

    auto bad = configured_region(std::nullopt,
                                 fake_env({{"HOME", "/home/u"}, {"AWS_PROFILE", "bad"}}), files);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().message().find("invalid region 'Not A Region' from profile 'bad'") == 0);
    auto bad_env = configured_region(std::nullopt, fake_env({{"AWS_REGION", "eu_west_1"}}), files);
    CHECK(bad_env.status().message().find("from AWS_REGION") != std::string::npos);

    std::vector<std::string> notes;
    auto imds =
        fallback_region([] { return Result<std::string>(std::string("sa-east-1")); }, notes);
    CHECK(imds.region == "sa-east-1");
    CHECK(imds.source == "IMDS");
    auto failed = fallback_region(
        [] { return Result<std::string>(Status(Code::timeout, "IMDS: timed out")); }, notes);
    CHECK(failed.region == "us-east-1");
    CHECK(failed.source == "default");
    auto junk = fallback_region([] { return Result<std::string>(std::string("<html>")); }, notes);
    CHECK(junk.region == "us-east-1");
    CHECK(notes == std::vector<std::string>{"IMDS: timed out", "IMDS reported an invalid region"});
    CHECK(fallback_region(nullptr, notes).region == "us-east-1");
}
