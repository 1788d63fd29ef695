#include "engine/mapped_file.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/model.h"

namespace dschat {
namespace {

// Live mappings, read by the SIGBUS handler: only lock-free atomics (async-signal-safe).
constexpr int kMaxGuarded = 256;
std::atomic<uintptr_t> guarded_begin[kMaxGuarded];
std::atomic<uintptr_t> guarded_end[kMaxGuarded];
std::atomic<bool> guarded_patched[kMaxGuarded];  // the handler put zero pages into this mapping
std::atomic<uint64_t> faulted{0};
uintptr_t page_size = 4096;  // set before the handler is installed
struct sigaction previous_sigbus;
std::once_flag handler_installed;

void on_sigbus(int sig, siginfo_t* info, void* ucontext) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < kMaxGuarded; ++i) {
    const uintptr_t begin = guarded_begin[i].load(std::memory_order_acquire);
    if (begin == 0 || addr < begin || addr >= guarded_end[i].load(std::memory_order_acquire)) continue;
    const uintptr_t page = addr & ~(page_size - 1);
    // A zero page over the vanished one; the faulting read is retried and sees zeros.
    void* p = ::mmap(reinterpret_cast<void*>(page), page_size, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;
    faulted.fetch_add(1, std::memory_order_relaxed);
    guarded_patched[i].store(true, std::memory_order_relaxed);
    return;  // no output here: the app tells the user through its own channels (faulted_pages())
  }
  // Not ours: the previous handler, or the default action (the fault recurs on return).
  if (previous_sigbus.sa_flags & SA_SIGINFO) {
    if (previous_sigbus.sa_sigaction) return previous_sigbus.sa_sigaction(sig, info, ucontext);
  } else if (previous_sigbus.sa_handler != SIG_DFL && previous_sigbus.sa_handler != SIG_IGN) {
    return previous_sigbus.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);
}

std::mutex registry_mutex;  // serialises guard/unguard (the handler only reads)

void guard(const std::byte* data, uint64_t size) {
  std::call_once(handler_installed, [] {
    page_size = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &previous_sigbus);
  });
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (int i = 0; i < kMaxGuarded; ++i) {
    if (guarded_begin[i].load(std::memory_order_relaxed) != 0) continue;
    guarded_patched[i].store(false, std::memory_order_relaxed);
    guarded_end[i].store(reinterpret_cast<uintptr_t>(data) + size, std::memory_order_release);
    guarded_begin[i].store(reinterpret_cast<uintptr_t>(data), std::memory_order_release);
    return;
  }  // more than kMaxGuarded live mappings: the rest are unguarded
}

void unguard(const std::byte* data) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (int i = 0; i < kMaxGuarded; ++i) {
    if (guarded_begin[i].load(std::memory_order_relaxed) != reinterpret_cast<uintptr_t>(data)) continue;
    guarded_begin[i].store(0, std::memory_order_release);
    guarded_end[i].store(0, std::memory_order_release);
    return;
  }
}

// Whether the SIGBUS handler replaced pages of the mapping at `data` (its file shrank).
bool was_patched(const std::byte* data) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (int i = 0; i < kMaxGuarded; ++i) {
    if (guarded_begin[i].load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(data)) {
      return guarded_patched[i].load(std::memory_order_relaxed);
    }
  }
  return false;
}

}  // namespace

uint64_t MappedFile::faulted_pages() { return faulted.load(std::memory_order_relaxed); }

// One mmap of a whole file: guarded against SIGBUS while it lives, unmapped by the last owner.
struct MappedFile::Mapping {
  const std::byte* data;
  uint64_t size;
  Mapping(const std::byte* d, uint64_t n) : data(d), size(n) { guard(data, size); }
  ~Mapping() {
    unguard(data);
    ::munmap(const_cast<std::byte*>(data), size);
  }
};

namespace {

// The live mappings by file identity. A file changed in place keeps its inode: its new bytes are
// visible through an existing read-only MAP_PRIVATE mapping as through a new one (both read the
// page cache), so sharing changes nothing but the cost; a different size is a different key.
struct FileKey {
  dev_t device;
  ino_t inode;
  uint64_t size;
  auto operator<=>(const FileKey&) const = default;
};
std::mutex live_mappings_mutex;
std::map<FileKey, std::weak_ptr<const MappedFile::Mapping>>& live_mappings() {
  static auto* mappings = new std::map<FileKey, std::weak_ptr<const MappedFile::Mapping>>();  // never destroyed
  return *mappings;
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path.string() + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ModelError(path.string() + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    const FileKey key{st.st_dev, st.st_ino, size_};
    std::shared_ptr<const Mapping> patched;  // let go after the lock below (its deleter takes it)
    std::lock_guard<std::mutex> lock(live_mappings_mutex);
    auto& mappings = live_mappings();
    if (auto it = mappings.find(key); it != mappings.end()) mapping_ = it->second.lock();
    // A mapping with zero pages where its file once shrank would hide the file's bytes if it has
    // grown back to the same size: a fresh one reads them.
    if (mapping_ && was_patched(mapping_->data)) patched = std::move(mapping_);
    if (!mapping_) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        throw ModelError(path.string() + ": cannot memory-map: " + std::strerror(err));
      }
      // The deleter drops the registry entry (unless a newer mapping of the key replaced it).
      mapping_ = std::shared_ptr<const Mapping>(new Mapping(static_cast<const std::byte*>(p), size_), [key](const Mapping* m) {
        {
          std::lock_guard<std::mutex> lock(live_mappings_mutex);
          auto& mappings = live_mappings();
          if (auto it = mappings.find(key); it != mappings.end() && it->second.expired()) mappings.erase(it);
        }
        delete m;
      });
      mappings[key] = mapping_;
    }
    data_ = mapping_->data;
  }
  ::close(fd);  // the mapping keeps the file alive
}

void MappedFile::advise_will_need(uint64_t offset, uint64_t length) const {
  if (!data_ || offset >= size_) return;
  dschat::advise_will_need(data_ + offset, std::min(size_ - offset, length));
}

namespace {

// The whole pages that [data, data + length) touches, as (first page address, bytes).
std::pair<uintptr_t, uint64_t> page_span(const std::byte* data, uint64_t length) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + length + page - 1) & ~(page - 1);
  return {begin, end - begin};
}

}  // namespace

void prefetch_pages(const std::byte* data, uint64_t length) {
  if (data == nullptr || length == 0) return;
  const auto [begin, bytes] = page_span(data, length);
#ifdef MADV_POPULATE_READ
  if (::madvise(reinterpret_cast<void*>(begin), bytes, MADV_POPULATE_READ) == 0) return;
#endif
  // Older kernels (EINVAL) or a file cut short (EFAULT): read one byte per page; a vanished page
  // is replaced by the SIGBUS handler above.
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  volatile const unsigned char* p = reinterpret_cast<const unsigned char*>(begin);
  unsigned char sink = 0;
  for (uint64_t offset = 0; offset < bytes; offset += page) sink ^= p[offset];
  (void)sink;
}

void advise_will_need(const std::byte* data, uint64_t length) {
  if (data == nullptr || length == 0) return;
  const auto [begin, bytes] = page_span(data, length);
  ::madvise(reinterpret_cast<void*>(begin), bytes, MADV_WILLNEED);
}

}  // namespace dschat
