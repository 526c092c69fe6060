// "Did you mean" suggestions for misspelt keys, names and enum values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::specs {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), so "nmae"
// is one edit from "name".
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo: none for words of
// 1-2 characters, at most 1 edit up to 3, 2 up to 6, 3 beyond; a case-only difference always
// counts. Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// "; did you mean 'X'?" when closest_match finds one, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace strata::specs
