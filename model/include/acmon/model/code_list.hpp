// The codes of a snapshot, compactly: what the exporter and the alert rules read of each code, and
// what the codes of a scope share (collector, product, account, region, order id) once per list.
// 100,000 codes take about a third of what as many StoredCode records would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acmon/model/stored.hpp"

namespace acmon::model {

class CodeRef;

class CodeList {
 public:
  // What codes of one scope have in common.
  struct Shared {
    std::string collector;
    config::Product product = config::Product::smc;
    std::string account;
    std::string region;
    std::string order_id;
    bool operator==(const Shared&) const = default;
  };
  // One code's own fields; the optional ones are flagged in `present`.
  struct Entry {
    std::string id;
    std::string name;
    std::string api_status;
    std::int64_t limit = 0;
    std::int64_t registered = 0;
    std::int64_t deregistered = 0;
    UnixTime created_at = 0;
    UnixTime expires_at = 0;
    UnixTime deleted_at = 0;
    UnixTime exhaustion_forecast = 0;
    std::uint32_t shared = 0;  // index into the list's Shared records
    std::uint8_t present = 0;  // k_* bits
    CodeState state = CodeState::active;
  };
  static constexpr std::uint8_t k_limit = 1;
  static constexpr std::uint8_t k_registered = 2;
  static constexpr std::uint8_t k_deregistered = 4;
  static constexpr std::uint8_t k_created_at = 8;
  static constexpr std::uint8_t k_expires_at = 16;
  static constexpr std::uint8_t k_deleted_at = 32;
  static constexpr std::uint8_t k_api_status = 64;
  static constexpr std::uint8_t k_forecast = 128;

  CodeList() = default;
  // Takes the codes over (any mix of scopes; the strings are moved, not copied). What is dropped:
  // description, first_seen and last_seen, which neither /metrics nor the alert rules read.
  explicit CodeList(std::vector<StoredCode> codes);

  [[nodiscard]] std::size_t size() const { return m_entries.size(); }
  [[nodiscard]] bool empty() const { return m_entries.empty(); }
  // f(const CodeRef&) for every code, in the order they were given.
  template <typename F>
  void for_each(F&& f) const;
  // The i-th of them (i < size()).
  [[nodiscard]] CodeRef at(std::size_t i) const;

  // A text per code, in the same order.
  struct Texts {
    std::string text;
    std::vector<std::size_t> ends;  // code i's text ends at ends[i] and starts where i - 1's ends
    [[nodiscard]] std::string_view at(std::size_t i) const {
      const std::size_t begin = i == 0 ? 0 : ends[i - 1];
      return std::string_view(text).substr(begin, ends[i] - begin);
    }
  };
  // The texts make(const CodeRef&, std::string& out) appends, made once for the list by the first
  // caller and kept with it (the exporter's label blocks, written six times a scrape). The list
  // being immutable, they stay right; thread-safe. Every caller must pass the same make.
  template <typename Make>
  const Texts& texts(Make&& make) const {
    std::call_once(m_texts_once, [&] {
      m_texts.ends.reserve(m_entries.size());
      for_each([&](const CodeRef& c) {
        make(c, m_texts.text);
        m_texts.ends.push_back(m_texts.text.size());
      });
      m_texts.text.shrink_to_fit();
    });
    return m_texts;
  }

 private:
  std::vector<Shared> m_shared;
  std::vector<Entry> m_entries;
  mutable std::once_flag m_texts_once;
  mutable Texts m_texts;
};

// One code of a CodeList, read as its StoredCode fields (valid while the list lives).
class CodeRef {
 public:
  CodeRef(const CodeList::Shared& shared, const CodeList::Entry& entry) : m_s(shared), m_e(entry) {}

  [[nodiscard]] config::Product product() const { return m_s.product; }
  [[nodiscard]] const std::string& collector() const { return m_s.collector; }
  [[nodiscard]] const std::string& account() const { return m_s.account; }
  [[nodiscard]] const std::string& region() const { return m_s.region; }
  [[nodiscard]] const std::string& order_id() const { return m_s.order_id; }
  [[nodiscard]] const std::string& id() const { return m_e.id; }
  [[nodiscard]] const std::string& name() const { return m_e.name; }
  [[nodiscard]] std::optional<std::string_view> api_status() const {
    return has(CodeList::k_api_status) ? std::optional<std::string_view>(m_e.api_status) : std::nullopt;
  }
  [[nodiscard]] std::optional<std::int64_t> limit() const { return get(CodeList::k_limit, m_e.limit); }
  [[nodiscard]] std::optional<std::int64_t> registered() const { return get(CodeList::k_registered, m_e.registered); }
  [[nodiscard]] std::optional<std::int64_t> deregistered() const {
    return get(CodeList::k_deregistered, m_e.deregistered);
  }
  [[nodiscard]] std::optional<UnixTime> created_at() const { return get(CodeList::k_created_at, m_e.created_at); }
  [[nodiscard]] std::optional<UnixTime> expires_at() const { return get(CodeList::k_expires_at, m_e.expires_at); }
  [[nodiscard]] std::optional<UnixTime> deleted_at() const { return get(CodeList::k_deleted_at, m_e.deleted_at); }
  [[nodiscard]] std::optional<UnixTime> exhaustion_forecast() const {
    return get(CodeList::k_forecast, m_e.exhaustion_forecast);
  }
  [[nodiscard]] CodeState state() const { return m_e.state; }
  // The state at `now`: as stored, except that a code whose expiry has come since is expired. The
  // stored state is the one of the scope's last good listing; when the scope fails (or polls
  // rarely), a code can expire long before the next one says so.
  [[nodiscard]] CodeState state_at(UnixTime now) const {
    const auto expires = expires_at();
    if (m_e.state != CodeState::expired && m_e.state != CodeState::deleted && expires && *expires <= now) {
      return CodeState::expired;
    }
    return m_e.state;
  }

 private:
  [[nodiscard]] bool has(std::uint8_t bit) const { return (m_e.present & bit) != 0; }
  [[nodiscard]] std::optional<std::int64_t> get(std::uint8_t bit, std::int64_t v) const {
    return has(bit) ? std::optional<std::int64_t>(v) : std::nullopt;
  }
  const CodeList::Shared& m_s;
  const CodeList::Entry& m_e;
};

inline CodeRef CodeList::at(std::size_t i) const {
  const auto& e = m_entries[i];
  return {m_shared[e.shared], e};
}

template <typename F>
void CodeList::for_each(F&& f) const {
  for (const auto& e : m_entries) {
    f(CodeRef(m_shared[e.shared], e));
  }
}

}  // namespace acmon::model
