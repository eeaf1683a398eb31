// Workers, connections and the send path of the emulator.
#include "server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include "xs3/base/log.hpp"
#include "xs3/http/h1_parser.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::s3emu {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Clock::time_point BandwidthGate::reserve(size_t bytes) noexcept {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    const int64_t cost =
        static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / static_cast<double>(rate_));
    int64_t cur = next_ns_.load(std::memory_order_relaxed);
    int64_t start;
    do {
        start = cur > now ? cur : now;
    } while (!next_ns_.compare_exchange_weak(cur, start + cost, std::memory_order_relaxed));
    return Clock::time_point(std::chrono::nanoseconds(start));
}

namespace {
Result<int> open_listener(const std::string& bind, uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return status_from_errno(-errno, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, bind.c_str(), &a.sin_addr) != 1) {
        ::close(fd);
        return Status(Code::invalid_argument, "bad --bind address: " + bind);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4096) != 0) {
        Status s = status_from_errno(-errno, "bind/listen " + bind + ":" + std::to_string(port));
        ::close(fd);
        return s;
    }
    return fd;
}
}  // namespace

class Connection;

class Worker {
  public:
    Worker(Server& server, int id, int listen_fd)
        : server_(server),
          id_(id),
          listen_fd_(listen_fd),
          handler_(server.catalog(), server.faults(), server.stats(), server.handler_options()) {}
    ~Worker();

    // Starts the thread; returns once its ring exists (or failed).
    Status start();
    void stop() {
        if (ring_) ring_->stop();
    }
    void join() {
        if (thread_.joinable()) thread_.join();
    }

    ring::Ring& ring() noexcept { return *ring_; }
    Server& server() noexcept { return server_; }
    S3Handler& handler() noexcept { return handler_; }
    // A closed connection is freed at the start of the next turn (never inside its own callback),
    // or by the destructor if the ring stops first.
    void retire(Connection* c) noexcept;

  private:
    void thread_main();
    void arm_accept() noexcept;
    void on_accept(int res, uint32_t flags) noexcept;

    Server& server_;
    int id_;
    int listen_fd_;
    S3Handler handler_;
    std::unique_ptr<ring::Ring> ring_;
    std::thread thread_;
    ring::MemberOp<Worker, &Worker::on_accept> accept_op_{this};
    bool multishot_ = false;
    std::unordered_set<Connection*> conns_;
    std::unordered_set<Connection*> retired_;

    std::mutex start_mu_;
    std::condition_variable start_cv_;
    bool started_ = false;
    Status start_status_;
};

class Connection {
  public:
    Connection(Worker& w, int fd, bool over_limit)
        : w_(w),
          fd_(fd),
          over_limit_(over_limit),
          buf_cap_(w.server().options().send_buffer),
          buf_(new char[buf_cap_]) {}

    void start() noexcept { arm_recv(); }
    // Shutdown path: the ring is gone, just release the socket.
    void drop() noexcept {
        ::close(fd_);
        fd_ = -1;
    }
    ~Connection() {
        if (fd_ >= 0) ::close(fd_);
    }

  private:
    Server& srv() noexcept { return w_.server(); }

    void arm_recv() noexcept {
        io_uring_sqe* sqe = w_.ring().get_sqe(&recv_op_);
        io_uring_prep_recv(sqe, fd_, in_buf_, sizeof in_buf_, 0);
    }

    void on_recv(int res, uint32_t) noexcept {
        if (res <= 0) return close(false);
        in_.append(in_buf_, static_cast<size_t>(res));
        process_input();
    }

    void process_input() noexcept {
        while (in_off_ < in_.size()) {
            auto r = parser_.feed(in_.data() + in_off_, in_.size() - in_off_);
            in_off_ += r.consumed;
            if (r.state == http::H1Parser::FeedResult::request_ready) {
                http::Request req = parser_.take_request();
                compact_input();
                return start_reply(req);
            }
            if (r.state == http::H1Parser::FeedResult::error) {
                reply_ = Reply{};
                reply_.is_s3 = false;
                reply_.head.status = parser_.error_status();
                reply_.head.headers.add("Content-Length", "0");
                reply_.close = true;
                return begin_send();
            }
            if (r.consumed == 0) break;
        }
        compact_input();
        arm_recv();
    }

    void compact_input() {
        if (in_off_ == in_.size()) {
            in_.clear();
            in_off_ = 0;
        } else if (in_off_ > 64 * 1024) {
            in_.erase(0, in_off_);
            in_off_ = 0;
        }
    }

    void start_reply(const http::Request& req) noexcept {
        reply_ = w_.handler().handle(req, over_limit_);
        if (!req.keep_alive) reply_.close = true;
        http10_keep_alive_ = req.version_major == 1 && req.version_minor == 0 && req.keep_alive;
        delay_until_ = Clock::now();
        if (reply_.is_s3) {
            const auto& o = srv().options();
            auto d = o.latency;
            if (o.jitter.count() > 0)
                d += std::chrono::microseconds(mix64(o.seed ^ srv().next_request_seq()) %
                                               static_cast<uint64_t>(o.jitter.count()));
            delay_until_ += d;
        }
        wait_sha_then_send();
    }

    void wait_sha_then_send() noexcept {
        if (!w_.handler().add_sha224(reply_)) {
            timer_ = w_.ring().add_timer(5ms, [this] {
                timer_ = {};
                wait_sha_then_send();
            });
            return;
        }
        auto now = Clock::now();
        if (delay_until_ > now + 200us) {
            timer_ = w_.ring().add_timer(delay_until_ - now, [this] {
                timer_ = {};
                begin_send();
            });
            return;
        }
        begin_send();
    }

    void begin_send() noexcept {
        if (reply_.close)
            reply_.head.headers.set("Connection", "close");
        else if (http10_keep_alive_)
            reply_.head.headers.set("Connection", "keep-alive");
        head_.clear();
        http::serialize_response_head(reply_.head, head_);
        srv().stats().add_head_bytes(head_.size());
        pos_ = reply_.body_start;
        end_ = reply_.body_start + (reply_.send_body && reply_.object ? reply_.body_len : 0);
        stop_at_ = end_;
        if (reply_.faults.reset_at) stop_at_ = std::min(stop_at_, *reply_.faults.reset_at);
        if (reply_.faults.short_at) stop_at_ = std::min(stop_at_, *reply_.faults.short_at);
        stalled_ = false;
        if (reply_.send_body && !reply_.text_body.empty()) {
            head_ += reply_.text_body;  // small XML/JSON bodies go out with the head
        }
        out_ptr_ = head_.data();
        out_len_ = head_.size();
        out_off_ = 0;
        out_body_ = 0;
        pace_and_send();
    }

    // Puts the next body piece behind whatever is already queued and sends, honouring pacing.
    void fill_body() noexcept {
        if (out_off_ < out_len_ || pos_ >= stop_at_) return;
        uint64_t limit = stop_at_;
        if (reply_.faults.stall_at && !stalled_ && pos_ <= *reply_.faults.stall_at)
            limit = std::min(limit, *reply_.faults.stall_at);
        size_t n = static_cast<size_t>(std::min<uint64_t>(buf_cap_, limit - pos_));
        const auto& o = srv().options();
        uint64_t rate = o.conn_bandwidth;
        if (o.total_bandwidth && (!rate || o.total_bandwidth < rate)) rate = o.total_bandwidth;
        if (rate) {
            // About 10 ms of bytes per send keeps pacing smooth without tiny sends.
            size_t slice = static_cast<size_t>(std::max<uint64_t>(16 * 1024, rate / 100));
            n = std::min(n, slice);
        }
        if (n == 0) return;
        reply_.object->pattern(reply_.generation).fill(buf_.get(), pos_, n);
        out_ptr_ = buf_.get();
        out_len_ = n;
        out_off_ = 0;
        out_body_ = n;
        pos_ += n;
        srv().stats().add_body_bytes(n);
        reply_.object->counters().body_bytes.fetch_add(n, std::memory_order_relaxed);
    }

    void pace_and_send() noexcept {
        if (out_off_ == out_len_) {
            // Head (or previous piece) fully sent; decide what comes next.
            if (reply_.faults.stall_at && !stalled_ && pos_ == *reply_.faults.stall_at &&
                pos_ < stop_at_) {
                stalled_ = true;
                timer_ = w_.ring().add_timer(reply_.faults.stall_for, [this] {
                    timer_ = {};
                    pace_and_send();
                });
                return;
            }
            if (pos_ >= stop_at_) return finish_reply();
            fill_body();
            const auto& o = srv().options();
            auto when = Clock::now();
            if (o.conn_bandwidth) {
                when = std::max(when, conn_next_);
                conn_next_ = when + std::chrono::nanoseconds(static_cast<int64_t>(
                                        static_cast<double>(out_len_) * 1e9 /
                                        static_cast<double>(o.conn_bandwidth)));
            }
            if (srv().total_gate().enabled())
                when = std::max(when, srv().total_gate().reserve(out_len_));
            auto now = Clock::now();
            if (when > now + 500us) {
                timer_ = w_.ring().add_timer(when - now, [this] {
                    timer_ = {};
                    submit_send();
                });
                return;
            }
        }
        submit_send();
    }

    void submit_send() noexcept {
        io_uring_sqe* sqe = w_.ring().get_sqe(&send_op_);
        io_uring_prep_send(sqe, fd_, out_ptr_ + out_off_, out_len_ - out_off_, MSG_NOSIGNAL);
    }

    void on_send(int res, uint32_t) noexcept {
        if (res < 0) {
            uncount_unsent();
            return close(false);
        }
        out_off_ += static_cast<size_t>(res);
        if (out_off_ < out_len_) return submit_send();
        out_body_ = 0;
        pace_and_send();
    }

    // Bytes counted when generated but never handed to the kernel.
    void uncount_unsent() noexcept {
        if (out_body_ == 0 || !reply_.object) return;
        size_t unsent = std::min(out_body_, out_len_ - out_off_);
        srv().stats().add_body_bytes(static_cast<uint64_t>(-static_cast<int64_t>(unsent)));
        reply_.object->counters().body_bytes.fetch_sub(unsent, std::memory_order_relaxed);
        out_body_ = 0;
    }

    void finish_reply() noexcept {
        if (pos_ < end_) {
            srv().stats().add_truncated();
            bool reset = reply_.faults.reset_at && pos_ == *reply_.faults.reset_at;
            return close(reset);
        }
        if (reply_.close) return close(false);
        reply_ = Reply{};
        process_input();
    }

    void close(bool reset) noexcept {
        if (closed_) return;
        closed_ = true;
        w_.ring().cancel_timer(timer_);
        if (reset) {
            linger l{1, 0};  // RST instead of FIN
            setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        } else {
            ::shutdown(fd_, SHUT_WR);
        }
        w_.ring().close_fd(fd_);
        fd_ = -1;
        srv().stats().connection_closed();
        w_.retire(this);
    }

    Worker& w_;
    int fd_;
    bool over_limit_;
    bool closed_ = false;
    http::H1Parser parser_;
    char in_buf_[16 * 1024];
    std::string in_;
    size_t in_off_ = 0;

    Reply reply_;
    bool http10_keep_alive_ = false;
    Clock::time_point delay_until_{};
    Clock::time_point conn_next_{};
    ring::Ring::TimerId timer_{};
    std::string head_;
    size_t buf_cap_;
    std::unique_ptr<char[]> buf_;
    const char* out_ptr_ = nullptr;
    size_t out_len_ = 0, out_off_ = 0, out_body_ = 0;
    uint64_t pos_ = 0, end_ = 0, stop_at_ = 0;
    bool stalled_ = false;

    ring::MemberOp<Connection, &Connection::on_recv> recv_op_{this};
    ring::MemberOp<Connection, &Connection::on_send> send_op_{this};

    friend class Worker;
};

void Worker::retire(Connection* c) noexcept {
    conns_.erase(c);
    retired_.insert(c);
    ring_->defer([this, c] {
        retired_.erase(c);
        delete c;
    });
}

Worker::~Worker() {
    join();
    ring_.reset();  // no CQE can reach a connection after this
    for (Connection* c : conns_) {
        c->drop();
        delete c;
    }
    for (Connection* c : retired_)
        delete c;
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status Worker::start() {
    thread_ = std::thread([this] { thread_main(); });
    std::unique_lock lk(start_mu_);
    start_cv_.wait(lk, [this] { return started_; });
    return start_status_;
}

void Worker::thread_main() {
    set_log_worker_id(id_);
    ring::RingOptions ro;
    ro.worker_id = id_;
    auto r = ring::Ring::create(ro);
    {
        std::lock_guard lk(start_mu_);
        if (!r.ok()) {
            start_status_ = r.status();
        } else {
            ring_ = std::move(r).value();
        }
        started_ = true;
    }
    start_cv_.notify_all();
    if (!ring_) return;
    multishot_ = ring_->features().multishot_accept;
    arm_accept();
    ring_->run();
}

void Worker::arm_accept() noexcept {
    io_uring_sqe* sqe = ring_->get_sqe(&accept_op_);
    if (multishot_)
        io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

void Worker::on_accept(int res, uint32_t flags) noexcept {
    bool more = multishot_ && (flags & IORING_CQE_F_MORE);
    if (res >= 0) {
        int one = 1;
        setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Stats& st = server_.stats();
        st.connection_opened();
        bool over =
            server_.options().max_connections != 0 &&
            static_cast<uint64_t>(st.connections_current()) > server_.options().max_connections;
        if (over) st.connection_rejected();
        auto* c = new Connection(*this, res, over);
        conns_.insert(c);
        c->start();
    } else if (res != -ECANCELED) {
        XS3_LOG_WARN("accept failed", kv("error", std::string(std::strerror(-res))));
        if (!more) {
            ring_->add_timer(10ms, [this] { arm_accept(); });
            return;
        }
    }
    if (!more && !ring_->stopping()) arm_accept();
}

Server::Server(ServerOptions options, Catalog& catalog, FaultPlan& faults, Stats& stats,
               HandlerOptions handler_options)
    : options_(std::move(options)),
      catalog_(catalog),
      faults_(faults),
      stats_(stats),
      handler_options_(std::move(handler_options)),
      total_gate_(options_.total_bandwidth) {}

Server::~Server() {
    stop();
}

Status Server::start() {
    port_ = options_.port;
    unsigned n = options_.threads ? options_.threads : 1;
    for (unsigned i = 0; i < n; ++i) {
        auto fd = open_listener(options_.bind, port_);
        if (!fd) return fd.status();
        if (port_ == 0) {
            sockaddr_in a{};
            socklen_t len = sizeof a;
            getsockname(*fd, reinterpret_cast<sockaddr*>(&a), &len);
            port_ = ntohs(a.sin_port);
        }
        workers_.push_back(std::make_unique<Worker>(*this, static_cast<int>(i), *fd));
    }
    for (auto& w : workers_) {
        Status s = w->start();
        if (!s.ok()) return s;
    }
    return {};
}

void Server::stop() {
    for (auto& w : workers_)
        w->stop();
    for (auto& w : workers_)
        w->join();
    workers_.clear();
}

}  // namespace xs3::s3emu
