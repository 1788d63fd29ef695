// Fuzz target: the zip container of .pt files (ZipArchive); every stored entry that reads
// must lie inside the input.
#include "engine/model.h"
#include "engine/io/pt_zip.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    dschat::ZipArchive archive(bytes, "fuzz.pt");
    for (const dschat::ZipEntry& entry : archive.entries()) {
      if (archive.find(entry.name) == nullptr) dschat::fuzz::property_failed("entry not found by name");
      try {
        std::span<const std::byte> content = archive.read(entry);
        if (!content.empty() && (content.data() < bytes.data() || content.data() + content.size() > bytes.data() + bytes.size())) {
          dschat::fuzz::property_failed("entry data outside the archive");
        }
      } catch (const dschat::ModelError&) {
      }
    }
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
