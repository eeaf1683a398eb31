// Tests of the /healthz probe: the status line parser byte by byte, and probes against small
// local servers that answer 200, 503, garbage, nothing, or are not there.
#include "xs3/fleet/probe.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "xs3/fleet/protocol.hpp"

using namespace xs3::fleet;

TEST_CASE("status lines") {
    auto s = parse_status_line("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n");
    CHECK(s.complete);
    CHECK(s.status == 200);
    CHECK(parse_status_line("HTTP/1.0 503 Service Unavailable\r\n").status == 503);
    CHECK(parse_status_line("HTTP/1.1 204\r\n").status == 204);
    // Incomplete: wait for more.
    CHECK_FALSE(parse_status_line("HTTP/1.1 200 OK").complete);
    CHECK_FALSE(parse_status_line("").complete);
    CHECK_FALSE(parse_status_line("HTTP/1.1 200 OK\r").complete);
    // Complete, but not a status line.
    for (std::string bad : {"HTTP/2 200\r\n", "HTTP/1.1 20\r\n", "HTTP/1.1 2000 OK\r\n",
                            "http/1.1 200 OK\r\n", "HTTP/1.1 abc\r\n", "HTTP/1.1  200 OK\r\n",
                            "HTTP/1.x 200 OK\r\n", "HTTP/1.1 099 x\r\n", "SSH-2.0-OpenSSH\r\n"}) {
        CAPTURE(bad);
        auto r = parse_status_line(bad);
        CHECK(r.complete);
        CHECK(r.status == 0);
    }
    // A first line too long to be a status line, still without its end.
    auto long_line = parse_status_line(std::string(300, 'x'));
    CHECK(long_line.complete);
    CHECK(long_line.status == 0);
}

TEST_CASE("the probe request carries the hop header, and a signature when a token is set") {
    std::string plain = probe_request("10.0.0.1:8080", "");
    CHECK(plain ==
          "GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: xs3lerator-fleet-probe\r\n"
          "x-xs3-hop: probe\r\nConnection: close\r\n\r\n");
    std::string signed_req = probe_request("10.0.0.1:8080", "tok");
    auto at = signed_req.find("x-xs3-fleet-auth: t=");
    REQUIRE(at != std::string::npos);
    auto eol = signed_req.find("\r\n", at);
    std::string value = signed_req.substr(at + 18, eol - at - 18);
    auto comma = value.find(',');
    int64_t t = std::stoll(value.substr(2, comma - 2));
    CHECK(verify_peer_request("tok", value, "probe", "GET", "/healthz", t) == AuthVerdict::ok);
}

namespace {

// A listening socket on 127.0.0.1 with an ephemeral port.
int listen_local(uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

// Accepts one connection, reads the request head, writes `answer` (unless `silent`), closes.
struct OneShotServer {
    int fd = -1;
    uint16_t port = 0;
    std::string request;
    std::thread thread;
    OneShotServer(std::string answer, bool silent = false) {
        fd = listen_local(port);
        thread = std::thread([this, answer, silent] {
            int c = ::accept(fd, nullptr, nullptr);
            if (c < 0) return;
            char buf[2048];
            while (request.find("\r\n\r\n") == std::string::npos) {
                ssize_t r = ::recv(c, buf, sizeof buf, 0);
                if (r <= 0) break;
                request.append(buf, static_cast<size_t>(r));
            }
            if (silent) {
                std::this_thread::sleep_for(std::chrono::milliseconds(800));
            } else {
                ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        });
    }
    ~OneShotServer() {
        thread.join();
        ::close(fd);
    }
};

}  // namespace

TEST_CASE("probes of several peers at once, each with its own outcome") {
    OneShotServer ok("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
    OneShotServer unavailable("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    OneShotServer garbage("hello there\r\n");
    OneShotServer hangs_up("");
    OneShotServer silent("", true);
    uint16_t closed_port = 0;
    ::close(listen_local(closed_port));  // nobody listens there now

    std::vector<PeerAddress> peers;
    for (uint16_t p :
         {ok.port, unavailable.port, garbage.port, hangs_up.port, silent.port, closed_port})
        peers.push_back(*peer_address_from_ip("127.0.0.1", p));
    auto started = std::chrono::steady_clock::now();
    auto out = probe_healthz(peers, std::chrono::milliseconds(400), "");
    auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(out.size() == 6);
    CHECK(out[0].answered);
    CHECK(out[0].why == "");
    CHECK_FALSE(out[1].answered);
    CHECK(out[1].why == "status 503");
    CHECK_FALSE(out[2].answered);
    CHECK(out[2].why == "not an HTTP answer");
    CHECK_FALSE(out[3].answered);
    CHECK(out[3].why == "closed before answering");
    CHECK_FALSE(out[4].answered);
    CHECK(out[4].why == "timeout");
    CHECK_FALSE(out[5].answered);
    CHECK(out[5].why == "connect: Connection refused");
    // One deadline for all (not one per peer): no hang however many are silent.
    CHECK(took < std::chrono::seconds(5));
    CHECK(ok.request.find("GET /healthz HTTP/1.1\r\n") == 0);
    CHECK(ok.request.find("\r\nx-xs3-hop: probe\r\n") != std::string::npos);
    CHECK(ok.request.find("\r\nHost: 127.0.0.1:" + std::to_string(ok.port) + "\r\n") !=
          std::string::npos);
}

TEST_CASE("no peers, no probes") {
    CHECK(probe_healthz({}, std::chrono::milliseconds(100), "").empty());
}
