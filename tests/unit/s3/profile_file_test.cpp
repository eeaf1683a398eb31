// Shared config/credentials file parsing (the SDKs' format rules), merging and profile selection.
#include "xs3/s3/profile_file.hpp"

#include "fakes.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;

namespace {

ProfileSet config(std::string_view text) {
    auto r = parse_profile_file(text, ProfileFileKind::config, "cfg");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return *r;
}

ProfileSet credentials(std::string_view text) {
    auto r = parse_profile_file(text, ProfileFileKind::credentials, "creds");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return *r;
}

std::string config_error(std::string_view text) {
    auto r = parse_profile_file(text, ProfileFileKind::config, "/home/u/.aws/config");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::invalid_argument);
    return r.status().message();
}

}  // namespace

TEST_CASE("profile files: sections, properties, trimming and line endings") {
    CHECK(config("").empty());
    auto p = config(
        "[profile dev]\nregion = eu-west-1\n[profile  \tprod\t ]\r\nregion\t=  us-east-2 \t\r\n");
    REQUIRE(p.size() == 2);
    CHECK(p["dev"]["region"] == "eu-west-1");
    CHECK(p["prod"]["region"] == "us-east-2");
    // Tabs separate the prefix; '=' inside values and empty values are fine; unicode passes.
    p = config("[profile\tx]\nk = a=b\nempty =\nu = \xF0\x9F\x98\x82\n");
    CHECK(p["x"]["k"] == "a=b");
    CHECK(p["x"]["empty"] == "");
    CHECK(p["x"]["u"] == "\xF0\x9F\x98\x82");
    // Property names are case-insensitive; the last definition wins, repeated profiles merge.
    p = config("[profile a]\nRegion = one\n[profile a]\nregion = two\nother = 3\n");
    CHECK(p["a"] == ProfileProperties{{"region", "two"}, {"other", "3"}});
    // Blank lines are ignored anywhere.
    p = config("\t \n[profile a]\n\n \nk = v\n\t\n[profile b]\n \t");
    CHECK(p.size() == 2);
    CHECK(p["a"]["k"] == "v");
    CHECK(p["b"].empty());
}

TEST_CASE("profile files: comments") {
    auto p = config(
        "# top\n; top\n[profile a] # after\nk = v # trailing # more\nj = w ; trailing\n"
        "adjacent = v#no;comment\n[profile b]; adjacent to the section\n[profile c]#\n");
    CHECK(p["a"]["k"] == "v");
    CHECK(p["a"]["j"] == "w");
    CHECK(p["a"]["adjacent"] == "v#no;comment");  // only whitespace + #/; starts a comment
    CHECK(p.count("b") == 1);
    CHECK(p.count("c") == 1);
    p = config(";\n[profile a];\nk = v ;\n");
    CHECK(p["a"]["k"] == "v");
}

TEST_CASE("profile files: continuations and sub-properties") {
    auto p = config("[profile a]\nk = one\n two \t\n\tthree # kept\n");
    CHECK(p["a"]["k"] == "one\ntwo\nthree # kept");
    p = config("[profile a]\ns3 =\n  max_concurrent_requests = 10\n\n  addressing_style = path\n");
    CHECK(p["a"]["s3"] == "\nmax_concurrent_requests = 10\naddressing_style = path");
    CHECK(config_error("[profile a]\ns3 =\n  novalue\n").find("sub-property") != std::string::npos);
    CHECK(config_error("[profile a]\ns3 =\n  = v\n").find("sub-property has no name") !=
          std::string::npos);
    CHECK(config_error("  continued\n").find("expected a profile definition") != std::string::npos);
    CHECK(config_error("[profile a]\n  continued\n").find("expected a property definition") !=
          std::string::npos);
    // A new section ends the property a continuation could extend.
    CHECK(config_error("[profile a]\nk = v\n[profile a]\n  more\n")
              .find("expected a property definition") != std::string::npos);
}

TEST_CASE("profile files: syntax errors name the file and line, never the text") {
    CHECK(config_error("[profile a") ==
          "/home/u/.aws/config line 1: a profile definition must end with ']'");
    CHECK(config_error("k = v\n") ==
          "/home/u/.aws/config line 1: expected a profile definition before properties");
    CHECK(config_error("[profile a]\n\naws_secret_access_key : s3cr3t\n") ==
          "/home/u/.aws/config line 3: expected an '=' sign defining a property");
    CHECK(config_error("[profile a]\n= s3cr3t\n") ==
          "/home/u/.aws/config line 2: a property has no name");
    CHECK(config_error("[profile a] junk\n").find("line 1: unexpected text") != std::string::npos);
}

TEST_CASE("profile files: names, prefixes and the default profile") {
    // Config files need "profile " before every name but default; credentials files must not.
    auto c =
        config("[foo]\nk = 1\n[profilefoo]\nk = 2\n[profile bar]\nk = 3\n[sso-session s]\nk = 4\n");
    CHECK(c == ProfileSet{{"bar", {{"k", "3"}}}});
    auto k = credentials("[profile foo]\nk = 1\n[   foo  ]\nk = 2\n");
    CHECK(k == ProfileSet{{"foo", {{"k", "2"}}}});
    // Valid name characters; invalid names are ignored with their properties.
    c = config(
        "[profile some-thing:long/the_one%only.foo@bar+]\n[profile in valid]\nx = 1\n"
        "[profile foo!bar]\ny = 2\n[profile ok]\nz = 3\n");
    CHECK(c.size() == 2);
    CHECK(c.count("some-thing:long/the_one%only.foo@bar+") == 1);
    CHECK(c["ok"] == ProfileProperties{{"z", "3"}});
    // Invalid property names are ignored; valid ones are letters, digits, - and _.
    c = config("[profile a]\nin valid = 1\nABC-def_9 = 2\n");
    CHECK(c["a"] == ProfileProperties{{"abc-def_9", "2"}});
    // [profile default] beats [default], wherever it appears.
    CHECK(config("[default]\na = 1\n")["default"] == ProfileProperties{{"a", "1"}});
    CHECK(
        config(
            "[profile default]\na = 1\n[default]\nb = 2\n[profile default]\nc = 3\n")["default"] ==
        ProfileProperties{{"a", "1"}, {"c", "3"}});
    CHECK(config("[default]\nb = 2\n[profile default]\na = 1\n")["default"] ==
          ProfileProperties{{"a", "1"}});
    CHECK(config("[default]\n").count("default") == 1);
}

TEST_CASE("merge_profile_files: the credentials file wins per property") {
    auto merged = merge_profile_files(config("[profile a]\nregion = r\nk = config\n"),
                                      credentials("[a]\nk = creds\n[b]\nx = 1\n"));
    CHECK(merged["a"] == ProfileProperties{{"region", "r"}, {"k", "creds"}});
    CHECK(merged["b"] == ProfileProperties{{"x", "1"}});
}

TEST_CASE("load_aws_profile: paths, AWS_PROFILE and missing files") {
    FakeFiles fs({{"/home/u/.aws/config",
                   "[default]\nregion = eu-west-1\n[profile prod]\nregion = us-east-2\n"},
                  {"/home/u/.aws/credentials", "[default]\naws_access_key_id = AKID\n"}});
    auto reads = fs.reads;
    auto files = fs.fn();
    auto d = load_aws_profile(fake_env({{"HOME", "/home/u"}}), files);
    REQUIRE_MESSAGE(d.ok(), d.status().to_string());
    CHECK(d->name == "default");
    CHECK_FALSE(d->selected);
    CHECK(d->found);
    CHECK(*d->get("region") == "eu-west-1");
    CHECK(*d->get("aws_access_key_id") == "AKID");
    CHECK(d->get("nothing") == nullptr);
    CHECK(*reads == std::vector<std::string>{"/home/u/.aws/config", "/home/u/.aws/credentials"});

    auto prod = load_aws_profile(fake_env({{"HOME", "/home/u"}, {"AWS_PROFILE", "prod"}}), files);
    REQUIRE(prod.ok());
    CHECK(prod->selected);
    CHECK(*prod->get("region") == "us-east-2");
    CHECK(prod->get("aws_access_key_id") == nullptr);

    // AWS_PROFILE naming a profile neither file has is an error; a missing default is not.
    auto missing =
        load_aws_profile(fake_env({{"HOME", "/home/u"}, {"AWS_PROFILE", "nope"}}), files);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().message().find("profile 'nope'") != std::string::npos);
    auto none = load_aws_profile(fake_env({{"HOME", "/elsewhere"}}), files);
    REQUIRE(none.ok());
    CHECK_FALSE(none->found);

    // The variables override the paths; "~/" expands to HOME; without HOME there are no files.
    reads->clear();
    auto custom = load_aws_profile(fake_env({{"HOME", "/home/u"},
                                             {"AWS_CONFIG_FILE", "~/.aws/config"},
                                             {"AWS_SHARED_CREDENTIALS_FILE", "/etc/xs3/creds"}}),
                                   files);
    REQUIRE(custom.ok());
    CHECK(*reads == std::vector<std::string>{"/home/u/.aws/config", "/etc/xs3/creds"});
    CHECK(custom->credentials_path == "/etc/xs3/creds");
    reads->clear();
    auto homeless = load_aws_profile(fake_env({}), files);
    REQUIRE(homeless.ok());
    CHECK(reads->empty());
    CHECK(homeless->describe() == "profile 'default' (no credentials file, no config file)");

    // Errors in either file stop the load and name it.
    auto broken = load_aws_profile(fake_env({{"AWS_SHARED_CREDENTIALS_FILE", "/c"}}),
                                   fake_files({{"/c", "[default]\naws_secret_access_key\n"}}));
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.status().message() == "/c line 2: expected an '=' sign defining a property");
    auto unreadable =
        load_aws_profile(fake_env({{"AWS_CONFIG_FILE", "/x"}}),
                         [](const std::string&) -> Result<std::optional<std::string>> {
                             return Status(Code::io_error, "open /x: Permission denied");
                         });
    CHECK(unreadable.status().message() == "open /x: Permission denied");
}

TEST_CASE("read_small_file: contents, absence and errors") {
    char tmpl[] = "/tmp/xs3-profile-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string path = tmpl;
    std::ofstream(path) << "[default]\nregion = x\n";
    auto r = read_small_file(path);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK(**r == "[default]\nregion = x\n");
    std::remove(path.c_str());
    auto gone = read_small_file(path);
    REQUIRE(gone.ok());
    CHECK_FALSE(gone->has_value());
    auto dir = read_small_file("/");
    CHECK_FALSE(dir.ok());  // EISDIR on read
}
