// The simulator's data: loading, records by product and scope, edits, statistics.
#include "sim_impl.hpp"

namespace acmon::sim {

void Simulator::Impl::load(const json& data) {
  if (!data.is_object()) {
    throw std::invalid_argument("simulator data must be a JSON object");
  }
  load_identities(data);
  load_directory(data);
  if (data.contains("regions")) {
    for (const auto& r : data["regions"]) {
      regions.emplace_back(r.at("RegionId").get<std::string>(), r.value("supported", true));
    }
  } else {
    for (const char* r : {"cn-hangzhou", "cn-beijing", "cn-shanghai"}) {
      regions.emplace_back(r, true);
    }
    for (const char* r : {"cn-qingdao", "ap-southeast-1", "eu-central-1"}) {
      regions.emplace_back(r, false);
    }
  }
  for (const auto& o : data.value("orders", json::array())) {
    orders.insert(canonical_account(o.at("_account").get<std::string>()) + "|" +
                  o.at("AliyunOrderId").get<std::string>());
  }
  for (const char* product : {"smc", "ecs", "polardb"}) {
    for (const auto& rec : data.value(product, json::array())) {
      upsert(product, rec);
    }
  }
  for (const auto& f : data.value("faults", json::array())) {
    faults.emplace_back(fault_from_json(f));
  }
}

void Simulator::Impl::check_record(const std::string& product, const json& rec) const {
  if (!rec.is_object() || !rec.contains(id_field(product)) || !rec.contains("_account")) {
    throw std::invalid_argument(std::string("a ") + product + " record needs " + id_field(product) + " and _account");
  }
  if (product == "ecs" && !rec.contains("_region")) {
    throw std::invalid_argument("an ecs record needs _region");
  }
  if (product == "polardb" && !rec.contains("_order")) {
    throw std::invalid_argument("a polardb record needs _order");
  }
}

void Simulator::Impl::upsert(const std::string& product, const json& record) {
  check_record(product, record);
  json rec = record;
  rec["_account"] = canonical_account(record["_account"].get<std::string>());
  std::unique_lock lock(data_mutex);
  if (product == "polardb") {
    orders.insert(rec["_account"].get<std::string>() + "|" + rec["_order"].get<std::string>());
  }
  const std::string id = id_of(product, rec);
  const std::string scope = scope_key(product, rec);
  auto& ids = owner[product];
  if (auto it = ids.find(id); it != ids.end() && it->second != scope) {
    erase_locked(product, id);
  }
  auto& list = codes[product][scope];
  if (auto it = list.index.find(id); it != list.index.end()) {
    list.items[it->second] = rec;
    return;
  }
  list.index.emplace(id, list.items.size());
  list.items.push_back(rec);
  ids[id] = scope;
}

json* Simulator::Impl::find(const std::string& product, const std::string& id) {
  auto& ids = owner[product];
  auto it = ids.find(id);
  if (it == ids.end()) {
    return nullptr;
  }
  auto& list = codes[product][it->second];
  return &list.items[list.index.at(id)];
}

bool Simulator::Impl::erase_locked(const std::string& product, const std::string& id) {
  auto& ids = owner[product];
  auto it = ids.find(id);
  if (it == ids.end()) {
    return false;
  }
  auto& list = codes[product][it->second];
  const std::size_t pos = list.index.at(id);
  list.items.erase(list.items.begin() + static_cast<std::ptrdiff_t>(pos));
  list.index.erase(id);
  for (auto& [other, p] : list.index) {
    if (p > pos) {
      --p;
    }
  }
  ids.erase(it);
  return true;
}

bool Simulator::Impl::remove(const std::string& product, const std::string& id) {
  std::unique_lock lock(data_mutex);
  return erase_locked(product, id);
}

bool Simulator::Impl::patch(const std::string& product, const std::string& id, const json& fields) {
  std::unique_lock lock(data_mutex);
  json* rec = find(product, id);
  if (rec == nullptr) {
    return false;
  }
  for (const auto& [k, v] : fields.items()) {
    if (v.is_null()) {
      rec->erase(k);
    } else {
      (*rec)[k] = v;
    }
  }
  return true;
}

const std::vector<json>& Simulator::Impl::scope_items(const std::string& product, const std::string& scope) {
  static const std::vector<json> k_empty;
  // find(), not operator[]: readers hold only a shared lock and must not insert.
  auto p = codes.find(product);
  if (p == codes.end()) {
    return k_empty;
  }
  auto it = p->second.find(scope);
  return it == p->second.end() ? k_empty : it->second.items;
}

json Simulator::Impl::stats() const {
  std::lock_guard lock(stats_mutex);
  return {{"requests", requests},
          {"auth_failures", auth_failures},
          {"faults_fired", faults_fired},
          {"by_action", requests_by_action},
          {"sts", sts_stats()}};
}

}  // namespace acmon::sim
