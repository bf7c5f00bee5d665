#include "compare.hpp"

#include <charconv>
#include <string>

namespace acmon::db::detail {

std::int64_t fingerprint(const model::Code& c) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  auto mix_int = [&](const std::optional<std::int64_t>& v) {
    if (!v) {
      mix("\x01");
      return;
    }
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, *v).ptr;
    mix(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  };
  mix(c.name);
  mix(c.description);
  mix_int(c.limit);
  mix_int(c.registered);
  mix_int(c.deregistered);
  mix_int(c.created_at);
  mix_int(c.expires_at);
  mix(c.api_status ? *c.api_status : std::string("\x01"));
  return static_cast<std::int64_t>(h);
}

std::vector<Compared> compared(const std::vector<model::Code>& codes, UnixTime now) {
  std::vector<Compared> out;
  out.reserve(codes.size());
  for (const model::Code& c : codes) {
    out.push_back({fingerprint(c), model::to_string(model::derive_state(c, now))});
  }
  return out;
}

namespace {

constexpr std::uint64_t k_fnv_basis = 1469598103934665603ULL;

void fnv_mix(std::uint64_t& h, std::string_view s) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  h ^= 0xff;
  h *= 1099511628211ULL;
}

}  // namespace

ListingDigest listing_digest(const std::vector<model::Code>& codes, const std::vector<Compared>& keys) {
  std::uint64_t full = k_fnv_basis;
  std::uint64_t ids = k_fnv_basis;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    fnv_mix(full, codes[i].id);
    fnv_mix(ids, codes[i].id);
    const auto fp = static_cast<std::uint64_t>(keys[i].fingerprint);
    fnv_mix(full, std::string_view(reinterpret_cast<const char*>(&fp), sizeof fp));
    fnv_mix(full, keys[i].state);
  }
  return {full, ids};
}

std::uint64_t ids_digest(const std::vector<model::Code>& codes) {
  std::uint64_t h = k_fnv_basis;
  for (const auto& c : codes) {
    fnv_mix(h, c.id);
  }
  return h;
}

}  // namespace acmon::db::detail
