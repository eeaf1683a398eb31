// A tiny blocking HTTP/1.1 server for the s3 unit tests: 127.0.0.1, an ephemeral port, one thread
// per connection, canned (sometimes misbehaving) responses written by the test's handler.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace xs3::s3::testing {

struct Request {
    std::string method;
    std::string path;
    std::string raw;   // request line and headers
    std::string body;  // Content-Length bytes after the head

    // The value of the first header named `name` (case-insensitive), or "".
    std::string header(std::string_view name) const {
        size_t pos = raw.find("\r\n");
        while (pos != std::string::npos && pos + 2 < raw.size()) {
            size_t start = pos + 2;
            size_t eol = raw.find("\r\n", start);
            if (eol == std::string::npos || eol == start) break;
            std::string_view line(raw.data() + start, eol - start);
            size_t colon = line.find(':');
            if (colon == name.size()) {
                bool same = true;
                for (size_t i = 0; i < colon && same; ++i)
                    same = std::tolower(static_cast<unsigned char>(line[i])) ==
                           std::tolower(static_cast<unsigned char>(name[i]));
                if (same) {
                    std::string_view v = line.substr(colon + 1);
                    while (!v.empty() && v.front() == ' ')
                        v.remove_prefix(1);
                    return std::string(v);
                }
            }
            pos = eol;
        }
        return {};
    }
};

class TestServer {
  public:
    // Writes the response for one request; returns false to close the connection afterwards.
    using Handler = std::function<bool(TestServer& server, int fd, const Request& req)>;

    explicit TestServer(Handler handler) : handler_(std::move(handler)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listen_fd_ >= 0);
        int one = 1;
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listen_fd_, 64) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~TestServer() {
        stop_.store(true);
        ::shutdown(listen_fd_, SHUT_RDWR);
        acceptor_.join();
        {
            std::lock_guard lk(mu_);
            for (int fd : conn_fds_)
                ::shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : conn_threads_)
            t.join();
        for (int fd : conn_fds_)
            ::close(fd);
        ::close(listen_fd_);
    }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    bool stopping() const { return stop_.load(); }
    int connections() const { return connections_.load(); }
    int requests() const { return requests_.load(); }
    std::vector<Request> seen() {
        std::lock_guard lk(mu_);
        return seen_;
    }
    // Sleeps up to `d`, returning early once the server stops.
    void idle(std::chrono::milliseconds d) {
        auto until = std::chrono::steady_clock::now() + d;
        while (!stopping() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

  private:
    void accept_loop() {
        while (!stop_.load()) {
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (stop_.load()) return;
                continue;
            }
            connections_.fetch_add(1);
            std::lock_guard lk(mu_);
            conn_fds_.push_back(fd);
            conn_threads_.emplace_back([this, fd] { serve(fd); });
        }
    }

    void serve(int fd) {
        std::string buf;
        char tmp[4096];
        bool keep = true;
        while (keep && !stop_.load()) {
            size_t end;
            while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
                ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
                if (n <= 0) {
                    keep = false;
                    break;
                }
                buf.append(tmp, static_cast<size_t>(n));
            }
            if (!keep) break;
            Request req;
            req.raw = buf.substr(0, end + 4);
            buf.erase(0, end + 4);
            size_t sp1 = req.raw.find(' ');
            size_t sp2 = req.raw.find(' ', sp1 + 1);
            req.method = req.raw.substr(0, sp1);
            req.path = req.raw.substr(sp1 + 1, sp2 - sp1 - 1);
            const std::string length = req.header("content-length");
            const size_t want = length.empty() ? 0 : std::stoul(length);
            while (buf.size() < want) {
                ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
                if (n <= 0) break;
                buf.append(tmp, static_cast<size_t>(n));
            }
            req.body = buf.substr(0, want);
            buf.erase(0, std::min(want, buf.size()));
            requests_.fetch_add(1);
            {
                std::lock_guard lk(mu_);
                seen_.push_back(req);
            }
            keep = handler_(*this, fd, req);
        }
        // Closed by the destructor after shutdown(): the fd number must not be reused before.
    }

    Handler handler_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> requests_{0};
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<int> conn_fds_;
    std::vector<std::thread> conn_threads_;
    std::vector<Request> seen_;
};

inline bool write_all(int fd, std::string_view data, size_t piece = 0) {
    while (!data.empty()) {
        size_t n = piece == 0 ? data.size() : std::min(piece, data.size());
        ssize_t w = ::send(fd, data.data(), n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        data.remove_prefix(static_cast<size_t>(w));
    }
    return true;
}

inline std::string make_body(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s[i] = static_cast<char>(x & 0xff);
    }
    return s;
}

inline std::string response(int status, const std::string& reason, const std::string& body,
                            const std::string& extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
           body;
}

}  // namespace xs3::s3::testing
