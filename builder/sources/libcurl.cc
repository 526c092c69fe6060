#include "builder/sources/libcurl.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <optional>
#include <string>

#include "builder/base/check.h"

namespace strata::builder::sources::libcurl {
namespace {

// Debian's libcurl4 (OpenSSL) first, then libcurl3-gnutls, which has the same ABI.
constexpr const char* kSonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};

template <class F>
bool resolve(void* lib, const char* name, F& out) {
  void* symbol = ::dlsym(lib, name);
  out = reinterpret_cast<F>(symbol);
  return symbol != nullptr;
}

struct Loaded {
  Api api{};
  std::optional<Error> error;
};

Loaded open_libcurl() {
  Loaded out;
  void* lib = nullptr;
  std::string why;
  for (const char* soname : kSonames) {
    // RTLD_NODELETE: libcurl stays mapped for the process's life (its atexit handlers and
    // OpenSSL's thread-local state would otherwise point into an unmapped library).
    lib = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (lib != nullptr) break;
    const char* message = ::dlerror();
    if (!why.empty()) why += "; ";
    why += message != nullptr ? message : soname;
  }
  if (lib == nullptr) {
    out.error = Error(ErrorCode::kUnsupported,
                      fmt::format("cannot load libcurl, which strata needs for network access "
                                  "(install Debian's libcurl4): {}",
                                  why));
    return out;
  }
  Api& a = out.api;
  const char* missing = nullptr;
  if (!resolve(lib, "curl_global_init", a.global_init)) missing = "curl_global_init";
  if (!resolve(lib, "curl_easy_init", a.easy_init)) missing = "curl_easy_init";
  if (!resolve(lib, "curl_easy_setopt", a.easy_setopt)) missing = "curl_easy_setopt";
  if (!resolve(lib, "curl_easy_getinfo", a.easy_getinfo)) missing = "curl_easy_getinfo";
  if (!resolve(lib, "curl_easy_perform", a.easy_perform)) missing = "curl_easy_perform";
  if (!resolve(lib, "curl_easy_cleanup", a.easy_cleanup)) missing = "curl_easy_cleanup";
  if (!resolve(lib, "curl_easy_strerror", a.easy_strerror)) missing = "curl_easy_strerror";
  if (!resolve(lib, "curl_slist_append", a.slist_append)) missing = "curl_slist_append";
  if (!resolve(lib, "curl_slist_free_all", a.slist_free_all)) missing = "curl_slist_free_all";
  if (missing != nullptr) {
    out.error =
        Error(ErrorCode::kUnsupported,
              fmt::format("the loaded libcurl has no {}: it is too old for strata", missing));
    return out;
  }
  CURLcode rc = a.global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    out.error = Error(ErrorCode::kUnsupported,
                      fmt::format("initializing libcurl: {}", a.easy_strerror(rc)));
  }
  return out;
}

const Loaded& loaded() {
  // A function-local static: dlopen and curl_global_init (not thread-safe) run exactly once.
  static const Loaded once = open_libcurl();
  return once;
}

}  // namespace

Result<const Api*> load() {
  const Loaded& l = loaded();
  if (l.error) return *l.error;
  return &l.api;
}

const Api& api() {
  const Loaded& l = loaded();
  STRATA_CHECK(!l.error);  // api() before a successful load()
  return l.api;
}

}  // namespace strata::builder::sources::libcurl
