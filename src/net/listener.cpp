// Listener and Acceptor.
#include "xs3/net/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "xs3/base/log.hpp"

namespace xs3::net {

Result<UniqueFd> listen_tcp(const std::string& ip, uint16_t port, int backlog) {
    sockaddr_storage ss{};
    socklen_t len;
    int family;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        return Status(Code::invalid_argument, "not an IP address: '" + ip + "'");
    }
    UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return status_from_errno(errno, "socket");
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return status_from_errno(errno, "setsockopt SO_REUSEPORT");
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        return status_from_errno(errno, "bind " + ip + ":" + std::to_string(port));
    if (listen(fd.get(), backlog) != 0) return status_from_errno(errno, "listen");
    return fd;
}

Result<uint16_t> local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return status_from_errno(errno, "getsockname");
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

Acceptor::Acceptor(ring::Ring& ring, UniqueFd listen_fd, OnAccept on_accept)
    : ring_(ring),
      fd_(std::move(listen_fd)),
      on_accept_(std::move(on_accept)),
      multishot_(ring.features().multishot_accept) {}

void Acceptor::start() {
    arm();
}

void Acceptor::arm() noexcept {
    if (armed_ || stopped_) return;
    io_uring_sqe* sqe = ring_.get_sqe(&op_);
    if (multishot_)
        io_uring_prep_multishot_accept(sqe, fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    armed_ = true;
}

void Acceptor::on_cqe(int res, uint32_t flags) noexcept {
    bool more = flags & IORING_CQE_F_MORE;
    if (!more) armed_ = false;
    if (res >= 0) {
        consecutive_errors_ = 0;
        UniqueFd sock(res);  // closed here when accepted after stop()
        int one = 1;
        setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!stopped_) on_accept_(std::move(sock));
    } else if (res == -EINVAL && multishot_ && !more) {
        XS3_LOG_WARN("multishot accept refused by the kernel; using single accepts");
        multishot_ = false;
    } else if (res != -ECANCELED) {
        // EMFILE/ENFILE/ENOBUFS: back off briefly instead of spinning.
        ++consecutive_errors_;
        XS3_LOG_WARN("accept failed", kv("error", std::string(strerror(-res))));
        if (!more && !stopped_) {
            ring_.add_timer(std::chrono::milliseconds(consecutive_errors_ > 10 ? 100 : 5),
                            [this] { arm(); });
            return;
        }
    }
    if (stopped_ && !armed_) {
        fd_.reset();  // the accept is back: nothing uses the socket any more
        return;
    }
    if (!more) arm();
}

void Acceptor::stop() {
    if (stopped_) return;
    stopped_ = true;
    if (armed_)
        ring_.cancel(&op_);
    else
        fd_.reset();
}

}  // namespace xs3::net
