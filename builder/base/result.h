// strata::Result<T>: a value or an Error (an expected-like type; becomes std::expected with
// C++23), plus the STRATA_TRY / STRATA_TRY_ASSIGN propagation macros and their _CONTEXT
// forms.
#pragma once

#include <utility>
#include <variant>

#include "builder/base/check.h"
#include "builder/base/error.h"

namespace strata {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    STRATA_CHECK(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    STRATA_CHECK(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    STRATA_CHECK(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    STRATA_CHECK(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    STRATA_CHECK(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Ok) {}                                      // NOLINT
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& {
    STRATA_CHECK(!ok());
    return *error_;
  }
  Error&& error() && {
    STRATA_CHECK(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

}  // namespace strata

#define STRATA_CONCAT_INNER(a, b) a##b
#define STRATA_CONCAT(a, b) STRATA_CONCAT_INNER(a, b)

// Returns the Error of `expr` (a Result) from the enclosing function, if there is one.
#define STRATA_TRY(expr)                                                        \
  do {                                                                          \
    auto&& strata_try_result_ = (expr);                                         \
    if (!strata_try_result_.ok()) return std::move(strata_try_result_).error(); \
  } while (0)

// Like STRATA_TRY, but prefixes the Error with what the caller was doing, so the message
// reads "what: cause". `what` (anything convertible to std::string_view) is evaluated
// only on failure.
#define STRATA_TRY_CONTEXT(expr, what)                                                        \
  do {                                                                                        \
    auto&& strata_try_result_ = (expr);                                                       \
    if (!strata_try_result_.ok()) return std::move(strata_try_result_).error().context(what); \
  } while (0)

// `lhs = value of expr`, or return its Error. lhs may be a declaration: STRATA_TRY_ASSIGN(auto x,
// f()).
#define STRATA_TRY_ASSIGN(lhs, expr) \
  STRATA_TRY_ASSIGN_IMPL(STRATA_CONCAT(strata_result_, __LINE__), lhs, expr)
#define STRATA_TRY_ASSIGN_IMPL(tmp, lhs, expr)  \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()

// STRATA_TRY_ASSIGN that adds context to the Error, as STRATA_TRY_CONTEXT does.
#define STRATA_TRY_ASSIGN_CONTEXT(lhs, expr, what) \
  STRATA_TRY_ASSIGN_CONTEXT_IMPL(STRATA_CONCAT(strata_result_, __LINE__), lhs, expr, what)
#define STRATA_TRY_ASSIGN_CONTEXT_IMPL(tmp, lhs, expr, what)  \
  auto tmp = (expr);                                          \
  if (!tmp.ok()) return std::move(tmp).error().context(what); \
  lhs = std::move(tmp).value()
