// SocketInput: the read side of a TCP connection on a ring. It keeps one recv armed — multishot
// into the worker's provided-buffer ring when the kernel has it, else a single-shot recv (into
// the buffer ring, or into a buffer of its own) re-armed after every completion — and hands each
// completion's bytes to the owner. Shared by the HTTP/1.1 and HTTP/2 connections.
//
// pause() stops reading but still delivers bytes that were received before the kernel saw the
// cancel (a connection changing hands needs every one of them); cancel() is for closing: nothing
// more is delivered. Either way on_quiet runs once no recv is in flight any more, and the owner
// must keep this object alive until inflight() is zero.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::net {

class SocketInput {
  public:
    // Bytes arrived. They are only valid during the call.
    using OnData = std::function<void(const char* data, size_t n)>;
    // The peer closed its side (0) or the socket failed (negative errno). Called once; nothing
    // is read after it.
    using OnEnd = std::function<void(int res)>;

    SocketInput(ring::Ring& ring, int fd, ring::BufferRing* buffers);
    ~SocketInput();
    SocketInput(const SocketInput&) = delete;
    SocketInput& operator=(const SocketInput&) = delete;

    void set_handlers(OnData on_data, OnEnd on_end, std::function<void()> on_quiet);

    // Starts (or resumes after pause()) reading. No-op when already reading, ended or cancelled.
    void start() noexcept;
    // Stops reading until start(); bytes already on their way are still delivered.
    void pause() noexcept;
    // Stops for good; nothing more is delivered.
    void cancel() noexcept;

    bool reading() const noexcept { return armed_ || retry_; }
    bool ended() const noexcept { return ended_; }
    unsigned inflight() const noexcept { return inflight_; }

  private:
    void arm() noexcept;
    void on_recv(int res, uint32_t flags) noexcept;
    void end(int res) noexcept;

    ring::Ring& ring_;
    int fd_;
    ring::BufferRing* buffers_;
    OnData on_data_;
    OnEnd on_end_;
    std::function<void()> on_quiet_;
    std::unique_ptr<char[]> plain_buf_;  // when the kernel has no buffer rings
    ring::Ring::TimerId retry_timer_;
    bool armed_ = false;
    bool retry_ = false;  // every provided buffer was in use: a timer re-arms
    bool paused_ = false;
    bool cancelled_ = false;
    bool ended_ = false;
    unsigned inflight_ = 0;

    ring::MemberOp<SocketInput, &SocketInput::on_recv> recv_op_{this};
};

}  // namespace xs3::net
