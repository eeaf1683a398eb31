// AdminServer: the admin listener (--admin-port on --admin-bind-ip). A small HTTP/1.1 server on
// its own threads with plain blocking sockets, off the rings: admin traffic is a few requests a
// second. One thread accepts; each connection gets a thread, so a slow purge never holds up a
// health probe. Requests are parsed by http::H1Parser and answered by route_admin_request().
//
// Probes must get through whatever else connects: a request head must be complete within
// io_timeout of its first byte (a client dribbling a byte a second does not extend it), and when
// max_connections are open, the connection that has waited longest without a request in progress
// (idle, or still sending its head) is closed to make room. Only when every connection is busy
// answering is a newcomer answered 503.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "xs3/base/status.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3/ops/admin_routes.hpp"

namespace xs3::ops {

struct AdminServerOptions {
    std::string bind_ip = "127.0.0.1";
    uint16_t port = 0;  // 0: any free port (see AdminServer::port())
    unsigned max_connections = 16;
    // A connection that sends nothing (or takes nothing) for this long is closed.
    std::chrono::milliseconds io_timeout{10000};
    // The request head, query included: room for a warm request with thousands of keys.
    size_t max_header_bytes = 1024 * 1024;
};

class AdminServer {
  public:
    // Binds and starts accepting; the error says why the address cannot be used.
    static Result<std::unique_ptr<AdminServer>> start(AdminServerOptions options, AdminHooks hooks);
    ~AdminServer();  // stop()
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    uint16_t port() const noexcept { return port_; }
    // Stops accepting, cuts open connections, joins every thread. Idempotent.
    void stop();

  private:
    struct Connection {
        UniqueFd fd;
        std::thread thread;
        std::atomic<bool> done{false};
        // Under mu_: no request being answered (idle, or reading a head) since `since`;
        // `reclaimed`: shut down to make room, its thread is on its way out.
        bool waiting = true;
        std::chrono::steady_clock::time_point since;
        bool reclaimed = false;
    };

    AdminServer(AdminServerOptions options, AdminHooks hooks, UniqueFd listen_fd, uint16_t port);
    void accept_loop();
    void serve(Connection& c);
    void reap(bool all);
    void set_waiting(Connection& c, bool waiting);
    // Under mu_: shuts down the connection waiting longest; false if none is.
    bool reclaim_oldest_waiting();

    const AdminServerOptions options_;
    const AdminHooks hooks_;
    UniqueFd listen_fd_;
    uint16_t port_;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mu_;
    std::list<Connection> connections_;  // fds are closed only by reap(), after the join
};

}  // namespace xs3::ops
