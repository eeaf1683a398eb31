// The metadata block at the start of every cache file. Data and metadata are published together
// by one rename, and a hit needs one open and one read.
//
// Layout (integers little-endian):
//   0   8  magic "XS3CACHE"
//   8   4  format version (1)
//   12  4  header length: the data offset, a multiple of 4096 so data is O_DIRECT-aligned
//   16  4  metadata length
//   20  8  checksum: first 8 bytes of SHA-224 over bytes 0..19 and the metadata
//   28  4  zero
//   32  .. metadata, then zero padding up to the header length
// The metadata is a sequence of records `<name> SP <decimal length> SP <bytes> LF`, so values may
// hold any byte. Names: size, etag, last-modified, content-type, cache-control, content-encoding,
// bucket, key, stored-at, and meta (bytes `<decimal name length> : <name> <value>`, one per
// x-amz-meta-* header); content-disposition, content-language, expires and version-id are written
// only when not empty (files written before they existed simply lack them). Unknown names are
// skipped so version 1 readers survive new fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3::cache {

struct ObjectMeta {
    uint64_t size = 0;
    std::string etag;
    std::string last_modified;
    std::string content_type;
    std::string cache_control;
    std::string content_encoding;
    std::string content_disposition;
    std::string content_language;
    std::string expires;
    std::string version_id;  // x-amz-version-id; empty when the bucket is not versioned
    std::vector<std::pair<std::string, std::string>> user_meta;  // names lowercased, no prefix
    std::string bucket;
    std::string key;
    int64_t stored_at_unix = 0;

    bool operator==(const ObjectMeta&) const = default;
};

inline constexpr uint64_t kHeaderAlignment = 4096;
inline constexpr uint32_t kHeaderFormatVersion = 1;
// Far above anything S3 metadata can produce (2 KiB user metadata, 1 KiB keys); anything larger
// is treated as corruption rather than allocated.
inline constexpr uint64_t kMaxHeaderLength = 16 * 1024 * 1024;

// The header block for `meta`, padded to a multiple of kHeaderAlignment. User metadata names are
// lowercased on the way in.
std::string encode_header(const ObjectMeta& meta);

struct DecodedHeader {
    ObjectMeta meta;
    uint64_t data_offset = 0;  // == header length
    // The bytes given were a valid prefix but ended inside the metadata: read data_offset bytes
    // from the start of the file and call again. meta is empty. (The zero padding after the
    // metadata need not be given; the store checks the file's size against data_offset + size.)
    bool incomplete = false;
};

// Decodes the header from the first bytes of a cache file. Corrupt input is an error
// (Code::invalid_argument), never a crash.
Result<DecodedHeader> decode_header(std::string_view first_bytes);

}  // namespace xs3::cache
