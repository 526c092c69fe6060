#include "builder/cli/lock_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "builder/base/fs.h"
#include "builder/debian/lock.h"

namespace strata::builder::cli {

Result<LockState> relock(const specs::Spec& spec, const std::string& cache_dir,
                         sources::Fetcher& fetcher, const std::vector<std::string>& update,
                         bool update_all) {
  LockState state{.path = debian::lock_path(spec)};
  debian::LockOptions options{.cache_dir = cache_dir, .fetcher = &fetcher};
  // `repositories: [host]` reads /etc/apt; tests and unusual hosts point it elsewhere.
  if (const char* etc = std::getenv("STRATA_APT_ETC"); etc != nullptr && *etc != '\0') {
    options.apt_etc = etc;
  }
  options.warn = [](const std::string& line) { fmt::print(stderr, "strata: warning: {}\n", line); };
  if (Result<std::string> text = read_file_limited(state.path, 64 << 20); text.ok()) {
    state.old_text = *text;
    if (Result<debian::Lock> old = debian::parse_lock(*text, state.path); old.ok()) {
      options.previous = *std::move(old);
    }
  }
  for (const std::string& name : update) {
    auto named = [&](const debian::LockedPackage& p) { return p.name == name; };
    bool locked =
        options.previous &&
        (std::any_of(options.previous->packages.begin(), options.previous->packages.end(), named) ||
         (options.previous->environment &&
          std::any_of(options.previous->environment->packages.begin(),
                      options.previous->environment->packages.end(), named)));
    if (!locked) {
      return Error(ErrorCode::kUsage,
                   fmt::format("--update {}: {} holds no package '{}'", name, state.path, name));
    }
  }
  options.update_all = update_all;
  options.update.insert(update.begin(), update.end());
  STRATA_TRY_ASSIGN(debian::Lock lock, debian::make_lock(spec, options));
  state.text = debian::render_lock(lock);
  state.packages = lock.packages.size();
  if (lock.environment) state.packages += lock.environment->packages.size();
  return state;
}

}  // namespace strata::builder::cli
