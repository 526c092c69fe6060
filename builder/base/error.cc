#include "builder/base/error.h"

#include <fmt/format.h>

#include <cstring>
#include <mutex>
#include <ostream>
#include <unordered_set>

namespace strata {

const std::string FileName::kNone;

FileName::FileName(std::string_view name) {
  if (name.empty()) return;
  // Never freed: a name may be in a Loc until the process ends, static destructors included.
  static std::mutex* mutex = new std::mutex;
  static auto* names = new std::unordered_set<std::string>;
  std::lock_guard<std::mutex> lock(*mutex);
  name_ = &*names->emplace(name).first;
}

std::ostream& operator<<(std::ostream& out, const FileName& name) { return out << name.str(); }

Error Error::spec(Loc loc, std::string message) {
  Error e(ErrorCode::kSpec, std::move(message));
  e.loc_ = std::move(loc);
  return e;
}

Error Error::sys(std::string what, int errnum) {
  Error e(ErrorCode::kIo, fmt::format("{}: {}", what, std::strerror(errnum)));
  e.errno_ = errnum;
  return e;
}

Error& Error::with_context(std::string_view context) {
  message_ = fmt::format("{}: {}", context, message_);
  return *this;
}

std::string Error::to_string() const {
  if (loc_)
    return fmt::format("{}:{}:{}: error: {}", loc_->file, loc_->line, loc_->column, message_);
  return message_;
}

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSpec:
    case ErrorCode::kUsage:
      return 2;
    case ErrorCode::kUnsupported:
      return 3;
    default:
      return 1;
  }
}

}  // namespace strata
