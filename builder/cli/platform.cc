#include "builder/cli/platform.h"

#include <sys/utsname.h>

#include "specs/values.h"

namespace strata::builder {

std::string host_architecture() {
  struct utsname u;
  if (::uname(&u) != 0) return "";
  auto goarch = specs::goarch_for_machine(u.machine);
  return goarch.ok() ? *goarch : std::string(u.machine);
}

}  // namespace strata::builder
