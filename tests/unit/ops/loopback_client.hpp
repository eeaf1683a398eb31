// Test helper: a blocking HTTP/1.1 client on loopback for the admin server tests (one request
// at a time, responses read by Content-Length).
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "xs3/http/headers.hpp"

namespace xs3::ops::testing {

int connect_to(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{20, 0};  // a hung server fails the test instead of hanging it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

void send_text(int fd, const std::string& s) {
    REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

struct Reply {
    int status = 0;
    http::Headers headers;
    std::string body;
};

// Reads one response (head, then Content-Length bytes unless it answers a HEAD) from fd;
// `pending` keeps what was read beyond it.
Reply read_reply(int fd, std::string& pending, bool head_request = false) {
    auto fill = [&] {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        REQUIRE(n > 0);
        pending.append(buf, static_cast<size_t>(n));
    };
    size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos)
        fill();
    Reply r;
    std::string head = pending.substr(0, end);
    pending.erase(0, end + 4);
    REQUIRE(head.rfind("HTTP/1.1 ", 0) == 0);
    r.status = std::atoi(head.c_str() + 9);
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
        size_t next = head.find("\r\n", pos + 2);
        std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
        size_t colon = line.find(':');
        REQUIRE(colon != std::string::npos);
        r.headers.add(line.substr(0, colon), std::string(http::trim_ows(line.substr(colon + 1))));
        pos = next;
    }
    const std::string* len = r.headers.get("content-length");
    REQUIRE(len != nullptr);
    size_t want = head_request ? 0 : std::stoul(*len);
    while (pending.size() < want)
        fill();
    r.body = pending.substr(0, want);
    pending.erase(0, want);
    return r;
}

Reply exchange(uint16_t port, const std::string& request) {
    int fd = connect_to(port);
    send_text(fd, request);
    std::string pending;
    Reply r = read_reply(fd, pending, request.rfind("HEAD ", 0) == 0);
    ::close(fd);
    return r;
}

bool peer_closed(int fd) {
    char c;
    return ::recv(fd, &c, 1, 0) == 0;
}

}  // namespace xs3::ops::testing
