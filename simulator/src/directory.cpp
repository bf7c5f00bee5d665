// The simulator's Resource Directory (ResourceManager, Version 2020-03-31): GetResourceDirectory and
// ListAccounts, answered to the management account only, and a control route that replaces the
// members (a member joins or leaves while acmon runs). Members are accounts of the "accounts" data
// (their roles, with the trust of the management account, are what AssumeRole checks). A fault of
// kind change on ListAccounts makes members join or leave between two pages of a listing.
#include <algorithm>

#include "sim_impl.hpp"

namespace acmon::sim {

void Simulator::Impl::load_directory(const json& data) {
  if (!data.contains("resource_directory")) {
    return;
  }
  const json& d = data["resource_directory"];
  std::lock_guard lock(directory_mutex);
  directory = {};
  directory.id = d.value("id", "rd-sim");
  directory.management = d.at("management").get<std::string>();
  directory.management_name = d.value("management_name", "management");
  if (!config::valid_account_id(directory.management)) {
    throw std::invalid_argument("resource_directory.management is a 16-digit account id");
  }
  set_members_locked(d.value("members", json::array()));
}

json Simulator::Impl::member_item_locked(const json& m) const {
  const std::string id = m.at("account_id").get<std::string>();
  if (!config::valid_account_id(id)) {
    throw std::invalid_argument("a member's account_id is 16 digits");
  }
  return {{"AccountId", id},
          {"DisplayName", m.value("display_name", id)},
          {"Status", m.value("status", "CreateSuccess")},
          {"Type", m.value("type", "ResourceAccount")},
          {"JoinMethod", m.value("join_method", "created")},
          {"FolderId", m.value("folder_id", "fd-root")},
          {"ResourceDirectoryId", directory.id},
          {"ResourceDirectoryPath", directory.id + "/" + m.value("folder_id", "fd-root") + "/" + id},
          {"JoinTime", "2024-01-01T00:00:00Z"},
          {"ModifyTime", "2024-01-01T00:00:00Z"}};
}

void Simulator::Impl::set_members_locked(const json& members) {
  if (!members.is_array()) {
    throw std::invalid_argument("resource_directory.members must be a JSON array");
  }
  std::vector<json> next;
  for (const auto& m : members) {
    next.push_back(member_item_locked(m));
  }
  directory.members = std::move(next);
}

void Simulator::Impl::change_members(const FaultSpec& spec) {
  std::lock_guard lock(directory_mutex);
  auto& list = directory.members;
  for (const auto& id : spec.remove) {
    list.erase(std::remove_if(list.begin(), list.end(), [&](const json& m) { return m["AccountId"] == id; }),
               list.end());
  }
  for (const auto& m : spec.add) {
    list.push_back(member_item_locked(m));  // a member joins at the end, as a new account does
  }
}

Reply Simulator::Impl::directory_call(const std::string& action, const std::string& account, const Params& p,
                                      const std::string& rid) {
  std::lock_guard lock(directory_mutex);
  if (directory.management.empty() || account != directory.management) {
    return api_error(404, "EntityNotExists.ResourceDirectory", "The resource directory does not exist.", rid);
  }
  Reply r;
  if (action == "GetResourceDirectory") {
    r.body = {{"RequestId", rid},
              {"ResourceDirectory",
               {{"ResourceDirectoryId", directory.id},
                {"MasterAccountId", directory.management},
                {"MasterAccountName", directory.management_name},
                {"RootFolderId", "fd-root"},
                {"CreateTime", "2024-01-01T00:00:00Z"}}}};
    return r;
  }
  long long page = 1;
  long long size = 10;
  if (auto it = p.find("PageNumber"); it != p.end()) {
    auto v = to_int(it->second);
    if (!v || *v < 1) {
      return api_error(400, "InvalidParameter.PageNumber", "The specified PageNumber is invalid.", rid);
    }
    page = *v;
  }
  if (auto it = p.find("PageSize"); it != p.end()) {
    auto v = to_int(it->second);
    if (!v || *v < 1 || *v > 100) {
      return api_error(400, "InvalidParameter.PageSize", "The specified PageSize is invalid.", rid);
    }
    size = *v;
  }
  const auto begin = static_cast<std::size_t>((page - 1) * size);
  r.body = {{"RequestId", rid},
            {"TotalCount", directory.members.size()},
            {"PageNumber", page},
            {"PageSize", size},
            {"Accounts",
             {{"Account", page_of(directory.members.size(), begin, static_cast<std::size_t>(size),
                                  [&](std::size_t i) -> const json& { return directory.members[i]; })}}}};
  return r;
}

void Simulator::Impl::directory_routes() {
  server.Put("/_sim/resource-directory/members", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      const json members = json::parse(req.body);
      std::lock_guard lock(directory_mutex);
      set_members_locked(members);
      res.set_content("{\"ok\":true}", "application/json");
    } catch (const std::exception& e) {
      res.status = 400;
      res.set_content(json{{"error", e.what()}}.dump(), "application/json");
    }
  });
}

}  // namespace acmon::sim
