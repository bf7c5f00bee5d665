// The one-writer lock: flock(2) on "<database>.lock".
#include "acmon/db/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace acmon::db {

Result<WriterLock> WriterLock::acquire(const std::string& database_path) {
  const std::string lock_path = database_path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorKind::db, "database " + database_path + ": cannot open its lock file " + lock_path + ": " +
                                         std::strerror(errno));
  }
  WriterLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return make_error(ErrorKind::db,
                        "database " + database_path + ": cannot lock " + lock_path + ": " + std::strerror(err));
    }
    char buf[32] = {};
    const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
      holder.pop_back();
    }
    return make_error(ErrorKind::db, "database " + database_path + " is in use by another acmon run" +
                                         (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                         ": one daemon per database (lock file " + lock_path + ")");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is a courtesy for the message above; the lock is what counts.
  }
  return lock;
}

WriterLock::WriterLock(WriterLock&& other) noexcept : m_fd(other.m_fd) {
  other.m_fd = -1;
}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

WriterLock::~WriterLock() {
  if (m_fd >= 0) {
    ::close(m_fd);  // releases the flock
  }
}

}  // namespace acmon::db
