#include "acmon/core/signing.hpp"

#include <cctype>

#include "acmon/core/crypto.hpp"
#include "acmon/core/text.hpp"

namespace acmon::signing {

std::string percent_encode(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0x0f]);
    }
  }
  return out;
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else if (text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string canonical_query(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += percent_encode(k);
    out.push_back('=');
    out += percent_encode(v);
  }
  return out;
}

std::string v1_string_to_sign(std::string_view method, const Params& params) {
  std::string out(method);
  out += "&%2F&";
  out += percent_encode(canonical_query(params));
  return out;
}

std::string v1_signature(std::string_view secret, std::string_view string_to_sign) {
  std::string key(secret);
  key.push_back('&');
  return crypto::base64(crypto::hmac_sha1_raw(key, string_to_sign));
}

void v1_sign(std::string_view method, Params& params, const V1Input& in, std::string_view secret) {
  params.erase("Signature");
  params["AccessKeyId"] = in.access_key_id;
  params.try_emplace("Format", "JSON");
  params["SignatureMethod"] = "HMAC-SHA1";
  params["SignatureVersion"] = "1.0";
  params["SignatureNonce"] = in.nonce;
  params["Timestamp"] = in.timestamp;
  if (!in.security_token.empty()) {
    params["SecurityToken"] = in.security_token;
  }
  params["Signature"] = v1_signature(secret, v1_string_to_sign(method, params));
}

namespace {}  // namespace

std::string v3_canonical_request(std::string_view method, std::string_view canonical_uri,
                                 std::string_view canonical_query_string,
                                 const std::map<std::string, std::string>& signed_headers,
                                 std::string_view hashed_payload) {
  std::string out(method);
  out += '\n';
  out += canonical_uri;
  out += '\n';
  out += canonical_query_string;
  out += '\n';
  std::string names;
  for (const auto& [name, value] : signed_headers) {
    out += name;
    out += ':';
    out += trim(value);
    out += '\n';
    if (!names.empty()) {
      names += ';';
    }
    names += name;
  }
  out += '\n';
  out += names;
  out += '\n';
  out += hashed_payload;
  return out;
}

std::string v3_signature(std::string_view secret, std::string_view canonical_request) {
  std::string to_sign = "ACS3-HMAC-SHA256\n" + crypto::sha256_hex(canonical_request);
  return crypto::hmac_sha256_hex(secret, to_sign);
}

V3Result v3_sign(const V3Input& in, const Params& query, std::string_view access_key_id, std::string_view secret) {
  V3Result r;
  const std::string hashed_payload = crypto::sha256_hex(in.body);
  std::map<std::string, std::string> headers{
      {"host", in.host},       {"x-acs-action", in.action},         {"x-acs-content-sha256", hashed_payload},
      {"x-acs-date", in.date}, {"x-acs-signature-nonce", in.nonce}, {"x-acs-version", in.version},
  };
  if (!in.security_token.empty()) {
    headers["x-acs-security-token"] = in.security_token;
  }
  if (!in.content_type.empty()) {
    headers["content-type"] = in.content_type;
  }
  r.canonical_request = v3_canonical_request(in.method, "/", canonical_query(query), headers, hashed_payload);
  r.hashed_canonical_request = crypto::sha256_hex(r.canonical_request);
  r.signature = v3_signature(secret, r.canonical_request);
  std::string names;
  for (const auto& [name, value] : headers) {
    if (!names.empty()) {
      names += ';';
    }
    names += name;
  }
  r.authorization = "ACS3-HMAC-SHA256 Credential=" + std::string(access_key_id) + ",SignedHeaders=" + names +
                    ",Signature=" + r.signature;
  for (auto& [name, value] : headers) {
    r.headers.emplace_back(name, value);
  }
  r.headers.emplace_back("Authorization", r.authorization);
  return r;
}

}  // namespace acmon::signing
