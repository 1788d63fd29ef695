#include "engine/io/mapped_file.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/regular_file.h"
#include "engine/io/model_error.h"

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

// Every live mapping, including those a newer mapping of a modified file has replaced in the
// sharing registry below (their owners still compute with them).
std::mutex all_mappings_mutex;
std::set<const MappedFile::Mapping*>& all_mappings() {
  static auto* mappings = new std::set<const MappedFile::Mapping*>();  // never destroyed
  return *mappings;
}
// The last file whose mapping was let go after the file had changed (under all_mappings_mutex).
std::filesystem::path& changed_before_unmapping() {
  static auto* path = new std::filesystem::path();  // never destroyed
  return *path;
}

}  // namespace

uint64_t MappedFile::faulted_pages() { return faulted.load(std::memory_order_relaxed); }

// One mmap of a whole file: guarded against SIGBUS while it lives, unmapped by the last owner. The
// file stays open, so that changed_file() can compare its inode's modification time and size now
// with those it had when mapped.
struct MappedFile::Mapping {
  const std::byte* data;
  uint64_t size;
  int fd;
  struct timespec modified;
  std::filesystem::path path;  // as the first owner named it
  Mapping(const std::byte* d, uint64_t n, int file, const struct timespec& mtime, std::filesystem::path p)
      : data(d), size(n), fd(file), modified(mtime), path(std::move(p)) {
    guard(data, size);
    std::lock_guard<std::mutex> lock(all_mappings_mutex);
    all_mappings().insert(this);
  }
  ~Mapping() {
    {
      std::lock_guard<std::mutex> lock(all_mappings_mutex);
      all_mappings().erase(this);
      if (file_changed()) changed_before_unmapping() = path;
    }
    unguard(data);
    ::munmap(const_cast<std::byte*>(data), size);
    ::close(fd);
  }
  // Whether the file was written, truncated or extended since it was mapped.
  bool file_changed() const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    return static_cast<uint64_t>(st.st_size) != size || st.st_mtim.tv_sec != modified.tv_sec ||
           st.st_mtim.tv_nsec != modified.tv_nsec || was_patched(data);
  }
};

namespace {

// The live mappings by file identity, for sharing; a different size is a different key, and a
// file modified in place since its mapping was made gets a new one (see the constructor).
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
  // Opened and checked as every read file is (never blocks on a FIFO; a device is refused).
  std::optional<RegularFile> file;
  try {
    file.emplace(path);
  } catch (const FileReadError& e) {
    throw ModelError(e.what());
  }
  const struct stat st = file->status();
  int fd = file->release();
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    const FileKey key{st.st_dev, st.st_ino, size_};
    std::shared_ptr<const Mapping> stale;  // let go after the lock below (its deleter takes it)
    std::lock_guard<std::mutex> lock(live_mappings_mutex);
    auto& mappings = live_mappings();
    if (auto it = mappings.find(key); it != mappings.end()) mapping_ = it->second.lock();
    // A mapping with zero pages where its file once shrank would hide the file's bytes if it has
    // grown back to the same size: a fresh one reads them. Likewise a mapping of a file modified in
    // place since it was mapped: its owners go on reporting the change (changed_file()), a new
    // owner starts from the file as it is now.
    if (mapping_ && mapping_->file_changed()) stale = std::move(mapping_);
    if (!mapping_) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        throw ModelError(path.string() + ": cannot memory-map: " + std::strerror(err));
      }
      // The deleter drops the registry entry (unless a newer mapping of the key replaced it).
      auto* mapping = new Mapping(static_cast<const std::byte*>(p), size_, fd, st.st_mtim, path);
      fd = -1;  // the mapping owns it now
      mapping_ = std::shared_ptr<const Mapping>(mapping, [key](const Mapping* m) {
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
  if (fd >= 0) ::close(fd);  // unused: an empty file, or a mapping already open
}

std::filesystem::path MappedFile::changed_file() {
  std::lock_guard<std::mutex> lock(all_mappings_mutex);  // no mapping is destroyed meanwhile
  for (const Mapping* mapping : all_mappings())
    if (mapping->file_changed()) return mapping->path;
  return {};
}

std::filesystem::path MappedFile::changed_file_since_start() {
  std::filesystem::path live = changed_file();
  if (!live.empty()) return live;
  std::lock_guard<std::mutex> lock(all_mappings_mutex);
  return changed_before_unmapping();
}

namespace {

std::string vanished_pages_description(uint64_t pages) {
  return std::to_string(pages) + " page" + (pages == 1 ? "" : "s") +
         " of a memory-mapped weight file vanished and read as zeros: it was truncated or rewritten in place";
}

std::string modified_description(const std::filesystem::path& file) { return file.string() + " was modified in place"; }

}  // namespace

std::string MappedFile::change_description(bool since_start) {
  if (const uint64_t pages = faulted_pages(); pages > 0) return vanished_pages_description(pages);
  const std::filesystem::path file = since_start ? changed_file_since_start() : changed_file();
  return file.empty() ? std::string() : modified_description(file);
}

std::optional<std::string> MappedFile::change_description(const std::vector<const MappedFile*>& files) {
  for (const MappedFile* file : files) {
    if (file->mapping_ && was_patched(file->mapping_->data)) return vanished_pages_description(faulted_pages());
  }
  for (const MappedFile* file : files) {
    if (file->mapping_ && file->mapping_->file_changed()) return modified_description(file->mapping_->path);
  }
  return std::nullopt;
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
