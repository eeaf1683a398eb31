// Writability: a failed cache write of the right kind turns the cache off, and the probe turns
// it back on once a file can be written there again.
#include "xs3/cache/writability.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

using namespace xs3;
using namespace std::chrono_literals;

TEST_CASE("off on a cache failure, on again once a probe file can be written") {
    char tmpl[] = "/tmp/xs3-writability-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string dir = tmpl;
    std::string blocker = dir + "/file";
    std::ofstream(blocker) << "x";  // a file where the cache's parent directory should be
    cache::Store store(blocker + "/cache", 2);
    ThreadPool pool(1);
    {
        cache::Writability w(store, pool, 20ms);
        CHECK(w.writable());
        w.failed(Status(Code::invalid_argument, "the object's own problem"));
        CHECK(w.writable());  // not a cache problem
        Status st = store.check_writable();
        REQUIRE_FALSE(st.ok());
        w.failed(Status(Code::io_error, "write failed"));
        CHECK_FALSE(w.writable());
        std::this_thread::sleep_for(100ms);
        CHECK_FALSE(w.writable());  // probes keep failing while the file is in the way
        REQUIRE(::unlink(blocker.c_str()) == 0);
        for (int i = 0; i < 200 && !w.writable(); ++i)
            std::this_thread::sleep_for(10ms);
        CHECK(w.writable());
        w.unusable(Status(Code::invalid_argument, "start-up check"));
        CHECK_FALSE(w.writable());  // off whatever the reason
        w.stop();
        pool.shutdown();
    }
    std::system(("rm -rf '" + dir + "'").c_str());
}
