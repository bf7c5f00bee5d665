// Signing against published vectors (Alibaba's documentation and SDK tests), never against itself.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "acmon/core/crypto.hpp"
#include "acmon/core/signing.hpp"

using namespace acmon::signing;

TEST(PercentEncode, KeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(percent_encode("a b"), "a%20b");
  EXPECT_EQ(percent_encode("*"), "%2A");
  EXPECT_EQ(percent_encode("/"), "%2F");
  EXPECT_EQ(percent_encode("+"), "%2B");
  EXPECT_EQ(percent_encode("="), "%3D");
  EXPECT_EQ(percent_encode("&"), "%26");
  EXPECT_EQ(percent_encode(":"), "%3A");
  // UTF-8 is encoded byte by byte, upper-case hex.
  EXPECT_EQ(percent_encode("\xe6\xb5\x8b"), "%E6%B5%8B");
}

TEST(PercentDecode, InvertsEncodingAndReadsPlusAsSpace) {
  EXPECT_EQ(percent_decode("a%20b%2A%7e"), "a b*~");
  EXPECT_EQ(percent_decode("a+b"), "a b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz"), "%zz");
  const std::string odd = "x y*~/\xe6\xb5\x8b&=";
  EXPECT_EQ(percent_decode(percent_encode(odd)), odd);
}

TEST(CanonicalQuery, SortsByByteOrderAndSpellsOutListParameters) {
  Params p{{"b", "2"}, {"AccessTokenId.2", "at-2"}, {"AccessTokenId.1", "at-1"}, {"a", "x y"}, {"Z", "*"}};
  EXPECT_EQ(canonical_query(p), "AccessTokenId.1=at-1&AccessTokenId.2=at-2&Z=%2A&a=x%20y&b=2");
}

// Alibaba's documentation: "Signature method V1" example.
TEST(SignV1, PublishedDescribeRegionsVector) {
  Params p{{"AccessKeyId", "testid"},
           {"Action", "DescribeRegions"},
           {"Format", "XML"},
           {"SignatureMethod", "HMAC-SHA1"},
           {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
           {"SignatureVersion", "1.0"},
           {"Timestamp", "2016-02-23T12:46:24Z"},
           {"Version", "2014-05-26"}};
  const std::string sts = v1_string_to_sign("GET", p);
  EXPECT_EQ(sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%"
            "26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-"
            "23T12%253A46%253A24Z%26Version%3D2014-05-26");
  EXPECT_EQ(v1_signature("testsecret", sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

// Alibaba's Go SDK tests: a fixed string-to-sign with key "testsecret&".
TEST(SignV1, PublishedGoSdkVector) {
  const std::string sts =
      "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26RegionId%3Dregion1%26SignatureMethod%"
      "3DHMAC-SHA1%26SignatureNonce%3DNwDAxvLU6tFE0DVb%26SignatureVersion%3D1.0%26TimeStamp%3D2012-12-26T10%253A33%"
      "253A56Z%26Version%3D2013-01-10";
  EXPECT_EQ(v1_signature("testsecret", sts), "axE3FUHgDyfm9/+Iep0HpZXrRwE=");
}

TEST(SignV1, SignAddsCommonParametersAndASignatureThatChangesWithEveryInput) {
  Params p{{"Action", "DescribeRegions"}, {"Version", "2014-05-26"}, {"Format", "XML"}};
  V1Input in{"testid", "2016-02-23T12:46:24Z", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", ""};
  v1_sign("GET", p, in, "testsecret");
  EXPECT_EQ(p["Signature"], "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");  // the published vector, through v1_sign
  EXPECT_EQ(p.count("SecurityToken"), 0U);

  Params q{{"Action", "DescribeRegions"}, {"Version", "2014-05-26"}, {"Format", "XML"}};
  in.security_token = "sts-token";
  v1_sign("GET", q, in, "testsecret");
  EXPECT_EQ(q["SecurityToken"], "sts-token");
  EXPECT_NE(q["Signature"], p["Signature"]);
}

// Alibaba's documentation "Request syntax and signature method V3": the RunInstances example.
TEST(SignV3, PublishedRunInstancesVector) {
  V3Input in;
  in.method = "POST";
  in.host = "ecs.cn-shanghai.aliyuncs.com";
  in.action = "RunInstances";
  in.version = "2014-05-26";
  in.date = "2023-10-26T10:22:32Z";
  in.nonce = "3156853299f313e23d1673dc12e1703d";
  Params q{{"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}, {"RegionId", "cn-shanghai"}};
  const auto r = v3_sign(in, q, "YourAccessKeyId", "YourAccessKeySecret");
  EXPECT_EQ(r.canonical_request,
            "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
            "host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n"
            "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
            "x-acs-version:2014-05-26\n\n"
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.hashed_canonical_request, "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  EXPECT_EQ(r.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  EXPECT_EQ(r.authorization,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
            "x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(SignV3, SecurityTokenAndContentTypeAreSignedHeaders) {
  V3Input in;
  in.method = "POST";
  in.host = "smc.aliyuncs.com";
  in.action = "ListAccessTokens";
  in.version = "2019-06-01";
  in.date = "2023-10-26T10:22:32Z";
  in.nonce = "n";
  in.security_token = "tok";
  const auto r = v3_sign(in, {}, "id", "secret");
  EXPECT_NE(r.authorization.find("SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
                                 "x-acs-security-token;x-acs-signature-nonce;x-acs-version,"),
            std::string::npos);
  EXPECT_NE(r.canonical_request.find("\nx-acs-security-token:tok\n"), std::string::npos);
}

TEST(SignV3, QueryEncodingEdgeCasesInTheCanonicalRequest) {
  V3Input in;
  in.method = "POST";
  in.host = "h";
  in.action = "A";
  in.version = "v";
  in.date = "d";
  in.nonce = "n";
  Params q{{"Name", "a b*c~d/e"}, {"Desc", "\xe6\xb5\x8b"}, {"AccessTokenId.1", "x"}};
  const auto r = v3_sign(in, q, "id", "secret");
  EXPECT_NE(r.canonical_request.find("\nAccessTokenId.1=x&Desc=%E6%B5%8B&Name=a%20b%2Ac~d%2Fe\n"), std::string::npos);
}

TEST(Crypto, KnownDigests) {
  EXPECT_EQ(acmon::crypto::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(acmon::crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(acmon::crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(acmon::crypto::base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(acmon::crypto::base64("fo"), "Zm8=");
  EXPECT_EQ(acmon::crypto::random_hex(16).size(), 32U);
  EXPECT_NE(acmon::crypto::random_hex(16), acmon::crypto::random_hex(16));
}

// Nonces are drawn from a per-thread store of CSPRNG bytes: none repeats within a thread across
// many refills of the store, nor between threads, nor in a child made by fork (which inherits a
// copy of its parent's store).
TEST(Crypto, NoncesNeverRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {  // 5000 x 16 bytes: the 4 KiB store is filled about 20 times
    const auto n = acmon::crypto::random_hex(16);
    ASSERT_EQ(n.size(), 32U);
    ASSERT_TRUE(seen.insert(n).second) << "repeated nonce at " << i;
  }
  std::vector<std::string> other;
  std::thread t([&] {
    for (int i = 0; i < 1000; ++i) {
      other.push_back(acmon::crypto::random_hex(16));
    }
  });
  t.join();
  for (const auto& n : other) {
    ASSERT_TRUE(seen.insert(n).second) << "a nonce of another thread repeated";
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const auto n = acmon::crypto::random_hex(16);
    const bool ok = write(fds[1], n.data(), n.size()) == static_cast<ssize_t>(n.size());
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  std::string from_child(32, '\0');
  ASSERT_EQ(read(fds[0], from_child.data(), from_child.size()), 32);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(seen.insert(from_child).second) << "the child drew its parent's next nonce";
  EXPECT_TRUE(seen.insert(acmon::crypto::random_hex(16)).second);
}

// SipHash-2-4's published vectors (the reference implementation's vectors.h): key 00..0f, the
// message of length n is the bytes 00..n-1, the value read little-endian. Each hash begun again on
// the same object starts from the key alone.
TEST(Crypto, KeyedHashIsSipHashByItsPublishedVectors) {
  std::string key;
  for (char b = 0; b < 16; ++b) {
    key.push_back(b);
  }
  acmon::crypto::KeyedHash h(key);
  ASSERT_STREQ(h.algorithm(), "SipHash-2-4");
  auto message = [](int n) {
    std::string m;
    for (int i = 0; i < n; ++i) {
      m.push_back(static_cast<char>(i));
    }
    return m;
  };
  EXPECT_EQ(h.of(message(0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(h.of(message(1)), 0x74f839c593dc67fdULL);
  EXPECT_EQ(h.of(message(8)), 0x93f5f5799a932462ULL);
  EXPECT_EQ(h.of(message(15)), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(h.of(message(0)), 0x726fdb47dd0e0e31ULL);  // again, after longer messages
  // Pieces hash as the string they make.
  const std::string m15 = message(15);
  h.begin();
  h.update(m15.substr(0, 3));
  h.update(m15.substr(3, 9));
  h.update(m15.substr(12));
  EXPECT_EQ(h.end(), 0xa129ca6149be45e5ULL);
  // Another key, another hash; a key of the wrong length is refused.
  key[0] = 1;
  EXPECT_NE(acmon::crypto::KeyedHash(key).of(message(15)), 0xa129ca6149be45e5ULL);
  EXPECT_THROW(acmon::crypto::KeyedHash("short"), std::runtime_error);
  EXPECT_EQ(acmon::crypto::random_bytes(16).size(), 16U);
}

// RFC 4648 §10's vectors, the URL alphabet of §5, and what is refused.
TEST(Crypto, Base64DecodesTheRfcVectorsAndRefusesAnythingElse) {
  using acmon::crypto::base64_decode;
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"Zg==", "f"},
                                                         {"Zm8=", "fo"},
                                                         {"Zm9v", "foo"},
                                                         {"Zm9vYg==", "foob"},
                                                         {"Zm9vYmE=", "fooba"},
                                                         {"Zm9vYmFy", "foobar"}};
  for (const auto& [text, raw] : vectors) {
    EXPECT_EQ(base64_decode(text), std::optional<std::string>(raw)) << text;
  }
  EXPECT_EQ(base64_decode("Zm9vYg"), std::optional<std::string>("foob"));  // padding optional
  EXPECT_EQ(base64_decode("-_8", true), std::optional<std::string>("\xfb\xff"));
  EXPECT_EQ(base64_decode("+/8"), std::optional<std::string>("\xfb\xff"));
  for (const char* bad : {"Z", "Zg=x", "Zg===", "Zm9v YmFy", "Zm9v\n", "=Zg", "Zm9v*"}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(base64_decode("+/8", true), std::nullopt);
  EXPECT_EQ(base64_decode("-_8"), std::nullopt);
}
