// Container credentials: environment configuration, the plain-http host allow-list, and the
// source's Authorization token (fixed or re-read from its file).
#include "xs3/s3/container_credentials.hpp"

#include <doctest/doctest.h>

#include "fakes.hpp"

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

std::string doc(const std::string& id, std::chrono::seconds valid = 3600s) {
    return R"({"AccessKeyId":")" + id +
           R"(","SecretAccessKey":"SECRET","Token":"TOKEN",)"
           R"("Expiration":")" +
           format_iso8601(system_clock::now() + valid) + "\"}";
}

Result<std::optional<ContainerEndpoint>> from(Vars vars, ResolveFn resolve = fake_resolver({})) {
    return container_endpoint_from_env(fake_env(std::move(vars)), resolve);
}

}  // namespace

TEST_CASE("container endpoint: not configured, ECS relative URI, full URI") {
    auto none = from({});
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());

    auto ecs = from({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}});
    REQUIRE(ecs.ok());
    REQUIRE(ecs->has_value());
    CHECK((*ecs)->url == "http://169.254.170.2/v2/credentials/abc");
    auto ecs_noslash = from({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/x"}});
    CHECK((*ecs_noslash)->url == "http://169.254.170.2/v2/x");
    // The relative URI wins over a full one.
    auto both = from({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/r"},
                      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/f"}});
    CHECK((*both)->url == "http://169.254.170.2/r");

    auto eks =
        from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"},
              {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
               "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}});
    REQUIRE(eks.ok());
    CHECK((*eks)->url == "http://169.254.170.23/v1/credentials");
    CHECK((*eks)->auth_token_file.find("eks-pod-identity-token") != std::string::npos);
    auto v6 =
        from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[fd00:ec2::23]/v1/credentials"}});
    CHECK(v6.ok());
    auto local = from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8099/creds?x=1"},
                       {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc"}});
    REQUIRE(local.ok());
    CHECK((*local)->url == "http://127.0.0.1:8099/creds?x=1");
    CHECK((*local)->auth_token == "Basic abc");
    // https may go anywhere.
    CHECK(from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/x"}}).ok());
}

TEST_CASE("container endpoint: plain http only to loopback and the ECS/EKS agents") {
    auto bad = from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.0.0.5/creds"}});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().message().find("10.0.0.5") != std::string::npos);
    CHECK(bad.status().message().find("use https") != std::string::npos);
    CHECK_FALSE(from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/x"}}).ok());
    CHECK_FALSE(from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "127.0.0.1/x"}}).ok());
    // Host names must resolve to allowed addresses only.
    auto resolver = fake_resolver({{"localhost", {"127.0.0.1", "::1"}},
                                   {"mixed", {"127.0.0.1", "192.168.1.1"}},
                                   {"empty", {}}});
    CHECK(from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:80/c"}}, resolver).ok());
    auto mixed = from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://mixed/c"}}, resolver);
    REQUIRE_FALSE(mixed.ok());
    CHECK(mixed.status().message().find("192.168.1.1") != std::string::npos);
    CHECK_FALSE(from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://empty/c"}}, resolver).ok());
    CHECK_FALSE(from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://unknown/c"}}, resolver).ok());

    for (const char* ok : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "169.254.170.2",
                           "169.254.170.23", "fd00:ec2::23", "::ffff:127.0.0.1"})
        CHECK_MESSAGE(is_allowed_container_address(ok), ok);
    for (const char* no : {"169.254.169.254", "10.0.0.1", "fd00:ec2::254", "::ffff:10.0.0.1",
                           "0.0.0.0", "localhost", ""})
        CHECK_FALSE_MESSAGE(is_allowed_container_address(no), no);
}

TEST_CASE("resolve_host: localhost resolves to loopback") {
    auto r = resolve_host("localhost");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    REQUIRE_FALSE(r->empty());
    for (const auto& a : *r)
        CHECK(is_allowed_container_address(a));
}

TEST_CASE("ContainerSource: fixed token, token file re-read, no proxy") {
    FakeFiles files({{"/tok", "token-A\n"}});
    FakeHttp http([](const FetchRequest& r) -> Result<FetchResponse> {
        const std::string* auth = request_header(r, "authorization");
        if (auth == nullptr) return answer(401, R"({"code":"Unauthorized","message":"no token"})");
        if (*auth == "token-A") return answer(200, doc("ASIAA"));
        if (*auth == "token-B") return answer(200, doc("ASIAB"));
        return answer(403, R"({"code":"InvalidToken","message":"rejected"})");
    });
    ContainerEndpoint ep;
    ep.url = "http://127.0.0.1:1/creds";
    ep.auth_token = "ignored-when-a-file-is-set";
    ep.auth_token_file = "/tok";
    ContainerSource src(ep, files.fn(), http.fn());
    CHECK(src.name() == "container");
    auto a = src.fetch();
    REQUIRE_MESSAGE(a.ok(), a.status().to_string());
    CHECK(a->access_key_id == "ASIAA");
    CHECK(a->session_token == "TOKEN");
    files.set("/tok", "token-B");
    auto b = src.fetch();
    REQUIRE(b.ok());
    CHECK(b->access_key_id == "ASIAB");
    auto reqs = http.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].url == "http://127.0.0.1:1/creds");
    CHECK_FALSE(reqs[0].use_proxy_env);

    files.set("/tok", "wrong");
    auto denied = src.fetch();
    CHECK(denied.status().code() == Code::access_denied);
    CHECK(denied.status().message() == "container credentials: HTTP 403 (InvalidToken: rejected)");
    files.set("/tok", "two\nlines");
    CHECK(src.fetch().status().message().find("line break") != std::string::npos);
    files.files->clear();
    CHECK(src.fetch().status().message() ==
          "container credentials: token file /tok does not exist");

    ContainerEndpoint fixed = ep;
    fixed.auth_token_file.clear();
    fixed.auth_token = "token-A";
    ContainerSource by_value(fixed, files.fn(), http.fn());
    CHECK(by_value.fetch().ok());
    ContainerEndpoint none = ep;
    none.auth_token_file.clear();
    none.auth_token.clear();
    ContainerSource anonymous(none, files.fn(), http.fn());
    auto no_auth = anonymous.fetch();
    CHECK(no_auth.status().message() == "container credentials: HTTP 401 (Unauthorized: no token)");
}

TEST_CASE("ContainerSource: server errors are retryable, bad documents are not") {
    int calls = 0;
    FakeHttp http([&](const FetchRequest&) -> Result<FetchResponse> {
        ++calls;
        if (calls == 1) return answer(500, "");
        if (calls == 2) return answer(200, R"({"AccessKeyId":"A"})");
        if (calls == 3) return answer(200, doc("OLD", -60s));
        return Status(Code::timeout, "GET http://127.0.0.1:1/creds: timed out");
    });
    ContainerEndpoint ep;
    ep.url = "http://127.0.0.1:1/creds";
    ContainerSource src(ep, fake_files({}), http.fn());
    CHECK(src.fetch().status().code() == Code::unavailable);
    auto missing = src.fetch();
    CHECK(missing.status().code() == Code::invalid_argument);
    CHECK(missing.status().message() == "container credentials: the answer has no SecretAccessKey");
    CHECK(src.fetch().status().message().find("expired at") != std::string::npos);
    auto t = src.fetch();
    CHECK(t.status().code() == Code::timeout);
    CHECK(t.status().message().find("container credentials: GET") == 0);
}
