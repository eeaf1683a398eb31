// Connection: descriptor, input, output, ops in flight, and the close that waits for all of them.
#include "xs3/net/connection.hpp"

#include <sys/socket.h>

namespace xs3::net {

Connection::Connection(const ConnectionIo& io, UniqueFd fd)
    : ring_(io.ring),
      fd_(std::move(fd)),
      input_(io.ring, fd_.get(), io.recv_buffers),
      output_(io.ring, fd_.get(), io.pipes, io.blocks, io.output) {}

// The socket closes with fd_ (unless released): the owner frees a connection only after
// on_io_finished(), when no op of it is in the kernel any more.
Connection::~Connection() {
    ring_.cancel_timer(send_watch_);
}

void Connection::wire(SocketInput::OnData on_data, SocketInput::OnEnd on_end,
                      SocketOutput::OnSent on_sent, SocketOutput::OnError on_error) {
    input_.set_handlers(std::move(on_data), std::move(on_end), [this] { on_input_quiet(); });
    // Every on_sent is progress: bytes left the queue for the socket.
    output_.set_handlers(
        [this, on_sent = std::move(on_sent)] {
            if (send_watch_) last_send_progress_ = ring::Clock::now();
            on_sent();
        },
        std::move(on_error), [this] { check_finished(); });
}

void Connection::watch_output() noexcept {
    if (send_timeout_.count() <= 0 || io_closed_ || send_watch_ || output_.idle()) return;
    last_send_progress_ = ring::Clock::now();
    arm_send_watch(last_send_progress_ + send_timeout_);
}

void Connection::arm_send_watch(ring::Clock::time_point deadline) noexcept {
    send_watch_ = ring_.add_timer(deadline - ring::Clock::now(), [this] {
        send_watch_ = {};
        on_send_watch();
    });
}

void Connection::on_send_watch() noexcept {
    if (io_closed_ || output_.idle()) return;  // nothing waiting: the watch ends
    ring::Clock::time_point deadline = last_send_progress_ + send_timeout_;
    if (ring::Clock::now() < deadline) {
        arm_send_watch(deadline);  // progress since the watch was armed
        return;
    }
    on_send_timeout();
}

void Connection::close_io() noexcept {
    if (io_closed_) return;
    io_closed_ = true;
    ring_.cancel_timer(send_watch_);
    input_.cancel();
    // Sends on a socket we shut down fail fast; cancel covers ops parked in io-wq.
    if (output_.inflight() > 0 && fd_) ::shutdown(fd_.get(), SHUT_RDWR);
    output_.cancel();
    check_finished();  // nothing was in flight: finished now
}

UniqueFd Connection::release_fd() noexcept {
    return std::move(fd_);
}

void Connection::op_finished() noexcept {
    --owner_ops_;
    check_finished();
}

void Connection::check_finished() noexcept {
    if (!io_closed_ || finished_ || inflight() > 0) return;
    finished_ = true;
    on_io_finished();
}

}  // namespace xs3::net
