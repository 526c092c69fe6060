// The build host's platform in OCI (GOARCH) terms.
#pragma once

#include <string>

namespace strata::builder {

// "amd64" on x86_64, "arm64" on aarch64, ... (specs::goarch_for_machine of uname's machine);
// the machine name itself when there is no mapping, which make_plan then reports.
std::string host_architecture();

}  // namespace strata::builder
