// ClientConnection: made on a worker's ring pieces, counted in SharedState::connections, forgotten
// by the worker once its last op is back.
#include "xs3/proxy/client_connection.hpp"

#include "xs3/proxy/server.hpp"

namespace xs3::proxy {

ClientConnection::ClientConnection(Worker& worker, uint64_t id, int fd)
    : net::Connection(worker.connection_io(), fd), w_(worker), id_(id) {}

ClientConnection::~ClientConnection() {
    w_.shared().connections.fetch_sub(1, std::memory_order_relaxed);
}

void ClientConnection::on_io_finished() noexcept {
    w_.forget(this);
}

}  // namespace xs3::proxy
