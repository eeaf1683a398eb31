#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

#include "xs3/s3/credentials.hpp"

using namespace xs3;
using namespace xs3::s3;

namespace {

GetenvFn fake_env(std::map<std::string, std::string> vars) {
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [shared](const char* name) -> const char* {
        auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
}

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

}  // namespace

TEST_CASE("credentials_from_env: nothing set means no credentials from this source") {
    auto r = credentials_from_env(fake_env({}));
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
    // Empty values count as unset.
    auto e =
        credentials_from_env(fake_env({{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}}));
    REQUIRE(e.ok());
    CHECK_FALSE(e->has_value());
}

TEST_CASE("credentials_from_env: key id and secret, with and without a token") {
    auto r = credentials_from_env(
        fake_env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", kSecret}}));
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    const Credentials& c = **r;
    CHECK(c.access_key_id == "AKIDEXAMPLE");
    CHECK(c.secret_access_key == kSecret);
    CHECK(c.session_token.empty());
    CHECK_FALSE(c.expiration.has_value());
    CHECK_FALSE(c.anonymous());

    auto t =
        credentials_from_env(fake_env({{"AWS_ACCESS_KEY_ID", "ASIA1"},
                                       {"AWS_SECRET_ACCESS_KEY", kSecret},
                                       {"AWS_SESSION_TOKEN", "tok"},
                                       {"AWS_SECURITY_TOKEN", "legacy"},
                                       {"AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z"}}));
    REQUIRE(t.ok());
    REQUIRE(t->has_value());
    CHECK((*t)->session_token == "tok");
    REQUIRE((*t)->expiration.has_value());
    CHECK(std::chrono::system_clock::to_time_t(*(*t)->expiration) == 1893553445);

    auto legacy = credentials_from_env(fake_env({{"AWS_ACCESS_KEY_ID", "ASIA1"},
                                                 {"AWS_SECRET_ACCESS_KEY", kSecret},
                                                 {"AWS_SECURITY_TOKEN", "legacy"}}));
    REQUIRE(legacy.ok());
    CHECK((*legacy)->session_token == "legacy");
}

TEST_CASE("credentials_from_env: half a key pair names the missing variable, never the secret") {
    auto no_secret = credentials_from_env(fake_env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"}}));
    REQUIRE_FALSE(no_secret.ok());
    CHECK(no_secret.status().code() == Code::invalid_argument);
    CHECK(no_secret.status().message() ==
          "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing");

    auto no_key = credentials_from_env(
        fake_env({{"AWS_SECRET_ACCESS_KEY", kSecret}, {"AWS_SESSION_TOKEN", "tok"}}));
    REQUIRE_FALSE(no_key.ok());
    CHECK(no_key.status().message() ==
          "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is missing");
    CHECK(no_key.status().to_string().find(kSecret) == std::string::npos);
    CHECK(no_key.status().to_string().find("tok\"") == std::string::npos);
}

TEST_CASE("credentials_from_env: a bad expiration is an error that does not leak the secret") {
    auto r = credentials_from_env(fake_env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                            {"AWS_SECRET_ACCESS_KEY", kSecret},
                                            {"AWS_CREDENTIAL_EXPIRATION", "tomorrow"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::invalid_argument);
    CHECK(r.status().message().rfind("AWS_CREDENTIAL_EXPIRATION: ", 0) == 0);
    CHECK(r.status().message().find(kSecret) == std::string::npos);
}

TEST_CASE("parse_iso8601 accepts the forms AWS returns") {
    auto t = [](std::string_view s) {
        auto r = parse_iso8601(s);
        REQUIRE_MESSAGE(r.ok(), s);
        return std::chrono::system_clock::to_time_t(*r);
    };
    CHECK(t("2015-08-30T12:36:00Z") == 1440938160);
    CHECK(t("2015-08-30T12:36:00.123Z") == 1440938160);
    CHECK(t("2015-08-30t12:36:00z") == 1440938160);
    CHECK(t("2015-08-30T14:36:00+02:00") == 1440938160);
    CHECK(t("2015-08-30T07:06:00-05:30") == 1440938160);
    CHECK(t("2000-02-29T00:00:00Z") == 951782400);
    CHECK(t("1970-01-01T00:00:00Z") == 0);

    for (std::string_view bad :
         {"", "2015-08-30", "2015-08-30T12:36:00", "2015-13-01T00:00:00Z", "2015-02-29T00:00:00Z",
          "2015-08-30T24:00:00Z", "2015-08-30T12:36:00ZZ", "2015-08-30T12:36:00.Z",
          "2015-08-30T12:36:00+0200", "20150830T123600Z", "2015-08-3xT12:36:00Z"}) {
        CAPTURE(bad);
        auto r = parse_iso8601(bad);
        CHECK_FALSE(r.ok());
        CHECK(r.status().code() == Code::invalid_argument);
    }
}

TEST_CASE("parse_iso8601 clamps instants std::chrono cannot hold (fuzzing finding)") {
    // Year 4198 overflowed system_clock's nanoseconds (UBSan: signed integer overflow); 9999
    // and the latest offset are the extremes of the syntax.
    auto t = [](std::string_view s) {
        auto r = parse_iso8601(s);
        REQUIRE_MESSAGE(r.ok(), s);
        return std::chrono::system_clock::to_time_t(*r);
    };
    CHECK(t("4198-01-01T00:00:00Z") == kLatestIso8601);
    CHECK(t("9999-12-31T23:59:60-23:59") == kLatestIso8601);
    CHECK(t("2200-01-01T00:00:00Z") == kLatestIso8601);
    CHECK(t("2199-12-31T23:59:59Z") == kLatestIso8601 - 1);
    CHECK(t("0000-01-01T00:00:00Z") == 0);
    CHECK(t("1969-12-31T23:59:59Z") == 0);
    CHECK(t("1970-01-01T00:00:00+00:01") == 0);
    CHECK(format_iso8601(*parse_iso8601("4198-01-01T00:00:00Z")) == "2200-01-01T00:00:00Z");
    // The refresh arithmetic on the clamped value stays inside the clock.
    auto far = *parse_iso8601("9999-12-31T23:59:59Z");
    CHECK((far + std::chrono::hours(24 * 365 * 50)) > far);
}

TEST_CASE("format_iso8601 round-trips") {
    const auto tp = std::chrono::system_clock::from_time_t(1440938160);
    CHECK(format_iso8601(tp) == "2015-08-30T12:36:00Z");
    CHECK(*parse_iso8601(format_iso8601(tp)) == tp);
}

TEST_CASE("redact shows part of the key id only") {
    Credentials c;
    CHECK(c.anonymous());
    CHECK(redact(c) == "anonymous");
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = kSecret;
    CHECK(redact(c) == "access_key_id=*** session_token=no");
    c.access_key_id = "ASIAIOSFODNN7EXAMPLE";
    c.session_token = "SECRET-TOKEN";
    c.expiration = std::chrono::system_clock::from_time_t(1440938160);
    const std::string r = redact(c);
    CHECK(r == "access_key_id=ASIA...MPLE session_token=yes expiration=2015-08-30T12:36:00Z");
    CHECK(r.find(kSecret) == std::string::npos);
    CHECK(r.find("SECRET-TOKEN") == std::string::npos);
}

TEST_CASE("credentials_from_env: whitespace or control bytes are refused, as in the config file") {
    for (const char* bad : {"wJalr XUtn", "secret\n", " secret", "sec\tret", "sec\x7fret"}) {
        INFO(bad);
        auto r = credentials_from_env(
            fake_env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", bad}}));
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == Code::invalid_argument);
        CHECK(r.status().message() ==
              "AWS_SECRET_ACCESS_KEY contains whitespace or control characters");
        CHECK(r.status().to_string().find(bad) == std::string::npos);
    }
    auto id = credentials_from_env(
        fake_env({{"AWS_ACCESS_KEY_ID", "AKID EXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", kSecret}}));
    REQUIRE_FALSE(id.ok());
    CHECK(id.status().message() == "AWS_ACCESS_KEY_ID contains whitespace or control characters");
    auto token = credentials_from_env(fake_env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                                {"AWS_SECRET_ACCESS_KEY", kSecret},
                                                {"AWS_SESSION_TOKEN", "tok\r\n"}}));
    REQUIRE_FALSE(token.ok());
    CHECK(token.status().message() ==
          "AWS_SESSION_TOKEN contains whitespace or control characters");
}
