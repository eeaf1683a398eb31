// /healthz probes over non-blocking sockets and poll(2), all peers at once.
#include "xs3/fleet/probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "xs3/base/unique_fd.hpp"
#include "xs3/fleet/protocol.hpp"

namespace xs3::fleet {

std::string probe_request(std::string_view host_id, std::string_view token) {
    std::string r = "GET /healthz HTTP/1.1\r\nHost: ";
    r.append(host_id);
    r.append("\r\nUser-Agent: xs3lerator-fleet-probe\r\n");
    r.append(kHopHeader).append(": probe\r\n");
    if (!token.empty()) {
        r.append(kAuthHeader).append(": ");
        r.append(sign_peer_request(token, "probe", "GET", "/healthz",
                                   static_cast<int64_t>(std::time(nullptr))));
        r.append("\r\n");
    }
    r.append("Connection: close\r\n\r\n");
    return r;
}

StatusLine parse_status_line(std::string_view head) noexcept {
    StatusLine out;
    size_t eol = head.find("\r\n");
    if (eol == std::string_view::npos) {
        // A line longer than any status line will not become one.
        out.complete = head.size() > 256;
        return out;
    }
    out.complete = true;
    std::string_view line = head.substr(0, eol);
    // "HTTP/1.x SP 3DIGIT [SP reason]"
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
        line[8] != ' ')
        return out;
    int code = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') return out;
        code = code * 10 + (line[i] - '0');
    }
    if (line.size() > 12 && line[12] != ' ') return out;
    if (code < 100) return out;
    out.status = code;
    return out;
}

namespace {

struct Attempt {
    UniqueFd fd;
    enum class Phase { connecting, sending, reading, done } phase = Phase::connecting;
    std::string request;
    size_t sent = 0;
    std::string received;
};

std::string errno_text(const char* what, int err) {
    return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

std::vector<ProbeOutcome> probe_healthz(std::span<const PeerAddress> peers,
                                        std::chrono::milliseconds timeout, std::string_view token) {
    std::vector<ProbeOutcome> out(peers.size());
    std::vector<Attempt> at(peers.size());
    auto finish = [&](size_t i, bool answered, std::string why) {
        at[i].fd.reset();
        at[i].phase = Attempt::Phase::done;
        out[i].answered = answered;
        out[i].why = std::move(why);
    };
    for (size_t i = 0; i < peers.size(); ++i) {
        at[i].request = probe_request(peers[i].id, token);
        at[i].fd.reset(::socket(peers[i].family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!at[i].fd) {
            finish(i, false, errno_text("socket", errno));
            continue;
        }
        if (::connect(at[i].fd.get(), peers[i].sa(), peers[i].addr_len) == 0)
            at[i].phase = Attempt::Phase::sending;
        else if (errno != EINPROGRESS)
            finish(i, false, errno_text("connect", errno));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<size_t> which;
        for (size_t i = 0; i < at.size(); ++i) {
            if (at[i].phase == Attempt::Phase::done) continue;
            short ev = at[i].phase == Attempt::Phase::reading ? POLLIN : POLLOUT;
            fds.push_back({at[i].fd.get(), ev, 0});
            which.push_back(i);
        }
        if (fds.empty()) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (size_t k = 0; k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            size_t i = which[k];
            Attempt& a = at[i];
            if (a.phase == Attempt::Phase::connecting) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(a.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    finish(i, false, errno_text("connect", err));
                    continue;
                }
                a.phase = Attempt::Phase::sending;
            }
            if (a.phase == Attempt::Phase::sending) {
                ssize_t w = ::send(a.fd.get(), a.request.data() + a.sent, a.request.size() - a.sent,
                                   MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno != EAGAIN && errno != EINTR)
                        finish(i, false, errno_text("send", errno));
                    continue;
                }
                a.sent += static_cast<size_t>(w);
                if (a.sent == a.request.size()) a.phase = Attempt::Phase::reading;
                continue;
            }
            if (a.phase == Attempt::Phase::reading) {
                char buf[512];
                ssize_t r = ::recv(a.fd.get(), buf, sizeof buf, 0);
                if (r < 0) {
                    if (errno != EAGAIN && errno != EINTR)
                        finish(i, false, errno_text("recv", errno));
                    continue;
                }
                if (r == 0) {
                    finish(i, false, "closed before answering");
                    continue;
                }
                a.received.append(buf, static_cast<size_t>(r));
                StatusLine s = parse_status_line(a.received);
                if (!s.complete) continue;
                if (s.status == 200)
                    finish(i, true, "");
                else if (s.status == 0)
                    finish(i, false, "not an HTTP answer");
                else
                    finish(i, false, "status " + std::to_string(s.status));
            }
        }
    }
    for (size_t i = 0; i < at.size(); ++i)
        if (at[i].phase != Attempt::Phase::done) finish(i, false, "timeout");
    return out;
}

}  // namespace xs3::fleet
