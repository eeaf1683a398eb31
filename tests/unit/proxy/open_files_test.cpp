#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "xs3/proxy/open_files.hpp"

using xs3::cache::CacheKey;
using xs3::cache::Entry;
using xs3::proxy::OpenFiles;

namespace {
CacheKey key(int i) {
    std::string hex = std::to_string(i);
    hex.insert(0, 56 - hex.size(), '0');
    return CacheKey{hex, false};
}
std::shared_ptr<const Entry> entry(uint64_t size, uint64_t inode = 1) {
    auto e = std::make_shared<Entry>();
    e->fd = xs3::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    e->meta.size = size;
    e->inode = inode;
    return e;
}
}  // namespace

TEST_CASE("OpenFiles keeps the most recently used files up to its count") {
    OpenFiles of(2, 1000);
    of.put(key(1), entry(10));
    of.put(key(2), entry(10));
    REQUIRE(of.find(key(1)));   // 1 is now the most recent
    of.put(key(3), entry(10));  // 2 goes
    CHECK(of.size() == 2);
    CHECK(of.find(key(1)));
    CHECK_FALSE(of.find(key(2)));
    CHECK(of.find(key(3)));
}

TEST_CASE("OpenFiles holds only small objects, replaces per key, and lets go on drop") {
    OpenFiles of(4, 1000);
    of.put(key(1), entry(1001));
    CHECK_FALSE(of.find(key(1)));
    of.put(key(1), entry(1000, 7));
    of.put(key(1), entry(5, 8));
    CHECK(of.size() == 1);
    auto held = of.find(key(1));
    REQUIRE(held);
    CHECK(held->inode == 8);
    std::weak_ptr<const Entry> weak = held;
    held.reset();
    of.drop(key(1));
    CHECK(weak.expired());  // the descriptor is closed
    CHECK(of.size() == 0);
    of.drop(key(2));  // not held: nothing happens
}

TEST_CASE("OpenFiles with no room keeps nothing") {
    OpenFiles of(0, 1000);
    of.put(key(1), entry(1));
    CHECK(of.size() == 0);
    CHECK_FALSE(of.find(key(1)));
}
