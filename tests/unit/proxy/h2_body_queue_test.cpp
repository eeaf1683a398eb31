#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "xs3/proxy/h2_body_queue.hpp"

using xs3::proxy::H2BodyQueue;

namespace {
// Records what take() hands out, like SocketOutput's push_view / push_file.
struct Recorder {
    struct Item {
        bool view;
        std::string bytes;  // view
        int fd;
        uint64_t offset;
        uint64_t length;
        long keep_uses;
    };
    std::vector<Item> items;
    void push_view(const char* data, size_t n, H2BodyQueue::Keep keep) {
        items.push_back({true, std::string(data, n), -1, 0, n, keep.use_count()});
    }
    void push_file(int fd, uint64_t offset, uint64_t n, H2BodyQueue::Keep keep) {
        items.push_back({false, {}, fd, offset, n, keep.use_count()});
    }
};
}  // namespace

TEST_CASE("data chunks are taken as views, in order, across pieces") {
    H2BodyQueue q;
    q.push_data("hello ");
    q.push_data("world");
    CHECK(q.begin() == 0);
    CHECK(q.end() == 11);
    CHECK(q.memory_end() == 11);
    Recorder r;
    REQUIRE(q.take(0, 4, r));
    REQUIRE(q.take(4, 5, r));  // crosses from the first piece into the second
    REQUIRE(r.items.size() == 3);
    CHECK(r.items[0].bytes == "hell");
    CHECK(r.items[1].bytes == "o ");
    CHECK(r.items[2].bytes == "wor");
    CHECK(q.begin() == 9);
    CHECK(q.queued() == 2);
    CHECK_FALSE(q.take(0, 1, r));  // not at the front
    CHECK_FALSE(q.take(9, 3, r));  // more than queued
    CHECK(r.items.size() == 3);
    REQUIRE(q.take(9, 2, r));
    CHECK(r.items.back().bytes == "ld");
    CHECK(q.empty());
}

TEST_CASE("file regions are taken as file segments; memory stops at the first one") {
    H2BodyQueue q;
    auto file = std::make_shared<int>(7);
    q.push_data("ab");
    q.push_file(5, 4096, 100, file);
    q.push_data("tail");
    CHECK(q.memory_end() == 2);
    CHECK(q.end() == 106);
    const H2BodyQueue::FileRegion* f = q.first_file();
    REQUIRE(f != nullptr);
    CHECK(f->fd == 5);
    CHECK(f->offset == 4096);
    CHECK(f->length == 100);
    Recorder r;
    REQUIRE(q.take(0, 52, r));
    REQUIRE(r.items.size() == 2);
    CHECK(r.items[0].bytes == "ab");
    CHECK_FALSE(r.items[1].view);
    CHECK(r.items[1].fd == 5);
    CHECK(r.items[1].offset == 4096);
    CHECK(r.items[1].length == 50);
    CHECK(r.items[1].keep_uses >= 2);  // the file is kept by what was handed out
    REQUIRE(q.take(52, 54, r));
    CHECK(r.items[2].offset == 4146);
    CHECK(r.items[2].length == 50);
    CHECK(r.items[3].bytes == "tail");
}

TEST_CASE("fill turns the front of the first file region into memory") {
    H2BodyQueue q;
    q.push_data("x");
    q.push_file(3, 1000, 10, nullptr);
    std::string block = "0123456";
    auto keep = std::make_shared<std::string>(block);
    CHECK_FALSE(q.fill(4, 1000, keep->data(), 4, keep));   // another file
    CHECK_FALSE(q.fill(3, 1001, keep->data(), 4, keep));   // not the region's first byte
    CHECK_FALSE(q.fill(3, 1000, keep->data(), 11, keep));  // more than the region
    REQUIRE(q.fill(3, 1000, keep->data(), 4, keep));
    CHECK(q.memory_end() == 5);
    CHECK(q.end() == 11);
    REQUIRE(q.first_file() != nullptr);
    CHECK(q.first_file()->offset == 1004);
    CHECK(q.first_file()->length == 6);
    REQUIRE(q.fill(3, 1004, keep->data() + 4, 3, keep));
    CHECK(q.memory_end() == 8);
    Recorder r;
    REQUIRE(q.take(0, 8, r));
    std::string got;
    for (auto& i : r.items) {
        CHECK(i.view);
        got += i.bytes;
    }
    CHECK(got == "x0123456");
    // The rest of the region is still a file region; filling all of it replaces it.
    REQUIRE(q.fill(3, 1007, keep->data(), 3, keep));
    CHECK(q.first_file() == nullptr);
    CHECK(q.memory_end() == q.end());
}

TEST_CASE("clear drops everything and keeps the offsets moving forward") {
    H2BodyQueue q;
    q.push_data("abc");
    Recorder r;
    REQUIRE(q.take(0, 1, r));
    q.clear();
    CHECK(q.empty());
    CHECK(q.begin() == 3);
    CHECK(q.end() == 3);
    q.push_data("");  // empty chunks are ignored
    q.push_file(1, 0, 0, nullptr);
    CHECK(q.empty());
}

TEST_CASE("contiguous regions of the same file become one region") {
    H2BodyQueue q;
    auto file = std::make_shared<int>(1);
    auto other = std::make_shared<int>(2);
    q.push_file(3, 100, 10, file);
    q.push_file(3, 110, 20, file);  // continues it
    REQUIRE(q.first_file() != nullptr);
    CHECK(q.first_file()->length == 30);
    q.push_file(3, 200, 5, file);   // a gap: a region of its own
    q.push_file(4, 205, 5, file);   // another descriptor
    q.push_file(4, 210, 5, other);  // kept by something else
    CHECK(q.end() == 45);
    Recorder r;
    REQUIRE(q.take(0, 45, r));
    REQUIRE(r.items.size() == 4);
    CHECK(r.items[0].offset == 100);
    CHECK(r.items[0].length == 30);
    CHECK(r.items[1].offset == 200);
    CHECK(r.items[2].fd == 4);
    CHECK(r.items[3].offset == 210);
}
