// What the writer compares to tell a changed code, and a changed listing, from an unchanged one.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "acmon/core/time.hpp"
#include "acmon/model/code.hpp"

namespace acmon::db::detail {

// FNV-1a over every stored field of a code (numbers as their decimal text), with separators, so
// that any change shows. Stored with each code: the function must not change.
std::int64_t fingerprint(const model::Code& c);

// What the store compares of each listed code: its fingerprint and its state now.
struct Compared {
  std::int64_t fingerprint = 0;
  std::string_view state;
};
std::vector<Compared> compared(const std::vector<model::Code>& codes, UnixTime now);

// A digest of a listing as the store compares it: each code's id, every stored field and its state
// at now, in order. Equal digests of two listings of one scope mean the second changes nothing the
// store holds. ids: the same over the ids alone (ids_digest). Kept in memory only, never stored:
// a faster hash than fingerprint()'s (eight bytes a step), so that an unchanged listing needs no
// fingerprint at all.
struct ListingDigest {
  std::uint64_t full = 0;
  std::uint64_t ids = 0;
};
ListingDigest listing_digest(const std::vector<model::Code>& codes, UnixTime now);
// The digest of the ids of a listing, in order: equal for two listings of the same ids.
std::uint64_t ids_digest(const std::vector<model::Code>& codes);

}  // namespace acmon::db::detail
