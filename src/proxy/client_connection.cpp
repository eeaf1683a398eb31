// ClientConnection: made on a worker's ring pieces, counted in SharedState::connections, forgotten
// by the worker once its last op is back.
#include "xs3/proxy/client_connection.hpp"

#include <sys/socket.h>

#include "xs3/fleet/peer.hpp"
#include "xs3/proxy/worker.hpp"

namespace xs3::proxy {

ClientConnection::ClientConnection(Worker& worker, uint64_t id, UniqueFd fd)
    : net::Connection(worker.connection_io(), std::move(fd)), w_(worker), id_(id) {
    set_send_timeout(worker.shared().options.send_timeout);
}

ClientConnection::~ClientConnection() {
    set_waiting(false);
    w_.shared().connections.fetch_sub(1, std::memory_order_relaxed);
}

const std::string& ClientConnection::remote_ip() noexcept {
    if (!remote_ip_asked_) {
        remote_ip_asked_ = true;
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getpeername(fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
            remote_ip_ = fleet::canonical_ip(reinterpret_cast<sockaddr*>(&ss), len);
    }
    return remote_ip_;
}

void ClientConnection::set_waiting(bool waiting) noexcept {
    if (waiting == waiting_) return;
    if (waiting)
        w_.link_waiting(this);
    else
        w_.unlink_waiting(this);
}

void ClientConnection::on_io_finished() noexcept {
    w_.forget(this);
}

}  // namespace xs3::proxy
