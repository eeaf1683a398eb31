// Ring: setup with feature detection, the completion loop, timers and task queues.
#include "xs3/ring/ring.hpp"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "xs3/base/log.hpp"

namespace xs3::ring {
namespace {
thread_local Ring* t_current = nullptr;
}

std::string Features::describe() const {
    std::string s;
    auto add = [&](const char* name, bool on) {
        if (!s.empty()) s += ',';
        s += on ? "+" : "-";
        s += name;
    };
    add("single_issuer", single_issuer);
    add("defer_taskrun", defer_taskrun);
    add("ext_arg", ext_arg);
    add("splice", splice);
    add("send_zc", send_zc);
    add("multishot_accept", multishot_accept);
    add("recv_multishot", recv_multishot);
    add("buf_ring", buf_ring);
    return s;
}

Result<std::unique_ptr<Ring>> Ring::create(const RingOptions& options) {
    std::unique_ptr<Ring> r(new Ring());
    Status s = r->init(options);
    if (!s.ok()) return s;
    return r;
}

Status Ring::init(const RingOptions& options) {
    options_ = options;
    io_uring_params p{};
    int ret = -EINVAL;
    if (options.single_issuer) {
        std::memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        ret = io_uring_queue_init_params(options.entries, &ring_, &p);
        if (ret == 0) {
            features_.single_issuer = features_.defer_taskrun = true;
        } else {
            XS3_LOG_INFO("io_uring: SINGLE_ISSUER|DEFER_TASKRUN unavailable, trying COOP_TASKRUN",
                         kv("error", std::string(strerror(-ret))));
        }
    }
    if (ret != 0) {
        std::memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_COOP_TASKRUN;
        ret = io_uring_queue_init_params(options.entries, &ring_, &p);
    }
    if (ret != 0) {
        std::memset(&p, 0, sizeof p);
        ret = io_uring_queue_init_params(options.entries, &ring_, &p);
    }
    if (ret == -EPERM || ret == -ENOSYS)
        return status_from_errno(ret,
                                 "io_uring_queue_init (io_uring is not allowed here: a seccomp "
                                 "profile such as a container runtime's default, or the "
                                 "kernel.io_uring_disabled sysctl; see deploy/README.md)");
    if (ret != 0) return status_from_errno(ret, "io_uring_queue_init");
    ring_ready_ = true;
    features_.ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;

    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
        features_.splice = io_uring_opcode_supported(probe, IORING_OP_SPLICE);
        // Opcodes that arrived with a feature tell us the kernel generation: SOCKET came in 5.19
        // with multishot accept and ring-provided buffers; SEND_ZC in 6.0 with multishot recv.
        features_.socket_op = io_uring_opcode_supported(probe, IORING_OP_SOCKET);
        features_.send_zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
        features_.multishot_accept = features_.socket_op;
        features_.buf_ring = features_.socket_op;
        features_.recv_multishot = features_.send_zc;
        io_uring_free_probe(probe);
    }
    if (!features_.ext_arg)
        return Status(Code::unavailable, "io_uring: kernel lacks IORING_FEAT_EXT_ARG (need 5.11+)");

    wake_fd_.reset(eventfd(0, EFD_CLOEXEC));
    if (!wake_fd_) return status_from_errno(errno, "eventfd");
    return {};
}

// wake_fd_ closes after the body: once the ring, and the read armed on the eventfd, are gone.
Ring::~Ring() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (t_current == this) t_current = nullptr;
}

Ring* Ring::current() noexcept {
    return t_current;
}

io_uring_sqe* Ring::get_sqe(Op* op) noexcept {
    io_uring_sqe* sqe;
    while ((sqe = io_uring_get_sqe(&ring_)) == nullptr)
        make_room(1);
    io_uring_sqe_set_data(sqe, op);
    return sqe;
}

void Ring::reserve_sqes(unsigned n) noexcept {
    while (io_uring_sq_space_left(&ring_) < n)
        make_room(n);
}

void Ring::make_room(unsigned n) noexcept {
    int ret = io_uring_submit(&ring_);
    if (ret >= 0 && io_uring_sq_space_left(&ring_) >= n) return;
    // The kernel kept our SQEs: it will take them once it can post the completions it holds.
    // Move what is on the CQ ring to the backlog (and let it flush completions it could not post
    // yet, which with DEFER_TASKRUN only happens inside io_uring_enter), then submit again.
    if (take_completions() == 0) {
        io_uring_get_events(&ring_);
        if (take_completions() == 0 && ret == -EAGAIN) sched_yield();  // short of memory
    }
}

// The oldest completion on the CQ ring, or nullptr. (io_uring_peek_cqe would enter the kernel
// when the ring is empty; this never does.)
io_uring_cqe* Ring::next_cqe() noexcept {
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) return cqe;
    return nullptr;
}

unsigned Ring::take_completions() noexcept {
    unsigned n = 0;
    io_uring_cqe* cqe;
    while ((cqe = next_cqe()) != nullptr) {
        backlog_.push_back(
            Completion{static_cast<Op*>(io_uring_cqe_get_data(cqe)), cqe->res, cqe->flags});
        io_uring_cqe_seen(&ring_, cqe);
        ++n;
    }
    return n;
}

void Ring::cancel(Op* op) noexcept {
    io_uring_sqe* sqe = get_sqe(nullptr);
    io_uring_prep_cancel(sqe, op, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data(sqe, nullptr);
}

void Ring::close_fd(int fd) noexcept {
    if (fd < 0) return;
    io_uring_prep_close(get_sqe(nullptr), fd);
}

void Ring::defer(Task task) {
    deferred_.push_back(std::move(task));
}

void Ring::post(Task task) {
    {
        std::lock_guard lk(remote_mu_);
        remote_.push_back(std::move(task));
    }
    if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
        uint64_t one = 1;
        ssize_t w;
        do {
            w = ::write(wake_fd_.get(), &one, sizeof one);
        } while (w < 0 && errno == EINTR);
    }
}

void Ring::arm_wakeup() noexcept {
    if (wake_armed_) return;
    io_uring_sqe* sqe = get_sqe(&wake_op_);
    io_uring_prep_read(sqe, wake_fd_.get(), &wake_buf_, sizeof wake_buf_, 0);
    wake_armed_ = true;
}

void Ring::on_wakeup(int res, uint32_t) noexcept {
    wake_armed_ = false;
    if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED)
        XS3_LOG_ERROR("eventfd read failed", kv("error", std::string(strerror(-res))));
    // Clear before draining: a post() that lands after this sees false and writes again.
    wake_pending_.store(false, std::memory_order_release);
    std::vector<Task> tasks;
    {
        std::lock_guard lk(remote_mu_);
        tasks.swap(remote_);
    }
    for (auto& t : tasks)
        t();
    arm_wakeup();
}

Ring::TimerId Ring::add_timer(Clock::duration after, Task task) {
    TimerId id{Clock::now() + after, ++timer_seq_};
    timers_.emplace(std::make_pair(id.deadline, id.seq), std::move(task));
    return id;
}

void Ring::cancel_timer(TimerId& id) noexcept {
    if (!id) return;
    timers_.erase(std::make_pair(id.deadline, id.seq));
    id = TimerId{};
}

void Ring::run_deferred() {
    // Tasks may defer more tasks; those run next turn so a chain cannot starve the loop.
    if (deferred_.empty()) return;
    std::vector<Task> tasks;
    tasks.swap(deferred_);
    for (auto& t : tasks)
        t();
}

void Ring::run_timers() {
    if (timers_.empty()) return;
    auto now = Clock::now();
    // Only timers due at the start of this pass fire now; ones they add wait for the next turn.
    size_t budget = timers_.size();
    while (budget-- > 0 && !timers_.empty()) {
        auto it = timers_.begin();
        if (it->first.first > now) break;
        Task t = std::move(it->second);
        timers_.erase(it);
        t();
    }
}

bool Ring::run_once(Clock::duration max_wait) {
    t_current = this;
    arm_wakeup();
    run_deferred();

    Clock::duration wait = max_wait;
    if (!deferred_.empty() || !backlog_.empty()) {
        wait = Clock::duration::zero();
    } else if (!timers_.empty()) {
        auto until = timers_.begin()->first.first - Clock::now();
        if (until < wait) wait = until;
    }
    if (wait < Clock::duration::zero()) wait = Clock::duration::zero();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    __kernel_timespec ts{};
    ts.tv_sec = ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    io_uring_cqe* cqe = nullptr;
    int ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
        XS3_LOG_ERROR("io_uring_submit_and_wait_timeout failed",
                      kv("error", std::string(strerror(-ret))));

    // One completion at a time, taken off the ring before its op runs: an op that starts new
    // work may need get_sqe to move later completions to the backlog (make_room), and those
    // must still come after this one and before anything newer.
    unsigned handled = 0;
    while (handled < options_.max_cqes_per_turn) {
        Completion c;
        if (!backlog_.empty()) {
            c = backlog_.front();
            backlog_.pop_front();
        } else {
            if ((cqe = next_cqe()) == nullptr) break;
            c = Completion{static_cast<Op*>(io_uring_cqe_get_data(cqe)), cqe->res, cqe->flags};
            io_uring_cqe_seen(&ring_, cqe);
        }
        ++handled;
        if (c.op != nullptr) c.op->complete(c.res, c.flags);
    }
    cqes_handled_ += handled;
    run_timers();
    return !stop_.load(std::memory_order_acquire);
}

void Ring::run() {
    while (run_once()) {
    }
}

void Ring::stop() {
    stop_.store(true, std::memory_order_release);
    post([] {});
}

}  // namespace xs3::ring
