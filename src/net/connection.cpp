// Connection: descriptor, input, output, ops in flight, and the close that waits for all of them.
#include "xs3/net/connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace xs3::net {

Connection::Connection(const ConnectionIo& io, int fd)
    : ring_(io.ring),
      fd_(fd),
      input_(io.ring, fd, io.recv_buffers),
      output_(io.ring, fd, io.pipes, io.blocks, io.output) {}

Connection::~Connection() {
    if (fd_ >= 0) ::close(fd_);
}

void Connection::wire(SocketInput::OnData on_data, SocketInput::OnEnd on_end,
                      SocketOutput::OnSent on_sent, SocketOutput::OnError on_error) {
    input_.set_handlers(std::move(on_data), std::move(on_end), [this] { on_input_quiet(); });
    output_.set_handlers(std::move(on_sent), std::move(on_error), [this] { check_finished(); });
}

void Connection::close_io() noexcept {
    if (io_closed_) return;
    io_closed_ = true;
    input_.cancel();
    // Sends on a socket we shut down fail fast; cancel covers ops parked in io-wq.
    if (output_.inflight() > 0 && fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    output_.cancel();
}

int Connection::release_fd() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
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
