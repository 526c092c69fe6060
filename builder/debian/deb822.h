// deb822 control data (deb822(5)): Release/InRelease, Packages indexes, control files and
// .sources files are paragraphs of "Field: value" lines, continued by lines that start
// with a space or tab, separated by blank lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/base/result.h"

namespace strata::builder::debian {

// One paragraph: its fields in order, as written (continuation lines joined with '\n', the
// leading space of each kept), and the paragraph's text for copying it out whole.
// `s` without surrounding spaces, tabs, CRs and newlines.
std::string_view trim(std::string_view s);

struct Stanza {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string text;
  // The value of `name` (field names compare case-insensitively), trimmed of surrounding
  // whitespace; nullopt when absent.
  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string fallback = "") const;
};

// Parses `text`; comment lines ('#' first) are skipped. `what` names the input in errors:
// "Packages (URL): line 12: expected 'Field: value'". At most `max_stanzas` paragraphs.
Result<std::vector<Stanza>> parse_deb822(std::string_view text, std::string_view what,
                                         size_t max_stanzas = 1'000'000);

// A multi-line field's lines, trimmed, empty lines dropped ("SHA256" of a Release file).
std::vector<std::string> field_lines(std::string_view value);

// Whitespace-separated words of a field ("Components", "Architectures").
std::vector<std::string> field_words(std::string_view value);

}  // namespace strata::builder::debian
