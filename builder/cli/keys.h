// Loading the PEM keys named on the command line (--sign-key, --key). A key that cannot be
// read or parsed is a usage error (exit 2) naming the option and the file, found before any
// work starts.
#pragma once

#include <string>

#include "attest/openssl.h"

namespace strata::builder::cli {

Result<attest::PrivateKey> load_private_key(const std::string& option, const std::string& path);
Result<attest::PublicKey> load_public_key(const std::string& option, const std::string& path);

}  // namespace strata::builder::cli
