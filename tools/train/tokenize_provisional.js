#!/usr/bin/env node
// Provisional stand-in for `dschat tokenize --batch FILE.jsonl` (used only until dschat's
// tokenizer is built; prepare_data.py verifies against dschat when it is available):
// one JSON string a line in, one JSON array of GPT-2 ids a line out, via the npm package
// gpt-3-encoder (installed by tools/tokenizer: `cd tools/tokenizer && npm ci`).
//
//   node tokenize_provisional.js FILE.jsonl > IDS.jsonl
"use strict";
const fs = require("fs");
const path = require("path");
const { encode } = require(path.join(__dirname, "..", "tokenizer", "node_modules", "gpt-3-encoder"));

const lines = fs.readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.length > 0);
const out = lines.map((line) => JSON.stringify(encode(JSON.parse(line))));
process.stdout.write(out.join("\n") + "\n");
