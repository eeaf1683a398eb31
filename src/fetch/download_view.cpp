// Download::view: the read-only look /debug/downloads takes at a download in flight (Fills::
// downloads lists them). Everything read here is atomic or fixed before readers may see it.
#include "xs3/fetch/download.hpp"

namespace xs3::fetch {

const char* Download::state_name(State s) noexcept {
    switch (s) {
        case State::probing:
            return "probing";
        case State::preparing:
            return "preparing";
        case State::running:
            return "running";
        case State::complete:
            return "complete";
        case State::failed:
            return "failed";
        case State::redirected:
            return "redirected";
    }
    return "?";
}

DownloadView Download::view() const {
    DownloadView v;
    v.id = trace_id_;
    v.name = name_;
    State st = state();
    v.state = state_name(st);
    v.size_known = size_known();
    if (v.size_known) v.size = size_;
    v.age = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  created_);
    v.readers = readers_.load(std::memory_order_relaxed);
    v.waiters = progress_.waiters();
    v.bytes_fetched = bytes_fetched();
    v.retries = retries();
    // The plan is made before size_known turns true (a release store) and never changes after.
    if (v.size_known) {
        const auto& chunks = progress_.chunks();
        v.chunks.reserve(chunks.size());
        for (size_t i = 0; i < chunks.size(); ++i)
            v.chunks.push_back({chunks[i].offset, chunks[i].length, progress_.written(i)});
    }
    return v;
}

}  // namespace xs3::fetch
