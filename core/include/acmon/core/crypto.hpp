// Hashes, HMACs and encodings used by request signing, and the keyed hash the store compares
// codes with (OpenSSL underneath).
#pragma once

#include <cstdint>
#include <memory>
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
// n random bytes from the OpenSSL CSPRNG, as 2n hex characters (signature nonces), drawn from a
// per-thread store that the CSPRNG fills 4 KiB at a time; each byte is handed out once.
std::string random_hex(std::size_t n);
// n random bytes from the OpenSSL CSPRNG.
std::string random_bytes(std::size_t n);
// Constant-time comparison, for verifying signatures.
bool equal_ct(std::string_view a, std::string_view b);

// A keyed 64-bit hash: SipHash-2-4 (a pseudo-random function of its 16-byte key), or HMAC-SHA256
// cut to 64 bits where the OpenSSL providers in use lack SipHash (a FIPS-only configuration).
// Whoever does not know the key cannot choose two inputs that hash alike, as they can for any
// unkeyed 64-bit hash (FNV, std::hash): what it tells apart stays apart when the input comes from
// someone else. Not for secrets or signatures. One object is used by one thread at a time. Every
// OpenSSL failure throws std::runtime_error: no hash is ever made up.
class KeyedHash {
 public:
  static constexpr std::size_t k_key_bytes = 16;
  // key: k_key_bytes bytes. Throws std::runtime_error if OpenSSL offers neither algorithm, or
  // cannot start a hash again from the key (before 3.0.3).
  explicit KeyedHash(std::string_view key);
  ~KeyedHash();
  KeyedHash(const KeyedHash&) = delete;
  KeyedHash& operator=(const KeyedHash&) = delete;

  // A hash of several pieces: begin, update with each, end. The pieces are hashed as one string
  // (their boundaries count only where the caller encodes them).
  void begin();
  void update(std::string_view bytes);
  std::uint64_t end();
  std::uint64_t of(std::string_view bytes) {
    begin();
    update(bytes);
    return end();
  }
  // Which algorithm it uses: "SipHash-2-4" or "HMAC-SHA256/64".
  [[nodiscard]] const char* algorithm() const { return m_siphash ? "SipHash-2-4" : "HMAC-SHA256/64"; }

 private:
  struct Ctx;
  std::unique_ptr<Ctx> m_ctx;
  bool m_siphash = true;
};

}  // namespace acmon::crypto
