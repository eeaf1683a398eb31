// Worker: ring set-up, accept loop, connection registry and graceful drain.
#include "xs3/proxy/worker.hpp"

#include <unistd.h>

#include <cstdio>
#include <random>

#include "xs3/base/log.hpp"
#include "xs3/proxy/client_auth.hpp"
#include "xs3/proxy/h1_connection.hpp"
#include "xs3/proxy/h2_connection.hpp"

namespace xs3::proxy {

namespace {
// Differs per process start, so ids from one run are not mistaken for another's.
const uint64_t kRequestIdPrefix = std::random_device{}() & 0xfffffu;
}  // namespace

std::string Worker::new_request_id() {
    // prefix (20 bits) | worker (8 bits) | counter (36 bits)
    uint64_t v = (kRequestIdPrefix << 44) | ((static_cast<uint64_t>(id_) & 0xff) << 36) |
                 (next_request_++ & 0xfffffffffULL);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(v));
    return buf;
}

Worker::Worker(SharedState& shared, int id, UniqueFd listen_fd)
    : shared_(shared),
      id_(id),
      listen_fd_(std::move(listen_fd)),
      // Connection ids are unique in the process (the worker in the top bits), so the trace's
      // conn field names one connection whichever worker it is on.
      next_conn_id_((static_cast<uint64_t>(id) << 40) + 1) {}

Worker::~Worker() {
    ring_ptr_.store(nullptr, std::memory_order_release);
    ring_.reset();
}

std::vector<ClientConnection*> Worker::snapshot_connections() const {
    std::vector<ClientConnection*> all;
    all.reserve(connections_.size());
    for (const auto& [id, c] : connections_)
        all.push_back(c.get());
    return all;
}

void Worker::teardown() {
    // On the worker's thread: a SINGLE_ISSUER ring refuses io_uring_enter from any other.
    if (acceptor_) acceptor_->stop();
    // A connection is freed only once its ops are out of the kernel: close them all and let the
    // cancellations complete before anything is destroyed.
    for (auto* c : snapshot_connections())
        c->close("shutting down");
    for (int i = 0; i < 200 && !connections_.empty(); ++i)
        ring_->run_once(std::chrono::milliseconds(5));
    if (!connections_.empty())
        XS3_LOG_WARN("connections still had ops in flight at shutdown",
                     kv("connections", connections_.size()));
    connections_.clear();
    shared_.slots.remove(ring_.get());
    curl_.reset();
    // Let cancelled ops deliver their CQEs before the ring and what they point into go away.
    for (int i = 0; i < 20; ++i)
        ring_->run_once(std::chrono::milliseconds(1));
    acceptor_.reset();
    recv_buffers_.reset();
    pipes_.reset();
    copy_blocks_.reset();
    // The ring itself stays until the Worker goes: tasks posted to it from other threads (the
    // blocking pool, other rings) during shutdown land in its queue and die with it.
}

Status Worker::run() {
    set_log_worker_id(id_);
    ring::RingOptions ro;
    ro.worker_id = id_;
    auto r = ring::Ring::create(ro);
    if (!r.ok()) return r.status();
    ring_ = std::move(r).value();
    ring_ptr_.store(ring_.get(), std::memory_order_release);
    if (id_ == 0) XS3_LOG_INFO("io_uring features", kv("features", ring_->features().describe()));

    if (ring_->features().buf_ring) {
        auto br = ring::BufferRing::create(*ring_, 1, 1024, 16 * 1024);
        if (br.ok())
            recv_buffers_ = std::move(br).value();
        else
            XS3_LOG_WARN("provided buffer ring unavailable; using per-connection buffers",
                         kv("error", br.status().to_string()));
    }
    pipes_ = std::make_unique<ring::PipePool>(shared_.options.pipe_size);
    // The copy-mode budget is split evenly: each worker's connections share their pool's part,
    // and no more idle blocks are kept than that part holds.
    const uint64_t copy_budget = std::max<uint64_t>(
        shared_.options.copy_size,
        shared_.options.copy_memory / std::max<size_t>(1, shared_.workers.size()));
    copy_blocks_ = std::make_unique<ring::BlockPool>(
        shared_.options.copy_size,
        static_cast<size_t>(std::min<uint64_t>(64, copy_budget / shared_.options.copy_size)),
        copy_budget);
    trim_copy_blocks_later();
    s3::CurlClient::Options co;
    co.max_connections_total = shared_.options.max_upstream_connections;
    auto cc = s3::CurlClient::create(*ring_, co);
    if (!cc.ok()) return cc.status();
    curl_ = std::move(cc).value();
    shared_.slots.add({ring_.get(), curl_.get()});

    acceptor_ = std::make_unique<net::Acceptor>(*ring_, std::move(listen_fd_),
                                                [this](UniqueFd fd) { on_accept(std::move(fd)); });
    acceptor_->start();
    accepting_.store(true, std::memory_order_release);
    ring_->run();
    accepting_.store(false, std::memory_order_release);
    teardown();
    return {};
}

void Worker::on_accept(UniqueFd fd) {
    // Every return before adopt() closes the socket (fd).
    if (!admit_connection(fd.get(), shared_.options.allow_clients,
                          shared_.counters.clients_refused))
        return;
    uint64_t n = shared_.connections.fetch_add(1, std::memory_order_relaxed) + 1;
    // At the cap, a connection that is working on no request (idle, or still in its head) makes
    // room: the new client is served, the one that waited longest goes. The count drops when
    // the closed one is freed, so it may pass the cap by the connections being closed.
    if (n > shared_.options.max_connections && !draining_ && reclaim_waiting()) n = 0;
    if (n > shared_.options.max_connections || draining_) {
        shared_.connections.fetch_sub(1, std::memory_order_relaxed);
        shared_.counters.connections_refused.fetch_add(1, std::memory_order_relaxed);
        XS3_LOG_WARN("connection refused: too many connections",
                     kv("max_connections", shared_.options.max_connections));
        return;
    }
    // SO_REUSEPORT spreads connections by a hash of their addresses, so a handful of them (an
    // HTTP/2 client's few multiplexed connections) often land 3:1 or 4:0 on two workers, and
    // one core does all the work. A socket nothing has touched yet can still go elsewhere.
    if (Worker* other = lighter_worker()) {
        if (ring::Ring* r = other->ring_ptr_.load(std::memory_order_acquire)) {
            other->load_.fetch_add(1, std::memory_order_relaxed);
            // A task must be copyable, so the socket travels in a shared_ptr; a task that never
            // runs (its ring ended first) still closes it.
            r->post([other, sock = std::make_shared<UniqueFd>(std::move(fd))] {
                other->load_.fetch_sub(1, std::memory_order_relaxed);
                other->adopt(std::move(*sock));
            });
            return;
        }
    }
    adopt(std::move(fd));
}

Worker* Worker::lighter_worker() noexcept {
    Worker* best = nullptr;
    uint64_t best_load = 0;
    const uint64_t mine = load();
    for (Worker* w : shared_.workers) {
        if (w == this || !w->accepting_.load(std::memory_order_acquire)) continue;
        uint64_t l = w->load();
        if (l < mine && (best == nullptr || l < best_load)) {
            best = w;
            best_load = l;
        }
    }
    return best;
}

void Worker::adopt(UniqueFd fd) {
    if (draining_ || ring_ == nullptr) {
        // Shutting down since the socket was accepted elsewhere (fd closes it).
        shared_.connections.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    uint64_t id = next_conn_id_++;
    auto c = std::make_unique<H1Connection>(*this, std::move(fd), id);
    H1Connection* raw = c.get();
    connections_.emplace(id, std::move(c));
    load_.fetch_add(1, std::memory_order_relaxed);
    raw->start();
}

void Worker::hand_over_to_h2(UniqueFd fd, std::string received, std::optional<H2Upgrade> upgrade,
                             std::string first_output) {
    // Counted like an accepted connection; the H1Connection it replaces uncounts itself.
    shared_.connections.fetch_add(1, std::memory_order_relaxed);
    uint64_t id = next_conn_id_++;
    auto c = std::make_unique<H2Connection>(*this, std::move(fd), id, std::move(received),
                                            std::move(upgrade), std::move(first_output));
    H2Connection* raw = c.get();
    connections_.emplace(id, std::move(c));
    load_.fetch_add(1, std::memory_order_relaxed);
    raw->start();
    if (draining_) raw->finish_after_response();
}

void Worker::link_waiting(ClientConnection* c) noexcept {
    c->waiting_ = true;
    c->waiting_prev_ = waiting_tail_;
    c->waiting_next_ = nullptr;
    if (waiting_tail_ != nullptr)
        waiting_tail_->waiting_next_ = c;
    else
        waiting_head_ = c;
    waiting_tail_ = c;
    ++waiting_count_;
}

void Worker::unlink_waiting(ClientConnection* c) noexcept {
    if (c->waiting_prev_ != nullptr)
        c->waiting_prev_->waiting_next_ = c->waiting_next_;
    else
        waiting_head_ = c->waiting_next_;
    if (c->waiting_next_ != nullptr)
        c->waiting_next_->waiting_prev_ = c->waiting_prev_;
    else
        waiting_tail_ = c->waiting_prev_;
    c->waiting_prev_ = c->waiting_next_ = nullptr;
    c->waiting_ = false;
    --waiting_count_;
}

bool Worker::reclaim_waiting() noexcept {
    ClientConnection* oldest = waiting_head_;
    if (oldest == nullptr) return false;
    shared_.counters.connections_reclaimed.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_INFO("connection closed to make room: --max-connections reached",
                 kv("conn", oldest->id()), kv("max_connections", shared_.options.max_connections));
    oldest->close("connection cap reached: the longest waiting connection goes");
    if (oldest->waiting()) oldest->set_waiting(false);  // closed: it waits for nothing now
    return true;
}

void Worker::forget(ClientConnection* c) noexcept {
    auto it = connections_.find(c->id());
    if (it == connections_.end()) return;
    std::unique_ptr<ClientConnection> dead = std::move(it->second);
    connections_.erase(it);
    load_.fetch_sub(1, std::memory_order_relaxed);
    ring_->dispose_later(std::move(dead));
    if (draining_) ring_->defer([this] { check_drained(); });
}

void Worker::drain(std::chrono::milliseconds deadline) {
    ring::Ring* r = ring_ptr_.load(std::memory_order_acquire);
    if (r == nullptr) return;  // never started, or already gone
    accepting_.store(false, std::memory_order_release);
    r->post([this, deadline] {
        draining_ = true;
        if (acceptor_) acceptor_->stop();
        for (auto* c : snapshot_connections())
            c->finish_after_response();
        ring_->add_timer(deadline, [this] {
            auto rest = snapshot_connections();
            if (!rest.empty())
                XS3_LOG_WARN("drain deadline passed; closing connections",
                             kv("connections", rest.size()));
            for (auto* c : rest)
                c->close("drain deadline");
            // Closed connections are freed once their ops are back; give them a moment.
            ring_->add_timer(std::chrono::milliseconds(50),
                             [this] { drained_.store(true, std::memory_order_release); });
        });
        check_drained();
    });
}

// The copy pool's idle blocks are freed once it has handed out nothing for a whole period with
// nothing outstanding: a burst of large hits must not leave up to the worker's part of
// --copy-memory held for good (memory the heap trimmer cannot return while the pool keeps it).
void Worker::trim_copy_blocks_later() {
    ring_->add_timer(std::chrono::seconds(1), [this] {
        if (!copy_blocks_) return;  // torn down
        (void)copy_blocks_->drop_idle_if_quiet(copy_quiet_mark_);
        trim_copy_blocks_later();
    });
}

void Worker::check_drained() {
    if (draining_ && connections_.empty()) drained_.store(true, std::memory_order_release);
}

bool Worker::post(std::function<void()> task) {
    ring::Ring* r = ring_ptr_.load(std::memory_order_acquire);
    if (r == nullptr) return false;
    r->post(std::move(task));
    return true;
}

void Worker::stop() {
    if (ring::Ring* r = ring_ptr_.load(std::memory_order_acquire)) r->stop();
}

}  // namespace xs3::proxy
