// ClientConnection: what the Worker's registry knows of a client connection, whatever protocol it
// speaks (H1Connection, H2Connection): its id, start, close now, close once the responses in
// flight are done (graceful shutdown), and whether it is idle. The registry owns connections by
// id; late wake-ups find theirs with Worker::find<T>(id) and are dropped when it is gone. The
// socket, its input and output and the close that waits for every op are net::Connection's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "xs3/net/connection.hpp"

namespace xs3::proxy {

class Worker;

class ClientConnection : public net::Connection {
  public:
    virtual ~ClientConnection();
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    virtual void start() = 0;
    // Closes now: ops in flight are cancelled, responses in progress are cut off. The connection
    // calls Worker::forget once its last op is back.
    virtual void close(const char* why) = 0;
    // Closes after the responses in flight (graceful shutdown); new requests are not taken.
    virtual void finish_after_response() = 0;
    // No request in progress.
    virtual bool idle() const noexcept = 0;

    // What /debug/connections counts it as: its protocol ("h1", "h2"), its state, and its open
    // streams (HTTP/2).
    struct DebugState {
        const char* protocol = "";
        const char* state = "";
        size_t streams = 0;
    };
    virtual DebugState debug_state() const noexcept = 0;

    uint64_t id() const noexcept { return id_; }
    // The client's IP (canonical text), asked of the kernel on first use; "" when unknown.
    const std::string& remote_ip() noexcept;

    // Waiting: working on no request — idle between requests, or still reading a request head.
    // Waiting connections are what --max-connections gives up first: when the cap is reached,
    // the worker closes the one that has been waiting longest (Worker::reclaim_waiting), so
    // clients that never finish a request cannot lock everyone else out.
    void set_waiting(bool waiting) noexcept;
    bool waiting() const noexcept { return waiting_; }

  protected:
    // The Worker counts the connection in SharedState::connections before it makes it (so the
    // --max-connections check is exact); the destructor uncounts it.
    ClientConnection(Worker& worker, uint64_t id, UniqueFd fd);

    // Every op is back after close: the Worker frees the connection at the end of the turn.
    void on_io_finished() noexcept override;

    Worker& w_;
    const uint64_t id_;

  private:
    std::string remote_ip_;
    bool remote_ip_asked_ = false;
    friend class Worker;
    // The worker's list of waiting connections, oldest first (intrusive: no allocation).
    bool waiting_ = false;
    ClientConnection* waiting_prev_ = nullptr;
    ClientConnection* waiting_next_ = nullptr;
};

}  // namespace xs3::proxy
