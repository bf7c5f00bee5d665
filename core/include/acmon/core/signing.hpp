// Alibaba Cloud RPC request signing: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).
// Pure functions of their inputs: the caller supplies time and nonce, so that
// published test vectors can be reproduced byte for byte.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace acmon::signing {

// Request parameters, sorted by name (byte order), as both versions require.
// A repeated list parameter is spelt out by the caller: "AccessTokenId.1", "AccessTokenId.2".
using Params = std::map<std::string, std::string>;

// RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ are kept, every other byte is %XX
// (upper-case hex), so a space is %20, '*' is %2A and '/' is %2F. UTF-8 is encoded byte-wise.
std::string percent_encode(std::string_view text);
// Inverse of percent_encode; '+' is read as a space (form bodies). Invalid escapes are kept as is.
std::string percent_decode(std::string_view text);

// "a=1&b=2" with names and values percent-encoded, in the order of params.
std::string canonical_query(const Params& params);

// ---- V1 -------------------------------------------------------------------------------------

// METHOD&%2F&enc(canonical_query(params)); params must not contain "Signature".
std::string v1_string_to_sign(std::string_view method, const Params& params);
// Base64(HMAC-SHA1(secret + "&", string_to_sign)).
std::string v1_signature(std::string_view secret, std::string_view string_to_sign);

struct V1Input {
  std::string access_key_id;
  std::string timestamp;  // "YYYY-MM-DDThh:mm:ssZ"
  std::string nonce;
  std::string security_token;  // empty: none
};
// Adds the common V1 parameters (AccessKeyId, Format=JSON, SignatureMethod, SignatureVersion,
// SignatureNonce, Timestamp, SecurityToken) and the Signature to params.
void v1_sign(std::string_view method, Params& params, const V1Input& in, std::string_view secret);

// ---- V3 -------------------------------------------------------------------------------------

struct V3Input {
  std::string method;  // "GET" or "POST"
  std::string host;    // the Host header as sent, port included when not the default
  std::string action;
  std::string version;
  std::string date;  // "YYYY-MM-DDThh:mm:ssZ"
  std::string nonce;
  std::string security_token;  // empty: none
  std::string content_type;    // empty: none (then not signed)
  std::string body;
};

struct V3Result {
  std::vector<std::pair<std::string, std::string>> headers;  // to send, Authorization included
  std::string canonical_request;
  std::string hashed_canonical_request;
  std::string signature;
  std::string authorization;
};

// canonical_headers: lower-case names, sorted, "name:trimmed value\n" each.
std::string v3_canonical_request(std::string_view method, std::string_view canonical_uri,
                                 std::string_view canonical_query_string,
                                 const std::map<std::string, std::string>& signed_headers,
                                 std::string_view hashed_payload);
// hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical_request)))).
std::string v3_signature(std::string_view secret, std::string_view canonical_request);

V3Result v3_sign(const V3Input& in, const Params& query, std::string_view access_key_id, std::string_view secret);

}  // namespace acmon::signing
