// libcurl, loaded on first use. strata links no libcurl: the functions below are resolved from
// libcurl.so.4 with dlopen the first time a command touches the network, so the commands that
// never do (sandbox, shell, hash, validate, diff, --version, a build without remote sources)
// do not pay for loading libcurl and the thirty-odd libraries it pulls in (Kerberos, LDAP,
// GnuTLS for RTMP, ...). docs/startup.md has the measurements. The types and constants still
// come from <curl/curl.h>, and each function pointer has the type of the function it stands
// for, so a call through it is checked exactly like a direct call.
#pragma once

#include <curl/curl.h>

#include "builder/base/result.h"

namespace strata::builder::sources::libcurl {

struct Api {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// Loads libcurl and runs curl_global_init, both exactly once per process (thread-safe); every
// later call returns the same table or the same error, which names the library and why it
// could not be loaded.
Result<const Api*> load();

// The table load() returned; only valid after a successful load() (checked).
const Api& api();

}  // namespace strata::builder::sources::libcurl
