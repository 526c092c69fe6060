#include "builder/base/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace strata {
namespace {

using namespace std::string_literals;

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("usr/bin/env"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9"));                       // U+00E9
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));                      // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));                  // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xc2\x80\xdf\xbf"));                  // U+0080, U+07FF
  EXPECT_TRUE(is_valid_utf8("\xe0\xa0\x80\xef\xbf\xbf"));          // U+0800, U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf\xee\x80\x80"));          // U+D7FF, U+E000
  EXPECT_TRUE(is_valid_utf8("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));  // U+10000, U+10FFFF
  EXPECT_TRUE(is_valid_utf8("a\0b"s));
}

TEST(Utf8, RejectsOverlongForms) {
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));  // NUL in two bytes
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // '/' in two bytes
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // '/' in three
  EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));      // U+07FF in three
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));  // '/' in four
  EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four
}

TEST(Utf8, RejectsSurrogatesAndCodePointsPastTheLast) {
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));              // U+D800
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));              // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\xbd\xed\xb8\x80"));  // a CESU-8 surrogate pair
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));          // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));  // five-byte form
  EXPECT_FALSE(is_valid_utf8("\xfe"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Utf8, RejectsStrayAndTruncatedSequences) {
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("a\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98"));
  EXPECT_FALSE(is_valid_utf8("\xc3("));
  EXPECT_FALSE(is_valid_utf8("\xe2\x28\xa1"));
}

// Every scalar value in its shortest form is valid; every surrogate is not.
TEST(Utf8, EveryCodePointInItsShortestForm) {
  auto encode = [](char32_t c) {
    std::string out;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
    return out;
  };
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    bool surrogate = c >= 0xD800 && c <= 0xDFFF;
    ASSERT_EQ(is_valid_utf8(encode(c)), !surrogate) << static_cast<uint32_t>(c);
  }
}

TEST(Utf8, PrefixEndsAtTheFirstBadByte) {
  EXPECT_EQ(valid_utf8_prefix("abc"), 3u);
  EXPECT_EQ(valid_utf8_prefix("ab\xff"
                              "c"),
            2u);
  EXPECT_EQ(valid_utf8_prefix("\xc3\xa9\xe2\x82"), 2u);
  EXPECT_EQ(valid_utf8_prefix("\xed\xa0\x80"), 0u);
}

TEST(EscapeBytes, KeepsPrintableText) {
  EXPECT_EQ(escape_bytes(""), "");
  EXPECT_EQ(escape_bytes("usr/share/caf\xc3\xa9 x"), "usr/share/caf\xc3\xa9 x");
  EXPECT_EQ(escape_bytes("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

TEST(EscapeBytes, EscapesIllFormedBytesOneByOne) {
  EXPECT_EQ(escape_bytes("a\xff"
                         "b"),
            "a\\xffb");
  EXPECT_EQ(escape_bytes("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(escape_bytes("\xc0\xaf"), "\\xc0\\xaf");
  // A truncated sequence followed by a good one: only the bad byte is escaped.
  EXPECT_EQ(escape_bytes("\xe2\xc3\xa9"), "\\xe2\xc3\xa9");
}

TEST(EscapeBytes, EscapesControlsAndBackslash) {
  EXPECT_EQ(escape_bytes("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(escape_bytes("\x1b[31m"), "\\x1b[31m");
  EXPECT_EQ(escape_bytes("\xc2\x9b"
                         "2J"),
            "\\xc2\\x9b2J");                        // U+009B, a C1 CSI
  EXPECT_EQ(escape_bytes("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
  EXPECT_EQ(escape_bytes("a\\xff"), "a\\\\xff");
  EXPECT_EQ(escape_bytes("a\0b"s), "a\\x00b");
}

}  // namespace
}  // namespace strata
