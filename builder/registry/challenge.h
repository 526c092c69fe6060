// WWW-Authenticate challenges (RFC 9110 §11.6.1, RFC 6750 §3): the one parser for what a
// registry asks for. Pure: text in, values out.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::builder::registry {

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercased, values unquoted

  // The parameter's value, or empty.
  std::string param(const std::string& name) const;
};

// Every challenge in the values of one or more WWW-Authenticate headers, in order. Handles
// several challenges in one header ("Basic realm=\"x\", Bearer realm=\"y\""), quoted values
// with commas and quoted-pairs (scope="repository:a:pull,push"), token68 credentials, and
// spaces around '='. Malformed parts end that header's parse; what came before is kept.
std::vector<Challenge> parse_challenges(const std::vector<std::string>& header_values);

// The first challenge with `scheme` (lowercase), if any.
std::optional<Challenge> find_challenge(const std::vector<Challenge>& challenges,
                                        std::string_view scheme);

}  // namespace strata::builder::registry
