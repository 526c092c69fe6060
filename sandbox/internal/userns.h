// Detecting whether user namespaces work here, and the fix to name when they do not.
// Private to sandbox/.
#pragma once

#include <string>

#include "builder/base/result.h"

namespace strata::sandbox::internal {

// The kUnsupported error for a failed namespace step: "user namespaces are unavailable
// (<what>: <strerror>); <the sysctl or AppArmor setting to change>".
Error userns_unavailable(std::string_view what, int errnum);

// Forks a probe that creates a user and mount namespace, maps itself and mounts a tmpfs.
Result<void> probe_user_namespaces();

}  // namespace strata::sandbox::internal
