#include "acmon/model/code_list.hpp"

#include <algorithm>

namespace acmon::model {

CodeList::CodeList(std::vector<StoredCode> codes) {
  m_entries.reserve(codes.size());
  for (auto& s : codes) {
    auto& c = s.code;
    Shared shared{std::move(s.collector), c.product, std::move(c.account), std::move(c.region), std::move(c.order_id)};
    // A scope's list has one Shared record; a list of every code (acmon sync) one per scope.
    auto it = std::find(m_shared.begin(), m_shared.end(), shared);
    if (it == m_shared.end()) {
      m_shared.push_back(std::move(shared));
      it = std::prev(m_shared.end());
    }
    Entry e;
    e.shared = static_cast<std::uint32_t>(it - m_shared.begin());
    e.id = std::move(c.id);
    e.name = std::move(c.name);
    e.state = s.state;
    auto put = [&e](std::uint8_t bit, std::int64_t& field, const std::optional<std::int64_t>& v) {
      if (v) {
        field = *v;
        e.present = static_cast<std::uint8_t>(e.present | bit);
      }
    };
    put(k_limit, e.limit, c.limit);
    put(k_registered, e.registered, c.registered);
    put(k_deregistered, e.deregistered, c.deregistered);
    put(k_created_at, e.created_at, c.created_at);
    put(k_expires_at, e.expires_at, c.expires_at);
    put(k_deleted_at, e.deleted_at, s.deleted_at);
    put(k_forecast, e.exhaustion_forecast, s.exhaustion_forecast);
    if (c.api_status) {
      e.api_status = std::move(*c.api_status);
      e.present = static_cast<std::uint8_t>(e.present | k_api_status);
    }
    m_entries.push_back(std::move(e));
  }
}

}  // namespace acmon::model
