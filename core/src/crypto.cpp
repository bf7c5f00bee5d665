#include "acmon/core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

namespace acmon::crypto {

namespace {

// OpenSSL 3 looks an algorithm up by name, under a lock every thread shares, each time EVP_sha256()
// or HMAC() is used. Fetched once here, parallel scopes signing their requests no longer queue on
// that lock. A fetch that fails (a provider configuration without the algorithm) falls back to
// the lookup by name.
struct Algorithms {
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* hmac_sha256 = hmac_template("SHA256");
  EVP_MAC_CTX* hmac_sha1 = hmac_template("SHA1");

  // An HMAC context with its digest chosen, copied for each use (a copy does not look it up again).
  [[nodiscard]] EVP_MAC_CTX* hmac_template(const char* digest) const {
    if (hmac == nullptr) {
      return nullptr;
    }
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac);
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest), 0),
                                 OSSL_PARAM_construct_end()};
    if (ctx != nullptr && EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }
};

const Algorithms& algorithms() {
  static const Algorithms k_algorithms;
  return k_algorithms;
}

std::string hmac_raw(EVP_MAC_CTX* tmpl, const EVP_MD* fallback, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  static const unsigned char k_empty = 0;
  const auto* key_bytes = key.empty() ? &k_empty : reinterpret_cast<const unsigned char*>(key.data());
  if (tmpl != nullptr) {
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(tmpl), &EVP_MAC_CTX_free);
    std::size_t len = 0;
    if (ctx && EVP_MAC_init(ctx.get(), key_bytes, key.size(), nullptr) == 1 &&
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
        EVP_MAC_final(ctx.get(), out, &len, sizeof out) == 1) {
      return {reinterpret_cast<const char*>(out), len};
    }
  }
  unsigned int len = 0;
  HMAC(fallback, key_bytes, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return {reinterpret_cast<const char*>(out), len};
}

}  // namespace

std::string to_hex(std::string_view raw) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(k_digits[c >> 4]);
    out.push_back(k_digits[c & 0x0f]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = algorithms().sha256;
  EVP_Digest(data.data(), data.size(), out, &len, md != nullptr ? md : EVP_sha256(), nullptr);
  return to_hex({reinterpret_cast<const char*>(out), len});
}

std::string hmac_sha1_raw(std::string_view key, std::string_view data) {
  return hmac_raw(algorithms().hmac_sha1, EVP_sha1(), key, data);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return to_hex(hmac_raw(algorithms().hmac_sha256, EVP_sha256(), key, data));
}

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, bool url) {
  std::string in(text);
  const std::size_t body = std::min(in.find('='), in.size());
  if (in.find_first_not_of('=', body) != std::string::npos || in.size() - body > 2) {
    return std::nullopt;
  }
  in.resize(body);
  for (char& c : in) {
    if (url && (c == '+' || c == '/')) {
      return std::nullopt;
    }
    if (url && c == '-') {
      c = '+';
    } else if (url && c == '_') {
      c = '/';
    }
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) {
      return std::nullopt;
    }
  }
  if (in.size() % 4 == 1) {
    return std::nullopt;  // no whole byte in the last group
  }
  const std::size_t pad = (4 - in.size() % 4) % 4;
  in.append(pad, '=');
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string raw(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("the system random generator failed");
  }
  return raw;
}

// Nonces come from a per-thread store of CSPRNG bytes, filled 4 KiB at a time: OpenSSL 3 spends
// microseconds on each RAND_bytes call whatever its size (a request's nonce cost a twentieth of an
// unchanged re-sync's CPU), and a store of 256 nonces costs that once. A process made by fork
// gets a copy of the store: the process id it was filled for sends the copy back to the CSPRNG.
std::string random_hex(std::size_t n) {
  constexpr std::size_t k_store = 4096;
  struct Store {
    std::array<unsigned char, k_store> bytes{};
    std::size_t used = k_store;
    pid_t pid = 0;
  };
  thread_local Store store;
  if (n > k_store) {
    return to_hex(random_bytes(n));
  }
  const pid_t pid = getpid();
  if (store.used + n > k_store || store.pid != pid) {
    if (RAND_bytes(store.bytes.data(), static_cast<int>(k_store)) != 1) {
      throw std::runtime_error("the system random generator failed");
    }
    store.used = 0;
    store.pid = pid;
  }
  const std::string_view raw(reinterpret_cast<const char*>(store.bytes.data() + store.used), n);
  std::string hex = to_hex(raw);
  // Handed out once: the bytes are wiped as they go.
  OPENSSL_cleanse(store.bytes.data() + store.used, n);
  store.used += n;
  return hex;
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct KeyedHash::Ctx {
  explicit Ctx(EVP_MAC_CTX* m) : mac(m) {}
  ~Ctx() { EVP_MAC_CTX_free(mac); }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;
  EVP_MAC_CTX* mac;
};

namespace {

// A context of the MAC named, keyed; null when this OpenSSL cannot make it.
EVP_MAC_CTX* keyed_mac(bool siphash, std::string_view key) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
  EVP_MAC_CTX* ctx = nullptr;
  std::size_t size = 8;
  if (siphash) {
    if (EVP_MAC* sip = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr); sip != nullptr) {
      ctx = EVP_MAC_CTX_new(sip);
      EVP_MAC_free(sip);  // the context holds its own reference
    }
  } else if (const EVP_MAC_CTX* tmpl = algorithms().hmac_sha256; tmpl != nullptr) {
    ctx = EVP_MAC_CTX_dup(tmpl);
  }
  const OSSL_PARAM sip_params[] = {OSSL_PARAM_construct_size_t("size", &size), OSSL_PARAM_construct_end()};
  if (ctx != nullptr && EVP_MAC_init(ctx, bytes, key.size(), siphash ? sip_params : nullptr) != 1) {
    EVP_MAC_CTX_free(ctx);
    ctx = nullptr;
  }
  return ctx;
}

}  // namespace

KeyedHash::KeyedHash(std::string_view key) {
  if (key.size() != k_key_bytes) {
    throw std::runtime_error("keyed hash: the key must be 16 bytes");
  }
  EVP_MAC_CTX* mac = keyed_mac(true, key);
  if (mac == nullptr) {
    m_siphash = false;
    mac = keyed_mac(false, key);
  }
  if (mac == nullptr) {
    throw std::runtime_error("keyed hash: OpenSSL offers neither SipHash nor HMAC-SHA256");
  }
  m_ctx = std::make_unique<Ctx>(mac);
  // A hash begun again must start from the key alone: OpenSSL before 3.0.3 carried the previous
  // hash's state over instead. Refused here rather than every comparison wrong.
  const std::uint64_t once = of("acmon");
  (void)of("another hash in between");
  if (of("acmon") != once) {
    throw std::runtime_error(
        "keyed hash: this OpenSSL does not start a MAC again from its key (3.0.3 or later needed)");
  }
}

KeyedHash::~KeyedHash() = default;

void KeyedHash::begin() {
  // The key set at construction is kept: a null key starts a new hash with it.
  if (EVP_MAC_init(m_ctx->mac, nullptr, 0, nullptr) != 1) {
    throw std::runtime_error("keyed hash: OpenSSL could not begin a MAC");
  }
}

void KeyedHash::update(std::string_view bytes) {
  if (EVP_MAC_update(m_ctx->mac, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) != 1) {
    throw std::runtime_error("keyed hash: OpenSSL could not hash");
  }
}

std::uint64_t KeyedHash::end() {
  unsigned char out[EVP_MAX_MD_SIZE] = {};
  std::size_t len = 0;
  // A failure is never a value: a hash that always read 0 would take every listing for unchanged.
  if (EVP_MAC_final(m_ctx->mac, out, &len, sizeof out) != 1 || len < 8) {
    throw std::runtime_error("keyed hash: OpenSSL could not finish a MAC");
  }
  // The first eight bytes, little-endian: SipHash's 64-bit value as its reference reads it.
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | out[i];
  }
  return v;
}

}  // namespace acmon::crypto
