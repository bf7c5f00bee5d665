// The simulator's signature checks: V1 and V3, time, nonces.
#include "sim_impl.hpp"

namespace acmon::sim {

std::string Simulator::Impl::request_id() {
  std::string h = crypto::random_hex(16);
  for (auto& c : h) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

bool Simulator::Impl::nonce_used(const std::string& nonce) {
  std::lock_guard lock(nonce_mutex);
  if (!nonces.insert(nonce).second) {
    return true;
  }
  nonce_order.push_back(nonce);
  if (nonce_order.size() > 500000) {
    nonces.erase(nonce_order.front());
    nonce_order.pop_front();
  }
  return false;
}

std::optional<Reply> Simulator::Impl::check_time_and_nonce(const std::string& when, const std::string& nonce,
                                                           const std::string& rid) {
  auto t = parse_rfc3339(when);
  if (!t) {
    return api_error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.", rid);
  }
  if (options.check_timestamp) {
    const auto now = SystemClock().now();
    if (*t < now - 900 || *t > now + 900) {
      return api_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", rid);
    }
  }
  if (nonce.empty()) {
    return api_error(400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.", rid);
  }
  if (nonce_used(nonce)) {
    return api_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.", rid);
  }
  return std::nullopt;
}

Simulator::Impl::Auth Simulator::Impl::authenticate(const httplib::Request& req,
                                                    const std::map<std::string, std::string>& query,
                                                    const std::map<std::string, std::string>& params,
                                                    const std::string& rid) {
  Auth a;
  const std::string authz = req.get_header_value("Authorization");
  if (authz.rfind("ACS3-HMAC-SHA256 ", 0) == 0) {
    std::map<std::string, std::string> parts;
    std::string_view rest = std::string_view(authz).substr(17);
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view part = rest.substr(0, comma);
      while (!part.empty() && part.front() == ' ') {
        part.remove_prefix(1);
      }
      const auto eq = part.find('=');
      if (eq != std::string_view::npos) {
        parts[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
      }
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
    const std::string key_id = parts["Credential"];
    const std::string signed_names = parts["SignedHeaders"];
    const std::string signature = parts["Signature"];
    if (key_id.empty() || signed_names.empty() || signature.empty()) {
      a.error =
          api_error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.", rid);
      return a;
    }
    std::map<std::string, std::string> signed_headers;
    std::string_view names = signed_names;
    while (!names.empty()) {
      const auto semi = names.find(';');
      const std::string name(names.substr(0, semi));
      signed_headers[name] = req.get_header_value(name);
      if (semi == std::string_view::npos) {
        break;
      }
      names.remove_prefix(semi + 1);
    }
    for (const char* required :
         {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}) {
      if (signed_headers.count(required) == 0 || signed_headers[required].empty()) {
        a.error = api_error(400, "IncompleteSignature",
                            std::string("The request signature does not sign the header ") + required + ".", rid);
        return a;
      }
    }
    auto acct = key_secret(key_id);
    if (!acct) {
      a.error = api_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", rid);
      return a;
    }
    if (auto bad = check_time_and_nonce(signed_headers["x-acs-date"], signed_headers["x-acs-signature-nonce"], rid)) {
      a.error = *bad;
      return a;
    }
    const std::string body_hash = crypto::sha256_hex(req.body);
    std::string hashed = signed_headers["x-acs-content-sha256"];
    const signing::Params canon_query(query.begin(), query.end());
    const std::string canonical = signing::v3_canonical_request(
        req.method, req.path, signing::canonical_query(canon_query), signed_headers, hashed);
    if (!crypto::equal_ct(hashed, body_hash) ||
        !crypto::equal_ct(signing::v3_signature(acct->first, canonical), signature)) {
      a.error =
          api_error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", rid);
      return a;
    }
    if (!acct->second.empty() && req.get_header_value("x-acs-security-token") != acct->second) {
      a.error = api_error(400, "InvalidSecurityToken.Mismatch", "Specified security token is not valid.", rid);
      return a;
    }
    a.account = key_id;
    a.action = signed_headers["x-acs-action"];
    a.version = signed_headers["x-acs-version"];
    a.ok = true;
    return a;
  }
  auto sig = params.find("Signature");
  if (sig == params.end()) {
    a.error = api_error(400, "MissingSignature", "Signature is mandatory for this action.", rid);
    return a;
  }
  auto get = [&](const char* k) {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  };
  if (get("AccessKeyId").empty()) {
    a.error = api_error(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.", rid);
    return a;
  }
  if (get("SignatureMethod") != "HMAC-SHA1" || get("SignatureVersion") != "1.0") {
    a.error = api_error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.", rid);
    return a;
  }
  auto acct = key_secret(get("AccessKeyId"));
  if (!acct) {
    a.error = api_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", rid);
    return a;
  }
  if (auto bad = check_time_and_nonce(get("Timestamp"), get("SignatureNonce"), rid)) {
    a.error = *bad;
    return a;
  }
  signing::Params signed_params(params.begin(), params.end());
  signed_params.erase("Signature");
  const std::string expected =
      signing::v1_signature(acct->first, signing::v1_string_to_sign(req.method, signed_params));
  if (!crypto::equal_ct(expected, sig->second)) {
    a.error = api_error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", rid);
    return a;
  }
  if (!acct->second.empty() && get("SecurityToken") != acct->second) {
    a.error = api_error(400, "InvalidSecurityToken.Mismatch", "Specified security token is not valid.", rid);
    return a;
  }
  a.account = get("AccessKeyId");
  a.action = get("Action");
  a.version = get("Version");
  a.ok = true;
  return a;
}

}  // namespace acmon::sim
