// IMDSv2: configuration from the environment, the token PUT before every use of a fresh token,
// no IMDSv1 fallback, token renewal on 401, credentials and region.
#include "xs3/s3/imds.hpp"

#include <doctest/doctest.h>

#include "fakes.hpp"

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

constexpr const char* kBase = "http://169.254.169.254";
constexpr const char* kCredsPath = "/latest/meta-data/iam/security-credentials/";

std::string imds_doc(const std::string& id, std::chrono::seconds valid = 6h) {
    return "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2024-01-01T00:00:00Z\",\n"
           "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"" +
           id +
           "\",\n"
           "  \"SecretAccessKey\" : \"SECRET\",\n  \"Token\" : \"TOKEN\",\n"
           "  \"Expiration\" : \"" +
           format_iso8601(system_clock::now() + valid) + "\"\n}";
}

// An IMDSv2 that hands out "tok-N" tokens and accepts only the latest one.
struct FakeImds {
    int tokens = 0;
    std::string role = "xs3-node-role\n";
    std::string region = "eu-central-1\n";
    long token_status = 200;
    FakeHttp http;

    FakeImds() {
        http = FakeHttp([this](const FetchRequest& r) -> Result<FetchResponse> {
            if (r.method == "PUT" && r.url == std::string(kBase) + "/latest/api/token") {
                if (token_status != 200) return answer(token_status, "");
                const std::string* ttl = request_header(r, "x-aws-ec2-metadata-token-ttl-seconds");
                if (ttl == nullptr || *ttl != "21600") return answer(400, "");
                return answer(200, "tok-" + std::to_string(++tokens));
            }
            const std::string* tok = request_header(r, "x-aws-ec2-metadata-token");
            if (r.method != "GET" || tok == nullptr || *tok != "tok-" + std::to_string(tokens))
                return answer(401, "");
            const std::string path = r.url.substr(std::string(kBase).size());
            if (path == kCredsPath) return role.empty() ? answer(404, "") : answer(200, role);
            if (path == std::string(kCredsPath) + "xs3-node-role")
                return answer(200, imds_doc("ASIAIMDS"));
            if (path == "/latest/meta-data/placement/region") return answer(200, region);
            return answer(404, "");
        });
    }
};

}  // namespace

TEST_CASE("imds_options_from_env: endpoint, mode, disabled") {
    auto d = imds_options_from_env(fake_env({}));
    REQUIRE(d.ok());
    REQUIRE(d->has_value());
    CHECK((*d)->endpoint == "http://169.254.169.254");
    CHECK((*d)->timeout == 1000ms);
    auto v6 = imds_options_from_env(fake_env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}}));
    CHECK((*v6)->endpoint == "http://[fd00:ec2::254]");
    auto custom = imds_options_from_env(
        fake_env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8111/"},
                  {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}}));
    CHECK((*custom)->endpoint == "http://127.0.0.1:8111");
    auto off = imds_options_from_env(fake_env({{"AWS_EC2_METADATA_DISABLED", "TRUE"}}));
    REQUIRE(off.ok());
    CHECK_FALSE(off->has_value());
    auto on = imds_options_from_env(fake_env({{"AWS_EC2_METADATA_DISABLED", "false"}}));
    CHECK(on->has_value());
    CHECK_FALSE(
        imds_options_from_env(fake_env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "v5"}})).ok());
    CHECK((*d)->attempts == 1);
    auto slow = imds_options_from_env(fake_env(
        {{"AWS_METADATA_SERVICE_TIMEOUT", "5"}, {"AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3"}}));
    REQUIRE(slow.ok());
    CHECK((*slow)->timeout == 5000ms);
    CHECK((*slow)->attempts == 3);
    for (const char* bad : {"0", "61", "1.5", "-1", "x", "99999999999"}) {
        CAPTURE(bad);
        auto r = imds_options_from_env(fake_env({{"AWS_METADATA_SERVICE_TIMEOUT", bad}}));
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().message().find("AWS_METADATA_SERVICE_TIMEOUT: '") == 0);
    }
    CHECK_FALSE(
        imds_options_from_env(fake_env({{"AWS_METADATA_SERVICE_NUM_ATTEMPTS", "11"}})).ok());
    CHECK_FALSE(
        imds_options_from_env(fake_env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "imds"}})).ok());
}

TEST_CASE("ImdsClient: token first, then role and credentials; one token reused") {
    FakeImds imds;
    ImdsClient client(ImdsOptions{}, imds.http.fn());
    auto role = client.role_name();
    REQUIRE_MESSAGE(role.ok(), role.status().to_string());
    CHECK(*role == "xs3-node-role");
    auto creds = client.credentials();
    REQUIRE_MESSAGE(creds.ok(), creds.status().to_string());
    CHECK(creds->access_key_id == "ASIAIMDS");
    CHECK(creds->session_token == "TOKEN");
    REQUIRE(creds->expiration);
    auto region = client.region();
    REQUIRE(region.ok());
    CHECK(*region == "eu-central-1");
    CHECK(imds.tokens == 1);  // one PUT for all five GETs
    auto reqs = imds.http.requests();
    REQUIRE(reqs.size() == 5);
    CHECK(reqs[0].method == "PUT");
    for (const auto& r : reqs) {
        CHECK(r.timeout == 1000ms);
        CHECK(r.connect_timeout == 1000ms);
        CHECK_FALSE(r.use_proxy_env);
    }
}

TEST_CASE("ImdsClient: a 401 gets one new token; IMDSv1-only and disabled IMDS fail") {
    FakeImds imds;
    ImdsClient client(ImdsOptions{}, imds.http.fn());
    REQUIRE(client.region().ok());
    imds.tokens = 7;  // IMDS restarted: our token is unknown now
    auto again = client.region();
    REQUIRE_MESSAGE(again.ok(), again.status().to_string());
    CHECK(imds.tokens == 8);

    FakeImds v1;
    v1.token_status = 405;  // no IMDSv2
    ImdsClient c1(ImdsOptions{}, v1.http.fn());
    auto r1 = c1.credentials();
    REQUIRE_FALSE(r1.ok());
    CHECK(r1.status().message().find("IMDSv1 is never used") != std::string::npos);
    CHECK(v1.http.count() == 1);  // no unauthenticated GET follows
    FakeImds off;
    off.token_status = 403;
    ImdsClient c2(ImdsOptions{}, off.http.fn());
    CHECK(c2.credentials().status().code() == Code::access_denied);
}

TEST_CASE("ImdsClient: no role, odd role names, unreachable") {
    FakeImds imds;
    imds.role = "";
    ImdsClient client(ImdsOptions{}, imds.http.fn());
    auto none = client.credentials();
    CHECK(none.status().code() == Code::not_found);
    CHECK(none.status().message().find("no IAM role") != std::string::npos);
    imds.role = "../../latest/api/token";
    CHECK(client.credentials().status().message().find("not a path segment") != std::string::npos);
    imds.role = "\n\n  second-line-role\nthird\n";
    auto first = client.role_name();
    REQUIRE(first.ok());
    CHECK(*first == "second-line-role");

    FakeHttp down;
    ImdsClient lost(ImdsOptions{}, down.fn());
    auto r = lost.credentials();
    CHECK(r.status().code() == Code::unavailable);
    CHECK(r.status().message().find("instance metadata (IMDS): PUT") == 0);
    CHECK(down.count() == 1);  // the SDKs' single attempt
    ImdsOptions three;
    three.attempts = 3;
    ImdsClient patient(three, down.fn());
    CHECK_FALSE(patient.credentials().ok());
    CHECK(down.count() == 4);
}

TEST_CASE("ImdsSource: static stability and credentials") {
    FakeImds imds;
    ImdsSource src(ImdsOptions{}, imds.http.fn());
    CHECK(src.static_stability());
    CHECK(src.name() == "imds");
    auto c = src.fetch();
    REQUIRE(c.ok());
    CHECK(c->access_key_id == "ASIAIMDS");
}
