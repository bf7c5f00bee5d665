// What the writer compares to tell a changed code, and a changed listing, from an unchanged one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acmon/core/crypto.hpp"
#include "acmon/core/time.hpp"
#include "acmon/model/code.hpp"

namespace acmon::db::detail {

// The keyed hashes a Store compares codes with. Keyed, because the fields are the cloud's and
// anyone allowed to name a code chooses them: with an unkeyed hash (FNV, std::hash) they could
// pick a new name whose hash, with a changed usage or expiry, equals the old one, and the store
// would take the code for unchanged and its alert would never fire. Nobody who lacks the key can.
struct Hashes {
  // fingerprint_key: the database's (table meta), for the fingerprints stored with each code.
  // The listing digests are kept in memory only: their key is this Store's own, random. Throws
  // std::runtime_error as KeyedHash does.
  explicit Hashes(std::string_view fingerprint_key)
      : fingerprints(fingerprint_key),
        listings(crypto::random_bytes(crypto::KeyedHash::k_key_bytes)),
        ids(crypto::random_bytes(crypto::KeyedHash::k_key_bytes)) {}
  crypto::KeyedHash fingerprints;
  crypto::KeyedHash listings;
  crypto::KeyedHash ids;
  std::string buffer;  // encodings on their way to a hash, reused
};

// The keyed hash (Hashes::fingerprints) of every stored field of a code (not its id), each in a
// form no other field sequence shares: text as its length (8 bytes, little-endian) then its bytes;
// a number as a tag byte (0 absent, 1 present) then 8 bytes, little-endian; the API status as a
// tag then its text. Stored with each code: the encoding must not change. The database's key is
// made when it is created or migrated to version 6, and only replaced (with every fingerprint)
// when it no longer reads as one (Store::load_hashes).
std::int64_t fingerprint(Hashes& h, const model::Code& c);

// What the store compares of each listed code: its fingerprint and its state now.
struct Compared {
  std::int64_t fingerprint = 0;
  std::string_view state;
};
std::vector<Compared> compared(Hashes& h, const std::vector<model::Code>& codes, UnixTime now);

// A digest of a listing as the store compares it: each code's id, every stored field and its state
// at now, in order. Equal digests of two listings of one scope mean the second changes nothing the
// store holds. ids: ids_digest(codes). Kept in memory only, never stored.
struct ListingDigest {
  std::uint64_t full = 0;
  std::uint64_t ids = 0;
};
ListingDigest listing_digest(Hashes& h, const std::vector<model::Code>& codes, UnixTime now);
// The digest of the ids of a listing, in order: equal for two listings of the same ids.
std::uint64_t ids_digest(Hashes& h, const std::vector<model::Code>& codes);

}  // namespace acmon::db::detail
