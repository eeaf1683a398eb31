// CurlClient's sockets and timer on the ring: one single-shot poll op per socket curl asks us to
// watch (SocketState, which may outlive curl's interest and the client until its CQE arrives),
// and a ring timer (or a deferred call) for curl's timeout; both end in socket_action().
#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::s3 {

// One socket curl asked us to watch. It is its own poll Op and may outlive both curl's interest
// in the socket and the client: it is freed only when no poll CQE is pending and nothing on the
// stack still uses it (see release()).
struct CurlClient::SocketState final : ring::Op {
    CurlClient* client = nullptr;  // null once the client is gone
    int fd = -1;
    int want = 0;             // CURL_POLL_IN / OUT / INOUT
    unsigned armed_mask = 0;  // poll mask of the op in flight
    bool in_flight = false;
    bool cancel_sent = false;
    bool dispatching = false;  // complete() is on the stack
    bool removed = false;      // curl no longer watches this socket (or the client is gone)

    // Removed states that still wait for a CQE live in this thread's graveyard: reachable,
    // countable, and freed at thread exit if the ring never delivers.
    struct Graveyard {
        SocketState* head = nullptr;
        size_t count = 0;
        ~Graveyard() {
            // Past this point nothing can run this thread's ring, so no CQE can arrive for them.
            while (head != nullptr) {
                SocketState* s = head;
                s->unbury();
                delete s;
            }
        }
    };
    static thread_local Graveyard graveyard;
    bool buried = false;
    SocketState* prev = nullptr;
    SocketState* next = nullptr;

    bool busy() const noexcept { return in_flight || dispatching; }
    // Frees the object once it is removed and no CQE or stack frame refers to it any more.
    void release_if_done() noexcept {
        if (!removed) return;
        if (busy()) {
            bury();
            return;
        }
        unbury();
        delete this;
    }
    void bury() noexcept {
        if (buried) return;
        buried = true;
        prev = nullptr;
        next = graveyard.head;
        if (next != nullptr) next->prev = this;
        graveyard.head = this;
        ++graveyard.count;
    }
    void unbury() noexcept {
        if (!buried) return;
        buried = false;
        if (prev != nullptr) prev->next = next;
        if (next != nullptr) next->prev = prev;
        if (graveyard.head == this) graveyard.head = next;
        prev = next = nullptr;
        --graveyard.count;
    }

    void complete(int res, uint32_t flags) noexcept override {
        (void)flags;  // single-shot polls: every CQE is final
        in_flight = false;
        cancel_sent = false;
        armed_mask = 0;
        if (!removed && client != nullptr) {
            dispatching = true;
            client->on_poll(this, res);
            dispatching = false;
        }
        release_if_done();
    }
};

thread_local CurlClient::SocketState::Graveyard CurlClient::SocketState::graveyard;

size_t CurlClient::sockets_awaiting_cqe() noexcept {
    return SocketState::graveyard.count;
}

namespace {

unsigned poll_mask_for(int want) {
    unsigned mask = 0;
    if (want & CURL_POLL_IN) mask |= POLLIN;
    if (want & CURL_POLL_OUT) mask |= POLLOUT;
    return mask;
}

}  // namespace

void CurlClient::forget_sockets() noexcept {
    for (SocketState* s : sockets_) {
        s->client = nullptr;
        s->removed = true;
        if (s->in_flight && !s->cancel_sent) {
            s->cancel_sent = true;
            ring_.cancel(s);
        }
        s->release_if_done();
    }
    sockets_.clear();
}

int CurlClient::socket_callback(void* /*easy*/, int fd, int what, void* userp,
                                void* socketp) noexcept {
    static_cast<CurlClient*>(userp)->watch_socket(fd, what, static_cast<SocketState*>(socketp));
    return 0;
}

void CurlClient::watch_socket(int fd, int what, SocketState* state) noexcept {
    if (what == CURL_POLL_REMOVE) {
        if (state != nullptr) release_socket(state);
        return;
    }
    if (destroying_) return;
    if (state == nullptr) {
        state = new SocketState();
        state->client = this;
        state->fd = fd;
        sockets_.push_back(state);
        // Documented use from inside the socket callback: it only stores the pointer.
        curl_multi_assign(static_cast<CURLM*>(multi_), fd, state);
    }
    state->want = what;
    update_poll(state);
}

void CurlClient::release_socket(SocketState* state) noexcept {
    auto it = std::find(sockets_.begin(), sockets_.end(), state);
    if (it != sockets_.end()) {
        *it = sockets_.back();
        sockets_.pop_back();
    }
    state->removed = true;
    state->want = 0;
    // The poll holds a reference to the socket; cancel it so the CQE (and the free) come soon.
    if (state->in_flight && !state->cancel_sent) {
        state->cancel_sent = true;
        ring_.cancel(state);
    }
    state->release_if_done();
}

void CurlClient::update_poll(SocketState* state) noexcept {
    unsigned mask = poll_mask_for(state->want);
    if (state->in_flight) {
        // A single-shot poll cannot change its mask: cancel it, complete() re-arms with `want`.
        if (mask != state->armed_mask && !state->cancel_sent) {
            state->cancel_sent = true;
            ring_.cancel(state);
        }
        return;
    }
    if (state->dispatching) return;  // re-armed when that finishes
    if (mask != 0) arm_poll(state);
}

void CurlClient::arm_poll(SocketState* state) noexcept {
    unsigned mask = poll_mask_for(state->want);
    if (mask == 0 || state->in_flight) return;
    io_uring_sqe* sqe = ring_.get_sqe(state);
    io_uring_prep_poll_add(sqe, state->fd, mask);
    state->in_flight = true;
    state->armed_mask = mask;
}

void CurlClient::on_poll(SocketState* state, int res) noexcept {
    int events = 0;
    if (res >= 0) {
        auto revents = static_cast<unsigned>(res);
        if ((state->want & CURL_POLL_IN) && (revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)))
            events |= CURL_CSELECT_IN;
        if ((state->want & CURL_POLL_OUT) && (revents & (POLLOUT | POLLHUP | POLLERR)))
            events |= CURL_CSELECT_OUT;
        if (revents & POLLERR) events |= CURL_CSELECT_ERR;
    } else if (res != -ECANCELED) {
        XS3_LOG_DEBUG("curl socket poll failed", kv("fd", state->fd),
                      kv("error", std::string(strerror(-res))));
        events = CURL_CSELECT_ERR;
    }
    // No event curl still cares about (a cancelled or stale poll): just watch again.
    if (events != 0) socket_action(state->fd, events);
    if (!state->removed && state->client != nullptr) arm_poll(state);
}

int CurlClient::timer_callback(void* /*multi*/, long timeout_ms, void* userp) noexcept {
    static_cast<CurlClient*>(userp)->set_timer(timeout_ms);
    return 0;
}

void CurlClient::set_timer(long timeout_ms) noexcept {
    ring_.cancel_timer(timer_);
    if (destroying_ || timeout_ms < 0) return;
    if (timeout_ms == 0) {
        // Never from inside curl's callback: on the next turn.
        if (timeout_deferred_) return;
        timeout_deferred_ = true;
        auto alive = alive_;
        ring_.defer([this, alive] {
            if (!*alive) return;
            timeout_deferred_ = false;
            on_timeout();
        });
        return;
    }
    timer_ = ring_.add_timer(std::chrono::milliseconds(timeout_ms), [this] {
        timer_ = ring::Ring::TimerId{};
        on_timeout();
    });
}

void CurlClient::on_timeout() noexcept {
    socket_action(CURL_SOCKET_TIMEOUT, 0);
}

void CurlClient::socket_action(int fd, int events) noexcept {
    int running = 0;
    ++curl_depth_;
    CURLMcode mc = curl_multi_socket_action(static_cast<CURLM*>(multi_), fd, events, &running);
    --curl_depth_;
    if (mc != CURLM_OK)
        XS3_LOG_WARN("curl_multi_socket_action failed", kv("error", curl_multi_strerror(mc)));
    after_curl();
}

}  // namespace xs3::s3
