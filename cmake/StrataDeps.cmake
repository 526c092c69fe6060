# Every dependency comes from a Debian 12 package; .ci/install-deps installs them.
#
# STRATA_STATIC_DEPS (the default; docs/startup.md): every library but glibc is linked from
# its static archive, and libcurl is not linked at all (builder/sources/libcurl.h loads it
# on first use). A process then maps 4 objects instead of 47 and relocates no C++ library at
# start-up: `strata --version` and `strata sandbox` start in a fraction of the time.
# Security updates of those libraries then need a rebuild of strata, as for any static
# binary (Go's, Rust's). OFF links the shared libraries as before.
option(STRATA_STATIC_DEPS "Link strata's libraries (all but glibc) statically" ON)
if(STRATA_SANITIZE)
  # ASan's interceptors and a static libstdc++ do not mix; the sanitizer build is for tests.
  set(STRATA_STATIC_DEPS OFF)
endif()

find_package(PkgConfig REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
if(STRATA_STATIC_DEPS)
  set(OPENSSL_USE_STATIC_LIBS TRUE)
endif()
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBARCHIVE REQUIRED libarchive)
pkg_check_modules(LIBSECCOMP REQUIRED libseccomp)
pkg_check_modules(ZLIB_PC REQUIRED IMPORTED_TARGET zlib)
# Layer compression (docs/compression.md): parallel gzip members, multi-threaded zstd.
pkg_check_modules(LIBDEFLATE REQUIRED libdeflate)
pkg_check_modules(LIBZSTD REQUIRED libzstd)
if(STRATA_TESTS)
  find_package(GTest REQUIRED)
endif()

# libcurl's headers only: builder/sources/libcurl.h loads the library itself with dlopen on
# first use, so no strata target links it.
add_library(strata_curl_headers INTERFACE)
target_include_directories(strata_curl_headers INTERFACE ${CURL_INCLUDE_DIRS})
target_link_libraries(strata_curl_headers INTERFACE ${CMAKE_DL_LIBS})

# strata_link_library(TARGET NAME...): an interface target for the C library libNAME: its
# static archive under STRATA_STATIC_DEPS (when installed), else the shared library.
# libzstd stays shared: Debian builds its static archive without ZSTD_MULTITHREAD, and
# strata's zstd layers use libzstd's worker threads (docs/compression.md).
set(STRATA_SHARED_ONLY zstd)
function(strata_link_library target)
  add_library(${target} INTERFACE)
  foreach(name ${ARGN})
    set(found "")
    if(STRATA_STATIC_DEPS AND NOT name IN_LIST STRATA_SHARED_ONLY)
      find_library(strata_static_${name} NAMES lib${name}.a)
      set(found ${strata_static_${name}})
    endif()
    if(found)
      target_link_libraries(${target} INTERFACE ${found})
    else()
      target_link_libraries(${target} INTERFACE ${name})
    endif()
  endforeach()
endfunction()

strata_link_library(strata_seccomp seccomp)
strata_link_library(strata_deflate deflate)
strata_link_library(strata_zstd zstd)
target_include_directories(strata_zstd INTERFACE ${LIBZSTD_INCLUDE_DIRS})

# libarchive: from its static archive whenever it is installed (libarchive-dev ships it),
# so that only the formats strata uses are linked in. Debian's shared libarchive needs
# libxml2 for xar, and libxml2 needs ICU: three libraries every strata process would load
# and relocate at start for a format strata never reads. Its own name and libxml2 are left
# out of its dependencies on purpose: should a change ever pull in the xar code, the link
# fails instead of bringing libxml2 and ICU back. --gc-sections (below) drops libarchive's
# format table, which would otherwise keep every writer.
find_library(STRATA_LIBARCHIVE_STATIC NAMES libarchive.a)
if(STRATA_LIBARCHIVE_STATIC)
  pkg_check_modules(LIBARCHIVE_STATIC_DEPS REQUIRED libarchive)
  set(strata_libarchive_deps ${LIBARCHIVE_STATIC_DEPS_STATIC_LIBRARIES})
  list(FILTER strata_libarchive_deps EXCLUDE REGEX "^(archive|xml2)$")
  strata_link_library(strata_libarchive_deps ${strata_libarchive_deps})
  add_library(strata_libarchive INTERFACE)
  target_include_directories(strata_libarchive INTERFACE ${LIBARCHIVE_INCLUDE_DIRS})
  target_link_libraries(strata_libarchive INTERFACE ${STRATA_LIBARCHIVE_STATIC}
                        strata_libarchive_deps)
else()
  strata_link_library(strata_libarchive archive)
endif()

# fmt and yaml-cpp: header-only fmt and libyaml-cpp.a, so that no C++ shared library (and
# with it libstdc++.so) is loaded.
add_library(strata_fmt INTERFACE)
add_library(strata_yaml_cpp INTERFACE)
find_library(STRATA_YAML_CPP_STATIC NAMES libyaml-cpp.a)
if(STRATA_STATIC_DEPS)
  target_link_libraries(strata_fmt INTERFACE fmt::fmt-header-only)
  if(STRATA_YAML_CPP_STATIC)
    target_link_libraries(strata_yaml_cpp INTERFACE ${STRATA_YAML_CPP_STATIC})
  else()
    target_link_libraries(strata_yaml_cpp INTERFACE yaml-cpp)
  endif()
  add_link_options(-static-libstdc++ -static-libgcc)
else()
  target_link_libraries(strata_fmt INTERFACE fmt::fmt)
  target_link_libraries(strata_yaml_cpp INTERFACE yaml-cpp)
endif()

# --as-needed records only the shared libraries an object uses; --gc-sections drops the code
# nothing reaches.
add_link_options(LINKER:--as-needed LINKER:--gc-sections)
