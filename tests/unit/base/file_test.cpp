// read_whole_file and UniqueFd.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "xs3/base/file.hpp"
#include "xs3/base/unique_fd.hpp"

using namespace xs3;

TEST_CASE("read_whole_file: the bytes, absence, errors and the size limit") {
    char tmpl[] = "/tmp/xs3-file-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string path = tmpl;
    std::string content(40000, 'x');
    content[39999] = 'y';
    std::ofstream(path) << content;
    auto all = read_whole_file(path, 40000);
    REQUIRE(all.ok());
    REQUIRE(all->has_value());
    CHECK(**all == content);
    auto big = read_whole_file(path, 16384);
    REQUIRE_FALSE(big.ok());
    CHECK(big.status().message() == path + ": larger than 16KiB");
    std::remove(path.c_str());
    auto gone = read_whole_file(path, 100);
    REQUIRE(gone.ok());
    CHECK_FALSE(gone->has_value());
    auto dir = read_whole_file("/", 100);
    REQUIRE_FALSE(dir.ok());
    CHECK(dir.status().message().rfind("read /: ", 0) == 0);
}

TEST_CASE("UniqueFd closes what it owns and hands it on with release") {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        UniqueFd a(raw);
        UniqueFd b(std::move(a));
        CHECK_FALSE(a);
        CHECK(b.get() == raw);
    }
    CHECK(::fcntl(raw, F_GETFD) == -1);  // closed with b
    int kept = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd c(kept);
    CHECK(c.release() == kept);
    CHECK(::fcntl(kept, F_GETFD) != -1);
    ::close(kept);
}
