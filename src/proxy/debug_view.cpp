// count_connections and download_views: the /debug routes' looks at live state. Connections
// belong to their worker's ring, so they are counted there (a posted task) rather than read
// from the admin thread.
#include "xs3/proxy/debug_view.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "xs3/proxy/worker.hpp"

namespace xs3::proxy {

ConnectionCounts count_connections(SharedState& shared, std::chrono::milliseconds timeout) {
    struct Gather {
        std::mutex mu;
        std::condition_variable cv;
        size_t pending = 0;
        std::vector<std::optional<ConnectionCounts>> per_worker;
    };
    auto g = std::make_shared<Gather>();
    const auto& workers = shared.workers;
    g->per_worker.resize(workers.size());
    for (size_t i = 0; i < workers.size(); ++i) {
        Worker* w = workers[i];
        {
            std::lock_guard lk(g->mu);
            ++g->pending;
        }
        bool posted = w->post([g, w, i] {
            ConnectionCounts c;
            w->for_each_connection([&c](const ClientConnection& conn) {
                auto st = conn.debug_state();
                ++c.total;
                ++c.by_state[std::string(st.protocol) + "." + st.state];
                c.h2_streams += st.streams;
            });
            std::lock_guard lk(g->mu);
            g->per_worker[i] = std::move(c);
            if (--g->pending == 0) g->cv.notify_all();
        });
        if (!posted) {
            std::lock_guard lk(g->mu);
            --g->pending;
        }
    }
    ConnectionCounts out;
    std::unique_lock lk(g->mu);
    g->cv.wait_for(lk, timeout, [&] { return g->pending == 0; });
    for (const auto& w : g->per_worker) {
        if (!w) {
            out.complete = false;
            out.per_worker.push_back(UINT64_MAX);
            continue;
        }
        out.total += w->total;
        out.h2_streams += w->h2_streams;
        for (const auto& [state, n] : w->by_state)
            out.by_state[state] += n;
        out.per_worker.push_back(w->total);
    }
    return out;
}

std::vector<fetch::DownloadView> download_views(const SharedState& shared) {
    std::vector<fetch::DownloadView> out;
    for (const auto& d : shared.fills.downloads())
        out.push_back(d->view());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.age > b.age; });
    return out;
}

}  // namespace xs3::proxy
