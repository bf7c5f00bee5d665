// api::interpret on an HTTP status and a body: never a crash or a throw, an error is one short
// line, and a document it returns can be serialised (its depth is bounded).
#include <cstddef>
#include <cstdint>

#include "acmon/core/api.hpp"
#include "fuzz_check.hpp"

using namespace acmon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  static const int k_statuses[] = {200, 200, 200, 204, 301, 400, 403, 404, 429, 500, 502, 503, 504, 0, 99, 999};
  http::Response r;
  r.status = k_statuses[data[0] % 16];
  r.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto doc = api::interpret(r);
  if (!doc) {
    fuzz::check_error(doc.error());
    fuzz::check(doc.error().code.size() <= 400, "an error code longer than 400 bytes", doc.error().code);
    (void)api::is_retryable(doc.error());
    return 0;
  }
  fuzz::check(doc->is_object(), "a result that is not an object");
  (void)doc->dump();
  return 0;
}
