#include "tokenizer/normalizer.h"

#include <unicode/bytestream.h>

#include "tokenizer/sequence_depth.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

Normalizer Normalizer::from_json(const nlohmann::json& spec, const std::string& where) {
  Normalizer normalizer;
  normalizer.add(spec, where, 0, where);
  return normalizer;
}

void Normalizer::add(const nlohmann::json& spec, const std::string& where, int depth, const std::string& section) {
  if (spec.is_null()) return;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    throw TokenizerError(where + ": expected null or an object with a \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    check_sequence_depth(depth + 1, section);
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      throw TokenizerError(where + ": Sequence without a \"normalizers\" array");
    }
    for (std::size_t i = 0; i < spec["normalizers"].size(); ++i) {
      add(spec["normalizers"][i], where + ".normalizers[" + std::to_string(i) + "]", depth + 1, section);
    }
    return;
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* instance = nullptr;
  if (type == "NFC") instance = icu::Normalizer2::getNFCInstance(status);
  else if (type == "NFD") instance = icu::Normalizer2::getNFDInstance(status);
  else if (type == "NFKC") instance = icu::Normalizer2::getNFKCInstance(status);
  else if (type == "NFKD") instance = icu::Normalizer2::getNFKDInstance(status);
  else throw TokenizerError(where + ": normalizer type \"" + type + "\" is not supported (supported: NFC, NFD, NFKC, NFKD, Sequence)");
  if (U_FAILURE(status)) throw TokenizerError(where + ": ICU cannot load the " + type + " normalizer: " + u_errorName(status));
  steps_.push_back(instance);
}

std::string Normalizer::normalize(std::string_view utf8) const {
  std::string text(utf8);
  for (const icu::Normalizer2* step : steps_) {
    icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
    UErrorCode status = U_ZERO_ERROR;
    if (step->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) continue;
    std::string normalized;
    icu::StringByteSink<std::string> sink(&normalized);
    status = U_ZERO_ERROR;
    step->normalizeUTF8(0, piece, sink, nullptr, status);
    if (U_FAILURE(status)) throw TokenizerError(std::string("Unicode normalization failed: ") + u_errorName(status));
    text = std::move(normalized);
  }
  return text;
}

}  // namespace dschat
