// Connection: what every client connection on a ring shares, whatever protocol it speaks — the
// socket descriptor, its read side (SocketInput), its write side (SocketOutput), the count of ops
// in flight for it, and the way it closes: cancel what is in the kernel, wait for every op to come
// back, then tell the owner once (on_io_finished) so it can be freed. The HTTP/1.1 and HTTP/2
// connections (proxy/) are built on it; they add parsing, exchanges and streams.
//
// Ops the owner runs for the connection besides recv and send (HTTP/2 file reads into blocks) are
// counted with op_started() / op_finished(), so the connection is never freed under them.
//
// Send timeout: while bytes wait to go out (queued or in the kernel), the connection expects
// progress — some of them taken by the socket — at least every send_timeout; a peer that stops
// reading makes none, and on_send_timeout() runs (the owner closes). Nothing waiting, nothing
// watched: a response held up by its origin is not the client's fault. One timer per connection,
// re-armed once per timeout at most.
#pragma once

#include <cstdint>
#include <functional>

#include "xs3/base/unique_fd.hpp"
#include "xs3/net/socket_input.hpp"
#include "xs3/net/socket_output.hpp"
#include "xs3/ring/block_pool.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::net {

// The worker-wide pieces a connection's input and output use.
struct ConnectionIo {
    ring::Ring& ring;
    ring::BufferRing* recv_buffers;  // null: each connection reads into a buffer of its own
    ring::PipePool& pipes;
    ring::BlockPool& blocks;
    OutputOptions output;
};

class Connection {
  public:
    // The socket is closed when the connection is destroyed, unless released.
    Connection(const ConnectionIo& io, UniqueFd fd);
    virtual ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    int fd() const noexcept { return fd_.get(); }
    // close_io() was called: nothing more is read or sent.
    bool io_closed() const noexcept { return io_closed_; }
    // recv, sends and the owner's own ops still in the kernel.
    unsigned inflight() const noexcept {
        return input_.inflight() + output_.inflight() + owner_ops_;
    }

  protected:
    // Connects the input and output to the owner. When the input stops (pause, cancel) and no
    // recv is left in flight, on_input_quiet() runs; when the output's last op is back after a
    // cancel, the connection checks whether it is finished.
    void wire(SocketInput::OnData on_data, SocketInput::OnEnd on_end, SocketOutput::OnSent on_sent,
              SocketOutput::OnError on_error);

    // Stops reading and sending for good: cancels the recv and the sends in flight (shutting the
    // socket down first when a send is in the kernel, so it fails fast instead of waiting for a
    // peer that does not read) and drops what is queued. Idempotent. The owner cancels its own
    // ops; once everything is back on_io_finished() runs (maybe right away).
    void close_io() noexcept;
    // The socket now belongs to someone else (a connection changing protocol): it is neither
    // shut down nor closed here any more. Returns it.
    UniqueFd release_fd() noexcept;

    void op_started() noexcept { ++owner_ops_; }
    void op_finished() noexcept;

    // The send timeout (0: none); set once, before the first send.
    void set_send_timeout(ring::Clock::duration timeout) noexcept { send_timeout_ = timeout; }
    // The owner queued output: start watching for progress if nothing is watched yet.
    void watch_output() noexcept;
    // No byte left for send_timeout while some were waiting. The owner closes the connection
    // (or, for HTTP/2, decides what the stall means); the watch is off until watch_output().
    virtual void on_send_timeout() noexcept = 0;
    ring::Clock::duration send_timeout() const noexcept { return send_timeout_; }

    // Called when the input has no recv in flight after pause() or cancel(). Default: see whether
    // the connection is finished.
    virtual void on_input_quiet() noexcept { check_finished(); }
    // Called once, after close_io(), when no op is in flight any more: the owner may be freed (at
    // the end of the turn: a callback of this connection may still be on the stack).
    virtual void on_io_finished() noexcept = 0;
    // Runs on_io_finished() if the connection is closed and nothing is in flight.
    void check_finished() noexcept;

    ring::Ring& ring_;
    // Declared before input_ and output_: they hold the number, and it outlives them.
    UniqueFd fd_;
    SocketInput input_;
    SocketOutput output_;

  private:
    void arm_send_watch(ring::Clock::time_point deadline) noexcept;
    void on_send_watch() noexcept;

    unsigned owner_ops_ = 0;
    bool io_closed_ = false;
    bool finished_ = false;
    ring::Clock::duration send_timeout_{};
    ring::Clock::time_point last_send_progress_{};
    ring::Ring::TimerId send_watch_;
};

}  // namespace xs3::net
