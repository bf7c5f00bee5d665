// The floor under the daemon's resident memory: a process that loads the shared libraries acmon
// links (the same list, linked the same way) and initialises the two that set themselves up at run
// time (libcurl with its TLS library, SQLite with one open database), then does nothing else. It
// prints its own VmRSS, RssFile and RssAnon in KiB, one "name value" a line, and exits.
//   library_floor
#include <curl/curl.h>
#include <sqlite3.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

int main() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::cerr << "library_floor: curl_global_init failed\n";
    return 1;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
    std::cerr << "library_floor: cannot open an in-memory database\n";
    return 1;
  }
  std::ifstream status("/proc/self/status");
  std::string line;
  int printed = 0;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    long kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:" || key == "RssAnon:" || key == "RssFile:") {
      std::cout << key.substr(0, key.size() - 1) << ' ' << kib << '\n';
      ++printed;
    }
  }
  sqlite3_close(db);
  curl_global_cleanup();
  return printed == 3 ? 0 : 1;
}
