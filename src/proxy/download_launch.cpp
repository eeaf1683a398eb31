// launch_download and object_meta_from_head.
#include "xs3/proxy/download_launch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "xs3/base/log.hpp"
#include "xs3/proxy/server.hpp"

namespace xs3::proxy {
namespace {

// The download is over for good without a published file: forget it, remove its temp file.
void drop(SharedState* sp, const cache::CacheKey& ck, const fetch::Download* dl,
          std::shared_ptr<cache::TempFile> tf) {
    if (tf) sp->blocking.submit([sp, tf] { sp->store.discard(std::move(*tf)); });
    sp->downloads.remove(ck.hex, dl);
}

}  // namespace

cache::ObjectMeta object_meta_from_head(const s3::HttpResponseHead& head, uint64_t size,
                                        std::string bucket, std::string key) {
    cache::ObjectMeta meta;
    auto pick = [&](const char* n) {
        const std::string* v = head.get(n);
        return v ? *v : std::string();
    };
    meta.size = size;
    meta.etag = pick("etag");
    meta.last_modified = pick("last-modified");
    meta.content_type = pick("content-type");
    meta.cache_control = pick("cache-control");
    meta.content_encoding = pick("content-encoding");
    for (const auto& [n, v] : head.headers)
        if (n.rfind("x-amz-meta-", 0) == 0) meta.user_meta.emplace_back(n.substr(11), v);
    meta.bucket = std::move(bucket);
    meta.key = std::move(key);
    meta.stored_at_unix = static_cast<int64_t>(time(nullptr));
    return meta;
}

void launch_download(Worker& w, std::shared_ptr<fetch::Download> dl, const cache::CacheKey& ck,
                     const std::string& key, const std::string& etag, cache::ObjectMeta meta) {
    SharedState* sp = &w.shared();
    Worker* wp = &w;
    bool direct = sp->options.direct_io;
    sp->blocking.submit([sp, wp, ck, key, etag, meta, direct, dl] {
        auto temp =
            std::make_shared<Result<cache::TempFile>>(sp->store.create_temp(ck, meta, direct));
        // Readers need their own read-only descriptor: the temp file is opened write-only.
        int read_fd = -1;
        if (temp->ok()) {
            read_fd = ::open(temp->value().path.c_str(), O_RDONLY | O_CLOEXEC);
            if (read_fd < 0) {
                Status s = status_from_errno(errno, "open temp file for reading");
                sp->store.discard(std::move(temp->value()));
                *temp = s;
            }
        }
        wp->ring().post([sp, wp, ck, key, etag, dl, temp, read_fd] {
            if (!temp->ok()) {
                sp->cache_failed(temp->status());
                dl->fail(temp->status());
                drop(sp, ck, dl.get(), nullptr);
                return;
            }
            auto tf = std::make_shared<cache::TempFile>(std::move(temp->value()));
            // The Download writes through its own descriptor; the TempFile keeps one for publish.
            int fd = ::dup(tf->fd.get());
            if (fd < 0) {
                ::close(read_fd);
                dl->fail(status_from_errno(errno, "dup temp file"));
                drop(sp, ck, dl.get(), tf);
                return;
            }
            dl->attach_file(fd, read_fd, tf->data_offset);
            const Origin* origin = &sp->origin;
            auto factory = [origin, key, etag](uint64_t first, uint64_t last) {
                // The HEAD for this key built fine, so this cannot fail; an empty URL would make
                // curl fail the chunk rather than fetch anything else.
                auto r = origin->get(key, std::make_pair(first, last), etag);
                return r.ok() ? std::move(r).value() : s3::HttpRequest{};
            };
            const fetch::Download* raw = dl.get();
            dl->start(wp->ring(), wp->curl(), factory, [sp, ck, tf, raw, key](const Status& st) {
                if (!st.ok()) {
                    XS3_LOG_WARN("download failed", kv("key", key), kv("error", st.to_string()));
                    drop(sp, ck, raw, tf);
                    return;
                }
                sp->blocking.submit([sp, ck, tf, raw, key] {
                    Status ps = sp->store.publish(std::move(*tf), ck);
                    if (!ps.ok()) {
                        XS3_LOG_WARN("publish failed", kv("key", key), kv("error", ps.to_string()));
                        sp->cache_failed(ps);
                    } else {
                        XS3_LOG_DEBUG("object cached", kv("key", key));
                    }
                    sp->downloads.remove(ck.hex, raw);
                });
            });
        });
    });
}

}  // namespace xs3::proxy
