// H2Codec: nghttp2 server session callbacks, the no-copy DATA path into H2Output, and the limits
// (header list size, CONTINUATION and rapid-reset floods, request body size) nghttp2 leaves to
// the application.
//
// nghttp2 calls send_data_callback (NGHTTP2_DATA_FLAG_NO_COPY) from nghttp2_session_mem_send as
// well as from nghttp2_session_send: both run the same internal send loop, and the callback is
// invoked in frame order between the chunks mem_send returns. So produce() keeps one ordered queue:
// mem_send's bytes are appended as they come, and the callback appends the DATA frame header and a
// payload placeholder at its place in the stream of frames.
#include "xs3/http/h2_codec.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <vector>

#include "xs3_build_config.h"

namespace xs3::http {

namespace {

constexpr uint8_t shutdown_ping[8] = {'x', 's', '3', '-', 's', 'h', 'u', 't'};
constexpr size_t default_data_payload = 16384;  // nghttp2's DATA size without a length callback
constexpr size_t max_error_message = 200;

std::string_view sv(const uint8_t* p, size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

std::string recv_error_message(ssize_t rv) {
    switch (rv) {
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
            return "h2: not an HTTP/2 connection preface";
        case NGHTTP2_ERR_FLOODED:
            return "h2: flood of frames the client does not read the answers to";
        case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
            return "h2: CONTINUATION flood";
        default:
            return std::string("h2: ") + nghttp2_strerror(int(rv));
    }
}

}  // namespace

// The nghttp2 callbacks, as members of a friend so they can reach the codec's state. Every one is
// noexcept: an exception (only bad_alloc is possible) becomes a failed codec and
// NGHTTP2_ERR_CALLBACK_FAILURE, never an unwind through C frames.
struct H2Callbacks {
    static H2Codec& self(void* user) noexcept { return *static_cast<H2Codec*>(user); }

    template <class F>
    static auto guarded(void* user, F&& f) noexcept -> decltype(f(self(user))) {
        H2Codec& c = self(user);
        if (c.dying_) return 0;
        try {
            return f(c);
        } catch (const std::exception& e) {
            c.fail(Status(Code::internal, std::string("h2: ") + e.what()));
        } catch (...) {
            c.fail(Status(Code::internal, "h2: unknown exception"));
        }
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }

    static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            if (c.terminating_) return 0;
            if (hd->type == NGHTTP2_HEADERS) {
                c.block_continuations_ = 0;
                c.block_bytes_ = hd->length;
                if (!c.check_stream_id(hd->stream_id)) return 0;
            } else if (hd->type == NGHTTP2_CONTINUATION) {
                ++c.block_continuations_;
                c.block_bytes_ += hd->length;
                if (c.block_continuations_ > c.options_.max_continuations) {
                    c.calm_down("h2: CONTINUATION flood");
                } else if (c.block_bytes_ > 2 * uint64_t(c.options_.max_header_list_size) + 256) {
                    c.calm_down("h2: header block far above the header list limit");
                }
            }
            return 0;
        });
    }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST ||
                c.terminating_) {
                return 0;
            }
            c.streams_.try_emplace(frame->hd.stream_id, c.options_.max_header_list_size);
            return 0;
        });
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            // Trailers (HCAT_HEADERS) are decoded by nghttp2 and dropped here.
            if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
                return 0;
            }
            if (H2Codec::Stream* st = c.find(frame->hd.stream_id)) {
                st->builder.add(sv(name, namelen), sv(value, valuelen));
            }
            return 0;
        });
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            const int32_t id = frame->hd.stream_id;
            switch (frame->hd.type) {
                case NGHTTP2_HEADERS: {
                    H2Codec::Stream* st = c.find(id);
                    if (st == nullptr) return 0;
                    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) st->peer_ended = true;
                    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && !c.terminating_) {
                        c.finish_request(id, *st);
                    }
                    return 0;
                }
                case NGHTTP2_DATA:
                    if (H2Codec::Stream* st = c.find(id)) {
                        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) st->peer_ended = true;
                    }
                    return 0;
                case NGHTTP2_RST_STREAM:
                    if (H2Codec::Stream* st = c.find(id)) st->reset_by_peer = true;
                    return 0;
                case NGHTTP2_PING:
                    if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && c.shutdown_ping_sent_ &&
                        std::memcmp(frame->ping.opaque_data, shutdown_ping, 8) == 0) {
                        c.finish_shutdown();
                    }
                    return 0;
                case NGHTTP2_GOAWAY:
                    c.set_close_reason(frame->goaway.error_code, true, "h2: client sent GOAWAY");
                    return 0;
                default:
                    return 0;
            }
        });
    }

    static int on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t*,
                                  size_t len, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            H2Codec::Stream* st = c.find(stream_id);
            if (st == nullptr) return 0;
            st->body_received += len;
            if (st->body_received > c.options_.max_request_body_bytes && !st->reset_local) {
                c.reset_locally(stream_id, *st, h2_error::enhance_your_calm);
            }
            return 0;
        });
    }

    static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                               void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            auto it = c.streams_.find(stream_id);
            if (it == c.streams_.end()) return 0;
            H2Codec::Stream& st = it->second;
            // The client may not know yet that the stream is gone (our RST_STREAM, or our answer
            // ending it before its own END_STREAM): its trailers may still be on their way.
            if (!st.peer_ended) c.remember_half_open(stream_id);
            if (st.delivered) {
                const bool premature = st.reset_by_peer && !st.response_done;
                if (premature) ++c.stats_.peer_resets;
                H2Event ev;
                ev.kind = H2Event::Kind::stream_closed;
                ev.stream_id = stream_id;
                ev.error_code = error_code;
                ev.by_peer = st.reset_by_peer;
                // Placeholders of this stream may still be queued: the transport needs the
                // stream's file until they are written.
                c.closes_.push_back({c.output_.appended(), std::move(ev)});
                if (c.reset_guard_.record(premature)) {
                    c.calm_down("h2: too many streams reset by the client");
                }
            }
            c.streams_.erase(it);
            return 0;
        });
    }

    static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            const int32_t id = frame->hd.stream_id;
            switch (frame->hd.type) {
                case NGHTTP2_HEADERS:
                case NGHTTP2_DATA:
                    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
                        H2Codec::Stream* st = c.find(id);
                        if (st == nullptr) return 0;
                        st->response_done = true;
                        // RFC 9113 8.1: the answer is complete; stop the client sending a body
                        // we would only discard.
                        if (!st->peer_ended && !st->reset_by_peer) {
                            nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, id,
                                                      NGHTTP2_NO_ERROR);
                        }
                    }
                    return 0;
                case NGHTTP2_RST_STREAM:
                    if (frame->rst_stream.error_code != NGHTTP2_NO_ERROR) {
                        if (H2Codec::Stream* st = c.find(id); st && st->delivered) {
                            ++c.stats_.local_resets;
                        }
                    }
                    return 0;
                case NGHTTP2_GOAWAY:
                    // Ours (terminate, finish_shutdown) already named a reason; this is nghttp2
                    // answering a protocol error, and it puts the reason in the debug data.
                    if (frame->goaway.last_stream_id != std::numeric_limits<int32_t>::max()) {
                        if (frame->goaway.opaque_data_len > 0) {
                            c.last_error_ = "h2: ";
                            c.last_error_.append(
                                reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                std::min(frame->goaway.opaque_data_len, max_error_message));
                        }
                        c.set_close_reason(
                            frame->goaway.error_code, false,
                            c.last_error_.empty() ? "h2: GOAWAY sent" : c.last_error_.c_str());
                    }
                    return 0;
                default:
                    return 0;
            }
        });
    }

    static int on_error(nghttp2_session*, int, const char* msg, size_t len, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            c.last_error_.assign("h2: ");
            c.last_error_.append(msg, std::min(len, max_error_message));
            return 0;
        });
    }

    static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t*, size_t length,
                             uint32_t* data_flags, nghttp2_data_source*, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> ssize_t {
            H2Codec::Stream* st = c.find(stream_id);
            if (st == nullptr || st->source == nullptr) return NGHTTP2_ERR_DEFERRED;
            const uint64_t remaining = st->body_length ? *st->body_length - st->body_offset
                                                       : std::numeric_limits<uint64_t>::max();
            if (remaining == 0) {
                *data_flags |= NGHTTP2_DATA_FLAG_EOF;
                return 0;
            }
            const size_t max = size_t(std::min<uint64_t>(length, remaining));
            H2BodyChunk chunk = st->source->body_available(stream_id, st->body_offset, max);
            switch (chunk.state) {
                case H2BodyChunk::State::ready: {
                    if (chunk.length == 0) return NGHTTP2_ERR_DEFERRED;
                    const size_t n = std::min(chunk.length, max);
                    // A body that ends before its Content-Length is never padded: reset.
                    if (chunk.last && st->body_length && n < remaining) return c.body_failed(*st);
                    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
                    if (chunk.last || n == remaining) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
                    return ssize_t(n);
                }
                case H2BodyChunk::State::deferred:
                    return NGHTTP2_ERR_DEFERRED;
                case H2BodyChunk::State::eof:
                    if (st->body_length) return c.body_failed(*st);
                    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
                    return 0;
                case H2BodyChunk::State::error:
                default:
                    return c.body_failed(*st);
            }
        });
    }

    static int send_data(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                         size_t length, nghttp2_data_source*, void* user) noexcept {
        return guarded(user, [&](H2Codec& c) -> int {
            const size_t padlen = frame->data.padlen;
            c.output_.append_bytes(framehd, 9);
            if (padlen > 0) {
                const uint8_t pad_length = uint8_t(padlen - 1);
                c.output_.append_bytes(&pad_length, 1);
            }
            H2Codec::Stream* st = c.find(frame->hd.stream_id);
            c.output_.append_payload(frame->hd.stream_id, st ? st->body_offset : 0, length);
            if (st) st->body_offset += length;
            if (padlen > 1)
                c.output_.append_bytes(std::string(padlen - 1, '\0').data(), padlen - 1);
            // Stop this produce() here once the budget is used.
            return c.output_.queued() >= c.budget_ ? NGHTTP2_ERR_PAUSE : 0;
        });
    }

    static ssize_t data_length(nghttp2_session*, uint8_t, int32_t, int32_t session_window,
                               int32_t stream_window, uint32_t remote_max_frame_size,
                               void* user) noexcept {
        H2Codec& c = self(user);
        size_t n = std::min<size_t>(c.options_.max_data_frame_payload, remote_max_frame_size);
        n = std::min<size_t>(n, size_t(std::max(session_window, 1)));
        n = std::min<size_t>(n, size_t(std::max(stream_window, 1)));
        return ssize_t(std::max<size_t>(n, 1));
    }
};

H2Codec::H2Codec(H2Options options)
    : options_(options), reset_guard_(options.reset_window, options.max_resets_per_window) {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        fail(Status(Code::internal, "h2: out of memory"));
        return;
    }
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, H2Callbacks::on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, H2Callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2Callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2Callbacks::on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, H2Callbacks::on_frame_send);
    nghttp2_session_callbacks_set_error_callback2(cbs, H2Callbacks::on_error);
    nghttp2_session_callbacks_set_send_data_callback(cbs, H2Callbacks::send_data);
    if (options_.max_data_frame_payload != default_data_payload) {
        nghttp2_session_callbacks_set_data_source_read_length_callback(cbs,
                                                                       H2Callbacks::data_length);
    }

    nghttp2_option* opt = nullptr;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        fail(Status(Code::internal, "h2: out of memory"));
        return;
    }
    // No priority tree history: a closed stream is forgotten at once.
    nghttp2_option_set_no_closed_streams(opt, 1);
#if XS3_HAVE_NGHTTP2_MAX_CONTINUATIONS
    // nghttp2's own CONTINUATION limit (CVE-2024-28182) is the backstop for header blocks it
    // ignores (refused streams), where on_begin_frame is not called. It counts every
    // mem_recv() call that reads part of a CONTINUATION header (Debian 1.52.0-1+deb12u2/u3,
    // nghttp2 issue #2817), up to 9 per frame, so a limit of 9 * (ours + 1) never fires before
    // ours, however the bytes are split.
    nghttp2_option_set_max_continuations(opt, 9 * (size_t(options_.max_continuations) + 1));
#endif
    int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
        session_ = nullptr;
        fail(Status(Code::internal, std::string("h2: ") + nghttp2_strerror(rv)));
        return;
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.initial_window_size},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options_.max_header_list_size},
    };
    rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    if (rv != 0) fail(Status(Code::invalid_argument, std::string("h2: ") + nghttp2_strerror(rv)));
}

H2Codec::~H2Codec() {
    dying_ = true;
    if (session_ != nullptr) nghttp2_session_del(session_);
}

H2Codec::Stream* H2Codec::find(int32_t stream_id) noexcept {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : &it->second;
}

void H2Codec::fail(Status s) noexcept {
    if (failed()) return;
    status_ = std::move(s);
    H2Event ev;
    ev.kind = H2Event::Kind::protocol_error;
    ev.message = status_.message();
    events_.push_back(std::move(ev));
}

void H2Codec::set_close_reason(uint32_t code, bool by_peer, const char* reason) {
    if (close_reason_set_) return;
    close_reason_set_ = true;
    close_code_ = code;
    close_by_peer_ = by_peer;
    close_reason_ = reason;
}

bool H2Codec::check_stream_id(int32_t stream_id) {
    if (stream_id > highest_stream_id_) {
        highest_stream_id_ = stream_id;
        return true;
    }
    // Not a new stream: trailers of a stream still open, or of one that closed before the
    // client ended its side, are fine (nghttp2 drops them).
    if (streams_.count(stream_id) != 0 ||
        nghttp2_session_find_stream(session_, stream_id) != nullptr)
        return true;
    for (int32_t id : half_open_)
        if (id == stream_id) return true;
    // RFC 9113 5.1.1: a stream id must be greater than every one the client used before; a
    // lower one, or one whose stream is over, is a connection error. (nghttp2 itself ignores
    // such a HEADERS frame, since it forgets closed streams.)
    terminate(h2_error::protocol_error, "h2: HEADERS on a closed or lower stream id");
    return false;
}

void H2Codec::remember_half_open(int32_t stream_id) {
    if (half_open_.size() >= kHalfOpenRemembered) half_open_.pop_front();
    half_open_.push_back(stream_id);
}

void H2Codec::calm_down(const char* reason) {
    terminate(h2_error::enhance_your_calm, reason);
}

void H2Codec::reset_locally(int32_t stream_id, Stream& st, uint32_t error_code) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
    st.reset_local = true;
    st.source = nullptr;
}

int H2Codec::body_failed(Stream& st) noexcept {
    // nghttp2 answers this with RST_STREAM INTERNAL_ERROR.
    st.reset_local = true;
    st.source = nullptr;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

void H2Codec::finish_request(int32_t stream_id, Stream& st) {
    Result<Request> r = st.builder.finish();
    if (!r.ok()) {
        if (r.status().code() == Code::out_of_range) {
            // RFC 9113 10.5.1: a header list above our limit may be answered 431.
            ++stats_.rejected_oversized;
            const nghttp2_nv nva[] = {
                {(uint8_t*)":status", (uint8_t*)"431", 7, 3, NGHTTP2_NV_FLAG_NONE},
                {(uint8_t*)"content-length", (uint8_t*)"0", 14, 1, NGHTTP2_NV_FLAG_NONE},
            };
            nghttp2_submit_response(session_, stream_id, nva, std::size(nva), nullptr);
        } else {
            ++stats_.rejected_malformed;
            last_error_ = "h2: malformed request: " + r.status().message();
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id,
                                      NGHTTP2_PROTOCOL_ERROR);
        }
        return;
    }
    st.delivered = true;
    st.head = r->method == Method::head;
    ++delivered_open_;
    ++stats_.requests;
    H2Event ev;
    ev.kind = H2Event::Kind::request;
    ev.stream_id = stream_id;
    ev.request = std::move(r.value());
    ev.end_stream = st.peer_ended;
    events_.push_back(std::move(ev));
}

Status H2Codec::upgrade(std::string_view settings_payload, Request request) {
    if (failed()) return status_;
    if (fed_ || streams_.count(1) != 0) {
        return Status(Code::invalid_argument, "h2: upgrade only before the first bytes");
    }
    const bool head = request.method == Method::head;
    int rv = nghttp2_session_upgrade2(session_,
                                      reinterpret_cast<const uint8_t*>(settings_payload.data()),
                                      settings_payload.size(), head ? 1 : 0, nullptr);
    if (rv != 0) {
        return Status(Code::invalid_argument, std::string("h2: upgrade: ") + nghttp2_strerror(rv));
    }
    Stream& st = streams_.try_emplace(1, options_.max_header_list_size).first->second;
    st.delivered = true;
    st.head = head;
    st.peer_ended = true;  // the HTTP/1.1 side read the whole request
    highest_stream_id_ = 1;

    remove_connection_fields(request.headers);
    request.headers.remove("http2-settings");
    request.version_major = 2;
    request.version_minor = 0;
    request.keep_alive = true;
    request.upgrade_h2c = false;
    ++delivered_open_;
    ++stats_.requests;
    H2Event ev;
    ev.kind = H2Event::Kind::request;
    ev.stream_id = 1;
    ev.request = std::move(request);
    ev.end_stream = true;
    events_.push_back(std::move(ev));
    return {};
}

Status H2Codec::feed(const char* data, size_t len) noexcept {
    if (failed()) return status_;
    fed_ = true;
    ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
    if (rv < 0 && !failed()) fail(Status(Code::invalid_argument, recv_error_message(rv)));
    return status_;
}

bool H2Codec::next_event(H2Event& out) {
    if (!events_.empty()) {
        out = std::move(events_.front());
        events_.pop_front();
        return true;
    }
    if (!closes_.empty() && closes_.front().release_at <= output_.consumed()) {
        out = std::move(closes_.front().event);
        closes_.pop_front();
        if (delivered_open_ > 0) --delivered_open_;
        return true;
    }
    if (!close_event_taken_ && !failed() && wants_close()) {
        close_event_taken_ = true;
        out = H2Event{};
        out.kind = H2Event::Kind::close_connection;
        out.error_code = close_code_;
        out.by_peer = close_by_peer_;
        out.message = close_reason_.empty() ? "h2: connection finished" : close_reason_;
        return true;
    }
    return false;
}

Status H2Codec::submit_response(int32_t stream_id, const ResponseHead& head, H2BodySource* body,
                                std::optional<uint64_t> body_length) {
    if (failed()) return status_;
    Stream* st = find(stream_id);
    if (st == nullptr || !st->delivered) return Status(Code::not_found, "h2: no such stream");
    if (st->reset_local || st->reset_by_peer) {
        return Status(Code::cancelled, "h2: stream was reset");
    }
    if (st->responded) return Status(Code::invalid_argument, "h2: stream already answered");

    std::vector<H2Field> fields;
    stats_.dropped_fields += h2_response_fields(head, fields);
    std::vector<nghttp2_nv> nva;
    nva.reserve(fields.size());
    for (H2Field& f : fields) {
        nva.push_back({reinterpret_cast<uint8_t*>(f.name.data()),
                       reinterpret_cast<uint8_t*>(f.value.data()), f.name.size(), f.value.size(),
                       NGHTTP2_NV_FLAG_NONE});
    }
    const std::string& status = fields.front().value;
    const bool no_body = body == nullptr || st->head || status == "204" || status == "304" ||
                         (body_length && *body_length == 0);
    nghttp2_data_provider provider;
    provider.source.ptr = nullptr;
    provider.read_callback = H2Callbacks::read_body;
    // nghttp2 copies the fields.
    int rv = nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(),
                                     no_body ? nullptr : &provider);
    if (rv != 0) return Status(Code::internal, std::string("h2: ") + nghttp2_strerror(rv));
    st->responded = true;
    if (!no_body) {
        st->source = body;
        st->body_length = body_length;
    }
    return {};
}

bool H2Codec::resume_data(int32_t stream_id) {
    Stream* st = find(stream_id);
    if (failed() || st == nullptr || st->source == nullptr) return false;
    return nghttp2_session_resume_data(session_, stream_id) == 0;
}

int64_t H2Codec::send_window(int32_t stream_id) const noexcept {
    if (session_ == nullptr || failed()) return 0;
    int32_t stream = nghttp2_session_get_stream_remote_window_size(session_, stream_id);
    if (stream < 0) return 0;
    return std::min<int64_t>(stream, nghttp2_session_get_remote_window_size(session_));
}

Status H2Codec::reset_stream(int32_t stream_id, uint32_t error_code) {
    if (failed()) return status_;
    Stream* st = find(stream_id);
    if (st == nullptr) return Status(Code::not_found, "h2: no such stream");
    if (!st->reset_local) reset_locally(stream_id, *st, error_code);
    return {};
}

void H2Codec::begin_shutdown() {
    if (failed() || terminating_ || shutdown_ping_sent_ || final_goaway_) return;
    nghttp2_submit_shutdown_notice(session_);
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, shutdown_ping);
    shutdown_ping_sent_ = true;
}

void H2Codec::finish_shutdown() {
    if (failed() || terminating_ || final_goaway_) return;
    final_goaway_ = true;
    set_close_reason(h2_error::no_error, false, "h2: shut down");
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
}

void H2Codec::terminate(uint32_t error_code, std::string_view reason) {
    if (failed() || terminating_) return;
    terminating_ = true;
    if (!reason.empty()) last_error_ = std::string(reason);
    set_close_reason(error_code, false,
                     last_error_.empty() ? "h2: terminated" : last_error_.c_str());
    // Also makes nghttp2 ignore everything the client sends from now on.
    nghttp2_session_terminate_session(session_, error_code);
}

size_t H2Codec::produce(size_t max_bytes) {
    if (failed()) return output_.queued();
    output_.close_tail();
    budget_ = max_bytes;
    while (output_.queued() < max_bytes) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
            if (!failed())
                fail(Status(Code::internal, std::string("h2: ") + nghttp2_strerror(int(n))));
            break;
        }
        // 0: nothing left, or send_data paused us at the budget.
        if (n == 0) break;
        output_.append_bytes(data, size_t(n));
    }
    return output_.queued();
}

void H2Codec::consume(size_t n) noexcept {
    output_.consume(n);
}

bool H2Codec::want_write() const noexcept {
    return !failed() && nghttp2_session_want_write(session_) != 0;
}

bool H2Codec::wants_close() const noexcept {
    if (failed()) return true;
    return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0 &&
           output_.empty();
}

}  // namespace xs3::http
