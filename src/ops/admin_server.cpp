// AdminServer: blocking accept loop, a thread per connection, H1Parser, route_admin_request.
#include "xs3/ops/admin_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/http/h1_parser.hpp"
#include "xs3/http/response.hpp"

namespace xs3::ops {
namespace {

// No SO_REUSEPORT here, unlike the proxy's listeners: a second process on the same admin port
// must fail to start, not silently share the port.
Result<UniqueFd> listen_blocking(const std::string& ip, uint16_t port) {
    sockaddr_storage ss{};
    socklen_t len;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        return Status(Code::invalid_argument, "not an IP address: '" + ip + "'");
    }
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return status_from_errno(errno, "socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), 64) != 0)
        return status_from_errno(errno, "admin listener on " + ip + ":" + std::to_string(port));
    return fd;
}

uint16_t bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

timeval to_timeval(std::chrono::milliseconds t) {
    if (t.count() < 1) t = std::chrono::milliseconds(1);  // 0 would mean "no timeout"
    timeval tv;
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(t.count() % 1000 * 1000);
    return tv;
}

void set_recv_timeout(int fd, std::chrono::milliseconds t) {
    timeval tv = to_timeval(t);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// SO_SNDTIMEO: a send that moves no byte for this long fails (a peer that does not read).
void set_send_timeout(int fd, std::chrono::milliseconds t) {
    timeval tv = to_timeval(t);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string serialize(AdminResponse& r, bool keep_alive) {
    r.head.headers.add("Connection", keep_alive ? "keep-alive" : "close");
    std::string out;
    http::serialize_response_head(r.head, out);
    out += r.body;
    return out;
}

AdminResponse plain_error(int status, std::string_view reason) {
    AdminResponse r;
    r.head.status = status;
    r.body = std::string(reason) + "\n";
    r.head.headers.add("Content-Type", "text/plain; charset=utf-8");
    r.head.headers.add("Content-Length", std::to_string(r.body.size()));
    return r;
}

}  // namespace

Result<std::unique_ptr<AdminServer>> AdminServer::start(AdminServerOptions options,
                                                        AdminHooks hooks) {
    auto fd = listen_blocking(options.bind_ip, options.port);
    if (!fd) return fd.status();
    uint16_t port = bound_port(fd->get());
    std::unique_ptr<AdminServer> s(
        new AdminServer(std::move(options), std::move(hooks), std::move(fd).value(), port));
    s->acceptor_ = std::thread([p = s.get()] { p->accept_loop(); });
    return s;
}

AdminServer::AdminServer(AdminServerOptions options, AdminHooks hooks, UniqueFd listen_fd,
                         uint16_t port)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      listen_fd_(std::move(listen_fd)),
      port_(port) {}

AdminServer::~AdminServer() {
    stop();
}

void AdminServer::stop() {
    if (stopping_.exchange(true)) return;
    // shutdown() wakes the blocked accept() (EINVAL); the fd is closed after the join.
    ::shutdown(listen_fd_.get(), SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    listen_fd_.reset();
    {
        std::lock_guard lock(mu_);
        for (auto& c : connections_)
            ::shutdown(c.fd.get(), SHUT_RDWR);
    }
    reap(true);
}

void AdminServer::reap(bool all) {
    std::list<Connection> finished;
    {
        std::lock_guard lock(mu_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            auto next = std::next(it);
            if (all || it->done.load()) finished.splice(finished.end(), connections_, it);
            it = next;
        }
    }
    // Their fds close with `finished`, after every thread is joined: never under a recv or send.
    for (auto& c : finished)
        if (c.thread.joinable()) c.thread.join();
}

void AdminServer::accept_loop() {
    while (!stopping_.load()) {
        UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!fd) {
            if (stopping_.load()) return;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            XS3_LOG_WARN("admin accept failed", kv("error", std::strerror(errno)));
            // EMFILE and friends: do not spin.
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        reap(false);
        std::lock_guard lock(mu_);
        size_t live = 0;
        for (const auto& c : connections_)
            live += c.reclaimed ? 0 : 1;
        // Threads of reclaimed connections end as soon as their recv returns; still, never more
        // than twice the cap at once.
        bool room = live < options_.max_connections ||
                    (connections_.size() < 2 * size_t(options_.max_connections) &&
                     reclaim_oldest_waiting());
        if (!room) {
            set_send_timeout(fd.get(), std::chrono::milliseconds(1000));
            AdminResponse busy = plain_error(503, "too many admin connections");
            send_all(fd.get(), serialize(busy, false));
            continue;
        }
        Connection& c = connections_.emplace_back();
        c.fd = std::move(fd);
        c.since = std::chrono::steady_clock::now();
        c.thread = std::thread([this, &c] { serve(c); });
    }
}

void AdminServer::set_waiting(Connection& c, bool waiting) {
    std::lock_guard lock(mu_);
    c.waiting = waiting;
    c.since = std::chrono::steady_clock::now();
}

bool AdminServer::reclaim_oldest_waiting() {
    Connection* oldest = nullptr;
    for (auto& c : connections_)
        if (c.waiting && !c.reclaimed && !c.done.load() &&
            (oldest == nullptr || c.since < oldest->since))
            oldest = &c;
    if (oldest == nullptr) return false;
    oldest->reclaimed = true;
    // Its blocked recv returns 0 now; the thread ends and reap() joins it.
    ::shutdown(oldest->fd.get(), SHUT_RDWR);
    XS3_LOG_INFO("admin connection closed to make room",
                 kv("max_connections", options_.max_connections));
    return true;
}

void AdminServer::serve(Connection& c) {
    using Clock = std::chrono::steady_clock;
    set_send_timeout(c.fd.get(), options_.io_timeout);
    http::H1Limits limits;
    limits.max_header_bytes = options_.max_header_bytes;
    http::H1Parser parser(limits);
    char buf[16384];
    bool open = true;
    // The request head under way must be complete by this time (zero: none has begun).
    Clock::time_point head_deadline{};
    while (open && !stopping_.load()) {
        auto wait = options_.io_timeout;
        if (head_deadline != Clock::time_point{}) {
            wait =
                std::chrono::duration_cast<std::chrono::milliseconds>(head_deadline - Clock::now());
            if (wait.count() <= 0) {
                AdminResponse late = plain_error(408, "request head not received in time");
                send_all(c.fd.get(), serialize(late, false));
                break;
            }
        }
        set_recv_timeout(c.fd.get(), wait);
        ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            head_deadline != Clock::time_point{})
            continue;       // the loop answers 408 once the deadline has passed
        if (n <= 0) break;  // closed, idle too long, or cut by stop() or to make room
        if (head_deadline == Clock::time_point{})
            head_deadline = Clock::now() + options_.io_timeout;
        size_t off = 0;
        while (open && off < static_cast<size_t>(n)) {
            auto r = parser.feed(buf + off, static_cast<size_t>(n) - off);
            off += r.consumed;
            if (r.state == http::H1Parser::FeedResult::request_ready) {
                http::Request req = parser.take_request();
                set_waiting(c, false);
                AdminResponse resp = route_admin_request(req, hooks_);
                open = req.keep_alive && !stopping_.load();
                if (!send_all(c.fd.get(), serialize(resp, open))) open = false;
                set_waiting(c, true);
                // The next head's clock starts with its first byte (maybe already read).
                head_deadline = off < static_cast<size_t>(n) ? Clock::now() + options_.io_timeout
                                                             : Clock::time_point{};
            } else if (r.state == http::H1Parser::FeedResult::error) {
                AdminResponse resp = plain_error(parser.error_status(), parser.error_reason());
                send_all(c.fd.get(), serialize(resp, false));
                open = false;
            } else {
                break;
            }
        }
    }
    // The peer sees the end now; the fd itself stays open (so its number cannot be reused
    // while stop() might still shut it down) until reap() has joined this thread.
    ::shutdown(c.fd.get(), SHUT_RDWR);
    c.done.store(true);
}

}  // namespace xs3::ops
