// The simulator's operations: each API action, with its paging and quirks.
#include "sim_impl.hpp"

namespace acmon::sim {

std::string Simulator::Impl::param(const Params& p, const char* k) {
  auto it = p.find(k);
  return it == p.end() ? std::string() : it->second;
}

std::variant<Simulator::Impl::Paging, Reply> Simulator::Impl::read_paging(const Params& p, long long default_size,
                                                                          bool (*size_ok)(long long),
                                                                          const std::string& rid) {
  Paging out{1, default_size};
  if (auto s = param(p, "PageNumber"); !s.empty()) {
    auto v = to_int(s);
    if (!v || *v < 1) {
      return api_error(400, "InvalidParam.PageNumber", "The specified parameter is invalid.", rid);
    }
    out.page = *v;
  }
  if (auto s = param(p, "PageSize"); !s.empty()) {
    auto v = to_int(s);
    if (!v || !size_ok(*v)) {
      return api_error(400, "InvalidParam.PageSize", "The specified parameter is invalid.", rid);
    }
    out.size = *v;
  }
  return out;
}

Reply Simulator::Impl::list_access_tokens(const std::string& account, const Params& p, const std::string& rid) {
  auto paging = read_paging(
      p, 20, [](long long v) { return v == 10 || v == 20 || v == 50; }, rid);
  if (auto* e = std::get_if<Reply>(&paging)) {
    return std::move(*e);
  }
  const auto [page, size] = std::get<Paging>(paging);
  std::shared_lock lock(data_mutex);
  const auto& list = scope_items("smc", account);
  const std::string name = param(p, "Name");
  const std::string status = param(p, "Status");
  std::vector<const json*> matching;
  matching.reserve(list.size());
  for (const auto& rec : list) {
    if ((!name.empty() && rec.value("Name", "") != name) || (!status.empty() && rec.value("Status", "") != status)) {
      continue;
    }
    matching.push_back(&rec);
  }
  Reply r;
  json items = page_of(matching.size(), static_cast<std::size_t>((page - 1) * size), static_cast<std::size_t>(size),
                       [&](std::size_t i) -> const json& { return *matching[i]; });
  r.body = {{"RequestId", rid},
            {"AccessTokens", std::move(items)},
            {"TotalCount", matching.size()},
            {"PageSize", size},
            {"PageNumber", page}};
  return r;
}

Reply Simulator::Impl::create_access_token(const std::string& account, const Params& p, const std::string& rid) {
  long long count = 100;
  long long ttl = 30;
  if (auto s = param(p, "Count"); !s.empty()) {
    auto v = to_int(s);
    if (!v || *v < 1 || *v > 1000) {
      return api_error(400, "InvalidParam.Count", "The specified parameter Count is invalid.", rid);
    }
    count = *v;
  }
  if (auto s = param(p, "TimeToLiveInDays"); !s.empty()) {
    auto v = to_int(s);
    if (!v || *v < 1 || *v > 90) {
      return api_error(400, "InvalidParam.TimeToLiveInDays", "The specified parameter TimeToLiveInDays is invalid.",
                       rid);
    }
    ttl = *v;
  }
  const std::string id = "at-sim" + crypto::random_hex(8);
  const std::string code = crypto::random_hex(14);
  json rec = {{"_account", account},
              {"AccessTokenId", id},
              {"TimeToLiveInDays", std::to_string(ttl)},
              {"Count", std::to_string(count)},
              {"RegisteredCount", "0"},
              {"CreationTime", format_rfc3339(SystemClock().now())},
              {"Status", "unactivated"},
              {"Name", param(p, "Name")},
              {"Description", param(p, "Description")}};
  upsert("smc", rec);
  Reply r;
  r.body = {{"RequestId", rid}, {"AccessTokenCode", code}, {"AccessTokenId", id}};
  return r;
}

std::string Simulator::Impl::make_next_token(std::size_t offset, const std::string& scope) {
  return "AAAA" + std::to_string(offset) + "." + crypto::sha256_hex(scope + std::to_string(offset)).substr(0, 12);
}

std::optional<std::size_t> Simulator::Impl::read_next_token(const std::string& token, const std::string& scope) {
  if (token.rfind("AAAA", 0) != 0) {
    return std::nullopt;
  }
  const auto dot = token.find('.');
  if (dot == std::string::npos) {
    return std::nullopt;
  }
  auto offset = to_int(token.substr(4, dot - 4));
  if (!offset || make_next_token(static_cast<std::size_t>(*offset), scope) != token) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(*offset);
}

Reply Simulator::Impl::describe_activations(const std::string& account, const Params& p, const std::string& rid) {
  const std::string region = param(p, "RegionId");
  if (region.empty()) {
    return api_error(400, "MissingRegionId", "RegionId is mandatory for this action.", rid);
  }
  auto reg = std::find_if(regions.begin(), regions.end(), [&](const auto& r) { return r.first == region; });
  if (reg == regions.end()) {
    return api_error(400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.", rid);
  }
  if (!reg->second) {
    return api_error(400, "RegionId.ApiNotSupported", "The api is not supported in this region.", rid);
  }
  const bool token_mode = p.count("MaxResults") != 0 || p.count("NextToken") != 0;
  std::size_t begin = 0;
  std::size_t size = 10;
  long long page = 1;
  const std::string scope = account + "|" + region;
  if (token_mode) {
    if (auto s = param(p, "MaxResults"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1 || *v > 50) {
        return api_error(400, "InvalidParameter.MaxResults", "The specified parameter MaxResults is not valid.", rid);
      }
      size = static_cast<std::size_t>(*v);
    }
    if (auto s = param(p, "NextToken"); !s.empty()) {
      auto off = read_next_token(s, scope);
      if (!off) {
        return api_error(400, "InvalidParameter.NextToken", "The specified parameter NextToken is not valid.", rid);
      }
      begin = *off;
    }
  } else {
    if (auto s = param(p, "PageNumber"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1) {
        return api_error(400, "InvalidParam.PageNumber", "The specified parameter is invalid.", rid);
      }
      page = *v;
    }
    if (auto s = param(p, "PageSize"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1 || *v > 50) {
        return api_error(400, "InvalidParam.PageSize", "The specified parameter is invalid.", rid);
      }
      size = static_cast<std::size_t>(*v);
    }
    begin = static_cast<std::size_t>(page - 1) * size;
  }
  std::shared_lock lock(data_mutex);
  const auto& list = scope_items("ecs", scope);
  json items = page_of(list.size(), begin, size, [&](std::size_t i) -> const json& { return list[i]; });
  Reply r;
  // As in the document's own sample, numbers come back as strings.
  r.body = {{"RequestId", rid}, {"ActivationList", std::move(items)}};
  if (token_mode) {
    r.body["NextToken"] = begin + size < list.size() ? make_next_token(begin + size, scope) : std::string();
    r.body["TotalCount"] = "0";  // "not meaningful" when paging by token
  } else {
    r.body["TotalCount"] = std::to_string(list.size());
    r.body["PageSize"] = std::to_string(size);
    r.body["PageNumber"] = std::to_string(page);
  }
  return r;
}

Reply Simulator::Impl::describe_regions(const std::string& rid) {
  json list = json::array();
  for (const auto& [id, supported] : regions) {
    list.push_back({{"RegionId", id}, {"RegionEndpoint", "ecs." + id + ".aliyuncs.com"}, {"LocalName", id}});
  }
  Reply r;
  r.body = {{"RequestId", rid}, {"Regions", {{"Region", std::move(list)}}}};
  return r;
}

Reply Simulator::Impl::describe_activation_codes(const std::string& account, const Params& p, const std::string& rid) {
  const std::string order = param(p, "AliyunOrderId");
  if (order.empty()) {
    return api_error(400, "MissingAliyunOrderId", "AliyunOrderId is mandatory for this action.", rid);
  }
  auto paging = read_paging(
      p, 30, [](long long v) { return v >= 1 && v <= 100; }, rid);
  if (auto* e = std::get_if<Reply>(&paging)) {
    return std::move(*e);
  }
  const auto [page, size] = std::get<Paging>(paging);
  std::shared_lock lock(data_mutex);
  const std::string scope = account + "|" + order;
  if (orders.count(scope) == 0) {
    return api_error(404, "InvalidAliyunOrderId.NotFound", "The specified AliyunOrderId does not exist.", rid);
  }
  const auto& list = scope_items("polardb", scope);
  json items = page_of(list.size(), static_cast<std::size_t>((page - 1) * size), static_cast<std::size_t>(size),
                       [&](std::size_t i) -> const json& { return list[i]; });
  Reply r;
  r.body = {{"RequestId", rid},
            {"Items", items},
            {"PageNumber", page},
            {"PageRecordCount", items.size()},
            {"TotalRecordCount", list.size()}};
  return r;
}

}  // namespace acmon::sim
