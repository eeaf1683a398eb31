// The per-core Worker: one ring, one listener, one curl client, a buffer ring for recv, a pipe
// pool for splice, and the client connections it owns; it registers its ring as a fetch slot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "xs3/http/date.hpp"
#include "xs3/net/connection.hpp"
#include "xs3/net/listener.hpp"
#include "xs3/proxy/client_connection.hpp"
#include "xs3/proxy/shared_state.hpp"
#include "xs3/ring/block_pool.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

struct H2Upgrade;

class Worker {
  public:
    Worker(SharedState& shared, int id, UniqueFd listen_fd);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Creates the ring and everything on it, then runs the loop; on the calling thread.
    Status run();
    // From any thread: stop accepting, let in-flight responses finish until `deadline` (then
    // close the rest); drained() turns true when no connection is left. The ring keeps running
    // (downloads may still use it) until stop().
    void drain(std::chrono::milliseconds deadline);
    bool drained() const noexcept { return drained_.load(std::memory_order_acquire); }
    // From any thread: ends run() (it tears the connections and the curl client down).
    void stop();

    int id() const noexcept { return id_; }
    SharedState& shared() noexcept { return shared_; }
    ring::Ring& ring() noexcept { return *ring_; }
    s3::CurlClient& curl() noexcept { return *curl_; }
    ring::PipePool& pipes() noexcept { return *pipes_; }
    ring::BlockPool& copy_blocks() noexcept { return *copy_blocks_; }
    ring::BufferRing* recv_buffers() noexcept { return recv_buffers_.get(); }
    http::DateCache& dates() noexcept { return dates_; }
    // A new x-amz-request-id: 16 uppercase hex digits, unique in the process (a random prefix
    // per start, the worker, a counter), so a client's error can be found in the log.
    std::string new_request_id();
    // What a client connection's input and output are made of on this worker.
    net::ConnectionIo connection_io() noexcept {
        return {*ring_, recv_buffers_.get(), *pipes_, *copy_blocks_, shared_.options.output};
    }

    // The connection with this id if it is still registered and of type T (H1Connection,
    // H2Connection), else nullptr.
    template <class T>
    T* find(uint64_t id) noexcept {
        auto it = connections_.find(id);
        return it == connections_.end() ? nullptr : dynamic_cast<T*>(it->second.get());
    }
    void forget(ClientConnection* c) noexcept;  // the connection is finished; freed at end of turn
    // The list of waiting connections (ClientConnection::set_waiting), oldest first.
    void link_waiting(ClientConnection* c) noexcept;
    void unlink_waiting(ClientConnection* c) noexcept;
    // Closes the connection that has waited longest, to make room for a new one; false when no
    // connection of this worker is waiting.
    bool reclaim_waiting() noexcept;
    size_t waiting_count() const noexcept { return waiting_count_; }
    // An HTTP/1.1 connection turned out to speak HTTP/2 (the preface, or Upgrade: h2c): `fd` and
    // the bytes read so far become an H2Connection, which first writes `first_output` (the 101).
    void hand_over_to_h2(UniqueFd fd, std::string received, std::optional<H2Upgrade> upgrade,
                         std::string first_output);
    size_t connection_count() const noexcept { return connections_.size(); }
    // On this worker's ring only: calls `f` with every registered connection.
    template <class F>
    void for_each_connection(F&& f) const {
        for (const auto& [id, c] : connections_)
            f(*c);
    }
    // From any thread: runs `task` on this worker's ring; false when the ring is not running.
    bool post(std::function<void()> task);
    // Connections registered here or on their way (read by other workers to pick one).
    uint64_t load() const noexcept { return load_.load(std::memory_order_relaxed); }

  private:
    void on_accept(UniqueFd fd);
    // The least loaded worker still accepting, if it has fewer connections than this one.
    Worker* lighter_worker() noexcept;
    // Makes an H1Connection of an accepted socket (counted in SharedState::connections).
    void adopt(UniqueFd fd);
    void check_drained();
    void trim_copy_blocks_later();
    void teardown();
    std::vector<ClientConnection*> snapshot_connections() const;

    SharedState& shared_;
    const int id_;
    UniqueFd listen_fd_;  // until run() hands it to the acceptor
    std::unique_ptr<ring::Ring> ring_;
    std::atomic<ring::Ring*> ring_ptr_{nullptr};  // for drain() from other threads
    std::unique_ptr<ring::BufferRing> recv_buffers_;
    std::unique_ptr<ring::PipePool> pipes_;
    std::unique_ptr<ring::BlockPool> copy_blocks_;
    uint64_t copy_quiet_mark_ = 0;  // copy_blocks_->acquisitions() at the last trim check
    std::unique_ptr<s3::CurlClient> curl_;
    std::unique_ptr<net::Acceptor> acceptor_;
    http::DateCache dates_;
    uint64_t next_conn_id_ = 1;
    uint64_t next_request_ = 0;
    std::unordered_map<uint64_t, std::unique_ptr<ClientConnection>> connections_;
    ClientConnection* waiting_head_ = nullptr;  // waiting longest
    ClientConnection* waiting_tail_ = nullptr;
    size_t waiting_count_ = 0;
    bool draining_ = false;
    std::atomic<bool> drained_{false};
    std::atomic<bool> accepting_{false};  // running and not draining: may be given sockets
    std::atomic<uint64_t> load_{0};
};

}  // namespace xs3::proxy
