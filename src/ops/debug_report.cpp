// downloads_json and connections_json.
#include "xs3/ops/debug_report.hpp"

#include "xs3/base/json_writer.hpp"

namespace xs3::ops {

std::string downloads_json(const std::vector<fetch::DownloadView>& downloads) {
    JsonWriter w;
    w.begin_object().key("downloads").begin_array();
    for (const auto& d : downloads) {
        uint64_t written = 0;
        for (const auto& c : d.chunks)
            written += c.written;
        w.begin_object()
            .field("id", d.id)
            .field("name", d.name)
            .field("state", d.state)
            .key("size");
        if (d.size_known)
            w.value(d.size);
        else
            w.null_value();
        w.field("age_ms", static_cast<uint64_t>(d.age.count()))
            .field("readers", static_cast<int64_t>(d.readers))
            .field("waiting_readers", static_cast<uint64_t>(d.waiters))
            .field("bytes_fetched", d.bytes_fetched)
            .field("retries", d.retries)
            .field("bytes_written", written)
            .key("chunks")
            .begin_array();
        for (size_t i = 0; i < d.chunks.size(); ++i)
            w.begin_object()
                .field("index", static_cast<uint64_t>(i))
                .field("offset", d.chunks[i].offset)
                .field("length", d.chunks[i].length)
                .field("written", d.chunks[i].written)
                .end_object();
        w.end_array().end_object();
    }
    w.end_array().end_object();
    return w.text();
}

std::string connections_json(const proxy::ConnectionCounts& counts) {
    JsonWriter w;
    w.begin_object()
        .field("total", counts.total)
        .field("complete", counts.complete)
        .field("h2_streams", counts.h2_streams)
        .key("by_state")
        .begin_object();
    for (const auto& [state, n] : counts.by_state)
        w.field(state, n);
    w.end_object().key("per_worker").begin_array();
    for (uint64_t n : counts.per_worker)
        if (n == UINT64_MAX)
            w.null_value();
        else
            w.value(n);
    w.end_array().end_object();
    return w.text();
}

}  // namespace xs3::ops
