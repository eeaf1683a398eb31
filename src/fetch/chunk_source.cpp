// chunk_sources: S3 alone unless the fill's chooser adds sources in front of it.
#include "xs3/fetch/chunk_source.hpp"

namespace xs3::fetch {

ChunkSources chunk_sources(const ChunkSourcesFor& sources_for, const s3::BucketClient& bucket,
                           const s3::ObjectId& id, bool peers_allowed) {
    ChunkSources sources;
    if (sources_for) sources = sources_for(bucket, id, peers_allowed);
    if (sources.empty()) sources.push_back(std::make_shared<S3ChunkSource>(bucket, id));
    return sources;
}

}  // namespace xs3::fetch
