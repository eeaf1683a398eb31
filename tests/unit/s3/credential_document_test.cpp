// The container/IMDS JSON credential document: good answers, and every way one can be wrong.
#include "xs3/s3/credential_document.hpp"

#include <doctest/doctest.h>

using namespace xs3;
using namespace xs3::s3;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

const auto kNow = system_clock::from_time_t(1700000000);  // 2023-11-14T22:13:20Z

std::string error_of(std::string_view body, CredentialDocumentRules rules = {}) {
    auto r = parse_credential_document(body, "test source", kNow, rules);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::invalid_argument);
    const std::string& m = r.status().message();
    CHECK(m.rfind("test source: ", 0) == 0);
    CHECK(m.find("SECRET") == std::string::npos);
    return m;
}

}  // namespace

TEST_CASE("credential document: ECS/EKS and IMDS answers") {
    auto ecs = parse_credential_document(
        R"({"RoleArn":"arn:aws:iam::1:role/r","AccessKeyId":"ASIAXXX","SecretAccessKey":"SECRET",)"
        R"("Token":"TOKEN","Expiration":"2023-11-14T23:13:20Z"})",
        "container credentials", kNow);
    REQUIRE_MESSAGE(ecs.ok(), ecs.status().to_string());
    CHECK(ecs->access_key_id == "ASIAXXX");
    CHECK(ecs->secret_access_key == "SECRET");
    CHECK(ecs->session_token == "TOKEN");
    REQUIRE(ecs->expiration);
    CHECK(*ecs->expiration == kNow + 1h);

    auto imds = parse_credential_document(
        "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2023-11-14T22:00:00Z\",\n"
        "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAYYY\",\n"
        "  \"SecretAccessKey\" : \"SECRET\",\n  \"Token\" : \"T\",\n"
        "  \"Expiration\" : \"2023-11-15T04:13:20Z\"\n}",
        "imds", kNow, {true, true});
    REQUIRE_MESSAGE(imds.ok(), imds.status().to_string());
    CHECK(*imds->expiration == kNow + 6h);

    // Long-term keys from a custom endpoint: no token, no expiry.
    auto plain = parse_credential_document(R"({"AccessKeyId":"AKID","SecretAccessKey":"SECRET"})",
                                           "c", kNow);
    REQUIRE(plain.ok());
    CHECK(plain->session_token.empty());
    CHECK_FALSE(plain->expiration.has_value());
    auto nulls = parse_credential_document(
        R"({"AccessKeyId":"AKID","SecretAccessKey":"SECRET","Token":null,"Expiration":null})", "c",
        kNow);
    REQUIRE(nulls.ok());
    CHECK_FALSE(nulls->expiration.has_value());
}

TEST_CASE("credential document: bad JSON, missing and mistyped fields, expiry") {
    CHECK(error_of("") == "test source: invalid JSON at byte 0: expected a value");
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":"SECRET",)") ==
          "test source: invalid JSON at byte 46: expected a member name");
    CHECK(error_of("<html>503</html>").find("invalid JSON") != std::string::npos);
    CHECK(error_of(R"(["AccessKeyId"])") == "test source: the answer is not a JSON object");
    CHECK(error_of(R"({"SecretAccessKey":"SECRET"})") ==
          "test source: the answer has no AccessKeyId");
    CHECK(error_of(R"({"AccessKeyId":"A"})") == "test source: the answer has no SecretAccessKey");
    CHECK(error_of(R"({"AccessKeyId":"","SecretAccessKey":"SECRET"})") ==
          "test source: AccessKeyId is empty");
    CHECK(error_of(R"({"AccessKeyId":7,"SecretAccessKey":"SECRET"})") ==
          "test source: AccessKeyId is a number, not a string");
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":{"v":"SECRET"}})") ==
          "test source: SecretAccessKey is a object, not a string");
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Token":true})") ==
          "test source: Token is a boolean, not a string");
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Expiration":1700000000})") ==
          "test source: Expiration is a number, not a string");
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Expiration":"tomorrow"})")
              .find("test source: Expiration: not an ISO 8601 timestamp") == 0);
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Token":"T",)"
                   R"("Expiration":"2023-11-14T22:13:20Z"})") ==
          "test source: the credentials expired at 2023-11-14T22:13:20Z (the clock here says "
          "2023-11-14T22:13:20Z)");
    CHECK(
        error_of(
            R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Expiration":"2020-01-01T00:00:00Z"})")
            .find("expired at 2020-01-01T00:00:00Z") != std::string::npos);
    // IMDS rules: a token and an expiry are required; a failure Code is reported.
    CHECK(
        error_of(
            R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Expiration":"2030-01-01T00:00:00Z"})",
            {true, true}) == "test source: the answer has no Token");
    CHECK(error_of(R"({"AccessKeyId":"A","SecretAccessKey":"SECRET","Token":"T"})", {true, true}) ==
          "test source: the answer has no Expiration");
    CHECK(error_of(R"({"Code":"AssumeRoleUnauthorizedAccess","AccessKeyId":"A"})") ==
          "test source: the answer's Code is \"AssumeRoleUnauthorizedAccess\", not Success");
}

TEST_CASE("credential_error_summary: code and message of an error answer") {
    CHECK(credential_error_summary(R"({"code":"InvalidToken","message":"bad token"})") ==
          "InvalidToken: bad token");
    CHECK(credential_error_summary(R"({"Code":"Failure"})") == "Failure");
    CHECK(credential_error_summary("<html>nope</html>") == "");
    CHECK(credential_error_summary(R"({"message":")" + std::string(500, 'm') + "\"}").size() ==
          200);
}

TEST_CASE("credential document: an expiry far in the future or past is clamped, not overflowed") {
    // A fuzzing finding: "4198-..." overflowed std::chrono (UBSan).
    auto far = parse_credential_document(
        R"({"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"4198-01-01T00:00:00Z"})", "c",
        kNow);
    REQUIRE(far.ok());
    REQUIRE(far->expiration.has_value());
    CHECK(format_iso8601(*far->expiration) == "2200-01-01T00:00:00Z");
    CHECK(error_of(
              R"({"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"0001-01-01T00:00:00Z"})") ==
          "test source: the credentials expired at 1970-01-01T00:00:00Z (the clock here says "
          "2023-11-14T22:13:20Z)");
}
