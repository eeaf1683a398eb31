#include <doctest/doctest.h>

#include "xs3/base/status.hpp"

using namespace xs3;

TEST_CASE("status_from_errno maps errno to codes and keeps the text") {
    Status s = status_from_errno(-ENOENT, "open /nope");
    CHECK(s.code() == Code::not_found);
    CHECK(s.sys_errno() == ENOENT);
    CHECK(s.to_string() == "not_found: open /nope: No such file or directory");
    CHECK(status_from_errno(-ENOSPC, "write").code() == Code::no_space);
    CHECK(status_from_errno(-EROFS, "open").code() == Code::access_denied);
    CHECK(status_from_errno(0, "x").ok());
}

TEST_CASE("Result holds a value or a status") {
    Result<int> r = 5;
    CHECK(r.ok());
    CHECK(*r == 5);
    Result<int> e = Status(Code::timeout, "slow");
    CHECK_FALSE(e.ok());
    CHECK(e.status().code() == Code::timeout);
}
