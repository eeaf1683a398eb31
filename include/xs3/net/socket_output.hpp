// SocketOutput: the ordered write side of a TCP connection on a ring. The owner queues segments —
// bytes (response heads, HTTP/2 frames, passthrough data) and file regions (cache and temp files) —
// and they reach the socket in exactly that order.
//
// File regions go one of two ways. Copy mode (the default): the region is read ahead into
// buffers from the worker's BlockPool — up to `copy_depth` per connection, within the pool's
// budget — while earlier bytes are being sent, so the read of the next block overlaps the send of
// this one; everything ready at the front of the queue (bytes, views, read buffers) leaves in one
// gathered SENDMSG. When nothing is being sent and the next bytes need a read, the READ is
// linked to the SENDMSG, so a small answer (head + a small file) is one submission. Splice mode:
// linked SPLICE pairs file -> pipe -> socket, one pair at a time.
//
// Only one send is in flight at a time (two on one socket could interleave their bytes); a short
// send reports its count (on_sent: progress for the send watch) and the rest goes next. MSG_MORE /
// SPLICE_F_MORE is set only when more bytes are already queued behind a send, so nothing is ever
// held back waiting for data that may be slow to come (a download in progress). Every op is owned
// here; the owner must keep the object alive until inflight() is zero after cancel(), like any
// other op owner on the ring.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xs3/ring/block_pool.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::net {

enum class FileSendMode { splice, copy };

struct OutputOptions {
    FileSendMode file_mode = FileSendMode::copy;
    unsigned splice_size = 1024 * 1024;  // bytes per file -> pipe -> socket splice pair
    // Copy mode: file buffers one connection holds at once (being read, or read and waiting to be
    // sent). Two lets the next read overlap the current send.
    unsigned copy_depth = 2;
};

class SocketOutput {
  public:
    // Keeps whatever backs a file region (the open file) alive until its bytes are on the socket.
    using Keep = std::shared_ptr<const void>;
    // Called (on the ring, from a CQE) after bytes left the queue, so the owner can queue more.
    using OnSent = std::function<void()>;
    // Called once when the socket (or a file read) failed; the connection must be closed. The
    // value is a negative errno; -EIO also means "a file ended before the region promised".
    using OnError = std::function<void(int error)>;

    SocketOutput(ring::Ring& ring, int fd, ring::PipePool& pipes, ring::BlockPool& blocks,
                 OutputOptions options);
    ~SocketOutput();
    SocketOutput(const SocketOutput&) = delete;
    SocketOutput& operator=(const SocketOutput&) = delete;

    // `on_quiet` runs when the last op in flight completes after cancel(): the owner may free.
    void set_handlers(OnSent on_sent, OnError on_error, std::function<void()> on_quiet);

    void push_bytes(std::string_view bytes);
    void push_bytes(std::string&& bytes);
    // `n` bytes at `data`, sent from there (no copy): `keep` holds the memory (a pooled block of
    // file bytes, say) until they are on the socket. Gathered into one SENDMSG with the byte
    // segments around them.
    void push_view(const char* data, size_t n, Keep keep);
    // `length` bytes of `fd` from `offset`. A file that turns out shorter fails the output (-EIO).
    // The next bytes of the same region (same fd and keep, contiguous) extend the queued one, so
    // a body pulled in parts is still read in whole blocks.
    void push_file(int fd, uint64_t offset, uint64_t length, Keep keep);

    // While corked, pushes only queue: a batch of segments (HTTP/2 frames) then leaves in one
    // SENDMSG instead of the first segment alone. uncork() starts the next step.
    void cork() noexcept { corked_ = true; }
    void uncork() noexcept;

    // Bytes queued and not yet handed to the socket (including bytes sitting in the pipe).
    uint64_t queued() const noexcept { return queued_; }
    // Nothing queued and nothing in flight.
    bool idle() const noexcept { return queued_ == 0 && inflight_ == 0; }
    unsigned inflight() const noexcept { return inflight_; }
    bool failed() const noexcept { return failed_; }

    // The connection is closing: cancels what is in flight and sends nothing more. What is queued
    // (and the memory ops in flight point into) is freed with this object. The owner waits for
    // inflight() == 0 before freeing it.
    void cancel() noexcept;

    uint64_t bytes_sent() const noexcept { return bytes_sent_; }
    // Copy mode: how many bytes of file regions the output reads ahead at most; an owner that
    // pulls a body should keep at least this much (plus a block being sent) queued.
    uint64_t read_ahead() const noexcept;

  private:
    struct Fill;
    // The op of one file buffer's READ: each buffer has its own, so several reads can be in flight.
    class FillOp final : public ring::Op {
      public:
        FillOp(SocketOutput* out, Fill* fill) : out_(out), fill_(fill) {}
        void complete(int res, uint32_t flags) noexcept override;

      private:
        SocketOutput* out_;
        Fill* fill_;
    };
    // Copy mode: file bytes of one segment read (or being read) into a buffer, in queue order.
    struct Fill {
        explicit Fill(SocketOutput* out) : op(out, this) {}
        uint64_t seq = 0;  // the segment's
        int fd = -1;
        uint64_t file_offset = 0;  // of the buffer's first byte
        uint64_t len = 0;          // bytes the buffer takes
        uint64_t got = 0;          // bytes read so far
        uint64_t sent = 0;         // bytes on the socket
        bool reading = false;
        ring::BlockPool::Buffer buf;
        FillOp op;
    };

    struct Segment {
        enum class Kind { bytes, file } kind = Kind::bytes;
        std::string bytes;
        const char* view = nullptr;  // bytes held elsewhere (push_view; `keep` owns them)
        int fd = -1;
        uint64_t offset = 0;
        uint64_t length = 0;
        uint64_t done = 0;     // bytes of this segment handed on (to the socket, or into the pipe)
        uint64_t read_to = 0;  // copy mode: bytes of the region covered by Fills so far
        uint64_t seq = 0;
        Keep keep;
        uint64_t remaining() const noexcept { return length - done; }
        const char* data() const noexcept { return view != nullptr ? view : bytes.data(); }
    };

    void enqueue(Segment&& s);
    void step() noexcept;
    void send_gathered() noexcept;
    void start_reads() noexcept;
    // A Fill for the next unread bytes of `s`, or nullptr (depth or budget reached, no memory).
    Fill* new_fill(Segment& s) noexcept;
    void submit_read(Fill& f, bool link) noexcept;
    void on_fill_read(Fill& f, int res) noexcept;
    void release_fill() noexcept;  // the front Fill is sent
    void splice_file(Segment& s) noexcept;
    void drain_pipe() noexcept;
    void on_send(int res, uint32_t flags) noexcept;
    void on_splice_in(int res, uint32_t flags) noexcept;
    void on_splice_out(int res, uint32_t flags) noexcept;
    // Records a failed send of a SPLICE pair; pair_settled() counts one of the pair back and
    // says whether both are in and fine (false: not yet, cancelled, or failed now).
    void pair_send_failed(int res) noexcept;
    bool pair_settled() noexcept;
    void splice_pair_settled() noexcept;
    void consumed(uint64_t n) noexcept;  // n bytes reached the socket
    void fail(int error) noexcept;
    // Every CQE handler starts with this: false when the output was cancelled (the op is over,
    // nothing else to do; the owner hears when the last one is back).
    bool op_returned() noexcept;
    void pop_finished() noexcept;
    bool more_after_front(uint64_t this_step) const noexcept;

    ring::Ring& ring_;
    int fd_;
    ring::PipePool& pipes_;
    ring::BlockPool& blocks_;
    OutputOptions options_;
    OnSent on_sent_;
    OnError on_error_;
    std::function<void()> on_quiet_;

    std::deque<Segment> segments_;
    uint64_t next_seq_ = 1;
    uint64_t queued_ = 0;
    uint64_t bytes_sent_ = 0;
    bool busy_ = false;  // a send (or a splice pair) is in flight
    bool corked_ = false;
    bool failed_ = false;
    bool cancelled_ = false;
    unsigned inflight_ = 0;

    // SENDMSG of gathered byte segments and read buffers.
    // 128 HTTP/2 DATA frames (header + payload): up to 2 MiB of 16 KiB frames per SENDMSG.
    static constexpr size_t kMaxIov = 256;
    iovec iov_[kMaxIov]{};
    msghdr msg_{};
    size_t sending_segments_ = 0;  // segments the SENDMSG in flight points into

    // Copy mode: read buffers in queue order (reading, read, or partly sent), and spare ones.
    std::deque<std::unique_ptr<Fill>> fills_;
    std::vector<std::unique_ptr<Fill>> spare_fills_;

    // Splice: the pipe and the bytes sitting in it.
    ring::Pipe pipe_;
    uint64_t pipe_bytes_ = 0;
    int pair_pending_ = 0;
    int pair_error_ = 0;

    ring::MemberOp<SocketOutput, &SocketOutput::on_send> send_op_{this};
    ring::MemberOp<SocketOutput, &SocketOutput::on_splice_in> splice_in_op_{this};
    ring::MemberOp<SocketOutput, &SocketOutput::on_splice_out> splice_out_op_{this};
};

}  // namespace xs3::net
