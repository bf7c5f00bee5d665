#include "compare.hpp"

#include <charconv>
#include <functional>
#include <optional>
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

// Each value into an order-sensitive running hash: strings through std::hash (eight bytes a
// step), their lengths and an absent value's tag with them, so that no two different sequences
// of fields share an encoding.
struct Digest {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  void add(std::uint64_t v) {
    h = (h ^ v) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  void add(std::string_view s) {
    add(std::hash<std::string_view>{}(s));
    add(s.size());
  }
  void add(const std::optional<std::int64_t>& v) {
    add(static_cast<std::uint64_t>(v.has_value()));
    add(static_cast<std::uint64_t>(v.value_or(0)));
  }
  void add(const std::optional<std::string>& v) {
    add(static_cast<std::uint64_t>(v.has_value()));
    add(std::string_view(v ? *v : std::string_view()));
  }
};

}  // namespace

ListingDigest listing_digest(const std::vector<model::Code>& codes, UnixTime now) {
  Digest full;
  Digest ids;
  for (const model::Code& c : codes) {
    ids.add(std::string_view(c.id));
    full.add(std::string_view(c.id));
    full.add(std::string_view(c.name));
    full.add(std::string_view(c.description));
    full.add(c.limit);
    full.add(c.registered);
    full.add(c.deregistered);
    full.add(c.created_at);
    full.add(c.expires_at);
    full.add(c.api_status);
    full.add(static_cast<std::uint64_t>(model::derive_state(c, now)));
  }
  full.add(static_cast<std::uint64_t>(codes.size()));
  ids.add(static_cast<std::uint64_t>(codes.size()));
  return {full.h, ids.h};
}

std::uint64_t ids_digest(const std::vector<model::Code>& codes) {
  Digest ids;
  for (const model::Code& c : codes) {
    ids.add(std::string_view(c.id));
  }
  ids.add(static_cast<std::uint64_t>(codes.size()));
  return ids.h;
}

}  // namespace acmon::db::detail
