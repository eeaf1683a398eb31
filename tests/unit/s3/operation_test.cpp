// The S3 request classifier: addressing, operations, parameters, refusals — byte by byte.
#include "xs3/s3/operation.hpp"

#include <doctest/doctest.h>

using namespace xs3::s3;

namespace {

AddressingRules multi() {
    return {};
}

AddressingRules single(std::string bucket = "data") {
    AddressingRules r;
    r.single_bucket = std::move(bucket);
    return r;
}

AddressingRules with_suffixes(AddressingRules r, std::vector<std::string> s) {
    r.virtual_host_suffixes = std::move(s);
    return r;
}

S3Operation get(std::string_view path, std::string_view query = "",
                const AddressingRules& rules = multi(), std::string_view host = "localhost") {
    return classify_request("GET", path, query, host, rules);
}

}  // namespace

TEST_CASE("multi-bucket path-style: object, bucket and service") {
    auto o = get("/photos/2024/a%20b.jpg");
    CHECK(o.op == Operation::get_object);
    CHECK(route_of(o.op) == Route::cache);
    CHECK(o.addressing == Addressing::path_style);
    CHECK(o.bucket == "photos");
    CHECK(o.key == "2024/a b.jpg");
    CHECK(o.resource == "/photos/2024/a b.jpg");
    CHECK(o.relay_query.empty());

    auto h = classify_request("HEAD", "/photos/k", "", "localhost", multi());
    CHECK(h.op == Operation::head_object);
    CHECK(h.key == "k");

    // A key may hold '//', './', a trailing '/' and an encoded '/'.
    CHECK(get("/photos//x").key == "/x");
    CHECK(get("/photos/dir/").key == "dir/");
    CHECK(get("/photos/a%2Fb").key == "a/b");
    CHECK(get("/photos/./..").key == "./..");

    auto b = get("/photos");
    CHECK(b.op == Operation::list_objects);
    CHECK(route_of(b.op) == Route::relay);
    CHECK(b.bucket == "photos");
    CHECK(b.key.empty());
    CHECK(get("/photos/").op == Operation::list_objects);

    auto s = get("/");
    CHECK(s.op == Operation::list_buckets);
    CHECK(route_of(s.op) == Route::service);
    CHECK(s.addressing == Addressing::service);
    CHECK(s.bucket.empty());
}

TEST_CASE("single-bucket mode: /<key>, and /<bucket>/<key> when the first segment is the bucket") {
    auto bare = get("/sdk/object.bin", "", single());
    CHECK(bare.op == Operation::get_object);
    CHECK(bare.addressing == Addressing::single_bucket);
    CHECK(bare.bucket == "data");
    CHECK(bare.key == "sdk/object.bin");

    auto ps = get("/data/sdk/object.bin", "", single());
    CHECK(ps.addressing == Addressing::path_style);
    CHECK(ps.bucket == "data");
    CHECK(ps.key == "sdk/object.bin");

    // The ambiguity: a key starting with the bucket's name is asked as /<bucket>/<bucket>/...
    CHECK(get("/data/data/x", "", single()).key == "data/x");
    // The first segment is compared decoded.
    CHECK(get("/d%61ta/x", "", single()).addressing == Addressing::path_style);
    // A one-segment key that is not the bucket is a key.
    CHECK(get("/datax", "", single()).key == "datax");
    CHECK(get("/other/", "", single()).key == "other/");

    auto lst = get("/data", "list-type=2&prefix=a%2F", single());
    CHECK(lst.op == Operation::list_objects_v2);
    CHECK(lst.bucket == "data");
    CHECK(get("/data/", "", single()).op == Operation::list_objects);
    CHECK(get("/", "", single()).op == Operation::list_buckets);

    // A bucket read of another bucket is that bucket's (the proxy refuses it as not served),
    // not an unknown sub-resource of a key: `aws s3 ls s3://other/`, s3cmd's listing, and
    // GetBucketLocation.
    auto other = get("/other", "list-type=2&prefix=&delimiter=%2F&encoding-type=url", single());
    CHECK(other.op == Operation::list_objects_v2);
    CHECK(other.addressing == Addressing::path_style);
    CHECK(other.bucket == "other");
    CHECK(other.key.empty());
    CHECK(other.resource == "/other");
    auto s3cmd = get("/other/", "delimiter=%2F", single());
    CHECK(s3cmd.op == Operation::list_objects);
    CHECK(s3cmd.bucket == "other");
    CHECK(get("/other", "location", single()).op == Operation::get_bucket_location);
    CHECK(get("/other", "versions", single()).bucket == "other");
    // Still a key: an object read, an object sub-resource, a deeper path, a name that is no
    // bucket, or a parameter neither level takes.
    CHECK(get("/other", "tagging", single()).op == Operation::get_object_tagging);
    CHECK(get("/other", "tagging", single()).key == "other");
    CHECK(get("/a/b", "list-type=2", single()).op == Operation::not_implemented);
    CHECK(get("/no%20bucket", "list-type=2", single()).op == Operation::not_implemented);
    CHECK(get("/other", "policy", single()).op == Operation::not_implemented);
    CHECK(get("/other", "policy", single()).key == "other");
    CHECK(classify_request("HEAD", "/other", "list-type=2", "h", single()).op ==
          Operation::not_implemented);
}

TEST_CASE("virtual-hosted addressing under configured suffixes") {
    auto rules = with_suffixes(multi(), {"proxy.local", "s3.proxy.local"});
    auto o = get("/dir/k.bin", "", rules, "photos.proxy.local:8080");
    CHECK(o.op == Operation::get_object);
    CHECK(o.addressing == Addressing::virtual_hosted);
    CHECK(o.bucket == "photos");
    CHECK(o.key == "dir/k.bin");

    // Case, a trailing dot and the longest suffix.
    CHECK(get("/k", "", rules, "Photos.PROXY.local.").bucket == "photos");
    CHECK(get("/k", "", rules, "bk1.s3.proxy.local").bucket == "bk1");
    // Dotted bucket names work under a suffix.
    CHECK(get("/k", "", rules, "my.bucket.proxy.local").bucket == "my.bucket");

    auto lst = get("/", "list-type=2", rules, "photos.proxy.local");
    CHECK(lst.op == Operation::list_objects_v2);
    CHECK(lst.bucket == "photos");

    // The suffix itself, another host or an IP literal: path-style.
    CHECK(get("/photos/k", "", rules, "proxy.local").addressing == Addressing::path_style);
    CHECK(get("/photos/k", "", rules, "127.0.0.1:8080").addressing == Addressing::path_style);
    CHECK(get("/photos/k", "", rules, "[::1]:8080").bucket == "photos");
    CHECK(get("/photos/k", "", rules, "xproxy.local").bucket == "photos");
    CHECK(get("/photos/k", "", rules, "").bucket == "photos");
    // Without suffixes the Host is never read.
    CHECK(get("/k", "", multi(), "photos.proxy.local").addressing == Addressing::path_style);

    // Single-bucket mode takes virtual-hosted requests too (for any bucket: the proxy decides
    // whether it serves it).
    auto s = with_suffixes(single(), {"proxy.local"});
    CHECK(get("/data/x", "", s, "data.proxy.local").key == "data/x");
    CHECK(get("/x", "", s, "other.proxy.local").bucket == "other");
}

TEST_CASE("parameters GetObject understands stay on the cache path") {
    auto o = get("/bk1/k", "versionId=v%2B1&partNumber=0007&response-content-type=text%2Fplain");
    CHECK(o.op == Operation::get_object);
    CHECK(o.version_id == "v+1");
    CHECK(o.part_number == "7");
    REQUIRE(o.overrides.size() == 1);
    CHECK(o.overrides[0].first == "Content-Type");
    CHECK(o.overrides[0].second == "text/plain");

    // Presign parameters and the SDK marker never change the answer and never go to S3.
    auto p = get("/bk1/k",
                 "x-id=GetObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%"
                 "2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&"
                 "X-Amz-SignedHeaders=host&X-Amz-Signature=abc&X-Amz-Security-Token=t&"
                 "X-Amz-Content-Sha256=UNSIGNED-PAYLOAD");
    CHECK(p.op == Operation::get_object);
    CHECK(p.presigned);
    CHECK(p.relay_query.empty());
    CHECK_FALSE(get("/bk1/k", "x-id=GetObject").presigned);
    // SigV2 presigned URLs (the AWS CLI v1's `aws s3 presign`, boto3's default S3 client).
    auto v2 = get("/bk1/k",
                  "AWSAccessKeyId=AK&Signature=ab%2Bc%3D&Expires=1796538158&"
                  "x-amz-security-token=t");
    CHECK(v2.op == Operation::get_object);
    CHECK(v2.presigned);
    CHECK(v2.relay_query.empty());
    auto v2list = get("/bk1", "list-type=2&AWSAccessKeyId=AK&Signature=s&Expires=1");
    CHECK(v2list.op == Operation::list_objects_v2);
    CHECK(v2list.relay_query ==
          std::vector<std::pair<std::string, std::string>>{{"list-type", "2"}});

    CHECK(get("/bk1/k", "versionId=").op == Operation::invalid);
    CHECK(get("/bk1/k", "versionId=").error_code == "InvalidArgument");
    CHECK(get("/bk1/k", "versionId=" + std::string(1025, 'v')).op == Operation::invalid);
    CHECK(get("/bk1/k", "partNumber=0").status == 400);
    CHECK(get("/bk1/k", "partNumber=10001").status == 400);
    CHECK(get("/bk1/k", "partNumber=1x").status == 400);
    CHECK(get("/bk1/k", "partNumber=").status == 400);
    CHECK(get("/bk1/k", "partNumber=10000").part_number == "10000");
    auto bad = get("/bk1/k", "response-colour=blue");
    CHECK(bad.op == Operation::invalid);
    CHECK(bad.message == "unknown response override response-colour");
    CHECK(get("/bk1/k", "versionId=a&versionId=b").message ==
          "the query parameter versionId is given more than once");
    CHECK(get("/bk1/k", "a=%zz").error_code == "InvalidArgument");
}

TEST_CASE("object sub-resources are relayed, never the object's bytes") {
    struct Case {
        const char* query;
        Operation op;
    };
    for (Case c :
         {Case{"tagging", Operation::get_object_tagging},
          Case{"tagging=", Operation::get_object_tagging}, Case{"acl", Operation::get_object_acl},
          Case{"attributes", Operation::get_object_attributes},
          Case{"retention", Operation::get_object_retention},
          Case{"legal-hold", Operation::get_object_legal_hold},
          Case{"uploadId=u-1", Operation::list_parts}}) {
        CAPTURE(c.query);
        auto r = get("/bk1/k", c.query);
        CHECK(r.op == c.op);
        CHECK(route_of(r.op) == Route::relay);
        CHECK(r.key == "k");
    }
    auto t = get("/bk1/k", "tagging&versionId=v1&x-id=GetObjectTagging");
    CHECK(t.version_id == "v1");
    REQUIRE(t.relay_query.size() == 2);
    CHECK(t.relay_query[0] == std::pair<std::string, std::string>{"tagging", ""});
    CHECK(t.relay_query[1] == std::pair<std::string, std::string>{"versionId", "v1"});

    auto lp = get("/bk1/k", "uploadId=u%2F1&max-parts=10&part-number-marker=2");
    CHECK(lp.op == Operation::list_parts);
    CHECK(lp.relay_query.size() == 3);
    CHECK(lp.relay_query[0].second == "u/1");
    CHECK(get("/bk1/k", "uploadId=").status == 400);

    // Parameters an operation does not take, two sub-resources, and the ones not served: 501.
    for (const char* q : {"tagging&partNumber=1", "tagging&acl", "torrent", "select&select-type=2",
                          "restore", "uploadId=u&versionId=1", "colour=blue", "retention&foo"}) {
        CAPTURE(q);
        auto r = get("/bk1/k", q);
        CHECK(r.op == Operation::not_implemented);
        CHECK(r.status == 501);
        CHECK(r.error_code == "NotImplemented");
        CHECK(r.relay_query.empty());
    }
    CHECK(get("/bk1/k", "colour=blue").message.find("GET with ?colour") == 0);
    // HEAD with a sub-resource is not an S3 read.
    CHECK(classify_request("HEAD", "/bk1/k", "tagging", "", multi()).op ==
          Operation::not_implemented);
}

TEST_CASE("bucket-level reads") {
    auto v1 = get("/bk1", "prefix=a%2F&delimiter=%2F&marker=m&max-keys=5&encoding-type=url");
    CHECK(v1.op == Operation::list_objects);
    CHECK(v1.relay_query.size() == 5);
    CHECK(v1.relay_query[0] == std::pair<std::string, std::string>{"prefix", "a/"});

    auto v2 = get("/bk1/", "list-type=2&continuation-token=t&start-after=s&fetch-owner=true");
    CHECK(v2.op == Operation::list_objects_v2);
    CHECK(v2.relay_query.size() == 4);
    CHECK(get("/bk1", "list-type=1").status == 400);

    CHECK(get("/bk1", "versions&key-marker=k&version-id-marker=v").op ==
          Operation::list_object_versions);
    CHECK(get("/bk1", "location").op == Operation::get_bucket_location);
    auto hb = classify_request("HEAD", "/bk1", "", "", multi());
    CHECK(hb.op == Operation::head_bucket);
    CHECK(hb.relay_query.empty());

    for (const char* q :
         {"policy", "acl", "uploads", "versioning", "cors", "location&versions",
          "list-type=2&marker=m", "location&prefix=a", "versions&start-after=x", "tagging"}) {
        CAPTURE(q);
        CHECK(get("/bk1", q).op == Operation::not_implemented);
    }
    CHECK(classify_request("HEAD", "/bk1", "location", "", multi()).status == 501);
}

TEST_CASE("service level: ListBuckets from the configuration") {
    auto s = get("/", "prefix=a&max-buckets=2&continuation-token=b");
    CHECK(s.op == Operation::list_buckets);
    CHECK(s.relay_query.size() == 3);
    CHECK(get("/", "max-buckets=0").status == 400);
    CHECK(get("/", "max-buckets=99999").status == 400);
    CHECK(get("/", "list-type=2").op == Operation::not_implemented);
    CHECK(classify_request("HEAD", "/", "", "", multi()).status == 501);
}

TEST_CASE("writes are 405 whatever they address; bad names and paths are 400") {
    for (const char* m : {"PUT", "POST", "DELETE", "PATCH", "OPTIONS", "get"}) {
        CAPTURE(m);
        auto w = classify_request(m, "/bk1/k", "uploads", "", multi());
        CHECK(w.op == Operation::write);
        CHECK(w.status == 405);
        CHECK(w.error_code == "MethodNotAllowed");
        CHECK(w.key == "k");
        CHECK(w.resource == "/bk1/k");
    }
    CHECK(classify_request("PUT", "/bk1", "", "", multi()).key.empty());
    CHECK(classify_request("DELETE", "/", "", "", multi()).status == 405);
    CHECK(classify_request("OPTIONS", "*", "", "", multi()).status == 405);

    CHECK(get("*").error_code == "InvalidURI");
    CHECK(get("").error_code == "InvalidURI");
    CHECK(get("/ab/k").error_code == "InvalidBucketName");
    CHECK(get("/b%zz/k").error_code == "InvalidURI");
    CHECK(get("/bk1/k%zz").error_code == "InvalidURI");
    CHECK(get("/bk1/k%00").error_code == "InvalidURI");
    CHECK(get("/bk1/" + std::string(1025, 'k')).error_code == "KeyTooLongError");
    CHECK(get("/bk1/" + std::string(1024, 'k')).op == Operation::get_object);
    CHECK(get("/bk1/k%zz").resource == "/bk1/k%zz");  // undecodable: as sent
    // Keys are UTF-8: anything else names no object (overlong, surrogate, truncated, stray).
    for (const char* bad : {"/bk1/%ff%fe", "/bk1/a%c0%afb", "/bk1/%ed%a0%80", "/bk1/%e6%97",
                            "/bk1/k%80", "/bk1/\xff"}) {
        CAPTURE(bad);
        auto r = get(bad);
        CHECK(r.op == Operation::invalid);
        CHECK(r.status == 400);
        CHECK(r.error_code == "InvalidURI");
        CHECK(r.message == "Couldn't parse the specified URI: the key is not valid UTF-8.");
    }
    CHECK(get("/bk1/%e6%97%a5%f0%9f%98%80\xc3\xbc").key == "\xe6\x97\xa5\xf0\x9f\x98\x80\xc3\xbc");
    CHECK(get("/%ff%fe", "", single()).error_code == "InvalidURI");
}

TEST_CASE("relayed request headers") {
    CHECK(relayed_request_header(Operation::get_object_attributes, "x-amz-object-attributes"));
    CHECK(relayed_request_header(Operation::get_object_attributes, "x-amz-max-parts"));
    CHECK(relayed_request_header(Operation::list_objects_v2, "x-amz-expected-bucket-owner"));
    CHECK_FALSE(relayed_request_header(Operation::get_object_acl, "x-amz-object-attributes"));
    CHECK_FALSE(relayed_request_header(Operation::get_object, "x-amz-expected-bucket-owner"));
    CHECK_FALSE(relayed_request_header(Operation::list_objects, "authorization"));
    CHECK_FALSE(relayed_request_header(Operation::list_objects, "range"));
}

TEST_CASE("virtual host suffix lists") {
    auto s = parse_virtual_host_suffixes(" Proxy.Local. , s3.example.com,,");
    CHECK(s.error.empty());
    CHECK(s.suffixes == std::vector<std::string>{"proxy.local", "s3.example.com"});
    CHECK(parse_virtual_host_suffixes("a_b.local").error == "'a_b.local' is not a host name");
    CHECK(parse_virtual_host_suffixes(".local").error == "'.local' is not a host name");
    CHECK(parse_virtual_host_suffixes(" , ").error == "no host name given");
}

TEST_CASE("ListBuckets XML") {
    std::vector<BucketListing> b{{"alpha", "us-east-1"}, {"beta", "eu-west-1"}, {"a&b", "x"}};
    const std::string head =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Owner><ID>xs3lerator</ID><DisplayName>xs3lerator</DisplayName></Owner><Buckets>";
    auto entry = [](const char* name, const char* region) {
        return std::string("<Bucket><Name>") + name +
               "</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate><BucketRegion>" +
               region + "</BucketRegion></Bucket>";
    };
    const char* date = "2026-01-02T03:04:05.000Z";
    CHECK(render_list_buckets_xml(b, "", 0, "", date) ==
          head + entry("alpha", "us-east-1") + entry("beta", "eu-west-1") + entry("a&amp;b", "x") +
              "</Buckets></ListAllMyBucketsResult>");
    CHECK(render_list_buckets_xml(b, "a", 0, "", date) ==
          head + entry("alpha", "us-east-1") + entry("a&amp;b", "x") +
              "</Buckets><Prefix>a</Prefix></ListAllMyBucketsResult>");
    CHECK(render_list_buckets_xml(b, "", 1, "", date) ==
          head + entry("alpha", "us-east-1") +
              "</Buckets><ContinuationToken>alpha</ContinuationToken></ListAllMyBucketsResult>");
    CHECK(render_list_buckets_xml(b, "", 1, "alpha", date) ==
          head + entry("beta", "eu-west-1") +
              "</Buckets><ContinuationToken>beta</ContinuationToken></ListAllMyBucketsResult>");
    CHECK(render_list_buckets_xml(b, "", 5, "beta", date) ==
          head + entry("a&amp;b", "x") + "</Buckets></ListAllMyBucketsResult>");
}
