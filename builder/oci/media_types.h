// OCI and Docker media types and annotation keys strata writes or reads.
#pragma once

namespace strata::builder::oci {

inline constexpr char kManifestMediaType[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kIndexMediaType[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kConfigMediaType[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kDockerManifestMediaType[] =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestListMediaType[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
// image-spec v1.1: the config of an artifact that has none of its own (the blob "{}").
inline constexpr char kEmptyMediaType[] = "application/vnd.oci.empty.v1+json";
inline constexpr char kTitleAnnotation[] = "org.opencontainers.image.title";
inline constexpr char kCreatedAnnotation[] = "org.opencontainers.image.created";
inline constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";
// The base image an image was made from (image-spec annotations.md).
inline constexpr char kBaseDigestAnnotation[] = "org.opencontainers.image.base.digest";
inline constexpr char kBaseNameAnnotation[] = "org.opencontainers.image.base.name";
inline constexpr char kContainerdNameAnnotation[] = "io.containerd.image.name";
inline constexpr char kLayoutVersion[] = "1.0.0";

}  // namespace strata::builder::oci
