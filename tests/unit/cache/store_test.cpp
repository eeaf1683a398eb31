// Tests of the on-disk Store against a real temporary directory.
#include "xs3/cache/store.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

using namespace xs3;
using namespace xs3::cache;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/xs3-store-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

const CacheKey kKey = make_cache_key("bucket", "some/object", std::nullopt).key;

ObjectMeta meta_for(uint64_t size) {
    ObjectMeta m;
    m.size = size;
    m.etag = "\"abc\"";
    m.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
    m.content_type = "application/octet-stream";
    m.user_meta = {{"sha224", "none"}, {"owner", "line1\nline2"}};
    m.bucket = "bucket";
    m.key = "some/object";
    m.stored_at_unix = 1700000000;
    return m;
}

std::string payload(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>((i * 131 + 7) % 251);
    return s;
}

void write_at(int fd, const std::string& data, uint64_t offset) {
    REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) ==
            static_cast<ssize_t>(data.size()));
}

std::string read_at(int fd, size_t n, uint64_t offset) {
    std::string s(n, '\0');
    REQUIRE(::pread(fd, s.data(), n, static_cast<off_t>(offset)) == static_cast<ssize_t>(n));
    return s;
}

size_t count_entries(const std::string& dir) {
    std::error_code ec;
    size_t n = 0;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it)
        ++n;
    return n;
}

// Stores `data` under kKey; returns the published path.
std::string publish_object(const Store& store, const ObjectMeta& meta, const std::string& data) {
    auto temp = store.create_temp(kKey, meta, false);
    REQUIRE(temp.ok());
    write_at(temp->fd.get(), data, temp->data_offset);
    REQUIRE(store.publish(std::move(*temp), kKey).ok());
    return store.path_of(kKey);
}

}  // namespace

TEST_CASE("publish then lookup returns the same metadata and bytes") {
    TempDir dir;
    Store store(dir.path + "/cache", 4);
    REQUIRE(store.check_writable().ok());
    ObjectMeta meta = meta_for(100000);
    std::string data = payload(100000);

    CHECK_FALSE(store.lookup(kKey).value().has_value());
    auto temp = store.create_temp(kKey, meta, false);
    REQUIRE(temp.ok());
    CHECK(temp->data_offset == 4096);
    CHECK(temp->total_size == 4096 + 100000);
    CHECK(temp->path.rfind(dir.path + "/cache/.tmp/" + kKey.hex + ".n.", 0) == 0);
    CHECK(temp->path.substr(temp->path.size() - 5) == ".part");
    // Nothing is visible at the final path while the download runs.
    write_at(temp->fd.get(), data.substr(0, 5000), temp->data_offset);
    CHECK_FALSE(store.lookup(kKey).value().has_value());
    CHECK_FALSE(fs::exists(store.path_of(kKey)));
    write_at(temp->fd.get(), data.substr(5000), temp->data_offset + 5000);
    std::string temp_path = temp->path;
    REQUIRE(store.publish(std::move(*temp), kKey).ok());
    CHECK_FALSE(fs::exists(temp_path));
    CHECK(count_entries(dir.path + "/cache/.tmp") == 0);

    std::string h = kKey.hex;
    CHECK(store.path_of(kKey) == dir.path + "/cache/" + h.substr(0, 1) + "/" + h.substr(1, 1) +
                                     "/" + h.substr(2, 1) + "/" + h.substr(3, 1) + "/" + h + ".n");
    CHECK(fs::file_size(store.path_of(kKey)) == 4096 + 100000);

    auto hit = store.lookup(kKey);
    REQUIRE(hit.ok());
    REQUIRE(hit->has_value());
    const Entry& e = **hit;
    CHECK(e.meta == meta);
    CHECK(e.data_offset == 4096);
    CHECK(read_at(e.fd.get(), data.size(), e.data_offset) == data);
}

TEST_CASE("a header longer than one block is read in a second pass") {
    TempDir dir;
    Store store(dir.path, 1);
    ObjectMeta meta = meta_for(10);
    for (int i = 0; i < 10; ++i)
        meta.user_meta.emplace_back("k" + std::to_string(i), std::string(1024, 'v'));
    publish_object(store, meta, "0123456789");
    auto hit = store.lookup(kKey);
    REQUIRE(hit->has_value());
    CHECK((*hit)->data_offset == 3 * 4096);
    CHECK((*hit)->meta == meta);
    CHECK(read_at((*hit)->fd.get(), 10, (*hit)->data_offset) == "0123456789");
}

TEST_CASE("an empty object") {
    TempDir dir;
    Store store(dir.path, 2);
    publish_object(store, meta_for(0), "");
    auto hit = store.lookup(kKey);
    REQUIRE(hit->has_value());
    CHECK((*hit)->meta.size == 0);
    CHECK(fs::file_size(store.path_of(kKey)) == 4096);
}

TEST_CASE("a file whose size does not match its header is removed on lookup") {
    TempDir dir;
    Store store(dir.path, 4);
    std::string path = publish_object(store, meta_for(1000), payload(1000));
    SUBCASE("too long") {
        std::ofstream(path, std::ios::app) << "x";
    }
    SUBCASE("too short") {
        fs::resize_file(path, 4096 + 999);
    }
    SUBCASE("header only, cut inside the header") {
        fs::resize_file(path, 100);
    }
    SUBCASE("garbage") {
        std::ofstream(path, std::ios::trunc) << "not a cache file";
    }
    auto r = store.lookup(kKey);
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
    CHECK_FALSE(fs::exists(path));
}

TEST_CASE("publish refuses an incomplete file and trims O_DIRECT padding") {
    TempDir dir;
    Store store(dir.path, 4);
    ObjectMeta meta = meta_for(5000);

    auto short_temp = store.create_temp(kKey, meta, false);
    REQUIRE(short_temp.ok());
    write_at(short_temp->fd.get(), payload(4999), short_temp->data_offset);
    std::string short_path = short_temp->path;
    Status st = store.publish(std::move(*short_temp), kKey);
    CHECK(st.code() == Code::io_error);
    CHECK(st.message() == "incomplete cache file " + short_path + ": 9095 of 9096 bytes");
    CHECK_FALSE(fs::exists(short_path));
    CHECK_FALSE(fs::exists(store.path_of(kKey)));

    // O_DIRECT writes whole blocks; the last one carries padding that publish cuts off.
    auto temp = store.create_temp(kKey, meta, true);
    REQUIRE(temp.ok());
    std::string data = payload(5000);
    void* raw = nullptr;
    REQUIRE(::posix_memalign(&raw, 4096, 8192) == 0);
    std::unique_ptr<char, decltype(&std::free)> buf(static_cast<char*>(raw), &std::free);
    std::memset(buf.get(), 'P', 8192);
    std::memcpy(buf.get(), data.data(), data.size());
    REQUIRE(::pwrite(temp->fd.get(), buf.get(), 8192, static_cast<off_t>(temp->data_offset)) ==
            8192);
    MESSAGE("O_DIRECT in effect: " << temp->direct_io);
    REQUIRE(store.publish(std::move(*temp), kKey).ok());
    CHECK(fs::file_size(store.path_of(kKey)) == 4096 + 5000);
    auto hit = store.lookup(kKey);
    REQUIRE(hit->has_value());
    CHECK(read_at((*hit)->fd.get(), 5000, 4096) == data);
}

TEST_CASE("discard and remove") {
    TempDir dir;
    Store store(dir.path, 4);
    auto temp = store.create_temp(kKey, meta_for(1), false);
    REQUIRE(temp.ok());
    std::string temp_path = temp->path;
    CHECK(fs::exists(temp_path));
    store.discard(std::move(*temp));
    CHECK_FALSE(fs::exists(temp_path));

    std::string path = publish_object(store, meta_for(1), "z");
    auto hit = store.lookup(kKey);
    REQUIRE(hit->has_value());
    CHECK(store.remove(kKey).ok());
    CHECK_FALSE(fs::exists(path));
    CHECK_FALSE(store.lookup(kKey)->has_value());
    CHECK(read_at((*hit)->fd.get(), 1, 4096) == "z");  // an open entry survives removal
    CHECK(store.remove(kKey).ok());                    // removing a missing file is fine
}

TEST_CASE("a name key and a content key with the same digits are different files") {
    TempDir dir;
    Store store(dir.path, 4);
    CacheKey content{kKey.hex, true};
    auto temp = store.create_temp(content, meta_for(1), false);
    REQUIRE(temp.ok());
    write_at(temp->fd.get(), "c", temp->data_offset);
    REQUIRE(store.publish(std::move(*temp), content).ok());
    CHECK_FALSE(store.lookup(kKey)->has_value());
    publish_object(store, meta_for(1), "n");
    CHECK(read_at((*store.lookup(content))->fd.get(), 1, 4096) == "c");
    CHECK(read_at((*store.lookup(kKey))->fd.get(), 1, 4096) == "n");
}

TEST_CASE("check_writable") {
    TempDir dir;
    SUBCASE("creates a missing root and .tmp and leaves no probe behind") {
        Store store(dir.path + "/a/b/cache", 4);
        REQUIRE(store.check_writable().ok());
        CHECK(fs::is_directory(dir.path + "/a/b/cache/.tmp"));
        CHECK(count_entries(dir.path + "/a/b/cache") == 1);
        CHECK(count_entries(dir.path + "/a/b/cache/.tmp") == 0);
    }
    SUBCASE("a path through a regular file") {
        std::ofstream(dir.path + "/file") << "x";
        Store store(dir.path + "/file/cache", 4);
        Status st = store.check_writable();
        CHECK_FALSE(st.ok());
        CHECK(st.message() == "cache dir " + dir.path + "/file/cache: mkdir " + dir.path +
                                  "/file/cache: Not a directory");
    }
    SUBCASE("the root is a regular file") {
        std::ofstream(dir.path + "/file") << "x";
        Store store(dir.path + "/file", 4);
        Status st = store.check_writable();
        CHECK(st.code() == Code::invalid_argument);
        CHECK(st.message() == "cache dir " + dir.path + "/file: not a directory");
    }
    SUBCASE("a read-only directory") {
        std::string ro = dir.path + "/ro";
        fs::create_directory(ro);
        if (::geteuid() != 0) {
            ::chmod(ro.c_str(), 0555);
            Status st = Store(ro, 4).check_writable();
            CHECK(st.code() == Code::access_denied);
            ::chmod(ro.c_str(), 0755);
        } else {
            // Root ignores permissions, so make the directory a read-only bind mount in a private
            // mount namespace of a child process; skip where that is not allowed.
            pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                if (::unshare(CLONE_NEWNS) != 0 ||
                    ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                    ::mount(ro.c_str(), ro.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
                    ::mount(nullptr, ro.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY,
                            nullptr) != 0)
                    ::_exit(77);
                Status st = Store(ro, 4).check_writable();
                bool expected = st.code() == Code::access_denied && st.sys_errno() == EROFS &&
                                st.message() == "cache dir " + ro + ": cannot create " + ro +
                                                    "/.tmp: Read-only file system";
                ::_exit(expected ? 0 : 1);
            }
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            REQUIRE(WIFEXITED(status));
            if (WEXITSTATUS(status) == 77)
                MESSAGE("skipped: cannot create a read-only bind mount here");
            else
                CHECK(WEXITSTATUS(status) == 0);
        }
    }
}

TEST_CASE("a download killed midway leaves only a .part file, which clean_temp_dir removes") {
    TempDir dir;
    Store store(dir.path, 4);
    REQUIRE(store.check_writable().ok());
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto temp = store.create_temp(kKey, meta_for(100000), false);
        if (!temp.ok()) ::_exit(1);
        std::string half = payload(50000);
        if (::pwrite(temp->fd.get(), half.data(), half.size(), 4096) != 50000) ::_exit(1);
        ::kill(::getpid(), SIGKILL);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(count_entries(dir.path + "/.tmp") == 1);
    for (const auto& e : fs::directory_iterator(dir.path + "/.tmp"))
        CHECK(e.path().extension() == ".part");
    CHECK_FALSE(fs::exists(store.path_of(kKey)));
    CHECK_FALSE(store.lookup(kKey)->has_value());

    // A second leftover, and an unrelated published object that must survive the cleanup.
    auto other = store.create_temp(kKey, meta_for(1), false);
    REQUIRE(other.ok());
    other->fd.reset();
    CacheKey keep = make_cache_key("bucket", "kept", std::nullopt).key;
    auto t = store.create_temp(keep, meta_for(1), false);
    REQUIRE(t.ok());
    write_at(t->fd.get(), "k", t->data_offset);
    REQUIRE(store.publish(std::move(*t), keep).ok());

    auto removed = store.clean_temp_dir();
    REQUIRE(removed.ok());
    CHECK(*removed == 2);
    CHECK(count_entries(dir.path + "/.tmp") == 0);
    CHECK(store.lookup(keep)->has_value());
    CHECK(*store.clean_temp_dir() == 0);
    CHECK(*Store(dir.path + "/missing", 4).clean_temp_dir() == 0);
}
