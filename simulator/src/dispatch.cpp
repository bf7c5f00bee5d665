// The simulator's dispatch: authentication, faults, hostile answers and the control routes.
#include "sim_impl.hpp"

namespace acmon::sim {

Reply Simulator::Impl::handle_api(const httplib::Request& req) {
  const std::string rid = request_id();
  Params query;
  Params params;
  if (const auto q = req.target.find('?'); q != std::string::npos) {
    parse_form(std::string_view(req.target).substr(q + 1), query);
  }
  params = query;
  if (req.get_header_value("Content-Type").find("application/x-www-form-urlencoded") != std::string::npos) {
    parse_form(req.body, params);
  }
  // AssumeRoleWithOIDC is anonymous: the OIDC token is the proof.
  if (param(params, "Action") == "AssumeRoleWithOIDC" || req.get_header_value("x-acs-action") == "AssumeRoleWithOIDC") {
    {
      std::lock_guard lock(stats_mutex);
      ++requests;
      ++requests_by_action["AssumeRoleWithOIDC"];
    }
    return assume_role_with_oidc(params, rid);
  }
  Auth auth = authenticate(req, query, params, rid);
  if (auth.ok) {
    if (auto expired = sts_expired(auth.account, rid)) {
      auth.ok = false;
      auth.error = *expired;
    }
  }
  const std::string key_id = auth.account;
  auth.account = owner_of(key_id);
  {
    std::lock_guard lock(stats_mutex);
    ++requests;
    if (!auth.ok) {
      ++auth_failures;
    } else {
      ++requests_by_action[auth.action];
    }
  }
  if (!auth.ok) {
    return auth.error;
  }
  auto act = actions().find(auth.action);
  if (act == actions().end()) {
    return api_error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.",
                     rid);
  }
  if (auth.version != act->second.second) {
    return api_error(400, "InvalidVersion", "Specified parameter Version is not valid.", rid);
  }
  std::optional<Fault> fired;
  {
    std::lock_guard lock(fault_mutex);
    for (auto& f : faults) {
      if (f.hits(auth.action)) {
        fired = f;
        break;
      }
    }
  }
  if (fired) {
    std::lock_guard lock(stats_mutex);
    ++faults_fired;
  }
  if (fired) {
    const auto& k = fired->spec.kind;
    if (k == "throttle") {
      return api_error(400, "Throttling.User", "Request was denied due to user flow control.", rid);
    }
    if (k == "error500") {
      return api_error(500, "InternalError", "An error occurred while processing your request. Please try again.", rid);
    }
    if (k == "error503") {
      return api_error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                       rid);
    }
    if (k == "error") {
      return api_error(fired->spec.status, fired->spec.code, "Injected error.", rid);
    }
    if (k == "delay") {
      std::this_thread::sleep_for(std::chrono::milliseconds(fired->spec.delay_ms));
    }
    if (k == "reset") {
      Reply r;  // the request was read and its nonce used; the connection closes with no answer
      r.reset = true;
      return r;
    }
    if (k == "html502") {
      Reply r;
      r.status = 502;
      r.raw =
          "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
          "</body></html>";
      r.content_type = "text/html";
      return r;
    }
    if (k == "change") {
      apply_change(actions().at(auth.action).first, fired->spec);
    }
    if (k == "hostile") {
      return hostile(fired->spec.shape, rid);
    }
  }
  Reply r;
  if (auth.action == "AssumeRole") {
    r = assume_role(key_id, params, rid);
  } else if (auth.action == "ListAccessTokens") {
    r = list_access_tokens(auth.account, params, rid);
  } else if (auth.action == "CreateAccessToken") {
    r = create_access_token(auth.account, params, rid);
  } else if (auth.action == "DescribeActivations") {
    r = describe_activations(auth.account, params, rid);
  } else if (auth.action == "DescribeRegions") {
    r = describe_regions(rid);
  } else if (auth.action == "ListAccounts" || auth.action == "GetResourceDirectory") {
    r = directory_call(auth.action, auth.account, params, rid);
  } else {
    r = describe_activation_codes(auth.account, params, rid);
  }
  if (fired && r.status == 200) {
    const auto& k = fired->spec.kind;
    if (k == "malformed") {
      const std::string full = r.body.dump();
      r.raw = full.substr(0, full.size() / 2) + "<html>";
    } else if (k == "truncated") {
      r.raw = r.body.dump();
      r.cut = static_cast<int>(r.raw.size() / 2);
    } else if (k == "drop") {
      r.raw = r.body.dump();
      r.cut = 0;
    } else if (k == "short") {
      // A complete HTTP answer whose JSON stops half-way (a proxy's cut-short body).
      const std::string full = r.body.dump();
      r.raw = full.substr(0, full.size() / 2);
    } else if (k == "empty200") {
      r.raw = " ";
      r.content_type = "text/plain";
    } else if (k == "empty_page") {
      // An empty page that still promises more: a client must not take it as the end.
      for (const char* f : {"ActivationList", "AccessTokens", "Items"}) {
        if (r.body.contains(f)) {
          r.body[f] = json::array();
        }
      }
      if (r.body.contains("Accounts")) {
        r.body["Accounts"]["Account"] = json::array();
      }
      if (r.body.contains("NextToken")) {
        // The token leads back to the items this page left out.
        const std::string sent = param(params, "NextToken");
        r.body["NextToken"] = sent.empty() ? make_next_token(0, auth.account + "|" + param(params, "RegionId")) : sent;
      }
    } else if (k == "lie_total") {
      // A total that promises more than the list holds: a client must not page forever.
      for (const char* f : {"TotalCount", "TotalRecordCount"}) {
        if (r.body.contains(f) && r.body[f].is_number()) {
          r.body[f] = r.body[f].get<long long>() + 1000;
        }
      }
    }
  }
  return r;
}

Reply Simulator::Impl::hostile(const std::string& shape, const std::string& rid) {
  Reply r;
  const std::string head =
      R"({"RequestId":")" + rid +
      R"(","TotalCount":1,"TotalRecordCount":1,"NextToken":"","AccessTokens":[{"AccessTokenId":"at-h","Id":1,"ActivationId":"act-h","Count":)";
  const std::string tail = R"(}],"Items":[],"ActivationList":[]})";
  if (shape == "deep") {
    constexpr std::size_t depth = 1000000;
    r.raw = head + std::string(depth, '[') + std::string(depth, ']') + tail;
  } else if (shape == "wide") {
    constexpr std::size_t n = 7000000;
    std::string arr = "[0";
    arr.reserve(2 * n + 2);
    for (std::size_t i = 1; i < n; ++i) {
      arr += ",0";
    }
    r.raw = head + arr + "]" + tail;
  } else if (shape == "long") {
    r.raw = head + R"("1","Name":")" + std::string(12u << 20, 'n') + "\"" + tail;
  } else {
    r.raw = gzip_bomb();
    r.content_type = "application/octet-stream";  // so that the server does not compress it again
    r.gzip = true;
  }
  return r;
}

const std::string& Simulator::Impl::gzip_bomb() {
  static const std::string body = [] {
    z_stream z{};
    deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    const std::string zeros(std::size_t{1} << 20, ' ');
    std::string out;
    std::vector<unsigned char> buf(1 << 16);
    for (int chunk = 0; chunk < 256; ++chunk) {
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
      z.avail_in = static_cast<uInt>(zeros.size());
      const int flush = chunk == 255 ? Z_FINISH : Z_NO_FLUSH;
      do {
        z.next_out = buf.data();
        z.avail_out = static_cast<uInt>(buf.size());
        deflate(&z, flush);
        out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - z.avail_out);
      } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    return out;
  }();
  return body;
}

void Simulator::Impl::apply_change(const std::string& product, const FaultSpec& spec) {
  if (product == "resourcemanager") {
    change_members(spec);
    return;
  }
  for (const auto& id : spec.remove) {
    remove(product, id);
  }
  for (const auto& rec : spec.add) {
    upsert(product, rec);
  }
}

void Simulator::Impl::reset_connection(const httplib::Request& req) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
      continue;
    }
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      continue;
    }
    if (req.remote_addr == host && std::to_string(req.remote_port) == port) {
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
  }
}

void Simulator::Impl::send(const Reply& r, httplib::Response& res) {
  res.status = r.status;
  auto body = std::make_shared<std::string>(r.raw.empty() ? r.body.dump() : r.raw);
  if (r.cut >= 0) {
    const auto cut = static_cast<std::size_t>(r.cut);
    res.set_content_provider(body->size(), "application/json;charset=utf-8",
                             [body, cut](size_t offset, size_t /*length*/, httplib::DataSink& sink) {
                               if (offset == 0 && cut > 0) {
                                 sink.write(body->data(), cut);
                               }
                               return false;  // abort: the connection is closed mid-body
                             });
    return;
  }
  if (r.gzip) {
    res.set_header("Content-Encoding", "gzip");
  }
  res.set_content(*body, r.content_type);
}

void Simulator::Impl::routes() {
  auto api = [this](const httplib::Request& req, httplib::Response& res) {
    Reply r;
    try {
      r = handle_api(req);
    } catch (const std::exception& e) {
      r = api_error(500, "InternalError", std::string("simulator: ") + e.what(), request_id());
    }
    if (r.reset) {
      reset_connection(req);
    }
    send(r, res);
  };
  server.Get("/", api);
  server.Post("/", api);
  sts_routes();
  directory_routes();
  server.Get("/_sim/health",
             [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  server.Get("/_sim/stats", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats().dump(), "application/json");
  });
  auto control = [](httplib::Response& res, const std::function<void()>& fn) {
    try {
      fn();
      res.set_content("{\"ok\":true}", "application/json");
    } catch (const std::exception& e) {
      res.status = 400;
      res.set_content(json{{"error", e.what()}}.dump(), "application/json");
    }
  };
  server.Post("/_sim/faults", [this, control](const httplib::Request& req, httplib::Response& res) {
    control(res, [&] { set_faults(json::parse(req.body)); });
  });
  server.Delete("/_sim/faults", [this, control](const httplib::Request&, httplib::Response& res) {
    control(res, [&] { set_faults(json::array()); });
  });
  server.Post(R"(/_sim/codes/(smc|ecs|polardb))", [this, control](const httplib::Request& req, httplib::Response& res) {
    control(res, [&] {
      json body = json::parse(req.body);
      if (body.is_array()) {
        for (const auto& rec : body) {
          upsert(req.matches[1], rec);
        }
      } else {
        upsert(req.matches[1], body);
      }
    });
  });
  server.Patch(R"(/_sim/codes/(smc|ecs|polardb)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      if (!patch(req.matches[1], signing::percent_decode(req.matches[2].str()), json::parse(req.body))) {
        res.status = 404;
      }
    } catch (const std::exception& e) {
      res.status = 400;
      res.set_content(json{{"error", e.what()}}.dump(), "application/json");
    }
  });
  server.Delete(R"(/_sim/codes/(smc|ecs|polardb)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!remove(req.matches[1], signing::percent_decode(req.matches[2].str()))) {
      res.status = 404;
    }
  });
}

void Simulator::Impl::set_faults(const json& list) {
  if (!list.is_array()) {
    throw std::invalid_argument("faults must be a JSON array");
  }
  std::vector<Fault> fresh;
  for (const auto& f : list) {
    fresh.emplace_back(fault_from_json(f));
  }
  std::lock_guard lock(fault_mutex);
  faults = std::move(fresh);
}

}  // namespace acmon::sim
