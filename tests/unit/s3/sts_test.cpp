// AssumeRoleWithWebIdentity: endpoint choice, the request as sent, response and error parsing,
// and the source re-reading its token file.
#include "xs3/s3/sts.hpp"

#include <doctest/doctest.h>

#include "fakes.hpp"

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

const auto kNow = system_clock::from_time_t(1700000000);  // 2023-11-14T22:13:20Z

std::string sts_ok(const std::string& key_id, const std::string& expiration) {
    return "<AssumeRoleWithWebIdentityResponse "
           "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
           "  <AssumeRoleWithWebIdentityResult>\n"
           "    "
           "<SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</"
           "SubjectFromWebIdentityToken>\n"
           "    <Audience>sts.amazonaws.com</Audience>\n"
           "    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>"
           "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
           "    <Credentials>\n"
           "      <SessionToken>FwoGZXIvYXdzE&amp;x=</SessionToken>\n"
           "      <SecretAccessKey>SECRET/KEY+1</SecretAccessKey>\n"
           "      <Expiration>" +
           expiration +
           "</Expiration>\n"
           "      <AccessKeyId>" +
           key_id +
           "</AccessKeyId>\n"
           "    </Credentials>\n"
           "    <Provider>oidc.eks.eu-west-1.amazonaws.com/id/X</Provider>\n"
           "  </AssumeRoleWithWebIdentityResult>\n"
           "  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\n"
           "</AssumeRoleWithWebIdentityResponse>\n";
}

std::string sts_error(const std::string& code, const std::string& message) {
    return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
           "  <Error><Type>Sender</Type><Code>" +
           code + "</Code><Message>" + message +
           "</Message></Error>\n  <RequestId>r-2</RequestId>\n</ErrorResponse>\n";
}

std::string future(std::chrono::seconds from_now) {
    return format_iso8601(system_clock::now() + from_now);
}

}  // namespace

TEST_CASE("sts_endpoint_url: override, regional, global") {
    CHECK(sts_endpoint_url("eu-west-1", fake_env({})) == "https://sts.eu-west-1.amazonaws.com");
    CHECK(sts_endpoint_url("cn-north-1", fake_env({})) ==
          "https://sts.cn-north-1.amazonaws.com.cn");
    CHECK(sts_endpoint_url("", fake_env({})) == "https://sts.amazonaws.com");
    CHECK(sts_endpoint_url("eu-west-1", fake_env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:9/"}})) ==
          "http://127.0.0.1:9");
    CHECK(sts_endpoint_url("eu-west-1", fake_env({{"AWS_ENDPOINT_URL", "http://all"},
                                                  {"AWS_ENDPOINT_URL_STS",
                                                   "https://sts.local"}})) == "https://sts.local");
    CHECK(default_session_name(kNow) == "xs3lerator-1700000000");
}

TEST_CASE("build_web_identity_request: an unsigned form POST") {
    WebIdentityConfig c;
    c.role_arn = "arn:aws:iam::123456789012:role/xs3 role";
    c.session_name = "sess";
    c.sts_url = "https://sts.eu-west-1.amazonaws.com";
    c.ca_bundle = "/etc/ca.pem";
    FetchRequest r = build_web_identity_request(c, "eyJ.a+b/c=");
    CHECK(r.method == "POST");
    CHECK(r.url == "https://sts.eu-west-1.amazonaws.com/");
    CHECK(r.ca_bundle == "/etc/ca.pem");
    CHECK(r.body ==
          "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
          "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fxs3%20role&RoleSessionName=sess"
          "&WebIdentityToken=eyJ.a%2Bb%2Fc%3D");
    REQUIRE(request_header(r, "content-type") != nullptr);
    CHECK(*request_header(r, "content-type") == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(request_header(r, "authorization") == nullptr);
}

TEST_CASE("parse_web_identity_response: credentials, entities decoded") {
    auto r = parse_web_identity_response(answer(200, sts_ok("ASIAEXAMPLE", "2023-11-14T23:13:20Z")),
                                         kNow);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->access_key_id == "ASIAEXAMPLE");
    CHECK(r->secret_access_key == "SECRET/KEY+1");
    CHECK(r->session_token == "FwoGZXIvYXdzE&x=");
    CHECK(*r->expiration == kNow + 1h);
}

TEST_CASE("parse_web_identity_response: errors, missing fields, expiry") {
    auto err = [](long status, std::string body) {
        auto r = parse_web_identity_response(answer(status, std::move(body)), kNow);
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().message().find("SECRET") == std::string::npos);
        return r.status();
    };
    Status denied = err(400, sts_error("InvalidIdentityToken", "Incorrect token audience"));
    CHECK(denied.code() == Code::access_denied);
    CHECK(denied.message() ==
          "STS AssumeRoleWithWebIdentity: HTTP 400 InvalidIdentityToken: Incorrect token audience");
    CHECK(err(403,
              sts_error("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"))
              .code() == Code::access_denied);
    // Worth retrying: throttling, STS's own trouble, the IdP being unreachable.
    CHECK(err(400, sts_error("Throttling", "Rate exceeded")).code() == Code::unavailable);
    CHECK(err(400, sts_error("IDPCommunicationError", "x")).code() == Code::unavailable);
    CHECK(err(503, "").code() == Code::unavailable);
    CHECK(err(500, "<html>oops</html>").message() == "STS AssumeRoleWithWebIdentity: HTTP 500");
    // A 200 that is not the expected document.
    CHECK(err(200, "").message() ==
          "STS AssumeRoleWithWebIdentity: the answer has no AssumeRoleWithWebIdentityResult");
    CHECK(err(200,
              "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
              "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
              .message() == "STS AssumeRoleWithWebIdentity: the answer has no Credentials");
    std::string no_secret = sts_ok("A", "2023-11-14T23:13:20Z");
    no_secret.replace(no_secret.find("SECRET/KEY+1"), 12, "");
    CHECK(err(200, no_secret).message() ==
          "STS AssumeRoleWithWebIdentity: the answer has no SecretAccessKey");
    CHECK(err(200, sts_ok("A", "soon")).message().find("Expiration: not an ISO 8601") !=
          std::string::npos);
    CHECK(err(200, sts_ok("A", "2023-11-14T22:13:20Z")).message().find("expired at") !=
          std::string::npos);
    // Truncated in the middle of the credentials.
    std::string cut = sts_ok("A", "2023-11-14T23:13:20Z");
    cut.resize(cut.find("<Expiration>"));
    CHECK(err(200, cut).message().find("has no AccessKeyId") != std::string::npos);
}

TEST_CASE("WebIdentitySource: reads the token file on every fetch") {
    FakeFiles files({{"/var/run/secrets/token", "token-one\n"}});
    FakeHttp http([](const FetchRequest& r) -> Result<FetchResponse> {
        if (r.body.find("WebIdentityToken=token-one") != std::string::npos)
            return answer(200, sts_ok("ASIAONE", future(3600s)));
        if (r.body.find("WebIdentityToken=token-two") != std::string::npos)
            return answer(200, sts_ok("ASIATWO", future(3600s)));
        return answer(400, sts_error("InvalidIdentityToken", "unknown token"));
    });
    WebIdentityConfig c;
    c.role_arn = "arn:aws:iam::1:role/r";
    c.token_file = "/var/run/secrets/token";
    c.sts_url = "http://127.0.0.1:1";
    WebIdentitySource src(c, files.fn(), http.fn());
    CHECK(src.name() == "web-identity");
    auto one = src.fetch();
    REQUIRE_MESSAGE(one.ok(), one.status().to_string());
    CHECK(one->access_key_id == "ASIAONE");
    files.set("/var/run/secrets/token", "token-two");  // the kubelet rotated it
    auto two = src.fetch();
    REQUIRE_MESSAGE(two.ok(), two.status().to_string());
    CHECK(two->access_key_id == "ASIATWO");
    CHECK(files.reads->size() == 2);
    auto reqs = http.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].body.find("RoleSessionName=xs3lerator-") != std::string::npos);
    CHECK(reqs[0].url == "http://127.0.0.1:1/");

    files.set("/var/run/secrets/token", "stale");
    auto bad = src.fetch();
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == Code::access_denied);
    CHECK(bad.status().message().find("stale") == std::string::npos);

    files.set("/var/run/secrets/token", " \n");
    CHECK(src.fetch().status().message() ==
          "web identity token file /var/run/secrets/token is empty");
    files.files->clear();
    CHECK(src.fetch().status().message() ==
          "web identity token file /var/run/secrets/token does not exist");
    CHECK(http.count() == 3);  // no STS call without a token

    FakeHttp down;  // connection refused
    files.set("/var/run/secrets/token", "token-one");
    WebIdentitySource offline(c, files.fn(), down.fn());
    auto off = offline.fetch();
    CHECK(off.status().code() == Code::unavailable);
    CHECK(off.status().message().find("STS AssumeRoleWithWebIdentity: POST") == 0);
}
