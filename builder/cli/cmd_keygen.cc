// `strata keygen --type ed25519|ecdsa-p256 -o PREFIX`: a signing key pair for
// `strata build --sign-key`: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (PEM).
#include <fmt/format.h>
#include <sys/stat.h>

#include "attest/openssl.h"
#include "builder/base/fs.h"
#include "builder/cli/commands.h"

namespace strata::builder::cli {
namespace {

struct KeygenArgs {
  std::string type = "ed25519";
  std::string prefix;
};

// Both files are staged first and renamed last, so a failure leaves neither half-written.
Result<int> run_keygen(const KeygenArgs& args) {
  STRATA_TRY_ASSIGN(attest::KeyType type, attest::parse_key_type(args.type));
  const std::string key_path = args.prefix + ".key";
  const std::string pub_path = args.prefix + ".pub";
  for (const std::string& p : {key_path, pub_path}) {
    // Never overwrite a key: losing one cannot be undone.
    if (path_exists(p)) return Error(ErrorCode::kUsage, fmt::format("{} already exists", p));
  }
  STRATA_TRY_ASSIGN(attest::PrivateKey key, attest::PrivateKey::generate(type));
  STRATA_TRY_ASSIGN(std::string key_pem, key.to_pem());
  STRATA_TRY_ASSIGN(attest::PublicKey pub, key.public_key());
  STRATA_TRY_ASSIGN(AtomicFile key_file, AtomicFile::create(key_path, 0600));
  STRATA_TRY(write_all(key_file.fd(), key_pem, key_file.temp_path()));
  STRATA_TRY_ASSIGN(AtomicFile pub_file, AtomicFile::create(pub_path, 0644));
  STRATA_TRY(write_all(pub_file.fd(), pub.to_pem(), pub_file.temp_path()));
  STRATA_TRY(key_file.commit(key_path));
  STRATA_TRY(pub_file.commit(pub_path));
  fmt::print(stderr, "{} key written to {} (private, mode 0600) and {}\n",
             attest::key_type_name(type), key_path, pub_path);
  fmt::print("{}\n", pub.keyid());
  return 0;
}

}  // namespace

void register_keygen(CLI::App& app, Command& run) {
  auto args = std::make_shared<KeygenArgs>();
  auto* cmd = app.add_subcommand("keygen", "Generate a signing key pair for --sign-key");
  cmd->add_option("--type", args->type, "ed25519 or ecdsa-p256")->capture_default_str();
  cmd->add_option("-o,--output", args->prefix, "Write PREFIX.key and PREFIX.pub")->required();
  cmd->callback([&run, args] { run = [args] { return run_keygen(*args); }; });
}

}  // namespace strata::builder::cli
