#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "xs3/s3/errors.hpp"

using namespace xs3::s3;

TEST_CASE("parse_error_xml reads a real S3 error body") {
    const std::string body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
        "<Key>dir/a&amp;b.txt</Key><RequestId>4442587FB7D0A2F9</RequestId>"
        "<HostId>eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran</HostId></Error>";
    auto e = parse_error_xml(body);
    REQUIRE(e.has_value());
    CHECK(e->code == "NoSuchKey");
    CHECK(e->message == "The specified key does not exist.");
    CHECK(e->request_id == "4442587FB7D0A2F9");
    CHECK(e->host_id == "eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran");
    CHECK(e->resource == "dir/a&b.txt");  // <Key> stands in when there is no <Resource>
}

TEST_CASE("parse_error_xml is tolerant of layout, namespaces, entities and CDATA") {
    const std::string body =
        "  <?xml version='1.0'?>\r\n<!-- from a compatible store -->\n"
        "<Error xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
        "  <Code >SignatureDoesNotMatch</Code>\n"
        "  <Message>a &lt;b&gt; &quot;c&quot; &apos;d&apos; &#65;&#x42;&#x20AC; &bogus; & e"
        "</Message>\n"
        "  <Resource><![CDATA[/bucket/<raw>&key]]></Resource>\n"
        "  <RequestId/>\n"
        "</Error>\n";
    auto e = parse_error_xml(body);
    REQUIRE(e.has_value());
    CHECK(e->code == "SignatureDoesNotMatch");
    CHECK(e->message == "a <b> \"c\" 'd' AB\xE2\x82\xAC &bogus; & e");
    CHECK(e->resource == "/bucket/<raw>&key");
    CHECK(e->request_id == "");
}

TEST_CASE("parse_error_xml takes the first Code and ignores look-alike elements") {
    auto e = parse_error_xml(
        "<Error><CodeX>no</CodeX><Code>SlowDown</Code><Details><Code>Inner</Code></Details>"
        "<MessageId>m</MessageId><Message>Please reduce your request rate.</Message></Error>");
    REQUIRE(e.has_value());
    CHECK(e->code == "SlowDown");
    CHECK(e->message == "Please reduce your request rate.");
}

TEST_CASE("parse_error_xml: truncated bodies give what is there") {
    auto e = parse_error_xml("<Error><Code>InternalError</Code><Message>We encount");
    REQUIRE(e.has_value());
    CHECK(e->code == "InternalError");
    CHECK(e->message == "We encount");
}

TEST_CASE("parse_error_xml: no usable error") {
    CHECK_FALSE(parse_error_xml("").has_value());
    CHECK_FALSE(parse_error_xml("<html><body>502 Bad Gateway</body></html>").has_value());
    CHECK_FALSE(parse_error_xml("<Errors><Code>X</Code></Errors>").has_value());
    CHECK_FALSE(parse_error_xml("<Error><Message>no code</Message></Error>").has_value());
    CHECK_FALSE(parse_error_xml("<Error><Code></Code></Error>").has_value());
    CHECK_FALSE(parse_error_xml("<Error/>").has_value());
    CHECK_FALSE(parse_error_xml("<Error").has_value());
}

TEST_CASE("xml_escape escapes the five specials and neutralizes control bytes") {
    CHECK(xml_escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    CHECK(xml_escape("tab\tnl\ncr\r") == "tab\tnl\ncr\r");
    CHECK(xml_escape(std::string_view("x\0y\x1f", 4)) == "x\xEF\xBF\xBDy\xEF\xBF\xBD");
    CHECK(xml_escape("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(xml_escape("") == "");
}

TEST_CASE("render_error_xml produces an S3-shaped body that parses back") {
    const std::string xml = render_error_xml("NoSuchKey", "The specified key does not exist.",
                                             "/bucket/a<b>&'\"", "req-1");
    CHECK(xml ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
          "<Resource>/bucket/a&lt;b&gt;&amp;&apos;&quot;</Resource><RequestId>req-1</RequestId>"
          "</Error>");
    auto e = parse_error_xml(xml);
    REQUIRE(e.has_value());
    CHECK(e->code == "NoSuchKey");
    CHECK(e->resource == "/bucket/a<b>&'\"");
    CHECK(e->request_id == "req-1");

    CHECK(render_error_xml("AccessDenied", "Access Denied", "", "") ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");

    // S3's extra elements go after the message, their text escaped.
    const ErrorDetail details[] = {{"Method", "PUT"}, {"Key", "a&b"}};
    CHECK(render_error_xml("MethodNotAllowed", "m", "/b/a&b", "ID1", details) ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<Error><Code>MethodNotAllowed</Code><Message>m</Message><Method>PUT</Method>"
          "<Key>a&amp;b</Key><Resource>/b/a&amp;b</Resource><RequestId>ID1</RequestId></Error>");
}

TEST_CASE("render_error_xml with S3's extra elements, escaped, after the message") {
    const std::vector<std::pair<std::string, std::string>> details = {
        {"AWSAccessKeyId", "AKID"}, {"StringToSign", "AWS4-HMAC-SHA256\n<x>&"}};
    CHECK(render_error_xml("SignatureDoesNotMatch", "no", "", "id-1", details) ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message>"
          "<AWSAccessKeyId>AKID</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n&lt;x&gt;&amp;"
          "</StringToSign><RequestId>id-1</RequestId></Error>");
    auto e = parse_error_xml(render_error_xml("SignatureDoesNotMatch", "no", "", "", details));
    REQUIRE(e.has_value());
    CHECK(e->code == "SignatureDoesNotMatch");
}

TEST_CASE("s3_error_for_status") {
    CHECK(s3_error_for_status(404) == "NoSuchKey");
    CHECK(s3_error_for_status(403) == "AccessDenied");
    CHECK(s3_error_for_status(412) == "PreconditionFailed");
    CHECK(s3_error_for_status(416) == "InvalidRange");
    CHECK(s3_error_for_status(405) == "MethodNotAllowed");
    CHECK(s3_error_for_status(400) == "InvalidRequest");
    CHECK(s3_error_for_status(500) == "InternalError");
    CHECK(s3_error_for_status(502) == "BadGateway");
    CHECK(s3_error_for_status(503) == "ServiceUnavailable");
    CHECK(s3_error_for_status(504) == "GatewayTimeout");
    CHECK(s3_error_for_status(304) == "NotModified");
    CHECK(s3_error_for_status(418) == "InvalidRequest");
    CHECK(s3_error_for_status(599) == "InternalError");
    CHECK(s3_error_for_status(200) == "");
    CHECK(s3_error_for_status(0) == "");
}

TEST_CASE("default_error_message") {
    CHECK(default_error_message("NoSuchKey") == "The specified key does not exist.");
    CHECK(default_error_message("AccessDenied") == "Access Denied");
    CHECK(default_error_message("InvalidRange") == "The requested range is not satisfiable");
    CHECK(default_error_message("Nope") == "");
    // Every code s3_error_for_status can produce has a message.
    for (int s = 300; s < 600; ++s) {
        CAPTURE(s);
        const auto code = s3_error_for_status(s);
        if (!code.empty()) CHECK_FALSE(default_error_message(code).empty());
    }
}
