#include "app/backend/model_identity.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "common/file_limits.h"
#include "common/regular_file.h"
#include "engine/io/model_error.h"

namespace dschat {
namespace {

constexpr size_t kMaxNameBytes = 64;

// Printable text only (C0, DEL and the C1 range U+0080..U+009F dropped), at most `max_bytes`
// cut before a UTF-8 continuation byte.
std::string printable(const std::string& text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) continue;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      ++i;  // a C1 control character
      continue;
    }
    out += static_cast<char>(c);
  }
  if (out.size() > max_bytes) {
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::optional<nlohmann::json> read_json_object(const std::filesystem::path& file, bool strict) {
  std::optional<std::string> text;
  try {
    text = read_regular_file_if_present(file, kJsonConfigLimit);
  } catch (const FileReadError& e) {
    if (strict) throw ModelError(e.what());
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    if (strict) throw ModelError(file.string() + ": not a valid JSON object");
    return std::nullopt;  // config.json: the model loader reports what is wrong with it
  }
  return j;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::filesystem::path& file, bool strict) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (!it->is_string()) {
    if (strict) throw ModelError(file.string() + ": \"" + key + "\" must be a string");
    return "";
  }
  return it->get<std::string>();
}

// "deepseek-ai/DeepSeek-V3" -> "DeepSeek-V3", "/tmp/out/" -> "out".
std::string last_component(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  const size_t slash = text.rfind('/');
  return slash == std::string::npos ? text : text.substr(slash + 1);
}

}  // namespace

ModelIdentity model_identity(const std::filesystem::path& path, const std::string& embedded_name) {
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::absolute(path, ec);
  if (ec) resolved = path;
  resolved = resolved.lexically_normal();                              // "/x/foo/." -> "/x/foo/"
  if (!resolved.has_filename()) resolved = resolved.parent_path();     // "/x/foo/" -> "/x/foo"
  const bool directory = std::filesystem::is_directory(resolved, ec);

  ModelIdentity identity;
  std::string name;
  if (directory) {
    const std::filesystem::path own = resolved / "dschat.json";
    if (auto j = read_json_object(own, /*strict=*/true)) {
      name = string_field(*j, "name", own, true);
      identity.notice = printable(string_field(*j, "notice", own, true), 1000);
    }
  }
  if (printable(name, kMaxNameBytes).empty()) name = embedded_name;
  if (printable(name, kMaxNameBytes).empty() && directory) {
    const std::filesystem::path config = resolved / "config.json";
    if (auto j = read_json_object(config, /*strict=*/false)) name = last_component(string_field(*j, "_name_or_path", config, false));
  }
  name = printable(name, kMaxNameBytes);
  if (name.empty()) name = printable((directory ? resolved.filename() : resolved.stem()).string(), kMaxNameBytes);
  if (name.empty()) name = resolved.string();  // "/"
  identity.display_name = name;
  return identity;
}

}  // namespace dschat
