#include "compare.hpp"

#include <optional>
#include <string>

namespace acmon::db::detail {

namespace {

void put_u64(std::string& out, std::uint64_t v) {
  char bytes[8];
  for (char& b : bytes) {
    b = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out.append(bytes, sizeof bytes);
}

void put_text(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

void put_number(std::string& out, const std::optional<std::int64_t>& v) {
  out.push_back(v ? '\x01' : '\x00');
  put_u64(out, static_cast<std::uint64_t>(v.value_or(0)));
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

void encode_fields(std::string& out, const model::Code& c) {
  put_text(out, c.name);
  put_text(out, c.description);
  put_number(out, c.limit);
  put_number(out, c.registered);
  put_number(out, c.deregistered);
  put_number(out, c.created_at);
  put_number(out, c.expires_at);
  out.push_back(c.api_status ? '\x01' : '\x00');
  put_text(out, c.api_status ? std::string_view(*c.api_status) : std::string_view());
}

std::int64_t fingerprint(Hashes& h, const model::Code& c) {
  h.buffer.clear();
  encode_fields(h.buffer, c);
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
  std::string ids;
  ids.reserve(k_chunk + 1024);
  h.buffer.clear();
  h.buffer.reserve(k_chunk + 1024);
  h.listings.begin();
  h.ids.begin();
  for (const model::Code& c : codes) {
    put_text(ids, c.id);
    put_text(h.buffer, c.id);
    encode_fields(h.buffer, c);
    h.buffer.push_back(static_cast<char>(model::derive_state(c, now)));
    feed(h.ids, ids, false);
    feed(h.listings, h.buffer, false);
  }
  put_u64(ids, codes.size());
  put_u64(h.buffer, codes.size());
  feed(h.ids, ids, true);
  feed(h.listings, h.buffer, true);
  return {h.listings.end(), h.ids.end()};
}

std::uint64_t ids_digest(Hashes& h, const std::vector<model::Code>& codes) {
  h.buffer.clear();
  h.buffer.reserve(k_chunk + 1024);
  h.ids.begin();
  for (const model::Code& c : codes) {
    put_text(h.buffer, c.id);
    feed(h.ids, h.buffer, false);
  }
  put_u64(h.buffer, codes.size());
  feed(h.ids, h.buffer, true);
  return h.ids.end();
}

}  // namespace acmon::db::detail
