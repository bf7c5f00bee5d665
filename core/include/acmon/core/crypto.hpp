// Hashes, HMACs and encodings used by request signing (OpenSSL underneath).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace acmon::crypto {

std::string sha256_hex(std::string_view data);  // lower-case hex
std::string hmac_sha1_raw(std::string_view key, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
std::string base64(std::string_view raw);
// Base64 (RFC 4648 §4), or with `url` its URL alphabet (§5, `-` and `_`); padding optional, nothing
// else allowed (no whitespace, no `=` before the end). nullopt when the text is not that.
std::optional<std::string> base64_decode(std::string_view text, bool url = false);
std::string to_hex(std::string_view raw);
// n random bytes from the OpenSSL CSPRNG, as 2n hex characters (signature nonces).
std::string random_hex(std::size_t n);
// Constant-time comparison, for verifying signatures.
bool equal_ct(std::string_view a, std::string_view b);

}  // namespace acmon::crypto
