#include "compare.hpp"

#include <bit>
#include <cstring>
#include <optional>
#include <string>

namespace acmon::db::detail {

namespace {

// Writes v as 8 bytes, little-endian, at p; returns the end.
char* put_u64(char* p, std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) {
    v = __builtin_bswap64(v);
  }
  std::memcpy(p, &v, sizeof v);
  return p + sizeof v;
}

char* put_text(char* p, std::string_view s) {
  p = put_u64(p, s.size());
  if (!s.empty()) {  // an empty view may have no data at all, which memcpy must not be given
    std::memcpy(p, s.data(), s.size());
  }
  return p + s.size();
}

char* put_number(char* p, const std::optional<std::int64_t>& v) {
  *p = v ? '\x01' : '\x00';
  return put_u64(p + 1, static_cast<std::uint64_t>(v.value_or(0)));
}

std::string_view api_status(const model::Code& c) {
  return c.api_status ? std::string_view(*c.api_status) : std::string_view();
}

// The bytes put_fields writes for c.
std::size_t fields_size(const model::Code& c) {
  return 8 + c.name.size() + 8 + c.description.size() + 5 * 9 + 1 + 8 + api_status(c).size();
}

// Every stored field of c (fingerprint() in compare.hpp says how), at p; returns the end.
char* put_fields(char* p, const model::Code& c) {
  p = put_text(p, c.name);
  p = put_text(p, c.description);
  p = put_number(p, c.limit);
  p = put_number(p, c.registered);
  p = put_number(p, c.deregistered);
  p = put_number(p, c.created_at);
  p = put_number(p, c.expires_at);
  *p = c.api_status ? '\x01' : '\x00';
  return put_text(p + 1, api_status(c));
}

// Room for n more bytes at the end of out, returned (the bytes are written in place: one resize
// instead of an append for every field).
char* grow(std::string& out, std::size_t n) {
  const std::size_t at = out.size();
  out.resize(at + n);
  return out.data() + at;
}

// Encodings are gathered this far before they go to a digest: one call for many codes.
constexpr std::size_t k_chunk = 64 * 1024;

void feed(crypto::KeyedHash& hash, std::string& buffer, bool last) {
  if (last || buffer.size() >= k_chunk) {
    hash.update(buffer);
    buffer.clear();
  }
}

}  // namespace

std::int64_t fingerprint(Hashes& h, const model::Code& c) {
  h.buffer.clear();
  put_fields(grow(h.buffer, fields_size(c)), c);
  return static_cast<std::int64_t>(h.fingerprints.of(h.buffer));
}

std::vector<Compared> compared(Hashes& h, const std::vector<model::Code>& codes, UnixTime now) {
  std::vector<Compared> out;
  out.reserve(codes.size());
  for (const model::Code& c : codes) {
    out.push_back({fingerprint(h, c), model::to_string(model::derive_state(c, now))});
  }
  return out;
}

ListingDigest listing_digest(Hashes& h, const std::vector<model::Code>& codes, UnixTime now) {
  h.buffer.clear();
  h.buffer.reserve(k_chunk + 1024);
  h.listings.begin();
  for (const model::Code& c : codes) {
    char* p = put_text(grow(h.buffer, 8 + c.id.size() + fields_size(c) + 1), c.id);
    *put_fields(p, c) = static_cast<char>(model::derive_state(c, now));
    feed(h.listings, h.buffer, false);
  }
  put_u64(grow(h.buffer, 8), codes.size());
  feed(h.listings, h.buffer, true);
  const std::uint64_t full = h.listings.end();
  return {full, ids_digest(h, codes)};
}

std::uint64_t ids_digest(Hashes& h, const std::vector<model::Code>& codes) {
  h.buffer.clear();
  h.buffer.reserve(k_chunk + 1024);
  h.ids.begin();
  for (const model::Code& c : codes) {
    put_text(grow(h.buffer, 8 + c.id.size()), c.id);
    feed(h.ids, h.buffer, false);
  }
  put_u64(grow(h.buffer, 8), codes.size());
  feed(h.ids, h.buffer, true);
  return h.ids.end();
}

}  // namespace acmon::db::detail
