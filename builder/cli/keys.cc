#include "builder/cli/keys.h"

#include <fmt/format.h>

#include "builder/base/fs.h"

namespace strata::builder::cli {
namespace {

template <typename Key>
Result<Key> load_key(const std::string& option, const std::string& path) {
  auto pem = read_file(path);
  if (!pem.ok())
    return Error(ErrorCode::kUsage, fmt::format("{}: {}", option, pem.error().message()));
  auto key = Key::from_pem(*pem);
  if (!key.ok()) {
    return Error(ErrorCode::kUsage, fmt::format("{} {}: {}", option, path, key.error().message()));
  }
  return key;
}

}  // namespace

Result<attest::PrivateKey> load_private_key(const std::string& option, const std::string& path) {
  return load_key<attest::PrivateKey>(option, path);
}

Result<attest::PublicKey> load_public_key(const std::string& option, const std::string& path) {
  return load_key<attest::PublicKey>(option, path);
}

}  // namespace strata::builder::cli
