#include <doctest/doctest.h>

#include <map>
#include <string>

#include "xs3/s3/sigv4.hpp"
#include "xs3/s3/url.hpp"

using namespace xs3;
using namespace xs3::s3;

TEST_CASE("parse_endpoint_url: AWS and S3-compatible endpoints") {
    auto aws = parse_endpoint_url("https://s3.eu-west-1.amazonaws.com");
    REQUIRE(aws.ok());
    CHECK(aws->scheme == "https");
    CHECK(aws->host == "s3.eu-west-1.amazonaws.com");
    CHECK_FALSE(aws->port.has_value());
    CHECK_FALSE(aws->path_style);
    CHECK(aws->effective_port() == 443);

    auto minio = parse_endpoint_url("HTTP://LocalHost:9000/");
    REQUIRE(minio.ok());
    CHECK(minio->scheme == "http");
    CHECK(minio->host == "localhost");
    CHECK(minio->port == 9000);
    CHECK(minio->path_style);  // single label: buckets cannot be subdomains of it

    auto ip = parse_endpoint_url("http://127.0.0.1:9000");
    REQUIRE(ip.ok());
    CHECK(ip->host == "127.0.0.1");
    CHECK(ip->path_style);

    auto v6 = parse_endpoint_url("http://[::1]:8080");
    REQUIRE(v6.ok());
    CHECK(v6->host == "[::1]");
    CHECK(v6->port == 8080);
    CHECK(v6->path_style);

    auto v6_noport = parse_endpoint_url("https://[2001:db8::1]");
    REQUIRE(v6_noport.ok());
    CHECK(v6_noport->host == "[2001:db8::1]");
    CHECK_FALSE(v6_noport->port.has_value());

    auto custom = parse_endpoint_url("https://storage.example.com:8443");
    REQUIRE(custom.ok());
    CHECK_FALSE(custom->path_style);
    CHECK(custom->effective_port() == 8443);
}

TEST_CASE("parse_endpoint_url: clear errors") {
    struct Bad {
        const char* url;
        const char* why;
    };
    const Bad cases[] = {
        {"s3.amazonaws.com", "must start with http:// or https://"},
        {"ftp://s3.amazonaws.com", "must start with http:// or https://"},
        {"https://", "missing host"},
        {"https:///", "missing host"},
        {"https://s3.amazonaws.com/bucket", "must not contain a path, query or fragment"},
        {"https://s3.amazonaws.com?x=1", "must not contain a path, query or fragment"},
        {"https://s3.amazonaws.com#f", "must not contain a path, query or fragment"},
        {"https://user:pw@s3.amazonaws.com", "must not contain user info"},
        {"https://s3.amazonaws.com:", "bad port"},
        {"https://s3.amazonaws.com:abc", "bad port"},
        {"https://s3.amazonaws.com:0", "port out of range 1-65535"},
        {"https://s3.amazonaws.com:65536", "port out of range 1-65535"},
        {"https://s3.amazonaws.com:123456", "bad port"},
        {"https://bad host", "bad host name"},
        {"https://-bad.example.com", "bad host name"},
        {"https://a..b", "bad host name"},
        {"https://[::1", "unterminated IPv6 literal"},
        {"https://[zz]", "bad IPv6 literal"},
        {"https://[::1]x", "junk after IPv6 literal"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.url);
        auto r = parse_endpoint_url(c.url);
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == Code::invalid_argument);
        CHECK(r.status().message().find(std::string("invalid endpoint URL \"") + c.url + "\"") ==
              0);
        CHECK(r.status().message().find(c.why) != std::string::npos);
    }
    CHECK(parse_endpoint_url("https://s3.amazonaws.com:65535").ok());
}

TEST_CASE("default_endpoint") {
    const Endpoint e = default_endpoint("us-west-2");
    CHECK(e.scheme == "https");
    CHECK(e.host == "s3.us-west-2.amazonaws.com");
    CHECK_FALSE(e.port.has_value());
    CHECK_FALSE(e.path_style);
    CHECK(default_endpoint("cn-north-1").host == "s3.cn-north-1.amazonaws.com.cn");
}

TEST_CASE("aws_s3_endpoint: dual-stack and FIPS variants") {
    auto plain = aws_s3_endpoint("eu-west-1", {});
    REQUIRE(plain.ok());
    CHECK(plain->host == "s3.eu-west-1.amazonaws.com");
    CHECK(plain->scheme == "https");
    CHECK_FALSE(plain->path_style);
    auto dual = aws_s3_endpoint("eu-west-1", {true, false});
    REQUIRE(dual.ok());
    CHECK(dual->host == "s3.dualstack.eu-west-1.amazonaws.com");
    auto fips = aws_s3_endpoint("us-gov-west-1", {false, true});
    REQUIRE(fips.ok());
    CHECK(fips->host == "s3-fips.us-gov-west-1.amazonaws.com");
    auto both = aws_s3_endpoint("us-east-2", {true, true});
    REQUIRE(both.ok());
    CHECK(both->host == "s3-fips.dualstack.us-east-2.amazonaws.com");
    auto cn = aws_s3_endpoint("cn-northwest-1", {true, false});
    REQUIRE(cn.ok());
    CHECK(cn->host == "s3.dualstack.cn-northwest-1.amazonaws.com.cn");
    auto cn_fips = aws_s3_endpoint("cn-north-1", {false, true});
    CHECK_FALSE(cn_fips.ok());
    CHECK(cn_fips.status().message().find("FIPS") != std::string::npos);

    // The region becomes part of a host name, so it must be one label's worth of [a-z0-9-].
    for (const char* bad : {"", "US-EAST-1", "us_east_1", "us-east-1.evil.com", "-us", "us-",
                            "us east", "eu-west-1/x"}) {
        CAPTURE(bad);
        auto r = aws_s3_endpoint(bad, {});
        CHECK_FALSE(r.ok());
        CHECK(r.status().message().find("invalid region") != std::string::npos);
        CHECK_FALSE(is_valid_region(bad));
    }
    CHECK(is_valid_region("us-east-1"));
    CHECK(is_valid_region("ap-southeast-4"));
    CHECK(aws_dns_suffix("cn-north-1") == "amazonaws.com.cn");
    CHECK(aws_dns_suffix("eu-west-1") == "amazonaws.com");

    // Virtual-hosted URLs on the variant endpoints.
    auto url = build_object_request(*both, "my-bucket", "a/b c");
    REQUIRE(url.ok());
    CHECK(url->url == "https://my-bucket.s3-fips.dualstack.us-east-2.amazonaws.com/a/b%20c");
    CHECK(url->host_header == "my-bucket.s3-fips.dualstack.us-east-2.amazonaws.com");
}

TEST_CASE("uri_encode_key keeps unreserved characters and '/'") {
    CHECK(uri_encode_key("photos/2024/a.jpg") == "photos/2024/a.jpg");
    CHECK(uri_encode_key("my key+plus%pct") == "my%20key%2Bplus%25pct");
    CHECK(uri_encode_key("a//b/./c/../d~e") == "a//b/./c/../d~e");
    CHECK(uri_encode_key("caf\xC3\xA9") == "caf%C3%A9");
    CHECK(uri_encode_key("?#[]@!$&'()*,;=:") == "%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3D%3A");
    CHECK(uri_encode_key("tab\there\nnl") == "tab%09here%0Anl");
}

TEST_CASE("bucket name rules") {
    CHECK(is_valid_bucket_name("abc"));
    CHECK(is_valid_bucket_name("My_Legacy.Bucket"));
    CHECK(is_valid_bucket_name(std::string(255, 'a')));
    CHECK_FALSE(is_valid_bucket_name(std::string(256, 'a')));
    CHECK_FALSE(is_valid_bucket_name("ab"));
    CHECK_FALSE(is_valid_bucket_name(""));
    CHECK_FALSE(is_valid_bucket_name("a/b/c"));
    CHECK_FALSE(is_valid_bucket_name("has space"));
    CHECK_FALSE(is_valid_bucket_name("b?x=1"));

    CHECK(is_dns_compatible_bucket_name("my-bucket-1"));
    CHECK(is_dns_compatible_bucket_name(std::string(63, 'a')));
    CHECK_FALSE(is_dns_compatible_bucket_name(std::string(64, 'a')));
    CHECK_FALSE(is_dns_compatible_bucket_name("my.bucket"));
    CHECK_FALSE(is_dns_compatible_bucket_name("MyBucket"));
    CHECK_FALSE(is_dns_compatible_bucket_name("my_bucket"));
    CHECK_FALSE(is_dns_compatible_bucket_name("-bucket"));
    CHECK_FALSE(is_dns_compatible_bucket_name("bucket-"));
    CHECK_FALSE(is_dns_compatible_bucket_name("ab"));
}

TEST_CASE("build_object_request: virtual-hosted on AWS") {
    const KeyValueList query{{"versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo"}};
    auto r =
        build_object_request(default_endpoint("eu-west-1"), "my-bucket", "dir/my key.txt", query);
    REQUIRE(r.ok());
    CHECK(r->virtual_hosted);
    CHECK(r->host_header == "my-bucket.s3.eu-west-1.amazonaws.com");
    CHECK(r->canonical_uri == "/dir/my%20key.txt");
    CHECK(r->canonical_query == "versionId=3%2FL4kqtJl40Nr8X8gdRQBpUMLUo");
    CHECK(r->url ==
          "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/my%20key.txt"
          "?versionId=3%2FL4kqtJl40Nr8X8gdRQBpUMLUo");
}

TEST_CASE("build_object_request: DNS-incompatible buckets force path style") {
    for (const char* bucket : {"my.bucket", "MyBucket", "my_bucket"}) {
        CAPTURE(bucket);
        auto r = build_object_request(default_endpoint("us-east-1"), bucket, "k");
        REQUIRE(r.ok());
        CHECK_FALSE(r->virtual_hosted);
        CHECK(r->host_header == "s3.us-east-1.amazonaws.com");
        CHECK(r->canonical_uri == std::string("/") + bucket + "/k");
        CHECK(r->url == std::string("https://s3.us-east-1.amazonaws.com/") + bucket + "/k");
    }
}

TEST_CASE("build_object_request: path style, ports and empty keys") {
    Endpoint minio = *parse_endpoint_url("http://localhost:9000");
    const KeyValueList query{{"list-type", "2"}, {"prefix", "a b/"}};
    auto list = build_object_request(minio, "bucket", "", query);
    REQUIRE(list.ok());
    CHECK_FALSE(list->virtual_hosted);
    CHECK(list->host_header == "localhost:9000");
    CHECK(list->canonical_uri == "/bucket");
    CHECK(list->url == "http://localhost:9000/bucket?list-type=2&prefix=a%20b%2F");

    auto obj = build_object_request(minio, "bucket", "/lead//double");
    REQUIRE(obj.ok());
    CHECK(obj->canonical_uri == "/bucket//lead//double");
    CHECK(obj->url == "http://localhost:9000/bucket//lead//double");

    // A default port named explicitly is left out of Host and the URL.
    Endpoint explicit_default = *parse_endpoint_url("https://s3.example.com:443");
    auto d = build_object_request(explicit_default, "bucket", "k");
    REQUIRE(d.ok());
    CHECK(d->virtual_hosted);
    CHECK(d->host_header == "bucket.s3.example.com");
    CHECK(d->url == "https://bucket.s3.example.com/k");

    // Virtual-hosted with an empty key addresses the bucket root.
    auto root = build_object_request(default_endpoint("us-east-1"), "bucket", "");
    REQUIRE(root.ok());
    CHECK(root->canonical_uri == "/");
    CHECK(root->url == "https://bucket.s3.us-east-1.amazonaws.com/");

    // IP endpoints are never virtual-hosted, even if the caller cleared path_style.
    Endpoint ip = *parse_endpoint_url("http://[::1]:9000");
    ip.path_style = false;
    auto v6 = build_object_request(ip, "bucket", "k");
    REQUIRE(v6.ok());
    CHECK_FALSE(v6->virtual_hosted);
    CHECK(v6->host_header == "[::1]:9000");
    CHECK(v6->url == "http://[::1]:9000/bucket/k");
}

TEST_CASE("build_object_request: rejects what cannot be addressed") {
    auto r = build_object_request(default_endpoint("us-east-1"), "a/b", "k");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::invalid_argument);
    CHECK(r.status().message() == "invalid bucket name \"a/b\" (want 3-255 of A-Za-z0-9 . - _)");
    CHECK_FALSE(build_object_request(Endpoint{}, "bucket", "k").ok());
}

TEST_CASE("the built URL and the signer agree on path and query") {
    const KeyValueList query{{"response-content-type", "text/plain; charset=utf-8"},
                             {"versionId", "v+1"}};
    auto r = build_object_request(default_endpoint("us-east-1"), "b-1", "a b", query);
    REQUIRE(r.ok());
    const KeyValueList headers{{"Host", r->host_header}};
    SigningRequest req;
    req.method = "GET";
    req.canonical_uri = r->canonical_uri;
    req.query = query;
    req.headers = headers;
    req.payload_hash = kEmptyPayloadSha256;
    req.timestamp = 0;
    Credentials c{"AKID", "SECRET", "", std::nullopt};
    const SigningResult s = SigV4Signer("us-east-1", "s3").sign(req, c);
    CHECK(s.canonical_request.rfind("GET\n/a%20b\n" + r->canonical_query + "\nhost:b-1.s3.", 0) ==
          0);
    CHECK(r->canonical_query ==
          "response-content-type=text%2Fplain%3B%20charset%3Dutf-8&versionId=v%2B1");
}

TEST_CASE("endpoint_url_from_env: the service's variable, then the general one") {
    std::map<std::string, std::string> vars;
    auto env = [&](const char* n) -> const char* {
        auto it = vars.find(n);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
    CHECK_FALSE(endpoint_url_from_env(env, "S3").has_value());
    vars["AWS_ENDPOINT_URL"] = "http://all:1";
    CHECK(endpoint_url_from_env(env, "S3") == "http://all:1");
    vars["AWS_ENDPOINT_URL_S3"] = "http://s3:2";
    CHECK(endpoint_url_from_env(env, "S3") == "http://s3:2");
    CHECK(endpoint_url_from_env(env, "STS") == "http://all:1");
    vars["AWS_ENDPOINT_URL_S3"] = "";  // empty counts as unset
    CHECK(endpoint_url_from_env(env, "S3") == "http://all:1");
}
