// Ring: one io_uring driven by one thread (a worker). It owns the completion loop, userspace
// timers, same-thread deferred tasks and a cross-thread task queue woken through an eventfd.
//
// Every SQE's user_data points at an Op. An Op is owned by whoever started it (usually embedded
// in a connection or request object) and must stay alive until its final CQE arrives: a CQE
// without IORING_CQE_F_MORE (and, for zero-copy sends, the F_NOTIF one). Owners count their ops
// in flight and free themselves only when that count is zero — cancelling is a request
// (cancel()), never a free.
#pragma once

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/base/unique_fd.hpp"

namespace xs3::ring {

using Clock = std::chrono::steady_clock;
using Task = std::function<void()>;

class Op {
  public:
    // Called on the ring's thread for every CQE of this op. Must not throw.
    virtual void complete(int res, uint32_t flags) noexcept = 0;

  protected:
    ~Op() = default;
};

// An Op that forwards to a member function: `MemberOp<Conn, &Conn::on_recv> recv_op_{this};`
template <class Owner, void (Owner::*Fn)(int, uint32_t) noexcept>
class MemberOp final : public Op {
  public:
    explicit MemberOp(Owner* owner) : owner_(owner) {}
    void complete(int res, uint32_t flags) noexcept override { (owner_->*Fn)(res, flags); }

  private:
    Owner* owner_;
};

struct RingOptions {
    unsigned entries = 4096;
    bool single_issuer =
        true;  // IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN when the kernel has them
    unsigned max_cqes_per_turn = 1024;
    int worker_id = -1;  // for log lines
};

// What the kernel turned out to support, detected at start-up (each missing feature is logged).
struct Features {
    bool single_issuer = false;
    bool defer_taskrun = false;
    bool ext_arg = false;  // wait with a timeout without a TIMEOUT sqe
    bool splice = false;
    bool send_zc = false;
    bool multishot_accept = false;
    bool recv_multishot = false;
    bool buf_ring = false;
    bool socket_op = false;
    std::string describe() const;
};

class Ring {
  public:
    struct TimerId {
        Clock::time_point deadline{};
        uint64_t seq = 0;
        explicit operator bool() const { return seq != 0; }
    };

    static Result<std::unique_ptr<Ring>> create(const RingOptions& options);
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    io_uring* raw() noexcept { return &ring_; }
    const Features& features() const noexcept { return features_; }
    int worker_id() const noexcept { return options_.worker_id; }
    // The ring whose loop runs on this thread, or nullptr.
    static Ring* current() noexcept;

    // A free SQE with user_data set to `op`. Never fails, so no caller has a "queue full" path:
    // when the SQ is full it submits; if the kernel will not take the SQEs yet (its completion
    // queue is full: -EBUSY, or it is short of memory: -EAGAIN), the completions waiting on the
    // ring are moved to a backlog — dispatched by the loop in order, never from inside this
    // call — and it submits again (Seastar's get_sqe does the same: flush and reap until free).
    io_uring_sqe* get_sqe(Op* op) noexcept;
    // Makes room for `n` SQEs to be taken back to back, so a linked chain is never split by the
    // submit inside get_sqe.
    void reserve_sqes(unsigned n) noexcept;
    // Asks the kernel to cancel every op whose user_data is `op`. The op still gets its CQEs.
    void cancel(Op* op) noexcept;
    // Closes `fd` through the ring (fire and forget; errors are logged at debug).
    void close_fd(int fd) noexcept;

    // Runs `task` on this ring's thread at the start of the next turn (never re-entrantly).
    void defer(Task task);
    // Frees `p` at the start of the next turn: for objects whose own callback is still on the
    // stack when they finish (a connection, a chunk fetcher, a transfer handler).
    template <class T>
    void dispose_later(std::unique_ptr<T> p) {
        if (!p) return;
        std::shared_ptr<T> dead(std::move(p));
        defer([dead] {});
    }
    // The same for a shared reference: the object dies next turn if this was the last one.
    template <class T>
    void dispose_later(std::shared_ptr<T> p) {
        if (!p) return;
        defer([dead = std::move(p)] {});
    }
    // Runs `task` on this ring's thread; callable from any thread. Wakes the ring via eventfd.
    void post(Task task);

    TimerId add_timer(Clock::duration after, Task task);
    void cancel_timer(TimerId& id) noexcept;

    // Loop until stop() (from any thread). Returns when stopped.
    void run();
    // One turn: run deferred tasks, submit, wait up to `max_wait` (or the next timer), dispatch
    // CQEs, fire due timers. Returns false once stop() was called.
    bool run_once(Clock::duration max_wait = std::chrono::seconds(1));
    void stop();
    bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }

    uint64_t cqes_handled() const noexcept { return cqes_handled_; }

  private:
    Ring() = default;
    Status init(const RingOptions& options);
    void arm_wakeup() noexcept;
    void on_wakeup(int res, uint32_t flags) noexcept;
    void run_deferred();
    void run_timers();
    void make_room(unsigned n) noexcept;
    unsigned take_completions() noexcept;
    io_uring_cqe* next_cqe() noexcept;

    struct Completion {
        Op* op;
        int res;
        uint32_t flags;
    };

    io_uring ring_{};
    bool ring_ready_ = false;
    RingOptions options_;
    Features features_;

    std::vector<Task> deferred_;
    std::map<std::pair<Clock::time_point, uint64_t>, Task> timers_;
    uint64_t timer_seq_ = 0;

    UniqueFd wake_fd_;
    uint64_t wake_buf_ = 0;
    MemberOp<Ring, &Ring::on_wakeup> wake_op_{this};
    bool wake_armed_ = false;
    std::atomic<bool> wake_pending_{false};
    std::mutex remote_mu_;
    std::vector<Task> remote_;

    std::atomic<bool> stop_{false};
    uint64_t cqes_handled_ = 0;
    // Completions taken off the CQ ring to let the kernel accept SQEs (make_room); they are older
    // than anything still on the ring, so the loop dispatches them first.
    std::deque<Completion> backlog_;
};

}  // namespace xs3::ring
