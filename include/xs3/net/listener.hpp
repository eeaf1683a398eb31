// Listener: a SO_REUSEPORT TCP listening socket per worker, accepting through the ring with
// multishot accept (re-armed single accepts when the kernel lacks it or ends the multishot).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "xs3/base/status.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::net {

// Binds and listens on ip:port with SO_REUSEPORT so every worker can own one socket.
Result<UniqueFd> listen_tcp(const std::string& ip, uint16_t port, int backlog = 4096);
// The port a bound socket got (for port 0).
Result<uint16_t> local_port(int fd);

class Acceptor {
  public:
    // The callback owns each accepted socket.
    using OnAccept = std::function<void(UniqueFd fd)>;
    Acceptor(ring::Ring& ring, UniqueFd listen_fd, OnAccept on_accept);
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    void start();
    // Stops accepting (cancels the accept); the listening socket is closed when the op is done.
    void stop();
    bool in_flight() const noexcept { return armed_; }

  private:
    void on_cqe(int res, uint32_t flags) noexcept;
    void arm() noexcept;

    ring::Ring& ring_;
    UniqueFd fd_;  // closed by stop() once no accept is in flight on it
    OnAccept on_accept_;
    ring::MemberOp<Acceptor, &Acceptor::on_cqe> op_{this};
    bool armed_ = false;
    bool stopped_ = false;
    bool multishot_;
    unsigned consecutive_errors_ = 0;
};

}  // namespace xs3::net
